/*
 * evlab stats NAME — one snapshot of a running server's gauges and
 * histograms, as text for people or --json for scripts.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_util.h"
#include "commands.h"
#include "common/clock.h"
#include "probe/probe_reader.h"

static const char stats_usage[] =
    "usage: evlab stats [--json] NAME\n"
    "\n"
    "Prints one snapshot of the counters of the running server NAME\n"
    "(see 'evlab list'): gauges, and handler runtime / loop lag percentiles.\n"
    "Times are in microseconds.\n"
    "\n"
    "  --json    the same JSON object the server serves on GET /stats:\n"
    "            {name, model, pid, port, uptime_s, gauges: {NAME: value...},\n"
    "            handler_us: {count, p50, p90, p99, p99.9, max}, ...}\n"
    "  -h, --help\n";

static const double percentiles[] = { 50, 90, 99, 99.9 };
static const char *const percentile_keys[] = { "p50", "p90", "p99", "p999" };

static void print_hist_text(const char *label, const struct histogram *h, bool is_time)
{
    uint64_t n = histogram_count(h);
    printf("  %-14s n=%-9llu", label, (unsigned long long)n);
    for (size_t i = 0; i < sizeof percentiles / sizeof percentiles[0]; i++) {
        uint64_t v = histogram_percentile(h, percentiles[i]);
        if (is_time)
            printf(" %s=%.1fus", percentile_keys[i], (double)v / 1000.0);
        else
            printf(" %s=%llu", percentile_keys[i], (unsigned long long)v);
    }
    if (is_time)
        printf(" max=%.1fus\n", (double)histogram_max(h) / 1000.0);
    else
        printf(" max=%llu\n", (unsigned long long)histogram_max(h));
}

static void print_text(const struct probe_info *info, const struct probe_snapshot *snap,
                       double uptime_s)
{
    printf("%s: model %s, pid %d, port %d, %s, up %.1f s\n", info->name, info->model,
           info->pid, info->port, snap->writer_alive ? "running" : "GONE (last values)",
           uptime_s);
    printf("gauges:\n");
    for (int g = 0; g < PROBE_GAUGE_COUNT; g++)
        printf("  %-18s %lld\n", probe_gauge_name(g), (long long)snap->gauges[g]);
    printf("histograms:\n");
    print_hist_text("handler", &snap->hists[PROBE_HIST_HANDLER_NS], true);
    print_hist_text("loop_lag", &snap->hists[PROBE_HIST_LOOP_LAG_NS], true);
    print_hist_text("dispatch", &snap->hists[PROBE_HIST_DISPATCH_NS], true);
    print_hist_text("poll_ready", &snap->hists[PROBE_HIST_POLL_READY], false);
    printf("threads with a ring: %zu\n", snap->thread_count);
}

/* The same JSON the server itself serves on GET /stats. */
static int print_json(const struct probe_info *info, const struct probe_snapshot *snap)
{
    char json[16384];
    int n = probe_snapshot_json(info, snap, json, sizeof json);
    if (n < 0) {
        fprintf(stderr, "evlab stats: snapshot too large to render\n");
        return 1;
    }
    printf("%.*s\n", n, json);
    return 0;
}

/* What the command line asked for. */
struct stats_args {
    bool json;
    const char *name;
};

/* Parses the command line into *args, the way every evlab command does
 * (cli/cmd_view.c's parse_args is the model): options are parsed into
 * locals and handed back only when all of them were good.  Returns 0 to
 * go on, -1 when --help was printed (exit 0), or the exit status of a
 * usage error that was printed. */
static int parse_args(int argc, char **argv, struct stats_args *args)
{
    static const struct option options[] = {
        { "json", no_argument, NULL, 'j' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    bool json = false;
    int opt;
    optind = 1;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        if (opt == 'j')
            json = true;
        else if (opt == 'h') {
            fputs(stats_usage, stdout);
            return -1;
        } else
            return cli_usage_error("stats", stats_usage, "unknown option '%s'", argv[optind - 1]);
    }
    if (optind != argc - 1)
        return cli_usage_error("stats", stats_usage, "expected one server NAME (see 'evlab list')");
    args->json = json;
    args->name = argv[optind];
    return 0;
}

int cmd_stats(int argc, char **argv)
{
    struct stats_args args = { 0 };
    int parsed = parse_args(argc, argv, &args);
    if (parsed != 0)
        return parsed < 0 ? 0 : parsed;
    bool json = args.json;

    char err[256] = "";
    struct probe_reader *reader;
    int rc = probe_reader_open(&reader, args.name, err, sizeof err);
    if (rc < 0) {
        fprintf(stderr, "evlab stats: %s\n", err);
        return 1;
    }
    struct probe_snapshot *snap = malloc(sizeof *snap);
    if (snap == NULL || probe_reader_snapshot(reader, snap) < 0) {
        fprintf(stderr, "evlab stats: could not read a snapshot\n");
        free(snap);
        probe_reader_close(reader);
        return 1;
    }
    const struct probe_info *info = probe_reader_info(reader);
    double uptime_s = (double)(clock_now_ns() - info->start_mono_ns) / 1e9;
    int status = 0;
    if (json)
        status = print_json(info, snap);
    else
        print_text(info, snap, uptime_s);
    free(snap);
    probe_reader_close(reader);
    return status;
}
