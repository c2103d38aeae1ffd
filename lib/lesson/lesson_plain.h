/*
 * lesson_plain.h — playing a lesson without a terminal (`evlab lesson NN
 * --plain`): every step's narration, its prediction, a progress line while
 * it measures, then what was measured and the observation; at the end
 * each claim with its measured values (`--check`).
 *
 * The output is plain lines on `out`, meant to be read by a person and
 * grepped by tests alike; progress goes to `progress` (stderr), so a
 * script capturing stdout sees only the lesson.
 *
 * Errors: returns the process exit status: 0, or 1 when a step could not
 * run or (with check) a claim does not hold.  The caller owns the run.
 */
#ifndef EVLAB_LESSON_PLAIN_H
#define EVLAB_LESSON_PLAIN_H

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>

#include "lesson/lesson_run.h"
#include "lesson/lesson_scenario.h"

/* Prints every claim of the lesson with what was measured; returns how
 * many do not hold (a claim that cannot be evaluated does not hold). */
int lesson_print_claims(const struct lesson_scenario *scenario,
                        const struct lesson_values *values, FILE *out);

int lesson_play_plain(struct lesson_run *run, const struct lesson_scenario *scenario,
                      bool check, FILE *out, FILE *progress,
                      volatile sig_atomic_t *stop_flag);

#endif
