/*
 * b64: strict base64 codecs for the authentication module. base64url (RFC 4648 §5) without
 * padding is what JOSE uses; standard base64 with padding is what HTTP Basic uses. Decoders are
 * strict and canonical: any character outside the alphabet, padding where it does not belong,
 * a length that cannot occur, or non-zero unused trailing bits is an error, so exactly one
 * encoding decodes to a given byte string (no token malleability). Pure; any thread.
 */
#ifndef WARDEN_AUTH_B64_H
#define WARDEN_AUTH_B64_H

#include <stdbool.h>
#include <stddef.h>

/* Decoded size upper bound for an input of len characters. */
#define B64_DECODED_MAX(len) ((len) / 4 * 3 + 3)
/* Encoded size (including the terminating NUL) for len bytes. */
#define B64_ENCODED_SIZE(len) (((len) + 2) / 3 * 4 + 1)

/* base64url, no padding. Writes at most outcap bytes; returns 0 and *outlen, or -1 on any
 * malformation or when outcap is too small. */
int b64url_decode(const char *in, size_t len, unsigned char *out, size_t outcap, size_t *outlen);

/* base64url, no padding. out must hold B64_ENCODED_SIZE(len) bytes; returns the length
 * written (NUL-terminated). */
size_t b64url_encode(const unsigned char *in, size_t len, char *out);

/* Standard alphabet with mandatory '=' padding (length a multiple of 4). Same contract as
 * b64url_decode. */
int b64_decode(const char *in, size_t len, unsigned char *out, size_t outcap, size_t *outlen);

/* Standard alphabet with padding. Same contract as b64url_encode. */
size_t b64_encode(const unsigned char *in, size_t len, char *out);

#endif
