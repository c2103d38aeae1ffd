/*
 * spawn.h — start a program as a child process, learn the port of an
 * `evlab serve` child, and stop a child by its PID.
 *
 * `evlab bench` (lib/bench/bench_run.c), `evlab demo`
 * (viz/demo_children.c) and the integration tests (tests/support/served.c)
 * all run servers as children; this is the one place that does it.
 *
 * How a child starts (spawn_start): fork, then in the child only
 * async-signal-safe calls until exec —
 *   1. prctl(PR_SET_PDEATHSIG, SIGTERM): if we die first, even by SIGKILL,
 *      the kernel stops the child, so nothing is left behind; and if we
 *      died before that call took effect, the child exits at once;
 *   2. stdin from /dev/null, stdout into a pipe we read, stderr where the
 *      caller says (a file, the same pipe, or /dev/null);
 *   3. SIGPIPE back to its default (an ignored signal survives exec, and a
 *      parent may ignore it), and RLIMIT_NOFILE lowered if asked (tests
 *      use that to run a server out of descriptors on purpose);
 *   4. execv().
 *
 * How its port is learnt (spawn_serve): `evlab serve --port 0` prints one
 * line, "evlab serve: model M, listening on 127.0.0.1:PORT, ...", on its
 * stdout once it listens.  We read that line, with a deadline, and parse
 * PORT.  The server must therefore not be started with --quiet.
 *
 * How it stops (spawn_stop): SIGTERM, then wait (WNOHANG in 10 ms steps)
 * up to grace_ms, then SIGKILL; the child is always reaped.
 *
 * Errors: 0 or a negative errno, with a one-line message in err.
 * Ownership: the caller owns struct spawn_child; spawn_stop() reaps the
 * child and closes the stdout pipe.  Do not waitpid() a child yourself
 * and then call spawn_running() or spawn_stop() on it.
 */
#ifndef EVLAB_SPAWN_H
#define EVLAB_SPAWN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Where a child's stderr goes, besides a descriptor of the caller's. */
#define SPAWN_STDERR_NULL   (-1)   /* /dev/null */
#define SPAWN_STDERR_STDOUT (-2)   /* the same pipe as its stdout */

/* How long a server may take to print its listening line. */
#define SPAWN_SERVE_START_MS 10000

struct spawn_request {
    const char *path;              /* the program to execv() */
    char *const *argv;             /* NULL-terminated; argv[0] is what ps shows */
    int stderr_fd;                 /* a descriptor, or SPAWN_STDERR_* */
    int nofile_limit;              /* > 0: RLIMIT_NOFILE of the child */
    bool stdout_nonblocking;       /* our end of the pipe gets O_NONBLOCK */
};

struct spawn_child {
    pid_t pid;                     /* -1 when there is none */
    int port;                      /* what spawn_serve() read; 0 otherwise */
    int stdout_fd;                 /* our end of its stdout; -1 once closed */
    bool exited;                   /* reaped already */
    int exit_status;               /* once exited: see spawn_exit_code() */
};

int spawn_start(struct spawn_child *child, const struct spawn_request *request,
                char *err, size_t err_len);

/* Starts `evlab_path serve --port 0 ARGS...` (args NULL-terminated, may be
 * NULL) and waits up to SPAWN_SERVE_START_MS for its port.  On failure the
 * child is stopped again. */
int spawn_serve(struct spawn_child *child, const char *evlab_path, const char *const *args,
                int stderr_fd, int nofile_limit, char *err, size_t err_len);

/* The port in a "listening on HOST:PORT" line, or -EPROTO. */
int spawn_listening_port(const char *line);

/* Reads one line (without its newline) from fd within timeout_ms.
 * 0, -ETIMEDOUT, or -EPIPE when the writer closed first. */
int spawn_read_line(int fd, char *line, size_t len, unsigned timeout_ms);

/* A waitpid() status as one number: the exit code, 128 + the signal that
 * killed it (as a shell reports it). */
int spawn_exit_code(int wait_status);

/* True while the child runs; reaps it (without waiting) once it exited. */
bool spawn_running(struct spawn_child *child);

/* SIGTERM, up to grace_ms, SIGKILL; reaps; closes the pipe.  Returns the
 * exit code (spawn_exit_code), or -1 when it had to be killed. */
int spawn_stop(struct spawn_child *child, unsigned grace_ms);

/* The same for a bare PID that is our child (the tests keep only that). */
int spawn_stop_pid(pid_t pid, unsigned grace_ms);

#endif
