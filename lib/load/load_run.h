/*
 * load_run.h — one load-generator run: open the connections, send
 * requests by the chosen policy for warm-up + duration, measure.
 *
 * Policies (struct load_config.mode):
 *   closed loop (-c N -p D): every connection keeps D requests in flight
 *       and sends the next one when a reply arrives.  Latency is measured
 *       from the actual send.  When the server stalls, the client stalls
 *       with it and simply sends less — so the stall shows up in *one*
 *       sample per connection and the percentiles understate it
 *       ("coordinated omission").
 *   open loop (-R RATE): request i is *due* at start + i/RATE whatever the
 *       server does.  It goes out on any connection with room; if none has
 *       room it waits, and its latency is still measured from when it was
 *       due.  A 500 ms stall then shows up in every request that was due
 *       during it, as wrk2 and HdrHistogram users expect.
 *   idle (--idle): one request per connection, then hold the connection
 *       open until the end (for measuring what idle connections cost).
 *   never reading (--no-read, with either loop): requests are written in
 *       batches of D (-p) and the replies are never read, so they pile up
 *       in the server (the backpressure lesson).  The closed loop writes
 *       the next batch as soon as the kernel took the last one: as fast as
 *       TCP lets it, which a server that pauses reading brings to a halt.
 *       The open loop sends at RATE, so a server without backpressure
 *       grows by a known amount per second.  Counted: requests sent
 *       (result->sent); there are no replies, latencies or timeouts.
 *
 * A reply counts if it arrives inside the measured window (after the
 * warm-up, before the end); requests still in flight at the end are not
 * counted.  Latency goes into a log-linear histogram (probe/histogram.h),
 * so each percentile is within HIST_RELATIVE_ERROR (3.125%).
 *
 * What its clients see, published (begin: lesson/live-view addition).
 * Unless options->no_probe is set, a run publishes its own numbers through
 * the instrumentation layer (probe/probe.h) as a segment named
 * "load-PORT-PID" with model "load" and the *target's* port, so a viewer
 * links it to the server it loads (the server's probe has the same port):
 *   PROBE_GAUGE_CONNECTIONS    connections open now
 *   PROBE_GAUGE_REQUESTS_DONE  replies received (warm-up included)
 *   PROBE_GAUGE_CLIENT_ERRORS  failed requests and connections (same)
 *   PROBE_HIST_CLIENT_NS       latency of every reply, measured as for the
 *                              report (from the send, or in open loop from
 *                              when the request was due)
 *   PROBE_GAUGE_BYTES_OUT, _IN bytes the clients wrote and read (every
 *                              tick; _IN stays 0 with --no-read)
 * A segment that cannot be created is not an error: the run goes on
 * unpublished.  (end: lesson/live-view addition)
 *
 * Ownership: the caller owns cfg and result; load_run() allocates and
 * frees everything else before it returns.  Single-threaded: it runs the
 * loop on the calling thread.
 * Errors: 0, or a negative errno with `err` filled when the run could not
 * start (descriptor limit, backend).  Failures of connections are not
 * errors of the run: they are counted in result->errors.
 */
#ifndef EVLAB_LOAD_RUN_H
#define EVLAB_LOAD_RUN_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "load/load_client.h"
#include "load/load_config.h"
#include "probe/histogram.h"

struct load_result {
    uint64_t requests;              /* replies inside the measured window */
    uint64_t elapsed_ns;            /* length of the measured window */
    double requests_per_sec;
    uint64_t bytes_read;            /* whole run, warm-up included */
    uint64_t bytes_written;         /* whole run, warm-up included */
    uint64_t sent;                  /* requests queued for sending in the window */
    uint64_t status_classes[6];     /* [2] = 2xx ... [5] = 5xx; [0] other */
    uint64_t errors[LOAD_ERR_COUNT];
    uint64_t errors_total;
    uint64_t unsent;                /* open loop: due in the window, never sent */
    uint64_t unanswered;            /* sent, still without a reply at the end */
    uint64_t unanswered_oldest_ns;  /* how long the oldest of those had waited */
    uint64_t connects;              /* successful connects, whole run */
    uint32_t max_open;              /* most connections open at once */
    uint64_t mix_requests[LOAD_MAX_MIX_ENTRIES];
    bool interrupted;               /* stopped early by *stop_flag */
    struct histogram latency;       /* ns */
};

enum load_phase { LOAD_PHASE_WARMUP = 0, LOAD_PHASE_MEASURE, LOAD_PHASE_DONE };

/* What the progress callback sees. */
struct load_progress {
    enum load_phase phase;
    uint64_t elapsed_ns;            /* since the start, warm-up included */
    uint64_t total_ns;              /* warm-up + duration */
    uint64_t requests;              /* counted so far (measured window) */
    double recent_rps;              /* replies/s since the previous call */
    bool no_read;                   /* --no-read: sent counts, replies do not */
    uint64_t sent;                  /* requests sent so far (measured window) */
    double recent_sent_per_sec;     /* requests sent/s since the previous call */
    uint64_t errors;                /* counted so far */
    uint32_t open_connections;
};

typedef void (*load_progress_cb)(const struct load_progress *progress, void *data);

struct load_run_options {
    load_progress_cb progress;      /* may be NULL */
    void *progress_data;
    uint32_t progress_interval_ms;  /* 0: 250 ms */
    /* Checked every tick; set it (e.g. from a SIGINT handler) to end the
     * run early with the results so far.  May be NULL. */
    volatile sig_atomic_t *stop_flag;
    /* true: do not publish the client-side numbers (see above). */
    bool no_probe;
};

/* Runs the load described by cfg (target already resolved).  The
 * progress callback is also called once when the warm-up ends and once
 * with LOAD_PHASE_DONE just before the connections are closed (so a
 * caller can sample the server while it still holds them). */
int load_run(const struct load_config *cfg, const struct load_run_options *options,
             struct load_result *result, char *err, size_t err_len);

#endif
