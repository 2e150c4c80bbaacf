/* spool: a durable, bounded, append-only queue of (topic, payload) records
 * on local disk: the write-ahead log between the broker and the database.
 *
 * Records get consecutive sequence numbers. The service appends what it
 * receives, flushes before the broker is acknowledged, reads records back in
 * order to store them, and acknowledges (spool_ack) up to the sequence its
 * database transaction recorded; whole segments below that are deleted. On
 * open, a torn tail (a crash mid-write) is cut off at the last record whose
 * CRC checks.
 *
 * Files: DIR/<first-seq, 20 digits>.seg. Record: u32 body length, u32 CRC-32
 * of (seq, body), u64 seq, body = u16 topic length, topic, payload; host
 * byte order (a spool is not moved between machines).
 *
 * I/O is blocking on page-cache files: cheap next to the network, and it
 * keeps the ordering "durable before acknowledged" simple. Not thread-safe. */
#ifndef ECO_SPOOL_H
#define ECO_SPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Largest record body (topic + payload + 2). */
#define SPOOL_REC_MAX (1024 * 1024 + 1024)

struct spool;

struct spool_rec {
    uint64_t seq;
    const char *topic; /* not NUL-terminated */
    size_t topic_len;
    const char *payload;
    size_t len;
};

/* Opens (creating) DIR and locks it (flock on DIR/lock, released by
 * spool_close or the process's exit): -EBUSY when another open spool, in
 * this process or another, holds it. `committed` is the last sequence known stored
 * downstream: reading starts after it and new records are numbered above
 * it even when the spool is empty. seg_bytes: segment size before rolling
 * over; max_bytes: the bound spool_full reports against. */
int spool_open(const char *dir, uint64_t committed, uint64_t seg_bytes, uint64_t max_bytes,
               struct spool **out);
/* Flushes and closes; NULL is a no-op. */
void spool_close(struct spool *sp);

/* Appends a record (buffered until spool_flush). Returns 0, -E2BIG when the
 * record exceeds SPOOL_REC_MAX, or -errno from writing.
 *
 * When a write fails (-ENOSPC on a full disk, -EIO...), whether in
 * spool_append, spool_flush or the flush spool_next does first, every record
 * appended since the last successful flush is dropped from the spool (the
 * segment is cut back, spool_head goes back): the caller must not
 * acknowledge them, and the spool stays readable. spool_flush reports such a
 * failure even when spool_next met it. Appending may resume at once. */
int spool_append(struct spool *sp, const char *topic, size_t tlen, const void *payload, size_t plen,
                 uint64_t *seq);
/* Writes buffered records to the file; with sync, also fdatasync. */
int spool_flush(struct spool *sp, bool sync);

/* Positions the reader at the first record with sequence >= seq. */
int spool_seek(struct spool *sp, uint64_t seq);
/* Reads the next record; rec's pointers are valid until the next call.
 * Returns 0, -EAGAIN when there is nothing more, -EBADMSG on corruption. */
int spool_next(struct spool *sp, struct spool_rec *rec);

/* Everything up to and including seq is stored downstream: deletes the
 * segments that hold nothing newer. */
int spool_ack(struct spool *sp, uint64_t seq);

/* Bytes on disk (and in the buffer). */
uint64_t spool_bytes(const struct spool *sp);
/* True when spool_bytes exceeds max_bytes. */
bool spool_full(const struct spool *sp);
/* The sequence the next append gets. */
uint64_t spool_head(const struct spool *sp);
/* The sequence the reader returns next. */
uint64_t spool_read_pos(const struct spool *sp);

/* Small named files that travel with the spool (DIR/<name>.meta): what a
 * service must know about the spool's past, e.g. which database it belongs
 * to. name is [a-z0-9_]{1,64}. spool_meta_get reads the whole file into buf
 * (*len, may be NULL, gets its size): 0, -ENOENT when there is none, -E2BIG
 * when it does not fit cap, -EINVAL for a bad name, or -errno.
 * spool_meta_put replaces it atomically and durably (temporary file, fsync,
 * rename, fsync of the directory): 0 or -errno. */
int spool_meta_get(struct spool *sp, const char *name, char *buf, size_t cap, size_t *len);
int spool_meta_put(struct spool *sp, const char *name, const void *data, size_t len);

/* CRC-32 (IEEE), exposed for tests. */
uint32_t spool_crc32(uint32_t crc, const void *buf, size_t len);

#endif
