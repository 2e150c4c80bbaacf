/* check: the smallest test vocabulary, and a runner that gives every case its
 * own process.
 *
 * A failed check prints file:line and the expression and exits 1. Run under
 * check_main(), that exit ends only the case it is in: each case runs in a
 * forked child with a timeout (as libuv's test/runner.c does), the runner
 * prints one TAP line per case, runs the next case whatever happened, and
 * the program exits 1 if any case failed, crashed or timed out.
 *
 *     static void test_round_trip(void) { CHECK_EQ_INT(f(1), 2); }
 *     static const struct check_case cases[] = {
 *         CHECK_CASE(test_round_trip),
 *     };
 *     int main(int argc, char **argv) { return CHECK_MAIN(argc, argv, cases); }
 *
 * A file with shared setup (a temporary directory, a registry) does it in
 * main before check_main(): every case starts from that state, and what a
 * case changes does not reach the next one.
 *
 *     t_name [--list] [--no-fork] [--timeout S] [CASE...]
 *
 * CASE names select cases (the "test_" prefix may be left out); --no-fork
 * runs them in this process (for a debugger: the first failure then ends
 * the run). ECO_CHECK_TIMEOUT_S sets the default timeout (30 s a case). */
#ifndef ECO_CHECK_H
#define ECO_CHECK_H

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CHECK(expr)                                                                                \
    do {                                                                                           \
        if (!(expr)) {                                                                             \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #expr);               \
            exit(1);                                                                               \
        }                                                                                          \
    } while (0)

/* An unconditional failure, with a reason. */
#define FAIL(why)                                                                                  \
    do {                                                                                           \
        fprintf(stderr, "%s:%d: failed: %s\n", __FILE__, __LINE__, why);                           \
        exit(1);                                                                                   \
    } while (0)

#define CHECK_EQ_INT(a, b)                                                                         \
    do {                                                                                           \
        long long check_a_ = (long long)(a), check_b_ = (long long)(b);                            \
        if (check_a_ != check_b_) {                                                                \
            fprintf(stderr, "%s:%d: %s == %s failed: %lld != %lld\n", __FILE__, __LINE__, #a, #b,  \
                    check_a_, check_b_);                                                           \
            exit(1);                                                                               \
        }                                                                                          \
    } while (0)

#define CHECK_EQ_STR(a, b)                                                                         \
    do {                                                                                           \
        const char *check_a_ = (a), *check_b_ = (b);                                               \
        if (strcmp(check_a_, check_b_) != 0) {                                                     \
            fprintf(stderr, "%s:%d: %s == %s failed: \"%s\" != \"%s\"\n", __FILE__, __LINE__, #a,  \
                    #b, check_a_, check_b_);                                                       \
            exit(1);                                                                               \
        }                                                                                          \
    } while (0)

struct check_case {
    const char *name;
    void (*fn)(void);
};

#define CHECK_CASE(fn)                                                                             \
    {                                                                                              \
#fn, fn                                                                                    \
    }
#define CHECK_MAIN(argc, argv, cases)                                                              \
    check_main(argc, argv, cases, sizeof(cases) / sizeof((cases)[0]))

static inline int64_t check__now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Name matching: "round_trip" selects test_round_trip too. */
static inline int check__selected(const char *name, int nsel, char **sel)
{
    if (nsel == 0)
        return 1;
    for (int i = 0; i < nsel; i++) {
        if (strcmp(name, sel[i]) == 0)
            return 1;
        if (strncmp(name, "test_", 5) == 0 && strcmp(name + 5, sel[i]) == 0)
            return 1;
    }
    return 0;
}

/* Runs one case in a child of its own (its own process group, so that what
 * it starts is killed with it) and waits at most timeout_s for it. Writes
 * why it failed to why; returns 0 if it passed. */
static inline int check__run_one(const struct check_case *c, unsigned timeout_s, char *why,
                                 size_t whylen)
{
    int64_t deadline;
    int status = 0;
    long nap_us = 200;
    pid_t pid, r;

    fflush(NULL); /* or the child writes out the parent's buffered output again */
    pid = fork();
    if (pid < 0) {
        snprintf(why, whylen, "fork: %s", strerror(errno));
        return -1;
    }
    if (pid == 0) {
        setpgid(0, 0);
        c->fn();
        fflush(NULL);
        exit(0);
    }
    setpgid(pid, pid); /* also here: either may run first */
    deadline = check__now_ms() + (int64_t)timeout_s * 1000;
    for (;;) {
        r = waitpid(pid, &status, WNOHANG);
        if (r == pid)
            break;
        if (r < 0 && errno != EINTR) {
            snprintf(why, whylen, "waitpid: %s", strerror(errno));
            return -1;
        }
        if (check__now_ms() >= deadline) {
            kill(-pid, SIGKILL);
            kill(pid, SIGKILL);
            while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
            snprintf(why, whylen, "timed out after %u s", timeout_s);
            return -1;
        }
        /* short cases stay short; a long one costs 10 ms of polling at most */
        nanosleep(&(struct timespec){0, nap_us * 1000}, NULL);
        if (nap_us < 10000)
            nap_us *= 2;
    }
    kill(-pid, SIGKILL); /* anything the case left running */
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return 0;
    if (WIFEXITED(status))
        snprintf(why, whylen, "exit %d", WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        snprintf(why, whylen, "killed by signal %d (%s)", WTERMSIG(status),
                 strsignal(WTERMSIG(status)));
    else
        snprintf(why, whylen, "wait status 0x%x", (unsigned)status);
    return -1;
}

/* The runner: see the top of this file. Returns the program's exit code. */
static inline int check_main(int argc, char **argv, const struct check_case *cases, size_t n)
{
    const char *prog = argc > 0 ? argv[0] : "test", *env = getenv("ECO_CHECK_TIMEOUT_S");
    unsigned timeout_s = 30, ran = 0, failed = 0;
    int fork_each = 1, nsel = 0, list = 0;
    char **sel = calloc((size_t)(argc > 0 ? argc : 1), sizeof(*sel));
    char failed_names[1024] = "";

    if (!sel)
        return 1;
    if (env && *env)
        timeout_s = (unsigned)strtoul(env, NULL, 10);
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--list") == 0) {
            list = 1;
        } else if (strcmp(argv[i], "--no-fork") == 0) {
            fork_each = 0;
        } else if (strcmp(argv[i], "--timeout") == 0 && i + 1 < argc) {
            timeout_s = (unsigned)strtoul(argv[++i], NULL, 10);
        } else if (argv[i][0] == '-') {
            fprintf(stderr, "usage: %s [--list] [--no-fork] [--timeout S] [CASE...]\n", prog);
            free(sel);
            return 2;
        } else {
            sel[nsel++] = argv[i];
        }
    }
    if (timeout_s == 0)
        timeout_s = 30;
    for (int i = 0; i < nsel; i++) {
        int known = 0;
        for (size_t k = 0; k < n; k++)
            known |= check__selected(cases[k].name, 1, &sel[i]);
        if (!known) {
            fprintf(stderr, "%s: no case named %s (try --list)\n", prog, sel[i]);
            free(sel);
            return 2;
        }
    }
    if (list) {
        for (size_t k = 0; k < n; k++)
            printf("%s\n", cases[k].name);
        free(sel);
        return 0;
    }
    for (size_t k = 0; k < n; k++)
        ran += (unsigned)check__selected(cases[k].name, nsel, sel);
    printf("1..%u\n", ran);
    ran = 0;
    for (size_t k = 0; k < n; k++) {
        const struct check_case *c = &cases[k];
        char why[128] = "";
        int64_t t0;
        int rc;

        if (!check__selected(c->name, nsel, sel))
            continue;
        ran++;
        t0 = check__now_ms();
        if (fork_each) {
            rc = check__run_one(c, timeout_s, why, sizeof(why));
        } else {
            c->fn();
            rc = 0;
        }
        if (rc == 0) {
            printf("ok %u - %s (%lld ms)\n", ran, c->name, (long long)(check__now_ms() - t0));
        } else {
            failed++;
            printf("not ok %u - %s: %s (%lld ms)\n", ran, c->name, why,
                   (long long)(check__now_ms() - t0));
            size_t used = strlen(failed_names);
            snprintf(failed_names + used, sizeof(failed_names) - used, " %s", c->name);
        }
        fflush(stdout);
    }
    free(sel);
    if (failed) {
        printf("# %s: %u of %u cases FAILED:%s\n", prog, failed, ran, failed_names);
        return 1;
    }
    printf("# %s: all %u cases passed\n", prog, ran);
    return 0;
}

#endif
