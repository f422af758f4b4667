/*
 * mlflow/rcache: hits, TTLs per kind, LRU eviction by entries and by bytes, coalescing of
 * concurrent look-ups, failure and cancellation of waiters, re-entrant callbacks, invalidation
 * of keys (also while in flight), abandoned look-ups, shutdown, a randomised comparison with a
 * reference model, and the cost of a hit and a fill (printed).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mlflow/rcache.h"

static struct rcache *new_cache(size_t max_entries, size_t max_bytes)
{
    struct rcache_conf conf;
    rcache_conf_default(&conf);
    conf.max_entries = max_entries;
    if (max_bytes)
        conf.max_bytes = max_bytes;
    memcpy(conf.hash_key, "0123456789abcdef", 16);
    char err[128];
    struct rcache *c = rcache_new(&conf, err, sizeof(err));
    if (!c)
        fail_msg("%s", err);
    return c;
}

/* Facts with an experiment id (and optionally a name/owner), owned by the test. */
static void mk_facts(struct lookup_facts *f, enum route_object kind, const char *exp,
                     const char *name, const char *owner)
{
    lookup_facts_init(f);
    f->kind = kind;
    if (exp) {
        f->has_experiment = true;
        snprintf(f->experiment_id, sizeof(f->experiment_id), "%s", exp);
    }
    if (name) {
        f->name = strdup(name);
        f->name_len = strlen(name);
    }
    if (owner) {
        f->owner_tagged = true;
        f->owner = strdup(owner);
        f->owner_len = strlen(owner);
    }
}

#define K(s) s, sizeof(s) - 1

/* A waiter that records how it was woken. */
struct probe {
    struct rcache_waiter w;
    int calls;
    enum lookup_status st;
    char exp[LOOKUP_EXP_ID_MAX];
    char name[64];
    int order;
    /* optional re-entrant action */
    void (*action)(struct probe *p);
    struct rcache *cache;
    struct probe *other;
};

static int wake_counter;

static void on_wake(void *arg, enum lookup_status st, const struct lookup_facts *facts)
{
    struct probe *p = arg;
    p->calls++;
    p->st = st;
    p->order = ++wake_counter;
    assert_null(p->w.flight); /* unlinked before the callback */
    if (st == LOOKUP_FOUND) {
        assert_non_null(facts);
        snprintf(p->exp, sizeof(p->exp), "%s", facts->experiment_id);
        snprintf(p->name, sizeof(p->name), "%s", facts->name ? facts->name : "");
    } else {
        assert_null(facts);
    }
    if (p->action)
        p->action(p);
}

static void test_hit_and_copy(void **state)
{
    struct rcache *c = new_cache(100, 0);
    const struct lookup_facts *got;
    struct lookup_facts f;
    assert_int_equal(rcache_get(c, ROUTE_OBJ_EXPERIMENT, K("7"), 0, &got, NULL, NULL, NULL),
                     RCACHE_MISS);
    assert_null(got);
    mk_facts(&f, ROUTE_OBJ_EXPERIMENT, "7", "risk.fraud.training", "alice@x");
    f.deleted = true;
    assert_int_equal(rcache_fill(c, ROUTE_OBJ_EXPERIMENT, K("7"), 0, &f), 0);
    lookup_facts_clear(&f); /* the cache holds its own copy */
    assert_int_equal(rcache_get(c, ROUTE_OBJ_EXPERIMENT, K("7"), 10, &got, NULL, NULL, NULL),
                     RCACHE_HIT);
    assert_non_null(got);
    assert_string_equal(got->experiment_id, "7");
    assert_string_equal(got->name, "risk.fraud.training");
    assert_int_equal(got->name_len, 19);
    assert_string_equal(got->owner, "alice@x");
    assert_true(got->owner_tagged);
    assert_true(got->deleted);
    /* same id, other kind: another key */
    assert_int_equal(rcache_get(c, ROUTE_OBJ_RUN, K("7"), 10, &got, NULL, NULL, NULL), RCACHE_MISS);
    rcache_fail(c, ROUTE_OBJ_RUN, K("7"), LOOKUP_NOT_FOUND);
    /* datasets: the list is copied */
    mk_facts(&f, ROUTE_OBJ_DATASET, NULL, NULL, NULL);
    f.nexperiments = 2;
    f.experiments = calloc(2, sizeof(*f.experiments));
    strcpy(f.experiments[0], "1");
    strcpy(f.experiments[1], "22");
    assert_int_equal(rcache_get(c, ROUTE_OBJ_DATASET, K("d-1"), 0, &got, NULL, NULL, NULL),
                     RCACHE_MISS);
    rcache_fill(c, ROUTE_OBJ_DATASET, K("d-1"), 0, &f);
    lookup_facts_clear(&f);
    assert_int_equal(rcache_get(c, ROUTE_OBJ_DATASET, K("d-1"), 1, &got, NULL, NULL, NULL),
                     RCACHE_HIT);
    assert_int_equal(got->nexperiments, 2);
    assert_string_equal(got->experiments[1], "22");
    /* binary ids, empty ids, NULL ids */
    mk_facts(&f, ROUTE_OBJ_MODEL, NULL, "m", NULL);
    assert_int_equal(rcache_get(c, ROUTE_OBJ_MODEL, "a\0b", 3, 0, &got, NULL, NULL, NULL),
                     RCACHE_MISS);
    rcache_fill(c, ROUTE_OBJ_MODEL, "a\0b", 3, 0, &f);
    assert_int_equal(rcache_get(c, ROUTE_OBJ_MODEL, "a\0c", 3, 0, &got, NULL, NULL, NULL),
                     RCACHE_MISS);
    rcache_fail(c, ROUTE_OBJ_MODEL, "a\0c", 3, LOOKUP_ERROR);
    assert_int_equal(rcache_get(c, ROUTE_OBJ_MODEL, "a\0b", 3, 0, &got, NULL, NULL, NULL),
                     RCACHE_HIT);
    assert_int_equal(rcache_get(c, ROUTE_OBJ_MODEL, NULL, 5, 0, &got, NULL, NULL, NULL),
                     RCACHE_MISS);
    rcache_fill(c, ROUTE_OBJ_MODEL, "", 0, 0, &f);
    assert_int_equal(rcache_get(c, ROUTE_OBJ_MODEL, "", 0, 0, &got, NULL, NULL, NULL), RCACHE_HIT);
    lookup_facts_clear(&f);
    struct rcache_stats st;
    rcache_stats(c, &st);
    assert_int_equal(st.entries, 4);
    assert_int_equal(st.flights, 0);
    assert_int_equal(st.hits, 4);
    rcache_free(c);
    rcache_free(NULL);
}

static void test_peek(void **state)
{
    struct rcache *c = new_cache(100, 0);
    const struct lookup_facts *got = (const struct lookup_facts *)1;
    assert_false(rcache_peek(c, ROUTE_OBJ_RUN, K("r"), 0, &got));
    assert_null(got);
    struct rcache_stats st;
    rcache_stats(c, &st);
    assert_int_equal(st.flights, 0); /* nothing recorded: a get is still the first miss */
    assert_int_equal(st.misses, 0);
    assert_int_equal(rcache_get(c, ROUTE_OBJ_RUN, K("r"), 0, &got, NULL, NULL, NULL), RCACHE_MISS);
    assert_false(rcache_peek(c, ROUTE_OBJ_RUN, K("r"), 0, &got)); /* in flight */
    struct lookup_facts f;
    mk_facts(&f, ROUTE_OBJ_RUN, "8", NULL, NULL);
    rcache_fill(c, ROUTE_OBJ_RUN, K("r"), 0, &f);
    lookup_facts_clear(&f);
    assert_true(rcache_peek(c, ROUTE_OBJ_RUN, K("r"), 1, &got));
    assert_string_equal(got->experiment_id, "8");
    assert_true(rcache_peek(c, ROUTE_OBJ_RUN, K("r"), 2, NULL));
    assert_false(rcache_peek(c, ROUTE_OBJ_RUN, K("r"), RCACHE_TTL_IMMUTABLE_MS, &got));
    assert_false(rcache_peek(c, ROUTE_OBJ_RUN, NULL, 3, 0, &got));
    rcache_stats(c, &st);
    assert_int_equal(st.hits, 2);
    assert_int_equal(st.expirations, 1);
    assert_int_equal(st.entries, 0);
    assert_int_equal(st.flights, 0);
    rcache_free(c);
}

static void test_ttl(void **state)
{
    struct rcache *c = new_cache(100, 0);
    const struct lookup_facts *got;
    struct lookup_facts f;
    mk_facts(&f, ROUTE_OBJ_RUN, "1", NULL, NULL);
    /* immutable: 10 minutes */
    rcache_get(c, ROUTE_OBJ_RUN, K("r"), 1000, &got, NULL, NULL, NULL);
    rcache_fill(c, ROUTE_OBJ_RUN, K("r"), 1000, &f);
    assert_int_equal(rcache_get(c, ROUTE_OBJ_RUN, K("r"), 1000 + RCACHE_TTL_IMMUTABLE_MS - 1, &got,
                                NULL, NULL, NULL),
                     RCACHE_HIT);
    assert_int_equal(rcache_get(c, ROUTE_OBJ_RUN, K("r"), 1000 + RCACHE_TTL_IMMUTABLE_MS, &got,
                                NULL, NULL, NULL),
                     RCACHE_MISS);
    rcache_fail(c, ROUTE_OBJ_RUN, K("r"), LOOKUP_ERROR);
    /* mutable: 30 s, for experiments, names, models and datasets */
    static const enum route_object mutable[] = {ROUTE_OBJ_EXPERIMENT, ROUTE_OBJ_EXPERIMENT_NAME,
                                                ROUTE_OBJ_MODEL, ROUTE_OBJ_DATASET};
    for (size_t i = 0; i < 4; i++) {
        rcache_get(c, mutable[i], K("k"), 0, &got, NULL, NULL, NULL);
        rcache_fill(c, mutable[i], K("k"), 0, &f);
        assert_int_equal(
            rcache_get(c, mutable[i], K("k"), RCACHE_TTL_MUTABLE_MS - 1, &got, NULL, NULL, NULL),
            RCACHE_HIT);
        assert_int_equal(
            rcache_get(c, mutable[i], K("k"), RCACHE_TTL_MUTABLE_MS, &got, NULL, NULL, NULL),
            RCACHE_MISS);
        rcache_fail(c, mutable[i], K("k"), LOOKUP_ERROR);
    }
    static const enum route_object immutable[] = {ROUTE_OBJ_TRACE,        ROUTE_OBJ_LOGGED_MODEL,
                                                  ROUTE_OBJ_LABEL_SCHEMA, ROUTE_OBJ_REVIEW_QUEUE,
                                                  ROUTE_OBJ_ISSUE,        ROUTE_OBJ_JOB};
    for (size_t i = 0; i < 6; i++) {
        rcache_get(c, immutable[i], K("k"), 0, &got, NULL, NULL, NULL);
        rcache_fill(c, immutable[i], K("k"), 0, &f);
        assert_int_equal(
            rcache_get(c, immutable[i], K("k"), RCACHE_TTL_MUTABLE_MS * 10, &got, NULL, NULL, NULL),
            RCACHE_HIT);
    }
    /* a kind with TTL 0 is never stored */
    rcache_get(c, ROUTE_OBJ_ARTIFACT_PATH, K("k"), 0, &got, NULL, NULL, NULL);
    rcache_fill(c, ROUTE_OBJ_ARTIFACT_PATH, K("k"), 0, &f);
    assert_int_equal(rcache_get(c, ROUTE_OBJ_ARTIFACT_PATH, K("k"), 0, &got, NULL, NULL, NULL),
                     RCACHE_MISS);
    rcache_fail(c, ROUTE_OBJ_ARTIFACT_PATH, K("k"), LOOKUP_ERROR);
    struct rcache_stats st;
    rcache_stats(c, &st);
    assert_int_equal(st.expirations, 5);
    lookup_facts_clear(&f);
    rcache_free(c);
}

static void put(struct rcache *c, const char *id, int64_t now, const char *exp)
{
    const struct lookup_facts *got;
    struct lookup_facts f;
    mk_facts(&f, ROUTE_OBJ_RUN, exp, NULL, NULL);
    enum rcache_result r =
        rcache_get(c, ROUTE_OBJ_RUN, id, strlen(id), now, &got, NULL, NULL, NULL);
    assert_int_equal(r, RCACHE_MISS);
    assert_int_equal(rcache_fill(c, ROUTE_OBJ_RUN, id, strlen(id), now, &f), 0);
    lookup_facts_clear(&f);
}

static bool has(struct rcache *c, const char *id, int64_t now)
{
    const struct lookup_facts *got;
    enum rcache_result r =
        rcache_get(c, ROUTE_OBJ_RUN, id, strlen(id), now, &got, NULL, NULL, NULL);
    if (r == RCACHE_MISS)
        rcache_fail(c, ROUTE_OBJ_RUN, id, strlen(id), LOOKUP_ERROR);
    return r == RCACHE_HIT;
}

static void test_lru(void **state)
{
    struct rcache *c = new_cache(3, 0);
    put(c, "a", 0, "1");
    put(c, "b", 0, "2");
    put(c, "c", 0, "3");
    assert_true(has(c, "a", 1)); /* a becomes most recent: b is the oldest */
    put(c, "d", 2, "4");
    assert_false(has(c, "b", 3));
    assert_true(has(c, "a", 3));
    assert_true(has(c, "c", 3));
    assert_true(has(c, "d", 3));
    struct rcache_stats st;
    rcache_stats(c, &st);
    assert_int_equal(st.entries, 3);
    assert_int_equal(st.evictions, 1);
    /* refilling a key replaces its entry, no eviction */
    put(c, "z", 4, "9");
    rcache_invalidate(c, ROUTE_OBJ_RUN, K("z"));
    put(c, "z", 5, "10");
    rcache_stats(c, &st);
    assert_int_equal(st.entries, 3);
    const struct lookup_facts *got;
    assert_int_equal(rcache_get(c, ROUTE_OBJ_RUN, K("z"), 6, &got, NULL, NULL, NULL), RCACHE_HIT);
    assert_string_equal(got->experiment_id, "10");
    /* a fill without a look-up in flight is stored too (replacing) */
    struct lookup_facts f;
    mk_facts(&f, ROUTE_OBJ_RUN, "11", NULL, NULL);
    rcache_fill(c, ROUTE_OBJ_RUN, K("z"), 6, &f);
    lookup_facts_clear(&f);
    assert_int_equal(rcache_get(c, ROUTE_OBJ_RUN, K("z"), 6, &got, NULL, NULL, NULL), RCACHE_HIT);
    assert_string_equal(got->experiment_id, "11");
    rcache_stats(c, &st);
    assert_int_equal(st.entries, 3);
    rcache_free(c);
}

static void test_bytes_bound(void **state)
{
    struct rcache *c = new_cache(1000, 2000);
    const struct lookup_facts *got;
    char name[400];
    memset(name, 'n', sizeof(name) - 1);
    name[sizeof(name) - 1] = '\0';
    char id[16];
    for (int i = 0; i < 20; i++) {
        struct lookup_facts f;
        mk_facts(&f, ROUTE_OBJ_MODEL, NULL, name, NULL);
        snprintf(id, sizeof(id), "m%d", i);
        assert_int_equal(rcache_get(c, ROUTE_OBJ_MODEL, id, strlen(id), 0, &got, NULL, NULL, NULL),
                         RCACHE_MISS);
        rcache_fill(c, ROUTE_OBJ_MODEL, id, strlen(id), 0, &f);
        lookup_facts_clear(&f);
        struct rcache_stats st;
        rcache_stats(c, &st);
        assert_true(st.bytes <= 2000);
        assert_true(st.entries >= 1);
    }
    /* the most recent ones survive */
    assert_int_equal(rcache_get(c, ROUTE_OBJ_MODEL, K("m19"), 0, &got, NULL, NULL, NULL),
                     RCACHE_HIT);
    assert_int_equal(rcache_get(c, ROUTE_OBJ_MODEL, K("m0"), 0, &got, NULL, NULL, NULL),
                     RCACHE_MISS);
    rcache_fail(c, ROUTE_OBJ_MODEL, K("m0"), LOOKUP_ERROR);
    /* an entry larger than the whole budget is not stored, but its waiters are woken */
    char big[3000];
    memset(big, 'b', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    struct lookup_facts f;
    mk_facts(&f, ROUTE_OBJ_MODEL, NULL, big, NULL);
    struct probe p = {0};
    assert_int_equal(rcache_get(c, ROUTE_OBJ_MODEL, K("big"), 0, &got, NULL, NULL, NULL),
                     RCACHE_MISS);
    assert_int_equal(rcache_get(c, ROUTE_OBJ_MODEL, K("big"), 0, &got, &p.w, on_wake, &p),
                     RCACHE_WAITING);
    assert_int_equal(rcache_fill(c, ROUTE_OBJ_MODEL, K("big"), 0, &f), 0);
    assert_int_equal(p.calls, 1);
    assert_int_equal(p.st, LOOKUP_FOUND);
    assert_int_equal(strlen(p.name), sizeof(p.name) - 1);
    assert_int_equal(rcache_get(c, ROUTE_OBJ_MODEL, K("m19"), 0, &got, NULL, NULL, NULL),
                     RCACHE_HIT);
    lookup_facts_clear(&f);
    rcache_free(c);
}

static void test_coalescing(void **state)
{
    struct rcache *c = new_cache(100, 0);
    const struct lookup_facts *got;
    struct probe p[4];
    memset(p, 0, sizeof(p));
    wake_counter = 0;
    assert_int_equal(rcache_get(c, ROUTE_OBJ_TRACE, K("tr-1"), 0, &got, &p[0].w, on_wake, &p[0]),
                     RCACHE_MISS);
    assert_null(p[0].w.flight); /* the leader is not a waiter */
    for (int i = 1; i < 4; i++)
        assert_int_equal(
            rcache_get(c, ROUTE_OBJ_TRACE, K("tr-1"), i, &got, &p[i].w, on_wake, &p[i]),
            RCACHE_WAITING);
    struct rcache_stats st;
    rcache_stats(c, &st);
    assert_int_equal(st.flights, 1);
    assert_int_equal(st.waiters, 3);
    assert_int_equal(st.waits, 3);
    assert_int_equal(st.misses, 1);
    struct lookup_facts f;
    mk_facts(&f, ROUTE_OBJ_TRACE, "5", NULL, NULL);
    assert_int_equal(rcache_fill(c, ROUTE_OBJ_TRACE, K("tr-1"), 10, &f), 0);
    lookup_facts_clear(&f);
    for (int i = 1; i < 4; i++) {
        assert_int_equal(p[i].calls, 1);
        assert_int_equal(p[i].st, LOOKUP_FOUND);
        assert_string_equal(p[i].exp, "5");
        assert_int_equal(p[i].order, i); /* registration order */
    }
    assert_int_equal(p[0].calls, 0);
    rcache_stats(c, &st);
    assert_int_equal(st.flights, 0);
    assert_int_equal(st.waiters, 0);
    assert_int_equal(rcache_get(c, ROUTE_OBJ_TRACE, K("tr-1"), 11, &got, NULL, NULL, NULL),
                     RCACHE_HIT);
    /* a fill or fail for a key nobody looks up is harmless */
    rcache_fail(c, ROUTE_OBJ_TRACE, K("nobody"), LOOKUP_ERROR);
    /* without a waiter, a key in flight is a plain miss */
    assert_int_equal(rcache_get(c, ROUTE_OBJ_TRACE, K("tr-2"), 0, &got, NULL, NULL, NULL),
                     RCACHE_MISS);
    assert_int_equal(rcache_get(c, ROUTE_OBJ_TRACE, K("tr-2"), 0, &got, NULL, NULL, NULL),
                     RCACHE_MISS);
    rcache_fail(c, ROUTE_OBJ_TRACE, K("tr-2"), LOOKUP_ERROR);
    rcache_free(c);
}

static void test_failures(void **state)
{
    struct rcache *c = new_cache(100, 0);
    const struct lookup_facts *got;
    struct probe a = {0}, b = {0};
    /* not found: waiters learn it, nothing is stored, the next get is a new miss */
    rcache_get(c, ROUTE_OBJ_RUN, K("r"), 0, &got, NULL, NULL, NULL);
    rcache_get(c, ROUTE_OBJ_RUN, K("r"), 0, &got, &a.w, on_wake, &a);
    rcache_fail(c, ROUTE_OBJ_RUN, K("r"), LOOKUP_NOT_FOUND);
    assert_int_equal(a.calls, 1);
    assert_int_equal(a.st, LOOKUP_NOT_FOUND);
    assert_int_equal(rcache_get(c, ROUTE_OBJ_RUN, K("r"), 0, &got, &b.w, on_wake, &b), RCACHE_MISS);
    /* error; FOUND given to fail counts as an error */
    assert_int_equal(rcache_get(c, ROUTE_OBJ_RUN, K("r"), 0, &got, &a.w, on_wake, &a),
                     RCACHE_WAITING);
    rcache_fail(c, ROUTE_OBJ_RUN, K("r"), LOOKUP_FOUND);
    assert_int_equal(a.calls, 2);
    assert_int_equal(a.st, LOOKUP_ERROR);
    /* a fill with no facts is an error for the waiters */
    rcache_get(c, ROUTE_OBJ_RUN, K("r"), 0, &got, NULL, NULL, NULL);
    rcache_get(c, ROUTE_OBJ_RUN, K("r"), 0, &got, &a.w, on_wake, &a);
    rcache_fill(c, ROUTE_OBJ_RUN, K("r"), 0, NULL);
    assert_int_equal(a.calls, 3);
    assert_int_equal(a.st, LOOKUP_ERROR);
    assert_int_equal(rcache_get(c, ROUTE_OBJ_RUN, K("r"), 0, &got, NULL, NULL, NULL), RCACHE_MISS);
    /* not found drops a cached entry (the object is gone); error keeps it */
    struct lookup_facts f;
    mk_facts(&f, ROUTE_OBJ_RUN, "1", NULL, NULL);
    rcache_fill(c, ROUTE_OBJ_RUN, K("r"), 0, &f);
    rcache_fail(c, ROUTE_OBJ_RUN, K("r"), LOOKUP_ERROR);
    assert_int_equal(rcache_get(c, ROUTE_OBJ_RUN, K("r"), 0, &got, NULL, NULL, NULL), RCACHE_HIT);
    rcache_fail(c, ROUTE_OBJ_RUN, K("r"), LOOKUP_NOT_FOUND);
    assert_int_equal(rcache_get(c, ROUTE_OBJ_RUN, K("r"), 0, &got, NULL, NULL, NULL), RCACHE_MISS);
    rcache_fail(c, ROUTE_OBJ_RUN, K("r"), LOOKUP_ERROR);
    lookup_facts_clear(&f);
    rcache_free(c);
}

static void test_cancel(void **state)
{
    struct rcache *c = new_cache(100, 0);
    const struct lookup_facts *got;
    struct probe p[5];
    memset(p, 0, sizeof(p));
    rcache_get(c, ROUTE_OBJ_JOB, K("j"), 0, &got, NULL, NULL, NULL);
    for (int i = 0; i < 5; i++)
        assert_int_equal(rcache_get(c, ROUTE_OBJ_JOB, K("j"), 0, &got, &p[i].w, on_wake, &p[i]),
                         RCACHE_WAITING);
    rcache_cancel(&p[0].w); /* head */
    rcache_cancel(&p[2].w); /* middle */
    rcache_cancel(&p[4].w); /* tail */
    rcache_cancel(&p[4].w); /* twice */
    rcache_cancel(NULL);
    struct rcache_stats st;
    rcache_stats(c, &st);
    assert_int_equal(st.waiters, 2);
    struct lookup_facts f;
    mk_facts(&f, ROUTE_OBJ_JOB, "3", NULL, NULL);
    rcache_fill(c, ROUTE_OBJ_JOB, K("j"), 0, &f);
    lookup_facts_clear(&f);
    assert_int_equal(p[0].calls + p[2].calls + p[4].calls, 0);
    assert_int_equal(p[1].calls, 1);
    assert_int_equal(p[3].calls, 1);
    rcache_cancel(&p[1].w); /* already woken: no-op */
    /* a waiter still linked to one key is moved when reused for another */
    struct probe q = {0};
    rcache_get(c, ROUTE_OBJ_JOB, K("x"), 0, &got, NULL, NULL, NULL);
    rcache_get(c, ROUTE_OBJ_JOB, K("y"), 0, &got, NULL, NULL, NULL);
    assert_int_equal(rcache_get(c, ROUTE_OBJ_JOB, K("x"), 0, &got, &q.w, on_wake, &q),
                     RCACHE_WAITING);
    assert_int_equal(rcache_get(c, ROUTE_OBJ_JOB, K("y"), 0, &got, &q.w, on_wake, &q),
                     RCACHE_WAITING);
    rcache_fail(c, ROUTE_OBJ_JOB, K("x"), LOOKUP_ERROR);
    assert_int_equal(q.calls, 0);
    rcache_fail(c, ROUTE_OBJ_JOB, K("y"), LOOKUP_NOT_FOUND);
    assert_int_equal(q.calls, 1);
    assert_int_equal(q.st, LOOKUP_NOT_FOUND);
    /* a waiter whose get is a hit is not linked */
    struct probe h = {0};
    assert_int_equal(rcache_get(c, ROUTE_OBJ_JOB, K("j"), 0, &got, &h.w, on_wake, &h), RCACHE_HIT);
    assert_null(h.w.flight);
    rcache_stats(c, &st);
    assert_int_equal(st.waiters, 0);
    rcache_free(c);
}

/* ---- re-entrant callbacks ---- */

static void act_get_same_key(struct probe *p)
{
    const struct lookup_facts *got = NULL;
    enum rcache_result r = rcache_get(p->cache, ROUTE_OBJ_RUN, K("r"), 0, &got, &p->w, on_wake, p);
    if (p->st == LOOKUP_FOUND) {
        assert_int_equal(r, RCACHE_HIT);
        assert_string_equal(got->experiment_id, p->exp);
    } else {
        /* after a failure the first re-entrant get leads a new look-up, others wait */
        assert_true(r == RCACHE_MISS || r == RCACHE_WAITING);
    }
    p->action = NULL;
}

static void act_cancel_other(struct probe *p)
{
    rcache_cancel(&p->other->w);
}

static void act_evict(struct probe *p)
{
    /* capacity 1: filling another key evicts the entry just stored */
    struct lookup_facts f;
    mk_facts(&f, ROUTE_OBJ_RUN, "99", NULL, NULL);
    rcache_fill(p->cache, ROUTE_OBJ_RUN, K("other"), 0, &f);
    lookup_facts_clear(&f);
}

static void act_chaos(struct probe *p)
{
    rcache_invalidate(p->cache, ROUTE_OBJ_RUN, K("r"));
    rcache_clear(p->cache);
    rcache_fail_all(p->cache, LOOKUP_ERROR);
}

static void test_reentrancy(void **state)
{
    struct rcache *c = new_cache(1, 0);
    const struct lookup_facts *got;
    struct probe p[4];
    memset(p, 0, sizeof(p));
    for (int i = 0; i < 4; i++)
        p[i].cache = c;
    /* 0: gets the same key again (hit); 1: cancels 2; 3: evicts the entry */
    p[0].action = act_get_same_key;
    p[1].action = act_cancel_other;
    p[1].other = &p[2];
    p[3].action = act_evict;
    rcache_get(c, ROUTE_OBJ_RUN, K("r"), 0, &got, NULL, NULL, NULL);
    for (int i = 0; i < 4; i++)
        rcache_get(c, ROUTE_OBJ_RUN, K("r"), 0, &got, &p[i].w, on_wake, &p[i]);
    struct lookup_facts f;
    mk_facts(&f, ROUTE_OBJ_RUN, "5", "n", NULL);
    rcache_fill(c, ROUTE_OBJ_RUN, K("r"), 0, &f);
    assert_int_equal(p[0].calls, 1);
    assert_int_equal(p[1].calls, 1);
    assert_int_equal(p[2].calls, 0); /* cancelled by 1 while the flight was being woken */
    assert_int_equal(p[3].calls, 1);
    assert_string_equal(p[3].exp, "5");
    assert_string_equal(p[3].name, "n");
    struct rcache_stats st;
    rcache_stats(c, &st);
    assert_int_equal(st.entries, 1); /* "other" evicted "r" */
    assert_int_equal(st.waiters, 0);

    /* after a failure, a waiter that asks again starts a new look-up; the next waits on it */
    memset(p, 0, sizeof(p));
    for (int i = 0; i < 3; i++) {
        p[i].cache = c;
        p[i].action = act_get_same_key;
    }
    rcache_get(c, ROUTE_OBJ_RUN, K("r"), 0, &got, NULL, NULL, NULL);
    for (int i = 0; i < 3; i++)
        assert_int_equal(rcache_get(c, ROUTE_OBJ_RUN, K("r"), 0, &got, &p[i].w, on_wake, &p[i]),
                         RCACHE_WAITING);
    rcache_fail(c, ROUTE_OBJ_RUN, K("r"), LOOKUP_ERROR);
    for (int i = 0; i < 3; i++)
        assert_int_equal(p[i].calls, 1);
    rcache_stats(c, &st);
    assert_int_equal(st.flights, 1); /* led by p[0] */
    assert_int_equal(st.waiters, 2); /* p[1], p[2] wait on it */
    rcache_fill(c, ROUTE_OBJ_RUN, K("r"), 0, &f);
    assert_int_equal(p[1].calls, 2);
    assert_int_equal(p[2].calls, 2);
    assert_int_equal(p[0].calls, 1);

    /* a callback that invalidates, clears and fails everything */
    memset(p, 0, sizeof(p));
    p[0].cache = c;
    p[0].action = act_chaos;
    rcache_get(c, ROUTE_OBJ_RUN, K("s"), 0, &got, NULL, NULL, NULL);
    rcache_get(c, ROUTE_OBJ_RUN, K("t"), 0, &got, NULL, NULL, NULL);
    rcache_get(c, ROUTE_OBJ_RUN, K("s"), 0, &got, &p[0].w, on_wake, &p[0]);
    rcache_get(c, ROUTE_OBJ_RUN, K("s"), 0, &got, &p[1].w, on_wake, &p[1]);
    rcache_get(c, ROUTE_OBJ_RUN, K("t"), 0, &got, &p[2].w, on_wake, &p[2]);
    rcache_fill(c, ROUTE_OBJ_RUN, K("s"), 0, &f);
    assert_int_equal(p[0].calls, 1);
    assert_int_equal(p[1].calls, 1);
    assert_int_equal(p[1].st, LOOKUP_FOUND);
    assert_int_equal(p[2].calls, 1);
    assert_int_equal(p[2].st, LOOKUP_ERROR);
    rcache_stats(c, &st);
    assert_int_equal(st.entries, 0);
    assert_int_equal(st.flights, 0);
    lookup_facts_clear(&f);
    rcache_free(c);
}

static void test_invalidate(void **state)
{
    struct rcache *c = new_cache(100, 0);
    const struct lookup_facts *got;
    struct lookup_facts f;
    mk_facts(&f, ROUTE_OBJ_EXPERIMENT, "1", "old name", NULL);
    put(c, "x", 0, "1");
    rcache_invalidate(c, ROUTE_OBJ_RUN, K("x"));
    assert_int_equal(rcache_get(c, ROUTE_OBJ_RUN, K("x"), 0, &got, NULL, NULL, NULL), RCACHE_MISS);
    rcache_fail(c, ROUTE_OBJ_RUN, K("x"), LOOKUP_ERROR);
    rcache_invalidate(c, ROUTE_OBJ_RUN, K("absent"));
    /* invalidated while in flight: the waiters get the answer, the cache does not keep it */
    struct probe p = {0};
    rcache_get(c, ROUTE_OBJ_EXPERIMENT, K("1"), 0, &got, NULL, NULL, NULL);
    rcache_get(c, ROUTE_OBJ_EXPERIMENT, K("1"), 0, &got, &p.w, on_wake, &p);
    rcache_invalidate(c, ROUTE_OBJ_EXPERIMENT, K("1")); /* a rename was forwarded */
    rcache_fill(c, ROUTE_OBJ_EXPERIMENT, K("1"), 0, &f);
    assert_int_equal(p.calls, 1);
    assert_string_equal(p.name, "old name");
    assert_int_equal(rcache_get(c, ROUTE_OBJ_EXPERIMENT, K("1"), 0, &got, NULL, NULL, NULL),
                     RCACHE_MISS);
    rcache_fill(c, ROUTE_OBJ_EXPERIMENT, K("1"), 0, &f); /* a fresh answer is kept */
    assert_int_equal(rcache_get(c, ROUTE_OBJ_EXPERIMENT, K("1"), 0, &got, NULL, NULL, NULL),
                     RCACHE_HIT);
    /* clear: entries gone, look-ups in flight not stored */
    rcache_get(c, ROUTE_OBJ_EXPERIMENT, K("2"), 0, &got, NULL, NULL, NULL);
    rcache_clear(c);
    struct rcache_stats st;
    rcache_stats(c, &st);
    assert_int_equal(st.entries, 0);
    assert_int_equal(st.bytes, 0);
    assert_int_equal(st.flights, 1);
    rcache_fill(c, ROUTE_OBJ_EXPERIMENT, K("2"), 0, &f);
    assert_int_equal(rcache_get(c, ROUTE_OBJ_EXPERIMENT, K("2"), 0, &got, NULL, NULL, NULL),
                     RCACHE_MISS);
    rcache_fail(c, ROUTE_OBJ_EXPERIMENT, K("2"), LOOKUP_ERROR);
    lookup_facts_clear(&f);
    rcache_free(c);
}

static void test_abandoned(void **state)
{
    struct rcache *c = new_cache(100, 0);
    const struct lookup_facts *got;
    struct probe old = {0}, young = {0};
    rcache_get(c, ROUTE_OBJ_ISSUE, K("i"), 1000, &got, NULL, NULL, NULL);
    assert_int_equal(
        rcache_get(c, ROUTE_OBJ_ISSUE, K("i"), 1000 + 29999, &got, &old.w, on_wake, &old),
        RCACHE_WAITING);
    /* 30 s later the leader has not reported: its waiters fail, this get leads */
    assert_int_equal(rcache_get(c, ROUTE_OBJ_ISSUE, K("i"), 1000 + 30000, &got, NULL, NULL, NULL),
                     RCACHE_MISS);
    assert_int_equal(old.calls, 1);
    assert_int_equal(old.st, LOOKUP_ERROR);
    assert_int_equal(
        rcache_get(c, ROUTE_OBJ_ISSUE, K("i"), 1000 + 30001, &got, &young.w, on_wake, &young),
        RCACHE_WAITING);
    struct rcache_stats st;
    rcache_stats(c, &st);
    assert_int_equal(st.abandoned, 1);
    assert_int_equal(st.flights, 1);
    /* a late answer from the first leader is still good */
    struct lookup_facts f;
    mk_facts(&f, ROUTE_OBJ_ISSUE, "4", NULL, NULL);
    rcache_fill(c, ROUTE_OBJ_ISSUE, K("i"), 1000 + 31000, &f);
    lookup_facts_clear(&f);
    assert_int_equal(young.calls, 1);
    assert_string_equal(young.exp, "4");
    assert_int_equal(rcache_get(c, ROUTE_OBJ_ISSUE, K("i"), 1000 + 31000, &got, NULL, NULL, NULL),
                     RCACHE_HIT);
    rcache_free(c);
}

static void test_shutdown(void **state)
{
    struct rcache *c = new_cache(100, 0);
    const struct lookup_facts *got;
    struct probe p[3];
    memset(p, 0, sizeof(p));
    rcache_get(c, ROUTE_OBJ_RUN, K("a"), 0, &got, NULL, NULL, NULL);
    rcache_get(c, ROUTE_OBJ_RUN, K("b"), 0, &got, NULL, NULL, NULL);
    rcache_get(c, ROUTE_OBJ_RUN, K("a"), 0, &got, &p[0].w, on_wake, &p[0]);
    rcache_get(c, ROUTE_OBJ_RUN, K("b"), 0, &got, &p[1].w, on_wake, &p[1]);
    /* p[0]'s callback starts a new look-up: it must survive fail_all */
    p[0].cache = c;
    p[0].action = act_get_same_key;
    p[0].st = LOOKUP_ERROR;
    rcache_fail_all(c, LOOKUP_FOUND);
    assert_int_equal(p[0].calls, 1);
    assert_int_equal(p[0].st, LOOKUP_ERROR);
    assert_int_equal(p[1].calls, 1);
    struct rcache_stats st;
    rcache_stats(c, &st);
    assert_int_equal(st.flights, 1); /* the one started by p[0]'s callback */
    /* free with registered waiters: they are unlinked, never called */
    rcache_get(c, ROUTE_OBJ_RUN, K("c"), 0, &got, NULL, NULL, NULL);
    rcache_get(c, ROUTE_OBJ_RUN, K("c"), 0, &got, &p[2].w, on_wake, &p[2]);
    put(c, "d", 0, "1");
    rcache_free(c);
    assert_int_equal(p[2].calls, 0);
    assert_null(p[2].w.flight);
    rcache_cancel(&p[2].w); /* harmless after free */
}

static void test_conf(void **state)
{
    struct rcache_conf conf;
    char err[128];
    rcache_conf_default(&conf);
    conf.max_entries = 0;
    assert_null(rcache_new(&conf, err, sizeof(err)));
    rcache_conf_default(&conf);
    conf.max_bytes = 0;
    assert_null(rcache_new(&conf, err, sizeof(err)));
    rcache_conf_default(&conf);
    conf.flight_timeout_ms = 0;
    assert_null(rcache_new(&conf, err, sizeof(err)));
    rcache_conf_default(&conf);
    conf.ttl_ms[ROUTE_OBJ_RUN] = -1;
    assert_null(rcache_new(&conf, err, sizeof(err)));
    assert_null(rcache_new(NULL, err, sizeof(err)));
    /* a random hash key by default */
    rcache_conf_default(&conf);
    struct rcache *c = rcache_new(&conf, err, sizeof(err));
    assert_non_null(c);
    put(c, "a", 0, "1");
    assert_true(has(c, "a", 0));
    rcache_free(c);
}

/* Many keys, many kinds: every key is found again (the tables hold up). */
static void test_many_keys(void **state)
{
    struct rcache *c = new_cache(50000, 64u << 20);
    char id[40];
    for (int i = 0; i < 50000; i++) {
        snprintf(id, sizeof(id), "%032x", i * 2654435761u);
        put(c, id, 0, "1");
    }
    for (int i = 0; i < 50000; i++) {
        snprintf(id, sizeof(id), "%032x", i * 2654435761u);
        assert_true(has(c, id, 1));
    }
    struct rcache_stats st;
    rcache_stats(c, &st);
    assert_int_equal(st.entries, 50000);
    assert_int_equal(st.evictions, 0);
    rcache_free(c);
}

/* Random operations against a reference model (linear LRU list with expiry). */
#define NKEYS 40
#define CAP   12

struct ref {
    bool present;
    int64_t expires;
    uint64_t used;
    int value;
};

static void test_model(void **state)
{
    struct rcache *c = new_cache(CAP, 1u << 30);
    struct ref ref[NKEYS] = {{0}};
    uint64_t tick = 0;
    int64_t now = 0;
    unsigned seed = 99;
    const struct lookup_facts *got;
    char id[16];
    for (int it = 0; it < 200000; it++) {
        seed = seed * 1103515245u + 12345u;
        int k = (int)((seed >> 16) % NKEYS);
        int op = (int)((seed >> 8) % 10);
        snprintf(id, sizeof(id), "k%d", k);
        enum route_object kind = k % 2 ? ROUTE_OBJ_RUN : ROUTE_OBJ_EXPERIMENT;
        int64_t ttl = k % 2 ? RCACHE_TTL_IMMUTABLE_MS : RCACHE_TTL_MUTABLE_MS;
        if (op == 0) {
            now += (seed >> 4) % 20000;
            continue;
        }
        if (op == 1) {
            rcache_invalidate(c, kind, id, strlen(id));
            ref[k].present = false;
            continue;
        }
        enum rcache_result r = rcache_get(c, kind, id, strlen(id), now, &got, NULL, NULL, NULL);
        bool want_hit = ref[k].present && now < ref[k].expires;
        if (ref[k].present && !want_hit)
            ref[k].present = false;
        if (want_hit) {
            assert_int_equal(r, RCACHE_HIT);
            assert_int_equal(atoi(got->experiment_id), ref[k].value);
            ref[k].used = ++tick;
            continue;
        }
        assert_int_equal(r, RCACHE_MISS);
        if (op == 2) {
            rcache_fail(c, kind, id, strlen(id), LOOKUP_NOT_FOUND);
            continue;
        }
        int value = (int)(seed % 100000);
        char exp[16];
        snprintf(exp, sizeof(exp), "%d", value);
        struct lookup_facts f;
        mk_facts(&f, kind, exp, NULL, NULL);
        rcache_fill(c, kind, id, strlen(id), now, &f);
        lookup_facts_clear(&f);
        ref[k] = (struct ref){true, now + ttl, ++tick, value};
        /* evict down to CAP by least recent use; expired entries still count until seen */
        int n = 0;
        for (int i = 0; i < NKEYS; i++)
            n += ref[i].present;
        while (n > CAP) {
            int lru = -1;
            for (int i = 0; i < NKEYS; i++)
                if (ref[i].present && (lru < 0 || ref[i].used < ref[lru].used))
                    lru = i;
            ref[lru].present = false;
            n--;
        }
        struct rcache_stats st;
        rcache_stats(c, &st);
        assert_int_equal(st.entries, n);
    }
    rcache_free(c);
}

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* Cost of a hit and of a fill, and memory per entry (printed; the build type matters). */
static void test_cost(void **state)
{
    enum { N = 100000 };
    struct rcache *c = new_cache(N, 256u << 20);
    char(*ids)[40] = malloc(sizeof(*ids) * N);
    for (int i = 0; i < N; i++)
        snprintf(ids[i], sizeof(ids[i]), "%08x%024x", i, i * 2654435761u); /* a run id */
    struct lookup_facts f;
    mk_facts(&f, ROUTE_OBJ_RUN, "123", NULL, NULL);
    const struct lookup_facts *got;
    double t0 = now_ns();
    for (int i = 0; i < N; i++) {
        rcache_get(c, ROUTE_OBJ_RUN, ids[i], 32, 0, &got, NULL, NULL, NULL);
        rcache_fill(c, ROUTE_OBJ_RUN, ids[i], 32, 0, &f);
    }
    double t1 = now_ns();
    struct rcache_stats st;
    rcache_stats(c, &st);
    size_t per_run = st.bytes / st.entries;
    int hits = 0;
    double t2 = now_ns();
    for (int round = 0; round < 10; round++)
        for (int i = 0; i < N; i++)
            hits += rcache_get(c, ROUTE_OBJ_RUN, ids[((unsigned)i * 7919u) % N], 32, 1, &got, NULL,
                               NULL, NULL) == RCACHE_HIT;
    double t3 = now_ns();
    assert_int_equal(hits, 10 * N);
    /* a hot set of 1,000 entries (the usual working set of a worker) */
    hits = 0;
    double t4 = now_ns();
    for (int i = 0; i < 10 * N; i++)
        hits += rcache_get(c, ROUTE_OBJ_RUN, ids[((unsigned)i * 7919u) % 1000u], 32, 1, &got, NULL,
                           NULL, NULL) == RCACHE_HIT;
    double t5 = now_ns();
    assert_int_equal(hits, 10 * N);
    lookup_facts_clear(&f);
    /* experiment facts with a name and an owner */
    rcache_clear(c);
    mk_facts(&f, ROUTE_OBJ_EXPERIMENT, "123", "/Users/alice@acme.example/churn/baseline",
             "alice@acme.example");
    for (int i = 0; i < 1000; i++) {
        char id[16];
        snprintf(id, sizeof(id), "%d", i + 1);
        rcache_fill(c, ROUTE_OBJ_EXPERIMENT, id, strlen(id), 0, &f);
    }
    rcache_stats(c, &st);
    size_t per_exp = st.bytes / st.entries;
    lookup_facts_clear(&f);
    print_message("rcache: miss+fill %.0f ns; hit %.0f ns (hot set of 1,000), %.0f ns (any of "
                  "100k, random order); bytes per entry (cache accounting, + malloc overhead): "
                  "run %zu, experiment %zu; struct lookup_facts %zu\n",
                  (t1 - t0) / N, (t5 - t4) / (10.0 * N), (t3 - t2) / (10.0 * N), per_run, per_exp,
                  sizeof(struct lookup_facts));
    free(ids);
    rcache_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hit_and_copy), cmocka_unit_test(test_peek),
        cmocka_unit_test(test_ttl),          cmocka_unit_test(test_lru),
        cmocka_unit_test(test_bytes_bound),  cmocka_unit_test(test_coalescing),
        cmocka_unit_test(test_failures),     cmocka_unit_test(test_cancel),
        cmocka_unit_test(test_reentrancy),   cmocka_unit_test(test_invalidate),
        cmocka_unit_test(test_abandoned),    cmocka_unit_test(test_shutdown),
        cmocka_unit_test(test_conf),         cmocka_unit_test(test_many_keys),
        cmocka_unit_test(test_model),        cmocka_unit_test(test_cost),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
