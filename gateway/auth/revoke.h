/*
 * revoke: the set of revoked credentials. Entries are strings:
 *   sha256:<64 lowercase hex>   SHA-256 of a token (a PAT or a whole JWT), as wardenctl prints
 *   jti:<value>                 a JWT ID (any issuer); 1..256 printable characters
 * The revocation file holds one entry per line; blank lines and '#' comments are ignored.
 * The same strings are members of the Redis set and payloads of the pub/sub announcements.
 *
 * A revset is immutable and reference counted: built on the control thread, read lock-free by
 * workers. Adding an entry builds a new set (revocations are rare, lookups are per request).
 */
#ifndef WARDEN_AUTH_REVOKE_H
#define WARDEN_AUTH_REVOKE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "auth/digest.h"

#define REVOKE_ENTRY_MAX 300

struct revset {
    atomic_long refs;
    char **items;
    size_t n;
    uint32_t *slots; /* item index + 1, 0 = empty */
    size_t mask;
};

/* Normalise and validate one entry (hex lowercased). out must hold REVOKE_ENTRY_MAX bytes. */
int revoke_entry_normalise(const char *in, size_t len, char *out, char *err, size_t errlen);

/* Parse file text (pure) into a malloc'ed array of malloc'ed normalised entries. Any bad line
 * fails the parse ("name:line: reason"). */
int revoke_parse(const char *text, size_t len, const char *name, char ***items, size_t *n,
                 char *err, size_t errlen);

/* Build a set from items (ownership of the strings and the array passes to the set; duplicates
 * are dropped). Returns NULL on allocation failure (items are then freed). */
struct revset *revset_new(char **items, size_t n);

/* New set = base (may be NULL) plus extra entries (copied). NULL on allocation failure. */
struct revset *revset_with(const struct revset *base, char *const *extra, size_t nextra);

bool revset_has(const struct revset *s, const char *entry);
bool revset_has_hash(const struct revset *s, const unsigned char hash[SHA256_LEN]);
bool revset_has_jti(const struct revset *s, const char *jti);

struct revset *revset_ref(struct revset *s);
void revset_release(struct revset *s);

void revoke_items_free(char **items, size_t n);

#endif
