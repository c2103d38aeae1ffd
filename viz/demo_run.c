/*
 * demo_run.c — the demo's sequence (see demo_run.h).
 *
 * Design.  A straight line: start servers, attach, start load, hand the
 * terminal to the view with three hooks (tick, key, status), and when the
 * view returns, stop load, summarise, stop servers.  The hooks are the
 * only places the demo runs while the view is up; they never block for
 * long (switching a load pattern waits at most a few milliseconds for the
 * old load generators to exit).
 *
 * The servers are started before the view takes over the terminal, so
 * their startup messages — or a failure — are printed as plain lines.
 */
#include "demo_run.h"

#include <curses.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "demo_children.h"
#include "demo_load.h"
#include "demo_summary.h"
#include "replay_recorder.h"
#include "spawn/spawn.h"
#include "view_source.h"
#include "view_terminal.h"

/* How long a server may take to print its "listening" line. */
#define SERVER_START_TIMEOUT_MS 5000
#define SERVER_STOP_GRACE_MS    2000

static const char *const demo_models[DEMO_SERVERS] = { "blocking", "threads", "loop" };

struct demo {
    const struct demo_config *config;
    int server_children[DEMO_SERVERS];
    char names[DEMO_SERVERS][PROBE_NAME_MAX];
    char targets[DEMO_SERVERS][64];
    struct demo_load load;
    bool load_started;
    uint64_t started_ns;          /* when the view took over */
};

static const char demo_help[] =
    "1-4       load pattern: steady, slow backend, CPU burst, blocking call\n"
    "t         tour: a new pattern every 15 s\n"
    "c         add / remove CPU-bound requests (/cpu/40)\n"
    "s         add / remove 20 slow (idle) clients per server";

/* Starts one server and reads its port from the line it prints. */
static int start_server(struct demo *demo, size_t i)
{
    snprintf(demo->names[i], sizeof demo->names[i], "demo-%s-%d", demo_models[i], (int)getpid());
    char *argv[12];
    size_t n = 0;
    argv[n++] = "evlab";
    argv[n++] = "serve";
    argv[n++] = "--model";
    argv[n++] = (char *)demo_models[i];
    argv[n++] = "--port";
    argv[n++] = "0";
    argv[n++] = "--name";
    argv[n++] = demo->names[i];
    if (demo->config->backend != NULL && strcmp(demo_models[i], "loop") == 0) {
        argv[n++] = "--backend";
        argv[n++] = (char *)demo->config->backend;
    }
    argv[n] = NULL;

    char err[256], line[512];
    int index = demo_child_spawn(demo_models[i], argv, err, sizeof err);
    if (index < 0) {
        fprintf(stderr, "evlab demo: starting the %s server: %s\n", demo_models[i], err);
        return index;
    }
    demo->server_children[i] = index;
    int rc = demo_child_first_line(index, line, sizeof line, SERVER_START_TIMEOUT_MS);
    int port = rc < 0 ? rc : spawn_listening_port(line);
    if (port < 0) {
        fprintf(stderr, "evlab demo: the %s server did not start: %s\n", demo_models[i],
                line[0] ? line : (rc == -ETIMEDOUT ? "no answer within 5 s" : "it exited"));
        return port;
    }
    snprintf(demo->targets[i], sizeof demo->targets[i], "127.0.0.1:%d", port);
    printf("evlab demo: %-8s server on %s, pid %d\n", demo_models[i], demo->targets[i],
           (int)demo_child_get(index)->pid);
    return 0;
}

static bool demo_tick(void *context, uint64_t now_ns)
{
    struct demo *demo = context;
    demo_children_reap();
    for (size_t i = 0; i < DEMO_SERVERS; i++)
        demo_child_drain(demo->server_children[i]);
    if (demo->load_started)
        demo_load_tick(&demo->load, now_ns);
    return true;
}

static bool demo_key(void *context, int key)
{
    struct demo *demo = context;
    if (!demo->load_started)
        return false;
    /* The presenter's clock: a pause (p) also holds the tour. */
    uint64_t now = view_app_presenter_now();
    switch (key) {
    case '1': case '2': case '3': case '4':
        demo_load_select(&demo->load, key - '1', now);
        return true;
    case 't': case 'T':
        demo_load_select(&demo->load, -1, now);
        return true;
    case 'c': case 'C':
        demo_load_toggle_cpu(&demo->load);
        return true;
    case 's': case 'S':
        demo_load_toggle_slow(&demo->load);
        return true;
    default:
        return false;
    }
}

static void demo_status(void *context, char *buf, size_t len)
{
    struct demo *demo = context;
    uint64_t now = view_app_presenter_now();
    size_t used;
    if (demo->config->app.duration_ns != 0) {
        uint64_t elapsed = now - demo->started_ns;
        uint64_t total = demo->config->app.duration_ns;
        used = (size_t)snprintf(buf, len, " ends in %llu s |",
                                (unsigned long long)((total > elapsed ? total - elapsed : 0) /
                                                     1000000000u + 1));
    } else {
        used = 0;
    }
    if (used >= len)
        return;
    if (demo->load_started)
        demo_load_status(&demo->load, now, buf + used, len - used);
    else
        snprintf(buf + used, len - used, " no load (--no-load): drive the servers yourself, "
                                         "e.g. evlab load %s", demo->targets[2]);
}

static void print_summary(struct demo *demo, struct view_source *source, double seconds)
{
    struct demo_summary_column columns[DEMO_SERVERS];
    for (size_t i = 0; i < DEMO_SERVERS; i++)
        demo_summary_column_fill(&columns[i], view_source_tracker(source, i),
                                 demo->load_started ? &demo->load.totals[i] : NULL);
    demo_summary_print(stdout, columns, DEMO_SERVERS, seconds,
                       demo->load_started ? demo->load.patterns_seen : "");
}

int demo_run(const struct demo_config *config)
{
    struct demo demo = { .config = config };
    for (size_t i = 0; i < DEMO_SERVERS; i++)
        demo.server_children[i] = -1;
    view_terminal_install_signals();
    view_terminal_set_crash_hook(demo_children_kill_from_signal);

    for (size_t i = 0; i < DEMO_SERVERS; i++) {
        if (start_server(&demo, i) < 0 || view_terminal_quit_requested(NULL)) {
            demo_children_stop_all(SERVER_STOP_GRACE_MS);
            return 1;
        }
    }
    fflush(stdout);

    char *names[DEMO_SERVERS];
    for (size_t i = 0; i < DEMO_SERVERS; i++)
        names[i] = demo.names[i];
    char err[256];
    struct view_source *source;
    if (view_source_open(&source, names, DEMO_SERVERS, err, sizeof err) < 0) {
        fprintf(stderr, "evlab demo: %s\n", err);
        demo_children_stop_all(SERVER_STOP_GRACE_MS);
        return 1;
    }
    /* --record FILE: the recorder is one more child, started before the
     * load so the recording holds the whole run (replay_recorder.h). */
    int recorder = -1;
    if (config->record_path != NULL) {
        recorder = replay_recorder_start(config->record_path, names, DEMO_SERVERS, err,
                                         sizeof err);
        if (recorder < 0) {
            fprintf(stderr, "evlab demo: --record %s: %s\n", config->record_path, err);
            demo_children_stop_all(SERVER_STOP_GRACE_MS);
            view_source_close(source);
            return 1;
        }
    }
    if (!config->no_load) {
        demo_load_init(&demo.load, demo.targets, DEMO_SERVERS);
        demo_load_select(&demo.load, config->pattern, view_app_presenter_now());
        demo.load_started = true;
    }

    struct view_app_hooks hooks = {
        .context = &demo, .tick = demo_tick, .key = demo_key, .status = demo_status,
        .help_extra = demo_help,
    };
    struct view_app_stats stats;
    demo.started_ns = view_app_presenter_now();
    int rc = view_app_run(source, &config->app, &hooks, &stats, err, sizeof err);

    /* Load first, so its reports cover the same time as the servers'. */
    if (demo.load_started)
        demo_load_stop(&demo.load);
    view_source_sample(source);
    replay_recorder_stop(recorder);       /* before the servers: a last live picture */
    if (rc == 0)
        print_summary(&demo, source, (double)stats.elapsed_ns / 1e9);
    else
        fprintf(stderr, "evlab demo: %s\n", err);
    demo_children_stop_all(SERVER_STOP_GRACE_MS);
    view_source_close(source);
    if (rc < 0)
        return 1;
    return stats.quit_signal != 0 ? 128 + stats.quit_signal : 0;
}
