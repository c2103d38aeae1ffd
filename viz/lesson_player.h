/*
 * lesson_player.h — `evlab lesson NN` in the live view: the lesson's
 * servers side by side (view_app.h), its narration above the bottom bar,
 * and keys for the presenter's pace.
 *
 * Keys besides the view's own: n next (on a step that asks for a
 * prediction, the first n after the measurement reveals it), b back to
 * the previous step.  With auto_advance the steps move on by themselves
 * LESSON_PLAYER_READ_S seconds after each measurement (for self-study);
 * p pauses that timer with everything else.  After the last step the
 * narration shows every claim, measured.
 *
 * Errors: returns the exit status (0, or 128 + the signal that ended it),
 * or a negative errno with a message in err when the terminal or the
 * servers could not be used.  The terminal is always restored.
 * Ownership: the caller owns the run and the scenario.
 */
#ifndef EVLAB_LESSON_PLAYER_H
#define EVLAB_LESSON_PLAYER_H

#include <stdbool.h>
#include <stddef.h>

#include "lesson/lesson_run.h"
#include "lesson/lesson_scenario.h"

/* Seconds an --auto lesson leaves a measured step on screen. */
#define LESSON_PLAYER_READ_S 8

/* Quit signals and the crash hook that stops every child (call before
 * starting servers, so a Ctrl-C during startup is handled too). */
void lesson_player_install_signals(void);

int lesson_player_run(struct lesson_run *run, const struct lesson_scenario *scenario,
                      bool auto_advance, char *err, size_t err_len);

#endif
