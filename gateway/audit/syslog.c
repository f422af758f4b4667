/*
 * audit/syslog: see syslog.h.
 */
#include "audit/syslog.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Find a member marker; the first match is the member itself: a raw '"' after ',' cannot
 * occur inside an escaped string, and the formatter writes members in a fixed order. */
static const char *find(const char *line, size_t len, const char *marker)
{
    return memmem(line, len, marker, strlen(marker));
}

int audit_line_peek(const char *line, size_t len, struct audit_line_peek *out)
{
    static const char pre[] = "{\"v\":1,\"seq\":";
    memset(out, 0, sizeof(*out));
    size_t i = sizeof(pre) - 1;
    if (len < i + 2 || memcmp(line, pre, i) != 0 || line[i] == '0')
        return -1;
    uint64_t seq = 0;
    size_t start = i;
    while (i < len && line[i] >= '0' && line[i] <= '9' && i - start < 20) {
        unsigned d = (unsigned)(line[i] - '0');
        if (seq > (UINT64_MAX - d) / 10)
            return -1;
        seq = seq * 10 + d;
        i++;
    }
    static const char eid[] = ",\"event_id\":\"";
    if (i == start || len - i < sizeof(eid) - 1 + 36 + 1 ||
        memcmp(line + i, eid, sizeof(eid) - 1) != 0)
        return -1;
    i += sizeof(eid) - 1;
    if (line[i + 36] != '"')
        return -1;
    memcpy(out->event_id, line + i, 36);
    for (int k = 0; k < 36; k++)
        if (!((out->event_id[k] >= '0' && out->event_id[k] <= '9') ||
              (out->event_id[k] >= 'a' && out->event_id[k] <= 'f') || out->event_id[k] == '-'))
            return -1;
    i += 37;
    static const char tm[] = ",\"time\":\"";
    if (len - i < sizeof(tm) - 1 + 25 || memcmp(line + i, tm, sizeof(tm) - 1) != 0)
        return -1;
    i += sizeof(tm) - 1;
    if (line[i + 24] != '"')
        return -1;
    memcpy(out->time, line + i, 24);
    for (int k = 0; k < 24; k++)
        if ((unsigned char)out->time[k] <= ' ' || out->time[k] == '"' || out->time[k] == '\\' ||
            (unsigned char)out->time[k] >= 0x7f)
            return -1;
    const char *st = find(line, len, ",\"status\":");
    if (!st)
        return -1;
    const char *p = st + 10, *end = line + len;
    bool neg = p < end && *p == '-';
    if (neg)
        p++;
    long v = 0;
    int nd = 0;
    while (p < end && *p >= '0' && *p <= '9' && nd < 10) {
        v = v * 10 + (*p - '0');
        p++;
        nd++;
    }
    if (nd == 0 || p >= end || *p != ',')
        return -1;
    out->status = (int)(neg ? -v : v);
    out->deny = find(line, len, ",\"decision\":{\"result\":\"deny\"") != NULL;
    out->seq = seq;
    return 0;
}

int audit_syslog_severity(const struct audit_line_peek *p)
{
    if (p->deny || p->status == 401 || p->status == 403)
        return 4;
    if (p->status >= 500)
        return 3;
    return 6;
}

/* Keep PRINTUSASCII (33..126) characters; "-" if nothing is left. */
static void printable(char *dst, size_t cap, const char *src)
{
    size_t n = 0;
    for (; src && *src && n + 1 < cap; src++)
        if ((unsigned char)*src >= 33 && (unsigned char)*src <= 126)
            dst[n++] = *src;
    if (n == 0)
        dst[n++] = '-';
    dst[n] = '\0';
}

void audit_syslog_hdr_init(struct audit_syslog_hdr *h, int facility, const char *hostname,
                           const char *app_name)
{
    char host[256] = "";
    memset(h, 0, sizeof(*h));
    h->facility = facility < 0 || facility > 23 ? 1 : facility;
    if (!hostname && gethostname(host, sizeof(host) - 1) == 0)
        hostname = host;
    printable(h->hostname, sizeof(h->hostname), hostname);
    printable(h->app_name, sizeof(h->app_name), app_name ? app_name : "warden");
    snprintf(h->procid, sizeof(h->procid), "%ld", (long)getpid());
}

/* Append an SD-PARAM value with '"', '\' and ']' escaped (RFC 5424 §6.3.3). */
static size_t sd_value(char *out, size_t cap, const char *v, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (v[i] == '"' || v[i] == '\\' || v[i] == ']') {
            if (k + 2 > cap)
                return SIZE_MAX;
            out[k++] = '\\';
        } else if (k + 1 > cap) {
            return SIZE_MAX;
        }
        out[k++] = v[i];
    }
    return k;
}

int audit_syslog_frame(const struct audit_syslog_hdr *h, const struct audit_line_peek *p,
                       const char *payload, size_t plen, char *out, size_t cap, size_t *out_len)
{
    char head[AUDIT_SYSLOG_OVERHEAD];
    int pri = h->facility * 8 + audit_syslog_severity(p);
    int n = snprintf(head, sizeof(head),
                     "<%d>1 %.24s %s %s %s audit [" AUDIT_SYSLOG_SD_ID " seq=\"%llu\" event_id=\"",
                     pri, p->time, h->hostname, h->app_name, h->procid, (unsigned long long)p->seq);
    if (n < 0 || (size_t)n >= sizeof(head))
        return -1;
    size_t hl = (size_t)n;
    size_t e = sd_value(head + hl, sizeof(head) - hl, p->event_id, strnlen(p->event_id, 36));
    if (e == SIZE_MAX || hl + e + 3 > sizeof(head))
        return -1;
    hl += e;
    memcpy(head + hl, "\"] ", 3);
    hl += 3;
    bool ascii = true;
    for (size_t i = 0; i < plen && ascii; i++)
        ascii = (unsigned char)payload[i] < 0x80;
    size_t msg = hl + (ascii ? 0 : 3) + plen;
    char lenbuf[24];
    int ll = snprintf(lenbuf, sizeof(lenbuf), "%zu ", msg);
    if (ll < 0 || (size_t)ll + msg > cap)
        return -1;
    size_t k = 0;
    memcpy(out + k, lenbuf, (size_t)ll);
    k += (size_t)ll;
    memcpy(out + k, head, hl);
    k += hl;
    if (!ascii) {
        memcpy(out + k, "\xEF\xBB\xBF", 3);
        k += 3;
    }
    memcpy(out + k, payload, plen);
    k += plen;
    *out_len = k;
    return 0;
}

int audit_syslog_unframe(const char *buf, size_t len, const char **msg, size_t *mlen)
{
    size_t i = 0, v = 0;
    while (i < len && buf[i] >= '0' && buf[i] <= '9') {
        if (i == 0 && buf[i] == '0')
            return -1;
        if (i >= 9)
            return -1;
        v = v * 10 + (size_t)(buf[i] - '0');
        i++;
    }
    if (i == len)
        return 0;
    if (i == 0 || buf[i] != ' ' || v == 0)
        return -1;
    i++;
    if (len - i < v)
        return 0;
    *msg = buf + i;
    *mlen = v;
    return (int)(i + v);
}
