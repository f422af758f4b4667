/*
 * conf: the table-driven configuration reader. A configuration file is INI-style text:
 * `[section]` or `[section label]` headers, `key = value` lines, `#` comments (a whole line, or
 * after whitespace following a value). Each module declares the keys of the section it owns
 * as a table of struct conf_key (name, type, bounds, offset into that module's own config
 * struct); this reader parses, validates and stores values through those tables, and reports
 * every error as `file:line:column: message` into a struct conf_diag, collecting all of them
 * before the caller gives up. Pure apart from reading the file; no globals; not thread-bound.
 *
 * Ownership: strings and lists stored into section structs are heap copies owned by the
 * section struct; conf_section_clear() releases them using the same table.
 */
#ifndef WARDEN_UTIL_CONF_H
#define WARDEN_UTIL_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum conf_type {
    CONF_STRING = 1, /* char *           ("double quotes" optional, \" and \\ escapes) */
    CONF_INT,        /* int64_t          bounded by min..max */
    CONF_BOOL,       /* bool             on/off/true/false/yes/no */
    CONF_DURATION,   /* int64_t ms       500ms, 10s, 5m, 1h, 2d; bounded by min..max (ms) */
    CONF_SIZE,       /* int64_t bytes    512, 64k, 10M, 1G; bounded by min..max */
    CONF_ENUM,       /* int              index into choices[] */
    CONF_LIST,       /* char **          comma-separated, NULL-terminated array */
    CONF_ADDRESS,    /* char *           "host:port" or "[v6]:port", port 0..65535 */
};

struct conf_key {
    const char *name;
    enum conf_type type;
    size_t offset;              /* of the field inside the section struct */
    int64_t min, max;           /* CONF_INT/DURATION/SIZE bounds; 0,0 = unbounded */
    const char *const *choices; /* CONF_ENUM: NULL-terminated */
    bool required;
};

struct conf_diag {
    char **msgs; /* "file:line:column: message" */
    size_t n, cap;
};

/* Where a section was declared, for cross-field checks that report a position. */
struct conf_pos {
    const char *file;
    unsigned line, column;
};

struct conf_section {
    const char *name;            /* "listener", "issuer", ... */
    size_t size;                 /* sizeof the section struct */
    bool repeatable;             /* may appear several times; stored as an array */
    const struct conf_key *keys; /* terminated by an entry with name == NULL */
    size_t offset;               /* of the struct (or array pointer) in the root struct */
    size_t count_offset;         /* repeatable: offset of the size_t element count */
    size_t label_offset;         /* offset of a char * receiving `[name label]`, or SIZE_MAX */
    void (*set_defaults)(void *sect);
    /* Cross-field validation after the section is read; report through conf_diag_add(). */
    void (*check)(void *sect, const struct conf_pos *pos, struct conf_diag *diag);
};

#define CONF_NO_LABEL ((size_t)-1)

/* Record one error. Formats "file:line:column: " + message. Never fails silently: on
 * allocation failure the message count still grows so callers see an error. */
void conf_diag_add(struct conf_diag *d, const char *file, unsigned line, unsigned column,
                   const char *fmt, ...) __attribute__((format(printf, 5, 6)));
void conf_diag_clear(struct conf_diag *d);

/*
 * Parse text (len bytes, named `file` in messages) into root, using the section tables.
 * Sections not listed, unknown keys (with a did-you-mean), bad values, duplicate keys and
 * duplicate non-repeatable sections are errors; missing required keys are reported at the
 * section header. Returns 0 when no error was recorded, -1 otherwise (root then holds what
 * could be parsed and must still be released with conf_release()).
 */
int conf_parse(const char *file, const char *text, size_t len, const struct conf_section *sections,
               size_t nsections, void *root, struct conf_diag *diag);

/* Read the file and conf_parse() it. An unreadable file is reported as "file:0:0: ...". */
int conf_load(const char *path, const struct conf_section *sections, size_t nsections, void *root,
              struct conf_diag *diag);

/* Free every string and list stored through the tables (and arrays of repeatable sections). */
void conf_release(const struct conf_section *sections, size_t nsections, void *root);

/* Value parsers, exposed for unit tests and for modules that parse values themselves. */
int conf_parse_duration_ms(const char *s, int64_t *out);
int conf_parse_size(const char *s, int64_t *out);
int conf_parse_bool(const char *s, bool *out);
int conf_split_address(const char *s, char *host, size_t hostlen, int *port);

#endif
