/*
 * ctl_auth: see ctl_auth.h. Files are rewritten atomically (temporary file + rename) so the
 * daemon's poller never sees half a file; Redis is updated synchronously and a pub/sub event
 * tells every running instance to apply the change at once.
 */
#include "tools/ctl_auth.h"

#include "auth/assertion.h"
#include "auth/authn.h"
#include "auth/digest.h"
#include "auth/files.h"
#include "auth/jws_sign.h"
#include "auth/pat.h"
#include "auth/revoke.h"
#include "config.h"
#include "util/conf.h"

#include <errno.h>
#include <hiredis/hiredis.h>
#include <openssl/ec.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char usage_text[] =
    "  pat create --user U [--group G]... [--groups G1,G2] [--scope S]... [--ttl 90d|never]\n"
    "             --file PAT_FILE [--redis HOST:PORT] [--redis-prefix P]\n"
    "      Create a personal access token; prints it once. Only its SHA-256 is stored.\n"
    "  pat list --file PAT_FILE [--redis HOST:PORT] [--redis-prefix P]\n"
    "  pat revoke (ID | --token-hash HEX | --token-stdin) --file PAT_FILE\n"
    "             [--redis HOST:PORT] [--redis-prefix P]\n"
    "  revoke (--token-hash HEX | --jti JTI | --token-stdin) [--file REVOCATION_FILE]\n"
    "         [--redis HOST:PORT] [--redis-prefix P]\n"
    "      Revoke any token (JWT or PAT) by hash or JWT ID; announced over Redis pub/sub.\n"
    "  dev-key --out DIR [--alg ES256|RS256|EdDSA]\n"
    "      Create a development signing key (DIR/signing-key.pem) and its JWKS (DIR/jwks.json).\n"
    "  mint --key KEY.pem --issuer ISS --audience AUD --user U [--groups G1,G2] [--group G]...\n"
    "       [--scope S]... [--ttl 1h] [--kid KID] [--user-claim sub] [--groups-claim groups]\n"
    "       [--jti J] [--client-id CID] [--act ACTOR]...\n"
    "      Print a signed JWT for development and tests. --act names the actors of an RFC 8693\n"
    "      exchanged token, current first (sp:NAME for a client: act.client_id); --client-id\n"
    "      adds client_id (equal to --user: a client-credentials token, a service principal).\n"
    "  assertion jwks --config FILE\n"
    "  assertion mint --config FILE --user U [--group G]... [--scope S]... [--act ACTOR]...\n"
    "      The upstream identity assertion (X-Warden-Assertion) the daemon would send, signed\n"
    "      with [upstream] assertion_key_file, and the key set the admin port publishes.\n";

const char *ctl_auth_usage(void)
{
    return usage_text;
}

bool ctl_auth_handles(const char *s)
{
    return s && (strcmp(s, "pat") == 0 || strcmp(s, "revoke") == 0 || strcmp(s, "dev-key") == 0 ||
                 strcmp(s, "mint") == 0 || strcmp(s, "assertion") == 0);
}

/* ---- option parsing ---- */

#define MAX_MULTI 64

struct opts {
    const char *user, *file, *redis, *prefix, *ttl, *token_hash, *jti, *out, *alg, *key, *issuer,
        *audience, *kid, *user_claim, *groups_claim, *positional, *client_id, *config;
    const char *groups[MAX_MULTI], *scopes[MAX_MULTI], *acts[MAX_MULTI];
    size_t ngroups, nscopes, nacts;
    bool token_stdin;
    char *split_buf[MAX_MULTI];
    size_t nsplit;
};

static int add_multi(const char **arr, size_t *n, const char *v)
{
    if (*n == MAX_MULTI) {
        fprintf(stderr, "wardenctl: too many values\n");
        return -1;
    }
    arr[(*n)++] = v;
    return 0;
}

static int add_csv(struct opts *o, const char **arr, size_t *n, const char *v)
{
    if (o->nsplit == MAX_MULTI)
        return -1;
    char *copy = strdup(v);
    if (!copy)
        return -1;
    o->split_buf[o->nsplit++] = copy;
    char *save = NULL;
    for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        while (*t == ' ')
            t++;
        if (*t && add_multi(arr, n, t) != 0)
            return -1;
    }
    return 0;
}

static void opts_free(struct opts *o)
{
    for (size_t i = 0; i < o->nsplit; i++)
        free(o->split_buf[i]);
}

static int parse_opts(int argc, char **argv, int start, struct opts *o)
{
    static const struct {
        const char *name;
        size_t off;
    } single[] = {
        {"--user", offsetof(struct opts, user)},
        {"--file", offsetof(struct opts, file)},
        {"--redis", offsetof(struct opts, redis)},
        {"--redis-prefix", offsetof(struct opts, prefix)},
        {"--ttl", offsetof(struct opts, ttl)},
        {"--token-hash", offsetof(struct opts, token_hash)},
        {"--jti", offsetof(struct opts, jti)},
        {"--out", offsetof(struct opts, out)},
        {"--alg", offsetof(struct opts, alg)},
        {"--key", offsetof(struct opts, key)},
        {"--issuer", offsetof(struct opts, issuer)},
        {"--audience", offsetof(struct opts, audience)},
        {"--kid", offsetof(struct opts, kid)},
        {"--user-claim", offsetof(struct opts, user_claim)},
        {"--groups-claim", offsetof(struct opts, groups_claim)},
        {"--client-id", offsetof(struct opts, client_id)},
        {"--config", offsetof(struct opts, config)},
    };
    for (int i = start; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--token-stdin") == 0) {
            o->token_stdin = true;
            continue;
        }
        if (a[0] != '-' || a[1] != '-') {
            if (o->positional) {
                fprintf(stderr, "wardenctl: unexpected argument '%s'\n", a);
                return -1;
            }
            o->positional = a;
            continue;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "wardenctl: %s needs a value\n", a);
            return -1;
        }
        const char *v = argv[++i];
        bool done = false;
        for (size_t k = 0; k < sizeof(single) / sizeof(single[0]) && !done; k++)
            if (strcmp(a, single[k].name) == 0) {
                *(const char **)((char *)o + single[k].off) = v;
                done = true;
            }
        if (done)
            continue;
        int rc;
        if (strcmp(a, "--group") == 0)
            rc = add_multi(o->groups, &o->ngroups, v);
        else if (strcmp(a, "--groups") == 0)
            rc = add_csv(o, o->groups, &o->ngroups, v);
        else if (strcmp(a, "--scope") == 0)
            rc = add_multi(o->scopes, &o->nscopes, v);
        else if (strcmp(a, "--scopes") == 0)
            rc = add_csv(o, o->scopes, &o->nscopes, v);
        else if (strcmp(a, "--act") == 0)
            rc = add_multi(o->acts, &o->nacts, v);
        else {
            fprintf(stderr, "wardenctl: unknown option %s\n", a);
            return -1;
        }
        if (rc != 0)
            return -1;
    }
    return 0;
}

/* ---- Redis (synchronous, wardenctl only) ---- */

static redisContext *redis_open(const char *addr)
{
    char host[256];
    int port;
    if (conf_split_address(addr, host, sizeof(host), &port) != 0) {
        fprintf(stderr, "wardenctl: bad redis address %s\n", addr);
        return NULL;
    }
    struct timeval tv = {.tv_sec = 5};
    redisContext *c = redisConnectWithTimeout(host, port, tv);
    if (!c || c->err) {
        fprintf(stderr, "wardenctl: cannot connect to redis %s: %s\n", addr,
                c ? c->errstr : "out of memory");
        if (c)
            redisFree(c);
        return NULL;
    }
    const char *pwfile = getenv("WARDEN_REDIS_PASSWORD_FILE");
    if (pwfile) {
        char *pw = NULL;
        size_t pl = 0;
        char err[256];
        if (auth_file_read(pwfile, 1024, &pw, &pl, err, sizeof(err)) != 0) {
            fprintf(stderr, "wardenctl: %s\n", err);
            redisFree(c);
            return NULL;
        }
        while (pl && (pw[pl - 1] == '\n' || pw[pl - 1] == '\r'))
            pw[--pl] = '\0';
        redisReply *r = redisCommand(c, "AUTH %s", pw);
        bool ok = r && r->type != REDIS_REPLY_ERROR;
        freeReplyObject(r);
        free(pw);
        if (!ok) {
            fprintf(stderr, "wardenctl: redis AUTH failed\n");
            redisFree(c);
            return NULL;
        }
    }
    return c;
}

static int redis_ok(redisContext *c, redisReply *r, const char *what)
{
    int rc = (r && r->type != REDIS_REPLY_ERROR) ? 0 : -1;
    if (rc != 0)
        fprintf(stderr, "wardenctl: redis %s failed: %s\n", what,
                r ? r->str : (c->errstr[0] ? c->errstr : "no reply"));
    freeReplyObject(r);
    return rc;
}

static const char *prefix_of(const struct opts *o)
{
    return o->prefix ? o->prefix : "warden";
}

static int redis_store_pat(const struct opts *o, const struct pat_record *rec, bool revoked)
{
    redisContext *c = redis_open(o->redis);
    if (!c)
        return -1;
    char *line = pat_record_format(rec);
    char hex[2 * SHA256_LEN + 1];
    auth_hex(rec->hash, SHA256_LEN, hex);
    const char *p = prefix_of(o);
    int rc = line ? 0 : -1;
    if (rc == 0)
        rc =
            redis_ok(c, redisCommand(c, "HSET %s" AUTHN_REDIS_PATS " %s %s", p, hex, line), "HSET");
    if (rc == 0 && revoked) {
        rc = redis_ok(c, redisCommand(c, "SADD %s" AUTHN_REDIS_REVOKED " sha256:%s", p, hex),
                      "SADD");
        if (rc == 0)
            rc = redis_ok(
                c,
                redisCommand(c, "PUBLISH %s" AUTHN_REDIS_EVENTS " %s%s", p, "revoke sha256:", hex),
                "PUBLISH");
    }
    if (rc == 0)
        rc = redis_ok(c, redisCommand(c, "PUBLISH %s" AUTHN_REDIS_EVENTS " pat", p), "PUBLISH");
    free(line);
    redisFree(c);
    return rc;
}

static int redis_revoke_entry(const struct opts *o, const char *entry)
{
    redisContext *c = redis_open(o->redis);
    if (!c)
        return -1;
    const char *p = prefix_of(o);
    int rc = redis_ok(c, redisCommand(c, "SADD %s" AUTHN_REDIS_REVOKED " %s", p, entry), "SADD");
    if (rc == 0)
        rc = redis_ok(c,
                      redisCommand(c, "PUBLISH %s" AUTHN_REDIS_EVENTS " %s%s", p, "revoke ", entry),
                      "PUBLISH");
    redisFree(c);
    return rc;
}

/* ---- helpers ---- */

static void fmt_time(int64_t s, char *out, size_t n)
{
    if (!s)
        snprintf(out, n, "never");
    else
        jose_format_time(s, out, n);
}

static int parse_ttl(const char *ttl, int64_t dflt_s, int64_t *out_s)
{
    if (!ttl) {
        *out_s = dflt_s;
        return 0;
    }
    if (strcmp(ttl, "never") == 0) {
        *out_s = 0;
        return 0;
    }
    int64_t ms;
    if (conf_parse_duration_ms(ttl, &ms) != 0 || ms < 1000) {
        fprintf(stderr, "wardenctl: bad --ttl '%s' (e.g. 90d, 12h, 30m, never)\n", ttl);
        return -1;
    }
    *out_s = ms / 1000;
    return 0;
}

static int read_token_stdin(char *buf, size_t cap, size_t *len)
{
    if (!fgets(buf, (int)cap, stdin)) {
        fprintf(stderr, "wardenctl: no token on standard input\n");
        return -1;
    }
    size_t n = strlen(buf);
    while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
        buf[--n] = '\0';
    *len = n;
    return n ? 0 : -1;
}

static int load_pats(const char *file, struct pat_record **recs, size_t *n)
{
    char err[512];
    if (pat_file_read(file, recs, n, err, sizeof(err)) != 0) {
        fprintf(stderr, "wardenctl: %s\n", err);
        return -1;
    }
    return 0;
}

static int write_pats(const char *file, const struct pat_record *recs, size_t n)
{
    size_t cap = 256, len = 0;
    char *buf = malloc(cap);
    int rc = -1;
    if (!buf)
        return -1;
    len = (size_t)snprintf(buf, cap,
                           "# Warden personal access tokens (one JSON record per line; only "
                           "SHA-256 hashes). Managed by wardenctl pat.\n");
    for (size_t i = 0; i < n; i++) {
        char *line = pat_record_format(&recs[i]);
        if (!line)
            goto out;
        size_t ll = strlen(line);
        if (len + ll + 2 > cap) {
            cap = (len + ll + 2) * 2;
            char *nb = realloc(buf, cap);
            if (!nb) {
                free(line);
                goto out;
            }
            buf = nb;
        }
        memcpy(buf + len, line, ll);
        len += ll;
        buf[len++] = '\n';
        free(line);
    }
    char err[512];
    rc = auth_file_replace(file, buf, len, err, sizeof(err));
    if (rc != 0)
        fprintf(stderr, "wardenctl: %s\n", err);
out:
    free(buf);
    return rc;
}

/* ---- pat ---- */

static int pat_create(struct opts *o)
{
    if (!o->user || !o->file) {
        fprintf(stderr, "wardenctl pat create: --user and --file are required\n");
        return 2;
    }
    if (!principal_user_ok(o->user, strlen(o->user))) {
        fprintf(stderr, "wardenctl: --user must be 1..256 characters without control characters\n");
        return 2;
    }
    for (size_t i = 0; i < o->ngroups + o->nscopes; i++) {
        const char *v = i < o->ngroups ? o->groups[i] : o->scopes[i - o->ngroups];
        if (!principal_name_ok(v, strlen(v))) {
            fprintf(stderr, "wardenctl: '%s' is not a valid group/scope name\n", v);
            return 2;
        }
    }
    int64_t ttl_s;
    if (parse_ttl(o->ttl, 90LL * 86400, &ttl_s) != 0)
        return 2;
    struct pat_record *recs = NULL;
    size_t n = 0;
    if (load_pats(o->file, &recs, &n) != 0)
        return 1;
    char token[PAT_TOKEN_LEN + 1], err[256];
    struct pat_record rec = {0};
    int rc = 1;
    if (pat_generate(token, rec.id, err, sizeof(err)) != 0) {
        fprintf(stderr, "wardenctl: %s\n", err);
        goto out;
    }
    auth_sha256(token, PAT_TOKEN_LEN, rec.hash);
    rec.user = (char *)o->user;
    rec.groups = (char **)o->groups;
    rec.ngroups = o->ngroups;
    rec.scopes = (char **)o->scopes;
    rec.nscopes = o->nscopes;
    rec.created_s = (int64_t)time(NULL);
    rec.expires_s = ttl_s ? rec.created_s + ttl_s : 0;
    struct pat_record *grown = realloc(recs, (n + 1) * sizeof(*recs));
    if (!grown)
        goto out;
    recs = grown;
    if (pat_record_copy(&recs[n], &rec) != 0)
        goto out;
    n++;
    if (write_pats(o->file, recs, n) != 0)
        goto out;
    if (o->redis && redis_store_pat(o, &rec, false) != 0) {
        fprintf(stderr, "wardenctl: token stored in %s but not in redis\n", o->file);
        goto out;
    }
    char exp[40];
    fmt_time(rec.expires_s, exp, sizeof(exp));
    fprintf(stderr, "created %s for %s, expires %s (the token is shown only once)\n", rec.id,
            o->user, exp);
    printf("%s\n", token);
    rc = 0;
out:
    OPENSSL_cleanse(token, sizeof(token));
    pat_records_free(recs, n);
    return rc;
}

static int pat_list(struct opts *o)
{
    if (!o->file && !o->redis) {
        fprintf(stderr, "wardenctl pat list: --file or --redis is required\n");
        return 2;
    }
    struct pat_record *recs = NULL;
    size_t n = 0;
    if (o->file && load_pats(o->file, &recs, &n) != 0)
        return 1;
    if (o->redis) {
        redisContext *c = redis_open(o->redis);
        if (!c) {
            pat_records_free(recs, n);
            return 1;
        }
        redisReply *r = redisCommand(c, "HGETALL %s" AUTHN_REDIS_PATS, prefix_of(o));
        for (size_t i = 0; r && r->type == REDIS_REPLY_ARRAY && i + 1 < r->elements; i += 2) {
            struct pat_record rec;
            char err[200];
            if (pat_record_parse(r->element[i + 1]->str, r->element[i + 1]->len, &rec, err,
                                 sizeof(err)) != 0)
                continue;
            bool dup = false;
            for (size_t k = 0; k < n && !dup; k++)
                dup = memcmp(recs[k].hash, rec.hash, SHA256_LEN) == 0;
            struct pat_record *g = dup ? NULL : realloc(recs, (n + 1) * sizeof(*recs));
            if (g) {
                recs = g;
                recs[n++] = rec;
            } else {
                pat_record_clear(&rec);
            }
        }
        freeReplyObject(r);
        redisFree(c);
    }
    int64_t now = (int64_t)time(NULL);
    printf("%-20s  %-24s  %-8s  %-20s  %-20s  %s\n", "ID", "USER", "STATUS", "CREATED", "EXPIRES",
           "GROUPS / SCOPES");
    for (size_t i = 0; i < n; i++) {
        const struct pat_record *r = &recs[i];
        char cr[40], ex[40];
        fmt_time(r->created_s, cr, sizeof(cr));
        fmt_time(r->expires_s, ex, sizeof(ex));
        const char *st = r->revoked_s                            ? "revoked"
                         : (r->expires_s && now >= r->expires_s) ? "expired"
                                                                 : "active";
        printf("%-20s  %-24s  %-8s  %-20s  %-20s  ", r->id, r->user, st, cr, ex);
        for (size_t k = 0; k < r->ngroups; k++)
            printf("%s%s", k ? "," : "", r->groups[k]);
        printf(" / ");
        for (size_t k = 0; k < r->nscopes; k++)
            printf("%s%s", k ? "," : "", r->scopes[k]);
        printf("\n");
    }
    pat_records_free(recs, n);
    return 0;
}

static int pat_revoke(struct opts *o)
{
    unsigned char hash[SHA256_LEN];
    bool by_hash = false;
    if (o->token_hash) {
        const char *h = o->token_hash;
        if (strncmp(h, "sha256:", 7) == 0)
            h += 7;
        if (auth_unhex(h, strlen(h), hash, SHA256_LEN) != 0) {
            fprintf(stderr, "wardenctl: --token-hash needs 64 hex digits\n");
            return 2;
        }
        by_hash = true;
    } else if (o->token_stdin) {
        char tok[512];
        size_t len;
        if (read_token_stdin(tok, sizeof(tok), &len) != 0)
            return 2;
        auth_sha256(tok, len, hash);
        OPENSSL_cleanse(tok, sizeof(tok));
        by_hash = true;
    } else if (!o->positional) {
        fprintf(stderr, "wardenctl pat revoke: give an ID, --token-hash or --token-stdin\n");
        return 2;
    }
    if (!o->file) {
        fprintf(stderr, "wardenctl pat revoke: --file is required\n");
        return 2;
    }
    struct pat_record *recs = NULL;
    size_t n = 0;
    if (load_pats(o->file, &recs, &n) != 0)
        return 1;
    size_t k = 0;
    while (k < n && !(by_hash ? memcmp(recs[k].hash, hash, SHA256_LEN) == 0
                              : strcmp(recs[k].id, o->positional) == 0))
        k++;
    int rc = 1;
    if (k == n) {
        fprintf(stderr, "wardenctl: no such token in %s\n", o->file);
        if (by_hash && o->redis) {
            char entry[8 + 2 * SHA256_LEN];
            memcpy(entry, "sha256:", 7);
            auth_hex(hash, SHA256_LEN, entry + 7);
            rc = redis_revoke_entry(o, entry) == 0 ? 0 : 1;
            if (rc == 0)
                fprintf(stderr, "revoked %s in redis\n", entry);
        }
        pat_records_free(recs, n);
        return rc;
    }
    if (!recs[k].revoked_s)
        recs[k].revoked_s = (int64_t)time(NULL);
    if (write_pats(o->file, recs, n) != 0)
        goto out;
    if (o->redis && redis_store_pat(o, &recs[k], true) != 0)
        goto out;
    fprintf(stderr, "revoked %s (user %s)\n", recs[k].id, recs[k].user);
    rc = 0;
out:
    pat_records_free(recs, n);
    return rc;
}

/* ---- revoke ---- */

static int revoke_cmd(struct opts *o)
{
    char entry[REVOKE_ENTRY_MAX], raw[600], err[200];
    if (o->token_hash) {
        snprintf(raw, sizeof(raw), "%s%s", strncmp(o->token_hash, "sha256:", 7) ? "sha256:" : "",
                 o->token_hash);
    } else if (o->jti) {
        snprintf(raw, sizeof(raw), "jti:%s", o->jti);
    } else if (o->token_stdin) {
        char tok[70000];
        size_t len;
        unsigned char h[SHA256_LEN];
        if (read_token_stdin(tok, sizeof(tok), &len) != 0)
            return 2;
        auth_sha256(tok, len, h);
        OPENSSL_cleanse(tok, len);
        memcpy(raw, "sha256:", 7);
        auth_hex(h, SHA256_LEN, raw + 7);
    } else {
        fprintf(stderr, "wardenctl revoke: give --token-hash, --jti or --token-stdin\n");
        return 2;
    }
    if (revoke_entry_normalise(raw, strlen(raw), entry, err, sizeof(err)) != 0) {
        fprintf(stderr, "wardenctl: %s\n", err);
        return 2;
    }
    if (!o->file && !o->redis) {
        fprintf(stderr, "wardenctl revoke: --file or --redis is required\n");
        return 2;
    }
    if (o->file && auth_file_append_line(o->file, entry, err, sizeof(err)) != 0) {
        fprintf(stderr, "wardenctl: %s\n", err);
        return 1;
    }
    if (o->redis && redis_revoke_entry(o, entry) != 0)
        return 1;
    printf("%s\n", entry);
    return 0;
}

/* ---- dev-key ---- */

static EVP_PKEY *generate_key(const char *alg)
{
    if (!alg || strcmp(alg, "ES256") == 0)
        return EVP_EC_gen("P-256");
    if (strcmp(alg, "RS256") == 0)
        return EVP_RSA_gen(2048);
    if (strcmp(alg, "EdDSA") == 0)
        return EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    return NULL;
}

static int dev_key(struct opts *o)
{
    if (!o->out) {
        fprintf(stderr, "wardenctl dev-key: --out DIR is required\n");
        return 2;
    }
    if (mkdir(o->out, 0700) != 0 && errno != EEXIST) {
        fprintf(stderr, "wardenctl: %s: %s\n", o->out, strerror(errno));
        return 1;
    }
    EVP_PKEY *key = generate_key(o->alg);
    if (!key) {
        fprintf(stderr, "wardenctl: cannot generate a %s key (ES256, RS256 or EdDSA)\n",
                o->alg ? o->alg : "ES256");
        return 2;
    }
    char kid[17], path[4096], err[512];
    int rc = 1;
    char *pem = NULL, *jwks = NULL;
    json_t *doc = NULL;
    BIO *bio = BIO_new(BIO_s_mem());
    if (jwk_default_kid(key, kid) != 0 || !bio ||
        !PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL))
        goto out;
    char *data;
    long dl = BIO_get_mem_data(bio, &data);
    snprintf(path, sizeof(path), "%s/signing-key.pem", o->out);
    if (auth_file_replace(path, data, (size_t)dl, err, sizeof(err)) != 0) {
        fprintf(stderr, "wardenctl: %s\n", err);
        goto out;
    }
    json_t *jwk = jwk_public_json(key, kid, jwk_default_alg(key));
    doc = jwk ? json_pack("{s:[o]}", "keys", jwk) : NULL;
    jwks = doc ? json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
    if (!jwks)
        goto out;
    snprintf(path, sizeof(path), "%s/jwks.json", o->out);
    if (auth_file_replace(path, jwks, strlen(jwks), err, sizeof(err)) != 0) {
        fprintf(stderr, "wardenctl: %s\n", err);
        goto out;
    }
    chmod(path, 0644);
    printf("key id:   %s\nprivate:  %s/signing-key.pem\njwks:     %s/jwks.json\n", kid, o->out,
           o->out);
    rc = 0;
out:
    if (rc != 0)
        fprintf(stderr, "wardenctl: dev-key failed\n");
    free(pem);
    free(jwks);
    json_decref(doc);
    BIO_free(bio);
    EVP_PKEY_free(key);
    return rc;
}

/* ---- mint ---- */

static int mint(struct opts *o)
{
    if (!o->key || !o->issuer || !o->audience || !o->user) {
        fprintf(stderr, "wardenctl mint: --key, --issuer, --audience and --user are required\n");
        return 2;
    }
    int64_t ttl_s;
    if (parse_ttl(o->ttl, 3600, &ttl_s) != 0 || ttl_s == 0) {
        fprintf(stderr, "wardenctl mint: tokens always expire; give --ttl like 1h\n");
        return 2;
    }
    FILE *f = fopen(o->key, "r");
    if (!f) {
        fprintf(stderr, "wardenctl: %s: %s\n", o->key, strerror(errno));
        return 1;
    }
    EVP_PKEY *key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    if (!key) {
        fprintf(stderr, "wardenctl: %s: not a PEM private key\n", o->key);
        return 1;
    }
    enum jose_alg alg = o->alg ? jose_alg_from_name(o->alg) : jwk_default_alg(key);
    char kid[17], err[256];
    int rc = 1;
    json_t *hdr = NULL, *pl = NULL;
    char *tok = NULL;
    if (alg == JOSE_ALG_INVALID || jose_alg_family(alg) == JOSE_FAMILY_HMAC) {
        fprintf(stderr, "wardenctl mint: unsupported algorithm for this key\n");
        goto out;
    }
    if (jwk_default_kid(key, kid) != 0)
        goto out;
    int64_t now = (int64_t)time(NULL);
    hdr = json_pack("{s:s, s:s, s:s}", "alg", jose_alg_name(alg), "typ", "JWT", "kid",
                    o->kid ? o->kid : kid);
    pl = json_pack("{s:s, s:s, s:I, s:I, s:I}", "iss", o->issuer, "aud", o->audience, "iat",
                   (json_int_t)now, "nbf", (json_int_t)now, "exp", (json_int_t)(now + ttl_s));
    if (!hdr || !pl)
        goto out;
    json_object_set_new(pl, o->user_claim ? o->user_claim : "sub", json_string(o->user));
    if (o->ngroups) {
        json_t *g = json_array();
        for (size_t i = 0; i < o->ngroups; i++)
            json_array_append_new(g, json_string(o->groups[i]));
        json_object_set_new(pl, o->groups_claim ? o->groups_claim : "groups", g);
    }
    if (o->nscopes) {
        size_t tot = 1;
        for (size_t i = 0; i < o->nscopes; i++)
            tot += strlen(o->scopes[i]) + 1;
        char *s = calloc(1, tot);
        for (size_t i = 0; s && i < o->nscopes; i++) {
            if (i)
                strcat(s, " ");
            strcat(s, o->scopes[i]);
        }
        json_object_set_new(pl, "scope", json_string(s ? s : ""));
        free(s);
    }
    if (o->jti)
        json_object_set_new(pl, "jti", json_string(o->jti));
    if (o->client_id)
        json_object_set_new(pl, "client_id", json_string(o->client_id));
    json_t *act = NULL;
    for (size_t i = o->nacts; i > 0; i--) {
        const char *a = o->acts[i - 1];
        json_t *x = strncmp(a, "sp:", 3) == 0 ? json_pack("{s:s}", "client_id", a + 3)
                                              : json_pack("{s:s}", "sub", a);
        if (!x) {
            json_decref(act);
            goto out;
        }
        if (act)
            json_object_set_new(x, "act", act);
        act = x;
    }
    if (act)
        json_object_set_new(pl, "act", act);
    tok = jws_sign(alg, key, NULL, 0, hdr, pl, err, sizeof(err));
    if (!tok) {
        fprintf(stderr, "wardenctl mint: %s\n", err);
        goto out;
    }
    printf("%s\n", tok);
    rc = 0;
out:
    free(tok);
    json_decref(hdr);
    json_decref(pl);
    EVP_PKEY_free(key);
    return rc;
}

/* ---- assertion ---- */

static struct assertion_signer *signer_from_config(const char *path)
{
    struct conf_diag d = {0};
    struct warden_config *cfg = config_load(path, &d);
    struct assertion_signer *s = NULL;
    char err[512];
    for (size_t i = 0; i < d.n; i++)
        fprintf(stderr, "%s\n", d.msgs[i]);
    conf_diag_clear(&d);
    if (!cfg)
        return NULL;
    if (cfg->upstream.identity != UPSTREAM_IDENTITY_ASSERT || !cfg->upstream.assertion_key_file) {
        fprintf(stderr,
                "wardenctl assertion: %s has no [upstream] assertion_key_file (a key generated "
                "at start cannot be used outside the daemon)\n",
                path);
    } else {
        struct assertion_params p = {.key_file = cfg->upstream.assertion_key_file,
                                     .issuer = cfg->upstream.assertion_issuer,
                                     .audience = cfg->upstream.assertion_audience,
                                     .lifetime_ms = cfg->upstream.assertion_lifetime_ms};
        if (!(s = assertion_signer_new(&p, err, sizeof(err))))
            fprintf(stderr, "wardenctl assertion: %s\n", err);
    }
    config_free(cfg);
    return s;
}

static int assertion_cmd(const char *sub, struct opts *o)
{
    if (!sub || !o->config || (strcmp(sub, "jwks") != 0 && strcmp(sub, "mint") != 0) ||
        (strcmp(sub, "mint") == 0 && !o->user)) {
        fputs(usage_text, stderr);
        return 2;
    }
    if (o->nacts > AUTHN_MAX_ACTORS) {
        fprintf(stderr, "wardenctl assertion: at most %d actors\n", AUTHN_MAX_ACTORS);
        return 2;
    }
    struct assertion_signer *s = signer_from_config(o->config);
    if (!s)
        return 1;
    int rc = 1;
    if (strcmp(sub, "jwks") == 0) {
        printf("%s\n", assertion_signer_jwks(s, NULL));
        rc = 0;
        goto out;
    }
    struct principal_spec spec = {.method = AUTHN_METHOD_JWT,
                                  .user = o->user,
                                  .groups = o->groups,
                                  .ngroups = o->ngroups,
                                  .scopes = o->scopes,
                                  .nscopes = o->nscopes,
                                  .issuer = "wardenctl",
                                  .jti = ""};
    struct principal *p = principal_new(&spec);
    if (!p)
        goto out;
    struct authn_identity id = {
        .subject = p, .form = o->nacts ? AUTHN_OBO_EXCHANGE : AUTHN_OBO_NONE, .nactors = o->nacts};
    for (size_t i = 0; i < o->nacts; i++)
        id.actors[i] = (struct authn_actor){o->acts[i], "", NULL};
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    char err[256];
    char *tok = assertion_mint(s, &id, (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000, NULL, err,
                               sizeof(err));
    principal_release(p);
    if (!tok) {
        fprintf(stderr, "wardenctl assertion: %s\n", err);
        goto out;
    }
    printf("%s\n", tok);
    free(tok);
    rc = 0;
out:
    assertion_signer_free(s);
    return rc;
}

int ctl_auth_main(int argc, char **argv)
{
    if (argc < 1 || !ctl_auth_handles(argv[0])) {
        fputs(usage_text, stderr);
        return 2;
    }
    struct opts o = {0};
    int rc = 2;
    bool is_pat = strcmp(argv[0], "pat") == 0, is_assert = strcmp(argv[0], "assertion") == 0;
    const char *sub = (is_pat || is_assert) && argc > 1 ? argv[1] : NULL;
    if ((is_pat || is_assert) && !sub) {
        fputs(usage_text, stderr);
        return 2;
    }
    if (parse_opts(argc, argv, is_pat || is_assert ? 2 : 1, &o) != 0)
        goto out;
    if (is_assert) {
        rc = assertion_cmd(sub, &o);
    } else if (is_pat) {
        if (strcmp(sub, "create") == 0)
            rc = pat_create(&o);
        else if (strcmp(sub, "list") == 0)
            rc = pat_list(&o);
        else if (strcmp(sub, "revoke") == 0)
            rc = pat_revoke(&o);
        else
            fputs(usage_text, stderr);
    } else if (strcmp(argv[0], "revoke") == 0) {
        rc = revoke_cmd(&o);
    } else if (strcmp(argv[0], "dev-key") == 0) {
        rc = dev_key(&o);
    } else {
        rc = mint(&o);
    }
out:
    opts_free(&o);
    return rc;
}
