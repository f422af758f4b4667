/*
 * libFuzzer target for util/conf: arbitrary bytes as a configuration file, parsed with the
 * daemon's real section tables (through config_load on a memory file). Checks that parsing
 * never crashes, leaks or hangs, and that every error message carries a file:line:column.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char path[64];
    if (!path[0]) {
        snprintf(path, sizeof(path), "/tmp/fuzz-conf-%d.conf", (int)getpid());
    }
    FILE *f = fopen(path, "wb");
    if (!f)
        return 0;
    fwrite(data, 1, size, f);
    fclose(f);
    struct conf_diag d = {0};
    struct warden_config *cfg = config_load(path, &d);
    for (size_t i = 0; i < d.n && i < d.cap; i++)
        if (strncmp(d.msgs[i], path, strlen(path)) != 0 || d.msgs[i][strlen(path)] != ':')
            abort();
    if (cfg && d.n)
        abort(); /* a config is returned only when there is no error */
    config_free(cfg);
    conf_diag_clear(&d);
    return 0;
}
