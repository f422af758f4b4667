/*
 * audit/cursor: see cursor.h.
 */
#include "audit/cursor.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "auth/digest.h"

static const char magic[] = "warden-audit-cursor/1 seq=";
static const char check_tag[] = " check=";

/* magic(26) + 20 digits + check_tag(7) + 8 hex + '\n' = 62; padded with spaces to 64. */
#define BODY_LEN (sizeof(magic) - 1 + 20)

static void check_of(const char *body, char out[9])
{
    unsigned char h[SHA256_LEN];
    if (auth_sha256(body, BODY_LEN, h) != 0)
        memset(h, 0, sizeof(h));
    auth_hex(h, 4, out);
}

void audit_cursor_encode(uint64_t seq, char out[AUDIT_CURSOR_LEN])
{
    char tmp[AUDIT_CURSOR_LEN + 1], chk[9];
    snprintf(tmp, sizeof(tmp), "%s%020llu", magic, (unsigned long long)seq);
    check_of(tmp, chk);
    snprintf(tmp + BODY_LEN, sizeof(tmp) - BODY_LEN, "%s%s", check_tag, chk);
    size_t n = strlen(tmp);
    memset(tmp + n, ' ', AUDIT_CURSOR_LEN - 1 - n);
    tmp[AUDIT_CURSOR_LEN - 1] = '\n';
    memcpy(out, tmp, AUDIT_CURSOR_LEN);
}

int audit_cursor_decode(const char *buf, size_t len, uint64_t *seq)
{
    char chk[9];
    size_t tag = BODY_LEN, hex = tag + sizeof(check_tag) - 1;
    if (len != AUDIT_CURSOR_LEN || buf[len - 1] != '\n' || memcmp(buf, magic, sizeof(magic) - 1))
        return -1;
    uint64_t v = 0;
    for (size_t i = sizeof(magic) - 1; i < BODY_LEN; i++) {
        if (buf[i] < '0' || buf[i] > '9')
            return -1;
        unsigned d = (unsigned)(buf[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    if (memcmp(buf + tag, check_tag, sizeof(check_tag) - 1) != 0)
        return -1;
    check_of(buf, chk);
    if (memcmp(buf + hex, chk, 8) != 0)
        return -1;
    for (size_t i = hex + 8; i < len - 1; i++)
        if (buf[i] != ' ')
            return -1;
    *seq = v;
    return 0;
}

int audit_cursor_open(const char *dir, const char *name, uint64_t *seq, bool *found, bool *damaged,
                      char *err, size_t errlen)
{
    char path[4096], buf[AUDIT_CURSOR_LEN + 1];
    *seq = 0;
    *found = *damaged = false;
    if ((size_t)snprintf(path, sizeof(path), "%s/cursor.%s", dir, name) >= sizeof(path)) {
        snprintf(err, errlen, "cursor path too long");
        return -1;
    }
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
        return -1;
    }
    ssize_t n = pread(fd, buf, sizeof(buf), 0);
    if (n > 0) {
        if (audit_cursor_decode(buf, (size_t)n, seq) == 0)
            *found = true;
        else
            *damaged = true;
    }
    return fd;
}

int audit_cursor_store(int fd, uint64_t seq)
{
    char buf[AUDIT_CURSOR_LEN];
    audit_cursor_encode(seq, buf);
    ssize_t n = pwrite(fd, buf, sizeof(buf), 0);
    return n == (ssize_t)sizeof(buf) ? 0 : -1;
}
