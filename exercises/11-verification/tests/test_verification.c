/*
 * test_verification.c — the graded tests of exercise 11: they grade the
 * student's TEST, kv_test.c, not a server.
 *
 * Every test first runs the student's test against the correct server,
 * where it must pass (kv_require_pass_on_correct), and the tests of the
 * report's shape also require it to fail on at least one faulty server
 * (kv_require_can_fail): a test that fails on a correct server, or cannot
 * fail at all, scores nothing.  Then:
 *   - its report must have the three kinds of check and a metric;
 *   - against each seeded faulty server (kv_server.c built with
 *     -DKV_FAULT=N) it must fail: exit 1 with a FAIL line;
 *   - against a port where nothing listens it must fail quickly, not hang.
 * Faults 6-8 are graded by the tests kept for after the due date
 * (exercises/kept/11-verification).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <unistd.h>

#include "grade_test.h"
#include "kv_run.h"

static struct kv_run run;

static void test_passes_correct_server(struct grade_ctx *ctx)
{
    kv_require_pass_on_correct(ctx, &run);
    kv_require_can_fail(ctx);
}

static void test_reports_three_kinds(struct grade_ctx *ctx)
{
    kv_require_pass_on_correct(ctx, &run);
    kv_require_can_fail(ctx);
    const char *kinds[] = { "happy", "edge", "failure" };
    for (int i = 0; i < 3; i++) {
        char prefix[32], checked[96];
        snprintf(prefix, sizeof prefix, "PASS %s ", kinds[i]);
        if (kv_count_lines(&run, prefix) == 0) {
            snprintf(checked, sizeof checked, "your report has a check of kind \"%s\"", kinds[i]);
            grade_fail(ctx, checked, "a line \"PASS happy|edge|failure <name>\" for each kind",
                       "build/kv_test --port N against the correct kv_server",
                       "no line starts with \"%s\"", prefix);
        }
    }
}

static void test_reports_metric(struct grade_ctx *ctx)
{
    kv_require_pass_on_correct(ctx, &run);
    kv_require_can_fail(ctx);
    for (const char *line = strstr(run.output, "METRIC "); line != NULL;
         line = strstr(line + 1, "\nMETRIC ")) {
        if (line[0] == '\n')
            line++;
        char name[64], unit[32];
        double value;
        if (sscanf(line, "METRIC %63s %lf %31s", name, &value, unit) == 3 && isfinite(value) &&
            value >= 0)
            return;
    }
    grade_fail(ctx, "your report records one metric", "a line \"METRIC <name> <number> <unit>\"",
               "build/kv_test --port N against the correct kv_server",
               "no such line (e.g. \"METRIC get_latency_max 180 us\")");
}

static void test_catches_overwrite_ignored(struct grade_ctx *ctx)
{
    kv_expect_caught(ctx, 1, "SET on an existing key keeps the old value");
}

static void test_catches_split_request(struct grade_ctx *ctx)
{
    kv_expect_caught(ctx, 2, "a request that arrives in several reads is judged piece by piece");
}

static void test_catches_value_truncated(struct grade_ctx *ctx)
{
    kv_expect_caught(ctx, 3, "a value with spaces is cut at its first space");
}

static void test_catches_silent_on_error(struct grade_ctx *ctx)
{
    kv_expect_caught(ctx, 4, "a malformed request gets no answer at all");
}

static void test_catches_delete_ignored(struct grade_ctx *ctx)
{
    kv_expect_caught(ctx, 5, "DEL answers DELETED but the key stays");
}

/* A port nobody listens on: bind one, never listen, close it at the end. */
static int dead_port(struct grade_ctx *ctx, int *fd_out)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = { .sin_family = AF_INET };
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (fd < 0 || bind(fd, (struct sockaddr *)&addr, sizeof addr) < 0 ||
        getsockname(fd, (struct sockaddr *)&addr, &len) < 0)
        grade_fail(ctx, "finding a port where nothing listens", "a bound socket", NULL,
                   "socket/bind failed");
    *fd_out = fd;
    return ntohs(addr.sin_port);
}

static void test_fails_when_server_gone(struct grade_ctx *ctx)
{
    kv_require_pass_on_correct(ctx, &run);
    int holder;
    int port = dead_port(ctx, &holder);
    grade_note(ctx, "your test against port %d, where nothing listens", port);
    kv_run(ctx, "(none)", port, &run);
    close(holder);
    if (!(run.exited && run.exit_status == 1 && kv_count_lines(&run, "FAIL ") > 0)) {
        char tail[600];
        grade_fail(ctx, "your test fails cleanly when there is no server",
                   "exit status 1 with FAIL lines, within 10 s",
                   "build/kv_test --port N where nothing listens on N",
                   "%s; its output: %s",
                   run.timed_out ? "it was still running after 10 s"
                   : !run.exited ? "it was killed by a signal" : "it exited with another status",
                   grade_quote(run.output, run.output_len, tail, sizeof tail));
    }
}

static const struct grade_test tests[] = {
    { "passes_correct_server", 2, "core", 15,
      "your test passes (exit 0, PASS lines, no FAIL) on the correct server, and can fail",
      test_passes_correct_server },
    { "reports_three_kinds", 1, "", 15,
      "your report has a happy-path, an edge-case and a failure-case check", test_reports_three_kinds },
    { "reports_metric", 1, "", 15,
      "your report records a metric: METRIC <name> <number> <unit>", test_reports_metric },
    { "catches_overwrite_ignored", 1, "", 30,
      "your test fails on a server whose SET does not overwrite", test_catches_overwrite_ignored },
    { "catches_split_request", 1, "", 30,
      "your test fails on a server that mishandles a request split across reads",
      test_catches_split_request },
    { "catches_value_truncated", 1, "", 30,
      "your test fails on a server that cuts values at the first space", test_catches_value_truncated },
    { "catches_silent_on_error", 1, "", 30,
      "your test fails (and does not hang) on a server that never answers a bad request",
      test_catches_silent_on_error },
    { "catches_delete_ignored", 1, "", 30,
      "your test fails on a server whose DEL does not delete", test_catches_delete_ignored },
    { "fails_when_server_gone", 1, "", 30,
      "your test fails quickly, with FAIL lines, when nothing listens on the port",
      test_fails_when_server_gone },
};

int main(int argc, char **argv)
{
    return grade_main(argc, argv, tests, sizeof tests / sizeof tests[0]);
}
