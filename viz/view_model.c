/*
 * view_model.c — from a tracker (and, in step mode, a recording) to the
 * numbers and strings of one pane (see view_model.h).  No terminal, no
 * clock, no I/O: every input arrives as a snapshot or an event array, so
 * the unit tests can build any situation by hand and check every number.
 *
 * Design.  Both the live picture and step mode first reduce the server to
 * one "frame": the time T, the gauges at T, and for every thread (ring)
 * its state at T and the handler it is inside, if any.  Live, the frame
 * comes from the latest snapshot plus the handler each ring's events say
 * it entered (view_tracker.c); in step mode it comes from replaying the
 * recording up to event N (view_replay.c).  Everything after that — the
 * threads list, the longest running handler, the blocked-loop alert, the
 * connections being served — is computed from the frame by the same code,
 * so the two modes cannot disagree about what a state means.
 *
 * No sentences are written here: the pane holds codes (states, calls,
 * routes, fds, durations) and raw event records, and view_text.c puts
 * them into words.  That keeps this file about measuring, and lets the
 * tests check the numbers without parsing text.
 */
#include "view_model.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


const char *const view_hist_row_labels[VIEW_HIST_ROWS] = {
    "<10us", "<100us", "<1ms", "<10ms", "<100ms", "<1s", ">=1s"
};

/* Upper bounds (exclusive) of the histogram rows, in nanoseconds. */
static const uint64_t hist_row_limits[VIEW_HIST_ROWS - 1] = {
    10000ull, 100000ull, 1000000ull, 10000000ull, 100000000ull, 1000000000ull
};

/* One thread as a frame sees it: the replay's view of a ring plus the
 * labels that only the snapshot knows. */
struct frame_thread {
    const struct view_ring_replay *ring;
    int index;                /* ring number */
    int tid;
    const char *role;
};

/* The server at one instant, whichever way we got there. */
struct frame {
    uint64_t t_ns;
    const int64_t *gauges;
    struct frame_thread threads[PROBE_MAX_RINGS];
    size_t thread_count;
};

void view_options_init(struct view_options *options)
{
    options->budget_ns = (uint64_t)VIEW_DEFAULT_BUDGET_MS * 1000000u;
    options->thread_rows = VIEW_THREAD_ROWS;
    options->log_lines = VIEW_LOG_LINES;
}

/* Copies a ring of doubles out oldest first. */
static size_t series_copy(const double *ring, size_t count, size_t next, double *out)
{
    size_t start = count == VIEW_SERIES_LEN ? next : 0;
    for (size_t i = 0; i < count; i++)
        out[i] = ring[(start + i) % VIEW_SERIES_LEN];
    return count;
}

/* --- Frames -------------------------------------------------------------- */

/* Role and tid of a ring, as the latest snapshot knows them. */
static void ring_labels(const struct probe_snapshot *snap, int ring, const char **role, int *tid)
{
    *role = "?";
    *tid = 0;
    for (size_t i = 0; i < snap->thread_count && i < PROBE_MAX_RINGS; i++) {
        if (snap->threads[i].ring == ring) {
            *role = snap->threads[i].role;
            *tid = snap->threads[i].tid;
            return;
        }
    }
}

/* The live frame: the snapshot's ring headers, with the handler each ring
 * is inside taken from its events when the header cannot say (blocked
 * inside a handler).  `rings` is caller storage indexed by ring. */
static void frame_from_snapshot(const struct view_tracker *tracker,
                                struct view_ring_replay *rings, struct frame *frame)
{
    const struct probe_snapshot *snap = &tracker->snap;
    frame->t_ns = snap->taken_ns;
    frame->gauges = snap->gauges;
    frame->thread_count = 0;
    for (size_t i = 0; i < snap->thread_count && i < PROBE_MAX_RINGS; i++) {
        const struct probe_thread_info *info = &snap->threads[i];
        if (info->ring < 0 || info->ring >= PROBE_MAX_RINGS)
            continue;
        struct view_ring_replay *ring = &rings[info->ring];
        *ring = (struct view_ring_replay){
            .exists = info->state != PROBE_STATE_EXITED, .state = info->state,
            .call = info->call, .fd = info->fd, .since_ns = info->since_ns };
        if (info->state == PROBE_STATE_HANDLER)
            ring->handler = (struct view_ring_handler){
                .active = true, .route = info->route, .fd = info->fd, .start_ns = info->since_ns };
        /* The events say which handler it entered; the ring's own flag,
         * read with the state, says whether it is still inside: the view
         * may not yet have drained the HANDLER_END of a handler that just
         * returned to poll(). */
        else if (info->state == PROBE_STATE_BLOCKED && !info->outside_handler &&
                 tracker->handlers[info->ring].active &&
                 tracker->handlers[info->ring].start_ns <= info->since_ns)
            ring->handler = tracker->handlers[info->ring];
        frame->threads[frame->thread_count++] = (struct frame_thread){
            .ring = ring, .index = info->ring, .tid = info->tid, .role = info->role };
    }
}

/* The step frame: every ring the replay knows about. */
static void frame_from_replay(const struct view_tracker *tracker, const struct view_replay *replay,
                              uint64_t t_ns, const int64_t *gauges, struct frame *frame)
{
    frame->t_ns = t_ns;
    frame->gauges = gauges;
    frame->thread_count = 0;
    for (int r = 0; r < PROBE_MAX_RINGS; r++) {
        const struct view_ring_replay *ring = &replay->rings[r];
        if (!ring->exists)
            continue;
        struct frame_thread *thread = &frame->threads[frame->thread_count++];
        thread->ring = ring;
        thread->index = r;
        ring_labels(&tracker->snap, r, &thread->role, &thread->tid);
    }
}

static bool role_is_worker(const char *role)
{
    return strncmp(role, "worker", 6) == 0;
}

/* How long a thread has kept the server from doing anything else, for
 * the models where one thread is everything: 0 when it is not blocking.
 * The loop thread blocks the loop when it runs a handler or waits in any
 * call but the loop's own poll(); the blocking model's one thread also
 * blocks everyone while it waits on one client. */
static uint64_t blocking_time(enum view_kind kind, const struct frame_thread *thread,
                              uint64_t now)
{
    const struct view_ring_replay *ring = thread->ring;
    if (role_is_worker(thread->role))
        return 0;
    uint64_t since;
    if (ring->handler.active)
        since = ring->handler.start_ns;
    else if (ring->state == PROBE_STATE_HANDLER)
        since = ring->since_ns;
    else if (ring->state == PROBE_STATE_BLOCKED && ring->call != PROBE_CALL_POLL &&
             ring->call != PROBE_CALL_ACCEPT && ring->call != PROBE_CALL_WORK_WAIT &&
             (kind == VIEW_KIND_LOOP || (kind == VIEW_KIND_BLOCKING && ring->fd >= 0)))
        since = ring->since_ns;
    else
        return 0;
    return now > since ? now - since : 0;
}

/* Header, handler and alert fields that depend on the threads at T. */
static void fill_from_frame(enum view_kind kind, const struct frame *frame,
                            const struct view_options *options, struct view_pane *out)
{
    uint64_t now = frame->t_ns;
    const struct frame_thread *worst = NULL;
    uint64_t worst_ns = 0;
    const struct frame_thread *blocker = NULL;
    uint64_t blocker_ns = 0;
    out->served_count = 0;
    out->thread_total = 0;

    for (size_t i = 0; i < frame->thread_count; i++) {
        const struct frame_thread *thread = &frame->threads[i];
        const struct view_ring_replay *ring = thread->ring;
        if (!ring->exists || ring->state == PROBE_STATE_EXITED)
            continue;
        out->thread_total++;
        bool in_handler = ring->handler.active || ring->state == PROBE_STATE_HANDLER;
        if (in_handler) {
            uint64_t start = ring->handler.active ? ring->handler.start_ns : ring->since_ns;
            uint64_t ran = now > start ? now - start : 0;
            if (worst == NULL || ran > worst_ns) {
                worst = thread;
                worst_ns = ran;
            }
        }
        /* Being served: inside a handler; for the blocking model also the
         * one connection its thread is reading or writing. */
        bool served = in_handler ||
                      (kind == VIEW_KIND_BLOCKING && ring->state == PROBE_STATE_BLOCKED &&
                       ring->fd >= 0 &&
                       (ring->call == PROBE_CALL_READ || ring->call == PROBE_CALL_WRITE));
        if (served) {
            if (out->served_count < VIEW_SERVED_MAX)
                out->served_fds[out->served_count] = in_handler && ring->handler.active
                                                         ? ring->handler.fd : ring->fd;
            out->served_count++;
        }
        if (kind == VIEW_KIND_LOOP || kind == VIEW_KIND_BLOCKING) {
            uint64_t blocked = blocking_time(kind, thread, now);
            if (blocked > blocker_ns) {
                blocker = thread;
                blocker_ns = blocked;
            }
        }
    }
    out->threads_listed = frame->thread_count;

    out->handler_running = worst != NULL;
    if (worst != NULL) {
        const struct view_ring_replay *ring = worst->ring;
        out->longest_ns = worst_ns;
        out->longest_route = ring->handler.active ? ring->handler.route : 0;
        out->longest_fd = ring->handler.active ? ring->handler.fd : ring->fd;
        out->longest_tid = worst->tid;
        out->longest_blocked_in_call = ring->state == PROBE_STATE_BLOCKED;
        out->longest_call = ring->call;
    }

    /* The alert.  Only strictly past the budget: a handler that takes
     * exactly the budget is still within it. */
    out->alert = VIEW_ALERT_NONE;
    if (blocker != NULL && blocker_ns > options->budget_ns) {
        const struct view_ring_replay *ring = blocker->ring;
        out->alert = VIEW_ALERT_BLOCKED;
        out->alert_ns = blocker_ns;
        out->alert_call = ring->call;
        out->alert_route = ring->handler.active ? ring->handler.route : 0;
        if (ring->handler.active && ring->state == PROBE_STATE_BLOCKED) {
            out->alert_cause = VIEW_CAUSE_HANDLER_IN_CALL;
            out->alert_fd = ring->handler.fd;
        } else if (ring->handler.active || ring->state == PROBE_STATE_HANDLER) {
            out->alert_cause = VIEW_CAUSE_HANDLER_RUNNING;
            out->alert_fd = ring->handler.active ? ring->handler.fd : ring->fd;
        } else {
            out->alert_cause = VIEW_CAUSE_WAITING_IN_CALL;
            out->alert_fd = ring->fd;
        }
    } else if (worst != NULL && worst_ns > options->budget_ns &&
               kind != VIEW_KIND_LOOP && kind != VIEW_KIND_BLOCKING) {
        /* Other threads keep serving: slow, not blocked. */
        out->alert = VIEW_ALERT_SLOW;
        out->alert_cause = VIEW_CAUSE_HANDLER_RUNNING;
        out->alert_ns = worst_ns;
        out->alert_route = out->longest_route;
        out->alert_fd = out->longest_fd;
    }
}

/* Copies what a thread is doing into a row, for view_text_thread_doing(). */
static void row_from_ring(const struct view_ring_replay *ring, struct view_thread_row *row)
{
    row->state = ring->state;
    row->call = ring->call;
    row->fd = ring->fd;
    row->in_handler = ring->handler.active;
    row->route = ring->handler.active ? ring->handler.route : 0;
    row->handler_fd = ring->handler.fd;
}

/* A group of threads doing the same thing, for the collapsed list. */
struct thread_group {
    uint8_t state, call;
    uint16_t route;
    size_t count;
    uint64_t longest_ns;
};

static int compare_groups(const void *left, const void *right)
{
    const struct thread_group *a = left, *b = right;
    if (a->count != b->count)
        return a->count < b->count ? 1 : -1;
    return (int)a->state - (int)b->state;
}

static void fill_threads(const struct frame *frame, const struct view_options *options,
                         struct view_pane *out)
{
    size_t limit = options->thread_rows < VIEW_THREAD_ROWS ? options->thread_rows
                                                           : VIEW_THREAD_ROWS;
    out->thread_row_count = 0;
    out->threads_collapsed = out->thread_total > limit;
    if (!out->threads_collapsed) {
        for (size_t i = 0; i < frame->thread_count; i++) {
            const struct frame_thread *thread = &frame->threads[i];
            const struct view_ring_replay *ring = thread->ring;
            if (!ring->exists || ring->state == PROBE_STATE_EXITED)
                continue;
            uint64_t start = ring->state == PROBE_STATE_BLOCKED || !ring->handler.active
                                 ? ring->since_ns : ring->handler.start_ns;
            uint64_t age = start != 0 && frame->t_ns > start ? frame->t_ns - start : 0;
            struct view_thread_row *row = &out->thread_rows[out->thread_row_count++];
            memset(row, 0, sizeof *row);
            snprintf(row->role, sizeof row->role, "%s", thread->role);
            row->tid = thread->tid;
            row_from_ring(ring, row);
            row->age_ns = age;
            row->age_known = start != 0;
            row->state = ring->state;
            row->over_budget = (ring->state == PROBE_STATE_HANDLER || ring->handler.active) &&
                               age > options->budget_ns;
        }
        return;
    }
    /* Too many to list: count them by what they are doing. */
    struct thread_group groups[64];
    size_t group_count = 0;
    for (size_t i = 0; i < frame->thread_count; i++) {
        const struct view_ring_replay *ring = frame->threads[i].ring;
        if (!ring->exists || ring->state == PROBE_STATE_EXITED)
            continue;
        uint16_t route = ring->handler.active ? ring->handler.route : 0;
        uint8_t call = ring->state == PROBE_STATE_BLOCKED ? ring->call : 0;
        bool handler_like = ring->state == PROBE_STATE_HANDLER;
        size_t g;
        for (g = 0; g < group_count; g++)
            if (groups[g].state == ring->state && groups[g].call == call &&
                (!handler_like || groups[g].route == route))
                break;
        if (g == group_count) {
            if (group_count == sizeof groups / sizeof groups[0])
                continue;             /* absurdly varied: the total still counts it */
            groups[group_count++] = (struct thread_group){
                .state = ring->state, .call = call, .route = handler_like ? route : 0 };
        }
        groups[g].count++;
    }
    qsort(groups, group_count, sizeof groups[0], compare_groups);
    for (size_t g = 0; g < group_count && out->thread_row_count < limit; g++) {
        struct view_thread_row *row = &out->thread_rows[out->thread_row_count++];
        memset(row, 0, sizeof *row);
        row->state = groups[g].state;
        row->call = groups[g].call;
        row->route = groups[g].route;
        row->in_handler = groups[g].state == PROBE_STATE_HANDLER;
        row->fd = -1;
        row->handler_fd = -1;
        row->group_count = groups[g].count;
    }
}

/* One log line: the event, who emitted it, its time relative to the
 * reference instant. */
static void log_line(const struct probe_snapshot *snap, const struct probe_event_record *ev,
                     uint64_t reference_ns, struct view_log_line *line)
{
    const char *role;
    int tid;
    ring_labels(snap, ev->ring, &role, &tid);
    line->event = *ev;
    snprintf(line->role, sizeof line->role, "%s", role);
    line->delta_ns = (int64_t)(ev->t_ns - reference_ns);
}

static void fill_histogram(const struct histogram *hist, struct view_pane *out)
{
    memset(out->hist_rows, 0, sizeof out->hist_rows);
    out->hist_total = 0;
    for (size_t i = 0; i < HIST_BUCKETS; i++) {
        uint64_t c = atomic_load_explicit(&hist->buckets[i], memory_order_relaxed);
        if (c == 0)
            continue;
        uint64_t low = histogram_bucket_low(i);
        size_t row = 0;
        while (row < VIEW_HIST_ROWS - 1 && low >= hist_row_limits[row])
            row++;
        out->hist_rows[row] += c;
        out->hist_total += c;
    }
    out->p50_ns = histogram_percentile(hist, 50);
    out->p90_ns = histogram_percentile(hist, 90);
    out->p99_ns = histogram_percentile(hist, 99);
    out->max_ns = histogram_max(hist);
    out->window_count = out->hist_total;
}

/* Everything both modes take from the tracker and the gauges. */
static void fill_common(const struct view_tracker *tracker, const int64_t *gauges,
                        struct view_pane *out)
{
    snprintf(out->name, sizeof out->name, "%s", tracker->info.name);
    snprintf(out->model, sizeof out->model, "%s", tracker->info.model);
    out->kind = tracker->kind;
    out->port = tracker->info.port;
    out->pid = tracker->info.pid;
    out->status = tracker->status;
    snprintf(out->status_text, sizeof out->status_text, "%s", tracker->status_text);
    if (!tracker->have_snapshot)
        return;

    out->connections = gauges[PROBE_GAUGE_CONNECTIONS];
    out->threads = gauges[PROBE_GAUGE_THREADS];
    out->rss_bytes = tracker->rss_bytes;
    out->requests_done = gauges[PROBE_GAUGE_REQUESTS_DONE];
    out->requests_per_s = tracker->requests_per_s;
    out->events_dropped = gauges[PROBE_GAUGE_EVENTS_DROPPED];
    out->view_missed = tracker->missed;

    out->queued = view_queued_parts(tracker->kind, gauges, out->parts, &out->part_count);
    out->queued_series_len = series_copy(tracker->queued_series, tracker->series_count,
                                         tracker->series_next, out->queued_series);
    out->ready_series_len = series_copy(tracker->ready_series, tracker->series_count,
                                        tracker->series_next, out->ready_series);

    out->ready_is_turns = tracker->kind == VIEW_KIND_LOOP;
    out->ready = out->ready_is_turns ? gauges[PROBE_GAUGE_LOOP_LAST_READY]
                                     : gauges[PROBE_GAUGE_READY];
    out->turns_per_s = tracker->turns_per_s;
    out->loop_utilisation = tracker->loop_utilisation;
    out->timers_pending = gauges[PROBE_GAUGE_TIMERS_PENDING];
    out->work_queued = gauges[PROBE_GAUGE_WORK_QUEUED];
    out->workers = gauges[PROBE_GAUGE_WORKERS];

    /* The handler window; the whole run when the window saw nothing. */
    struct histogram *window = malloc(sizeof *window);
    if (window == NULL)
        return;
    histogram_window(window, &tracker->snap.hists[PROBE_HIST_HANDLER_NS],
                     &tracker->handler_base);
    out->window_recent = histogram_count(window) > 0;
    fill_histogram(out->window_recent ? window : &tracker->snap.hists[PROBE_HIST_HANDLER_NS],
                   out);
    histogram_window(window, &tracker->snap.hists[PROBE_HIST_LOOP_LAG_NS], &tracker->lag_base);
    out->loop_lag_p99_ns = histogram_count(window) > 0
                               ? histogram_percentile(window, 99)
                               : histogram_percentile(&tracker->snap.hists[PROBE_HIST_LOOP_LAG_NS], 99);

    /* The clients' side, over the same kind of window. */
    out->clients_present = tracker->have_clients;
    if (tracker->have_clients) {
        out->client_loads = tracker->client_loads;
        out->client_connections = tracker->client_connections;
        out->client_errors = tracker->client_errors;
        out->client_rps = tracker->client_rps;
        histogram_window(window, &tracker->client_now, &tracker->client_base);
        out->client_window_count = histogram_count(window);
        out->client_p50_ns = histogram_percentile(window, 50);
        out->client_p99_ns = histogram_percentile(window, 99);
        out->client_series_len = series_copy(tracker->client_series,
                                             tracker->client_series_count,
                                             tracker->client_series_next, out->client_series);
    }
    free(window);
}

void view_build_live(const struct view_tracker *tracker, const struct view_history *history,
                     const struct view_options *options, struct view_pane *out)
{
    memset(out, 0, sizeof *out);
    out->loop_utilisation = -1;
    fill_common(tracker, tracker->snap.gauges, out);
    if (!tracker->have_snapshot || tracker->status == VIEW_STATUS_ERROR)
        return;

    /* The poll() strip, oldest first. */
    size_t start = tracker->turn_count == VIEW_TURN_STRIP_LEN ? tracker->turn_next : 0;
    for (size_t i = 0; i < tracker->turn_count; i++)
        out->turns[i] = tracker->turns[(start + i) % VIEW_TURN_STRIP_LEN];
    out->turn_count = tracker->turn_count;

    struct view_ring_replay *rings = calloc(PROBE_MAX_RINGS, sizeof *rings);
    struct frame *frame = malloc(sizeof *frame);
    if (rings != NULL && frame != NULL) {
        frame_from_snapshot(tracker, rings, frame);
        fill_from_frame(tracker->kind, frame, options, out);
        fill_threads(frame, options, out);
    }
    free(rings);
    free(frame);

    if (history != NULL) {
        size_t want = options->log_lines < VIEW_LOG_LINES ? options->log_lines : VIEW_LOG_LINES;
        size_t n = history->count < want ? history->count : want;
        for (size_t i = 0; i < n; i++)
            log_line(&tracker->snap, view_history_at(history, history->count - n + i),
                     tracker->snap.taken_ns, &out->log[i]);
        out->log_count = n;
    }
}

/* The gauges as the last snapshot at or before t_ns saw them (the oldest
 * kept when t_ns is older still). */
static const int64_t *gauges_at(const struct view_tracker *tracker, uint64_t t_ns)
{
    const int64_t *best = tracker->snap.gauges;
    uint64_t best_t = 0;
    bool found = false;
    const int64_t *oldest = NULL;
    uint64_t oldest_t = UINT64_MAX;
    for (size_t i = 0; i < tracker->gauge_count; i++) {
        const struct view_gauge_sample *sample = &tracker->gauge_history[i];
        if (sample->t_ns <= t_ns && (!found || sample->t_ns > best_t)) {
            best = sample->gauges;
            best_t = sample->t_ns;
            found = true;
        }
        if (sample->t_ns < oldest_t) {
            oldest = sample->gauges;
            oldest_t = sample->t_ns;
        }
    }
    return found || oldest == NULL ? best : oldest;
}

size_t view_step_upto(const struct probe_event_record *events, size_t n, size_t index,
                      bool has_event, uint64_t t_ns)
{
    return has_event ? (index < n ? index + 1 : n) : view_events_until(events, n, t_ns);
}

void view_build_step(const struct view_tracker *tracker,
                     const struct probe_event_record *events, size_t n,
                     size_t index, bool has_event, uint64_t t_ns,
                     const struct view_options *options, struct view_pane *out)
{
    struct view_replay *replay = malloc(sizeof *replay);
    if (replay == NULL) {
        memset(out, 0, sizeof *out);
        return;
    }
    view_replay_begin(events, n, replay);
    view_replay_continue(replay, events, n, view_step_upto(events, n, index, has_event, t_ns));
    view_build_step_from(tracker, events, n, index, has_event, t_ns, replay, options, out);
    free(replay);
}

void view_build_step_from(const struct view_tracker *tracker,
                          const struct probe_event_record *events, size_t n,
                          size_t index, bool has_event, uint64_t t_ns,
                          struct view_replay *replay,
                          const struct view_options *options, struct view_pane *out)
{
    memset(out, 0, sizeof *out);
    out->loop_utilisation = -1;
    size_t upto = view_step_upto(events, n, index, has_event, t_ns);
    /* The caller folded exactly the events this position shows. */
    assert(replay->applied == upto);
    uint64_t at = has_event && index < n ? events[index].t_ns : t_ns;

    const int64_t *gauges = gauges_at(tracker, at);
    fill_common(tracker, gauges, out);
    out->stepping = true;
    out->step_has_event = has_event && index < n;
    out->step_index = index;
    out->step_count = n;
    out->step_t_ns = at;
    if (!tracker->have_snapshot || tracker->status == VIEW_STATUS_ERROR)
        return;

    struct frame *frame = malloc(sizeof *frame);
    if (frame == NULL)
        return;
    view_replay_fill_silent(replay, events, n, &tracker->snap);
    frame_from_replay(tracker, replay, at, gauges, frame);
    fill_from_frame(tracker->kind, frame, options, out);
    fill_threads(frame, options, out);

    /* The loop's turn as it stood at this event. */
    memcpy(out->turns, replay->turns, replay->turn_count * sizeof out->turns[0]);
    out->turn_count = replay->turn_count;
    if (tracker->kind == VIEW_KIND_LOOP) {
        out->ready = replay->turn_count > 0 ? replay->turns[replay->turn_count - 1] : 0;
        int64_t waiting = replay->in_turn ? (int64_t)replay->turn_ready -
                                                (int64_t)replay->turn_dispatched : 0;
        for (size_t i = 0; i < out->part_count; i++) {
            if (strcmp(out->parts[i].label, "ready, not dispatched") == 0) {
                out->queued += waiting - out->parts[i].value;
                out->parts[i].value = waiting;
            }
        }
    } else {
        out->ready = (int64_t)out->served_count;
    }

    /* The log ends at the current event, times relative to it. */
    size_t want = options->log_lines < VIEW_LOG_LINES ? options->log_lines : VIEW_LOG_LINES;
    size_t count = upto < want ? upto : want;
    for (size_t i = 0; i < count; i++) {
        size_t e = upto - count + i;
        log_line(&tracker->snap, &events[e], at, &out->log[i]);
        out->log[i].current = out->step_has_event && e == index;
    }
    out->log_count = count;
    free(frame);
}
