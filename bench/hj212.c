/* bench_hj212: an HJ 212 data-logger client for the gateway's tests and its
 * benchmark (tests/integration/hj212_gateway_test.sh, bench/hj212.sh).
 *
 *   bench_hj212 frame [--bad-crc] SEGMENT...
 *       prints each data segment ("QN=...;ST=..;...;CP=&&...&&") as a
 *       complete frame: "##", length, segment, CRC, CR LF; with --bad-crc
 *       the CRC is the complement of the right one, so it is wrong whatever
 *       the segment (overwriting it with a constant is not: HJ 212's CRC is
 *       weak enough that 1 segment in ~130 of the tests' has CRC 0000)
 *   bench_hj212 answer SEGMENT
 *       prints the 9014 data answer the platform owes for that upload
 *       (hj212_encode_answer), to compare byte for byte
 *   bench_hj212 send HOST:PORT [--wait S]
 *       copies standard input to one TCP connection, half-closes it and
 *       copies what comes back to standard output until the server closes
 *       (at most S seconds, default 10); a server that hangs up early is
 *       not an error (the junk tests rely on it)
 *   bench_hj212 load HOST:PORT --conns N --frames F [--values K] [--window W]
 *               [--flag FLAG] [--mn-prefix P] [--pw PW] [--start YYYYMMDDhhmmss]
 *       N concurrent loggers (libuv, one process), each MN = P padded with
 *       zeros to 24 characters, sending F real-time uploads (CN 2011, ST 22)
 *       with K values (a34004 a34002 a21026 a21004 a05024 a21005), DataTime
 *       start + i seconds. Two phases: first every connection sends one
 *       frame with Flag=5 and waits for its 9014 (this is when the gateway
 *       checks the password: bcrypt, the cost of a reconnect storm); once
 *       all are answered, the other F-1 frames go with Flag=FLAG. With bit A
 *       (default Flag=5) at most W frames (default 1) are unanswered per
 *       connection, i.e. as fast as the answers allow; without it frames
 *       are written as fast as TCP takes them. Prints one logfmt summary
 *       line on standard output; barrier_epoch_ms is when the second phase
 *       began (CLOCK_REALTIME), for measuring the time to the database. */
#include "etime.h"
#include "hj212.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

static int usage(void)
{
    fprintf(stderr,
            "usage: bench_hj212 frame [--bad-crc] SEGMENT... | answer SEGMENT | send HOST:PORT "
            "[--wait S] | load HOST:PORT --conns N --frames F [--values K] "
            "[--window W] [--flag FLAG] [--mn-prefix P] [--pw PW] "
            "[--start YYYYMMDDhhmmss]\n");
    return 2;
}

/* A whole decimal number for option k, or the program stops. */
static unsigned opt_uint(const char *k, const char *v)
{
    char *end;
    unsigned long n = strtoul(v, &end, 10);
    if (end == v || *end || n > 1000000000UL) {
        fprintf(stderr, "bench_hj212: %s wants a number, not \"%s\"\n", k, v);
        exit(2);
    }
    return (unsigned)n;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- frame / answer ---------------------------------------------------- */

/* "##" + length + segment + CRC + CR LF, computed here rather than through
 * hj212_encode so that tests can also frame segments the encoder would
 * refuse (bad fields, oversize). */
static int cmd_frame(int argc, char **argv)
{
    unsigned flip = 0;

    if (argc > 0 && strcmp(argv[0], "--bad-crc") == 0) {
        flip = 0xFFFFu; /* differs from the right CRC in every bit */
        argc--;
        argv++;
    }
    for (int i = 0; i < argc; i++) {
        size_t n = strlen(argv[i]);
        if (n > HJ212_SEG_MAX) {
            fprintf(stderr, "bench_hj212: segment %d is longer than %d bytes\n", i + 1,
                    HJ212_SEG_MAX);
            return 1;
        }
        printf("##%04zu%s%04X\r\n", n, argv[i], hj212_crc16(argv[i], n) ^ flip);
    }
    return 0;
}

static int cmd_answer(const char *seg)
{
    char in[HJ212_FRAME_MAX + 1], out[HJ212_FRAME_MAX + 1];
    struct hj212_frame f;
    struct hj212_err err;
    size_t n = strlen(seg), len;
    int k;

    k = snprintf(in, sizeof(in), "##%04zu%s%04X\r\n", n, seg, hj212_crc16(seg, n));
    if (k < 0 || (size_t)k >= sizeof(in) || hj212_parse_frame(in, (size_t)k, &f, &err)) {
        fprintf(stderr, "bench_hj212: not a valid frame: %s\n", err.detail);
        return 1;
    }
    if (hj212_encode_answer(&f, 9014, out, sizeof(out), &len)) {
        fprintf(stderr, "bench_hj212: no 9014 answer for this frame (Flag bit A not set?)\n");
        return 1;
    }
    fwrite(out, 1, len, stdout);
    return 0;
}

/* ---- send -------------------------------------------------------------- */

static int split_addr(const char *addr, char *host, size_t cap, int *port)
{
    const char *colon = strrchr(addr, ':');
    if (!colon || (size_t)(colon - addr) >= cap)
        return -EINVAL;
    memcpy(host, addr, (size_t)(colon - addr));
    host[colon - addr] = '\0';
    char *end;
    long v = strtol(colon + 1, &end, 10);
    if (end == colon + 1 || *end || v <= 0 || v >= 65536)
        return -EINVAL;
    *port = (int)v;
    return 0;
}

static int tcp_connect(const char *addr)
{
    struct sockaddr_in sa;
    char host[64];
    int port, fd;

    if (split_addr(addr, host, sizeof(host), &port) || uv_ip4_addr(host, port, &sa)) {
        fprintf(stderr, "bench_hj212: bad address %s (want IPv4:port)\n", addr);
        return -1;
    }
    fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        fprintf(stderr, "bench_hj212: connect %s: %s\n", addr, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

static int cmd_send(const char *addr, double wait_s)
{
    char buf[16384];
    double deadline;
    bool can_write = true;
    int fd = tcp_connect(addr);

    if (fd < 0)
        return 1;
    for (;;) {
        ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        for (ssize_t off = 0; off < n && can_write;) {
            ssize_t w = write(fd, buf + off, (size_t)(n - off));
            if (w < 0 && errno == EINTR)
                continue;
            if (w < 0) {
                can_write = false; /* the server hung up: read what it said */
                break;
            }
            off += w;
        }
        if (!can_write)
            break;
    }
    shutdown(fd, SHUT_WR);
    deadline = now_s() + wait_s;
    for (;;) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int left = (int)((deadline - now_s()) * 1000);
        ssize_t n;
        if (left <= 0) {
            fprintf(stderr, "bench_hj212: the server did not close within %.0f s\n", wait_s);
            close(fd);
            return 1;
        }
        if (poll(&p, 1, left) < 0 && errno != EINTR)
            break;
        n = read(fd, buf, sizeof(buf));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break; /* EOF, or a reset after junk */
        fwrite(buf, 1, (size_t)n, stdout);
    }
    fflush(stdout);
    close(fd);
    return 0;
}

/* ---- load -------------------------------------------------------------- */

struct load;

struct lconn {
    uv_tcp_t tcp;
    uv_connect_t creq;
    struct load *L;
    unsigned idx;
    char mn[HJ212_MN_MAX + 1];
    uint64_t sent, acked;
    double first_ack;
    bool done, closed;
};

struct lwrite {
    uv_write_t req;
    struct lconn *c;
    bool first; /* the phase-1 frame, answered whatever --flag says */
    char data[];
};

struct load {
    uv_loop_t *loop;
    struct sockaddr_in sa;
    struct lconn *conns;
    unsigned nconns, values, window, flag;
    uint64_t frames;
    const char *prefix, *pw;
    int64_t start_us;
    double t0, t_auth, t_end;
    int64_t barrier_epoch_ms;
    unsigned connected, finished, failed, authed;
    uint64_t total_acked, total_sent;
    char rbuf[65536];
};

static const char *const codes[] = {"a34004", "a34002", "a21026", "a21004", "a05024", "a21005"};

static void l_close(struct lconn *c);
static void l_send(struct lconn *c);

static void l_on_write(uv_write_t *req, int status)
{
    struct lwrite *w = (struct lwrite *)req;
    struct lconn *c = w->c;
    struct load *L = c->L;
    bool first = w->first;

    free(w);
    if (status < 0) {
        if (!c->done) {
            fprintf(stderr, "bench_hj212: conn %u: write: %s\n", c->idx, uv_strerror(status));
            L->failed++;
            c->done = true;
        }
        l_close(c);
        return;
    }
    if (!(L->flag & HJ212_FLAG_A) && !first) {
        /* no answers: a written frame counts as done */
        c->acked++;
        L->total_acked++;
        if (c->acked == L->frames && !c->done) {
            c->done = true;
            L->finished++;
            l_close(c);
            return;
        }
        l_send(c);
    }
}

static void l_send(struct lconn *c)
{
    struct load *L = c->L;
    bool phase2 = L->authed == L->nconns;
    unsigned flag = c->sent == 0 ? 5 : L->flag;
    unsigned window = !phase2 ? 1 : (L->flag & HJ212_FLAG_A) ? L->window : 64;

    if (c->done || c->closed)
        return;
    while (c->sent < L->frames && c->sent - c->acked < window && (phase2 || c->sent == 0)) {
        char cp[512], ts[18];
        struct hj212_frame f;
        struct lwrite *w = malloc(sizeof(*w) + HJ212_FRAME_LEN(1024) + 1);
        size_t len;
        int n, rc;
        int64_t t = L->start_us + (int64_t)c->sent * ETIME_US_PER_SEC;

        if (!w) {
            fprintf(stderr, "bench_hj212: out of memory\n");
            exit(1);
        }
        memset(&f, 0, sizeof(f));
        etime_format_hj212(t, ETIME_BEIJING_OFFSET, 0, ts);
        n = snprintf(cp, sizeof(cp), "DataTime=%s", ts);
        for (unsigned k = 0; k < L->values; k++)
            n += snprintf(cp + n, sizeof(cp) - (size_t)n, ";%s-Rtd=%.1f,%s-Flag=N", codes[k],
                          10.0 + (double)((c->idx * 7 + c->sent * 3 + k * 13) % 900) / 10.0,
                          codes[k]);
        etime_format_hj212(t, ETIME_BEIJING_OFFSET, 1, f.qn);
        snprintf(f.st, sizeof(f.st), "22");
        snprintf(f.cn, sizeof(f.cn), "2011");
        snprintf(f.pw, sizeof(f.pw), "%s", L->pw);
        snprintf(f.mn, sizeof(f.mn), "%s", c->mn);
        f.flag = (int)flag;
        f.fields = HJ212_F_QN | HJ212_F_ST | HJ212_F_CN | HJ212_F_PW | HJ212_F_MN | HJ212_F_FLAG;
        f.cp = cp;
        f.cp_len = (size_t)n;
        rc = hj212_encode(&f, w->data, HJ212_FRAME_LEN(1024) + 1, &len, NULL);
        if (rc) {
            fprintf(stderr, "bench_hj212: encode: %s\n", strerror(-rc));
            exit(1);
        }
        w->c = c;
        w->first = c->sent == 0;
        uv_buf_t b = uv_buf_init(w->data, (unsigned)len);
        if (uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1, l_on_write)) {
            free(w);
            L->failed++;
            c->done = true;
            l_close(c);
            return;
        }
        c->sent++;
        L->total_sent++;
    }
}

static void l_alloc(uv_handle_t *h, size_t s, uv_buf_t *b)
{
    struct lconn *c = h->data;
    (void)s;
    *b = uv_buf_init(c->L->rbuf, sizeof(c->L->rbuf));
}

static void l_on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *b)
{
    struct lconn *c = s->data;
    struct load *L = c->L;

    if (nread < 0) {
        if (!c->done) {
            fprintf(stderr,
                    "bench_hj212: conn %u (%s): closed by the server after %llu of %llu "
                    "answers: %s\n",
                    c->idx, c->mn, (unsigned long long)c->acked, (unsigned long long)L->frames,
                    uv_strerror((int)nread));
            L->failed++;
            c->done = true;
        }
        l_close(c);
        return;
    }
    /* every answer ends with CR LF */
    for (ssize_t i = 0; i < nread; i++) {
        if (b->base[i] != '\n')
            continue;
        c->acked++;
        L->total_acked++;
        if (c->acked == 1) {
            c->first_ack = now_s();
            if (++L->authed == L->nconns) {
                /* everyone is in: start the timed phase on every connection */
                L->t_auth = c->first_ack;
                L->barrier_epoch_ms = etime_now_us() / 1000;
                for (unsigned k = 0; k < L->nconns; k++)
                    if (&L->conns[k] != c)
                        l_send(&L->conns[k]);
            }
        }
    }
    if (c->acked >= L->frames && !c->done) {
        c->done = true;
        L->finished++;
        l_close(c);
        return;
    }
    l_send(c);
}

static void l_closed(uv_handle_t *h)
{
    struct lconn *c = h->data;
    if (c->L->finished + c->L->failed == c->L->nconns && c->L->t_end <= 0)
        c->L->t_end = now_s();
}

static void l_close(struct lconn *c)
{
    if (c->closed)
        return;
    c->closed = true;
    uv_close((uv_handle_t *)&c->tcp, l_closed);
}

static void l_on_connect(uv_connect_t *req, int status)
{
    struct lconn *c = req->data;
    struct load *L = c->L;

    if (status < 0) {
        fprintf(stderr, "bench_hj212: conn %u: connect: %s\n", c->idx, uv_strerror(status));
        L->failed++;
        c->done = true;
        l_close(c);
        return;
    }
    L->connected++;
    uv_read_start((uv_stream_t *)&c->tcp, l_alloc, l_on_read);
    l_send(c);
}

static int cmd_load(const char *addr, int argc, char **argv)
{
    struct load L = {0};
    char host[64], start[32] = "20210601000000";
    uv_loop_t loop;
    int port;

    L.nconns = 100;
    L.frames = 100;
    L.values = 6;
    L.window = 1;
    L.flag = 5;
    L.prefix = "BENCH";
    L.pw = "123456";
    for (int i = 0; i + 1 < argc; i += 2) {
        const char *k = argv[i], *v = argv[i + 1];
        if (strcmp(k, "--conns") == 0)
            L.nconns = opt_uint(k, v);
        else if (strcmp(k, "--frames") == 0)
            L.frames = strtoull(v, NULL, 10);
        else if (strcmp(k, "--values") == 0)
            L.values = opt_uint(k, v);
        else if (strcmp(k, "--window") == 0)
            L.window = opt_uint(k, v);
        else if (strcmp(k, "--flag") == 0)
            L.flag = opt_uint(k, v);
        else if (strcmp(k, "--mn-prefix") == 0)
            L.prefix = v;
        else if (strcmp(k, "--pw") == 0)
            L.pw = v;
        else if (strcmp(k, "--start") == 0)
            snprintf(start, sizeof(start), "%s", v);
        else
            return usage();
    }
    if (argc % 2 || !L.nconns || !L.frames || L.values < 1 || L.values > 6 || !L.window ||
        strlen(L.prefix) > 16 || split_addr(addr, host, sizeof(host), &port) ||
        uv_ip4_addr(host, port, &L.sa) ||
        etime_parse_hj212(start, strlen(start), ETIME_BEIJING_OFFSET, &L.start_us))
        return usage();
    L.conns = calloc(L.nconns, sizeof(*L.conns));
    if (!L.conns)
        return 1;
    uv_loop_init(&loop);
    L.loop = &loop;
    L.t0 = now_s();
    for (unsigned i = 0; i < L.nconns; i++) {
        struct lconn *c = &L.conns[i];
        c->L = &L;
        c->idx = i;
        snprintf(c->mn, sizeof(c->mn), "%s%0*u", L.prefix, (int)(24 - strlen(L.prefix)), i);
        uv_tcp_init(&loop, &c->tcp);
        c->tcp.data = c->creq.data = c;
        uv_tcp_connect(&c->creq, &c->tcp, (const struct sockaddr *)&L.sa, l_on_connect);
    }
    uv_run(&loop, UV_RUN_DEFAULT);
    if (L.t_end <= 0)
        L.t_end = now_s();
    double el = L.t_auth > 0 ? L.t_end - L.t_auth : 0;
    uint64_t p2 = L.total_acked > L.authed ? L.total_acked - L.authed : 0;
    printf("conns=%u connected=%u finished=%u failed=%u flag=%u window=%u frames_sent=%llu "
           "frames_done=%llu auth_phase_s=%.3f phase2_frames=%llu phase2_s=%.3f "
           "phase2_frames_per_s=%.0f phase2_values_per_s=%.0f barrier_epoch_ms=%lld\n",
           L.nconns, L.connected, L.finished, L.failed, L.flag, L.window,
           (unsigned long long)L.total_sent, (unsigned long long)L.total_acked,
           L.t_auth > 0 ? L.t_auth - L.t0 : -1.0, (unsigned long long)p2, el,
           el > 0 ? (double)p2 / el : 0, el > 0 ? (double)p2 * L.values / el : 0,
           (long long)L.barrier_epoch_ms);
    uv_loop_close(&loop);
    free(L.conns);
    return L.failed ? 1 : 0;
}

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    if (argc < 2)
        return usage();
    if (strcmp(argv[1], "frame") == 0)
        return cmd_frame(argc - 2, argv + 2);
    if (strcmp(argv[1], "answer") == 0 && argc == 3)
        return cmd_answer(argv[2]);
    if (strcmp(argv[1], "send") == 0 && (argc == 3 || (argc == 5 && !strcmp(argv[3], "--wait"))))
        return cmd_send(argv[2], argc == 5 ? atof(argv[4]) : 10.0);
    if (strcmp(argv[1], "load") == 0 && argc >= 3)
        return cmd_load(argv[2], argc - 3, argv + 3);
    return usage();
}
