/*
 * authn: the authentication facade. Turns a request's credential (Authorization header value
 * or TLS client certificate) into a verified principal, or into a precise, client-safe failure.
 *
 * Threads:
 *  - Workers call authn_check()/authn_check_mtls() on the request path with their own
 *    struct authn_cache. These never block on disk or network and take no contended lock: they
 *    read an immutable, reference-counted state snapshot (issuer key sets, PAT table,
 *    revocation set) that the worker re-acquires only when its generation number changed
 *    (one atomic load per request otherwise).
 *  - authn_start() spawns the control thread, which owns its own event_base and all I/O:
 *    JWKS files and OIDC discovery/JWKS over HTTPS (blocking client, bounded), periodic
 *    refresh, re-reading the PAT and revocation files when they change, and Redis (PAT store,
 *    revocation set, pub/sub channel). Every change publishes a new snapshot with a higher
 *    generation; cached entries are re-validated against it (revocations and key removals take
 *    effect on the next request).
 *
 * Unknown kid: authn_check() answers AUTHN_PENDING when a refetch of that issuer's keys was
 * started (single-flight per issuer, at most one per refetch_min_interval). The caller parks
 * the request with authn_wait() and calls authn_check() again from the callback; that second
 * answer is OK or INVALID "unknown key id", never PENDING for the same reason (no second
 * fetch within the interval).
 *
 * Redis down: the last known PAT records and revocations stay in force (revoked tokens stay
 * revoked); reconnects with back-off and resynchronises the full set on reconnect.
 */
#ifndef WARDEN_AUTH_AUTHN_H
#define WARDEN_AUTH_AUTHN_H

#include <openssl/x509.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "auth/authn_conf.h"
#include "auth/principal.h"

struct event_base;
struct authn;
struct authn_cache;
struct authn_waiter;

enum authn_result {
    AUTHN_OK = 0,
    AUTHN_NO_CREDENTIAL, /* -> 401 UNAUTHENTICATED, WWW-Authenticate challenge without error */
    AUTHN_INVALID,       /* -> 401, WWW-Authenticate: Bearer error="invalid_token", ... */
    AUTHN_PENDING,       /* unknown kid, key refetch running: authn_wait() then check again */
};

struct authn_failure {
    /* Client-safe reason, e.g. "token expired at 2026-11-28T10:00:00Z", "audience not
     * accepted", "unknown issuer", "unknown key id", "token revoked". Never contains
     * credential or key material, '"' or '\\'. */
    char desc[192];
    /* Issuer label involved, "" when none (for audit/metrics, not for clients). */
    char issuer[64];
    /* On behalf of a user (auth/obo.h): true when the credential that failed is the subject
     * token of the header form, false when it is the caller's own. */
    bool subject;
};

/* Build from configuration: copies what it needs, loads files (JWKS files, HMAC secrets, PAT
 * file, revocation file) synchronously so configuration errors surface at start-up. URL key
 * sets and Redis are loaded by authn_start(). Returns NULL with a message in err. */
struct authn *authn_new(const struct authn_config *cfg, const struct authn_issuer_config *issuers,
                        size_t nissuers, bool mtls_possible, char *err, size_t errlen);

/* First fetch of URL key sets (blocking, bounded by fetch_timeout; a failure is logged and
 * retried later, not fatal), then spawn the control thread. 0 or -1. */
int authn_start(struct authn *a, char *err, size_t errlen);

/* Stop the control thread (if started), fire pending waiters, free everything. Workers must
 * have released their caches first. NULL is a no-op. */
void authn_free(struct authn *a);

/* Ask the control thread to re-read every file and refetch every URL now (SIGHUP, admin API).
 * Thread-safe; no-op before authn_start(). */
void authn_reload(struct authn *a);

/* Per-worker verified-token cache (capacity entries; 0 = cache disabled). One cache serves one
 * authn; use it only on its worker thread. */
struct authn_cache *authn_cache_new(struct authn *a, size_t capacity);
void authn_cache_free(struct authn_cache *c);

/*
 * Authenticate one request from its Authorization header value (authz_value may be NULL when
 * the header is absent; a request with several Authorization headers must be refused by the
 * caller). now_ms: wall clock, epoch milliseconds. On AUTHN_OK *out receives a principal
 * reference the caller owns until principal_release() (at the end of the request). On other
 * results *out is NULL and fail->desc says why. A token that acts for someone else (an RFC
 * 8693 "act" claim) is refused here: on-behalf-of requests go through authn_check_obo
 * (auth/obo.h), which keeps the actor for the decision.
 */
enum authn_result authn_check(struct authn *a, struct authn_cache *c, const char *authz_value,
                              size_t len, int64_t now_ms, const struct principal **out,
                              struct authn_failure *fail);

/*
 * Authenticate by a TLS client certificate the TLS layer has already verified against the
 * listener's client CA. The user comes from the first configured source (mtls_user: cn,
 * san-email, san-uri, san-dns) that the certificate has; groups from mtls_groups. The
 * certificate's SHA-256 (DER) is its token id and may be revoked like a token.
 */
enum authn_result authn_check_mtls(struct authn *a, struct authn_cache *c, X509 *cert,
                                   int64_t now_ms, const struct principal **out,
                                   struct authn_failure *fail);

/*
 * After AUTHN_PENDING: run cb(arg) on worker_base's thread once the pending key refetch has
 * finished (success, failure or timeout). worker_base must have been created after
 * evthread_use_pthreads(). If handle is not NULL it receives a handle for authn_wait_cancel()
 * (valid until cb runs or cancel is called). Returns 0, or -1 (out of memory; cb not called).
 */
int authn_wait(struct authn *a, struct event_base *worker_base, void (*cb)(void *), void *arg,
               struct authn_waiter **handle);

/* Cancel a wait from the worker thread that registered it; cb will not be called. */
void authn_wait_cancel(struct authn *a, struct authn_waiter *w);

/* Which methods are enabled (enum authn_method_flag bits). */
unsigned authn_methods(const struct authn *a);

/* "WWW-Authenticate" header value for a result (NO_CREDENTIAL or INVALID); returns the length
 * written (truncated safely), e.g. Bearer realm="warden", error="invalid_token",
 * error_description="token revoked". */
size_t authn_challenge(const struct authn *a, enum authn_result r, const struct authn_failure *f,
                       char *buf, size_t buflen);

/* MLflow-shaped JSON body: {"error_code":"UNAUTHENTICATED","message":"..."}. */
size_t authn_error_body(enum authn_result r, const struct authn_failure *f, char *buf,
                        size_t buflen);

/* Redis layout (prefix = [auth] redis_prefix, default "warden"):
 *   <prefix>:pats      hash   field = hex SHA-256 of a PAT, value = its record (pat.h format)
 *   <prefix>:revoked   set    revocation entries (revoke.h format)
 *   <prefix>:events    pub/sub channel: "revoke <entry>" or "pat" (PAT records changed) */
#define AUTHN_REDIS_PATS    ":pats"
#define AUTHN_REDIS_REVOKED ":revoked"
#define AUTHN_REDIS_EVENTS  ":events"

/* Statistics for /metrics: totals since start (relaxed atomics). */
struct authn_stats {
    uint64_t cache_hits, cache_misses, verified, invalid, pending, refetches, reloads,
        reload_failures;
};
void authn_get_stats(const struct authn *a, struct authn_stats *out);

/* Generation of the current state snapshot (tests, /metrics). */
uint64_t authn_generation(const struct authn *a);

#endif
