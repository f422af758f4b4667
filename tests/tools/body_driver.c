/*
 * body_driver: runs body_canonicalize() over files in fuzz_body's input layout (2 bytes route
 * index, 1 flag byte, body) and prints one JSON line per file: the route's action, whether it
 * is a protobuf route, and the canonical body with its ids or the refusal. Used by
 * tests/tools/body_differential.py. With --routes, prints "index action msg" for every route
 * instead. Not built by CMake:
 *   cc -std=c11 -D_GNU_SOURCE -Igateway tests/tools/body_driver.c build-<dir>/libwarden_core.a \
 *      $(pkg-config --libs jansson libevent libevent_openssl openssl libjwt hiredis) -lm \
 *      -o /tmp/body_driver
 */
#include "mlflow/body.h"
#include "mlflow/routes.h"
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
int main(int argc, char **argv)
{
    char e[256];
    if (routes_init(e, sizeof e) < 0) {
        fprintf(stderr, "routes_init: %s\n", e);
        return 1;
    }
    if (argc == 2 && strcmp(argv[1], "--routes") == 0) {
        for (size_t i = 0; i < routes_count(); i++) {
            struct body_spec sp;
            if (body_spec_from_route(routes_at(i), &sp, e, sizeof e) == 0)
                printf("%zu %s %d\n", i, routes_at(i)->action, sp.msg);
        }
        return 0;
    }
    struct body_result *r = body_result_new();
    for (int a = 1; a < argc; a++) {
        FILE *f = fopen(argv[a], "rb");
        if (!f)
            continue;
        static char buf[1 << 20];
        size_t n = fread(buf, 1, sizeof buf, f);
        fclose(f);
        if (n < 3)
            continue;
        const struct route *rt = routes_at(
            (size_t)((unsigned char)buf[0] | (unsigned char)buf[1] << 8) % routes_count());
        struct body_spec sp;
        body_spec_from_route(rt, &sp, e, sizeof e);
        struct body_limits lim = {64 * 1024, 64, buf[2] & 1};
        int st;
        json_t *o = json_object();
        json_object_set_new(o, "file", json_string(argv[a]));
        json_object_set_new(o, "action", json_string(rt->action));
        json_object_set_new(o, "proto", json_boolean(sp.msg >= 0));
        json_object_set_new(o, "keep", json_boolean(lim.keep_unknown));
        if (body_canonicalize(&sp, &lim, buf + 3, n - 3, r, &st, e, sizeof e) == 0) {
            json_object_set_new(o, "canon", json_string(r->json));
            json_t *ids = json_array();
            for (size_t i = 0; i < r->nids; i++) {
                json_t *l = json_array();
                for (size_t k = 0; k < r->ids[i].n; k++)
                    json_array_append_new(l, json_string(r->ids[i].v[k].s));
                json_array_append_new(ids, json_pack("{s:s,s:b,s:o}", "path", sp.ids[i].path,
                                                     "present", r->ids[i].present, "v", l));
            }
            json_object_set_new(o, "ids", ids);
        } else
            json_object_set_new(o, "err", json_string(e));
        char *s = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII);
        puts(s);
        free(s);
        json_decref(o);
    }
    return 0;
}
