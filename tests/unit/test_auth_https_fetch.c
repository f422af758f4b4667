/*
 * test_auth_https_fetch: https_get() against a local TLS server on a thread (self-signed
 * certificate for "localhost", made in memory). Covers servers that close the connection
 * without a TLS close_notify after a complete response (Python's ssl does; OpenSSL 3 reports
 * that as an error unless told otherwise), truncated bodies behind such a close, a clean close,
 * and a server whose certificate the CA file does not vouch for.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "auth/https_fetch.h"

struct server {
    int lfd, port;
    SSL_CTX *ctx;
    const char *response;
    bool clean_close;
    pthread_t thread;
};

static EVP_PKEY *g_key;
static X509 *g_cert;
static char g_ca_path[64], g_other_path[64];

static X509 *self_signed(EVP_PKEY *key, const char *cn)
{
    X509 *x = X509_new();
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), -60);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    X509_set_pubkey(x, key);
    X509_NAME *nm = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    X509_set_issuer_name(x, nm);
    X509V3_CTX v3;
    X509V3_set_ctx_nodb(&v3);
    X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
    char san[80];
    snprintf(san, sizeof(san), "DNS:%s", cn);
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &v3, NID_subject_alt_name, san);
    X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
    X509_sign(x, key, EVP_sha256());
    return x;
}

static void write_pem(const char *path, X509 *x)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    PEM_write_X509(f, x);
    fclose(f);
}

static int group_setup(void **state)
{
    (void)state;
    g_key = EVP_EC_gen("P-256");
    g_cert = self_signed(g_key, "localhost");
    snprintf(g_ca_path, sizeof(g_ca_path), "/tmp/warden-https-ca-%d.pem", (int)getpid());
    write_pem(g_ca_path, g_cert);
    EVP_PKEY *other_key = EVP_EC_gen("P-256");
    X509 *other = self_signed(other_key, "localhost");
    snprintf(g_other_path, sizeof(g_other_path), "/tmp/warden-https-other-%d.pem", (int)getpid());
    write_pem(g_other_path, other);
    X509_free(other);
    EVP_PKEY_free(other_key);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    unlink(g_ca_path);
    unlink(g_other_path);
    X509_free(g_cert);
    EVP_PKEY_free(g_key);
    return 0;
}

/* Serve one connection: read the request head, write the response, close. */
static void *serve_one(void *arg)
{
    struct server *s = arg;
    int fd = accept(s->lfd, NULL, NULL);
    if (fd < 0)
        return NULL;
    SSL *ssl = SSL_new(s->ctx);
    SSL_set_fd(ssl, fd);
    if (SSL_accept(ssl) == 1) {
        char buf[4096];
        size_t n = 0;
        while (n < sizeof(buf) - 1) {
            int got = SSL_read(ssl, buf + n, (int)(sizeof(buf) - 1 - n));
            if (got <= 0)
                break;
            n += (size_t)got;
            buf[n] = '\0';
            if (strstr(buf, "\r\n\r\n"))
                break;
        }
        SSL_write(ssl, s->response, (int)strlen(s->response));
        if (s->clean_close)
            SSL_shutdown(ssl);
    }
    SSL_free(ssl);
    close(fd); /* without SSL_shutdown: a TCP FIN and no close_notify */
    return NULL;
}

static void server_start(struct server *s, const char *response, bool clean_close)
{
    memset(s, 0, sizeof(*s));
    s->response = response;
    s->clean_close = clean_close;
    s->ctx = SSL_CTX_new(TLS_server_method());
    assert_non_null(s->ctx);
    assert_int_equal(SSL_CTX_use_certificate(s->ctx, g_cert), 1);
    assert_int_equal(SSL_CTX_use_PrivateKey(s->ctx, g_key), 1);
    s->lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(s->lfd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(s->lfd, 4), 0);
    socklen_t al = sizeof(a);
    getsockname(s->lfd, (struct sockaddr *)&a, &al);
    s->port = ntohs(a.sin_port);
    assert_int_equal(pthread_create(&s->thread, NULL, serve_one, s), 0);
}

static void server_stop(struct server *s)
{
    shutdown(s->lfd, SHUT_RDWR);
    pthread_join(s->thread, NULL);
    close(s->lfd);
    SSL_CTX_free(s->ctx);
}

static int fetch(struct server *s, const char *ca, char **body, size_t *len, char *err, size_t el)
{
    char url[128];
    snprintf(url, sizeof(url), "https://localhost:%d/jwks", s->port);
    return https_get(url, ca, 3000, 65536, body, len, err, el);
}

static void test_unclean_close_after_complete_body(void **state)
{
    (void)state;
    struct server s;
    server_start(
        &s, "HTTP/1.1 200 OK\r\nContent-Length: 12\r\nConnection: close\r\n\r\n{\"keys\":[]}\n",
        false);
    char *body = NULL, err[256] = "";
    size_t len = 0;
    int rc = fetch(&s, g_ca_path, &body, &len, err, sizeof(err));
    server_stop(&s);
    if (rc != 0)
        fail_msg("https_get failed: %s", err);
    assert_int_equal(len, 12);
    assert_string_equal(body, "{\"keys\":[]}\n");
    free(body);
}

static void test_unclean_close_truncated_body(void **state)
{
    (void)state;
    struct server s;
    server_start(&s, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"keys\":", false);
    char *body = NULL, err[256] = "";
    size_t len = 0;
    assert_int_equal(fetch(&s, g_ca_path, &body, &len, err, sizeof(err)), -1);
    server_stop(&s);
    assert_null(body);
    assert_string_equal(err, "truncated response from localhost");
}

static void test_unclean_close_read_until_close(void **state)
{
    (void)state;
    struct server s;
    server_start(&s, "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n{\"keys\":[1]}", false);
    char *body = NULL, err[256] = "";
    size_t len = 0;
    int rc = fetch(&s, g_ca_path, &body, &len, err, sizeof(err));
    server_stop(&s);
    if (rc != 0)
        fail_msg("https_get failed: %s", err);
    assert_string_equal(body, "{\"keys\":[1]}");
    free(body);
}

static void test_clean_close(void **state)
{
    (void)state;
    struct server s;
    server_start(&s, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}", true);
    char *body = NULL, err[256] = "";
    size_t len = 0;
    int rc = fetch(&s, g_ca_path, &body, &len, err, sizeof(err));
    server_stop(&s);
    if (rc != 0)
        fail_msg("https_get failed: %s", err);
    assert_string_equal(body, "{}");
    free(body);
}

static void test_untrusted_certificate(void **state)
{
    (void)state;
    struct server s;
    server_start(&s, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}", false);
    char *body = NULL, err[256] = "";
    size_t len = 0;
    assert_int_equal(fetch(&s, g_other_path, &body, &len, err, sizeof(err)), -1);
    server_stop(&s);
    assert_null(body);
    assert_non_null(strstr(err, "TLS handshake with localhost failed"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unclean_close_after_complete_body),
        cmocka_unit_test(test_unclean_close_truncated_body),
        cmocka_unit_test(test_unclean_close_read_until_close),
        cmocka_unit_test(test_clean_close),
        cmocka_unit_test(test_untrusted_certificate),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
