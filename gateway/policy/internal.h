/*
 * policy internals shared by the policy modules (not for other modules): the snapshot's
 * layout, the hash used to intern names, and the builder the parser feeds.
 *
 *   privs.c    keyword tables: privileges, securable types, applicability, principals, names
 *   diag.c     the error list
 *   lexer.c    tokens            parser.c   statements -> builder calls
 *   compile.c  builder, file reading, checksum, snapshot life cycle and introspection
 *   eval.c     policy_decide / policy_explain / policy_decide_obo
 *   delegation.c  GRANT DELEGATION look-ups, token scopes, on-behalf-of messages
 *   store.c    the thread-safe holder (store.h)
 *
 * Layout. Principals and securables are interned into arrays (for explain and introspection)
 * and indexed by open-addressing hash tables (idmap) of 16-byte slots {64-bit hash, id, key
 * offset}. A securable's hash covers its kind and its path (name parts with lengths); every
 * securable's containing levels are interned with it and its key records its parent's id.
 * Each id has a key record (struct key) in a blob: the name to verify a hash match against,
 * plus what a decision needs next (a principal's group closure, a securable's parent and
 * owner, whether any grant names it), so a verified look-up costs two cache lines.
 * Grants are merged per (securable, principal) into one 16-byte grant-table slot: the
 * privilege bit mask and where the first statement of each privilege sits (gsrc). The slot's
 * position comes from the two names' hashes (ph_grant) while its key is the id pair, so a
 * decision can prefetch every grant probe before it has resolved any name. After compile the
 * tables a decision reads are moved into one region (huge pages when large), and all of it is
 * immutable.
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

/* Securable hashes are built incrementally along the path: ph_path_* covers the name parts
 * (each part's length is hashed with it, so the encoding is prefix-free), ph_securable_at
 * adds the kind. A decision hashes the catalog, schema and object names once for all three
 * levels. */
#define PH_PATH_SEED 0x2545F4914F6CDD1DULL

static inline uint64_t ph_path_add(uint64_t h, struct policy_str part)
{
    return ph_bytes(h, part.ptr, part.len);
}

static inline uint64_t ph_securable_at(uint64_t path, enum policy_kind kind)
{
    return ph_mix(path ^ (0xA0761D6478BD642FULL * ((uint64_t)kind + 1)));
}

/* nparts is 1 for a catalog, 2 for a schema, 3 for an experiment or model. */
static inline uint64_t ph_securable(enum policy_kind kind, const struct policy_str *parts,
                                    int nparts)
{
    uint64_t h = PH_PATH_SEED;
    for (int i = 0; i < nparts; i++)
        h = ph_path_add(h, parts[i]);
    return ph_securable_at(h, kind);
}

static inline uint64_t ph_pair(uint32_t a, uint32_t b)
{
    return ph_mix(((uint64_t)a << 32) | b);
}

/* Slot position of the grant of (securable, principal) in the grant table, from the two
 * names' hashes (each already mixed): a decision can compute (and prefetch) it before it
 * knows the ids. */
static inline uint64_t ph_grant(uint64_t sec_hash, uint64_t prin_hash)
{
    uint64_t h = (sec_hash ^ ((prin_hash << 32) | (prin_hash >> 32))) * 0x9E3779B97F4A7C15ULL;
    return h ^ (h >> 29);
}

static inline int kind_depth(enum policy_kind k)
{
    return k == POLICY_KIND_CATALOG ? 1 : k == POLICY_KIND_SCHEMA ? 2 : 3;
}

/* Open-addressing table of ids, capacity a power of two, load <= 1/2. The full hash sits in
 * the slot so a probe touches one cache line. For principals and securables, off is the
 * byte offset of the id's key record (struct key) in the matching blob, so that verifying a
 * candidate costs one more cache line; the builder's pair map leaves it 0. */
struct idslot {
    uint64_t hash;
    uint32_t id; /* PNONE when empty */
    uint32_t off;
};

struct idmap {
    struct idslot *slot;
    size_t cap, count;
};

/* A key record: what a look-up needs to verify a hash match and to go on without touching
 * anything else (a principal's group closure, a securable's parent and owner, whether any
 * grant names it). Records sit back to back in a 64-byte aligned blob, 4-byte aligned,
 * and a record of at most 64 bytes never straddles a cache line. */
#define KEY_HAS_GRANTS 0x01

struct key {
    uint32_t id;
    uint32_t len; /* of name */
    union {
        struct {
            uint32_t closure_off, closure_n; /* into snapshot.closure */
        } p;
        struct {
            uint32_t parent; /* securable id of the containing level, PNONE for a catalog */
            uint32_t owner;  /* principal id from ALTER ... OWNER TO, or PNONE */
        } s;
    } u;
    uint8_t kind; /* enum policy_principal_kind or enum policy_kind */
    uint8_t flags;
    char name[]; /* principal name without prefix / the securable's last name part */
};

struct blob {
    char *data;
    size_t len, cap;
};

static inline const struct key *blob_key(const struct blob *b, uint32_t off)
{
    return (const struct key *)(const void *)(b->data + off);
}

/* One grant-table slot: every privilege granted to prin on sec, as a bit mask, and where the
 * first statement of each sits: snapshot.gsrc[src + popcount(mask & (bit - 1))]. */
struct gslot {
    uint32_t sec; /* PNONE when empty */
    uint32_t prin;
    uint32_t mask;
    uint32_t src;
};

struct closure_ent {
    uint64_t hash;  /* the group's principal hash */
    uint32_t id;    /* group principal id */
    uint32_t flags; /* its key's flags */
};

/* ---- snapshot ---- */

struct principal {
    enum policy_principal_kind kind;
    const char *name; /* without prefix, NUL-terminated, in the arena */
    size_t name_len;
    const char *display; /* notation form, e.g. "group:risk" */
    uint64_t hash;
    uint32_t key_off;                    /* its record in snapshot.pkeys */
    uint32_t closure_off, closure_n;     /* groups it belongs to, transitively */
    uint32_t created_file, created_line; /* CREATE GROUP, for duplicate detection */
    uint32_t deleg_off, deleg_n;         /* its delegations as actor: snapshot.deleg_by_actor */
};

struct securable {
    enum policy_kind kind;
    struct policy_str part[3];
    uint64_t hash;
    uint32_t key_off; /* its record in snapshot.skeys */
    uint32_t owner;   /* principal id or PNONE */
    struct policy_source owner_src;
};

struct grant_rec {
    uint32_t sec, prin;
    enum policy_priv priv;
    struct policy_source src;
};

/* Builder state for one (securable, principal) pair; turned into the grant table (gslot,
 * gsrc) at the end of compile and freed. */
struct grant_entry {
    uint32_t sec, prin;
    uint32_t mask;                   /* bit per enum policy_priv */
    uint32_t rec[POLICY_PRIV_COUNT]; /* first grant_rec for each bit set */
};

struct member_rec {
    uint32_t group, member;
    struct policy_source src;
};

/* A GRANT DELEGATION statement for one (actor, subject) pair: actor may act for subject on
 * sec and everything in it (PNONE: everywhere), passing the privileges of mask (as written;
 * deleg_pass_mask expands it). */
struct deleg_rec {
    uint32_t actor, subject, sec;
    uint32_t mask;
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
    struct blob pkeys;

    struct securable *sec;
    size_t nsec, sec_cap;
    struct idmap sec_map;
    struct blob skeys;

    struct grant_rec *recs;
    size_t nrecs, recs_cap;
    struct grant_entry *ent; /* builder only (NULL in a finished snapshot) */
    size_t nent, ent_cap;
    struct idmap ent_map; /* builder only */

    struct gslot *gslot; /* the grant table: capacity a power of two, load <= 1/2 */
    size_t gcap;
    struct policy_source *gsrc;
    size_t ngsrc;

    uint32_t *owned; /* securable ids that have a policy owner, in statement order */
    size_t nowned, owned_cap;

    struct member_rec *members;
    size_t nmembers, members_cap;
    struct closure_ent *closure;
    size_t nclosure;

    struct deleg_rec *deleg; /* statement order */
    size_t ndeleg, deleg_cap;
    uint32_t *deleg_by_actor; /* indices into deleg, grouped by actor (see principal.deleg_*) */

    uint32_t admin; /* principal id of the admin group, or PNONE */
    struct policy_source admin_src;

    char *hot; /* one region holding the tables a decision reads (compile.c: freeze) */
    size_t hot_len;
};

/* ---- look-ups (compile.c; also the decision hot path) ---- */

/* Principal by kind and name whose hash h = ph_principal(k, name, len). Returns the id and,
 * when key is not NULL, its key record; PNONE when the policy does not name it. */
uint32_t snap_find_principal_h(const struct policy_snapshot *s, enum policy_principal_kind k,
                               const char *name, size_t len, uint64_t h, const struct key **key);
uint32_t snap_find_principal(const struct policy_snapshot *s, enum policy_principal_kind k,
                             const char *name, size_t len);
/* Securable of kind k whose containing level is parent (PNONE for a catalog), whose last
 * name part is last, and whose hash is h = ph_securable(k, parts, depth). Every securable's
 * parents are interned with it, so a path whose parent is unknown is unknown too. */
uint32_t snap_find_securable_h(const struct policy_snapshot *s, enum policy_kind k, uint32_t parent,
                               struct policy_str last, uint64_t h, const struct key **key);
/* By the full name (parts as for ph_securable). */
uint32_t snap_find_securable(const struct policy_snapshot *s, enum policy_kind k,
                             const struct policy_str *parts);

/* The first slot of a look-up with hash h whose hash matches (its key record is the likely
 * answer), or NULL when there is none. */
static inline const struct idslot *idmap_candidate(const struct idmap *m, uint64_t h)
{
    if (m->cap == 0)
        return NULL;
    size_t mask = m->cap - 1;
    for (size_t j = h & mask;; j = (j + 1) & mask) {
        const struct idslot *sl = &m->slot[j];
        if (sl->id == PNONE)
            return NULL;
        if (sl->hash == h)
            return sl;
    }
}

/* Where the slots a look-up with hash h starts at live: for prefetching. */
static inline const void *idmap_home(const struct idmap *m, uint64_t h)
{
    return m->cap ? (const void *)&m->slot[h & (m->cap - 1)] : NULL;
}

/* Masked grant position; the grant table never has more than 2^31 slots. */
static inline uint32_t gslot_pos(const struct policy_snapshot *s, uint64_t sec_hash,
                                 uint64_t prin_hash)
{
    return (uint32_t)(ph_grant(sec_hash, prin_hash) & (s->gcap - 1));
}

/* The grant-table slot of (sec, prin), pos = ph_grant(securable hash, principal hash)
 * (masked or not); NULL when nothing is granted to prin on sec. */
static inline const struct gslot *snap_find_grant(const struct policy_snapshot *s, uint32_t sec,
                                                  uint32_t prin, uint64_t pos)
{
    size_t mask = s->gcap - 1; /* gcap >= 64 in a compiled snapshot */
    for (size_t j = pos & mask;; j = (j + 1) & mask) {
        const struct gslot *g = &s->gslot[j];
        if (g->sec == sec && g->prin == prin)
            return g;
        if (g->sec == PNONE)
            return NULL;
    }
}

/* The first statement granting privilege p (a bit of g->mask). */
static inline const struct policy_source *gslot_source(const struct policy_snapshot *s,
                                                       const struct gslot *g, enum policy_priv p)
{
    return &s->gsrc[g->src + (uint32_t)__builtin_popcount(g->mask & ((1u << p) - 1))];
}

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
/* GRANT DELEGATION: kind/parts describe the ON securable, parts NULL = everywhere. */
void pb_delegation(struct pb *b, struct policy_source src, uint32_t mask, enum policy_kind kind,
                   const struct policy_str *parts, enum policy_principal_kind ak,
                   struct policy_str actor, enum policy_principal_kind sk,
                   struct policy_str subject);

/* Parses one file's text; src.file of every call is the snapshot's copy of the name. */
void policy_parse(struct pb *b, uint32_t file, const char *text, size_t len);

/* ---- delegation.c (on behalf of a user) ---- */

/* What a LIMIT passes: its privileges, ALL PRIVILEGES expanded (every privilege but MANAGE),
 * plus USE CATALOG, USE SCHEMA and BROWSE. */
uint32_t deleg_pass_mask(uint32_t limit);

#define DELEG_MAX_ACTOR 256 /* resolved actor principals (user/SP + groups) */

/* The actor's principal ids: its user or service principal, its token groups and their
 * policy closures, deduplicated. Returns the count (0 when the policy names none of them). */
size_t deleg_resolve_actor(const struct policy_snapshot *s, const struct policy_subject *actor,
                           uint32_t *ids, size_t max);

struct deleg_match {
    uint32_t mask;                 /* union of deleg_pass_mask over the matching statements */
    const struct deleg_rec *pass;  /* first matching statement passing priv, or NULL */
    const struct deleg_rec *first; /* first matching statement, or NULL */
};

/* Matches the delegations of the actor ids against the subject ids and the object's levels
 * (sec[0..depth), PNONE for levels the policy does not name). */
void deleg_find(const struct policy_snapshot *s, const uint32_t *actor_ids, size_t nactor,
                const uint32_t *subject_ids, size_t nsubject, const uint32_t *sec, int depth,
                enum policy_priv priv, struct deleg_match *out);

/* Groups delegations by actor (deleg_by_actor, principal.deleg_*); after parsing. */
int deleg_build_index(struct policy_snapshot *s);

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

/* Text built piece by piece into a caller's buffer (explanations, messages): len counts what
 * the whole text needs, buf holds what fits. */
struct policy_out {
    char *buf;
    size_t cap, len;
};
void policy_ap(struct policy_out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
