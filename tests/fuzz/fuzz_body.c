/*
 * libFuzzer target for mlflow/body (the strict JSON body gate).
 *
 * Input layout: bytes 0-1 (little-endian, modulo the table size) pick the spec: the body
 * spec of one route of the route table (every route, so every request message of the
 * generated schema that a route uses, and the plain-JSON routes); byte 2 bit 0 sets
 * keep_unknown; the rest is the body, passed as an
 * exact-size heap copy so ASan catches reads past it. Invariants checked:
 * - a refusal carries status 400 or 413, a non-empty reason, and leaves the result empty;
 * - an accepted body gives a NUL-terminated canonical JSON of the reported length, and
 *   canonicalising that output is a fixed point: the same bytes and the same ids again;
 * - every id value is NUL-terminated at its length; experiment ids are canonical decimal;
 *   a check not marked `many` yields at most one value per occurrence path (n <= 1 unless
 *   the path walks an array).
 * Single-threaded; no I/O.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mlflow/body.h"
#include "mlflow/routes.h"

#define CHECK(x)                                                                                   \
    do {                                                                                           \
        if (!(x))                                                                                  \
            abort();                                                                               \
    } while (0)

static struct body_result *r1, *r2;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    char err[256];
    (void)argc;
    (void)argv;
    if (routes_init(err, sizeof(err)) < 0) {
        fprintf(stderr, "routes_init: %s\n", err);
        abort();
    }
    r1 = body_result_new();
    r2 = body_result_new();
    CHECK(r1 && r2);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct body_spec spec;
    struct body_limits lim = {64 * 1024, BODY_DEFAULT_MAX_DEPTH, false};
    char err[256], err2[256];
    int st = 0;
    if (size < 3)
        return 0;
    const struct route *rt = routes_at((size_t)(data[0] | data[1] << 8) % routes_count());
    CHECK(rt != NULL);
    if (body_spec_from_route(rt, &spec, err, sizeof(err)) != 0)
        abort();
    lim.keep_unknown = data[2] & 1;
    size -= 3;
    char *buf = malloc(size ? size : 1);
    CHECK(buf);
    memcpy(buf, data + 3, size);
    err[0] = '\0';
    if (body_canonicalize(&spec, &lim, buf, size, r1, &st, err, sizeof(err)) != 0) {
        CHECK(st == 400 || st == 413);
        CHECK(err[0] != '\0');
        CHECK(r1->json == NULL && r1->nids == 0 && r1->block == NULL);
        free(buf);
        return 0;
    }
    free(buf);
    CHECK(r1->json && strlen(r1->json) == r1->len);
    CHECK(r1->nids == spec.nids);
    for (size_t i = 0; i < r1->nids; i++) {
        CHECK(r1->ids[i].n == 0 || r1->ids[i].present);
        if (!spec.ids[i].many && !strstr(spec.ids[i].path, "[]"))
            CHECK(r1->ids[i].n <= 1);
        for (size_t k = 0; k < r1->ids[i].n; k++) {
            const struct body_val *v = &r1->ids[i].v[k];
            CHECK(v->s[v->len] == '\0');
            if (spec.ids[i].kind == BODY_ID_EXPERIMENT)
                CHECK(body_is_canonical_decimal(v->s, v->len));
        }
    }
    /* fixed point (an exact-size copy of the canonical output) */
    char *canon = malloc(r1->len ? r1->len : 1);
    CHECK(canon);
    memcpy(canon, r1->json, r1->len);
    int rc = body_canonicalize(&spec, &lim, canon, r1->len, r2, &st, err2, sizeof(err2));
    if (rc != 0) {
        /* only the size limit may differ: re-serialisation can lengthen numbers */
        CHECK(st == 413);
        free(canon);
        return 0;
    }
    CHECK(r2->len == r1->len && memcmp(r2->json, r1->json, r1->len) == 0);
    CHECK(r2->nids == r1->nids);
    for (size_t i = 0; i < r1->nids; i++) {
        CHECK(r2->ids[i].present == r1->ids[i].present && r2->ids[i].n == r1->ids[i].n);
        for (size_t k = 0; k < r1->ids[i].n; k++)
            CHECK(r2->ids[i].v[k].len == r1->ids[i].v[k].len &&
                  memcmp(r2->ids[i].v[k].s, r1->ids[i].v[k].s, r1->ids[i].v[k].len) == 0);
    }
    free(canon);
    return 0;
}
