/*
 * tls: see tls.h.
 */
#include "net/tls.h"

#include <stdio.h>
#include <openssl/err.h>

static void ossl_error(char *err, size_t errlen, const char *what, const char *file)
{
    unsigned long e = ERR_get_error();
    char buf[256];
    ERR_error_string_n(e, buf, sizeof(buf));
    snprintf(err, errlen, "%s '%s': %s", what, file, e ? buf : "unknown error");
    ERR_clear_error();
}

SSL_CTX *tls_server_ctx_new(const char *cert_file, const char *key_file, const char *client_ca,
                            bool required, char *err, size_t errlen)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx) {
        snprintf(err, errlen, "cannot create TLS context");
        return NULL;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
                                 SSL_OP_CIPHER_SERVER_PREFERENCE);
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
    if (SSL_CTX_use_certificate_chain_file(ctx, cert_file) != 1) {
        ossl_error(err, errlen, "cannot load certificate", cert_file);
        goto fail;
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, key_file, SSL_FILETYPE_PEM) != 1) {
        ossl_error(err, errlen, "cannot load private key", key_file);
        goto fail;
    }
    if (SSL_CTX_check_private_key(ctx) != 1) {
        ossl_error(err, errlen, "private key does not match certificate", key_file);
        goto fail;
    }
    if (client_ca) {
        if (SSL_CTX_load_verify_locations(ctx, client_ca, NULL) != 1) {
            ossl_error(err, errlen, "cannot load client CA", client_ca);
            goto fail;
        }
        STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(client_ca);
        if (names)
            SSL_CTX_set_client_CA_list(ctx, names);
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | (required ? SSL_VERIFY_FAIL_IF_NO_PEER_CERT : 0),
                           NULL);
        SSL_CTX_set_verify_depth(ctx, 4);
        static const unsigned char sid[] = "warden";
        SSL_CTX_set_session_id_context(ctx, sid, sizeof(sid) - 1);
    }
    return ctx;
fail:
    SSL_CTX_free(ctx);
    return NULL;
}

void tls_server_ctx_free(SSL_CTX *ctx)
{
    SSL_CTX_free(ctx);
}
