/*
 * policy lexer: see lexer.h. A hand-written scanner over a byte buffer; it keeps line and
 * column counters so every token, and every error, carries its position.
 */
#include "policy/lexer.h"

#include <string.h>

void plex_init(struct plex *lx, const char *src, size_t len)
{
    lx->src = src;
    lx->len = len;
    lx->pos = 0;
    lx->line = 1;
    lx->col = 1;
}

/* Advances one byte, keeping line/column (columns count UTF-8 characters). */
static void advance(struct plex *lx)
{
    unsigned char c = (unsigned char)lx->src[lx->pos++];
    if (c == '\n') {
        lx->line++;
        lx->col = 1;
    } else if ((c & 0xC0) != 0x80) {
        lx->col++;
    }
}

static int peek(const struct plex *lx, size_t ahead)
{
    if (lx->pos + ahead >= lx->len)
        return -1;
    return (unsigned char)lx->src[lx->pos + ahead];
}

static int is_word_char(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

static void skip_blanks_and_comments(struct plex *lx)
{
    for (;;) {
        int c = peek(lx, 0);
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v') {
            advance(lx);
        } else if (c == '-' && peek(lx, 1) == '-') {
            while (peek(lx, 0) >= 0 && peek(lx, 0) != '\n')
                advance(lx);
        } else {
            return;
        }
    }
}

static void finish(struct plex *lx, struct plex_token *tok, size_t start)
{
    tok->len = lx->pos - start;
    tok->end_line = lx->line;
    tok->end_col = lx->col;
}

static void lex_quoted(struct plex *lx, struct plex_token *tok)
{
    advance(lx); /* opening backtick */
    size_t start = lx->pos;
    tok->text = lx->src + start;
    for (;;) {
        int c = peek(lx, 0);
        if (c < 0 || c == '\n' || c == '\r') {
            /* Resume on the next line so the rest of the file is still checked. */
            tok->type = PLEX_ERROR;
            tok->err = "unterminated quoted identifier (missing closing backtick)";
            finish(lx, tok, start);
            return;
        }
        if (c == '`') {
            if (peek(lx, 1) == '`') {
                advance(lx);
                advance(lx);
                continue;
            }
            finish(lx, tok, start);
            advance(lx); /* closing backtick */
            tok->end_line = lx->line;
            tok->end_col = lx->col;
            if (tok->len > PLEX_MAX_IDENT) {
                tok->type = PLEX_ERROR;
                tok->err = "quoted identifier too long (limit 4096 bytes)";
            } else if (tok->len == 0) {
                tok->type = PLEX_ERROR;
                tok->err = "empty quoted identifier";
            } else {
                tok->type = PLEX_QUOTED;
            }
            return;
        }
        if (c < 0x20 || c == 0x7f) {
            /* Report the control character, then skip the rest of the identifier. */
            tok->type = PLEX_ERROR;
            tok->err = "control character in quoted identifier";
            while (peek(lx, 0) >= 0 && peek(lx, 0) != '`' && peek(lx, 0) != '\n')
                advance(lx);
            if (peek(lx, 0) == '`')
                advance(lx);
            tok->len = 0;
            tok->end_line = lx->line;
            tok->end_col = lx->col;
            return;
        }
        advance(lx);
    }
}

void plex_next(struct plex *lx, struct plex_token *tok)
{
    skip_blanks_and_comments(lx);
    memset(tok, 0, sizeof(*tok));
    tok->line = lx->line;
    tok->col = lx->col;
    tok->text = lx->src + lx->pos;
    size_t start = lx->pos;
    int c = peek(lx, 0);
    if (c < 0) {
        tok->type = PLEX_EOF;
        finish(lx, tok, start);
        return;
    }
    if (c == '`') {
        lex_quoted(lx, tok);
        return;
    }
    if (is_word_char(c)) {
        while (is_word_char(peek(lx, 0)))
            advance(lx);
        finish(lx, tok, start);
        if (tok->len > PLEX_MAX_IDENT) {
            tok->type = PLEX_ERROR;
            tok->err = "word too long (limit 4096 bytes)";
        } else {
            tok->type = PLEX_WORD;
        }
        return;
    }
    advance(lx);
    finish(lx, tok, start);
    switch (c) {
    case '.':
        tok->type = PLEX_DOT;
        return;
    case ',':
        tok->type = PLEX_COMMA;
        return;
    case ';':
        tok->type = PLEX_SEMI;
        return;
    case '\'':
    case '"':
        /* Skip the whole wrongly quoted text (up to the matching quote on this line). */
        while (peek(lx, 0) >= 0 && peek(lx, 0) != '\n' && peek(lx, 0) != c)
            advance(lx);
        if (peek(lx, 0) == c)
            advance(lx);
        finish(lx, tok, start);
        tok->type = PLEX_ERROR;
        tok->err = "unexpected quote: identifiers are quoted with backticks (`name`)";
        return;
    default:
        /* Swallow the rest of a multi-byte UTF-8 character so it is one error. */
        while (peek(lx, 0) >= 0 && (peek(lx, 0) & 0xC0) == 0x80)
            advance(lx);
        finish(lx, tok, start);
        tok->type = PLEX_ERROR;
        tok->err = "unexpected character";
        return;
    }
}

size_t plex_unquote(const struct plex_token *tok, char *dst)
{
    size_t n = 0;
    for (size_t i = 0; i < tok->len; i++) {
        dst[n++] = tok->text[i];
        if (tok->type == PLEX_QUOTED && tok->text[i] == '`' && i + 1 < tok->len &&
            tok->text[i + 1] == '`')
            i++;
    }
    return n;
}
