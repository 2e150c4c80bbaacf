/* ecoctl status: what an operator looks at first. From the database: the
 * registry size, readings in the last hour, the newest reading, dead letters
 * of the last day, each ingest instance's committed position. From the
 * broker (when ECO_MQTT_URL is set): the retained status of every service on
 * eco/v1/sys/+/+, collected for one second. */
#include "ecoctl.h"

#include "buf.h"
#include "elog.h"
#include "json.h"
#include "mq.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#define CTL_STATUS_MAX_SERVICES 64

struct ctl_status_mq {
    struct mq *mq;
    uv_timer_t timer;
    int n;
    char topic[CTL_STATUS_MAX_SERVICES][128];
    char line[CTL_STATUS_MAX_SERVICES][1024];
    bool json;
};

static const char ctl_status__sql[] =
    "SELECT (SELECT count(*) FROM core.site), (SELECT count(*) FROM core.device),"
    " (SELECT count(*) FROM core.param),"
    " (SELECT count(*) FROM obs.reading WHERE ts > now() - interval '1 hour'),"
    " (SELECT coalesce(max(ts)::text, '') FROM obs.latest),"
    " (SELECT count(*) FROM obs.deadletter WHERE received_at > now() - interval '1 day'),"
    " (SELECT coalesce(string_agg(instance || '=' || seq, ' ' ORDER BY instance), '')"
    "    FROM obs.spool_position)";

static void ctl_status__on_message(void *ud, const struct mq_msg *m)
{
    struct ctl_status_mq *s = ud;
    cJSON *root = NULL;
    const char *status = "?", *version = "?";
    bool valid;
    int k = 0;

    /* the retained status, then maybe a fresher one: keep one line each */
    while (k < s->n && strcmp(s->topic[k], m->topic) != 0)
        k++;
    if (k == CTL_STATUS_MAX_SERVICES || strlen(m->topic) >= sizeof(s->topic[0]))
        return;
    valid = json_parse(m->payload, m->len, &root, NULL, 0) == 0;
    if (valid) {
        json_get_strp(root, "status", &status);
        json_get_strp(root, "version", &version);
    }
    if (s->json)
        snprintf(s->line[k], sizeof(s->line[0]), "{\"topic\":\"%s\",\"payload\":%.*s}", m->topic,
                 valid && m->len < 900 ? (int)m->len : 4,
                 valid && m->len < 900 ? (const char *)m->payload : "null");
    else
        snprintf(s->line[k], sizeof(s->line[0]), "  %-40.120s %-8.16s %.32s", m->topic + 11, status,
                 version);
    if (k == s->n)
        snprintf(s->topic[s->n++], sizeof(s->topic[0]), "%s", m->topic);
    cJSON_Delete(root);
}

static void ctl_status__closed(void *ud)
{
    (void)ud;
}

static void ctl_status__on_timer(uv_timer_t *t)
{
    struct ctl_status_mq *s = t->data;
    mq_close(s->mq, ctl_status__closed);
    uv_close((uv_handle_t *)&s->timer, NULL);
}

static int ctl_status__mqtt(const struct ctl_opts *o, struct ctl_status_mq *s)
{
    uv_loop_t loop;
    char id[64];
    struct mq_cbs cbs = {.on_message = ctl_status__on_message};
    struct mq_opts mo = {
        .url = o->mqtt_url, .user = o->mqtt_user, .password = o->mqtt_password, .client_id = id};

    snprintf(id, sizeof(id), "ecoctl-status-%ld", (long)getpid());
    mq_global_init();
    uv_loop_init(&loop);
    if (mq_new(&loop, &mo, &cbs, s, &s->mq) || mq_subscribe(s->mq, "eco/v1/sys/+/+", 1) ||
        mq_start(s->mq)) {
        uv_loop_close(&loop);
        mq_global_cleanup();
        return -1;
    }
    uv_timer_init(&loop, &s->timer);
    s->timer.data = s;
    uv_timer_start(&s->timer, ctl_status__on_timer, 1000, 0);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    mq_global_cleanup();
    return 0;
}

int ctl_status(const struct ctl_opts *o, int argc, char **argv)
{
    static struct ctl_status_mq s;
    PGconn *c;
    PGresult *r;
    int ret = CTL_REFUSED;

    (void)argv;
    if (argc != 1) {
        fprintf(stderr, "usage: ecoctl status\n");
        return CTL_USAGE;
    }
    c = ctl_pg_connect(o);
    if (!c)
        return CTL_REFUSED;
    r = PQexec(c, ctl_status__sql);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        fprintf(stderr, "ecoctl: status query failed: %s", PQerrorMessage(c));
        goto out;
    }
    s.json = o->json;
    if (o->mqtt_url && *o->mqtt_url && ctl_status__mqtt(o, &s))
        fprintf(stderr, "ecoctl: bad ECO_MQTT_URL; services not shown\n");
    if (o->json) {
        printf("{\"sites\":%s,\"devices\":%s,\"params\":%s,\"readings_last_hour\":%s,"
               "\"newest_reading\":\"%s\",\"deadletters_last_day\":%s,\"ingest_positions\":\"%s\","
               "\"services\":[",
               PQgetvalue(r, 0, 0), PQgetvalue(r, 0, 1), PQgetvalue(r, 0, 2), PQgetvalue(r, 0, 3),
               PQgetvalue(r, 0, 4), PQgetvalue(r, 0, 5), PQgetvalue(r, 0, 6));
        for (int i = 0; i < s.n; i++)
            printf("%s%s", i ? "," : "", s.line[i]);
        printf("]}\n");
    } else {
        printf("registry        %s sites, %s devices, %s parameters\n", PQgetvalue(r, 0, 0),
               PQgetvalue(r, 0, 1), PQgetvalue(r, 0, 2));
        printf("readings        %s in the last hour; newest %s\n", PQgetvalue(r, 0, 3),
               *PQgetvalue(r, 0, 4) ? PQgetvalue(r, 0, 4) : "(none)");
        printf("dead letters    %s in the last day (rpt.deadletter)\n", PQgetvalue(r, 0, 5));
        printf("ingest spool    %s\n", *PQgetvalue(r, 0, 6) ? PQgetvalue(r, 0, 6) : "(none)");
        if (o->mqtt_url && *o->mqtt_url) {
            printf("services (eco/v1/sys):\n");
            for (int i = 0; i < s.n; i++)
                printf("%s\n", s.line[i]);
            if (!s.n)
                printf("  (none seen in 1 s)\n");
        }
    }
    ret = CTL_OK;
out:
    PQclear(r);
    PQfinish(c);
    return ret;
}
