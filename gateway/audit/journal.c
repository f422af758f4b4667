/*
 * audit/journal: see journal.h. Layout of the directory:
 *   lock                           flock'ed by the process using the journal
 *   instance                       8 hex digits (the chain's instance bytes)
 *   journal-<20-digit seq>.jsonl   segments, named by their first record's sequence number
 *   cursor.<sink>                  delivery cursors (audit/cursor.c)
 * The active segment is the newest; it always holds at least one complete record once it
 * exists (a segment is created only with the record that opens it), so the chain head can
 * always be read back from the newest segment's last line.
 */
#include "audit/journal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "audit/audit_conf.h"
#include "audit/format.h"
#include "auth/digest.h"
#include "util/log.h"

#define SEG_PREFIX    "journal-"
#define SEG_SUFFIX    ".jsonl"
#define SEG_NAME_LEN  (sizeof(SEG_PREFIX) - 1 + 20 + sizeof(SEG_SUFFIX) - 1)
#define READ_BUF_INIT (256 * 1024)
#define READ_BUF_MAX  (4 * AUDIT_LINE_MAX)

struct segment {
    uint64_t first_seq;
    uint64_t size; /* committed bytes */
    uint64_t base; /* position of its first byte in the journal's byte stream */
};

struct audit_journal {
    struct audit_journal_opts o;
    char *dir;
    int dirfd, lockfd;
    unsigned char instance[4];
    char instance_hex[9];

    pthread_mutex_t mu;
    pthread_cond_t cv;
    int sleepers;
    uint64_t kicks;
    struct segment *segs; /* oldest first; the last one is the active segment */
    size_t nsegs, capsegs;
    int active_fd; /* -1 until the first segment exists */
    struct audit_chain chain;
    uint64_t head_seq;
    char *buf; /* sealing buffer */
    size_t cap;
    uint64_t appended, write_errors;
    struct audit_reader **readers;
    size_t nreaders;

    pthread_mutex_t sync_mu;
    uint64_t synced_abs;
    atomic_bool full; /* retained bytes >= spool_max, updated under mu */
};

struct audit_reader {
    struct audit_journal *j;
    char *name;
    uint64_t seg; /* first seq of the open segment; 0: before the first segment */
    int fd;
    uint64_t off;      /* file offset of the next unread line */
    uint64_t next_seq; /* its sequence number */
    char *buf;
    size_t cap, start, end; /* buf[start..end) holds file bytes from off on */
    bool skipping;          /* discarding a damaged over-long line up to its newline */
    struct audit_jpos confirmed;
};

static void set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || errlen == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

static void seg_name(uint64_t first_seq, char out[SEG_NAME_LEN + 1])
{
    snprintf(out, SEG_NAME_LEN + 1, SEG_PREFIX "%020llu" SEG_SUFFIX, (unsigned long long)first_seq);
}

/* journal-<20 digits>.jsonl -> first seq; 0 if the name is something else. */
static uint64_t seg_parse(const char *name)
{
    size_t pre = sizeof(SEG_PREFIX) - 1;
    if (strlen(name) != SEG_NAME_LEN || strncmp(name, SEG_PREFIX, pre) != 0 ||
        strcmp(name + pre + 20, SEG_SUFFIX) != 0)
        return 0;
    uint64_t v = 0;
    for (size_t i = pre; i < pre + 20; i++) {
        if (name[i] < '0' || name[i] > '9')
            return 0;
        unsigned d = (unsigned)(name[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return 0;
        v = v * 10 + d;
    }
    return v;
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

int audit_file_last_line(int fd, size_t max, char **line, size_t *len, uint64_t *torn_at)
{
    struct stat st;
    *line = NULL;
    *len = 0;
    *torn_at = 0;
    if (fstat(fd, &st) != 0)
        return -1;
    uint64_t size = (uint64_t)st.st_size;
    if (size == 0)
        return 0;
    size_t want = size < max ? (size_t)size : max;
    char *b = malloc(want);
    if (!b)
        return -1;
    uint64_t from = size - want;
    size_t got = 0;
    while (got < want) {
        ssize_t r = pread(fd, b + got, want - got, (off_t)(from + got));
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            free(b);
            return -1;
        }
        got += (size_t)r;
    }
    /* The last newline ends the last complete line. */
    size_t end = want;
    while (end > 0 && b[end - 1] != '\n')
        end--;
    if (end == 0) {
        free(b);
        /* No newline in the window: an incomplete only line, or one longer than max. */
        return from == 0 ? 0 : -1;
    }
    *torn_at = from + end;
    size_t s = end - 1;
    while (s > 0 && b[s - 1] != '\n')
        s--;
    if (s == 0 && from > 0) {
        free(b);
        return -1; /* the line starts before the window */
    }
    size_t n = end - 1 - s;
    char *out = malloc(n + 1);
    if (!out) {
        free(b);
        return -1;
    }
    memcpy(out, b + s, n);
    out[n] = '\0';
    free(b);
    *line = out;
    *len = n;
    return 1;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static int load_instance(struct audit_journal *j, char *err, size_t errlen)
{
    char hex[9] = {0};
    int fd = openat(j->dirfd, "instance", O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd >= 0) {
        ssize_t n = read(fd, hex, 8);
        close(fd);
        if (n != 8 || auth_unhex(hex, 8, j->instance, 4) != 0) {
            set_err(err, errlen, "%s/instance is damaged (expected 8 hex digits)", j->dir);
            return -1;
        }
    } else {
        if (RAND_bytes(j->instance, 4) != 1) {
            set_err(err, errlen, "no random bytes for the instance id");
            return -1;
        }
        auth_hex(j->instance, 4, hex);
        fd = openat(j->dirfd, "instance", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
                    0600);
        if (fd < 0 || write_all(fd, hex, 8) != 0 || fsync(fd) != 0) {
            set_err(err, errlen, "cannot write %s/instance: %s", j->dir, strerror(errno));
            if (fd >= 0)
                close(fd);
            return -1;
        }
        close(fd);
    }
    auth_hex(j->instance, 4, j->instance_hex);
    return 0;
}

static int push_segment(struct audit_journal *j, uint64_t first_seq, uint64_t size)
{
    if (j->nsegs == j->capsegs) {
        size_t nc = j->capsegs ? j->capsegs * 2 : 16;
        struct segment *g = realloc(j->segs, nc * sizeof(*g));
        if (!g)
            return -1;
        j->segs = g;
        j->capsegs = nc;
    }
    uint64_t base = j->nsegs ? j->segs[j->nsegs - 1].base + j->segs[j->nsegs - 1].size : 0;
    j->segs[j->nsegs++] = (struct segment){first_seq, size, base};
    return 0;
}

/* Find the segments and continue the chain after the newest complete record. */
static int recover(struct audit_journal *j, char *err, size_t errlen)
{
    int rc = -1;
    uint64_t *firsts = NULL;
    size_t n = 0, cap = 0;
    int dfd = dup(j->dirfd);
    DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
    if (!d) {
        if (dfd >= 0)
            close(dfd);
        set_err(err, errlen, "cannot list %s: %s", j->dir, strerror(errno));
        return -1;
    }
    struct dirent *de;
    while ((de = readdir(d))) {
        uint64_t f = seg_parse(de->d_name);
        if (!f)
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            uint64_t *g = realloc(firsts, cap * sizeof(*g));
            if (!g) {
                set_err(err, errlen, "out of memory");
                goto out;
            }
            firsts = g;
        }
        firsts[n++] = f;
    }
    if (n)
        qsort(firsts, n, sizeof(*firsts), cmp_u64);
    audit_chain_init(&j->chain, j->instance);
    /* The newest segment with a complete record holds the chain head. */
    while (n > 0) {
        char name[SEG_NAME_LEN + 1];
        seg_name(firsts[n - 1], name);
        int fd = openat(j->dirfd, name, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0) {
            set_err(err, errlen, "cannot open %s/%s: %s", j->dir, name, strerror(errno));
            goto out;
        }
        char *line = NULL;
        size_t len = 0;
        uint64_t keep = 0;
        struct stat st;
        int got = audit_file_last_line(fd, READ_BUF_MAX, &line, &len, &keep);
        if (got < 0 || fstat(fd, &st) != 0) {
            close(fd);
            set_err(err, errlen, "cannot read the end of %s/%s", j->dir, name);
            goto out;
        }
        if ((uint64_t)st.st_size > keep) {
            log_warn("audit journal: %s: removing %llu bytes of a record cut by a crash", name,
                     (unsigned long long)((uint64_t)st.st_size - keep));
            if (ftruncate(fd, (off_t)keep) != 0 || fdatasync(fd) != 0) {
                free(line);
                close(fd);
                set_err(err, errlen, "cannot truncate %s/%s: %s", j->dir, name, strerror(errno));
                goto out;
            }
        }
        if (got == 0) {
            /* Nothing complete in it: created just before a crash. */
            free(line);
            close(fd);
            if (unlinkat(j->dirfd, name, 0) != 0) {
                set_err(err, errlen, "cannot remove %s/%s: %s", j->dir, name, strerror(errno));
                goto out;
            }
            n--;
            continue;
        }
        struct audit_verify v;
        char why[256];
        audit_verify_init(&v);
        if (audit_verify_line(&v, line, len, why, sizeof(why)) != 0 ||
            audit_chain_resume(&j->chain, line, len, why, sizeof(why)) != 0) {
            free(line);
            close(fd);
            set_err(err, errlen,
                    "%s/%s: the last record does not verify (%s); refusing to continue a "
                    "damaged audit chain",
                    j->dir, name, why);
            goto out;
        }
        free(line);
        if (v.last_seq < firsts[n - 1]) {
            close(fd);
            set_err(err, errlen, "%s/%s: last record seq %llu is before the segment's first",
                    j->dir, name, (unsigned long long)v.last_seq);
            goto out;
        }
        j->head_seq = v.last_seq;
        close(fd);
        j->active_fd = openat(j->dirfd, name, O_WRONLY | O_APPEND | O_CLOEXEC | O_NOFOLLOW);
        if (j->active_fd < 0) {
            set_err(err, errlen, "cannot open %s/%s: %s", j->dir, name, strerror(errno));
            goto out;
        }
        break;
    }
    for (size_t i = 0; i < n; i++) {
        char name[SEG_NAME_LEN + 1];
        struct stat st;
        seg_name(firsts[i], name);
        if (fstatat(j->dirfd, name, &st, 0) != 0 ||
            push_segment(j, firsts[i], (uint64_t)st.st_size)) {
            set_err(err, errlen, "cannot stat %s/%s", j->dir, name);
            goto out;
        }
    }
    j->synced_abs = j->nsegs ? j->segs[j->nsegs - 1].base + j->segs[j->nsegs - 1].size : 0;
    rc = 0;
out:
    closedir(d);
    free(firsts);
    return rc;
}

struct audit_journal *audit_journal_open(const struct audit_journal_opts *o, char *err,
                                         size_t errlen)
{
    struct audit_journal *j = calloc(1, sizeof(*j));
    if (!j) {
        set_err(err, errlen, "out of memory");
        return NULL;
    }
    j->o = *o;
    j->dirfd = j->lockfd = j->active_fd = -1;
    pthread_mutex_init(&j->mu, NULL);
    pthread_mutex_init(&j->sync_mu, NULL);
    pthread_cond_init(&j->cv, NULL);
    j->dir = strdup(o->dir);
    j->o.dir = j->dir;
    if (!j->dir) {
        set_err(err, errlen, "out of memory");
        goto fail;
    }
    if (mkdir(j->dir, 0700) != 0 && errno != EEXIST) {
        set_err(err, errlen, "cannot create journal directory %s: %s", j->dir, strerror(errno));
        goto fail;
    }
    j->dirfd = open(j->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (j->dirfd < 0) {
        set_err(err, errlen, "cannot open journal directory %s: %s", j->dir, strerror(errno));
        goto fail;
    }
    struct stat st;
    if (fstat(j->dirfd, &st) == 0 && (st.st_mode & 022))
        log_warn("audit journal: %s is writable by group or others (mode %03o): anyone who can "
                 "write it can edit the spool before delivery; use mode 0700",
                 j->dir, (unsigned)(st.st_mode & 0777));
    j->lockfd = openat(j->dirfd, "lock", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (j->lockfd < 0) {
        set_err(err, errlen, "cannot open %s/lock: %s", j->dir, strerror(errno));
        goto fail;
    }
    if (flock(j->lockfd, LOCK_EX | LOCK_NB) != 0) {
        set_err(err, errlen, "journal directory %s is in use by another process", j->dir);
        goto fail;
    }
    if (load_instance(j, err, errlen) != 0 || recover(j, err, errlen) != 0)
        goto fail;
    j->cap = 64 * 1024;
    j->buf = malloc(j->cap);
    if (!j->buf) {
        set_err(err, errlen, "out of memory");
        goto fail;
    }
    return j;
fail:
    audit_journal_free(j);
    return NULL;
}

void audit_journal_free(struct audit_journal *j)
{
    if (!j)
        return;
    if (j->active_fd >= 0) {
        if (j->o.fsync != AUDIT_FSYNC_NEVER)
            fdatasync(j->active_fd);
        close(j->active_fd);
    }
    if (j->lockfd >= 0)
        close(j->lockfd);
    if (j->dirfd >= 0)
        close(j->dirfd);
    pthread_mutex_destroy(&j->mu);
    pthread_mutex_destroy(&j->sync_mu);
    pthread_cond_destroy(&j->cv);
    free(j->readers);
    free(j->segs);
    free(j->buf);
    free(j->dir);
    free(j);
}

const char *audit_journal_instance(const struct audit_journal *j)
{
    return j->instance_hex;
}

static uint64_t head_abs_locked(const struct audit_journal *j)
{
    return j->nsegs ? j->segs[j->nsegs - 1].base + j->segs[j->nsegs - 1].size : 0;
}

static void update_full_locked(struct audit_journal *j)
{
    uint64_t used = j->nsegs ? head_abs_locked(j) - j->segs[0].base : 0;
    atomic_store(&j->full, used >= (uint64_t)j->o.spool_max);
}

static struct segment *find_seg_locked(struct audit_journal *j, uint64_t first_seq)
{
    size_t lo = 0, hi = j->nsegs;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (j->segs[mid].first_seq < first_seq)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < j->nsegs && j->segs[lo].first_seq == first_seq ? &j->segs[lo] : NULL;
}

/* Delete the segments before the oldest confirmed position of every reader. */
static void prune_locked(struct audit_journal *j)
{
    if (j->nreaders == 0)
        return;
    uint64_t min = UINT64_MAX;
    for (size_t i = 0; i < j->nreaders; i++)
        if (j->readers[i]->confirmed.seg < min)
            min = j->readers[i]->confirmed.seg;
    size_t drop = 0;
    while (drop + 1 < j->nsegs && j->segs[drop].first_seq < min) {
        char name[SEG_NAME_LEN + 1];
        seg_name(j->segs[drop].first_seq, name);
        if (unlinkat(j->dirfd, name, 0) != 0 && errno != ENOENT) {
            log_warn("audit journal: cannot remove %s: %s", name, strerror(errno));
            break;
        }
        drop++;
    }
    if (drop) {
        memmove(j->segs, j->segs + drop, (j->nsegs - drop) * sizeof(*j->segs));
        j->nsegs -= drop;
        update_full_locked(j);
    }
}

void audit_journal_prune(struct audit_journal *j)
{
    pthread_mutex_lock(&j->mu);
    prune_locked(j);
    update_full_locked(j);
    pthread_mutex_unlock(&j->mu);
}

/* Seal the active segment and open a new one for the record with sequence first_seq. */
static int new_segment_locked(struct audit_journal *j, uint64_t first_seq, char *err, size_t errlen)
{
    char name[SEG_NAME_LEN + 1];
    if (j->active_fd >= 0) {
        if (j->o.fsync != AUDIT_FSYNC_NEVER && fdatasync(j->active_fd) != 0) {
            set_err(err, errlen, "fdatasync of the journal failed: %s", strerror(errno));
            return -1;
        }
        close(j->active_fd);
        j->active_fd = -1;
    }
    seg_name(first_seq, name);
    int fd = openat(j->dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC | O_NOFOLLOW,
                    0600);
    if (fd < 0) {
        set_err(err, errlen, "cannot create %s/%s: %s", j->dir, name, strerror(errno));
        return -1;
    }
    if (push_segment(j, first_seq, 0) != 0) {
        close(fd);
        unlinkat(j->dirfd, name, 0);
        set_err(err, errlen, "out of memory");
        return -1;
    }
    if (j->o.fsync != AUDIT_FSYNC_NEVER)
        fsync(j->dirfd);
    j->active_fd = fd;
    prune_locked(j);
    return 0;
}

/* Write buf[0..n) to the active segment; on failure cut the segment back. */
static int flush_locked(struct audit_journal *j, size_t n, char *err, size_t errlen)
{
    struct segment *s = &j->segs[j->nsegs - 1];
    if (n == 0)
        return 0;
    if (write_all(j->active_fd, j->buf, n) != 0) {
        int e = errno;
        if (ftruncate(j->active_fd, (off_t)s->size) != 0)
            log_error("audit journal: cannot cut back a failed write: %s", strerror(errno));
        j->write_errors++;
        set_err(err, errlen, "journal write failed: %s", strerror(e));
        return -1;
    }
    s->size += n;
    return 0;
}

static void wake_locked(struct audit_journal *j)
{
    if (j->sleepers > 0)
        pthread_cond_broadcast(&j->cv);
}

static int grow_locked(struct audit_journal *j, size_t need)
{
    if (need <= j->cap)
        return 0;
    size_t nc = j->cap;
    while (nc < need)
        nc *= 2;
    char *b = realloc(j->buf, nc);
    if (!b)
        return -1;
    j->buf = b;
    j->cap = nc;
    return 0;
}

static int sync_to(struct audit_journal *j, uint64_t end)
{
    int rc = 0;
    pthread_mutex_lock(&j->sync_mu);
    if (j->synced_abs < end) {
        pthread_mutex_lock(&j->mu);
        int fd = j->active_fd >= 0 ? dup(j->active_fd) : -1;
        uint64_t target = head_abs_locked(j);
        pthread_mutex_unlock(&j->mu);
        /* Segments before the active one were synced when they were sealed. */
        if (fd >= 0) {
            rc = fdatasync(fd);
            close(fd);
        }
        if (rc == 0 && target > j->synced_abs)
            j->synced_abs = target;
    }
    pthread_mutex_unlock(&j->sync_mu);
    return rc;
}

int audit_journal_sync(struct audit_journal *j)
{
    pthread_mutex_lock(&j->mu);
    uint64_t end = head_abs_locked(j);
    pthread_mutex_unlock(&j->mu);
    return sync_to(j, end);
}

/* Seal and write n records; the caller holds j->mu. On success *end is the new head
 * position. On failure records flushed before a rotation stay committed, the rest do not. */
static int append_locked(struct audit_journal *j, struct audit_jentry *e, size_t n, uint64_t *end,
                         char *err, size_t errlen)
{
    struct audit_chain at_flush = j->chain;
    size_t pos = 0;
    for (size_t i = 0; i < n; i++) {
        size_t need = e[i].blen + AUDIT_SEAL_OVERHEAD;
        uint64_t active = j->active_fd >= 0 ? j->segs[j->nsegs - 1].size : 0;
        bool rotate = j->active_fd >= 0 && active + pos > 0 &&
                      active + pos + need > (uint64_t)j->o.segment_size;
        if (rotate) {
            if (flush_locked(j, pos, err, errlen) != 0)
                goto rollback;
            pos = 0;
            at_flush = j->chain;
            j->head_seq = j->chain.next_seq - 1;
        }
        if ((j->active_fd < 0 || rotate) &&
            new_segment_locked(j, j->chain.next_seq, err, errlen) != 0)
            goto rollback;
        if (grow_locked(j, pos + need) != 0) {
            set_err(err, errlen, "out of memory");
            goto rollback;
        }
        size_t len = 0;
        if (audit_chain_seal_body(&j->chain, e[i].time_ms, e[i].body, e[i].blen, j->buf + pos,
                                  j->cap - pos, &len, &e[i].seal, err, errlen) != 0)
            goto rollback;
        pos += len;
    }
    if (flush_locked(j, pos, err, errlen) != 0)
        goto rollback;
    j->head_seq = j->chain.next_seq - 1;
    j->appended += n;
    *end = head_abs_locked(j);
    update_full_locked(j);
    wake_locked(j);
    return 0;
rollback:
    j->chain = at_flush;
    j->head_seq = j->chain.next_seq - 1;
    wake_locked(j);
    return -1;
}

int audit_journal_append(struct audit_journal *j, struct audit_jentry *e, size_t n, char *err,
                         size_t errlen)
{
    uint64_t end = 0;
    pthread_mutex_lock(&j->mu);
    int rc = append_locked(j, e, n, &end, err, errlen);
    pthread_mutex_unlock(&j->mu);
    if (rc == 0 && j->o.fsync == AUDIT_FSYNC_ALWAYS && sync_to(j, end) != 0) {
        set_err(err, errlen, "fdatasync of the journal failed: %s", strerror(errno));
        return -1;
    }
    return rc;
}

int audit_journal_append_built(struct audit_journal *j, struct audit_record *r,
                               audit_journal_fill_fn fill, void *arg, char *err, size_t errlen)
{
    char hex[AUDIT_HASH_HEX + 1];
    uint64_t end = 0;
    int rc = -1;
    char *body = malloc(AUDIT_LINE_MAX);
    if (!body) {
        set_err(err, errlen, "out of memory");
        return -1;
    }
    /* Built, rendered and sealed under one lock hold, so the head it names is the one it
     * follows (rare records: checkpoints and lifecycle events). */
    pthread_mutex_lock(&j->mu);
    auth_hex(j->chain.prev, sizeof(j->chain.prev), hex);
    int f = fill(r, j->chain.next_seq - 1, hex, arg);
    struct audit_jentry e = {.time_ms = r->time_ms, .body = body};
    if (f < 0) {
        set_err(err, errlen, "cannot build the record");
    } else if (f > 0) {
        rc = 1;
    } else if (audit_format_json_body(r, body, AUDIT_LINE_MAX, &e.blen) != 0) {
        set_err(err, errlen, "record does not fit a line");
    } else if (append_locked(j, &e, 1, &end, err, errlen) == 0) {
        r->seq = e.seal.seq;
        memcpy(r->event_id, e.seal.event_id, sizeof(r->event_id));
        memcpy(r->prev_hash, e.seal.prev_hash, sizeof(r->prev_hash));
        memcpy(r->hash, e.seal.hash, sizeof(r->hash));
        rc = 0;
    }
    pthread_mutex_unlock(&j->mu);
    free(body);
    if (rc == 0 && j->o.fsync == AUDIT_FSYNC_ALWAYS && sync_to(j, end) != 0) {
        set_err(err, errlen, "fdatasync of the journal failed: %s", strerror(errno));
        return -1;
    }
    return rc;
}

void audit_journal_stats(struct audit_journal *j, struct audit_journal_stats *st)
{
    pthread_mutex_lock(&j->mu);
    st->head_seq = j->head_seq;
    st->spool_bytes = j->nsegs ? head_abs_locked(j) - j->segs[0].base : 0;
    st->segments = j->nsegs;
    st->appended = j->appended;
    st->write_errors = j->write_errors;
    pthread_mutex_unlock(&j->mu);
}

bool audit_journal_full(struct audit_journal *j)
{
    return atomic_load_explicit(&j->full, memory_order_relaxed);
}

uint64_t audit_journal_head_seq(struct audit_journal *j)
{
    pthread_mutex_lock(&j->mu);
    uint64_t h = j->head_seq;
    pthread_mutex_unlock(&j->mu);
    return h;
}

bool audit_journal_wait(struct audit_journal *j, uint64_t seq, int64_t timeout_ms)
{
    pthread_mutex_lock(&j->mu);
    if (j->head_seq <= seq && timeout_ms > 0) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += timeout_ms / 1000;
        ts.tv_nsec += (timeout_ms % 1000) * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        uint64_t kicks = j->kicks;
        while (j->head_seq <= seq && j->kicks == kicks) {
            j->sleepers++;
            int w = pthread_cond_timedwait(&j->cv, &j->mu, &ts);
            j->sleepers--;
            if (w == ETIMEDOUT)
                break;
        }
    }
    bool more = j->head_seq > seq;
    pthread_mutex_unlock(&j->mu);
    return more;
}

void audit_journal_kick(struct audit_journal *j)
{
    pthread_mutex_lock(&j->mu);
    j->kicks++;
    pthread_cond_broadcast(&j->cv);
    pthread_mutex_unlock(&j->mu);
}

/* ---- readers ------------------------------------------------------------------------- */

static int open_seg(struct audit_reader *rd, uint64_t seg, char *err, size_t errlen)
{
    char name[SEG_NAME_LEN + 1];
    if (rd->fd >= 0)
        close(rd->fd);
    rd->fd = -1;
    rd->seg = seg;
    rd->start = rd->end = 0;
    rd->skipping = false;
    if (seg == 0)
        return 0;
    seg_name(seg, name);
    rd->fd = openat(rd->j->dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (rd->fd < 0) {
        set_err(err, errlen, "cannot open %s/%s: %s", rd->j->dir, name, strerror(errno));
        return -1;
    }
    return 0;
}

/* Sequence number of a line from its fixed prefix {"v":1,"seq":N, */
static uint64_t line_seq(const char *line, size_t len)
{
    static const char pre[] = "{\"v\":1,\"seq\":";
    size_t p = sizeof(pre) - 1;
    if (len < p + 2 || memcmp(line, pre, p) != 0 || line[p] == '0')
        return 0;
    uint64_t v = 0;
    size_t i = p;
    for (; i < len && line[i] >= '0' && line[i] <= '9' && i < p + 20; i++) {
        unsigned d = (unsigned)(line[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return 0;
        v = v * 10 + d;
    }
    return i < len && line[i] == ',' ? v : 0;
}

int audit_reader_next(struct audit_reader *rd, const char **line, size_t *len, uint64_t *seq,
                      char *err, size_t errlen)
{
    struct audit_journal *j = rd->j;
    for (;;) {
        char *nl =
            rd->end > rd->start ? memchr(rd->buf + rd->start, '\n', rd->end - rd->start) : NULL;
        if (nl) {
            size_t n = (size_t)(nl - (rd->buf + rd->start));
            const char *l = rd->buf + rd->start;
            rd->start += n + 1;
            rd->off += n + 1;
            if (rd->skipping) {
                rd->skipping = false;
                continue;
            }
            uint64_t s = line_seq(l, n);
            if (s == 0 || s != rd->next_seq) {
                uint64_t want = rd->next_seq;
                if (s)
                    rd->next_seq = s + 1;
                set_err(err, errlen,
                        "journal segment %llu: damaged record at offset %llu (seq %llu, expected "
                        "%llu); skipped",
                        (unsigned long long)rd->seg, (unsigned long long)(rd->off - n - 1),
                        (unsigned long long)s, (unsigned long long)want);
                return -1;
            }
            rd->next_seq = s + 1;
            *line = l;
            *len = n;
            *seq = s;
            return 1;
        }
        /* Need more bytes: how far is this segment committed, and what follows it? */
        pthread_mutex_lock(&j->mu);
        uint64_t limit = 0, next_seg = 0;
        bool sealed = false;
        if (rd->seg == 0) {
            /* Before the first segment: the first one at or after next_seq. */
            for (size_t i = 0; i < j->nsegs && !next_seg; i++)
                if (j->segs[i].first_seq >= rd->next_seq)
                    next_seg = j->segs[i].first_seq;
            sealed = true;
        } else {
            struct segment *s = find_seg_locked(j, rd->seg);
            if (!s) {
                pthread_mutex_unlock(&j->mu);
                set_err(err, errlen, "journal segment %llu vanished", (unsigned long long)rd->seg);
                return -1;
            }
            limit = s->size;
            if (s < j->segs + j->nsegs - 1) {
                sealed = true;
                next_seg = s[1].first_seq;
            }
        }
        pthread_mutex_unlock(&j->mu);
        uint64_t have = rd->off + (rd->end - rd->start);
        if (rd->fd >= 0 && have < limit) {
            if (rd->start > 0) {
                memmove(rd->buf, rd->buf + rd->start, rd->end - rd->start);
                rd->end -= rd->start;
                rd->start = 0;
            }
            if (rd->end == rd->cap) {
                if (rd->cap >= READ_BUF_MAX) {
                    /* A "line" longer than any record: discard it up to its newline. */
                    rd->off += rd->end;
                    rd->end = 0;
                    rd->skipping = true;
                    set_err(err, errlen, "journal segment %llu: over-long damaged record skipped",
                            (unsigned long long)rd->seg);
                    return -1;
                }
                char *b = realloc(rd->buf, rd->cap * 2);
                if (!b) {
                    set_err(err, errlen, "out of memory");
                    return -1;
                }
                rd->buf = b;
                rd->cap *= 2;
            }
            size_t want = rd->cap - rd->end;
            if (want > limit - have)
                want = (size_t)(limit - have);
            ssize_t r = pread(rd->fd, rd->buf + rd->end, want, (off_t)have);
            if (r < 0 && errno == EINTR)
                continue;
            if (r <= 0) {
                set_err(err, errlen, "journal read failed: %s", r < 0 ? strerror(errno) : "EOF");
                return -1;
            }
            rd->end += (size_t)r;
            continue;
        }
        if (!sealed || !next_seg)
            return 0; /* at the head */
        if (rd->end > rd->start) {
            size_t n = rd->end - rd->start;
            rd->off += n;
            rd->start = rd->end = 0;
            if (!rd->skipping) {
                set_err(err, errlen, "journal segment %llu ends in a partial record; skipped",
                        (unsigned long long)rd->seg);
                if (open_seg(rd, next_seg, NULL, 0) == 0)
                    rd->off = 0;
                return -1;
            }
        }
        if (open_seg(rd, next_seg, err, errlen) != 0)
            return -1;
        rd->off = 0;
        if (rd->next_seq != next_seg) {
            uint64_t want = rd->next_seq;
            rd->next_seq = next_seg;
            set_err(err, errlen, "journal: records %llu..%llu are missing between segments",
                    (unsigned long long)want, (unsigned long long)(next_seg - 1));
            return -1;
        }
    }
}

struct audit_jpos audit_reader_tell(const struct audit_reader *rd)
{
    return (struct audit_jpos){rd->seg, rd->off, rd->next_seq};
}

int audit_reader_seek(struct audit_reader *rd, const struct audit_jpos *pos, char *err,
                      size_t errlen)
{
    if (pos->seg == rd->seg && pos->off <= rd->off && rd->off - pos->off <= rd->start &&
        !rd->skipping) {
        /* Still buffered: step back within the buffer. */
        rd->start -= (size_t)(rd->off - pos->off);
        rd->off = pos->off;
        rd->next_seq = pos->next_seq;
        return 0;
    }
    if (open_seg(rd, pos->seg, err, errlen) != 0)
        return -1;
    rd->off = pos->off;
    rd->next_seq = pos->next_seq;
    return 0;
}

void audit_reader_confirm(struct audit_reader *rd, const struct audit_jpos *pos)
{
    pthread_mutex_lock(&rd->j->mu);
    bool moved_seg = pos->seg != rd->confirmed.seg;
    rd->confirmed = *pos;
    if (moved_seg)
        prune_locked(rd->j);
    pthread_mutex_unlock(&rd->j->mu);
}

void audit_reader_backlog(struct audit_reader *rd, uint64_t *bytes, uint64_t *records)
{
    struct audit_journal *j = rd->j;
    pthread_mutex_lock(&j->mu);
    uint64_t head = head_abs_locked(j), at = j->nsegs ? j->segs[0].base : 0;
    struct segment *s = rd->confirmed.seg ? find_seg_locked(j, rd->confirmed.seg) : NULL;
    if (s)
        at = s->base + rd->confirmed.off;
    *bytes = head > at ? head - at : 0;
    *records =
        j->head_seq + 1 > rd->confirmed.next_seq ? j->head_seq + 1 - rd->confirmed.next_seq : 0;
    pthread_mutex_unlock(&j->mu);
}

struct audit_reader *audit_reader_new(struct audit_journal *j, const char *name, uint64_t after_seq,
                                      uint64_t *lost, char *err, size_t errlen)
{
    struct audit_reader *rd = calloc(1, sizeof(*rd));
    *lost = 0;
    if (!rd || !(rd->name = strdup(name)) || !(rd->buf = malloc(READ_BUF_INIT))) {
        set_err(err, errlen, "out of memory");
        goto fail;
    }
    rd->j = j;
    rd->fd = -1;
    rd->cap = READ_BUF_INIT;
    pthread_mutex_lock(&j->mu);
    uint64_t head = j->head_seq, oldest = j->nsegs ? j->segs[0].first_seq : head + 1;
    uint64_t start_seg = 0, at_seg = 0;
    if (after_seq >= head) {
        /* At the head (or past it: the journal was reset; start with what comes next). */
        start_seg = j->nsegs ? j->segs[j->nsegs - 1].first_seq : 0;
        after_seq = head;
    } else if (after_seq + 1 < oldest) {
        *lost = oldest - after_seq - 1;
        after_seq = oldest - 1;
        start_seg = oldest;
    } else {
        for (size_t i = 0; i < j->nsegs && j->segs[i].first_seq <= after_seq + 1; i++)
            start_seg = j->segs[i].first_seq;
    }
    at_seg = start_seg;
    struct segment *s = at_seg ? find_seg_locked(j, at_seg) : NULL;
    uint64_t end_off = s && after_seq == head ? s->size : 0;
    pthread_mutex_unlock(&j->mu);
    if (open_seg(rd, at_seg, err, errlen) != 0)
        goto fail;
    if (after_seq == head && at_seg) {
        rd->off = end_off;
        rd->next_seq = head + 1;
    } else {
        rd->off = 0;
        rd->next_seq = at_seg ? at_seg : head + 1;
        /* Skip to the first record after after_seq. */
        while (rd->next_seq <= after_seq) {
            const char *l;
            size_t n;
            uint64_t sq;
            int r = audit_reader_next(rd, &l, &n, &sq, err, errlen);
            if (r == 0)
                break;
            if (r < 0)
                goto fail;
        }
    }
    rd->confirmed = audit_reader_tell(rd);
    pthread_mutex_lock(&j->mu);
    struct audit_reader **g = realloc(j->readers, (j->nreaders + 1) * sizeof(*g));
    if (g) {
        j->readers = g;
        j->readers[j->nreaders++] = rd;
    }
    pthread_mutex_unlock(&j->mu);
    if (!g) {
        set_err(err, errlen, "out of memory");
        goto fail;
    }
    return rd;
fail:
    audit_reader_free(rd);
    return NULL;
}

void audit_reader_free(struct audit_reader *rd)
{
    if (!rd)
        return;
    if (rd->j) {
        pthread_mutex_lock(&rd->j->mu);
        for (size_t i = 0; i < rd->j->nreaders; i++)
            if (rd->j->readers[i] == rd) {
                rd->j->readers[i] = rd->j->readers[--rd->j->nreaders];
                break;
            }
        pthread_mutex_unlock(&rd->j->mu);
    }
    if (rd->fd >= 0)
        close(rd->fd);
    free(rd->buf);
    free(rd->name);
    free(rd);
}
