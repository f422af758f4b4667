/*
 * policy store: see store.h. A mutex guards the current pointer and the statistics; the
 * generation is also mirrored in an atomic so workers can poll it without the lock. Only one
 * reload runs at a time (reload_lock), so two triggers (SIGHUP and the timer) cannot race.
 */
#include "policy/store.h"

#include "util/log.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

struct fingerprint {
    uint64_t hash; /* over (path, dev, ino, size, mtime) of every file */
    bool valid;
};

struct policy_store {
    char **paths;
    size_t npaths;
    pthread_mutex_t lock;        /* cur and stats */
    pthread_mutex_t reload_lock; /* one reload at a time */
    struct policy_snapshot *cur;
    _Atomic uint64_t generation;
    struct policy_store_stats stats;
    struct fingerprint seen; /* files as of the last reload attempt */
};

static uint64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static uint64_t mix(uint64_t h, uint64_t v)
{
    h ^= v + 0x9E3779B97F4A7C15ULL + (h << 6) + (h >> 2);
    return h;
}

static struct fingerprint take_fingerprint(const struct policy_store *st)
{
    struct fingerprint fp = {0, false};
    char **files = NULL;
    size_t n = 0;
    char err[256];
    if (policy_paths_expand((const char *const *)st->paths, st->npaths, &files, &n, err,
                            sizeof(err)) < 0)
        return fp; /* invalid: compares unequal to any valid one */
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) {
        struct stat sb;
        for (const char *p = files[i]; *p; p++)
            h = mix(h, (unsigned char)*p);
        if (stat(files[i], &sb) < 0) {
            h = mix(h, 0xdead);
            continue;
        }
        h = mix(h, (uint64_t)sb.st_dev);
        h = mix(h, (uint64_t)sb.st_ino);
        h = mix(h, (uint64_t)sb.st_size);
        h = mix(h, (uint64_t)sb.st_mtim.tv_sec);
        h = mix(h, (uint64_t)sb.st_mtim.tv_nsec);
    }
    policy_paths_free(files, n);
    fp.hash = h;
    fp.valid = true;
    return fp;
}

struct policy_store *policy_store_new(const char *const *paths, size_t npaths)
{
    struct policy_store *st = calloc(1, sizeof(*st));
    if (!st)
        return NULL;
    pthread_mutex_init(&st->lock, NULL);
    pthread_mutex_init(&st->reload_lock, NULL);
    atomic_init(&st->generation, 0);
    st->paths = calloc(npaths + 1, sizeof(*st->paths));
    if (!st->paths)
        goto fail;
    for (size_t i = 0; i < npaths; i++) {
        st->paths[i] = strdup(paths[i]);
        if (!st->paths[i])
            goto fail;
        st->npaths++;
    }
    return st;
fail:
    policy_store_free(st);
    return NULL;
}

void policy_store_free(struct policy_store *st)
{
    if (!st)
        return;
    policy_snapshot_unref(st->cur);
    for (size_t i = 0; i < st->npaths; i++)
        free(st->paths[i]);
    free(st->paths);
    pthread_mutex_destroy(&st->lock);
    pthread_mutex_destroy(&st->reload_lock);
    free(st);
}

int policy_store_reload(struct policy_store *st, struct policy_diag *diag, bool *changed)
{
    struct policy_diag local;
    struct policy_diag *d = diag ? diag : &local;
    struct policy_snapshot *old = NULL, *snap;
    bool swapped = false;
    int rc = -1;
    if (!diag)
        policy_diag_init(&local);
    pthread_mutex_lock(&st->reload_lock);
    uint64_t t0 = now_us();
    struct fingerprint fp = take_fingerprint(st);
    snap = policy_compile((const char *const *)st->paths, st->npaths, d);
    uint64_t took = now_us() - t0;

    pthread_mutex_lock(&st->lock);
    st->seen = fp;
    st->stats.last_reload_us = took;
    if (!snap) {
        st->stats.reloads_failed++;
    } else {
        st->stats.reloads_ok++;
        if (!st->cur || strcmp(policy_snapshot_version(st->cur), policy_snapshot_version(snap))) {
            old = st->cur;
            st->cur = snap;
            snap = NULL;
            st->stats.generation++;
            atomic_store(&st->generation, st->stats.generation);
            snprintf(st->stats.version, sizeof(st->stats.version), "%s",
                     policy_snapshot_version(st->cur));
            swapped = true;
        }
        rc = 0;
    }
    pthread_mutex_unlock(&st->lock);

    if (rc == 0) {
        log_info("policy: %s version %.12s (%zu files, %zu grants) in %llu ms",
                 swapped ? "loaded" : "unchanged", st->stats.version,
                 policy_snapshot_file_count(swapped ? st->cur : snap),
                 policy_snapshot_grant_count(swapped ? st->cur : snap),
                 (unsigned long long)(took / 1000));
    } else {
        log_error("policy: reload refused with %zu error(s); keeping version %.12s", d->count,
                  st->stats.version[0] ? st->stats.version : "(none)");
        for (size_t i = 0; i < d->count; i++)
            log_error("policy: %s", d->v[i].text);
    }
    policy_snapshot_unref(snap);
    policy_snapshot_unref(old);
    pthread_mutex_unlock(&st->reload_lock);
    if (changed)
        *changed = swapped;
    if (!diag)
        policy_diag_deinit(&local);
    return rc;
}

bool policy_store_check_changed(struct policy_store *st)
{
    struct fingerprint fp = take_fingerprint(st);
    pthread_mutex_lock(&st->lock);
    bool diff = fp.valid != st->seen.valid || (fp.valid && fp.hash != st->seen.hash);
    pthread_mutex_unlock(&st->lock);
    return diff;
}

struct policy_snapshot *policy_store_acquire(struct policy_store *st)
{
    pthread_mutex_lock(&st->lock);
    struct policy_snapshot *s = policy_snapshot_ref(st->cur);
    pthread_mutex_unlock(&st->lock);
    return s;
}

uint64_t policy_store_generation(const struct policy_store *st)
{
    return atomic_load(&((struct policy_store *)st)->generation);
}

bool policy_store_refresh(struct policy_store *st, struct policy_snapshot **snap, uint64_t *gen)
{
    uint64_t g = policy_store_generation(st);
    if (g == *gen && *snap)
        return false;
    pthread_mutex_lock(&st->lock);
    struct policy_snapshot *s = policy_snapshot_ref(st->cur);
    g = st->stats.generation;
    pthread_mutex_unlock(&st->lock);
    policy_snapshot_unref(*snap);
    *snap = s;
    bool changed = g != *gen;
    *gen = g;
    return changed;
}

void policy_store_stats(struct policy_store *st, struct policy_store_stats *out)
{
    pthread_mutex_lock(&st->lock);
    *out = st->stats;
    pthread_mutex_unlock(&st->lock);
}
