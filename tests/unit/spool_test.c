/* spool: round trips with exact contents, numbering, reopen, seek, rollover
 * across small segments, acknowledgement (which files go, which stay), torn
 * and corrupted tails made with plain POSIX calls, the size bounds and the
 * CRC. Every spool lives under one mkdtemp() directory removed at exit. */
#include "spool.h"

#include "check.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char root[256];

static void rm_tree(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char path[1024];
    struct stat st;

    if (!d)
        return;
    while ((e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode))
            rm_tree(path);
        else
            unlink(path);
    }
    closedir(d);
    rmdir(dir);
}

static void cleanup(void)
{
    if (root[0])
        rm_tree(root);
}

/* A fresh path under root for one scenario (spool_open creates it). */
static const char *sdir(const char *name)
{
    static char p[8][512];
    static int k;
    char *out = p[k++ % 8];
    snprintf(out, 512, "%s/%s", root, name);
    return out;
}

static void seg_path(const char *dir, uint64_t first, char *out, size_t cap)
{
    snprintf(out, cap, "%s/%020" PRIu64 ".seg", dir, first);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* The first sequences of the segment files in dir, sorted; other files are
 * counted in *others. */
static size_t list_segs(const char *dir, uint64_t *firsts, size_t cap, size_t *others)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    size_t n = 0;

    CHECK(d != NULL);
    if (others)
        *others = 0;
    while ((e = readdir(d))) {
        size_t l = strlen(e->d_name);
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0 ||
            strcmp(e->d_name, "lock") == 0) /* the spool's lock file */
            continue;
        if (l == 24 && strcmp(e->d_name + 20, ".seg") == 0) {
            CHECK(n < cap);
            firsts[n++] = strtoull(e->d_name, NULL, 10);
        } else if (others) {
            (*others)++;
        }
    }
    closedir(d);
    qsort(firsts, n, sizeof(*firsts), cmp_u64);
    return n;
}

static uint64_t file_size(const char *path)
{
    struct stat st;
    CHECK(stat(path, &st) == 0);
    return (uint64_t)st.st_size;
}

static uint64_t dir_bytes(const char *dir)
{
    uint64_t firsts[256], n = 0;
    char path[1024];
    size_t k = list_segs(dir, firsts, 256, NULL);
    for (size_t i = 0; i < k; i++) {
        seg_path(dir, firsts[i], path, sizeof(path));
        n += file_size(path);
    }
    return n;
}

static void expect_rec(struct spool *sp, uint64_t seq, const char *topic, size_t tlen,
                       const void *payload, size_t plen)
{
    struct spool_rec rec;
    memset(&rec, 0xA5, sizeof(rec));
    CHECK_EQ_INT(spool_next(sp, &rec), 0);
    CHECK_EQ_INT(rec.seq, seq);
    CHECK_EQ_INT(rec.topic_len, tlen);
    CHECK(tlen == 0 || memcmp(rec.topic, topic, tlen) == 0);
    CHECK_EQ_INT(rec.len, plen);
    CHECK(plen == 0 || memcmp(rec.payload, payload, plen) == 0);
}

static void expect_end(struct spool *sp)
{
    struct spool_rec rec;
    CHECK_EQ_INT(spool_next(sp, &rec), -EAGAIN);
}

/* Payload for generated record s: printable prefix plus binary tail. */
static size_t gen_payload(uint64_t s, char *out, size_t n)
{
    char prefix[32];
    int k = snprintf(prefix, sizeof(prefix), "rec-%" PRIu64 "-", s);
    size_t plen = k < 0 ? 0 : (size_t)k;
    /* The whole buffer first, then the prefix over it: a loop that starts at
     * the prefix's length makes GCC 12 at -O3 warn of a write at out[n]
     * (-Wstringop-overflow, a false positive on the vectorised loop's tail). */
    for (size_t i = 0; i < n; i++)
        out[i] = (char)((s * 7 + i * 13) & 0xff);
    memcpy(out, prefix, plen < n ? plen : n);
    return n;
}

#define GEN_TOPIC "eco/v1/in/gen"
#define GEN_LEN 100
/* bytes one generated record takes on disk */
#define GEN_REC (16 + 2 + (sizeof(GEN_TOPIC) - 1) + GEN_LEN)

static void append_gen(struct spool *sp, uint64_t expect_seq)
{
    char p[GEN_LEN];
    uint64_t seq = 0;
    gen_payload(expect_seq, p, sizeof(p));
    CHECK_EQ_INT(spool_append(sp, GEN_TOPIC, strlen(GEN_TOPIC), p, sizeof(p), &seq), 0);
    CHECK_EQ_INT(seq, expect_seq);
}

static void expect_gen(struct spool *sp, uint64_t seq)
{
    char p[GEN_LEN];
    gen_payload(seq, p, sizeof(p));
    expect_rec(sp, seq, GEN_TOPIC, strlen(GEN_TOPIC), p, sizeof(p));
}

static void append_file(const char *path, const void *p, size_t n)
{
    int fd = open(path, O_WRONLY | O_APPEND);
    CHECK(fd >= 0);
    CHECK_EQ_INT(write(fd, p, n), (long long)n);
    CHECK(close(fd) == 0);
}

static const char BIN[] = {'\0', '\x01', '\xff', '\0', 'a', '\n', '\x80'};

static void test_crc(void)
{
    CHECK_EQ_INT(spool_crc32(0, "123456789", 9), 0xCBF43926u);
    /* incremental use gives the same result */
    CHECK_EQ_INT(spool_crc32(spool_crc32(0, "1234", 4), "56789", 5), 0xCBF43926u);
    CHECK_EQ_INT(spool_crc32(0, "", 0), 0);
    CHECK_EQ_INT(spool_crc32(0, "a", 1), 0xE8B7BE43u);
}

/* append / next round trip, from the write buffer and after reopening */
static void test_round_trip(void)
{
    const char *d = sdir("rt");
    struct spool *sp = NULL;
    uint64_t seq = 0;
    struct spool_rec rec;
    char big[300];

    CHECK_EQ_INT(spool_open(d, 0, 0, 0, &sp), 0);
    CHECK(sp != NULL);
    CHECK_EQ_INT(spool_head(sp), 1);
    CHECK_EQ_INT(spool_read_pos(sp), 1);
    expect_end(sp);
    CHECK_EQ_INT(spool_bytes(sp), 0);
    CHECK(!spool_full(sp));

    CHECK_EQ_INT(spool_append(sp, "eco/v1/in/dev1", 14, "{\"a\":1}", 7, &seq), 0);
    CHECK_EQ_INT(seq, 1);
    CHECK_EQ_INT(spool_append(sp, "bin", 3, BIN, sizeof(BIN), &seq), 0);
    CHECK_EQ_INT(seq, 2);
    CHECK_EQ_INT(spool_append(sp, "empty", 5, "", 0, &seq), 0);
    CHECK_EQ_INT(seq, 3);
    CHECK_EQ_INT(spool_append(sp, "", 0, "no topic", 8, NULL), 0);
    memset(big, 'x', sizeof(big));
    CHECK_EQ_INT(spool_append(sp, "t\0nul", 5, big, sizeof(big), &seq), 0);
    CHECK_EQ_INT(seq, 5);
    CHECK_EQ_INT(spool_head(sp), 6);
    /* bytes count what is still in the write buffer */
    CHECK_EQ_INT(spool_bytes(sp), 5 * 18 + 14 + 7 + 3 + 7 + 5 + 0 + 0 + 8 + 5 + 300);

    /* nothing was flushed: the reader still sees everything, in order */
    expect_rec(sp, 1, "eco/v1/in/dev1", 14, "{\"a\":1}", 7);
    CHECK_EQ_INT(spool_read_pos(sp), 2);
    expect_rec(sp, 2, "bin", 3, BIN, sizeof(BIN));
    expect_rec(sp, 3, "empty", 5, "", 0);
    expect_rec(sp, 4, "", 0, "no topic", 8);
    expect_rec(sp, 5, "t\0nul", 5, big, sizeof(big));
    expect_end(sp);
    CHECK_EQ_INT(spool_read_pos(sp), 6);

    /* a record appended after the reader caught up is read too */
    CHECK_EQ_INT(spool_append(sp, "late", 4, "L", 1, &seq), 0);
    CHECK_EQ_INT(seq, 6);
    expect_rec(sp, 6, "late", 4, "L", 1);
    expect_end(sp);
    CHECK_EQ_INT(spool_flush(sp, true), 0);
    CHECK_EQ_INT(spool_bytes(sp), dir_bytes(d));
    spool_close(sp);
    spool_close(NULL);

    /* reopen: head and contents survive, reading starts after committed */
    CHECK_EQ_INT(spool_open(d, 0, 0, 0, &sp), 0);
    CHECK_EQ_INT(spool_head(sp), 7);
    CHECK_EQ_INT(spool_read_pos(sp), 1);
    expect_rec(sp, 1, "eco/v1/in/dev1", 14, "{\"a\":1}", 7);
    expect_rec(sp, 2, "bin", 3, BIN, sizeof(BIN));
    expect_rec(sp, 3, "empty", 5, "", 0);
    expect_rec(sp, 4, "", 0, "no topic", 8);
    expect_rec(sp, 5, "t\0nul", 5, big, sizeof(big));
    expect_rec(sp, 6, "late", 4, "L", 1);
    expect_end(sp);
    CHECK_EQ_INT(spool_append(sp, "more", 4, "M", 1, &seq), 0);
    CHECK_EQ_INT(seq, 7);
    spool_close(sp); /* close flushes */

    CHECK_EQ_INT(spool_open(d, 3, 0, 0, &sp), 0);
    CHECK_EQ_INT(spool_head(sp), 8);
    CHECK_EQ_INT(spool_read_pos(sp), 4);
    expect_rec(sp, 4, "", 0, "no topic", 8);
    CHECK_EQ_INT(spool_seek(sp, 7), 0);
    expect_rec(sp, 7, "more", 4, "M", 1);
    expect_end(sp);
    /* the output record is left alone on -EAGAIN */
    rec.seq = 12345;
    CHECK_EQ_INT(spool_next(sp, &rec), -EAGAIN);
    CHECK_EQ_INT(rec.seq, 12345);
    spool_close(sp);
}

/* numbering on a fresh directory starts above committed */
static void test_fresh_committed(void)
{
    const char *d = sdir("fresh");
    struct spool *sp;
    uint64_t seq = 0, firsts[4];

    CHECK_EQ_INT(spool_open(d, 41, 4096, 0, &sp), 0);
    CHECK_EQ_INT(spool_head(sp), 42);
    CHECK_EQ_INT(spool_read_pos(sp), 42);
    expect_end(sp);
    CHECK_EQ_INT(spool_append(sp, "a", 1, "x", 1, &seq), 0);
    CHECK_EQ_INT(seq, 42);
    expect_rec(sp, 42, "a", 1, "x", 1);
    spool_close(sp);
    /* the segment is named after its first record */
    CHECK_EQ_INT(list_segs(d, firsts, 4, NULL), 1);
    CHECK_EQ_INT(firsts[0], 42);

    /* an empty segment still holds the numbering: reopened with a lower
     * committed, sequences are not handed out twice */
    d = sdir("fresh1");
    CHECK_EQ_INT(spool_open(d, 49, 4096, 0, &sp), 0);
    spool_close(sp);
    CHECK_EQ_INT(spool_open(d, 0, 4096, 0, &sp), 0);
    CHECK_EQ_INT(spool_head(sp), 50);
    expect_end(sp);
    CHECK_EQ_INT(spool_append(sp, "a", 1, "z", 1, &seq), 0);
    CHECK_EQ_INT(seq, 50);
    expect_rec(sp, 50, "a", 1, "z", 1);
    spool_close(sp);

    /* an empty fresh spool reopened with a higher committed renumbers */
    d = sdir("fresh2");
    CHECK_EQ_INT(spool_open(d, 0, 4096, 0, &sp), 0);
    spool_close(sp);
    CHECK_EQ_INT(spool_open(d, 100, 4096, 0, &sp), 0);
    CHECK_EQ_INT(spool_head(sp), 101);
    CHECK_EQ_INT(spool_append(sp, "a", 1, "y", 1, &seq), 0);
    CHECK_EQ_INT(seq, 101);
    spool_close(sp);
    CHECK_EQ_INT(list_segs(d, firsts, 4, NULL), 1);
    CHECK_EQ_INT(firsts[0], 101);
    CHECK_EQ_INT(spool_open(d, 100, 4096, 0, &sp), 0);
    CHECK_EQ_INT(spool_head(sp), 102);
    expect_rec(sp, 101, "a", 1, "y", 1);
    spool_close(sp);
}

static void test_seek(void)
{
    const char *d = sdir("seek");
    struct spool *sp;

    CHECK_EQ_INT(spool_open(d, 0, 0, 0, &sp), 0);
    for (uint64_t s = 1; s <= 10; s++)
        append_gen(sp, s);
    CHECK_EQ_INT(spool_seek(sp, 6), 0);
    CHECK_EQ_INT(spool_read_pos(sp), 6);
    expect_gen(sp, 6);
    expect_gen(sp, 7);
    CHECK_EQ_INT(spool_seek(sp, 2), 0); /* backwards */
    expect_gen(sp, 2);
    CHECK_EQ_INT(spool_seek(sp, 0), 0); /* before the start: the first record */
    expect_gen(sp, 1);
    CHECK_EQ_INT(spool_seek(sp, 10), 0);
    expect_gen(sp, 10);
    expect_end(sp);
    CHECK_EQ_INT(spool_seek(sp, 11), 0); /* the head: nothing to read */
    CHECK_EQ_INT(spool_read_pos(sp), 11);
    expect_end(sp);
    append_gen(sp, 11);
    expect_gen(sp, 11);
    spool_close(sp);
}

/* rollover across small segments, reading across boundaries, ack */
static void test_rollover_ack(void)
{
    const char *d = sdir("roll");
    struct spool *sp;
    uint64_t firsts[64], firsts2[64], bytes;
    size_t n, n2, others;
    char path[1024];
    const uint64_t N = 200;

    CHECK_EQ_INT(spool_open(d, 0, 4096, 0, &sp), 0);
    for (uint64_t s = 1; s <= N; s++)
        append_gen(sp, s);
    CHECK_EQ_INT(spool_flush(sp, false), 0);
    n = list_segs(d, firsts, 64, &others);
    CHECK_EQ_INT(others, 0);
    /* 200 records of GEN_REC bytes in segments of 4096: several files */
    CHECK(n >= (N * GEN_REC) / (4096 + GEN_REC));
    CHECK(n >= 5);
    CHECK_EQ_INT(firsts[0], 1);
    for (size_t i = 0; i < n; i++) {
        seg_path(d, firsts[i], path, sizeof(path));
        uint64_t sz = file_size(path);
        /* every file holds whole records, exactly its range of sequences */
        CHECK_EQ_INT(sz % GEN_REC, 0);
        if (i + 1 < n) {
            CHECK_EQ_INT(sz / GEN_REC, firsts[i + 1] - firsts[i]);
            CHECK(sz >= 4096 && sz < 4096 + GEN_REC); /* rolled at the bound */
        } else {
            CHECK_EQ_INT(sz / GEN_REC, N + 1 - firsts[i]);
        }
    }
    CHECK_EQ_INT(spool_bytes(sp), N * GEN_REC);
    CHECK_EQ_INT(dir_bytes(d), N * GEN_REC);

    /* the reader crosses every boundary in order */
    for (uint64_t s = 1; s <= N; s++)
        expect_gen(sp, s);
    expect_end(sp);

    /* seek exactly to a segment's first record and to the one before it */
    CHECK_EQ_INT(spool_seek(sp, firsts[2]), 0);
    expect_gen(sp, firsts[2]);
    CHECK_EQ_INT(spool_seek(sp, firsts[2] - 1), 0);
    expect_gen(sp, firsts[2] - 1);
    expect_gen(sp, firsts[2]);
    spool_close(sp);

    /* reopen: same files, same records */
    CHECK_EQ_INT(spool_open(d, 0, 4096, 0, &sp), 0);
    CHECK_EQ_INT(spool_head(sp), N + 1);
    n2 = list_segs(d, firsts2, 64, NULL);
    CHECK_EQ_INT(n2, n);
    CHECK(memcmp(firsts, firsts2, n * sizeof(*firsts)) == 0);
    for (uint64_t s = 1; s <= N; s++)
        expect_gen(sp, s);
    expect_end(sp);

    /* ack never deletes the segment being read: move the reader back to
     * the first segment and acknowledge everything */
    CHECK_EQ_INT(spool_seek(sp, 1), 0);
    CHECK_EQ_INT(spool_ack(sp, N), 0);
    CHECK_EQ_INT(list_segs(d, firsts2, 64, NULL), n);
    expect_gen(sp, 1);

    /* reader in segment 3 (index 3); ack through the end of segment 1:
     * segments 0 and 1 go, 2 and later stay */
    CHECK_EQ_INT(spool_seek(sp, firsts[3] + 1), 0);
    bytes = spool_bytes(sp);
    CHECK_EQ_INT(spool_ack(sp, firsts[2] - 1), 0);
    n2 = list_segs(d, firsts2, 64, NULL);
    CHECK_EQ_INT(n2, n - 2);
    CHECK_EQ_INT(firsts2[0], firsts[2]);
    CHECK_EQ_INT(spool_bytes(sp), bytes - (firsts[2] - 1) * GEN_REC);
    CHECK_EQ_INT(spool_bytes(sp), dir_bytes(d));
    /* the reader carries on where it was */
    expect_gen(sp, firsts[3] + 1);

    /* ack in the middle of segment 2: it still holds newer records */
    CHECK_EQ_INT(spool_ack(sp, firsts[3] - 2), 0);
    CHECK_EQ_INT(list_segs(d, firsts2, 64, NULL), n - 2);
    /* ack(k) with k the last of segment 2 deletes it */
    CHECK_EQ_INT(spool_ack(sp, firsts[3] - 1), 0);
    CHECK_EQ_INT(list_segs(d, firsts2, 64, NULL), n - 3);
    CHECK_EQ_INT(firsts2[0], firsts[3]);
    /* an older ack changes nothing */
    CHECK_EQ_INT(spool_ack(sp, 1), 0);
    CHECK_EQ_INT(list_segs(d, firsts2, 64, NULL), n - 3);
    /* seeking to a deleted record lands on the oldest one kept */
    CHECK_EQ_INT(spool_seek(sp, 1), 0);
    CHECK_EQ_INT(spool_read_pos(sp), firsts[3]);
    expect_gen(sp, firsts[3]);

    /* read to the end, ack everything: only the segment being written
     * (which the reader is also in) remains */
    CHECK_EQ_INT(spool_seek(sp, N), 0);
    expect_gen(sp, N);
    expect_end(sp);
    CHECK_EQ_INT(spool_ack(sp, N), 0);
    CHECK_EQ_INT(list_segs(d, firsts2, 64, NULL), 1);
    CHECK_EQ_INT(firsts2[0], firsts[n - 1]);
    CHECK_EQ_INT(spool_bytes(sp), dir_bytes(d));
    /* and appending continues there, then rolls over again */
    for (uint64_t s = N + 1; s <= N + 80; s++)
        append_gen(sp, s);
    for (uint64_t s = N + 1; s <= N + 80; s++)
        expect_gen(sp, s);
    expect_end(sp);
    CHECK_EQ_INT(spool_flush(sp, false), 0);
    CHECK(list_segs(d, firsts2, 64, NULL) >= 2);
    spool_close(sp);

    /* reopened after the ack, reading starts at the oldest record kept */
    CHECK_EQ_INT(spool_open(d, N, 4096, 0, &sp), 0);
    CHECK_EQ_INT(spool_head(sp), N + 81);
    CHECK_EQ_INT(spool_read_pos(sp), N + 1);
    for (uint64_t s = N + 1; s <= N + 80; s++)
        expect_gen(sp, s);
    expect_end(sp);
    spool_close(sp);
}

/* a crash mid-write: junk after the last record, a record cut short */
static void test_torn_tail(void)
{
    const char *d = sdir("torn");
    struct spool *sp;
    uint64_t firsts[8], good;
    char path[1024], junk[40];

    CHECK_EQ_INT(spool_open(d, 0, 0, 0, &sp), 0);
    for (uint64_t s = 1; s <= 5; s++)
        append_gen(sp, s);
    spool_close(sp);
    CHECK_EQ_INT(list_segs(d, firsts, 8, NULL), 1);
    seg_path(d, firsts[0], path, sizeof(path));
    good = file_size(path);
    CHECK_EQ_INT(good, 5 * GEN_REC);

    /* garbage bytes appended */
    memset(junk, 0xAB, sizeof(junk));
    append_file(path, junk, sizeof(junk));
    CHECK_EQ_INT(spool_open(d, 0, 0, 0, &sp), 0);
    CHECK_EQ_INT(file_size(path), good); /* cut back on open */
    CHECK_EQ_INT(spool_head(sp), 6);
    for (uint64_t s = 1; s <= 5; s++)
        expect_gen(sp, s);
    expect_end(sp);
    append_gen(sp, 6);
    expect_gen(sp, 6);
    spool_close(sp);
    CHECK_EQ_INT(spool_open(d, 0, 0, 0, &sp), 0);
    CHECK_EQ_INT(spool_head(sp), 7);
    for (uint64_t s = 1; s <= 6; s++)
        expect_gen(sp, s);
    expect_end(sp);
    spool_close(sp);

    /* the last record cut in its body: it is dropped, numbering resumes
     * after the last good one, and the new record 6 replaces it */
    good = file_size(path);
    CHECK(truncate(path, (off_t)(good - 7)) == 0);
    CHECK_EQ_INT(spool_open(d, 0, 0, 0, &sp), 0);
    CHECK_EQ_INT(spool_head(sp), 6);
    CHECK_EQ_INT(file_size(path), good - GEN_REC);
    for (uint64_t s = 1; s <= 5; s++)
        expect_gen(sp, s);
    expect_end(sp);
    uint64_t seq = 0;
    CHECK_EQ_INT(spool_append(sp, "new", 3, "six", 3, &seq), 0);
    CHECK_EQ_INT(seq, 6);
    spool_close(sp);
    CHECK_EQ_INT(spool_open(d, 0, 0, 0, &sp), 0);
    CHECK_EQ_INT(spool_head(sp), 7);
    CHECK_EQ_INT(spool_seek(sp, 6), 0);
    expect_rec(sp, 6, "new", 3, "six", 3);
    expect_end(sp);
    spool_close(sp);

    /* cut inside the header of the last record (8 of its 16 bytes) */
    good = file_size(path);
    CHECK(truncate(path, (off_t)(good - (16 + 2 + 3 + 3) + 8)) == 0);
    CHECK_EQ_INT(spool_open(d, 0, 0, 0, &sp), 0);
    CHECK_EQ_INT(spool_head(sp), 6);
    CHECK_EQ_INT(file_size(path), 5 * GEN_REC);
    spool_close(sp);

    /* a torn first record in a segment just rolled to: the segment ends up
     * empty and is reused for the same sequence */
    d = sdir("torn2");
    CHECK_EQ_INT(spool_open(d, 0, 4096, 0, &sp), 0);
    uint64_t s = 1;
    size_t n;
    for (;; s++) {
        append_gen(sp, s);
        CHECK_EQ_INT(spool_flush(sp, false), 0);
        n = list_segs(d, firsts, 8, NULL);
        if (n == 2)
            break;
        CHECK(s < 100);
    }
    spool_close(sp);
    CHECK_EQ_INT(firsts[1], s);
    seg_path(d, firsts[1], path, sizeof(path));
    CHECK(truncate(path, GEN_REC - 1) == 0);
    CHECK_EQ_INT(spool_open(d, 0, 4096, 0, &sp), 0);
    CHECK_EQ_INT(spool_head(sp), s);
    for (uint64_t k = 1; k < s; k++)
        expect_gen(sp, k);
    expect_end(sp);
    append_gen(sp, s);
    expect_gen(sp, s);
    spool_close(sp);
    CHECK_EQ_INT(list_segs(d, firsts, 8, NULL), 2);
    CHECK_EQ_INT(firsts[1], s);

    /* a header-sized tail that claims the next sequence but has no body */
    d = sdir("torn3");
    CHECK_EQ_INT(spool_open(d, 0, 0, 0, &sp), 0);
    append_gen(sp, 1);
    spool_close(sp);
    list_segs(d, firsts, 8, NULL);
    seg_path(d, firsts[0], path, sizeof(path));
    {
        char hdr[16];
        uint32_t len = 100, crc = 0;
        uint64_t q = 2;
        memcpy(hdr, &len, 4);
        memcpy(hdr + 4, &crc, 4);
        memcpy(hdr + 8, &q, 8);
        append_file(path, hdr, sizeof(hdr));
    }
    CHECK_EQ_INT(spool_open(d, 0, 0, 0, &sp), 0);
    CHECK_EQ_INT(spool_head(sp), 2);
    CHECK_EQ_INT(file_size(path), GEN_REC);
    expect_gen(sp, 1);
    expect_end(sp);
    spool_close(sp);
}

/* a bad CRC in the middle of the last segment */
static void test_corrupt(void)
{
    const char *d = sdir("crc");
    struct spool *sp;
    struct spool_rec rec;
    uint64_t firsts[8];
    char path[1024];
    unsigned char c;
    int fd;

    CHECK_EQ_INT(spool_open(d, 0, 0, 0, &sp), 0);
    for (uint64_t s = 1; s <= 10; s++)
        append_gen(sp, s);
    CHECK_EQ_INT(spool_flush(sp, false), 0);
    list_segs(d, firsts, 8, NULL);
    seg_path(d, firsts[0], path, sizeof(path));

    /* flip one payload byte of record 5 under a live spool: the reader
     * refuses it rather than return altered data */
    fd = open(path, O_RDWR);
    CHECK(fd >= 0);
    off_t off = (off_t)(4 * GEN_REC + GEN_REC - 3);
    CHECK_EQ_INT(pread(fd, &c, 1, off), 1);
    c ^= 0x40;
    CHECK_EQ_INT(pwrite(fd, &c, 1, off), 1);
    CHECK(close(fd) == 0);
    for (uint64_t s = 1; s <= 4; s++)
        expect_gen(sp, s);
    CHECK_EQ_INT(spool_next(sp, &rec), -EBADMSG);
    spool_close(sp);

    /* reopen: cut at the bad record; what follows it is gone too */
    CHECK_EQ_INT(spool_open(d, 0, 0, 0, &sp), 0);
    CHECK_EQ_INT(spool_head(sp), 5);
    CHECK_EQ_INT(file_size(path), 4 * GEN_REC);
    for (uint64_t s = 1; s <= 4; s++)
        expect_gen(sp, s);
    expect_end(sp);
    append_gen(sp, 5);
    expect_gen(sp, 5);
    spool_close(sp);

    /* a damaged CRC field (not the body) is caught the same way */
    fd = open(path, O_RDWR);
    CHECK(fd >= 0);
    off = (off_t)(2 * GEN_REC + 4);
    CHECK_EQ_INT(pread(fd, &c, 1, off), 1);
    c ^= 0x01;
    CHECK_EQ_INT(pwrite(fd, &c, 1, off), 1);
    CHECK(close(fd) == 0);
    CHECK_EQ_INT(spool_open(d, 0, 0, 0, &sp), 0);
    CHECK_EQ_INT(spool_head(sp), 3);
    expect_gen(sp, 1);
    expect_gen(sp, 2);
    expect_end(sp);
    spool_close(sp);
}

static void test_bounds(void)
{
    const char *d = sdir("full");
    struct spool *sp;
    uint64_t seq = 0, firsts[64];
    char *huge;
    size_t max_plen = SPOOL_REC_MAX - 2 - 5;

    /* spool_full: strictly more than max_bytes (7 records fill it exactly) */
    CHECK_EQ_INT(spool_open(d, 0, 512, 7 * GEN_REC, &sp), 0);
    CHECK(!spool_full(sp));
    for (uint64_t s = 1; s <= 20; s++) {
        append_gen(sp, s);
        CHECK_EQ_INT(spool_bytes(sp), s * GEN_REC);
        CHECK_EQ_INT(spool_full(sp), s > 7);
    }
    CHECK(spool_full(sp));
    /* full is a report, not a refusal */
    append_gen(sp, 21);
    /* acknowledging and deleting segments brings it back under */
    for (uint64_t s = 1; s <= 21; s++)
        expect_gen(sp, s);
    CHECK_EQ_INT(spool_ack(sp, 21), 0);
    CHECK(!spool_full(sp));
    CHECK_EQ_INT(list_segs(d, firsts, 64, NULL), 1);
    CHECK(spool_bytes(sp) <= 7 * GEN_REC);
    spool_close(sp);

    /* max_bytes 0: never full */
    d = sdir("nomax");
    CHECK_EQ_INT(spool_open(d, 0, 0, 0, &sp), 0);
    for (uint64_t s = 1; s <= 50; s++)
        append_gen(sp, s);
    CHECK(!spool_full(sp));
    spool_close(sp);

    /* record size limits */
    d = sdir("big");
    huge = malloc(SPOOL_REC_MAX + 2);
    CHECK(huge != NULL);
    for (size_t i = 0; i < SPOOL_REC_MAX + 2; i++)
        huge[i] = (char)(i * 31 + 7);
    CHECK_EQ_INT(spool_open(d, 0, 0, 0, &sp), 0);
    CHECK_EQ_INT(spool_append(sp, "small", 5, "a", 1, &seq), 0);
    CHECK_EQ_INT(spool_append(sp, "bigtp", 5, huge, max_plen + 1, &seq), -E2BIG);
    CHECK_EQ_INT(spool_append(sp, huge, 65536, "x", 1, &seq), -E2BIG);
    CHECK_EQ_INT(spool_head(sp), 2);
    CHECK_EQ_INT(spool_bytes(sp), 16 + 2 + 5 + 1);
    /* exactly the largest record: accepted, written past the buffer, in
     * order with the buffered records around it */
    CHECK_EQ_INT(spool_append(sp, "bigtp", 5, huge, max_plen, &seq), 0);
    CHECK_EQ_INT(seq, 2);
    CHECK_EQ_INT(spool_append(sp, "small", 5, "b", 1, &seq), 0);
    CHECK_EQ_INT(seq, 3);
    CHECK_EQ_INT(spool_append(sp, huge, 65535, "t", 1, &seq), 0); /* longest topic */
    CHECK_EQ_INT(seq, 4);
    expect_rec(sp, 1, "small", 5, "a", 1);
    expect_rec(sp, 2, "bigtp", 5, huge, max_plen);
    expect_rec(sp, 3, "small", 5, "b", 1);
    expect_rec(sp, 4, huge, 65535, "t", 1);
    expect_end(sp);
    spool_close(sp);
    CHECK_EQ_INT(spool_open(d, 0, 0, 0, &sp), 0);
    CHECK_EQ_INT(spool_head(sp), 5);
    expect_rec(sp, 1, "small", 5, "a", 1);
    expect_rec(sp, 2, "bigtp", 5, huge, max_plen);
    expect_rec(sp, 3, "small", 5, "b", 1);
    expect_rec(sp, 4, huge, 65535, "t", 1);
    expect_end(sp);
    spool_close(sp);
    free(huge);

    /* a directory name that cannot fit */
    {
        char longdir[5000];
        memset(longdir, 'a', sizeof(longdir) - 1);
        longdir[sizeof(longdir) - 1] = '\0';
        sp = (struct spool *)1;
        CHECK_EQ_INT(spool_open(longdir, 0, 0, 0, &sp), -ENAMETOOLONG);
        CHECK(sp == NULL);
    }
}

/* Exposes a bug (see the report): a spool reopened with a committed
 * sequence above its last record numbers new records from committed + 1
 * but appends them to the old segment, right after a lower sequence. The
 * next open's scan expects consecutive sequences, stops there and
 * truncates them away: records that were flushed (even fsynced) are lost. */
static void test_committed_ahead(void)
{
    const char *d = sdir("ahead");
    struct spool *sp;
    uint64_t seq = 0;

    CHECK_EQ_INT(spool_open(d, 0, 0, 0, &sp), 0);
    for (uint64_t s = 1; s <= 3; s++)
        append_gen(sp, s);
    spool_close(sp);
    CHECK_EQ_INT(spool_open(d, 10, 0, 0, &sp), 0);
    CHECK_EQ_INT(spool_head(sp), 11);
    CHECK_EQ_INT(spool_append(sp, "t", 1, "eleven", 6, &seq), 0);
    CHECK_EQ_INT(seq, 11);
    expect_rec(sp, 11, "t", 1, "eleven", 6);
    CHECK_EQ_INT(spool_flush(sp, true), 0);
    spool_close(sp);
    CHECK_EQ_INT(spool_open(d, 10, 0, 0, &sp), 0);
    CHECK_EQ_INT(spool_head(sp), 12); /* fails: 11, record 11 was cut off */
    expect_rec(sp, 11, "t", 1, "eleven", 6);
    expect_end(sp);
    spool_close(sp);
}

/* Named metadata travels with the spool: absent, written, replaced whole,
 * read back after a reopen; names cannot escape the directory or clash
 * with segments; a file larger than the caller's buffer is -E2BIG. */
static void test_meta(void)
{
    const char *d = sdir("meta");
    struct spool *sp;
    char buf[64];
    size_t n = 0;

    CHECK_EQ_INT(spool_open(d, 0, 0, 0, &sp), 0);
    CHECK_EQ_INT(spool_meta_get(sp, "database_id", buf, sizeof(buf), &n), -ENOENT);
    CHECK_EQ_INT(spool_meta_put(sp, "database_id", "first value", 11), 0);
    CHECK_EQ_INT(spool_meta_put(sp, "database_id", "abc", 3), 0);
    CHECK_EQ_INT(spool_meta_get(sp, "database_id", buf, sizeof(buf), &n), 0);
    CHECK_EQ_INT(n, 3);
    CHECK(memcmp(buf, "abc", 3) == 0);
    CHECK_EQ_INT(spool_meta_get(sp, "database_id", buf, 3, &n), -E2BIG);
    CHECK_EQ_INT(spool_meta_put(sp, "../x", "a", 1), -EINVAL);
    CHECK_EQ_INT(spool_meta_put(sp, "", "a", 1), -EINVAL);
    CHECK_EQ_INT(spool_meta_put(sp, "a.seg", "a", 1), -EINVAL);
    CHECK_EQ_INT(spool_meta_put(sp, "empty", "", 0), 0);
    spool_close(sp);
    CHECK_EQ_INT(spool_open(d, 0, 0, 0, &sp), 0);
    CHECK_EQ_INT(spool_meta_get(sp, "database_id", buf, sizeof(buf), &n), 0);
    CHECK_EQ_INT(n, 3);
    CHECK_EQ_INT(spool_meta_get(sp, "empty", buf, sizeof(buf), &n), 0);
    CHECK_EQ_INT(n, 0);
    CHECK_EQ_INT(spool_head(sp), 1); /* metadata is not mistaken for records */
    expect_end(sp);
    spool_close(sp);
}

/* One process per spool: a second open of the directory is refused while
 * the first is open, and allowed once it is closed. */
static void test_lock(void)
{
    const char *d = sdir("lock");
    struct spool *a, *b = (struct spool *)1;

    CHECK_EQ_INT(spool_open(d, 0, 0, 0, &a), 0);
    CHECK_EQ_INT(spool_open(d, 0, 0, 0, &b), -EBUSY);
    CHECK(b == NULL);
    spool_close(a);
    CHECK_EQ_INT(spool_open(d, 0, 0, 0, &b), 0);
    spool_close(b);
}

/* The checks run in a child so that the temporary directory is removed
 * even when a check fails or a sanitizer aborts the run. */
static const struct check_case cases[] = {
    CHECK_CASE(test_crc),     CHECK_CASE(test_round_trip),      CHECK_CASE(test_fresh_committed),
    CHECK_CASE(test_seek),    CHECK_CASE(test_rollover_ack),    CHECK_CASE(test_torn_tail),
    CHECK_CASE(test_corrupt), CHECK_CASE(test_bounds),          CHECK_CASE(test_meta),
    CHECK_CASE(test_lock),    CHECK_CASE(test_committed_ahead),
};

int main(int argc, char **argv)
{
    const char *tmp = getenv("TMPDIR");
    int rc;

    snprintf(root, sizeof(root), "%s/spool_test.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    CHECK(mkdtemp(root) != NULL);
    rc = CHECK_MAIN(argc, argv, cases);
    cleanup();
    return rc;
}
