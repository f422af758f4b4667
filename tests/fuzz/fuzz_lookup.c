/*
 * libFuzzer target for mlflow/lookup: the answer parsers, the error classifier and the
 * request builder.
 *
 * Input layout: byte 0 picks the look-up kind (modulo the 11 kinds with a look-up), byte 1 an
 * HTTP status (200, 404, 400, 500, or 100 + the byte), the rest is the body, fed from an
 * exact-size heap copy; the same bytes are also used as the id of a request. Invariants:
 * - lookup_parse either refuses with a message and leaves the facts empty, or returns facts
 *   whose experiment ids are canonical decimal, whose strings have the lengths they claim,
 *   whose owner (when kept) is clean text no longer than LOOKUP_OWNER_MAX, and which
 *   lookup_facts_copy duplicates exactly;
 * - lookup_answer agrees with lookup_classify and lookup_parse;
 * - lookup_request either refuses or writes a target made of the kind's fixed prefix and
 *   suffix around the percent-encoded id, every byte of which is unreserved or an escape,
 *   and which decodes back to exactly the id (what MLflow reads is what was authorised).
 * Single-threaded; no I/O.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mlflow/lookup.h"
#include "util/hex.h"

#define CHECK(x)                                                                                   \
    do {                                                                                           \
        if (!(x))                                                                                  \
            abort();                                                                               \
    } while (0)

static const enum route_object kinds[] = {
    ROUTE_OBJ_EXPERIMENT,   ROUTE_OBJ_EXPERIMENT_NAME, ROUTE_OBJ_RUN,
    ROUTE_OBJ_TRACE,        ROUTE_OBJ_LOGGED_MODEL,    ROUTE_OBJ_DATASET,
    ROUTE_OBJ_LABEL_SCHEMA, ROUTE_OBJ_REVIEW_QUEUE,    ROUTE_OBJ_ISSUE,
    ROUTE_OBJ_JOB,          ROUTE_OBJ_MODEL,
};

static void check_facts(const struct lookup_facts *f, enum route_object kind)
{
    CHECK(f->kind == kind);
    if (f->has_experiment)
        CHECK(lookup_is_experiment_id(f->experiment_id, strlen(f->experiment_id)));
    else
        CHECK(f->experiment_id[0] == '\0');
    if (f->name)
        CHECK(f->name_len > 0 && strlen(f->name) == f->name_len);
    if (f->owner) {
        CHECK(f->owner_tagged);
        CHECK(strlen(f->owner) == f->owner_len && f->owner_len <= LOOKUP_OWNER_MAX);
        CHECK(naming_is_clean_text(f->owner, f->owner_len));
    }
    CHECK(f->nexperiments <= LOOKUP_DATASET_MAX);
    for (size_t i = 0; i < f->nexperiments; i++)
        CHECK(lookup_is_experiment_id(f->experiments[i], strlen(f->experiments[i])));
    if (kind == ROUTE_OBJ_EXPERIMENT || kind == ROUTE_OBJ_EXPERIMENT_NAME)
        CHECK(f->has_experiment && f->name);
    if (kind == ROUTE_OBJ_MODEL)
        CHECK(f->name && !f->has_experiment);
    if (kind != ROUTE_OBJ_DATASET)
        CHECK(f->nexperiments == 0);
    struct lookup_facts g;
    if (lookup_facts_copy(&g, f) == 0) {
        CHECK(g.has_experiment == f->has_experiment && g.deleted == f->deleted);
        CHECK(strcmp(g.experiment_id, f->experiment_id) == 0);
        CHECK((g.name == NULL) == (f->name == NULL));
        if (g.name)
            CHECK(g.name != f->name && memcmp(g.name, f->name, f->name_len + 1) == 0);
        CHECK((g.owner == NULL) == (f->owner == NULL));
        CHECK(g.nexperiments == f->nexperiments);
        if (g.nexperiments)
            CHECK(memcmp(g.experiments, f->experiments, g.nexperiments * sizeof(*g.experiments)) ==
                  0);
        lookup_facts_clear(&g);
    }
}

/* The fixed parts of each kind's target, written out independently of lookup.c. */
static void shape(enum route_object kind, const char **pre, const char **suf)
{
    *suf = "";
    switch (kind) {
    case ROUTE_OBJ_EXPERIMENT:
        *pre = "/api/2.0/mlflow/experiments/get?experiment_id=";
        break;
    case ROUTE_OBJ_EXPERIMENT_NAME:
        *pre = "/api/2.0/mlflow/experiments/get-by-name?experiment_name=";
        break;
    case ROUTE_OBJ_RUN:
        *pre = "/api/2.0/mlflow/runs/get?run_id=";
        break;
    case ROUTE_OBJ_TRACE:
        *pre = "/api/3.0/mlflow/traces/";
        break;
    case ROUTE_OBJ_LOGGED_MODEL:
        *pre = "/api/2.0/mlflow/logged-models/";
        *suf = "?allow_deleted=true";
        break;
    case ROUTE_OBJ_DATASET:
        *pre = "/api/3.0/mlflow/datasets/";
        *suf = "/experiment-ids";
        break;
    case ROUTE_OBJ_LABEL_SCHEMA:
        *pre = "/api/3.0/mlflow/label-schemas/get?schema_id=";
        break;
    case ROUTE_OBJ_REVIEW_QUEUE:
        *pre = "/api/3.0/mlflow/review-queues/get?queue_id=";
        break;
    case ROUTE_OBJ_ISSUE:
        *pre = "/api/3.0/mlflow/issues/";
        break;
    case ROUTE_OBJ_JOB:
        *pre = "/ajax-api/3.0/jobs/";
        break;
    default:
        *pre = "/api/2.0/mlflow/registered-models/get?name=";
        break;
    }
}

static void check_request(enum route_object kind, const char *id, size_t len)
{
    static char buf[LOOKUP_TARGET_MAX];
    char err[256];
    size_t n = 0;
    if (lookup_request(kind, id, len, buf, sizeof(buf), &n, err, sizeof(err)) != 0) {
        CHECK(err[0] != '\0');
        return;
    }
    CHECK(len > 0 && len <= LOOKUP_ID_MAX && n == strlen(buf));
    const char *pre, *suf;
    shape(kind, &pre, &suf);
    size_t pl = strlen(pre), sl = strlen(suf);
    CHECK(n >= pl + sl && memcmp(buf, pre, pl) == 0 && strcmp(buf + n - sl, suf) == 0);
    size_t end = n - sl;
    char *dec = malloc(len);
    size_t d = 0;
    for (size_t i = pl; i < end; i++) {
        unsigned char c = (unsigned char)buf[i];
        CHECK(d < len);
        if (c == '%') {
            CHECK(i + 2 < end);
            int hi = hex_digit(buf[i + 1]), lo = hex_digit(buf[i + 2]);
            CHECK(hi >= 0 && lo >= 0);
            dec[d++] = (char)(hi * 16 + lo);
            i += 2;
        } else {
            CHECK((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '-' || c == '.' || c == '_' || c == '~');
            dec[d++] = (char)c;
        }
    }
    CHECK(d == len && memcmp(dec, id, len) == 0);
    if (kind == ROUTE_OBJ_EXPERIMENT)
        CHECK(lookup_is_experiment_id(id, len));
    else
        CHECK(naming_is_clean_text(id, len));
    if (!strchr(pre, '?'))
        CHECK(!memchr(id, '/', len) && !(len <= 2 && memcmp(id, "..", len) == 0));
    free(dec);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    enum route_object kind = kinds[data[0] % (sizeof(kinds) / sizeof(*kinds))];
    static const int statuses[] = {200, 404, 400, 500};
    int status = data[1] < 4 ? statuses[data[1]] : 100 + data[1];
    size_t len = size - 2;
    char *body = malloc(len ? len : 1);
    if (len)
        memcpy(body, data + 2, len);

    char err[256];
    struct lookup_facts f;
    int r = lookup_parse(kind, body, len, &f, err, sizeof(err));
    if (r == 0) {
        check_facts(&f, kind);
    } else {
        CHECK(r == -1 && err[0] != '\0');
        CHECK(!f.name && !f.owner && !f.experiments && !f.has_experiment);
    }

    enum lookup_status cls = lookup_classify(status, body, len);
    struct lookup_facts g;
    const char *id = f.has_experiment ? f.experiment_id : "1";
    enum lookup_status st =
        lookup_answer(kind, id, strlen(id), status, body, len, &g, err, sizeof(err));
    if (cls != LOOKUP_FOUND)
        CHECK(st == cls);
    else if (r != 0)
        CHECK(st == LOOKUP_ERROR);
    else
        CHECK(st == LOOKUP_FOUND);
    if (st == LOOKUP_FOUND)
        check_facts(&g, kind);
    else
        CHECK(!g.name && !g.owner && !g.experiments);
    lookup_facts_clear(&g);
    lookup_facts_clear(&f);

    check_request(kind, body, len);
    free(body);
    return 0;
}
