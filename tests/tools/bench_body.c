/*
 * bench_body: microseconds per body_canonicalize() call for a 116-byte log-metric body and a
 * ~96 KB log-batch of 1,000 metrics (the figures DESIGN.md §1 quotes for jansson), plus the
 * parse-only cost (json_loadb with JSON_REJECT_DUPLICATES) for comparison. Not built by CMake:
 *   cc -O2 -std=c11 -D_GNU_SOURCE -Igateway tests/tools/bench_body.c gateway/mlflow/body.c \
 *      gateway/mlflow/body_protos.c -ljansson -lm -o /tmp/bench_body && /tmp/bench_body
 * Prints the median of 7 timed blocks for each case. Single-threaded.
 */
#include "mlflow/body.h"

#include <jansson.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* mode 0: body_canonicalize; 1: json_loadb only; 2: json_loadb + json_dumps */
static double bench(const struct body_spec *spec, const char *b, size_t len, int iters, int mode)
{
    struct body_result *r = body_result_new();
    double t[7];
    char err[256];
    for (int k = 0; k < 7; k++) {
        double t0 = now_us();
        for (int i = 0; i < iters; i++) {
            if (mode) {
                json_t *j = json_loadb(b, len, JSON_REJECT_DUPLICATES, NULL);
                if (!j)
                    abort();
                if (mode == 2)
                    free(json_dumps(j, JSON_COMPACT));
                json_decref(j);
            } else if (body_canonicalize(spec, NULL, b, len, r, NULL, err, sizeof(err)) != 0) {
                fprintf(stderr, "refused: %s\n", err);
                abort();
            }
        }
        t[k] = (now_us() - t0) / iters;
    }
    body_result_free(r);
    qsort(t, 7, sizeof(t[0]), cmp);
    return t[3];
}

int main(void)
{
    static const char metric[] = "{\"run_id\":\"0123456789abcdef0123456789abcdef\",\"key\":"
                                 "\"val_loss\",\"value\":0.0123456,\"timestamp\":"
                                 "1700000000123,\"step\":42}";
    struct body_spec lm = {.msg = body_rpc_message("logMetric"),
                           .nids = 1,
                           .ids = {{"run_id", BODY_ID_STRING, false}}};
    struct body_spec lb = {
        .msg = body_rpc_message("logBatch"), .nids = 1, .ids = {{"run_id", BODY_ID_STRING, false}}};
    size_t cap = 200000, n = 0;
    char *batch = malloc(cap);
    if (!batch)
        return 1;
    n += (size_t)snprintf(batch + n, cap - n,
                          "{\"run_id\":\"0123456789abcdef0123456789abcdef\",\"metrics\":[");
    for (int i = 0; i < 1000; i++)
        n += (size_t)snprintf(batch + n, cap - n,
                              "%s{\"key\":\"train_loss_component_%03d\",\"value\":%.15f,"
                              "\"timestamp\":1700000%06d,\"step\":%d}",
                              i ? "," : "", i % 10, 1.0 / (i + 3), i, i);
    n += (size_t)snprintf(batch + n, cap - n, "],\"params\":[],\"tags\":[]}");
    printf("log-metric %zu bytes: canonicalise %.2f us; jansson parse %.2f us, parse+dump "
           "%.2f us\n",
           strlen(metric), bench(&lm, metric, strlen(metric), 100000, 0),
           bench(&lm, metric, strlen(metric), 100000, 1),
           bench(&lm, metric, strlen(metric), 100000, 2));
    printf("log-batch %zu bytes (1000 metrics): canonicalise %.0f us; jansson parse %.0f us, "
           "parse+dump %.0f us\n",
           n, bench(&lb, batch, n, 100, 0), bench(&lb, batch, n, 100, 1),
           bench(&lb, batch, n, 100, 2));
    free(batch);
    return 0;
}
