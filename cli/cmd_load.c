/*
 * cmd_load.c — `evlab load`: parse the options into a struct load_config,
 * find the target, run (lib/load/load_run.c), print the result.
 *
 * This file is only the front door: every decision about sending and
 * measuring lives in lib/load, so `evlab bench` runs exactly the same
 * code.  Ctrl-C ends the run early and still prints what was measured
 * (the handler only sets a flag; the run's tick notices it within 10 ms).
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_util.h"
#include "commands.h"
#include "load/load_config.h"
#include "load/load_progress.h"
#include "load/load_report.h"
#include "load/load_run.h"
#include "loop/loop.h"
#include "probe/probe_reader.h"

static const char load_usage[] =
"usage: evlab load [options] TARGET\n"
"\n"
"Sends HTTP/1.1 requests to TARGET from one thread on evlab's own event\n"
"loop and reports throughput and latency percentiles, like wrk / wrk2.\n"
"\n"
"TARGET   HOST:PORT, PORT (host 127.0.0.1), http://HOST:PORT/PATH, or the\n"
"         instrumentation name of a running evlab server (see evlab list).\n"
"\n"
"Closed loop (default):\n"
"  -c, --connections N   connections, each sending its next request when\n"
"                        the previous reply arrived (default 10, max 100000)\n"
"  -p, --pipeline D      requests in flight per connection (default 1, max 256)\n"
"Open loop:\n"
"  -R, --rate RATE       RATE requests/s in total, on a fixed schedule,\n"
"                        spread over the -c connections.  Latency is\n"
"                        measured from each request's INTENDED send time,\n"
"                        not from when it actually left: if the server\n"
"                        stalls for 500 ms, every request that was due\n"
"                        during the stall reports its wait.  A closed-loop\n"
"                        client instead waits with the server, sends less,\n"
"                        and records the stall once per connection, so its\n"
"                        percentiles understate it (\"coordinated omission\",\n"
"                        the correction wrk2 made popular).\n"
"      --idle            each connection sends one request, then stays open\n"
"                        and idle (to measure what idle connections cost)\n"
"\n"
"  -d, --duration T      measured time (default 10s; 500ms, 10s, 2m ...)\n"
"      --warmup T        load before measuring, not counted (default 1s)\n"
"      --mix MIX         paths and weights, e.g. '/:90,/sleep/100:10'\n"
"                        (default '/'; PATH[:WEIGHT], weight 1..1000000)\n"
"      --connect-timeout T   give up a connect after T (default 2s)\n"
"      --timeout T       give up a request after T without its reply; the\n"
"                        connection is closed and reopened (default 5s)\n"
"      --backend B       event loop backend: epoll (default) or poll\n"
"      --seed N          seed of the --mix choices (default 1): same seed,\n"
"                        same sequence of paths\n"
"      --json            print the result as one JSON object (see below)\n"
"  -q, --quiet           no progress line\n"
"  -h, --help            this text\n"
"\n"
"Output: requests, req/s, latency p50/p90/p99/p99.9/max, errors by kind\n"
"(connect refused, connect timeout, timeout, reset, bad status = not\n"
"2xx/3xx, short read = closed before the whole reply, bad response).\n"
"Latencies come from a log-linear histogram: each reported value is\n"
"within 3.125% (1/32) of the true one.  A reply counts if it arrives in\n"
"the measured window.  Progress goes to stderr: one line redrawn in\n"
"place on a terminal, a plain line per second otherwise.\n"
"\n"
"--json fields: target, mode (closed|open|idle), connections, pipeline,\n"
"rate, duration_s, warmup_s, elapsed_s, requests, requests_per_sec,\n"
"bytes_read, latency_ns {min, mean, p50, p90, p99, p99_9, max},\n"
"latency_from (send|intended), latency_relative_error, errors {total,\n"
"connect_refused, connect_timeout, connect_other, timeout, reset,\n"
"bad_status, short_read, bad_response}, status {2xx, 3xx, 4xx, 5xx,\n"
"other}, unsent (open loop: due but never sent), unanswered (sent, no\n"
"reply by the end; not in the percentiles), unanswered_oldest_ns,\n"
"connects, max_open, interrupted, mix [{path, weight, requests}].\n"
"\n"
"Many connections: the soft descriptor limit is raised to the hard one\n"
"when needed (10,000 connections need ~10,032 descriptors).\n"
"Exit status: 0 when the run completed (whatever its errors), 1 when it\n"
"could not start, 2 for a usage error.\n"
"\n"
"Examples:\n"
"  evlab load -c 100 -d 10s 127.0.0.1:8080\n"
"  evlab load -R 2000 -c 50 --mix '/:90,/sleep/100:10' loop-1234\n";

static volatile sig_atomic_t load_interrupted;

static void on_sigint(int sig)
{
    (void)sig;
    load_interrupted = 1;
}

/* Fills host and port from TARGET; a URL's path becomes the default mix. */
static int target_setup(struct load_config *cfg, const char *text, bool mix_given)
{
    char err[256], path[LOAD_MAX_PATH + 1];
    int rc = load_target_split(text, cfg->host, sizeof cfg->host, &cfg->port,
                               path, sizeof path, err, sizeof err);

    if (rc == -ENOENT) {
        /* No port: is it the name of a running evlab server? */
        struct probe_reader *reader;
        rc = probe_reader_open(&reader, text, err, sizeof err);
        if (rc < 0) {
            fprintf(stderr, "evlab load: '%s' is neither HOST:PORT nor a running evlab server: %s\n",
                    text, err);
            return CLI_EXIT_USAGE;
        }
        cfg->port = probe_reader_info(reader)->port;
        snprintf(cfg->host, sizeof cfg->host, "127.0.0.1");
        probe_reader_close(reader);
        if (cfg->port <= 0) {
            fprintf(stderr, "evlab load: server '%s' has not published a port\n", text);
            return 1;
        }
    } else if (rc < 0) {
        return cli_usage_error("load", load_usage, "%s", err);
    }
    if (path[0] != '\0' && !mix_given) {
        rc = load_mix_parse(path, &cfg->mix, err, sizeof err);
        if (rc < 0)
            return cli_usage_error("load", load_usage, "%s", err);
    }
    if (load_target_resolve(cfg, err, sizeof err) < 0) {
        fprintf(stderr, "evlab load: %s\n", err);
        return 1;
    }
    return 0;
}

static bool backend_known(const char *name)
{
    for (const char *const *b = loop_backend_names; *b != NULL; b++)
        if (strcmp(*b, name) == 0)
            return true;
    return false;
}

enum {
    OPT_WARMUP = 1000, OPT_MIX, OPT_CONNECT_TIMEOUT, OPT_TIMEOUT, OPT_JSON,
    OPT_IDLE, OPT_BACKEND, OPT_SEED,
};

/* What the command line asked for. */
struct load_args {
    struct load_config cfg;
    bool json, quiet, mix_given;
    const char *target;
};

/* Parses the command line into *args, the way every evlab command does
 * (cli/cmd_view.c's parse_args is the model): options are parsed into
 * locals and handed back only when all of them were good.  Returns 0 to
 * go on, -1 when --help was printed (exit 0), or the exit status of a
 * usage error that was printed. */
static int parse_args(int argc, char **argv, struct load_args *args)
{
    static const struct option options[] = {
        { "connections", required_argument, NULL, 'c' },
        { "pipeline", required_argument, NULL, 'p' },
        { "rate", required_argument, NULL, 'R' },
        { "duration", required_argument, NULL, 'd' },
        { "warmup", required_argument, NULL, OPT_WARMUP },
        { "mix", required_argument, NULL, OPT_MIX },
        { "connect-timeout", required_argument, NULL, OPT_CONNECT_TIMEOUT },
        { "timeout", required_argument, NULL, OPT_TIMEOUT },
        { "json", no_argument, NULL, OPT_JSON },
        { "idle", no_argument, NULL, OPT_IDLE },
        { "backend", required_argument, NULL, OPT_BACKEND },
        { "seed", required_argument, NULL, OPT_SEED },
        { "quiet", no_argument, NULL, 'q' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    struct load_config cfg;
    bool json = false, quiet = false, mix_given = false;
    char err[512];
    uint64_t v;
    int opt;

    load_config_defaults(&cfg);
    optind = 1;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":c:p:R:d:qh", options, NULL)) != -1) {
        switch (opt) {
        case 'c':
            if (!cli_parse_u64(optarg, 1, LOAD_MAX_CONNECTIONS, &v))
                return cli_usage_error("load", load_usage,
                                       "bad --connections '%s' (expected 1..%d)", optarg,
                                       LOAD_MAX_CONNECTIONS);
            cfg.connections = (uint32_t)v;
            break;
        case 'p':
            if (!cli_parse_u64(optarg, 1, LOAD_MAX_PIPELINE, &v))
                return cli_usage_error("load", load_usage,
                                       "bad --pipeline '%s' (expected 1..%d)", optarg,
                                       LOAD_MAX_PIPELINE);
            cfg.pipeline = (uint32_t)v;
            break;
        case 'R':
            if (!cli_parse_u64(optarg, 1, LOAD_MAX_RATE, &v))
                return cli_usage_error("load", load_usage,
                                       "bad --rate '%s' (expected requests/s, 1..%d)", optarg,
                                       LOAD_MAX_RATE);
            cfg.mode = LOAD_OPEN;
            cfg.rate = v;
            break;
        case 'd':
            if (!cli_parse_duration(optarg, &cfg.duration_ns) || cfg.duration_ns == 0)
                return cli_usage_error("load", load_usage,
                                       "bad --duration '%s' (e.g. 500ms, 10s, 2m)", optarg);
            break;
        case OPT_WARMUP:
            if (!cli_parse_duration(optarg, &cfg.warmup_ns))
                return cli_usage_error("load", load_usage,
                                       "bad --warmup '%s' (e.g. 0, 500ms, 2s)", optarg);
            break;
        case OPT_MIX:
            if (load_mix_parse(optarg, &cfg.mix, err, sizeof err) < 0)
                return cli_usage_error("load", load_usage, "%s", err);
            mix_given = true;
            break;
        case OPT_CONNECT_TIMEOUT:
            if (!cli_parse_duration(optarg, &cfg.connect_timeout_ns) || cfg.connect_timeout_ns == 0)
                return cli_usage_error("load", load_usage,
                                       "bad --connect-timeout '%s' (e.g. 500ms, 2s)", optarg);
            break;
        case OPT_TIMEOUT:
            if (!cli_parse_duration(optarg, &cfg.timeout_ns) || cfg.timeout_ns == 0)
                return cli_usage_error("load", load_usage,
                                       "bad --timeout '%s' (e.g. 500ms, 5s)", optarg);
            break;
        case OPT_JSON:
            json = true;
            break;
        case OPT_IDLE:
            cfg.idle = true;
            break;
        case OPT_SEED:
            if (!cli_parse_u64(optarg, 0, UINT64_MAX, &cfg.seed))
                return cli_usage_error("load", load_usage,
                                       "bad --seed '%s' (expected a whole number)", optarg);
            break;
        case OPT_BACKEND:
            if (!backend_known(optarg))
                return cli_usage_error("load", load_usage,
                                       "unknown --backend '%s' (expected poll or epoll)", optarg);
            cfg.backend = optarg;
            break;
        case 'q':
            quiet = true;
            break;
        case 'h':
            fputs(load_usage, stdout);
            return -1;
        case ':':
            return cli_usage_error("load", load_usage, "option '%s' needs a value",
                                   argv[optind - 1]);
        default:
            return cli_usage_error("load", load_usage, "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind + 1 != argc)
        return cli_usage_error("load", load_usage, optind == argc ? "missing TARGET"
                                                                  : "more than one TARGET");
    if (cfg.idle && cfg.mode == LOAD_OPEN)
        return cli_usage_error("load", load_usage, "--idle and --rate do not go together");
    args->cfg = cfg;
    args->json = json;
    args->quiet = quiet;
    args->mix_given = mix_given;
    args->target = argv[optind];
    return 0;
}

int cmd_load(int argc, char **argv)
{
    struct load_args args;
    char err[512];
    memset(&args, 0, sizeof args);
    int rc = parse_args(argc, argv, &args);
    if (rc != 0)
        return rc < 0 ? 0 : rc;
    struct load_config cfg = args.cfg;
    bool json = args.json, quiet = args.quiet;
    rc = target_setup(&cfg, args.target, args.mix_given);
    if (rc != 0)
        return rc;

    struct load_progress_printer printer;
    load_progress_printer_init(&printer, stderr);
    struct load_run_options run_options = {
        .progress = quiet ? NULL : load_progress_print,
        .progress_data = &printer,
        .progress_interval_ms = load_progress_interval_ms(&printer),
        .stop_flag = &load_interrupted,
    };
    struct sigaction sa, old_int, old_term;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    load_interrupted = 0;
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);

    /* The result holds a ~10 KiB histogram: keep it off the stack. */
    struct load_result *result = malloc(sizeof *result);
    if (result == NULL) {
        fprintf(stderr, "evlab load: out of memory\n");
        return 1;
    }
    rc = load_run(&cfg, &run_options, result, err, sizeof err);
    load_progress_finish(&printer);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    if (rc < 0) {
        fprintf(stderr, "evlab load: %s\n", err);
        free(result);
        return 1;
    }
    if (json)
        load_report_json(stdout, &cfg, result);
    else
        load_report_text(stdout, &cfg, result);
    fflush(stdout);
    free(result);
    return 0;
}
