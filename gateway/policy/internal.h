/*
 * policy internals shared by the policy modules (not for other modules): the snapshot's
 * layout, the hash used to intern names, and the builder the parser feeds.
 *
 *   privs.c    keyword tables: privileges, securable types, applicability, principals, names
 *   diag.c     the error list
 *   lexer.c    tokens            parser.c   statements -> builder calls
 *   compile.c  builder, file reading, checksum, snapshot life cycle and introspection
 *   eval.c     policy_decide / policy_explain
 *   store.c    the thread-safe holder (store.h)
 *
 * Layout. Principals and securables are interned into arrays and indexed by open-addressing
 * hash tables (idmap) keyed by a 64-bit hash of (kind, name parts with lengths). Grants are
 * merged per (securable, principal) into a grant_entry holding a privilege bit mask and, per
 * privilege, the first statement that granted it; a third idmap finds the entry for a
 * (securable id, principal id) pair. All of it is immutable once compiled.
 */
#ifndef WARDEN_POLICY_INTERNAL_H
#define WARDEN_POLICY_INTERNAL_H

#include "policy/policy.h"

#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#define PNONE UINT32_MAX

/* ---- hashing (shared by compile-time interning and decision-time look-ups) ---- */

static inline uint64_t ph_mix(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return h;
}

static inline uint64_t ph_bytes(uint64_t h, const char *p, size_t n)
{
    const uint64_t k = 0x9E3779B97F4A7C15ULL;
    h = (h ^ (uint64_t)n) * k;
    while (n >= 8) {
        uint64_t v;
        memcpy(&v, p, 8);
        h = (h ^ v) * k;
        h ^= h >> 29;
        p += 8;
        n -= 8;
    }
    if (n > 0) {
        /* Tail of 1..7 bytes, assembled without a variable-length memcpy (which would defeat
         * store-to-load forwarding on the hot path). */
        uint64_t v = 0;
        if (n >= 4) {
            uint32_t a, b;
            memcpy(&a, p, 4);
            memcpy(&b, p + n - 4, 4);
            v = ((uint64_t)b << 32) | a;
        } else {
            v = (uint64_t)(unsigned char)p[0] | ((uint64_t)(unsigned char)p[n / 2] << 8) |
                ((uint64_t)(unsigned char)p[n - 1] << 16);
        }
        h = (h ^ v) * k;
        h ^= h >> 29;
    }
    return h;
}

static inline uint64_t ph_principal(enum policy_principal_kind kind, const char *name, size_t n)
{
    return ph_mix(ph_bytes(0x51ed27 + (uint64_t)kind, name, n));
}

/* nparts is 1 for a catalog, 2 for a schema, 3 for an experiment or model. */
static inline uint64_t ph_securable(enum policy_kind kind, const struct policy_str *parts,
                                    int nparts)
{
    uint64_t h = 0x2545F4914F6CDD1DULL + (uint64_t)kind;
    for (int i = 0; i < nparts; i++)
        h = ph_bytes(h, parts[i].ptr, parts[i].len);
    return ph_mix(h);
}

static inline uint64_t ph_pair(uint32_t a, uint32_t b)
{
    return ph_mix(((uint64_t)a << 32) | b);
}

static inline int kind_depth(enum policy_kind k)
{
    return k == POLICY_KIND_CATALOG ? 1 : k == POLICY_KIND_SCHEMA ? 2 : 3;
}

/* Open-addressing table of ids, capacity a power of two, load <= 1/2. The full hash sits in
 * the slot so a probe touches one cache line; for the grant map the hash of a (securable,
 * principal) pair is a bijection of the pair, so equal hashes mean equal keys. */
struct idslot {
    uint64_t hash;
    uint32_t id; /* PNONE when empty */
};

struct idmap {
    struct idslot *slot;
    size_t cap, count;
};

/* ---- snapshot ---- */

struct principal {
    enum policy_principal_kind kind;
    const char *name; /* without prefix, NUL-terminated, in the arena */
    size_t name_len;
    const char *display; /* notation form, e.g. "group:risk" */
    uint64_t hash;
    uint32_t closure_off, closure_n;     /* groups it belongs to, transitively */
    uint32_t created_file, created_line; /* CREATE GROUP, for duplicate detection */
};

struct securable {
    enum policy_kind kind;
    struct policy_str part[3];
    uint64_t hash;
    uint32_t owner; /* principal id or PNONE */
    struct policy_source owner_src;
};

struct grant_rec {
    uint32_t sec, prin;
    enum policy_priv priv;
    struct policy_source src;
};

struct grant_entry {
    uint32_t sec, prin;
    uint32_t mask;                   /* bit per enum policy_priv */
    uint32_t rec[POLICY_PRIV_COUNT]; /* first grant_rec for each bit set */
};

struct member_rec {
    uint32_t group, member;
    struct policy_source src;
};

struct arena_chunk;

struct policy_snapshot {
    atomic_long refs;
    char version[65];
    char **files;
    size_t nfiles;
    struct arena_chunk *arena;
    size_t arena_bytes;

    struct principal *prin;
    size_t nprin, prin_cap;
    struct idmap prin_map;

    struct securable *sec;
    size_t nsec, sec_cap;
    struct idmap sec_map;

    struct grant_rec *recs;
    size_t nrecs, recs_cap;
    struct grant_entry *ent;
    size_t nent, ent_cap;
    struct idmap ent_map;

    uint32_t *owned; /* securable ids that have a policy owner, in statement order */
    size_t nowned, owned_cap;

    struct member_rec *members;
    size_t nmembers, members_cap;
    uint32_t *closure;
    size_t nclosure;

    uint32_t admin; /* principal id of the admin group, or PNONE */
    struct policy_source admin_src;
};

/* Look-ups used by eval.c (no allocation). */
uint32_t snap_find_principal(const struct policy_snapshot *s, enum policy_principal_kind k,
                             const char *name, size_t len);
uint32_t snap_find_securable(const struct policy_snapshot *s, enum policy_kind k,
                             const struct policy_str *parts);
const struct grant_entry *snap_find_entry(const struct policy_snapshot *s, uint32_t sec,
                                          uint32_t prin);

/* ---- builder: what the parser calls; errors go to the diag ---- */

struct pb {
    struct policy_snapshot *s;
    struct policy_diag *diag;
    uint32_t file; /* index of the file being parsed */
    size_t nerrors;
    bool oom;
};

void pb_error(struct pb *b, uint32_t file, unsigned line, unsigned col, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
void pb_grant(struct pb *b, struct policy_source src, enum policy_priv priv, enum policy_kind kind,
              const struct policy_str *parts, enum policy_principal_kind pk,
              struct policy_str pname);
void pb_owner(struct pb *b, struct policy_source src, enum policy_kind kind,
              const struct policy_str *parts, enum policy_principal_kind pk,
              struct policy_str pname);
/* Returns the group's principal id (PNONE on error); create=true reports duplicates. */
uint32_t pb_group(struct pb *b, struct policy_source src, struct policy_str name, bool create);
void pb_member(struct pb *b, struct policy_source src, uint32_t group,
               enum policy_principal_kind pk, struct policy_str pname);
void pb_admin(struct pb *b, struct policy_source src, struct policy_str name);

/* Parses one file's text; src.file of every call is the snapshot's copy of the name. */
void policy_parse(struct pb *b, uint32_t file, const char *text, size_t len);

/* ---- privs.c helpers ---- */

/* Principal notation: "group:x", "sp:x", "user:x" (prefixes case-insensitive) or a bare user
 * name. Returns 0, or -1 with a static message in *err. */
int principal_parse(const char *s, size_t len, enum policy_principal_kind *kind,
                    struct policy_str *name, const char **err);
/* Closest keyword to word (case-insensitive edit distance), or NULL if none is close. */
const char *suggest(const char *word, size_t len, const char *const *cands, size_t ncands);
/* Bit mask of the privileges that apply to kind. */
uint32_t priv_applies_mask(enum policy_kind k);
/* Whether a name part needs backticks in policy text. */
bool name_needs_quotes(const char *s, size_t len);
/* Appends part (quoted when needed) to buf at *pos (bounded); always advances *pos. */
void name_append(char *buf, size_t buflen, size_t *pos, const char *s, size_t len);
/* "a.b.`c d`" for up to 3 parts. */
void name_join(const struct policy_str *parts, int n, char *buf, size_t buflen);

#endif
