/*
 * spawn.c — fork/exec a child, read its listening line, stop it by PID
 * (the steps and their reasons are in spawn.h).
 *
 * Every wait here is bounded: the listening line is read with poll() and
 * a deadline, and stopping polls waitpid(WNOHANG) until a deadline before
 * it kills.  A child that hangs costs its caller seconds, never forever.
 */
#include "spawn/spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/clock.h"

/* `evlab serve --port 0` plus what the caller adds. */
#define SPAWN_MAX_ARGS 32

/* In the child, between fork and exec: only async-signal-safe calls. */
static void child_exec(const struct spawn_request *request, pid_t parent, int out_fd)
{
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent)
        _exit(127);                /* the parent died before prctl */
    int null_fd = open("/dev/null", O_RDWR);
    if (null_fd >= 0)
        dup2(null_fd, STDIN_FILENO);
    dup2(out_fd, STDOUT_FILENO);
    if (request->stderr_fd == SPAWN_STDERR_STDOUT)
        dup2(out_fd, STDERR_FILENO);
    else if (request->stderr_fd >= 0)
        dup2(request->stderr_fd, STDERR_FILENO);
    else if (null_fd >= 0)
        dup2(null_fd, STDERR_FILENO);
    signal(SIGPIPE, SIG_DFL);
    if (request->nofile_limit > 0) {
        struct rlimit rl = { (rlim_t)request->nofile_limit, (rlim_t)request->nofile_limit };
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    execv(request->path, request->argv);
    _exit(127);
}

int spawn_start(struct spawn_child *child, const struct spawn_request *request,
                char *err, size_t err_len)
{
    int pipe_fds[2];

    child->pid = -1;
    child->port = 0;
    child->stdout_fd = -1;
    child->exited = false;
    child->exit_status = 0;
    if (pipe2(pipe_fds, O_CLOEXEC) < 0) {
        int e = errno;
        snprintf(err, err_len, "pipe2() failed: %s", strerror(e));
        return -e;
    }
    /* Flush our own buffered output, or the child would inherit it and
     * the text would appear twice. */
    fflush(NULL);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        close(pipe_fds[0]);
        close(pipe_fds[1]);
        snprintf(err, err_len, "fork() failed: %s", strerror(e));
        return -e;
    }
    if (pid == 0)
        child_exec(request, parent, pipe_fds[1]);     /* never returns */
    close(pipe_fds[1]);
    if (request->stdout_nonblocking)
        fcntl(pipe_fds[0], F_SETFL, O_NONBLOCK);
    child->pid = pid;
    child->stdout_fd = pipe_fds[0];
    return 0;
}

int spawn_read_line(int fd, char *line, size_t len, unsigned timeout_ms)
{
    uint64_t deadline_ns = clock_now_ns() + clock_ms_to_ns(timeout_ms);
    size_t used = 0;

    while (used + 1 < len) {
        uint64_t now = clock_now_ns();
        if (now >= deadline_ns) {
            line[used] = '\0';
            return -ETIMEDOUT;
        }
        struct pollfd pfd = { .fd = fd, .events = POLLIN };
        int rc = poll(&pfd, 1, (int)((deadline_ns - now) / NS_PER_MS) + 1);
        if (rc <= 0)
            continue;                  /* EINTR or not yet: look again */
        /* One byte at a time, so nothing after the newline is consumed. */
        ssize_t n = read(fd, line + used, 1);
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (n <= 0) {
            line[used] = '\0';
            return -EPIPE;
        }
        if (line[used] == '\n')
            break;
        used++;
    }
    line[used] = '\0';
    return 0;
}

int spawn_listening_port(const char *line)
{
    const char *at = strstr(line, "listening on ");
    int port = 0;

    if (at == NULL || sscanf(at, "listening on %*[^:]:%d", &port) != 1 || port <= 0 ||
        port > 65535)
        return -EPROTO;
    return port;
}

int spawn_serve(struct spawn_child *child, const char *evlab_path, const char *const *args,
                int stderr_fd, int nofile_limit, char *err, size_t err_len)
{
    char *argv[SPAWN_MAX_ARGS];
    size_t argc = 0;

    argv[argc++] = "evlab";
    argv[argc++] = "serve";
    argv[argc++] = "--port";
    argv[argc++] = "0";
    for (size_t i = 0; args != NULL && args[i] != NULL; i++) {
        if (argc + 1 >= SPAWN_MAX_ARGS) {
            snprintf(err, err_len, "too many arguments for evlab serve (at most %d)",
                     SPAWN_MAX_ARGS - 5);
            return -E2BIG;
        }
        argv[argc++] = (char *)args[i];
    }
    argv[argc] = NULL;

    struct spawn_request request = {
        .path = evlab_path, .argv = argv, .stderr_fd = stderr_fd, .nofile_limit = nofile_limit,
    };
    int rc = spawn_start(child, &request, err, err_len);
    if (rc < 0)
        return rc;
    char line[512];
    rc = spawn_read_line(child->stdout_fd, line, sizeof line, SPAWN_SERVE_START_MS);
    if (rc == 0)
        rc = spawn_listening_port(line);
    if (rc < 0) {
        snprintf(err, err_len, "%s serve did not report its port (%s): '%.200s'", evlab_path,
                 rc == -ETIMEDOUT ? "timed out" : rc == -EPIPE ? "it exited" : "unexpected output",
                 line);
        spawn_stop(child, 1000);
        return rc;
    }
    child->port = rc;
    return 0;
}

int spawn_exit_code(int wait_status)
{
    if (WIFEXITED(wait_status))
        return WEXITSTATUS(wait_status);
    return WIFSIGNALED(wait_status) ? 128 + WTERMSIG(wait_status) : -1;
}

bool spawn_running(struct spawn_child *child)
{
    int status;

    if (child->pid <= 0 || child->exited)
        return false;
    if (waitpid(child->pid, &status, WNOHANG) == child->pid) {
        child->exited = true;
        child->exit_status = spawn_exit_code(status);
        return false;
    }
    return true;
}

int spawn_stop_pid(pid_t pid, unsigned grace_ms)
{
    int status = 0;
    uint64_t deadline = clock_now_ns() + clock_ms_to_ns(grace_ms);

    if (pid <= 0)
        return -1;
    kill(pid, SIGTERM);
    for (;;) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid)
            return spawn_exit_code(status);
        if (r < 0 && errno != EINTR)
            return -1;                 /* not our child, or reaped already */
        if (clock_now_ns() >= deadline)
            break;
        clock_sleep_ms(10);
    }
    fprintf(stderr, "evlab: pid %d ignored SIGTERM for %u ms; killing it\n", (int)pid, grace_ms);
    kill(pid, SIGKILL);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    return -1;
}

int spawn_stop(struct spawn_child *child, unsigned grace_ms)
{
    if (child->pid > 0 && !child->exited) {
        child->exit_status = spawn_stop_pid(child->pid, grace_ms);
        child->exited = true;
    }
    child->pid = -1;
    if (child->stdout_fd >= 0)
        close(child->stdout_fd);
    child->stdout_fd = -1;
    return child->exit_status;
}
