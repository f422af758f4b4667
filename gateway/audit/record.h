/*
 * audit/record: the fixed-layout audit record, one per request (allowed, denied,
 * unauthenticated, malformed or upstream-failed). It owns no heap memory: every text field is
 * a fixed-size char array with a length, filled by copying from the request's views, so the
 * request path fills a caller-owned struct audit_record (embedded in its per-request state or
 * on the stack) without allocating. Oversized text is cut at a UTF-8 character boundary and
 * the record's `truncated` flag is set; the formatters escape any bytes (invalid UTF-8 becomes
 * U+FFFD), so nothing a client sends can break a line.
 *
 * Secrets never enter a record: request parameters pass through audit_record_add_param, which
 * replaces the value by "[REDACTED]" when the key is on the deny-list (a substring, after
 * lowercasing and mapping '-' to '_', of: password, passwd, secret, token, authorization,
 * api_key, apikey, credential, private_key, cookie) or when the value looks like a credential
 * (a JWT: a run of base64url starting "eyJ" with two dots; anything containing "wdn_pat_";
 * or a "Bearer "/"Basic " prefix). Which parameters to record per action (the allow-list) is
 * the caller's choice. Values are capped at AUDIT_PARAM_VALUE_MAX bytes and all parameters
 * together at AUDIT_PARAMS_TOTAL_MAX bytes; excess parameters are dropped and counted.
 *
 * Every other text field set through audit_text_set gets the JWT and "wdn_pat_" checks too
 * (not the Bearer/Basic prefix rule, so a reason such as "Bearer token expired" survives):
 * a match replaces the whole field by "[REDACTED]" and sets the record's `redacted` flag.
 *
 * Pure functions on caller memory; any thread. The sequence, event id and hashes are filled
 * by audit/chain when the record is sealed (on the single thread that orders the log).
 */
#ifndef WARDEN_AUDIT_RECORD_H
#define WARDEN_AUDIT_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Version of the native JSON schema (the "v" member of every line); see format.h. */
#define AUDIT_SCHEMA_VERSION 1

#define AUDIT_HASH_HEX         64 /* SHA-256 as lowercase hex */
#define AUDIT_EVENT_ID_MAX     37 /* UUID text + NUL */
#define AUDIT_REQUEST_ID_MAX   64
#define AUDIT_SERVICE_MAX      16
#define AUDIT_ACTION_MAX       64
#define AUDIT_METHOD_MAX       16
#define AUDIT_PATH_MAX         512
#define AUDIT_USER_MAX         128
#define AUDIT_GROUPS           16
#define AUDIT_GROUP_MAX        64
#define AUDIT_AUTH_METHOD_MAX  16
#define AUDIT_TOKEN_ID_MAX     72
#define AUDIT_ACTORS           4
#define AUDIT_ACTOR_KIND_MAX   16
#define AUDIT_ACTOR_ID_MAX     128
#define AUDIT_IP_MAX           64
#define AUDIT_UA_MAX           256
#define AUDIT_RES_KIND_MAX     32
#define AUDIT_RES_NAME_MAX     384
#define AUDIT_RES_IDS          4
#define AUDIT_RES_ID_KEY_MAX   24
#define AUDIT_RES_ID_VAL_MAX   64
#define AUDIT_PRIV_MAX         32
#define AUDIT_GRANT_MAX        256
#define AUDIT_POLICY_VER_MAX   64
#define AUDIT_REASON_MAX       256
#define AUDIT_PARAMS           16
#define AUDIT_PARAM_KEY_MAX    64
#define AUDIT_PARAM_VALUE_MAX  256
#define AUDIT_PARAMS_TOTAL_MAX 4096

#define AUDIT_REDACTED "[REDACTED]"

/* A bounded text field: `s` holds `len` bytes (any bytes, NUL-terminated for convenience). */
#define AUDIT_TEXT(name, cap)                                                                      \
    struct {                                                                                       \
        uint16_t len;                                                                              \
        char s[cap];                                                                               \
    } name

enum audit_decision { AUDIT_DECISION_NONE = 0, AUDIT_DECISION_ALLOW, AUDIT_DECISION_DENY };

struct audit_param {
    AUDIT_TEXT(key, AUDIT_PARAM_KEY_MAX);
    AUDIT_TEXT(value, AUDIT_PARAM_VALUE_MAX);
    bool redacted;
    bool truncated;
};

struct audit_record {
    /* Filled by audit_chain_seal. */
    uint64_t seq;
    char event_id[AUDIT_EVENT_ID_MAX];
    char prev_hash[AUDIT_HASH_HEX + 1];
    char hash[AUDIT_HASH_HEX + 1];

    int64_t time_ms; /* request start, Unix epoch milliseconds, UTC */
    AUDIT_TEXT(request_id, AUDIT_REQUEST_ID_MAX);
    AUDIT_TEXT(service, AUDIT_SERVICE_MAX);
    AUDIT_TEXT(action, AUDIT_ACTION_MAX); /* MLflow RPC name, e.g. "SearchRuns" */
    AUDIT_TEXT(method, AUDIT_METHOD_MAX);
    AUDIT_TEXT(path, AUDIT_PATH_MAX); /* never the query */
    int status;                       /* status returned to the client, 0 if none */
    int upstream_status;              /* MLflow's status, 0 if not forwarded */

    struct {
        AUDIT_TEXT(user, AUDIT_USER_MAX);
        uint8_t n_groups;
        uint16_t groups_omitted;
        AUDIT_TEXT(auth_method, AUDIT_AUTH_METHOD_MAX); /* "jwt", "pat", "basic", "mtls", "none" */
        AUDIT_TEXT(token_id, AUDIT_TOKEN_ID_MAX);       /* a hash or jti, never the token */
        struct {
            AUDIT_TEXT(name, AUDIT_GROUP_MAX);
        } groups[AUDIT_GROUPS];
    } subject;

    /* On-behalf-of chain, outermost (the caller that presented the credential) first. */
    uint8_t n_actors;
    struct {
        AUDIT_TEXT(kind, AUDIT_ACTOR_KIND_MAX);
        AUDIT_TEXT(id, AUDIT_ACTOR_ID_MAX);
    } actors[AUDIT_ACTORS];

    AUDIT_TEXT(src_ip, AUDIT_IP_MAX);
    uint16_t src_port;
    AUDIT_TEXT(user_agent, AUDIT_UA_MAX);

    struct {
        AUDIT_TEXT(kind, AUDIT_RES_KIND_MAX); /* "experiment", "registered_model", ... */
        AUDIT_TEXT(name, AUDIT_RES_NAME_MAX); /* catalog.schema.object */
        uint8_t n_ids;
        struct {
            AUDIT_TEXT(key, AUDIT_RES_ID_KEY_MAX);
            AUDIT_TEXT(value, AUDIT_RES_ID_VAL_MAX);
        } ids[AUDIT_RES_IDS];
    } resource;

    struct {
        enum audit_decision result;
        AUDIT_TEXT(privilege, AUDIT_PRIV_MAX);
        AUDIT_TEXT(grant, AUDIT_GRANT_MAX); /* matched grant as file:line */
        AUDIT_TEXT(policy_version, AUDIT_POLICY_VER_MAX);
        AUDIT_TEXT(reason, AUDIT_REASON_MAX);
    } decision;

    uint8_t n_params;
    uint16_t params_dropped; /* parameters not recorded: over a cap or a duplicate key */
    uint16_t params_bytes;   /* key+value bytes stored, <= AUDIT_PARAMS_TOTAL_MAX */
    struct audit_param params[AUDIT_PARAMS];

    uint64_t latency_us;
    uint64_t bytes_in;
    uint64_t bytes_out;

    bool truncated; /* some field was cut to its cap */
    bool redacted;  /* some text field (not a parameter) looked like a credential */
};

/* Zero the record and set the request start time and service. */
void audit_record_init(struct audit_record *r, int64_t time_ms, const char *service);

/* Copy n bytes of src into a bounded text field (cut at a UTF-8 boundary, sets r->truncated;
 * a value holding a JWT or PAT is replaced, sets r->redacted). Use through AUDIT_SET. A NULL
 * src with n == 0 clears the field. */
void audit_text_set(struct audit_record *r, char *dst, uint16_t *dst_len, size_t cap,
                    const char *src, size_t n);
#define AUDIT_SET(r, field, src, n)                                                                \
    audit_text_set((r), (r)->field.s, &(r)->field.len, sizeof((r)->field.s), (src), (n))

/* The request path; anything from the first '?' on is dropped. */
void audit_record_set_path(struct audit_record *r, const char *path, size_t n);
/* Source address: ip text and port. */
void audit_record_set_source(struct audit_record *r, const char *ip, size_t n, uint16_t port);

/* Append one group / actor / resource id. Past the array's capacity the item is dropped and
 * r->truncated set (groups also count in subject.groups_omitted). A resource id key must be
 * visible ASCII and not repeat one already present, else the id is dropped likewise. */
void audit_record_add_group(struct audit_record *r, const char *g, size_t n);
void audit_record_add_actor(struct audit_record *r, const char *kind, const char *id, size_t n);
void audit_record_add_resource_id(struct audit_record *r, const char *key, const char *val,
                                  size_t n);

/* Record one request parameter, redacting and capping as described above. Returns true if it
 * was stored (possibly redacted or truncated), false if dropped (over a cap, a duplicate key,
 * or a key that is empty, not visible ASCII or holds a token). */
bool audit_record_add_param(struct audit_record *r, const char *key, size_t klen, const char *val,
                            size_t vlen);

/* The redaction predicates, exposed for tests and for other modules' logs. */
bool audit_key_is_secret(const char *key, size_t n);
bool audit_value_looks_secret(const char *val, size_t n);
/* The narrower test applied to every text field: a JWT or "wdn_pat_" anywhere. */
bool audit_value_has_token(const char *val, size_t n);

#endif
