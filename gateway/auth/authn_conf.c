/*
 * authn_conf: see authn_conf.h. Keys are documented in conf/README.md (same order).
 */
#include "auth/authn_conf.h"

#include "auth/jose.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <string.h>
#include <unistd.h>

#define A(f)   offsetof(struct authn_config, f)
#define I(f)   offsetof(struct authn_issuer_config, f)
#define MS_DAY (24LL * 3600 * 1000)

const struct conf_key authn_conf_keys[] = {
    {"methods", CONF_LIST, A(methods), 0, 0, NULL, false},
    {"realm", CONF_STRING, A(realm), 0, 0, NULL, false},
    {"user_claim", CONF_LIST, A(user_claim), 0, 0, NULL, false},
    {"groups_claim", CONF_STRING, A(groups_claim), 0, 0, NULL, false},
    {"scopes_claim", CONF_LIST, A(scopes_claim), 0, 0, NULL, false},
    {"leeway", CONF_DURATION, A(leeway_ms), 0, 600000, NULL, false},
    {"max_token_size", CONF_SIZE, A(max_token_size), 256, 65536, NULL, false},
    {"cache_size", CONF_INT, A(cache_size), 0, 10000000, NULL, false},
    {"pat_file", CONF_STRING, A(pat_file), 0, 0, NULL, false},
    {"revocation_file", CONF_STRING, A(revocation_file), 0, 0, NULL, false},
    {"reload_interval", CONF_DURATION, A(reload_interval_ms), 100, 3600000, NULL, false},
    {"redis", CONF_ADDRESS, A(redis), 0, 0, NULL, false},
    {"redis_prefix", CONF_STRING, A(redis_prefix), 0, 0, NULL, false},
    {"redis_password_file", CONF_STRING, A(redis_password_file), 0, 0, NULL, false},
    {"redis_resync_interval", CONF_DURATION, A(redis_resync_interval_ms), 1000, MS_DAY, NULL,
     false},
    {"mtls_user", CONF_LIST, A(mtls_user), 0, 0, NULL, false},
    {"mtls_uri_prefix", CONF_STRING, A(mtls_uri_prefix), 0, 0, NULL, false},
    {"mtls_groups", CONF_LIST, A(mtls_groups), 0, 0, NULL, false},
    {"on_behalf_of", CONF_LIST, A(on_behalf_of), 0, 0, NULL, false},
    {"obo_header", CONF_STRING, A(obo_header), 0, 0, NULL, false},
    {NULL, 0, 0, 0, 0, NULL, false},
};

const struct conf_key authn_issuer_conf_keys[] = {
    {"issuer", CONF_STRING, I(issuer), 0, 0, NULL, true},
    {"audiences", CONF_LIST, I(audiences), 0, 0, NULL, true},
    {"algorithms", CONF_LIST, I(algorithms), 0, 0, NULL, false},
    {"jwks_file", CONF_STRING, I(jwks_file), 0, 0, NULL, false},
    {"jwks_url", CONF_STRING, I(jwks_url), 0, 0, NULL, false},
    {"discovery_url", CONF_STRING, I(discovery_url), 0, 0, NULL, false},
    {"ca_file", CONF_STRING, I(ca_file), 0, 0, NULL, false},
    {"hs_secret_file", CONF_STRING, I(hs_secret_file), 0, 0, NULL, false},
    {"refresh_interval", CONF_DURATION, I(refresh_interval_ms), 10000, 7 * MS_DAY, NULL, false},
    {"refetch_min_interval", CONF_DURATION, I(refetch_min_interval_ms), 1000, MS_DAY, NULL, false},
    {"max_stale", CONF_DURATION, I(max_stale_ms), 60000, 30 * MS_DAY, NULL, false},
    {"fetch_timeout", CONF_DURATION, I(fetch_timeout_ms), 100, 60000, NULL, false},
    {"user_claim", CONF_LIST, I(user_claim), 0, 0, NULL, false},
    {"groups_claim", CONF_STRING, I(groups_claim), 0, 0, NULL, false},
    {"scopes_claim", CONF_LIST, I(scopes_claim), 0, 0, NULL, false},
    {"subject_audiences", CONF_LIST, I(subject_audiences), 0, 0, NULL, false},
    {NULL, 0, 0, 0, 0, NULL, false},
};

static char **strv(const char *const *v)
{
    size_t n = 0;
    while (v[n])
        n++;
    char **c = calloc(n + 1, sizeof(char *));
    for (size_t i = 0; c && i < n; i++)
        c[i] = strdup(v[i]);
    return c;
}

void authn_conf_set_defaults(void *sect)
{
    struct authn_config *c = sect;
    static const char *const user[] = {"sub", NULL};
    static const char *const scopes[] = {"scope", "scp", NULL};
    static const char *const mtls[] = {"san-email", "cn", NULL};
    static const char *const obo[] = {"header", "exchange", NULL};
    c->realm = strdup("warden");
    c->user_claim = strv(user);
    c->groups_claim = strdup("groups");
    c->scopes_claim = strv(scopes);
    c->leeway_ms = 60000;
    c->max_token_size = 8192;
    c->cache_size = 10000;
    c->reload_interval_ms = 2000;
    c->redis_prefix = strdup("warden");
    c->redis_resync_interval_ms = 60000;
    c->mtls_user = strv(mtls);
    c->on_behalf_of = strv(obo);
    c->obo_header = strdup(AUTHN_OBO_DEFAULT_HEADER);
}

int authn_conf_obo_forms(char *const *list)
{
    int m = 0;
    for (size_t i = 0; list && list[i]; i++) {
        if (strcmp(list[i], "header") == 0)
            m |= AUTHN_OBO_HEADER_FORM;
        else if (strcmp(list[i], "exchange") == 0)
            m |= AUTHN_OBO_EXCHANGE_FORM;
        else if (strcmp(list[i], "off") != 0 || list[1] || i > 0)
            return -1;
    }
    return m;
}

/* Headers the subject token may not travel in: credentials, framing, and what Warden itself
 * writes or interprets. */
static bool obo_header_reserved(const char *h)
{
    static const char *const reserved[] = {
        "authorization",     "proxy-authorization", "cookie",    "host",          "content-length",
        "transfer-encoding", "connection",          "te",        "upgrade",       "expect",
        "x-request-id",      "forwarded",           "x-real-ip", "x-warden-user", "x-warden-groups",
        "x-warden-scopes",   "x-warden-assertion",
    };
    if (strncasecmp(h, "x-forwarded-for", 15) == 0 && !h[15])
        return true;
    for (size_t i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++)
        if (strcasecmp(h, reserved[i]) == 0)
            return true;
    return strncasecmp(h, "x-warden-auth", 13) == 0 || strncasecmp(h, "x-warden-issuer", 15) == 0 ||
           strncasecmp(h, "x-warden-token", 14) == 0 || strncasecmp(h, "x-warden-actor", 14) == 0;
}

void authn_issuer_conf_set_defaults(void *sect)
{
    struct authn_issuer_config *c = sect;
    static const char *const algs[] = {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512",
                                       "ES256", "ES384", "ES512", "EdDSA", NULL};
    c->algorithms = strv(algs);
    c->refresh_interval_ms = 600000;
    c->refetch_min_interval_ms = 30000;
    c->max_stale_ms = MS_DAY;
    c->fetch_timeout_ms = 5000;
}

static const char *const method_names[] = {"jwt", "pat", "basic-pat", "basic-jwt", "mtls", NULL};
static const char *const mtls_sources[] = {"cn", "san-email", "san-uri", "san-dns", NULL};

static bool in_list(const char *s, const char *const *list)
{
    for (size_t i = 0; list[i]; i++)
        if (strcmp(s, list[i]) == 0)
            return true;
    return false;
}

#define DIAG(...) conf_diag_add(diag, pos->file, pos->line, pos->column, __VA_ARGS__)

static void check_claim_names(char **v, const char *key, const struct conf_pos *pos,
                              struct conf_diag *diag)
{
    for (size_t i = 0; v && v[i]; i++)
        if (!v[i][0] || v[i][0] == '.' || v[i][strlen(v[i]) - 1] == '.' || strstr(v[i], ".."))
            DIAG("%s: '%s' is not a claim name or dotted path", key, v[i]);
}

void authn_conf_check(void *sect, const struct conf_pos *pos, struct conf_diag *diag)
{
    struct authn_config *c = sect;
    for (size_t i = 0; c->methods && c->methods[i]; i++)
        if (!in_list(c->methods[i], method_names))
            DIAG("[auth] methods: unknown method '%s' (jwt, pat, basic-pat, basic-jwt, mtls)",
                 c->methods[i]);
    if (c->methods && !c->methods[0])
        DIAG("[auth] methods: empty list; at least one authentication method is required");
    for (size_t i = 0; c->mtls_user && c->mtls_user[i]; i++)
        if (!in_list(c->mtls_user[i], mtls_sources))
            DIAG("[auth] mtls_user: unknown source '%s' (cn, san-email, san-uri, san-dns)",
                 c->mtls_user[i]);
    for (size_t i = 0; c->mtls_user && c->mtls_user[i]; i++)
        if (strcmp(c->mtls_user[i], "san-uri") == 0 && !c->mtls_uri_prefix)
            DIAG("[auth] mtls_user san-uri needs mtls_uri_prefix (e.g. spiffe://example.org/)");
    if (!c->user_claim || !c->user_claim[0])
        DIAG("[auth] user_claim: at least one claim is required");
    check_claim_names(c->user_claim, "[auth] user_claim", pos, diag);
    check_claim_names(c->scopes_claim, "[auth] scopes_claim", pos, diag);
    if (c->groups_claim) {
        char *one[] = {c->groups_claim, NULL};
        check_claim_names(one, "[auth] groups_claim", pos, diag);
    }
    if (c->realm)
        for (const char *p = c->realm; *p; p++)
            if (*p == '"' || *p == '\\' || (unsigned char)*p < 0x20) {
                DIAG("[auth] realm: must not contain quotes, backslashes or control characters");
                break;
            }
    if (c->redis_prefix && (!*c->redis_prefix || strpbrk(c->redis_prefix, " \t\r\n")))
        DIAG("[auth] redis_prefix: must be non-empty without whitespace");
    const char *files[] = {c->redis_password_file};
    for (size_t i = 0; i < 1; i++)
        if (files[i] && access(files[i], R_OK) != 0)
            DIAG("[auth] cannot read '%s'", files[i]);
    if (c->redis_password_file && !c->redis)
        DIAG("[auth] redis_password_file without redis");
    if (authn_conf_obo_forms(c->on_behalf_of) < 0)
        DIAG("[auth] on_behalf_of: expected header, exchange (either or both) or off");
    if (c->obo_header) {
        const char *h = c->obo_header;
        bool ok = *h != '\0';
        for (const char *q = h; *q && ok; q++)
            ok = (*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') || (*q >= '0' && *q <= '9') ||
                 *q == '-';
        if (!ok)
            DIAG("[auth] obo_header: '%s' is not a header name (letters, digits and '-')", h);
        else if (obo_header_reserved(h))
            DIAG("[auth] obo_header: '%s' is reserved (choose a header of its own, e.g. %s)", h,
                 AUTHN_OBO_DEFAULT_HEADER);
    }
}

void authn_issuer_conf_check(void *sect, const struct conf_pos *pos, struct conf_diag *diag)
{
    struct authn_issuer_config *c = sect;
    const char *nm = c->name ? c->name : "";
    int sources = !!c->jwks_file + !!c->jwks_url + !!c->discovery_url;
    bool hs = false, asym = false;
    for (size_t i = 0; c->algorithms && c->algorithms[i]; i++) {
        const char *a = c->algorithms[i];
        enum jose_alg alg = jose_alg_from_name(a);
        if (alg == JOSE_ALG_INVALID) {
            DIAG("[issuer %s] algorithms: '%s' is not supported%s", nm, a,
                 strcasecmp(a, "none") == 0 ? " (unsigned tokens are never accepted)" : "");
            continue;
        }
        if (jose_alg_family(alg) == JOSE_FAMILY_HMAC)
            hs = true;
        else
            asym = true;
    }
    if (!c->algorithms || !c->algorithms[0])
        DIAG("[issuer %s] algorithms: at least one algorithm is required", nm);
    if (sources > 1)
        DIAG("[issuer %s] give only one of jwks_file, jwks_url, discovery_url", nm);
    if (asym && sources == 0)
        DIAG("[issuer %s] needs jwks_file, jwks_url or discovery_url for its keys", nm);
    if (hs && !c->hs_secret_file)
        DIAG("[issuer %s] HS algorithms require hs_secret_file", nm);
    if (c->hs_secret_file && !hs)
        DIAG("[issuer %s] hs_secret_file given but no HS algorithm is allowed", nm);
    const char *urls[] = {c->jwks_url, c->discovery_url};
    for (int i = 0; i < 2; i++)
        if (urls[i] && strncasecmp(urls[i], "https://", 8) != 0)
            DIAG("[issuer %s] %s must be an https:// URL", nm, i ? "discovery_url" : "jwks_url");
    if (c->ca_file && !c->jwks_url && !c->discovery_url)
        DIAG("[issuer %s] ca_file is only used with jwks_url or discovery_url", nm);
    const char *files[] = {c->jwks_file, c->ca_file, c->hs_secret_file};
    for (int i = 0; i < 3; i++)
        if (files[i] && access(files[i], R_OK) != 0)
            DIAG("[issuer %s] cannot read '%s'", nm, files[i]);
    if (c->issuer && !*c->issuer)
        DIAG("[issuer %s] issuer must not be empty", nm);
    for (size_t i = 0; c->audiences && c->audiences[i]; i++)
        if (!*c->audiences[i])
            DIAG("[issuer %s] audiences: empty audience", nm);
    for (size_t i = 0; c->subject_audiences && c->subject_audiences[i]; i++)
        if (!*c->subject_audiences[i])
            DIAG("[issuer %s] subject_audiences: empty audience", nm);
    if (c->subject_audiences && !c->subject_audiences[0])
        DIAG("[issuer %s] subject_audiences: at least one audience is required", nm);
    if (c->audiences && !c->audiences[0])
        DIAG("[issuer %s] audiences: at least one audience is required", nm);
    check_claim_names(c->user_claim, "[issuer] user_claim", pos, diag);
    check_claim_names(c->scopes_claim, "[issuer] scopes_claim", pos, diag);
    if (c->refetch_min_interval_ms > c->refresh_interval_ms)
        DIAG("[issuer %s] refetch_min_interval is longer than refresh_interval", nm);
}

unsigned authn_conf_methods(const struct authn_config *cfg,
                            const struct authn_issuer_config *issuers, size_t nissuers,
                            bool mtls_possible, char *err, size_t errlen)
{
    unsigned have = 0;
    if (nissuers)
        have |= AUTHN_ALLOW_JWT | AUTHN_ALLOW_BASIC_JWT;
    if (cfg->pat_file || cfg->redis)
        have |= AUTHN_ALLOW_PAT | AUTHN_ALLOW_BASIC_PAT;
    if (mtls_possible && cfg->mtls_user && cfg->mtls_user[0])
        have |= AUTHN_ALLOW_MTLS;
    for (size_t i = 1; i < nissuers; i++)
        for (size_t k = 0; k < i; k++)
            if (issuers[i].issuer && issuers[k].issuer &&
                strcmp(issuers[i].issuer, issuers[k].issuer) == 0) {
                snprintf(err, errlen, "two [issuer] sections have issuer = %s", issuers[i].issuer);
                return 0;
            }
    if (!cfg->methods) {
        unsigned m = have & ~(unsigned)AUTHN_ALLOW_MTLS;
        if (!m)
            snprintf(err, errlen,
                     "no authentication method is configured: add an [issuer] section, or "
                     "pat_file/redis in [auth] (Warden never runs as an open proxy)");
        return m;
    }
    unsigned want = 0;
    for (size_t i = 0; cfg->methods[i]; i++) {
        size_t k = 0;
        while (method_names[k] && strcmp(method_names[k], cfg->methods[i]) != 0)
            k++;
        if (!method_names[k]) {
            snprintf(err, errlen, "unknown method %s", cfg->methods[i]);
            return 0;
        }
        unsigned bit = 1u << k;
        if (!(have & bit)) {
            static const char *const needs[] = {"an [issuer] section", "pat_file or redis",
                                                "pat_file or redis", "an [issuer] section",
                                                "a TLS listener that requests client certificates"};
            snprintf(err, errlen, "method %s is enabled but needs %s", cfg->methods[i], needs[k]);
            return 0;
        }
        want |= bit;
    }
    if (!want)
        snprintf(err, errlen, "no authentication method is enabled");
    return want;
}

unsigned authn_conf_check_all(const struct authn_config *cfg,
                              const struct authn_issuer_config *issuers, size_t nissuers,
                              bool mtls_possible, const struct conf_pos *pos,
                              struct conf_diag *diag)
{
    char err[256];
    unsigned m = authn_conf_methods(cfg, issuers, nissuers, mtls_possible, err, sizeof(err));
    if (!m)
        DIAG("[auth] %s", err);
    return m;
}
