/*
 * policy diagnostics: the ordered list of compile errors ("file:line:col: message"). Owned
 * by the caller (init/deinit); filled by the compiler on its thread.
 */
#include "policy/internal.h"
#include "policy/policy.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void policy_diag_init(struct policy_diag *d)
{
    memset(d, 0, sizeof(*d));
}

void policy_diag_clear(struct policy_diag *d)
{
    for (size_t i = 0; i < d->count; i++) {
        free(d->v[i].file);
        free(d->v[i].message);
        free(d->v[i].text);
    }
    d->count = 0;
}

void policy_diag_deinit(struct policy_diag *d)
{
    if (!d)
        return;
    policy_diag_clear(d);
    free(d->v);
    memset(d, 0, sizeof(*d));
}

__attribute__((format(printf, 1, 0))) static char *vformat(const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0)
        return NULL;
    char *s = malloc((size_t)n + 1);
    if (s)
        vsnprintf(s, (size_t)n + 1, fmt, ap);
    return s;
}

int policy_diag_add(struct policy_diag *d, const char *file, unsigned line, unsigned col,
                    const char *fmt, ...)
{
    struct policy_diag_entry e = {0};
    va_list ap;
    if (d->count > POLICY_DIAG_MAX)
        return 0;
    if (d->count == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 8;
        struct policy_diag_entry *v = realloc(d->v, cap * sizeof(*v));
        if (!v)
            return -1;
        d->v = v;
        d->cap = cap;
    }
    e.file = strdup(file ? file : "-");
    e.line = line;
    e.col = col;
    if (d->count == POLICY_DIAG_MAX) {
        e.message = strdup("too many errors, giving up");
    } else {
        va_start(ap, fmt);
        e.message = vformat(fmt, ap);
        va_end(ap);
    }
    if (!e.file || !e.message)
        goto fail;
    int n = snprintf(NULL, 0, "%s:%u:%u: %s", e.file, line, col, e.message);
    e.text = malloc((size_t)n + 1);
    if (!e.text)
        goto fail;
    snprintf(e.text, (size_t)n + 1, "%s:%u:%u: %s", e.file, line, col, e.message);
    d->v[d->count++] = e;
    return 0;
fail:
    free(e.file);
    free(e.message);
    free(e.text);
    return -1;
}

size_t policy_diag_format(const struct policy_diag *d, char *buf, size_t buflen)
{
    size_t pos = 0;
    if (buflen > 0)
        buf[0] = '\0';
    for (size_t i = 0; i < d->count; i++) {
        int n = snprintf(pos < buflen ? buf + pos : NULL, pos < buflen ? buflen - pos : 0, "%s%s",
                         i ? "\n" : "", d->v[i].text);
        if (n > 0)
            pos += (size_t)n;
    }
    return pos;
}

void policy_ap(struct policy_out *o, const char *fmt, ...)
{
    va_list va;
    va_start(va, fmt);
    int n = vsnprintf(o->len < o->cap ? o->buf + o->len : NULL,
                      o->len < o->cap ? o->cap - o->len : 0, fmt, va);
    va_end(va);
    if (n > 0)
        o->len += (size_t)n;
}
