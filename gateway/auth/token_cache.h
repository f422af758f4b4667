/*
 * token_cache: a bounded map from SHA-256(credential) to a verified principal, owned by one
 * worker thread (no locking at all). Entries expire at a deadline given on insertion (the
 * token's exp plus leeway); the least recently used entry is evicted when full. Each entry
 * carries the generation of the authentication state it was last validated under plus what
 * is needed to re-validate it cheaply after a change (kind, issuer index, kid, key
 * fingerprint, jti): authn.c decides, this module only stores.
 */
#ifndef WARDEN_AUTH_TOKEN_CACHE_H
#define WARDEN_AUTH_TOKEN_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "auth/digest.h"
#include "auth/jose.h"
#include "auth/principal.h"

struct token_entry {
    unsigned char hash[SHA256_LEN];
    const struct principal *principal; /* one reference held by the cache */
    int64_t deadline_ms;
    uint64_t gen;
    enum authn_method method;
    size_t issuer; /* JWT: issuer index */
    bool has_kid;
    char kid[JOSE_KID_MAX + 1];
    unsigned char key_fp[SHA256_LEN];
    /* internal */
    struct token_entry *hnext;
    struct token_entry *prev, *next; /* LRU, most recent first */
};

struct token_cache;

/* capacity 0 disables caching (every lookup misses, inserts are dropped). */
struct token_cache *token_cache_new(size_t capacity);
void token_cache_free(struct token_cache *c);

/* Entry for hash, or NULL. Expired entries are dropped on the way. */
struct token_entry *token_cache_get(struct token_cache *c, const unsigned char hash[SHA256_LEN],
                                    int64_t now_ms);

/* Insert (or replace) an entry; the cache takes over the principal reference in e->principal.
 * Returns the stored entry, or NULL when caching is off or memory is short (the reference is
 * then released). */
struct token_entry *token_cache_put(struct token_cache *c, const struct token_entry *e);

void token_cache_remove(struct token_cache *c, struct token_entry *e);

size_t token_cache_size(const struct token_cache *c);

#endif
