/*
 * kv_run.h — how exercise 11's grading runs the student's test program:
 * start a kv_server (correct or with a seeded fault), run
 * `build/kv_test --port N` against it under a time limit, capture what it
 * prints, and judge it.  Shared by the visible tests (test_verification.c)
 * and the tests kept for after the due date.
 *
 * Every judgement fails the grading test (grade_fail) with what was run,
 * what was expected and the student program's own last lines of output.
 */
#ifndef EX11_KV_RUN_H
#define EX11_KV_RUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "grade_test.h"

#define KV_RUN_OUTPUT_MAX  (64 * 1024)
#define KV_RUN_TIMEOUT_MS  10000

struct kv_run {
    bool timed_out;             /* killed after KV_RUN_TIMEOUT_MS */
    bool exited;                /* ended by exit(), not by a signal */
    int exit_status;            /* when exited */
    int signal;                 /* when killed by a signal */
    uint64_t elapsed_ms;
    char output[KV_RUN_OUTPUT_MAX];
    size_t output_len;
    char server[64];            /* which server it ran against */
};

/* Runs the student's test against a fresh `server` (a program in the
 * build folder: "kv_server" or "kv_server_faultN"); port 0 means "start
 * the server", a port > 0 runs against that port with no server started
 * (for the test against a port where nothing listens). */
void kv_run(struct grade_ctx *ctx, const char *server, int port, struct kv_run *run);

/* Fails the grading test unless the student's test passed on the correct
 * server (exit 0, at least one PASS line, no FAIL line).  Every grading
 * test calls this first: a test that cannot pass proves nothing. */
void kv_require_pass_on_correct(struct grade_ctx *ctx, struct kv_run *run);

/* Fails the grading test unless the student's test fails against at
 * least one of the visible faulty servers (1-5): a test that cannot fail
 * scores nothing, not even for the shape of its report. */
void kv_require_can_fail(struct grade_ctx *ctx);

/* Fails the grading test unless the student's test, run against
 * kv_server_fault<fault>, exits 1 with at least one FAIL line. */
void kv_expect_caught(struct grade_ctx *ctx, int fault, const char *what_is_wrong);

/* How many output lines start with `prefix` (e.g. "PASS edge "). */
int kv_count_lines(const struct kv_run *run, const char *prefix);

#endif
