/*
 * credential: see credential.h.
 */
#include "auth/credential.h"

#include "auth/b64.h"
#include "auth/pat.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

static void seterr(char *err, size_t errlen, const char *msg)
{
    if (errlen)
        snprintf(err, errlen, "%s", msg);
}

/* Character classes, table-driven: tokens are up to several KB and scanned per request. */
enum { CC_B64TOKEN = 1, CC_B64URL = 2, CC_CTL = 4 };

static const unsigned char cclass[256] = {
    [0 ... 8] = CC_CTL,
    [10 ... 31] = CC_CTL,
    [127 ... 255] = CC_CTL,
    ['A' ... 'Z'] = CC_B64TOKEN | CC_B64URL,
    ['a' ... 'z'] = CC_B64TOKEN | CC_B64URL,
    ['0' ... '9'] = CC_B64TOKEN | CC_B64URL,
    ['-'] = CC_B64TOKEN | CC_B64URL,
    ['_'] = CC_B64TOKEN | CC_B64URL,
    ['.'] = CC_B64TOKEN,
    ['~'] = CC_B64TOKEN,
    ['+'] = CC_B64TOKEN,
    ['/'] = CC_B64TOKEN,
};

static bool is_b64token_char(unsigned char c)
{
    return cclass[c] & CC_B64TOKEN;
}

static bool is_b64url_char(unsigned char c)
{
    return cclass[c] & CC_B64URL;
}

bool credential_bearer_fast(const char *value, size_t len, const char **tok, size_t *toklen)
{
    while (len && (value[0] == ' ' || value[0] == '\t')) {
        value++;
        len--;
    }
    if (len < 8 || strncasecmp(value, "Bearer ", 7) != 0)
        return false;
    value += 7;
    len -= 7;
    while (len && value[0] == ' ') {
        value++;
        len--;
    }
    while (len && (value[len - 1] == ' ' || value[len - 1] == '\t'))
        len--;
    *tok = value;
    *toklen = len;
    return len > 0;
}

enum token_shape token_shape_of(const char *tok, size_t len)
{
    if (len > PAT_PREFIX_LEN && memcmp(tok, PAT_PREFIX, PAT_PREFIX_LEN) == 0)
        return TOKEN_SHAPE_PAT;
    size_t dots = 0, seg = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)tok[i];
        if (c == '.') {
            if (seg == 0 && dots == 0)
                return TOKEN_SHAPE_OTHER;
            dots++;
            seg = 0;
        } else if (is_b64url_char(c)) {
            seg++;
        } else {
            return TOKEN_SHAPE_OTHER;
        }
    }
    return dots == 2 ? TOKEN_SHAPE_JWT : TOKEN_SHAPE_OTHER;
}

static bool scheme_is(const char *v, size_t n, const char *name)
{
    return n == strlen(name) && strncasecmp(v, name, n) == 0;
}

int credential_parse(const char *value, size_t len, char *buf, size_t bufcap,
                     struct credential *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    while (len && (value[0] == ' ' || value[0] == '\t')) {
        value++;
        len--;
    }
    while (len && (value[len - 1] == ' ' || value[len - 1] == '\t'))
        len--;
    if (len == 0) {
        seterr(err, errlen, "empty Authorization header");
        return -1;
    }
    size_t s = 0;
    while (s < len && value[s] != ' ')
        s++;
    const char *scheme = value;
    size_t scheme_len = s;
    while (s < len && value[s] == ' ')
        s++;
    const char *cred = value + s;
    size_t cred_len = len - s;
    unsigned char any = 0;
    for (size_t i = 0; i < len; i++)
        any |= cclass[(unsigned char)value[i]];
    if (any & CC_CTL) {
        seterr(err, errlen, "Authorization header contains invalid characters");
        return -1;
    }
    bool bearer = scheme_is(scheme, scheme_len, "Bearer");
    bool basic = scheme_is(scheme, scheme_len, "Basic");
    if (!bearer && !basic) {
        seterr(err, errlen, "unsupported authorization scheme (use Bearer or Basic)");
        return -1;
    }
    if (cred_len == 0) {
        seterr(err, errlen, "Authorization header has no credentials");
        return -1;
    }
    if (bearer) {
        size_t i = 0;
        while (i < cred_len && is_b64token_char((unsigned char)cred[i]))
            i++;
        if (i == 0)
            goto bad_bearer;
        while (i < cred_len && cred[i] == '=')
            i++;
        if (i != cred_len)
            goto bad_bearer;
        out->kind = CREDENTIAL_BEARER;
        out->token = cred;
        out->token_len = cred_len;
        out->shape = token_shape_of(cred, cred_len);
        return 0;
    bad_bearer:
        seterr(err, errlen, "malformed Bearer token");
        return -1;
    }
    size_t dlen = 0;
    if (bufcap < B64_DECODED_MAX(cred_len) + 1 ||
        b64_decode(cred, cred_len, (unsigned char *)buf, bufcap - 1, &dlen) != 0) {
        seterr(err, errlen, "malformed Basic credentials (not canonical base64)");
        return -1;
    }
    buf[dlen] = '\0';
    char *colon = memchr(buf, ':', dlen);
    if (!colon) {
        seterr(err, errlen, "malformed Basic credentials (no ':' separator)");
        return -1;
    }
    if (memchr(buf, '\0', dlen)) {
        seterr(err, errlen, "malformed Basic credentials (NUL byte)");
        return -1;
    }
    for (size_t i = 0; i < dlen; i++) {
        unsigned char c = (unsigned char)buf[i];
        if (c < 0x20 || c == 0x7f) {
            seterr(err, errlen, "malformed Basic credentials (control character)");
            return -1;
        }
    }
    *colon = '\0';
    out->kind = CREDENTIAL_BASIC;
    out->user = buf;
    out->user_len = (size_t)(colon - buf);
    out->token = colon + 1;
    out->token_len = dlen - out->user_len - 1;
    if (out->token_len == 0) {
        seterr(err, errlen, "Basic credentials have an empty password");
        return -1;
    }
    out->shape = token_shape_of(out->token, out->token_len);
    return 0;
}
