/*
 * cmd_grade.c — `evlab grade [NN ...]`: grade exercises and print the
 * table, or write results for Gradescope or a JUnit-reading CI.
 *
 * All the work is in lib/grade/ (grader.h); this file parses options,
 * finds the toolkit's root, draws the progress line and, for --watch,
 * shows the student's server in the live view (viz/view_app.h) while the
 * grader runs on a second thread.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli_util.h"
#include "commands.h"
#include "common/clock.h"
#include "grade/grader.h"
#include "probe/probe_reader.h"
#include "view_app.h"
#include "view_source.h"

static const char grade_usage[] =
    "usage: evlab grade [NN ...] [options]\n"
    "\n"
    "Builds each exercise (all of them, or the numbers given) from a fresh\n"
    "copy with your submitted files laid over it, runs every graded test in\n"
    "a sandbox (time, CPU, memory, process, file and descriptor limits) and\n"
    "prints a table of tests and points.  A failed test says what it\n"
    "checked, what it expected, what happened and how to rerun just it.\n"
    "Exit status 0 only when every test passed.\n"
    "\n"
    "  --dir PATH       folder holding your NN-name folders (default: the\n"
    "                   toolkit's exercises/; e.g. a student's checkout)\n"
    "  --test NAME      run only this test\n"
    "  --seed S         seed for the tests' random inputs (default 1)\n"
    "  --format F       text (default), gradescope (results.json) or junit\n"
    "  --output FILE    write the report there (default stdout; with gradescope\n"
    "                   or junit the table still goes to stdout)\n"
    "  --kept           also run the tests kept from students (exercises/kept)\n"
    "  --watch          run the tests one by one and show your server live\n"
    "                   (evlab view) while they run; q stops watching\n"
    "  --jobs N         tests run in parallel (default 2; timing tests always alone)\n"
    "  --exercises PATH the pristine exercises (default: the toolkit's exercises/)\n"
    "  --keep-temp      keep the staged build folders and say where\n"
    "  --list           build, then list the exercises and their tests (run none):\n"
    "                   NN-name TAB points TAB tests TAB title, then TAB test lines\n"
    "  -h, --help\n";

struct grade_args {
    struct grader_options options;
    const char *numbers[64];
    const char *format;
    const char *output;
    bool watch;
    char root[PATH_MAX];
    char exercises[PATH_MAX + 16];
    char kept[PATH_MAX + 16];
    char probe_name[64];
};

/* The toolkit's root: $EVLAB_ROOT, else three folders above the running
 * binary (ROOT/build/VARIANT/evlab; ./evlab is a symlink to it). */
static int find_root(char *root, size_t len)
{
    const char *env = getenv("EVLAB_ROOT");
    if (env && env[0]) {
        if (realpath(env, root) == NULL)
            return -errno;
        return 0;
    }
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n < 0)
        return -errno;
    exe[n] = '\0';
    for (int up = 0; up < 3; up++) {
        char *slash = strrchr(exe, '/');
        if (slash == NULL)
            return -ENOENT;
        *slash = '\0';
    }
    snprintf(root, len, "%s", exe);
    return 0;
}

static bool is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static int parse_args(int argc, char **argv, struct grade_args *a)
{
    static const struct option options[] = {
        { "dir", required_argument, NULL, 'd' },
        { "test", required_argument, NULL, 't' },
        { "seed", required_argument, NULL, 's' },
        { "format", required_argument, NULL, 'f' },
        { "output", required_argument, NULL, 'o' },
        { "kept", no_argument, NULL, 'k' },
        { "watch", no_argument, NULL, 'w' },
        { "jobs", required_argument, NULL, 'j' },
        { "exercises", required_argument, NULL, 'e' },
        { "keep-temp", no_argument, NULL, 'K' },
        { "list", no_argument, NULL, 'l' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    struct grader_options *o = &a->options;
    o->seed = 1;
    o->jobs = 2;
    a->format = "text";
    static char dir_buf[PATH_MAX];
    const char *dir = NULL, *exercises = NULL;
    uint64_t value;
    int opt;
    optind = 1;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        switch (opt) {
        case 'd':
            dir = optarg;
            break;
        case 't':
            o->test_name = optarg;
            break;
        case 's':
            if (!cli_parse_u64(optarg, 0, UINT64_MAX, &o->seed))
                return cli_usage_error("grade", grade_usage, "--seed wants a whole number, not '%s'", optarg);
            break;
        case 'f':
            if (strcmp(optarg, "text") != 0 && strcmp(optarg, "gradescope") != 0 &&
                strcmp(optarg, "junit") != 0)
                return cli_usage_error("grade", grade_usage,
                                       "--format is text, gradescope or junit, not '%s'", optarg);
            a->format = optarg;
            break;
        case 'o':
            a->output = optarg;
            break;
        case 'k':
            o->with_kept = true;
            break;
        case 'w':
            a->watch = true;
            break;
        case 'j':
            if (!cli_parse_u64(optarg, 1, 8, &value))
                return cli_usage_error("grade", grade_usage, "--jobs wants 1..8, not '%s'", optarg);
            o->jobs = (int)value;
            break;
        case 'e':
            exercises = optarg;
            break;
        case 'K':
            o->keep_temp = true;
            break;
        case 'l':
            o->list_only = true;
            break;
        case 'h':
            fputs(grade_usage, stdout);
            return -1;
        default:
            return cli_usage_error("grade", grade_usage, "unknown option '%s'", argv[optind - 1]);
        }
    }
    size_t count = 0;
    for (int i = optind; i < argc; i++) {
        const char *nn = argv[i];
        bool two_digits = nn[0] >= '0' && nn[0] <= '9' && nn[1] >= '0' && nn[1] <= '9';
        if (!two_digits || (nn[2] != '\0' && nn[2] != '-'))
            return cli_usage_error("grade", grade_usage,
                                   "'%s' is not an exercise number (two digits, like 03)", nn);
        if (count + 1 == sizeof a->numbers / sizeof a->numbers[0])
            return cli_usage_error("grade", grade_usage, "too many exercises");
        a->numbers[count++] = nn;
    }
    a->numbers[count] = NULL;
    o->numbers = a->numbers;
    if (strcmp(a->format, "text") != 0 && a->watch)
        return cli_usage_error("grade", grade_usage, "--watch shows the text table, not --format %s", a->format);
    if (a->watch && count != 1)
        return cli_usage_error("grade", grade_usage, "--watch wants exactly one exercise number");

    if (find_root(a->root, sizeof a->root) != 0)
        return cli_usage_error("grade", grade_usage, "cannot find the toolkit (set EVLAB_ROOT)");
    o->toolkit_root = a->root;
    if (exercises && realpath(exercises, a->exercises) == NULL)
        return cli_usage_error("grade", grade_usage, "--exercises %s: %s", exercises, strerror(errno));
    if (!exercises)
        snprintf(a->exercises, sizeof a->exercises, "%s/exercises", a->root);
    if (!is_dir(a->exercises))
        return cli_usage_error("grade", grade_usage, "no exercises folder at %s", a->exercises);
    o->exercises_dir = a->exercises;
    if (dir && realpath(dir, dir_buf) == NULL)
        return cli_usage_error("grade", grade_usage, "--dir %s: %s", dir, strerror(errno));
    o->submission_dir = dir ? dir_buf : a->exercises;
    snprintf(a->kept, sizeof a->kept, "%s/exercises/kept", a->root);
    o->kept_dir = a->kept;
    return 0;
}

/* The progress line: rewritten in place on a terminal, one line per
 * step otherwise (CI logs). */
struct progress_state {
    bool tty;
    bool silent;                  /* --watch: the view owns the terminal */
    bool drawn;
    pthread_mutex_t lock;
    char status[256];             /* the latest line, for --watch's status bar */
};

static void show_progress(void *arg, const char *exercise, const char *what, int done, int total)
{
    struct progress_state *p = arg;
    pthread_mutex_lock(&p->lock);
    if (total > 0)
        snprintf(p->status, sizeof p->status, "[%d/%d] %s %s", done, total, exercise, what);
    else
        snprintf(p->status, sizeof p->status, "%s %s", exercise, what);
    if (p->silent) {
        /* only remembered, for the view's status bar */
    } else if (p->tty) {
        fprintf(stderr, "\r\033[Kgrading %.*s", 70, p->status);
        p->drawn = true;
    } else if (strncmp(what, "running ", 8) != 0) {
        /* A log gets results only: one line per finished step. */
        fprintf(stderr, "grading %s\n", p->status);
    }
    fflush(stderr);
    pthread_mutex_unlock(&p->lock);
}

static void clear_progress(struct progress_state *p)
{
    if (p->tty && p->drawn)
        fputs("\r\033[K", stderr);
}

/* --watch: the grader runs on this thread while the main thread shows
 * whichever server the tests have started. */
struct watch_job {
    struct grader_options *options;
    struct grader_results *results;
    int rc;
    volatile bool finished;
};

static void *grade_thread(void *arg)
{
    struct watch_job *job = arg;
    job->rc = grader_run(job->options, job->results);
    __atomic_store_n(&job->finished, true, __ATOMIC_RELEASE);
    return NULL;
}

struct watch_hooks_state {
    struct watch_job *job;
    struct progress_state *progress;
    struct view_source *source;
    bool quit;                    /* the person pressed q (or sent a signal) */
};

static bool watch_tick(void *context, uint64_t now_ns)
{
    (void)now_ns;
    struct watch_hooks_state *w = context;
    /* A test's server ends with the test: go back and wait for the next. */
    return !__atomic_load_n(&w->job->finished, __ATOMIC_ACQUIRE) && view_source_any_alive(w->source);
}

static void watch_status(void *context, char *buf, size_t len)
{
    struct watch_hooks_state *w = context;
    pthread_mutex_lock(&w->progress->lock);
    snprintf(buf, len, "evlab grade --watch: %s", w->progress->status);
    pthread_mutex_unlock(&w->progress->lock);
}

/* Waits for a live segment named `name`; false when grading ended first. */
static bool wait_for_server(const char *name, struct watch_job *job)
{
    while (!__atomic_load_n(&job->finished, __ATOMIC_ACQUIRE)) {
        struct probe_info found[64];
        int n = probe_list(found, 64);
        for (int i = 0; i < n && i < 64; i++)
            if (found[i].alive && strcmp(found[i].name, name) == 0)
                return true;
        clock_sleep_ms(50);
    }
    return false;
}

static int run_watch(struct grade_args *a, struct grader_results *results,
                     struct progress_state *progress)
{
    snprintf(a->probe_name, sizeof a->probe_name, "grade-%s-%d", a->numbers[0], (int)getpid());
    a->options.probe_name = a->probe_name;
    a->options.jobs = 1;               /* one server at a time to watch */
    progress->silent = true;           /* the view owns the terminal */
    struct watch_job job = { .options = &a->options, .results = results };
    pthread_t thread;
    if (pthread_create(&thread, NULL, grade_thread, &job) != 0) {
        fprintf(stderr, "evlab grade: cannot start the grading thread\n");
        return -1;
    }
    struct watch_hooks_state w = { .job = &job, .progress = progress };
    struct view_app_hooks hooks = {
        .context = &w, .tick = watch_tick, .status = watch_status,
        .help_extra = "evlab grade --watch: the panes show the server the current test started",
    };
    struct view_app_config config;
    memset(&config, 0, sizeof config);
    view_options_init(&config.options);
    config.refresh_hz = VIEW_DEFAULT_REFRESH_HZ;
    char *names[1] = { a->probe_name };
    while (!w.quit && wait_for_server(a->probe_name, &job)) {
        char err[256] = "";
        if (view_source_open(&w.source, names, 1, err, sizeof err) != 0)
            continue;   /* it ended before we could attach */
        struct view_app_stats stats;
        int rc = view_app_run(w.source, &config, &hooks, &stats, err, sizeof err);
        /* The view ends by itself when the test's server is gone (our
         * tick); ending while it still runs means q was pressed. */
        bool server_alive = view_source_any_alive(w.source);
        view_source_close(w.source);
        w.source = NULL;
        if (rc < 0) {
            fprintf(stderr, "evlab grade: cannot show the view: %s\n", err);
            break;
        }
        if (stats.quit_signal != 0 ||
            (server_alive && !__atomic_load_n(&job.finished, __ATOMIC_ACQUIRE)))
            w.quit = true;
        /* Let the next test start its server before looking again. */
        clock_sleep_ms(100);
    }
    progress->silent = false;
    if (w.quit)
        fprintf(stderr, "evlab grade: stopped watching; the tests go on, the table follows\n");
    pthread_join(thread, NULL);
    return job.rc;
}

int cmd_grade(int argc, char **argv)
{
    struct grade_args a;
    memset(&a, 0, sizeof a);
    int rc = parse_args(argc, argv, &a);
    if (rc != 0)
        return rc < 0 ? 0 : rc;

    struct progress_state progress = { .tty = isatty(STDERR_FILENO), .lock = PTHREAD_MUTEX_INITIALIZER };
    a.options.progress = show_progress;
    a.options.progress_arg = &progress;

    struct grader_results results;
    if (a.watch)
        rc = run_watch(&a, &results, &progress);
    else
        rc = grader_run(&a.options, &results);
    clear_progress(&progress);
    if (rc != 0)
        return 1;

    if (a.options.test_name) {
        size_t found = 0;
        for (size_t i = 0; i < results.count; i++)
            found += results.exercises[i].test_count;
        if (found == 0) {
            fprintf(stderr, "evlab grade: no test named '%s' (evlab grade --list shows them)\n",
                    a.options.test_name);
            grader_results_free(&results);
            return 1;
        }
    }
    if (a.options.list_only) {
        grader_report_list(&results, stdout);
        grader_results_free(&results);
        return 0;
    }
    bool text = strcmp(a.format, "text") == 0;
    FILE *out = stdout;
    if (a.output) {
        out = fopen(a.output, "w");
        if (out == NULL) {
            fprintf(stderr, "evlab grade: cannot write %s: %s\n", a.output, strerror(errno));
            grader_results_free(&results);
            return 1;
        }
    }
    int written = 0;
    if (text) {
        grader_report_text(&results, out, out == stdout && isatty(STDOUT_FILENO));
        if (out != stdout && fclose(out) != 0)
            written = -errno;
    } else {
        /* The table for the person watching, the file for the platform. */
        grader_report_text(&results, out == stdout ? stderr : stdout, false);
        if (strcmp(a.format, "gradescope") == 0)
            written = grader_report_gradescope(&results, out);
        else
            written = grader_report_junit(&results, out);
        if (out != stdout && fclose(out) != 0)
            written = -errno;
        if (written != 0)
            fprintf(stderr, "evlab grade: writing %s failed\n", a.output ? a.output : "the report");
    }
    bool passed = grader_all_passed(&results);
    grader_results_free(&results);
    return passed && written == 0 ? 0 : 1;
}
