/*
 * config: the daemon's configuration, composed from the sections each module owns, and its
 * loading/validation (`warden --check`, `wardenctl check`). A loaded config is immutable and
 * shared read-only by every thread for the life of the process; policy and key material that
 * change at run time live in their own reloadable snapshots, not here.
 */
#ifndef WARDEN_CONFIG_H
#define WARDEN_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "audit/audit_conf.h"
#include "auth/authn_conf.h"
#include "util/conf.h"

struct server_conf {
    int64_t workers; /* 0 = number of cores */
    int log_format;  /* enum log_format */
    int log_level;   /* enum log_level */
    int64_t shutdown_timeout_ms;
    char *ready_file;
    char **public_endpoints; /* "health", "ui": reachable without a credential */
    /* derived */
    bool public_health, public_ui;
};

struct listener_conf {
    char *label;
    char *address;
    char *tls_cert;
    char *tls_key;
    char *tls_client_ca; /* request client certificates verified against this CA (mTLS) */
    int tls_client_cert; /* 0 = optional, 1 = required */
    char **auth_methods; /* credentials this listener accepts; NULL = every enabled method */
    unsigned auth_mask;  /* derived: enum authn_method_flag bits */
};

/* How the upstream learns who a request is for ([upstream] identity). */
enum upstream_identity {
    UPSTREAM_IDENTITY_ASSERT = 0,  /* client credential removed; X-Warden-* identity headers plus
                                      a signed assertion JWT (auth/assertion.h) */
    UPSTREAM_IDENTITY_PASSTHROUGH, /* the client's Authorization forwarded unchanged (an
                                      upstream that authenticates users itself) */
};

struct upstream_conf {
    char *url;
    char *host;               /* Host header value sent upstream */
    int identity;             /* enum upstream_identity */
    char *assertion_key_file; /* PEM private key; NULL = generated at start (ES256) */
    char *assertion_issuer;
    char *assertion_audience;
    int64_t assertion_lifetime_ms;
    /* The Authorization value Warden sends on its own look-ups (e.g. "Basic ..." for an
     * MLflow basic-auth app), read from this file (one line); NULL = none. */
    char *service_credential_file;
    /* derived from url by config_load() */
    char conn_host[256];
    int conn_port;
    int64_t max_idle;
    int64_t max_conns;
    int64_t idle_timeout_ms; /* below the upstream's own keep-alive timeout (uvicorn: 5 s) */
};

struct limits_conf {
    int64_t request_line;
    int64_t header_bytes;
    int64_t headers;
    int64_t max_connections;
};

struct timeouts_conf {
    int64_t client_header_ms;
    int64_t client_body_idle_ms;
    int64_t keepalive_idle_ms;
    int64_t upstream_connect_ms;
    int64_t upstream_first_byte_ms;
    int64_t upstream_idle_ms;
    int64_t client_write_idle_ms;
};

struct admin_conf {
    char *address;
};

struct policy_conf {
    char **paths;              /* files or directories of *.policy files, in order */
    int64_t watch_interval_ms; /* poll the files for changes; 0 = only SIGHUP/admin reload */
    /* Naming rules (mlflow/naming.h): where MLflow names that are not catalog.schema.name
     * land, and the catalog holding the /Users/<user>/ home schemas. */
    char *default_catalog;
    char *default_schema;
    char *home_catalog;
};

struct warden_config {
    char *path;
    struct server_conf server;
    struct listener_conf *listeners;
    size_t nlisteners;
    struct upstream_conf upstream;
    struct limits_conf limits;
    struct timeouts_conf timeouts;
    struct admin_conf admin;
    struct authn_config auth;
    struct authn_issuer_config *issuers;
    size_t nissuers;
    struct policy_conf policy;
    struct audit_conf audit; /* [audit] and the audit sink sections (audit/audit_conf.h) */
    unsigned auth_methods;   /* enum authn_method_flag bits, resolved by config_load() */
};

/*
 * Load and validate the configuration at path. Returns the config, or NULL with every error
 * ("file:line:column: message") recorded in diag.
 */
struct warden_config *config_load(const char *path, struct conf_diag *diag);
void config_free(struct warden_config *cfg);

#endif
