/* dlq: dead letters. A message a service refuses is published on
 * eco/v1/dlq/{service} (schemas/json/dlq.schema.json) and stored in
 * obs.deadletter with the reason, so nothing is dropped silently and the
 * rest of the stream goes on.
 *
 * Threading: the loop thread (it queues on the service's db and outbox). */
#ifndef ECO_DLQ_H
#define ECO_DLQ_H

#include "buf.h"

#include <stddef.h>

struct db;
struct outbox;

/* The payload kept in a dead letter, at most (longer ones are cut). */
#define DLQ_PAYLOAD_MAX 4096

/* Writes the dead-letter message (topic, payload cut at DLQ_PAYLOAD_MAX,
 * reason, time) into out, replacing its contents. Returns 0 or -ENOMEM. */
int dlq_format(struct buf *out, const char *topic, const void *payload, size_t len,
               const char *why);

/* Publishes the dead letter on eco/v1/dlq/{service} through ob and queues
 * its obs.deadletter row on db (either may be NULL). scratch is the caller's
 * reusable buffer. Returns 0 or a negative errno (logged by the caller). */
int dlq_send(struct outbox *ob, struct db *db, const char *service, const char *topic,
             const void *payload, size_t len, const char *why, struct buf *scratch);

#endif
