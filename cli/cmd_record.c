/*
 * cmd_record.c — `evlab record [NAME...] [-o FILE] [--duration T]`:
 * attach to running instrumented servers and write everything they
 * publish to one file (lib/record/record_session.h), for `evlab view
 * --replay FILE` and `evlab trace FILE` later.
 *
 * This file parses options, installs the Ctrl-C handler and runs the
 * recorder's two rhythms: a drain every RECORD_DRAIN_INTERVAL_MS and a
 * snapshot every RECORD_SNAPSHOT_INTERVAL_MS, with a progress line on
 * stderr.  Ctrl-C (or SIGTERM) ends the recording cleanly; even a
 * recorder killed outright leaves a file readable up to its last whole
 * record (lib/record/record_writer.c).
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli_util.h"
#include "commands.h"
#include "common/clock.h"
#include "probe/probe_reader.h"
#include "record/record_session.h"

#define MS 1000000ull

static const char record_usage[] =
    "usage: evlab record [options] [NAME...]\n"
    "\n"
    "Records running evlab servers (names from 'evlab list'; with no NAME,\n"
    "every running one, up to 8) into one file: every event of every\n"
    "thread's ring, a snapshot of gauges, histograms and thread states ten\n"
    "times a second, and each server's name, model, port and pid.  Events a\n"
    "ring overwrote before they could be read are written as a gap with\n"
    "their count.  Stops at --duration, when every server has exited, or on\n"
    "Ctrl-C; the file stays readable even if the recorder is killed.\n"
    "\n"
    "Then: 'evlab view --replay FILE' (step through it, back and forth) or\n"
    "'evlab trace FILE' (open it in ui.perfetto.dev).\n"
    "\n"
    "  -o, --output FILE  where to write (default evlab.rec)\n"
    "  --duration T       stop after T (e.g. 30s, 2m)\n"
    "  --quiet            no progress line (the first and last lines stay)\n"
    "  -h, --help\n";

static volatile sig_atomic_t record_stop;

static void on_stop_signal(int signo)
{
    (void)signo;
    record_stop = 1;
}

struct record_args {
    const char *output;
    uint64_t duration_ns;
    bool quiet;
    char *names[RECORD_MAX_SERVERS];
    char name_storage[RECORD_MAX_SERVERS][PROBE_NAME_MAX];
    size_t name_count;
};

static int parse_args(int argc, char **argv, struct record_args *args)
{
    static const struct option options[] = {
        { "output", required_argument, NULL, 'o' },
        { "duration", required_argument, NULL, 'd' },
        { "quiet", no_argument, NULL, 'q' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    args->output = "evlab.rec";
    int opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "ho:", options, NULL)) != -1) {
        switch (opt) {
        case 'o':
            args->output = optarg;
            break;
        case 'd':
            if (!cli_parse_duration(optarg, &args->duration_ns) || args->duration_ns == 0)
                return cli_usage_error("record", record_usage, "bad --duration '%s'", optarg);
            break;
        case 'q':
            args->quiet = true;
            break;
        case 'h':
            fputs(record_usage, stdout);
            return -1;
        default:
            return cli_usage_error("record", record_usage, "unknown option");
        }
    }
    for (int i = optind; i < argc; i++) {
        if (args->name_count == RECORD_MAX_SERVERS)
            return cli_usage_error("record", record_usage, "at most %d servers",
                                   RECORD_MAX_SERVERS);
        args->names[args->name_count++] = argv[i];
    }
    return 0;
}

/* No NAME: every server that is running now. */
static void find_live_servers(struct record_args *args)
{
    struct probe_info found[RECORD_MAX_SERVERS * 4];
    int total = probe_list(found, sizeof found / sizeof found[0]);
    size_t stored = total < 0 ? 0 : (size_t)total < sizeof found / sizeof found[0]
                                        ? (size_t)total : sizeof found / sizeof found[0];
    for (size_t i = 0; i < stored && args->name_count < RECORD_MAX_SERVERS; i++) {
        if (!found[i].alive)
            continue;
        snprintf(args->name_storage[args->name_count], PROBE_NAME_MAX, "%s", found[i].name);
        args->names[args->name_count] = args->name_storage[args->name_count];
        args->name_count++;
    }
}

/* "12.0 s  1234567 events (98000/s)  0 lost  12.3 MiB": redrawn in place
 * on a terminal, one line every 5 s otherwise. */
static void print_progress(const char *path, const struct record_session_stats *stats,
                           uint64_t elapsed_ns, uint64_t events_per_s, bool tty)
{
    fprintf(stderr, "%srecording %zu server%s (%zu running) to %s: %.1f s, %llu events "
                    "(%llu/s), %llu lost, %.1f MiB%s",
            tty ? "\r\033[K" : "", stats->servers, stats->servers == 1 ? "" : "s",
            stats->alive, path, (double)elapsed_ns / 1e9, (unsigned long long)stats->events,
            (unsigned long long)events_per_s, (unsigned long long)stats->lost,
            (double)stats->bytes / (1024.0 * 1024.0), tty ? "" : "\n");
    fflush(stderr);
}

/* The recording loop; returns the exit status. */
static int run(struct record_session *session, const struct record_args *args)
{
    bool tty = isatty(STDERR_FILENO);
    uint64_t progress_every = (tty ? 250 : 5000) * MS;
    uint64_t start = clock_now_ns();
    uint64_t next_drain = start, next_sample = start + RECORD_SNAPSHOT_INTERVAL_MS * MS;
    uint64_t next_progress = start + progress_every;
    uint64_t rate_t = start, rate_events = 0, events_per_s = 0;
    char err[256] = "";
    struct record_session_stats stats;
    while (!record_stop) {
        uint64_t now = clock_now_ns();
        if (args->duration_ns != 0 && now - start >= args->duration_ns)
            break;
        if (now >= next_drain) {
            long drained = record_session_drain(session, err, sizeof err);
            if (drained < 0)
                break;
            /* A burst filled rings fast: come back sooner than usual. */
            next_drain = now + (drained >= RECORD_DRAIN_BUSY_EVENTS ? RECORD_DRAIN_BUSY_INTERVAL_MS
                                                                   : RECORD_DRAIN_INTERVAL_MS) * MS;
        }
        if (now >= next_sample) {
            if (record_session_sample(session, err, sizeof err) < 0)
                break;
            next_sample += RECORD_SNAPSHOT_INTERVAL_MS * MS;
            if (next_sample <= now)
                next_sample = now + RECORD_SNAPSHOT_INTERVAL_MS * MS;
            record_session_stats(session, &stats);
            if (stats.alive == 0)
                break;                 /* everyone has exited: nothing more to see */
        }
        if (now >= next_progress && !args->quiet) {
            record_session_stats(session, &stats);
            if (now - rate_t >= 1000 * MS) {
                events_per_s = (stats.events - rate_events) * 1000000000ull / (now - rate_t);
                rate_t = now;
                rate_events = stats.events;
            }
            print_progress(args->output, &stats, now - start, events_per_s, tty);
            next_progress = now + progress_every;
        }
        now = clock_now_ns();
        uint64_t wake = next_drain < next_sample ? next_drain : next_sample;
        /* Sleeps until the next deadline; a signal cuts it short. */
        if (wake > now)
            poll(NULL, 0, (int)((wake - now + MS - 1) / MS));
    }
    uint64_t elapsed = clock_now_ns() - start;
    bool failed = err[0] != '\0';
    char close_err[256] = "";
    int close_rc = record_session_close(session, &stats, close_err, sizeof close_err);
    if (!args->quiet && tty)
        fputs("\r\033[K", stderr);
    if (failed || close_rc < 0) {
        fprintf(stderr, "evlab record: %s\n", failed ? err : close_err);
        return 1;
    }
    fprintf(stderr, "evlab record: wrote %s: %.1f s, %zu server%s, %llu events, %llu snapshots, "
                    "%llu lost, %llu bytes (%.1f bytes/event)\n",
            args->output, (double)elapsed / 1e9, stats.servers, stats.servers == 1 ? "" : "s",
            (unsigned long long)stats.events, (unsigned long long)stats.snapshots,
            (unsigned long long)stats.lost, (unsigned long long)stats.bytes,
            stats.events ? (double)stats.bytes / (double)stats.events : 0.0);
    return 0;
}

int cmd_record(int argc, char **argv)
{
    struct record_args args;
    memset(&args, 0, sizeof args);
    int rc = parse_args(argc, argv, &args);
    if (rc != 0)
        return rc < 0 ? 0 : rc;
    if (args.name_count == 0)
        find_live_servers(&args);
    if (args.name_count == 0) {
        fprintf(stderr, "evlab record: no running evlab server found (start one with "
                        "'evlab serve', or try 'evlab demo --record FILE')\n");
        return 1;
    }

    /* Ctrl-C and SIGTERM only ask the loop to stop, from the start: the
     * demo may stop us the moment we say we are recording. */
    struct sigaction sa, old_int, old_term;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    record_stop = 0;
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);

    char err[256] = "";
    struct record_session *session;
    if (record_session_open(&session, args.names, args.name_count, args.output, err,
                            sizeof err) < 0) {
        fprintf(stderr, "evlab record: %s\n", err);
        rc = 1;
    } else {
        /* One line at once, so whoever started us (evlab demo) knows the
         * recording has begun. */
        fprintf(stderr, "evlab record: recording %zu server%s to %s (Ctrl-C stops)\n",
                args.name_count, args.name_count == 1 ? "" : "s", args.output);
        fflush(stderr);
        rc = run(session, &args);
    }
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    return rc;
}
