/*
 * policy parser: turns one file's tokens into builder calls (pb_grant, pb_owner, pb_group,
 * pb_member, pb_admin, pb_delegation). Pure: the text comes from the caller, errors go to the
 * builder's diagnostics, nothing is read or written elsewhere. Statements (keywords
 * case-insensitive):
 *
 *   GRANT priv[, ...] ON CATALOG|SCHEMA|EXPERIMENT|MODEL name TO principal[, ...];
 *   ALTER CATALOG|SCHEMA|EXPERIMENT|MODEL name OWNER TO principal;
 *   CREATE GROUP name [WITH MEMBERS principal[, ...]];
 *   ALTER GROUP name ADD MEMBERS principal[, ...];     (MEMBER also accepted)
 *   SET ADMIN GROUP name;
 *   GRANT DELEGATION [ON CATALOG|SCHEMA|EXPERIMENT|MODEL name]
 *       FOR principal[, ...] TO principal[, ...] LIMIT priv[, ...];
 *
 * Error recovery: after an error the parser skips to the next ';' or to a statement keyword
 * on a later line, so one pass reports every independent error.
 */
#include "policy/internal.h"
#include "policy/lexer.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

struct parser {
    struct plex lx;
    struct plex_token tok;
    unsigned prev_end_line, prev_end_col; /* end of the previously consumed token */
    struct pb *b;
    uint32_t file;
    bool failed;                     /* current statement had an error (already reported) */
    char buf[4][PLEX_MAX_IDENT + 1]; /* unescaped name parts and principal */
};

static const char *const stmt_keywords[] = {"GRANT", "ALTER", "CREATE", "SET"};
static const char *const kind_keywords[] = {"CATALOG", "SCHEMA", "EXPERIMENT", "MODEL"};

static void err_at(struct parser *p, unsigned line, unsigned col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void err_at(struct parser *p, unsigned line, unsigned col, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    pb_error(p->b, p->file, line, col, "%s", msg);
    p->failed = true;
}

/* Reports at the current token, unless the token is a lexer error (already reported). */
#define err_tok(p, ...)                                                                            \
    do {                                                                                           \
        if ((p)->tok.type != PLEX_ERROR)                                                           \
            err_at((p), (p)->tok.line, (p)->tok.col, __VA_ARGS__);                                 \
        else                                                                                       \
            (p)->failed = true;                                                                    \
    } while (0)

static void advance(struct parser *p)
{
    if (p->tok.type != PLEX_EOF) {
        p->prev_end_line = p->tok.end_line;
        p->prev_end_col = p->tok.end_col;
    }
    plex_next(&p->lx, &p->tok);
    if (p->tok.type == PLEX_ERROR)
        err_at(p, p->tok.line, p->tok.col, "%s", p->tok.err);
}

static bool tok_is(const struct parser *p, const char *kw)
{
    if (p->tok.type != PLEX_WORD || p->tok.len != strlen(kw))
        return false;
    for (size_t i = 0; i < p->tok.len; i++)
        if (toupper((unsigned char)p->tok.text[i]) != kw[i])
            return false;
    return true;
}

static bool at_statement_keyword(const struct parser *p)
{
    for (size_t i = 0; i < sizeof(stmt_keywords) / sizeof(stmt_keywords[0]); i++)
        if (tok_is(p, stmt_keywords[i]))
            return true;
    return tok_is(p, "REVOKE") || tok_is(p, "DENY");
}

/* Short printable excerpt of the current token for messages. */
static int tok_len(const struct parser *p)
{
    return p->tok.len > 60 ? 60 : (int)p->tok.len;
}

static const char *tok_desc(const struct parser *p)
{
    switch (p->tok.type) {
    case PLEX_EOF:
        return "end of file";
    case PLEX_DOT:
        return "'.'";
    case PLEX_COMMA:
        return "','";
    case PLEX_SEMI:
        return "';'";
    default:
        return NULL;
    }
}

static void expected(struct parser *p, const char *what)
{
    const char *d = tok_desc(p);
    if (d)
        err_tok(p, "expected %s, found %s", what, d);
    else
        err_tok(p, "expected %s, found '%.*s'", what, tok_len(p), p->tok.text);
}

static bool expect_word(struct parser *p, const char *kw)
{
    if (!tok_is(p, kw)) {
        expected(p, kw);
        return false;
    }
    advance(p);
    return true;
}

/* Skips the rest of a failed statement. */
static void sync(struct parser *p, unsigned err_line)
{
    while (p->tok.type != PLEX_EOF) {
        if (p->tok.type == PLEX_SEMI) {
            advance(p);
            return;
        }
        if (p->tok.line > err_line && at_statement_keyword(p))
            return;
        advance(p);
    }
}

static bool is_ident(const struct parser *p)
{
    return p->tok.type == PLEX_WORD || p->tok.type == PLEX_QUOTED;
}

/* Parses a privilege list up to (not including) ON -- or, for a delegation's LIMIT, up to
 * the end of the list. Fills mask and the position of each privilege's first mention. */
static bool parse_privs(struct parser *p, uint32_t *mask, unsigned pos[][2], bool limit)
{
    *mask = 0;
    for (;;) {
        unsigned line = p->tok.line, col = p->tok.col;
        char words[128];
        size_t wl = 0;
        bool too_long = false;
        /* In a LIMIT list, a statement keyword on a later line ends the list (the ';' is
         * missing), unless a privilege is expected there (CREATE MODEL after a comma). */
        while (p->tok.type == PLEX_WORD &&
               (limit ? !(wl > 0 && p->tok.line > p->prev_end_line && at_statement_keyword(p))
                      : !tok_is(p, "ON") && !tok_is(p, "TO"))) {
            if (wl + p->tok.len + 1 >= sizeof(words)) {
                too_long = true;
            } else {
                if (wl)
                    words[wl++] = ' ';
                memcpy(words + wl, p->tok.text, p->tok.len);
                wl += p->tok.len;
            }
            advance(p);
        }
        if (wl == 0 && !too_long) {
            expected(p, "a privilege");
            return false;
        }
        enum policy_priv pv;
        if (too_long) {
            err_at(p, line, col, "unknown privilege (too many words)");
        } else if (policy_priv_parse(words, wl, &pv) < 0) {
            const char *s = suggest(
                words, wl,
                (const char *const[]){"USE CATALOG", "USE SCHEMA", "BROWSE", "CREATE EXPERIMENT",
                                      "CREATE MODEL", "READ", "MODIFY", "EXECUTE", "APPLY TAG",
                                      "CREATE MODEL VERSION", "MANAGE", "ALL PRIVILEGES", "ALL"},
                13);
            for (size_t i = 0; i < wl; i++)
                words[i] = (char)toupper((unsigned char)words[i]);
            if (wl == 6 && memcmp(words, "SELECT", 6) == 0)
                s = "READ";
            if (s && strcmp(s, "ALL") == 0)
                s = "ALL PRIVILEGES";
            if (wl == 3 && memcmp(words, "ALL", 3) == 0)
                err_at(p, line, col, "unknown privilege 'ALL' (write ALL PRIVILEGES)");
            else if (s)
                err_at(p, line, col, "unknown privilege '%.*s' (did you mean '%s'?)", (int)wl,
                       words, s);
            else
                err_at(p, line, col, "unknown privilege '%.*s'", (int)wl, words);
        } else if (!(*mask & (1u << pv))) {
            *mask |= 1u << pv;
            pos[pv][0] = line;
            pos[pv][1] = col;
        }
        if (p->tok.type == PLEX_COMMA) {
            advance(p);
            continue;
        }
        if (limit)
            return !p->failed;
        if (tok_is(p, "ON"))
            return !p->failed;
        expected(p, "',' or ON after the privilege");
        return false;
    }
}

/* Reports every privilege of mask that does not apply to kind (at its first mention). */
static bool check_applicable(struct parser *p, uint32_t mask, unsigned pos[][2],
                             enum policy_kind kind)
{
    bool ok = true;
    for (int v = 0; v < POLICY_PRIV_COUNT; v++) {
        if (!(mask & (1u << v)) || policy_priv_applies((enum policy_priv)v, kind))
            continue;
        char list[256];
        size_t lp = 0;
        for (int w = 0; w < POLICY_PRIV_COUNT; w++)
            if (policy_priv_applies((enum policy_priv)w, kind))
                lp += (size_t)snprintf(list + lp, sizeof(list) - lp, "%s%s", lp ? ", " : "",
                                       policy_priv_name((enum policy_priv)w));
        err_at(p, pos[v][0], pos[v][1], "privilege %s does not apply to %s (applicable: %s)",
               policy_priv_name((enum policy_priv)v), policy_kind_name(kind), list);
        ok = false;
    }
    return ok;
}

static bool parse_kind(struct parser *p, enum policy_kind *kind)
{
    if (p->tok.type == PLEX_WORD && policy_kind_parse(p->tok.text, p->tok.len, kind) == 0) {
        advance(p);
        return true;
    }
    if (p->tok.type != PLEX_WORD) {
        expected(p, "a securable type (CATALOG, SCHEMA, EXPERIMENT or MODEL)");
        return false;
    }
    const char *s = suggest(p->tok.text, p->tok.len, kind_keywords, 4);
    if (s)
        err_tok(p, "unknown securable type '%.*s' (did you mean '%s'?)", tok_len(p), p->tok.text,
                s);
    else
        err_tok(p, "unknown securable type '%.*s' (expected CATALOG, SCHEMA, EXPERIMENT or MODEL)",
                tok_len(p), p->tok.text);
    return false;
}

/* Parses a dotted name into p->buf[0..2]; checks the part count against kind. */
static bool parse_name(struct parser *p, enum policy_kind kind, struct policy_str *parts)
{
    static const char *const shapes[] = {"catalog", "catalog.schema", "catalog.schema.experiment",
                                         "catalog.schema.model"};
    unsigned line = p->tok.line, col = p->tok.col;
    const char *start = p->tok.text;
    int n = 0;
    if (!is_ident(p)) {
        expected(p, "a name");
        return false;
    }
    for (;;) {
        if (!is_ident(p) || (n > 0 && (tok_is(p, "TO") || tok_is(p, "OWNER")))) {
            expected(p, "a name part after '.'");
            return false;
        }
        if (n < 3) {
            parts[n].ptr = p->buf[n];
            parts[n].len = plex_unquote(&p->tok, p->buf[n]);
            p->buf[n][parts[n].len] = '\0';
        }
        n++;
        const char *end = p->tok.text + p->tok.len + (p->tok.type == PLEX_QUOTED ? 1 : 0);
        advance(p);
        if (p->tok.type != PLEX_DOT) {
            if (n != kind_depth(kind)) {
                int shown = (int)(end - start) > 80 ? 80 : (int)(end - start);
                err_at(p, line, col, "malformed name '%.*s' for %s: expected %s", shown, start,
                       policy_kind_name(kind), shapes[kind]);
                return false;
            }
            return true;
        }
        advance(p);
    }
}

static bool parse_principal(struct parser *p, enum policy_principal_kind *pk,
                            struct policy_str *name, struct policy_source *src)
{
    const char *err;
    if (!is_ident(p)) {
        expected(p, "a principal");
        return false;
    }
    src->file = NULL;
    src->line = p->tok.line;
    src->col = p->tok.col;
    size_t n = plex_unquote(&p->tok, p->buf[3]);
    p->buf[3][n] = '\0';
    if (principal_parse(p->buf[3], n, pk, name, &err) < 0) {
        err_tok(p, "%s: '%.*s'", err, (int)(n > 60 ? 60 : n), p->buf[3]);
        advance(p);
        return false;
    }
    advance(p);
    return true;
}

/* A group name: an identifier, optionally written with the group: prefix. */
static bool parse_group_name(struct parser *p, struct policy_str *name, struct policy_source *src)
{
    enum policy_principal_kind pk;
    if (!parse_principal(p, &pk, name, src))
        return false;
    if (pk != POLICY_PRINCIPAL_GROUP &&
        memchr(p->buf[3], ':', (size_t)(name->ptr - p->buf[3]) + name->len) != NULL) {
        err_at(p, src->line, src->col, "group name must be a plain name or group:name");
        return false;
    }
    return true;
}

static struct policy_source here(const struct parser *p, unsigned line, unsigned col)
{
    struct policy_source s = {NULL, line, col};
    (void)p;
    return s;
}

#define DELEG_MAX_NAMES 256 /* principals in one FOR or TO list */

struct pname {
    enum policy_principal_kind kind;
    char *name;
    size_t len;
};

/* A principal list (FOR ... or TO ...), copied: the LIMIT that applies to it comes later. */
static bool parse_pname_list(struct parser *p, struct pname *v, size_t *n)
{
    for (;;) {
        struct policy_source src;
        struct policy_str name;
        enum policy_principal_kind k;
        if (!parse_principal(p, &k, &name, &src))
            return false;
        if (*n == DELEG_MAX_NAMES) {
            err_at(p, src.line, src.col, "too many principals in one list (at most %d)",
                   DELEG_MAX_NAMES);
            return false;
        }
        v[*n].kind = k;
        v[*n].len = name.len;
        if (!(v[*n].name = malloc(name.len + 1))) {
            p->b->oom = true;
            return false;
        }
        memcpy(v[*n].name, name.ptr, name.len);
        v[*n].name[name.len] = '\0';
        (*n)++;
        if (p->tok.type != PLEX_COMMA)
            return true;
        advance(p);
    }
}

/*
 * GRANT DELEGATION [ON TYPE name] FOR principal[, ...] TO principal[, ...]
 *     LIMIT privilege[, ...];
 */
static bool parse_delegation(struct parser *p, unsigned line, unsigned col)
{
    enum policy_kind kind = POLICY_KIND_CATALOG;
    struct policy_str parts[3] = {{0}};
    bool on = false, ok = false;
    uint32_t mask;
    unsigned pos[POLICY_PRIV_COUNT][2];
    struct pname *subj = calloc(DELEG_MAX_NAMES, sizeof(*subj));
    struct pname *act = calloc(DELEG_MAX_NAMES, sizeof(*act));
    size_t nsubj = 0, nact = 0;
    if (!subj || !act) {
        p->b->oom = true;
        goto out;
    }
    advance(p); /* DELEGATION */
    if (tok_is(p, "ON")) {
        advance(p);
        if (!parse_kind(p, &kind) || !parse_name(p, kind, parts))
            goto out;
        on = true;
    }
    if (!tok_is(p, "FOR")) {
        expected(p, on ? "FOR" : "ON or FOR");
        goto out;
    }
    advance(p);
    if (!parse_pname_list(p, subj, &nsubj) || !expect_word(p, "TO") ||
        !parse_pname_list(p, act, &nact))
        goto out;
    if (!tok_is(p, "LIMIT")) {
        if (p->tok.type == PLEX_SEMI || p->tok.type == PLEX_EOF)
            err_tok(p, "GRANT DELEGATION needs LIMIT privilege[, ...] after the actors (LIMIT "
                       "ALL PRIVILEGES passes every privilege but MANAGE)");
        else
            expected(p, "LIMIT or ','");
        goto out;
    }
    advance(p);
    if (!parse_privs(p, &mask, pos, true))
        goto out;
    if (on && !check_applicable(p, mask, pos, kind))
        goto out;
    for (size_t i = 0; i < nact; i++)
        for (size_t k = 0; k < nsubj; k++)
            pb_delegation(p->b, here(p, line, col), mask, kind, on ? parts : NULL, act[i].kind,
                          (struct policy_str){act[i].name, act[i].len}, subj[k].kind,
                          (struct policy_str){subj[k].name, subj[k].len});
    ok = true;
out:
    for (size_t i = 0; subj && i < nsubj; i++)
        free(subj[i].name);
    for (size_t i = 0; act && i < nact; i++)
        free(act[i].name);
    free(subj);
    free(act);
    return ok;
}

static bool parse_grant(struct parser *p)
{
    unsigned line = p->tok.line, col = p->tok.col;
    uint32_t mask;
    unsigned pos[POLICY_PRIV_COUNT][2];
    enum policy_kind kind;
    struct policy_str parts[3] = {{0}};
    advance(p);
    if (tok_is(p, "DELEGATION"))
        return parse_delegation(p, line, col);
    if (!parse_privs(p, &mask, pos, false))
        return false;
    advance(p); /* ON */
    if (!parse_kind(p, &kind) || !parse_name(p, kind, parts))
        return false;
    bool ok = check_applicable(p, mask, pos, kind);
    if (!expect_word(p, "TO"))
        return false;
    for (;;) {
        enum policy_principal_kind pk;
        struct policy_str name;
        struct policy_source psrc;
        if (!parse_principal(p, &pk, &name, &psrc))
            return false;
        if (ok)
            for (int v = 0; v < POLICY_PRIV_COUNT; v++)
                if (mask & (1u << v))
                    pb_grant(p->b, here(p, line, col), (enum policy_priv)v, kind, parts, pk, name);
        if (p->tok.type != PLEX_COMMA)
            return ok;
        advance(p);
    }
}

static bool parse_members(struct parser *p, uint32_t group)
{
    for (;;) {
        enum policy_principal_kind pk;
        struct policy_str name;
        struct policy_source src;
        if (!parse_principal(p, &pk, &name, &src))
            return false;
        if (group != PNONE)
            pb_member(p->b, src, group, pk, name);
        if (p->tok.type != PLEX_COMMA)
            return true;
        advance(p);
    }
}

static bool parse_alter(struct parser *p)
{
    unsigned line = p->tok.line, col = p->tok.col;
    advance(p);
    if (tok_is(p, "GROUP")) {
        struct policy_str name;
        struct policy_source src;
        advance(p);
        if (!parse_group_name(p, &name, &src))
            return false;
        uint32_t g = pb_group(p->b, here(p, src.line, src.col), name, false);
        if (!expect_word(p, "ADD"))
            return false;
        if (!tok_is(p, "MEMBERS") && !tok_is(p, "MEMBER")) {
            expected(p, "MEMBERS");
            return false;
        }
        advance(p);
        return parse_members(p, g);
    }
    enum policy_kind kind;
    struct policy_str parts[3] = {{0}};
    if (!parse_kind(p, &kind) || !parse_name(p, kind, parts))
        return false;
    if (!expect_word(p, "OWNER") || !expect_word(p, "TO"))
        return false;
    enum policy_principal_kind pk;
    struct policy_str name;
    struct policy_source psrc;
    if (!parse_principal(p, &pk, &name, &psrc))
        return false;
    if (p->tok.type == PLEX_COMMA) {
        err_tok(p, "an owner is a single principal (use a group to share ownership)");
        return false;
    }
    pb_owner(p->b, here(p, line, col), kind, parts, pk, name);
    return true;
}

static bool parse_create(struct parser *p)
{
    advance(p);
    if (!expect_word(p, "GROUP"))
        return false;
    struct policy_str name;
    struct policy_source src;
    if (!parse_group_name(p, &name, &src))
        return false;
    uint32_t g = pb_group(p->b, here(p, src.line, src.col), name, true);
    if (!tok_is(p, "WITH"))
        return true;
    advance(p);
    if (!tok_is(p, "MEMBERS") && !tok_is(p, "MEMBER")) {
        expected(p, "MEMBERS");
        return false;
    }
    advance(p);
    return parse_members(p, g);
}

static bool parse_set(struct parser *p)
{
    advance(p);
    if (!expect_word(p, "ADMIN") || !expect_word(p, "GROUP"))
        return false;
    struct policy_str name;
    struct policy_source src;
    if (!parse_group_name(p, &name, &src))
        return false;
    pb_admin(p->b, here(p, src.line, src.col), name);
    return true;
}

static void parse_statement(struct parser *p)
{
    bool ok;
    p->failed = false;
    if (tok_is(p, "GRANT")) {
        ok = parse_grant(p);
    } else if (tok_is(p, "ALTER")) {
        ok = parse_alter(p);
    } else if (tok_is(p, "CREATE")) {
        ok = parse_create(p);
    } else if (tok_is(p, "SET")) {
        ok = parse_set(p);
    } else if (tok_is(p, "REVOKE") || tok_is(p, "DENY")) {
        err_tok(p, "%.*s is not supported: policies are allow-only, remove the GRANT instead",
                tok_len(p), p->tok.text);
        advance(p);
        ok = false;
    } else if (p->tok.type == PLEX_WORD) {
        const char *s = suggest(p->tok.text, p->tok.len, stmt_keywords, 4);
        if (s)
            err_tok(p, "unknown statement '%.*s' (did you mean '%s'?)", tok_len(p), p->tok.text, s);
        else
            err_tok(p,
                    "unknown statement '%.*s' (expected GRANT, ALTER, CREATE GROUP or SET "
                    "ADMIN GROUP)",
                    tok_len(p), p->tok.text);
        ok = false;
    } else {
        expected(p, "a statement");
        ok = false;
    }
    if (ok && !p->failed) {
        if (p->tok.type == PLEX_SEMI) {
            advance(p);
            return;
        }
        if (p->tok.type == PLEX_EOF || at_statement_keyword(p) || p->tok.line > p->prev_end_line) {
            err_at(p, p->prev_end_line, p->prev_end_col, "missing ';' at the end of the statement");
            return;
        }
        expected(p, "';'");
    }
    sync(p, p->prev_end_line);
}

void policy_parse(struct pb *b, uint32_t file, const char *text, size_t len)
{
    struct parser *p = calloc(1, sizeof(*p));
    if (!p) {
        b->oom = true;
        return;
    }
    p->b = b;
    p->file = file;
    plex_init(&p->lx, text, len);
    p->prev_end_line = 1;
    p->prev_end_col = 1;
    advance(p);
    while (p->tok.type != PLEX_EOF) {
        if (p->tok.type == PLEX_SEMI) { /* empty statement */
            advance(p);
            continue;
        }
        if (p->tok.type == PLEX_ERROR) {
            unsigned l = p->tok.line;
            advance(p);
            sync(p, l);
            continue;
        }
        const char *before = p->tok.text;
        parse_statement(p);
        if (p->tok.text == before && p->tok.type != PLEX_EOF) /* always make progress */
            advance(p);
    }
    free(p);
}
