/*
 * authn_conf: the configuration of authentication: the [auth] section (struct authn_config)
 * and the repeatable [issuer NAME] section (struct authn_issuer_config), as conf_key tables
 * with defaults and checks, for the root configuration to assemble (see util/conf.h).
 * Every key is documented in conf/README.md. Read at start-up/reload on the main
 * thread; authn_new() copies what it keeps, so these structs may be released afterwards.
 */
#ifndef WARDEN_AUTH_AUTHN_CONF_H
#define WARDEN_AUTH_AUTHN_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/conf.h"

/* Authentication methods (bit flags). */
enum authn_method_flag {
    AUTHN_ALLOW_JWT = 1u << 0,       /* Bearer JWT */
    AUTHN_ALLOW_PAT = 1u << 1,       /* Bearer PAT */
    AUTHN_ALLOW_BASIC_PAT = 1u << 2, /* Basic, PAT as password */
    AUTHN_ALLOW_BASIC_JWT = 1u << 3, /* Basic, JWT as password */
    AUTHN_ALLOW_MTLS = 1u << 4,      /* client certificate */
};

struct authn_config {
    char **methods; /* NULL = every method whose credentials are configured */
    char *realm;
    char **user_claim;
    char *groups_claim;
    char **scopes_claim;
    int64_t leeway_ms;
    int64_t max_token_size;
    int64_t cache_size;
    char *pat_file;
    char *revocation_file;
    int64_t reload_interval_ms;
    char *redis;
    char *redis_prefix;
    char *redis_password_file;
    int64_t redis_resync_interval_ms;
    char **mtls_user;
    char *mtls_uri_prefix;
    char **mtls_groups;
    /* On behalf of users (auth/obo.h): which forms are accepted ("header", "exchange"; "off"
     * for none) and the request header carrying the subject token of the header form. */
    char **on_behalf_of;
    char *obo_header;
};

/* The forms of on-behalf-of requests (bit flags). */
enum authn_obo_flag {
    AUTHN_OBO_HEADER_FORM = 1u << 0,   /* caller credential + subject token in obo_header */
    AUTHN_OBO_EXCHANGE_FORM = 1u << 1, /* one exchanged token with an act claim (RFC 8693) */
};

#define AUTHN_OBO_DEFAULT_HEADER "X-Warden-Subject-Token"

/* The on_behalf_of list as enum authn_obo_flag bits; -1 for an unknown word. */
int authn_conf_obo_forms(char *const *list);

struct authn_issuer_config {
    char *name; /* the section label: [issuer NAME] */
    char *issuer;
    char **audiences;
    char **algorithms;
    char *jwks_file;
    char *jwks_url;
    char *discovery_url;
    char *ca_file;
    char *hs_secret_file;
    int64_t refresh_interval_ms;
    int64_t refetch_min_interval_ms;
    int64_t max_stale_ms;
    int64_t fetch_timeout_ms;
    char **user_claim; /* NULL = [auth] user_claim */
    char *groups_claim;
    char **scopes_claim;
    /* Audiences accepted for this issuer's subject tokens (the user's token an agent presents
     * in obo_header); NULL = audiences. */
    char **subject_audiences;
};

extern const struct conf_key authn_conf_keys[];
extern const struct conf_key authn_issuer_conf_keys[];

void authn_conf_set_defaults(void *sect);
void authn_issuer_conf_set_defaults(void *sect);

/* Per-section checks (conf_section.check). */
void authn_conf_check(void *sect, const struct conf_pos *pos, struct conf_diag *diag);
void authn_issuer_conf_check(void *sect, const struct conf_pos *pos, struct conf_diag *diag);

/*
 * Cross-section check, after the whole file is read: resolves the enabled methods and refuses
 * a configuration where no method can authenticate anyone (no accidental open proxy), or where
 * an explicitly listed method has nothing behind it (jwt without [issuer], pat without pat_file
 * or redis). mtls_possible: whether some listener requests client certificates. Returns the
 * method mask (0 after reporting an error).
 */
unsigned authn_conf_check_all(const struct authn_config *cfg,
                              const struct authn_issuer_config *issuers, size_t nissuers,
                              bool mtls_possible, const struct conf_pos *pos,
                              struct conf_diag *diag);

/* Same resolution without diagnostics: the enabled methods, or 0 with a message in err. */
unsigned authn_conf_methods(const struct authn_config *cfg,
                            const struct authn_issuer_config *issuers, size_t nissuers,
                            bool mtls_possible, char *err, size_t errlen);

#endif
