/*
 * lesson_plain.c — a lesson as plain lines (see lesson_plain.h).
 *
 * Design.  The same run a live view drives, driven by a sleep loop: enter
 * the step, tick every LESSON_SAMPLE_MS until it is measured, print.  The
 * prediction is printed before anything is measured and the observation
 * after, in that order, so a student reading along still gets to think
 * before the answer scrolls by.  Progress is one line per second on the
 * progress stream, never on stdout.
 */
#include "lesson/lesson_plain.h"

#include <stdio.h>
#include <string.h>

#include "common/clock.h"
#include "lesson/lesson_measure.h"

#define NS_PER_S 1000000000ull

int lesson_print_claims(const struct lesson_scenario *scenario,
                        const struct lesson_values *values, FILE *out)
{
    int failed = 0;
    fprintf(out, "\nClaims (measured on this machine):\n");
    for (size_t i = 0; i < scenario->check_count; i++) {
        const struct lesson_check *check = &scenario->checks[i];
        bool holds = false;
        char report[400];
        lesson_claim_eval(&check->claim, values, &holds, report, sizeof report);
        if (!holds)
            failed++;
        fprintf(out, "  %s  %s\n        %s\n", holds ? "PASS" : "FAIL", check->text, report);
    }
    return failed;
}

/* Waits until the current step is measured, with a progress line a
 * second; false when stopped or a child died. */
static bool wait_measured(struct lesson_run *run, FILE *progress,
                          volatile sig_atomic_t *stop_flag)
{
    uint64_t next_line = 0;
    while (lesson_run_phase(run) != LESSON_PHASE_MEASURED) {
        if (stop_flag != NULL && *stop_flag)
            return false;
        uint64_t now = clock_now_ns();
        lesson_run_tick(run, now);
        if (lesson_run_problem(run)[0] != '\0')
            return false;
        if (progress != NULL && now >= next_line) {
            next_line = now + NS_PER_S;
            double left = (double)lesson_run_phase_left_ns(run, now) / 1e9;
            fprintf(progress, "  ... %s, %.1f s left\n",
                    lesson_run_phase(run) == LESSON_PHASE_SETTLING ? "settling" : "measuring",
                    left);
            fflush(progress);
        }
        clock_sleep_ms(LESSON_SAMPLE_MS);
    }
    return true;
}

int lesson_play_plain(struct lesson_run *run, const struct lesson_scenario *scenario,
                      bool check, FILE *out, FILE *progress,
                      volatile sig_atomic_t *stop_flag)
{
    fprintf(out, "Lesson %02d: %s\n%s\n", scenario->number, scenario->title, scenario->summary);
    for (size_t s = 0; s < scenario->step_count; s++) {
        const struct lesson_step *step = &scenario->steps[s];
        fprintf(out, "\nStep %zu/%zu: %s\n", s + 1, scenario->step_count, step->title);
        for (size_t i = 0; i < step->say_count; i++)
            fprintf(out, "  %s\n", step->say[i]);
        if (step->ask[0] != '\0')
            fprintf(out, "  Predict: %s\n", step->ask);
        fflush(out);
        char err[256];
        if (lesson_run_enter_step(run, s, clock_now_ns(), err, sizeof err) < 0) {
            fprintf(out, "  could not run this step: %s\n", err);
            return 1;
        }
        if (!wait_measured(run, progress, stop_flag)) {
            const char *problem = lesson_run_problem(run);
            fprintf(out, "  stopped: %s\n", problem[0] ? problem : "interrupted");
            return 1;
        }
        if (step->show_count > 0)
            fprintf(out, "  Measured:\n");
        for (size_t i = 0; i < step->show_count; i++) {
            char text[400];
            lesson_run_show_text(run, s, i, text, sizeof text);
            fprintf(out, "    %s\n", text);
        }
        for (size_t i = 0; i < step->observe_count; i++)
            fprintf(out, "  %s\n", step->observe[i]);
        fflush(out);
    }
    int failed = lesson_print_claims(scenario, lesson_run_values(run), out);
    if (check) {
        fprintf(out, "\n%s: %d of %zu claim%s hold\n", failed == 0 ? "check passed" : "CHECK FAILED",
                (int)scenario->check_count - failed, scenario->check_count,
                scenario->check_count == 1 ? "" : "s");
        if (failed > 0)
            fprintf(out, "rerun just this lesson: evlab lesson %02d --plain --check\n",
                    scenario->number);
    }
    fflush(out);
    return check && failed > 0 ? 1 : 0;
}
