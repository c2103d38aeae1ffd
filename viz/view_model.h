/*
 * view_model.h — what one pane of `evlab view` shows, as numbers, codes
 * and raw event records, computed from a server's instrumentation with no
 * terminal in sight.  This is the layer the unit tests check (tests/unit/
 * test_view_model.c).  It writes no sentences: view_text.h words every
 * number and state of a pane, and view_paint.h draws those lines.
 *
 * A pane is built either from a tracker (view_tracker.h: live) or from a
 * tracker plus a recording replayed up to event N (view_replay.h: step
 * mode).  Both go through the same "frame" code in view_model.c, so the
 * two modes cannot disagree about what a state means.
 *
 * What "queued" and "ready" mean differs per model (README.md, "What the
 * view calls queued and ready"); the model's kind, from the segment's
 * model string, decides which gauges make up each number, so every pane
 * says what its numbers are made of.
 *
 * Errors: none; every function accepts any instrumentation data.
 * Ownership: the caller allocates panes; nothing here keeps a pointer to
 * the caller's data.
 */
#ifndef EVLAB_VIEW_MODEL_H
#define EVLAB_VIEW_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "probe/probe_reader.h"
#include "view_history.h"
#include "view_limits.h"
#include "view_replay.h"
#include "view_tracker.h"

enum view_alert {
    VIEW_ALERT_NONE = 0,
    VIEW_ALERT_SLOW,          /* a handler is over budget, others still served */
    VIEW_ALERT_BLOCKED        /* over budget and nothing else can run: red */
};

/* Rows of the handler-runtime histogram: one per decade of duration. */
#define VIEW_HIST_ROWS 7
extern const char *const view_hist_row_labels[VIEW_HIST_ROWS];

#define VIEW_SERVED_MAX  8

struct view_options {
    uint64_t budget_ns;       /* handler time that counts as blocking */
    size_t thread_rows;       /* threads listed before collapsing to counts */
    size_t log_lines;         /* event log lines wanted (<= VIEW_LOG_LINES) */
};

/* Fills the defaults: 10 ms budget, VIEW_THREAD_ROWS, VIEW_LOG_LINES. */
void view_options_init(struct view_options *options);

/* One line of the threads section: either one thread (role, tid, what
 * it does, for how long) or, when collapsed (group_count > 0, empty
 * role), how many threads do the same thing.  view_text_thread_doing()
 * puts "what it does" into words. */
struct view_thread_row {
    char role[PROBE_ROLE_MAX];
    int tid;
    uint8_t state;            /* enum probe_thread_state */
    uint8_t call;             /* enum probe_call, when BLOCKED */
    int32_t fd;               /* the thread's fd, -1 when none */
    bool in_handler;          /* inside a handler (route known) */
    uint16_t route;           /* enum route_id, when in_handler */
    int32_t handler_fd;
    size_t group_count;       /* collapsed rows: threads in the group */
    uint64_t age_ns;
    bool age_known;
    bool over_budget;
};

/* One event of the log: the record itself, who emitted it, and its time
 * relative to the pane's reference instant (view_text_log_line() words it). */
struct view_log_line {
    struct probe_event_record event;
    char role[PROBE_ROLE_MAX];
    int64_t delta_ns;
    bool current;             /* step mode: the event we stand on */
};

/* Why the blocked/slow alert is raised, so the text layer can say it. */
enum view_alert_cause {
    VIEW_CAUSE_HANDLER_IN_CALL = 0,   /* a handler waits inside a call */
    VIEW_CAUSE_HANDLER_RUNNING,       /* a handler is still computing */
    VIEW_CAUSE_WAITING_IN_CALL        /* no handler: the thread waits in a call */
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

    /* What the clients of this server see (the loads aimed at it). */
    bool clients_present;
    size_t client_loads;
    int64_t client_connections, client_errors;
    uint64_t client_p50_ns, client_p99_ns;
    uint64_t client_window_count;  /* replies behind the percentiles */
    double client_rps;
    double client_series[VIEW_SERIES_LEN];  /* p99 per sample, ns */
    size_t client_series_len;

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
    enum view_alert_cause alert_cause;
    uint64_t alert_ns;            /* how long it has been blocking/running */
    unsigned alert_route;         /* enum route_id of the handler, if any */
    int alert_fd;
    uint8_t alert_call;           /* enum probe_call it waits in */

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

/* How many of events[0..n) the step picture at that position folds in
 * (the event stood on included; with has_event false, those at or before
 * t_ns). */
size_t view_step_upto(const struct probe_event_record *events, size_t n, size_t index,
                      bool has_event, uint64_t t_ns);

/* view_build_step() without folding from event 0: `replay` already holds
 * events[0..view_step_upto(...)) folded (view_replay_begin() and
 * view_replay_continue(), or a saved copy of such a fold), so a caller
 * that keeps copies of the fold pays only for the events since the
 * nearest one.  Only the silent threads of *replay change (they are
 * filled from the tracker's snapshot, view_replay_fill_silent()); the
 * pane is the one view_build_step() builds, byte for byte. */
void view_build_step_from(const struct view_tracker *tracker,
                          const struct probe_event_record *events, size_t n,
                          size_t index, bool has_event, uint64_t t_ns,
                          struct view_replay *replay,
                          const struct view_options *options, struct view_pane *out);

#endif
