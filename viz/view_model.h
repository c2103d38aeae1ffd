/*
 * view_model.h — what one pane of `evlab view` shows, as numbers and short
 * strings, computed from a server's instrumentation with no terminal in
 * sight.  This is the layer the unit tests check (tests/unit/
 * test_view_model.c) and the one `evlab view --once --plain` prints.
 *
 * Three pieces:
 *
 *   struct view_tracker   per server, fed over time: every snapshot and
 *                         every event the view reads.  It keeps what a
 *                         single snapshot cannot tell: rates, sparkline
 *                         history, the recent poll() turns, the handler
 *                         histogram of the last few seconds, which handler
 *                         each thread is inside, and peaks for a summary.
 *   struct view_pane      one picture: built from a tracker (live) or from
 *                         a tracker plus a recording replayed up to event
 *                         N (step mode).  Plain data; view_text.h lays it
 *                         out as lines, view_paint.h draws those lines.
 *   struct view_replay    the state of the server's threads and of the
 *                         loop's current turn, reconstructed by folding
 *                         recorded events 0..N-1 (slow motion).
 *
 * What "queued" and "ready" mean differs per model (PRODUCT.md); the
 * model's kind, from the segment's model string, decides which gauges
 * make up each number, so every pane says what its numbers are made of.
 *
 * Errors: none; every function accepts any instrumentation data, however
 * odd (unknown kinds, rings out of range, clocks going backwards).
 * Ownership: the caller allocates trackers (they are large: use
 * view_tracker_new()/view_tracker_free() or embed one in heap memory) and
 * panes; nothing here keeps a pointer to the caller's data.
 */
#ifndef EVLAB_VIEW_MODEL_H
#define EVLAB_VIEW_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "probe/probe_reader.h"
#include "view_history.h"
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

enum view_alert {
    VIEW_ALERT_NONE = 0,
    VIEW_ALERT_SLOW,          /* a handler is over budget, others still served */
    VIEW_ALERT_BLOCKED        /* over budget and nothing else can run: red */
};

/* Rows of the handler-runtime histogram: one per decade of duration. */
#define VIEW_HIST_ROWS 7
extern const char *const view_hist_row_labels[VIEW_HIST_ROWS];

#define VIEW_MAX_PARTS   7
#define VIEW_SERVED_MAX  8
#define VIEW_TEXT_MAX    160

struct view_options {
    uint64_t budget_ns;       /* handler time that counts as blocking */
    size_t thread_rows;       /* threads listed before collapsing to counts */
    size_t log_lines;         /* event log lines wanted (<= VIEW_LOG_LINES) */
};

/* Fills the defaults: 10 ms budget, VIEW_THREAD_ROWS, VIEW_LOG_LINES. */
void view_options_init(struct view_options *options);

/* One component of "queued": a static label and its current value. */
struct view_part {
    const char *label;
    int64_t value;
};

/* One line of the threads section: either one thread (role, tid, what
 * it does, for how long) or, when collapsed, one count ("400 waiting in
 * read()") in `doing` with an empty role. */
struct view_thread_row {
    char role[PROBE_ROLE_MAX];
    int tid;
    char doing[64];
    uint64_t age_ns;
    bool age_known;
    uint8_t state;            /* enum probe_thread_state; for colour */
    bool over_budget;
};

struct view_log_line {
    char text[144];
    bool current;             /* step mode: the event we stand on */
};

struct view_pane {
    /* Identity and health. */
    char name[PROBE_NAME_MAX];
    char model[PROBE_MODEL_MAX];
    enum view_kind kind;
    int port, pid;
    enum view_status status;
    char status_text[VIEW_TEXT_MAX];

    /* Header. */
    int64_t connections, threads, rss_bytes;
    size_t threads_listed;        /* threads with an instrumentation ring */
    int64_t requests_done;
    double requests_per_s;
    uint64_t p50_ns, p90_ns, p99_ns, max_ns;
    uint64_t window_count;        /* handlers behind the percentiles */
    bool window_recent;           /* true: last seconds; false: since start */
    int64_t events_dropped;       /* by the server: no free ring */
    uint64_t view_missed;         /* by this view: it fell behind a ring */

    /* Queued events. */
    int64_t queued;
    struct view_part parts[VIEW_MAX_PARTS];
    size_t part_count;
    double queued_series[VIEW_SERIES_LEN];
    size_t queued_series_len;

    /* Ready events. */
    int64_t ready;
    bool ready_is_turns;          /* loop: poll() results; else: being served */
    uint32_t turns[VIEW_TURN_STRIP_LEN];   /* oldest first */
    size_t turn_count;
    double turns_per_s;
    double loop_utilisation;      /* 0..1; negative when unknown */
    uint64_t loop_lag_p99_ns;
    int64_t timers_pending, work_queued, workers;
    int served_fds[VIEW_SERVED_MAX];
    size_t served_count;          /* may exceed VIEW_SERVED_MAX: count only */
    double ready_series[VIEW_SERIES_LEN];
    size_t ready_series_len;

    /* Handler runtime. */
    uint64_t hist_rows[VIEW_HIST_ROWS];
    uint64_t hist_total;
    bool handler_running;
    uint64_t longest_ns;          /* the longest handler running now */
    unsigned longest_route;
    int longest_fd, longest_tid;
    bool longest_blocked_in_call; /* it is waiting inside a call (sleep...) */
    uint8_t longest_call;
    enum view_alert alert;
    char alert_text[VIEW_TEXT_MAX];

    /* Threads. */
    size_t thread_total;          /* listed threads that have not exited */
    bool threads_collapsed;
    struct view_thread_row thread_rows[VIEW_THREAD_ROWS + 8];
    size_t thread_row_count;

    /* Event log, oldest first. */
    struct view_log_line log[VIEW_LOG_LINES];
    size_t log_count;

    /* Step mode. */
    bool stepping;
    size_t step_index, step_count;    /* event index in this pane's recording */
    bool step_has_event;              /* false: T is before this pane's first */
    uint64_t step_t_ns;
};

/* --- The tracker --------------------------------------------------------- */

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

struct view_tracker {
    struct probe_info info;
    enum view_kind kind;
    enum view_status status;
    char status_text[VIEW_TEXT_MAX];

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

/* The server is gone: the pane keeps its last picture and says so. */
void view_tracker_mark_gone(struct view_tracker *tracker, const char *why);

enum view_kind view_kind_from_model(const char *model);

/* --- Building panes ------------------------------------------------------ */

/* The live picture.  `history` (may be NULL) supplies the event log;
 * times in the log are relative to the latest snapshot. */
void view_build_live(const struct view_tracker *tracker, const struct view_history *history,
                     const struct view_options *options, struct view_pane *out);

/* The picture at recorded event `index` of `events[0..n)` (step mode):
 * thread states, the loop's current turn, the handler running and the
 * event log come from replaying the recording; gauges from the tracker's
 * sample nearest before that event.  With `has_event` false the pane shows
 * the state just before events[0] at time t_ns (another pane's event is
 * the current one and this server had none yet). */
void view_build_step(const struct view_tracker *tracker,
                     const struct probe_event_record *events, size_t n,
                     size_t index, bool has_event, uint64_t t_ns,
                     const struct view_options *options, struct view_pane *out);

/* Events of events[0..n) at or before t_ns (they are in time order). */
size_t view_events_until(const struct probe_event_record *events, size_t n, uint64_t t_ns);

/* --- Replay -------------------------------------------------------------- */

struct view_ring_replay {
    bool exists;              /* started before this point, not exited */
    uint8_t state;            /* enum probe_thread_state */
    uint8_t call;             /* when BLOCKED */
    int32_t fd;
    uint64_t since_ns;        /* 0: before the recording began */
    struct view_ring_handler handler;
};

struct view_replay {
    size_t applied;           /* events folded in: 0..applied-1 */
    uint64_t t_ns;
    struct view_ring_replay rings[PROBE_MAX_RINGS];
    /* The loop's turn in progress: poll() returned `turn_ready` events,
     * `turn_dispatched` of them have been dispatched so far. */
    bool in_turn;
    uint32_t turn_ready, turn_dispatched;
    uint32_t turns[VIEW_TURN_STRIP_LEN];   /* oldest first */
    size_t turn_count;
    int64_t accepts, closes, handlers_done;
    uint64_t last_lateness_ns;
};

/* Folds events[0..upto) into *out, starting from the state each thread
 * must have had before events[0] (inferred from its first event in the
 * whole recording; for a thread with no events, from `fallback`, the
 * snapshot taken after the recording, may be NULL). */
void view_replay_run(const struct probe_event_record *events, size_t n, size_t upto,
                     const struct probe_snapshot *fallback, struct view_replay *out);

/* One event as a line of the log: "accept fd 7", "poll() returned 3". */
void view_event_describe(const struct probe_event_record *event, char *buf, size_t len);

#endif
