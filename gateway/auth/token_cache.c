/*
 * token_cache: see token_cache.h. Chained hash table (bucket index from the first bytes of the
 * SHA-256, which are uniformly distributed) plus an intrusive LRU list.
 */
#include "auth/token_cache.h"

#include <stdlib.h>
#include <string.h>

struct token_cache {
    size_t capacity, size, mask;
    struct token_entry **buckets;
    struct token_entry *head, *tail;
};

struct token_cache *token_cache_new(size_t capacity)
{
    struct token_cache *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    size_t nb = 16;
    while (nb < capacity)
        nb <<= 1;
    c->buckets = calloc(nb, sizeof(*c->buckets));
    if (!c->buckets) {
        free(c);
        return NULL;
    }
    c->mask = nb - 1;
    c->capacity = capacity;
    return c;
}

static size_t bucket_of(const struct token_cache *c, const unsigned char *hash)
{
    uint64_t v;
    memcpy(&v, hash, sizeof(v));
    return (size_t)v & c->mask;
}

static void lru_unlink(struct token_cache *c, struct token_entry *e)
{
    if (e->prev)
        e->prev->next = e->next;
    else
        c->head = e->next;
    if (e->next)
        e->next->prev = e->prev;
    else
        c->tail = e->prev;
    e->prev = e->next = NULL;
}

static void lru_push_front(struct token_cache *c, struct token_entry *e)
{
    e->prev = NULL;
    e->next = c->head;
    if (c->head)
        c->head->prev = e;
    c->head = e;
    if (!c->tail)
        c->tail = e;
}

void token_cache_remove(struct token_cache *c, struct token_entry *e)
{
    struct token_entry **pp = &c->buckets[bucket_of(c, e->hash)];
    while (*pp && *pp != e)
        pp = &(*pp)->hnext;
    if (*pp)
        *pp = e->hnext;
    lru_unlink(c, e);
    principal_release(e->principal);
    free(e);
    c->size--;
}

void token_cache_free(struct token_cache *c)
{
    if (!c)
        return;
    while (c->head)
        token_cache_remove(c, c->head);
    free(c->buckets);
    free(c);
}

struct token_entry *token_cache_get(struct token_cache *c, const unsigned char hash[SHA256_LEN],
                                    int64_t now_ms)
{
    for (struct token_entry *e = c->buckets[bucket_of(c, hash)]; e; e = e->hnext) {
        if (memcmp(e->hash, hash, SHA256_LEN) != 0)
            continue;
        if (now_ms >= e->deadline_ms) {
            token_cache_remove(c, e);
            return NULL;
        }
        if (c->head != e) {
            lru_unlink(c, e);
            lru_push_front(c, e);
        }
        return e;
    }
    return NULL;
}

struct token_entry *token_cache_put(struct token_cache *c, const struct token_entry *src)
{
    if (c->capacity == 0) {
        principal_release(src->principal);
        return NULL;
    }
    for (struct token_entry *e = c->buckets[bucket_of(c, src->hash)]; e; e = e->hnext)
        if (memcmp(e->hash, src->hash, SHA256_LEN) == 0) {
            token_cache_remove(c, e);
            break;
        }
    while (c->size >= c->capacity && c->tail)
        token_cache_remove(c, c->tail);
    struct token_entry *e = malloc(sizeof(*e));
    if (!e) {
        principal_release(src->principal);
        return NULL;
    }
    *e = *src;
    size_t b = bucket_of(c, e->hash);
    e->hnext = c->buckets[b];
    c->buckets[b] = e;
    e->prev = e->next = NULL;
    lru_push_front(c, e);
    c->size++;
    return e;
}

size_t token_cache_size(const struct token_cache *c)
{
    return c ? c->size : 0;
}
