/*
 * graphql_doc: GraphQL executable documents read exactly as graphql-core 3.2.14 reads them
 * (lexer, parser, AST), for the graphql module. Internal to gateway/mlflow/graphql*.c. One
 * struct gq holds a call's state: the source, a lexer with two tokens of lookahead (a
 * description is told from a shorthand query by the token after it, as graphql-core does),
 * an arena holding the AST (freed in one go), the first error, and what the graphql module's
 * later passes keep while they walk the document. graphql_rules.c's functions are declared
 * here too. Pure; any thread.
 */
#ifndef WARDEN_MLFLOW_GRAPHQL_DOC_H
#define WARDEN_MLFLOW_GRAPHQL_DOC_H

#include "mlflow/graphql.h"
#include "mlflow/graphql_schema.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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

/* The first error wins: printf-style message into g->err; returns -1. */
int gq_fail(struct gq *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* n zeroed bytes from the arena, or NULL (error set: out of memory). */
void *gq_alloc(struct gq *g, size_t n);
void gq_arena_free(struct gq *g);
bool gq_name_eq(struct gname a, const char *s);
bool gq_names_eq(struct gname a, struct gname b);
/* Length of the valid UTF-8 sequence at s (no overlongs, surrogates or > U+10FFFF), or 0. */
size_t gq_utf8_seq(const unsigned char *s, size_t n, uint32_t *cp);
/* Parses g->src into g->ops and g->frags. Returns 0, or -1 with the error set ("GraphQL
 * syntax error at L:C: ..." for syntax, as graphql-core would refuse it). */
int gq_parse(struct gq *g);
/* A type reference of the compiled-in schema ("[String]") as a tref in the arena. */
const struct tref *gq_schema_type(struct gq *g, const char *s);
const struct tref *gq_named_of(const struct tref *t);
void gq_type_str(const struct tref *t, char *buf, size_t n);

/* ---- graphql_rules.c: validation rules, MLflow's limits, value coercion ---- */

struct gfrag *gq_frag_find(struct gq *g, struct gname n);
/* The rules that need no types: unique names, a lone anonymous operation, known, used and
 * acyclic fragments, directives (only @component on operations), defined and used
 * variables. Returns 0 or -1 (error set). */
int gq_check_document(struct gq *g);
/* graphql_no_batching.check_query_safety over every operation: root fields, aliases per
 * level, depth, selections. Returns 0 or -1 (error set). */
int gq_check_limits(struct gq *g);
const struct gs_type *gq_type_of(const struct tref *t);
/* The operation's variable types are known input types. */
int gq_check_var_types(struct gq *g, const struct gop *op);
/* Coerces g->op's variables from the request's (object or NULL) into g->vars, as
 * graphql-core's coerce_variable_values does. Returns 0 or -1 (error set). */
int gq_coerce_variables(struct gq *g, const json_t *input);
/* graphql-core's value_from_ast with ValuesOfCorrectTypeRule's and
 * VariablesInAllowedPositionRule's checks: *out is a new reference, NULL when the value is a
 * missing variable; while only validating (g->vars NULL) a variable reads as null. */
int gq_coerce_literal(struct gq *g, const struct gval *v, const struct tref *t, bool loc_default,
                      const char *where, json_t **out);

/* A name for a message: names are ASCII [_A-Za-z0-9], at most 60 shown. */
#define NM(n) (int)((n).len > 60 ? 60 : (n).len), (n).s

#endif
