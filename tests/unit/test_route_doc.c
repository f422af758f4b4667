/*
 * Keeps the policy reference honest: the route-by-route table in policies/README.md (between
 * the routes:begin/end markers) must equal what the enforced route table prints
 * (routes_dump_markdown). Regenerate with tests/tools/update_route_doc.sh.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "mlflow/routes.h"

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    if (buf)
        buf[n] = '\0';
    fclose(f);
    return buf;
}

static void test_readme_table_matches_code(void **state)
{
    const char *src = getenv("WARDEN_SOURCE_DIR");
    if (!src)
        skip();
    char path[1024];
    snprintf(path, sizeof(path), "%s/policies/README.md", src);
    char *doc = read_file(path);
    assert_non_null(doc);
    const char *begin = strstr(doc, "<!-- routes:begin -->\n");
    const char *end = strstr(doc, "<!-- routes:end -->");
    assert_non_null(begin);
    assert_non_null(end);
    begin += strlen("<!-- routes:begin -->\n");

    char err[256];
    assert_int_equal(routes_init(err, sizeof(err)), 0);
    char *gen = NULL;
    size_t genlen = 0;
    FILE *mem = open_memstream(&gen, &genlen);
    assert_non_null(mem);
    routes_dump_markdown(mem);
    fclose(mem);
    routes_deinit();

    size_t doclen = (size_t)(end - begin);
    if (doclen != genlen || memcmp(begin, gen, genlen) != 0) {
        size_t i = 0;
        while (i < doclen && i < genlen && begin[i] == gen[i])
            i++;
        size_t line = 1;
        for (size_t k = 0; k < i; k++)
            line += gen[k] == '\n';
        fail_msg("policies/README.md route table differs from the code at generated line %zu; "
                 "run tests/tools/update_route_doc.sh",
                 line);
    }
    free(gen);
    free(doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_readme_table_matches_code)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
