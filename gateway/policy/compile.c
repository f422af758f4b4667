/*
 * policy compile: builds an immutable snapshot from policy texts. Owns the snapshot's memory
 * (a string arena, flat arrays, key blobs, the principal / securable / grant hash tables and
 * the region freeze() moves the decision's tables into), the builder callbacks the parser
 * drives, the cross-statement checks (conflicting owners, duplicate groups, admin group), the
 * group-membership closure, the SHA-256 policy version, reading files and directories, and
 * the snapshot's reference count and introspection accessors. Compile runs on whatever
 * thread calls it (the daemon: a non-request thread); the result is read-only.
 */
#include "policy/internal.h"

#include <dirent.h>
#include <errno.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>

#define POLICY_MAX_FILE (256u << 20) /* bytes per policy file */

/* ---- arena ---- */

struct arena_chunk {
    struct arena_chunk *next;
    size_t used, cap;
    char data[];
};

static char *arena_dup(struct policy_snapshot *s, const char *p, size_t n, const char *prefix)
{
    size_t pl = prefix ? strlen(prefix) : 0;
    size_t need = pl + n + 1;
    struct arena_chunk *c = s->arena;
    if (!c || c->cap - c->used < need) {
        size_t cap = need > 65536 ? need : 65536;
        c = malloc(sizeof(*c) + cap);
        if (!c)
            return NULL;
        c->next = s->arena;
        c->used = 0;
        c->cap = cap;
        s->arena = c;
        s->arena_bytes += sizeof(*c) + cap;
    }
    char *r = c->data + c->used;
    if (pl)
        memcpy(r, prefix, pl);
    if (n)
        memcpy(r + pl, p, n);
    r[pl + n] = '\0';
    c->used += need;
    return r;
}

/* ---- growable arrays and id maps ---- */

static int grow(void **v, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return 0;
    size_t n = *cap ? *cap : 16;
    while (n < need)
        n *= 2;
    void *p = realloc(*v, n * elem);
    if (!p)
        return -1;
    *v = p;
    *cap = n;
    return 0;
}

static int idmap_insert(struct idmap *m, uint64_t h, uint32_t id, uint32_t off)
{
    if ((m->count + 1) * 2 > m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 64;
        struct idslot *slot = malloc(cap * sizeof(*slot));
        if (!slot)
            return -1;
        for (size_t i = 0; i < cap; i++)
            slot[i].id = PNONE;
        for (size_t i = 0; i < m->cap; i++) {
            if (m->slot[i].id == PNONE)
                continue;
            size_t j = m->slot[i].hash & (cap - 1);
            while (slot[j].id != PNONE)
                j = (j + 1) & (cap - 1);
            slot[j] = m->slot[i];
        }
        free(m->slot);
        m->slot = slot;
        m->cap = cap;
    }
    size_t j = h & (m->cap - 1);
    while (m->slot[j].id != PNONE)
        j = (j + 1) & (m->cap - 1);
    m->slot[j].hash = h;
    m->slot[j].id = id;
    m->slot[j].off = off;
    m->count++;
    return 0;
}

static void idmap_free(struct idmap *m)
{
    free(m->slot);
    memset(m, 0, sizeof(*m));
}

/* Appends a key record (header + name) to the blob; returns its offset, or PNONE when out of
 * memory. A record of at most 64 bytes is moved to the next cache line rather than straddle
 * one, so verifying a look-up touches a single line. */
static uint32_t blob_add(struct blob *b, const struct key *hdr, const char *name, size_t len)
{
    size_t size = (offsetof(struct key, name) + len + 3) & ~(size_t)3;
    size_t off = b->len;
    if (size <= 64 && (off & 63) + size > 64)
        off = (off + 63) & ~(size_t)63;
    if (off + size > PNONE)
        return PNONE;
    if (off + size > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < off + size)
            cap *= 2;
        char *p = aligned_alloc(64, cap);
        if (!p)
            return PNONE;
        if (b->len)
            memcpy(p, b->data, b->len);
        free(b->data);
        b->data = p;
        b->cap = cap;
    }
    memset(b->data + b->len, 0, off - b->len);
    memcpy(b->data + off, hdr, offsetof(struct key, name));
    if (len)
        memcpy(b->data + off + offsetof(struct key, name), name, len);
    memset(b->data + off + offsetof(struct key, name) + len, 0,
           size - offsetof(struct key, name) - len);
    b->len = off + size;
    return (uint32_t)off;
}

static struct key *blob_key_mut(struct blob *b, uint32_t off)
{
    return (struct key *)(void *)(b->data + off);
}

/* ---- look-ups (also the decision hot path) ---- */

uint32_t snap_find_principal_h(const struct policy_snapshot *s, enum policy_principal_kind k,
                               const char *name, size_t len, uint64_t h, const struct key **key)
{
    if (s->prin_map.cap == 0)
        return PNONE;
    size_t mask = s->prin_map.cap - 1;
    for (size_t j = h & mask;; j = (j + 1) & mask) {
        const struct idslot *sl = &s->prin_map.slot[j];
        if (sl->id == PNONE)
            return PNONE;
        if (sl->hash != h)
            continue;
        const struct key *p = blob_key(&s->pkeys, sl->off);
        if (p->kind == (uint8_t)k && p->len == len && memcmp(p->name, name, len) == 0) {
            if (key)
                *key = p;
            return sl->id;
        }
    }
}

uint32_t snap_find_principal(const struct policy_snapshot *s, enum policy_principal_kind k,
                             const char *name, size_t len)
{
    return snap_find_principal_h(s, k, name, len, ph_principal(k, name, len), NULL);
}

uint32_t snap_find_securable_h(const struct policy_snapshot *s, enum policy_kind k, uint32_t parent,
                               struct policy_str last, uint64_t h, const struct key **key)
{
    if (s->sec_map.cap == 0)
        return PNONE;
    size_t mask = s->sec_map.cap - 1;
    for (size_t j = h & mask;; j = (j + 1) & mask) {
        const struct idslot *sl = &s->sec_map.slot[j];
        if (sl->id == PNONE)
            return PNONE;
        if (sl->hash != h)
            continue;
        const struct key *c = blob_key(&s->skeys, sl->off);
        if (c->kind == (uint8_t)k && c->u.s.parent == parent && c->len == last.len &&
            memcmp(c->name, last.ptr, last.len) == 0) {
            if (key)
                *key = c;
            return sl->id;
        }
    }
}

static const enum policy_kind level_kind[2] = {POLICY_KIND_CATALOG, POLICY_KIND_SCHEMA};

uint32_t snap_find_securable(const struct policy_snapshot *s, enum policy_kind k,
                             const struct policy_str *parts)
{
    int n = kind_depth(k);
    uint64_t path = PH_PATH_SEED;
    uint32_t id = PNONE;
    for (int i = 0; i < n; i++) {
        enum policy_kind ki = i == n - 1 ? k : level_kind[i];
        path = ph_path_add(path, parts[i]);
        id = snap_find_securable_h(s, ki, id, parts[i], ph_securable_at(path, ki), NULL);
        if (id == PNONE)
            return PNONE;
    }
    return id;
}

/* The builder's entry for (sec, prin), or NULL. */
static struct grant_entry *find_entry(struct policy_snapshot *s, uint32_t sec, uint32_t prin)
{
    if (s->ent_map.cap == 0)
        return NULL;
    uint64_t h = ph_pair(sec, prin);
    size_t mask = s->ent_map.cap - 1;
    for (size_t j = h & mask;; j = (j + 1) & mask) {
        uint32_t id = s->ent_map.slot[j].id;
        if (id == PNONE)
            return NULL;
        if (s->ent_map.slot[j].hash == h) /* ph_pair is a bijection: the key matches */
            return &s->ent[id];
    }
}

/* ---- builder ---- */

void pb_error(struct pb *b, uint32_t file, unsigned line, unsigned col, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    b->nerrors++;
    if (!b->diag)
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (policy_diag_add(b->diag, file < b->s->nfiles ? b->s->files[file] : "-", line, col, "%s",
                        msg) < 0)
        b->oom = true;
}

static uint32_t intern_principal(struct pb *b, enum policy_principal_kind k, struct policy_str name)
{
    struct policy_snapshot *s = b->s;
    uint32_t id = snap_find_principal(s, k, name.ptr, name.len);
    if (id != PNONE)
        return id;
    if (grow((void **)&s->prin, &s->prin_cap, s->nprin + 1, sizeof(*s->prin)) < 0)
        goto oom;
    struct principal *p = &s->prin[s->nprin];
    memset(p, 0, sizeof(*p));
    p->kind = k;
    p->name = arena_dup(s, name.ptr, name.len, NULL);
    p->name_len = name.len;
    const char *pre = k == POLICY_PRINCIPAL_GROUP       ? "group:"
                      : k == POLICY_PRINCIPAL_SP        ? "sp:"
                      : memchr(name.ptr, ':', name.len) ? "user:"
                                                        : NULL;
    p->display = arena_dup(s, name.ptr, name.len, pre);
    p->hash = ph_principal(k, name.ptr, name.len);
    p->created_file = PNONE;
    struct key hdr = {.id = (uint32_t)s->nprin, .len = (uint32_t)name.len, .kind = (uint8_t)k};
    if (!p->name || !p->display || name.len >= PNONE)
        goto oom;
    p->key_off = blob_add(&s->pkeys, &hdr, name.ptr, name.len);
    if (p->key_off == PNONE ||
        idmap_insert(&s->prin_map, p->hash, (uint32_t)s->nprin, p->key_off) < 0)
        goto oom;
    return (uint32_t)s->nprin++;
oom:
    b->oom = true;
    return PNONE;
}

/* Interns the securable and, first, its containing levels. */
static uint32_t intern_securable(struct pb *b, enum policy_kind k, const struct policy_str *parts)
{
    struct policy_snapshot *s = b->s;
    int n = kind_depth(k);
    uint32_t parent = PNONE;
    if (n > 1) {
        parent = intern_securable(b, level_kind[n - 2], parts);
        if (parent == PNONE)
            return PNONE;
    }
    uint64_t h = ph_securable(k, parts, n);
    uint32_t id = snap_find_securable_h(s, k, parent, parts[n - 1], h, NULL);
    if (id != PNONE)
        return id;
    if (parts[n - 1].len >= PNONE ||
        grow((void **)&s->sec, &s->sec_cap, s->nsec + 1, sizeof(*s->sec)) < 0)
        goto oom;
    struct securable *c = &s->sec[s->nsec];
    memset(c, 0, sizeof(*c));
    c->kind = k;
    c->owner = PNONE;
    for (int i = 0; i < n; i++) {
        /* The containing levels' copies are shared. */
        c->part[i].ptr =
            i < n - 1 ? s->sec[parent].part[i].ptr : arena_dup(s, parts[i].ptr, parts[i].len, NULL);
        c->part[i].len = parts[i].len;
        if (!c->part[i].ptr)
            goto oom;
    }
    c->hash = h;
    struct key hdr = {.id = (uint32_t)s->nsec,
                      .len = (uint32_t)parts[n - 1].len,
                      .u.s = {.parent = parent, .owner = PNONE},
                      .kind = (uint8_t)k};
    c->key_off = blob_add(&s->skeys, &hdr, parts[n - 1].ptr, parts[n - 1].len);
    if (c->key_off == PNONE || idmap_insert(&s->sec_map, h, (uint32_t)s->nsec, c->key_off) < 0)
        goto oom;
    return (uint32_t)s->nsec++;
oom:
    b->oom = true;
    return PNONE;
}

/* The parser leaves src.file NULL; the file being parsed is b->file. */
static struct policy_source fix_src(struct pb *b, struct policy_source src)
{
    src.file = b->s->files[b->file];
    return src;
}

void pb_grant(struct pb *b, struct policy_source src, enum policy_priv priv, enum policy_kind kind,
              const struct policy_str *parts, enum policy_principal_kind pk,
              struct policy_str pname)
{
    struct policy_snapshot *s = b->s;
    uint32_t sec = intern_securable(b, kind, parts);
    uint32_t prin = intern_principal(b, pk, pname);
    if (sec == PNONE || prin == PNONE)
        return;
    if (grow((void **)&s->recs, &s->recs_cap, s->nrecs + 1, sizeof(*s->recs)) < 0)
        goto oom;
    struct grant_rec *r = &s->recs[s->nrecs];
    r->sec = sec;
    r->prin = prin;
    r->priv = priv;
    r->src = fix_src(b, src);
    uint32_t rid = (uint32_t)s->nrecs++;
    struct grant_entry *e = find_entry(s, sec, prin);
    if (!e) {
        if (grow((void **)&s->ent, &s->ent_cap, s->nent + 1, sizeof(*s->ent)) < 0)
            goto oom;
        e = &s->ent[s->nent];
        memset(e, 0, sizeof(*e));
        e->sec = sec;
        e->prin = prin;
        if (idmap_insert(&s->ent_map, ph_pair(sec, prin), (uint32_t)s->nent, 0) < 0)
            goto oom;
        s->nent++;
    }
    if (!(e->mask & (1u << priv))) {
        e->mask |= 1u << priv;
        e->rec[priv] = rid;
    }
    return;
oom:
    b->oom = true;
}

void pb_owner(struct pb *b, struct policy_source src, enum policy_kind kind,
              const struct policy_str *parts, enum policy_principal_kind pk,
              struct policy_str pname)
{
    struct policy_snapshot *s = b->s;
    uint32_t sec = intern_securable(b, kind, parts);
    uint32_t prin = intern_principal(b, pk, pname);
    if (sec == PNONE || prin == PNONE)
        return;
    struct securable *c = &s->sec[sec];
    src = fix_src(b, src);
    if (c->owner != PNONE) {
        if (c->owner != prin) {
            char name[512];
            name_join(c->part, kind_depth(kind), name, sizeof(name));
            pb_error(b, b->file, src.line, src.col,
                     "conflicting owners for %s %s: '%s' here, '%s' at %s:%u",
                     policy_kind_name(kind), name, s->prin[prin].display, s->prin[c->owner].display,
                     c->owner_src.file, c->owner_src.line);
        }
        return;
    }
    if (grow((void **)&s->owned, &s->owned_cap, s->nowned + 1, sizeof(*s->owned)) < 0) {
        b->oom = true;
        return;
    }
    c->owner = prin;
    c->owner_src = src;
    blob_key_mut(&s->skeys, c->key_off)->u.s.owner = prin;
    s->owned[s->nowned++] = sec;
}

uint32_t pb_group(struct pb *b, struct policy_source src, struct policy_str name, bool create)
{
    uint32_t g = intern_principal(b, POLICY_PRINCIPAL_GROUP, name);
    if (g == PNONE || !create)
        return g;
    struct principal *p = &b->s->prin[g];
    if (p->created_file != PNONE) {
        pb_error(b, b->file, src.line, src.col, "group '%s' is already created at %s:%u", p->name,
                 b->s->files[p->created_file], p->created_line);
        return PNONE;
    }
    p->created_file = b->file;
    p->created_line = src.line;
    return g;
}

void pb_member(struct pb *b, struct policy_source src, uint32_t group,
               enum policy_principal_kind pk, struct policy_str pname)
{
    struct policy_snapshot *s = b->s;
    uint32_t m = intern_principal(b, pk, pname);
    if (m == PNONE)
        return;
    if (grow((void **)&s->members, &s->members_cap, s->nmembers + 1, sizeof(*s->members)) < 0) {
        b->oom = true;
        return;
    }
    s->members[s->nmembers].group = group;
    s->members[s->nmembers].member = m;
    s->members[s->nmembers].src = fix_src(b, src);
    s->nmembers++;
}

void pb_admin(struct pb *b, struct policy_source src, struct policy_str name)
{
    struct policy_snapshot *s = b->s;
    uint32_t g = intern_principal(b, POLICY_PRINCIPAL_GROUP, name);
    if (g == PNONE)
        return;
    src = fix_src(b, src);
    if (s->admin != PNONE) {
        if (s->admin != g)
            pb_error(b, b->file, src.line, src.col, "admin group is already set to '%s' at %s:%u",
                     s->prin[s->admin].name, s->admin_src.file, s->admin_src.line);
        return;
    }
    s->admin = g;
    s->admin_src = src;
}

void pb_delegation(struct pb *b, struct policy_source src, uint32_t mask, enum policy_kind kind,
                   const struct policy_str *parts, enum policy_principal_kind ak,
                   struct policy_str actor, enum policy_principal_kind sk,
                   struct policy_str subject)
{
    struct policy_snapshot *s = b->s;
    uint32_t sec = parts ? intern_securable(b, kind, parts) : PNONE;
    uint32_t a = intern_principal(b, ak, actor);
    uint32_t u = intern_principal(b, sk, subject);
    if ((parts && sec == PNONE) || a == PNONE || u == PNONE)
        return;
    if (grow((void **)&s->deleg, &s->deleg_cap, s->ndeleg + 1, sizeof(*s->deleg)) < 0) {
        b->oom = true;
        return;
    }
    s->deleg[s->ndeleg++] = (struct deleg_rec){a, u, sec, mask, fix_src(b, src)};
}

/* Turns the builder's grant entries into the grant table: one 16-byte slot per (securable,
 * principal) placed by the names' hashes (ph_grant), the first statement of each privilege in
 * gsrc, and KEY_HAS_GRANTS on every key that a grant names. Frees the builder state. */
static int build_grants(struct policy_snapshot *s)
{
    size_t cap = 64, nsrc = 0;
    while (cap < s->nent * 2)
        cap *= 2;
    if (cap > (1u << 31))
        return -1;
    for (size_t i = 0; i < s->nent; i++)
        nsrc += (size_t)__builtin_popcount(s->ent[i].mask);
    s->gslot = malloc(cap * sizeof(*s->gslot));
    s->gsrc = malloc((nsrc ? nsrc : 1) * sizeof(*s->gsrc));
    if (!s->gslot || !s->gsrc || nsrc >= PNONE)
        return -1;
    s->gcap = cap;
    for (size_t i = 0; i < cap; i++)
        s->gslot[i] = (struct gslot){PNONE, PNONE, 0, 0};
    for (size_t i = 0; i < s->nent; i++) {
        const struct grant_entry *e = &s->ent[i];
        size_t j = gslot_pos(s, s->sec[e->sec].hash, s->prin[e->prin].hash);
        while (s->gslot[j].sec != PNONE)
            j = (j + 1) & (cap - 1);
        s->gslot[j] = (struct gslot){e->sec, e->prin, e->mask, (uint32_t)s->ngsrc};
        for (uint32_t m = e->mask; m; m &= m - 1)
            s->gsrc[s->ngsrc++] = s->recs[e->rec[__builtin_ctz(m)]].src;
        blob_key_mut(&s->skeys, s->sec[e->sec].key_off)->flags |= KEY_HAS_GRANTS;
        blob_key_mut(&s->pkeys, s->prin[e->prin].key_off)->flags |= KEY_HAS_GRANTS;
    }
    free(s->ent);
    s->ent = NULL;
    s->nent = s->ent_cap = 0;
    idmap_free(&s->ent_map);
    return 0;
}

/* Every principal's transitive group memberships (breadth-first over member -> group), in
 * the principal records and their keys. Runs after build_grants (it copies the groups'
 * KEY_HAS_GRANTS flags). */
static int build_closure(struct policy_snapshot *s)
{
    size_t n = s->nprin;
    int rc = -1;
    uint32_t *off = calloc(n + 1, sizeof(*off));
    uint32_t *adj = malloc((s->nmembers + 1) * sizeof(*adj));
    uint32_t *seen = malloc((n + 1) * sizeof(*seen));
    uint32_t *queue = malloc((n + 1) * sizeof(*queue));
    size_t cap = 0;
    if (!off || !adj || !seen || !queue)
        goto out;
    for (size_t i = 0; i < s->nmembers; i++)
        off[s->members[i].member + 1]++;
    for (size_t i = 0; i < n; i++)
        off[i + 1] += off[i];
    for (size_t i = 0; i < s->nmembers; i++) {
        uint32_t m = s->members[i].member;
        adj[off[m]++] = s->members[i].group;
    }
    for (size_t i = n; i > 0; i--)
        off[i] = off[i - 1];
    off[0] = 0;
    memset(seen, 0xff, (n + 1) * sizeof(*seen));
    for (uint32_t p = 0; p < n; p++) {
        s->prin[p].closure_off = (uint32_t)s->nclosure;
        s->prin[p].closure_n = 0;
        size_t qh = 0, qt = 0;
        seen[p] = p;
        queue[qt++] = p;
        while (qh < qt) { /* no iteration for a principal that is no member of anything */
            uint32_t x = queue[qh++];
            for (uint32_t j = off[x]; j < off[x + 1]; j++) {
                uint32_t g = adj[j];
                if (seen[g] == p)
                    continue;
                seen[g] = p;
                queue[qt++] = g;
                if (grow((void **)&s->closure, &cap, s->nclosure + 1, sizeof(*s->closure)) < 0)
                    goto out;
                struct closure_ent *ce = &s->closure[s->nclosure++];
                ce->hash = s->prin[g].hash;
                ce->id = g;
                ce->flags = blob_key(&s->pkeys, s->prin[g].key_off)->flags;
                s->prin[p].closure_n++;
            }
        }
        struct key *k = blob_key_mut(&s->pkeys, s->prin[p].key_off);
        k->u.p.closure_off = s->prin[p].closure_off;
        k->u.p.closure_n = s->prin[p].closure_n;
    }
    rc = 0;
out:
    free(off);
    free(adj);
    free(seen);
    free(queue);
    return rc;
}

/* Moves the tables a decision reads (the principal and securable slots and keys, the grant
 * table, the closures and grant sources) into one 64-byte aligned region. A region of 2 MiB
 * or more is 2 MiB aligned and asks for transparent huge pages: a decision's few random
 * reads into a big policy then miss the caches but mostly not the TLB. */
#define HOT_HUGE ((size_t)2 << 20)

static int freeze(struct policy_snapshot *s)
{
    struct part {
        void **ptr;
        size_t len;
    } parts[] = {
        {(void **)&s->prin_map.slot, s->prin_map.cap * sizeof(struct idslot)},
        {(void **)&s->sec_map.slot, s->sec_map.cap * sizeof(struct idslot)},
        {(void **)&s->pkeys.data, s->pkeys.len},
        {(void **)&s->skeys.data, s->skeys.len},
        {(void **)&s->gslot, s->gcap * sizeof(*s->gslot)},
        {(void **)&s->closure, s->nclosure * sizeof(*s->closure)},
        {(void **)&s->gsrc, s->ngsrc * sizeof(*s->gsrc)},
    };
    size_t n = sizeof(parts) / sizeof(parts[0]), total = 0;
    for (size_t i = 0; i < n; i++)
        total += (parts[i].len + 63) & ~(size_t)63;
    size_t align = total >= HOT_HUGE ? HOT_HUGE : 64;
    total = (total + align - 1) & ~(align - 1);
    if (total == 0)
        return 0;
    char *hot = aligned_alloc(align, total);
    if (!hot)
        return -1;
    if (align == HOT_HUGE)
        (void)madvise(hot, total, MADV_HUGEPAGE); /* a hint: no huge pages is fine */
    size_t off = 0;
    for (size_t i = 0; i < n; i++) {
        if (parts[i].len)
            memcpy(hot + off, *parts[i].ptr, parts[i].len);
        free(*parts[i].ptr);
        *parts[i].ptr = parts[i].len ? hot + off : NULL;
        off += (parts[i].len + 63) & ~(size_t)63;
    }
    s->pkeys.cap = s->pkeys.len;
    s->skeys.cap = s->skeys.len;
    s->hot = hot;
    s->hot_len = total;
    return 0;
}

static void snapshot_free(struct policy_snapshot *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->nfiles; i++)
        free(s->files[i]);
    free(s->files);
    while (s->arena) {
        struct arena_chunk *c = s->arena;
        s->arena = c->next;
        free(c);
    }
    if (s->hot) { /* the tables freeze() moved */
        free(s->hot);
    } else {
        idmap_free(&s->prin_map);
        free(s->pkeys.data);
        idmap_free(&s->sec_map);
        free(s->skeys.data);
        free(s->gslot);
        free(s->closure);
        free(s->gsrc);
    }
    free(s->prin);
    free(s->sec);
    free(s->recs);
    free(s->ent);
    idmap_free(&s->ent_map);
    free(s->owned);
    free(s->members);
    free(s->deleg);
    free(s->deleg_by_actor);
    free(s);
}

struct policy_snapshot *policy_compile_buffers(const struct policy_text *texts, size_t ntexts,
                                               struct policy_diag *diag)
{
    struct policy_snapshot *s = calloc(1, sizeof(*s));
    struct pb b = {.s = s, .diag = diag};
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned char dig[32];
    if (!s || !md)
        goto oom;
    atomic_init(&s->refs, 1);
    s->admin = PNONE;
    s->files = calloc(ntexts + 1, sizeof(*s->files));
    if (!s->files)
        goto oom;
    for (size_t i = 0; i < ntexts; i++) {
        s->files[i] = strdup(texts[i].name ? texts[i].name : "-");
        if (!s->files[i])
            goto oom;
        s->nfiles++;
    }
    if (EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1)
        goto oom;
    for (size_t i = 0; i < ntexts; i++) {
        b.file = (uint32_t)i;
        if (texts[i].len && EVP_DigestUpdate(md, texts[i].data, texts[i].len) != 1)
            goto oom;
        policy_parse(&b, (uint32_t)i, texts[i].data, texts[i].len);
        if (b.oom)
            goto oom;
    }
    if (EVP_DigestFinal_ex(md, dig, NULL) != 1)
        goto oom;
    for (int i = 0; i < 32; i++)
        snprintf(s->version + 2 * i, 3, "%02x", dig[i]);
    if (b.nerrors > 0)
        goto fail;
    if (build_grants(s) < 0 || build_closure(s) < 0 || deleg_build_index(s) < 0 || freeze(s) < 0)
        goto oom;
    EVP_MD_CTX_free(md);
    return s;
oom:
    if (diag)
        policy_diag_add(diag, "-", 0, 0, "out of memory while compiling the policy");
fail:
    EVP_MD_CTX_free(md);
    snapshot_free(s);
    return NULL;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static bool ends_with(const char *s, const char *suf)
{
    size_t n = strlen(s), m = strlen(suf);
    return n > m && strcmp(s + n - m, suf) == 0;
}

void policy_paths_free(char **list, size_t n)
{
    if (!list)
        return;
    for (size_t i = 0; i < n; i++)
        free(list[i]);
    free(list);
}

static int push_path(char ***v, size_t *n, size_t *cap, char *p)
{
    if (!p || grow((void **)v, cap, *n + 2, sizeof(**v)) < 0) {
        free(p);
        return -1;
    }
    (*v)[(*n)++] = p;
    (*v)[*n] = NULL;
    return 0;
}

int policy_paths_expand(const char *const *paths, size_t npaths, char ***out, size_t *nout,
                        char *err, size_t errlen)
{
    char **v = NULL;
    size_t n = 0, cap = 0;
    DIR *d = NULL;
    for (size_t i = 0; i < npaths; i++) {
        struct stat st;
        if (stat(paths[i], &st) < 0) {
            snprintf(err, errlen, "%s: %s", paths[i], strerror(errno));
            goto fail;
        }
        if (!S_ISDIR(st.st_mode)) {
            if (push_path(&v, &n, &cap, strdup(paths[i])) < 0)
                goto oom;
            continue;
        }
        d = opendir(paths[i]);
        if (!d) {
            snprintf(err, errlen, "%s: %s", paths[i], strerror(errno));
            goto fail;
        }
        size_t first = n;
        struct dirent *de;
        while ((de = readdir(d)) != NULL) {
            if (de->d_name[0] == '.' || !ends_with(de->d_name, ".policy"))
                continue;
            size_t pl = strlen(paths[i]);
            bool slash = pl > 0 && paths[i][pl - 1] == '/';
            char *full = malloc(pl + strlen(de->d_name) + 2);
            if (!full)
                goto oom;
            sprintf(full, "%s%s%s", paths[i], slash ? "" : "/", de->d_name);
            struct stat fst;
            if (stat(full, &fst) < 0 || !S_ISREG(fst.st_mode)) {
                free(full);
                continue;
            }
            if (push_path(&v, &n, &cap, full) < 0)
                goto oom;
        }
        closedir(d);
        d = NULL;
        if (n > first)
            qsort(v + first, n - first, sizeof(*v), cmp_names);
    }
    if (n == 0) {
        snprintf(err, errlen, "no policy files found (a directory contributes its *.policy files)");
        goto fail;
    }
    *out = v;
    *nout = n;
    return 0;
oom:
    snprintf(err, errlen, "out of memory");
fail:
    if (d)
        closedir(d);
    policy_paths_free(v, n);
    return -1;
}

/* Reads a whole file into a malloc'd buffer. */
static int read_file(const char *path, char **data, size_t *len, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t n = 0, cap = 0;
    if (!f) {
        snprintf(err, errlen, "cannot read file: %s", strerror(errno));
        return -1;
    }
    for (;;) {
        if (grow((void **)&buf, &cap, n + 65536, 1) < 0) {
            snprintf(err, errlen, "cannot read file: out of memory");
            goto fail;
        }
        size_t r = fread(buf + n, 1, cap - n, f);
        n += r;
        if (n > POLICY_MAX_FILE) {
            snprintf(err, errlen, "file too large (limit %u MiB)", POLICY_MAX_FILE >> 20);
            goto fail;
        }
        if (r == 0) {
            if (ferror(f)) {
                snprintf(err, errlen, "cannot read file: %s", strerror(errno));
                goto fail;
            }
            break;
        }
    }
    fclose(f);
    *data = buf;
    *len = n;
    return 0;
fail:
    fclose(f);
    free(buf);
    return -1;
}

struct policy_snapshot *policy_compile(const char *const *paths, size_t npaths,
                                       struct policy_diag *diag)
{
    char **files = NULL;
    size_t nfiles = 0;
    struct policy_text *texts = NULL;
    struct policy_snapshot *s = NULL;
    char err[512];
    bool bad = false;
    if (policy_paths_expand(paths, npaths, &files, &nfiles, err, sizeof(err)) < 0) {
        if (diag)
            policy_diag_add(diag, npaths == 1 ? paths[0] : "-", 0, 0, "%s", err);
        return NULL;
    }
    texts = calloc(nfiles, sizeof(*texts));
    if (!texts)
        goto out;
    for (size_t i = 0; i < nfiles; i++) {
        char *data = NULL;
        size_t len = 0;
        texts[i].name = files[i];
        if (read_file(files[i], &data, &len, err, sizeof(err)) < 0) {
            if (diag)
                policy_diag_add(diag, files[i], 0, 0, "%s", err);
            bad = true;
            continue;
        }
        texts[i].data = data;
        texts[i].len = len;
    }
    if (!bad)
        s = policy_compile_buffers(texts, nfiles, diag);
out:
    if (texts)
        for (size_t i = 0; i < nfiles; i++)
            free((char *)texts[i].data);
    free(texts);
    policy_paths_free(files, nfiles);
    return s;
}

/* ---- snapshot accessors ---- */

struct policy_snapshot *policy_snapshot_ref(struct policy_snapshot *s)
{
    if (s)
        atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
    return s;
}

void policy_snapshot_unref(struct policy_snapshot *s)
{
    if (s && atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) == 1)
        snapshot_free(s);
}

const char *policy_snapshot_version(const struct policy_snapshot *s)
{
    return s->version;
}

size_t policy_snapshot_file_count(const struct policy_snapshot *s)
{
    return s->nfiles;
}

const char *policy_snapshot_file(const struct policy_snapshot *s, size_t i)
{
    return i < s->nfiles ? s->files[i] : NULL;
}

size_t policy_snapshot_memory(const struct policy_snapshot *s)
{
    size_t hot = s->hot ? s->hot_len
                        : (s->prin_map.cap + s->sec_map.cap) * sizeof(struct idslot) +
                              s->pkeys.cap + s->skeys.cap + s->gcap * sizeof(*s->gslot) +
                              s->nclosure * sizeof(*s->closure) + s->ngsrc * sizeof(*s->gsrc);
    return sizeof(*s) + s->arena_bytes + hot + s->prin_cap * sizeof(*s->prin) +
           s->sec_cap * sizeof(*s->sec) + s->recs_cap * sizeof(*s->recs) +
           s->ent_cap * sizeof(*s->ent) + s->ent_map.cap * sizeof(struct idslot) +
           s->owned_cap * sizeof(*s->owned) + s->members_cap * sizeof(*s->members) +
           s->deleg_cap * sizeof(*s->deleg) + s->ndeleg * sizeof(*s->deleg_by_actor);
}

static void fill_name(const struct securable *c, struct policy_str *cat, struct policy_str *sch,
                      struct policy_str *name)
{
    static const struct policy_str none = {"", 0};
    int n = kind_depth(c->kind);
    *cat = c->part[0];
    *sch = n > 1 ? c->part[1] : none;
    *name = n > 2 ? c->part[2] : none;
}

size_t policy_snapshot_grant_count(const struct policy_snapshot *s)
{
    return s->nrecs;
}

void policy_snapshot_grant(const struct policy_snapshot *s, size_t i, struct policy_grant_info *out)
{
    const struct grant_rec *r = &s->recs[i];
    const struct securable *c = &s->sec[r->sec];
    out->priv = r->priv;
    out->kind = c->kind;
    fill_name(c, &out->catalog, &out->schema, &out->name);
    out->principal_kind = s->prin[r->prin].kind;
    out->principal = s->prin[r->prin].display;
    out->source = r->src;
}

size_t policy_snapshot_owner_count(const struct policy_snapshot *s)
{
    return s->nowned;
}

void policy_snapshot_owner(const struct policy_snapshot *s, size_t i, struct policy_owner_info *out)
{
    const struct securable *c = &s->sec[s->owned[i]];
    out->kind = c->kind;
    fill_name(c, &out->catalog, &out->schema, &out->name);
    out->principal_kind = s->prin[c->owner].kind;
    out->principal = s->prin[c->owner].display;
    out->source = c->owner_src;
}

size_t policy_snapshot_member_count(const struct policy_snapshot *s)
{
    return s->nmembers;
}

void policy_snapshot_member(const struct policy_snapshot *s, size_t i,
                            struct policy_group_info *out)
{
    out->group = s->prin[s->members[i].group].name;
    out->member = s->prin[s->members[i].member].display;
    out->source = s->members[i].src;
}

size_t policy_snapshot_delegation_count(const struct policy_snapshot *s)
{
    return s->ndeleg;
}

void policy_snapshot_delegation(const struct policy_snapshot *s, size_t i,
                                struct policy_delegation_info *out)
{
    const struct deleg_rec *d = &s->deleg[i];
    memset(out, 0, sizeof(*out));
    out->actor_kind = s->prin[d->actor].kind;
    out->actor = s->prin[d->actor].display;
    out->subject_kind = s->prin[d->subject].kind;
    out->subject = s->prin[d->subject].display;
    out->everywhere = d->sec == PNONE;
    out->mask = d->mask;
    out->source = d->src;
    if (d->sec != PNONE) {
        const struct securable *c = &s->sec[d->sec];
        out->kind = c->kind;
        fill_name(c, &out->catalog, &out->schema, &out->name);
    }
}

const char *policy_snapshot_admin_group(const struct policy_snapshot *s)
{
    return s->admin == PNONE ? NULL : s->prin[s->admin].name;
}

bool policy_snapshot_in_group(const struct policy_snapshot *s, const char *principal,
                              const char *group)
{
    enum policy_principal_kind k;
    struct policy_str name;
    const char *err;
    if (principal_parse(principal, strlen(principal), &k, &name, &err) < 0)
        return false;
    if (k == POLICY_PRINCIPAL_GROUP && strlen(group) == name.len &&
        memcmp(group, name.ptr, name.len) == 0)
        return true;
    uint32_t p = snap_find_principal(s, k, name.ptr, name.len);
    uint32_t g = snap_find_principal(s, POLICY_PRINCIPAL_GROUP, group, strlen(group));
    if (p == PNONE || g == PNONE)
        return false;
    for (uint32_t i = 0; i < s->prin[p].closure_n; i++)
        if (s->closure[s->prin[p].closure_off + i].id == g)
            return true;
    return false;
}
