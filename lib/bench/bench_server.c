/*
 * bench_server.c — fork/exec one `evlab serve`, learn its port, stop it
 * (see the header for the why of each step).
 *
 * Every wait here is bounded: reading the listening line polls the pipe
 * with a deadline, and stopping waits with WNOHANG in short sleeps until
 * the deadline, then kills.  A server that hangs costs a sweep five
 * seconds, never the whole sweep.
 */
#include "bench/bench_server.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"

#define BENCH_MAX_ARGS 24

/* In the child, between fork and exec: only async-signal-safe calls. */
static void child_exec(const char *evlab_path, char *const *argv, int out_fd, int log_fd)
{
    int null_fd = open("/dev/null", O_RDWR);

    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (null_fd >= 0)
        dup2(null_fd, STDIN_FILENO);
    dup2(out_fd, STDOUT_FILENO);
    dup2(log_fd >= 0 ? log_fd : null_fd, STDERR_FILENO);
    execv(evlab_path, argv);
    _exit(127);
}

/* Reads the first line from fd within the deadline. */
static int read_line(int fd, char *line, size_t len, uint64_t deadline_ns)
{
    size_t used = 0;

    while (used + 1 < len) {
        uint64_t now = clock_now_ns();
        if (now >= deadline_ns)
            return -ETIMEDOUT;
        struct pollfd pfd = { .fd = fd, .events = POLLIN };
        int rc = poll(&pfd, 1, (int)((deadline_ns - now) / 1000000u) + 1);
        if (rc < 0 && errno == EINTR)
            continue;
        if (rc <= 0)
            continue;
        ssize_t n = read(fd, line + used, 1);   /* one byte: stop at '\n' */
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -EPIPE;                      /* the server exited */
        if (line[used] == '\n')
            break;
        used++;
    }
    line[used] = '\0';
    return 0;
}

int bench_server_start(struct bench_server *s, const char *evlab_path, const char *model,
                       const char *const *extra_args, int log_fd, char *err, size_t err_len)
{
    char *argv[BENCH_MAX_ARGS];
    size_t argc = 0;
    int pipe_fds[2];

    argv[argc++] = "evlab";
    argv[argc++] = "serve";
    argv[argc++] = "--model";
    argv[argc++] = (char *)model;
    argv[argc++] = "--port";
    argv[argc++] = "0";
    for (size_t i = 0; extra_args != NULL && extra_args[i] != NULL && argc + 1 < BENCH_MAX_ARGS; i++)
        argv[argc++] = (char *)extra_args[i];
    argv[argc] = NULL;

    s->pid = -1;
    s->port = 0;
    s->stdout_fd = -1;
    s->exited = false;
    s->exit_status = 0;
    if (pipe2(pipe_fds, O_CLOEXEC) < 0) {
        snprintf(err, err_len, "pipe2() failed: %s", strerror(errno));
        return -errno;
    }
    /* Flush our own buffered output so the child does not inherit it. */
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        close(pipe_fds[0]);
        close(pipe_fds[1]);
        snprintf(err, err_len, "fork() failed: %s", strerror(e));
        return -e;
    }
    if (pid == 0)
        child_exec(evlab_path, argv, pipe_fds[1], log_fd);
    close(pipe_fds[1]);
    s->pid = pid;
    s->stdout_fd = pipe_fds[0];

    char line[256];
    int rc = read_line(s->stdout_fd, line, sizeof line,
                       clock_now_ns() + (uint64_t)BENCH_SERVER_START_MS * 1000000u);
    int port = 0;
    if (rc == 0) {
        const char *at = strstr(line, "listening on ");
        if (at == NULL || sscanf(at, "listening on %*[^:]:%d", &port) != 1 || port <= 0)
            rc = -EPROTO;
    }
    if (rc < 0) {
        snprintf(err, err_len, "evlab serve --model %s did not report its port (%s)", model,
                 rc == -ETIMEDOUT ? "timed out" : rc == -EPIPE ? "it exited" : "unexpected output");
        bench_server_stop(s);
        return rc;
    }
    s->port = port;
    return 0;
}

static int status_code(int status)
{
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

bool bench_server_running(struct bench_server *s)
{
    int status;

    if (s->pid <= 0 || s->exited)
        return false;
    if (waitpid(s->pid, &status, WNOHANG) == s->pid) {
        s->exited = true;
        s->exit_status = status_code(status);
        return false;
    }
    return true;
}

int bench_server_stop(struct bench_server *s)
{
    int status = 0;

    if (s->pid > 0 && !s->exited) {
        kill(s->pid, SIGTERM);
        uint64_t deadline = clock_now_ns() + (uint64_t)BENCH_SERVER_STOP_MS * 1000000u;
        for (;;) {
            pid_t r = waitpid(s->pid, &status, WNOHANG);
            if (r == s->pid) {
                s->exit_status = status_code(status);
                break;
            }
            if (r < 0 && errno != EINTR) {
                s->exit_status = -1;
                break;
            }
            if (clock_now_ns() >= deadline) {
                kill(s->pid, SIGKILL);
                while (waitpid(s->pid, &status, 0) < 0 && errno == EINTR) {
                }
                s->exit_status = -1;
                break;
            }
            clock_sleep_ms(10);
        }
        s->exited = true;
    }
    s->pid = -1;
    if (s->stdout_fd >= 0)
        close(s->stdout_fd);
    s->stdout_fd = -1;
    return s->exit_status;
}
