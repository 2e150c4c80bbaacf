/* bench_broker_accounts: the two timed parts of bench/broker_accounts.sh.
 *
 *   bench_broker_accounts hash N
 *       hashes N passwords as `ecoctl registry load` does for MQTT devices
 *       (mqpw_hash: PBKDF2-SHA512, 101 rounds) and prints the time; on
 *       standard output, N lines "dev-NNNNN<TAB>$7$..." for COPY into
 *       core.device (password of dev-NNNNN: pw-NNNNN)
 *   bench_broker_accounts connect HOST PORT N [--window W] [--password-prefix P]
 *       N device clients (libmosquitto, MQTT 5, one process, one poll loop)
 *       connect as dev-00000 .. dev-N-1 with password P-NNNNN (default pw),
 *       at most W CONNECTs unanswered at a time (default 100); prints one
 *       logfmt line: accepted, refused, seconds, CONNACK latency p50/p99/max
 *       in ms. The broker checks each password (PBKDF2) on the CONNECT. */
#include "mqpw.h"

#include <mosquitto.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct bench_client {
    struct mosquitto *m;
    double sent, done; /* ms */
    int state;         /* 0 idle, 1 connecting, 2 accepted, 3 refused */
};

static double bench_now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static void bench_on_connect(struct mosquitto *m, void *ud, int rc, int flags,
                             const mosquitto_property *props)
{
    struct bench_client *c = ud;
    (void)m;
    (void)flags;
    (void)props;
    c->done = bench_now_ms();
    c->state = rc == 0 ? 2 : 3;
}

static int bench_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static long bench_num(const char *s, long lo, long hi)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (end == s || *end || v < lo || v > hi) {
        fprintf(stderr, "bench_broker_accounts: bad number %s\n", s);
        exit(2);
    }
    return v;
}

static int bench_hash(long n)
{
    double t0 = bench_now_ms();
    for (long i = 0; i < n; i++) {
        char pw[32], h[MQPW_HASH_MAX];
        int len = snprintf(pw, sizeof pw, "pw-%05ld", i);
        if (mqpw_hash(pw, (size_t)len, h, sizeof h))
            return 1;
        printf("dev-%05ld\t%s\n", i, h);
    }
    fprintf(stderr, "hashed=%ld seconds=%.3f\n", n, (bench_now_ms() - t0) / 1e3);
    return 0;
}

static int bench_connect(const char *host, int port, long n, long window, const char *prefix)
{
    struct bench_client *cl = calloc((size_t)n, sizeof *cl);
    struct pollfd *pf = calloc((size_t)n, sizeof *pf);
    double *lat = calloc((size_t)n, sizeof *lat), t0, deadline;
    long next = 0, inflight = 0, accepted = 0, refused = 0, failed = 0, nl = 0;

    if (!cl || !pf || !lat)
        return 1;
    mosquitto_lib_init();
    t0 = bench_now_ms();
    deadline = t0 + 120e3;
    while ((accepted + refused + failed < n) && bench_now_ms() < deadline) {
        int np = 0;
        while (next < n && inflight < window) {
            struct bench_client *c = &cl[next];
            char id[32], user[32], pw[64];
            snprintf(id, sizeof id, "bench-dev-%05ld", next);
            snprintf(user, sizeof user, "dev-%05ld", next);
            snprintf(pw, sizeof pw, "%s-%05ld", prefix, next);
            c->m = mosquitto_new(id, true, c);
            mosquitto_int_option(c->m, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5);
            mosquitto_connect_v5_callback_set(c->m, bench_on_connect);
            mosquitto_username_pw_set(c->m, user, pw);
            c->sent = bench_now_ms();
            if (mosquitto_connect(c->m, host, port, 60) != MOSQ_ERR_SUCCESS) {
                c->state = 3;
                failed++;
            } else {
                c->state = 1;
                inflight++;
            }
            next++;
        }
        for (long i = 0; i < next; i++) {
            if (cl[i].state != 1)
                continue;
            pf[np].fd = mosquitto_socket(cl[i].m);
            pf[np].events = POLLIN | (mosquitto_want_write(cl[i].m) ? POLLOUT : 0);
            pf[np].revents = 0;
            np++;
        }
        poll(pf, (nfds_t)np, 50);
        np = 0;
        for (long i = 0; i < next; i++) {
            struct bench_client *c = &cl[i];
            if (c->state != 1)
                continue;
            if (pf[np].revents & (POLLIN | POLLHUP | POLLERR))
                mosquitto_loop_read(c->m, 1);
            if (pf[np].revents & POLLOUT)
                mosquitto_loop_write(c->m, 1);
            mosquitto_loop_misc(c->m);
            np++;
            if (c->state == 2 || c->state == 3) {
                inflight--;
                lat[nl++] = c->done - c->sent;
                if (c->state == 2)
                    accepted++;
                else
                    refused++;
            } else if (mosquitto_socket(c->m) < 0) {
                c->state = 3; /* the broker closed it without a CONNACK */
                inflight--;
                failed++;
            }
        }
    }
    qsort(lat, (size_t)nl, sizeof *lat, bench_cmp);
    printf("connects=%ld accepted=%ld refused=%ld failed=%ld window=%ld seconds=%.3f "
           "connack_ms_p50=%.1f connack_ms_p99=%.1f connack_ms_max=%.1f\n",
           n, accepted, refused, failed, window, (bench_now_ms() - t0) / 1e3,
           nl ? lat[nl / 2] : 0.0, nl ? lat[(nl * 99) / 100 < nl ? (nl * 99) / 100 : nl - 1] : 0.0,
           nl ? lat[nl - 1] : 0.0);
    for (long i = 0; i < next; i++) {
        if (cl[i].state == 2)
            mosquitto_disconnect(cl[i].m);
        mosquitto_destroy(cl[i].m);
    }
    mosquitto_lib_cleanup();
    free(cl);
    free(pf);
    free(lat);
    return accepted == n ? 0 : 1;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "hash") == 0)
        return bench_hash(bench_num(argv[2], 1, 1000000));
    if (argc >= 5 && strcmp(argv[1], "connect") == 0) {
        long window = 100;
        const char *prefix = "pw";
        for (int i = 5; i < argc; i++) {
            if (strcmp(argv[i], "--window") == 0 && i + 1 < argc)
                window = bench_num(argv[++i], 1, 100000);
            else if (strcmp(argv[i], "--password-prefix") == 0 && i + 1 < argc)
                prefix = argv[++i];
            else
                goto usage;
        }
        return bench_connect(argv[2], (int)bench_num(argv[3], 1, 65535),
                             bench_num(argv[4], 1, 100000), window, prefix);
    }
usage:
    fprintf(stderr, "usage: bench_broker_accounts hash N | connect HOST PORT N [--window W] "
                    "[--password-prefix P]\n");
    return 2;
}
