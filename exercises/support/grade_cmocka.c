/*
 * grade_cmocka.c — runs one named cmocka test under the grader's protocol.
 *
 * The table the grader lists comes from the grade_points array; the test
 * to run is looked up by name in the CMUnitTest array and run as a group of
 * one (cmocka_run_group_tests on a single entry), so its setup and
 * teardown still run and cmocka still catches a crash inside it and
 * reports it as a failure.  After a failure we print the same
 * FAILED/checked/rerun lines as grade_fail(), with the last grade_explain()
 * text as what was checked.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "grade_cmocka.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct grade_ctx current_ctx;
static char last_explain[512];

struct grade_ctx *grade_cmocka_ctx(void)
{
    return &current_ctx;
}

void grade_explain(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_explain, sizeof last_explain, fmt, ap);
    va_end(ap);
    printf("checking %s\n", last_explain);
    fflush(stdout);
}

/* Exercise authors get a loud message instead of a test that silently
 * cannot be listed or run. */
static void check_tables(const struct CMUnitTest *tests, size_t count,
                         const struct grade_points *points, size_t npoints)
{
    for (size_t i = 0; i < npoints; i++) {
        bool found = false;
        for (size_t k = 0; k < count; k++)
            found |= strcmp(tests[k].name, points[i].name) == 0;
        if (!found) {
            fprintf(stderr, "grade_cmocka: points entry '%s' has no cmocka test\n", points[i].name);
            abort();
        }
    }
    for (size_t k = 0; k < count; k++) {
        bool found = false;
        for (size_t i = 0; i < npoints; i++)
            found |= strcmp(tests[k].name, points[i].name) == 0;
        if (!found) {
            fprintf(stderr, "grade_cmocka: cmocka test '%s' has no points entry\n", tests[k].name);
            abort();
        }
    }
}

/* The grade_test entries the generic protocol lists; run is unused here. */
static struct grade_test *as_grade_tests(const struct grade_points *points, size_t npoints)
{
    struct grade_test *table = calloc(npoints ? npoints : 1, sizeof *table);
    if (table == NULL) {
        perror("grade_cmocka");
        exit(2);
    }
    for (size_t i = 0; i < npoints; i++) {
        table[i].name = points[i].name;
        table[i].points = points[i].points;
        table[i].flags = points[i].flags;
        table[i].timeout_s = points[i].timeout_s;
        table[i].description = points[i].description;
    }
    return table;
}

static const struct CMUnitTest *cmocka_tests;
static size_t cmocka_count;

/* Called by grade_main() as the body of every test: runs the cmocka test
 * of the same name and turns its result into our exit status. */
static void run_cmocka_test(struct grade_ctx *ctx)
{
    current_ctx = *ctx;
    for (size_t k = 0; k < cmocka_count; k++) {
        if (strcmp(cmocka_tests[k].name, ctx->test_name) != 0)
            continue;
        /* TAP is cmocka's shortest output: the assertion and its line,
         * without banners around them. */
        cmocka_set_message_output(CM_OUTPUT_TAP);
        int failed = _cmocka_run_group_tests(ctx->test_name, &cmocka_tests[k], 1, NULL, NULL);
        fflush(stdout);
        fflush(stderr);
        if (failed == 0)
            return;
        printf("FAILED   %s\n", ctx->test->description);
        if (last_explain[0])
            printf("checked  %s\n", last_explain);
        printf("got      the assertion above failed (cmocka says what it compared and where)\n");
        printf("rerun    evlab grade %s --test %s --seed %" PRIu64 "\n",
               ctx->exercise, ctx->test_name, ctx->seed);
        fflush(stdout);
        exit(1);
    }
}

int grade_cmocka_main(int argc, char **argv, const struct CMUnitTest *tests,
                      size_t count, const struct grade_points *points, size_t npoints)
{
    check_tables(tests, count, points, npoints);
    cmocka_tests = tests;
    cmocka_count = count;
    struct grade_test *table = as_grade_tests(points, npoints);
    for (size_t i = 0; i < npoints; i++)
        table[i].run = run_cmocka_test;
    /* cmocka prints its messages to stderr, the grader reads both. */
    int status = grade_main(argc, argv, table, npoints);
    free(table);
    return status;
}
