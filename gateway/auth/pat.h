/*
 * pat: personal access tokens. Owns the token format, the record format admins manage, and the
 * immutable lookup table workers consult.
 *
 * Token: "wdn_pat_" + 32 random base62 characters (~190 bits from RAND_bytes) + 6 base62
 * characters of CRC-32 over everything before them. The prefix lets secret scanners find
 * leaked tokens; the checksum lets them (and Warden) reject typos and random strings without
 * a lookup. Only SHA-256(token) is ever stored.
 *
 * Record: one JSON object per line (blank lines and lines starting with '#' are ignored):
 *   {"id":"pat_3f9a1c2b7d4e5f60","hash":"sha256:<64 hex>","user":"alice",
 *    "groups":["risk","ml"],"scopes":["read"],"created":1764320000,"expires":1772096000,
 *    "revoked":0}
 * created/expires/revoked are epoch seconds; expires 0 = never; revoked 0 = not revoked.
 * Parsing is strict (duplicate keys, unknown keys, wrong types are errors).
 *
 * The table is immutable and reference counted: built on the control thread (or wardenctl),
 * read lock-free by workers. Lookups compare the full hash in constant time.
 */
#ifndef WARDEN_AUTH_PAT_H
#define WARDEN_AUTH_PAT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "auth/digest.h"

#define PAT_PREFIX       "wdn_pat_"
#define PAT_PREFIX_LEN   8
#define PAT_RANDOM_LEN   32
#define PAT_CHECKSUM_LEN 6
#define PAT_TOKEN_LEN    (PAT_PREFIX_LEN + PAT_RANDOM_LEN + PAT_CHECKSUM_LEN)
#define PAT_ID_LEN       20 /* "pat_" + 16 hex */

struct pat_record {
    char id[PAT_ID_LEN + 1];
    unsigned char hash[SHA256_LEN];
    char *user;
    char **groups; /* ngroups entries */
    size_t ngroups;
    char **scopes;
    size_t nscopes;
    int64_t created_s;
    int64_t expires_s; /* 0 = never */
    int64_t revoked_s; /* 0 = not revoked */
};

/* Generate a fresh token (NUL-terminated into out) and a fresh record id. */
int pat_generate(char out[PAT_TOKEN_LEN + 1], char id[PAT_ID_LEN + 1], char *err, size_t errlen);

/* True when tok has the prefix, the length, the alphabet and a matching checksum. */
bool pat_is_well_formed(const char *tok, size_t len);

/* Parse one record line (pure). Returns 0, or -1 with a reason. */
int pat_record_parse(const char *line, size_t len, struct pat_record *out, char *err,
                     size_t errlen);

/* Serialise to one JSON line without the trailing newline (malloc'ed), NULL on failure. */
char *pat_record_format(const struct pat_record *r);

int pat_record_copy(struct pat_record *dst, const struct pat_record *src);
void pat_record_clear(struct pat_record *r);

struct pat_table {
    atomic_long refs;
    struct pat_record *recs;
    size_t n;
    uint32_t *slots; /* open addressing: record index + 1, 0 = empty */
    size_t mask;
};

/* Take ownership of recs[0..n) (the array itself too) and index them. A duplicate hash is an
 * error. On failure the records are still consumed. */
struct pat_table *pat_table_new(struct pat_record *recs, size_t n, char *err, size_t errlen);

/* Parse a whole file's text (pure; name is used in messages: "name:line: reason"). Any bad
 * line fails the whole parse so a typo never silently drops or resurrects tokens. */
int pat_table_parse(const char *text, size_t len, const char *name, struct pat_record **recs,
                    size_t *n, char *err, size_t errlen);

/* Read and parse a file; a missing file yields an empty set of records. */
int pat_file_read(const char *path, struct pat_record **recs, size_t *n, char *err, size_t errlen);

void pat_records_free(struct pat_record *recs, size_t n);

const struct pat_record *pat_table_find(const struct pat_table *t,
                                        const unsigned char hash[SHA256_LEN]);

struct pat_table *pat_table_ref(struct pat_table *t);
void pat_table_release(struct pat_table *t);

#endif
