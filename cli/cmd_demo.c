/*
 * cmd_demo.c — `evlab demo`: the README's main command (and `make demo`).
 * Parses options and hands over to viz/demo_run.h, which starts the three
 * models, the load and the live view, and stops everything on the way out.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli_util.h"
#include "commands.h"
#include "demo_run.h"
#include "common/clock.h"

static const char demo_usage[] =
    "usage: evlab demo [options]\n"
    "\n"
    "Starts the three server models (blocking, thread per connection, event\n"
    "loop) on ephemeral ports of 127.0.0.1, puts the same load on each, and\n"
    "shows them side by side in the live view (see 'evlab view --help' for\n"
    "its keys).  The status line says what the load is doing; these keys\n"
    "change it:\n"
    "\n"
    "  1  steady          200 req/s of GET /\n"
    "  2  slow backend    1 in 10 requests waits 100 ms (/sleep/100)\n"
    "  3  CPU burst       1 in 10 requests computes 30 ms (/cpu/30)\n"
    "  4  blocking call   3 in 100 requests sleep 200 ms inside the handler\n"
    "  t  tour            a new pattern every 15 s (the default)\n"
    "  c  add / remove CPU-bound requests      s  add / remove slow clients\n"
    "\n"
    "Quitting (q, Ctrl-C) stops every process the demo started.\n"
    "\n"
    "  --duration D     end by itself after D (e.g. 30s) and print a summary\n"
    "                   table of the three models (printed on q as well)\n"
    "  --pattern N      start with pattern N (1-4) instead of the tour\n"
    "  --no-load        start the servers and the view only\n"
    "  --budget MS      handler time that counts as blocking (default 10)\n"
    "  --refresh HZ     view refreshes per second (default 10)\n"
    "  --backend B      the loop model's backend: poll or epoll\n"
    "  --record FILE    also record the run (evlab view --replay FILE later)\n"
    "  -h, --help\n";

/* Parses the command line into *args, the way every evlab command does
 * (cli/cmd_view.c's parse_args is the model): options are parsed into
 * locals and handed back only when all of them were good.  Returns 0 to
 * go on, -1 when --help was printed (exit 0), or the exit status of a
 * usage error that was printed. */
static int parse_args(int argc, char **argv, struct demo_config *args)
{
    static const struct option options[] = {
        { "duration", required_argument, NULL, 'd' },
        { "pattern", required_argument, NULL, 'p' },
        { "no-load", no_argument, NULL, 'n' },
        { "budget", required_argument, NULL, 'b' },
        { "refresh", required_argument, NULL, 'r' },
        { "backend", required_argument, NULL, 'B' },
        { "record", required_argument, NULL, 'R' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    struct demo_config config;
    memset(&config, 0, sizeof config);
    view_options_init(&config.app.options);
    config.app.refresh_hz = VIEW_DEFAULT_REFRESH_HZ;
    config.pattern = -1;
    uint64_t value;
    int opt;
    optind = 1;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
        switch (opt) {
        case 'd':
            if (!cli_parse_duration(optarg, &config.app.duration_ns) ||
                config.app.duration_ns == 0)
                return cli_usage_error("demo", demo_usage, "bad --duration '%s'", optarg);
            break;
        case 'p':
            if (!cli_parse_u64(optarg, 1, 4, &value))
                return cli_usage_error("demo", demo_usage, "--pattern wants 1..4, not '%s'",
                                       optarg);
            config.pattern = (int)value - 1;
            break;
        case 'n':
            config.no_load = true;
            break;
        case 'b':
            if (!cli_parse_u64(optarg, 1, 600000, &value))
                return cli_usage_error("demo", demo_usage, "--budget wants 1..600000 ms, not '%s'",
                                       optarg);
            config.app.options.budget_ns = clock_ms_to_ns(value);
            break;
        case 'r':
            if (!cli_parse_u64(optarg, 1, VIEW_MAX_REFRESH_HZ, &value))
                return cli_usage_error("demo", demo_usage, "--refresh wants 1..%d Hz, not '%s'",
                                       VIEW_MAX_REFRESH_HZ, optarg);
            config.app.refresh_hz = (unsigned)value;
            break;
        case 'B':
            if (strcmp(optarg, "poll") != 0 && strcmp(optarg, "epoll") != 0)
                return cli_usage_error("demo", demo_usage, "--backend wants poll or epoll, not '%s'",
                                       optarg);
            config.backend = optarg;
            break;
        case 'R':
            config.record_path = optarg;
            break;
        case 'h':
            fputs(demo_usage, stdout);
            return -1;
        case ':':
            return cli_usage_error("demo", demo_usage, "option '%s' needs a value", argv[optind - 1]);
        default:
            return cli_usage_error("demo", demo_usage, "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return cli_usage_error("demo", demo_usage, "unexpected argument '%s'", argv[optind]);
    *args = config;
    return 0;
}

int cmd_demo(int argc, char **argv)
{
    struct demo_config config;
    int parsed = parse_args(argc, argv, &config);
    if (parsed != 0)
        return parsed < 0 ? 0 : parsed;
    return demo_run(&config);
}
