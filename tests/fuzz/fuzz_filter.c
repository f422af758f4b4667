/*
 * libFuzzer target for mlflow/filter: filter_page(), the planner and Warden page tokens.
 *
 * Input layout: byte 0 picks the filter kind (modulo FILTER_KIND_COUNT), byte 1 the
 * visibility rule (keys whose hash has that bit pattern are visible; 0 = all, 255 = none),
 * the rest is an upstream response body, fed from an exact-size heap copy. Invariants:
 * - filter_page either refuses with a message or returns kept + dropped == scanned, every
 *   kept item's raw index strictly increasing and below scanned, and the predicate was asked
 *   only about non-empty keys (canonical decimal for experiment ids) and said yes to every
 *   kept item; the serialised items parse back (as an array) to kept items;
 * - a planner fed the same body ends with the same verdict (it also refuses a page longer
 *   than the max_results it asked for); its result parses as a JSON
 *   object whose item array holds no more than the page kept and, when it carries a token,
 *   that token decodes under the same key and binding and planner_new accepts it;
 * - the body, read as a page token, never decodes under the fuzzer's key (it cannot carry a
 *   valid MAC) and never crashes the decoder.
 * Single-threaded; no I/O.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mlflow/filter.h"

#define CHECK(x)                                                                                   \
    do {                                                                                           \
        if (!(x))                                                                                  \
            abort();                                                                               \
    } while (0)

struct rule {
    unsigned char mask;
    enum filter_key_kind kind;
};

static bool decide(const struct rule *r, const char *key, size_t len)
{
    unsigned h = 2166136261u;
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)key[i]) * 16777619u;
    if (r->mask == 0)
        return true;
    if (r->mask == 255)
        return false;
    return (h & r->mask) == 0;
}

static bool visible(void *ctx, enum filter_key_kind kind, const char *key, size_t len,
                    const json_t *item)
{
    (void)item;
    const struct rule *r = ctx;
    CHECK(kind == r->kind);
    CHECK(len > 0);
    CHECK(memchr(key, '\0', len) == NULL);
    if (kind == FILTER_KEY_EXPERIMENT_ID) {
        CHECK(len <= 19);
        CHECK(len == 1 || key[0] != '0');
        for (size_t i = 0; i < len; i++)
            CHECK(key[i] >= '0' && key[i] <= '9');
    }
    return decide(r, key, len);
}

static const struct filter_key fkey = {{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    const struct filter_spec *spec =
        filter_spec_get((enum filter_kind)(data[0] % FILTER_KIND_COUNT));
    struct rule rule = {data[1], spec->key_kind};
    size_t len = size - 2;
    char *body = malloc(len ? len : 1);
    memcpy(body, data + 2, len);
    char err[256];

    struct filter_page pg;
    int rc = filter_page(spec, body, len, visible, &rule, &pg, err, sizeof(err));
    size_t kept = 0, scanned = 0;
    if (rc != 0) {
        CHECK(rc == -1);
        CHECK(err[0] != '\0');
    } else {
        kept = json_array_size(pg.items);
        CHECK(kept + pg.dropped == pg.scanned);
        scanned = pg.scanned;
        for (size_t i = 0; i < kept; i++) {
            CHECK(pg.index[i] < pg.scanned);
            CHECK(i == 0 || pg.index[i] > pg.index[i - 1]);
        }
        char *wrapped = malloc(pg.items_json_len + 3);
        wrapped[0] = '[';
        memcpy(wrapped + 1, pg.items_json, pg.items_json_len);
        wrapped[pg.items_json_len + 1] = ']';
        json_t *a = json_loadb(wrapped, pg.items_json_len + 2, JSON_ALLOW_NUL, NULL);
        CHECK(a && json_array_size(a) == kept);
        json_decref(a);
        free(wrapped);
        CHECK(pg.next_page_token == NULL || pg.next_page_token[0] != '\0');
        filter_page_clear(&pg);
    }

    const char *binding = "fuzz";
    struct planner *p = planner_new(spec, &fkey, binding, 4, -1, NULL, NULL, err, sizeof(err));
    CHECK(p);
    struct planner_request r;
    CHECK(planner_next_upstream_request(p, &r) == 1);
    CHECK(r.page_token == NULL);
    int prc = planner_feed(p, body, len, visible, &rule, err, sizeof(err));
    if (rc != 0 || prc == -1) {
        /* the planner refuses what filter_page refuses, and a page longer than asked for */
        CHECK(prc == -1);
        CHECK(rc != 0 || (spec->token_field && scanned > (size_t)spec->default_max_results));
    } else if (prc == 1) {
        char *out = NULL;
        size_t outlen = 0;
        CHECK(planner_result(p, &out, &outlen, err, sizeof(err)) == 0);
        json_t *o = json_loadb(out, outlen, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, NULL);
        CHECK(json_is_object(o));
        json_t *items = json_object_get(o, spec->items_field);
        CHECK(json_is_array(items) && json_array_size(items) <= kept);
        json_t *tok = spec->token_field ? json_object_get(o, spec->token_field) : NULL;
        if (tok) {
            CHECK(json_is_string(tok));
            struct planner *q = planner_new(spec, &fkey, binding, 4, -1, json_string_value(tok),
                                            NULL, err, sizeof(err));
            CHECK(q);
            planner_free(q);
        }
        json_decref(o);
        free(out);
    } else {
        /* more pages wanted: the request carries the upstream token */
        CHECK(prc == 0);
        CHECK(planner_next_upstream_request(p, &r) == 1);
        CHECK(r.page_token && r.page_token[0]);
    }
    planner_free(p);

    struct filter_token t;
    CHECK(filter_token_decode(&fkey, binding, 4, body, len, &t, err, sizeof(err)) == -1);
    free(body);
    return 0;
}
