/*
 * Unit tests for the policy lexer (gateway/policy/lexer.c): token kinds, positions (lines,
 * UTF-8 columns), comments, backtick quoting and escapes, and every lexer error.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "policy/lexer.h"

static struct plex_token next(struct plex *lx)
{
    struct plex_token t;
    plex_next(lx, &t);
    return t;
}

static void test_tokens_and_positions(void **state)
{
    const char *src = "GRANT read\n  ON catalog risk.`a b`;, -- comment\n`x`";
    struct plex lx;
    struct plex_token t;
    plex_init(&lx, src, strlen(src));
    t = next(&lx);
    assert_int_equal(t.type, PLEX_WORD);
    assert_int_equal(t.len, 5);
    assert_int_equal(t.line, 1);
    assert_int_equal(t.col, 1);
    t = next(&lx);
    assert_int_equal(t.type, PLEX_WORD);
    assert_memory_equal(t.text, "read", 4);
    assert_int_equal(t.col, 7);
    t = next(&lx);
    assert_int_equal(t.line, 2);
    assert_int_equal(t.col, 3);
    next(&lx); /* catalog */
    t = next(&lx);
    assert_memory_equal(t.text, "risk", 4);
    assert_int_equal(next(&lx).type, PLEX_DOT);
    t = next(&lx);
    assert_int_equal(t.type, PLEX_QUOTED);
    assert_int_equal(t.len, 3);
    assert_memory_equal(t.text, "a b", 3);
    assert_int_equal(t.end_col, t.col + 5);
    assert_int_equal(next(&lx).type, PLEX_SEMI);
    assert_int_equal(next(&lx).type, PLEX_COMMA);
    t = next(&lx);
    assert_int_equal(t.type, PLEX_QUOTED);
    assert_int_equal(t.line, 3);
    assert_int_equal(next(&lx).type, PLEX_EOF);
    assert_int_equal(next(&lx).type, PLEX_EOF);
}

static void test_utf8_columns(void **state)
{
    const char *src = "`é€` x";
    struct plex lx;
    plex_init(&lx, src, strlen(src));
    struct plex_token t = next(&lx);
    assert_int_equal(t.type, PLEX_QUOTED);
    t = next(&lx);
    assert_int_equal(t.col, 6); /* ` é € ` space x: x is the 6th character */
}

static void test_escaped_backtick(void **state)
{
    const char *src = "`a``b`";
    char buf[16];
    struct plex lx;
    plex_init(&lx, src, strlen(src));
    struct plex_token t = next(&lx);
    assert_int_equal(t.type, PLEX_QUOTED);
    size_t n = plex_unquote(&t, buf);
    assert_int_equal(n, 3);
    assert_memory_equal(buf, "a`b", 3);
    assert_int_equal(next(&lx).type, PLEX_EOF);
}

static void test_comment_only_and_dash(void **state)
{
    const char *src = "-- just a comment\n--\n";
    struct plex lx;
    plex_init(&lx, src, strlen(src));
    assert_int_equal(next(&lx).type, PLEX_EOF);
    src = "a-b";
    plex_init(&lx, src, strlen(src));
    assert_int_equal(next(&lx).type, PLEX_WORD);
    struct plex_token t = next(&lx);
    assert_int_equal(t.type, PLEX_ERROR);
    assert_string_equal(t.err, "unexpected character");
    assert_int_equal(next(&lx).type, PLEX_WORD);
}

static void expect_error(const char *src, const char *msg, unsigned line, unsigned col)
{
    struct plex lx;
    struct plex_token t;
    plex_init(&lx, src, strlen(src));
    do {
        plex_next(&lx, &t);
    } while (t.type != PLEX_ERROR && t.type != PLEX_EOF);
    assert_int_equal(t.type, PLEX_ERROR);
    assert_string_equal(t.err, msg);
    assert_int_equal(t.line, line);
    assert_int_equal(t.col, col);
}

static void test_errors(void **state)
{
    expect_error("x `abc\ny", "unterminated quoted identifier (missing closing backtick)", 1, 3);
    expect_error("`abc", "unterminated quoted identifier (missing closing backtick)", 1, 1);
    expect_error("``", "empty quoted identifier", 1, 1);
    expect_error("`a\tb`", "control character in quoted identifier", 1, 1);
    expect_error("'alice'", "unexpected quote: identifiers are quoted with backticks (`name`)", 1,
                 1);
    expect_error("\"alice\"", "unexpected quote: identifiers are quoted with backticks (`name`)", 1,
                 1);
    expect_error("x #", "unexpected character", 1, 3);
    expect_error("é", "unexpected character", 1, 1);
    char big[5000];
    memset(big, 'a', sizeof(big));
    big[0] = '`';
    big[sizeof(big) - 2] = '`';
    big[sizeof(big) - 1] = '\0';
    expect_error(big, "quoted identifier too long (limit 4096 bytes)", 1, 1);
    memset(big, 'a', sizeof(big) - 1);
    expect_error(big, "word too long (limit 4096 bytes)", 1, 1);
}

static void test_recovery_after_unterminated_quote(void **state)
{
    const char *src = "`abc\nGRANT";
    struct plex lx;
    plex_init(&lx, src, strlen(src));
    assert_int_equal(next(&lx).type, PLEX_ERROR);
    struct plex_token t = next(&lx);
    assert_int_equal(t.type, PLEX_WORD);
    assert_int_equal(t.line, 2);
}

static void test_embedded_nul(void **state)
{
    const char src[] = "a\0b";
    struct plex lx;
    plex_init(&lx, src, 3);
    assert_int_equal(next(&lx).type, PLEX_WORD);
    assert_int_equal(next(&lx).type, PLEX_ERROR);
    assert_int_equal(next(&lx).type, PLEX_WORD);
    assert_int_equal(next(&lx).type, PLEX_EOF);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tokens_and_positions),
        cmocka_unit_test(test_utf8_columns),
        cmocka_unit_test(test_escaped_backtick),
        cmocka_unit_test(test_comment_only_and_dash),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_recovery_after_unterminated_quote),
        cmocka_unit_test(test_embedded_nul),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
