#include "svcbase.h"

#include "buf.h"
#include "db.h"
#include "elog.h"
#include "etime.h"
#include "mq.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

void svcbase_instance(char *out, size_t size, const char *configured, const char *fallback)
{
    if (!size)
        return;
    if (configured && configured[0]) {
        snprintf(out, size, "%.*s", SVCBASE_INSTANCE_MAX, configured);
        return;
    }
    /* gethostname need not terminate a name it cut: the last byte stays 0 */
    memset(out, 0, size);
    if (size < 2 || gethostname(out, size - 1) != 0)
        snprintf(out, size, "%s", fallback);
}

int svcbase_mq_new(uv_loop_t *loop, const struct mq_opts *mo, const struct mq_cbs *cbs, void *ud,
                   struct mq **out)
{
    /* the id names the session: a persistent one is found again under it */
    char client_id[CFG_STR_MAX + 16];
    struct mq_opts o = *mo;

    snprintf(client_id, sizeof(client_id), "eco-%s-%s", mo->service, mo->instance);
    o.client_id = client_id;
    return mq_new(loop, &o, cbs, ud, out);
}

int svcbase_status(struct mq *mq, struct buf *b, const char *service, const char *instance,
                   const char *fmt, ...)
{
    char topic[MQ_TOPIC_MAX], ts[ETIME_RFC3339_MAX];
    va_list ap;
    int rc;

    etime_format(etime_now_us(), 0, ts, sizeof(ts));
    buf_reset(b);
    if ((rc = buf_printf(b, "{\"status\":\"online\",\"version\":\"%s\",\"ts\":\"%s\",", ECO_VERSION,
                         ts)))
        return rc;
    va_start(ap, fmt);
    rc = buf_vprintf(b, fmt, ap);
    va_end(ap);
    if (rc)
        return rc;
    snprintf(topic, sizeof(topic), "eco/v1/sys/%s/%s", service, instance);
    return mq_publish(mq, topic, b->p, b->len, 1, true, NULL);
}

void svcbase_log_mq(bool up, const char *url)
{
    if (up)
        elog_info("broker connected", "url=%s", url);
    else
        elog_warn("broker connection lost", "url=%s", url);
}

void svcbase_log_db(bool up, const struct db *db)
{
    if (up)
        elog_info("database connected", NULL);
    else
        elog_warn("database connection lost", "error=\"%s\"", db_last_error(db));
}

bool svcbase_due(uint64_t now, uint64_t *last, uint64_t period_ms, bool ready)
{
    if (!ready || now - *last < period_ms)
        return false;
    *last = now;
    return true;
}

int svcbase_stop_begin(struct svcbase_stop *s, uv_loop_t *loop, int64_t drain_s,
                       void (*done)(void *arg), void *arg)
{
    if (s->stopping)
        return -EALREADY;
    s->stopping = true;
    s->done = done;
    s->done_arg = arg;
    s->deadline = uv_now(loop) + (uint64_t)drain_s * 1000;
    return 0;
}

bool svcbase_stop_late(const struct svcbase_stop *s, uv_loop_t *loop)
{
    return uv_now(loop) >= s->deadline;
}

void svcbase_stop_closed(struct svcbase_stop *s)
{
    if (--s->pending == 0 && s->done)
        s->done(s->done_arg);
}

static void svcbase__handle_closed(uv_handle_t *h)
{
    svcbase_stop_closed(h->data);
}

void svcbase_stop_close_handle(struct svcbase_stop *s, uv_handle_t *h)
{
    h->data = s;
    uv_close(h, svcbase__handle_closed);
}
