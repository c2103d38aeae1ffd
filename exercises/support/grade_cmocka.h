/*
 * grade_cmocka.h — the grader's --list/--run protocol (grade_test.h) for
 * module exercises whose tests are ordinary cmocka tests.
 *
 *     static const struct CMUnitTest tests[] = { cmocka_unit_test(test_push_pop), ... };
 *     static const struct grade_points points[] = {
 *         { "test_push_pop", 2, "core", 10, "push then pop returns the same value" },
 *     };
 *     int main(int argc, char **argv)
 *     { return grade_cmocka_main(argc, argv, tests, 1, points, 1); }
 *
 * Every cmocka test needs a points entry with the same name, and every
 * entry a test (checked at start: a mismatch is a bug of the exercise and
 * aborts).  `--run NAME` runs that one cmocka test in this process; cmocka's
 * assertion message plus the grade_explain() lines are the explanation.
 * Call grade_explain() before each assertion to say what is checked and on
 * which input: on failure the last explanation becomes the "checked" line.
 *
 * Include <cmocka.h> (and its prerequisites stdarg.h, stddef.h, stdint.h,
 * setjmp.h) before this header.
 */
#ifndef EVLAB_GRADE_CMOCKA_H
#define EVLAB_GRADE_CMOCKA_H

#include <stddef.h>

#include "grade_test.h"

struct CMUnitTest;

struct grade_points {
    const char *name;         /* the cmocka test's name (the function name) */
    int points;
    const char *flags;        /* as in grade_test.h: "core,timing" or "" */
    int timeout_s;
    const char *description;
};

int grade_cmocka_main(int argc, char **argv, const struct CMUnitTest *tests,
                      size_t count, const struct grade_points *points, size_t npoints);

/* Prints "checking <text>" and remembers it for the failure summary. */
void grade_explain(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The context of the test being run (seed, build dir, exercise), so a
 * cmocka test can call grade_rand() or grade_note(). */
struct grade_ctx *grade_cmocka_ctx(void);

#endif
