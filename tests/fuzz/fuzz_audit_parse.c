/*
 * libFuzzer target for the parsers of the audit pipeline's delivery side: the native JSON
 * record parser (audit_parse_json), the line peek used by the syslog and Redis sinks, the
 * checkpoint parser, the cursor decoder, the octet-counting unframer and the HTTP collector's
 * response check.
 *
 * Input layout: byte 0 picks the mode (modulo 4); the rest is the input.
 * - 0: a line. audit_parse_json, audit_line_peek, audit_checkpoint_parse and
 *   audit_file_line_seq on an exact-size heap copy (ASan catches over-reads). Invariants: a
 *   parsed record formats again (native and OCSF) within AUDIT_LINE_MAX, and parsing that
 *   output gives a record that formats to the same bytes (a fixed point); when both the peek
 *   and the parser accept, they agree on seq; a refusal carries a reason.
 * - 1: a cursor. A decoded cursor re-encodes to the same bytes.
 * - 2: a stream of octet-counted frames, then an HTTP response (with and without EOF):
 *   consumed lengths stay within the input and frames tile it.
 * - 3: record fields cut at 0x00 bytes; the record is sealed, and then the peek must read
 *   the seq, time and event id back, the syslog frame must unframe to exactly one message
 *   ending in the line, and the parser must accept the line.
 * Single-threaded; no I/O.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/chain.h"
#include "audit/checkpoint.h"
#include "audit/cursor.h"
#include "audit/format.h"
#include "audit/sinks.h"
#include "audit/syslog.h"

#define CHECK(x)                                                                                   \
    do {                                                                                           \
        if (!(x)) {                                                                                \
            fprintf(stderr, "invariant failed: %s (%s:%d)\n", #x, __FILE__, __LINE__);             \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

static struct audit_record rec, rec2;
static char out1[AUDIT_LINE_MAX], out2[AUDIT_LINE_MAX], frame[AUDIT_LINE_MAX + 1024];

static void line_mode(const char *line, size_t len)
{
    char err[256] = "";
    size_t n1 = 0, n2 = 0;
    struct audit_line_peek pk;
    int peek = audit_line_peek(line, len, &pk);
    if (audit_parse_json(line, len, &rec, err, sizeof(err)) == 0) {
        CHECK(audit_format_json(&rec, out1, sizeof(out1), &n1) == 0);
        CHECK(audit_format_ocsf(&rec, "fuzz", out2, sizeof(out2), &n2) == 0);
        CHECK(audit_parse_json(out1, n1, &rec2, err, sizeof(err)) == 0);
        CHECK(audit_format_json(&rec2, out2, sizeof(out2), &n2) == 0);
        CHECK(n1 == n2 && memcmp(out1, out2, n1) == 0);
        if (peek == 0)
            CHECK(pk.seq == rec.seq);
    } else {
        CHECK(err[0] != '\0');
    }
    struct audit_checkpoint cp;
    err[0] = '\0';
    if (audit_checkpoint_parse(line, len, &cp, err, sizeof(err)) == 0)
        CHECK(cp.signed_seq + 1 == cp.seq);
    else
        CHECK(err[0] != '\0');
    (void)audit_line_is_checkpoint(line, len);
    (void)audit_file_line_seq(line, len);
}

static void cursor_mode(const char *buf, size_t len)
{
    uint64_t seq = 0;
    if (audit_cursor_decode(buf, len, &seq) == 0) {
        char again[AUDIT_CURSOR_LEN];
        audit_cursor_encode(seq, again);
        CHECK(len == AUDIT_CURSOR_LEN && memcmp(again, buf, len) == 0);
    }
}

static void stream_mode(const char *buf, size_t len)
{
    size_t at = 0;
    for (;;) {
        const char *msg;
        size_t mlen;
        int k = audit_syslog_unframe(buf + at, len - at, &msg, &mlen);
        if (k <= 0)
            break;
        CHECK((size_t)k <= len - at);
        CHECK(msg >= buf + at && msg + mlen == buf + at + k);
        at += (size_t)k;
    }
    int status = 0;
    bool keep = false;
    int r = audit_http_response(buf, len, false, &status, &keep);
    CHECK(r <= (int)len);
    r = audit_http_response(buf, len, true, &status, &keep);
    CHECK(r <= (int)len && r != 0);
}

/* Next field: bytes up to the next 0x00 (or the end). */
static size_t field(const char **p, size_t *left, const char **out)
{
    const char *z = memchr(*p, 0, *left);
    size_t n = z ? (size_t)(z - *p) : *left;
    *out = *p;
    *p += n + (z ? 1 : 0);
    *left -= n + (z ? 1 : 0);
    return n;
}

static void record_mode(const char *p, size_t left)
{
    const char *f;
    size_t n;
    audit_record_init(&rec, 1764349215000LL + (int64_t)left * 7919, "mlflow");
    n = field(&p, &left, &f);
    AUDIT_SET(&rec, subject.user, f, n);
    n = field(&p, &left, &f);
    AUDIT_SET(&rec, action, f, n);
    n = field(&p, &left, &f);
    audit_record_set_path(&rec, f, n);
    n = field(&p, &left, &f);
    AUDIT_SET(&rec, user_agent, f, n);
    n = field(&p, &left, &f);
    AUDIT_SET(&rec, decision.reason, f, n);
    const char *k;
    size_t kn = field(&p, &left, &k);
    n = field(&p, &left, &f);
    audit_record_add_param(&rec, k, kn, f, n);
    rec.status = (int)(left % 600);
    rec.decision.result = (enum audit_decision)(left % 3);
    struct audit_chain c;
    const unsigned char inst[4] = {1, 2, 3, 4};
    audit_chain_init(&c, inst);
    c.next_seq = 1 + left;
    size_t len = 0;
    CHECK(audit_chain_seal(&c, &rec, out1, sizeof(out1), &len, NULL, 0) == 0);
    len--; /* newline */
    struct audit_line_peek pk;
    CHECK(audit_line_peek(out1, len, &pk) == 0);
    CHECK(pk.seq == rec.seq && strcmp(pk.event_id, rec.event_id) == 0);
    CHECK(pk.status == rec.status && pk.deny == (rec.decision.result == AUDIT_DECISION_DENY));
    struct audit_syslog_hdr h;
    audit_syslog_hdr_init(&h, (int)(left % 24), "fuzz-host", "warden");
    size_t fl = 0;
    CHECK(audit_syslog_frame(&h, &pk, out1, len, frame, sizeof(frame), &fl) == 0);
    const char *msg;
    size_t mlen;
    CHECK(audit_syslog_unframe(frame, fl, &msg, &mlen) == (int)fl);
    CHECK(mlen >= len && memcmp(msg + mlen - len, out1, len) == 0);
    char err[256];
    CHECK(audit_parse_json(out1, len, &rec2, err, sizeof(err)) == 0);
    CHECK(rec2.seq == rec.seq && strcmp(rec2.hash, rec.hash) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    size_t n = size - 1;
    char *copy = malloc(n ? n : 1);
    if (!copy)
        return 0;
    memcpy(copy, data + 1, n);
    switch (data[0] % 4) {
    case 0:
        line_mode(copy, n);
        break;
    case 1:
        cursor_mode(copy, n);
        break;
    case 2:
        stream_mode(copy, n);
        break;
    default:
        record_mode(copy, n);
        break;
    }
    free(copy);
    return 0;
}
