/*
 * idhdr: see idhdr.h.
 */
#include "net/idhdr.h"

#include <string.h>

#include "auth/assertion.h"
#include "auth/obo.h"
#include "auth/principal.h"

struct w {
    char *p;
    size_t n, cap;
};

static void put(struct w *o, const char *s, size_t n)
{
    if (o->n < o->cap)
        memcpy(o->p + o->n, s, o->n + n <= o->cap ? n : o->cap - o->n);
    o->n += n;
}

#define PUTS(o, s) put((o), (s), sizeof(s) - 1)

static void line(struct w *o, const char *name, const char *v, size_t vl)
{
    put(o, name, strlen(name));
    PUTS(o, ": ");
    put(o, v, vl);
    PUTS(o, "\r\n");
}

static void list(struct w *o, const char *name, const char *const *v, size_t n)
{
    if (n == 0)
        return;
    put(o, name, strlen(name));
    PUTS(o, ": ");
    for (size_t i = 0; i < n; i++) {
        if (i)
            PUTS(o, ",");
        put(o, v[i], strlen(v[i]));
    }
    PUTS(o, "\r\n");
}

size_t idhdr_format(const struct authn_identity *id, const char *assertion, size_t assertion_len,
                    char *buf, size_t cap)
{
    static const char *const methods[] = {"", "jwt", "pat", "basic-pat", "basic-jwt", "mtls"};
    struct w o = {buf, 0, cap};
    const struct principal *p = id->subject;
    if (!p)
        return 0;
    line(&o, "X-Warden-User", p->user, strlen(p->user));
    list(&o, "X-Warden-Groups", p->groups, p->ngroups);
    list(&o, "X-Warden-Scopes", p->scopes, p->nscopes);
    const char *m = (unsigned)p->method < 6 ? methods[p->method] : "";
    line(&o, "X-Warden-Auth-Method", m, strlen(m));
    line(&o, "X-Warden-Issuer", p->issuer, strlen(p->issuer));
    line(&o, "X-Warden-Token-Id", p->token_id, strlen(p->token_id));
    if (id->nactors > 0) {
        const char *v[AUTHN_MAX_ACTORS];
        for (size_t i = 0; i < id->nactors; i++)
            v[i] = id->actors[i].id;
        list(&o, "X-Warden-Actor", v, id->nactors);
    }
    if (assertion)
        line(&o, ASSERTION_HEADER, assertion, assertion_len);
    return o.n;
}
