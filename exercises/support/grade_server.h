/*
 * grade_server.h — start the student's server program for a test, learn
 * its port, stop it, and tell a crash apart from a clean stop.
 *
 * The program is BUILD/PROGRAM (PROGRAM comes from the exercise Makefile,
 * overridable with $EVLAB_GRADE_PROGRAM), started as
 * `BUILD/PROGRAM --port 0 [extra args]`; it must print
 * `listening on port N` as its first line on stdout.  Its stderr is the
 * test's stderr (the grader shows it, capped).  It stays in the test's
 * process group, so the grader's kill of the group at the end of a test
 * reaches it even if the test itself hangs; a server still running when
 * the test ends or fails is stopped by the test's cleanup (grade_at_end).
 *
 * A server that is stopped or killed cannot always remove its
 * instrumentation segment (/dev/shm/evlab.NAME, tens of MiB): stop() and
 * the end-of-test cleanup remove it once the server is dead.
 *
 * Call start() from the thread that will also stop the server (the
 * test's main thread, normally): the server is tied to that thread and
 * killed if it ends (PR_SET_PDEATHSIG).
 *
 * The caller owns the struct; start() fills every field.  After start(),
 * set allow_crash if the test expects the server to die.  stdout_fd is
 * the read end of the server's stdout (the pipe holds 1 MiB, so a chatty
 * server does not block before the test ends); read it if the test checks
 * what the server prints.
 */
#ifndef EVLAB_GRADE_SERVER_H
#define EVLAB_GRADE_SERVER_H

#include <stdbool.h>
#include <sys/types.h>

#include "grade_test.h"

struct grade_server {
    pid_t pid;
    int port;
    int stdout_fd;
    bool allow_crash;     /* stop() does not fail the test on a crash */
    /* Filled when the server is found dead (by alive() or stop()). */
    bool exited;
    int wait_status;      /* as from waitpid() */
    char probe_name[64];  /* the name it publishes under (EVLAB_PROBE_NAME or exNN-PID) */
};

/* Starts the student's program; fails the test with a clear message if it
 * does not print its port within 5 s or exits first.  extra_args is
 * NULL-terminated, or NULL for none. */
void grade_server_start(struct grade_ctx *ctx, struct grade_server *srv,
                        const char *const extra_args[]);
/* The same with an explicit program path (exercise 11 starts given
 * servers that are not the student's). */
void grade_server_start_program(struct grade_ctx *ctx, struct grade_server *srv,
                                const char *program, const char *const extra_args[]);
/* SIGTERM, wait up to 2 s, then SIGKILL; fails the test if the server had
 * crashed (signal) before being stopped, unless allow_crash. */
void grade_server_stop(struct grade_ctx *ctx, struct grade_server *srv);
bool grade_server_alive(struct grade_server *srv);
/* Fails the test right now if the server has died (crash or exit), with
 * `during` saying what the test was doing ("after a client reset").
 * A server that is dying at this moment gets 150 ms to be seen dead. */
void grade_server_check_alive(struct grade_ctx *ctx, struct grade_server *srv,
                              const char *during);
/* "crashed with SIGSEGV (segmentation fault)" / "exited with status 3". */
const char *grade_describe_status(int wait_status, char *buf, size_t cap);

#endif
