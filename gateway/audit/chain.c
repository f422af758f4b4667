/*
 * audit/chain: see chain.h. Sealing runs on the audit writer thread; parsing and
 * verification are pure.
 */
#include "audit/chain.h"

#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "audit/format.h"
#include "auth/digest.h"

static const char line_prefix[] = "{\"v\":1,\"seq\":";
static const char tail_prev[] = ",\"prev_hash\":\"";
static const char tail_hash[] = "\",\"hash\":\"";
static const char tail_end[] = "\"}";

static void set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || errlen == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

void audit_chain_init(struct audit_chain *c, const unsigned char instance[4])
{
    memset(c, 0, sizeof(*c));
    c->next_seq = 1;
    if (instance)
        memcpy(c->instance, instance, sizeof(c->instance));
}

int audit_chain_resume(struct audit_chain *c, const char *last_line, size_t len, char *err,
                       size_t errlen)
{
    struct audit_line l;
    if (audit_line_parse(last_line, len, &l, err, errlen) != 0)
        return -1;
    if (l.seq == UINT64_MAX) {
        set_err(err, errlen, "sequence exhausted");
        return -1;
    }
    memcpy(c->prev, l.hash, sizeof(c->prev));
    c->next_seq = l.seq + 1;
    return 0;
}

void audit_event_id(int64_t time_ms, uint64_t seq, const unsigned char instance[4], char *out)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char b[16];
    uint64_t t = (uint64_t)time_ms;
    for (int i = 0; i < 6; i++)
        b[i] = (unsigned char)(t >> (8 * (5 - i)));
    b[6] = (unsigned char)(0x70 | ((seq >> 40) & 0x0F));
    b[7] = (unsigned char)(seq >> 32);
    b[8] = (unsigned char)(0x80 | (instance[0] & 0x3F));
    b[9] = instance[1];
    b[10] = instance[2];
    b[11] = instance[3];
    for (int i = 0; i < 4; i++)
        b[12 + i] = (unsigned char)(seq >> (8 * (3 - i)));
    size_t k = 0;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            out[k++] = '-';
        out[k++] = hex[b[i] >> 4];
        out[k++] = hex[b[i] & 15];
    }
    out[k] = '\0';
}

int audit_chain_seal(struct audit_chain *c, struct audit_record *r, char *buf, size_t cap,
                     size_t *out_len, char *err, size_t errlen)
{
    unsigned char h[AUDIT_HASH_LEN];
    size_t n = 0;
    r->seq = c->next_seq;
    audit_event_id(r->time_ms, r->seq, c->instance, r->event_id);
    auth_hex(c->prev, sizeof(c->prev), r->prev_hash);
    r->hash[0] = '\0';
    if (audit_format_json(r, buf, cap, &n) != 0 || cap - n < AUDIT_HASH_HEX + 2) {
        set_err(err, errlen, "audit line does not fit in %zu bytes", cap);
        return -1;
    }
    /* The line ends in "hash":""} ; hash it as is, then insert the digits. */
    if (auth_sha256(buf, n, h) != 0) {
        set_err(err, errlen, "SHA-256 failed");
        return -1;
    }
    auth_hex(h, sizeof(h), r->hash);
    memcpy(buf + n - 2, r->hash, AUDIT_HASH_HEX);
    memcpy(buf + n - 2 + AUDIT_HASH_HEX, "\"}\n", 4);
    memcpy(c->prev, h, sizeof(h));
    c->next_seq++;
    if (out_len)
        *out_len = n + AUDIT_HASH_HEX + 1;
    return 0;
}

int audit_chain_seal_body(struct audit_chain *c, int64_t time_ms, const char *body, size_t blen,
                          char *buf, size_t cap, size_t *out_len, struct audit_seal *out, char *err,
                          size_t errlen)
{
    struct audit_seal s;
    unsigned char h[AUDIT_HASH_LEN];
    if (cap < blen + AUDIT_SEAL_OVERHEAD) {
        set_err(err, errlen, "audit line does not fit in %zu bytes", cap);
        return -1;
    }
    s.seq = c->next_seq;
    audit_event_id(time_ms, s.seq, c->instance, s.event_id);
    auth_hex(c->prev, sizeof(c->prev), s.prev_hash);
    struct audit_writer w = {.buf = buf, .cap = cap};
    audit_w_raw(&w, line_prefix, sizeof(line_prefix) - 1);
    audit_w_u64(&w, s.seq);
    audit_w_lit(&w, ",\"event_id\":");
    audit_w_str(&w, s.event_id, strlen(s.event_id));
    audit_w_raw(&w, body, blen);
    audit_w_raw(&w, tail_prev, sizeof(tail_prev) - 1);
    audit_w_raw(&w, s.prev_hash, AUDIT_HASH_HEX);
    audit_w_raw(&w, tail_hash, sizeof(tail_hash) - 1);
    audit_w_raw(&w, tail_end, sizeof(tail_end) - 1);
    if (w.over || w.len + AUDIT_HASH_HEX + 2 > cap) {
        set_err(err, errlen, "audit line does not fit in %zu bytes", cap);
        return -1;
    }
    size_t n = w.len;
    if (auth_sha256(buf, n, h) != 0) {
        set_err(err, errlen, "SHA-256 failed");
        return -1;
    }
    auth_hex(h, sizeof(h), s.hash);
    memcpy(buf + n - 2, s.hash, AUDIT_HASH_HEX);
    memcpy(buf + n - 2 + AUDIT_HASH_HEX, "\"}\n", 4);
    memcpy(c->prev, h, sizeof(h));
    c->next_seq++;
    if (out_len)
        *out_len = n + AUDIT_HASH_HEX + 1;
    if (out)
        *out = s;
    return 0;
}

static int hex_digit(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    return -1;
}

/* 64 lowercase hex digits into 32 bytes. */
static int parse_hash(const char *s, unsigned char out[AUDIT_HASH_LEN])
{
    for (size_t i = 0; i < AUDIT_HASH_LEN; i++) {
        int hi = hex_digit(s[2 * i]), lo = hex_digit(s[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        out[i] = (unsigned char)(hi << 4 | lo);
    }
    return 0;
}

int audit_line_parse(const char *line, size_t len, struct audit_line *out, char *err, size_t errlen)
{
    const size_t pre = sizeof(line_prefix) - 1;
    const size_t tail = (sizeof(tail_prev) - 1) + AUDIT_HASH_HEX + (sizeof(tail_hash) - 1) +
                        AUDIT_HASH_HEX + (sizeof(tail_end) - 1);
    memset(out, 0, sizeof(*out));
    if (len == 0) {
        set_err(err, errlen, "empty line");
        return -1;
    }
    for (size_t i = 0; i < len; i++) {
        if ((unsigned char)line[i] < 0x20) {
            set_err(err, errlen, "raw control byte 0x%02x at column %zu", (unsigned char)line[i],
                    i + 1);
            return -1;
        }
    }
    if (len < pre + 2 + tail || memcmp(line, "{\"v\":", 5) != 0) {
        set_err(err, errlen, "not an audit record");
        return -1;
    }
    if (memcmp(line, line_prefix, pre) != 0) {
        set_err(err, errlen,
                "unsupported schema version or layout (expected {\"v\":1,\"seq\":...)");
        return -1;
    }
    size_t i = pre;
    uint64_t seq = 0;
    size_t digits = 0;
    while (i < len && line[i] >= '0' && line[i] <= '9') {
        unsigned d = (unsigned)(line[i] - '0');
        if (digits == 0 && d == 0) {
            set_err(err, errlen, "bad sequence number");
            return -1;
        }
        if (seq > (UINT64_MAX - d) / 10) {
            set_err(err, errlen, "sequence number out of range");
            return -1;
        }
        seq = seq * 10 + d;
        digits++;
        i++;
    }
    if (digits == 0 || i >= len || line[i] != ',') {
        set_err(err, errlen, "bad sequence number");
        return -1;
    }
    if (len - i < tail + 1) {
        set_err(err, errlen, "record too short");
        return -1;
    }
    size_t t = len - tail;
    const char *p = line + t;
    if (memcmp(p, tail_prev, sizeof(tail_prev) - 1) != 0) {
        set_err(err, errlen, "record does not end with prev_hash and hash");
        return -1;
    }
    p += sizeof(tail_prev) - 1;
    if (parse_hash(p, out->prev) != 0) {
        set_err(err, errlen, "prev_hash is not 64 lowercase hex digits");
        return -1;
    }
    p += AUDIT_HASH_HEX;
    if (memcmp(p, tail_hash, sizeof(tail_hash) - 1) != 0) {
        set_err(err, errlen, "record does not end with prev_hash and hash");
        return -1;
    }
    p += sizeof(tail_hash) - 1;
    if (parse_hash(p, out->hash) != 0) {
        set_err(err, errlen, "hash is not 64 lowercase hex digits");
        return -1;
    }
    out->hash_off = (size_t)(p - line);
    p += AUDIT_HASH_HEX;
    if (memcmp(p, tail_end, sizeof(tail_end) - 1) != 0) {
        set_err(err, errlen, "record does not end with prev_hash and hash");
        return -1;
    }
    out->seq = seq;
    return 0;
}

int audit_line_digest(const char *line, size_t len, const struct audit_line *l,
                      unsigned char out[AUDIT_HASH_LEN])
{
    int rc = -1;
    unsigned int n = 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (!ctx || l->hash_off + AUDIT_HASH_HEX > len)
        goto fail;
    if (!EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) || !EVP_DigestUpdate(ctx, line, l->hash_off) ||
        !EVP_DigestUpdate(ctx, line + l->hash_off + AUDIT_HASH_HEX,
                          len - l->hash_off - AUDIT_HASH_HEX) ||
        !EVP_DigestFinal_ex(ctx, out, &n) || n != AUDIT_HASH_LEN)
        goto fail;
    rc = 0;
fail:
    EVP_MD_CTX_free(ctx);
    if (rc != 0)
        memset(out, 0, AUDIT_HASH_LEN);
    return rc;
}

void audit_verify_init(struct audit_verify *v)
{
    memset(v, 0, sizeof(*v));
}

int audit_verify_line(struct audit_verify *v, const char *line, size_t len, char *err,
                      size_t errlen)
{
    static const unsigned char zero[AUDIT_HASH_LEN];
    struct audit_line l;
    unsigned char h[AUDIT_HASH_LEN];
    if (audit_line_parse(line, len, &l, err, errlen) != 0)
        return -1;
    if (audit_line_digest(line, len, &l, h) != 0) {
        set_err(err, errlen, "SHA-256 failed");
        return -1;
    }
    if (memcmp(h, l.hash, sizeof(h)) != 0) {
        set_err(err, errlen, "seq %llu: hash does not match the record's content (record edited)",
                (unsigned long long)l.seq);
        return -1;
    }
    if (v->count > 0) {
        bool link = memcmp(l.prev, v->last_hash, sizeof(l.prev)) == 0;
        if (l.seq != v->last_seq + 1 || !link) {
            const char *why = l.seq <= v->last_seq      ? "record reordered, duplicated or inserted"
                              : l.seq > v->last_seq + 1 ? "record(s) removed"
                                                        : "record inserted or replaced";
            set_err(err, errlen, "seq %llu follows seq %llu%s (%s)", (unsigned long long)l.seq,
                    (unsigned long long)v->last_seq,
                    link ? "" : " and prev_hash does not match the previous record's hash", why);
            return -1;
        }
    } else {
        v->first_seq = l.seq;
        v->first_is_genesis = memcmp(l.prev, zero, sizeof(zero)) == 0;
        if (v->first_is_genesis && l.seq != 1) {
            set_err(err, errlen, "seq %llu has a zero prev_hash but is not the first record",
                    (unsigned long long)l.seq);
            return -1;
        }
    }
    v->count++;
    v->last_seq = l.seq;
    memcpy(v->last_hash, l.hash, sizeof(l.hash));
    return 0;
}
