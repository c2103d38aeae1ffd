/*
 * cmd_lesson.c — `evlab lesson`: list the lessons, or play one.
 *
 * The lessons are folders lessons/NN-name/ with a scenario.txt
 * (lessons/FORMAT.md).  This file finds them, parses options, and hands a
 * parsed scenario to the plain player (lib/lesson/lesson_plain.h) or to
 * the live one (viz/lesson_player.h).  Both play the same lesson_run, whose
 * child processes are started through viz/demo_children.h: the adapter
 * below is the only place that knows how.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli_util.h"
#include "commands.h"
#include "demo_children.h"
#include "lesson/lesson_plain.h"
#include "lesson/lesson_run.h"
#include "lesson/lesson_scenario.h"
#include "lesson_player.h"
#include "record/record.h"
#include "replay_recorder.h"
#include "view_limits.h"

static const char lesson_usage[] =
    "usage: evlab lesson                 list the lessons\n"
    "       evlab lesson NN [options]    play lesson NN in the live view\n"
    "       evlab lesson --validate FILE...\n"
    "\n"
    "A lesson starts its servers and loads, then walks through steps: each\n"
    "says what to watch, may ask you to predict what happens, measures for a\n"
    "few seconds and shows what it measured.  Live keys: n next step (first\n"
    "press after a prediction reveals the measurement), b back, p pause\n"
    "(freezes everything on screen), ? keys and the meaning of every number,\n"
    "q quit.  The scenario format is lessons/FORMAT.md.\n"
    "\n"
    "  --plain          no terminal UI: print each step's narration and what\n"
    "                   was measured\n"
    "  --check          with --plain: exit 1 when a claim of the lesson does\n"
    "                   not hold, printing measured against required\n"
    "  --auto           live: advance to the next step on a timer\n"
    "  --seed N         seed of the loads (default: the lesson's own)\n"
    "  --dir DIR        where the lessons are (default: ./lessons, or the one\n"
    "                   beside the evlab program)\n"
    "  --validate FILE  parse scenario files and report errors; start nothing\n"
    "  --record FILE    also record the lesson's servers (evlab view --replay)\n"
    "  -h, --help\n";

#define STOP_GRACE_MS 1500

/* --- Child processes, through viz/demo_children.h ----------------------- */

static int spawn_start(void *context, const char *label, char *const argv[], char *err,
                       size_t err_len)
{
    (void)context;
    return demo_child_spawn(label, argv, err, err_len);
}

static int spawn_first_line(void *context, int id, char *line, size_t len, unsigned timeout_ms)
{
    (void)context;
    return demo_child_first_line(id, line, len, timeout_ms);
}

static int spawn_pid(void *context, int id)
{
    (void)context;
    struct demo_child *child = demo_child_get(id);
    return child != NULL ? (int)child->pid : 0;
}

static bool spawn_running(void *context, int id)
{
    (void)context;
    demo_children_reap();
    struct demo_child *child = demo_child_get(id);
    return child != NULL && child->running;
}

static void spawn_stop(void *context, int id, unsigned grace_ms)
{
    (void)context;
    demo_child_stop(id, grace_ms);
    demo_child_release(id);
}

static void spawn_poll(void *context)
{
    (void)context;
    for (int i = 0; i < DEMO_MAX_CHILDREN; i++)
        demo_child_drain(i);
    demo_children_reap();
}

static const struct lesson_spawner children_spawner = {
    .start = spawn_start, .first_line = spawn_first_line, .pid = spawn_pid,
    .running = spawn_running, .stop = spawn_stop, .poll = spawn_poll,
};

/* --- Finding lessons ------------------------------------------------------ */

/* "a/b" or "a/b/c" into out; false when it does not fit. */
static bool path_join(char *out, size_t len, const char *a, const char *b, const char *c)
{
    int n = c != NULL ? snprintf(out, len, "%s/%s/%s", a, b, c)
                      : snprintf(out, len, "%s/%s", a, b);
    return n > 0 && (size_t)n < len;
}

static bool is_lessons_dir(const char *dir)
{
    char path[PATH_MAX];
    struct stat st;
    return path_join(path, sizeof path, dir, "FORMAT.md", NULL) && stat(path, &st) == 0;
}

/* ./lessons, else lessons/ beside the program (build/release/evlab is two
 * folders below the repository, ./evlab a link to it). */
static bool find_lessons_dir(char *out, size_t len)
{
    if (is_lessons_dir("lessons")) {
        snprintf(out, len, "lessons");
        return true;
    }
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        return false;
    exe[n] = '\0';
    for (int up = 0; up < 4; up++) {
        char *slash = strrchr(exe, '/');
        if (slash == NULL)
            return false;
        *slash = '\0';
        if (path_join(out, len, exe, "lessons", NULL) && is_lessons_dir(out))
            return true;
    }
    return false;
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(a, b);
}

/* The lesson folders (NN-name) of dir, sorted; returns how many. */
static size_t lesson_folders(const char *dir, char names[][NAME_MAX + 1], size_t max)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return 0;
    size_t n = 0;
    struct dirent *entry;
    while ((entry = readdir(d)) != NULL && n < max) {
        const char *name = entry->d_name;
        if (strlen(name) > 3 && name[0] >= '0' && name[0] <= '9' && name[1] >= '0' &&
            name[1] <= '9' && name[2] == '-')
            snprintf(names[n++], NAME_MAX + 1, "%s", name);
    }
    closedir(d);
    qsort(names, n, sizeof names[0], compare_names);
    return n;
}

static int list_lessons(const char *dir)
{
    static char names[100][NAME_MAX + 1];
    size_t n = lesson_folders(dir, names, 100);
    if (n == 0) {
        fprintf(stderr, "evlab lesson: no lessons found in %s\n", dir);
        return 1;
    }
    struct lesson_scenario *scenario = malloc(sizeof *scenario);
    if (scenario == NULL)
        return 1;
    printf("Lessons in %s/ (play one with: evlab lesson NN):\n\n", dir);
    int bad = 0;
    for (size_t i = 0; i < n; i++) {
        char path[PATH_MAX], err[512] = "path too long";
        if (!path_join(path, sizeof path, dir, names[i], "scenario.txt") ||
            lesson_scenario_load(path, scenario, err, sizeof err) < 0) {
            printf("  %.2s  %s: cannot be played: %s\n", names[i], names[i] + 3, err);
            bad++;
            continue;
        }
        /* Title and summary on lines of their own: titles vary in length and
         * a column would wrap on a projector's narrow terminal. */
        printf("  %02d  %s\n      %s\n", scenario->number, scenario->title, scenario->summary);
    }
    free(scenario);
    return bad > 0 ? 1 : 0;
}

/* Finds the scenario of lesson `number`: lessons/NN-name/scenario.txt. */
static bool lesson_path(const char *dir, int number, char *out, size_t len)
{
    static char names[100][NAME_MAX + 1];
    size_t n = lesson_folders(dir, names, 100);
    for (size_t i = 0; i < n; i++) {
        if (atoi(names[i]) == number)
            return path_join(out, len, dir, names[i], "scenario.txt");
    }
    return false;
}

/* --- Playing -------------------------------------------------------------- */

static volatile sig_atomic_t plain_stop;

static void on_plain_signal(int signal)
{
    (void)signal;
    plain_stop = 1;
}

static void print_progress(const char *line)
{
    printf("  %s\n", line);
    fflush(stdout);
}

static int play(const struct lesson_scenario *scenario, bool plain, bool check, bool auto_advance,
                bool seed_given, uint64_t seed, const char *record_path)
{
    struct lesson_run *run;
    char err[512];
    if (lesson_run_new(&run, scenario, &children_spawner, seed_given ? seed : scenario->seed, err,
                       sizeof err) < 0) {
        fprintf(stderr, "evlab lesson: %s\n", err);
        return 1;
    }
    if (plain) {
        struct sigaction action = { .sa_handler = on_plain_signal };
        sigemptyset(&action.sa_mask);
        sigaction(SIGINT, &action, NULL);
        sigaction(SIGTERM, &action, NULL);
        signal(SIGPIPE, SIG_IGN);
    } else {
        lesson_player_install_signals();
    }
    printf("evlab lesson %02d: starting %zu server%s\n", scenario->number, scenario->server_count,
           scenario->server_count == 1 ? "" : "s");
    int rc = lesson_run_start_servers(run, print_progress, err, sizeof err);
    if (rc < 0) {
        fprintf(stderr, "evlab lesson: %s\n", err);
        lesson_run_free(run);
        return 1;
    }
    /* --record FILE: a recorder child attached to the servers, stopped
     * before them so the file ends with a last live picture. */
    int recorder = -1;
    if (record_path != NULL) {
        char *names[RECORD_MAX_SERVERS];
        size_t count = scenario->server_count < RECORD_MAX_SERVERS ? scenario->server_count
                                                                   : RECORD_MAX_SERVERS;
        for (size_t i = 0; i < count; i++)
            names[i] = (char *)lesson_run_server_name(run, i);
        recorder = replay_recorder_start(record_path, names, count, err, sizeof err);
        if (recorder < 0) {
            fprintf(stderr, "evlab lesson: --record %s: %s\n", record_path, err);
            lesson_run_free(run);
            demo_children_stop_all(STOP_GRACE_MS);
            return 1;
        }
    }
    int status;
    if (plain) {
        status = lesson_play_plain(run, scenario, check, stdout, stderr, &plain_stop);
    } else {
        status = lesson_player_run(run, scenario, auto_advance, err, sizeof err);
        if (status < 0) {
            fprintf(stderr, "evlab lesson: %s\n", err);
            status = 1;
        }
    }
    replay_recorder_stop(recorder);
    lesson_run_free(run);
    demo_children_stop_all(STOP_GRACE_MS);
    return status;
}

static int validate(int count, char **paths)
{
    struct lesson_scenario *scenario = malloc(sizeof *scenario);
    if (scenario == NULL)
        return 1;
    int bad = 0;
    for (int i = 0; i < count; i++) {
        char err[512];
        if (lesson_scenario_load(paths[i], scenario, err, sizeof err) < 0) {
            fprintf(stderr, "%s\n", err);
            bad++;
        } else {
            printf("%s: lesson %02d, %zu steps, %zu checks: ok\n", paths[i], scenario->number,
                   scenario->step_count, scenario->check_count);
        }
    }
    free(scenario);
    return bad > 0 ? 1 : 0;
}

int cmd_lesson(int argc, char **argv)
{
    enum { OPT_PLAIN = 1000, OPT_CHECK, OPT_AUTO, OPT_SEED, OPT_DIR, OPT_VALIDATE, OPT_RECORD };
    static const struct option options[] = {
        { "plain", no_argument, NULL, OPT_PLAIN },
        { "check", no_argument, NULL, OPT_CHECK },
        { "auto", no_argument, NULL, OPT_AUTO },
        { "seed", required_argument, NULL, OPT_SEED },
        { "dir", required_argument, NULL, OPT_DIR },
        { "validate", no_argument, NULL, OPT_VALIDATE },
        { "record", required_argument, NULL, OPT_RECORD },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    bool plain = false, check = false, auto_advance = false, seed_given = false, only_validate = false;
    uint64_t seed = 0;
    const char *dir = NULL, *record_path = NULL;
    int opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        switch (opt) {
        case OPT_PLAIN: plain = true; break;
        case OPT_CHECK: check = true; break;
        case OPT_AUTO: auto_advance = true; break;
        case OPT_VALIDATE: only_validate = true; break;
        case OPT_DIR: dir = optarg; break;
        case OPT_RECORD: record_path = optarg; break;
        case OPT_SEED:
            if (!cli_parse_u64(optarg, 0, UINT64_MAX / 2, &seed))
                return cli_usage_error("lesson", lesson_usage,
                                       "bad --seed '%s' (expected a whole number)", optarg);
            seed_given = true;
            break;
        case 'h':
            fputs(lesson_usage, stdout);
            return 0;
        default:
            return cli_usage_error("lesson", lesson_usage, "unknown option");
        }
    }
    if (only_validate) {
        if (optind >= argc)
            return cli_usage_error("lesson", lesson_usage, "--validate needs scenario files");
        return validate(argc - optind, argv + optind);
    }
    if (check && !plain)
        return cli_usage_error("lesson", lesson_usage,
                               "--check goes with --plain (it plays the lesson headless)");
    if (auto_advance && plain)
        return cli_usage_error("lesson", lesson_usage,
                               "--auto is for the live view; --plain always runs straight through");
    char found[PATH_MAX];
    if (dir == NULL) {
        if (!find_lessons_dir(found, sizeof found)) {
            fprintf(stderr, "evlab lesson: no lessons/ folder here or beside the program "
                            "(use --dir DIR)\n");
            return 1;
        }
        dir = found;
    } else if (!is_lessons_dir(dir)) {
        fprintf(stderr, "evlab lesson: %s has no FORMAT.md: not a lessons folder\n", dir);
        return 1;
    }
    if (optind == argc)
        return list_lessons(dir);
    if (optind + 1 < argc)
        return cli_usage_error("lesson", lesson_usage, "one lesson at a time, not '%s'",
                               argv[optind + 1]);
    uint64_t number;
    if (!cli_parse_u64(argv[optind], 0, 99, &number))
        return cli_usage_error("lesson", lesson_usage,
                               "expected a lesson number such as 07, not '%s'", argv[optind]);
    char path[PATH_MAX];
    if (!lesson_path(dir, (int)number, path, sizeof path)) {
        fprintf(stderr, "evlab lesson: no lesson %02d in %s (see: evlab lesson)\n", (int)number,
                dir);
        return 1;
    }
    struct lesson_scenario *scenario = malloc(sizeof *scenario);
    if (scenario == NULL)
        return 1;
    char err[512];
    int status;
    if (lesson_scenario_load(path, scenario, err, sizeof err) < 0) {
        fprintf(stderr, "evlab lesson: %s\n", err);
        status = 1;
    } else {
        status = play(scenario, plain, check, auto_advance, seed_given, seed, record_path);
    }
    free(scenario);
    return status;
}
