/*
 * audit/audit_conf: the configuration of the audit pipeline: the [audit] section (journal,
 * commit mode, fsync policy, spool bound, overflow rule, signed checkpoints) and one
 * repeatable, named section per sink kind: [audit_file NAME], [audit_syslog NAME],
 * [audit_redis NAME], [audit_http NAME]. Key tables, defaults and checks for the root
 * configuration to assemble (util/conf.h); config.c includes them with AUDIT_CONF_SECTIONS.
 * Every key is documented in conf/README.md (same order). Read on the main thread at start-up
 * and in --check; the pipeline copies what it keeps.
 */
#ifndef WARDEN_AUDIT_AUDIT_CONF_H
#define WARDEN_AUDIT_AUDIT_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/conf.h"

/* Index values of the enum keys (the order of their choices). */
enum audit_commit { AUDIT_COMMIT_ASYNC = 0, AUDIT_COMMIT_SYNC = 1 };
enum audit_fsync { AUDIT_FSYNC_ALWAYS = 0, AUDIT_FSYNC_INTERVAL = 1, AUDIT_FSYNC_NEVER = 2 };
enum audit_overflow { AUDIT_OVERFLOW_DENY = 0, AUDIT_OVERFLOW_DROP = 1 };
enum audit_out_format { AUDIT_OUT_JSON = 0, AUDIT_OUT_OCSF = 1 };
enum audit_transport { AUDIT_TRANSPORT_TCP = 0, AUDIT_TRANSPORT_TLS = 1 };

/* Delivery settings every sink section has. */
struct audit_delivery_conf {
    int format;           /* enum audit_out_format */
    int64_t batch_max;    /* records per delivery */
    int64_t batch_bytes;  /* bytes per delivery (a single larger record still goes) */
    int64_t retry_min_ms; /* first back-off after a failure; doubles up to retry_max */
    int64_t retry_max_ms;
    int64_t timeout_ms; /* connect / send / answer deadline of one attempt */
};

struct audit_file_conf {
    char *name; /* section label */
    char *path;
    int64_t max_size;           /* rotate at this size (0 = never by size) */
    int64_t rotate_interval_ms; /* rotate this often (0 = never by time) */
    int64_t max_files;          /* rotated files kept (0 = keep all) */
    int fsync;                  /* enum audit_fsync, for this file */
    struct audit_delivery_conf d;
};

struct audit_syslog_conf {
    char *name;
    char *address; /* host:port */
    int transport; /* enum audit_transport */
    char *ca_file; /* TLS: trust anchors for the collector (default: system store) */
    char *tls_cert;
    char *tls_key;
    char *server_name; /* TLS: name checked in the collector's certificate (default: host) */
    int facility;      /* index into audit_syslog_facilities, equal to the RFC 5424 code */
    char *app_name;
    char *hostname; /* default: gethostname() */
    int64_t confirm_delay_ms;
    struct audit_delivery_conf d;
};

struct audit_redis_conf {
    char *name;
    char *address;
    char *key;      /* stream key */
    int64_t maxlen; /* XADD MAXLEN ~ maxlen (0 = no trimming) */
    char *username;
    char *password_file;
    struct audit_delivery_conf d;
};

struct audit_http_conf {
    char *name;
    char *url; /* http:// or https:// */
    char *ca_file;
    char *bearer_token_file;
    struct audit_delivery_conf d;
};

struct audit_conf {
    char *journal_dir; /* set = auditing on (the key is required in [audit]) */
    int commit;        /* enum audit_commit */
    int fsync;         /* enum audit_fsync, for the journal */
    int64_t fsync_interval_ms;
    int overflow; /* enum audit_overflow */
    int64_t spool_max;
    int64_t segment_size; /* effective: at most spool_max / 8 */
    int64_t queue_size;
    char *checkpoint_key; /* Ed25519 private key, PEM */
    int64_t checkpoint_interval_ms;
    /* Not a key: the OCSF metadata.product.version, set by main before the pipeline starts. */
    const char *product_version;

    struct audit_file_conf *files;
    size_t nfiles;
    struct audit_syslog_conf *syslogs;
    size_t nsyslogs;
    struct audit_redis_conf *redis;
    size_t nredis;
    struct audit_http_conf *https;
    size_t nhttps;
};

extern const char *const audit_syslog_facilities[]; /* "kern", "user", ... "local7" */

extern const struct conf_key audit_conf_keys[];
extern const struct conf_key audit_file_conf_keys[];
extern const struct conf_key audit_syslog_conf_keys[];
extern const struct conf_key audit_redis_conf_keys[];
extern const struct conf_key audit_http_conf_keys[];

void audit_conf_set_defaults(void *sect);
void audit_file_conf_set_defaults(void *sect);
void audit_syslog_conf_set_defaults(void *sect);
void audit_redis_conf_set_defaults(void *sect);
void audit_http_conf_set_defaults(void *sect);

void audit_conf_check(void *sect, const struct conf_pos *pos, struct conf_diag *diag);
void audit_file_conf_check(void *sect, const struct conf_pos *pos, struct conf_diag *diag);
void audit_syslog_conf_check(void *sect, const struct conf_pos *pos, struct conf_diag *diag);
void audit_redis_conf_check(void *sect, const struct conf_pos *pos, struct conf_diag *diag);
void audit_http_conf_check(void *sect, const struct conf_pos *pos, struct conf_diag *diag);

/* Whole-file checks after every section is read: sinks need [audit], [audit] needs a sink,
 * sink names are unique. */
void audit_conf_check_all(const struct audit_conf *c, const struct conf_pos *pos,
                          struct conf_diag *diag);

/* Whether auditing is configured. */
bool audit_conf_enabled(const struct audit_conf *c);

/* Split an http:// or https:// URL into its parts (host without brackets). 0 or -1. */
int audit_url_split(const char *url, bool *tls, char *host, size_t hostlen, int *port, char *path,
                    size_t pathlen);

/* The section rows for config.c's table: root_type is the root struct, member the
 * struct audit_conf inside it. */
#define AUDIT_CONF_SECTIONS(root_type, member)                                                     \
    {"audit",         sizeof(struct audit_conf),   false,                                          \
     audit_conf_keys, offsetof(root_type, member), 0,                                              \
     CONF_NO_LABEL,   audit_conf_set_defaults,     audit_conf_check},                              \
        {"audit_file",                                                                             \
         sizeof(struct audit_file_conf),                                                           \
         true,                                                                                     \
         audit_file_conf_keys,                                                                     \
         offsetof(root_type, member.files),                                                        \
         offsetof(root_type, member.nfiles),                                                       \
         offsetof(struct audit_file_conf, name),                                                   \
         audit_file_conf_set_defaults,                                                             \
         audit_file_conf_check},                                                                   \
        {"audit_syslog",                                                                           \
         sizeof(struct audit_syslog_conf),                                                         \
         true,                                                                                     \
         audit_syslog_conf_keys,                                                                   \
         offsetof(root_type, member.syslogs),                                                      \
         offsetof(root_type, member.nsyslogs),                                                     \
         offsetof(struct audit_syslog_conf, name),                                                 \
         audit_syslog_conf_set_defaults,                                                           \
         audit_syslog_conf_check},                                                                 \
        {"audit_redis",                                                                            \
         sizeof(struct audit_redis_conf),                                                          \
         true,                                                                                     \
         audit_redis_conf_keys,                                                                    \
         offsetof(root_type, member.redis),                                                        \
         offsetof(root_type, member.nredis),                                                       \
         offsetof(struct audit_redis_conf, name),                                                  \
         audit_redis_conf_set_defaults,                                                            \
         audit_redis_conf_check},                                                                  \
    {                                                                                              \
        "audit_http", sizeof(struct audit_http_conf), true, audit_http_conf_keys,                  \
            offsetof(root_type, member.https), offsetof(root_type, member.nhttps),                 \
            offsetof(struct audit_http_conf, name), audit_http_conf_set_defaults,                  \
            audit_http_conf_check                                                                  \
    }

#endif
