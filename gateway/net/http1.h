/*
 * http1: Warden's strict HTTP/1.1 message framing parser (RFC 9112). Pure: no I/O, no clocks,
 * no globals, no allocation. The connection layer feeds it bytes it has read; it answers with
 * a tri-state (error / need more / consumed) and fills caller-owned structs whose string views
 * point into the caller's buffer.
 *
 * It parses request heads (client side), response heads (upstream side) and chunked bodies
 * (both sides). Anything that two HTTP implementations could read differently is refused
 * rather than repaired: see the rules listed at http1_parse_request() and in
 * ../shared/security-cases.md §3.2. Error results carry the HTTP status Warden answers with
 * (400, 431, 501, 505, 417, ...) and a short, client-safe reason.
 */
#ifndef WARDEN_NET_HTTP1_H
#define WARDEN_NET_HTTP1_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HTTP1_MAX_HEADERS_CAP 256 /* hard upper bound for http1_limits.max_headers */

enum http1_method {
    HTTP1_M_UNKNOWN = 0,
    HTTP1_M_GET,
    HTTP1_M_HEAD,
    HTTP1_M_POST,
    HTTP1_M_PUT,
    HTTP1_M_PATCH,
    HTTP1_M_DELETE,
    HTTP1_M_OPTIONS,
};

enum http1_body {
    HTTP1_BODY_NONE = 0, /* no body (no CL/TE on a request; 1xx/204/304/HEAD responses) */
    HTTP1_BODY_LENGTH,   /* Content-Length bytes */
    HTTP1_BODY_CHUNKED,  /* Transfer-Encoding: chunked */
    HTTP1_BODY_CLOSE,    /* responses only: body runs until the upstream closes */
};

struct http1_header {
    const char *name; /* views into the parsed buffer, not NUL-terminated */
    size_t name_len;
    const char *value; /* leading/trailing OWS already trimmed */
    size_t value_len;
};

struct http1_limits {
    size_t max_request_line; /* bytes of the request line, CRLF excluded; exceeded -> 414 */
    size_t max_header_bytes; /* bytes of the whole head incl. request line; exceeded -> 431 */
    size_t max_headers;      /* header field count, <= HTTP1_MAX_HEADERS_CAP; exceeded -> 431 */
};

struct http1_request {
    enum http1_method method;
    const char *method_str;
    size_t method_len;
    const char *target; /* request-target as sent (origin-form only) */
    size_t target_len;
    int version_minor; /* 0 for HTTP/1.0, 1 for HTTP/1.1 */
    struct http1_header headers[HTTP1_MAX_HEADERS_CAP];
    size_t nheaders;

    /* Framing and semantics derived from the headers. */
    enum http1_body body;
    uint64_t content_length; /* valid when body == HTTP1_BODY_LENGTH */
    bool keep_alive;         /* 1.1 without "Connection: close", 1.0 with "keep-alive" */
    bool expect_continue;    /* "Expect: 100-continue" */
    const char *host;        /* the single Host header value (may be NULL on HTTP/1.0) */
    size_t host_len;
};

struct http1_response {
    int status;
    int version_minor;
    struct http1_header headers[HTTP1_MAX_HEADERS_CAP];
    size_t nheaders;
    enum http1_body body;
    uint64_t content_length; /* valid when body == HTTP1_BODY_LENGTH */
    bool keep_alive;         /* the upstream connection may be reused after this response */
};

struct http1_error {
    int status;         /* HTTP status to answer with: 400, 414, 431, 501, 505, 417, 502 */
    size_t offset;      /* byte offset of the offending input */
    const char *reason; /* static, client-safe text, e.g. "duplicate Content-Length" */
};

/*
 * Parse one request head from buf[0..len).
 * Returns >0: the head is complete and that many bytes (through the final CRLF CRLF) were
 *             consumed; *req is filled with views into buf.
 *          0: the head is incomplete and nothing seen so far is invalid or over a limit.
 *         -1: the request is refused; *err says why and with which status. The connection
 *             must be closed after answering.
 * Rules (each a refusal): request line must be `method SP origin-form SP HTTP/1.x CRLF` with
 * exactly single spaces; method a token, one of enum http1_method (TRACE, CONNECT and unknown
 * methods -> 501); HTTP/0.9 or another version (505); bare LF anywhere; NUL or other control
 * bytes (except HTAB in values) in the request line, names or values; obs-fold; empty header
 * name or a name that is not a token; whitespace before the colon; Content-Length not 1*DIGIT,
 * over 2^53, or repeated (even with the same value, or as a list); Transfer-Encoding other than
 * exactly one header whose value is exactly "chunked" (case-insensitive); TE together with CL;
 * TE on HTTP/1.0; missing or repeated Host on HTTP/1.1; Expect other than "100-continue"
 * (417); Connection naming Content-Length, Transfer-Encoding or Host; any Upgrade header.
 */
int http1_parse_request(const char *buf, size_t len, const struct http1_limits *lim,
                        struct http1_request *req, struct http1_error *err);

/*
 * Parse one response head from buf[0..len) as received from the upstream. Same return
 * contract as http1_parse_request(). request_method tells whether the response can have a
 * body (HEAD, and statuses 1xx/204/304, cannot). A response with neither CL nor TE has a
 * close-delimited body and keep_alive false. Errors carry status 502.
 */
int http1_parse_response(const char *buf, size_t len, const struct http1_limits *lim,
                         enum http1_method request_method, struct http1_response *resp,
                         struct http1_error *err);

/*
 * Incremental chunked-body decoder. Byte-wise state machine over the framing; chunk data is
 * handed back as ranges of the input so the caller can move it without copying. Chunk
 * extensions are validated (token[=token|quoted-string]), bounded and dropped; trailer fields
 * are validated, bounded and dropped. Hex sizes: 1..16 digits, no sign/prefix/whitespace.
 */
struct http1_chunked {
    int state;
    uint64_t remaining; /* data bytes left in the current chunk */
    unsigned ndigits;
    size_t line_bytes; /* bytes of the current size/extension/trailer line */
    size_t trailer_bytes;
    bool response; /* set after http1_chunked_init() when decoding an upstream response body:
                      errors then carry status 502 instead of 400 */
};

void http1_chunked_init(struct http1_chunked *c);

/*
 * Feed p[0..len). On return *consumed bytes of p were used; if *data_len > 0, the first
 * *data_len of those consumed bytes (starting at p) are chunk data to forward.
 * Returns  1: progress made, call again with the rest (and/or after forwarding data);
 *          0: all input consumed, need more;
 *          2: the final chunk and trailers are complete (message done; *consumed tells where
 *             the next message starts);
 *         -1: malformed framing; *err filled (status 400, or 502 when parsing a response).
 * A call returns data or consumes framing, never both, so data ranges are always at p.
 */
int http1_chunked_feed(struct http1_chunked *c, const char *p, size_t len, size_t *consumed,
                       size_t *data_len, struct http1_error *err);

/* Case-insensitive comparison of a header name view with a NUL-terminated lower-case name. */
bool http1_name_is(const struct http1_header *h, const char *lower_name);

/* Find the first header with that (lower-case) name; NULL if absent. */
const struct http1_header *http1_find(const struct http1_header *hs, size_t n,
                                      const char *lower_name);

/* "GET", "POST", ... for a known method; "UNKNOWN" otherwise. */
const char *http1_method_name(enum http1_method m);

#endif
