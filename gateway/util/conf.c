/*
 * conf: table-driven INI reader; see conf.h for the format and the contract.
 *
 * One pass over the text, line by line. Each value is converted by its key's type and stored
 * at the key's offset in the section struct. Errors never stop the pass: they are recorded
 * with their exact position and reading continues with the next line, so an admin sees every
 * mistake at once. After the pass, required keys and each section's own check() run.
 */
#include "util/conf.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_KEYS_PER_SECTION 64

void conf_diag_add(struct conf_diag *d, const char *file, unsigned line, unsigned column,
                   const char *fmt, ...)
{
    char msg[1024];
    int n = snprintf(msg, sizeof(msg), "%s:%u:%u: ", file, line, column);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg + n, sizeof(msg) - (size_t)n, fmt, ap);
    va_end(ap);
    if (d->n == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 8;
        char **m = realloc(d->msgs, cap * sizeof(*m));
        if (!m) {
            d->n++; /* still counts as an error */
            return;
        }
        d->msgs = m;
        d->cap = cap;
    }
    d->msgs[d->n] = strdup(msg);
    d->n++;
}

void conf_diag_clear(struct conf_diag *d)
{
    for (size_t i = 0; i < d->n && i < d->cap; i++)
        free(d->msgs[i]);
    free(d->msgs);
    memset(d, 0, sizeof(*d));
}

int conf_parse_duration_ms(const char *s, int64_t *out)
{
    if (!isdigit((unsigned char)*s))
        return -1;
    errno = 0;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || v > (1ULL << 40))
        return -1;
    int64_t mul;
    if (strcmp(end, "ms") == 0)
        mul = 1;
    else if (strcmp(end, "s") == 0)
        mul = 1000;
    else if (strcmp(end, "m") == 0)
        mul = 60000;
    else if (strcmp(end, "h") == 0)
        mul = 3600000;
    else if (strcmp(end, "d") == 0)
        mul = 86400000;
    else
        return -1;
    *out = (int64_t)v * mul;
    return 0;
}

int conf_parse_size(const char *s, int64_t *out)
{
    if (!isdigit((unsigned char)*s))
        return -1;
    errno = 0;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || v > (1ULL << 50))
        return -1;
    int64_t mul;
    if (*end == '\0')
        mul = 1;
    else if (strcasecmp(end, "k") == 0)
        mul = 1024;
    else if (strcasecmp(end, "m") == 0)
        mul = 1024 * 1024;
    else if (strcasecmp(end, "g") == 0)
        mul = 1024 * 1024 * 1024;
    else
        return -1;
    *out = (int64_t)v * mul;
    return 0;
}

int conf_parse_bool(const char *s, bool *out)
{
    static const char *const yes[] = {"on", "true", "yes", "1"};
    static const char *const no[] = {"off", "false", "no", "0"};
    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(s, yes[i]) == 0)
            return *out = true, 0;
        if (strcasecmp(s, no[i]) == 0)
            return *out = false, 0;
    }
    return -1;
}

int conf_split_address(const char *s, char *host, size_t hostlen, int *port)
{
    const char *colon;
    const char *h = s;
    size_t hl;
    if (*s == '[') {
        const char *rb = strchr(s, ']');
        if (!rb || rb[1] != ':')
            return -1;
        h = s + 1;
        hl = (size_t)(rb - h);
        colon = rb + 1;
    } else {
        colon = strrchr(s, ':');
        if (!colon)
            return -1;
        hl = (size_t)(colon - s);
        if (memchr(s, ':', hl))
            return -1; /* bare IPv6 without brackets is ambiguous */
    }
    if (hl == 0 || hl >= hostlen)
        return -1;
    for (size_t i = 0; i < hl; i++)
        if (!isalnum((unsigned char)h[i]) && !strchr(".-_:", h[i]))
            return -1;
    const char *p = colon + 1;
    if (!*p || strlen(p) > 5)
        return -1;
    long v = 0;
    for (; *p; p++) {
        if (!isdigit((unsigned char)*p))
            return -1;
        v = v * 10 + (*p - '0');
    }
    if (v > 65535)
        return -1;
    memcpy(host, h, hl);
    host[hl] = '\0';
    *port = (int)v;
    return 0;
}

/* Levenshtein distance for did-you-mean hints on short identifiers. */
static unsigned edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 63 || lb > 63)
        return 99;
    unsigned row[64];
    for (size_t j = 0; j <= lb; j++)
        row[j] = (unsigned)j;
    for (size_t i = 1; i <= la; i++) {
        unsigned prev = row[0];
        row[0] = (unsigned)i;
        for (size_t j = 1; j <= lb; j++) {
            unsigned cur = row[j];
            unsigned sub =
                prev + (tolower((unsigned char)a[i - 1]) != tolower((unsigned char)b[j - 1]));
            unsigned del = row[j] + 1, ins = row[j - 1] + 1;
            row[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
            prev = cur;
        }
    }
    return row[lb];
}

static const char *closest(const char *word, const char *const *cands, size_t stride, size_t n)
{
    const char *best = NULL;
    unsigned bestd = 3;
    for (size_t i = 0; i < n; i++) {
        const char *c = *(const char *const *)((const char *)cands + i * stride);
        if (!c)
            break;
        unsigned d = edit_distance(word, c);
        if (d < bestd) {
            bestd = d;
            best = c;
        }
    }
    return best;
}

struct reader {
    const char *file;
    struct conf_diag *diag;
    const struct conf_section *sections;
    size_t nsections;
    void *root;
    /* current section */
    const struct conf_section *sec;
    void *sect;
    unsigned sec_line;
    bool seen[MAX_KEYS_PER_SECTION];
    unsigned *sec_count; /* per section definition: times seen */
    bool in_bad_section; /* keys under a rejected header are skipped silently */
};

static void *section_slot(struct reader *r, const struct conf_section *s, unsigned line,
                          unsigned col, const char *label)
{
    char *root = r->root;
    void *sect;
    if (s->repeatable) {
        void **arr = (void **)(root + s->offset);
        size_t *count = (size_t *)(root + s->count_offset);
        void *grown = realloc(*arr, (*count + 1) * s->size);
        if (!grown) {
            conf_diag_add(r->diag, r->file, line, col, "out of memory");
            return NULL;
        }
        *arr = grown;
        sect = (char *)grown + *count * s->size;
        (*count)++;
        memset(sect, 0, s->size);
        if (s->set_defaults)
            s->set_defaults(sect);
    } else {
        sect = root + s->offset;
    }
    if (s->label_offset != CONF_NO_LABEL) {
        char **lp = (char **)((char *)sect + s->label_offset);
        free(*lp);
        *lp = label ? strdup(label) : NULL;
    } else if (label) {
        conf_diag_add(r->diag, r->file, line, col, "section [%s] takes no label (got '%s')",
                      s->name, label);
    }
    return sect;
}

static void finish_section(struct reader *r)
{
    if (!r->sec)
        return;
    for (size_t i = 0; r->sec->keys[i].name; i++)
        if (r->sec->keys[i].required && !r->seen[i])
            conf_diag_add(r->diag, r->file, r->sec_line, 1,
                          "section [%s]: missing required key '%s'", r->sec->name,
                          r->sec->keys[i].name);
    if (r->sec->check) {
        struct conf_pos pos = {r->file, r->sec_line, 1};
        r->sec->check(r->sect, &pos, r->diag);
    }
    r->sec = NULL;
    r->sect = NULL;
}

static void begin_section(struct reader *r, char *p, unsigned line, const char *start)
{
    finish_section(r);
    r->in_bad_section = true;
    unsigned col = (unsigned)(p - start) + 1;
    char *close = strchr(p, ']');
    if (!close) {
        conf_diag_add(r->diag, r->file, line, col, "section header is missing ']'");
        return;
    }
    char *rest = close + 1;
    while (*rest == ' ' || *rest == '\t')
        rest++;
    if (*rest && *rest != '#') {
        conf_diag_add(r->diag, r->file, line, (unsigned)(rest - start) + 1,
                      "unexpected text after section header");
        return;
    }
    *close = '\0';
    char *name = p + 1;
    while (*name == ' ')
        name++;
    char *label = strchr(name, ' ');
    if (label) {
        *label++ = '\0';
        while (*label == ' ')
            label++;
        char *e = label + strlen(label);
        while (e > label && e[-1] == ' ')
            *--e = '\0';
        if (!*label)
            label = NULL;
    }
    for (size_t i = 0; i < r->nsections; i++) {
        const struct conf_section *s = &r->sections[i];
        if (strcmp(s->name, name) != 0)
            continue;
        if (!s->repeatable && r->sec_count[i]++ > 0) {
            conf_diag_add(r->diag, r->file, line, col + 1, "section [%s] appears more than once",
                          name);
            return;
        }
        r->sec = s;
        r->sec_line = line;
        memset(r->seen, 0, sizeof(r->seen));
        r->sect = section_slot(r, s, line, col, label);
        if (!r->sect)
            r->sec = NULL;
        r->in_bad_section = r->sec == NULL;
        return;
    }
    const char *hint = closest(name, &r->sections[0].name, sizeof(r->sections[0]), r->nsections);
    if (hint)
        conf_diag_add(r->diag, r->file, line, col + 1, "unknown section [%s]; did you mean [%s]?",
                      name, hint);
    else
        conf_diag_add(r->diag, r->file, line, col + 1, "unknown section [%s]", name);
}

/* Unquote a "..." value in place. Returns -1 on a malformed quoted string. */
static int unquote(char *v)
{
    size_t n = strlen(v);
    if (n == 0 || v[0] != '"')
        return 0;
    char *w = v;
    for (size_t i = 1; i < n; i++) {
        if (v[i] == '\\' && i + 1 < n && (v[i + 1] == '"' || v[i + 1] == '\\')) {
            *w++ = v[++i];
        } else if (v[i] == '"') {
            if (i != n - 1)
                return -1;
            *w = '\0';
            return 0;
        } else {
            *w++ = v[i];
        }
    }
    return -1;
}

static char **split_list(const char *v)
{
    size_t n = 1;
    for (const char *p = v; *p; p++)
        n += *p == ',';
    char **out = calloc(n + 1, sizeof(*out));
    if (!out)
        return NULL;
    size_t k = 0;
    const char *p = v;
    for (;;) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        while (len && (*p == ' ' || *p == '\t'))
            p++, len--;
        while (len && (p[len - 1] == ' ' || p[len - 1] == '\t'))
            len--;
        if (len) {
            out[k] = strndup(p, len);
            if (!out[k++])
                break;
        }
        if (!e)
            break;
        p = e + 1;
    }
    return out;
}

static void free_list(char **l)
{
    if (!l)
        return;
    for (char **p = l; *p; p++)
        free(*p);
    free(l);
}

static void store_value(struct reader *r, const struct conf_key *k, char *v, unsigned line,
                        unsigned col)
{
    char *field = (char *)r->sect + k->offset;
    int64_t iv = 0;
    bool bv;
    const char *kind = NULL;
    switch (k->type) {
    case CONF_STRING:
        free(*(char **)field);
        *(char **)field = strdup(v);
        return;
    case CONF_ADDRESS: {
        char host[256];
        int port;
        if (conf_split_address(v, host, sizeof(host), &port) < 0) {
            conf_diag_add(r->diag, r->file, line, col,
                          "%s: invalid address '%s' (expected host:port or [v6]:port)", k->name, v);
            return;
        }
        free(*(char **)field);
        *(char **)field = strdup(v);
        return;
    }
    case CONF_LIST:
        free_list(*(char ***)field);
        *(char ***)field = split_list(v);
        return;
    case CONF_BOOL:
        if (conf_parse_bool(v, &bv) < 0) {
            conf_diag_add(r->diag, r->file, line, col,
                          "%s: invalid boolean '%s' (expected on/off/true/false/yes/no)", k->name,
                          v);
            return;
        }
        *(bool *)field = bv;
        return;
    case CONF_ENUM:
        for (int i = 0; k->choices[i]; i++)
            if (strcmp(k->choices[i], v) == 0) {
                *(int *)field = i;
                return;
            }
        {
            char expect[256] = "";
            size_t n = 0;
            for (int i = 0; k->choices[i] && n < sizeof(expect) - 40; i++)
                n += (size_t)snprintf(expect + n, sizeof(expect) - n, "%s%s", i ? ", " : "",
                                      k->choices[i]);
            conf_diag_add(r->diag, r->file, line, col,
                          "%s: invalid value '%s' (expected one of: %s)", k->name, v, expect);
        }
        return;
    case CONF_INT: {
        char *end;
        errno = 0;
        long long x = strtoll(v, &end, 10);
        if (errno || *end || end == v || !(isdigit((unsigned char)*v) || *v == '-')) {
            conf_diag_add(r->diag, r->file, line, col, "%s: invalid integer '%s'", k->name, v);
            return;
        }
        iv = x;
        kind = "";
        break;
    }
    case CONF_DURATION:
        if (conf_parse_duration_ms(v, &iv) < 0) {
            conf_diag_add(r->diag, r->file, line, col,
                          "%s: invalid duration '%s' (expected e.g. 500ms, 10s, 5m, 1h)", k->name,
                          v);
            return;
        }
        kind = "ms";
        break;
    case CONF_SIZE:
        if (conf_parse_size(v, &iv) < 0) {
            conf_diag_add(r->diag, r->file, line, col,
                          "%s: invalid size '%s' (expected e.g. 512, 64k, 10M, 1G)", k->name, v);
            return;
        }
        kind = " bytes";
        break;
    }
    if ((k->min || k->max) && (iv < k->min || iv > k->max)) {
        conf_diag_add(r->diag, r->file, line, col, "%s: %s is out of range (%lld..%lld%s)", k->name,
                      v, (long long)k->min, (long long)k->max, kind);
        return;
    }
    *(int64_t *)field = iv;
}

static void key_value(struct reader *r, char *p, unsigned line, const char *start)
{
    unsigned col = (unsigned)(p - start) + 1;
    char *eq = strchr(p, '=');
    if (!eq) {
        conf_diag_add(r->diag, r->file, line, col, "expected 'key = value'");
        return;
    }
    char *ke = eq;
    while (ke > p && (ke[-1] == ' ' || ke[-1] == '\t'))
        ke--;
    *ke = '\0';
    char *v = eq + 1;
    while (*v == ' ' || *v == '\t')
        v++;
    unsigned vcol = (unsigned)(v - start) + 1;
    /* strip a trailing comment (# after whitespace, outside quotes) and whitespace */
    bool inq = false;
    for (char *q = v; *q; q++) {
        if (*q == '"' && (q == v || q[-1] != '\\'))
            inq = !inq;
        if (!inq && *q == '#' && (q == v || q[-1] == ' ' || q[-1] == '\t')) {
            *q = '\0';
            break;
        }
    }
    char *e = v + strlen(v);
    while (e > v && (e[-1] == ' ' || e[-1] == '\t'))
        *--e = '\0';
    if (!*p) {
        conf_diag_add(r->diag, r->file, line, col, "missing key before '='");
        return;
    }
    if (!r->sec) {
        if (!r->in_bad_section)
            conf_diag_add(r->diag, r->file, line, col, "key '%s' outside of any section", p);
        return;
    }
    const struct conf_key *keys = r->sec->keys;
    size_t i;
    for (i = 0; keys[i].name; i++)
        if (strcmp(keys[i].name, p) == 0)
            break;
    if (!keys[i].name) {
        const char *hint = closest(p, &keys[0].name, sizeof(keys[0]), SIZE_MAX);
        if (hint)
            conf_diag_add(r->diag, r->file, line, col,
                          "unknown key '%s' in section [%s]; did you mean '%s'?", p, r->sec->name,
                          hint);
        else
            conf_diag_add(r->diag, r->file, line, col, "unknown key '%s' in section [%s]", p,
                          r->sec->name);
        return;
    }
    if (i < MAX_KEYS_PER_SECTION) {
        if (r->seen[i]) {
            conf_diag_add(r->diag, r->file, line, col, "duplicate key '%s' in section [%s]", p,
                          r->sec->name);
            return;
        }
        r->seen[i] = true;
    }
    if (!*v) {
        conf_diag_add(r->diag, r->file, line, vcol, "%s: empty value", p);
        return;
    }
    if (unquote(v) < 0) {
        conf_diag_add(r->diag, r->file, line, vcol, "%s: unterminated or malformed quoted string",
                      p);
        return;
    }
    store_value(r, &keys[i], v, line, vcol);
}

int conf_parse(const char *file, const char *text, size_t len, const struct conf_section *sections,
               size_t nsections, void *root, struct conf_diag *diag)
{
    size_t before = diag->n;
    unsigned counts[64] = {0};
    struct reader r = {.file = file,
                       .diag = diag,
                       .sections = sections,
                       .nsections = nsections,
                       .root = root,
                       .sec_count = counts};
    for (size_t i = 0; i < nsections; i++)
        if (!sections[i].repeatable && sections[i].set_defaults)
            sections[i].set_defaults((char *)root + sections[i].offset);

    char line_buf[4096];
    unsigned line = 0;
    size_t pos = 0;
    while (pos < len) {
        line++;
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t ll = nl ? (size_t)(nl - (text + pos)) : len - pos;
        const char *src = text + pos;
        pos += ll + (nl ? 1 : 0);
        if (ll && src[ll - 1] == '\r')
            ll--;
        if (ll >= sizeof(line_buf)) {
            conf_diag_add(diag, file, line, 1, "line longer than %zu bytes", sizeof(line_buf) - 1);
            continue;
        }
        if (memchr(src, '\0', ll)) {
            conf_diag_add(diag, file, line,
                          (unsigned)((const char *)memchr(src, '\0', ll) - src) + 1,
                          "NUL byte in configuration");
            continue;
        }
        bool bad = false;
        for (size_t i = 0; i < ll; i++) {
            unsigned char c = (unsigned char)src[i];
            if (c < 0x20 && c != '\t') {
                conf_diag_add(diag, file, line, (unsigned)i + 1, "control character 0x%02x", c);
                bad = true;
                break;
            }
        }
        if (bad)
            continue;
        memcpy(line_buf, src, ll);
        line_buf[ll] = '\0';
        char *p = line_buf;
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p == '\0' || *p == '#' || *p == ';')
            continue;
        if (*p == '[')
            begin_section(&r, p, line, line_buf);
        else
            key_value(&r, p, line, line_buf);
    }
    finish_section(&r);
    return diag->n > before ? -1 : 0;
}

int conf_load(const char *path, const struct conf_section *sections, size_t nsections, void *root,
              struct conf_diag *diag)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        conf_diag_add(diag, path, 0, 0, "cannot open: %s", strerror(errno));
        return -1;
    }
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    int rc = -1;
    if (!buf)
        goto out;
    for (;;) {
        if (n == cap) {
            if (cap >= (8u << 20)) {
                conf_diag_add(diag, path, 0, 0, "file larger than 8 MiB");
                goto out;
            }
            char *g = realloc(buf, cap * 2);
            if (!g)
                goto out;
            buf = g;
            cap *= 2;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
    }
    if (ferror(f)) {
        conf_diag_add(diag, path, 0, 0, "read error: %s", strerror(errno));
        goto out;
    }
    rc = conf_parse(path, buf, n, sections, nsections, root, diag);
out:
    free(buf);
    fclose(f);
    return rc;
}

static void release_struct(const struct conf_section *s, void *sect)
{
    for (size_t i = 0; s->keys[i].name; i++) {
        char *field = (char *)sect + s->keys[i].offset;
        if (s->keys[i].type == CONF_STRING || s->keys[i].type == CONF_ADDRESS) {
            free(*(char **)field);
            *(char **)field = NULL;
        } else if (s->keys[i].type == CONF_LIST) {
            free_list(*(char ***)field);
            *(char ***)field = NULL;
        }
    }
    if (s->label_offset != CONF_NO_LABEL) {
        free(*(char **)((char *)sect + s->label_offset));
        *(char **)((char *)sect + s->label_offset) = NULL;
    }
}

void conf_release(const struct conf_section *sections, size_t nsections, void *root)
{
    for (size_t i = 0; i < nsections; i++) {
        const struct conf_section *s = &sections[i];
        if (s->repeatable) {
            void **arr = (void **)((char *)root + s->offset);
            size_t *count = (size_t *)((char *)root + s->count_offset);
            for (size_t j = 0; j < *count; j++)
                release_struct(s, (char *)*arr + j * s->size);
            free(*arr);
            *arr = NULL;
            *count = 0;
        } else {
            release_struct(s, (char *)root + s->offset);
        }
    }
}
