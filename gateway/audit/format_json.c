/*
 * audit/format_json: the native JSON-lines rendering of an audit record and the escaping
 * writer shared with format_ocsf.c. See format.h for the member list. Pure; any thread.
 */
#include "audit/format.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

void audit_w_raw(struct audit_writer *w, const char *s, size_t n)
{
    if (w->over || w->cap - w->len <= n) {
        w->over = true;
        return;
    }
    memcpy(w->buf + w->len, s, n);
    w->len += n;
    w->buf[w->len] = '\0';
}

void audit_w_lit(struct audit_writer *w, const char *s)
{
    audit_w_raw(w, s, strlen(s));
}

/* Length of the valid UTF-8 sequence at s (1..4), or 0 if the bytes there are invalid
 * (bad lead, truncated, overlong, surrogate or above U+10FFFF). */
static size_t utf8_valid(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    size_t len;
    unsigned int cp;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
        cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10FFFF ||
        (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return len;
}

void audit_w_str(struct audit_writer *w, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)s;
    audit_w_raw(w, "\"", 1);
    size_t i = 0;
    while (i < n && !w->over) {
        /* Copy the longest run that needs no escaping in one go. */
        size_t j = i;
        while (j < n && p[j] >= 0x20 && p[j] < 0x7F && p[j] != '"' && p[j] != '\\')
            j++;
        if (j > i) {
            audit_w_raw(w, s + i, j - i);
            i = j;
            continue;
        }
        unsigned char c = p[i];
        char esc[7];
        if (c == '"' || c == '\\') {
            esc[0] = '\\';
            esc[1] = (char)c;
            audit_w_raw(w, esc, 2);
            i++;
        } else if (c < 0x20 || c == 0x7F) {
            const char *named = c == '\n'   ? "\\n"
                                : c == '\r' ? "\\r"
                                : c == '\t' ? "\\t"
                                : c == '\b' ? "\\b"
                                : c == '\f' ? "\\f"
                                            : NULL;
            if (named) {
                audit_w_raw(w, named, 2);
            } else {
                memcpy(esc, "\\u00", 4);
                esc[4] = hex[c >> 4];
                esc[5] = hex[c & 15];
                audit_w_raw(w, esc, 6);
            }
            i++;
        } else {
            size_t len = utf8_valid(p + i, n - i);
            if (len) {
                audit_w_raw(w, s + i, len);
                i += len;
            } else {
                audit_w_raw(w, "\\ufffd", 6);
                i++;
            }
        }
    }
    audit_w_raw(w, "\"", 1);
}

void audit_w_u64(struct audit_writer *w, unsigned long long v)
{
    char tmp[24];
    size_t k = sizeof(tmp);
    do {
        tmp[--k] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    audit_w_raw(w, tmp + k, sizeof(tmp) - k);
}

void audit_w_i64(struct audit_writer *w, long long v)
{
    if (v < 0) {
        audit_w_raw(w, "-", 1);
        audit_w_u64(w, 0ULL - (unsigned long long)v);
    } else {
        audit_w_u64(w, (unsigned long long)v);
    }
}

void audit_w_actors(struct audit_writer *w, const struct audit_record *r)
{
    for (uint8_t i = 0; i < r->n_actors && i < AUDIT_ACTORS; i++) {
        audit_w_lit(w, i ? ",{\"kind\":" : "{\"kind\":");
        audit_w_str(w, r->actors[i].kind.s, r->actors[i].kind.len);
        audit_w_lit(w, ",\"id\":");
        audit_w_str(w, r->actors[i].id.s, r->actors[i].id.len);
        audit_w_raw(w, "}", 1);
    }
}

void audit_w_time(struct audit_writer *w, long long ms)
{
    /* Years 0001..9999 only (keeps the arithmetic below and the 4-digit year in range). */
    if (ms < -62135596800000LL)
        ms = -62135596800000LL;
    if (ms > 253402300799999LL)
        ms = 253402300799999LL;
    long long sec = ms >= 0 ? ms / 1000 : (ms - 999) / 1000;
    int milli = (int)(ms - sec * 1000);
    time_t t = (time_t)sec;
    struct tm tm;
    char tmp[48];
    if (!gmtime_r(&t, &tm)) {
        audit_w_lit(w, "\"1970-01-01T00:00:00.000Z\"");
        return;
    }
    int n = snprintf(tmp, sizeof(tmp), "\"%04d-%02d-%02dT%02d:%02d:%02d.%03dZ\"", tm.tm_year + 1900,
                     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, milli);
    if (n < 0 || (size_t)n >= sizeof(tmp)) {
        w->over = true;
        return;
    }
    audit_w_raw(w, tmp, (size_t)n);
}

#define KEY(w, k)  audit_w_lit((w), "\"" k "\":")
#define TEXT(w, f) audit_w_str((w), (f).s, (f).len)

static const char *decision_name(enum audit_decision d)
{
    return d == AUDIT_DECISION_ALLOW ? "allow" : d == AUDIT_DECISION_DENY ? "deny" : "none";
}

static void param_keys(struct audit_writer *w, const struct audit_record *r, bool redacted)
{
    audit_w_raw(w, "[", 1);
    bool first = true;
    for (uint8_t i = 0; i < r->n_params; i++) {
        const struct audit_param *p = &r->params[i];
        if (redacted ? !p->redacted : !p->truncated)
            continue;
        if (!first)
            audit_w_raw(w, ",", 1);
        first = false;
        TEXT(w, p->key);
    }
    audit_w_raw(w, "]", 1);
}

/* Every member from "time" through "bytes_out", each preceded by its comma. */
static void json_body(struct audit_writer *w, const struct audit_record *r)
{
    audit_w_lit(w, ",\"time\":");
    audit_w_time(w, r->time_ms);
    audit_w_lit(w, ",\"request_id\":");
    TEXT(w, r->request_id);
    audit_w_lit(w, ",\"service\":");
    TEXT(w, r->service);
    audit_w_lit(w, ",\"action\":");
    TEXT(w, r->action);
    audit_w_lit(w, ",\"method\":");
    TEXT(w, r->method);
    audit_w_lit(w, ",\"path\":");
    TEXT(w, r->path);
    audit_w_lit(w, ",\"status\":");
    audit_w_i64(w, r->status);
    audit_w_lit(w, ",\"upstream_status\":");
    audit_w_i64(w, r->upstream_status);

    audit_w_lit(w, ",\"subject\":{\"user\":");
    TEXT(w, r->subject.user);
    audit_w_lit(w, ",\"groups\":[");
    for (uint8_t i = 0; i < r->subject.n_groups && i < AUDIT_GROUPS; i++) {
        if (i)
            audit_w_raw(w, ",", 1);
        TEXT(w, r->subject.groups[i].name);
    }
    audit_w_lit(w, "],\"groups_omitted\":");
    audit_w_u64(w, r->subject.groups_omitted);
    audit_w_lit(w, ",\"auth_method\":");
    TEXT(w, r->subject.auth_method);
    audit_w_lit(w, ",\"token_id\":");
    TEXT(w, r->subject.token_id);

    audit_w_lit(w, "},\"actors\":[");
    audit_w_actors(w, r);
    audit_w_lit(w, "],\"source\":{\"ip\":");
    TEXT(w, r->src_ip);
    audit_w_lit(w, ",\"port\":");
    audit_w_u64(w, r->src_port);
    audit_w_lit(w, ",\"user_agent\":");
    TEXT(w, r->user_agent);

    audit_w_lit(w, "},\"resource\":{\"kind\":");
    TEXT(w, r->resource.kind);
    audit_w_lit(w, ",\"name\":");
    TEXT(w, r->resource.name);
    audit_w_lit(w, ",\"ids\":{");
    for (uint8_t i = 0; i < r->resource.n_ids && i < AUDIT_RES_IDS; i++) {
        if (i)
            audit_w_raw(w, ",", 1);
        TEXT(w, r->resource.ids[i].key);
        audit_w_raw(w, ":", 1);
        TEXT(w, r->resource.ids[i].value);
    }
    audit_w_lit(w, "}},\"decision\":{\"result\":\"");
    audit_w_lit(w, decision_name(r->decision.result));
    audit_w_lit(w, "\",\"privilege\":");
    TEXT(w, r->decision.privilege);
    audit_w_lit(w, ",\"grant\":");
    TEXT(w, r->decision.grant);
    audit_w_lit(w, ",\"policy_version\":");
    TEXT(w, r->decision.policy_version);
    audit_w_lit(w, ",\"reason\":");
    TEXT(w, r->decision.reason);

    audit_w_lit(w, "},\"params\":{");
    for (uint8_t i = 0; i < r->n_params && i < AUDIT_PARAMS; i++) {
        if (i)
            audit_w_raw(w, ",", 1);
        TEXT(w, r->params[i].key);
        audit_w_raw(w, ":", 1);
        TEXT(w, r->params[i].value);
    }
    audit_w_lit(w, "},\"params_redacted\":");
    param_keys(w, r, true);
    audit_w_lit(w, ",\"params_truncated\":");
    param_keys(w, r, false);
    audit_w_lit(w, ",\"params_dropped\":");
    audit_w_u64(w, r->params_dropped);
    audit_w_lit(w, r->truncated ? ",\"truncated\":true" : ",\"truncated\":false");
    audit_w_lit(w, r->redacted ? ",\"redacted\":true" : ",\"redacted\":false");
    audit_w_lit(w, ",\"latency_us\":");
    audit_w_u64(w, r->latency_us);
    audit_w_lit(w, ",\"bytes_in\":");
    audit_w_u64(w, r->bytes_in);
    audit_w_lit(w, ",\"bytes_out\":");
    audit_w_u64(w, r->bytes_out);
}

int audit_format_json_body(const struct audit_record *r, char *buf, size_t cap, size_t *out_len)
{
    struct audit_writer w = {.buf = buf, .cap = cap};
    if (cap == 0)
        return -1;
    buf[0] = '\0';
    json_body(&w, r);
    if (w.over)
        return -1;
    if (out_len)
        *out_len = w.len;
    return 0;
}

int audit_format_json(const struct audit_record *r, char *buf, size_t cap, size_t *out_len)
{
    struct audit_writer w = {.buf = buf, .cap = cap};
    if (cap == 0)
        return -1;
    buf[0] = '\0';
    audit_w_lit(&w, "{\"v\":");
    audit_w_u64(&w, AUDIT_SCHEMA_VERSION);
    audit_w_lit(&w, ",\"seq\":");
    audit_w_u64(&w, r->seq);
    audit_w_lit(&w, ",\"event_id\":");
    audit_w_str(&w, r->event_id, strnlen(r->event_id, sizeof(r->event_id)));
    json_body(&w, r);
    audit_w_lit(&w, ",\"prev_hash\":");
    audit_w_str(&w, r->prev_hash, strnlen(r->prev_hash, sizeof(r->prev_hash)));
    audit_w_lit(&w, ",\"hash\":");
    audit_w_str(&w, r->hash, strnlen(r->hash, sizeof(r->hash)));
    audit_w_raw(&w, "}", 1);
    if (w.over)
        return -1;
    if (out_len)
        *out_len = w.len;
    return 0;
}
