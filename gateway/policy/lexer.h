/*
 * policy lexer: splits policy text into tokens for the parser (parser.c). Pure: no I/O,
 * no allocation, no globals; the tokens are views into the caller's text.
 *
 * Tokens: bare words ([A-Za-z0-9_]+; keywords are bare words, matched case-insensitively by
 * the parser), backtick-quoted identifiers (`` `a.b@c` ``, a doubled backtick stands for one
 * backtick, no control characters or line breaks inside), '.', ',', ';'. `--` starts a
 * comment that runs to the end of the line. Lines and columns are 1-based; columns count
 * UTF-8 characters. Errors come back as PLEX_ERROR tokens with a message, after which the
 * lexer resumes (at the next line for an unterminated quote), so one pass reports them all.
 */
#ifndef WARDEN_POLICY_LEXER_H
#define WARDEN_POLICY_LEXER_H

#include <stddef.h>

enum plex_type {
    PLEX_EOF = 0,
    PLEX_WORD,   /* bare word */
    PLEX_QUOTED, /* backtick-quoted; text excludes the backticks, escapes not undone */
    PLEX_DOT,
    PLEX_COMMA,
    PLEX_SEMI,
    PLEX_ERROR, /* message in err; text/len cover the offending bytes */
};

struct plex_token {
    enum plex_type type;
    const char *text;
    size_t len;
    unsigned line, col;         /* where the token starts */
    unsigned end_line, end_col; /* just after its last character */
    const char *err;            /* static message for PLEX_ERROR */
};

struct plex {
    const char *src;
    size_t len, pos;
    unsigned line, col;
};

#define PLEX_MAX_IDENT 4096 /* bytes in one word or quoted identifier */

void plex_init(struct plex *lx, const char *src, size_t len);
/* Produces the next token (PLEX_EOF forever at the end). */
void plex_next(struct plex *lx, struct plex_token *tok);
/* Copies a PLEX_QUOTED token's text into dst (at least tok->len bytes), turning `` into `.
 * Returns the unescaped length. For other tokens copies the text as is. */
size_t plex_unquote(const struct plex_token *tok, char *dst);

#endif
