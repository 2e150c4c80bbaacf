/* ecoctl status: what an operator looks at first. From the database: the
 * registry size, readings in the last hour, the newest reading, dead letters
 * of the last day, each ingest instance's committed position. From the
 * broker (when ECO_MQTT_URL is set): the retained status of every service on
 * eco/v1/sys/+/+, collected for one second after connecting.
 *
 * A broker that cannot be reached (or refuses the user) within --timeout
 * seconds is a failure: the report is still printed, one line on stderr
 * says why, and the exit status is 1, so a script or a probe notices. */
#include "ecoctl.h"

#include "elog.h"
#include "etime.h"
#include "json.h"
#include "mq.h"

#include <errno.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#define CTL_STATUS_MAX_SERVICES 64
#define CTL_STATUS_COLLECT_MS 1000
#define CTL_STATUS_TIMEOUT_S 5

struct ctl_status_svc {
    char topic[128];
    char status[17], version[33];
    cJSON *payload; /* the parsed status message; NULL when it was not JSON */
};

struct ctl_status_mq {
    struct mq *mq;
    uv_timer_t collect, deadline;
    bool connected, closing;
    int n;
    struct ctl_status_svc svc[CTL_STATUS_MAX_SERVICES];
};

static const char ctl_status__sql[] =
    "SELECT (SELECT count(*) FROM core.site), (SELECT count(*) FROM core.device),"
    " (SELECT count(*) FROM core.param),"
    " (SELECT count(*) FROM obs.reading WHERE ts > now() - interval '1 hour'),"
    " (SELECT coalesce((extract(epoch FROM max(ts)) * 1000000)::bigint::text, '')"
    "    FROM obs.latest),"
    " (SELECT count(*) FROM obs.deadletter WHERE received_at > now() - interval '1 day'),"
    " (SELECT coalesce(json_object_agg(instance, seq ORDER BY instance)::text, '{}')"
    "    FROM obs.spool_position)";

static void ctl_status__usage(FILE *out)
{
    fprintf(out,
            "usage: ecoctl [--json] status [--timeout S]\n"
            "\n"
            "Registry size, readings of the last hour, the newest reading, dead letters of\n"
            "the last day and each ingest instance's committed spool position (ECO_PG_DSN);\n"
            "with ECO_MQTT_URL set, also every service's status on eco/v1/sys/+/+.\n"
            "Exit status 1 when the database or the broker cannot be reached (the broker\n"
            "within S seconds, default %d, including a refused user or password).\n",
            CTL_STATUS_TIMEOUT_S);
}

static void ctl_status__on_message(void *ud, const struct mq_msg *m)
{
    struct ctl_status_mq *s = ud;
    struct ctl_status_svc *v;
    cJSON *root = NULL;
    const char *status = "?", *version = "?";
    int k = 0;

    /* the retained status, then maybe a fresher one: keep one entry each */
    while (k < s->n && strcmp(s->svc[k].topic, m->topic) != 0)
        k++;
    if (k == CTL_STATUS_MAX_SERVICES || strlen(m->topic) >= sizeof(s->svc[0].topic))
        return;
    v = &s->svc[k];
    if (json_parse(m->payload, m->len, &root, NULL, 0) == 0) {
        json_get_strp(root, "status", &status);
        json_get_strp(root, "version", &version);
    }
    cJSON_Delete(v->payload);
    v->payload = root;
    snprintf(v->status, sizeof(v->status), "%s", status);
    snprintf(v->version, sizeof(v->version), "%s", version);
    if (k == s->n)
        snprintf(s->svc[s->n++].topic, sizeof(v->topic), "%s", m->topic);
}

static void ctl_status__closed(void *ud)
{
    (void)ud;
}

static void ctl_status__finish(struct ctl_status_mq *s)
{
    if (s->closing)
        return;
    s->closing = true;
    mq_close(s->mq, ctl_status__closed);
    uv_close((uv_handle_t *)&s->collect, NULL);
    uv_close((uv_handle_t *)&s->deadline, NULL);
}

static void ctl_status__on_timer(uv_timer_t *t)
{
    ctl_status__finish(t->data);
}

static void ctl_status__on_state(void *ud, bool up)
{
    struct ctl_status_mq *s = ud;
    if (!up || s->connected || s->closing)
        return;
    /* retained statuses arrive right after the subscription */
    s->connected = true;
    uv_timer_stop(&s->deadline);
    uv_timer_start(&s->collect, ctl_status__on_timer, CTL_STATUS_COLLECT_MS, 0);
}

/* Returns 0 after collecting, -EINVAL for a bad URL, -ETIMEDOUT when the
 * broker did not accept us within timeout_s. */
static int ctl_status__mqtt(const struct ctl_opts *o, struct ctl_status_mq *s, long timeout_s)
{
    uv_loop_t loop;
    char id[64];
    struct mq_cbs cbs = {.on_message = ctl_status__on_message, .on_state = ctl_status__on_state};
    struct mq_opts mo = {.url = o->mqtt_url,
                         .user = o->mqtt_user,
                         .password = o->mqtt_password,
                         .cafile = o->mqtt_cafile,
                         .client_id = id};

    snprintf(id, sizeof(id), "ecoctl-status-%ld", (long)getpid());
    mq_global_init();
    uv_loop_init(&loop);
    if (mq_new(&loop, &mo, &cbs, s, &s->mq) || mq_subscribe(s->mq, "eco/v1/sys/+/+", 1) ||
        mq_start(s->mq)) {
        uv_loop_close(&loop);
        mq_global_cleanup();
        return -EINVAL;
    }
    uv_timer_init(&loop, &s->collect);
    uv_timer_init(&loop, &s->deadline);
    s->collect.data = s;
    s->deadline.data = s;
    uv_timer_start(&s->deadline, ctl_status__on_timer, (uint64_t)timeout_s * 1000, 0);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    mq_global_cleanup();
    return s->connected ? 0 : -ETIMEDOUT;
}

/* microseconds since the epoch (text) -> RFC 3339 at Beijing time; "" -> "" */
static void ctl_status__time(const char *us_text, char *out, size_t cap)
{
    char *end;
    long long us;

    out[0] = '\0';
    if (!*us_text)
        return;
    errno = 0;
    us = strtoll(us_text, &end, 10);
    if (errno || *end || etime_format(us, ETIME_BEIJING_OFFSET, out, cap) <= 0)
        out[0] = '\0';
}

static long long ctl_status__count(const char *s)
{
    return strtoll(s, NULL, 10);
}

static int ctl_status__print_json(PGresult *r, const char *newest, const cJSON *positions,
                                  const struct ctl_status_mq *s, bool mqtt, int mqtt_rc)
{
    cJSON *root = cJSON_CreateObject(), *svcs, *pos;
    char *text = NULL;
    size_t len;
    int rc = -ENOMEM;

    if (!root)
        return -ENOMEM;
    cJSON_AddNumberToObject(root, "sites", (double)ctl_status__count(PQgetvalue(r, 0, 0)));
    cJSON_AddNumberToObject(root, "devices", (double)ctl_status__count(PQgetvalue(r, 0, 1)));
    cJSON_AddNumberToObject(root, "params", (double)ctl_status__count(PQgetvalue(r, 0, 2)));
    cJSON_AddNumberToObject(root, "readings_last_hour",
                            (double)ctl_status__count(PQgetvalue(r, 0, 3)));
    if (*newest)
        cJSON_AddStringToObject(root, "newest_reading", newest);
    else
        cJSON_AddNullToObject(root, "newest_reading");
    cJSON_AddNumberToObject(root, "deadletters_last_day",
                            (double)ctl_status__count(PQgetvalue(r, 0, 5)));
    pos = positions ? cJSON_Duplicate(positions, 1) : cJSON_CreateObject();
    if (pos)
        cJSON_AddItemToObject(root, "ingest_positions", pos);
    if (!mqtt)
        cJSON_AddNullToObject(root, "broker");
    else
        cJSON_AddStringToObject(root, "broker", mqtt_rc == 0 ? "connected" : "unreachable");
    svcs = cJSON_AddArrayToObject(root, "services");
    for (int i = 0; svcs && i < s->n; i++) {
        cJSON *o = cJSON_CreateObject();
        if (!o)
            goto out;
        cJSON_AddStringToObject(o, "topic", s->svc[i].topic);
        if (s->svc[i].payload)
            cJSON_AddItemToObject(o, "payload", cJSON_Duplicate(s->svc[i].payload, 1));
        else
            cJSON_AddNullToObject(o, "payload");
        cJSON_AddItemToArray(svcs, o);
    }
    if (json_print(root, &text, &len))
        goto out;
    printf("%s\n", text);
    rc = 0;
out:
    cJSON_free(text);
    cJSON_Delete(root);
    return rc;
}

int ctl_status(const struct ctl_opts *o, int argc, char **argv)
{
    static struct ctl_status_mq s;
    PGconn *c;
    PGresult *r;
    cJSON *positions = NULL;
    char newest[ETIME_RFC3339_MAX];
    bool mqtt = o->mqtt_url && *o->mqtt_url;
    long timeout_s = CTL_STATUS_TIMEOUT_S;
    int ret = CTL_REFUSED, mqtt_rc = 0;

    /* alone the noun arrives as argv[0]; options follow it or stand alone */
    for (int i = strcmp(argv[0], "status") == 0 ? 1 : 0; i < argc; i++) {
        char *end;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            ctl_status__usage(stdout);
            return CTL_OK;
        }
        if (strcmp(argv[i], "--timeout") == 0 && i + 1 < argc) {
            errno = 0;
            timeout_s = strtol(argv[++i], &end, 10);
            if (!errno && !*end && timeout_s >= 1 && timeout_s <= 3600)
                continue;
        }
        ctl_status__usage(stderr);
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
    ctl_status__time(PQgetvalue(r, 0, 4), newest, sizeof(newest));
    if (json_parse(PQgetvalue(r, 0, 6), strlen(PQgetvalue(r, 0, 6)), &positions, NULL, 0))
        positions = NULL;
    if (mqtt) {
        mqtt_rc = ctl_status__mqtt(o, &s, timeout_s);
        if (mqtt_rc == -EINVAL)
            fprintf(stderr, "ecoctl: bad ECO_MQTT_URL %s; services not shown\n", o->mqtt_url);
        else if (mqtt_rc)
            fprintf(stderr,
                    "ecoctl: no connection to the broker at %s within %ld s (unreachable, or "
                    "user/password refused)\n",
                    o->mqtt_url, timeout_s);
    }
    if (o->json) {
        if (ctl_status__print_json(r, newest, positions, &s, mqtt, mqtt_rc))
            goto out;
    } else {
        const cJSON *it;
        printf("registry        %s sites, %s devices, %s parameters\n", PQgetvalue(r, 0, 0),
               PQgetvalue(r, 0, 1), PQgetvalue(r, 0, 2));
        printf("readings        %s in the last hour; newest %s\n", PQgetvalue(r, 0, 3),
               *newest ? newest : "(none)");
        printf("dead letters    %s in the last day (rpt.deadletter)\n", PQgetvalue(r, 0, 5));
        printf("ingest spool   ");
        cJSON_ArrayForEach(it, positions) printf(" %s=%.0f", it->string, it->valuedouble);
        printf("%s\n", cJSON_GetArraySize(positions) ? "" : " (none)");
        if (mqtt) {
            printf("services (eco/v1/sys):\n");
            for (int i = 0; i < s.n; i++)
                printf("  %-40.120s %-8.16s %.32s\n", s.svc[i].topic + 11, s.svc[i].status,
                       s.svc[i].version);
            if (mqtt_rc)
                printf("  (broker unreachable)\n");
            else if (!s.n)
                printf("  (none seen in 1 s)\n");
        }
    }
    ret = mqtt_rc ? CTL_REFUSED : CTL_OK;
out:
    for (int i = 0; i < s.n; i++)
        cJSON_Delete(s.svc[i].payload);
    cJSON_Delete(positions);
    PQclear(r);
    PQfinish(c);
    return ret;
}
