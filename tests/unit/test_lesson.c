/*
 * test_lesson.c — the lesson scenario format and its claims, from strings:
 * no server, no terminal (lib/lesson/lesson_scenario.h, lesson_claim.h).
 *
 * Covers a complete scenario read back field by field; one malformed
 * scenario per rule of lessons/FORMAT.md, each refused with "FILE:LINE:"
 * and words naming what was expected; expressions with units, precedence
 * and steps; claims evaluated on a hand-filled table of values, with the
 * measured-vs-required report; which loads run in which step; and every
 * scenario under lessons/ parsing cleanly.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lesson/lesson_claim.h"
#include "lesson/lesson_measure.h"
#include "lesson/lesson_scenario.h"

#define MS 1e6

static const char good[] =
    "# a comment\n"
    "lesson 07 A long handler blocks the loop\n"
    "summary One line.\n"
    "seed 9\n"
    "budget 20ms\n"
    "\n"
    "server loop  model=loop\n"
    "server pool  model=loop workers=2 backend=poll\n"
    "load fast server=loop connections=10 rate=200 mix=/\n"
    "load cpu  server=loop connections=1 rate=2 mix=/cpu/200 timeout=5s\n"
    "load idle server=pool connections=100 idle\n"
    "step Baseline\n"
    "  start fast\n"
    "  say Watch the loop.\n"
    "  settle 500ms\n"
    "  measure 2s\n"
    "  show client_p99(fast) as fast p99\n"
    "step CPU\n"
    "  start cpu idle\n"
    "  ask What happens?\n"
    "  show client_p99(fast) during step 1\n"
    "  observe It jumps.\n"
    "step Stop\n"
    "  stop fast cpu\n"
    "check client_p99(fast) during step 2 >= 5 * client_p99(fast) during step 1\n"
    "check threads(pool) during step 3 <= 3\n";

struct fixture {
    struct lesson_scenario scenario;
    char err[512];
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    *state = f;
    return f == NULL ? -1 : 0;
}

static int teardown(void **state)
{
    free(*state);
    return 0;
}

static void test_good_scenario(void **state)
{
    struct fixture *f = *state;
    int rc = lesson_scenario_parse(good, "x.txt", &f->scenario, f->err, sizeof f->err);
    if (rc != 0)
        fail_msg("a valid scenario was refused: %s", f->err);
    const struct lesson_scenario *s = &f->scenario;
    assert_int_equal(s->number, 7);
    assert_string_equal(s->title, "A long handler blocks the loop");
    assert_string_equal(s->summary, "One line.");
    assert_int_equal(s->seed, 9);
    assert_int_equal(s->budget_ns, 20 * 1000000ull);
    assert_int_equal(s->server_count, 2);
    assert_string_equal(s->servers[1].model, "loop");
    assert_string_equal(lesson_option_get(s->servers[1].options, s->servers[1].option_count,
                                          "workers"), "2");
    assert_int_equal(s->load_count, 3);
    assert_int_equal(s->loads[2].server, 1);
    assert_non_null(lesson_option_get(s->loads[2].options, s->loads[2].option_count, "idle"));
    assert_int_equal(s->step_count, 3);
    assert_int_equal(s->steps[0].settle_ns, 500 * 1000000ull);
    assert_int_equal(s->steps[0].measure_ns, 2000 * 1000000ull);
    assert_int_equal(s->steps[1].settle_ns, LESSON_DEFAULT_SETTLE_NS);
    assert_string_equal(s->steps[0].shows[0].label, "fast p99");
    assert_string_equal(s->steps[1].shows[0].label, "client_p99(fast) during step 1");
    assert_string_equal(s->steps[1].ask, "What happens?");
    assert_int_equal(s->check_count, 2);
    assert_int_equal(s->checks[1].claim.op, LESSON_OP_LE);
    /* Loads per step: every start and stop up to it, in order. */
    assert_true(lesson_load_runs_in_step(s, 0, 0));
    assert_false(lesson_load_runs_in_step(s, 1, 0));
    assert_true(lesson_load_runs_in_step(s, 1, 1));
    assert_false(lesson_load_runs_in_step(s, 0, 2));
    assert_true(lesson_load_runs_in_step(s, 2, 2));
}

/* Replaces line `line` (1-based) of the good scenario with `text`
 * ("" deletes it), so each case changes exactly one thing. */
static void edited(char *out, size_t len, int line, const char *text)
{
    const char *p = good;
    size_t used = 0;
    for (int n = 1; *p != '\0'; n++) {
        const char *end = strchr(p, '\n');
        size_t l = (size_t)(end - p) + 1;
        if (n == line) {
            if (text[0] != '\0')
                used += (size_t)snprintf(out + used, len - used, "%s\n", text);
        } else {
            memcpy(out + used, p, l);
            used += l;
        }
        p += l;
    }
    out[used] = '\0';
}

static void test_malformed_scenarios(void **state)
{
    struct fixture *f = *state;
    static const struct {
        int line;             /* line of `good` to replace */
        const char *text;
        int error_line;       /* where the error must point */
        const char *expect;   /* words the message must contain */
    } cases[] = {
        { 2, "lesson x Title", 2, "two-digit number" },
        { 2, "", 2, "expected 'lesson NN TITLE'" },
        { 3, "", 6, "summary" },   /* the lines below move up by one */
        { 4, "seed many", 4, "whole number" },
        { 5, "budget soon", 5, "duration" },
        { 7, "server loop  model=fast", 7, "blocking|threads|loop" },
        { 7, "server loop  modle=loop", 7, "unknown server option 'modle' (expected model" },
        { 7, "server loop", 7, "server needs model=" },
        { 8, "server loop model=loop", 8, "already used" },
        { 8, "server po/ol model=loop", 8, "letters, digits" },
        { 8, "server pool model=loop workers=lots", 8, "whole number from 0 to 64" },
        { 9, "load fast server=nobody", 9, "no server named 'nobody'" },
        { 9, "load fast server=loop conections=10", 9, "unknown load option 'conections'" },
        { 9, "load fast server=loop idle rate=5", 9, "do not go together" },
        { 9, "load fast server=loop idle=yes", 9, "flag" },
        { 9, "load fast server=loop idle no-read", 9, "'idle' and 'no-read' do not go together" },
        { 9, "load fast server=loop no-read=yes", 9, "flag" },
        { 17, "  show output_queued(fast)", 17, "is a load; this metric needs a server" },
        { 10, "load cpu server=loop timeout=5", 10, "duration" },
        { 13, "  start nothing", 13, "no load named 'nothing'" },
        { 13, "  frobnicate fast", 13, "unknown statement 'frobnicate'" },
        { 15, "  settle never", 15, "duration" },
        { 17, "  show client_p99(nobody)", 17, "no server or load named 'nobody'" },
        { 17, "  show client_p99(fast) during step 9", 17, "during step 9' but the lesson has 3" },
        { 17, "  show latency(fast)", 17, "unknown metric 'latency'" },
        { 17, "  show threads(fast)", 17, "is a load; this metric needs a server" },
        { 20, "  ask Again?\n  ask Twice?", 21, "one 'ask' per step" },
        { 25, "check client_p99(fast) >= 1ms", 25, "needs 'during step N'" },
        { 25, "check client_p99(fast) during step 2", 25, "comparison" },
        { 25, "check client_p99(fast) during step 2 >= 5 *", 25, "expected a number or a metric" },
        { 25, "check (1 >= 2", 25, "expected ')'" },
        { 26, "step Late", 26, "after a 'check'" },
        { 12, "say Too early", 12, "belongs inside a step" },
        { 8, "summary Again", 8, "belongs in the header" },
        { 5, "summary Again", 5, "given twice" },
    };
    char text[4096];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        edited(text, sizeof text, cases[i].line, cases[i].text);
        f->err[0] = '\0';
        int rc = lesson_scenario_parse(text, "lessons/x/scenario.txt", &f->scenario, f->err,
                                       sizeof f->err);
        char where[64];
        snprintf(where, sizeof where, "lessons/x/scenario.txt:%d: ", cases[i].error_line);
        if (rc == 0 || strncmp(f->err, where, strlen(where)) != 0 ||
            strstr(f->err, cases[i].expect) == NULL)
            fail_msg("case %zu: line %d replaced by \"%s\": expected an error starting "
                     "\"%s\" containing \"%s\"; got rc %d, \"%s\"", i, cases[i].line,
                     cases[i].text, where, cases[i].expect, rc, f->err);
    }
}

static void test_missing_parts(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(lesson_scenario_parse("", "e.txt", &f->scenario, f->err, sizeof f->err),
                     -EINVAL);
    assert_non_null(strstr(f->err, "e.txt:1: empty scenario"));
    static const char no_check[] = "lesson 01 T\nsummary S\nserver a model=loop\nstep One\n";
    assert_int_equal(lesson_scenario_parse(no_check, "n.txt", &f->scenario, f->err,
                                           sizeof f->err), -EINVAL);
    assert_non_null(strstr(f->err, "at least one 'check'"));
    assert_int_equal(lesson_scenario_load("/nonexistent/scenario.txt", &f->scenario, f->err,
                                          sizeof f->err), -ENOENT);
    assert_non_null(strstr(f->err, "/nonexistent/scenario.txt: cannot open"));
}

static int resolve_two(void *context, const char *name, bool *is_load)
{
    (void)context;
    *is_load = strcmp(name, "l") == 0;
    return strcmp(name, "s") == 0 ? 0 : strcmp(name, "l") == 0 ? LESSON_MAX_SERVERS : -1;
}

static void test_expressions_and_claims(void **state)
{
    (void)state;
    double v;
    enum lesson_unit u;
    assert_true(lesson_number_parse("2ms", &v, &u));
    assert_true(v == 2e6 && u == LESSON_UNIT_NS);
    assert_true(lesson_number_parse("16KiB", &v, &u));
    assert_true(v == 16384 && u == LESSON_UNIT_BYTES);
    assert_true(lesson_number_parse("0.5", &v, &u) && v == 0.5 && u == LESSON_UNIT_NONE);
    assert_false(lesson_number_parse("5x", &v, &u));
    assert_false(lesson_number_parse("ms", &v, &u));

    struct lesson_values *values = calloc(1, sizeof *values);
    assert_non_null(values);
    values->measured[0] = values->measured[1] = true;
    values->v[0][LESSON_M_CLIENT_P99][LESSON_MAX_SERVERS] = 1.2 * MS;
    values->have[0][LESSON_M_CLIENT_P99][LESSON_MAX_SERVERS] = true;
    values->v[1][LESSON_M_CLIENT_P99][LESSON_MAX_SERVERS] = 143 * MS;
    values->have[1][LESSON_M_CLIENT_P99][LESSON_MAX_SERVERS] = true;

    struct lesson_expr expr;
    char err[256], why[128];
    /* Precedence: 1 + 2 * 3 = 7, (1 + 2) * 3 = 9. */
    assert_int_equal(lesson_expr_parse("1 + 2 * 3", resolve_two, NULL, false, 2, &expr, err,
                                       sizeof err), 0);
    assert_int_equal(lesson_expr_eval(&expr, values, 1, &v, &u, why, sizeof why), 0);
    assert_true(v == 7);
    assert_int_equal(lesson_expr_parse("(1 + 2) * 3", resolve_two, NULL, false, 2, &expr, err,
                                       sizeof err), 0);
    assert_int_equal(lesson_expr_eval(&expr, values, 1, &v, &u, why, sizeof why), 0);
    assert_true(v == 9);
    /* A metric without a step is the current step's. */
    assert_int_equal(lesson_expr_parse("client_p99(l) / 2", resolve_two, NULL, false, 2, &expr,
                                       err, sizeof err), 0);
    assert_int_equal(lesson_expr_eval(&expr, values, 2, &v, &u, why, sizeof why), 0);
    assert_true(v == 71.5 * MS && u == LESSON_UNIT_NS);
    /* Not measured, division by zero: errors with reasons. */
    assert_int_equal(lesson_expr_eval(&expr, values, 3, &v, &u, why, sizeof why), -ENODATA);
    assert_non_null(strstr(why, "client_p99(l) was not measured in step 3"));
    assert_int_equal(lesson_expr_parse("1 / 0", resolve_two, NULL, false, 2, &expr, err,
                                       sizeof err), 0);
    assert_int_equal(lesson_expr_eval(&expr, values, 1, &v, &u, why, sizeof why), -EDOM);

    struct lesson_claim claim;
    assert_int_equal(lesson_claim_parse("client_p99(l) during step 2 >= 5 * client_p99(l) "
                                        "during step 1", resolve_two, NULL, 2, &claim, err,
                                        sizeof err), 0);
    bool holds;
    char report[256];
    assert_int_equal(lesson_claim_eval(&claim, values, &holds, report, sizeof report), 0);
    assert_true(holds);
    assert_string_equal(report, "measured 143ms, required >= 5 * 1.20ms = 6.00ms");
    /* The same claim the other way round fails, and says by how much. */
    assert_int_equal(lesson_claim_parse("client_p99(l) during step 1 >= 200 * client_p99(l) "
                                        "during step 1", resolve_two, NULL, 2, &claim, err,
                                        sizeof err), 0);
    assert_int_equal(lesson_claim_eval(&claim, values, &holds, report, sizeof report), 0);
    assert_false(holds);
    assert_string_equal(report, "measured 1.20ms, required >= 200 * 1.20ms = 240ms");
    free(values);
}

static void test_meminfo(void **state)
{
    (void)state;
    assert_int_equal(lesson_meminfo_kernel_stack("MemTotal: 1 kB\nKernelStack:   2240 kB\n"),
                     2240 * 1024);
    assert_int_equal(lesson_meminfo_kernel_stack("MemTotal: 1 kB\n"), -1);
}

/* Every scenario shipped in lessons/ parses (make test runs from the
 * repository's top folder). */
static void test_shipped_scenarios_parse(void **state)
{
    struct fixture *f = *state;
    DIR *dir = opendir("lessons");
    if (dir == NULL)
        skip();
    struct dirent *entry;
    int count = 0;
    while ((entry = readdir(dir)) != NULL) {
        if (entry->d_name[0] < '0' || entry->d_name[0] > '9')
            continue;
        char path[512];
        snprintf(path, sizeof path, "lessons/%s/scenario.txt", entry->d_name);
        if (lesson_scenario_load(path, &f->scenario, f->err, sizeof f->err) != 0)
            fail_msg("%s does not parse: %s", path, f->err);
        if (f->scenario.number != atoi(entry->d_name))
            fail_msg("%s says lesson %02d but its folder is %s", path, f->scenario.number,
                     entry->d_name);
        count++;
    }
    closedir(dir);
    assert_true(count >= 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_good_scenario, setup, teardown),
        cmocka_unit_test_setup_teardown(test_malformed_scenarios, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_parts, setup, teardown),
        cmocka_unit_test(test_expressions_and_claims),
        cmocka_unit_test(test_meminfo),
        cmocka_unit_test_setup_teardown(test_shipped_scenarios_parse, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
