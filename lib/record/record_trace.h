/*
 * record_trace.h — a recording (record.h) as Chrome Trace Event Format
 * JSON, the format ui.perfetto.dev and chrome://tracing open: what
 * `evlab trace FILE` writes.
 *
 * What comes out, per recorded server:
 *   - one process (the server's pid, named "NAME (MODEL, port P)") and one
 *     named thread track per instrumented thread ("loop", "worker" ...);
 *   - complete slices ("ph":"X") for loop turns, waits in a call
 *     ("wait poll()", "wait read()"...), dispatches and handlers, nested
 *     as they were on the thread (lib/record/record_slices.h);
 *   - each request as an async span ("ph":"b"/"e") from its first byte
 *     read to its last byte written, keyed by server, connection and
 *     request number;
 *   - counters ("ph":"C"): connections, queued, ready, loop lag;
 *   - an instant event ("ph":"i") where a handler or a wait blocked the
 *     whole server past the budget ("LOOP BLOCKED > 10 ms").
 * Timestamps ("ts", "dur") are microseconds since the recording's first
 * moment, with nanosecond decimals, so nesting survives the conversion.
 * Events are written sorted by track and time.
 *
 * Errors: 0 or a negative errno with a message in err (the reader's, for
 * a damaged file).  A file cut short is exported up to its last whole
 * record; stats->truncated then says so and where.
 * Ownership: the caller owns `out` (it is not closed).
 */
#ifndef EVLAB_RECORD_TRACE_H
#define EVLAB_RECORD_TRACE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct record_trace_options {
    uint64_t budget_ns;           /* past it a handler blocks the server */
};

struct record_trace_stats {
    uint64_t events_read;
    uint64_t trace_events;        /* JSON objects written */
    uint64_t slices, requests, warnings, counters;
    uint64_t lost;                /* events the recording says were lost */
    bool truncated;               /* the file stopped mid-record or has no END */
    uint64_t truncated_at;        /* offset where the readable part ends */
};

int record_trace_export(const char *path, FILE *out, const struct record_trace_options *options,
                        struct record_trace_stats *stats, char *err, size_t err_len);

#endif
