/*
 * http1: strict, incremental, pure HTTP/1.1 framing (RFC 9112). See http1.h for the contract.
 *
 * Owns nothing: every result is a view into the caller's buffer, every state lives in a
 * caller-owned struct. No I/O, clocks, allocation or mutable globals, so it runs on whichever
 * worker loop calls it and is safe to fuzz in isolation. Calls no other Warden module.
 *
 * Design. The head parsers re-scan the buffer from its start on every call; each call is one
 * linear pass over at most max_header_bytes (+1) bytes, driven by byte-class tables. They stop
 * at the first byte that is invalid or over a limit, so "need more" (0) is only answered while
 * every byte seen could still begin a valid head. Semantic checks on a header (duplicate
 * Content-Length, bad Transfer-Encoding, Upgrade, ...) run as soon as its line is complete;
 * checks that need the whole head (Host present, body kind) run at the final CRLF. Because
 * checks run strictly in input order, the verdict for a given prefix does not depend on how
 * the bytes were split across calls.
 *
 * Choices the header leaves open (each deliberate, tested in tests/unit/test_http1.c):
 * - Leading empty lines before a request line are refused (400), not skipped.
 * - Request Content-Length/Transfer-Encoding are stricter than RFC 9112: at most one SP
 *   before the value and no trailing whitespace ("Content-Length:\t5", "...:  5" -> 400), and
 *   no leading zeros in Content-Length ("05" -> 400) — security-cases.md S2/S5.
 * - Every Transfer-Encoding other than exactly "chunked" is 400 (not 501), including valid
 *   codings such as "gzip, chunked".
 * - "Content-Length: 0" gives HTTP1_BODY_LENGTH with content_length 0 (as sent).
 * - Host must be non-empty: reg-name / IPv4 / [IP-literal] with an optional port of <= 5
 *   digits; anything else (space, '/', '@', controls, non-ASCII) is 400.
 * - Responses: the SP and reason-phrase after the status code may be missing ("HTTP/1.1 200"),
 *   which is unambiguous; status must be 100..599 and not 101 (Warden never asks to upgrade);
 *   identical duplicate Content-Length headers are accepted, list form ("5, 5") is not; TE
 *   together with CL is refused; Upgrade headers are allowed (servers advertise h2). All
 *   response errors are 502.
 * - Chunk extensions: no whitespace (BWS) around ';' or '='.
 * - A NULL limits pointer means the defaults below.
 */
#include "net/http1.h"

#include <limits.h>
#include <string.h>

#define CL_MAX         (UINT64_C(1) << 53)
#define CHUNK_LINE_MAX 4096
#define TRAILER_MAX    8192

static const struct http1_limits default_limits = {
    .max_request_line = 8192,
    .max_header_bytes = 16384,
    .max_headers = 100,
};

/* Byte classes. */
enum {
    C_TCHAR = 1,  /* token character (RFC 9110 §5.6.2) */
    C_VCHAR = 2,  /* 0x21-0x7E */
    C_FIELD = 4,  /* field-value byte: HTAB, SP, VCHAR, obs-text */
    C_HOST = 8,   /* reg-name / IP-literal byte: unreserved, sub-delims, '%' */
    C_HEX = 16,   /* hex digit */
    C_QDTEXT = 32 /* quoted-string text: HTAB SP 0x21 0x23-0x5B 0x5D-0x7E obs-text */
};

/*
 * ctab[c] = OR of the classes of byte c, generated from the definitions above (tchar =
 * ALPHA / DIGIT / "!#$%&'*+-.^_`|~"; host bytes = ALPHA / DIGIT / "-._~!$&'()*+,;=%").
 */
static const unsigned char ctab[256] = {
    /* 00 */ 0,  0,  0,  0,  0,  0,  0,  0,  0,  36, 0,  0,  0,  0,  0,  0,
    /* 10 */ 0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,
    /* 20 */ 36, 47, 6,  39, 47, 47, 47, 47, 46, 46, 47, 47, 46, 47, 47, 38,
    /* 30 */ 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 38, 46, 38, 46, 38, 38,
    /* 40 */ 38, 63, 63, 63, 63, 63, 63, 47, 47, 47, 47, 47, 47, 47, 47, 47,
    /* 50 */ 47, 47, 47, 47, 47, 47, 47, 47, 47, 47, 47, 38, 6,  38, 39, 47,
    /* 60 */ 39, 63, 63, 63, 63, 63, 63, 47, 47, 47, 47, 47, 47, 47, 47, 47,
    /* 70 */ 47, 47, 47, 47, 47, 47, 47, 47, 47, 47, 47, 38, 39, 38, 47, 0,
    /* 80 */ 36, 36, 36, 36, 36, 36, 36, 36, 36, 36, 36, 36, 36, 36, 36, 36,
    /* 90 */ 36, 36, 36, 36, 36, 36, 36, 36, 36, 36, 36, 36, 36, 36, 36, 36,
    /* a0 */ 36, 36, 36, 36, 36, 36, 36, 36, 36, 36, 36, 36, 36, 36, 36, 36,
    /* b0 */ 36, 36, 36, 36, 36, 36, 36, 36, 36, 36, 36, 36, 36, 36, 36, 36,
    /* c0 */ 36, 36, 36, 36, 36, 36, 36, 36, 36, 36, 36, 36, 36, 36, 36, 36,
    /* d0 */ 36, 36, 36, 36, 36, 36, 36, 36, 36, 36, 36, 36, 36, 36, 36, 36,
    /* e0 */ 36, 36, 36, 36, 36, 36, 36, 36, 36, 36, 36, 36, 36, 36, 36, 36,
    /* f0 */ 36, 36, 36, 36, 36, 36, 36, 36, 36, 36, 36, 36, 36, 36, 36, 36,
};

static inline unsigned char lower(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + 32) : c;
}

#define IS(c, cls) ((ctab[(unsigned char)(c)] & (cls)) != 0)

/* First offset in [p, n) whose byte is not in class cls, or n. Unrolled: this is the hot loop. */
static inline size_t span(const char *b, size_t p, size_t n, unsigned cls)
{
    while (n - p >= 4) {
        if (!IS(b[p], cls))
            return p;
        if (!IS(b[p + 1], cls))
            return p + 1;
        if (!IS(b[p + 2], cls))
            return p + 2;
        if (!IS(b[p + 3], cls))
            return p + 3;
        p += 4;
    }
    while (p < n && IS(b[p], cls))
        p++;
    return p;
}

static inline bool is_ws(char c)
{
    return c == ' ' || c == '\t';
}

static int fail(struct http1_error *err, int status, size_t off, const char *reason)
{
    if (err) {
        err->status = status;
        err->offset = off;
        err->reason = reason;
    }
    return -1;
}

/* Case-insensitive equality of s[0..n) with the lower-case NUL-terminated word. */
static bool ieq(const char *s, size_t n, const char *word)
{
    size_t i = 0;
    for (; i < n; i++) {
        if (word[i] == '\0' || lower((unsigned char)s[i]) != (unsigned char)word[i])
            return false;
    }
    return word[i] == '\0';
}

/* ------------------------------------------------------------------------------------------ */
/* Header semantics                                                                            */

enum hname { H_OTHER, H_HOST, H_EXPECT, H_UPGRADE, H_CONNECTION, H_CL, H_TE };

static enum hname classify(const char *n, size_t len)
{
    switch (len) {
    case 4:
        return ieq(n, len, "host") ? H_HOST : H_OTHER;
    case 6:
        return ieq(n, len, "expect") ? H_EXPECT : H_OTHER;
    case 7:
        return ieq(n, len, "upgrade") ? H_UPGRADE : H_OTHER;
    case 10:
        return ieq(n, len, "connection") ? H_CONNECTION : H_OTHER;
    case 14:
        return ieq(n, len, "content-length") ? H_CL : H_OTHER;
    case 17:
        return ieq(n, len, "transfer-encoding") ? H_TE : H_OTHER;
    default:
        return H_OTHER;
    }
}

/* State shared by the request and response head parsers. */
struct head {
    bool response;
    int version_minor;
    struct http1_header *hs;
    size_t nh;
    size_t max_headers;
    bool have_cl, have_te, have_host, conn_close, conn_ka, expect_continue;
    uint64_t cl;
    const char *host;
    size_t host_len;
};

static int hfail(const struct head *h, struct http1_error *err, int status, size_t off,
                 const char *reason)
{
    return fail(err, h->response ? 502 : status, off, reason);
}

/* Content-Length value: 1*DIGIT, <= 2^53. strict: no leading zeros. -1 if invalid. */
static int parse_cl(const char *v, size_t n, bool strict, uint64_t *out)
{
    if (n == 0)
        return -1;
    if (strict && n > 1 && v[0] == '0')
        return -1;
    uint64_t x = 0;
    for (size_t i = 0; i < n; i++) {
        if (v[i] < '0' || v[i] > '9')
            return -1;
        x = x * 10 + (uint64_t)(v[i] - '0');
        if (x > CL_MAX)
            return -1;
    }
    *out = x;
    return 0;
}

/* host = uri-host [ ":" port ]; uri-host = IP-literal / IPv4address / reg-name. */
static bool host_ok(const char *v, size_t n)
{
    size_t i = 0;
    if (n == 0)
        return false;
    if (v[0] == '[') {
        for (i = 1; i < n && v[i] != ']'; i++) {
            if (!IS(v[i], C_HOST) && v[i] != ':')
                return false;
        }
        if (i == n || i == 1)
            return false;
        i++;
    } else {
        while (i < n && IS(v[i], C_HOST))
            i++;
        if (i == 0)
            return false;
    }
    if (i == n)
        return true;
    if (v[i] != ':' || n - i - 1 > 5)
        return false;
    for (i++; i < n; i++) {
        if (v[i] < '0' || v[i] > '9')
            return false;
    }
    return true;
}

/* Connection = #connection-option (tokens; empty list elements allowed). */
static int on_connection(struct head *h, const char *v, size_t n, size_t off,
                         struct http1_error *err)
{
    size_t i = 0;
    for (;;) {
        while (i < n && (is_ws(v[i]) || v[i] == ','))
            i++;
        if (i == n)
            return 0;
        size_t s = i;
        while (i < n && IS(v[i], C_TCHAR))
            i++;
        if (i == s)
            return hfail(h, err, 400, off, "invalid Connection header");
        const char *t = v + s;
        size_t tl = i - s;
        if (ieq(t, tl, "close"))
            h->conn_close = true;
        else if (ieq(t, tl, "keep-alive"))
            h->conn_ka = true;
        else if (ieq(t, tl, "content-length") || ieq(t, tl, "transfer-encoding") ||
                 ieq(t, tl, "host"))
            return hfail(h, err, 400, off, "Connection names a framing header");
        while (i < n && is_ws(v[i]))
            i++;
        if (i < n && v[i] != ',')
            return hfail(h, err, 400, off, "invalid Connection header");
    }
}

/*
 * Apply the semantics of one complete header line. raw/raw_len is the value before OWS
 * trimming (used for the strict framing-header form on requests); off is the line's offset.
 */
static int on_header(struct head *h, const struct http1_header *f, const char *raw, size_t raw_len,
                     size_t off, struct http1_error *err)
{
    enum hname k = classify(f->name, f->name_len);
    bool strict = !h->response;

    if ((k == H_CL || k == H_TE) && strict) {
        /* Request framing headers: "name:value" or "name: value", nothing else. */
        size_t lead = f->value - raw;
        if (lead > 1 || (lead == 1 && raw[0] != ' ') || f->value + f->value_len != raw + raw_len)
            return fail(err, 400, off, "whitespace in framing header value");
    }
    switch (k) {
    case H_CL: {
        uint64_t x;
        if (parse_cl(f->value, f->value_len, strict, &x) < 0)
            return hfail(h, err, 400, off, "invalid Content-Length");
        if (h->have_cl && (strict || x != h->cl))
            return hfail(h, err, 400, off, "duplicate Content-Length");
        if (h->have_te)
            return hfail(h, err, 400, off, "Content-Length with Transfer-Encoding");
        h->have_cl = true;
        h->cl = x;
        return 0;
    }
    case H_TE:
        if (h->have_te)
            return hfail(h, err, 400, off, "repeated Transfer-Encoding");
        if (!ieq(f->value, f->value_len, "chunked"))
            return hfail(h, err, 400, off, "unsupported Transfer-Encoding");
        if (h->have_cl)
            return hfail(h, err, 400, off, "Transfer-Encoding with Content-Length");
        if (h->version_minor == 0)
            return hfail(h, err, 400, off, "Transfer-Encoding on HTTP/1.0");
        h->have_te = true;
        return 0;
    case H_CONNECTION:
        return on_connection(h, f->value, f->value_len, off, err);
    case H_HOST:
        if (h->response)
            return 0;
        if (h->have_host)
            return fail(err, 400, off, "repeated Host");
        if (!host_ok(f->value, f->value_len))
            return fail(err, 400, off, "invalid Host");
        h->have_host = true;
        h->host = f->value;
        h->host_len = f->value_len;
        return 0;
    case H_EXPECT:
        if (h->response)
            return 0;
        if (!ieq(f->value, f->value_len, "100-continue"))
            return fail(err, 417, off, "unsupported Expect");
        /* RFC 9110 §10.1.1: a 100-continue expectation in an HTTP/1.0 request is ignored. */
        h->expect_continue = h->version_minor == 1;
        return 0;
    case H_UPGRADE:
        if (h->response)
            return 0;
        return fail(err, 400, off, "protocol upgrade not supported");
    case H_OTHER:
        break;
    }
    return 0;
}

/*
 * Scan header lines from p up to the empty line. n = min(len, max_header_bytes): bytes at or
 * beyond n are over the limit. Returns the offset after the final CRLF, 0 for need more, -1.
 */
static long parse_fields(const char *b, size_t len, size_t p, size_t n, struct head *h,
                         struct http1_error *err)
{
    for (;;) {
        if (p >= n)
            break;
        size_t line = p;
        char c = b[p];
        if (c == '\r') {
            if (p + 1 >= n)
                break;
            if (b[p + 1] != '\n')
                return hfail(h, err, 400, p + 1, "CR not followed by LF");
            return (long)(p + 2);
        }
        if (c == '\n')
            return hfail(h, err, 400, p, "bare LF");
        if (is_ws(c))
            return hfail(h, err, 400, p, "obs-fold or leading whitespace");
        if (h->nh >= h->max_headers)
            return hfail(h, err, 431, p, "too many header fields");

        p = span(b, p, n, C_TCHAR);
        if (p >= n)
            break;
        if (b[p] != ':') {
            if (is_ws(b[p]))
                return hfail(h, err, 400, p, "whitespace before colon");
            if (b[p] == '\r' || b[p] == '\n')
                return hfail(h, err, 400, p, "header line without colon");
            return hfail(h, err, 400, p, "invalid header name");
        }
        if (p == line)
            return hfail(h, err, 400, p, "empty header name");
        size_t name_end = p++;
        size_t raw = p;
        while (p < n && is_ws(b[p]))
            p++;
        size_t vs = p;
        p = span(b, p, n, C_FIELD);
        if (p >= n)
            break;
        if (b[p] != '\r') {
            if (b[p] == '\n')
                return hfail(h, err, 400, p, "bare LF");
            if (b[p] == '\0')
                return hfail(h, err, 400, p, "NUL in header value");
            return hfail(h, err, 400, p, "control character in header value");
        }
        if (p + 1 >= n)
            break;
        if (b[p + 1] != '\n')
            return hfail(h, err, 400, p + 1, "CR not followed by LF");
        size_t ve = p;
        while (ve > vs && is_ws(b[ve - 1]))
            ve--;
        struct http1_header *f = &h->hs[h->nh++];
        f->name = b + line;
        f->name_len = name_end - line;
        f->value = b + vs;
        f->value_len = ve - vs;
        if (on_header(h, f, b + raw, p - raw, line, err) < 0)
            return -1;
        p += 2;
    }
    if (len > n)
        return hfail(h, err, 431, n, "header section too large");
    return 0;
}

/* Offset of the first CR or LF in b[0..n), or n. */
static size_t find_eol(const char *b, size_t n)
{
    const char *cr = memchr(b, '\r', n);
    size_t e = cr ? (size_t)(cr - b) : n;
    const char *lf = memchr(b, '\n', e);
    return lf ? (size_t)(lf - b) : e;
}

/*
 * Match v[0..n) against "HTTP/d.d". Returns 1 when complete (sets *major and *minor), 0 when n is
 * a valid proper prefix, -1 otherwise. A longer v is -1.
 */
static int match_version(const char *v, size_t n, int *major, int *minor)
{
    static const char pat[] = "HTTP/#.#";
    if (n > 8)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (pat[i] == '#') {
            if (v[i] < '0' || v[i] > '9')
                return -1;
        } else if (v[i] != pat[i]) {
            return -1;
        }
    }
    if (n < 8)
        return 0;
    *major = v[5] - '0';
    *minor = v[7] - '0';
    return 1;
}

/* x + 1 without wrapping (a limit of SIZE_MAX means "no limit"). */
static size_t plus1(size_t x)
{
    return x == SIZE_MAX ? x : x + 1;
}

static size_t min3(size_t a, size_t b, size_t c)
{
    size_t m = a < b ? a : b;
    return m < c ? m : c;
}

/*
 * Offset of the CR or LF ending the first (request or status) line, looking at no more than
 * one byte past either limit; the returned value equals that scan bound when no terminator
 * was found. The caller checks the grammar of the scanned prefix before first_line_finish()
 * reports a limit, so a verdict never depends on how the input was split across reads.
 */
static size_t first_line_end(const char *b, size_t len, const struct http1_limits *lim)
{
    return find_eol(b, min3(len, plus1(lim->max_request_line), plus1(lim->max_header_bytes)));
}

/* After the grammar of [0, eol) is valid: terminator and limit checks. 1 ok, 0 more, -1. */
static int first_line_finish(const char *b, size_t len, size_t eol, const struct http1_limits *lim,
                             bool response, struct http1_error *err)
{
    size_t scan = min3(len, plus1(lim->max_request_line), plus1(lim->max_header_bytes));
    if (eol == scan) {
        if (scan > lim->max_header_bytes)
            return fail(err, response ? 502 : 431, lim->max_header_bytes,
                        "header section too large");
        if (scan > lim->max_request_line)
            return fail(err, response ? 502 : 414, lim->max_request_line,
                        response ? "status line too long" : "request line too long");
        return 0;
    }
    if (b[eol] == '\n')
        return fail(err, response ? 502 : 400, eol, "bare LF");
    if (eol + 1 >= len)
        return 0;
    if (b[eol + 1] != '\n')
        return fail(err, response ? 502 : 400, eol + 1, "CR not followed by LF");
    return 1;
}

/* ------------------------------------------------------------------------------------------ */
/* Requests                                                                                    */

static enum http1_method method_lookup(const char *m, size_t n)
{
    switch (n) {
    case 3:
        if (memcmp(m, "GET", 3) == 0)
            return HTTP1_M_GET;
        if (memcmp(m, "PUT", 3) == 0)
            return HTTP1_M_PUT;
        break;
    case 4:
        if (memcmp(m, "HEAD", 4) == 0)
            return HTTP1_M_HEAD;
        if (memcmp(m, "POST", 4) == 0)
            return HTTP1_M_POST;
        break;
    case 5:
        if (memcmp(m, "PATCH", 5) == 0)
            return HTTP1_M_PATCH;
        break;
    case 6:
        if (memcmp(m, "DELETE", 6) == 0)
            return HTTP1_M_DELETE;
        break;
    case 7:
        if (memcmp(m, "OPTIONS", 7) == 0)
            return HTTP1_M_OPTIONS;
        break;
    default:
        break;
    }
    return HTTP1_M_UNKNOWN;
}

/*
 * Grammar of the request line b[0..e). complete: e is where CR LF starts; otherwise the line
 * continues beyond e. Returns 1 when complete and valid, 0 when a valid prefix, -1.
 */
static int request_line(const char *b, size_t e, bool complete, struct http1_request *req,
                        struct http1_error *err)
{
    size_t i = 0;
    while (i < e && IS(b[i], C_TCHAR))
        i++;
    if (i == e)
        return complete ? fail(err, 400, i, "malformed request line") : 0;
    if (b[i] != ' ' || i == 0)
        return fail(err, 400, i, i == 0 ? "malformed method" : "malformed request line");
    req->method_str = b;
    req->method_len = i;
    req->method = method_lookup(b, i);
    if (req->method == HTTP1_M_UNKNOWN)
        return fail(err, 501, 0, "method not implemented");
    size_t ts = ++i;
    if (i == e)
        return complete ? fail(err, 400, i, "missing request-target") : 0;
    if (b[i] == '*') {
        if (req->method != HTTP1_M_OPTIONS)
            return fail(err, 400, i, "asterisk-form is only for OPTIONS");
        i++;
    } else if (b[i] == '/') {
        i++;
        i = span(b, i, e, C_VCHAR);
    } else {
        return fail(err, 400, i, "request-target must be origin-form");
    }
    if (i == e)
        return complete ? fail(err, 400, i, "missing HTTP version") : 0;
    if (b[i] != ' ')
        return fail(err, 400, i, "invalid byte in request-target");
    req->target = b + ts;
    req->target_len = i - ts;
    i++;
    int major = 0, minor = 0;
    int v = match_version(b + i, e - i, &major, &minor);
    if (v < 0)
        return fail(err, 400, i, "malformed HTTP version");
    if (v == 0)
        return complete ? fail(err, 400, i, "malformed HTTP version") : 0;
    if (!complete)
        return 0;
    if (major != 1 || minor > 1)
        return fail(err, 505, i, "HTTP version not supported");
    req->version_minor = minor;
    return 1;
}

int http1_parse_request(const char *buf, size_t len, const struct http1_limits *lim,
                        struct http1_request *req, struct http1_error *err)
{
    if (!lim)
        lim = &default_limits;
    req->method = HTTP1_M_UNKNOWN;
    req->method_str = NULL;
    req->method_len = 0;
    req->target = NULL;
    req->target_len = 0;
    req->version_minor = 1;
    req->nheaders = 0;
    req->body = HTTP1_BODY_NONE;
    req->content_length = 0;
    req->keep_alive = false;
    req->expect_continue = false;
    req->host = NULL;
    req->host_len = 0;

    size_t eol = first_line_end(buf, len, lim);
    size_t scan = min3(len, plus1(lim->max_request_line), plus1(lim->max_header_bytes));
    int rc = request_line(buf, eol, eol < scan, req, err);
    if (rc < 0)
        return -1;
    rc = first_line_finish(buf, len, eol, lim, false, err);
    if (rc <= 0)
        return rc;

    struct head h = {0};
    h.version_minor = req->version_minor;
    h.hs = req->headers;
    h.max_headers =
        lim->max_headers < HTTP1_MAX_HEADERS_CAP ? lim->max_headers : HTTP1_MAX_HEADERS_CAP;
    size_t n = len < lim->max_header_bytes ? len : lim->max_header_bytes;
    long end = parse_fields(buf, len, eol + 2, n, &h, err);
    req->nheaders = h.nh;
    if (end <= 0)
        return (int)end;

    if (req->version_minor == 1 && !h.have_host)
        return fail(err, 400, (size_t)end, "missing Host");
    req->host = h.host;
    req->host_len = h.host_len;
    req->expect_continue = h.expect_continue;
    if (h.have_te) {
        req->body = HTTP1_BODY_CHUNKED;
    } else if (h.have_cl) {
        req->body = HTTP1_BODY_LENGTH;
        req->content_length = h.cl;
    }
    if (req->version_minor == 1)
        req->keep_alive = !h.conn_close;
    else
        req->keep_alive = h.conn_ka && !h.conn_close;
    if (end > INT_MAX)
        return fail(err, 431, 0, "header section too large");
    return (int)end;
}

/* ------------------------------------------------------------------------------------------ */
/* Responses                                                                                   */

/* status-line = HTTP-version SP 3DIGIT [ SP reason-phrase ]; same return contract. */
static int status_line(const char *b, size_t e, bool complete, struct http1_response *resp,
                       struct http1_error *err)
{
    size_t vn = e < 8 ? e : 8;
    int major = 0, minor = 0;
    int v = match_version(b, vn, &major, &minor);
    if (v < 0)
        return fail(err, 502, 0, "malformed status line");
    if (v == 0)
        return complete ? fail(err, 502, 0, "malformed status line") : 0;
    if (major != 1 || minor > 1)
        return fail(err, 502, 0, "unsupported upstream HTTP version");
    resp->version_minor = minor;
    size_t i = 8;
    if (i == e)
        return complete ? fail(err, 502, i, "malformed status line") : 0;
    if (b[i] != ' ')
        return fail(err, 502, i, "malformed status line");
    int status = 0;
    for (i = 9; i < e && i < 12; i++) {
        if (b[i] < '0' || b[i] > '9')
            return fail(err, 502, i, "malformed status code");
        status = status * 10 + (b[i] - '0');
    }
    if (i < 12)
        return complete ? fail(err, 502, i, "malformed status code") : 0;
    if (status < 100 || status > 599 || status == 101)
        return fail(err, 502, 9, "unexpected status code");
    resp->status = status;
    if (i < e) {
        if (b[i] != ' ')
            return fail(err, 502, i, "malformed status line");
        for (i++; i < e; i++) {
            if (!IS(b[i], C_FIELD))
                return fail(err, 502, i, "invalid reason phrase");
        }
    }
    return complete ? 1 : 0;
}

int http1_parse_response(const char *buf, size_t len, const struct http1_limits *lim,
                         enum http1_method request_method, struct http1_response *resp,
                         struct http1_error *err)
{
    if (!lim)
        lim = &default_limits;
    resp->status = 0;
    resp->version_minor = 1;
    resp->nheaders = 0;
    resp->body = HTTP1_BODY_NONE;
    resp->content_length = 0;
    resp->keep_alive = false;

    size_t eol = first_line_end(buf, len, lim);
    size_t scan = min3(len, plus1(lim->max_request_line), plus1(lim->max_header_bytes));
    int rc = status_line(buf, eol, eol < scan, resp, err);
    if (rc < 0)
        return -1;
    rc = first_line_finish(buf, len, eol, lim, true, err);
    if (rc <= 0)
        return rc;

    struct head h = {0};
    h.response = true;
    h.version_minor = resp->version_minor;
    h.hs = resp->headers;
    h.max_headers =
        lim->max_headers < HTTP1_MAX_HEADERS_CAP ? lim->max_headers : HTTP1_MAX_HEADERS_CAP;
    size_t n = len < lim->max_header_bytes ? len : lim->max_header_bytes;
    long end = parse_fields(buf, len, eol + 2, n, &h, err);
    resp->nheaders = h.nh;
    if (end <= 0)
        return (int)end;

    int s = resp->status;
    if (request_method == HTTP1_M_HEAD || s < 200 || s == 204 || s == 304) {
        resp->body = HTTP1_BODY_NONE;
    } else if (h.have_te) {
        resp->body = HTTP1_BODY_CHUNKED;
    } else if (h.have_cl) {
        resp->body = HTTP1_BODY_LENGTH;
        resp->content_length = h.cl;
    } else {
        resp->body = HTTP1_BODY_CLOSE;
    }
    if (resp->version_minor == 1)
        resp->keep_alive = !h.conn_close;
    else
        resp->keep_alive = h.conn_ka && !h.conn_close;
    if (resp->body == HTTP1_BODY_CLOSE)
        resp->keep_alive = false;
    if (end > INT_MAX)
        return fail(err, 502, 0, "header section too large");
    return (int)end;
}

/* ------------------------------------------------------------------------------------------ */
/* Chunked bodies                                                                              */

enum {
    CK_SIZE = 0,   /* hex digits of a chunk size */
    CK_EXT_NAME0,  /* after ';': first byte of an extension name */
    CK_EXT_NAME,   /* inside an extension name */
    CK_EXT_VAL0,   /* after '=': first byte of a value */
    CK_EXT_TOKEN,  /* inside a token value */
    CK_EXT_QUOTED, /* inside a quoted-string value */
    CK_EXT_QESC,   /* after a backslash in a quoted-string */
    CK_EXT_AFTERQ, /* after the closing quote */
    CK_SIZE_LF,    /* CR seen at the end of the size line */
    CK_DATA,       /* chunk data */
    CK_DATA_CR,    /* CR expected after data */
    CK_DATA_LF,    /* LF expected after data */
    CK_TR_START,   /* start of a trailer line (or the final CRLF) */
    CK_TR_NAME,    /* trailer field name */
    CK_TR_VALUE,   /* trailer field value */
    CK_TR_LF,      /* CR seen at the end of a trailer line */
    CK_FINAL_LF,   /* CR of the final empty line seen */
    CK_DONE,
    CK_ERROR,
};

void http1_chunked_init(struct http1_chunked *c)
{
    memset(c, 0, sizeof(*c));
    c->state = CK_SIZE;
}

static int ck_fail(struct http1_chunked *c, struct http1_error *err, size_t off, const char *reason)
{
    c->state = CK_ERROR;
    return fail(err, c->response ? 502 : 400, off, reason);
}

int http1_chunked_feed(struct http1_chunked *c, const char *p, size_t len, size_t *consumed,
                       size_t *data_len, struct http1_error *err)
{
    *consumed = 0;
    *data_len = 0;
    if (c->state == CK_DONE)
        return 2;
    if (c->state == CK_ERROR)
        return fail(err, c->response ? 502 : 400, 0, "chunked decoder already failed");
    if (c->state == CK_DATA) {
        if (len == 0)
            return 0;
        size_t n = c->remaining < len ? (size_t)c->remaining : len;
        c->remaining -= n;
        if (c->remaining == 0)
            c->state = CK_DATA_CR;
        *consumed = n;
        *data_len = n;
        return 1;
    }

    size_t i = 0;
    while (i < len) {
        unsigned char ch = (unsigned char)p[i];
        int st = c->state;
        if (st <= CK_EXT_AFTERQ && ++c->line_bytes > CHUNK_LINE_MAX)
            return ck_fail(c, err, i, "chunk size line too long");
        if (st >= CK_TR_START && st <= CK_FINAL_LF && ++c->trailer_bytes > TRAILER_MAX)
            return ck_fail(c, err, i, "trailer section too large");
        switch (st) {
        case CK_SIZE:
            if (IS(ch, C_HEX)) {
                if (c->ndigits == 16)
                    return ck_fail(c, err, i, "chunk size too long");
                unsigned d = ch <= '9' ? (unsigned)(ch - '0') : (unsigned)(lower(ch) - 'a' + 10);
                c->remaining = (c->remaining << 4) | d;
                c->ndigits++;
            } else if (c->ndigits == 0) {
                return ck_fail(c, err, i, "invalid chunk size");
            } else if (ch == ';') {
                c->state = CK_EXT_NAME0;
            } else if (ch == '\r') {
                c->state = CK_SIZE_LF;
            } else {
                return ck_fail(c, err, i, ch == '\n' ? "bare LF" : "invalid chunk size");
            }
            break;
        case CK_EXT_NAME0:
            if (!IS(ch, C_TCHAR))
                return ck_fail(c, err, i, "invalid chunk extension");
            c->state = CK_EXT_NAME;
            break;
        case CK_EXT_NAME:
            if (IS(ch, C_TCHAR)) {
                break;
            } else if (ch == '=') {
                c->state = CK_EXT_VAL0;
            } else if (ch == ';') {
                c->state = CK_EXT_NAME0;
            } else if (ch == '\r') {
                c->state = CK_SIZE_LF;
            } else {
                return ck_fail(c, err, i, "invalid chunk extension");
            }
            break;
        case CK_EXT_VAL0:
            if (ch == '"')
                c->state = CK_EXT_QUOTED;
            else if (IS(ch, C_TCHAR))
                c->state = CK_EXT_TOKEN;
            else
                return ck_fail(c, err, i, "invalid chunk extension");
            break;
        case CK_EXT_TOKEN:
            if (IS(ch, C_TCHAR))
                break;
            if (ch == ';') {
                c->state = CK_EXT_NAME0;
            } else if (ch == '\r') {
                c->state = CK_SIZE_LF;
            } else {
                return ck_fail(c, err, i, "invalid chunk extension");
            }
            break;
        case CK_EXT_QUOTED:
            if (ch == '"')
                c->state = CK_EXT_AFTERQ;
            else if (ch == '\\')
                c->state = CK_EXT_QESC;
            else if (!IS(ch, C_QDTEXT))
                return ck_fail(c, err, i, "invalid chunk extension");
            break;
        case CK_EXT_QESC:
            if (!IS(ch, C_FIELD))
                return ck_fail(c, err, i, "invalid chunk extension");
            c->state = CK_EXT_QUOTED;
            break;
        case CK_EXT_AFTERQ:
            if (ch == ';') {
                c->state = CK_EXT_NAME0;
            } else if (ch == '\r') {
                c->state = CK_SIZE_LF;
            } else {
                return ck_fail(c, err, i, "invalid chunk extension");
            }
            break;
        case CK_SIZE_LF:
            if (ch != '\n')
                return ck_fail(c, err, i, "CR not followed by LF");
            c->line_bytes = 0;
            c->ndigits = 0;
            if (c->remaining == 0) {
                c->state = CK_TR_START;
                break;
            }
            c->state = CK_DATA;
            *consumed = i + 1;
            return i + 1 < len ? 1 : 0;
        case CK_DATA_CR:
            if (ch != '\r')
                return ck_fail(c, err, i, "missing CRLF after chunk data");
            c->state = CK_DATA_LF;
            break;
        case CK_DATA_LF:
            if (ch != '\n')
                return ck_fail(c, err, i, "missing CRLF after chunk data");
            c->state = CK_SIZE;
            break;
        case CK_TR_START:
            if (ch == '\r') {
                c->state = CK_FINAL_LF;
            } else if (IS(ch, C_TCHAR)) {
                c->state = CK_TR_NAME;
            } else if (ch == ' ' || ch == '\t') {
                return ck_fail(c, err, i, "obs-fold in trailer");
            } else {
                return ck_fail(c, err, i, ch == '\n' ? "bare LF" : "invalid trailer field");
            }
            break;
        case CK_TR_NAME:
            if (ch == ':')
                c->state = CK_TR_VALUE;
            else if (!IS(ch, C_TCHAR))
                return ck_fail(c, err, i, "invalid trailer field");
            break;
        case CK_TR_VALUE:
            if (ch == '\r')
                c->state = CK_TR_LF;
            else if (!IS(ch, C_FIELD))
                return ck_fail(c, err, i, ch == '\n' ? "bare LF" : "invalid trailer field");
            break;
        case CK_TR_LF:
            if (ch != '\n')
                return ck_fail(c, err, i, "CR not followed by LF");
            c->state = CK_TR_START;
            break;
        case CK_FINAL_LF:
            if (ch != '\n')
                return ck_fail(c, err, i, "CR not followed by LF");
            c->state = CK_DONE;
            *consumed = i + 1;
            return 2;
        default:
            return ck_fail(c, err, i, "chunked decoder in invalid state");
        }
        i++;
    }
    *consumed = len;
    return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Helpers                                                                                     */

bool http1_name_is(const struct http1_header *h, const char *lower_name)
{
    return ieq(h->name, h->name_len, lower_name);
}

const struct http1_header *http1_find(const struct http1_header *hs, size_t n,
                                      const char *lower_name)
{
    for (size_t i = 0; i < n; i++) {
        if (ieq(hs[i].name, hs[i].name_len, lower_name))
            return &hs[i];
    }
    return NULL;
}

const char *http1_method_name(enum http1_method m)
{
    switch (m) {
    case HTTP1_M_GET:
        return "GET";
    case HTTP1_M_HEAD:
        return "HEAD";
    case HTTP1_M_POST:
        return "POST";
    case HTTP1_M_PUT:
        return "PUT";
    case HTTP1_M_PATCH:
        return "PATCH";
    case HTTP1_M_DELETE:
        return "DELETE";
    case HTTP1_M_OPTIONS:
        return "OPTIONS";
    case HTTP1_M_UNKNOWN:
        break;
    }
    return "UNKNOWN";
}
