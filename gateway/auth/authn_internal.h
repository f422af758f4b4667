/*
 * authn_internal: the structures shared by authn.c (worker-side checks), authn_control.c
 * (control thread: loading, refresh, publishing snapshots) and authn_redis.c (Redis client on
 * the control thread). Not for other modules.
 *
 * Field ownership: "config" fields are written by authn_new() and read-only afterwards;
 * "control" fields belong to the control thread (or to authn_new/authn_start before it
 * exists); "shared" fields are atomics or guarded by the named mutex.
 */
#ifndef WARDEN_AUTH_AUTHN_INTERNAL_H
#define WARDEN_AUTH_AUTHN_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>

#include "auth/authn.h"
#include "auth/jwt.h"
#include "auth/pat.h"
#include "auth/revoke.h"
#include "auth/token_cache.h"

struct event;

struct issuer_rt {
    /* config */
    char *name, *iss;
    char **audiences;
    size_t naud;
    char **subj_audiences; /* subject tokens' audiences; NULL = audiences */
    size_t nsubj_aud;
    uint32_t alg_mask;
    char *jwks_file, *jwks_url, *discovery_url, *ca_file;
    int64_t refresh_ms, refetch_min_ms, max_stale_ms, fetch_timeout_ms;
    char **user_claims;
    size_t nuser;
    char *groups_claim;
    char **scopes_claims;
    size_t nscopes;
    bool refetchable; /* has a JWKS file or URL */
    /* control */
    struct keyset *remote; /* last good JWKS (file or URL) */
    struct keyset *hs;     /* HMAC secret, when configured */
    struct keyset *merged; /* remote + hs, what snapshots reference */
    int64_t jwks_stamp;
    int64_t last_good_ms;
    char *jwks_uri; /* discovered */
    struct event *refresh_ev, *refetch_ev;
    struct authn *owner;
    /* shared: written under authn.wait_mu, read lock-free as hints */
    atomic_bool inflight;
    atomic_int_fast64_t last_refetch_ms;
};

struct authn_state {
    atomic_long refs;
    uint64_t gen;
    struct jwt_issuer *issuers;      /* views; keys referenced through keysets[] */
    struct jwt_issuer *subj_issuers; /* the same for subject tokens (subject_audiences) */
    struct keyset **keysets;
    size_t n;
    struct pat_table *pats;
    struct revset *revoked;
};

struct authn_waiter {
    struct event *ev;
    void (*cb)(void *);
    void *arg;
    struct authn_waiter *prev, *next;
    bool fired;     /* guarded by wait_mu */
    bool cancelled; /* worker thread only */
};

enum mtls_source { MTLS_CN = 1, MTLS_SAN_EMAIL, MTLS_SAN_URI, MTLS_SAN_DNS };

struct authn_redis;

struct authn {
    /* config */
    unsigned methods;
    unsigned obo_forms; /* enum authn_obo_flag */
    char *obo_header;
    char *obo_header_lc; /* lower case, for header look-ups */
    char *realm;
    int64_t leeway_s;
    size_t max_token;
    struct issuer_rt *issuers;
    size_t nissuers;
    char *pat_file, *revocation_file;
    int64_t reload_ms;
    char *redis_host;
    int redis_port;
    char *redis_prefix;
    char *redis_password;
    int64_t redis_resync_ms;
    enum mtls_source mtls_src[4];
    size_t nmtls_src;
    char *mtls_uri_prefix;
    char **mtls_groups;
    size_t nmtls_groups;

    /* shared: the published snapshot */
    pthread_mutex_t state_mu;
    struct authn_state *state;
    atomic_uint_fast64_t gen;
    /* shared: waiters and refetch bookkeeping */
    pthread_mutex_t wait_mu;
    struct authn_waiter *waiters;

    /* control */
    uint64_t next_gen;
    struct pat_record *file_pats;
    size_t nfile_pats;
    int64_t pat_stamp;
    struct pat_record *redis_pats;
    size_t nredis_pats;
    char **file_revs;
    size_t nfile_revs;
    int64_t rev_stamp;
    char **redis_revs;
    size_t nredis_revs, cap_redis_revs;
    struct pat_table *cur_pats;
    struct revset *cur_revs;
    struct event_base *base;
    pthread_t thread;
    bool started;
    struct event *poll_ev, *reload_ev, *stop_ev;
    struct authn_redis *redis;

    /* shared: statistics */
    atomic_uint_fast64_t st_hits, st_misses, st_verified, st_invalid, st_pending, st_refetches,
        st_reloads, st_reload_failures;
};

/* Who presents a credential: the caller (Authorization) or, on behalf of a user, the
 * subject token of the header form. Subject tokens are checked against the issuers'
 * subject_audiences and cached apart, so a token accepted as one is never taken for the other. */
enum authn_role { AUTHN_ROLE_CALLER_CRED = 0, AUTHN_ROLE_SUBJECT_CRED };

/* authn.c: the credential check behind authn_check, for either role. value: the header value
 * (a subject token may also be given bare, without "Bearer "). Principals carrying an act
 * chain are returned as they are: the callers decide. */
enum authn_result authn_check_role(struct authn *a, struct authn_cache *c, enum authn_role role,
                                   const char *value, size_t len, int64_t now_ms,
                                   const struct principal **out, struct authn_failure *f);

/* authn_control.c */
int authn_load_files(struct authn *a, bool force, bool *changed, char *err, size_t errlen);
int authn_load_issuer(struct authn *a, struct issuer_rt *rt, bool force, bool *changed, char *err,
                      size_t errlen);
int authn_rebuild_pats(struct authn *a);
int authn_rebuild_revs(struct authn *a);
int authn_rebuild_keys(struct issuer_rt *rt);
int authn_publish(struct authn *a);
void authn_state_release(struct authn_state *s);
int authn_control_start(struct authn *a, char *err, size_t errlen);
void authn_control_stop(struct authn *a);
void authn_fire_waiters(struct authn *a);

/* authn_redis.c */
int authn_redis_start(struct authn *a, char *err, size_t errlen);
void authn_redis_free(struct authn_redis *r);

#endif
