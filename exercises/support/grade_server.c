/*
 * grade_server.c — the student's server as a child of the test process.
 *
 * start(): a pipe for the child's stdout, fork, exec, then read the
 * child's first line with a 5 s deadline and parse the port.  The child
 * is remembered in a small table so that a test which fails halfway
 * (grade_fail() exits) still stops it: the table is walked by a cleanup
 * registered with grade_at_end().
 *
 * Waiting: a server's status can only be collected once, so every
 * waitpid() on it goes through reap() which stores the status in the
 * struct; alive(), check_alive() and stop() then all agree.
 */
#include "grade_server.h"

#include "grade/sandbox.h"
#include "probe/probe_layout.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef GRADE_PROGRAM
#define GRADE_PROGRAM ""
#endif

#define GRADE_SERVER_START_MS 5000
#define GRADE_SERVER_STOP_MS  2000
#define GRADE_SERVER_MAX      16

static struct grade_server *running[GRADE_SERVER_MAX];

/* Collects the child's status if it has ended; true if it has. */
static bool reap(struct grade_server *srv, bool block)
{
    if (srv->exited)
        return true;
    int status;
    pid_t r;
    do {
        r = waitpid(srv->pid, &status, block ? 0 : WNOHANG);
    } while (r < 0 && errno == EINTR);
    if (r == srv->pid) {
        srv->exited = true;
        srv->wait_status = status;
        return true;
    }
    return r < 0;   /* not our child any more: treat as gone */
}

/* Removes the dead server's segment (a no-op when it removed it itself). */
static void unlink_segment(const struct grade_server *srv)
{
    if (srv->probe_name[0] == '\0')
        return;
    char shm_name[PROBE_NAME_MAX + 16];
    probe_segment_shm_name(shm_name, sizeof shm_name, srv->probe_name);
    shm_unlink(shm_name);
}

static void forget(struct grade_server *srv)
{
    for (int i = 0; i < GRADE_SERVER_MAX; i++)
        if (running[i] == srv)
            running[i] = NULL;
}

/* Stops a server without judging it (the test is ending anyway). */
static void kill_quietly(struct grade_server *srv)
{
    if (!reap(srv, false)) {
        kill(srv->pid, SIGKILL);
        reap(srv, true);
    }
    unlink_segment(srv);
    if (srv->stdout_fd >= 0) {
        close(srv->stdout_fd);
        srv->stdout_fd = -1;
    }
}

static void stop_all_at_end(void *unused)
{
    (void)unused;
    for (int i = 0; i < GRADE_SERVER_MAX; i++) {
        if (running[i] != NULL) {
            kill_quietly(running[i]);
            running[i] = NULL;
        }
    }
}

/* Runs inside grade_fail(): a check that failed because the server
 * died says so.  A server that crashed a moment ago may not be reaped
 * yet (its sockets close before it becomes a zombie), so look twice. */
static void explain_dead_servers(void)
{
    for (int attempt = 0; attempt < 2; attempt++) {
        bool told = false;
        for (int i = 0; i < GRADE_SERVER_MAX; i++) {
            struct grade_server *srv = running[i];
            if (srv == NULL || srv->allow_crash || !reap(srv, false))
                continue;
            char how[128];
            printf("server   your server %s during this test\n",
                   grade_describe_status(srv->wait_status, how, sizeof how));
            told = true;
        }
        if (told)
            return;
        grade_sleep_ms(150);
    }
}

static void remember(struct grade_server *srv)
{
    static bool registered;
    if (!registered) {
        grade_at_end(stop_all_at_end, NULL);
        grade_on_fail(explain_dead_servers);
        registered = true;
    }
    for (int i = 0; i < GRADE_SERVER_MAX; i++) {
        if (running[i] == NULL) {
            running[i] = srv;
            return;
        }
    }
    fprintf(stderr, "grade_server: more than %d servers at once\n", GRADE_SERVER_MAX);
    abort();
}

const char *grade_describe_status(int wait_status, char *buf, size_t cap)
{
    /* The grader words its own verdicts the same way (lib/grade/sandbox.c). */
    return sandbox_describe_status(wait_status, buf, cap);
}

/* Reads the first stdout line of the child within the deadline.  Returns
 * its length, or -1 if the child closed stdout (exited) first, or -2 on
 * timeout. */
static int read_first_line(int fd, char *line, size_t cap, uint64_t deadline)
{
    size_t got = 0;
    while (got + 1 < cap) {
        uint64_t now = grade_now_ms();
        if (now >= deadline)
            return -2;
        struct pollfd p = { .fd = fd, .events = POLLIN };
        int n = poll(&p, 1, (int)(deadline - now));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -2;
        ssize_t r = read(fd, line + got, 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        if (line[got] == '\n') {
            line[got] = '\0';
            return (int)got;
        }
        got++;
    }
    line[got] = '\0';
    return (int)got;
}

void grade_server_start_program(struct grade_ctx *ctx, struct grade_server *srv,
                                const char *program, const char *const extra_args[])
{
    const char *argv[32];
    int argc = 0;
    argv[argc++] = program;
    argv[argc++] = "--port";
    argv[argc++] = "0";
    for (int i = 0; extra_args != NULL && extra_args[i] != NULL && argc < 31; i++)
        argv[argc++] = extra_args[i];
    argv[argc] = NULL;

    memset(srv, 0, sizeof *srv);
    srv->stdout_fd = -1;
    if (access(program, X_OK) != 0) {
        grade_fail(ctx, "your server program was built", "an executable program",
                   program, "cannot run it: %s", strerror(errno));
    }
    int out[2];
    if (pipe2(out, O_CLOEXEC) < 0)
        grade_fail(ctx, "the test can start your server", "a pipe", NULL, "pipe: %s", strerror(errno));
    /* A big pipe, so a server that logs every request does not block on
     * a full pipe nobody reads (best effort: the limit may be lower). */
    fcntl(out[0], F_SETPIPE_SZ, 1 << 20);
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0)
        grade_fail(ctx, "the test can start your server", "fork succeeds", NULL,
                   "fork: %s", strerror(errno));
    if (pid == 0) {
        /* If the test process dies without stopping it (killed by hand,
         * say), the server goes too instead of living on as an orphan. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        dup2(out[1], STDOUT_FILENO);
        execv(program, (char *const *)argv);
        fprintf(stderr, "cannot run %s: %s\n", program, strerror(errno));
        _exit(127);
    }
    close(out[1]);
    srv->pid = pid;
    /* The name the starter code publishes under: the grader's (--watch)
     * or exNN-PID. */
    const char *probe_env = getenv("EVLAB_PROBE_NAME");
    if (probe_env && probe_env[0])
        snprintf(srv->probe_name, sizeof srv->probe_name, "%s", probe_env);
    else
        snprintf(srv->probe_name, sizeof srv->probe_name, "ex%s-%d", ctx->exercise, (int)pid);
    srv->stdout_fd = out[0];
    remember(srv);

    char line[256];
    char input[512] = "";
    for (int i = 0; i < argc; i++) {
        size_t used = strlen(input);
        snprintf(input + used, sizeof input - used, "%s%s", i ? " " : "", argv[i]);
    }
    int n = read_first_line(out[0], line, sizeof line, grade_now_ms() + GRADE_SERVER_START_MS);
    if (n == -2) {
        grade_fail(ctx, "your server starts and prints its port",
                   "the first line on stdout is \"listening on port N\" within 5 s",
                   input, "nothing within %d s (did you fflush(stdout) or print to stderr?)",
                   GRADE_SERVER_START_MS / 1000);
    }
    if (n == -1) {
        char how[128] = "closed its stdout";
        reap(srv, true);
        if (srv->exited)
            grade_describe_status(srv->wait_status, how, sizeof how);
        grade_fail(ctx, "your server starts and prints its port",
                   "the first line on stdout is \"listening on port N\"",
                   input, "the server %s before printing a line", how);
    }
    int port = 0;
    char rest;
    if (sscanf(line, "listening on port %d%c", &port, &rest) != 1 || port <= 0 || port > 65535) {
        char quoted[300];
        grade_fail(ctx, "your server starts and prints its port",
                   "the first line on stdout is \"listening on port N\"", input,
                   "the first line was %s", grade_quote(line, strlen(line), quoted, sizeof quoted));
    }
    srv->port = port;
}

void grade_server_start(struct grade_ctx *ctx, struct grade_server *srv,
                        const char *const extra_args[])
{
    const char *name = getenv("EVLAB_GRADE_PROGRAM");
    if (name == NULL || name[0] == '\0')
        name = GRADE_PROGRAM;
    if (name[0] == '\0') {
        grade_fail(ctx, "the exercise names its program", "PROGRAM set in the exercise Makefile",
                   NULL, "no program name (this is a bug of the exercise, not yours)");
    }
    char path[PATH_MAX];
    if (name[0] == '/')
        snprintf(path, sizeof path, "%s", name);
    else
        snprintf(path, sizeof path, "%s/%s", ctx->build_dir, name);
    grade_server_start_program(ctx, srv, path, extra_args);
}

bool grade_server_alive(struct grade_server *srv)
{
    return srv->pid > 0 && !reap(srv, false);
}

void grade_server_check_alive(struct grade_ctx *ctx, struct grade_server *srv,
                              const char *during)
{
    /* Called after something went wrong: give a server that is dying
     * right now the moment it needs to be seen dead. */
    for (int i = 0; i < 3 && grade_server_alive(srv); i++)
        grade_sleep_ms(50);
    if (grade_server_alive(srv))
        return;
    char how[128];
    grade_describe_status(srv->wait_status, how, sizeof how);
    forget(srv);
    grade_fail(ctx, "your server keeps running", "the server is still running", during,
               "your server %s", how);
}

void grade_server_stop(struct grade_ctx *ctx, struct grade_server *srv)
{
    if (srv->pid <= 0)
        return;
    forget(srv);
    bool died_before = reap(srv, false);
    if (!died_before) {
        kill(srv->pid, SIGTERM);
        uint64_t deadline = grade_now_ms() + GRADE_SERVER_STOP_MS;
        while (!reap(srv, false) && grade_now_ms() < deadline)
            grade_sleep_ms(10);
        if (!srv->exited) {
            kill(srv->pid, SIGKILL);
            reap(srv, true);
        }
    }
    unlink_segment(srv);
    if (srv->stdout_fd >= 0) {
        close(srv->stdout_fd);
        srv->stdout_fd = -1;
    }
    if (died_before && WIFSIGNALED(srv->wait_status) && !srv->allow_crash) {
        char how[128];
        grade_fail(ctx, "your server survives the test", "still running when the test stops it",
                   NULL, "your server %s during the test",
                   grade_describe_status(srv->wait_status, how, sizeof how));
    }
    srv->pid = 0;
}
