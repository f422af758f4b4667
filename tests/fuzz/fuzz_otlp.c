/*
 * libFuzzer target for mlflow/otlp. Byte 0 picks the encoding (bit 0: JSON), the rest is the
 * body. Invariants: no crash, hang or leak; a refusal has a reason; every id returned is
 * "tr-" followed by at least 32 lower-case hex digits, and ids are distinct.
 * Single-threaded; no I/O.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mlflow/otlp.h"

#define CHECK(x)                                                                                   \
    do {                                                                                           \
        if (!(x))                                                                                  \
            __builtin_trap();                                                                      \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    static struct otlp_ids ids;
    char err[256] = "";
    if (otlp_trace_ids((const char *)data + 1, size - 1, data[0] & 1, &ids, err, sizeof(err)) < 0) {
        CHECK(err[0] != '\0');
        return 0;
    }
    for (size_t i = 0; i < ids.n; i++) {
        size_t l = strlen(ids.id[i]);
        CHECK(l >= 35 && memcmp(ids.id[i], "tr-", 3) == 0);
        for (size_t k = 3; k < l; k++)
            CHECK((ids.id[i][k] >= '0' && ids.id[i][k] <= '9') ||
                  (ids.id[i][k] >= 'a' && ids.id[i][k] <= 'f'));
        for (size_t j = 0; j < i; j++)
            CHECK(strcmp(ids.id[i], ids.id[j]) != 0);
    }
    return 0;
}
