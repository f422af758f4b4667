/*
 * audit/sink_file: the file sink (see sinks.h). Runs on its sink thread; the rotation and
 * tail helpers are pure.
 */
#include "audit/sinks.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "audit/format.h"
#include "audit/journal.h"
#include "audit/sink.h"
#include "audit/syslog.h"
#include "util/log.h"

#define SYNC_INTERVAL_MS 1000

struct file_sink {
    char *path;
    char *dir, *base;
    int format, fsync;
    int64_t max_size, rotate_ms, max_files;
    const char *product_version;
    int fd;
    uint64_t size;
    int64_t bucket; /* rotate_ms interval the file belongs to */
    int64_t last_sync;
    bool dirty;
    struct audit_record rec;
};

uint64_t audit_file_line_seq(const char *line, size_t len)
{
    struct audit_line_peek p;
    if (audit_line_peek(line, len, &p) == 0)
        return p.seq;
    json_error_t e;
    json_t *o = json_loadb(line, len, 0, &e);
    json_t *s = json_object_get(json_object_get(o, "metadata"), "sequence");
    uint64_t seq =
        json_is_integer(s) && json_integer_value(s) > 0 ? (uint64_t)json_integer_value(s) : 0;
    json_decref(o);
    return seq;
}

int audit_rotated_name(const char *path, int64_t wall_ms, unsigned n, char *out, size_t cap)
{
    time_t t = (time_t)(wall_ms / 1000);
    struct tm tm;
    char stamp[32];
    if (!gmtime_r(&t, &tm) || strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%S", &tm) == 0)
        return -1;
    /* Fixed widths, so names sort in rotation order. */
    int ms = (int)(wall_ms % 1000);
    int k = n ? snprintf(out, cap, "%s.%s.%03dZ-%03u", path, stamp, ms, n)
              : snprintf(out, cap, "%s.%s.%03dZ", path, stamp, ms);
    return k < 0 || (size_t)k >= cap || n > 999 ? -1 : 0;
}

bool audit_is_rotated_name(const char *base, const char *name)
{
    size_t bl = strlen(base);
    if (strncmp(name, base, bl) != 0 || name[bl] != '.')
        return false;
    const char *s = name + bl + 1;
    /* YYYYmmddTHHMMSS.mmmZ [-nnn] */
    for (int i = 0; i < 20; i++) {
        char c = s[i];
        bool ok = i == 8    ? c == 'T'
                  : i == 15 ? c == '.'
                  : i == 19 ? c == 'Z'
                            : c >= '0' && c <= '9';
        if (!ok)
            return false;
    }
    s += 20;
    if (*s == '\0')
        return true;
    if (s[0] != '-' || strlen(s) != 4)
        return false;
    for (s++; *s; s++)
        if (*s < '0' || *s > '9')
            return false;
    return true;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Delete the oldest rotated files beyond max_files. */
static void prune_rotated(struct file_sink *f)
{
    if (f->max_files <= 0)
        return;
    DIR *d = opendir(f->dir);
    if (!d)
        return;
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (!audit_is_rotated_name(f->base, de->d_name))
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 32;
            char **g = realloc(names, cap * sizeof(*g));
            if (!g)
                break;
            names = g;
        }
        if (!(names[n] = strdup(de->d_name)))
            break;
        n++;
    }
    closedir(d);
    qsort(names, n, sizeof(*names), cmp_str);
    for (size_t i = 0; i + (size_t)f->max_files < n; i++) {
        char p[4096];
        snprintf(p, sizeof(p), "%s/%s", f->dir, names[i]);
        if (unlink(p) != 0)
            log_warn("audit file %s: cannot remove %s: %s", f->path, p, strerror(errno));
    }
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

static int64_t bucket_of(const struct file_sink *f, int64_t wall)
{
    return f->rotate_ms > 0 ? wall / f->rotate_ms : 0;
}

static int open_file(struct file_sink *f, char *err, size_t errlen)
{
    f->fd = open(f->path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (f->fd < 0) {
        snprintf(err, errlen, "cannot open %s: %s", f->path, strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(f->fd, &st) != 0) {
        snprintf(err, errlen, "cannot stat %s: %s", f->path, strerror(errno));
        close(f->fd);
        f->fd = -1;
        return -1;
    }
    f->size = (uint64_t)st.st_size;
    f->bucket = bucket_of(f, audit_wall_ms());
    return 0;
}

static int rotate(struct file_sink *f, char *err, size_t errlen)
{
    char to[4096];
    int64_t now = audit_wall_ms();
    struct stat st;
    unsigned n = 0;
    do {
        if (audit_rotated_name(f->path, now, n, to, sizeof(to)) != 0) {
            snprintf(err, errlen, "rotated name too long");
            return -1;
        }
        n++;
    } while (lstat(to, &st) == 0 && n < 999);
    if (f->fsync != AUDIT_FSYNC_NEVER && f->dirty)
        fdatasync(f->fd);
    if (rename(f->path, to) != 0) {
        snprintf(err, errlen, "cannot rotate %s: %s", f->path, strerror(errno));
        return -1;
    }
    close(f->fd);
    f->fd = -1;
    if (open_file(f, err, errlen) != 0)
        return -1;
    int dfd = open(f->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        if (f->fsync != AUDIT_FSYNC_NEVER)
            fsync(dfd);
        close(dfd);
    }
    log_info("audit file %s: rotated to %s", f->path, to);
    prune_rotated(f);
    return 0;
}

static int file_render(void *impl, const char *line, size_t len, struct audit_batch *b, char *err,
                       size_t errlen)
{
    struct file_sink *f = impl;
    if (audit_render_payload(f->format, f->product_version, line, len, &f->rec, b, err, errlen))
        return -1;
    return audit_batch_add(b, "\n", 1);
}

static int file_connect(void *impl, char *err, size_t errlen)
{
    struct file_sink *f = impl;
    return f->fd >= 0 ? 0 : open_file(f, err, errlen);
}

static int file_send(void *impl, const struct audit_batch *b, char *err, size_t errlen)
{
    struct file_sink *f = impl;
    int64_t wall = audit_wall_ms();
    bool by_size = f->max_size > 0 && f->size > 0 && f->size + b->len > (uint64_t)f->max_size;
    bool by_time = f->rotate_ms > 0 && f->size > 0 && bucket_of(f, wall) != f->bucket;
    if ((by_size || by_time) && rotate(f, err, errlen) != 0)
        return -1;
    const char *p = b->buf;
    size_t n = b->len;
    while (n) {
        ssize_t w = write(f->fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            snprintf(err, errlen, "write to %s failed: %s", f->path, strerror(errno));
            /* Cut a partial batch back so the retry does not duplicate or tear records. */
            if (ftruncate(f->fd, (off_t)f->size) != 0)
                log_error("audit file %s: cannot cut back a failed write: %s", f->path,
                          strerror(errno));
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    f->size += b->len;
    f->dirty = true;
    int64_t mono = audit_mono_ms();
    if (f->fsync == AUDIT_FSYNC_ALWAYS ||
        (f->fsync == AUDIT_FSYNC_INTERVAL && mono - f->last_sync >= SYNC_INTERVAL_MS)) {
        if (fdatasync(f->fd) != 0) {
            snprintf(err, errlen, "fdatasync of %s failed: %s", f->path, strerror(errno));
            return -1;
        }
        f->last_sync = mono;
        f->dirty = false;
    }
    return 0;
}

static void file_disconnect(void *impl)
{
    struct file_sink *f = impl;
    if (f->fd >= 0) {
        if (f->fsync != AUDIT_FSYNC_NEVER && f->dirty)
            fdatasync(f->fd);
        close(f->fd);
    }
    f->fd = -1;
    f->dirty = false;
}

static void file_reopen(void *impl)
{
    struct file_sink *f = impl;
    char err[256];
    file_disconnect(f);
    if (open_file(f, err, sizeof(err)) != 0)
        log_error("audit file: reopen: %s", err);
    else
        log_info("audit file %s: reopened", f->path);
}

static void file_free(void *impl)
{
    struct file_sink *f = impl;
    file_disconnect(f);
    free(f->path);
    free(f->dir);
    free(f->base);
    free(f);
}

static const struct audit_sink_ops file_ops = {
    .kind = "file",
    .render = file_render,
    .connect = file_connect,
    .send = file_send,
    .disconnect = file_disconnect,
    .reopen = file_reopen,
    .free = file_free,
};

/* The sequence number of the last record in the newest rotated file (0: none). */
static uint64_t rotated_tail(const struct file_sink *f)
{
    DIR *d = opendir(f->dir);
    char newest[256] = "", path[4096];
    if (!d)
        return 0;
    struct dirent *de;
    while ((de = readdir(d)))
        if (audit_is_rotated_name(f->base, de->d_name) && strcmp(de->d_name, newest) > 0 &&
            strlen(de->d_name) < sizeof(newest))
            memcpy(newest, de->d_name, strlen(de->d_name) + 1);
    closedir(d);
    if (!newest[0])
        return 0;
    snprintf(path, sizeof(path), "%s/%s", f->dir, newest);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    char *line = NULL;
    size_t len = 0;
    uint64_t keep = 0, seq = 0;
    if (audit_file_last_line(fd, 4 * AUDIT_LINE_MAX, &line, &len, &keep) == 1)
        seq = audit_file_line_seq(line, len);
    free(line);
    close(fd);
    return seq;
}

/* Read the file's last record: what it already holds (an empty file: the newest rotated
 * file's). A torn last line (cut by a crash) is removed. A last record past the journal head
 * belongs to an earlier journal: the file is rotated away so the new chain starts in a fresh
 * file. */
static int resume_point(struct file_sink *f, struct audit_journal *j, uint64_t *tail, char *err,
                        size_t errlen)
{
    char *line = NULL;
    size_t len = 0;
    uint64_t keep = 0;
    *tail = 0;
    int r = audit_file_last_line(f->fd, 4 * AUDIT_LINE_MAX, &line, &len, &keep);
    if (r < 0) {
        snprintf(err, errlen, "cannot read the end of %s", f->path);
        return -1;
    }
    if (f->size > keep) {
        log_warn("audit file %s: removing %llu bytes of a record cut by a crash", f->path,
                 (unsigned long long)(f->size - keep));
        if (ftruncate(f->fd, (off_t)keep) != 0) {
            free(line);
            snprintf(err, errlen, "cannot truncate %s: %s", f->path, strerror(errno));
            return -1;
        }
        f->size = keep;
    }
    if (r == 1)
        *tail = audit_file_line_seq(line, len);
    free(line);
    /* An empty file right after a rotation: the rotated file holds the last record (the
     * stored cursor may lag it after a crash). */
    if (r == 0 && (*tail = rotated_tail(f)) > audit_journal_head_seq(j))
        *tail = 0;
    if (r == 1 && *tail == 0) {
        log_warn("audit file %s: its last line is not an audit record; appending after it",
                 f->path);
    } else if (*tail > audit_journal_head_seq(j)) {
        log_warn("audit file %s: ends at seq %llu, past the journal (head %llu): the journal was "
                 "reset; starting a new file",
                 f->path, (unsigned long long)*tail, (unsigned long long)audit_journal_head_seq(j));
        *tail = 0;
        return rotate(f, err, errlen);
    }
    return 0;
}

struct audit_sink *audit_file_sink_new(const struct audit_file_conf *c, const char *product_version,
                                       struct audit_journal *j, const char *journal_dir, char *err,
                                       size_t errlen)
{
    struct file_sink *f = calloc(1, sizeof(*f));
    uint64_t tail = 0;
    char *tmp1 = NULL, *tmp2 = NULL;
    if (!f) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    f->fd = -1;
    f->path = strdup(c->path);
    tmp1 = strdup(c->path);
    tmp2 = strdup(c->path);
    if (!f->path || !tmp1 || !tmp2) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    f->dir = strdup(dirname(tmp1));
    f->base = strdup(basename(tmp2));
    if (!f->dir || !f->base) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    f->format = c->d.format;
    f->fsync = c->fsync;
    f->max_size = c->max_size;
    f->rotate_ms = c->rotate_interval_ms;
    f->max_files = c->max_files;
    f->product_version = product_version;
    if (open_file(f, err, errlen) != 0 || resume_point(f, j, &tail, err, errlen) != 0)
        goto fail;
    free(tmp1);
    free(tmp2);
    return audit_sink_new(c->name, &file_ops, f, &c->d, 0, j, journal_dir, tail, err, errlen);
fail:
    free(tmp1);
    free(tmp2);
    file_free(f);
    return NULL;
}
