/*
 * Unit tests for mlflow/filter: the filter table against responses captured from MLflow
 * 3.17.2 (tests/unit/fixtures/filter/), fail-closed handling of malformed items and bodies,
 * Warden page tokens (forgery, other keys, other bindings, raw MLflow tokens), and the refill
 * planner driven against a simulated upstream of 500 experiments. Single-threaded; reads the
 * fixtures from $WARDEN_SOURCE_DIR.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mlflow/filter.h"

static char err[256];
static struct filter_key key1, key2;

/* ---- predicates ---- */

static bool allow_all(void *ctx, enum filter_key_kind k, const char *s, size_t n,
                      const json_t *item)
{
    (void)item;
    (void)ctx;
    (void)k;
    (void)s;
    (void)n;
    return true;
}

static bool deny_all(void *ctx, enum filter_key_kind k, const char *s, size_t n, const json_t *item)
{
    (void)item;
    (void)ctx;
    (void)k;
    (void)s;
    (void)n;
    return false;
}

/* Records every key seen, joined by ' ', with its kind checked against ctx's expectation. */
struct seen {
    enum filter_key_kind kind;
    char keys[512];
    const char *allow; /* only this key is visible; NULL: all */
};

static bool record(void *ctx, enum filter_key_kind k, const char *s, size_t n, const json_t *item)
{
    (void)item;
    struct seen *sn = ctx;
    assert_int_equal(k, sn->kind);
    size_t l = strlen(sn->keys);
    snprintf(sn->keys + l, sizeof(sn->keys) - l, "%s%.*s", l ? " " : "", (int)n, s);
    return !sn->allow || (strlen(sn->allow) == n && memcmp(sn->allow, s, n) == 0);
}

/* Experiments visible to the user of the scale test: multiples of 13 below 490 (37 ids). */
static bool visible_37(void *ctx, enum filter_key_kind k, const char *s, size_t n,
                       const json_t *item)
{
    (void)item;
    (void)ctx;
    assert_int_equal(k, FILTER_KEY_EXPERIMENT_ID);
    char buf[32];
    assert_true(n < sizeof(buf));
    memcpy(buf, s, n);
    buf[n] = '\0';
    long id = strtol(buf, NULL, 10);
    return id % 13 == 0 && id < 490;
}

/* ---- helpers ---- */

static char *read_fixture(const char *name, size_t *len)
{
    const char *dir = getenv("WARDEN_SOURCE_DIR");
    char path[1024];
    snprintf(path, sizeof(path), "%s/tests/unit/fixtures/filter/%s", dir ? dir : ".", name);
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open %s", path);
    static char buf[65536];
    *len = fread(buf, 1, sizeof(buf) - 1, f);
    buf[*len] = '\0';
    fclose(f);
    return buf;
}

static void check_fixture(enum filter_kind kind, const char *file, const char *want_keys,
                          size_t items, bool token)
{
    size_t len;
    char *body = read_fixture(file, &len);
    const struct filter_spec *spec = filter_spec_get(kind);
    struct filter_page pg;
    struct seen sn = {.kind = spec->key_kind};
    assert_int_equal(filter_page(spec, body, len, record, &sn, &pg, err, sizeof(err)), 0);
    assert_string_equal(sn.keys, want_keys);
    assert_int_equal(pg.scanned, items);
    assert_int_equal(json_array_size(pg.items), items);
    assert_int_equal(pg.dropped, 0);
    assert_int_equal(pg.next_page_token != NULL, token);
    filter_page_clear(&pg);

    assert_int_equal(filter_page(spec, body, len, deny_all, NULL, &pg, err, sizeof(err)), 0);
    assert_int_equal(json_array_size(pg.items), 0);
    assert_int_equal(pg.items_json_len, 0);
    assert_int_equal(pg.dropped, items);
    filter_page_clear(&pg);
}

static void test_fixtures(void **state)
{
    (void)state;
    check_fixture(FILTER_EXPERIMENTS, "search_experiments.json", "6 5", 2, true);
    check_fixture(FILTER_RUNS, "search_runs.json", "4 5", 2, true);
    check_fixture(FILTER_MODELS, "search_registered_models.json", "model-0 model-1", 2, true);
    check_fixture(FILTER_MODEL_VERSIONS, "search_model_versions.json", "model2-2 model2-1", 2,
                  true);
    check_fixture(FILTER_LOGGED_MODELS, "search_logged_models.json", "5", 1, true);
    check_fixture(FILTER_TRACES, "search_traces.json", "4", 1, true);
    check_fixture(FILTER_DATASETS, "search_datasets.json", "d-40093833e6f04c3ab09194f09a805934", 1,
                  false);
}

static void test_keep_order_and_serialise(void **state)
{
    (void)state;
    size_t len;
    char *body = read_fixture("search_experiments.json", &len);
    struct seen sn = {.kind = FILTER_KEY_EXPERIMENT_ID, .allow = "5"};
    struct filter_page pg;
    assert_int_equal(filter_page(filter_spec_get(FILTER_EXPERIMENTS), body, len, record, &sn, &pg,
                                 err, sizeof(err)),
                     0);
    assert_int_equal(json_array_size(pg.items), 1);
    assert_int_equal(pg.index[0], 1);
    assert_int_equal(pg.dropped, 1);
    assert_non_null(strstr(pg.items_json, "\"experiment_id\":\"5\""));
    assert_null(strstr(pg.items_json, "\"experiment_id\":\"6\""));
    assert_string_equal(pg.next_page_token, "eyJvZmZzZXQiOiAyfQ==");
    filter_page_clear(&pg);
}

static void test_malformed_items_dropped(void **state)
{
    (void)state;
    const char *body = "{\"experiments\":["
                       "{\"experiment_id\":\"1\"},"
                       "{\"name\":\"no id\"},"
                       "{\"experiment_id\":5},"
                       "{\"experiment_id\":\"05\"},"
                       "{\"experiment_id\":\"\"},"
                       "{\"experiment_id\":\"-1\"},"
                       "{\"experiment_id\":\"1e3\"},"
                       "{\"experiment_id\":\"99999999999999999999\"},"
                       "{\"experiment_id\":null},"
                       "\"7\",7,[],null,"
                       "{\"experiment_id\":\"2\"}]}";
    struct seen sn = {.kind = FILTER_KEY_EXPERIMENT_ID};
    struct filter_page pg;
    assert_int_equal(filter_page(filter_spec_get(FILTER_EXPERIMENTS), body, strlen(body), record,
                                 &sn, &pg, err, sizeof(err)),
                     0);
    assert_string_equal(sn.keys, "1 2"); /* the predicate never saw a malformed key */
    assert_int_equal(json_array_size(pg.items), 2);
    assert_int_equal(pg.dropped, 12);
    assert_int_equal(pg.scanned, 14);
    filter_page_clear(&pg);

    /* traces: a location that is not an MLflow experiment has no key */
    const char *tr = "{\"traces\":[{\"trace_id\":\"tr-1\",\"trace_location\":{\"type\":"
                     "\"UC_SCHEMA\",\"uc_schema\":{\"catalog_name\":\"c\"}}},"
                     "{\"trace_id\":\"tr-2\",\"trace_location\":{\"mlflow_experiment\":"
                     "{\"experiment_id\":\"3\"}}},{\"trace_id\":\"tr-3\"}]}";
    assert_int_equal(filter_page(filter_spec_get(FILTER_TRACES), tr, strlen(tr), allow_all, NULL,
                                 &pg, err, sizeof(err)),
                     0);
    assert_int_equal(json_array_size(pg.items), 1);
    assert_int_equal(pg.dropped, 2);
    filter_page_clear(&pg);

    /* a model name with an embedded NUL is malformed; a NUL elsewhere (a description)
     * does not spoil the page */
    const char *rm = "{\"registered_models\":[{\"name\":\"a\\u0000b\"},{\"name\":\"ok\","
                     "\"description\":\"x\\u0000y\"}]}";
    assert_int_equal(filter_page(filter_spec_get(FILTER_MODELS), rm, strlen(rm), allow_all, NULL,
                                 &pg, err, sizeof(err)),
                     0);
    assert_int_equal(json_array_size(pg.items), 1);
    assert_int_equal(pg.dropped, 1);
    filter_page_clear(&pg);
}

static void test_bad_bodies_refused(void **state)
{
    (void)state;
    static const char *bad[] = {
        "",
        "not json",
        "[]",
        "\"x\"",
        "{\"experiments\":{}}",
        "{\"experiments\":[],\"next_page_token\":5}",
        "{\"experiments\":[],\"experiments\":[]}",
        "{\"experiments\":[{\"experiment_id\":\"1\"}]",
        "{\"experiments\":[],\"next_page_token\":\"a\\u0000b\"}",
        "{\"experiments\":[]} trailing",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct filter_page pg;
        if (filter_page(filter_spec_get(FILTER_EXPERIMENTS), bad[i], strlen(bad[i]), allow_all,
                        NULL, &pg, err, sizeof(err)) != -1)
            fail_msg("accepted: %s", bad[i]);
        assert_true(err[0] != '\0');
    }
    /* MLflow omits empty repeated fields: "{}" is an empty page */
    struct filter_page pg;
    assert_int_equal(filter_page(filter_spec_get(FILTER_EXPERIMENTS), "{}", 2, allow_all, NULL, &pg,
                                 err, sizeof(err)),
                     0);
    assert_int_equal(json_array_size(pg.items), 0);
    assert_null(pg.next_page_token);
    filter_page_clear(&pg);
}

/* ---- simulated upstream: experiments "1".."500", pages by offset ---- */

#define UP_TOTAL 500

struct upstream {
    unsigned requests;
};

static char *upstream_page(struct upstream *u, const struct planner_request *r)
{
    u->requests++;
    long off = 0;
    if (r->page_token) {
        assert_int_equal(strncmp(r->page_token, "off:", 4), 0);
        off = strtol(r->page_token + 4, NULL, 10);
    }
    long n = r->max_results;
    assert_true(n > 0);
    size_t cap = (size_t)n * 48 + 128, len = 0;
    char *b = malloc(cap);
    len += (size_t)sprintf(b + len, "{\"experiments\":[");
    for (long i = off; i < off + n && i < UP_TOTAL; i++)
        len += (size_t)sprintf(b + len, "%s{\"experiment_id\":\"%ld\",\"name\":\"e%ld\"}",
                               i > off ? "," : "", i + 1, i + 1);
    len += (size_t)sprintf(b + len, "]");
    if (off + n < UP_TOTAL)
        len += (size_t)sprintf(b + len, ",\"next_page_token\":\"off:%ld\"", off + n);
    sprintf(b + len, "}");
    return b;
}

/* One client request through the planner; appends the returned ids to ids[] and returns the
 * Warden token (malloc'd) or NULL. */
static char *client_request(long max_results, const char *token, const struct planner_limits *lim,
                            long *ids, size_t *nids, size_t *page_items, struct upstream *u)
{
    const char *binding = "alice\nexperiments:filter=";
    struct planner *p = planner_new(filter_spec_get(FILTER_EXPERIMENTS), &key1, binding,
                                    strlen(binding), max_results, token, lim, err, sizeof(err));
    if (!p)
        fail_msg("planner_new: %s", err);
    struct planner_request r;
    int rc = 0;
    while (planner_next_upstream_request(p, &r) == 1) {
        char *body = upstream_page(u, &r);
        rc = planner_feed(p, body, strlen(body), visible_37, NULL, err, sizeof(err));
        free(body);
        assert_true(rc >= 0);
        if (rc == 1)
            break;
    }
    assert_int_equal(rc, 1);
    assert_int_equal(planner_next_upstream_request(p, &r), 0);
    char *out;
    size_t outlen;
    assert_int_equal(planner_result(p, &out, &outlen, err, sizeof(err)), 0);
    planner_free(p);

    json_error_t jerr;
    json_t *o = json_loadb(out, outlen, JSON_REJECT_DUPLICATES, &jerr);
    free(out);
    assert_non_null(o);
    json_t *arr = json_object_get(o, "experiments");
    assert_true(json_is_array(arr));
    *page_items = json_array_size(arr);
    size_t i;
    json_t *it;
    json_array_foreach(arr, i, it)
    {
        const char *id = json_string_value(json_object_get(it, "experiment_id"));
        assert_non_null(id);
        ids[(*nids)++] = strtol(id, NULL, 10);
    }
    json_t *t = json_object_get(o, "next_page_token");
    char *tok = t ? strdup(json_string_value(t)) : NULL;
    json_decref(o);
    return tok;
}

static void expect_the_37(const long *ids, size_t n)
{
    assert_int_equal(n, 37);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(ids[i], 13 * (long)(i + 1));
}

static void test_37_of_500_default_bounds(void **state)
{
    (void)state;
    long ids[600];
    size_t n = 0, page, rounds = 0;
    struct upstream u = {0};
    char *tok = client_request(10, NULL, NULL, ids, &n, &page, &u);
    assert_int_equal(page, 7); /* 10 pages of 10 scanned: ids 13..91 */
    while (tok) {
        assert_true(page <= 10);
        char *next = client_request(10, tok, NULL, ids, &n, &page, &u);
        free(tok);
        tok = next;
        assert_true(++rounds < 100);
    }
    expect_the_37(ids, n);
    assert_int_equal(u.requests, 50); /* every upstream page fetched exactly once */
}

static void test_37_of_500_exact_pages(void **state)
{
    (void)state;
    struct planner_limits lim = {.max_pages = 100, .max_scanned = 100000};
    long ids[600];
    size_t n = 0, page, pages = 0;
    struct upstream u = {0};
    char *tok = NULL;
    do {
        char *next = client_request(10, tok, &lim, ids, &n, &page, &u);
        free(tok);
        tok = next;
        pages++;
        if (tok)
            assert_int_equal(page, 10); /* full pages while more remain */
    } while (tok);
    expect_the_37(ids, n);
    assert_int_equal(pages, 4); /* 10 + 10 + 10 + 7 */
}

static void test_resume_mid_page(void **state)
{
    (void)state;
    /* max_results 3 on pages of 3: 13, 26, 39; 39 is the last item of its page, so the
     * token points at the start of the next upstream page */
    struct planner_limits lim = {.max_pages = 100, .max_scanned = 100000};
    long ids[600];
    size_t n = 0, page;
    struct upstream u = {0};
    char *tok = client_request(3, NULL, &lim, ids, &n, &page, &u);
    assert_int_equal(page, 3);
    assert_non_null(tok);
    /* the same token twice gives the same page (tokens are stateless) */
    long a[8], b[8];
    size_t na = 0, nb = 0;
    char *t1 = client_request(3, tok, &lim, a, &na, &page, &u);
    char *t2 = client_request(3, tok, &lim, b, &nb, &page, &u);
    assert_int_equal(na, 3);
    assert_int_equal(nb, 3);
    assert_memory_equal(a, b, sizeof(long) * 3);
    assert_int_equal(a[0], 52);
    assert_string_equal(t1, t2);
    /* a different max_results on resumption keeps the upstream page size of the token */
    size_t nc = 0;
    long c[16];
    char *t3 = client_request(5, tok, &lim, c, &nc, &page, &u);
    assert_int_equal(nc, 5);
    assert_int_equal(c[0], 52);
    assert_int_equal(c[4], 104);
    /* 104 sits at raw index 1 of the page of 3 starting at offset 102: the token resumes
     * inside that page at index 2 */
    const char *binding = "alice\nexperiments:filter=";
    struct filter_token d;
    assert_int_equal(
        filter_token_decode(&key1, binding, strlen(binding), t3, strlen(t3), &d, err, sizeof(err)),
        0);
    assert_string_equal(d.upstream_token, "off:102");
    assert_int_equal(d.offset, 2);
    assert_int_equal(d.page_size, 3);
    free(d.upstream_token);
    size_t nd = 0;
    long e[16];
    char *t4 = client_request(5, t3, &lim, e, &nd, &page, &u);
    assert_int_equal(nd, 5);
    assert_int_equal(e[0], 117);
    free(t4);
    free(t1);
    free(t2);
    free(t3);
    free(tok);
}

static void test_forged_tokens_refused(void **state)
{
    (void)state;
    const struct filter_spec *spec = filter_spec_get(FILTER_EXPERIMENTS);
    const char *bind = "alice\nq";
    struct filter_token t = {FILTER_EXPERIMENTS, 10, 3, "off:20"};
    char *good;
    assert_int_equal(filter_token_encode(&key1, bind, strlen(bind), &t, &good, err, sizeof(err)),
                     0);
    struct planner *p =
        planner_new(spec, &key1, bind, strlen(bind), 10, good, NULL, err, sizeof(err));
    assert_non_null(p);
    struct planner_request r;
    assert_int_equal(planner_next_upstream_request(p, &r), 1);
    assert_string_equal(r.page_token, "off:20");
    assert_int_equal(r.max_results, 10);
    planner_free(p);

    /* every single-character change is refused */
    size_t gl = strlen(good);
    for (size_t i = 0; i < gl; i++) {
        char *f = strdup(good);
        f[i] = f[i] == 'A' ? 'B' : 'A';
        p = planner_new(spec, &key1, bind, strlen(bind), 10, f, NULL, err, sizeof(err));
        if (p)
            fail_msg("forged token accepted (char %zu): %s", i, f);
        free(f);
    }
    /* truncated, extended */
    char *f = strdup(good);
    f[gl - 1] = '\0';
    assert_null(planner_new(spec, &key1, bind, strlen(bind), 10, f, NULL, err, sizeof(err)));
    free(f);
    f = malloc(gl + 3);
    sprintf(f, "%sAA", good);
    assert_null(planner_new(spec, &key1, bind, strlen(bind), 10, f, NULL, err, sizeof(err)));
    free(f);
    /* another process's key, another binding (principal or query), another kind */
    assert_null(planner_new(spec, &key2, bind, strlen(bind), 10, good, NULL, err, sizeof(err)));
    assert_null(planner_new(spec, &key1, "bob\nq", 5, 10, good, NULL, err, sizeof(err)));
    assert_non_null(strstr(err, "another query"));
    assert_null(planner_new(filter_spec_get(FILTER_RUNS), &key1, bind, strlen(bind), 10, good, NULL,
                            err, sizeof(err)));
    /* raw MLflow tokens and junk */
    static const char *junk[] = {"eyJvZmZzZXQiOiAyfQ==", "eyJvZmZzZXQiOiAyfQ", "off:20", "%%",
                                 "AAAA"};
    for (size_t i = 0; i < sizeof(junk) / sizeof(junk[0]); i++)
        assert_null(
            planner_new(spec, &key1, bind, strlen(bind), 10, junk[i], NULL, err, sizeof(err)));
    /* a validly signed token whose offset lies outside its page */
    struct filter_token bad = {FILTER_EXPERIMENTS, 10, 10, ""};
    char *bt;
    assert_int_equal(filter_token_encode(&key1, bind, strlen(bind), &bad, &bt, err, sizeof(err)),
                     0);
    assert_null(planner_new(spec, &key1, bind, strlen(bind), 10, bt, NULL, err, sizeof(err)));
    free(bt);
    free(good);
    /* max_results out of range */
    assert_null(planner_new(spec, &key1, bind, strlen(bind), 0, NULL, NULL, err, sizeof(err)));
    assert_null(planner_new(spec, &key1, bind, strlen(bind), -5, NULL, NULL, err, sizeof(err)));
}

static void test_token_roundtrip(void **state)
{
    (void)state;
    struct filter_token t = {FILTER_MODELS, 100, 42, "eyJvZmZzZXQiOiAyfQ=="}, d;
    char *s;
    assert_int_equal(filter_token_encode(&key1, "b", 1, &t, &s, err, sizeof(err)), 0);
    assert_null(strpbrk(s, "+/=")); /* base64url, URL-safe as is */
    assert_int_equal(filter_token_decode(&key1, "b", 1, s, strlen(s), &d, err, sizeof(err)), 0);
    assert_int_equal(d.kind, FILTER_MODELS);
    assert_int_equal(d.page_size, 100);
    assert_int_equal(d.offset, 42);
    assert_string_equal(d.upstream_token, "eyJvZmZzZXQiOiAyfQ==");
    free(d.upstream_token);
    free(s);
}

static void test_default_max_results_and_empty(void **state)
{
    (void)state;
    const struct filter_spec *spec = filter_spec_get(FILTER_MODELS);
    struct planner *p = planner_new(spec, &key1, "", 0, -1, "", NULL, err, sizeof(err));
    assert_non_null(p);
    struct planner_request r;
    assert_int_equal(planner_next_upstream_request(p, &r), 1);
    assert_null(r.page_token);
    assert_int_equal(r.max_results, 100);
    assert_int_equal(planner_feed(p, "{}", 2, allow_all, NULL, err, sizeof(err)), 1);
    char *out;
    size_t ol;
    assert_int_equal(planner_result(p, &out, &ol, err, sizeof(err)), 0);
    assert_string_equal(out, "{\"registered_models\":[]}");
    free(out);
    planner_free(p);
}

static void test_upstream_error_body_fails(void **state)
{
    (void)state;
    struct planner *p =
        planner_new(filter_spec_get(FILTER_RUNS), &key1, "", 0, 2, NULL, NULL, err, sizeof(err));
    assert_non_null(p);
    assert_int_equal(planner_feed(p, "<html>", 6, allow_all, NULL, err, sizeof(err)), -1);
    planner_free(p);
    /* more items than asked for is an upstream bug: refuse rather than mis-offset */
    p = planner_new(filter_spec_get(FILTER_RUNS), &key1, "", 0, 1, NULL, NULL, err, sizeof(err));
    const char *two = "{\"runs\":[{\"info\":{\"experiment_id\":\"1\"}},"
                      "{\"info\":{\"experiment_id\":\"2\"}}]}";
    assert_int_equal(planner_feed(p, two, strlen(two), allow_all, NULL, err, sizeof(err)), -1);
    planner_free(p);
}

static void test_gateway_not_paged(void **state)
{
    (void)state;
    const char *body = "{\"object\":\"list\",\"data\":[{\"id\":\"chat-a\",\"object\":\"model\","
                       "\"created\":1,\"owned_by\":\"mlflow\"},{\"id\":\"chat-b\",\"object\":"
                       "\"model\",\"created\":2,\"owned_by\":\"mlflow\"}]}";
    struct planner *p = planner_new(filter_spec_get(FILTER_GATEWAY_ENDPOINTS), &key1, "", 0, -1,
                                    NULL, NULL, err, sizeof(err));
    assert_non_null(p);
    struct planner_request r;
    assert_int_equal(planner_next_upstream_request(p, &r), 1);
    assert_null(r.page_token);
    assert_int_equal(r.max_results, 0);
    struct seen sn = {.kind = FILTER_KEY_GATEWAY_ENDPOINT, .allow = "chat-b"};
    assert_int_equal(planner_feed(p, body, strlen(body), record, &sn, err, sizeof(err)), 1);
    char *out;
    size_t ol;
    assert_int_equal(planner_result(p, &out, &ol, err, sizeof(err)), 0);
    assert_non_null(strstr(out, "\"object\":\"list\""));
    assert_non_null(strstr(out, "chat-b"));
    assert_null(strstr(out, "chat-a"));
    assert_null(strstr(out, "next_page_token"));
    assert_int_equal(planner_dropped(p), 1);
    free(out);
    planner_free(p);
}

static void test_route_mapping(void **state)
{
    (void)state;
    enum filter_kind k;
    assert_int_equal(filter_kind_from_route(ROUTE_FILTER_EXPERIMENTS, &k), 0);
    assert_int_equal(k, FILTER_EXPERIMENTS);
    assert_int_equal(filter_kind_from_route(ROUTE_FILTER_MODEL_VERSIONS, &k), 0);
    assert_int_equal(k, FILTER_MODEL_VERSIONS);
    assert_int_equal(filter_kind_from_route(ROUTE_FILTER_GRAPHQL, &k), -1);
    assert_int_equal(filter_kind_from_route(ROUTE_FILTER_NONE, &k), -1);
    for (int i = 0; i < FILTER_KIND_COUNT; i++)
        assert_int_equal(filter_spec_get((enum filter_kind)i)->kind, i);
    assert_null(filter_spec_get(FILTER_KIND_COUNT));
}

static void test_rewrite(void **state)
{
    (void)state;
    struct planner_request r = {"off:20", 10};
    char *out;
    size_t ol;
    const char *body = "{\"filter\":\"name LIKE 'a%'\",\"page_token\":\"W\",\"max_results\":3,"
                       "\"order_by\":[\"name\"]}";
    assert_int_equal(planner_rewrite_body(&r, body, strlen(body), &out, &ol, err, sizeof(err)), 0);
    json_t *o = json_loads(out, 0, NULL);
    assert_string_equal(json_string_value(json_object_get(o, "page_token")), "off:20");
    assert_int_equal(json_integer_value(json_object_get(o, "max_results")), 10);
    assert_string_equal(json_string_value(json_object_get(o, "filter")), "name LIKE 'a%'");
    json_decref(o);
    free(out);
    struct planner_request first = {NULL, 10};
    assert_int_equal(planner_rewrite_body(&first, body, strlen(body), &out, &ol, err, sizeof(err)),
                     0);
    assert_null(strstr(out, "page_token"));
    free(out);
    assert_int_equal(planner_rewrite_body(&r, "[1]", 3, &out, &ol, err, sizeof(err)), -1);

    const char *q = "filter=name%3D%27x%27&page_token=WARDEN&max_results=3&page%5Ftoken=raw"
                    "&view_type=ALL&max_results=7";
    struct planner_request rq = {"a+b/c=", 10};
    assert_int_equal(planner_rewrite_query(&rq, q, strlen(q), &out, &ol, err, sizeof(err)), 0);
    assert_string_equal(out, "filter=name%3D%27x%27&view_type=ALL&page_token=a%2Bb%2Fc%3D"
                             "&max_results=10");
    free(out);
    assert_int_equal(planner_rewrite_query(&first, "", 0, &out, &ol, err, sizeof(err)), 0);
    assert_string_equal(out, "max_results=10");
    free(out);
}

static int setup(void **state)
{
    (void)state;
    memset(&key1, 0x11, sizeof(key1));
    return filter_key_init(&key2, err, sizeof(err));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixtures),
        cmocka_unit_test(test_keep_order_and_serialise),
        cmocka_unit_test(test_malformed_items_dropped),
        cmocka_unit_test(test_bad_bodies_refused),
        cmocka_unit_test(test_37_of_500_default_bounds),
        cmocka_unit_test(test_37_of_500_exact_pages),
        cmocka_unit_test(test_resume_mid_page),
        cmocka_unit_test(test_forged_tokens_refused),
        cmocka_unit_test(test_token_roundtrip),
        cmocka_unit_test(test_default_max_results_and_empty),
        cmocka_unit_test(test_upstream_error_body_fails),
        cmocka_unit_test(test_gateway_not_paged),
        cmocka_unit_test(test_route_mapping),
        cmocka_unit_test(test_rewrite),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
