/*
 * b64: see b64.h. Table-driven; both alphabets share one decoder that is told which two
 * characters stand for 62 and 63 and whether padding is required.
 */
#include "auth/b64.h"

#include <stdint.h>

static const char std_alpha[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char url_alpha[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static int sextet(unsigned char c, bool url)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == (url ? '-' : '+'))
        return 62;
    if (c == (url ? '_' : '/'))
        return 63;
    return -1;
}

static int decode(const char *in, size_t len, unsigned char *out, size_t outcap, size_t *outlen,
                  bool url)
{
    size_t pad = 0;
    if (!url) {
        if (len % 4 != 0)
            return -1;
        if (len >= 1 && in[len - 1] == '=')
            pad++;
        if (len >= 2 && in[len - 2] == '=')
            pad++;
        len -= pad;
    } else if (len % 4 == 1) {
        return -1;
    }
    size_t rem = len % 4;
    if (!url && pad > 0 && rem != 4 - pad)
        return -1;
    size_t need = len / 4 * 3 + (rem ? rem - 1 : 0);
    if (need > outcap)
        return -1;
    size_t o = 0;
    uint32_t acc = 0;
    size_t i;
    for (i = 0; i < len; i++) {
        int v = sextet((unsigned char)in[i], url);
        if (v < 0)
            return -1;
        acc = (acc << 6) | (uint32_t)v;
        if (i % 4 == 3) {
            out[o++] = (unsigned char)(acc >> 16);
            out[o++] = (unsigned char)(acc >> 8);
            out[o++] = (unsigned char)acc;
            acc = 0;
        }
    }
    if (rem == 2) {
        if (acc & 0xf) /* non-canonical: unused bits set */
            return -1;
        out[o++] = (unsigned char)(acc >> 4);
    } else if (rem == 3) {
        if (acc & 0x3)
            return -1;
        out[o++] = (unsigned char)(acc >> 10);
        out[o++] = (unsigned char)(acc >> 2);
    }
    *outlen = o;
    return 0;
}

int b64url_decode(const char *in, size_t len, unsigned char *out, size_t outcap, size_t *outlen)
{
    return decode(in, len, out, outcap, outlen, true);
}

int b64_decode(const char *in, size_t len, unsigned char *out, size_t outcap, size_t *outlen)
{
    return decode(in, len, out, outcap, outlen, false);
}

static size_t encode(const unsigned char *in, size_t len, char *out, const char *alpha, bool pad)
{
    size_t o = 0, i = 0;
    for (; i + 3 <= len; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        out[o++] = alpha[v >> 18];
        out[o++] = alpha[(v >> 12) & 63];
        out[o++] = alpha[(v >> 6) & 63];
        out[o++] = alpha[v & 63];
    }
    if (len - i == 1) {
        uint32_t v = (uint32_t)in[i] << 16;
        out[o++] = alpha[v >> 18];
        out[o++] = alpha[(v >> 12) & 63];
        if (pad) {
            out[o++] = '=';
            out[o++] = '=';
        }
    } else if (len - i == 2) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
        out[o++] = alpha[v >> 18];
        out[o++] = alpha[(v >> 12) & 63];
        out[o++] = alpha[(v >> 6) & 63];
        if (pad)
            out[o++] = '=';
    }
    out[o] = '\0';
    return o;
}

size_t b64url_encode(const unsigned char *in, size_t len, char *out)
{
    return encode(in, len, out, url_alpha, false);
}

size_t b64_encode(const unsigned char *in, size_t len, char *out)
{
    return encode(in, len, out, std_alpha, true);
}
