/*
 * config: assembles the root configuration from the per-module section tables and runs the
 * cross-section checks (the second pass, after every section has been read). Runs on the
 * main thread at start-up and in `--check`; the result is immutable afterwards.
 */
#include "config.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth/assertion.h"
#include "auth/authn_conf.h"
#include "auth/files.h"
#include "net/tls.h"
#include "util/log.h"

#define SEC(T, f) offsetof(T, f)

static const char *const log_formats[] = {"text", "json", NULL};
static const char *const log_levels[] = {"debug", "info", "warn", "error", NULL};

static const struct conf_key server_keys[] = {
    {"workers", CONF_INT, SEC(struct server_conf, workers), 0, 256, NULL, false},
    {"log_format", CONF_ENUM, SEC(struct server_conf, log_format), 0, 0, log_formats, false},
    {"log_level", CONF_ENUM, SEC(struct server_conf, log_level), 0, 0, log_levels, false},
    {"shutdown_timeout", CONF_DURATION, SEC(struct server_conf, shutdown_timeout_ms), 0, 3600000,
     NULL, false},
    {"ready_file", CONF_STRING, SEC(struct server_conf, ready_file), 0, 0, NULL, false},
    {"public_endpoints", CONF_LIST, SEC(struct server_conf, public_endpoints), 0, 0, NULL, false},
    {NULL, 0, 0, 0, 0, NULL, false},
};

/* Only MLflow's health check and the UI's static assets may be reached anonymously: every
 * other route names or lists tracked objects. */
static void server_check(void *p, const struct conf_pos *pos, struct conf_diag *d)
{
    struct server_conf *s = p;
    for (char **e = s->public_endpoints; e && *e; e++) {
        if (strcmp(*e, "health") == 0)
            s->public_health = true;
        else if (strcmp(*e, "ui") == 0)
            s->public_ui = true;
        else
            conf_diag_add(d, pos->file, pos->line, pos->column,
                          "[server] public_endpoints: '%s' cannot be public (allowed: health, ui)",
                          *e);
    }
}

static void server_defaults(void *p)
{
    struct server_conf *s = p;
    s->workers = 0;
    s->log_format = 0;
    s->log_level = 1;
    s->shutdown_timeout_ms = 10000;
}

static const char *const client_cert_modes[] = {"optional", "required", NULL};
static const struct conf_key listener_keys[] = {
    {"address", CONF_ADDRESS, SEC(struct listener_conf, address), 0, 0, NULL, true},
    {"tls_cert", CONF_STRING, SEC(struct listener_conf, tls_cert), 0, 0, NULL, false},
    {"tls_key", CONF_STRING, SEC(struct listener_conf, tls_key), 0, 0, NULL, false},
    {"tls_client_ca", CONF_STRING, SEC(struct listener_conf, tls_client_ca), 0, 0, NULL, false},
    {"tls_client_cert", CONF_ENUM, SEC(struct listener_conf, tls_client_cert), 0, 0,
     client_cert_modes, false},
    {"auth_methods", CONF_LIST, SEC(struct listener_conf, auth_methods), 0, 0, NULL, false},
    {NULL, 0, 0, 0, 0, NULL, false},
};

static void listener_check(void *p, const struct conf_pos *pos, struct conf_diag *d)
{
    struct listener_conf *l = p;
    /* Same names and bit order as [auth] methods (enum authn_method_flag). */
    static const char *const methods[] = {"jwt", "pat", "basic-pat", "basic-jwt", "mtls"};
    l->auth_mask = l->auth_methods ? 0 : ~0u;
    for (char **m = l->auth_methods; m && *m; m++) {
        size_t k = 0;
        while (k < 5 && strcmp(*m, methods[k]) != 0)
            k++;
        if (k == 5)
            conf_diag_add(d, pos->file, pos->line, pos->column,
                          "[listener] auth_methods: unknown method '%s' (expected jwt, pat, "
                          "basic-pat, basic-jwt, mtls)",
                          *m);
        else
            l->auth_mask |= 1u << k;
    }
    if (l->auth_methods && (l->auth_mask & AUTHN_ALLOW_MTLS) && !l->tls_client_ca)
        conf_diag_add(d, pos->file, pos->line, pos->column,
                      "[listener] auth_methods: mtls needs tls_client_ca on this listener");
    if (!!l->tls_cert != !!l->tls_key)
        conf_diag_add(d, pos->file, pos->line, pos->column,
                      "[listener]: tls_cert and tls_key must be given together");
    if (l->tls_client_ca && !l->tls_cert)
        conf_diag_add(d, pos->file, pos->line, pos->column,
                      "[listener]: tls_client_ca needs a TLS listener (tls_cert and tls_key)");
    const char *files[3] = {l->tls_cert, l->tls_key, l->tls_client_ca};
    static const char *const names[3] = {"tls_cert", "tls_key", "tls_client_ca"};
    bool readable = true;
    for (int i = 0; i < 3; i++)
        if (files[i] && access(files[i], R_OK) != 0) {
            conf_diag_add(d, pos->file, pos->line, pos->column, "[listener]: cannot read %s '%s'",
                          names[i], files[i]);
            readable = false;
        }
    if (readable && l->tls_cert && l->tls_key) {
        /* Load them as the daemon will, so --check refuses what start-up would refuse. */
        char err[512];
        SSL_CTX *ctx = tls_server_ctx_new(l->tls_cert, l->tls_key, l->tls_client_ca,
                                          l->tls_client_cert == 1, err, sizeof(err));
        if (!ctx)
            conf_diag_add(d, pos->file, pos->line, pos->column, "[listener]: %s", err);
        tls_server_ctx_free(ctx);
    }
}

static const char *const identity_modes[] = {"assert", "passthrough", NULL};
static const struct conf_key upstream_keys[] = {
    {"url", CONF_STRING, SEC(struct upstream_conf, url), 0, 0, NULL, true},
    {"host", CONF_STRING, SEC(struct upstream_conf, host), 0, 0, NULL, false},
    {"identity", CONF_ENUM, SEC(struct upstream_conf, identity), 0, 0, identity_modes, false},
    {"assertion_key_file", CONF_STRING, SEC(struct upstream_conf, assertion_key_file), 0, 0, NULL,
     false},
    {"assertion_issuer", CONF_STRING, SEC(struct upstream_conf, assertion_issuer), 0, 0, NULL,
     false},
    {"assertion_audience", CONF_STRING, SEC(struct upstream_conf, assertion_audience), 0, 0, NULL,
     false},
    {"assertion_lifetime", CONF_DURATION, SEC(struct upstream_conf, assertion_lifetime_ms),
     ASSERTION_MIN_LIFETIME, ASSERTION_MAX_LIFETIME, NULL, false},
    {"service_credential_file", CONF_STRING, SEC(struct upstream_conf, service_credential_file), 0,
     0, NULL, false},
    {"max_idle", CONF_INT, SEC(struct upstream_conf, max_idle), 0, 100000, NULL, false},
    {"max_conns", CONF_INT, SEC(struct upstream_conf, max_conns), 1, 1000000, NULL, false},
    {"idle_timeout", CONF_DURATION, SEC(struct upstream_conf, idle_timeout_ms), 1, 3600000, NULL,
     false},
    {NULL, 0, 0, 0, 0, NULL, false},
};

static void upstream_defaults(void *p)
{
    struct upstream_conf *u = p;
    u->max_idle = 64;
    u->max_conns = 4096;
    u->idle_timeout_ms = 4000;
    u->identity = UPSTREAM_IDENTITY_ASSERT;
    u->assertion_issuer = strdup("warden");
    u->assertion_audience = strdup("mlflow");
    u->assertion_lifetime_ms = 60000;
}

/* The identity keys: the assertion key loads as the daemon will load it, the service
 * credential file holds one header-safe line. */
static void upstream_identity_check(struct upstream_conf *u, const struct conf_pos *pos,
                                    struct conf_diag *d)
{
    char err[512];
    if (u->assertion_key_file && assertion_key_check(u->assertion_key_file, err, sizeof(err)) != 0)
        conf_diag_add(d, pos->file, pos->line, pos->column, "[upstream] %s", err);
    if (u->assertion_key_file && u->identity == UPSTREAM_IDENTITY_PASSTHROUGH)
        conf_diag_add(d, pos->file, pos->line, pos->column,
                      "[upstream] assertion_key_file is only used with identity = assert");
    const char *names[2] = {u->assertion_issuer, u->assertion_audience};
    for (int i = 0; i < 2; i++)
        if (names[i] && !names[i][0])
            conf_diag_add(d, pos->file, pos->line, pos->column, "[upstream] %s must not be empty",
                          i ? "assertion_audience" : "assertion_issuer");
    if (u->service_credential_file) {
        char *v = NULL;
        size_t n = 0;
        if (auth_header_value_load(u->service_credential_file, &v, &n, err, sizeof(err)) != 0)
            conf_diag_add(d, pos->file, pos->line, pos->column, "[upstream] %s", err);
        if (v) {
            OPENSSL_cleanse(v, n);
            free(v);
        }
    }
}

static void upstream_check(void *p, const struct conf_pos *pos, struct conf_diag *d)
{
    struct upstream_conf *u = p;
    upstream_identity_check(u, pos, d);
    if (!u->url)
        return;
    if (strncmp(u->url, "http://", 7) != 0) {
        conf_diag_add(d, pos->file, pos->line, pos->column,
                      "[upstream] url: only http:// upstreams are supported (got '%s')", u->url);
        return;
    }
    const char *auth = u->url + 7;
    size_t alen = strcspn(auth, "/");
    if (auth[alen] && strcmp(auth + alen, "/") != 0) {
        conf_diag_add(d, pos->file, pos->line, pos->column,
                      "[upstream] url: a path prefix is not supported (got '%s')", u->url);
        return;
    }
    char a[300];
    if (alen >= sizeof(a)) {
        conf_diag_add(d, pos->file, pos->line, pos->column, "[upstream] url: authority too long");
        return;
    }
    memcpy(a, auth, alen);
    a[alen] = '\0';
    if (!strchr(a, ':') || a[alen - 1] == ']') {
        char with_port[310];
        snprintf(with_port, sizeof(with_port), "%s:80", a);
        memcpy(a, with_port, strlen(with_port) + 1);
    }
    if (conf_split_address(a, u->conn_host, sizeof(u->conn_host), &u->conn_port) < 0 ||
        u->conn_port == 0) {
        conf_diag_add(d, pos->file, pos->line, pos->column,
                      "[upstream] url: invalid host:port in '%s'", u->url);
        return;
    }
    if (!u->host) {
        u->host = strndup(auth, alen);
    } else {
        for (const char *c = u->host; *c; c++)
            if (*c <= ' ' || *c == '/' || *c == '@' || *c == 0x7f)
                conf_diag_add(d, pos->file, pos->line, pos->column,
                              "[upstream] host: invalid character in '%s'", u->host);
    }
}

static const struct conf_key limits_keys[] = {
    {"request_line", CONF_SIZE, SEC(struct limits_conf, request_line), 64, 1 << 20, NULL, false},
    {"header_bytes", CONF_SIZE, SEC(struct limits_conf, header_bytes), 256, 1 << 20, NULL, false},
    {"headers", CONF_INT, SEC(struct limits_conf, headers), 1, 256, NULL, false},
    {"max_connections", CONF_INT, SEC(struct limits_conf, max_connections), 1, 1000000, NULL,
     false},
    {NULL, 0, 0, 0, 0, NULL, false},
};

static void limits_defaults(void *p)
{
    struct limits_conf *l = p;
    l->request_line = 8192;
    l->header_bytes = 32768;
    l->headers = 100;
    l->max_connections = 10000;
}

static void limits_check(void *p, const struct conf_pos *pos, struct conf_diag *d)
{
    struct limits_conf *l = p;
    if (l->request_line > l->header_bytes)
        conf_diag_add(d, pos->file, pos->line, pos->column,
                      "[limits]: request_line (%lld) must not exceed header_bytes (%lld)",
                      (long long)l->request_line, (long long)l->header_bytes);
}

#define DUR(name, field)                                                                           \
    {                                                                                              \
        name, CONF_DURATION, SEC(struct timeouts_conf, field), 1, 86400000, NULL, false            \
    }
static const struct conf_key timeouts_keys[] = {
    DUR("client_header", client_header_ms),
    DUR("client_body_idle", client_body_idle_ms),
    DUR("keepalive_idle", keepalive_idle_ms),
    DUR("upstream_connect", upstream_connect_ms),
    DUR("upstream_first_byte", upstream_first_byte_ms),
    DUR("upstream_idle", upstream_idle_ms),
    DUR("client_write_idle", client_write_idle_ms),
    {NULL, 0, 0, 0, 0, NULL, false},
};

static void timeouts_defaults(void *p)
{
    struct timeouts_conf *t = p;
    t->client_header_ms = 10000;
    t->client_body_idle_ms = 30000;
    t->keepalive_idle_ms = 60000;
    t->upstream_connect_ms = 5000;
    t->upstream_first_byte_ms = 120000;
    t->upstream_idle_ms = 300000;
    t->client_write_idle_ms = 60000;
}

static const struct conf_key admin_keys[] = {
    {"address", CONF_ADDRESS, SEC(struct admin_conf, address), 0, 0, NULL, false},
    {NULL, 0, 0, 0, 0, NULL, false},
};

static const struct conf_key policy_keys[] = {
    {"paths", CONF_LIST, SEC(struct policy_conf, paths), 0, 0, NULL, true},
    {"watch_interval", CONF_DURATION, SEC(struct policy_conf, watch_interval_ms), 0, 86400000, NULL,
     false},
    {"default_catalog", CONF_STRING, SEC(struct policy_conf, default_catalog), 0, 0, NULL, false},
    {"default_schema", CONF_STRING, SEC(struct policy_conf, default_schema), 0, 0, NULL, false},
    {"home_catalog", CONF_STRING, SEC(struct policy_conf, home_catalog), 0, 0, NULL, false},
    {NULL, 0, 0, 0, 0, NULL, false},
};

static void policy_defaults(void *p)
{
    struct policy_conf *pc = p;
    pc->watch_interval_ms = 2000;
    pc->default_catalog = strdup("main");
    pc->default_schema = strdup("default");
    pc->home_catalog = strdup("users");
}

static void admin_defaults(void *p)
{
    struct admin_conf *a = p;
    a->address = strdup("127.0.0.1:9901");
}

#define ROOT(f) offsetof(struct warden_config, f)
static const struct conf_section sections[] = {
    {"server", sizeof(struct server_conf), false, server_keys, ROOT(server), 0, CONF_NO_LABEL,
     server_defaults, server_check},
    {"listener", sizeof(struct listener_conf), true, listener_keys, ROOT(listeners),
     ROOT(nlisteners), offsetof(struct listener_conf, label), NULL, listener_check},
    {"upstream", sizeof(struct upstream_conf), false, upstream_keys, ROOT(upstream), 0,
     CONF_NO_LABEL, upstream_defaults, upstream_check},
    {"limits", sizeof(struct limits_conf), false, limits_keys, ROOT(limits), 0, CONF_NO_LABEL,
     limits_defaults, limits_check},
    {"timeouts", sizeof(struct timeouts_conf), false, timeouts_keys, ROOT(timeouts), 0,
     CONF_NO_LABEL, timeouts_defaults, NULL},
    {"admin", sizeof(struct admin_conf), false, admin_keys, ROOT(admin), 0, CONF_NO_LABEL,
     admin_defaults, NULL},
    {"auth", sizeof(struct authn_config), false, authn_conf_keys, ROOT(auth), 0, CONF_NO_LABEL,
     authn_conf_set_defaults, authn_conf_check},
    {"issuer", sizeof(struct authn_issuer_config), true, authn_issuer_conf_keys, ROOT(issuers),
     ROOT(nissuers), offsetof(struct authn_issuer_config, name), authn_issuer_conf_set_defaults,
     authn_issuer_conf_check},
    {"policy", sizeof(struct policy_conf), false, policy_keys, ROOT(policy), 0, CONF_NO_LABEL,
     policy_defaults, NULL},
    AUDIT_CONF_SECTIONS(struct warden_config, audit),
};
#define NSECTIONS (sizeof(sections) / sizeof(sections[0]))

struct warden_config *config_load(const char *path, struct conf_diag *diag)
{
    struct warden_config *cfg = calloc(1, sizeof(*cfg));
    if (!cfg) {
        conf_diag_add(diag, path, 0, 0, "out of memory");
        return NULL;
    }
    cfg->path = strdup(path);
    int rc = conf_load(path, sections, NSECTIONS, cfg, diag);
    /* Whole-file checks: sections that must exist. */
    if (rc == 0 || diag->n > 0) {
        if (cfg->nlisteners == 0)
            conf_diag_add(diag, path, 1, 1, "no [listener] section: Warden would accept nothing");
        if (!cfg->upstream.url && rc == 0)
            conf_diag_add(diag, path, 1, 1, "no [upstream] section with a url");
        bool mtls = false;
        for (size_t i = 0; i < cfg->nlisteners; i++)
            mtls |= cfg->listeners[i].tls_client_ca != NULL;
        /* No accidental open proxy: some method must be able to authenticate someone. */
        struct conf_pos pos = {path, 1, 1};
        cfg->auth_methods =
            authn_conf_check_all(&cfg->auth, cfg->issuers, cfg->nissuers, mtls, &pos, diag);
        for (size_t i = 0; cfg->auth_methods && i < cfg->nlisteners; i++)
            if (cfg->listeners[i].auth_methods &&
                (cfg->listeners[i].auth_mask & ~cfg->auth_methods))
                conf_diag_add(diag, path, 1, 1,
                              "[listener %s] auth_methods names a method that [auth] does not "
                              "enable",
                              cfg->listeners[i].label ? cfg->listeners[i].label
                                                      : cfg->listeners[i].address);
        audit_conf_check_all(&cfg->audit, &pos, diag);
    }
    if (diag->n > 0) {
        config_free(cfg);
        return NULL;
    }
    return cfg;
}

void config_free(struct warden_config *cfg)
{
    if (!cfg)
        return;
    conf_release(sections, NSECTIONS, cfg);
    free(cfg->path);
    free(cfg);
}
