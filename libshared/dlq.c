#include "dlq.h"

#include "db.h"
#include "etime.h"
#include "mq.h"
#include "outbox.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

int dlq_format(struct buf *out, const char *topic, const void *payload, size_t len, const char *why)
{
    char ts[ETIME_RFC3339_MAX];
    size_t n = len > DLQ_PAYLOAD_MAX ? DLQ_PAYLOAD_MAX : len;
    etime_format(etime_now_us(), 0, ts, sizeof(ts));
    buf_reset(out);
    if (buf_addstr(out, "{\"topic\":\"") || buf_add_json_str(out, topic, strlen(topic)) ||
        buf_addstr(out, "\",\"payload\":\"") || buf_add_json_str(out, payload, n) ||
        buf_addstr(out, "\",\"reason\":\"") || buf_add_json_str(out, why, strlen(why)) ||
        buf_printf(out, "\",\"time\":\"%s\"}", ts))
        return -ENOMEM;
    return 0;
}

int dlq_send(struct outbox *ob, struct db *db, const char *service, const char *topic,
             const void *payload, size_t len, const char *why, struct buf *scratch)
{
    char dlq_topic[MQ_TOPIC_MAX];
    const char *params[4];
    size_t n = len > DLQ_PAYLOAD_MAX ? DLQ_PAYLOAD_MAX : len;
    int rc;

    if (ob) {
        if ((rc = dlq_format(scratch, topic, payload, len, why)))
            return rc;
        snprintf(dlq_topic, sizeof dlq_topic, "eco/v1/dlq/%s", service);
        if ((rc = outbox_put(ob, dlq_topic, scratch->p, scratch->len, false)))
            return rc;
    }
    if (!db)
        return 0;
    /* the payload column is text: the bytes as they came, cut, unless they
     * are not UTF-8 (the published copy above is escaped either way) */
    /* a cut may split a character: when the first byte left out is a
     * continuation byte, back up to the character's first byte */
    for (int k = 0;
         n < len && n > 0 && k < 3 && (((const unsigned char *)payload)[n] & 0xC0) == 0x80; k++)
        n--;
    buf_reset(scratch);
    if (buf_add(scratch, payload, n))
        return -ENOMEM;
    params[0] = service;
    params[1] = topic;
    params[2] = why;
    params[3] = buf_utf8_text(scratch->p, n) ? scratch->p : "(not UTF-8)";
    return db_query(db,
                    "INSERT INTO obs.deadletter (service, source, reason, payload)"
                    " VALUES ($1, $2, $3, $4)",
                    4, params, NULL, NULL);
}
