/*
 * cmd_trace.c — `evlab trace FILE [-o trace.json]`: a recording made by
 * `evlab record` as Chrome Trace Event Format JSON, for ui.perfetto.dev
 * or chrome://tracing (lib/record/record_trace.h says what is in it).
 *
 * This file parses options and reports; a recording cut short is still
 * converted, with a warning naming where its readable part ends.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_util.h"
#include "commands.h"
#include "record/record_trace.h"
#include "view_limits.h"

static const char trace_usage[] =
    "usage: evlab trace [options] FILE\n"
    "\n"
    "Converts a recording made by 'evlab record' into the Chrome Trace Event\n"
    "Format (JSON).  Open the result at https://ui.perfetto.dev (Open trace\n"
    "file) or in chrome://tracing: one process per server, one track per\n"
    "thread with its loop turns, waits (poll, accept, read, sleep...),\n"
    "dispatches and handlers nested inside them; each request as an async\n"
    "span from its first byte read to its last byte written; counters for\n"
    "connections, queued, ready and loop lag; and a LOOP BLOCKED marker\n"
    "wherever one handler held the loop past the budget.\n"
    "\n"
    "  -o, --output FILE  where to write (default: FILE with .json added)\n"
    "  --budget MS        handler time that counts as blocking (default 10)\n"
    "  -h, --help\n";

int cmd_trace(int argc, char **argv)
{
    static const struct option options[] = {
        { "output", required_argument, NULL, 'o' },
        { "budget", required_argument, NULL, 'b' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    const char *output = NULL;
    struct record_trace_options trace_options = {
        .budget_ns = (uint64_t)VIEW_DEFAULT_BUDGET_MS * 1000000u };
    uint64_t value;
    int opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "ho:", options, NULL)) != -1) {
        switch (opt) {
        case 'o':
            output = optarg;
            break;
        case 'b':
            if (!cli_parse_u64(optarg, 1, 600000, &value))
                return cli_usage_error("trace", trace_usage,
                                       "--budget wants 1..600000 ms, not '%s'", optarg);
            trace_options.budget_ns = value * 1000000u;
            break;
        case 'h':
            fputs(trace_usage, stdout);
            return 0;
        default:
            return cli_usage_error("trace", trace_usage, "unknown option");
        }
    }
    if (optind != argc - 1)
        return cli_usage_error("trace", trace_usage, "one recording FILE, please");
    const char *input = argv[optind];
    char default_output[1024];
    if (output == NULL) {
        snprintf(default_output, sizeof default_output, "%s.json", input);
        output = default_output;
    }
    /* Write next to the target and rename at the end, so a failed export
     * never leaves half a JSON file under the name asked for. */
    char partial[1100];
    snprintf(partial, sizeof partial, "%s.partial", output);
    FILE *out = strcmp(output, "-") == 0 ? stdout : fopen(partial, "w");
    if (out == NULL) {
        fprintf(stderr, "evlab trace: cannot create %s: %s\n", partial, strerror(errno));
        return 1;
    }
    char err[2600] = "";
    struct record_trace_stats stats;
    int rc = record_trace_export(input, out, &trace_options, &stats, err, sizeof err);
    if (out != stdout && fclose(out) != 0 && rc == 0) {
        snprintf(err, sizeof err, "writing %s: %s", partial, strerror(errno));
        rc = -EIO;
    }
    if (rc == 0 && out != stdout && rename(partial, output) != 0) {
        snprintf(err, sizeof err, "renaming %s to %s: %s", partial, output, strerror(errno));
        rc = -EIO;
    }
    if (rc < 0) {
        if (out != stdout)
            remove(partial);
        fprintf(stderr, "evlab trace: %s\n", err);
        return 1;
    }
    if (stats.truncated)
        fprintf(stderr, "evlab trace: warning: %s ends at offset %llu without its END record "
                        "(the recording was cut short); converted everything before it\n",
                input, (unsigned long long)stats.truncated_at);
    if (stats.lost > 0)
        fprintf(stderr, "evlab trace: warning: the recording says %llu events were lost "
                        "(the recorder fell behind); slices open across a gap are left out\n",
                (unsigned long long)stats.lost);
    fprintf(stderr, "evlab trace: wrote %s: %llu events read, %llu slices, %llu requests, "
                    "%llu counters, %llu blocked-loop warnings\n",
            out == stdout ? "stdout" : output, (unsigned long long)stats.events_read,
            (unsigned long long)stats.slices, (unsigned long long)stats.requests,
            (unsigned long long)stats.counters, (unsigned long long)stats.warnings);
    return 0;
}
