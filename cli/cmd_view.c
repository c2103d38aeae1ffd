/*
 * cmd_view.c — `evlab view [NAME...]`: attach to running instrumented
 * servers and watch them live, one pane each (viz/view_app.h), or print
 * the same panes once as plain text (--once --plain) for scripts.
 *
 * This file only parses options and wires the layers together:
 * view_source (reading), view_model (numbers), view_text (lines) and,
 * for the live view, view_app (keys and painting).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli_util.h"
#include "cmd_view_replay.h"
#include "commands.h"
#include "common/clock.h"
#include "probe/probe_reader.h"
#include "view_app.h"
#include "view_source.h"
#include "view_terminal.h"
#include "view_text.h"

/* How long --once collects before printing: rates and windows need two
 * snapshots some time apart. */
#define VIEW_ONCE_COLLECT_MS 1000

static const char view_usage[] =
    "usage: evlab view [options] [NAME...]\n"
    "\n"
    "Watches running evlab servers live, one pane per server, side by side\n"
    "(stacked when the terminal is narrow).  NAME is an instrumentation name\n"
    "from 'evlab list'; with no NAME, every running server (up to 8).\n"
    "\n"
    "Each pane shows: queued events (what they are made of for that model),\n"
    "ready events (poll() results for the loop, connections being served\n"
    "otherwise), handler runtime (histogram, percentiles, the longest handler\n"
    "running now; past the budget the pane says in red that the loop is\n"
    "blocked), what every thread is doing, and the newest events.\n"
    "\n"
    "Keys: q quit, p pause, <- -> space step through recorded events while\n"
    "paused, tab focus, z zoom, ? help, + - refresh rate.\n"
    "\n"
    "  --budget MS      handler time that counts as blocking (default 10)\n"
    "  --refresh HZ     refreshes per second, 1..60 (default 10)\n"
    "  --once           collect for one second, print the panes, exit\n"
    "  --plain          text instead of the terminal UI (with --once: once;\n"
    "                   without: a frame per second until --duration or ^C)\n"
    "  --width N        columns of --plain output (default 100)\n"
    "  --duration D     stop after D (e.g. 30s)\n"
    "  --report         on exit, print refreshes/s and events read to stderr\n"
    "  --replay FILE    replay a recording made by 'evlab record' instead\n"
    "                   (no server needed; keys: ? in the view)\n"
    "  --at T           with --replay: start at T seconds into the recording, or\n"
    "                   'blocked' (the first blocked-loop moment), 'blocked:N'\n"
    "  -h, --help\n";

struct view_args {
    struct view_app_config app;
    bool once, plain, report;
    uint64_t width;
    const char *replay, *at;      /* --replay FILE, --at T */
    char *names[VIEW_MAX_SERVERS];
    char name_storage[VIEW_MAX_SERVERS][PROBE_NAME_MAX];
    size_t name_count;
};

static int parse_args(int argc, char **argv, struct view_args *args)
{
    static const struct option options[] = {
        { "budget", required_argument, NULL, 'b' },
        { "refresh", required_argument, NULL, 'r' },
        { "once", no_argument, NULL, 'o' },
        { "plain", no_argument, NULL, 'P' },
        { "width", required_argument, NULL, 'w' },
        { "duration", required_argument, NULL, 'd' },
        { "report", no_argument, NULL, 'R' },
        { "replay", required_argument, NULL, 'Y' },
        { "at", required_argument, NULL, 'A' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    view_options_init(&args->app.options);
    args->app.refresh_hz = VIEW_DEFAULT_REFRESH_HZ;
    args->width = 100;
    uint64_t value;
    int opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        switch (opt) {
        case 'b':
            if (!cli_parse_u64(optarg, 1, 600000, &value))
                return cli_usage_error("view", view_usage, "--budget wants 1..600000 ms, not '%s'",
                                       optarg);
            args->app.options.budget_ns = clock_ms_to_ns(value);
            break;
        case 'r':
            if (!cli_parse_u64(optarg, 1, VIEW_MAX_REFRESH_HZ, &value))
                return cli_usage_error("view", view_usage, "--refresh wants 1..%d Hz, not '%s'",
                                       VIEW_MAX_REFRESH_HZ, optarg);
            args->app.refresh_hz = (unsigned)value;
            break;
        case 'o':
            args->once = true;
            break;
        case 'P':
            args->plain = true;
            break;
        case 'w':
            if (!cli_parse_u64(optarg, VIEW_MIN_PANE_COLS, 300, &args->width))
                return cli_usage_error("view", view_usage, "--width wants %d..300, not '%s'",
                                       VIEW_MIN_PANE_COLS, optarg);
            break;
        case 'd':
            if (!cli_parse_duration(optarg, &args->app.duration_ns) ||
                args->app.duration_ns == 0)
                return cli_usage_error("view", view_usage, "bad --duration '%s'", optarg);
            break;
        case 'R':
            args->report = true;
            break;
        case 'Y':
            args->replay = optarg;
            break;
        case 'A':
            args->at = optarg;
            break;
        case 'h':
            fputs(view_usage, stdout);
            return -1;
        default:
            return cli_usage_error("view", view_usage, "unknown option");
        }
    }
    if (args->once)
        args->plain = true;
    if (args->at != NULL && args->replay == NULL)
        return cli_usage_error("view", view_usage, "--at goes with --replay FILE");
    if (args->replay != NULL && optind < argc)
        return cli_usage_error("view", view_usage, "--replay takes no server NAME");
    for (int i = optind; i < argc; i++) {
        if (args->name_count == VIEW_MAX_SERVERS)
            return cli_usage_error("view", view_usage, "at most %d servers", VIEW_MAX_SERVERS);
        args->names[args->name_count++] = argv[i];
    }
    return 0;
}

/* No NAME: every live server `evlab list` would show. */
static int find_all_servers(struct view_args *args)
{
    struct probe_info found[VIEW_MAX_SERVERS * 4];
    int total = probe_list(found, sizeof found / sizeof found[0]);
    if (total < 0)
        return total;
    size_t stored = (size_t)total < sizeof found / sizeof found[0] ? (size_t)total
                                                                    : sizeof found / sizeof found[0];
    for (size_t i = 0; i < stored && args->name_count < VIEW_MAX_SERVERS; i++) {
        if (!found[i].alive)
            continue;
        snprintf(args->name_storage[args->name_count], PROBE_NAME_MAX, "%s", found[i].name);
        args->names[args->name_count] = args->name_storage[args->name_count];
        args->name_count++;
    }
    return 0;
}

/* One frame of every pane as plain text: "== NAME" then its lines. */
static void print_plain(struct view_source *source, const struct view_args *args)
{
    struct view_pane *pane = malloc(sizeof *pane);
    struct view_line *lines = malloc(200 * sizeof *lines);
    if (pane == NULL || lines == NULL) {
        free(pane);
        free(lines);
        return;
    }
    for (size_t i = 0; i < view_source_count(source); i++) {
        view_build_live(view_source_tracker(source, i), view_source_history(source, i),
                        &args->app.options, pane);
        size_t n = view_text_pane(pane, (size_t)args->width, 200, VIEW_CHARSET_ASCII, lines, 200);
        printf("== %s\n", pane->name);
        for (size_t j = 0; j < n; j++)
            printf("%s\n", lines[j].text);
        printf("\n");
    }
    fflush(stdout);
    free(pane);
    free(lines);
}

/* Collects for `ms` milliseconds at the live view's own drain rhythm. */
static void collect(struct view_source *source, unsigned ms)
{
    view_source_sample(source);
    for (unsigned waited = 0; waited < ms; waited += VIEW_DRAIN_INTERVAL_MS) {
        if (view_terminal_quit_requested(NULL))
            return;
        view_source_drain(source);
        clock_sleep_ms(VIEW_DRAIN_INTERVAL_MS);
    }
    view_source_drain(source);
    view_source_sample(source);
}

static int run_plain(struct view_source *source, const struct view_args *args)
{
    view_terminal_install_signals();
    if (args->once) {
        collect(source, VIEW_ONCE_COLLECT_MS);
        print_plain(source, args);
        /* A pane that could not be read (another layout version) is an
         * error a script should notice, though the others were printed. */
        for (size_t i = 0; i < view_source_count(source); i++)
            if (view_source_tracker(source, i)->status == VIEW_STATUS_ERROR)
                return 1;
        return 0;
    }
    uint64_t start = clock_now_ns();
    while (!view_terminal_quit_requested(NULL)) {
        collect(source, 1000);
        print_plain(source, args);
        if (args->app.duration_ns != 0 && clock_now_ns() - start >= args->app.duration_ns)
            break;
    }
    return 0;
}

int cmd_view(int argc, char **argv)
{
    struct view_args args;
    memset(&args, 0, sizeof args);
    int rc = parse_args(argc, argv, &args);
    if (rc != 0)
        return rc < 0 ? 0 : rc;
    if (args.replay != NULL)
        return cmd_view_replay(args.replay, args.at, args.plain, (size_t)args.width, args.report,
                               &args.app);
    if (args.name_count == 0) {
        if (find_all_servers(&args) < 0 || args.name_count == 0) {
            fprintf(stderr, "evlab view: no running evlab server found (start one with "
                            "'evlab serve', or try 'evlab demo')\n");
            return 1;
        }
    }

    char err[256] = "";
    struct view_source *source;
    rc = view_source_open(&source, args.names, args.name_count, err, sizeof err);
    if (rc < 0) {
        fprintf(stderr, "evlab view: %s\n", err);
        return 1;
    }
    if (args.plain) {
        rc = run_plain(source, &args);
        view_source_close(source);
        return rc;
    }

    struct view_app_stats stats;
    rc = view_app_run(source, &args.app, NULL, &stats, err, sizeof err);
    view_source_close(source);
    if (rc < 0) {
        fprintf(stderr, "evlab view: %s\n", err);
        return 1;
    }
    if (args.report) {
        double seconds = (double)stats.elapsed_ns / 1e9;
        fprintf(stderr, "evlab view: %llu refreshes in %.1f s (%.1f/s), %llu events read "
                        "(%.0f/s)\n",
                (unsigned long long)stats.paints, seconds,
                seconds > 0 ? (double)stats.paints / seconds : 0.0,
                (unsigned long long)stats.events,
                seconds > 0 ? (double)stats.events / seconds : 0.0);
    }
    /* Ended by a signal: say so in the exit status, as a shell expects. */
    return stats.quit_signal != 0 ? 128 + stats.quit_signal : 0;
}
