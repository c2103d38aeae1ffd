/*
 * grader.h — `evlab grade`: find the exercises, build a student's
 * submission of each in a fresh copy, run every graded test in a sandbox
 * (sandbox.h) and report the results as a table, Gradescope JSON or
 * JUnit XML.
 *
 * Grading one exercise (grader_run.c):
 *   1. stage  copy the pristine exercise from the toolkit into a temp dir,
 *             overlay the `submit` files from the student's folder, add
 *             kept tests when asked (grader_stage.c);
 *   2. build  make under a time limit; a compile error scores 0 and keeps
 *             the compiler's first errors;
 *   3. list   `build/tests --list` (and build/tests_kept): the test table;
 *   4. run    each test in its own sandboxed child, in parallel on
 *             `jobs` workers except `timing` tests, which run alone at the
 *             end so that their margins do not depend on what else runs;
 *             a failed timing test is run once more.
 * Results are stored per test in the order of the exercise's table, so the
 * report does not depend on which worker finished first.
 *
 * Ownership: grader_run() allocates the results; grader_results_free()
 * releases them.  Strings in the options belong to the caller.
 * Errors: 0 or a negative errno; messages for a person go to the
 * results (per exercise or test) or to stderr with the grader's name.
 */
#ifndef EVLAB_GRADER_H
#define EVLAB_GRADER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define GRADER_MAX_SUBMIT   8

/* One exercise folder, from its name and exercise.conf (grader_exercise.c). */
struct grader_exercise {
    char number[8];                    /* "03" */
    char name[128];                    /* "03-nonblocking" (the folder name) */
    char dir[4096];                    /* its pristine folder in the toolkit */
    char title[256];
    char kind[16];                     /* "server" or "module" */
    char submit[GRADER_MAX_SUBMIT][128];
    int submit_count;
};

enum grader_status { GRADER_PASSED, GRADER_FAILED };

struct grader_test_result {
    char name[128];
    char description[512];
    char flags[128];
    int points;                        /* what the test is worth */
    int score;                         /* points if passed, else 0 */
    int timeout_s;
    bool kept;                         /* from kept tests: shown after the due date */
    bool timing;
    bool core;
    bool retried;                      /* a timing test that failed once */
    enum grader_status status;
    char *output;                      /* explanation + what the test printed (malloc'd) */
    double seconds;
};

struct grader_exercise_result {
    struct grader_exercise exercise;
    bool graded;                       /* false: missing submission or build failure */
    char *message;                     /* why not graded, with compiler errors (malloc'd) */
    struct grader_test_result *tests;
    size_t test_count;
    int score, max_score;
    double build_seconds, seconds;
};

struct grader_results {
    struct grader_exercise_result *exercises;
    size_t count;
    int score, max_score;
    double seconds;
};

struct grader_options {
    const char *toolkit_root;          /* where exercises/ and build/release/ are */
    const char *exercises_dir;         /* the pristine exercises (default ROOT/exercises) */
    const char *submission_dir;        /* folder holding NN-name folders (default: exercises_dir) */
    const char *kept_dir;              /* kept tests (default ROOT/exercises/kept), used if with_kept */
    const char *const *numbers;        /* "03" ..., NULL-terminated; NULL or empty = all */
    const char *test_name;             /* run only this test (NULL = all) */
    uint64_t seed;
    bool with_kept;
    int jobs;                          /* parallel tests (>= 1) */
    const char *probe_name;            /* EVLAB_PROBE_NAME for the tests (--watch), or NULL */
    /* Called when a step starts ("running NAME") and ends, for the
     * progress line (may be NULL; called from several threads, one at a time). */
    void (*progress)(void *arg, const char *exercise, const char *what, int done, int total);
    void *progress_arg;
    bool keep_temp;                    /* leave the staged folders (debugging) */
    bool list_only;                    /* build and list the tests, run none */
};

/* Finds exercises/NN-name folders with an exercise.conf, sorted by number.
 * Returns the count (>= 0) and a malloc'd array in *out, or -errno. */
int grader_find_exercises(const char *exercises_dir, struct grader_exercise **out);
/* Reads DIR/exercise.conf into ex (name/number from the folder's name).
 * 0, or -EINVAL with a one-line reason in err. */
int grader_read_exercise(const char *dir, struct grader_exercise *ex, char *err, size_t err_len);

/* Grades the selected exercises.  0 or -errno (with a message on stderr);
 * per-exercise problems (missing files, compile errors) are results. */
int grader_run(const struct grader_options *options, struct grader_results *results);
void grader_results_free(struct grader_results *results);
/* True when every test of every graded exercise passed. */
bool grader_all_passed(const struct grader_results *results);

/* The three report formats (grader_report.c); write to `out`. */
void grader_report_text(const struct grader_results *results, FILE *out, bool color);
int  grader_report_gradescope(const struct grader_results *results, FILE *out);
int  grader_report_junit(const struct grader_results *results, FILE *out);

/* --list: one line per exercise, "NN-name<TAB>max points<TAB>tests<TAB>title",
 * then one per test, "<TAB>name<TAB>points<TAB>flags<TAB>description". */
void grader_report_list(const struct grader_results *results, FILE *out);

/* Test-flag helper: is `flag` one of the comma-separated `flags`? */
bool grader_has_flag(const char *flags, const char *flag);

#endif
