/*
 * bench_server.h — start one `evlab serve` for a benchmark run and stop
 * it again, by PID.
 *
 * The server is the evlab binary itself (the caller passes its path:
 * "/proc/self/exe" from `evlab bench`, $EVLAB_BIN from a test), started
 * with fork + exec on an ephemeral port.  Its stdout is a pipe: we read
 * the one "listening on 127.0.0.1:PORT" line to learn the port, and the
 * server prints nothing else there.  It is *not* started with --quiet,
 * because --quiet also silences that line; its stderr (warnings and
 * errors only) goes to a log file the caller chooses, so nothing a
 * server says can scramble the sweep's progress bar.
 *
 * The child asks the kernel for SIGTERM if we die first
 * (PR_SET_PDEATHSIG), so an interrupted sweep leaves no server behind.
 *
 * Errors: 0 or a negative errno, with `err` naming what failed.
 * Ownership: the caller owns the struct; bench_server_stop() reaps the
 * child and closes the pipe.
 */
#ifndef EVLAB_BENCH_SERVER_H
#define EVLAB_BENCH_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* How long a server may take to print its listening line. */
#define BENCH_SERVER_START_MS 5000
/* How long it may take to exit after SIGTERM before SIGKILL. */
#define BENCH_SERVER_STOP_MS  5000

struct bench_server {
    pid_t pid;
    int port;
    int stdout_fd;
    bool exited;        /* reaped already (by poll or stop) */
    int exit_status;    /* when exited: exit code, or -1 if killed by a signal */
};

/* extra_args: NULL-terminated, may be NULL.  log_fd: where the server's
 * stderr goes (-1: /dev/null). */
int bench_server_start(struct bench_server *s, const char *evlab_path, const char *model,
                       const char *const *extra_args, int log_fd, char *err, size_t err_len);

/* true while the server is still running; reaps it (without waiting)
 * when it has exited on its own, which makes a run invalid. */
bool bench_server_running(struct bench_server *s);

/* SIGTERM, wait, SIGKILL after BENCH_SERVER_STOP_MS.  Returns the exit
 * status (0 = clean), or -1 when it had to be killed. */
int bench_server_stop(struct bench_server *s);

#endif
