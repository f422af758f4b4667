/*
 * graphql_doc: the lexer and parser of GraphQL executable documents, as graphql-core 3.2.14's
 * language/lexer.py and parser.py read them (see graphql_doc.h). Tokens are read lazily;
 * strings are decoded into the arena. Pure; any thread.
 */
#include "mlflow/graphql_doc.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int gq_fail(struct gq *g, const char *fmt, ...)
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

void *gq_alloc(struct gq *g, size_t n)
{
    n = (n + sizeof(max_align_t) - 1) / sizeof(max_align_t) * sizeof(max_align_t);
    struct ablock *b = g->blocks;
    if (!b || b->cap - b->used < n) {
        size_t cap = n > 16384 ? n : 16384;
        b = malloc(sizeof(*b) + cap);
        if (!b) {
            gq_fail(g, "out of memory");
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

void gq_arena_free(struct gq *g)
{
    struct ablock *b = g->blocks;
    while (b) {
        struct ablock *n = b->next;
        free(b);
        b = n;
    }
    g->blocks = NULL;
}

bool gq_name_eq(struct gname a, const char *s)
{
    size_t n = strlen(s);
    return a.len == n && memcmp(a.s, s, n) == 0;
}

bool gq_names_eq(struct gname a, struct gname b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.s, b.s, a.len) == 0);
}

/* ---------------------------------------------------------------- UTF-8 */

/* Length of the valid UTF-8 sequence at s (no overlongs, surrogates or > U+10FFFF), or 0. */
size_t gq_utf8_seq(const unsigned char *s, size_t n, uint32_t *cp)
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
    if (!gq_utf8_seq((const unsigned char *)g->src + pos, g->len - pos, &cp))
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
    char *out = gq_alloc(g, (end < g->len ? end : g->len) - start + 4);
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
            size_t n = gq_utf8_seq((const unsigned char *)s + p, g->len - p, &cp);
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
    char *raw = gq_alloc(g, (end < g->len ? end : g->len) - start + 1);
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
        size_t n = gq_utf8_seq((const unsigned char *)s + p, g->len - p, &cp);
        if (!n)
            return syntax(g, p, "invalid character within string");
        memcpy(raw + r, s + p, n);
        r += n;
        p += n;
    }
    size_t *ls = gq_alloc(g, nlines * sizeof(size_t) * 2);
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
    char *out = gq_alloc(g, r + 1);
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
        return gq_fail(g, "GraphQL document nested deeper than %d levels", GRAPHQL_MAX_NESTING);
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
    struct gval *v = gq_alloc(g, sizeof(*v));
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
        struct garg *a = gq_alloc(g, sizeof(*a));
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
        struct gdir *d = gq_alloc(g, sizeof(*d));
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
    struct tref *t = gq_alloc(g, sizeof(*t));
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
        struct tref *nn = gq_alloc(g, sizeof(*nn));
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
    struct gsel *s = gq_alloc(g, sizeof(*s));
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
    struct gselset *set = gq_alloc(g, sizeof(*set));
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
    struct gop *op = gq_alloc(g, sizeof(*op));
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
            struct gvardef *v = gq_alloc(g, sizeof(*v));
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
    struct gfrag *f = gq_alloc(g, sizeof(*f));
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

int gq_parse(struct gq *g)
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
            return gq_fail(g, "GraphQL type system definitions are not executable");
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
const struct tref *gq_schema_type(struct gq *g, const char *s)
{
    struct tref *t = gq_alloc(g, sizeof(*t));
    size_t n = strlen(s);
    if (!t)
        return NULL;
    if (n && s[n - 1] == '!') {
        char *inner = gq_alloc(g, n);
        if (!inner)
            return NULL;
        memcpy(inner, s, n - 1);
        t->kind = TR_NONNULL;
        t->of = gq_schema_type(g, inner);
        return t->of ? t : NULL;
    }
    if (s[0] == '[') {
        char *inner = gq_alloc(g, n);
        if (!inner || n < 2)
            return NULL;
        memcpy(inner, s + 1, n - 2);
        t->kind = TR_LIST;
        t->of = gq_schema_type(g, inner);
        return t->of ? t : NULL;
    }
    t->kind = TR_NAMED;
    t->name.s = s;
    t->name.len = n;
    return t;
}

const struct tref *gq_named_of(const struct tref *t)
{
    while (t->kind != TR_NAMED)
        t = t->of;
    return t;
}

void gq_type_str(const struct tref *t, char *buf, size_t n)
{
    switch (t->kind) {
    case TR_NAMED:
        snprintf(buf, n, "%.*s", NM(t->name));
        return;
    case TR_LIST: {
        char in[96];
        gq_type_str(t->of, in, sizeof(in));
        snprintf(buf, n, "[%s]", in);
        return;
    }
    case TR_NONNULL: {
        char in[96];
        gq_type_str(t->of, in, sizeof(in));
        snprintf(buf, n, "%s!", in);
        return;
    }
    }
}
