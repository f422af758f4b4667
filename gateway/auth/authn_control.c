/*
 * authn_control: the authentication control thread and the loaders it shares with authn_new().
 * Owns every read of key, PAT and revocation sources, and is the only writer of snapshots:
 * each change rebuilds the affected component (per-issuer key set, PAT table, revocation set)
 * and publishes a new struct authn_state under state_mu with a higher generation. Runs on its
 * own event_base: a poll timer (reload_interval) re-reads files whose stamp changed, one
 * refresh timer per URL issuer, one refetch event per issuer activated by workers on an unknown
 * kid, a reload event (authn_reload) and a stop event.
 */
#include "auth/authn_internal.h"

#include "auth/files.h"
#include "auth/https_fetch.h"
#include "util/log.h"

#include <event2/event.h>
#include <event2/thread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define JWKS_MAX_BYTES (1u << 20)

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- snapshots ---- */

void authn_state_release(struct authn_state *s)
{
    if (!s || atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) != 1)
        return;
    for (size_t i = 0; i < s->n; i++)
        keyset_release(s->keysets[i]);
    free(s->keysets);
    free(s->issuers);
    free(s->subj_issuers);
    pat_table_release(s->pats);
    revset_release(s->revoked);
    free(s);
}

int authn_publish(struct authn *a)
{
    struct authn_state *s = calloc(1, sizeof(*s));
    if (!s)
        return -1;
    atomic_init(&s->refs, 1);
    s->n = a->nissuers;
    s->issuers = calloc(s->n ? s->n : 1, sizeof(*s->issuers));
    s->subj_issuers = calloc(s->n ? s->n : 1, sizeof(*s->subj_issuers));
    s->keysets = calloc(s->n ? s->n : 1, sizeof(*s->keysets));
    if (!s->issuers || !s->subj_issuers || !s->keysets) {
        free(s->issuers);
        free(s->subj_issuers);
        free(s->keysets);
        free(s);
        return -1;
    }
    for (size_t i = 0; i < s->n; i++) {
        struct issuer_rt *rt = &a->issuers[i];
        s->keysets[i] = keyset_ref(rt->merged);
        s->issuers[i] = (struct jwt_issuer){
            .name = rt->name,
            .iss = rt->iss,
            .audiences = (const char *const *)rt->audiences,
            .naud = rt->naud,
            .alg_mask = rt->alg_mask,
            .keys = s->keysets[i],
            .leeway_s = a->leeway_s,
            .user_claims = (const char *const *)rt->user_claims,
            .nuser = rt->nuser,
            .groups_claim = rt->groups_claim,
            .scopes_claims = (const char *const *)rt->scopes_claims,
            .nscopes = rt->nscopes,
        };
        /* Subject tokens (on behalf of a user) are the same but for their audiences. */
        s->subj_issuers[i] = s->issuers[i];
        if (rt->subj_audiences) {
            s->subj_issuers[i].audiences = (const char *const *)rt->subj_audiences;
            s->subj_issuers[i].naud = rt->nsubj_aud;
        }
    }
    s->pats = pat_table_ref(a->cur_pats);
    s->revoked = revset_ref(a->cur_revs);
    s->gen = ++a->next_gen;
    pthread_mutex_lock(&a->state_mu);
    struct authn_state *old = a->state;
    a->state = s;
    atomic_store_explicit(&a->gen, s->gen, memory_order_release);
    pthread_mutex_unlock(&a->state_mu);
    authn_state_release(old);
    return 0;
}

/* ---- components ---- */

int authn_rebuild_keys(struct issuer_rt *rt)
{
    struct keyset *m = keyset_merge(rt->remote, rt->hs);
    if (!m)
        return -1;
    keyset_release(rt->merged);
    rt->merged = m;
    return 0;
}

/* File and Redis records; on a duplicate hash the revoked copy wins, else the file's. */
int authn_rebuild_pats(struct authn *a)
{
    size_t n = a->nfile_pats + a->nredis_pats, cnt = 0;
    struct pat_record *recs = calloc(n ? n : 1, sizeof(*recs));
    if (!recs)
        return -1;
    for (size_t i = 0; i < n; i++) {
        const struct pat_record *src =
            i < a->nfile_pats ? &a->file_pats[i] : &a->redis_pats[i - a->nfile_pats];
        size_t k = 0;
        while (k < cnt && memcmp(recs[k].hash, src->hash, SHA256_LEN) != 0)
            k++;
        if (k < cnt) {
            if (src->revoked_s && !recs[k].revoked_s)
                recs[k].revoked_s = src->revoked_s;
            continue;
        }
        if (pat_record_copy(&recs[cnt], src) != 0) {
            pat_records_free(recs, cnt);
            return -1;
        }
        cnt++;
    }
    char err[256];
    struct pat_table *t = pat_table_new(recs, cnt, err, sizeof(err));
    if (!t) {
        log_error("auth: PAT table: %s", err);
        return -1;
    }
    pat_table_release(a->cur_pats);
    a->cur_pats = t;
    return 0;
}

int authn_rebuild_revs(struct authn *a)
{
    struct revset *file = revset_with(NULL, a->file_revs, a->nfile_revs);
    struct revset *all = file ? revset_with(file, a->redis_revs, a->nredis_revs) : NULL;
    revset_release(file);
    if (!all)
        return -1;
    revset_release(a->cur_revs);
    a->cur_revs = all;
    return 0;
}

/* ---- loaders ---- */

static int load_jwks_text(struct issuer_rt *rt, const char *text, size_t len, const char *src,
                          char *err, size_t errlen)
{
    struct keyset *ks = NULL;
    size_t skipped = 0;
    char why[256];
    if (keyset_from_jwks(text, len, &ks, &skipped, why, sizeof(why)) != 0) {
        snprintf(err, errlen, "issuer %s: %s: %s", rt->name, src, why);
        return -1;
    }
    if (skipped)
        log_info("auth: issuer %s: %zu key(s) in %s skipped (unsupported or not for signing)",
                 rt->name, skipped, src);
    keyset_release(rt->remote);
    rt->remote = ks;
    return 0;
}

static int fetch_url_keys(struct issuer_rt *rt, char *err, size_t errlen)
{
    char *body = NULL;
    size_t len = 0;
    char why[300];
    int tmo = (int)rt->fetch_timeout_ms;
    if (rt->discovery_url) {
        if (https_get(rt->discovery_url, rt->ca_file, tmo, 256 * 1024, &body, &len, why,
                      sizeof(why)) != 0) {
            snprintf(err, errlen, "issuer %s: discovery: %s", rt->name, why);
            return -1;
        }
        json_error_t je;
        json_t *doc = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
        free(body);
        body = NULL;
        json_t *iss = json_object_get(doc, "issuer"), *uri = json_object_get(doc, "jwks_uri");
        if (!json_is_string(iss) || strcmp(json_string_value(iss), rt->iss) != 0 ||
            !json_is_string(uri) || strncmp(json_string_value(uri), "https://", 8) != 0) {
            json_decref(doc);
            snprintf(err, errlen,
                     "issuer %s: discovery document has a different issuer or no https jwks_uri",
                     rt->name);
            return -1;
        }
        char *u = strdup(json_string_value(uri));
        json_decref(doc);
        if (!u) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        free(rt->jwks_uri);
        rt->jwks_uri = u;
    }
    const char *url = rt->jwks_url ? rt->jwks_url : rt->jwks_uri;
    if (!url) {
        snprintf(err, errlen, "issuer %s: no JWKS URL", rt->name);
        return -1;
    }
    if (https_get(url, rt->ca_file, tmo, JWKS_MAX_BYTES, &body, &len, why, sizeof(why)) != 0) {
        snprintf(err, errlen, "issuer %s: JWKS: %s", rt->name, why);
        return -1;
    }
    int rc = load_jwks_text(rt, body, len, url, err, errlen);
    free(body);
    return rc;
}

/* Load an issuer's JWKS (file when its stamp changed or force; URL when force). On failure the
 * last good keys stay, until they are older than max_stale (then they are dropped: fail
 * closed). */
int authn_load_issuer(struct authn *a, struct issuer_rt *rt, bool force, bool *changed, char *err,
                      size_t errlen)
{
    int rc = 0;
    if (rt->jwks_file) {
        int64_t st = auth_file_stamp(rt->jwks_file);
        if (!force && st == rt->jwks_stamp)
            return 0;
        char *text = NULL;
        size_t len = 0;
        char why[256];
        rc = auth_file_read(rt->jwks_file, JWKS_MAX_BYTES, &text, &len, why, sizeof(why));
        if (rc != 0)
            snprintf(err, errlen, "issuer %s: %s", rt->name, why);
        else
            rc = load_jwks_text(rt, text, len, rt->jwks_file, err, errlen);
        free(text);
        rt->jwks_stamp = st; /* a bad file is reported once, not on every poll */
    } else if (rt->jwks_url || rt->discovery_url) {
        if (!force)
            return 0;
        rc = fetch_url_keys(rt, err, errlen);
    } else {
        return 0;
    }
    int64_t now = wall_ms();
    if (rc == 0) {
        rt->last_good_ms = now;
        *changed = true;
    } else if (rt->remote && now - rt->last_good_ms > rt->max_stale_ms) {
        log_error("auth: issuer %s: keys older than max_stale; dropping them (tokens of this "
                  "issuer are refused until keys load again)",
                  rt->name);
        keyset_release(rt->remote);
        rt->remote = NULL;
        *changed = true;
    }
    if (*changed && authn_rebuild_keys(rt) != 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    return rc == 0 ? 0 : -1;
}

/* Re-read the PAT file, the revocation file and JWKS files (all when force, else those whose
 * stamp changed). A file that fails to parse keeps the previous content and returns -1. */
int authn_load_files(struct authn *a, bool force, bool *changed, char *err, size_t errlen)
{
    int rc = 0;
    *changed = false;
    if (a->pat_file) {
        int64_t st = auth_file_stamp(a->pat_file);
        if (force || st != a->pat_stamp) {
            struct pat_record *recs = NULL;
            size_t n = 0;
            if (pat_file_read(a->pat_file, &recs, &n, err, errlen) != 0) {
                a->pat_stamp = st; /* reported once per version of the file */
                rc = -1;
            } else {
                pat_records_free(a->file_pats, a->nfile_pats);
                a->file_pats = recs;
                a->nfile_pats = n;
                a->pat_stamp = st;
                if (authn_rebuild_pats(a) != 0) {
                    snprintf(err, errlen, "%s: cannot index PATs", a->pat_file);
                    rc = -1;
                }
                *changed = true;
            }
        }
    }
    if (a->revocation_file) { /* independent of the PAT file */
        int64_t st = auth_file_stamp(a->revocation_file);
        if (force || st != a->rev_stamp) {
            char *text = NULL;
            size_t len = 0;
            char why[256];
            int r = auth_file_read(a->revocation_file, 64u << 20, &text, &len, why, sizeof(why));
            char **items = NULL;
            size_t n = 0;
            if (r == -1) {
                snprintf(err, errlen, "%s", why);
                a->rev_stamp = st;
                rc = -1;
            } else if (r == 0 &&
                       revoke_parse(text, len, a->revocation_file, &items, &n, err, errlen) != 0) {
                a->rev_stamp = st;
                rc = -1;
            } else {
                revoke_items_free(a->file_revs, a->nfile_revs);
                a->file_revs = items;
                a->nfile_revs = n;
                a->rev_stamp = st;
                if (authn_rebuild_revs(a) != 0) {
                    snprintf(err, errlen, "out of memory");
                    rc = -1;
                }
                *changed = true;
            }
            free(text);
        }
    }
    for (size_t i = 0; i < a->nissuers; i++) {
        struct issuer_rt *rt = &a->issuers[i];
        if (rt->jwks_file && authn_load_issuer(a, rt, force, changed, err, errlen) != 0)
            rc = -1;
    }
    return rc;
}

/* ---- the control thread ---- */

static void publish_or_log(struct authn *a)
{
    if (authn_publish(a) != 0)
        log_error("auth: cannot publish a new authentication state (out of memory)");
}

static void on_poll(evutil_socket_t fd, short what, void *arg)
{
    struct authn *a = arg;
    char err[512];
    bool changed = false;
    bool force = (what & EV_SIGNAL) != 0; /* reload_ev is activated with EV_SIGNAL */
    if (authn_load_files(a, force, &changed, err, sizeof(err)) != 0) {
        atomic_fetch_add_explicit(&a->st_reload_failures, 1, memory_order_relaxed);
        log_error("auth: reload failed, keeping the previous state: %s", err);
    }
    if (force)
        for (size_t i = 0; i < a->nissuers; i++) {
            struct issuer_rt *rt = &a->issuers[i];
            if (!rt->jwks_file && authn_load_issuer(a, rt, true, &changed, err, sizeof(err)) != 0)
                log_error("auth: %s", err);
        }
    if (changed) {
        atomic_fetch_add_explicit(&a->st_reloads, 1, memory_order_relaxed);
        publish_or_log(a);
    }
}

static void on_refresh(evutil_socket_t fd, short what, void *arg)
{
    struct issuer_rt *rt = arg;
    struct authn *a = rt->owner;
    char err[512];
    bool changed = false;
    if (authn_load_issuer(a, rt, true, &changed, err, sizeof(err)) != 0)
        log_warn("auth: refresh: %s", err);
    if (changed)
        publish_or_log(a);
}

static void on_refetch(evutil_socket_t fd, short what, void *arg)
{
    struct issuer_rt *rt = arg;
    struct authn *a = rt->owner;
    char err[512];
    bool changed = false;
    log_info("auth: issuer %s: unknown key id seen, refetching keys", rt->name);
    if (authn_load_issuer(a, rt, true, &changed, err, sizeof(err)) != 0)
        log_warn("auth: refetch: %s", err);
    if (changed)
        publish_or_log(a);
    /* Publish first, then release the waiters: their re-check sees the new keys. */
    pthread_mutex_lock(&a->wait_mu);
    atomic_store(&rt->inflight, false);
    pthread_mutex_unlock(&a->wait_mu);
    authn_fire_waiters(a);
}

static void on_stop(evutil_socket_t fd, short what, void *arg)
{
    event_base_loopbreak(arg);
}

static void *control_main(void *arg)
{
    struct authn *a = arg;
    event_base_dispatch(a->base);
    return NULL;
}

static struct timeval tv_of(int64_t ms)
{
    struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
    return tv;
}

int authn_control_start(struct authn *a, char *err, size_t errlen)
{
    if (evthread_use_pthreads() != 0 || !(a->base = event_base_new())) {
        snprintf(err, errlen, "cannot create the auth control event loop");
        return -1;
    }
    struct timeval tv = tv_of(a->reload_ms);
    a->poll_ev = event_new(a->base, -1, EV_PERSIST, on_poll, a);
    a->reload_ev = event_new(a->base, -1, 0, on_poll, a);
    a->stop_ev = event_new(a->base, -1, 0, on_stop, a->base);
    if (!a->poll_ev || !a->reload_ev || !a->stop_ev || event_add(a->poll_ev, &tv) != 0) {
        snprintf(err, errlen, "cannot create auth control events");
        return -1;
    }
    for (size_t i = 0; i < a->nissuers; i++) {
        struct issuer_rt *rt = &a->issuers[i];
        if (!rt->refetchable)
            continue;
        rt->refetch_ev = event_new(a->base, -1, 0, on_refetch, rt);
        if (!rt->refetch_ev) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        if (rt->jwks_url || rt->discovery_url) {
            char why[512];
            bool changed = false;
            if (authn_load_issuer(a, rt, true, &changed, why, sizeof(why)) != 0)
                log_error("auth: %s (will retry every refresh_interval)", why);
            struct timeval rtv = tv_of(rt->refresh_ms);
            rt->refresh_ev = event_new(a->base, -1, EV_PERSIST, on_refresh, rt);
            if (!rt->refresh_ev || event_add(rt->refresh_ev, &rtv) != 0) {
                snprintf(err, errlen, "out of memory");
                return -1;
            }
        }
    }
    if (authn_publish(a) != 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (a->redis_host && authn_redis_start(a, err, errlen) != 0)
        return -1;
    if (pthread_create(&a->thread, NULL, control_main, a) != 0) {
        snprintf(err, errlen, "cannot start the auth control thread");
        return -1;
    }
    a->started = true;
    return 0;
}

void authn_control_stop(struct authn *a)
{
    if (a->started) {
        event_active(a->stop_ev, EV_TIMEOUT, 0);
        pthread_join(a->thread, NULL);
        a->started = false;
    }
    authn_redis_free(a->redis);
    a->redis = NULL;
    for (size_t i = 0; i < a->nissuers; i++) {
        if (a->issuers[i].refresh_ev)
            event_free(a->issuers[i].refresh_ev);
        if (a->issuers[i].refetch_ev)
            event_free(a->issuers[i].refetch_ev);
        a->issuers[i].refresh_ev = a->issuers[i].refetch_ev = NULL;
        atomic_store(&a->issuers[i].inflight, false);
    }
    if (a->poll_ev)
        event_free(a->poll_ev);
    if (a->reload_ev)
        event_free(a->reload_ev);
    if (a->stop_ev)
        event_free(a->stop_ev);
    a->poll_ev = a->reload_ev = a->stop_ev = NULL;
    if (a->base)
        event_base_free(a->base);
    a->base = NULL;
}

int authn_start(struct authn *a, char *err, size_t errlen)
{
    if (a->started) {
        snprintf(err, errlen, "already started");
        return -1;
    }
    if (authn_control_start(a, err, errlen) != 0) {
        authn_control_stop(a);
        return -1;
    }
    return 0;
}

void authn_reload(struct authn *a)
{
    if (a->started)
        event_active(a->reload_ev, EV_SIGNAL, 0);
}
