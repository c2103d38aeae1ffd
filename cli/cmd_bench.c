/*
 * cmd_bench.c — `evlab bench`: parse the sweep, run it (lib/load/
 * bench_run.c), write CSV / JSON / Markdown / one SVG per workload.
 *
 * The servers are this very binary (/proc/self/exe) run as
 * `evlab serve`, one at a time; their stderr goes to servers.log in the
 * output folder and their one stdout line (the port) is read through a
 * pipe, so the progress bar stays clean.  Ctrl-C stops the sweep after
 * the current server is stopped, and the runs finished so far are still
 * written.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli_util.h"
#include "commands.h"
#include "bench/bench_config.h"
#include "bench/bench_output.h"
#include "bench/bench_run.h"
#include "net/fdlimit.h"
#include "load/load_report.h"

static const char bench_usage[] =
"usage: evlab bench [options]\n"
"\n"
"Runs a sweep: server models x connection counts x workloads, one fresh\n"
"`evlab serve` at a time, each loaded by the closed-loop load generator\n"
"of `evlab load` after a warm-up.  Writes, into the output folder:\n"
"  results.csv, results.json, results.md   one row per run\n"
"  WORKLOAD.svg                            per workload: throughput and p99\n"
"                                          latency against connections, one\n"
"                                          line per model\n"
"  servers.log                             what the servers printed on stderr\n"
"\n"
"  -m, --models LIST       blocking,threads,loop (default: all three)\n"
"  -c, --connections LIST  connection counts (default 1,10,100,1000)\n"
"  -w, --workloads LIST    presets root (GET /), mix (90% /, 10% /sleep/50),\n"
"                          sleep (/sleep/50), cpu (/cpu/1), or NAME=MIX with\n"
"                          MIX as in evlab load --mix; separate with ';'\n"
"                          (',' also works between presets).  Default: root,mix\n"
"  -d, --duration T        measured time per run (default 4s)\n"
"      --warmup T          warm-up per run, not measured (default 1s)\n"
"      --timeout T         request timeout, as evlab load (default 2s)\n"
"      --backend B         the loop model's backend: epoll (default) or poll\n"
"  -o, --out DIR           output folder (default bench/results/DATE-TIME)\n"
"  -q, --quiet             no progress bar\n"
"  -h, --help              this text\n"
"\n"
"Per run: requests, req/s, latency p50/p90/p99/p99.9/max (log-linear\n"
"histogram, each within 3.125%), errors by kind; from /proc of the server:\n"
"peak RSS (VmHWM), most threads seen, CPU time and voluntary / involuntary\n"
"context switches during the measured window.\n"
"\n"
"The default sweep is 3 x 4 x 2 = 24 runs of ~5.4 s: about 2.5 minutes.\n"
"Example: evlab bench -m loop,threads -c 10,100 -w root -d 2s\n";

static volatile sig_atomic_t bench_interrupted;

static void on_sigint(int sig)
{
    (void)sig;
    bench_interrupted = 1;
}

struct bench_printer {
    bool tty;
    bool quiet;
    bool dirty;
};

static void on_bench_progress(const struct bench_status *st, void *data)
{
    struct bench_printer *pr = data;
    char line[200];

    if (st->finished != NULL && st->finished->server_died) {
        /* Never quiet: this point of the sweep is not valid. */
        fprintf(stderr, "%sevlab bench: the %s server exited during the run with %u connections "
                "(status %d); that point is not valid\n", pr->dirty ? "\r\033[K" : "",
                st->finished->model, st->finished->connections, st->finished->server_exit);
        pr->dirty = false;
    }
    if (pr->quiet)
        return;
    if (pr->tty) {
        bench_status_format(st, line, sizeof line);
        fprintf(stderr, "\r\033[K%s", line);
        pr->dirty = true;
    } else if (st->finished != NULL) {
        /* Not a terminal: one plain line per finished run. */
        const struct bench_row *r = st->finished;
        char p99[32];
        load_format_ns(r->p99_ns, p99, sizeof p99);
        fprintf(stderr, "bench %zu/%zu: %-8s %5u conns  %-6s %9.0f req/s  p99 %-8s errors %"
                PRIu64 "\n", st->index, st->total, r->model, r->connections, r->workload,
                r->requests_per_sec, p99, r->errors_total);
    }
    fflush(stderr);
}

static void print_summary(const struct bench_row *rows, size_t count)
{
    char p50[32], p99[32];

    printf("%-8s %-9s %6s %10s %9s %9s %7s %8s %7s %7s\n", "workload", "model", "conns",
           "req/s", "p50", "p99", "errors", "RSS MiB", "threads", "CPU ms");
    for (size_t i = 0; i < count; i++) {
        const struct bench_row *r = &rows[i];
        load_format_ns(r->p50_ns, p50, sizeof p50);
        load_format_ns(r->p99_ns, p99, sizeof p99);
        printf("%-8s %-9s %6u %10.0f %9s %9s %7" PRIu64 " %8.1f %7u %7" PRIu64 "\n",
               r->workload, r->model, r->connections, r->requests_per_sec,
               r->requests ? p50 : "-", r->requests ? p99 : "-", r->errors_total,
               (double)r->peak_rss_kb / 1024, r->threads_max, r->cpu_ms);
    }
}

static int write_outputs(const char *dir, const struct bench_config *cfg,
                         const struct bench_row *rows, size_t count)
{
    char path[4200], err[512];
    int rc = 0;

    snprintf(path, sizeof path, "%s/results.csv", dir);
    if (rc == 0)
        rc = bench_write_csv(path, rows, count, err, sizeof err);
    snprintf(path, sizeof path, "%s/results.json", dir);
    if (rc == 0)
        rc = bench_write_json(path, cfg, rows, count, err, sizeof err);
    snprintf(path, sizeof path, "%s/results.md", dir);
    if (rc == 0)
        rc = bench_write_markdown(path, rows, count, err, sizeof err);
    for (size_t w = 0; w < cfg->workload_count && rc == 0; w++) {
        snprintf(path, sizeof path, "%s/%s.svg", dir, cfg->workloads[w].name);
        rc = bench_write_svg(path, cfg, &cfg->workloads[w], rows, count, err, sizeof err);
    }
    if (rc < 0)
        fprintf(stderr, "evlab bench: %s\n", err);
    return rc;
}

/* What the command line asked for. */
struct bench_args {
    struct bench_config cfg;
    char out_dir[4096];           /* "" = bench/results/DATE-TIME */
    bool quiet;
};

/* Parses the command line into *args, the way every evlab command does
 * (cli/cmd_view.c's parse_args is the model): options are parsed into
 * locals and handed back only when all of them were good.  Returns 0 to
 * go on, -1 when --help was printed (exit 0), or the exit status of a
 * usage error that was printed. */
static int parse_args(int argc, char **argv, struct bench_args *args)
{
    static const struct option options[] = {
        { "models", required_argument, NULL, 'm' },
        { "connections", required_argument, NULL, 'c' },
        { "workloads", required_argument, NULL, 'w' },
        { "duration", required_argument, NULL, 'd' },
        { "warmup", required_argument, NULL, 'W' },
        { "timeout", required_argument, NULL, 'T' },
        { "backend", required_argument, NULL, 'B' },
        { "out", required_argument, NULL, 'o' },
        { "quiet", no_argument, NULL, 'q' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    struct bench_config cfg;
    char out_dir[sizeof args->out_dir] = "", err[512];
    bool quiet = false;
    int opt;

    bench_config_defaults(&cfg);
    optind = 1;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":m:c:w:d:o:qh", options, NULL)) != -1) {
        switch (opt) {
        case 'm':
            if (bench_parse_models(optarg, &cfg, err, sizeof err) < 0)
                return cli_usage_error("bench", bench_usage, "%s", err);
            break;
        case 'c':
            if (bench_parse_levels(optarg, &cfg, err, sizeof err) < 0)
                return cli_usage_error("bench", bench_usage, "%s", err);
            break;
        case 'w':
            if (bench_parse_workloads(optarg, &cfg, err, sizeof err) < 0)
                return cli_usage_error("bench", bench_usage, "%s", err);
            break;
        case 'd':
            if (!cli_parse_duration(optarg, &cfg.duration_ns) || cfg.duration_ns == 0)
                return cli_usage_error("bench", bench_usage, "bad --duration '%s' (e.g. 4s)", optarg);
            break;
        case 'W':
            if (!cli_parse_duration(optarg, &cfg.warmup_ns))
                return cli_usage_error("bench", bench_usage, "bad --warmup '%s' (e.g. 1s, 0)", optarg);
            break;
        case 'T':
            if (!cli_parse_duration(optarg, &cfg.timeout_ns) || cfg.timeout_ns == 0)
                return cli_usage_error("bench", bench_usage, "bad --timeout '%s' (e.g. 2s)", optarg);
            break;
        case 'B':
            if (strcmp(optarg, "poll") != 0 && strcmp(optarg, "epoll") != 0)
                return cli_usage_error("bench", bench_usage,
                                       "unknown --backend '%s' (expected poll or epoll)", optarg);
            cfg.loop_backend = optarg;
            break;
        case 'o':
            if (strlen(optarg) >= sizeof out_dir - 64)
                return cli_usage_error("bench", bench_usage, "--out path is too long");
            snprintf(out_dir, sizeof out_dir, "%s", optarg);
            break;
        case 'q':
            quiet = true;
            break;
        case 'h':
            fputs(bench_usage, stdout);
            return -1;
        case ':':
            return cli_usage_error("bench", bench_usage, "option '%s' needs a value",
                                   argv[optind - 1]);
        default:
            return cli_usage_error("bench", bench_usage, "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind != argc)
        return cli_usage_error("bench", bench_usage, "unexpected argument '%s'", argv[optind]);
    args->cfg = cfg;
    snprintf(args->out_dir, sizeof args->out_dir, "%s", out_dir);
    args->quiet = quiet;
    return 0;
}

int cmd_bench(int argc, char **argv)
{
    struct bench_args args;
    char err[512];
    memset(&args, 0, sizeof args);
    int parsed = parse_args(argc, argv, &args);
    if (parsed != 0)
        return parsed < 0 ? 0 : parsed;
    struct bench_config cfg = args.cfg;
    char *out_dir = args.out_dir;
    bool quiet = args.quiet;

    if (out_dir[0] == '\0') {
        time_t now = time(NULL);
        struct tm tm;
        localtime_r(&now, &tm);
        strftime(out_dir, sizeof args.out_dir, "bench/results/%Y-%m-%d-%H%M%S", &tm);
    }
    if (bench_output_mkdir(out_dir, err, sizeof err) < 0) {
        fprintf(stderr, "evlab bench: %s\n", err);
        return 1;
    }
    /* Servers inherit our descriptor limit: raise it once for the
     * largest connection count, before the first fork. */
    uint32_t most = cfg.connections[cfg.level_count - 1];
    if (fdlimit_ensure((uint64_t)most + LOAD_SPARE_FDS, NULL, err, sizeof err) < 0) {
        fprintf(stderr, "evlab bench: %u connections %s\n", most, err);
        return 1;
    }
    char log_path[4200];
    snprintf(log_path, sizeof log_path, "%s/servers.log", out_dir);
    int log_fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (log_fd < 0) {
        fprintf(stderr, "evlab bench: cannot write '%s': %s\n", log_path, strerror(errno));
        return 1;
    }

    size_t total = bench_run_count(&cfg);
    double per_run = (double)(cfg.duration_ns + cfg.warmup_ns) / 1e9 + 0.4;
    if (!quiet)
        fprintf(stderr, "evlab bench: %zu runs, about %.0f s; writing to %s/\n", total,
                (double)total * per_run, out_dir);

    struct bench_row *rows = calloc(total, sizeof *rows);
    if (rows == NULL) {
        close(log_fd);
        fprintf(stderr, "evlab bench: out of memory\n");
        return 1;
    }
    struct bench_printer printer = { .tty = isatty(STDERR_FILENO) == 1, .quiet = quiet };
    struct bench_run_options run_options = {
        .evlab_path = "/proc/self/exe",
        .server_log_fd = log_fd,
        .progress = on_bench_progress,
        .progress_data = &printer,
        .stop_flag = &bench_interrupted,
    };
    struct sigaction sa, old_int, old_term;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    bench_interrupted = 0;
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);

    size_t done = 0;
    int rc = bench_run_sweep(&cfg, &run_options, rows, &done, err, sizeof err);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    close(log_fd);
    if (printer.dirty)
        fputs("\r\033[K", stderr);
    if (rc == -EINTR || bench_interrupted)
        fprintf(stderr, "evlab bench: interrupted after %zu of %zu runs\n", done, total);
    else if (rc < 0)
        fprintf(stderr, "evlab bench: %s (after %zu of %zu runs; see %s)\n", err, done, total,
                log_path);

    int status = rc < 0 || bench_interrupted ? 1 : 0;
    if (done > 0) {
        if (write_outputs(out_dir, &cfg, rows, done) < 0)
            status = 1;
        print_summary(rows, done);
        printf("wrote %s/results.{csv,json,md}", out_dir);
        for (size_t w = 0; w < cfg.workload_count; w++)
            printf(", %s.svg", cfg.workloads[w].name);
        printf("\n");
    }
    free(rows);
    return status;
}
