/*
 * graphql: GraphQL documents read as graphql-core 3.2 reads them, validated against MLflow's
 * schema, planned for authorisation, and MLflow's answers filtered (see graphql.h for the
 * rules). Pure: no I/O, clocks or globals; any thread.
 *
 * One call works in a struct gq: the source, a lexer with two tokens of lookahead (a
 * description is told from a shorthand query by the token after it, as graphql-core does),
 * an arena holding the AST (freed in one go), and the first error. Passes, in order:
 * parse (syntax), document rules (names, fragments, directives, variables; syntactic),
 * MLflow's limits (scan, as graphql_no_batching counts), operation selection, variable
 * coercion, then a typed walk of every operation that merges fields by response key the way
 * execution collects them; only the selected operation's walk fills the plan.
 */
#include "mlflow/graphql.h"

#include "mlflow/graphql_schema.h"
#include "mlflow/lookup.h"
#include "mlflow/naming.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- arena, errors */

struct ablock {
    struct ablock *next;
    size_t cap, used;
    max_align_t data[];
};

enum tk {
    TK_SOF = 0,
    TK_EOF,
    TK_BANG,
    TK_DOLLAR,
    TK_AMP,
    TK_LPAREN,
    TK_RPAREN,
    TK_SPREAD,
    TK_COLON,
    TK_EQUALS,
    TK_AT,
    TK_LBRACKET,
    TK_RBRACKET,
    TK_LBRACE,
    TK_PIPE,
    TK_RBRACE,
    TK_NAME,
    TK_INT,
    TK_FLOAT,
    TK_STRING,
    TK_BLOCK_STRING,
};

struct tok {
    enum tk kind;
    size_t start, end;
    const char *v; /* names and numbers: into the source; strings: decoded (arena) */
    size_t vlen;
};

struct gname {
    const char *s;
    size_t len; /* 0: absent */
};

enum vk { V_VAR = 0, V_INT, V_FLOAT, V_STRING, V_BOOL, V_NULL, V_ENUM, V_LIST, V_OBJECT };

struct gval {
    enum vk kind;
    const char *s; /* V_VAR name, number text, string bytes, enum name */
    size_t len;
    bool b;
    bool block;         /* V_STRING from a block string */
    struct gval *items; /* V_LIST items, V_OBJECT fields (each with fname) */
    struct gval *next;
    struct gname fname; /* member of a V_OBJECT */
    size_t pos;
};

enum tref_kind { TR_NAMED = 0, TR_LIST, TR_NONNULL };

struct tref {
    enum tref_kind kind;
    struct gname name; /* TR_NAMED */
    const struct tref *of;
};

struct garg {
    struct gname name;
    struct gval *value;
    struct garg *next;
    size_t pos;
};

struct gdir {
    struct gname name;
    struct garg *args;
    struct gdir *next;
    size_t pos;
};

enum sk { S_FIELD = 0, S_SPREAD, S_INLINE };

struct gselset;

struct gsel {
    enum sk kind;
    struct gname alias, name; /* S_SPREAD: name = fragment; S_INLINE: name = type condition */
    struct garg *args;
    struct gdir *dirs;
    struct gselset *set; /* NULL for leaves and spreads */
    struct gsel *next;
    size_t pos;
};

struct gselset {
    struct gsel *head;
    size_t pos;
};

struct gvardef {
    struct gname name;
    const struct tref *type;
    struct gval *def; /* NULL: no default */
    struct gdir *dirs;
    struct gvardef *next;
    size_t pos;
};

struct gfrag;

struct gop {
    enum graphql_op op;
    struct gname name;
    struct gvardef *vars;
    struct gdir *dirs;
    struct gselset *set;
    struct gop *next;
    size_t pos;
};

struct gfrag {
    struct gname name;
    struct gname type_cond;
    struct gdir *dirs;
    struct gselset *set;
    struct gfrag *next;
    size_t pos;
    int color;     /* cycle search: 0 white, 1 on stack, 2 done */
    bool used;     /* reached from an operation */
    unsigned gen;  /* visited marker of the current collection */
    unsigned vgen; /* visited marker of the current variable search */
};

/* Fields of one selection level grouped by response key (execution's collect_fields). */
struct fref {
    struct gsel *sel;
    struct fref *next;
};

struct group {
    struct gname key, field;
    struct fref *head, *tail;
    struct group *next;
};

struct glist {
    struct group *head, *tail;
};

#define PATH_MAX_DEPTH (GRAPHQL_MLFLOW_DEPTH + 2)

struct gq {
    const char *src;
    size_t len;
    /* lexer */
    struct tok cur, ahead;
    bool have_ahead;
    unsigned nesting;
    /* arena */
    struct ablock *blocks;
    /* first error */
    char *err;
    size_t errlen;
    bool failed;
    /* document */
    struct gop *ops, *ops_tail;
    struct gfrag *frags, *frags_tail;
    size_t nops;
    /* passes */
    unsigned long work;
    unsigned gen;
    const struct gop *op;      /* operation being walked */
    json_t *vars;              /* its coerced variables, or NULL while only validating */
    struct graphql_plan *plan; /* filled while walking the selected operation */
    struct gname path[PATH_MAX_DEPTH];
    size_t depth;
};

static int fail(struct gq *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(struct gq *g, const char *fmt, ...)
{
    if (!g->failed && g->err && g->errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(g->err, g->errlen, fmt, ap);
        va_end(ap);
    }
    g->failed = true;
    return -1;
}

static void where(const struct gq *g, size_t pos, unsigned *line, unsigned *col)
{
    unsigned l = 1, c = 1;
    for (size_t i = 0; i < pos && i < g->len; i++) {
        if (g->src[i] == '\n' ||
            (g->src[i] == '\r' && !(i + 1 < g->len && g->src[i + 1] == '\n'))) {
            l++;
            c = 1;
        } else if (((unsigned char)g->src[i] & 0xC0) != 0x80) {
            c++;
        }
    }
    *line = l;
    *col = c;
}

static int syntax(struct gq *g, size_t pos, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int syntax(struct gq *g, size_t pos, const char *fmt, ...)
{
    if (!g->failed && g->err && g->errlen) {
        char msg[160];
        unsigned l, c;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        where(g, pos, &l, &c);
        snprintf(g->err, g->errlen, "GraphQL syntax error at %u:%u: %s", l, c, msg);
    }
    g->failed = true;
    return -1;
}

static void *alloc(struct gq *g, size_t n)
{
    n = (n + sizeof(max_align_t) - 1) / sizeof(max_align_t) * sizeof(max_align_t);
    struct ablock *b = g->blocks;
    if (!b || b->cap - b->used < n) {
        size_t cap = n > 16384 ? n : 16384;
        b = malloc(sizeof(*b) + cap);
        if (!b) {
            fail(g, "out of memory");
            return NULL;
        }
        b->cap = cap;
        b->used = 0;
        b->next = g->blocks;
        g->blocks = b;
    }
    void *p = (char *)b->data + b->used;
    b->used += n;
    memset(p, 0, n);
    return p;
}

static void arena_free(struct gq *g)
{
    struct ablock *b = g->blocks;
    while (b) {
        struct ablock *n = b->next;
        free(b);
        b = n;
    }
    g->blocks = NULL;
}

static bool name_eq(struct gname a, const char *s)
{
    size_t n = strlen(s);
    return a.len == n && memcmp(a.s, s, n) == 0;
}

static bool names_eq(struct gname a, struct gname b)
{
    return a.len == b.len && memcmp(a.s, b.s, a.len) == 0;
}

/* A name for a message: names are ASCII [_A-Za-z0-9], at most 60 shown. */
#define NM(n) (int)((n).len > 60 ? 60 : (n).len), (n).s

/* ---------------------------------------------------------------- UTF-8 */

/* Length of the valid UTF-8 sequence at s (no overlongs, surrogates or > U+10FFFF), or 0. */
static size_t utf8_seq(const unsigned char *s, size_t n, uint32_t *cp)
{
    if (n == 0)
        return 0;
    unsigned char c = s[0];
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    size_t len;
    uint32_t v, min;
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
        v = c & 0x1F;
        min = 0x80;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        v = c & 0x0F;
        min = 0x800;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        v = c & 0x07;
        min = 0x10000;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        v = (v << 6) | (s[i] & 0x3F);
    }
    if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
        return 0;
    *cp = v;
    return len;
}

static size_t utf8_put(char *out, uint32_t cp)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* ---------------------------------------------------------------- lexer */

static bool is_name_start(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool is_name_continue(char c)
{
    return is_name_start(c) || is_digit(c);
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* How graphql-core prints the character at pos in "Unexpected character" messages. */
static void describe_char(const struct gq *g, size_t pos, char *buf, size_t n)
{
    uint32_t cp = 0;
    if (pos >= g->len) {
        snprintf(buf, n, "<EOF>");
        return;
    }
    if (!utf8_seq((const unsigned char *)g->src + pos, g->len - pos, &cp))
        cp = (unsigned char)g->src[pos];
    if (cp >= 0x20 && cp <= 0x7E)
        snprintf(buf, n, "'%c'", (char)cp);
    else
        snprintf(buf, n, "U+%04X", (unsigned)cp);
}

/* Reads a 4-digit hex code at p, or -1. */
static long hex4(const struct gq *g, size_t p)
{
    if (p + 4 > g->len)
        return -1;
    long v = 0;
    for (int i = 0; i < 4; i++) {
        int h = hexval(g->src[p + (size_t)i]);
        if (h < 0)
            return -1;
        v = (v << 4) | h;
    }
    return v;
}

static int lex_string(struct gq *g, size_t start, struct tok *t)
{
    const char *s = g->src;
    size_t p = start + 1, end = p;
    /* the closing quote first, so the value's buffer is sized by the string, not the rest
     * of the document; decoding never grows it (4 bytes spare for a last escape) */
    while (end < g->len && s[end] != '"' && s[end] != '\r' && s[end] != '\n')
        end += s[end] == '\\' ? 2 : 1;
    char *out = alloc(g, (end < g->len ? end : g->len) - start + 4);
    size_t o = 0;
    if (!out)
        return -1;
    while (p < g->len) {
        char c = s[p];
        if (c == '"') {
            t->kind = TK_STRING;
            t->start = start;
            t->end = p + 1;
            t->v = out;
            t->vlen = o;
            return 0;
        }
        if (c == '\r' || c == '\n')
            break;
        if (c != '\\') {
            uint32_t cp;
            size_t n = utf8_seq((const unsigned char *)s + p, g->len - p, &cp);
            if (!n)
                return syntax(g, p, "invalid character within string");
            memcpy(out + o, s + p, n);
            o += n;
            p += n;
            continue;
        }
        char e = p + 1 < g->len ? s[p + 1] : '\0';
        if (e == 'u' && p + 2 < g->len && s[p + 2] == '{') {
            /* \u{...}: 1 to 8 hex digits, at most 12 characters in all, a scalar value */
            uint64_t v = 0;
            size_t size = 3, max = g->len - p < 12 ? g->len - p : 12;
            bool ok = false;
            while (size < max) {
                char h = s[p + size];
                size++;
                if (h == '}') {
                    ok = size >= 5 && (v <= 0xD7FF || (v >= 0xE000 && v <= 0x10FFFF));
                    break;
                }
                int d = hexval(h);
                if (d < 0)
                    break;
                v = (v << 4) | (uint64_t)d;
            }
            if (!ok)
                return syntax(g, p, "invalid Unicode escape sequence");
            o += utf8_put(out + o, (uint32_t)v);
            p += size;
            continue;
        }
        if (e == 'u') {
            long v = hex4(g, p + 2);
            if (v >= 0 && (v <= 0xD7FF || v >= 0xE000)) {
                o += utf8_put(out + o, (uint32_t)v);
                p += 6;
                continue;
            }
            if (v >= 0xD800 && v <= 0xDBFF && p + 8 <= g->len && s[p + 6] == '\\' &&
                s[p + 7] == 'u') {
                long lo = hex4(g, p + 8);
                if (lo >= 0xDC00 && lo <= 0xDFFF) {
                    o += utf8_put(out + o,
                                  (uint32_t)(0x10000 + ((v - 0xD800) << 10) + (lo - 0xDC00)));
                    p += 12;
                    continue;
                }
            }
            return syntax(g, p, "invalid Unicode escape sequence");
        }
        char d;
        switch (e) {
        case '"':
            d = '"';
            break;
        case '\\':
            d = '\\';
            break;
        case '/':
            d = '/';
            break;
        case 'b':
            d = '\b';
            break;
        case 'f':
            d = '\f';
            break;
        case 'n':
            d = '\n';
            break;
        case 'r':
            d = '\r';
            break;
        case 't':
            d = '\t';
            break;
        default:
            return syntax(g, p, "invalid character escape sequence");
        }
        out[o++] = d;
        p += 2;
    }
    return syntax(g, p, "unterminated string");
}

/* Block string: raw lines (\r\n, \r, \n), \""" read as """, then graphql-core's
 * dedent_block_string_lines: common indentation (spaces, tabs) of all lines but the first
 * removed, leading and trailing blank lines dropped, joined with \n. */
static int lex_block_string(struct gq *g, size_t start, struct tok *t)
{
    const char *s = g->src;
    size_t p = start + 3, end = p;
    while (end < g->len &&
           !(s[end] == '"' && end + 2 < g->len && s[end + 1] == '"' && s[end + 2] == '"'))
        end += (s[end] == '\\' && end + 3 < g->len && s[end + 1] == '"' && s[end + 2] == '"' &&
                s[end + 3] == '"')
                   ? 4
                   : 1;
    char *raw = alloc(g, (end < g->len ? end : g->len) - start + 1);
    size_t r = 0, nlines = 1;
    if (!raw)
        return -1;
    for (;;) {
        if (p >= g->len)
            return syntax(g, p, "unterminated string");
        char c = s[p];
        if (c == '"' && p + 2 < g->len && s[p + 1] == '"' && s[p + 2] == '"')
            break;
        if (c == '\\' && p + 3 < g->len && s[p + 1] == '"' && s[p + 2] == '"' && s[p + 3] == '"') {
            memcpy(raw + r, "\"\"\"", 3);
            r += 3;
            p += 4;
            continue;
        }
        if (c == '\r' || c == '\n') {
            raw[r++] = '\n';
            nlines++;
            p += (c == '\r' && p + 1 < g->len && s[p + 1] == '\n') ? 2 : 1;
            continue;
        }
        uint32_t cp;
        size_t n = utf8_seq((const unsigned char *)s + p, g->len - p, &cp);
        if (!n)
            return syntax(g, p, "invalid character within string");
        memcpy(raw + r, s + p, n);
        r += n;
        p += n;
    }
    size_t *ls = alloc(g, nlines * sizeof(size_t) * 2);
    if (!ls)
        return -1;
    size_t i = 0, b = 0;
    for (size_t k = 0; k <= r; k++) {
        if (k == r || raw[k] == '\n') {
            ls[2 * i] = b;
            ls[2 * i + 1] = k - b;
            i++;
            b = k + 1;
        }
    }
    size_t common = SIZE_MAX;
    long first = -1, last = -1;
    for (i = 0; i < nlines; i++) {
        size_t ind = 0, ll = ls[2 * i + 1];
        while (ind < ll && (raw[ls[2 * i] + ind] == ' ' || raw[ls[2 * i] + ind] == '\t'))
            ind++;
        if (ind == ll)
            continue;
        if (first < 0)
            first = (long)i;
        last = (long)i;
        if (i && ind < common)
            common = ind;
    }
    char *out = alloc(g, r + 1);
    size_t o = 0;
    if (!out)
        return -1;
    if (first < 0)
        first = 0;
    for (long k = first; k <= last; k++) {
        size_t off = ls[2 * k], ll = ls[2 * k + 1];
        if (k) {
            size_t cut = common < ll ? common : ll;
            off += cut;
            ll -= cut;
        }
        if (k > first)
            out[o++] = '\n';
        memcpy(out + o, raw + off, ll);
        o += ll;
    }
    t->kind = TK_BLOCK_STRING;
    t->start = start;
    t->end = p + 3;
    t->v = out;
    t->vlen = o;
    return 0;
}

static int lex_number(struct gq *g, size_t start, struct tok *t)
{
    const char *s = g->src;
    size_t p = start;
    bool is_float = false;
#define CH(i) ((i) < g->len ? s[i] : '\0')
    if (CH(p) == '-')
        p++;
    if (CH(p) == '0') {
        p++;
        if (is_digit(CH(p)))
            return syntax(g, p, "invalid number, unexpected digit after 0");
    } else {
        if (!is_digit(CH(p)))
            return syntax(g, p, "invalid number, expected digit");
        while (is_digit(CH(p)))
            p++;
    }
    if (CH(p) == '.') {
        is_float = true;
        p++;
        if (!is_digit(CH(p)))
            return syntax(g, p, "invalid number, expected digit");
        while (is_digit(CH(p)))
            p++;
    }
    if (CH(p) == 'e' || CH(p) == 'E') {
        is_float = true;
        p++;
        if (CH(p) == '+' || CH(p) == '-')
            p++;
        if (!is_digit(CH(p)))
            return syntax(g, p, "invalid number, expected digit");
        while (is_digit(CH(p)))
            p++;
    }
    if (CH(p) == '.' || is_name_start(CH(p)))
        return syntax(g, p, "invalid number, expected digit");
#undef CH
    t->kind = is_float ? TK_FLOAT : TK_INT;
    t->start = start;
    t->end = p;
    t->v = s + start;
    t->vlen = p - start;
    return 0;
}

/* The next token starting at byte `from`, comments and ignored characters skipped. */
static int lex_at(struct gq *g, size_t from, struct tok *t)
{
    const char *s = g->src;
    size_t p = from;
    memset(t, 0, sizeof(*t));
    while (p < g->len) {
        char c = s[p];
        if (c == ' ' || c == '\t' || c == ',' || c == '\n' || c == '\r') {
            p++;
            continue;
        }
        if ((unsigned char)c == 0xEF && p + 2 < g->len && (unsigned char)s[p + 1] == 0xBB &&
            (unsigned char)s[p + 2] == 0xBF) {
            p += 3; /* U+FEFF */
            continue;
        }
        if (c == '#') {
            while (p < g->len && s[p] != '\n' && s[p] != '\r')
                p++;
            continue;
        }
        t->start = p;
        t->end = p + 1;
        switch (c) {
        case '!':
            t->kind = TK_BANG;
            return 0;
        case '$':
            t->kind = TK_DOLLAR;
            return 0;
        case '&':
            t->kind = TK_AMP;
            return 0;
        case '(':
            t->kind = TK_LPAREN;
            return 0;
        case ')':
            t->kind = TK_RPAREN;
            return 0;
        case ':':
            t->kind = TK_COLON;
            return 0;
        case '=':
            t->kind = TK_EQUALS;
            return 0;
        case '@':
            t->kind = TK_AT;
            return 0;
        case '[':
            t->kind = TK_LBRACKET;
            return 0;
        case ']':
            t->kind = TK_RBRACKET;
            return 0;
        case '{':
            t->kind = TK_LBRACE;
            return 0;
        case '}':
            t->kind = TK_RBRACE;
            return 0;
        case '|':
            t->kind = TK_PIPE;
            return 0;
        case '"':
            if (p + 2 < g->len && s[p + 1] == '"' && s[p + 2] == '"')
                return lex_block_string(g, p, t);
            return lex_string(g, p, t);
        case '.':
            if (p + 2 < g->len && s[p + 1] == '.' && s[p + 2] == '.') {
                t->kind = TK_SPREAD;
                t->end = p + 3;
                return 0;
            }
            break;
        default:
            break;
        }
        if (is_digit(c) || c == '-')
            return lex_number(g, p, t);
        if (is_name_start(c)) {
            size_t q = p + 1;
            while (q < g->len && is_name_continue(s[q]))
                q++;
            t->kind = TK_NAME;
            t->end = q;
            t->v = s + p;
            t->vlen = q - p;
            return 0;
        }
        char d[16];
        describe_char(g, p, d, sizeof(d));
        if (c == '\'')
            return syntax(g, p,
                          "unexpected single quote character ('), did you mean to use a "
                          "double quote (\")?");
        return syntax(g, p, "unexpected character %s", d);
    }
    t->kind = TK_EOF;
    t->start = t->end = g->len;
    return 0;
}

static int advance(struct gq *g)
{
    if (g->have_ahead) {
        g->cur = g->ahead;
        g->have_ahead = false;
        return 0;
    }
    if (g->cur.kind == TK_EOF)
        return 0;
    return lex_at(g, g->cur.end, &g->cur);
}

static const struct tok *lookahead(struct gq *g)
{
    if (!g->have_ahead) {
        if (g->cur.kind == TK_EOF)
            return &g->cur;
        if (lex_at(g, g->cur.end, &g->ahead) < 0)
            return NULL;
        g->have_ahead = true;
    }
    return &g->ahead;
}

static const char *tk_desc(enum tk k)
{
    static const char *const d[] = {
        "<SOF>", "<EOF>", "'!'",  "'$'", "'&'",   "'('",    "')'",
        "'...'", "':'",   "'='",  "'@'", "'['",   "']'",    "'{'",
        "'|'",   "'}'",   "Name", "Int", "Float", "String", "BlockString",
    };
    return d[k];
}

static int unexpected(struct gq *g, const struct tok *t)
{
    if (t->kind == TK_NAME)
        return syntax(g, t->start, "unexpected Name '%.*s'", (int)(t->vlen > 60 ? 60 : t->vlen),
                      t->v);
    return syntax(g, t->start, "unexpected %s", tk_desc(t->kind));
}

static bool peek(const struct gq *g, enum tk k)
{
    return g->cur.kind == k;
}

static int expect(struct gq *g, enum tk k)
{
    if (g->cur.kind != k)
        return syntax(g, g->cur.start, "expected %s, found %s", tk_desc(k), tk_desc(g->cur.kind));
    return advance(g);
}

/* Consumes k when it is next; 1 consumed, 0 not, -1 error. */
static int optional(struct gq *g, enum tk k)
{
    if (g->cur.kind != k)
        return 0;
    return advance(g) < 0 ? -1 : 1;
}

static bool peek_keyword(const struct gq *g, const char *kw)
{
    return g->cur.kind == TK_NAME && g->cur.vlen == strlen(kw) &&
           memcmp(g->cur.v, kw, g->cur.vlen) == 0;
}

/* ---------------------------------------------------------------- parser */

static int enter(struct gq *g)
{
    if (++g->nesting > GRAPHQL_MAX_NESTING)
        return fail(g, "GraphQL document nested deeper than %d levels", GRAPHQL_MAX_NESTING);
    return 0;
}

static int parse_name(struct gq *g, struct gname *out)
{
    if (g->cur.kind != TK_NAME)
        return syntax(g, g->cur.start, "expected Name, found %s", tk_desc(g->cur.kind));
    out->s = g->cur.v;
    out->len = g->cur.vlen;
    return advance(g);
}

static struct gval *parse_value(struct gq *g, bool is_const);

static struct gval *parse_value(struct gq *g, bool is_const)
{
    struct gval *v = alloc(g, sizeof(*v));
    if (!v)
        return NULL;
    v->pos = g->cur.start;
    switch (g->cur.kind) {
    case TK_LBRACKET:
    case TK_LBRACE: {
        bool list = g->cur.kind == TK_LBRACKET;
        enum tk close = list ? TK_RBRACKET : TK_RBRACE;
        struct gval **tail = &v->items;
        v->kind = list ? V_LIST : V_OBJECT;
        if (enter(g) < 0 || advance(g) < 0)
            return NULL;
        for (;;) {
            int r = optional(g, close);
            if (r < 0)
                return NULL;
            if (r)
                break;
            struct gname fname = {0};
            size_t fpos = g->cur.start;
            if (!list && (parse_name(g, &fname) < 0 || expect(g, TK_COLON) < 0))
                return NULL;
            struct gval *item = parse_value(g, is_const);
            if (!item)
                return NULL;
            item->fname = fname;
            if (!list)
                item->pos = fpos;
            *tail = item;
            tail = &item->next;
        }
        g->nesting--;
        return v;
    }
    case TK_INT:
    case TK_FLOAT:
        v->kind = g->cur.kind == TK_INT ? V_INT : V_FLOAT;
        v->s = g->cur.v;
        v->len = g->cur.vlen;
        return advance(g) < 0 ? NULL : v;
    case TK_STRING:
    case TK_BLOCK_STRING:
        v->kind = V_STRING;
        v->block = g->cur.kind == TK_BLOCK_STRING;
        v->s = g->cur.v;
        v->len = g->cur.vlen;
        return advance(g) < 0 ? NULL : v;
    case TK_NAME:
        if (peek_keyword(g, "true") || peek_keyword(g, "false")) {
            v->kind = V_BOOL;
            v->b = peek_keyword(g, "true");
        } else if (peek_keyword(g, "null")) {
            v->kind = V_NULL;
        } else {
            v->kind = V_ENUM;
            v->s = g->cur.v;
            v->len = g->cur.vlen;
        }
        return advance(g) < 0 ? NULL : v;
    case TK_DOLLAR: {
        struct gname n = {0};
        if (is_const) {
            const struct tok *a = lookahead(g);
            if (a && a->kind == TK_NAME)
                syntax(g, g->cur.start, "unexpected variable '$%.*s' in constant value",
                       (int)(a->vlen > 60 ? 60 : a->vlen), a->v);
            else if (a)
                unexpected(g, &g->cur);
            return NULL;
        }
        v->kind = V_VAR;
        if (advance(g) < 0 || parse_name(g, &n) < 0)
            return NULL;
        v->s = n.s;
        v->len = n.len;
        return v;
    }
    default:
        unexpected(g, &g->cur);
        return NULL;
    }
}

/* Arguments: "(" Argument+ ")" when a "(" follows. */
static int parse_arguments(struct gq *g, bool is_const, struct garg **out)
{
    int r = optional(g, TK_LPAREN);
    struct garg **tail = out;
    if (r <= 0)
        return r;
    do {
        struct garg *a = alloc(g, sizeof(*a));
        if (!a)
            return -1;
        a->pos = g->cur.start;
        if (parse_name(g, &a->name) < 0 || expect(g, TK_COLON) < 0 ||
            !(a->value = parse_value(g, is_const)))
            return -1;
        *tail = a;
        tail = &a->next;
    } while ((r = optional(g, TK_RPAREN)) == 0);
    return r < 0 ? -1 : 0;
}

static int parse_directives(struct gq *g, bool is_const, struct gdir **out)
{
    struct gdir **tail = out;
    while (peek(g, TK_AT)) {
        struct gdir *d = alloc(g, sizeof(*d));
        if (!d)
            return -1;
        d->pos = g->cur.start;
        if (advance(g) < 0 || parse_name(g, &d->name) < 0 ||
            parse_arguments(g, is_const, &d->args) < 0)
            return -1;
        *tail = d;
        tail = &d->next;
    }
    return 0;
}

static const struct tref *parse_type(struct gq *g)
{
    struct tref *t = alloc(g, sizeof(*t));
    if (!t)
        return NULL;
    int r = optional(g, TK_LBRACKET);
    if (r < 0)
        return NULL;
    if (r) {
        if (enter(g) < 0)
            return NULL;
        t->kind = TR_LIST;
        if (!(t->of = parse_type(g)))
            return NULL;
        g->nesting--;
        if (expect(g, TK_RBRACKET) < 0)
            return NULL;
    } else {
        t->kind = TR_NAMED;
        if (parse_name(g, &t->name) < 0)
            return NULL;
    }
    if ((r = optional(g, TK_BANG)) < 0)
        return NULL;
    if (r) {
        struct tref *nn = alloc(g, sizeof(*nn));
        if (!nn)
            return NULL;
        nn->kind = TR_NONNULL;
        nn->of = t;
        return nn;
    }
    return t;
}

static struct gselset *parse_selection_set(struct gq *g);

static struct gsel *parse_selection(struct gq *g)
{
    struct gsel *s = alloc(g, sizeof(*s));
    if (!s)
        return NULL;
    s->pos = g->cur.start;
    if (peek(g, TK_SPREAD)) {
        if (advance(g) < 0)
            return NULL;
        bool has_tc = peek_keyword(g, "on");
        if (has_tc && advance(g) < 0)
            return NULL;
        if (!has_tc && peek(g, TK_NAME)) {
            s->kind = S_SPREAD;
            if (parse_name(g, &s->name) < 0 || parse_directives(g, false, &s->dirs) < 0)
                return NULL;
            return s;
        }
        s->kind = S_INLINE;
        if (has_tc && parse_name(g, &s->name) < 0)
            return NULL;
        if (parse_directives(g, false, &s->dirs) < 0 || !(s->set = parse_selection_set(g)))
            return NULL;
        return s;
    }
    s->kind = S_FIELD;
    if (parse_name(g, &s->name) < 0)
        return NULL;
    int r = optional(g, TK_COLON);
    if (r < 0)
        return NULL;
    if (r) {
        s->alias = s->name;
        if (parse_name(g, &s->name) < 0)
            return NULL;
    }
    if (parse_arguments(g, false, &s->args) < 0 || parse_directives(g, false, &s->dirs) < 0)
        return NULL;
    if (peek(g, TK_LBRACE) && !(s->set = parse_selection_set(g)))
        return NULL;
    return s;
}

/* "{" Selection+ "}" */
static struct gselset *parse_selection_set(struct gq *g)
{
    struct gselset *set = alloc(g, sizeof(*set));
    struct gsel **tail;
    int r;
    if (!set || enter(g) < 0)
        return NULL;
    set->pos = g->cur.start;
    tail = &set->head;
    if (expect(g, TK_LBRACE) < 0)
        return NULL;
    do {
        struct gsel *s = parse_selection(g);
        if (!s)
            return NULL;
        *tail = s;
        tail = &s->next;
    } while ((r = optional(g, TK_RBRACE)) == 0);
    if (r < 0)
        return NULL;
    g->nesting--;
    return set;
}

static int skip_description(struct gq *g)
{
    if (peek(g, TK_STRING) || peek(g, TK_BLOCK_STRING))
        return advance(g);
    return 0;
}

static int parse_operation(struct gq *g)
{
    struct gop *op = alloc(g, sizeof(*op));
    if (!op)
        return -1;
    op->pos = g->cur.start;
    if (peek(g, TK_LBRACE)) {
        op->op = GRAPHQL_OP_QUERY;
    } else {
        if (skip_description(g) < 0)
            return -1;
        if (peek_keyword(g, "query"))
            op->op = GRAPHQL_OP_QUERY;
        else if (peek_keyword(g, "mutation"))
            op->op = GRAPHQL_OP_MUTATION;
        else if (peek_keyword(g, "subscription"))
            op->op = GRAPHQL_OP_SUBSCRIPTION;
        else
            return unexpected(g, &g->cur);
        if (advance(g) < 0)
            return -1;
        if (peek(g, TK_NAME) && parse_name(g, &op->name) < 0)
            return -1;
        int r = optional(g, TK_LPAREN);
        struct gvardef **tail = &op->vars;
        if (r < 0)
            return -1;
        while (r > 0) {
            struct gvardef *v = alloc(g, sizeof(*v));
            if (!v)
                return -1;
            v->pos = g->cur.start;
            if (skip_description(g) < 0 || expect(g, TK_DOLLAR) < 0 ||
                parse_name(g, &v->name) < 0 || expect(g, TK_COLON) < 0 ||
                !(v->type = parse_type(g)))
                return -1;
            int eq = optional(g, TK_EQUALS);
            if (eq < 0 || (eq && !(v->def = parse_value(g, true))) ||
                parse_directives(g, true, &v->dirs) < 0)
                return -1;
            *tail = v;
            tail = &v->next;
            if ((r = optional(g, TK_RPAREN)) < 0)
                return -1;
            r = !r;
        }
        if (parse_directives(g, false, &op->dirs) < 0)
            return -1;
    }
    if (!(op->set = parse_selection_set(g)))
        return -1;
    if (g->ops_tail)
        g->ops_tail->next = op;
    else
        g->ops = op;
    g->ops_tail = op;
    g->nops++;
    return 0;
}

static int parse_fragment(struct gq *g)
{
    struct gfrag *f = alloc(g, sizeof(*f));
    if (!f)
        return -1;
    f->pos = g->cur.start;
    if (skip_description(g) < 0 || advance(g) < 0) /* "fragment" */
        return -1;
    if (peek_keyword(g, "on"))
        return unexpected(g, &g->cur);
    if (parse_name(g, &f->name) < 0)
        return -1;
    if (!peek_keyword(g, "on"))
        return syntax(g, g->cur.start, "expected \"on\", found %s", tk_desc(g->cur.kind));
    if (advance(g) < 0 || parse_name(g, &f->type_cond) < 0 ||
        parse_directives(g, false, &f->dirs) < 0 || !(f->set = parse_selection_set(g)))
        return -1;
    if (g->frags_tail)
        g->frags_tail->next = f;
    else
        g->frags = f;
    g->frags_tail = f;
    return 0;
}

static bool is_type_system_keyword(const struct tok *t)
{
    static const char *const kw[] = {"schema", "scalar", "type",      "interface", "union",
                                     "enum",   "input",  "directive", "extend"};
    if (t->kind != TK_NAME)
        return false;
    for (size_t i = 0; i < sizeof(kw) / sizeof(kw[0]); i++)
        if (t->vlen == strlen(kw[i]) && memcmp(t->v, kw[i], t->vlen) == 0)
            return true;
    return false;
}

static int parse_document(struct gq *g)
{
    if (lex_at(g, 0, &g->cur) < 0)
        return -1;
    if (peek(g, TK_EOF))
        return syntax(g, g->cur.start, "unexpected <EOF>");
    while (!peek(g, TK_EOF)) {
        if (peek(g, TK_LBRACE)) {
            if (parse_operation(g) < 0)
                return -1;
            continue;
        }
        bool desc = peek(g, TK_STRING) || peek(g, TK_BLOCK_STRING);
        const struct tok *kw = desc ? lookahead(g) : &g->cur;
        if (!kw)
            return -1;
        if (desc && kw->kind == TK_LBRACE)
            return syntax(g, g->cur.start,
                          "unexpected description, descriptions are not supported on shorthand "
                          "queries");
        if (is_type_system_keyword(kw))
            return fail(g, "GraphQL type system definitions are not executable");
        if (kw->kind == TK_NAME && ((kw->vlen == 5 && memcmp(kw->v, "query", 5) == 0) ||
                                    (kw->vlen == 8 && memcmp(kw->v, "mutation", 8) == 0) ||
                                    (kw->vlen == 12 && memcmp(kw->v, "subscription", 12) == 0))) {
            if (parse_operation(g) < 0)
                return -1;
            continue;
        }
        if (kw->kind == TK_NAME && kw->vlen == 8 && memcmp(kw->v, "fragment", 8) == 0) {
            if (parse_fragment(g) < 0)
                return -1;
            continue;
        }
        if (desc)
            return syntax(g, g->cur.start,
                          "unexpected description, only GraphQL definitions support descriptions");
        return unexpected(g, kw);
    }
    return 0;
}

/* Parses a type reference of the compiled-in schema ("[String]", "MlflowGetRunInput"). */
static const struct tref *schema_type(struct gq *g, const char *s)
{
    struct tref *t = alloc(g, sizeof(*t));
    size_t n = strlen(s);
    if (!t)
        return NULL;
    if (n && s[n - 1] == '!') {
        char *inner = alloc(g, n);
        if (!inner)
            return NULL;
        memcpy(inner, s, n - 1);
        t->kind = TR_NONNULL;
        t->of = schema_type(g, inner);
        return t->of ? t : NULL;
    }
    if (s[0] == '[') {
        char *inner = alloc(g, n);
        if (!inner || n < 2)
            return NULL;
        memcpy(inner, s + 1, n - 2);
        t->kind = TR_LIST;
        t->of = schema_type(g, inner);
        return t->of ? t : NULL;
    }
    t->kind = TR_NAMED;
    t->name.s = s;
    t->name.len = n;
    return t;
}

static const struct tref *named_of(const struct tref *t)
{
    while (t->kind != TR_NAMED)
        t = t->of;
    return t;
}

static void type_str(const struct tref *t, char *buf, size_t n)
{
    switch (t->kind) {
    case TR_NAMED:
        snprintf(buf, n, "%.*s", NM(t->name));
        return;
    case TR_LIST: {
        char in[96];
        type_str(t->of, in, sizeof(in));
        snprintf(buf, n, "[%s]", in);
        return;
    }
    case TR_NONNULL: {
        char in[96];
        type_str(t->of, in, sizeof(in));
        snprintf(buf, n, "%s!", in);
        return;
    }
    }
}

/* ---------------------------------------------------------------- document rules */

static struct gfrag *frag_find(struct gq *g, struct gname n)
{
    for (struct gfrag *f = g->frags; f; f = f->next)
        if (names_eq(f->name, n))
            return f;
    return NULL;
}

static int check_args_unique(struct gq *g, const struct garg *args)
{
    for (const struct garg *a = args; a; a = a->next)
        for (const struct garg *b = a->next; b; b = b->next)
            if (names_eq(a->name, b->name))
                return fail(g, "there can be only one argument named '%.*s'", NM(a->name));
    return 0;
}

/* Every selection of a set (recursively): no directives (MLflow's schema knows none but the
 * operation-level @component), known fragments, unique argument names. */
static int check_selections(struct gq *g, const struct gselset *set)
{
    for (const struct gsel *s = set->head; s; s = s->next) {
        if (++g->work > GRAPHQL_MAX_WORK)
            return fail(g, "GraphQL document too complex");
        if (s->dirs)
            return fail(g,
                        "unknown directive '@%.*s' (MLflow's schema declares only @component "
                        "on operations)",
                        NM(s->dirs->name));
        if (s->kind == S_SPREAD && !frag_find(g, s->name))
            return fail(g, "unknown fragment '%.*s'", NM(s->name));
        if (check_args_unique(g, s->args) < 0)
            return -1;
        if (s->set && check_selections(g, s->set) < 0)
            return -1;
    }
    return 0;
}

/* Cycle search over fragment spreads (NoFragmentCyclesRule). */
static int frag_cycles(struct gq *g, struct gfrag *f);

static int spreads_cycles(struct gq *g, const struct gselset *set)
{
    for (const struct gsel *s = set->head; s; s = s->next) {
        if (s->kind == S_SPREAD) {
            struct gfrag *t = frag_find(g, s->name);
            if (t->color == 1)
                return fail(g, "cannot spread fragment '%.*s' within itself", NM(t->name));
            if (t->color == 0 && frag_cycles(g, t) < 0)
                return -1;
        } else if (s->set && spreads_cycles(g, s->set) < 0) {
            return -1;
        }
    }
    return 0;
}

static int frag_cycles(struct gq *g, struct gfrag *f)
{
    f->color = 1;
    if (spreads_cycles(g, f->set) < 0)
        return -1;
    f->color = 2;
    return 0;
}

/* Marks the fragments a selection set reaches (NoUnusedFragmentsRule). Cycles are already
 * refused, so `used` doubles as the visited mark. */
static void mark_used(struct gq *g, const struct gselset *set)
{
    for (const struct gsel *s = set->head; s; s = s->next) {
        if (s->kind == S_SPREAD) {
            struct gfrag *t = frag_find(g, s->name);
            if (!t->used) {
                t->used = true;
                mark_used(g, t->set);
            }
        } else if (s->set) {
            mark_used(g, s->set);
        }
    }
}

static struct gvardef *var_find(const struct gop *op, const char *s, size_t len)
{
    for (struct gvardef *v = op->vars; v; v = v->next)
        if (v->name.len == len && memcmp(v->name.s, s, len) == 0)
            return v;
    return NULL;
}

/* Variables referenced by a value: each must be defined by the operation; counts uses. */
static int value_vars(struct gq *g, const struct gop *op, const struct gval *v, bool *used)
{
    if (v->kind == V_VAR) {
        size_t i = 0;
        struct gvardef *d;
        for (d = op->vars; d; d = d->next, i++)
            if (d->name.len == v->len && memcmp(d->name.s, v->s, v->len) == 0)
                break;
        if (!d) {
            if (op->name.len)
                return fail(g, "variable '$%.*s' is not defined by operation '%.*s'",
                            (int)(v->len > 60 ? 60 : v->len), v->s, NM(op->name));
            return fail(g, "variable '$%.*s' is not defined", (int)(v->len > 60 ? 60 : v->len),
                        v->s);
        }
        used[i] = true;
        return 0;
    }
    for (const struct gval *i = v->items; i; i = i->next)
        if (value_vars(g, op, i, used) < 0)
            return -1;
    return 0;
}

static int set_vars(struct gq *g, const struct gop *op, const struct gselset *set, bool *used)
{
    for (const struct gsel *s = set->head; s; s = s->next) {
        for (const struct garg *a = s->args; a; a = a->next)
            if (value_vars(g, op, a->value, used) < 0)
                return -1;
        if (s->kind == S_SPREAD) {
            struct gfrag *f = frag_find(g, s->name);
            if (f->vgen != g->gen) {
                f->vgen = g->gen;
                if (set_vars(g, op, f->set, used) < 0)
                    return -1;
            }
        } else if (s->set && set_vars(g, op, s->set, used) < 0) {
            return -1;
        }
    }
    return 0;
}

static int check_op_directives(struct gq *g, const struct gop *op)
{
    for (const struct gdir *d = op->dirs; d; d = d->next) {
        if (!name_eq(d->name, GS_DIRECTIVE))
            return fail(g,
                        "unknown directive '@%.*s' (MLflow's schema declares only @component "
                        "on operations)",
                        NM(d->name));
        for (const struct gdir *e = d->next; e; e = e->next)
            if (names_eq(d->name, e->name))
                return fail(g, "the directive '@%.*s' can only be used once at this location",
                            NM(d->name));
        if (check_args_unique(g, d->args) < 0)
            return -1;
        bool has = false;
        for (const struct garg *a = d->args; a; a = a->next) {
            if (!name_eq(a->name, GS_DIRECTIVE_ARG))
                return fail(g, "unknown argument '%.*s' on directive '@%.*s'", NM(a->name),
                            NM(d->name));
            has = true;
        }
        if (!has)
            return fail(g, "directive '@%.*s' argument '%s' of type '%s' is required", NM(d->name),
                        GS_DIRECTIVE_ARG, GS_DIRECTIVE_ARG_TYPE);
    }
    return 0;
}

static int check_document(struct gq *g)
{
    bool anonymous = false;
    for (const struct gop *op = g->ops; op; op = op->next) {
        if (op->op == GRAPHQL_OP_SUBSCRIPTION)
            return fail(g, "subscription operations are not supported (MLflow's schema has no "
                           "subscription type)");
        if (!op->name.len)
            anonymous = true;
        for (const struct gop *o = op->next; o; o = o->next)
            if (op->name.len && names_eq(op->name, o->name))
                return fail(g, "there can be only one operation named '%.*s'", NM(op->name));
    }
    if (!g->nops)
        return fail(g, "GraphQL document has no operation");
    if (anonymous && g->nops > 1)
        return fail(g, "this anonymous operation must be the only defined operation");
    for (struct gfrag *f = g->frags; f; f = f->next) {
        for (const struct gfrag *h = f->next; h; h = h->next)
            if (names_eq(f->name, h->name))
                return fail(g, "there can be only one fragment named '%.*s'", NM(f->name));
        if (f->dirs)
            return fail(g,
                        "unknown directive '@%.*s' (MLflow's schema declares only @component "
                        "on operations)",
                        NM(f->dirs->name));
    }
    for (const struct gop *op = g->ops; op; op = op->next)
        if (check_op_directives(g, op) < 0 || check_selections(g, op->set) < 0)
            return -1;
    for (struct gfrag *f = g->frags; f; f = f->next)
        if (check_selections(g, f->set) < 0)
            return -1;
    for (struct gfrag *f = g->frags; f; f = f->next)
        if (f->color == 0 && frag_cycles(g, f) < 0)
            return -1;
    for (const struct gop *op = g->ops; op; op = op->next)
        mark_used(g, op->set);
    for (const struct gfrag *f = g->frags; f; f = f->next)
        if (!f->used)
            return fail(g, "fragment '%.*s' is never used", NM(f->name));
    /* variables: unique, defined where used, used where defined */
    for (const struct gop *op = g->ops; op; op = op->next) {
        size_t n = 0, i = 0;
        for (const struct gvardef *v = op->vars; v; v = v->next, n++) {
            for (const struct gvardef *w = v->next; w; w = w->next)
                if (names_eq(v->name, w->name))
                    return fail(g, "there can be only one variable named '$%.*s'", NM(v->name));
            if (v->dirs)
                return fail(g,
                            "unknown directive '@%.*s' (MLflow's schema declares only "
                            "@component on operations)",
                            NM(v->dirs->name));
        }
        bool *used = alloc(g, n + 1);
        if (!used)
            return -1;
        g->gen++;
        for (const struct gdir *d = op->dirs; d; d = d->next)
            for (const struct garg *a = d->args; a; a = a->next)
                if (value_vars(g, op, a->value, used) < 0)
                    return -1;
        if (set_vars(g, op, op->set, used) < 0)
            return -1;
        for (const struct gvardef *v = op->vars; v; v = v->next, i++)
            if (!used[i]) {
                if (op->name.len)
                    return fail(g, "variable '$%.*s' is never used in operation '%.*s'",
                                NM(v->name), NM(op->name));
                return fail(g, "variable '$%.*s' is never used", NM(v->name));
            }
    }
    return 0;
}

/* ---------------------------------------------------------------- MLflow's limits */

struct scan {
    size_t roots, selections, max_aliases;
};

struct sfield {
    const struct gsel *sel;
    struct sfield *next;
};

/* graphql_no_batching._collect_fields_and_aliases: the fields of one level, fragments at that
 * level merged in (each fragment once per level). */
static int scan_collect(struct gq *g, const struct gselset *set, struct sfield **last,
                        size_t *aliases, unsigned gen)
{
    for (const struct gsel *s = set->head; s; s = s->next) {
        if (++g->work > GRAPHQL_MAX_WORK)
            return fail(g, "GraphQL document too complex");
        if (s->kind == S_FIELD) {
            struct sfield *f = alloc(g, sizeof(*f));
            if (!f)
                return -1;
            f->sel = s;
            (*last)->next = f;
            *last = f;
            if (s->alias.len)
                (*aliases)++;
        } else if (s->kind == S_INLINE) {
            if (scan_collect(g, s->set, last, aliases, gen) < 0)
                return -1;
        } else {
            struct gfrag *fr = frag_find(g, s->name);
            if (fr->gen != gen) {
                fr->gen = gen;
                if (scan_collect(g, fr->set, last, aliases, gen) < 0)
                    return -1;
            }
        }
    }
    return 0;
}

static int scan_level(struct gq *g, const struct gselset *set, size_t depth, struct scan *sc)
{
    if (depth > GRAPHQL_MLFLOW_DEPTH)
        return fail(g, "query exceeds maximum depth of %d", GRAPHQL_MLFLOW_DEPTH);
    struct sfield head = {0}, *tail = &head;
    size_t aliases = 0;
    if (scan_collect(g, set, &tail, &aliases, ++g->gen) < 0)
        return -1;
    if (aliases > sc->max_aliases)
        sc->max_aliases = aliases;
    for (const struct sfield *f = head.next; f; f = f->next) {
        if (depth == 1)
            sc->roots++;
        if (f->sel->set && scan_level(g, f->sel->set, depth + 1, sc) < 0)
            return -1;
        if (++sc->selections > GRAPHQL_MLFLOW_SELECTED)
            return fail(g, "query exceeds maximum total selections of %d", GRAPHQL_MLFLOW_SELECTED);
    }
    return 0;
}

static int check_limits(struct gq *g)
{
    struct scan sc = {0};
    for (const struct gop *op = g->ops; op; op = op->next)
        if (scan_level(g, op->set, 1, &sc) < 0)
            return -1;
    if (sc.roots > GRAPHQL_MLFLOW_ROOTS)
        return fail(g, "GraphQL queries should have at most %d root fields, got %zu root fields",
                    GRAPHQL_MLFLOW_ROOTS, sc.roots);
    if (sc.max_aliases > GRAPHQL_MLFLOW_ALIASES)
        return fail(g, "GraphQL queries should have at most %d aliases, got %zu aliases",
                    GRAPHQL_MLFLOW_ALIASES, sc.max_aliases);
    return 0;
}

/* ---------------------------------------------------------------- variables */

static const struct gs_type *type_of(const struct tref *t)
{
    const struct tref *n = named_of(t);
    return gs_type_find(n->name.s, n->name.len);
}

static int coerce_json(struct gq *g, const json_t *v, const struct tref *t, const char *where,
                       json_t **out);

/* graphql-core's coerce_input_value for a JSON value of type t; *out is a new reference. */
static int coerce_json(struct gq *g, const json_t *v, const struct tref *t, const char *where,
                       json_t **out)
{
    char ts[128];
    *out = NULL;
    if (t->kind == TR_NONNULL) {
        if (json_is_null(v)) {
            type_str(t, ts, sizeof(ts));
            return fail(g, "variable %s: expected non-nullable type '%s' not to be null", where,
                        ts);
        }
        return coerce_json(g, v, t->of, where, out);
    }
    if (json_is_null(v)) {
        *out = json_null();
        return 0;
    }
    if (t->kind == TR_LIST) {
        json_t *arr = json_array();
        if (!arr)
            return fail(g, "out of memory");
        if (json_is_array(v)) {
            size_t i;
            const json_t *item;
            json_array_foreach(v, i, item)
            {
                json_t *c;
                if (coerce_json(g, item, t->of, where, &c) < 0 || json_array_append_new(arr, c)) {
                    json_decref(arr);
                    return fail(g, "out of memory");
                }
            }
        } else {
            json_t *c;
            if (coerce_json(g, v, t->of, where, &c) < 0 || json_array_append_new(arr, c)) {
                json_decref(arr);
                return fail(g, "out of memory");
            }
        }
        *out = arr;
        return 0;
    }
    const struct gs_type *nt = type_of(t);
    type_str(t, ts, sizeof(ts));
    if (!nt)
        return fail(g, "unknown type '%s'", ts);
    if (nt->kind == GS_INPUT) {
        if (!json_is_object(v))
            return fail(g, "variable %s: expected type '%s' to be an object", where, ts);
        const char *k;
        const json_t *fv;
        json_t *obj = json_object();
        if (!obj)
            return fail(g, "out of memory");
        json_object_foreach((json_t *)v, k, fv)
        {
            if (!gs_input_find(nt, k, strlen(k))) {
                json_decref(obj);
                return fail(g, "variable %s: field '%.60s' is not defined by type '%s'", where, k,
                            ts);
            }
        }
        for (size_t i = 0; i < nt->ninputs; i++) {
            const struct gs_input_field *f = &nt->inputs[i];
            const json_t *x = json_object_get(v, f->name);
            const struct tref *ft = schema_type(g, f->type);
            json_t *c = NULL;
            if (!ft) {
                json_decref(obj);
                return -1;
            }
            if (!x) {
                if (f->default_null)
                    c = json_null();
                else if (ft->kind == TR_NONNULL) {
                    json_decref(obj);
                    return fail(g, "variable %s: field '%s' of type '%s' is required", where,
                                f->name, f->type);
                } else
                    continue;
            } else if (coerce_json(g, x, ft, where, &c) < 0) {
                json_decref(obj);
                return -1;
            }
            if (json_object_set_new(obj, f->name, c)) {
                json_decref(obj);
                return fail(g, "out of memory");
            }
        }
        *out = obj;
        return 0;
    }
    if (nt->kind == GS_ENUM) {
        if (!json_is_string(v) || !gs_enum_has(nt, json_string_value(v), json_string_length(v)))
            return fail(g, "variable %s: value is not a valid '%s'", where, ts);
        *out = json_incref((json_t *)v);
        return 0;
    }
    if (nt->kind != GS_SCALAR)
        return fail(g, "variable %s: type '%s' is not an input type", where, ts);
    if (!strcmp(nt->name, "String")) {
        if (!json_is_string(v))
            return fail(g, "variable %s: String cannot represent a non string value", where);
        *out = json_incref((json_t *)v);
        return 0;
    }
    if (!strcmp(nt->name, "Boolean")) {
        if (!json_is_boolean(v))
            return fail(g, "variable %s: Boolean cannot represent a non boolean value", where);
        *out = json_incref((json_t *)v);
        return 0;
    }
    if (!strcmp(nt->name, "Int")) {
        json_int_t n;
        if (json_is_integer(v)) {
            n = json_integer_value(v);
        } else if (json_is_real(v) &&
                   json_real_value(v) == (double)(json_int_t)json_real_value(v) &&
                   json_real_value(v) >= -2147483648.0 && json_real_value(v) <= 2147483647.0) {
            n = (json_int_t)json_real_value(v);
        } else {
            return fail(g, "variable %s: Int cannot represent non-integer value", where);
        }
        if (n < INT32_MIN || n > INT32_MAX)
            return fail(g, "variable %s: Int cannot represent non 32-bit signed integer value",
                        where);
        *out = json_integer(n);
        return *out ? 0 : fail(g, "out of memory");
    }
    if (!strcmp(nt->name, "Float")) {
        if (!json_is_number(v))
            return fail(g, "variable %s: Float cannot represent non numeric value", where);
        *out = json_incref((json_t *)v);
        return 0;
    }
    /* LongString: MLflow's parse_value is int(value); only plain integers are taken here */
    if (json_is_integer(v)) {
        *out = json_incref((json_t *)v);
        return 0;
    }
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        size_t n = json_string_length(v), i = (n && s[0] == '-') ? 1 : 0;
        bool ok = i < n;
        for (; i < n; i++)
            ok = ok && is_digit(s[i]);
        if (ok) {
            *out = json_incref((json_t *)v);
            return 0;
        }
    }
    return fail(g, "variable %s: LongString needs an integer", where);
}

static bool is_input_type(const struct gs_type *t)
{
    return t && (t->kind == GS_SCALAR || t->kind == GS_ENUM || t->kind == GS_INPUT);
}

static int coerce_literal(struct gq *g, const struct gval *v, const struct tref *t,
                          bool loc_default, const char *where, json_t **out);

/* Coerces the selected operation's variables (graphql-core's coerce_variable_values) into
 * g->vars: a member per variable that was provided or has a default. */
static int coerce_variables(struct gq *g, const json_t *input)
{
    g->vars = json_object();
    if (!g->vars)
        return fail(g, "out of memory");
    for (const struct gvardef *v = g->op->vars; v; v = v->next) {
        char name[80];
        snprintf(name, sizeof(name), "'$%.*s'", NM(v->name));
        const json_t *x = input ? json_object_getn(input, v->name.s, v->name.len) : NULL;
        json_t *c = NULL;
        if (!x) {
            if (v->def) {
                json_t *saved = g->vars;
                g->vars = NULL; /* a default is a constant */
                int r = coerce_literal(g, v->def, v->type, false, name, &c);
                g->vars = saved;
                if (r < 0)
                    return -1;
            } else if (v->type->kind == TR_NONNULL) {
                return fail(g, "variable %s of required type was not provided", name);
            } else {
                continue;
            }
        } else if (coerce_json(g, x, v->type, name, &c) < 0) {
            return -1;
        }
        if (!c)
            return fail(g, "variable %s has an invalid default value", name);
        if (json_object_setn_new(g->vars, v->name.s, v->name.len, c))
            return fail(g, "out of memory");
    }
    return 0;
}

/* Variable definitions: types known and input types (VariablesAreInputTypes). */
static int check_var_types(struct gq *g, const struct gop *op)
{
    for (const struct gvardef *v = op->vars; v; v = v->next) {
        const struct tref *n = named_of(v->type);
        const struct gs_type *t = gs_type_find(n->name.s, n->name.len);
        if (!t)
            return fail(g, "unknown type '%.*s'", NM(n->name));
        if (!is_input_type(t))
            return fail(g, "variable '$%.*s' cannot be of non-input type '%.*s'", NM(v->name),
                        NM(n->name));
    }
    return 0;
}

/* ---------------------------------------------------------------- literal values */

static bool type_eq(const struct tref *a, const struct tref *b)
{
    if (a->kind != b->kind)
        return false;
    if (a->kind == TR_NAMED)
        return names_eq(a->name, b->name);
    return type_eq(a->of, b->of);
}

static bool sub_type(const struct tref *a, const struct tref *b)
{
    if (type_eq(a, b))
        return true;
    if (b->kind == TR_NONNULL)
        return a->kind == TR_NONNULL && sub_type(a->of, b->of);
    if (a->kind == TR_NONNULL)
        return sub_type(a->of, b);
    if (b->kind == TR_LIST)
        return a->kind == TR_LIST && sub_type(a->of, b->of);
    return false;
}

/* VariablesInAllowedPositionRule. */
static bool allowed_position(const struct gvardef *v, const struct tref *loc, bool loc_default)
{
    if (loc->kind == TR_NONNULL && v->type->kind != TR_NONNULL) {
        bool var_default = v->def && v->def->kind != V_NULL;
        if (!var_default && !loc_default)
            return false;
        return sub_type(v->type, loc->of);
    }
    return sub_type(v->type, loc);
}

static bool missing_var(const struct gq *g, const struct gval *v)
{
    return v->kind == V_VAR && g->vars && !json_object_getn(g->vars, v->s, v->len);
}

/* graphql-core's value_from_ast (with ValuesOfCorrectTypeRule's checks): *out is a new
 * reference, NULL when the value is undefined (a missing variable). While only validating
 * (g->vars NULL) a variable stands for a null placeholder. */
static int coerce_literal(struct gq *g, const struct gval *v, const struct tref *t,
                          bool loc_default, const char *where, json_t **out)
{
    char ts[128];
    *out = NULL;
    type_str(t, ts, sizeof(ts));
    if (v->kind == V_VAR) {
        const struct gvardef *d = g->op ? var_find(g->op, v->s, v->len) : NULL;
        if (!d)
            return fail(g, "variable '$%.*s' is not defined", (int)(v->len > 60 ? 60 : v->len),
                        v->s);
        if (!allowed_position(d, t, loc_default)) {
            char vs[128];
            type_str(d->type, vs, sizeof(vs));
            return fail(g, "variable '$%.*s' of type '%s' used in position expecting type '%s'",
                        NM(d->name), vs, ts);
        }
        if (!g->vars) {
            *out = json_null();
            return 0;
        }
        json_t *x = json_object_getn(g->vars, v->s, v->len);
        if (!x)
            return 0;
        if (json_is_null(x) && t->kind == TR_NONNULL)
            return fail(g, "%s: variable '$%.*s' of non-null position is null", where, NM(d->name));
        *out = json_incref(x);
        return 0;
    }
    if (t->kind == TR_NONNULL) {
        if (v->kind == V_NULL)
            return fail(g, "%s: expected value of non-null type '%s', found null", where, ts);
        return coerce_literal(g, v, t->of, false, where, out);
    }
    if (v->kind == V_NULL) {
        *out = json_null();
        return 0;
    }
    if (t->kind == TR_LIST) {
        json_t *arr = json_array();
        if (!arr)
            return fail(g, "out of memory");
        if (v->kind == V_LIST) {
            for (const struct gval *i = v->items; i; i = i->next) {
                json_t *c = NULL;
                if (missing_var(g, i)) {
                    if (t->of->kind == TR_NONNULL) {
                        json_decref(arr);
                        return fail(g, "%s: missing variable in a list of non-null items", where);
                    }
                    /* still checked for its position */
                    json_t *saved = g->vars;
                    g->vars = NULL;
                    int r = coerce_literal(g, i, t->of, false, where, &c);
                    g->vars = saved;
                    json_decref(c);
                    if (r < 0) {
                        json_decref(arr);
                        return -1;
                    }
                    c = json_null();
                } else if (coerce_literal(g, i, t->of, false, where, &c) < 0) {
                    json_decref(arr);
                    return -1;
                }
                if (!c || json_array_append_new(arr, c)) {
                    json_decref(arr);
                    return fail(g, "out of memory");
                }
            }
        } else {
            json_t *c = NULL;
            if (coerce_literal(g, v, t->of, false, where, &c) < 0) {
                json_decref(arr);
                return -1;
            }
            if (!c) { /* a missing variable as the single item */
                json_decref(arr);
                return 0;
            }
            if (json_array_append_new(arr, c)) {
                json_decref(arr);
                return fail(g, "out of memory");
            }
        }
        *out = arr;
        return 0;
    }
    const struct gs_type *nt = type_of(t);
    if (!nt)
        return fail(g, "unknown type '%s'", ts);
    if (nt->kind == GS_INPUT) {
        if (v->kind != V_OBJECT)
            return fail(g, "%s: expected value of type '%s'", where, ts);
        for (const struct gval *i = v->items; i; i = i->next) {
            if (!gs_input_find(nt, i->fname.s, i->fname.len))
                return fail(g, "%s: field '%.*s' is not defined by type '%s'", where, NM(i->fname),
                            ts);
            for (const struct gval *j = i->next; j; j = j->next)
                if (names_eq(i->fname, j->fname))
                    return fail(g, "%s: there can be only one input field named '%.*s'", where,
                                NM(i->fname));
        }
        json_t *obj = json_object();
        if (!obj)
            return fail(g, "out of memory");
        for (size_t k = 0; k < nt->ninputs; k++) {
            const struct gs_input_field *f = &nt->inputs[k];
            const struct tref *ft = schema_type(g, f->type);
            const struct gval *node = NULL;
            json_t *c = NULL;
            if (!ft) {
                json_decref(obj);
                return -1;
            }
            for (const struct gval *i = v->items; i; i = i->next)
                if (name_eq(i->fname, f->name))
                    node = i;
            if (node && coerce_literal(g, node, ft, f->default_null, where, &c) < 0) {
                json_decref(obj);
                return -1;
            }
            if (!node || !c) { /* absent, or a missing variable */
                json_decref(c);
                c = NULL;
                if (f->default_null)
                    c = json_null();
                else if (ft->kind == TR_NONNULL) {
                    json_decref(obj);
                    return fail(g, "%s: field '%s' of type '%s' is required", where, f->name,
                                f->type);
                } else
                    continue;
            }
            if (json_object_set_new(obj, f->name, c)) {
                json_decref(obj);
                return fail(g, "out of memory");
            }
        }
        *out = obj;
        return 0;
    }
    if (nt->kind == GS_ENUM) {
        if (v->kind != V_ENUM || !gs_enum_has(nt, v->s, v->len))
            return fail(g, "%s: value is not a valid '%s'", where, ts);
        *out = json_stringn(v->s, v->len);
        return *out ? 0 : fail(g, "out of memory");
    }
    if (nt->kind != GS_SCALAR)
        return fail(g, "%s: type '%s' is not an input type", where, ts);
    if (!strcmp(nt->name, "String")) {
        if (v->kind != V_STRING)
            return fail(g, "%s: String cannot represent a non string value", where);
        *out = json_stringn_nocheck(v->s, v->len);
        return *out ? 0 : fail(g, "out of memory");
    }
    if (!strcmp(nt->name, "Boolean")) {
        if (v->kind != V_BOOL)
            return fail(g, "%s: Boolean cannot represent a non boolean value", where);
        *out = json_boolean(v->b);
        return 0;
    }
    if (!strcmp(nt->name, "Int")) {
        if (v->kind != V_INT)
            return fail(g, "%s: Int cannot represent non-integer value", where);
        char buf[32];
        if (v->len >= sizeof(buf))
            return fail(g, "%s: Int cannot represent non 32-bit signed integer value", where);
        memcpy(buf, v->s, v->len);
        buf[v->len] = '\0';
        long long n = strtoll(buf, NULL, 10);
        if (n < INT32_MIN || n > INT32_MAX)
            return fail(g, "%s: Int cannot represent non 32-bit signed integer value", where);
        *out = json_integer(n);
        return *out ? 0 : fail(g, "out of memory");
    }
    if (!strcmp(nt->name, "Float")) {
        if (v->kind != V_INT && v->kind != V_FLOAT)
            return fail(g, "%s: Float cannot represent non numeric value", where);
        *out = json_null(); /* the value is never needed */
        return 0;
    }
    /* LongString: MLflow's parse_literal reads an Int literal and anything else as None */
    *out = json_null();
    return 0;
}

/* ---------------------------------------------------------------- the plan */

static int plan_refuse(struct gq *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Marks the plan admin-only (first reason kept). */
static int plan_refuse(struct gq *g, const char *fmt, ...)
{
    struct graphql_plan *p = g->plan;
    if (p && !p->admin_only) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(p->admin_reason, sizeof(p->admin_reason), fmt, ap);
        va_end(ap);
        p->admin_only = true;
    }
    return 0;
}

static char *dupn(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

static int add_check(struct gq *g, enum route_object obj, const char *id, size_t len,
                     const char *field)
{
    struct graphql_plan *p = g->plan;
    for (size_t i = 0; i < p->nchecks; i++)
        if (p->checks[i].object == obj && p->checks[i].id_len == len &&
            memcmp(p->checks[i].id, id, len) == 0)
            return 0;
    if (p->nchecks >= GRAPHQL_MAX_CHECKS)
        return fail(g, "GraphQL request names more than %d objects", GRAPHQL_MAX_CHECKS);
    struct graphql_check *n = realloc(p->checks, (p->nchecks + 1) * sizeof(*n));
    if (!n)
        return fail(g, "out of memory");
    p->checks = n;
    n = &p->checks[p->nchecks];
    memset(n, 0, sizeof(*n));
    if (!(n->id = dupn(id, len)))
        return fail(g, "out of memory");
    n->object = obj;
    n->priv = POLICY_PRIV_READ;
    n->id_len = len;
    n->field = field;
    p->nchecks++;
    return 0;
}

/* One id of a root field's input: experiment ids canonical decimal, run ids clean text. */
static int add_id(struct gq *g, enum route_object obj, const json_t *v, const char *field,
                  const char *member)
{
    if (!json_is_string(v) || json_string_length(v) == 0)
        return fail(g, "%s needs input.%s", field, member);
    const char *s = json_string_value(v);
    size_t n = json_string_length(v);
    if (obj == ROUTE_OBJ_EXPERIMENT && !lookup_is_experiment_id(s, n))
        return fail(g, "%s: input.%s must be canonical decimal experiment ids", field, member);
    if (obj == ROUTE_OBJ_RUN && (n > LOOKUP_ID_MAX || !naming_is_clean_text(s, n)))
        return fail(g, "%s: input.%s is not a valid run id", field, member);
    return add_check(g, obj, s, n, field);
}

static int add_ids(struct gq *g, enum route_object obj, const json_t *input, const char *field,
                   const char *member)
{
    const json_t *list = json_object_get(input, member);
    size_t i;
    const json_t *v;
    if (!json_is_array(list) || json_array_size(list) == 0)
        return fail(g, "%s needs a non-empty input.%s", field, member);
    json_array_foreach(list, i, v) if (add_id(g, obj, v, field, member) < 0) return -1;
    return 0;
}

/* MLflow's `run_id or run_uuid`: the first non-empty one; two different ones are refused. */
static int add_run(struct gq *g, const json_t *input, const char *field)
{
    const json_t *a = json_object_get(input, "runId"), *b = json_object_get(input, "runUuid");
    bool ha = json_is_string(a) && json_string_length(a) > 0;
    bool hb = json_is_string(b) && json_string_length(b) > 0;
    if (ha && hb && !json_equal((json_t *)a, (json_t *)b))
        return fail(g, "%s: input.runId and input.runUuid name different runs", field);
    if (!ha && !hb)
        return fail(g, "%s needs input.runId", field);
    return add_id(g, ROUTE_OBJ_RUN, ha ? a : b, field, ha ? "runId" : "runUuid");
}

/* The checks of one root field (schema name `field`) given its coerced `input` argument. */
static int classify_root(struct gq *g, const char *field, const json_t *input,
                         enum graphql_root_kind *kind)
{
    *kind = GRAPHQL_ROOT_CHECKED;
    if (!strcmp(field, "mlflowSearchModelVersions")) {
        *kind = GRAPHQL_ROOT_ADMIN_ONLY;
        return plan_refuse(g, "mlflowSearchModelVersions is admin-only: its pages cannot be "
                              "filtered without revealing hidden versions; use "
                              "/api/2.0/mlflow/model-versions/search");
    }
    if (!strcmp(field, "test") || !strcmp(field, "testMutation")) {
        *kind = GRAPHQL_ROOT_META;
        return 0;
    }
    if (!json_is_object(input))
        return fail(g, "%s needs its input argument", field);
    if (!strcmp(field, "mlflowGetExperiment"))
        return add_id(g, ROUTE_OBJ_EXPERIMENT, json_object_get(input, "experimentId"), field,
                      "experimentId");
    if (!strcmp(field, "mlflowGetRun") || !strcmp(field, "mlflowListArtifacts"))
        return add_run(g, input, field);
    if (!strcmp(field, "mlflowGetMetricHistoryBulkInterval"))
        return add_ids(g, ROUTE_OBJ_RUN, input, field, "runIds");
    if (!strcmp(field, "mlflowSearchRuns") || !strcmp(field, "mlflowSearchDatasets"))
        return add_ids(g, ROUTE_OBJ_EXPERIMENT, input, field, "experimentIds");
    /* a root field this table does not know (a newer schema): nothing can vouch for it */
    *kind = GRAPHQL_ROOT_ADMIN_ONLY;
    return plan_refuse(g, "root field %s is admin-only", field);
}

static int add_root(struct gq *g, const struct group *gr, const char *field,
                    enum graphql_root_kind kind)
{
    struct graphql_plan *p = g->plan;
    struct graphql_root *n = realloc(p->roots, (p->nroots + 1) * sizeof(*n));
    if (!n)
        return fail(g, "out of memory");
    p->roots = n;
    n = &p->roots[p->nroots];
    n->field = field;
    n->kind = kind;
    if (!(n->response_key = dupn(gr->key.s, gr->key.len)))
        return fail(g, "out of memory");
    p->nroots++;
    return 0;
}

/* A model-version list at the current path: its items are filtered by the response key of
 * their `name` field (the first one selected). */
static int add_filter(struct gq *g, const struct glist *items)
{
    struct graphql_plan *p = g->plan;
    const struct group *name = NULL;
    for (const struct group *gr = items->head; gr && !name; gr = gr->next)
        if (name_eq(gr->field, "name"))
            name = gr;
    if (!name)
        return plan_refuse(g,
                           "a list of model versions (%.*s) must select the model's name so "
                           "Warden can filter it",
                           NM(g->path[g->depth - 1]));
    struct graphql_filter *n = realloc(p->filters, (p->nfilters + 1) * sizeof(*n));
    if (!n)
        return fail(g, "out of memory");
    p->filters = n;
    n = &p->filters[p->nfilters];
    memset(n, 0, sizeof(*n));
    p->nfilters++;
    n->object = ROUTE_OBJ_MODEL;
    if (!(n->path = calloc(g->depth, sizeof(char *))))
        return fail(g, "out of memory");
    for (size_t i = 0; i < g->depth; i++) {
        if (!(n->path[i] = dupn(g->path[i].s, g->path[i].len)))
            return fail(g, "out of memory");
        n->depth = i + 1;
    }
    if (!(n->key = dupn(name->key.s, name->key.len)))
        return fail(g, "out of memory");
    return 0;
}

/* ---------------------------------------------------------------- typed walk */

static int collect(struct gq *g, const struct gs_type *type, const struct gselset *set,
                   struct glist *out, unsigned gen)
{
    for (struct gsel *s = set->head; s; s = s->next) {
        if (++g->work > GRAPHQL_MAX_WORK)
            return fail(g, "GraphQL document too complex");
        if (s->kind == S_FIELD) {
            struct gname key = s->alias.len ? s->alias : s->name;
            struct group *gr;
            for (gr = out->head; gr; gr = gr->next)
                if (names_eq(gr->key, key))
                    break;
            if (gr && !names_eq(gr->field, s->name))
                return fail(g,
                            "fields '%.*s' conflict because '%.*s' and '%.*s' are different "
                            "fields",
                            NM(key), NM(gr->field), NM(s->name));
            if (!gr) {
                if (!(gr = alloc(g, sizeof(*gr))))
                    return -1;
                gr->key = key;
                gr->field = s->name;
                if (out->tail)
                    out->tail->next = gr;
                else
                    out->head = gr;
                out->tail = gr;
            }
            struct fref *r = alloc(g, sizeof(*r));
            if (!r)
                return -1;
            r->sel = s;
            if (gr->tail)
                gr->tail->next = r;
            else
                gr->head = r;
            gr->tail = r;
            continue;
        }
        struct gname cond;
        const struct gselset *sub;
        if (s->kind == S_INLINE) {
            cond = s->name;
            sub = s->set;
        } else {
            struct gfrag *f = frag_find(g, s->name);
            if (f->gen == gen)
                continue;
            f->gen = gen;
            cond = f->type_cond;
            sub = f->set;
        }
        if (cond.len) {
            const struct gs_type *ct = gs_type_find(cond.s, cond.len);
            if (!ct)
                return fail(g, "unknown type '%.*s'", NM(cond));
            if (ct->kind != GS_OBJECT)
                return fail(g, "fragment cannot condition on non composite type '%.*s'", NM(cond));
            if (ct != type)
                return fail(g,
                            "fragment cannot be spread here as objects of type '%s' can "
                            "never be of type '%.*s'",
                            type->name, NM(cond));
        }
        if (collect(g, type, sub, out, gen) < 0)
            return -1;
    }
    return 0;
}

static int walk(struct gq *g, const struct gs_type *type, const struct glist *groups, bool root);

/* Whether two literals print the same (graphql-core compares printed values): same kind and
 * text, block and quoted strings told apart, object members in order. */
static bool val_same(const struct gval *a, const struct gval *b)
{
    if (a->kind != b->kind || a->len != b->len || (a->len && memcmp(a->s, b->s, a->len) != 0) ||
        a->b != b->b || !names_eq(a->fname, b->fname))
        return false;
    if (a->kind == V_STRING && a->block != b->block)
        return false;
    const struct gval *x = a->items, *y = b->items;
    for (; x && y; x = x->next, y = y->next)
        if (!val_same(x, y))
            return false;
    return !x && !y;
}

/* OverlappingFieldsCanBeMergedRule's same_arguments: the same names with the same values. */
static bool args_same(const struct garg *a, const struct garg *b)
{
    size_t na = 0, nb = 0;
    for (const struct garg *x = a; x; x = x->next)
        na++;
    for (const struct garg *y = b; y; y = y->next)
        nb++;
    if (na != nb)
        return false;
    for (const struct garg *x = a; x; x = x->next) {
        const struct garg *y;
        for (y = b; y; y = y->next)
            if (names_eq(x->name, y->name))
                break;
        if (!y || !val_same(x->value, y->value))
            return false;
    }
    return true;
}

static int walk_group(struct gq *g, const struct gs_type *type, const struct group *gr, bool root)
{
    bool extract = root && g->plan;
    for (const struct fref *r = gr->head->next; r; r = r->next)
        if (!args_same(gr->head->sel->args, r->sel->args))
            return fail(g, "fields '%.*s' conflict because they have differing arguments",
                        NM(gr->key));
    if (name_eq(gr->field, "__typename")) {
        for (const struct fref *r = gr->head; r; r = r->next)
            if (r->sel->args || r->sel->set)
                return fail(g, "__typename takes no arguments and no selection set");
        return extract ? add_root(g, gr, "__typename", GRAPHQL_ROOT_META) : 0;
    }
    if (root && !strcmp(type->name, "Query") &&
        (name_eq(gr->field, "__schema") || name_eq(gr->field, "__type"))) {
        /* introspection: schema data only; its inside is not walked */
        for (const struct fref *r = gr->head; r; r = r->next)
            if (!r->sel->set)
                return fail(g, "field '%.*s' must have a selection of subfields", NM(gr->field));
        return extract ? add_root(g, gr, name_eq(gr->field, "__schema") ? "__schema" : "__type",
                                  GRAPHQL_ROOT_META)
                       : 0;
    }
    const struct gs_field *fd = gs_field_find(type, gr->field.s, gr->field.len);
    if (!fd)
        return fail(g, "cannot query field '%.*s' on type '%s'", NM(gr->field), type->name);
    const struct tref *ft = schema_type(g, fd->type);
    const struct tref *at = fd->arg ? schema_type(g, fd->arg_type) : NULL;
    if (!ft || (fd->arg && !at))
        return -1;
    const struct gs_type *nt = type_of(ft);
    if (!nt)
        return fail(g, "internal: unknown type %s", fd->type);
    enum graphql_root_kind kind = GRAPHQL_ROOT_CHECKED;
    for (const struct fref *r = gr->head; r; r = r->next) {
        const struct garg *arg = NULL;
        for (const struct garg *a = r->sel->args; a; a = a->next) {
            if (!fd->arg || !name_eq(a->name, fd->arg))
                return fail(g, "unknown argument '%.*s' on field '%s.%s'", NM(a->name), type->name,
                            fd->name);
            arg = a;
        }
        json_t *value = NULL;
        if (arg) {
            char where[96];
            snprintf(where, sizeof(where), "%s(%s)", fd->name, fd->arg);
            if (coerce_literal(g, arg->value, at, false, where, &value) < 0)
                return -1;
        } else if (at && at->kind == TR_NONNULL) {
            return fail(g, "field '%s' argument '%s' is required", fd->name, fd->arg);
        }
        if (extract && classify_root(g, fd->name, value, &kind) < 0) {
            json_decref(value);
            return -1;
        }
        json_decref(value);
        if (nt->kind == GS_OBJECT && !r->sel->set)
            return fail(g, "field '%s' of type '%s' must have a selection of subfields", fd->name,
                        fd->type);
        if (nt->kind != GS_OBJECT && r->sel->set)
            return fail(g,
                        "field '%s' must not have a selection since type '%s' has no "
                        "subfields",
                        fd->name, fd->type);
    }
    if (extract && add_root(g, gr, fd->name, kind) < 0)
        return -1;
    if (nt->kind != GS_OBJECT)
        return 0;
    struct glist sub = {0};
    unsigned gen = ++g->gen;
    for (const struct fref *r = gr->head; r; r = r->next)
        if (collect(g, nt, r->sel->set, &sub, gen) < 0)
            return -1;
    if (g->depth >= PATH_MAX_DEPTH)
        return fail(g, "query exceeds maximum depth of %d", GRAPHQL_MLFLOW_DEPTH);
    g->path[g->depth++] = gr->key;
    /* lists of model versions of any registered model: Run.modelVersions (the versions whose
     * source is the run) and the search answer's list */
    if (g->plan && !strcmp(nt->name, "MlflowModelVersion") &&
        ((!strcmp(type->name, "MlflowRunExtension") && !strcmp(fd->name, "modelVersions")) ||
         (!strcmp(type->name, "MlflowSearchModelVersionsResponse") &&
          !strcmp(fd->name, "modelVersions"))) &&
        add_filter(g, &sub) < 0)
        return -1;
    int r = walk(g, nt, &sub, false);
    g->depth--;
    return r;
}

static int walk(struct gq *g, const struct gs_type *type, const struct glist *groups, bool root)
{
    for (const struct group *gr = groups->head; gr; gr = gr->next)
        if (walk_group(g, type, gr, root) < 0)
            return -1;
    return 0;
}

static int walk_operation(struct gq *g, const struct gop *op)
{
    const struct gs_type *root = gs_type_find(op->op == GRAPHQL_OP_MUTATION ? "Mutation" : "Query",
                                              op->op == GRAPHQL_OP_MUTATION ? 8 : 5);
    struct glist groups = {0};
    g->op = op;
    g->depth = 0;
    if (check_var_types(g, op) < 0)
        return -1;
    for (const struct gvardef *v = op->vars; v; v = v->next) {
        if (v->def) {
            char name[80];
            json_t *c = NULL, *saved = g->vars;
            snprintf(name, sizeof(name), "default of '$%.*s'", NM(v->name));
            g->vars = NULL;
            int r = coerce_literal(g, v->def, v->type, false, name, &c);
            g->vars = saved;
            json_decref(c);
            if (r < 0)
                return -1;
        }
    }
    for (const struct gdir *d = op->dirs; d; d = d->next)
        for (const struct garg *a = d->args; a; a = a->next) {
            json_t *c = NULL;
            const struct tref *t = schema_type(g, GS_DIRECTIVE_ARG_TYPE);
            if (!t || coerce_literal(g, a->value, t, false, "@component(name)", &c) < 0)
                return -1;
            if (!c && g->vars)
                return fail(g, "@component(name) was given a variable without a value");
            json_decref(c);
        }
    if (collect(g, root, op->set, &groups, ++g->gen) < 0)
        return -1;
    return walk(g, root, &groups, true);
}

/* ---------------------------------------------------------------- entry points */

const char *graphql_op_name(enum graphql_op op)
{
    switch (op) {
    case GRAPHQL_OP_QUERY:
        return "query";
    case GRAPHQL_OP_MUTATION:
        return "mutation";
    case GRAPHQL_OP_SUBSCRIPTION:
        return "subscription";
    }
    return "?";
}

void graphql_plan_free(struct graphql_plan *p)
{
    if (!p)
        return;
    free(p->operation_name);
    for (size_t i = 0; i < p->nroots; i++)
        free(p->roots[i].response_key);
    free(p->roots);
    for (size_t i = 0; i < p->nchecks; i++)
        free(p->checks[i].id);
    free(p->checks);
    for (size_t i = 0; i < p->nfilters; i++) {
        for (size_t k = 0; k < p->filters[i].depth; k++)
            free(p->filters[i].path[k]);
        free(p->filters[i].path);
        free(p->filters[i].key);
    }
    free(p->filters);
    memset(p, 0, sizeof(*p));
}

static int plan_core(const char *query, size_t qlen, const json_t *variables, const char *opname,
                     size_t oplen, struct graphql_plan *out, char *err, size_t errlen)
{
    struct gq g = {0};
    const struct gop *sel = NULL;
    g.err = err;
    g.errlen = errlen;
    g.src = query;
    g.len = qlen;
    memset(out, 0, sizeof(*out));
    if (errlen)
        err[0] = '\0';
    if (qlen > GRAPHQL_MAX_DOCUMENT) {
        fail(&g, "GraphQL document larger than %d bytes", GRAPHQL_MAX_DOCUMENT);
        goto fail;
    }
    for (size_t i = 0; i < qlen;) {
        uint32_t cp;
        size_t n = utf8_seq((const unsigned char *)query + i, qlen - i, &cp);
        if (!n) {
            fail(&g, "GraphQL document is not valid UTF-8 (byte %zu)", i);
            goto fail;
        }
        i += n;
    }
    if (variables && !json_is_object(variables) && !json_is_null(variables)) {
        fail(&g, "GraphQL variables must be an object");
        goto fail;
    }
    if (parse_document(&g) < 0 || check_document(&g) < 0 || check_limits(&g) < 0)
        goto fail;
    if (!opname) {
        if (g.nops > 1) {
            fail(&g, "must provide operation name if query contains multiple operations");
            goto fail;
        }
        sel = g.ops;
    } else {
        for (const struct gop *op = g.ops; op; op = op->next)
            if (op->name.len && op->name.len == oplen && memcmp(op->name.s, opname, oplen) == 0)
                sel = op;
        if (!sel) {
            fail(&g, "unknown operation named '%.*s'", (int)(oplen > 60 ? 60 : oplen), opname);
            goto fail;
        }
    }
    for (const struct gop *op = g.ops; op; op = op->next) {
        if (op == sel)
            continue;
        if (walk_operation(&g, op) < 0)
            goto fail;
    }
    g.op = sel;
    if (check_var_types(&g, sel) < 0 ||
        coerce_variables(&g, json_is_object(variables) ? variables : NULL) < 0)
        goto fail;
    g.plan = out;
    out->op = sel->op;
    if (sel->name.len && !(out->operation_name = dupn(sel->name.s, sel->name.len))) {
        fail(&g, "out of memory");
        goto fail;
    }
    if (sel->op == GRAPHQL_OP_MUTATION)
        plan_refuse(&g, "GraphQL mutations are admin-only");
    if (walk_operation(&g, sel) < 0)
        goto fail;
    json_decref(g.vars);
    arena_free(&g);
    return 0;
fail:
    json_decref(g.vars);
    arena_free(&g);
    graphql_plan_free(out);
    if (errlen && !err[0])
        snprintf(err, errlen, "invalid GraphQL request");
    return -1;
}

int graphql_plan(const char *query, size_t qlen, const char *variables, size_t vlen,
                 const char *operation_name, struct graphql_plan *out, char *err, size_t errlen)
{
    json_t *vars = NULL;
    if (!query) {
        memset(out, 0, sizeof(*out));
        snprintf(err, errlen, "GraphQL request has no query");
        return -1;
    }
    if (variables && vlen) {
        json_error_t je;
        vars = json_loadb(variables, vlen, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &je);
        if (!vars) {
            memset(out, 0, sizeof(*out));
            snprintf(err, errlen, "GraphQL variables are not valid JSON: %s", je.text);
            return -1;
        }
    }
    int r = plan_core(query, qlen, vars, operation_name,
                      operation_name ? strlen(operation_name) : 0, out, err, errlen);
    json_decref(vars);
    return r;
}

int graphql_plan_request(const char *body, size_t len, struct graphql_plan *out, char *err,
                         size_t errlen)
{
    json_error_t je;
    json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
    int r = -1;
    memset(out, 0, sizeof(*out));
    if (!root) {
        snprintf(err, errlen, "GraphQL request is not a JSON object: %s", je.text);
        return -1;
    }
    const json_t *q = json_object_get(root, "query"), *v = json_object_get(root, "variables"),
                 *o = json_object_get(root, "operationName");
    if (!json_is_string(q))
        snprintf(err, errlen, "GraphQL request needs \"query\" as a string");
    else if (v && !json_is_object(v) && !json_is_null(v))
        snprintf(err, errlen, "GraphQL \"variables\" must be an object or null");
    else if (o && !json_is_string(o) && !json_is_null(o))
        snprintf(err, errlen, "GraphQL \"operationName\" must be a string or null");
    else
        r = plan_core(json_string_value(q), json_string_length(q), v,
                      json_is_string(o) ? json_string_value(o) : NULL,
                      json_is_string(o) ? json_string_length(o) : 0, out, err, errlen);
    json_decref(root);
    return r;
}

/* ---------------------------------------------------------------- answer filter */

struct fctx {
    const struct graphql_filter *f;
    graphql_visible_fn visible;
    void *ctx;
    char *err;
    size_t errlen;
};

static int filter_node(struct fctx *c, json_t *node, size_t i)
{
    if (json_is_null(node))
        return 0;
    if (i == c->f->depth) {
        if (!json_is_array(node)) {
            snprintf(c->err, c->errlen, "GraphQL answer: %s is not a list", c->f->path[i - 1]);
            return -1;
        }
        for (size_t k = json_array_size(node); k-- > 0;) {
            const json_t *item = json_array_get(node, k);
            const json_t *key = json_is_object(item) ? json_object_get(item, c->f->key) : NULL;
            bool keep =
                json_is_string(key) && json_string_length(key) > 0 &&
                c->visible(c->ctx, c->f->object, json_string_value(key), json_string_length(key));
            if (!keep && json_array_remove(node, k)) {
                snprintf(c->err, c->errlen, "out of memory");
                return -1;
            }
        }
        return 0;
    }
    if (json_is_array(node)) {
        size_t k;
        json_t *e;
        json_array_foreach(node, k, e) if (filter_node(c, e, i) < 0) return -1;
        return 0;
    }
    if (!json_is_object(node)) {
        snprintf(c->err, c->errlen, "GraphQL answer: %s is not an object",
                 i ? c->f->path[i - 1] : "data");
        return -1;
    }
    json_t *child = json_object_get(node, c->f->path[i]);
    return child ? filter_node(c, child, i + 1) : 0;
}

int graphql_filter_answer(const struct graphql_plan *p, const char *body, size_t len,
                          graphql_visible_fn visible, void *ctx, char **out, size_t *outlen,
                          char *err, size_t errlen)
{
    json_error_t je;
    json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
    *out = NULL;
    *outlen = 0;
    if (!root || !json_is_object(root)) {
        snprintf(err, errlen, "GraphQL answer is not a JSON object%s%s", root ? "" : ": ",
                 root ? "" : je.text);
        json_decref(root);
        return -1;
    }
    json_t *data = json_object_get(root, "data");
    if (data && !json_is_object(data) && !json_is_null(data)) {
        snprintf(err, errlen, "GraphQL answer: data is not an object");
        json_decref(root);
        return -1;
    }
    if (p->nfilters == 0) {
        json_decref(root);
        if (!(*out = dupn(body, len))) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        *outlen = len;
        return 0;
    }
    for (size_t i = 0; data && i < p->nfilters; i++) {
        struct fctx c = {&p->filters[i], visible, ctx, err, errlen};
        if (filter_node(&c, data, 0) < 0) {
            json_decref(root);
            return -1;
        }
    }
    *out = json_dumps(root, JSON_COMPACT | JSON_REAL_PRECISION(17));
    json_decref(root);
    if (!*out) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    *outlen = strlen(*out);
    return 0;
}

/* ---------------------------------------------------------------- schema dump */

static int cmp_line(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

void graphql_schema_dump(FILE *f)
{
    size_t n = 0, cap = 0;
    char **lines = NULL;
    for (size_t i = 0; i < gs_type_count(); i++) {
        const struct gs_type *t = gs_type_at(i);
        size_t k = t->kind == GS_OBJECT  ? t->nfields
                   : t->kind == GS_INPUT ? t->ninputs
                   : t->kind == GS_ENUM  ? 1
                                         : (strcmp(t->name, "LongString") == 0);
        for (size_t j = 0; j < k; j++) {
            char buf[512];
            if (t->kind == GS_OBJECT && t->fields[j].arg)
                snprintf(buf, sizeof(buf), "type %s.%s(%s: %s): %s", t->name, t->fields[j].name,
                         t->fields[j].arg, t->fields[j].arg_type, t->fields[j].type);
            else if (t->kind == GS_OBJECT)
                snprintf(buf, sizeof(buf), "type %s.%s: %s", t->name, t->fields[j].name,
                         t->fields[j].type);
            else if (t->kind == GS_INPUT)
                snprintf(buf, sizeof(buf), "input %s.%s: %s%s", t->name, t->inputs[j].name,
                         t->inputs[j].type, t->inputs[j].default_null ? " = null" : "");
            else if (t->kind == GS_ENUM) {
                size_t o = (size_t)snprintf(buf, sizeof(buf), "enum %s: ", t->name);
                for (size_t v = 0; v < t->nvalues && o < sizeof(buf); v++)
                    o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s%s", v ? "|" : "",
                                          t->values[v]);
            } else
                snprintf(buf, sizeof(buf), "scalar %s", t->name);
            if (n == cap) {
                size_t nc = cap ? cap * 2 : 64;
                char **nl = realloc(lines, nc * sizeof(*nl));
                if (!nl)
                    goto out;
                lines = nl;
                cap = nc;
            }
            if (!(lines[n] = strdup(buf)))
                goto out;
            n++;
        }
    }
    if (n == cap) {
        char **nl = realloc(lines, (cap + 1) * sizeof(*nl));
        if (!nl)
            goto out;
        lines = nl;
    }
    char d[128];
    snprintf(d, sizeof(d), "directive @%s(%s: %s) on QUERY|MUTATION", GS_DIRECTIVE,
             GS_DIRECTIVE_ARG, GS_DIRECTIVE_ARG_TYPE);
    if (!(lines[n] = strdup(d)))
        goto out;
    n++;
    qsort(lines, n, sizeof(*lines), cmp_line);
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%s\n", lines[i]);
out:
    for (size_t i = 0; i < n; i++)
        free(lines[i]);
    free(lines);
}
