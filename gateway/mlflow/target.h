/*
 * target: canonicalise or refuse an HTTP request-target before routing (DESIGN.md §4,
 * mlflow-api.md (b) "Routing and paths" and "Query strings"). Pure: no I/O, clocks, globals
 * or allocation; callable from any thread. The caller provides the output buffer; every view
 * in struct target points into that buffer (decoded bytes) or into the raw input (raw views).
 *
 * The path is percent-decoded exactly once, as the ASGI server in front of MLflow does, and
 * split into segments. Anything two parsers could read differently is refused instead of
 * repaired:
 *   - not origin-form (must start with '/'), a fragment ('#')                       -> 400
 *   - a malformed escape ('%' not followed by two hex digits) in the path            -> 400
 *   - after decoding: NUL or another control byte (0x00-0x1F, 0x7F), bytes that are
 *     not well-formed UTF-8 (overlongs, surrogates, > U+10FFFF)                      -> 400
 *   - a '%' left after decoding (double encoding such as %252F)                      -> 400
 *   - an encoded separator: %2F ('/') or %5C ('\') anywhere in the path              -> 400
 *   - an empty segment ("//", also a leading "//")                                   -> 404
 *   - a dot segment ("." or "..", also spelled %2e / %2E)                            -> 404
 * A trailing '/' is not refused here: it is reported (trailing_slash) and the route matcher
 * accepts it only on the one route that requires it. A literal '\' is reported per segment
 * (TARGET_SEG_BACKSLASH) and accepted by the matcher only inside rest-of-path parameters.
 *
 * The query (after the first '?') is split on '&' only (';' is data), '+' means space, keys
 * and values are percent-decoded, "k" without '=' gives an empty value and empty pairs
 * ("a=1&&b=2", a trailing '&') are skipped, all as Werkzeug does. Unlike Werkzeug, which
 * keeps malformed escapes literally and decodes %00 to NUL, those are refused (400): no
 * legitimate client sends them, and refusing means every later layer (the id checks, the
 * audit record, the forwarded request) sees one unambiguous value. Bytes that are not UTF-8
 * after decoding are refused for the same reason (Werkzeug would substitute U+FFFD). Other
 * control bytes (tab, newline) are kept: filter strings may contain them, and id fields are
 * validated by the body/id layer. Repeated keys are kept in order; first-wins for singular
 * fields is the route layer's rule.
 */
#ifndef WARDEN_MLFLOW_TARGET_H
#define WARDEN_MLFLOW_TARGET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TARGET_MAX_SEGMENTS 128
#define TARGET_MAX_QUERY    256

/* A string view; not NUL-terminated. */
struct target_str {
    const char *ptr;
    size_t len;
};

/* Per-segment facts the matcher needs. */
#define TARGET_SEG_ESCAPED   0x01u /* the raw segment contained a %XX escape */
#define TARGET_SEG_BACKSLASH 0x02u /* the decoded segment contains '\' */

struct target_pair {
    struct target_str key, value; /* decoded */
};

struct target {
    struct target_str raw_path;  /* as sent, up to '?' */
    struct target_str raw_query; /* as sent, after '?'; ptr NULL when there was no '?' */
    bool has_query;              /* a '?' was present (even with nothing after it) */
    struct target_str path;      /* decoded path ("/" for the root) */
    bool trailing_slash;         /* the path ends with '/' and is not "/" */
    size_t nseg;                 /* segments of the decoded path (the root has none) */
    struct target_str seg[TARGET_MAX_SEGMENTS];
    uint8_t seg_flags[TARGET_MAX_SEGMENTS];
    size_t nquery;
    struct target_pair query[TARGET_MAX_QUERY];
};

struct target_error {
    int status;         /* 400 or 404 */
    const char *reason; /* static, client-safe text */
};

/*
 * Canonicalise raw[0..len) into *out. buf must hold at least len bytes (decoding never
 * grows the text); the decoded path and query keys/values are written there. Returns 0, or
 * -1 with *err filled (err may be NULL) and *out unspecified.
 */
int target_parse(const char *raw, size_t len, char *buf, size_t buflen, struct target *out,
                 struct target_error *err);

/* First value of query key `key` (exact, case-sensitive), or NULL when absent. */
const struct target_str *target_query_get(const struct target *t, const char *key);

/* Number of values of query key `key`. */
size_t target_query_count(const struct target *t, const char *key);

/* Whether the NUL-terminated string equals the view. */
bool target_str_eq(struct target_str s, const char *lit);

#endif
