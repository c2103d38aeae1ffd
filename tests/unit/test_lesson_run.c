/*
 * test_lesson_run.c — the lesson runner's decisions, with a fake spawner
 * that records what would have been started and stopped (lib/lesson/
 * lesson_run.h).  No process is started.
 *
 * Covers: each load's command line is exactly `evlab load` with the
 * scenario's options translated flag by flag and the seed of the run
 * plus the load's index; entering a step starts and stops exactly the
 * loads that step runs, going back re-enters the earlier step's set, and
 * a step that says both stop and start of a load restarts it; the step's
 * phase starts as SETTLING with the settle time left; and freeing the run
 * stops every load still running.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lesson/lesson_run.h"
#include "lesson/lesson_scenario.h"

#define MAX_STARTS 32

/* What the fake spawner saw. */
struct record {
    char argv[MAX_STARTS][512];   /* each start's argv joined by blanks */
    char labels[MAX_STARTS][32];
    bool running[MAX_STARTS];
    int starts, stops;
};

static int fake_start(void *context, const char *label, char *const argv[], char *err,
                      size_t err_len)
{
    struct record *r = context;
    (void)err;
    (void)err_len;
    if (r->starts == MAX_STARTS)
        return -1;
    int id = r->starts++;
    size_t used = 0;
    for (size_t i = 0; argv[i] != NULL; i++)
        used += (size_t)snprintf(r->argv[id] + used, sizeof r->argv[id] - used, "%s%s",
                                 i ? " " : "", argv[i]);
    snprintf(r->labels[id], sizeof r->labels[id], "%s", label);
    r->running[id] = true;
    return id;
}

static int fake_first_line(void *context, int id, char *line, size_t len, unsigned timeout_ms)
{
    (void)context, (void)id, (void)timeout_ms;
    snprintf(line, len, "no server here");
    return -1;
}

static int fake_pid(void *context, int id)
{
    (void)context;
    return 100000 + id;
}

static bool fake_running(void *context, int id)
{
    struct record *r = context;
    return r->running[id];
}

static void fake_stop(void *context, int id, unsigned grace_ms)
{
    struct record *r = context;
    (void)grace_ms;
    assert_true(r->running[id]);          /* never stopped twice */
    r->running[id] = false;
    r->stops++;
}

static int running_count(const struct record *r, const char *label)
{
    int n = 0;
    for (int i = 0; i < r->starts; i++)
        n += r->running[i] && strcmp(r->labels[i], label) == 0;
    return n;
}

static const char scenario_text[] =
    "lesson 07 Runner test\n"
    "summary s\n"
    "server loop model=loop\n"
    "load fast server=loop connections=10 rate=200 mix=/\n"
    "load idle server=loop connections=100 idle timeout=2s\n"
    "step One\n"
    "  start fast\n"
    "  settle 700ms\n"
    "step Two\n"
    "  start idle\n"
    "step Three\n"
    "  stop idle\n"
    "  stop fast\n"
    "  start fast\n"
    "check requests(loop) during step 1 >= 0\n";

static void test_loads_per_step_and_command_lines(void **state)
{
    (void)state;
    struct lesson_scenario *scenario = malloc(sizeof *scenario);
    struct record *r = calloc(1, sizeof *r);
    assert_non_null(scenario);
    assert_non_null(r);
    char err[256];
    if (lesson_scenario_parse(scenario_text, "t.txt", scenario, err, sizeof err) != 0)
        fail_msg("%s", err);
    struct lesson_spawner spawner = {
        .context = r, .start = fake_start, .first_line = fake_first_line, .pid = fake_pid,
        .running = fake_running, .stop = fake_stop,
    };
    struct lesson_run *run;
    assert_int_equal(lesson_run_new(&run, scenario, &spawner, 40, err, sizeof err), 0);

    /* A server that does not say "listening on" fails the start, named. */
    assert_true(lesson_run_start_servers(run, NULL, err, sizeof err) < 0);
    assert_non_null(strstr(err, "server 'loop' did not start: no server here"));
    assert_string_equal(r->labels[0], "loop");
    assert_non_null(strstr(r->argv[0], "evlab serve --model loop --port 0 --name lesson-07-loop-"));

    assert_int_equal(lesson_run_enter_step(run, 0, 1000, err, sizeof err), 0);
    assert_int_equal(running_count(r, "fast"), 1);
    assert_int_equal(running_count(r, "idle"), 0);
    assert_int_equal(lesson_run_phase(run), LESSON_PHASE_SETTLING);
    assert_int_equal(lesson_run_phase_left_ns(run, 1000), 700 * 1000000ull);
    /* Options become evlab load's flags; load 0 gets seed 40 + 0. */
    assert_string_equal(r->argv[1], "evlab load --quiet --warmup 0 -d 24h --seed 40 "
                                    "-c 10 -R 200 --mix / 127.0.0.1:0");

    assert_int_equal(lesson_run_enter_step(run, 1, 2000, err, sizeof err), 0);
    assert_int_equal(running_count(r, "fast"), 1);      /* still the same child */
    assert_int_equal(running_count(r, "idle"), 1);
    assert_int_equal(r->starts, 3);
    assert_string_equal(r->argv[2], "evlab load --quiet --warmup 0 -d 24h --seed 41 "
                                    "-c 100 --idle --timeout 2s 127.0.0.1:0");

    /* Step 3 stops idle and restarts fast. */
    assert_int_equal(lesson_run_enter_step(run, 2, 3000, err, sizeof err), 0);
    assert_int_equal(running_count(r, "idle"), 0);
    assert_int_equal(running_count(r, "fast"), 1);
    assert_int_equal(r->starts, 4);
    assert_false(r->running[1]);                         /* the old fast child */

    /* Back to step 2: idle again, fast kept. */
    assert_int_equal(lesson_run_enter_step(run, 1, 4000, err, sizeof err), 0);
    assert_int_equal(running_count(r, "idle"), 1);
    assert_int_equal(running_count(r, "fast"), 1);
    assert_int_equal(lesson_run_enter_step(run, 7, 5000, err, sizeof err), -EINVAL);

    lesson_run_free(run);                                /* stops everything */
    for (int i = 0; i < r->starts; i++)
        if (r->running[i])
            fail_msg("'%s' (start %d) still running after lesson_run_free()", r->labels[i], i);
    free(r);
    free(scenario);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_loads_per_step_and_command_lines),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
