/*
 * principal: see principal.h. One malloc holds the struct, the actor chain, the pointer arrays
 * and the string bytes, laid out in that order.
 */
#include "auth/principal.h"

#include <stdlib.h>
#include <string.h>

static size_t slen(const char *s)
{
    return s ? strlen(s) : 0;
}

static char *put(char **cursor, const char *s)
{
    size_t n = slen(s);
    char *dst = *cursor;
    if (n)
        memcpy(dst, s, n);
    dst[n] = '\0';
    *cursor += n + 1;
    return dst;
}

struct principal *principal_new(const struct principal_spec *spec)
{
    size_t bytes = sizeof(struct principal);
    bytes += (spec->ngroups + spec->nscopes + 2) * sizeof(char *);
    bytes += slen(spec->user) + slen(spec->issuer) + slen(spec->jti) + 3;
    bytes += spec->nact * sizeof(struct principal_actor);
    for (size_t i = 0; i < spec->nact; i++)
        bytes += slen(spec->act[i].id) + slen(spec->act[i].issuer) + 2;
    for (size_t i = 0; i < spec->ngroups; i++)
        bytes += slen(spec->groups[i]) + 1;
    for (size_t i = 0; i < spec->nscopes; i++)
        bytes += slen(spec->scopes[i]) + 1;
    struct principal *p = calloc(1, bytes);
    if (!p)
        return NULL;
    struct principal_actor *act = (struct principal_actor *)(p + 1);
    const char **groups = (const char **)(act + spec->nact);
    const char **scopes = groups + spec->ngroups + 1;
    char *cursor = (char *)(scopes + spec->nscopes + 1);
    atomic_init(&p->refs, 1);
    p->method = spec->method;
    p->user = put(&cursor, spec->user);
    p->issuer = put(&cursor, spec->issuer);
    p->jti = put(&cursor, spec->jti);
    for (size_t i = 0; i < spec->ngroups; i++)
        groups[i] = put(&cursor, spec->groups[i]);
    for (size_t i = 0; i < spec->nscopes; i++)
        scopes[i] = put(&cursor, spec->scopes[i]);
    for (size_t i = 0; i < spec->nact; i++) {
        act[i].id = put(&cursor, spec->act[i].id);
        act[i].issuer = put(&cursor, spec->act[i].issuer);
    }
    p->act = spec->nact ? act : NULL;
    p->nact = spec->nact;
    p->groups = groups;
    p->ngroups = spec->ngroups;
    p->scopes = scopes;
    p->nscopes = spec->nscopes;
    p->expires_ms = spec->expires_ms;
    if (spec->token_id)
        memcpy(p->token_id, spec->token_id, PRINCIPAL_TOKEN_ID_LEN);
    p->token_id[PRINCIPAL_TOKEN_ID_LEN] = '\0';
    return p;
}

const struct principal *principal_ref(const struct principal *p)
{
    struct principal *m = (struct principal *)p;
    atomic_fetch_add_explicit(&m->refs, 1, memory_order_relaxed);
    return p;
}

void principal_release(const struct principal *p)
{
    if (!p)
        return;
    struct principal *m = (struct principal *)p;
    if (atomic_fetch_sub_explicit(&m->refs, 1, memory_order_acq_rel) == 1)
        free(m);
}

bool principal_user_ok(const char *s, size_t len)
{
    if (len == 0 || len > 256)
        return false;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f)
            return false;
    }
    return true;
}

bool principal_name_ok(const char *s, size_t len)
{
    if (len == 0 || len > 256)
        return false;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c <= 0x20 || c == 0x7f || c == ',')
            return false;
    }
    return true;
}

bool principal_is_sp(const struct principal *p, const char **name)
{
    if (!p || strncmp(p->user, PRINCIPAL_SP_PREFIX, PRINCIPAL_SP_PREFIX_LEN) != 0 ||
        !p->user[PRINCIPAL_SP_PREFIX_LEN])
        return false;
    if (name)
        *name = p->user + PRINCIPAL_SP_PREFIX_LEN;
    return true;
}

bool principal_in_group(const struct principal *p, const char *group)
{
    for (size_t i = 0; i < p->ngroups; i++)
        if (strcmp(p->groups[i], group) == 0)
            return true;
    return false;
}

bool principal_has_scope(const struct principal *p, const char *scope)
{
    for (size_t i = 0; i < p->nscopes; i++)
        if (strcmp(p->scopes[i], scope) == 0)
            return true;
    return false;
}
