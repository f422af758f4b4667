/*
 * audit/syslog: RFC 5424 syslog messages carrying audit records, framed by octet counting
 * (RFC 6587 §3.4.1, as RFC 5425 uses over TLS):
 *
 *   MSG-LEN SP "<" PRI ">1 " TIMESTAMP SP HOSTNAME SP APP-NAME SP PROCID SP "audit" SP
 *   "[warden@32473 seq=\"N\" event_id=\"...\"]" SP [BOM] PAYLOAD
 *
 * PRI = facility * 8 + severity, severity from the record: 4 (warning) for a denial (decision
 * deny, status 401 or 403), 3 (error) for status 500 and above (including failed lifecycle
 * events), 6 (informational) otherwise. TIMESTAMP is the record's own time (UTC, ms). The
 * structured data element uses enterprise number 32473, the one RFC 5612 reserves for
 * documentation (Warden has no IANA number); it repeats the sequence number so a collector
 * can de-duplicate at-least-once deliveries without parsing the payload. PAYLOAD is the
 * record as native JSON or OCSF (no newline: the framing delimits it); the UTF-8 BOM that
 * RFC 5424 requires before UTF-8 text is written when the payload is not pure ASCII.
 * Pure functions; any thread.
 */
#ifndef WARDEN_AUDIT_SYSLOG_H
#define WARDEN_AUDIT_SYSLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AUDIT_SYSLOG_SD_ID "warden@32473"

struct audit_syslog_hdr {
    int facility;       /* 0..23 */
    char hostname[256]; /* 1..255 PRINTUSASCII, "-" if unknown */
    char app_name[49];  /* 1..48 PRINTUSASCII */
    char procid[24];
};

/* Facts about a native JSON line read without a JSON parser (the member order is fixed). */
struct audit_line_peek {
    uint64_t seq;
    char time[25]; /* "YYYY-MM-DDTHH:MM:SS.mmmZ" */
    char event_id[37];
    int status;
    bool deny; /* decision result "deny" */
};

/* 0, or -1 if the line is not a native record. */
int audit_line_peek(const char *line, size_t len, struct audit_line_peek *out);

/* RFC 5424 severity for the record. */
int audit_syslog_severity(const struct audit_line_peek *p);

/* Fill h: facility, hostname (NULL: gethostname, made PRINTUSASCII; "-" if none), app name,
 * process id. */
void audit_syslog_hdr_init(struct audit_syslog_hdr *h, int facility, const char *hostname,
                           const char *app_name);

/* Write one framed message for the record p with payload[0..plen) into out. Returns 0 and
 * *out_len, or -1 when cap is too small. */
int audit_syslog_frame(const struct audit_syslog_hdr *h, const struct audit_line_peek *p,
                       const char *payload, size_t plen, char *out, size_t cap, size_t *out_len);

/* Upper bound of the bytes audit_syslog_frame adds around a payload. */
#define AUDIT_SYSLOG_OVERHEAD 512

/* Parse one octet-counted frame at buf (for tests and tools): >0 bytes consumed with the
 * message in *msg and *mlen, 0 need more, -1 malformed. */
int audit_syslog_unframe(const char *buf, size_t len, const char **msg, size_t *mlen);

#endif
