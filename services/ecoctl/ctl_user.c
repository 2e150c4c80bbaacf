/* ecoctl user add|list|passwd|enable|disable|role: personal broker accounts
 * with a role (core.account), and ecoctl broker sync. Every change is
 * committed, then the broker's files are rendered and reloaded (bauth), so
 * a new password or a disabled account takes effect at once. Passwords are
 * read from stdin (--password-stdin) or generated and printed once; only
 * their mosquitto hash is stored. */
#include "bauth.h"
#include "buf.h"
#include "ecoctl.h"
#include "mqpw.h"

#include <errno.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CTL_USER_PW_LEN 20

static void ctl_user__usage(FILE *out)
{
    fprintf(out,
            "usage: ecoctl user add NAME --role ROLE [--department CODE] [--password-stdin]\n"
            "       ecoctl user list [--all] [--json]\n"
            "       ecoctl user passwd NAME [--password-stdin]\n"
            "       ecoctl user disable NAME | ecoctl user enable NAME\n"
            "       ecoctl user role NAME ROLE [--department CODE]\n"
            "       ecoctl broker sync\n"
            "Roles: admin, dispatcher, department (needs --department), analyst, integrator\n"
            "(what each may read and write: docs/SECURITY.md). Without --password-stdin a\n"
            "password is generated and printed once. Each change renders the broker's password\n"
            "and ACL files into ECO_BROKER_AUTH_DIR and reloads the broker (SIGHUP to the pid in\n"
            "ECO_BROKER_PID_FILE). Needs ECO_PG_DSN (eco_ctl or an owner role).\n");
}

/* Renders and reloads; prints what happened. Returns CTL_OK or CTL_REFUSED. */
static int ctl_user__sync(const struct ctl_opts *o, PGconn *c, struct bauth_stats *st)
{
    char why[512] = "";
    if (bauth_sync(c, o->broker_auth_dir, o->broker_pid_file, st, why, sizeof why)) {
        fprintf(stderr, "ecoctl: the broker's accounts were not updated: %s\n", why);
        return CTL_REFUSED;
    }
    if (!st->rendered)
        fprintf(stderr, "ecoctl: ECO_BROKER_AUTH_DIR is not set: the broker's files were not "
                        "rendered (run `ecoctl broker sync` where it is)\n");
    else if (!st->reloaded)
        fprintf(stderr, "ecoctl: ECO_BROKER_PID_FILE is not set: reload the broker yourself "
                        "(systemctl reload mosquitto)\n");
    return CTL_OK;
}

static void ctl_user__json_broker(struct buf *b, const struct bauth_stats *st)
{
    buf_printf(b,
               "\"broker\":{\"rendered\":%s,\"reloaded\":%s,\"devices\":%ld,\"people\":%ld,"
               "\"services\":%ld,\"skipped\":%ld,\"seconds\":%.3f}",
               st->rendered ? "true" : "false", st->reloaded ? "true" : "false", st->devices,
               st->people, st->services, st->skipped, st->secs);
}

/* One line from stdin, without its line end. */
static int ctl_user__read_pw(char *out, size_t cap)
{
    size_t n;
    if (!fgets(out, (int)cap, stdin))
        return -EINVAL;
    n = strcspn(out, "\r\n");
    if (out[n] == '\0' && n == cap - 1)
        return -E2BIG; /* no line end within the bound */
    out[n] = '\0';
    return n == 0 ? -EINVAL : 0;
}

/* The password: from stdin, or generated (then *generated is set). */
static int ctl_user__password(bool from_stdin, char *pw, size_t cap, bool *generated)
{
    *generated = !from_stdin;
    if (from_stdin) {
        if (ctl_user__read_pw(pw, cap)) {
            fprintf(stderr, "ecoctl: --password-stdin: one line of 1-%d bytes expected\n",
                    MQPW_PASSWORD_MAX);
            return -EINVAL;
        }
        return 0;
    }
    if (mqpw_random(pw, CTL_USER_PW_LEN, cap)) {
        fprintf(stderr, "ecoctl: no randomness for a password\n");
        return -EIO;
    }
    return 0;
}

static bool ctl_user__is_role(const char *r)
{
    for (int i = 0; bauth_roles[i]; i++)
        if (strcmp(r, bauth_roles[i]) == 0)
            return true;
    return false;
}

/* Explains a refused statement in the operator's terms. */
static void ctl_user__dberr(PGresult *r, const char *user, const char *dept)
{
    const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
    const char *msg = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
    if (state && strcmp(state, "23503") == 0)
        fprintf(stderr, "ecoctl: unknown department %s\n", dept ? dept : "");
    else if (state && strcmp(state, "23505") == 0 && msg && strstr(msg, "device code"))
        fprintf(stderr, "ecoctl: %s is a device code; a person needs another name\n", user);
    else if (state && strcmp(state, "23505") == 0)
        fprintf(stderr, "ecoctl: user %s exists\n", user);
    else
        fprintf(stderr, "ecoctl: %s", PQresultErrorMessage(r));
}

struct ctl_user__args {
    const char *name, *role, *dept;
    bool pw_stdin, all;
};

static int ctl_user__parse(int argc, char **argv, int npos, const char **pos,
                           struct ctl_user__args *a)
{
    int got = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--role") == 0 && i + 1 < argc)
            a->role = argv[++i];
        else if (strcmp(argv[i], "--department") == 0 && i + 1 < argc)
            a->dept = argv[++i];
        else if (strcmp(argv[i], "--password-stdin") == 0)
            a->pw_stdin = true;
        else if (strcmp(argv[i], "--all") == 0)
            a->all = true;
        else if (argv[i][0] != '-' && got < npos)
            pos[got++] = argv[i];
        else
            return -EINVAL;
    }
    return got == npos ? 0 : -EINVAL;
}

static int ctl_user__check_role(const char *role, const char *dept)
{
    if (!ctl_user__is_role(role)) {
        fprintf(stderr,
                "ecoctl: unknown role %s (admin, dispatcher, department, analyst, "
                "integrator)\n",
                role);
        return -EINVAL;
    }
    if ((strcmp(role, "department") == 0) != (dept != NULL)) {
        fprintf(stderr, "ecoctl: --department CODE goes with role department, and only with "
                        "it\n");
        return -EINVAL;
    }
    return 0;
}

/* Prints the outcome of a change to one account. */
static void ctl_user__report(const struct ctl_opts *o, const char *verb, PGresult *row,
                             const char *gen_pw, const struct bauth_stats *st)
{
    struct buf b;
    const char *dept = PQgetisnull(row, 0, 2) ? NULL : PQgetvalue(row, 0, 2);
    bool active = strcmp(PQgetvalue(row, 0, 3), "t") == 0;
    if (!o->json) {
        printf("%s %s: role %s%s%s, %s\n", verb, PQgetvalue(row, 0, 0), PQgetvalue(row, 0, 1),
               dept ? " of " : "", dept ? dept : "", active ? "active" : "disabled");
        if (gen_pw)
            printf("password: %s\n", gen_pw);
        return;
    }
    buf_init(&b, 1u << 16);
    buf_addstr(&b, "{\"username\":\"");
    buf_add_json_str(&b, PQgetvalue(row, 0, 0), strlen(PQgetvalue(row, 0, 0)));
    buf_printf(&b, "\",\"role\":\"%s\",\"department\":", PQgetvalue(row, 0, 1));
    if (dept) {
        buf_addc(&b, '"');
        buf_add_json_str(&b, dept, strlen(dept));
        buf_addc(&b, '"');
    } else {
        buf_addstr(&b, "null");
    }
    buf_printf(&b, ",\"active\":%s,", active ? "true" : "false");
    if (gen_pw)
        buf_printf(&b, "\"password\":\"%s\",", gen_pw); /* [A-Za-z0-9] only */
    ctl_user__json_broker(&b, st);
    buf_addstr(&b, "}\n");
    fputs(b.p, stdout);
    buf_close(&b);
}

#define CTL_USER_RETURNING " RETURNING username, role, department, active"

static int ctl_user__change(const struct ctl_opts *o, const char *verb, const char *sql,
                            int nparams, const char *const *params, const char *user,
                            const char *dept, const char *gen_pw)
{
    struct bauth_stats st = {0};
    PGconn *c = ctl_pg_connect(o);
    PGresult *r;
    int rc = CTL_REFUSED;

    if (!c)
        return CTL_REFUSED;
    r = PQexecParams(c, sql, nparams, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        ctl_user__dberr(r, user, dept);
        goto out;
    }
    if (PQntuples(r) != 1) {
        fprintf(stderr, "ecoctl: no user %s\n", user);
        goto out;
    }
    rc = ctl_user__sync(o, c, &st);
    ctl_user__report(o, verb, r, gen_pw, &st);
out:
    PQclear(r);
    PQfinish(c);
    return rc;
}

static int ctl_user__add(const struct ctl_opts *o, int argc, char **argv)
{
    struct ctl_user__args a = {0};
    const char *pos[1], *params[4];
    char pw[MQPW_PASSWORD_MAX + 2], hash[MQPW_HASH_MAX];
    bool gen;

    if (ctl_user__parse(argc, argv, 1, pos, &a) || !a.role) {
        ctl_user__usage(stderr);
        return CTL_USAGE;
    }
    a.name = pos[0];
    if (!bauth_valid_name(a.name)) {
        fprintf(stderr, "ecoctl: a user name is 1-64 of A-Z a-z 0-9 _ . -\n");
        return CTL_USAGE;
    }
    if (ctl_user__check_role(a.role, a.dept))
        return CTL_USAGE;
    if (ctl_user__password(a.pw_stdin, pw, sizeof pw, &gen))
        return CTL_REFUSED;
    if (mqpw_hash(pw, strlen(pw), hash, sizeof hash)) {
        fprintf(stderr, "ecoctl: cannot hash the password\n");
        return CTL_REFUSED;
    }
    params[0] = a.name;
    params[1] = a.role;
    params[2] = a.dept;
    params[3] = hash;
    return ctl_user__change(o, "added",
                            "INSERT INTO core.account (username, role, department, broker_hash)"
                            " VALUES ($1, $2, $3, $4)" CTL_USER_RETURNING,
                            4, params, a.name, a.dept, gen ? pw : NULL);
}

static int ctl_user__passwd(const struct ctl_opts *o, int argc, char **argv)
{
    struct ctl_user__args a = {0};
    const char *pos[1], *params[2];
    char pw[MQPW_PASSWORD_MAX + 2], hash[MQPW_HASH_MAX];
    bool gen;

    if (ctl_user__parse(argc, argv, 1, pos, &a) || a.role || a.dept) {
        ctl_user__usage(stderr);
        return CTL_USAGE;
    }
    if (ctl_user__password(a.pw_stdin, pw, sizeof pw, &gen))
        return CTL_REFUSED;
    if (mqpw_hash(pw, strlen(pw), hash, sizeof hash)) {
        fprintf(stderr, "ecoctl: cannot hash the password\n");
        return CTL_REFUSED;
    }
    params[0] = pos[0];
    params[1] = hash;
    return ctl_user__change(o, "new password for",
                            "UPDATE core.account SET broker_hash = $2, updated_at = now()"
                            " WHERE username = $1" CTL_USER_RETURNING,
                            2, params, pos[0], NULL, gen ? pw : NULL);
}

static int ctl_user__active(const struct ctl_opts *o, int argc, char **argv, bool on)
{
    struct ctl_user__args a = {0};
    const char *pos[1], *params[2];

    if (ctl_user__parse(argc, argv, 1, pos, &a) || a.role || a.dept || a.pw_stdin) {
        ctl_user__usage(stderr);
        return CTL_USAGE;
    }
    params[0] = pos[0];
    params[1] = on ? "t" : "f";
    return ctl_user__change(o, on ? "enabled" : "disabled",
                            "UPDATE core.account SET active = $2, updated_at = now()"
                            " WHERE username = $1" CTL_USER_RETURNING,
                            2, params, pos[0], NULL, NULL);
}

static int ctl_user__role(const struct ctl_opts *o, int argc, char **argv)
{
    struct ctl_user__args a = {0};
    const char *pos[2], *params[3];

    if (ctl_user__parse(argc, argv, 2, pos, &a) || a.role || a.pw_stdin) {
        ctl_user__usage(stderr);
        return CTL_USAGE;
    }
    if (ctl_user__check_role(pos[1], a.dept))
        return CTL_USAGE;
    params[0] = pos[0];
    params[1] = pos[1];
    params[2] = a.dept;
    return ctl_user__change(o, "changed",
                            "UPDATE core.account SET role = $2, department = $3,"
                            " updated_at = now() WHERE username = $1" CTL_USER_RETURNING,
                            3, params, pos[0], a.dept, NULL);
}

static int ctl_user__list(const struct ctl_opts *o, int argc, char **argv)
{
    struct ctl_user__args a = {0};
    struct buf b;
    PGconn *c;
    PGresult *r;
    int rc = CTL_REFUSED;

    if (ctl_user__parse(argc, argv, 0, NULL, &a) || a.role || a.dept || a.pw_stdin) {
        ctl_user__usage(stderr);
        return CTL_USAGE;
    }
    if (!(c = ctl_pg_connect(o)))
        return CTL_REFUSED;
    r = PQexec(c, a.all
                      ? "SELECT username, role, department, active,"
                        " to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
                        " FROM core.account ORDER BY username"
                      : "SELECT username, role, department, active,"
                        " to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
                        " FROM core.account WHERE active ORDER BY username");
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        fprintf(stderr, "ecoctl: %s", PQresultErrorMessage(r));
        goto out;
    }
    buf_init(&b, 64u << 20);
    if (o->json)
        buf_addc(&b, '[');
    else
        buf_printf(&b, "%-24s %-11s %-16s %-8s %s\n", "USER", "ROLE", "DEPARTMENT", "ACTIVE",
                   "CHANGED");
    for (int i = 0; i < PQntuples(r); i++) {
        const char *u = PQgetvalue(r, i, 0), *d = PQgetvalue(r, i, 2);
        bool dnull = PQgetisnull(r, i, 2), on = strcmp(PQgetvalue(r, i, 3), "t") == 0;
        if (!o->json) {
            buf_printf(&b, "%-24s %-11s %-16s %-8s %s\n", u, PQgetvalue(r, i, 1), dnull ? "-" : d,
                       on ? "yes" : "no", PQgetvalue(r, i, 4));
            continue;
        }
        buf_addstr(&b, i ? ",{\"username\":\"" : "{\"username\":\"");
        buf_add_json_str(&b, u, strlen(u));
        buf_printf(&b, "\",\"role\":\"%s\",\"department\":", PQgetvalue(r, i, 1));
        if (dnull) {
            buf_addstr(&b, "null");
        } else {
            buf_addc(&b, '"');
            buf_add_json_str(&b, d, strlen(d));
            buf_addc(&b, '"');
        }
        buf_printf(&b, ",\"active\":%s,\"updated_at\":\"%s\"}", on ? "true" : "false",
                   PQgetvalue(r, i, 4));
    }
    if (o->json)
        buf_addstr(&b, "]\n");
    fputs(b.p, stdout);
    buf_close(&b);
    rc = CTL_OK;
out:
    PQclear(r);
    PQfinish(c);
    return rc;
}

int ctl_user(const struct ctl_opts *o, int argc, char **argv)
{
    const char *v = argv[0];
    if (strcmp(v, "--help") == 0 || strcmp(v, "-h") == 0 || strcmp(v, "help") == 0) {
        ctl_user__usage(stdout);
        return CTL_OK;
    }
    if (strcmp(v, "add") == 0)
        return ctl_user__add(o, argc, argv);
    if (strcmp(v, "list") == 0)
        return ctl_user__list(o, argc, argv);
    if (strcmp(v, "passwd") == 0)
        return ctl_user__passwd(o, argc, argv);
    if (strcmp(v, "disable") == 0 || strcmp(v, "enable") == 0)
        return ctl_user__active(o, argc, argv, strcmp(v, "enable") == 0);
    if (strcmp(v, "role") == 0)
        return ctl_user__role(o, argc, argv);
    ctl_user__usage(stderr);
    return CTL_USAGE;
}

int ctl_broker(const struct ctl_opts *o, int argc, char **argv)
{
    struct bauth_stats st = {0};
    PGconn *c;
    int rc;

    if (strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0) {
        ctl_user__usage(stdout);
        return CTL_OK;
    }
    if (strcmp(argv[0], "sync") != 0 || argc != 1) {
        ctl_user__usage(stderr);
        return CTL_USAGE;
    }
    if (!o->broker_auth_dir || !*o->broker_auth_dir) {
        fprintf(stderr, "ecoctl: ECO_BROKER_AUTH_DIR is not set\n");
        return CTL_REFUSED;
    }
    if (!(c = ctl_pg_connect(o)))
        return CTL_REFUSED;
    rc = ctl_user__sync(o, c, &st);
    if (rc == CTL_OK) {
        if (o->json) {
            struct buf b;
            buf_init(&b, 4096);
            buf_addc(&b, '{');
            ctl_user__json_broker(&b, &st);
            buf_addstr(&b, "}\n");
            fputs(b.p, stdout);
            buf_close(&b);
        } else {
            printf("broker: %ld devices, %ld people, %ld services%s in %.3f s\n", st.devices,
                   st.people, st.services, st.reloaded ? "; reloaded" : "", st.secs);
        }
    }
    PQfinish(c);
    return rc;
}
