/* flock(2) is BSD/Linux, not POSIX: its lock belongs to the open file, so
 * it also keeps out a second spool_open in the same process (an fcntl lock
 * would not). */
#define _DEFAULT_SOURCE 1

#include "spool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define SPOOL_HDR 16
#define SPOOL_WBUF (1024 * 1024)
#define SPOOL_RCHUNK (256 * 1024)
#define SPOOL_MAX_SEGS 65536

struct spool_seg {
    uint64_t first; /* first sequence in the file */
    uint64_t size;  /* bytes on disk */
};

struct spool {
    char dir[4096 - 64];
    struct spool_seg *segs;
    size_t nsegs, capsegs;
    int lockfd;    /* DIR/lock, flock()ed for as long as the spool is open */
    int wfd;       /* the last segment, open for append */
    uint64_t head; /* next sequence to assign */
    uint64_t seg_bytes, max_bytes;
    char *wbuf;
    size_t wlen;
    uint64_t wrecs; /* records in wbuf */
    int werr;       /* a failed flush the writer has not been told of (spool_next) */
    /* reader */
    int rfd;
    size_t rseg;    /* index into segs */
    uint64_t rnext; /* sequence the reader returns next */
    uint64_t roff;  /* file offset of rbuf[0] */
    char *rbuf;
    size_t rlen, rpos;
};

static uint32_t spool__table[256];

static void spool__init_table(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        spool__table[i] = c;
    }
}

uint32_t spool_crc32(uint32_t crc, const void *buf, size_t len)
{
    const unsigned char *p = buf;
    if (!spool__table[1])
        spool__init_table();
    crc = ~crc;
    while (len--)
        crc = spool__table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
    return ~crc;
}

static void spool__path(const struct spool *sp, uint64_t first, char *out, size_t cap)
{
    snprintf(out, cap, "%s/%020" PRIu64 ".seg", sp->dir, first);
}

static int spool__write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static int spool__cmp(const void *a, const void *b)
{
    const struct spool_seg *x = a, *y = b;
    return x->first < y->first ? -1 : x->first > y->first;
}

static int spool__add_seg(struct spool *sp, uint64_t first, uint64_t size)
{
    if (sp->nsegs == sp->capsegs) {
        size_t ncap = sp->capsegs ? sp->capsegs * 2 : 16;
        struct spool_seg *n;
        if (ncap > SPOOL_MAX_SEGS)
            return -ENOSPC;
        n = realloc(sp->segs, ncap * sizeof(*n));
        if (!n)
            return -ENOMEM;
        sp->segs = n;
        sp->capsegs = ncap;
    }
    sp->segs[sp->nsegs].first = first;
    sp->segs[sp->nsegs].size = size;
    sp->nsegs++;
    return 0;
}

/* Walks one segment, checking every record. *valid gets the byte length of
 * the intact prefix and *last the last good sequence (0 if none). */
static int spool__scan(struct spool *sp, size_t i, uint64_t *valid, uint64_t *last)
{
    char path[4200];
    int fd, rc = 0;
    uint64_t off = 0, expect = sp->segs[i].first;
    char hdr[SPOOL_HDR];
    char *body = NULL;

    *valid = 0;
    *last = 0;
    spool__path(sp, sp->segs[i].first, path, sizeof(path));
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    body = malloc(SPOOL_REC_MAX);
    if (!body) {
        rc = -ENOMEM;
        goto out;
    }
    for (;;) {
        uint32_t len, crc;
        uint64_t seq;
        if (pread(fd, hdr, SPOOL_HDR, (off_t)off) != SPOOL_HDR)
            break;
        memcpy(&len, hdr, 4);
        memcpy(&crc, hdr + 4, 4);
        memcpy(&seq, hdr + 8, 8);
        if (len < 2 || len > SPOOL_REC_MAX || seq != expect)
            break;
        if (pread(fd, body, len, (off_t)(off + SPOOL_HDR)) != (ssize_t)len)
            break;
        if (spool_crc32(spool_crc32(0, &seq, 8), body, len) != crc)
            break;
        off += SPOOL_HDR + len;
        *last = seq;
        expect++;
    }
    *valid = off;
out:
    free(body);
    close(fd);
    return rc;
}

static int spool__open_writer(struct spool *sp)
{
    char path[4200];
    struct spool_seg *s = &sp->segs[sp->nsegs - 1];

    spool__path(sp, s->first, path, sizeof(path));
    sp->wfd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (sp->wfd < 0)
        return -errno;
    return 0;
}

int spool_open(const char *dir, uint64_t committed, uint64_t seg_bytes, uint64_t max_bytes,
               struct spool **out)
{
    struct spool *sp = NULL;
    DIR *d = NULL;
    struct dirent *e;
    int rc;

    *out = NULL;
    if (strlen(dir) >= sizeof(sp->dir) - 32)
        return -ENAMETOOLONG;
    if (mkdir(dir, 0700) < 0 && errno != EEXIST)
        return -errno;
    sp = calloc(1, sizeof(*sp));
    if (!sp)
        return -ENOMEM;
    sp->wfd = sp->rfd = sp->lockfd = -1;
    snprintf(sp->dir, sizeof(sp->dir), "%s", dir);
    {
        char path[4200];
        snprintf(path, sizeof(path), "%s/lock", dir);
        if ((sp->lockfd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0) {
            rc = -errno;
            goto fail;
        }
        /* one process per spool: two writers would number records twice */
        if (flock(sp->lockfd, LOCK_EX | LOCK_NB) < 0) {
            rc = errno == EWOULDBLOCK ? -EBUSY : -errno;
            goto fail;
        }
    }
    sp->seg_bytes = seg_bytes ? seg_bytes : 64u << 20;
    sp->max_bytes = max_bytes;
    sp->wbuf = malloc(SPOOL_WBUF);
    sp->rbuf = malloc(SPOOL_REC_MAX + SPOOL_HDR + SPOOL_RCHUNK);
    rc = -ENOMEM;
    if (!sp->wbuf || !sp->rbuf)
        goto fail;
    d = opendir(dir);
    if (!d) {
        rc = -errno;
        goto fail;
    }
    while ((e = readdir(d))) {
        char *end;
        uint64_t first;
        size_t n = strlen(e->d_name);
        if (n != 24 || strcmp(e->d_name + 20, ".seg") != 0)
            continue;
        first = strtoull(e->d_name, &end, 10);
        if (end != e->d_name + 20 || first == 0)
            continue;
        if ((rc = spool__add_seg(sp, first, 0)))
            goto fail;
    }
    closedir(d);
    d = NULL;
    if (sp->nsegs > 1)
        qsort(sp->segs, sp->nsegs, sizeof(*sp->segs), spool__cmp);
    sp->head = committed + 1;
    uint64_t tail_last = 0; /* last good sequence of the last segment */
    for (size_t i = 0; i < sp->nsegs; i++) {
        uint64_t valid, last;
        char path[4200];
        if ((rc = spool__scan(sp, i, &valid, &last)))
            goto fail;
        spool__path(sp, sp->segs[i].first, path, sizeof(path));
        /* A torn write leaves junk after the last good record; cut it so
         * appends continue from a clean end. */
        if (truncate(path, (off_t)valid) < 0) {
            rc = -errno;
            goto fail;
        }
        sp->segs[i].size = valid;
        tail_last = last;
        if (last && last + 1 > sp->head)
            sp->head = last + 1;
        if (!last && sp->segs[i].first > sp->head)
            sp->head = sp->segs[i].first;
    }
    /* Append only where the numbering continues: a full segment, or one
     * whose records do not end at head - 1 (head was raised by
     * `committed`), gets a fresh segment starting at head. */
    if (sp->nsegs == 0 || sp->segs[sp->nsegs - 1].size >= sp->seg_bytes ||
        (sp->segs[sp->nsegs - 1].size == 0 && sp->segs[sp->nsegs - 1].first != sp->head) ||
        (sp->segs[sp->nsegs - 1].size > 0 && tail_last + 1 != sp->head)) {
        if (sp->nsegs && sp->segs[sp->nsegs - 1].size == 0) {
            char path[4200];
            spool__path(sp, sp->segs[sp->nsegs - 1].first, path, sizeof(path));
            unlink(path);
            sp->nsegs--;
        }
        if ((rc = spool__add_seg(sp, sp->head, 0)))
            goto fail;
    }
    if ((rc = spool__open_writer(sp)))
        goto fail;
    if ((rc = spool_seek(sp, committed + 1)))
        goto fail;
    *out = sp;
    return 0;
fail:
    if (d)
        closedir(d);
    spool_close(sp);
    return rc;
}

void spool_close(struct spool *sp)
{
    if (!sp)
        return;
    if (sp->wfd >= 0) {
        spool_flush(sp, false);
        close(sp->wfd);
    }
    if (sp->rfd >= 0)
        close(sp->rfd);
    if (sp->lockfd >= 0)
        close(sp->lockfd); /* releases the flock */
    free(sp->segs);
    free(sp->wbuf);
    free(sp->rbuf);
    free(sp);
}

/* A write failed (a full disk, most often): cut the last segment back to
 * where it ended before and forget the records after that point, which the
 * caller has therefore not acknowledged. Without this, a retry would write
 * the buffer again after the part that did reach the file, and the reader
 * would meet a torn record in the middle of the segment. */
static void spool__rollback(struct spool *sp, uint64_t size_before, uint64_t nrecs)
{
    struct spool_seg *last = &sp->segs[sp->nsegs - 1];

    if (ftruncate(sp->wfd, (off_t)size_before) == 0 || size_before == last->size) {
        last->size = size_before;
        sp->head -= nrecs;
    }
    /* if even the cut failed, the torn tail stays past `size`; the next
     * open cuts it (spool__scan), and appends go on from the file's end */
    sp->wlen = 0;
    sp->wrecs = 0;
}

int spool_flush(struct spool *sp, bool sync)
{
    int rc;
    if (sp->werr) {
        rc = sp->werr;
        sp->werr = 0;
        return rc;
    }
    if (sp->wlen) {
        rc = spool__write_all(sp->wfd, sp->wbuf, sp->wlen);
        if (rc) {
            spool__rollback(sp, sp->segs[sp->nsegs - 1].size - sp->wlen, sp->wrecs);
            return rc;
        }
        sp->wlen = 0;
        sp->wrecs = 0;
    }
    if (sync && fdatasync(sp->wfd) < 0)
        return -errno;
    return 0;
}

static int spool__roll(struct spool *sp)
{
    int rc = spool_flush(sp, false);
    if (rc)
        return rc;
    close(sp->wfd);
    sp->wfd = -1;
    if ((rc = spool__add_seg(sp, sp->head, 0)))
        return rc;
    return spool__open_writer(sp);
}

int spool_append(struct spool *sp, const char *topic, size_t tlen, const void *payload, size_t plen,
                 uint64_t *seq)
{
    uint32_t len, crc;
    uint16_t tl;
    uint64_t s = sp->head;
    size_t total;
    char hdr[SPOOL_HDR];
    int rc;

    if (tlen > UINT16_MAX || 2 + tlen + plen > SPOOL_REC_MAX)
        return -E2BIG;
    len = (uint32_t)(2 + tlen + plen);
    total = SPOOL_HDR + len;
    if (sp->segs[sp->nsegs - 1].size >= sp->seg_bytes && (rc = spool__roll(sp)))
        return rc;
    if (sp->wlen + total > SPOOL_WBUF && (rc = spool_flush(sp, false)))
        return rc;
    tl = (uint16_t)tlen;
    crc = spool_crc32(0, &s, 8);
    crc = spool_crc32(crc, &tl, 2);
    crc = spool_crc32(crc, topic, tlen);
    crc = spool_crc32(crc, payload, plen);
    memcpy(hdr, &len, 4);
    memcpy(hdr + 4, &crc, 4);
    memcpy(hdr + 8, &s, 8);
    if (total > SPOOL_WBUF) {
        /* larger than the buffer (which is empty now): straight to the
         * file, in order */
        if ((rc = spool__write_all(sp->wfd, hdr, SPOOL_HDR)) ||
            (rc = spool__write_all(sp->wfd, (const char *)&tl, 2)) ||
            (rc = spool__write_all(sp->wfd, topic, tlen)) ||
            (rc = spool__write_all(sp->wfd, payload, plen))) {
            spool__rollback(sp, sp->segs[sp->nsegs - 1].size, 0);
            return rc;
        }
    } else {
        memcpy(sp->wbuf + sp->wlen, hdr, SPOOL_HDR);
        memcpy(sp->wbuf + sp->wlen + SPOOL_HDR, &tl, 2);
        memcpy(sp->wbuf + sp->wlen + SPOOL_HDR + 2, topic, tlen);
        memcpy(sp->wbuf + sp->wlen + SPOOL_HDR + 2 + tlen, payload, plen);
        sp->wlen += total;
        sp->wrecs++;
    }
    sp->segs[sp->nsegs - 1].size += total;
    sp->head++;
    if (seq)
        *seq = s;
    return 0;
}

static int spool__reader_open(struct spool *sp, size_t i)
{
    char path[4200];
    if (sp->rfd >= 0)
        close(sp->rfd);
    sp->rfd = -1;
    spool__path(sp, sp->segs[i].first, path, sizeof(path));
    sp->rfd = open(path, O_RDONLY | O_CLOEXEC);
    if (sp->rfd < 0)
        return -errno;
    sp->rseg = i;
    sp->rnext = sp->segs[i].first;
    sp->roff = 0;
    sp->rlen = sp->rpos = 0;
    return 0;
}

/* Makes at least `need` unread bytes available in rbuf, if the file has
 * them. Returns 1 when they are there, 0 when the file ends first. */
static int spool__fill(struct spool *sp, size_t need)
{
    if (sp->rlen - sp->rpos >= need)
        return 1;
    memmove(sp->rbuf, sp->rbuf + sp->rpos, sp->rlen - sp->rpos);
    sp->roff += sp->rpos;
    sp->rlen -= sp->rpos;
    sp->rpos = 0;
    while (sp->rlen < need) {
        size_t room = SPOOL_REC_MAX + SPOOL_HDR + SPOOL_RCHUNK - sp->rlen;
        ssize_t r = pread(sp->rfd, sp->rbuf + sp->rlen, room, (off_t)(sp->roff + sp->rlen));
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return 0;
        sp->rlen += (size_t)r;
    }
    return 1;
}

int spool_next(struct spool *sp, struct spool_rec *rec)
{
    uint32_t len, crc;
    uint64_t seq;
    uint16_t tl;
    const char *b;
    int rc;

    if (sp->rnext >= sp->head)
        return -EAGAIN;
    /* records still in the write buffer must reach the file first; if they
     * cannot, they are gone (spool__rollback) and the writer learns it
     * from its next spool_flush */
    if (sp->wlen && (rc = spool_flush(sp, false))) {
        sp->werr = rc;
        return -EAGAIN;
    }
    if (sp->rnext >= sp->head)
        return -EAGAIN;
    for (;;) {
        if (spool__fill(sp, SPOOL_HDR))
            break;
        /* end of this segment: move to the next one */
        if (sp->rseg + 1 >= sp->nsegs)
            return -EAGAIN;
        if ((rc = spool__reader_open(sp, sp->rseg + 1)))
            return rc;
    }
    b = sp->rbuf + sp->rpos;
    memcpy(&len, b, 4);
    memcpy(&crc, b + 4, 4);
    memcpy(&seq, b + 8, 8);
    if (len < 2 || len > SPOOL_REC_MAX || seq != sp->rnext || !spool__fill(sp, SPOOL_HDR + len))
        return -EBADMSG;
    b = sp->rbuf + sp->rpos;
    if (spool_crc32(spool_crc32(0, &seq, 8), b + SPOOL_HDR, len) != crc)
        return -EBADMSG;
    memcpy(&tl, b + SPOOL_HDR, 2);
    if ((size_t)tl + 2 > len)
        return -EBADMSG;
    rec->seq = seq;
    rec->topic = b + SPOOL_HDR + 2;
    rec->topic_len = tl;
    rec->payload = b + SPOOL_HDR + 2 + tl;
    rec->len = len - 2 - tl;
    sp->rpos += SPOOL_HDR + len;
    sp->rnext++;
    return 0;
}

int spool_seek(struct spool *sp, uint64_t seq)
{
    struct spool_rec rec;
    size_t i = 0;
    int rc;

    for (size_t k = 0; k < sp->nsegs; k++)
        if (sp->segs[k].first <= seq)
            i = k;
    if ((rc = spool__reader_open(sp, i)))
        return rc;
    if (seq < sp->rnext)
        seq = sp->rnext; /* older records were acknowledged and deleted */
    while (sp->rnext < seq) {
        rc = spool_next(sp, &rec);
        if (rc == -EAGAIN)
            break;
        if (rc)
            return rc;
    }
    if (sp->rnext < seq && seq <= sp->head)
        sp->rnext = seq;
    return 0;
}

int spool_ack(struct spool *sp, uint64_t seq)
{
    size_t drop = 0;
    char path[4200];

    /* segment i is done when the next one starts at or below seq + 1; the
     * last segment is being written and stays */
    while (drop + 1 < sp->nsegs && sp->segs[drop + 1].first <= seq + 1 && drop < sp->rseg)
        drop++;
    if (!drop)
        return 0;
    for (size_t i = 0; i < drop; i++) {
        spool__path(sp, sp->segs[i].first, path, sizeof(path));
        if (unlink(path) < 0 && errno != ENOENT)
            return -errno;
    }
    memmove(sp->segs, sp->segs + drop, (sp->nsegs - drop) * sizeof(*sp->segs));
    sp->nsegs -= drop;
    sp->rseg -= drop;
    return 0;
}

uint64_t spool_bytes(const struct spool *sp)
{
    uint64_t n = 0;
    for (size_t i = 0; i < sp->nsegs; i++)
        n += sp->segs[i].size;
    return n;
}

bool spool_full(const struct spool *sp)
{
    return sp->max_bytes && spool_bytes(sp) > sp->max_bytes;
}

uint64_t spool_head(const struct spool *sp)
{
    return sp->head;
}

uint64_t spool_read_pos(const struct spool *sp)
{
    return sp->rnext;
}

/* ---- metadata ------------------------------------------------------------ */

/* Names are [a-z0-9_]+ so that a name can never be a path, a segment or a
 * temporary file of another name. */
static int spool__meta_path(const struct spool *sp, const char *name, const char *suffix, char *out,
                            size_t cap)
{
    size_t n = strlen(name);
    if (n == 0 || n > 64)
        return -EINVAL;
    for (const char *p = name; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_'))
            return -EINVAL;
    snprintf(out, cap, "%s/%s.meta%s", sp->dir, name, suffix);
    return 0;
}

int spool_meta_get(struct spool *sp, const char *name, char *buf, size_t cap, size_t *len)
{
    char path[4200];
    size_t n = 0;
    int fd, rc;

    if ((rc = spool__meta_path(sp, name, "", path, sizeof(path))))
        return rc;
    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
        return -errno;
    rc = 0;
    for (;;) {
        ssize_t r = read(fd, buf + n, cap - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            rc = -errno;
            break;
        }
        if (r == 0)
            break;
        n += (size_t)r;
        if (n == cap) {
            rc = -E2BIG;
            break;
        }
    }
    close(fd);
    if (!rc && len)
        *len = n;
    return rc;
}

int spool_meta_put(struct spool *sp, const char *name, const void *data, size_t len)
{
    char path[4200], tmp[4200];
    int fd, rc;

    if ((rc = spool__meta_path(sp, name, "", path, sizeof(path))) ||
        (rc = spool__meta_path(sp, name, ".tmp", tmp, sizeof(tmp))))
        return rc;
    if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0)
        return -errno;
    rc = spool__write_all(fd, data, len);
    if (!rc && fsync(fd) < 0)
        rc = -errno;
    if (close(fd) < 0 && !rc)
        rc = -errno;
    /* the new content replaces the old whole or not at all */
    if (!rc && rename(tmp, path) < 0)
        rc = -errno;
    if (rc) {
        unlink(tmp);
        return rc;
    }
    if ((fd = open(sp->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
        if (fsync(fd) < 0)
            rc = -errno;
        close(fd);
    }
    return rc;
}
