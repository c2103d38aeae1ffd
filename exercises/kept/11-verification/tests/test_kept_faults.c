/*
 * test_kept_faults.c — exercise 11's tests kept for after the due date:
 * the student's test against three more seeded faults of kv_server.c
 * (6-8), with the runner the visible tests use (tests/kv_run.c).
 */
#include "grade_test.h"
#include "../tests/kv_run.h"

static void test_catches_crash_on_reset(struct grade_ctx *ctx)
{
    kv_expect_caught(ctx, 6, "a client that resets brings the whole server down");
}

static void test_catches_long_line_accepted(struct grade_ctx *ctx)
{
    kv_expect_caught(ctx, 7, "an overlong line is cut into pieces instead of refused");
}

static void test_catches_missing_key_empty(struct grade_ctx *ctx)
{
    kv_expect_caught(ctx, 8, "GET of a missing key answers an empty VALUE instead of NOTFOUND");
}

static const struct grade_test tests[] = {
    { "catches_crash_on_reset", 1, "", 30,
      "your test fails on a server that dies when a client resets", test_catches_crash_on_reset },
    { "catches_long_line_accepted", 1, "", 30,
      "your test fails on a server that does not refuse overlong lines",
      test_catches_long_line_accepted },
    { "catches_missing_key_empty", 1, "", 30,
      "your test fails on a server that answers VALUE for a missing key",
      test_catches_missing_key_empty },
};

int main(int argc, char **argv)
{
    return grade_main(argc, argv, tests, sizeof tests / sizeof tests[0]);
}
