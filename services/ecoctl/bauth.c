#include "bauth.h"

#include "buf.h"
#include "mqpw.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Bounds: a province has tens of thousands of devices; a line of the
 * password file is < 240 bytes, so 64 MB is ~250 000 accounts. */
#define BAUTH_FILE_MAX (64u << 20)
#define BAUTH_SERVICES_MAX 256
#define BAUTH_STAGE_BATCH 2000

const char *const bauth_roles[] = {"admin",   "dispatcher", "department",
                                   "analyst", "integrator", NULL};

/* What each role may do on the broker (docs/SECURITY.md, "Accounts and
 * roles"). Lists are explicit grants: what a role is not given it cannot
 * read, so a new topic stays closed until added here. "%s" is the
 * department code (a department account's own work orders only).
 * Complaints (eco/v1/complaint/#) carry complainants' phone numbers: only
 * dispatchers and admins read them. */
static const char *const bauth__acl_admin[] = {"topic readwrite eco/v1/#", "topic read $SYS/#",
                                               NULL};
static const char *const bauth__acl_dispatcher[] = {"topic read eco/v1/alarm/#",
                                                    "topic read eco/v1/complaint/#",
                                                    "topic read eco/v1/wo/#",
                                                    "topic read eco/v1/obs/#",
                                                    "topic read eco/v1/latest/#",
                                                    "topic read eco/v1/sys/#",
                                                    "topic read eco/v1/report/layer/#",
                                                    "topic read eco/v1/report/layerz/#",
                                                    NULL};
/* The console's map layers without other departments' alarms and orders:
 * not layer/sites (open alarms and orders per site), alarms, orders or
 * departments (eco-report, services/report/report.c). */
static const char *const bauth__acl_department[] = {"topic read eco/v1/wo/%s/#",
                                                    "topic read eco/v1/latest/#",
                                                    "topic read eco/v1/report/layer/regions",
                                                    "topic read eco/v1/report/layerz/regions",
                                                    "topic read eco/v1/report/layer/stations",
                                                    "topic read eco/v1/report/layerz/stations",
                                                    "topic read eco/v1/report/layer/tracks",
                                                    "topic read eco/v1/report/layerz/tracks",
                                                    "topic read eco/v1/report/layer/grid",
                                                    "topic read eco/v1/report/layerz/grid",
                                                    NULL};
static const char *const bauth__acl_analyst[] = {"topic read eco/v1/obs/#",
                                                 "topic read eco/v1/latest/#",
                                                 "topic read eco/v1/alarm/#",
                                                 "topic read eco/v1/gep/#",
                                                 "topic read eco/v1/report/#",
                                                 "topic read eco/v1/sys/#",
                                                 NULL};
static const char *const bauth__acl_integrator[] = {"topic read eco/v1/obs/#",
                                                    "topic read eco/v1/latest/#",
                                                    "topic read eco/v1/alarm/#",
                                                    "topic read eco/v1/gep/#",
                                                    "topic read eco/v1/report/#",
                                                    "topic read eco/v1/sys/#",
                                                    NULL};
static const char *const *const bauth__acl[] = {bauth__acl_admin, bauth__acl_dispatcher,
                                                bauth__acl_department, bauth__acl_analyst,
                                                bauth__acl_integrator};

static int bauth__fail(char *why, size_t cap, int rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int bauth__fail(char *why, size_t cap, int rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, cap, fmt, ap);
    va_end(ap);
    return rc;
}

bool bauth_valid_name(const char *s)
{
    size_t n = 0;
    for (; s[n]; n++) {
        char ch = s[n];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '_' || ch == '.' || ch == '-'))
            return false;
    }
    return n >= 1 && n <= 64;
}

static int bauth__role(const char *r)
{
    for (int i = 0; bauth_roles[i]; i++)
        if (strcmp(r, bauth_roles[i]) == 0)
            return i;
    return -1;
}

static int bauth__slurp(const char *path, struct buf *b)
{
    char chunk[8192];
    ssize_t n;
    int rc = 0, fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    while ((n = read(fd, chunk, sizeof chunk)) != 0) {
        if (n < 0) {
            if (errno == EINTR)
                continue;
            rc = -errno;
            break;
        }
        if ((rc = buf_add(b, chunk, (size_t)n)))
            break;
    }
    close(fd);
    if (!rc && b->len && b->p[b->len - 1] != '\n')
        rc = buf_addc(b, '\n');
    return rc;
}

/* The user names of services.passwd ("name:hash" lines). */
static int bauth__service_names(const struct buf *b, char names[][65], int *n)
{
    const char *p = b->p, *end = b->p + b->len;
    *n = 0;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p)), *colon;
        if (!nl)
            nl = end;
        colon = memchr(p, ':', (size_t)(nl - p));
        if (colon && colon > p && colon - p <= 64 && *p != '#') {
            if (*n == BAUTH_SERVICES_MAX)
                return -E2BIG;
            memcpy(names[*n], p, (size_t)(colon - p));
            names[*n][colon - p] = '\0';
            (*n)++;
        }
        p = nl + 1;
    }
    return 0;
}

static bool bauth__is_service(char names[][65], int n, const char *u)
{
    for (int i = 0; i < n; i++)
        if (strcasecmp(names[i], u) == 0)
            return true;
    return false;
}

/* Writes b to dir/name through a temporary file and rename(2), with the
 * old file's mode and group. */
static int bauth__write(const char *dir, const char *name, const struct buf *b, char *why,
                        size_t cap)
{
    char path[4096], tmp[4096];
    struct stat old;
    mode_t mode = 0600;
    int fd, rc = 0;
    size_t off = 0;

    if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, name) >= sizeof path ||
        (size_t)snprintf(tmp, sizeof tmp, "%s/.%s.XXXXXX", dir, name) >= sizeof tmp)
        return bauth__fail(why, cap, -ENAMETOOLONG, "%s: path too long", dir);
    fd = mkstemp(tmp);
    if (fd < 0)
        return bauth__fail(why, cap, -EIO, "cannot create a file in %s: %s", dir, strerror(errno));
    if (stat(path, &old) == 0) {
        mode = old.st_mode & 0777;
        /* the broker reads through the owner or the group (Debian:
         * root:mosquitto 0640): keep both where we may (root), else the
         * group (a member of it), else the file is ours */
        if (fchown(fd, old.st_uid, old.st_gid) != 0 && fchown(fd, (uid_t)-1, old.st_gid) != 0 &&
            errno != EPERM)
            rc = -EIO;
    }
    if (!rc && fchmod(fd, mode) != 0)
        rc = -EIO;
    while (!rc && off < b->len) {
        ssize_t n = write(fd, b->p + off, b->len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            rc = -EIO;
        else
            off += (size_t)n;
    }
    if (!rc && fsync(fd) != 0)
        rc = -EIO;
    if (close(fd) != 0 && !rc)
        rc = -EIO;
    if (!rc && rename(tmp, path) != 0)
        rc = -EIO;
    if (rc) {
        int e = errno;
        unlink(tmp);
        return bauth__fail(why, cap, rc, "cannot write %s: %s", path, strerror(e));
    }
    return 0;
}

static int bauth__acl_block(struct buf *acl, int role, const char *user, const char *dept)
{
    int rc = buf_printf(acl, "\nuser %s\n", user);
    for (const char *const *l = bauth__acl[role]; !rc && *l; l++) {
        if (strstr(*l, "%s")) {
            const char *pct = strstr(*l, "%s");
            rc = buf_add(acl, *l, (size_t)(pct - *l));
            rc = rc ? rc : buf_addstr(acl, dept);
            rc = rc ? rc : buf_addstr(acl, pct + 2);
            rc = rc ? rc : buf_addc(acl, '\n');
        } else {
            rc = buf_printf(acl, "%s\n", *l);
        }
    }
    return rc;
}

int bauth_render(PGconn *c, const char *dir, struct bauth_stats *st, char *why, size_t cap)
{
    struct buf pw, acl;
    char path[4096];
    char(*names)[65] = calloc(BAUTH_SERVICES_MAX, sizeof *names);
    int nsvc = 0, rc = 0;
    PGresult *dev = NULL, *ppl = NULL;

    buf_init(&pw, BAUTH_FILE_MAX);
    buf_init(&acl, BAUTH_FILE_MAX);
    if (!names) {
        rc = bauth__fail(why, cap, -ENOMEM, "out of memory");
        goto out;
    }
    snprintf(path, sizeof path, "%s/services.passwd", dir);
    if ((rc = bauth__slurp(path, &pw))) {
        rc = bauth__fail(why, cap, rc == -ENOENT ? -ENOENT : -EIO, "cannot read %s: %s", path,
                         strerror(-rc));
        goto out;
    }
    if (bauth__service_names(&pw, names, &nsvc)) {
        rc = bauth__fail(why, cap, -EIO, "%s: more than %d accounts", path, BAUTH_SERVICES_MAX);
        goto out;
    }
    st->services = nsvc;
    snprintf(path, sizeof path, "%s/services.acl", dir);
    if ((rc = bauth__slurp(path, &acl))) {
        rc = bauth__fail(why, cap, rc == -ENOENT ? -ENOENT : -EIO, "cannot read %s: %s", path,
                         strerror(-rc));
        goto out;
    }

    /* both lists from one snapshot */
    PQclear(PQexec(c, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"));
    dev =
        PQexec(c, "SELECT code, broker_hash, may_complain FROM core.device"
                  " WHERE protocol = 'mqtt' AND active AND broker_hash IS NOT NULL ORDER BY code");
    ppl = PQexec(c, "SELECT username, role, coalesce(department, ''), broker_hash"
                    " FROM core.account WHERE active ORDER BY username");
    PQclear(PQexec(c, "COMMIT"));
    if (PQresultStatus(dev) != PGRES_TUPLES_OK || PQresultStatus(ppl) != PGRES_TUPLES_OK) {
        rc = bauth__fail(why, cap, -EIO, "cannot read the accounts (is the schema migrated?): %s",
                         PQresultErrorMessage(PQresultStatus(dev) != PGRES_TUPLES_OK ? dev : ppl));
        goto out;
    }

    rc = buf_addstr(&acl, "\n# ---- generated by ecoctl from the database (docs/SECURITY.md);"
                          " edit services.acl, not this file ----\n"
                          "# every MQTT device publishes its own readings and nothing else\n"
                          "pattern write eco/v1/in/%u\n");
    for (int i = 0; !rc && i < PQntuples(dev); i++) {
        const char *u = PQgetvalue(dev, i, 0);
        if (!bauth_valid_name(u) || bauth__is_service(names, nsvc, u)) {
            fprintf(stderr,
                    "ecoctl: device %s has the name of a service account: no broker "
                    "account for it\n",
                    u);
            st->skipped++;
            continue;
        }
        rc = buf_printf(&pw, "%s:%s\n", u, PQgetvalue(dev, i, 1));
        /* devices.csv `complaints`: a gateway of public complaints */
        if (!rc && strcmp(PQgetvalue(dev, i, 2), "t") == 0)
            rc = buf_printf(&acl, "\nuser %s\ntopic write eco/v1/complaint/new\n", u);
        st->devices++;
    }
    for (int i = 0; !rc && i < PQntuples(ppl); i++) {
        const char *u = PQgetvalue(ppl, i, 0), *dept = PQgetvalue(ppl, i, 2);
        int role = bauth__role(PQgetvalue(ppl, i, 1));
        if (!bauth_valid_name(u) || bauth__is_service(names, nsvc, u) || role < 0 ||
            (role == 2 && !bauth_valid_name(dept))) {
            fprintf(stderr,
                    "ecoctl: user %s has the name of a service account (or a bad role):"
                    " no broker account for it\n",
                    u);
            st->skipped++;
            continue;
        }
        rc = buf_printf(&pw, "%s:%s\n", u, PQgetvalue(ppl, i, 3));
        rc = rc ? rc : bauth__acl_block(&acl, role, u, dept);
        st->people++;
    }
    if (rc) {
        rc = bauth__fail(why, cap, -EIO, "the accounts exceed %u bytes", BAUTH_FILE_MAX);
        goto out;
    }
    /* the password file first: a reload between the two renames (a broker
     * restarted by someone else) then sees new accounts with the old ACL,
     * which grants them nothing they should not have */
    if ((rc = bauth__write(dir, "passwd", &pw, why, cap)) ||
        (rc = bauth__write(dir, "acl", &acl, why, cap)))
        goto out;
    st->rendered = true;
out:
    free(names);
    PQclear(dev);
    PQclear(ppl);
    buf_close(&pw);
    buf_close(&acl);
    return rc;
}

int bauth_reload(const char *pidfile, char *why, size_t cap)
{
    char text[32] = "", comm[64] = "", proc[64];
    long pid;
    char *end;
    FILE *f = fopen(pidfile, "r");
    if (!f)
        return bauth__fail(why, cap, -ESRCH, "cannot read %s: %s", pidfile, strerror(errno));
    if (!fgets(text, sizeof text, f))
        text[0] = '\0';
    fclose(f);
    errno = 0;
    pid = strtol(text, &end, 10);
    if (errno || end == text || (*end && *end != '\n') || pid <= 1 || pid > 4194304)
        return bauth__fail(why, cap, -ESRCH, "%s holds no pid", pidfile);
    /* a stale pid file may name another program now */
    snprintf(proc, sizeof proc, "/proc/%ld/comm", pid);
    f = fopen(proc, "r");
    if (f) {
        if (!fgets(comm, sizeof comm, f))
            comm[0] = '\0';
        fclose(f);
        comm[strcspn(comm, "\n")] = '\0';
        if (strcmp(comm, "mosquitto") != 0)
            return bauth__fail(why, cap, -ESRCH, "process %ld of %s is %s, not mosquitto", pid,
                               pidfile, comm);
    }
    if (kill((pid_t)pid, SIGHUP) != 0)
        return bauth__fail(why, cap, errno == ESRCH ? -ESRCH : -EIO,
                           "cannot signal mosquitto %ld: %s", pid, strerror(errno));
    return 0;
}

int bauth_sync(PGconn *c, const char *auth_dir, const char *pid_file, struct bauth_stats *st,
               char *why, size_t cap)
{
    struct timespec t0, t1;
    int rc = 0;
    PGresult *r;

    memset(st, 0, sizeof *st);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (!auth_dir || !*auth_dir)
        return 0;
    /* two renders at once would race on the rename order and the signal */
    r = PQexec(c, "SELECT pg_advisory_lock(hashtext('ecowatch broker render'))");
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        rc = bauth__fail(why, cap, -EIO, "lock: %s", PQresultErrorMessage(r));
        PQclear(r);
        return rc;
    }
    PQclear(r);
    rc = bauth_render(c, auth_dir, st, why, cap);
    if (!rc && pid_file && *pid_file) {
        rc = bauth_reload(pid_file, why, cap);
        st->reloaded = rc == 0;
    }
    PQclear(PQexec(c, "SELECT pg_advisory_unlock(hashtext('ecowatch broker render'))"));
    clock_gettime(CLOCK_MONOTONIC, &t1);
    st->secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    return rc;
}

/* Appends s as one element of a text[] literal ("..." with \ and " escaped). */
static int bauth__arr_add(struct buf *b, const char *s)
{
    int rc = b->len > 1 ? buf_addc(b, ',') : 0;
    rc = rc ? rc : buf_addc(b, '"');
    for (; !rc && *s; s++) {
        if (*s == '"' || *s == '\\')
            rc = buf_addc(b, '\\');
        rc = rc ? rc : buf_addc(b, *s);
    }
    return rc ? rc : buf_addc(b, '"');
}

static int bauth__stage_flush(PGconn *c, struct buf *codes, struct buf *hashes, char *why,
                              size_t cap)
{
    const char *params[2];
    PGresult *r;
    int rc = 0;
    if (codes->len <= 1)
        return 0;
    if (buf_addc(codes, '}') || buf_addc(hashes, '}'))
        return bauth__fail(why, cap, -EIO, "out of memory");
    params[0] = codes->p;
    params[1] = hashes->p;
    r = PQexecParams(c,
                     "UPDATE core.device d SET broker_hash = v.h"
                     " FROM unnest($1::text[], $2::text[]) AS v(code, h) WHERE d.code = v.code",
                     2, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
        rc = bauth__fail(why, cap, -EIO, "storing broker hashes: %s", PQresultErrorMessage(r));
    PQclear(r);
    buf_reset(codes);
    buf_reset(hashes);
    buf_addc(codes, '{');
    buf_addc(hashes, '{');
    return rc;
}

int bauth_stage_devices(PGconn *c, long *hashed, char *why, size_t cap)
{
    struct buf codes, hashes;
    PGresult *r;
    int rc = 0, n, batch = 0;

    *hashed = 0;
    r = PQexec(c, "SELECT s.code, s.password, d.broker_hash FROM rg_device s"
                  " JOIN core.device d ON d.code = s.code"
                  " WHERE s.password IS NOT NULL AND d.protocol = 'mqtt'");
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        rc = bauth__fail(why, cap, -EIO, "reading device passwords: %s", PQresultErrorMessage(r));
        PQclear(r);
        return rc;
    }
    buf_init(&codes, BAUTH_FILE_MAX);
    buf_init(&hashes, BAUTH_FILE_MAX);
    buf_addc(&codes, '{');
    buf_addc(&hashes, '{');
    n = PQntuples(r);
    for (int i = 0; !rc && i < n; i++) {
        const char *pw = PQgetvalue(r, i, 1);
        size_t len = strlen(pw);
        char h[MQPW_HASH_MAX];
        /* a repeated load changes nothing: the stored hash is kept while
         * the file's password still matches it */
        if (!PQgetisnull(r, i, 2) && mqpw_verify(pw, len, PQgetvalue(r, i, 2)) == 0)
            continue;
        if (mqpw_hash(pw, len, h, sizeof h)) {
            rc = bauth__fail(why, cap, -EIO, "cannot hash the password of device %s",
                             PQgetvalue(r, i, 0));
            break;
        }
        if (bauth__arr_add(&codes, PQgetvalue(r, i, 0)) || bauth__arr_add(&hashes, h)) {
            rc = bauth__fail(why, cap, -EIO, "out of memory");
            break;
        }
        (*hashed)++;
        if (++batch == BAUTH_STAGE_BATCH) {
            rc = bauth__stage_flush(c, &codes, &hashes, why, cap);
            batch = 0;
        }
    }
    if (!rc)
        rc = bauth__stage_flush(c, &codes, &hashes, why, cap);
    PQclear(r);
    buf_close(&codes);
    buf_close(&hashes);
    return rc;
}

int bauth_registry_loaded(PGconn *c, const char *auth_dir, const char *pid_file)
{
    struct bauth_stats st;
    char why[512] = "";
    int rc = bauth_sync(c, auth_dir, pid_file, &st, why, sizeof why);
    if (rc)
        fprintf(stderr,
                "ecoctl: the registry is loaded, but the broker's accounts were not "
                "updated: %s (retry with `ecoctl broker sync`)\n",
                why);
    else if (st.rendered)
        fprintf(stderr, "ecoctl: broker accounts: %ld devices, %ld people%s\n", st.devices,
                st.people, st.reloaded ? ", reloaded" : " (reload the broker yourself)");
    return rc;
}
