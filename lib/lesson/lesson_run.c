/*
 * lesson_run.c — playing a scenario on real servers (see lesson_run.h).
 *
 * Design.  The run is a small state machine driven from outside by
 * lesson_run_tick(), so a terminal player can keep reading keys and
 * painting between ticks and a plain player can simply sleep.  All the
 * state a claim needs lives in one table of values (lesson_claim.h),
 * filled a step at a time by lesson_measure.c; nothing else is kept
 * between steps except which loads run.
 *
 * Command lines are built here from the scenario's options, so the
 * scenario format can name `evlab serve` and `evlab load` options one to
 * one (lessons/FORMAT.md) and a lesson runs exactly what a student could
 * type by hand.
 */
#include "lesson/lesson_run.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lesson/lesson_measure.h"
#include "probe/probe_reader.h"
#include "spawn/spawn.h"

#define NS_PER_MS 1000000ull
#define SERVER_START_TIMEOUT_MS 5000
#define STOP_GRACE_MS           2000
/* A load normally publishes itself within milliseconds; on a loaded
 * machine give it this much past the settle time before measuring
 * without it. */
#define LOAD_ATTACH_GRACE_NS    (3000ull * NS_PER_MS)

struct run_server {
    int child;                    /* spawner id, -1 none */
    int port;
    char name[PROBE_NAME_MAX];
};

struct run_load {
    int child;                    /* spawner id, -1 not running */
    char seed[24];
};

struct lesson_run {
    const struct lesson_scenario *scenario;
    struct lesson_spawner spawner;
    uint64_t seed;
    struct run_server servers[LESSON_MAX_SERVERS];
    struct run_load loads[LESSON_MAX_LOADS];
    struct lesson_source sources[LESSON_TARGETS];

    size_t step;
    bool in_step;
    enum lesson_phase phase;
    uint64_t phase_start_ns, phase_end_ns;
    struct lesson_window window;
    bool window_open;
    struct lesson_values values;
    char problem[200];
};

int lesson_run_new(struct lesson_run **out, const struct lesson_scenario *scenario,
                   const struct lesson_spawner *spawner, uint64_t seed,
                   char *err, size_t err_len)
{
    struct lesson_run *run = calloc(1, sizeof *run);
    if (run == NULL) {
        snprintf(err, err_len, "out of memory");
        return -ENOMEM;
    }
    run->scenario = scenario;
    run->spawner = *spawner;
    run->seed = seed;
    for (size_t i = 0; i < LESSON_MAX_SERVERS; i++)
        run->servers[i].child = -1;
    for (size_t i = 0; i < LESSON_MAX_LOADS; i++)
        run->loads[i].child = -1;
    for (size_t i = 0; i < LESSON_TARGETS; i++)
        run->sources[i].server = -1;
    *out = run;
    return 0;
}

static void detach(struct lesson_source *source)
{
    probe_reader_close(source->reader);
    source->reader = NULL;
}

static void stop_load(struct lesson_run *run, size_t load)
{
    struct run_load *l = &run->loads[load];
    detach(&run->sources[lesson_target_of_load(load)]);
    if (l->child >= 0)
        run->spawner.stop(run->spawner.context, l->child, STOP_GRACE_MS);
    l->child = -1;
}

void lesson_run_free(struct lesson_run *run)
{
    if (run == NULL)
        return;
    if (run->window_open)
        lesson_window_discard(&run->window);
    /* Loads first, so no client is left pointing at a stopped server. */
    for (size_t i = 0; i < LESSON_MAX_LOADS; i++)
        stop_load(run, i);
    for (size_t i = 0; i < LESSON_MAX_SERVERS; i++) {
        detach(&run->sources[lesson_target_of_server(i)]);
        if (run->servers[i].child >= 0)
            run->spawner.stop(run->spawner.context, run->servers[i].child, STOP_GRACE_MS);
    }
    free(run);
}

/* Appends "--key" and, when it has one, its value to argv. */
static void push_option(char **argv, size_t *n, size_t max, const struct lesson_option *o,
                        char flags[][32])
{
    if (*n + 2 >= max)
        return;
    snprintf(flags[*n], sizeof flags[*n], "--%s", o->key);
    argv[*n] = flags[*n];
    (*n)++;
    if (o->has_value)
        argv[(*n)++] = (char *)o->value;
}

static int start_server(struct lesson_run *run, size_t i, char *err, size_t err_len)
{
    const struct lesson_server *server = &run->scenario->servers[i];
    struct run_server *s = &run->servers[i];
    snprintf(s->name, sizeof s->name, "lesson-%02d-%s-%d", run->scenario->number, server->name,
             (int)getpid());
    char *argv[32];
    char flags[32][32];
    size_t n = 0;
    argv[n++] = "evlab";
    argv[n++] = "serve";
    argv[n++] = "--model";
    argv[n++] = (char *)server->model;
    argv[n++] = "--port";
    argv[n++] = "0";
    argv[n++] = "--name";
    argv[n++] = s->name;
    for (size_t o = 0; o < server->option_count; o++)
        push_option(argv, &n, 30, &server->options[o], flags);
    argv[n] = NULL;

    int child = run->spawner.start(run->spawner.context, server->name, argv, err, err_len);
    if (child < 0)
        return child;
    s->child = child;
    char line[512] = "";
    int rc = run->spawner.first_line(run->spawner.context, child, line, sizeof line,
                                     SERVER_START_TIMEOUT_MS);
    int port = rc < 0 ? rc : spawn_listening_port(line);
    if (port < 0) {
        snprintf(err, err_len, "server '%s' did not start: %s", server->name,
                 line[0] ? line : rc == -ETIMEDOUT ? "no answer within 5 s" : "it exited");
        return port;
    }
    s->port = port;
    struct lesson_source *source = &run->sources[lesson_target_of_server(i)];
    rc = probe_reader_open(&source->reader, s->name, err, err_len);
    if (rc < 0)
        return rc;
    source->pid = run->spawner.pid(run->spawner.context, child);
    source->is_loop = strcmp(server->model, "loop") == 0;
    return 0;
}

int lesson_run_start_servers(struct lesson_run *run, void (*progress)(const char *line),
                             char *err, size_t err_len)
{
    for (size_t i = 0; i < run->scenario->server_count; i++) {
        int rc = start_server(run, i, err, err_len);
        if (rc < 0)
            return rc;
        if (progress != NULL) {
            char line[160];
            snprintf(line, sizeof line, "server %-8s %-8s on 127.0.0.1:%d, pid %d",
                     run->scenario->servers[i].name, run->scenario->servers[i].model,
                     run->servers[i].port, run->sources[i].pid);
            progress(line);
        }
    }
    return 0;
}

const char *lesson_run_server_name(const struct lesson_run *run, size_t server)
{
    return server < LESSON_MAX_SERVERS ? run->servers[server].name : "";
}

static int start_load(struct lesson_run *run, size_t i, char *err, size_t err_len)
{
    const struct lesson_load *load = &run->scenario->loads[i];
    struct run_load *l = &run->loads[i];
    char target[64];
    snprintf(target, sizeof target, "127.0.0.1:%d", run->servers[load->server].port);
    snprintf(l->seed, sizeof l->seed, "%llu", (unsigned long long)(run->seed + i));
    /* evlab load's own names for the format's options. */
    static const struct { const char *key, *flag; } flags[] = {
        { "connections", "-c" }, { "rate", "-R" }, { "pipeline", "-p" }, { "mix", "--mix" },
        { "idle", "--idle" }, { "no-read", "--no-read" }, { "timeout", "--timeout" },
    };
    char *argv[32];
    size_t n = 0;
    argv[n++] = "evlab";
    argv[n++] = "load";
    argv[n++] = "--quiet";
    argv[n++] = "--warmup";
    argv[n++] = "0";
    argv[n++] = "-d";
    argv[n++] = "24h";
    argv[n++] = "--seed";
    argv[n++] = l->seed;
    for (size_t o = 0; o < load->option_count && n < 28; o++) {
        const struct lesson_option *option = &load->options[o];
        for (size_t f = 0; f < sizeof flags / sizeof flags[0]; f++) {
            if (strcmp(flags[f].key, option->key) != 0)
                continue;
            argv[n++] = (char *)flags[f].flag;
            if (option->has_value)
                argv[n++] = (char *)option->value;
        }
    }
    argv[n++] = target;
    argv[n] = NULL;
    int child = run->spawner.start(run->spawner.context, load->name, argv, err, err_len);
    if (child < 0)
        return child;
    l->child = child;
    struct lesson_source *source = &run->sources[lesson_target_of_load(i)];
    source->server = load->server;
    return 0;
}

/* Attaches to a running load's segment once it has published it. */
static bool attach_load(struct lesson_run *run, size_t i)
{
    struct lesson_source *source = &run->sources[lesson_target_of_load(i)];
    if (run->loads[i].child < 0)
        return true;
    if (source->reader != NULL)
        return true;
    char name[PROBE_NAME_MAX];
    snprintf(name, sizeof name, "load-%d-%d", run->servers[run->scenario->loads[i].server].port,
             run->spawner.pid(run->spawner.context, run->loads[i].child));
    return probe_reader_open(&source->reader, name, NULL, 0) == 0;
}

int lesson_run_enter_step(struct lesson_run *run, size_t step, uint64_t now_ns,
                          char *err, size_t err_len)
{
    const struct lesson_scenario *sc = run->scenario;
    if (step >= sc->step_count) {
        snprintf(err, err_len, "no step %zu", step + 1);
        return -EINVAL;
    }
    if (run->window_open) {
        lesson_window_discard(&run->window);
        run->window_open = false;
    }
    for (size_t i = 0; i < sc->load_count; i++) {
        bool want = lesson_load_runs_in_step(sc, i, step);
        /* A load the step stops and starts again is restarted. */
        bool restart = sc->steps[step].stop[i] && sc->steps[step].start[i];
        if (run->loads[i].child >= 0 && (!want || restart))
            stop_load(run, i);
        if (want && run->loads[i].child < 0) {
            int rc = start_load(run, i, err, err_len);
            if (rc < 0)
                return rc;
        }
    }
    run->values.measured[step] = false;
    run->step = step;
    run->in_step = true;
    run->phase = LESSON_PHASE_SETTLING;
    run->phase_start_ns = now_ns;
    run->phase_end_ns = now_ns + sc->steps[step].settle_ns;
    run->problem[0] = '\0';
    return 0;
}

/* Notices children that died: a lesson that measures a dead server
 * would report nonsense. */
static void check_children(struct lesson_run *run)
{
    const struct lesson_scenario *sc = run->scenario;
    for (size_t i = 0; i < sc->server_count; i++)
        if (run->servers[i].child >= 0 &&
            !run->spawner.running(run->spawner.context, run->servers[i].child))
            snprintf(run->problem, sizeof run->problem, "server '%s' exited",
                     sc->servers[i].name);
    for (size_t i = 0; i < sc->load_count; i++)
        if (run->loads[i].child >= 0 &&
            !run->spawner.running(run->spawner.context, run->loads[i].child))
            snprintf(run->problem, sizeof run->problem, "load '%s' exited", sc->loads[i].name);
}

void lesson_run_tick(struct lesson_run *run, uint64_t now_ns)
{
    if (run->spawner.poll != NULL)
        run->spawner.poll(run->spawner.context);
    if (!run->in_step)
        return;
    check_children(run);
    const struct lesson_step *step = &run->scenario->steps[run->step];
    bool attached = true;
    for (size_t i = 0; i < run->scenario->load_count; i++)
        attached = attach_load(run, i) && attached;

    switch (run->phase) {
    case LESSON_PHASE_SETTLING:
        if (now_ns < run->phase_end_ns ||
            (!attached && now_ns < run->phase_end_ns + LOAD_ATTACH_GRACE_NS))
            return;
        if (lesson_window_begin(&run->window, run->sources, run->scenario->budget_ns,
                                now_ns) < 0) {
            snprintf(run->problem, sizeof run->problem, "out of memory for the measurement");
            lesson_window_discard(&run->window);
            return;
        }
        run->window_open = true;
        run->phase = LESSON_PHASE_MEASURING;
        run->phase_start_ns = now_ns;
        run->phase_end_ns = now_ns + step->measure_ns;
        return;
    case LESSON_PHASE_MEASURING:
        if (now_ns < run->phase_end_ns) {
            lesson_window_sample(&run->window, run->sources, now_ns);
            return;
        }
        lesson_window_end(&run->window, run->sources, now_ns, &run->values, run->step);
        run->window_open = false;
        run->phase = LESSON_PHASE_MEASURED;
        return;
    case LESSON_PHASE_MEASURED:
        return;
    }
}

size_t lesson_run_step(const struct lesson_run *run)
{
    return run->step;
}

enum lesson_phase lesson_run_phase(const struct lesson_run *run)
{
    return run->phase;
}

uint64_t lesson_run_phase_left_ns(const struct lesson_run *run, uint64_t now_ns)
{
    if (run->phase == LESSON_PHASE_MEASURED || now_ns >= run->phase_end_ns)
        return 0;
    return run->phase_end_ns - now_ns;
}

const struct lesson_values *lesson_run_values(const struct lesson_run *run)
{
    return &run->values;
}

void lesson_run_show_text(const struct lesson_run *run, size_t step, size_t index,
                          char *buf, size_t len)
{
    const struct lesson_show *show = &run->scenario->steps[step].shows[index];
    if (!run->values.measured[step]) {
        snprintf(buf, len, "%s: measuring...", show->label);
        return;
    }
    double value;
    enum lesson_unit unit;
    char why[160], text[48];
    if (lesson_expr_eval(&show->expr, &run->values, (int)step + 1, &value, &unit, why,
                         sizeof why) < 0) {
        snprintf(buf, len, "%s: %s", show->label, why);
        return;
    }
    lesson_value_format(value, unit, text, sizeof text);
    snprintf(buf, len, "%s: %s", show->label, text);
}

const char *lesson_run_problem(const struct lesson_run *run)
{
    return run->problem;
}
