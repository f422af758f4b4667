/*
 * auth_test_util: helpers shared by the authentication unit tests (header-only, static):
 * a temporary directory, key generation, JWKS files, configuration parsed through the real
 * conf tables, and token minting with OpenSSL via auth/jws_sign.h.
 */
#ifndef WARDEN_TESTS_AUTH_TEST_UTIL_H
#define WARDEN_TESTS_AUTH_TEST_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "auth/authn.h"
#include "auth/authn_conf.h"
#include "auth/jws_sign.h"
#include "util/conf.h"

struct auth_test_root {
    struct authn_config auth;
    struct authn_issuer_config *issuers;
    size_t nissuers;
};

static const struct conf_section auth_test_sections[] = {
    {"auth", sizeof(struct authn_config), false, authn_conf_keys,
     offsetof(struct auth_test_root, auth), 0, CONF_NO_LABEL, authn_conf_set_defaults,
     authn_conf_check},
    {"issuer", sizeof(struct authn_issuer_config), true, authn_issuer_conf_keys,
     offsetof(struct auth_test_root, issuers), offsetof(struct auth_test_root, nissuers),
     offsetof(struct authn_issuer_config, name), authn_issuer_conf_set_defaults,
     authn_issuer_conf_check},
};

/* Parse a configuration text; returns 0 or -1 and prints diagnostics. */
static inline int auth_test_conf(struct auth_test_root *root, const char *fmt, ...)
{
    char text[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    memset(root, 0, sizeof(*root));
    struct conf_diag d = {0};
    int rc = conf_parse("test.conf", text, strlen(text), auth_test_sections, 2, root, &d);
    for (size_t i = 0; i < d.n; i++)
        fprintf(stderr, "%s\n", d.msgs[i]);
    conf_diag_clear(&d);
    return rc;
}

static inline void auth_test_conf_free(struct auth_test_root *root)
{
    conf_release(auth_test_sections, 2, root);
}

static inline struct authn *auth_test_authn(struct auth_test_root *root, char *err, size_t errlen)
{
    return authn_new(&root->auth, root->issuers, root->nissuers, false, err, errlen);
}

static inline char *auth_test_tmpdir(void)
{
    char *d = strdup("/tmp/warden-auth-test-XXXXXX");
    if (!mkdtemp(d)) {
        free(d);
        return NULL;
    }
    return d;
}

static inline void auth_test_rmdir(char *dir)
{
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", dir);
    free(dir);
}

static inline void auth_test_write(const char *path, const char *text)
{
    char tmp[600];
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f)
        abort();
    fputs(text, f);
    fclose(f);
    if (rename(tmp, path) != 0)
        abort();
}

/* Write {"keys":[jwk(k1,kid1), jwk(k2,kid2)...]} (NULL-terminated key/kid pairs). */
static inline void auth_test_jwks(const char *path, ...)
{
    json_t *keys = json_array();
    va_list ap;
    va_start(ap, path);
    for (;;) {
        EVP_PKEY *k = va_arg(ap, EVP_PKEY *);
        if (!k)
            break;
        const char *kid = va_arg(ap, const char *);
        json_array_append_new(keys, jwk_public_json(k, kid, JOSE_ALG_INVALID));
    }
    va_end(ap);
    json_t *doc = json_pack("{s:o}", "keys", keys);
    char *s = json_dumps(doc, JSON_COMPACT);
    auth_test_write(path, s);
    free(s);
    json_decref(doc);
}

static inline int64_t auth_test_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Mint a token: header and payload as JSON texts (printf-style payload). */
static inline char *auth_test_mint(enum jose_alg alg, EVP_PKEY *key, const char *header,
                                   const char *payload_fmt, ...)
{
    char payload[4096], err[256];
    va_list ap;
    va_start(ap, payload_fmt);
    vsnprintf(payload, sizeof(payload), payload_fmt, ap);
    va_end(ap);
    return jws_sign_raw(alg, key, NULL, 0, header, strlen(header), payload, strlen(payload), err,
                        sizeof(err));
}

/* "Bearer <tok>" in a static buffer. */
static inline const char *auth_test_bearer(const char *tok)
{
    static char buf[200000];
    snprintf(buf, sizeof(buf), "Bearer %s", tok);
    return buf;
}

#endif
