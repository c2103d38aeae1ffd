/*
 * grader_stage.h — the temp folder a submission is built and tested in
 * (part of the grader module, used by grader_run.c; see grader.h).
 *
 * The stage is a copy of the pristine exercise (without its build/), the
 * student's submit files laid over it, and the kept tests in kept_tests/.
 * Students can therefore change only the files they hand in: never the
 * tests, the Makefile or the support library.
 * Errors: 0 or a negative errno, with a one-line reason in err.
 */
#ifndef EVLAB_GRADER_STAGE_H
#define EVLAB_GRADER_STAGE_H

#include <stdbool.h>
#include <stddef.h>

#include "grade/grader.h"

/* Copies ex->dir to stage_dir (which must not exist yet). */
int grader_stage_copy(const struct grader_exercise *ex, const char *stage_dir,
                      char *err, size_t err_len);
/* Copies each submit file from submission/NAME/FILE over the stage.  A
 * missing file is reported in err ("missing PATH") and -ENOENT returned;
 * nothing is copied then. */
int grader_stage_overlay(const struct grader_exercise *ex, const char *submission_dir,
                         const char *stage_dir, char *err, size_t err_len);
/* Copies kept_dir/NAME/tests/ (if it exists) to stage/kept_tests/.
 * Returns 1 if kept tests were copied, 0 if there are none. */
int grader_stage_kept(const struct grader_exercise *ex, const char *kept_dir,
                      const char *stage_dir, char *err, size_t err_len);
/* Copies what an exercise build needs from the toolkit at `root` (lib/
 * for the headers, exercises/support/, build/release/libevlab.a) into
 * `dest`, which then serves as EVLAB_ROOT: sandboxed children run as
 * another uid and may not be able to read the toolkit where it is (a
 * home folder of mode 0700, a temp dir). */
int grader_stage_toolkit(const char *root, const char *dest, char *err, size_t err_len);
/* Lets sandboxed children (other uids) read and write the stage. */
void grader_stage_open_up(const char *stage_dir);
/* rm -rf, without following symlinks. */
void grader_stage_remove(const char *dir);

#endif
