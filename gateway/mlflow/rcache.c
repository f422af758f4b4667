/*
 * rcache: see rcache.h. Two chained hash tables keyed by SipHash-1-3 of (kind, id): entries
 * (bucket count a power of two >= max_entries, plus an intrusive LRU list) and look-ups in
 * flight (each with an intrusive list of caller-owned waiters). An entry is one allocation:
 * the header, the key, then the facts' strings and experiment ids, which its struct
 * lookup_facts points into.
 *
 * Wake-ups are re-entrancy safe: a flight is unlinked from the table before its first
 * callback runs and freed after the last, and its waiters are popped one at a time, so a
 * callback may get/fill/fail (creating a new flight for the same key), cancel any waiter
 * (including one of the flight being woken), invalidate or clear.
 *
 * Known limit: a flight abandoned after flight_timeout_ms loses its "invalidated" mark; if
 * its owner still fills much later, that answer wakes (and is stored for) the flight that
 * replaced it. The owner's upstream timeout is meant to be shorter than flight_timeout_ms.
 */
#include "mlflow/rcache.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

struct rc_entry {
    struct rc_entry *hnext;
    struct rc_entry *lprev, *lnext; /* LRU: head = most recent */
    uint64_t hash;
    int64_t expires;
    size_t bytes;
    size_t keylen;
    enum route_object kind;
    struct lookup_facts facts;
    char data[]; /* key, then the facts' strings and experiment ids */
};

struct rcache_flight {
    struct rcache_flight *hnext;
    struct rcache *cache;
    uint64_t hash;
    int64_t started;
    enum route_object kind;
    bool poisoned; /* invalidated while in flight: do not store the answer */
    bool linked;   /* in the flights table */
    struct rcache_waiter *head, *tail;
    size_t keylen;
    char key[];
};

struct rcache {
    struct rcache_conf conf;
    uint64_t k0, k1;
    struct rc_entry **ebuckets;
    size_t emask;
    struct rc_entry *lru_head, *lru_tail;
    struct rcache_flight **fbuckets;
    size_t fmask;
    struct rcache_stats st;
};

/* ---------------- SipHash-1-3 ---------------- */

static uint64_t rotl(uint64_t x, int b)
{
    return (x << b) | (x >> (64 - b));
}

static uint64_t load_le64(const unsigned char *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof(v));
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap64(v);
#endif
    return v;
}

#define SIPROUND(v0, v1, v2, v3)                                                                   \
    do {                                                                                           \
        v0 += v1;                                                                                  \
        v1 = rotl(v1, 13);                                                                         \
        v1 ^= v0;                                                                                  \
        v0 = rotl(v0, 32);                                                                         \
        v2 += v3;                                                                                  \
        v3 = rotl(v3, 16);                                                                         \
        v3 ^= v2;                                                                                  \
        v0 += v3;                                                                                  \
        v3 = rotl(v3, 21);                                                                         \
        v3 ^= v0;                                                                                  \
        v2 += v1;                                                                                  \
        v1 = rotl(v1, 17);                                                                         \
        v1 ^= v2;                                                                                  \
        v2 = rotl(v2, 32);                                                                         \
    } while (0)

/* SipHash-1-3 of id, keyed by the cache's key with the kind mixed into its first half (a
 * different key per kind, so equal ids of two kinds hash independently). */
static uint64_t key_hash(const struct rcache *c, enum route_object kind, const char *id, size_t len)
{
    uint64_t k0 = c->k0 ^ ((uint64_t)(unsigned)kind * 0x9e3779b97f4a7c15ULL), k1 = c->k1;
    uint64_t v0 = 0x736f6d6570736575ULL ^ k0, v1 = 0x646f72616e646f6dULL ^ k1;
    uint64_t v2 = 0x6c7967656e657261ULL ^ k0, v3 = 0x7465646279746573ULL ^ k1;
    const unsigned char *p = (const unsigned char *)id;
    size_t i = 0;
    for (; len - i >= 8; i += 8) {
        uint64_t m = load_le64(p + i);
        v3 ^= m;
        SIPROUND(v0, v1, v2, v3);
        v0 ^= m;
    }
    unsigned char tail[8] = {0};
    if (len > i)
        memcpy(tail, p + i, len - i);
    uint64_t b = ((uint64_t)(len & 0xff) << 56) | load_le64(tail);
    v3 ^= b;
    SIPROUND(v0, v1, v2, v3);
    v0 ^= b;
    v2 ^= 0xff;
    SIPROUND(v0, v1, v2, v3);
    SIPROUND(v0, v1, v2, v3);
    SIPROUND(v0, v1, v2, v3);
    return v0 ^ v1 ^ v2 ^ v3;
}

/* ---------------- configuration ---------------- */

void rcache_conf_default(struct rcache_conf *conf)
{
    memset(conf, 0, sizeof(*conf));
    conf->max_entries = 10000;
    conf->max_bytes = 16u << 20;
    conf->flight_timeout_ms = 30000;
    for (int k = 0; k < ROUTE_OBJ_COUNT; k++)
        conf->ttl_ms[k] = 0;
    conf->ttl_ms[ROUTE_OBJ_RUN] = RCACHE_TTL_IMMUTABLE_MS;
    conf->ttl_ms[ROUTE_OBJ_TRACE] = RCACHE_TTL_IMMUTABLE_MS;
    conf->ttl_ms[ROUTE_OBJ_LOGGED_MODEL] = RCACHE_TTL_IMMUTABLE_MS;
    conf->ttl_ms[ROUTE_OBJ_LABEL_SCHEMA] = RCACHE_TTL_IMMUTABLE_MS;
    conf->ttl_ms[ROUTE_OBJ_REVIEW_QUEUE] = RCACHE_TTL_IMMUTABLE_MS;
    conf->ttl_ms[ROUTE_OBJ_ISSUE] = RCACHE_TTL_IMMUTABLE_MS;
    conf->ttl_ms[ROUTE_OBJ_JOB] = RCACHE_TTL_IMMUTABLE_MS;
    conf->ttl_ms[ROUTE_OBJ_EXPERIMENT] = RCACHE_TTL_MUTABLE_MS;
    conf->ttl_ms[ROUTE_OBJ_EXPERIMENT_NAME] = RCACHE_TTL_MUTABLE_MS;
    conf->ttl_ms[ROUTE_OBJ_MODEL] = RCACHE_TTL_MUTABLE_MS;
    conf->ttl_ms[ROUTE_OBJ_DATASET] = RCACHE_TTL_MUTABLE_MS;
}

static size_t pow2_at_least(size_t n)
{
    size_t p = 16;
    while (p < n && p < ((size_t)1 << 30))
        p <<= 1;
    return p;
}

struct rcache *rcache_new(const struct rcache_conf *conf, char *err, size_t errlen)
{
    struct rcache *c = NULL;
    if (!conf || conf->max_entries == 0 || conf->max_bytes == 0 || conf->flight_timeout_ms <= 0) {
        snprintf(err, errlen, "rcache: max_entries, max_bytes and flight_timeout_ms must be > 0");
        return NULL;
    }
    for (int k = 0; k < ROUTE_OBJ_COUNT; k++) {
        if (conf->ttl_ms[k] < 0) {
            snprintf(err, errlen, "rcache: negative TTL for %s", route_object_name(k));
            return NULL;
        }
    }
    c = calloc(1, sizeof(*c));
    if (!c)
        goto oom;
    c->conf = *conf;
    unsigned char key[16];
    memcpy(key, conf->hash_key, sizeof(key));
    static const unsigned char zero[16];
    if (memcmp(key, zero, sizeof(key)) == 0 && getrandom(key, sizeof(key), 0) != sizeof(key)) {
        snprintf(err, errlen, "rcache: no random bytes for the hash key");
        goto fail;
    }
    c->k0 = load_le64(key);
    c->k1 = load_le64(key + 8);
    size_t nb = pow2_at_least(conf->max_entries);
    size_t nf = pow2_at_least(conf->max_entries < 4096 ? conf->max_entries : 4096);
    c->ebuckets = calloc(nb, sizeof(*c->ebuckets));
    c->fbuckets = calloc(nf, sizeof(*c->fbuckets));
    if (!c->ebuckets || !c->fbuckets)
        goto oom;
    c->emask = nb - 1;
    c->fmask = nf - 1;
    return c;
oom:
    snprintf(err, errlen, "rcache: out of memory");
fail:
    rcache_free(c);
    return NULL;
}

/* ---------------- entries ---------------- */

static bool key_eq(enum route_object k1, const char *a, size_t al, enum route_object k2,
                   const char *b, size_t bl)
{
    return k1 == k2 && al == bl && memcmp(a, b, al) == 0;
}

static struct rc_entry **entry_slot(struct rcache *c, uint64_t h, enum route_object kind,
                                    const char *id, size_t len)
{
    struct rc_entry **pp = &c->ebuckets[h & c->emask];
    for (; *pp; pp = &(*pp)->hnext) {
        struct rc_entry *e = *pp;
        if (e->hash == h && key_eq(e->kind, e->data, e->keylen, kind, id, len))
            return pp;
    }
    return pp;
}

static void lru_unlink(struct rcache *c, struct rc_entry *e)
{
    if (e->lprev)
        e->lprev->lnext = e->lnext;
    else
        c->lru_head = e->lnext;
    if (e->lnext)
        e->lnext->lprev = e->lprev;
    else
        c->lru_tail = e->lprev;
    e->lprev = e->lnext = NULL;
}

static void lru_push_front(struct rcache *c, struct rc_entry *e)
{
    e->lprev = NULL;
    e->lnext = c->lru_head;
    if (c->lru_head)
        c->lru_head->lprev = e;
    c->lru_head = e;
    if (!c->lru_tail)
        c->lru_tail = e;
}

/* Removes the entry *pp from the table and frees it. */
static void entry_remove(struct rcache *c, struct rc_entry **pp)
{
    struct rc_entry *e = *pp;
    *pp = e->hnext;
    lru_unlink(c, e);
    c->st.entries--;
    c->st.bytes -= e->bytes;
    free(e);
}

static void entry_remove_ptr(struct rcache *c, struct rc_entry *e)
{
    struct rc_entry **pp = entry_slot(c, e->hash, e->kind, e->data, e->keylen);
    if (*pp == e)
        entry_remove(c, pp);
}

/* One allocation holding the key and a deep copy of the facts. */
static struct rc_entry *entry_build(enum route_object kind, const char *id, size_t len,
                                    const struct lookup_facts *f)
{
    size_t name_len = f->name ? f->name_len + 1 : 0;
    size_t owner_len = f->owner ? f->owner_len + 1 : 0;
    size_t exp_bytes = f->nexperiments * sizeof(*f->experiments);
    size_t extra = len + name_len + owner_len + exp_bytes;
    struct rc_entry *e = malloc(sizeof(*e) + extra);
    if (!e)
        return NULL;
    memset(e, 0, sizeof(*e));
    e->bytes = sizeof(*e) + extra;
    e->kind = kind;
    e->keylen = len;
    char *p = e->data;
    memcpy(p, id, len);
    p += len;
    e->facts = *f;
    e->facts.name = NULL;
    e->facts.owner = NULL;
    e->facts.experiments = NULL;
    if (f->name) {
        memcpy(p, f->name, f->name_len);
        p[f->name_len] = '\0';
        e->facts.name = p;
        p += name_len;
    }
    if (f->owner) {
        memcpy(p, f->owner, f->owner_len);
        p[f->owner_len] = '\0';
        e->facts.owner = p;
        p += owner_len;
    }
    if (exp_bytes) {
        memcpy(p, f->experiments, exp_bytes);
        e->facts.experiments = (char(*)[LOOKUP_EXP_ID_MAX])p;
    } else {
        e->facts.nexperiments = 0;
    }
    return e;
}

/* ---------------- flights ---------------- */

static struct rcache_flight **flight_slot(struct rcache *c, uint64_t h, enum route_object kind,
                                          const char *id, size_t len)
{
    struct rcache_flight **pp = &c->fbuckets[h & c->fmask];
    for (; *pp; pp = &(*pp)->hnext) {
        struct rcache_flight *f = *pp;
        if (f->hash == h && key_eq(f->kind, f->key, f->keylen, kind, id, len))
            return pp;
    }
    return pp;
}

/* Unlinks the flight *pp from the table (its waiters stay attached). */
static struct rcache_flight *flight_detach(struct rcache *c, struct rcache_flight **pp)
{
    struct rcache_flight *f = *pp;
    *pp = f->hnext;
    f->hnext = NULL;
    f->linked = false;
    c->st.flights--;
    return f;
}

static void waiter_unlink(struct rcache_waiter *w)
{
    struct rcache_flight *f = w->flight;
    if (w->prev)
        w->prev->next = w->next;
    else
        f->head = w->next;
    if (w->next)
        w->next->prev = w->prev;
    else
        f->tail = w->prev;
    w->prev = w->next = NULL;
    w->flight = NULL;
    f->cache->st.waiters--;
}

/* Wakes the waiters of a detached flight one at a time, then frees it. */
static void flight_wake(struct rcache_flight *f, enum lookup_status st,
                        const struct lookup_facts *facts)
{
    while (f->head) {
        struct rcache_waiter *w = f->head;
        rcache_wake_fn fn = w->fn;
        void *arg = w->arg;
        waiter_unlink(w);
        if (fn)
            fn(arg, st, st == LOOKUP_FOUND ? facts : NULL);
    }
    free(f);
}

/* ---------------- API ---------------- */

/* The live entry of a key, made most recent; an expired one is dropped. */
static struct rc_entry *entry_live(struct rcache *c, uint64_t h, enum route_object kind,
                                   const char *id, size_t len, int64_t now_ms)
{
    struct rc_entry **pp = entry_slot(c, h, kind, id, len);
    struct rc_entry *e = *pp;
    if (!e)
        return NULL;
    if (now_ms >= e->expires) {
        entry_remove(c, pp);
        c->st.expirations++;
        return NULL;
    }
    if (c->lru_head != e) {
        lru_unlink(c, e);
        lru_push_front(c, e);
    }
    c->st.hits++;
    return e;
}

bool rcache_peek(struct rcache *c, enum route_object kind, const char *id, size_t len,
                 int64_t now_ms, const struct lookup_facts **facts)
{
    if (facts)
        *facts = NULL;
    if (!id) {
        id = "";
        len = 0;
    }
    struct rc_entry *e = entry_live(c, key_hash(c, kind, id, len), kind, id, len, now_ms);
    if (e && facts)
        *facts = &e->facts;
    return e != NULL;
}

enum rcache_result rcache_get(struct rcache *c, enum route_object kind, const char *id, size_t len,
                              int64_t now_ms, const struct lookup_facts **facts,
                              struct rcache_waiter *w, rcache_wake_fn fn, void *arg)
{
    if (facts)
        *facts = NULL;
    if (w && w->flight)
        rcache_cancel(w);
    if (!id) {
        id = "";
        len = 0;
    }
    uint64_t h = key_hash(c, kind, id, len);
    struct rc_entry *e = entry_live(c, h, kind, id, len, now_ms);
    if (e) {
        if (facts)
            *facts = &e->facts;
        return RCACHE_HIT;
    }
    struct rcache_flight **fp = flight_slot(c, h, kind, id, len);
    if (*fp && now_ms - (*fp)->started >= c->conf.flight_timeout_ms) {
        /* Abandoned: its owner never reported. Fail its waiters; this get takes over. */
        struct rcache_flight *old = flight_detach(c, fp);
        c->st.abandoned++;
        flight_wake(old, LOOKUP_ERROR, NULL);
        fp = flight_slot(c, h, kind, id, len); /* callbacks may have changed the table */
    }
    if (*fp) {
        if (!w) {
            c->st.misses++;
            return RCACHE_MISS;
        }
        struct rcache_flight *f = *fp;
        w->fn = fn;
        w->arg = arg;
        w->flight = f;
        w->next = NULL;
        w->prev = f->tail;
        if (f->tail)
            f->tail->next = w;
        else
            f->head = w;
        f->tail = w;
        c->st.waiters++;
        c->st.waits++;
        return RCACHE_WAITING;
    }
    c->st.misses++;
    struct rcache_flight *f = malloc(sizeof(*f) + len);
    if (!f)
        return RCACHE_MISS; /* no coalescing, the look-up still works */
    memset(f, 0, sizeof(*f));
    f->cache = c;
    f->hash = h;
    f->started = now_ms;
    f->kind = kind;
    f->keylen = len;
    if (len)
        memcpy(f->key, id, len);
    f->linked = true;
    f->hnext = NULL;
    *fp = f;
    c->st.flights++;
    return RCACHE_MISS;
}

/* Inserts e (replacing an entry with the same key) and evicts down to the limits. */
static void entry_insert(struct rcache *c, struct rc_entry *e)
{
    struct rc_entry **pp = entry_slot(c, e->hash, e->kind, e->data, e->keylen);
    if (*pp)
        entry_remove(c, pp);
    pp = &c->ebuckets[e->hash & c->emask];
    e->hnext = *pp;
    *pp = e;
    lru_push_front(c, e);
    c->st.entries++;
    c->st.bytes += e->bytes;
    while (c->lru_tail != e &&
           (c->st.entries > c->conf.max_entries || c->st.bytes > c->conf.max_bytes)) {
        entry_remove_ptr(c, c->lru_tail);
        c->st.evictions++;
    }
}

int rcache_fill(struct rcache *c, enum route_object kind, const char *id, size_t len,
                int64_t now_ms, const struct lookup_facts *facts)
{
    if (!id) {
        id = "";
        len = 0;
    }
    uint64_t h = key_hash(c, kind, id, len);
    struct rcache_flight **fp = flight_slot(c, h, kind, id, len);
    struct rcache_flight *f = *fp ? flight_detach(c, fp) : NULL;
    int rc = 0;
    c->st.fills++;
    int64_t ttl = (unsigned)kind < ROUTE_OBJ_COUNT ? c->conf.ttl_ms[kind] : 0;
    if (facts && ttl > 0 && !(f && f->poisoned)) {
        struct rc_entry *e = entry_build(kind, id, len, facts);
        if (!e) {
            rc = -1;
        } else if (e->bytes > c->conf.max_bytes) {
            free(e);
        } else {
            e->hash = h;
            e->expires = now_ms + ttl;
            entry_insert(c, e);
        }
    }
    if (f)
        flight_wake(f, facts ? LOOKUP_FOUND : LOOKUP_ERROR, facts);
    return rc;
}

void rcache_fail(struct rcache *c, enum route_object kind, const char *id, size_t len,
                 enum lookup_status st)
{
    if (st == LOOKUP_FOUND)
        st = LOOKUP_ERROR;
    if (!id) {
        id = "";
        len = 0;
    }
    uint64_t h = key_hash(c, kind, id, len);
    c->st.failures++;
    if (st == LOOKUP_NOT_FOUND) {
        struct rc_entry **pp = entry_slot(c, h, kind, id, len);
        if (*pp)
            entry_remove(c, pp);
    }
    struct rcache_flight **fp = flight_slot(c, h, kind, id, len);
    if (*fp)
        flight_wake(flight_detach(c, fp), st, NULL);
}

void rcache_cancel(struct rcache_waiter *w)
{
    if (w && w->flight)
        waiter_unlink(w);
}

void rcache_invalidate(struct rcache *c, enum route_object kind, const char *id, size_t len)
{
    if (!id) {
        id = "";
        len = 0;
    }
    uint64_t h = key_hash(c, kind, id, len);
    c->st.invalidations++;
    struct rc_entry **pp = entry_slot(c, h, kind, id, len);
    if (*pp)
        entry_remove(c, pp);
    struct rcache_flight **fp = flight_slot(c, h, kind, id, len);
    if (*fp)
        (*fp)->poisoned = true;
}

void rcache_clear(struct rcache *c)
{
    while (c->lru_tail)
        entry_remove_ptr(c, c->lru_tail);
    for (size_t i = 0; i <= c->fmask; i++)
        for (struct rcache_flight *f = c->fbuckets[i]; f; f = f->hnext)
            f->poisoned = true;
}

void rcache_fail_all(struct rcache *c, enum lookup_status st)
{
    if (st == LOOKUP_FOUND)
        st = LOOKUP_ERROR;
    /* Detach every flight first: callbacks may start new look-ups, which must survive. */
    struct rcache_flight *list = NULL;
    for (size_t i = 0; i <= c->fmask; i++) {
        while (c->fbuckets[i]) {
            struct rcache_flight *f = flight_detach(c, &c->fbuckets[i]);
            f->hnext = list;
            list = f;
        }
    }
    while (list) {
        struct rcache_flight *f = list;
        list = f->hnext;
        c->st.failures++;
        flight_wake(f, st, NULL);
    }
}

void rcache_free(struct rcache *c)
{
    if (!c)
        return;
    if (c->ebuckets) {
        struct rc_entry *e = c->lru_head;
        while (e) {
            struct rc_entry *n = e->lnext;
            free(e);
            e = n;
        }
    }
    if (c->fbuckets) {
        for (size_t i = 0; i <= c->fmask; i++) {
            struct rcache_flight *f = c->fbuckets[i];
            while (f) {
                struct rcache_flight *n = f->hnext;
                while (f->head)
                    waiter_unlink(f->head);
                free(f);
                f = n;
            }
        }
    }
    free(c->ebuckets);
    free(c->fbuckets);
    free(c);
}

void rcache_stats(const struct rcache *c, struct rcache_stats *out)
{
    *out = c->st;
}
