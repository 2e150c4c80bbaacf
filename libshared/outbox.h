/* outbox: a bounded FIFO of QoS 1 publications waiting for the MQTT client's
 * window (mq_publish returns -EAGAIN while max_outstanding publishes await
 * their acknowledgement, and -ENOTCONN while away). Producers check
 * outbox_full and stop producing (that is the backpressure); nothing put
 * here is dropped while the process lives. Loop thread only. */
#ifndef ECO_OUTBOX_H
#define ECO_OUTBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct mq;
struct outbox_item;

struct outbox {
    struct mq *mq; /* borrowed */
    struct outbox_item *head, **tail;
    size_t n, bytes;
    size_t max_items, max_bytes;
    uint64_t sent; /* handed to the client */
};

void outbox_init(struct outbox *ob, struct mq *mq, size_t max_items, size_t max_bytes);
/* Frees whatever is still queued and returns how many items that was. */
size_t outbox_close(struct outbox *ob);
/* Copies topic and payload. Tries to send at once. Returns 0 or -ENOMEM;
 * it accepts past the bound (callers check outbox_full before producing a
 * whole batch, so one batch may overshoot it by its own size). */
int outbox_put(struct outbox *ob, const char *topic, const void *payload, size_t len, bool retain);
/* Sends what the client's window allows; call on acknowledgements and on
 * (re)connect. */
void outbox_drain(struct outbox *ob);
bool outbox_full(const struct outbox *ob);
size_t outbox_len(const struct outbox *ob);

#endif
