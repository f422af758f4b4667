/*
 * libFuzzer target for audit/chain's line parser and verifier, and the JSON formatter they
 * depend on.
 *
 * Input layout: byte 0 picks the mode.
 * - even: the rest is a log file. It is split at '\n' and each line is given, as an
 *   exact-size heap copy (so ASan catches any read past it), to audit_line_parse and
 *   audit_verify_line. Invariants: an accepted line has seq >= 1 and its hash digits lie
 *   inside the line; a refusal carries a non-empty reason and leaves the verifier state
 *   unchanged; an acceptance advances the count by one and sets last_seq to the line's seq.
 * - odd: the rest is cut into record fields (user, action, path, user agent, reason, a
 *   parameter key and value, ...) at 0x00 bytes; the record is sealed twice in a chain and
 *   both lines must verify, must contain no raw control byte and no "wdn_pat_", and no
 *   stored parameter value may look like a credential unless redacted or cut.
 * Single-threaded; no I/O.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/chain.h"
#include "audit/format.h"

#define CHECK(x)                                                                                   \
    do {                                                                                           \
        if (!(x)) {                                                                                \
            fprintf(stderr, "invariant failed: %s (%s:%d)\n", #x, __FILE__, __LINE__);             \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

static void verify_mode(const uint8_t *data, size_t size)
{
    struct audit_verify v;
    audit_verify_init(&v);
    size_t start = 0;
    while (start <= size) {
        const uint8_t *nl = memchr(data + start, '\n', size - start);
        size_t end = nl ? (size_t)(nl - data) : size;
        size_t n = end - start;
        char *line = malloc(n ? n : 1);
        CHECK(line);
        if (n)
            memcpy(line, data + start, n);
        struct audit_line l;
        char err[256] = "";
        if (audit_line_parse(line, n, &l, err, sizeof(err)) == 0) {
            CHECK(l.seq >= 1);
            CHECK(l.hash_off + AUDIT_HASH_HEX <= n);
        } else {
            CHECK(err[0] != '\0');
        }
        struct audit_verify before = v;
        err[0] = '\0';
        if (audit_verify_line(&v, line, n, err, sizeof(err)) == 0) {
            CHECK(v.count == before.count + 1);
            CHECK(v.last_seq == l.seq);
        } else {
            CHECK(err[0] != '\0');
            CHECK(memcmp(&before, &v, sizeof(v)) == 0);
        }
        free(line);
        if (!nl)
            break;
        start = end + 1;
    }
}

/* Next 0x00-terminated piece of the input. */
static const char *piece(const uint8_t **p, const uint8_t *end, size_t *n)
{
    const uint8_t *s = *p;
    const uint8_t *z = memchr(s, 0, (size_t)(end - s));
    *n = (size_t)((z ? z : end) - s);
    *p = z ? z + 1 : end;
    return (const char *)s;
}

static void roundtrip_mode(const uint8_t *data, size_t size)
{
    static char buf[2][AUDIT_LINE_MAX];
    const uint8_t *p = data, *end = data + size;
    struct audit_record r;
    size_t n;
    const char *s;
    audit_record_init(&r, (int64_t)size * 1000003, "mlflow");
    s = piece(&p, end, &n);
    AUDIT_SET(&r, subject.user, s, n);
    s = piece(&p, end, &n);
    AUDIT_SET(&r, action, s, n);
    s = piece(&p, end, &n);
    audit_record_set_path(&r, s, n);
    s = piece(&p, end, &n);
    AUDIT_SET(&r, user_agent, s, n);
    s = piece(&p, end, &n);
    AUDIT_SET(&r, decision.reason, s, n);
    s = piece(&p, end, &n);
    audit_record_add_group(&r, s, n);
    s = piece(&p, end, &n);
    audit_record_add_actor(&r, "agent", s, n);
    while (p < end) {
        size_t kn, vn;
        const char *k = piece(&p, end, &kn);
        const char *val = piece(&p, end, &vn);
        audit_record_add_param(&r, k, kn, val, vn);
    }
    for (uint8_t i = 0; i < r.n_params; i++)
        CHECK(r.params[i].redacted ||
              !audit_value_looks_secret(r.params[i].value.s, r.params[i].value.len) ||
              r.params[i].truncated);
    CHECK(r.params_bytes <= AUDIT_PARAMS_TOTAL_MAX);

    struct audit_chain c;
    audit_chain_init(&c, NULL);
    size_t len[2];
    for (int k = 0; k < 2; k++) {
        char err[128];
        CHECK(audit_chain_seal(&c, &r, buf[k], sizeof(buf[k]), &len[k], err, sizeof(err)) == 0);
        CHECK(len[k] > 0 && buf[k][len[k] - 1] == '\n');
        for (size_t i = 0; i + 1 < len[k]; i++)
            CHECK((unsigned char)buf[k][i] >= 0x20);
        CHECK(!memmem(buf[k], len[k], "wdn_pat_", 8));
    }
    struct audit_verify v;
    audit_verify_init(&v);
    for (int k = 0; k < 2; k++) {
        char err[256];
        if (audit_verify_line(&v, buf[k], len[k] - 1, err, sizeof(err)) != 0) {
            fprintf(stderr, "sealed line refused: %s\n%.*s\n", err, (int)len[k], buf[k]);
            abort();
        }
    }
    CHECK(v.count == 2 && v.first_seq == 1 && v.last_seq == 2 && v.first_is_genesis);
    size_t on;
    CHECK(audit_format_ocsf(&r, "0", buf[0], sizeof(buf[0]), &on) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    if (data[0] & 1)
        roundtrip_mode(data + 1, size - 1);
    else
        verify_mode(data + 1, size - 1);
    return 0;
}
