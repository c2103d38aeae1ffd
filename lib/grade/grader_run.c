/*
 * grader_run.c — grades the selected exercises (the four steps in
 * grader.h): stage and build every exercise, list its tests, then run all
 * tests on a small pool of worker threads.
 *
 * Parallel but deterministic: each test's result has a fixed place in the
 * exercise's table, each worker runs its children under its own sandbox
 * slot (its own uid), and `timing` tests run one at a time after all
 * others, with no other test competing for the CPU.  The order in which
 * workers finish changes only the progress line, never a result.
 *
 * What a test's outcome means (judge()):
 *   exit 0            passed
 *   exit 1            failed, the test printed why
 *   timed out         "timed out after N s in: <the last line it printed>"
 *   SIGXCPU/CPU used  "used more than N s of CPU time"
 *   other signal      "crashed with SIGSEGV (...)" and the last line
 *   anything else     failed, with the exit status
 */
#include "grade/grader.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/clock.h"
#include "grade/grader_stage.h"
#include "probe/probe_layout.h"
#include "probe/probe_reader.h"
#include "grade/sandbox.h"

/* Limits of one build and of one test (see sandbox.h for each). */
#define GRADER_BUILD_WALL_MS   180000
#define GRADER_LIST_WALL_MS    10000
#define GRADER_TEST_MEM        (2ull << 30)   /* 2 GiB of address space per process */
#define GRADER_TEST_FSIZE      (64ull << 20)  /* no file over 64 MiB */
#define GRADER_TEST_NOFILE     4096           /* room for "many clients" tests */
#define GRADER_TEST_NPROC      512            /* threads + processes of one test */
#define GRADER_FORK_BOMB       64             /* more processes than this in a test: say so */
#define GRADER_COMPILER_LINES  20             /* compiler errors shown */
#define GRADER_OUTPUT_SHOWN    (16 * 1024)    /* per test, in the results */

/* Everything grading one exercise needs beyond its result. */
struct exercise_job {
    struct grader_exercise_result *result;
    char stage[PATH_MAX];
    const char *toolkit;          /* the copy of the toolkit serving as EVLAB_ROOT */
    int slot;                     /* sandbox slot of the worker preparing it */
    char exercise_env[32];
    char build_env[PATH_MAX + 32];
    char root_env[PATH_MAX + 32];
    char probe_env[160];
};

/* One test to run: exercise_jobs[exercise].result->tests[test]. */
struct test_job {
    size_t exercise;
    size_t test;
};

struct run_state {
    const struct grader_options *options;
    struct exercise_job *jobs;
    size_t job_count;
    struct test_job *tests;
    size_t test_count;
    size_t next;                  /* next index into tests (under lock) */
    size_t done;
    pthread_mutex_t lock;
};

static char *dup_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *dup_printf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = NULL;
    if (vasprintf(&s, fmt, ap) < 0)
        s = NULL;
    va_end(ap);
    return s;
}

/* The compiler's first errors: from the first line with "error:" (a
 * compiler or linker message; else any mention of an error),
 * GRADER_COMPILER_LINES lines. */
static char *first_errors(const char *output)
{
    const char *start = strstr(output, "error:");
    if (start == NULL)
        start = strstr(output, "error");
    if (start == NULL)
        start = output;
    while (start > output && start[-1] != '\n')
        start--;
    const char *end = start;
    for (int lines = 0; *end && lines < GRADER_COMPILER_LINES; end++)
        lines += *end == '\n';
    return dup_printf("%.*s%s", (int)(end - start), start, *end ? "[...]\n" : "");
}

static void progress(struct run_state *st, const char *exercise, const char *what)
{
    if (st->options->progress)
        st->options->progress(st->options->progress_arg, exercise, what, (int)st->done,
                              (int)st->test_count);
}

/* Runs `make` in the stage.  0 when it built; else *log gets the output. */
static int build_stage(const char *toolkit, const char *stage, int slot, char **log,
                       double *seconds)
{
    char root_arg[PATH_MAX + 16];
    snprintf(root_arg, sizeof root_arg, "EVLAB_ROOT=%s", toolkit);
    const char *argv[] = { "/usr/bin/env", "make", "-s", "-j2", "-C", stage, root_arg, NULL };
    struct sandbox_limits lim = {
        .wall_ms = GRADER_BUILD_WALL_MS, .cpu_s = GRADER_BUILD_WALL_MS / 1000,
        .mem_bytes = GRADER_TEST_MEM, .fsize_bytes = GRADER_TEST_FSIZE,
        .nofile = GRADER_TEST_NOFILE, .nproc = GRADER_TEST_NPROC, .slot = slot,
    };
    struct sandbox_result r;
    int rc = sandbox_run(argv, stage, NULL, &lim, &r);
    if (rc != 0) {
        *log = dup_printf("could not run make: %s\n", strerror(-rc));
        return -1;
    }
    *seconds = r.wall_s;
    bool ok = !r.timed_out && WIFEXITED(r.wait_status) && WEXITSTATUS(r.wait_status) == 0;
    if (!ok) {
        if (r.timed_out)
            *log = dup_printf("the build took longer than %d s\n", GRADER_BUILD_WALL_MS / 1000);
        else
            *log = first_errors(r.output ? r.output : "");
    }
    sandbox_result_free(&r);
    return ok ? 0 : -1;
}

/* Parses one `--list` line into t; false if malformed. */
static bool parse_list_line(char *line, struct grader_test_result *t, bool kept)
{
    char *fields[5];
    int n = 0;
    for (char *p = line; n < 5; n++) {
        fields[n] = p;
        char *tab = strchr(p, '\t');
        if (tab == NULL) {
            n++;
            break;
        }
        *tab = '\0';
        p = tab + 1;
    }
    if (n != 5)
        return false;
    memset(t, 0, sizeof *t);
    snprintf(t->name, sizeof t->name, "%s", fields[0]);
    t->points = atoi(fields[1]);
    snprintf(t->flags, sizeof t->flags, "%s", strcmp(fields[2], "-") == 0 ? "" : fields[2]);
    t->timeout_s = atoi(fields[3]);
    if (t->timeout_s <= 0)
        t->timeout_s = 10;
    snprintf(t->description, sizeof t->description, "%s", fields[4]);
    t->kept = kept || grader_has_flag(t->flags, "kept");
    t->timing = grader_has_flag(t->flags, "timing");
    t->core = grader_has_flag(t->flags, "core");
    t->status = GRADER_FAILED;
    return t->name[0] != '\0';
}

/* Appends the tests `binary --list` prints to the result. */
static int list_tests(struct exercise_job *job, const char *binary, bool kept, char *err,
                      size_t err_len)
{
    const char *argv[] = { binary, "--list", NULL };
    const char *env[] = { job->exercise_env, job->build_env, job->root_env, NULL };
    struct sandbox_limits lim = {
        .wall_ms = GRADER_LIST_WALL_MS, .cpu_s = GRADER_LIST_WALL_MS / 1000,
        .mem_bytes = GRADER_TEST_MEM, .nofile = GRADER_TEST_NOFILE,
        .nproc = GRADER_TEST_NPROC, .slot = job->slot,
    };
    struct sandbox_result r;
    int rc = sandbox_run(argv, job->stage, env, &lim, &r);
    if (rc != 0) {
        snprintf(err, err_len, "cannot run %s --list: %s", binary, strerror(-rc));
        return rc;
    }
    if (r.timed_out || !WIFEXITED(r.wait_status) || WEXITSTATUS(r.wait_status) != 0) {
        char how[128];
        snprintf(err, err_len, "%s --list %s: %s", binary,
                 r.timed_out ? "timed out" : sandbox_describe_status(r.wait_status, how, sizeof how),
                 r.last_line);
        sandbox_result_free(&r);
        return -EINVAL;
    }
    struct grader_exercise_result *res = job->result;
    rc = 0;
    for (char *line = strtok(r.output, "\n"); line; line = strtok(NULL, "\n")) {
        struct grader_test_result t;
        if (!parse_list_line(line, &t, kept)) {
            snprintf(err, err_len, "%s --list printed a malformed line: %.100s", binary, line);
            rc = -EINVAL;
            break;
        }
        struct grader_test_result *bigger = realloc(res->tests, (res->test_count + 1) * sizeof *bigger);
        if (bigger == NULL) {
            rc = -ENOMEM;
            break;
        }
        res->tests = bigger;
        res->tests[res->test_count++] = t;
    }
    sandbox_result_free(&r);
    return rc;
}

/* Builds and lists one staged exercise; on failure, err says why. */
static int build_and_list(struct exercise_job *job, bool kept, char **log)
{
    struct grader_exercise_result *res = job->result;
    if (build_stage(job->toolkit, job->stage, job->slot, log, &res->build_seconds) != 0)
        return -1;
    char binary[PATH_MAX + 32], err[512];
    snprintf(binary, sizeof binary, "%s/build/tests", job->stage);
    if (list_tests(job, binary, false, err, sizeof err) != 0) {
        *log = dup_printf("%s\n", err);
        return -1;
    }
    if (kept) {
        snprintf(binary, sizeof binary, "%s/build/tests_kept", job->stage);
        if (access(binary, X_OK) == 0 && list_tests(job, binary, true, err, sizeof err) != 0) {
            *log = dup_printf("%s\n", err);
            return -1;
        }
    }
    return 0;
}

/* Stages a copy: the pristine exercise, the submission over it if
 * `overlay`, kept tests if asked.  Returns 0, or -1 with *log set. */
static int stage_exercise(const struct grader_options *o, struct exercise_job *job, bool overlay,
                          bool *kept, char **log)
{
    char err[1024];
    struct grader_exercise *ex = &job->result->exercise;
    grader_stage_remove(job->stage);
    if (grader_stage_copy(ex, job->stage, err, sizeof err) != 0) {
        *log = dup_printf("cannot copy the exercise: %s\n", err);
        return -1;
    }
    if (overlay && grader_stage_overlay(ex, o->submission_dir, job->stage, err, sizeof err) != 0) {
        *log = dup_printf("%s\n", err);
        return -1;
    }
    *kept = false;
    if (o->with_kept) {
        int k = grader_stage_kept(ex, o->kept_dir, job->stage, err, sizeof err);
        if (k < 0) {
            *log = dup_printf("cannot copy the kept tests: %s\n", err);
            return -1;
        }
        *kept = k == 1;
    }
    if (sandbox_drops_privileges())
        grader_stage_open_up(job->stage);
    return 0;
}

static void clear_tests(struct grader_exercise_result *res)
{
    free(res->tests);
    res->tests = NULL;
    res->test_count = 0;
}

/* Every test of an exercise that could not be graded scores 0 with the
 * same reason, so the report still shows what it was worth. */
static void fail_all_tests(struct grader_exercise_result *res, const char *why)
{
    for (size_t i = 0; i < res->test_count; i++) {
        res->tests[i].status = GRADER_FAILED;
        res->tests[i].score = 0;
        res->tests[i].output = strdup(why);
    }
}

/* Stage, build, list.  A submission that is missing or does not compile
 * is graded 0; the pristine exercise is then built once more only to
 * learn the test table and its points. */
static void prepare_exercise(struct run_state *st, struct exercise_job *job)
{
    const struct grader_options *o = st->options;
    struct grader_exercise_result *res = job->result;
    struct grader_exercise *ex = &res->exercise;
    char *log = NULL;
    bool kept = false;
    progress(st, ex->name, "building");
    if (stage_exercise(o, job, true, &kept, &log) == 0 && build_and_list(job, kept, &log) == 0) {
        res->graded = true;
        return;
    }
    bool missing = log && strncmp(log, "missing ", 8) == 0;
    res->message = missing ? dup_printf("not graded: %s", log)
                           : dup_printf("not graded: your code does not build. The first errors:\n%s", log ? log : "");
    free(log);
    log = NULL;
    clear_tests(res);
    if (stage_exercise(o, job, false, &kept, &log) != 0 || build_and_list(job, kept, &log) != 0) {
        char *both = dup_printf("%s\nThe exercise itself does not build either (a bug of the exercise): %s",
                                res->message, log ? log : "");
        free(res->message);
        res->message = both;
        clear_tests(res);
    }
    free(log);
    fail_all_tests(res, res->message);
}

/* Keeps the test's output readable: at most GRADER_OUTPUT_SHOWN bytes. */
static char *shorten(const char *text)
{
    size_t len = strlen(text);
    if (len <= GRADER_OUTPUT_SHOWN)
        return strdup(text);
    size_t half = GRADER_OUTPUT_SHOWN / 2;
    return dup_printf("%.*s\n[... %zu bytes left out ...]\n%s", (int)half, text, len - 2 * half,
                      text + len - half);
}

/* The last line without the "note     " prefix grade_note() adds. */
static const char *last_step(const char *line)
{
    if (strncmp(line, "note     ", 9) == 0)
        return line + 9;
    return line;
}

/* Turns one sandboxed run into passed/failed and the text that explains it. */
static bool judge(const struct grader_test_result *t, const struct sandbox_result *r, char **text)
{
    const char *out = r->output ? r->output : "";
    char verdict[640] = "";
    bool passed = false;
    if (r->timed_out) {
        if (r->last_line[0])
            snprintf(verdict, sizeof verdict, "timed out after %d s in: %s", t->timeout_s,
                     last_step(r->last_line));
        else
            snprintf(verdict, sizeof verdict, "timed out after %d s (the test printed nothing before)",
                     t->timeout_s);
        /* A test and a server are a handful of processes; hundreds mean
         * something forked without end. */
        if (r->group_processes > GRADER_FORK_BOMB)
            snprintf(verdict + strlen(verdict), sizeof verdict - strlen(verdict),
                     "\n%d processes were running by then (the limit is %d): a fork bomb?",
                     r->group_processes, GRADER_TEST_NPROC);
    } else if (WIFEXITED(r->wait_status) && WEXITSTATUS(r->wait_status) == 0) {
        passed = true;
    } else if (WIFEXITED(r->wait_status) && WEXITSTATUS(r->wait_status) == 1) {
        verdict[0] = '\0';   /* the test explained itself */
    } else if (WIFSIGNALED(r->wait_status) &&
               (WTERMSIG(r->wait_status) == SIGXCPU ||
                (WTERMSIG(r->wait_status) == SIGKILL && r->cpu_s >= t->timeout_s + 1))) {
        snprintf(verdict, sizeof verdict,
                 "used more than %d s of CPU time (an endless loop?) in: %s", t->timeout_s + 2,
                 r->last_line[0] ? last_step(r->last_line) : "(nothing printed)");
    } else {
        char how[160];
        sandbox_describe_status(r->wait_status, how, sizeof how);
        snprintf(verdict, sizeof verdict, "the test %s%s%s", how,
                 r->last_line[0] ? " in: " : "", r->last_line[0] ? last_step(r->last_line) : "");
    }
    char note[160] = "";
    if (r->output_cut)
        snprintf(note, sizeof note,
                 "(the test printed %zu bytes; only the first and last %d KiB were kept)\n",
                 r->output_total, SANDBOX_KEEP_BYTES / 2048);
    char *joined = dup_printf("%s%s%s%s", out, (out[0] && out[strlen(out) - 1] != '\n') ? "\n" : "",
                              note, verdict[0] ? verdict : "");
    *text = shorten(joined ? joined : "");
    free(joined);
    /* A failure with no explanation at all still says what happened. */
    if (!passed && verdict[0] == '\0' && out[0] == '\0') {
        free(*text);
        *text = strdup("failed without printing why (exit status 1)");
    }
    return passed;
}

static void run_one_test(struct run_state *st, const struct test_job *tj, int slot)
{
    struct exercise_job *job = &st->jobs[tj->exercise];
    struct grader_test_result *t = &job->result->tests[tj->test];
    char binary[PATH_MAX + 32], seed[32];
    snprintf(binary, sizeof binary, "%s/build/%s", job->stage, t->kept ? "tests_kept" : "tests");
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)st->options->seed);
    const char *argv[] = { binary, "--run", t->name, "--seed", seed, NULL };
    /* Fewer malloc arenas: each reserves 64 MiB of address space, which
     * would eat the RLIMIT_AS budget of a threaded server. */
    const char *env[] = { job->exercise_env, job->build_env, job->root_env,
                          "MALLOC_ARENA_MAX=2", job->probe_env[0] ? job->probe_env : NULL, NULL };
    struct sandbox_limits lim = {
        .wall_ms = t->timeout_s * 1000, .cpu_s = t->timeout_s + 1,
        .mem_bytes = GRADER_TEST_MEM, .fsize_bytes = GRADER_TEST_FSIZE,
        .nofile = GRADER_TEST_NOFILE, .nproc = GRADER_TEST_NPROC, .slot = slot,
    };
    char *first = NULL;
    for (int attempt = 0; attempt < 2; attempt++) {
        struct sandbox_result r;
        int rc = sandbox_run(argv, job->stage, env, &lim, &r);
        if (rc != 0) {
            t->status = GRADER_FAILED;
            t->output = dup_printf("the grader could not start the test: %s", strerror(-rc));
            break;
        }
        char *text = NULL;
        bool passed = judge(t, &r, &text);
        t->seconds += r.wall_s;
        sandbox_result_free(&r);
        if (passed || !t->timing || attempt == 1) {
            t->status = passed ? GRADER_PASSED : GRADER_FAILED;
            t->score = passed ? t->points : 0;
            if (attempt == 1) {
                t->retried = true;
                t->output = dup_printf("timing test: failed once, so it ran again; %s.\n"
                                       "first run:\n%s\nsecond run:\n%s",
                                       passed ? "passed on the second run" : "failed again",
                                       first, text);
                free(text);
            } else {
                t->output = text;
            }
            break;
        }
        first = text;
    }
    free(first);
}

struct worker;
typedef void (*task_fn)(struct run_state *st, size_t index, int slot);

/* Worker thread: takes the next index in [next, to) until none is left. */
struct worker {
    struct run_state *st;
    int slot;
    size_t to;
    task_fn task;
};

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct run_state *st = w->st;
    for (;;) {
        pthread_mutex_lock(&st->lock);
        size_t i = st->next < w->to ? st->next++ : w->to;
        pthread_mutex_unlock(&st->lock);
        if (i >= w->to)
            break;
        w->task(st, i, w->slot);
    }
    return NULL;
}

/* Runs task(from) .. task(to - 1) on `jobs` workers (the caller is one). */
static void run_range(struct run_state *st, size_t from, size_t to, int jobs, task_fn task)
{
    if (jobs > SANDBOX_MAX_SLOTS)
        jobs = SANDBOX_MAX_SLOTS;
    if (jobs < 1)
        jobs = 1;
    st->next = from;
    pthread_t threads[SANDBOX_MAX_SLOTS];
    struct worker workers[SANDBOX_MAX_SLOTS];
    int started = 1;
    workers[0] = (struct worker){ .st = st, .slot = 0, .to = to, .task = task };
    for (int i = 1; i < jobs; i++) {
        workers[started] = (struct worker){ .st = st, .slot = started, .to = to, .task = task };
        if (pthread_create(&threads[started], NULL, worker_main, &workers[started]) == 0)
            started++;
    }
    worker_main(&workers[0]);
    for (int i = 1; i < started; i++)
        pthread_join(threads[i], NULL);
}

static void test_task(struct run_state *st, size_t index, int slot)
{
    const struct test_job *tj = &st->tests[index];
    {
        /* Say what starts, for the progress line and --watch's status bar. */
        const struct grader_exercise_result *res = st->jobs[tj->exercise].result;
        char what[200];
        snprintf(what, sizeof what, "running %s", res->tests[tj->test].name);
        pthread_mutex_lock(&st->lock);
        progress(st, res->exercise.name, what);
        pthread_mutex_unlock(&st->lock);
    }
    run_one_test(st, tj, slot);
    pthread_mutex_lock(&st->lock);
    st->done++;
    const struct grader_exercise_result *res = st->jobs[tj->exercise].result;
    char what[200];
    snprintf(what, sizeof what, "%s %s", res->tests[tj->test].name,
             res->tests[tj->test].status == GRADER_PASSED ? "passed" : "FAILED");
    progress(st, res->exercise.name, what);
    pthread_mutex_unlock(&st->lock);
}

static void keep_only(struct grader_exercise_result *res, const char *name);

static void prepare_task(struct run_state *st, size_t index, int slot)
{
    struct exercise_job *job = &st->jobs[index];
    uint64_t t0 = clock_now_ns();
    job->slot = slot;
    prepare_exercise(st, job);
    if (st->options->test_name)
        keep_only(job->result, st->options->test_name);
    job->result->seconds = (double)(clock_now_ns() - t0) / 1e9;
}

static bool selected(const struct grader_options *o, const struct grader_exercise *ex)
{
    if (o->numbers == NULL || o->numbers[0] == NULL)
        return true;
    for (int i = 0; o->numbers[i]; i++)
        if (strcmp(o->numbers[i], ex->number) == 0 || strcmp(o->numbers[i], ex->name) == 0)
            return true;
    return false;
}

/* Keeps only the test named by --test (exercises without it keep none). */
static void keep_only(struct grader_exercise_result *res, const char *name)
{
    size_t k = 0;
    for (size_t i = 0; i < res->test_count; i++) {
        if (strcmp(res->tests[i].name, name) == 0)
            res->tests[k++] = res->tests[i];
        else
            free(res->tests[i].output);
    }
    res->test_count = k;
}

/* A student's server killed at the end of its test cannot remove its
 * instrumentation segment (/dev/shm/evlab.NAME).  Hundreds of graded
 * submissions would pile them up, so the grader removes the segments of
 * dead servers with the names graded programs use (exNN-PID, or the
 * --watch name grade-NN-PID), and leaves every other segment alone. */
static void clean_student_segments(void)
{
    struct probe_info found[256];
    int n = probe_list(found, 256);
    for (int i = 0; i < n && i < 256; i++) {
        const char *name = found[i].name;
        bool graded = (strncmp(name, "ex", 2) == 0 && name[2] >= '0' && name[2] <= '9' &&
                       name[3] >= '0' && name[3] <= '9' && name[4] == '-') ||
                      strncmp(name, "grade-", 6) == 0;
        if (!graded || found[i].alive)
            continue;
        char shm_name[PROBE_NAME_MAX + 16];
        probe_segment_shm_name(shm_name, sizeof shm_name, name);
        shm_unlink(shm_name);
    }
}

int grader_run(const struct grader_options *o, struct grader_results *results)
{
    memset(results, 0, sizeof *results);
    uint64_t start = clock_now_ns();
    struct grader_exercise *all = NULL;
    int found = grader_find_exercises(o->exercises_dir, &all);
    if (found < 0) {
        fprintf(stderr, "evlab grade: cannot read %s: %s\n", o->exercises_dir, strerror(-found));
        return found;
    }
    for (int i = 0; o->numbers && o->numbers[i]; i++) {
        bool known = false;
        for (int k = 0; k < found; k++)
            known |= strcmp(o->numbers[i], all[k].number) == 0 || strcmp(o->numbers[i], all[k].name) == 0;
        if (!known) {
            fprintf(stderr, "evlab grade: no exercise %s in %s\n", o->numbers[i], o->exercises_dir);
            free(all);
            return -ENOENT;
        }
    }
    results->exercises = calloc(found > 0 ? (size_t)found : 1, sizeof *results->exercises);
    struct exercise_job *jobs = calloc(found > 0 ? (size_t)found : 1, sizeof *jobs);
    char tmp_root[] = "/tmp/evlab-grade-XXXXXX";
    const char *tmpdir = getenv("TMPDIR");
    char tmp_template[PATH_MAX];
    snprintf(tmp_template, sizeof tmp_template, "%s/evlab-grade-XXXXXX",
             tmpdir && tmpdir[0] ? tmpdir : "/tmp");
    char *tmp = mkdtemp(strlen(tmp_template) < sizeof tmp_template ? tmp_template : tmp_root);
    if (results->exercises == NULL || jobs == NULL || tmp == NULL) {
        int e = tmp == NULL ? errno : ENOMEM;
        fprintf(stderr, "evlab grade: cannot make a temp folder: %s\n", strerror(e));
        free(results->exercises);
        results->exercises = NULL;
        free(jobs);
        free(all);
        return -e;
    }
    if (sandbox_drops_privileges())
        chmod(tmp, 0755);
    static char toolkit[PATH_MAX + 16];
    char err[PATH_MAX + 256];
    snprintf(toolkit, sizeof toolkit, "%s/toolkit", tmp);
    if (grader_stage_toolkit(o->toolkit_root, toolkit, err, sizeof err) != 0) {
        fprintf(stderr, "evlab grade: %s\n", err);
        grader_stage_remove(tmp);
        free(results->exercises);
        results->exercises = NULL;
        free(jobs);
        free(all);
        return -ENOENT;
    }

    struct run_state st = { .options = o, .jobs = jobs, .lock = PTHREAD_MUTEX_INITIALIZER };
    for (int i = 0; i < found; i++) {
        if (!selected(o, &all[i]))
            continue;
        struct exercise_job *job = &jobs[st.job_count];
        job->result = &results->exercises[st.job_count];
        job->result->exercise = all[i];
        snprintf(job->stage, sizeof job->stage, "%s/%s", tmp, all[i].name);
        snprintf(job->exercise_env, sizeof job->exercise_env, "EVLAB_GRADE_EXERCISE=%s", all[i].number);
        snprintf(job->build_env, sizeof job->build_env, "EVLAB_GRADE_BUILD=%s/build", job->stage);
        job->toolkit = toolkit;
        snprintf(job->root_env, sizeof job->root_env, "EVLAB_ROOT=%s", toolkit);
        if (o->probe_name)
            snprintf(job->probe_env, sizeof job->probe_env, "EVLAB_PROBE_NAME=%s", o->probe_name);
        st.job_count++;
    }
    results->count = st.job_count;
    free(all);

    /* Builds run in parallel too: each in its own stage and slot. */
    run_range(&st, 0, st.job_count, o->jobs, prepare_task);

    /* Untimed tests first, on every worker; then timing tests alone. */
    size_t total = 0;
    for (size_t i = 0; i < st.job_count; i++)
        if (jobs[i].result->graded)
            total += jobs[i].result->test_count;
    st.tests = calloc(total ? total : 1, sizeof *st.tests);
    for (int pass = 0; pass < 2 && st.tests; pass++)
        for (size_t i = 0; i < st.job_count; i++)
            for (size_t k = 0; jobs[i].result->graded && k < jobs[i].result->test_count; k++)
                if (jobs[i].result->tests[k].timing == (pass == 1))
                    st.tests[st.test_count++] = (struct test_job){ i, k };
    size_t untimed = 0;
    while (untimed < st.test_count && !jobs[st.tests[untimed].exercise].result->tests[st.tests[untimed].test].timing)
        untimed++;
    if (!o->list_only) {
        run_range(&st, 0, untimed, o->jobs, test_task);
        run_range(&st, untimed, st.test_count, 1, test_task);
    }

    for (size_t i = 0; i < st.job_count; i++) {
        struct grader_exercise_result *res = jobs[i].result;
        for (size_t k = 0; k < res->test_count; k++) {
            if (o->list_only && res->graded)
                res->tests[k].output = strdup("not run (--list)");
            res->score += res->tests[k].score;
            res->max_score += res->tests[k].points;
            res->seconds += res->tests[k].seconds;
        }
        results->score += res->score;
        results->max_score += res->max_score;
    }
    results->seconds = (double)(clock_now_ns() - start) / 1e9;
    free(st.tests);
    free(jobs);
    clean_student_segments();
    if (!o->keep_temp)
        grader_stage_remove(tmp);
    else
        fprintf(stderr, "evlab grade: the staged copies are kept in %s\n", tmp);
    return 0;
}

bool grader_all_passed(const struct grader_results *results)
{
    if (results->count == 0)
        return false;
    for (size_t i = 0; i < results->count; i++) {
        const struct grader_exercise_result *res = &results->exercises[i];
        if (!res->graded || res->test_count == 0)
            return false;
        for (size_t k = 0; k < res->test_count; k++)
            if (res->tests[k].status != GRADER_PASSED)
                return false;
    }
    return true;
}

void grader_results_free(struct grader_results *results)
{
    for (size_t i = 0; i < results->count; i++) {
        struct grader_exercise_result *res = &results->exercises[i];
        for (size_t k = 0; k < res->test_count; k++)
            free(res->tests[k].output);
        free(res->tests);
        free(res->message);
    }
    free(results->exercises);
    memset(results, 0, sizeof *results);
}
