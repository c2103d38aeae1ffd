/*
 * grade_test.h — the test table of a graded exercise and the protocol the
 * grader (lib/grade/) speaks with a test binary.
 *
 * An exercise's test files (tests/NAME.c) define one table and hand it to grade_main():
 *
 *     static const struct grade_test tests[] = {
 *         { "echo_one_line", 2, "core", 10, "echoes one short line back", test_echo },
 *     };
 *     int main(int argc, char **argv)
 *     { return grade_main(argc, argv, tests, sizeof tests / sizeof tests[0]); }
 *
 * The binary then answers two commands:
 *   tests --list              one line per test, tab-separated:
 *                             name, points, flags ("-" if none), timeout_s, description
 *   tests --run NAME [--seed S]
 *                             runs that one test: exit 0 = passed, 1 = failed
 *                             (the explanation is on stdout); anything else
 *                             (a signal, a timeout) is judged by the grader.
 * `tests --run-all` runs every test in this process one after another, for
 * debugging only: the grader always runs one test per sandboxed process.
 *
 * Flags are a comma-separated subset of "timing" (the grader retries a
 * failure once), "core" (the point of the exercise: the starter scores 0 on
 * it) and "kept" (added automatically to tests of the tests_kept binary).
 *
 * Failing: grade_fail() prints the six-line explanation below and exits 1;
 * servers started with grade_server_start() are killed on the way out.
 * Ownership: the table and every string in it belong to the caller and
 * must outlive grade_main() (string literals in practice).
 */
#ifndef EVLAB_GRADE_TEST_H
#define EVLAB_GRADE_TEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct grade_test;

struct grade_ctx {
    uint64_t seed;            /* --seed; use grade_rand() for anything random */
    const char *build_dir;    /* where the student's program was built */
    const char *exercise;     /* "03" */
    const char *test_name;
    /* Filled by grade_main(); test code does not touch these. */
    const struct grade_test *test;   /* the entry being run */
    uint64_t rand_state;             /* grade_rand()'s generator state */
};

typedef void (*grade_test_fn)(struct grade_ctx *ctx);

struct grade_test {
    const char *name;
    int points;
    const char *flags;        /* "core,timing" or "" */
    int timeout_s;            /* wall-clock limit the grader applies */
    const char *description;  /* what is checked, in words a student understands */
    grade_test_fn run;
};

/* Parses --list / --run NAME [--seed S] / --run-all and does it.
 * Returns the process exit status (0 passed, 1 failed, 2 bad usage). */
int grade_main(int argc, char **argv, const struct grade_test *tests, size_t count);

/* Deterministic from the seed: the same seed replays the same inputs.
 * (splitmix64, so consecutive seeds still give unrelated streams.) */
uint64_t grade_rand(struct grade_ctx *ctx);
/* A number in [0, bound) from grade_rand(); bound > 0. */
uint64_t grade_rand_below(struct grade_ctx *ctx, uint64_t bound);
/* Fills buf with len random bytes from grade_rand(). */
void grade_rand_bytes(struct grade_ctx *ctx, void *buf, size_t len);

/* A failed check prints, then exits 1:
 *   FAILED   <description of the test>
 *   checked  <what was checked>
 *   expected <what was expected>
 *   got      <what happened>
 *   input    <the input that caused it>
 *   rerun    evlab grade NN --test NAME --seed S
 * expected and input may be NULL (the line is left out). */
_Noreturn void grade_fail(struct grade_ctx *ctx, const char *checked,
                          const char *expected, const char *input,
                          const char *got_fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* One context line ("note     <text>"), printed and flushed at once, so a
 * test that then hangs is reported as "timed out after N s in: <text>". */
void grade_note(struct grade_ctx *ctx, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Writes a short printable rendering of len bytes into out (C escapes for
 * control bytes, "..." and the total length when cut), for the "got" and
 * "input" lines.  Returns out. */
const char *grade_quote(const void *bytes, size_t len, char *out, size_t out_cap);

/* Registers fn to run when the test ends, by passing or by grade_fail()
 * (at most 16; last registered runs first).  grade_server uses it to stop
 * the student's server; tests can use it for their own children. */
void grade_at_end(void (*fn)(void *arg), void *arg);

/* Registers fn to add lines to every failure message, printed after the
 * "input" line (at most 4).  grade_server uses it so that any failed
 * check also says "server   your server crashed with SIGSEGV ..." when
 * the real cause is a crash. */
void grade_on_fail(void (*fn)(void));

/* Milliseconds on the monotonic clock, for the tests' own deadlines. */
uint64_t grade_now_ms(void);
void grade_sleep_ms(int ms);

#endif
