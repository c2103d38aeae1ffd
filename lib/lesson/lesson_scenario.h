/*
 * lesson_scenario.h — a lesson's scenario file (lessons/FORMAT.md) read
 * into plain data: header, servers, loads, steps, claims.
 *
 * Parsing is separate from playing (lesson_run.h) so that a scenario can
 * be checked without starting anything (`evlab lesson --validate FILE`)
 * and so every rule of the format is unit-tested from strings
 * (tests/unit/test_lesson.c).
 *
 * Errors: lesson_scenario_parse() and lesson_scenario_load() return 0 or
 * a negative errno (-EINVAL for a malformed file, the errno of open/read
 * otherwise) with one line in `err`: "FILE:LINE: what was expected".
 * Ownership: struct lesson_scenario is one plain value (about 150 KiB:
 * allocate it); nothing inside is allocated.
 */
#ifndef EVLAB_LESSON_SCENARIO_H
#define EVLAB_LESSON_SCENARIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lesson/lesson_claim.h"

#define LESSON_NAME_MAX      17       /* server and load names: 16 + NUL */
#define LESSON_TEXT_MAX      240      /* one line of narration */
#define LESSON_LINE_MAX      1000     /* one line of the file */
#define LESSON_MAX_OPTIONS   8
#define LESSON_MAX_SAYS      4
#define LESSON_MAX_OBSERVES  4
#define LESSON_MAX_SHOWS     6
#define LESSON_MAX_CHECKS    8
#define LESSON_PATH_MAX      512

/* One `key=value` (or bare `key`) of a server or load line, already
 * checked against the options the format allows. */
struct lesson_option {
    char key[24];
    char value[LESSON_TEXT_MAX];
    bool has_value;
};

struct lesson_server {
    char name[LESSON_NAME_MAX];
    char model[16];
    struct lesson_option options[LESSON_MAX_OPTIONS];   /* besides model */
    size_t option_count;
    int line;
};

struct lesson_load {
    char name[LESSON_NAME_MAX];
    int server;                   /* index into servers */
    struct lesson_option options[LESSON_MAX_OPTIONS];   /* besides server */
    size_t option_count;
    int line;
};

struct lesson_show {
    struct lesson_expr expr;
    char text[LESSON_TEXT_MAX];   /* the expression as written */
    char label[LESSON_TEXT_MAX];  /* `as LABEL`, or the expression */
};

struct lesson_step {
    char title[LESSON_TEXT_MAX];
    char say[LESSON_MAX_SAYS][LESSON_TEXT_MAX];
    size_t say_count;
    char ask[LESSON_TEXT_MAX];    /* "" when the step poses no prediction */
    char observe[LESSON_MAX_OBSERVES][LESSON_TEXT_MAX];
    size_t observe_count;
    bool start[LESSON_MAX_LOADS], stop[LESSON_MAX_LOADS];
    uint64_t settle_ns, measure_ns;
    struct lesson_show shows[LESSON_MAX_SHOWS];
    size_t show_count;
    int line;
};

struct lesson_check {
    struct lesson_claim claim;
    char text[LESSON_LINE_MAX];
    int line;
};

struct lesson_scenario {
    char path[LESSON_PATH_MAX];
    int number;
    char title[LESSON_TEXT_MAX];
    char summary[LESSON_TEXT_MAX];
    uint64_t seed;
    uint64_t budget_ns;
    struct lesson_server servers[LESSON_MAX_SERVERS];
    size_t server_count;
    struct lesson_load loads[LESSON_MAX_LOADS];
    size_t load_count;
    struct lesson_step steps[LESSON_MAX_STEPS];
    size_t step_count;
    struct lesson_check checks[LESSON_MAX_CHECKS];
    size_t check_count;
};

/* Defaults a step gets when it does not say (lessons/FORMAT.md). */
#define LESSON_DEFAULT_SETTLE_NS   1000000000ull
#define LESSON_DEFAULT_MEASURE_NS  3000000000ull
#define LESSON_DEFAULT_BUDGET_NS   10000000ull

/* Parses the text of a scenario; `path` names it in error messages. */
int lesson_scenario_parse(const char *text, const char *path, struct lesson_scenario *out,
                          char *err, size_t err_len);

/* Reads and parses a file. */
int lesson_scenario_load(const char *path, struct lesson_scenario *out,
                         char *err, size_t err_len);

/* Index of a load or server among the lesson's values (lesson_claim.h
 * targets): servers first, then loads. */
int lesson_target_of_server(size_t server);
int lesson_target_of_load(size_t load);

/* Whether load `load` runs during step `step` (0-based): every start and
 * stop of steps 0..step applied in order. */
bool lesson_load_runs_in_step(const struct lesson_scenario *scenario, size_t load, size_t step);

/* The value of option `key` of a server or load, or NULL. */
const char *lesson_option_get(const struct lesson_option *options, size_t count,
                              const char *key);

#endif
