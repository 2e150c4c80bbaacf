/* ecoctl detect replay | ecoctl alarm list|ack: the rules over stored
 * readings (the same engine as eco-detect), and alarms by hand. */
#include "asql.h"
#include "buf.h"
#include "dreg.h"
#include "ecoctl.h"
#include "engine.h"
#include "etime.h"

#include <errno.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CTL_DETECT_SITES_MAX 1024
#define CTL_DETECT_BATCH 1000
#define CTL_DETECT_PROGRESS 50000

struct ctl_replay {
    PGconn *c; /* reads the readings (a stream) */
    PGconn *w; /* stores the alarms, in one transaction */
    struct eng_event *ev;
    size_t nev, cap;
    struct buf sql;
    int failed;
    long long applied;
};

static void ctl_detect__usage(FILE *out)
{
    fprintf(out, "usage: ecoctl detect replay --from T --to T [--site CODE ...] [--json]\n"
                 "       ecoctl detect replay --clear\n"
                 "       ecoctl alarm list [--open] [--site CODE] [--limit N] [--json]\n"
                 "       ecoctl alarm ack ID [--note X] [--timeout S]   through eco-dispatch, as\n"
                 "                                    ECO_MQTT_USER (docs/DISPATCH.md)\n"
                 "       ecoctl alarm ack ID --db     directly in the database (ECO_PG_DSN), when\n"
                 "                                    eco-dispatch is not running\n"
                 "Times: RFC 3339 with an offset, or a Beijing date YYYY-MM-DD.\n");
}

/* RFC 3339, or a date read as Beijing midnight. */
static int ctl_detect__time(const char *s, int64_t *us)
{
    unsigned y, m, d;
    char tail;
    if (etime_parse_rfc3339(s, strlen(s), us, NULL) == 0)
        return 0;
    if (sscanf(s, "%4u-%2u-%2u%c", &y, &m, &d, &tail) == 3 && m >= 1 && m <= 12 && d >= 1 &&
        d <= 31 && strlen(s) == 10) {
        *us = (etime_days_from_civil(y, m, d) * 86400 - ETIME_BEIJING_OFFSET) * ETIME_US_PER_SEC;
        return 0;
    }
    return -EINVAL;
}

static void ctl_detect__on_event(void *ud, const struct eng_event *ev)
{
    struct ctl_replay *r = ud;
    if (r->nev == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 1024;
        struct eng_event *p = realloc(r->ev, cap * sizeof(*p));
        if (!p) {
            r->failed = 1;
            return;
        }
        r->ev = p;
        r->cap = cap;
    }
    r->ev[r->nev++] = *ev;
}

/* Stores the pending transitions through alarm.apply, marked replay. */
static int ctl_detect__flush(struct ctl_replay *r)
{
    size_t done = 0;
    while (done < r->nev) {
        size_t n = r->nev - done < CTL_DETECT_BATCH ? r->nev - done : CTL_DETECT_BATCH;
        const char *params[1];
        PGresult *res;
        int rc;
        buf_reset(&r->sql);
        rc = buf_addc(&r->sql, '[');
        for (size_t i = 0; i < n && !rc; i++) {
            if (i)
                rc = buf_addc(&r->sql, ',');
            rc = rc ? rc : asql_event_json(&r->sql, (int)i, &r->ev[done + i], true);
        }
        rc = rc ? rc : buf_addc(&r->sql, ']');
        if (rc)
            return rc;
        params[0] = r->sql.p;
        res = PQexecParams(r->w, ASQL_APPLY, 1, NULL, params, NULL, NULL, 0);
        if (PQresultStatus(res) != PGRES_TUPLES_OK) {
            fprintf(stderr, "ecoctl: storing alarms failed: %s", PQresultErrorMessage(res));
            PQclear(res);
            return -EIO;
        }
        r->applied += PQntuples(res);
        PQclear(res);
        done += n;
    }
    r->nev = 0;
    return 0;
}

static int ctl_detect__load_registry(PGconn *c, struct dreg *reg)
{
    static const char *const sql[] = {DREG_SQL_SITES, DREG_SQL_PARAMS, DREG_SQL_LIMITS,
                                      DREG_SQL_SETTINGS, DREG_SQL_DEVICES};
    char why[256] = "";
    for (int i = 0; i < 5; i++) {
        PGresult *res = PQexec(c, sql[i]);
        int rc;
        if (PQresultStatus(res) != PGRES_TUPLES_OK) {
            fprintf(stderr, "ecoctl: cannot read the registry: %s", PQresultErrorMessage(res));
            PQclear(res);
            return -EIO;
        }
        rc = i == 0   ? dreg_fill_sites(reg, res, why, sizeof(why))
             : i == 1 ? dreg_fill_params(reg, res, why, sizeof(why))
             : i == 2 ? dreg_fill_limits(reg, res, why, sizeof(why))
             : i == 3 ? dreg_fill_settings(reg, res, why, sizeof(why))
                      : dreg_fill_devices(reg, res, why, sizeof(why));
        PQclear(res);
        if (rc) {
            fprintf(stderr, "ecoctl: cannot read the registry: %s\n", why);
            return rc;
        }
    }
    if (dreg_finish(reg, why, sizeof(why))) {
        fprintf(stderr, "ecoctl: %s\n", why);
        return -EBADMSG;
    }
    return 0;
}

static int ctl_detect__clear(const struct ctl_opts *o, PGconn *c)
{
    PGresult *res = PQexec(c, "BEGIN;"
                              "DELETE FROM alarm.alarm WHERE replay;"
                              "DELETE FROM alarm.incident WHERE replay;"
                              "COMMIT");
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        fprintf(stderr, "ecoctl: cannot clear replayed alarms: %s", PQresultErrorMessage(res));
        PQclear(res);
        return CTL_REFUSED;
    }
    PQclear(res);
    if (o->json)
        printf("{\"cleared\":true}\n");
    else
        printf("replayed alarms cleared\n");
    return CTL_OK;
}

static int ctl_detect__replay(const struct ctl_opts *o, int argc, char **argv)
{
    struct ctl_replay r = {0};
    struct asql_rejects rj = {0};
    struct dreg reg;
    struct eng *e = NULL;
    int64_t from = 0, to = 0;
    const char *sites[CTL_DETECT_SITES_MAX];
    int nsites = 0, rc = CTL_REFUSED;
    bool clear = false;
    char lo[24], hi[24], ids[CTL_DETECT_SITES_MAX * 12 + 3];
    long long readings = 0;
    PGresult *res = NULL;
    size_t off;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--from") == 0 && i + 1 < argc) {
            if (ctl_detect__time(argv[++i], &from))
                goto usage;
        } else if (strcmp(argv[i], "--to") == 0 && i + 1 < argc) {
            if (ctl_detect__time(argv[++i], &to))
                goto usage;
        } else if (strcmp(argv[i], "--site") == 0 && i + 1 < argc &&
                   nsites < CTL_DETECT_SITES_MAX) {
            sites[nsites++] = argv[++i];
        } else if (strcmp(argv[i], "--clear") == 0) {
            clear = true;
        } else {
            goto usage;
        }
    }
    if (!clear && (!from || !to || from >= to))
        goto usage;
    dreg_init(&reg);
    buf_init(&r.sql, 64u << 20);
    if (!(r.c = ctl_pg_connect(o)))
        goto out;
    if (clear) {
        rc = ctl_detect__clear(o, r.c);
        goto out;
    }
    if (ctl_detect__load_registry(r.c, &reg))
        goto out;
    off = (size_t)snprintf(ids, sizeof(ids), "{");
    for (int i = 0; i < nsites; i++) {
        const struct dreg_site *s = dreg_site_code(&reg, sites[i], strlen(sites[i]));
        if (!s) {
            fprintf(stderr, "ecoctl: unknown site %s\n", sites[i]);
            goto out;
        }
        off += (size_t)snprintf(ids + off, sizeof(ids) - off, "%s%d", i ? "," : "", s->id);
    }
    snprintf(ids + off, sizeof(ids) - off, "}");
    if (eng_new(&reg, 100000000, ctl_detect__on_event, &r, &e)) {
        fprintf(stderr, "ecoctl: out of memory\n");
        goto out;
    }
    snprintf(lo, sizeof(lo), "%lld", (long long)from);
    snprintf(hi, sizeof(hi), "%lld", (long long)to);
    {
        /* values ingest refused (range): their dead letters arrived after
         * their data time, however late (a backfill) */
        char upto[24];
        const char *params[2] = {lo, upto};
        snprintf(upto, sizeof(upto), "%lld", (long long)(etime_now_us() + 86400LL * 1000000));
        res = PQexecParams(r.c, ASQL_DEADLETTERS, 2, NULL, params, NULL, NULL, 0);
        if (PQresultStatus(res) != PGRES_TUPLES_OK) {
            fprintf(stderr, "ecoctl: cannot read dead letters: %s", PQresultErrorMessage(res));
            goto out;
        }
        if (asql_rejects_load(&rj, &reg, res, from, to, 10000000))
            fprintf(stderr, "ecoctl: too many refused values; the rest are not replayed\n");
        PQclear(res);
        res = NULL;
    }
    /* The readings come as one stream (single-row mode), so that PostgreSQL
     * sorts and sends while the rules run, where a cursor's FETCH left each
     * side waiting for the other; the alarms go in on a second connection,
     * in one transaction: a replay is stored whole or not at all. */
    if (!(r.w = ctl_pg_connect(o)))
        goto out;
    res = PQexec(r.w, "BEGIN");
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        fprintf(stderr, "ecoctl: %s", PQresultErrorMessage(res));
        goto out;
    }
    PQclear(res);
    res = NULL;
    {
        const char *params[8] = {lo, lo, lo, lo, hi, "1", "0", ids};
        if (!PQsendQueryParams(r.c, ASQL_READINGS, 8, NULL, params, NULL, NULL, 0) ||
            !PQsetSingleRowMode(r.c)) {
            fprintf(stderr, "ecoctl: cannot read readings: %s", PQerrorMessage(r.c));
            goto out;
        }
    }
    for (;;) {
        ExecStatusType st;
        res = PQgetResult(r.c);
        if (!res)
            break;
        st = PQresultStatus(res);
        if (st != PGRES_SINGLE_TUPLE && st != PGRES_TUPLES_OK) {
            fprintf(stderr, "ecoctl: cannot read readings: %s", PQresultErrorMessage(res));
            goto out;
        }
        if (st == PGRES_SINGLE_TUPLE) {
            if (asql_feed_rows(e, res, &rj) != 1 || r.failed) {
                fprintf(stderr, "ecoctl: a reading cannot be read\n");
                goto out;
            }
            if (++readings % CTL_DETECT_PROGRESS == 0 && !o->json)
                fprintf(stderr, "\rreplay: %lld readings, %lld alarm transitions", readings,
                        r.applied + (long long)r.nev);
            /* the other connection stores while this one reads on */
            if (r.nev >= CTL_DETECT_BATCH && ctl_detect__flush(&r))
                goto out;
        }
        PQclear(res);
    }
    res = NULL;
    if (ctl_detect__flush(&r))
        goto out;
    res = PQexec(r.w, "COMMIT");
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        fprintf(stderr, "ecoctl: storing alarms failed: %s", PQresultErrorMessage(res));
        goto out;
    }
    PQclear(res);
    res = NULL;
    if (!o->json)
        fprintf(stderr, "\rreplay: %lld readings, %lld alarm transitions\n", readings, r.applied);
    res = PQexec(r.c, "SELECT rule, count(*) FROM alarm.alarm WHERE replay GROUP BY rule "
                      "ORDER BY rule");
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        goto out;
    if (o->json)
        printf("{\"readings\":%lld,\"transitions\":%lld,\"alarms\":{", readings, r.applied);
    else
        printf("replay: %lld readings, %lld alarm transitions stored; replayed alarms by rule:",
               readings, r.applied);
    for (int i = 0; i < PQntuples(res); i++)
        printf(o->json ? "%s\"%s\":%s" : "%s %s=%s", i && o->json ? "," : "", PQgetvalue(res, i, 0),
               PQgetvalue(res, i, 1));
    printf(o->json ? "}}\n" : "\n");
    rc = CTL_OK;
out:
    PQclear(res);
    if (rc && r.w)
        PQclear(PQexec(r.w, "ROLLBACK"));
    eng_free(e);
    asql_rejects_close(&rj);
    dreg_close(&reg);
    buf_close(&r.sql);
    free(r.ev);
    PQfinish(r.c);
    PQfinish(r.w);
    return rc;
usage:
    ctl_detect__usage(stderr);
    return CTL_USAGE;
}

int ctl_detect(const struct ctl_opts *o, int argc, char **argv)
{
    if (argc >= 1 && (strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0)) {
        ctl_detect__usage(stdout);
        return CTL_OK;
    }
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            ctl_detect__usage(stdout);
            return CTL_OK;
        }
    if (argc >= 1 && strcmp(argv[0], "replay") == 0)
        return ctl_detect__replay(o, argc, argv);
    ctl_detect__usage(stderr);
    return CTL_USAGE;
}

static int ctl_alarm__list(const struct ctl_opts *o, int argc, char **argv)
{
    const char *site = "", *open = "false", *limit = "100";
    const char *params[3];
    PGconn *c;
    PGresult *res;
    int rc = CTL_REFUSED;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--open") == 0)
            open = "true";
        else if (strcmp(argv[i], "--site") == 0 && i + 1 < argc)
            site = argv[++i];
        else if (strcmp(argv[i], "--limit") == 0 && i + 1 < argc)
            limit = argv[++i];
        else {
            ctl_detect__usage(stderr);
            return CTL_USAGE;
        }
    }
    if (!(c = ctl_pg_connect(o)))
        return CTL_REFUSED;
    params[0] = site;
    params[1] = open;
    params[2] = limit;
    res = PQexecParams(
        c,
        o->json
            ? "SELECT coalesce(json_agg(x), '[]') FROM (SELECT id, site, param, rule, severity,"
              " state, to_char(opened_at AT TIME ZONE 'Asia/Shanghai',"
              " 'YYYY-MM-DD\"T\"HH24:MI:SS\"+08:00\"') AS opened_at,"
              " to_char(cleared_at AT TIME ZONE 'Asia/Shanghai',"
              " 'YYYY-MM-DD\"T\"HH24:MI:SS\"+08:00\"') AS cleared_at, incident, replay, value,"
              " \"limit\" FROM rpt.alarm WHERE ($1 = '' OR site = $1) AND (NOT $2::boolean OR"
              " state <> 'cleared') ORDER BY opened_at DESC, id DESC LIMIT $3::integer) x"
            : "SELECT id, site, coalesce(param, '-'), rule, severity, state,"
              " to_char(opened_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD HH24:MI'),"
              " coalesce(to_char(cleared_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD HH24:MI'),"
              " ''), coalesce(incident::text, '') FROM rpt.alarm WHERE ($1 = '' OR site = $1)"
              " AND (NOT $2::boolean OR state <> 'cleared')"
              " ORDER BY opened_at DESC, id DESC LIMIT $3::integer",
        3, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        fprintf(stderr, "ecoctl: %s", PQresultErrorMessage(res));
        goto out;
    }
    if (o->json) {
        printf("%s\n", PQgetvalue(res, 0, 0));
    } else {
        printf("%-8s %-20s %-10s %-9s %-8s %-7s %-16s %-16s %s\n", "ID", "SITE", "PARAM", "RULE",
               "SEVERITY", "STATE", "OPENED (+08)", "CLEARED", "INCIDENT");
        for (int i = 0; i < PQntuples(res); i++)
            printf("%-8s %-20s %-10s %-9s %-8s %-7s %-16s %-16s %s\n", PQgetvalue(res, i, 0),
                   PQgetvalue(res, i, 1), PQgetvalue(res, i, 2), PQgetvalue(res, i, 3),
                   PQgetvalue(res, i, 4), PQgetvalue(res, i, 5), PQgetvalue(res, i, 6),
                   PQgetvalue(res, i, 7), PQgetvalue(res, i, 8));
    }
    rc = CTL_OK;
out:
    PQclear(res);
    PQfinish(c);
    return rc;
}

static int ctl_alarm__ack(const struct ctl_opts *o, int argc, char **argv)
{
    const char *params[1];
    PGconn *c;
    PGresult *res;
    char *end;
    int rc = CTL_REFUSED;
    if (argc != 2 || strtoll(argv[1], &end, 10) <= 0 || *end) {
        ctl_detect__usage(stderr);
        return CTL_USAGE;
    }
    if (!(c = ctl_pg_connect(o)))
        return CTL_REFUSED;
    params[0] = argv[1];
    res = PQexecParams(c,
                       "WITH a AS (UPDATE alarm.alarm SET state = 'acked', acked_by = current_user,"
                       " acked_at = now() WHERE id = $1::bigint AND state = 'open' RETURNING id,"
                       " severity) INSERT INTO alarm.event (alarm_id, action, ts, severity)"
                       " SELECT id, 'acked', now(), severity FROM a RETURNING alarm_id",
                       1, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        fprintf(stderr, "ecoctl: %s", PQresultErrorMessage(res));
    } else if (PQntuples(res) == 0) {
        fprintf(stderr, "ecoctl: alarm %s is not open (unknown, already acknowledged or cleared)\n",
                argv[1]);
    } else {
        if (o->json)
            printf("{\"id\":%s,\"state\":\"acked\"}\n", argv[1]);
        else
            printf("alarm %s acknowledged\n", argv[1]);
        rc = CTL_OK;
    }
    PQclear(res);
    PQfinish(c);
    return rc;
}

int ctl_alarm(const struct ctl_opts *o, int argc, char **argv)
{
    for (int i = 0; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            ctl_detect__usage(stdout);
            return CTL_OK;
        }
    if (argc >= 1 && strcmp(argv[0], "list") == 0)
        return ctl_alarm__list(o, argc, argv);
    if (argc >= 1 && strcmp(argv[0], "ack") == 0) {
        /* --db: the database path of before eco-dispatch (acked_by is then
         * the database role, not a person); else the dispatcher's request */
        int n = 0;
        for (int i = 0; i < argc; i++)
            if (strcmp(argv[i], "--db") != 0)
                argv[n++] = argv[i];
        if (n == argc)
            return ctl_alarm_ack_rpc(o, argc, argv);
        return ctl_alarm__ack(o, n, argv);
    }
    ctl_detect__usage(stderr);
    return CTL_USAGE;
}
