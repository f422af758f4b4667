/*
 * digest: see digest.h.
 */
#include "auth/digest.h"
#include "util/hex.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <string.h>

static pthread_once_t md_once = PTHREAD_ONCE_INIT;
static EVP_MD *sha256_md;

static void md_init(void)
{
    sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
}

int auth_sha256(const void *data, size_t len, unsigned char out[SHA256_LEN])
{
    pthread_once(&md_once, md_init);
    unsigned int n = 0;
    if (!sha256_md || !EVP_Digest(data, len, out, &n, sha256_md, NULL) || n != SHA256_LEN) {
        memset(out, 0, SHA256_LEN);
        return -1;
    }
    return 0;
}

void auth_hex(const unsigned char *in, size_t len, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * len] = '\0';
}

int auth_unhex(const char *in, size_t inlen, unsigned char *out, size_t outlen)
{
    if (inlen != 2 * outlen)
        return -1;
    for (size_t i = 0; i < outlen; i++) {
        int hi = hex_digit(in[2 * i]), lo = hex_digit(in[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        out[i] = (unsigned char)(hi << 4 | lo);
    }
    return 0;
}

bool auth_ct_equal(const void *a, const void *b, size_t len)
{
    return CRYPTO_memcmp(a, b, len) == 0;
}
