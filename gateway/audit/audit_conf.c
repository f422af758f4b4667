/*
 * audit/audit_conf: see audit_conf.h. Keys are documented in conf/README.md (same order).
 */
#include "audit/audit_conf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "audit/checkpoint.h"

#define MS_DAY (24LL * 3600 * 1000)
#define GIB    (1LL << 30)

static const char *const commit_modes[] = {"async", "sync", NULL};
static const char *const fsync_modes[] = {"always", "interval", "never", NULL};
static const char *const overflow_rules[] = {"deny", "drop", NULL};
static const char *const out_formats[] = {"json", "ocsf", NULL};
static const char *const transports[] = {"tcp", "tls", NULL};

/* RFC 5424 §6.2.1 facility codes 0..23, in order. */
const char *const audit_syslog_facilities[] = {
    "kern",   "user",     "mail",   "daemon", "auth",   "syslog", "lpr",   "news",   "uucp",
    "cron",   "authpriv", "ftp",    "ntp",    "audit",  "alert",  "clock", "local0", "local1",
    "local2", "local3",   "local4", "local5", "local6", "local7", NULL};

#define A(f) offsetof(struct audit_conf, f)
const struct conf_key audit_conf_keys[] = {
    {"journal_dir", CONF_STRING, A(journal_dir), 0, 0, NULL, true},
    {"commit", CONF_ENUM, A(commit), 0, 0, commit_modes, false},
    {"fsync", CONF_ENUM, A(fsync), 0, 0, fsync_modes, false},
    {"fsync_interval", CONF_DURATION, A(fsync_interval_ms), 10, 60000, NULL, false},
    {"overflow", CONF_ENUM, A(overflow), 0, 0, overflow_rules, false},
    {"spool_max", CONF_SIZE, A(spool_max), 1 << 16, 1LL << 42, NULL, false},
    {"segment_size", CONF_SIZE, A(segment_size), 1 << 14, 4 * GIB, NULL, false},
    {"queue_size", CONF_INT, A(queue_size), 16, 1000000, NULL, false},
    {"checkpoint_key", CONF_STRING, A(checkpoint_key), 0, 0, NULL, false},
    {"checkpoint_interval", CONF_DURATION, A(checkpoint_interval_ms), 1000, MS_DAY, NULL, false},
    {NULL, 0, 0, 0, 0, NULL, false},
};

/* The delivery keys every sink section shares, for a section struct T with member d. */
#define DELIVERY_KEYS(T)                                                                           \
    {"format", CONF_ENUM, offsetof(T, d.format), 0, 0, out_formats, false},                        \
        {"batch_max", CONF_INT, offsetof(T, d.batch_max), 1, 100000, NULL, false},                 \
        {"batch_bytes", CONF_SIZE, offsetof(T, d.batch_bytes), 1024, 1LL << 30, NULL, false},      \
        {"retry_min", CONF_DURATION, offsetof(T, d.retry_min_ms), 10, 60000, NULL, false},         \
        {"retry_max", CONF_DURATION, offsetof(T, d.retry_max_ms), 10, 3600000, NULL, false},       \
    {                                                                                              \
        "timeout", CONF_DURATION, offsetof(T, d.timeout_ms), 100, 600000, NULL, false              \
    }

#define F(f) offsetof(struct audit_file_conf, f)
const struct conf_key audit_file_conf_keys[] = {
    {"path", CONF_STRING, F(path), 0, 0, NULL, true},
    {"max_size", CONF_SIZE, F(max_size), 0, 1LL << 42, NULL, false},
    {"rotate_interval", CONF_DURATION, F(rotate_interval_ms), 0, 366 * MS_DAY, NULL, false},
    {"max_files", CONF_INT, F(max_files), 0, 100000, NULL, false},
    {"fsync", CONF_ENUM, F(fsync), 0, 0, fsync_modes, false},
    DELIVERY_KEYS(struct audit_file_conf),
    {NULL, 0, 0, 0, 0, NULL, false},
};

#define S(f) offsetof(struct audit_syslog_conf, f)
const struct conf_key audit_syslog_conf_keys[] = {
    {"address", CONF_ADDRESS, S(address), 0, 0, NULL, true},
    {"transport", CONF_ENUM, S(transport), 0, 0, transports, false},
    {"ca_file", CONF_STRING, S(ca_file), 0, 0, NULL, false},
    {"tls_cert", CONF_STRING, S(tls_cert), 0, 0, NULL, false},
    {"tls_key", CONF_STRING, S(tls_key), 0, 0, NULL, false},
    {"server_name", CONF_STRING, S(server_name), 0, 0, NULL, false},
    {"facility", CONF_ENUM, S(facility), 0, 0, audit_syslog_facilities, false},
    {"app_name", CONF_STRING, S(app_name), 0, 0, NULL, false},
    {"hostname", CONF_STRING, S(hostname), 0, 0, NULL, false},
    {"confirm_delay", CONF_DURATION, S(confirm_delay_ms), 0, 600000, NULL, false},
    DELIVERY_KEYS(struct audit_syslog_conf),
    {NULL, 0, 0, 0, 0, NULL, false},
};

#define R(f) offsetof(struct audit_redis_conf, f)
const struct conf_key audit_redis_conf_keys[] = {
    {"address", CONF_ADDRESS, R(address), 0, 0, NULL, true},
    {"key", CONF_STRING, R(key), 0, 0, NULL, false},
    {"maxlen", CONF_INT, R(maxlen), 0, 1LL << 40, NULL, false},
    {"username", CONF_STRING, R(username), 0, 0, NULL, false},
    {"password_file", CONF_STRING, R(password_file), 0, 0, NULL, false},
    DELIVERY_KEYS(struct audit_redis_conf),
    {NULL, 0, 0, 0, 0, NULL, false},
};

#define H(f) offsetof(struct audit_http_conf, f)
const struct conf_key audit_http_conf_keys[] = {
    {"url", CONF_STRING, H(url), 0, 0, NULL, true},
    {"ca_file", CONF_STRING, H(ca_file), 0, 0, NULL, false},
    {"bearer_token_file", CONF_STRING, H(bearer_token_file), 0, 0, NULL, false},
    DELIVERY_KEYS(struct audit_http_conf),
    {NULL, 0, 0, 0, 0, NULL, false},
};

static void delivery_defaults(struct audit_delivery_conf *d, int64_t batch_max)
{
    d->format = AUDIT_OUT_JSON;
    d->batch_max = batch_max;
    d->batch_bytes = 1 << 20;
    d->retry_min_ms = 100;
    d->retry_max_ms = 30000;
    d->timeout_ms = 10000;
}

void audit_conf_set_defaults(void *sect)
{
    struct audit_conf *c = sect;
    c->commit = AUDIT_COMMIT_ASYNC;
    c->fsync = AUDIT_FSYNC_INTERVAL;
    c->fsync_interval_ms = 1000;
    c->overflow = AUDIT_OVERFLOW_DENY;
    c->spool_max = GIB;
    c->segment_size = 16 << 20;
    c->queue_size = 256;
    c->checkpoint_interval_ms = 60000;
}

void audit_file_conf_set_defaults(void *sect)
{
    struct audit_file_conf *c = sect;
    c->max_size = 100 << 20;
    c->rotate_interval_ms = MS_DAY;
    c->max_files = 0;
    c->fsync = AUDIT_FSYNC_INTERVAL;
    delivery_defaults(&c->d, 1000);
}

void audit_syslog_conf_set_defaults(void *sect)
{
    struct audit_syslog_conf *c = sect;
    c->transport = AUDIT_TRANSPORT_TCP;
    c->facility = 10; /* authpriv: security/authorization messages kept private */
    c->app_name = strdup("warden");
    c->confirm_delay_ms = 2000;
    delivery_defaults(&c->d, 500);
}

void audit_redis_conf_set_defaults(void *sect)
{
    struct audit_redis_conf *c = sect;
    c->key = strdup("warden:audit");
    c->maxlen = 1000000;
    delivery_defaults(&c->d, 500);
}

void audit_http_conf_set_defaults(void *sect)
{
    struct audit_http_conf *c = sect;
    delivery_defaults(&c->d, 500);
}

#define DIAG(...) conf_diag_add(diag, pos->file, pos->line, pos->column, __VA_ARGS__)

static void check_readable(const char *sec, const char *name, const char *key, const char *path,
                           const struct conf_pos *pos, struct conf_diag *diag)
{
    if (path && access(path, R_OK) != 0)
        DIAG("[%s%s%s] %s: cannot read '%s'", sec, name ? " " : "", name ? name : "", key, path);
}

/* Sink names key their delivery cursors and metrics labels: short, plain and present. */
static void check_name(const char *sec, const char *name, const struct conf_pos *pos,
                       struct conf_diag *diag)
{
    if (!name) {
        DIAG("[%s] needs a name: [%s NAME] (it keys the sink's delivery cursor)", sec, sec);
        return;
    }
    size_t n = strlen(name);
    bool ok = n > 0 && n <= 64;
    for (size_t i = 0; ok && i < n; i++) {
        char ch = name[i];
        ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
             ch == '_' || ch == '-' || ch == '.';
    }
    if (!ok || name[0] == '.')
        DIAG("[%s %s]: a sink name is 1..64 of A-Z a-z 0-9 _ - . (not starting with '.')", sec,
             name);
}

static void check_delivery(const char *sec, const char *name, const struct audit_delivery_conf *d,
                           const struct conf_pos *pos, struct conf_diag *diag)
{
    if (d->retry_min_ms > d->retry_max_ms)
        DIAG("[%s %s]: retry_min is longer than retry_max", sec, name ? name : "");
}

static bool printable_ascii(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n == 0 || n > max)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 33 || (unsigned char)s[i] > 126)
            return false;
    return true;
}

void audit_conf_check(void *sect, const struct conf_pos *pos, struct conf_diag *diag)
{
    struct audit_conf *c = sect;
    if (c->journal_dir && !c->journal_dir[0])
        DIAG("[audit] journal_dir: must not be empty");
    if (c->checkpoint_key) {
        if (access(c->checkpoint_key, R_OK) != 0) {
            DIAG("[audit] checkpoint_key: cannot read '%s'", c->checkpoint_key);
        } else {
            char err[256];
            struct audit_signer *s = audit_signer_new(c->checkpoint_key, err, sizeof(err));
            if (!s)
                DIAG("[audit] checkpoint_key: %s", err);
            audit_signer_free(s);
        }
    }
}

void audit_file_conf_check(void *sect, const struct conf_pos *pos, struct conf_diag *diag)
{
    struct audit_file_conf *c = sect;
    check_name("audit_file", c->name, pos, diag);
    check_delivery("audit_file", c->name, &c->d, pos, diag);
    if (c->path && !c->path[0])
        DIAG("[audit_file %s] path: must not be empty", c->name ? c->name : "");
    if (c->max_size && c->max_size < 4096)
        DIAG("[audit_file %s] max_size: at least 4k (or 0 for no size rotation)",
             c->name ? c->name : "");
    if (c->rotate_interval_ms && c->rotate_interval_ms < 1000)
        DIAG("[audit_file %s] rotate_interval: at least 1s (or 0 for no time rotation)",
             c->name ? c->name : "");
}

void audit_syslog_conf_check(void *sect, const struct conf_pos *pos, struct conf_diag *diag)
{
    struct audit_syslog_conf *c = sect;
    const char *nm = c->name ? c->name : "";
    check_name("audit_syslog", c->name, pos, diag);
    check_delivery("audit_syslog", c->name, &c->d, pos, diag);
    bool tls = c->transport == AUDIT_TRANSPORT_TLS;
    if (!tls && (c->ca_file || c->tls_cert || c->tls_key || c->server_name))
        DIAG("[audit_syslog %s]: ca_file, tls_cert, tls_key and server_name need transport = tls",
             nm);
    if (!!c->tls_cert != !!c->tls_key)
        DIAG("[audit_syslog %s]: tls_cert and tls_key must be given together", nm);
    check_readable("audit_syslog", c->name, "ca_file", c->ca_file, pos, diag);
    check_readable("audit_syslog", c->name, "tls_cert", c->tls_cert, pos, diag);
    check_readable("audit_syslog", c->name, "tls_key", c->tls_key, pos, diag);
    /* RFC 5424 §6: APP-NAME 1*48 PRINTUSASCII, HOSTNAME 1*255 PRINTUSASCII. */
    if (c->app_name && !printable_ascii(c->app_name, 48))
        DIAG("[audit_syslog %s] app_name: 1 to 48 printable ASCII characters, no spaces", nm);
    if (c->hostname && !printable_ascii(c->hostname, 255))
        DIAG("[audit_syslog %s] hostname: 1 to 255 printable ASCII characters, no spaces", nm);
}

void audit_redis_conf_check(void *sect, const struct conf_pos *pos, struct conf_diag *diag)
{
    struct audit_redis_conf *c = sect;
    const char *nm = c->name ? c->name : "";
    check_name("audit_redis", c->name, pos, diag);
    check_delivery("audit_redis", c->name, &c->d, pos, diag);
    if (c->key && !c->key[0])
        DIAG("[audit_redis %s] key: must not be empty", nm);
    if (c->username && !c->password_file)
        DIAG("[audit_redis %s] username needs password_file", nm);
    check_readable("audit_redis", c->name, "password_file", c->password_file, pos, diag);
}

int audit_url_split(const char *url, bool *tls, char *host, size_t hostlen, int *port, char *path,
                    size_t pathlen)
{
    const char *p;
    if (strncasecmp(url, "http://", 7) == 0) {
        *tls = false;
        p = url + 7;
        *port = 80;
    } else if (strncasecmp(url, "https://", 8) == 0) {
        *tls = true;
        p = url + 8;
        *port = 443;
    } else {
        return -1;
    }
    size_t alen = strcspn(p, "/?#");
    const char *rest = p + alen;
    if (alen == 0 || memchr(p, '@', alen) || *rest == '#' || strchr(rest, '#'))
        return -1;
    const char *h = p, *colon = NULL;
    size_t hl;
    if (*p == '[') {
        const char *rb = memchr(p, ']', alen);
        if (!rb)
            return -1;
        h = p + 1;
        hl = (size_t)(rb - h);
        if (rb + 1 < p + alen) {
            if (rb[1] != ':')
                return -1;
            colon = rb + 1;
        }
    } else {
        colon = memchr(p, ':', alen);
        hl = colon ? (size_t)(colon - p) : alen;
    }
    if (hl == 0 || hl >= hostlen)
        return -1;
    for (size_t i = 0; i < hl; i++)
        if ((unsigned char)h[i] <= ' ' || h[i] == 0x7f || h[i] == '/' || h[i] == '\\')
            return -1;
    memcpy(host, h, hl);
    host[hl] = '\0';
    if (colon) {
        const char *d = colon + 1;
        size_t dl = (size_t)(p + alen - d);
        if (dl == 0 || dl > 5)
            return -1;
        long v = 0;
        for (size_t i = 0; i < dl; i++) {
            if (d[i] < '0' || d[i] > '9')
                return -1;
            v = v * 10 + (d[i] - '0');
        }
        if (v < 1 || v > 65535)
            return -1;
        *port = (int)v;
    }
    const char *pp = *rest ? rest : "/";
    if (*pp == '?')
        return -1;
    if (strlen(pp) >= pathlen)
        return -1;
    for (const char *q = pp; *q; q++)
        if ((unsigned char)*q <= ' ' || *q == 0x7f)
            return -1;
    memcpy(path, pp, strlen(pp) + 1);
    return 0;
}

void audit_http_conf_check(void *sect, const struct conf_pos *pos, struct conf_diag *diag)
{
    struct audit_http_conf *c = sect;
    const char *nm = c->name ? c->name : "";
    check_name("audit_http", c->name, pos, diag);
    check_delivery("audit_http", c->name, &c->d, pos, diag);
    if (c->url) {
        bool tls = false;
        char host[256], path[2048];
        int port;
        if (audit_url_split(c->url, &tls, host, sizeof(host), &port, path, sizeof(path)) != 0)
            DIAG("[audit_http %s] url: expected http://host[:port]/path or https://... (got '%s')",
                 nm, c->url);
        else if (c->ca_file && !tls)
            DIAG("[audit_http %s] ca_file is only used with an https:// url", nm);
    }
    check_readable("audit_http", c->name, "ca_file", c->ca_file, pos, diag);
    check_readable("audit_http", c->name, "bearer_token_file", c->bearer_token_file, pos, diag);
}

bool audit_conf_enabled(const struct audit_conf *c)
{
    return c && c->journal_dir != NULL;
}

void audit_conf_check_all(const struct audit_conf *c, const struct conf_pos *pos,
                          struct conf_diag *diag)
{
    size_t nsinks = c->nfiles + c->nsyslogs + c->nredis + c->nhttps;
    if (!audit_conf_enabled(c)) {
        if (nsinks)
            DIAG("audit sink sections need an [audit] section with journal_dir");
        return;
    }
    if (nsinks == 0)
        DIAG("[audit] needs at least one sink: [audit_file NAME], [audit_syslog NAME], "
             "[audit_redis NAME] or [audit_http NAME]");
    const char **names = calloc(nsinks + 1, sizeof(char *));
    if (!names)
        return;
    size_t n = 0;
    for (size_t i = 0; i < c->nfiles; i++)
        names[n++] = c->files[i].name;
    for (size_t i = 0; i < c->nsyslogs; i++)
        names[n++] = c->syslogs[i].name;
    for (size_t i = 0; i < c->nredis; i++)
        names[n++] = c->redis[i].name;
    for (size_t i = 0; i < c->nhttps; i++)
        names[n++] = c->https[i].name;
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < i; k++)
            if (names[i] && names[k] && strcmp(names[i], names[k]) == 0) {
                DIAG("two audit sinks are named '%s' (names must be unique across kinds)",
                     names[i]);
                break;
            }
    for (size_t i = 0; i < c->nfiles; i++)
        for (size_t k = 0; k < i; k++)
            if (c->files[i].path && c->files[k].path &&
                strcmp(c->files[i].path, c->files[k].path) == 0)
                DIAG("[audit_file %s] and [audit_file %s] write the same path",
                     c->files[k].name ? c->files[k].name : "",
                     c->files[i].name ? c->files[i].name : "");
    free(names);
}
