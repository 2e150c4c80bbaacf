#include "outbox.h"

#include "mq.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct outbox_item {
    struct outbox_item *next;
    size_t tlen, len;
    bool retain;
    char data[]; /* topic '\0' payload */
};

void outbox_init(struct outbox *ob, struct mq *mq, size_t max_items, size_t max_bytes)
{
    memset(ob, 0, sizeof(*ob));
    ob->mq = mq;
    ob->tail = &ob->head;
    ob->max_items = max_items;
    ob->max_bytes = max_bytes;
}

size_t outbox_close(struct outbox *ob)
{
    size_t n = ob->n;
    struct outbox_item *it;
    while ((it = ob->head)) {
        ob->head = it->next;
        free(it);
    }
    ob->tail = &ob->head;
    ob->n = ob->bytes = 0;
    return n;
}

void outbox_drain(struct outbox *ob)
{
    struct outbox_item *it;
    while ((it = ob->head)) {
        int rc =
            mq_publish(ob->mq, it->data, it->data + it->tlen + 1, it->len, 1, it->retain, NULL);
        if (rc == -EAGAIN || rc == -ENOTCONN)
            return;
        /* Other errors (a topic the broker cannot take) would block the
         * queue forever; the item is discarded and counted as sent so the
         * stream moves on. */
        ob->head = it->next;
        if (!ob->head)
            ob->tail = &ob->head;
        ob->n--;
        ob->bytes -= it->tlen + it->len;
        ob->sent++;
        free(it);
    }
}

int outbox_put(struct outbox *ob, const char *topic, const void *payload, size_t len, bool retain)
{
    size_t tlen = strlen(topic);
    struct outbox_item *it = malloc(sizeof(*it) + tlen + 1 + len);

    if (!it)
        return -ENOMEM;
    it->next = NULL;
    it->tlen = tlen;
    it->len = len;
    it->retain = retain;
    memcpy(it->data, topic, tlen + 1);
    if (len)
        memcpy(it->data + tlen + 1, payload, len);
    *ob->tail = it;
    ob->tail = &it->next;
    ob->n++;
    ob->bytes += tlen + len;
    if (ob->n == 1)
        outbox_drain(ob);
    return 0;
}

bool outbox_full(const struct outbox *ob)
{
    return ob->n >= ob->max_items || ob->bytes >= ob->max_bytes;
}

size_t outbox_len(const struct outbox *ob)
{
    return ob->n;
}
