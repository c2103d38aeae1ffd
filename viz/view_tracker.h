/*
 * view_tracker.h — one server followed over time by the live view.
 *
 * The view feeds every snapshot and every batch of events it reads from a
 * server's instrumentation into a struct view_tracker.  The tracker keeps
 * what a single snapshot cannot tell: rates, sparkline history, the
 * recent poll() turns, the handler histogram of the last few seconds,
 * which handler each thread is inside, and peaks for a summary.  Panes are
 * built from a tracker by view_model.h; nothing here formats text.
 *
 * What clients see.  The load generators aimed at a server publish their
 * own latency histogram (model "load", see lib/load/load_run.h); the view
 * adds up those of one server's port and feeds the sum in with
 * view_tracker_add_clients(), so a pane can set what the clients wait
 * beside how long the server's handlers ran.
 *
 * What "queued" is made of differs per model (the table "What the view
 * calls queued and ready" in README.md); view_queued_parts() is the one
 * place that decides, so the sparkline, the peak and the pane agree.
 *
 * Errors: none; every function accepts any instrumentation data, however
 * odd (unknown kinds, rings out of range, clocks going backwards).
 * Ownership: the caller allocates trackers (they are large: use
 * view_tracker_new()/view_tracker_free() or embed one in heap memory);
 * nothing here keeps a pointer to the caller's data.
 */
#ifndef EVLAB_VIEW_TRACKER_H
#define EVLAB_VIEW_TRACKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "probe/probe_reader.h"
#include "view_limits.h"

enum view_kind {
    VIEW_KIND_OTHER = 0,      /* a student's own server: show every part */
    VIEW_KIND_BLOCKING,
    VIEW_KIND_THREADS,
    VIEW_KIND_LOOP
};

enum view_status {
    VIEW_STATUS_WAITING = 0,  /* attached, no snapshot yet */
    VIEW_STATUS_LIVE,
    VIEW_STATUS_GONE,         /* the server exited: last picture kept */
    VIEW_STATUS_ERROR         /* could not attach (e.g. layout version) */
};

#define VIEW_MAX_PARTS   7
#define VIEW_TEXT_MAX    160

/* One component of "queued": a static label and its current value. */
struct view_part {
    const char *label;
    int64_t value;
};

struct view_gauge_sample {
    uint64_t t_ns;
    int64_t gauges[PROBE_GAUGE_COUNT];
};

/* What each thread's events say it is inside, for handlers that block in
 * a call (the snapshot then only says "blocked in sleep"). */
struct view_ring_handler {
    bool active;
    uint16_t route;
    int32_t fd;
    uint64_t start_ns;
};

/* The loads aimed at one server, added up (cumulative since each load
 * started; loads that ended stay counted). */
struct view_client_totals {
    size_t loads;                 /* running now */
    int64_t connections;          /* open now */
    int64_t replies, errors;
    struct histogram latency;     /* PROBE_HIST_CLIENT_NS of every load */
};

struct view_tracker {
    struct probe_info info;
    enum view_kind kind;
    enum view_status status;
    char status_text[VIEW_TEXT_MAX];  /* the caller's words, shown as given */

    struct probe_snapshot snap;       /* the latest */
    bool have_snapshot;
    int64_t rss_bytes;
    uint64_t missed;

    /* Rates, recomputed whenever a second has passed. */
    uint64_t rate_t_ns;
    int64_t rate_requests, rate_turns, rate_busy_ns;
    double requests_per_s, turns_per_s, loop_utilisation;

    /* The handler-runtime and loop-lag windows: the histograms as they
     * were 5..10 s ago (base) and 0..5 s ago (next); window = now - base. */
    struct histogram handler_base, handler_next;
    struct histogram lag_base, lag_next;
    uint64_t window_next_ns;
    bool window_started;

    /* Sparkline series, a ring of VIEW_SERIES_LEN samples. */
    double queued_series[VIEW_SERIES_LEN];
    double ready_series[VIEW_SERIES_LEN];
    size_t series_count, series_next;

    /* The newest poll() results, a ring. */
    uint32_t turns[VIEW_TURN_STRIP_LEN];
    size_t turn_count, turn_next;

    struct view_ring_handler handlers[PROBE_MAX_RINGS];

    struct view_gauge_sample gauge_history[VIEW_GAUGE_HISTORY];
    size_t gauge_count, gauge_next;

    /* What the clients see (view_tracker_add_clients()). */
    bool have_clients;
    size_t client_loads;
    int64_t client_connections, client_errors, client_errors_base;
    struct histogram client_base, client_next, client_now, client_prev;
    uint64_t client_window_next_ns;
    uint64_t client_rate_t_ns;
    int64_t client_rate_replies;
    double client_rps;
    double client_series[VIEW_SERIES_LEN];    /* p99 per sample, ns */
    size_t client_series_count, client_series_next;

    /* Peaks over the whole run, for `evlab demo --duration`'s summary. */
    int64_t peak_queued, peak_threads, peak_connections, peak_rss;
    uint64_t first_t_ns;
    int64_t first_requests;
};

struct view_tracker *view_tracker_new(const struct probe_info *info);
void view_tracker_free(struct view_tracker *tracker);
void view_tracker_init(struct view_tracker *tracker, const struct probe_info *info);

/* The pane will show `message` instead of numbers (status ERROR). */
void view_tracker_set_error(struct view_tracker *tracker, const char *message);

/* Feeds one snapshot (and the server's resident memory, -1 if unknown). */
void view_tracker_add_snapshot(struct view_tracker *tracker,
                               const struct probe_snapshot *snapshot, int64_t rss_bytes);

/* Feeds events in time order, and how many the reader says were lost. */
void view_tracker_add_events(struct view_tracker *tracker,
                             const struct probe_event_record *events, size_t n,
                             uint64_t missed);

/* Feeds what the server's clients measured so far, at time t_ns. */
void view_tracker_add_clients(struct view_tracker *tracker,
                              const struct view_client_totals *totals, uint64_t t_ns);

/* The server is gone: the pane keeps its last picture and says so. */
void view_tracker_mark_gone(struct view_tracker *tracker, const char *why);

enum view_kind view_kind_from_model(const char *model);

/* Fills `parts` (VIEW_MAX_PARTS entries) with what "queued" is made of
 * for a server of this kind, sets *count, and returns the total. */
int64_t view_queued_parts(enum view_kind kind, const int64_t *gauges,
                          struct view_part *parts, size_t *count);

#endif
