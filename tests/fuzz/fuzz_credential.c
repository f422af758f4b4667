/*
 * libFuzzer target for auth/credential (Authorization header values) and the strict base64
 * codecs it uses. The whole input is the header value, parsed from an exact-size heap copy so
 * ASan sees any over-read. Invariants: a successful parse yields views inside the value (Bearer)
 * or inside the decode buffer (Basic), a non-empty token, a user without ':' or NUL; the
 * classification of the token by shape matches token_shape_of(); every base64url string that
 * decodes re-encodes to the same text (canonical). Single-threaded; no I/O.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auth/b64.h"
#include "auth/credential.h"

#define CHECK(x)                                                                                   \
    do {                                                                                           \
        if (!(x))                                                                                  \
            abort();                                                                               \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *v = malloc(size ? size : 1);
    if (!v)
        return 0;
    memcpy(v, data, size);
    char *buf = malloc(size + 1);
    struct credential c;
    char err[160];
    if (buf && credential_parse(v, size, buf, size + 1, &c, err, sizeof(err)) == 0) {
        CHECK(c.token_len > 0);
        if (c.kind == CREDENTIAL_BEARER) {
            CHECK(c.token >= v && c.token + c.token_len <= v + size);
            CHECK(c.user == NULL);
        } else {
            CHECK(c.kind == CREDENTIAL_BASIC);
            CHECK(c.user == buf);
            CHECK(strlen(c.user) == c.user_len);
            CHECK(memchr(c.user, ':', c.user_len) == NULL);
            CHECK(c.token == buf + c.user_len + 1);
            CHECK(memchr(c.token, 0, c.token_len) == NULL);
        }
        CHECK(c.shape == token_shape_of(c.token, c.token_len));
    } else if (buf) {
        CHECK(err[0] != '\0');
    }
    /* canonical base64url: decode then encode gives back the input */
    unsigned char *out = malloc(B64_DECODED_MAX(size) + 1);
    size_t n = 0;
    if (out && b64url_decode(v, size, out, B64_DECODED_MAX(size), &n) == 0) {
        char *enc = malloc(B64_ENCODED_SIZE(n));
        if (enc) {
            size_t el = b64url_encode(out, n, enc);
            CHECK(el == size && memcmp(enc, v, size) == 0);
            free(enc);
        }
    }
    if (out && b64_decode(v, size, out, B64_DECODED_MAX(size), &n) == 0) {
        char *enc = malloc(B64_ENCODED_SIZE(n));
        if (enc) {
            size_t el = b64_encode(out, n, enc);
            CHECK(el == size && memcmp(enc, v, size) == 0);
            free(enc);
        }
    }
    free(out);
    free(buf);
    free(v);
    return 0;
}
