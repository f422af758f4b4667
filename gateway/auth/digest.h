/*
 * digest: SHA-256 and hex helpers shared by the authentication module. The SHA-256
 * implementation is fetched from OpenSSL once per process (pthread_once) so hashing a token on
 * the request path costs no provider lookup. Any thread.
 */
#ifndef WARDEN_AUTH_DIGEST_H
#define WARDEN_AUTH_DIGEST_H

#include <stdbool.h>
#include <stddef.h>

#define SHA256_LEN 32

/* Returns 0, or -1 if OpenSSL failed (out is then zeroed; callers fail closed). */
int auth_sha256(const void *data, size_t len, unsigned char out[SHA256_LEN]);

/* Lowercase hex; out must hold 2*len+1 bytes. */
void auth_hex(const unsigned char *in, size_t len, char *out);

/* Parse exactly 2*outlen hex digits (either case). Returns 0 or -1. */
int auth_unhex(const char *in, size_t inlen, unsigned char *out, size_t outlen);

/* Constant-time equality of two equal-length byte strings. */
bool auth_ct_equal(const void *a, const void *b, size_t len);

#endif
