/*
 * libFuzzer target for mlflow/stamp. Byte 0 picks the rule, byte 1 whether an actor is set;
 * the rest is the body. Invariants: no crash or leak; a refusal carries status 400, 403 or
 * 500 and a message; a rewritten body is a JSON object whose length is reported exactly, and
 * whose tags (create rules) hold exactly one warden.owner / mlflow.user entry with Warden's
 * value. Single-threaded; no I/O.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mlflow/stamp.h"

#define CHECK(x)                                                                                   \
    do {                                                                                           \
        if (!(x))                                                                                  \
            __builtin_trap();                                                                      \
    } while (0)

static int count_tag(json_t *root, const char *key, const char *want)
{
    int n = 0;
    size_t i;
    json_t *t;
    json_array_foreach(json_object_get(root, "tags"), i, t)
    {
        const char *k = json_string_value(json_object_get(t, "key"));
        if (k && strcmp(k, key) == 0) {
            CHECK(strcmp(json_string_value(json_object_get(t, "value")), want) == 0);
            n++;
        }
    }
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    enum stamp_rule rule = (enum stamp_rule)(data[0] % 9);
    struct stamp_identity id = {"alice@acme.example", (data[1] & 1) ? "sp:agent" : NULL};
    struct stamp_result r;
    int st = 0;
    char err[256] = "";
    int rc = stamp_apply(rule, (const char *)data + 2, size - 2, &id, &r, &st, err, sizeof(err));
    if (rc < 0) {
        CHECK(st == 400 || st == 403 || st == 500);
        CHECK(err[0] != '\0');
        return 0;
    }
    if (r.json) {
        CHECK(strlen(r.json) == r.len);
        json_error_t je;
        json_t *j = json_loads(r.json, JSON_REJECT_DUPLICATES, &je);
        CHECK(j && json_is_object(j));
        if (rule == STAMP_CREATE_EXPERIMENT || rule == STAMP_CREATE_MODEL)
            CHECK(count_tag(j, "warden.owner", id.user) == 1);
        if (rule == STAMP_CREATE_RUN)
            CHECK(count_tag(j, "mlflow.user", id.user) == 1);
        json_decref(j);
        free(r.json);
    }
    return 0;
}
