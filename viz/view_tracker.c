/*
 * view_tracker.c — one server followed over time (see view_tracker.h).  The view feeds every snapshot and every batch of events
 * it reads into a struct view_tracker; this file keeps what a single
 * snapshot cannot tell.
 *
 * Design.  A snapshot is one instant, but a pane needs change: requests
 * per second, the handler percentiles of the last few seconds, a sparkline
 * of "queued" and "ready", the newest poll() results, peaks for the demo's
 * summary.  Each is a small ring or a pair of baselines kept here and
 * updated in view_tracker_add_snapshot() and view_tracker_add_events();
 * nothing here formats text or knows about panes (view_model.c reads the
 * tracker to build one).
 *
 * Why track handlers from events at all?  A thread-model handler for
 * /sleep waits inside sleep(): its ring header then says "blocked in
 * sleep", not which handler it is in.  The HANDLER_BEGIN event that came
 * first does say it, so the tracker remembers it per ring.
 */
#include "view_tracker.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NS_PER_S 1000000000ull

enum view_kind view_kind_from_model(const char *model)
{
    if (strcmp(model, "blocking") == 0)
        return VIEW_KIND_BLOCKING;
    if (strcmp(model, "threads") == 0)
        return VIEW_KIND_THREADS;
    if (strcmp(model, "loop") == 0)
        return VIEW_KIND_LOOP;
    return VIEW_KIND_OTHER;
}

struct view_tracker *view_tracker_new(const struct probe_info *info)
{
    struct view_tracker *tracker = malloc(sizeof *tracker);
    if (tracker != NULL)
        view_tracker_init(tracker, info);
    return tracker;
}

void view_tracker_free(struct view_tracker *tracker)
{
    free(tracker);
}

void view_tracker_init(struct view_tracker *tracker, const struct probe_info *info)
{
    memset(tracker, 0, sizeof *tracker);
    if (info != NULL)
        tracker->info = *info;
    tracker->kind = view_kind_from_model(tracker->info.model);
    tracker->status = VIEW_STATUS_WAITING;
    tracker->rss_bytes = -1;
    tracker->loop_utilisation = -1;
    histogram_init(&tracker->handler_base);
    histogram_init(&tracker->handler_next);
    histogram_init(&tracker->lag_base);
    histogram_init(&tracker->lag_next);
    histogram_init(&tracker->snap.hists[PROBE_HIST_HANDLER_NS]);
    histogram_init(&tracker->client_base);
    histogram_init(&tracker->client_next);
    histogram_init(&tracker->client_now);
    histogram_init(&tracker->client_prev);
}

void view_tracker_set_error(struct view_tracker *tracker, const char *message)
{
    tracker->status = VIEW_STATUS_ERROR;
    snprintf(tracker->status_text, sizeof tracker->status_text, "%s", message);
}

void view_tracker_mark_gone(struct view_tracker *tracker, const char *why)
{
    if (tracker->status == VIEW_STATUS_ERROR)
        return;
    tracker->status = VIEW_STATUS_GONE;
    snprintf(tracker->status_text, sizeof tracker->status_text, "%s", why);
}

/* Fills `parts` with what "queued" is made of for this model and returns
 * the total.  The parts are read from separate gauges; when the server
 * also publishes a QUEUED total larger than their sum, the difference is
 * shown as "other" rather than hidden.  The pane (view_model.c) calls
 * this too, so the sparkline and the pane agree. */
int64_t view_queued_parts(enum view_kind kind, const int64_t *gauges,
                          struct view_part *parts, size_t *count)
{
    static const struct { enum probe_gauge gauge; const char *label; } all[] = {
        { PROBE_GAUGE_Q_ACCEPT_BACKLOG, "accept queue" },
        { PROBE_GAUGE_Q_PIPELINED, "pipelined requests" },
        { PROBE_GAUGE_Q_RUNNABLE, "runnable threads" },
        { PROBE_GAUGE_Q_UNDISPATCHED, "ready, not dispatched" },
        { PROBE_GAUGE_Q_TIMERS_EXPIRED, "expired timers" },
        { PROBE_GAUGE_Q_COMPLETIONS, "worker completions" },
    };
    /* Which of `all` each model has (README.md, "What the view calls queued and ready").
     * The loop drains its accept queue every turn and has no sampler
     * thread to measure it (it stays one thread), so it shows none. */
    static const bool has[][6] = {
        [VIEW_KIND_OTHER]    = { true, true, true, true, true, true },
        [VIEW_KIND_BLOCKING] = { true, true, false, false, false, false },
        [VIEW_KIND_THREADS]  = { true, false, true, false, false, false },
        [VIEW_KIND_LOOP]     = { false, false, false, true, true, true },
    };
    int64_t sum = 0;
    *count = 0;
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        if (!has[kind][i])
            continue;
        int64_t value = gauges[all[i].gauge];
        if (value < 0)
            value = 0;
        parts[*count].label = all[i].label;
        parts[*count].value = value;
        (*count)++;
        sum += value;
    }
    int64_t published = gauges[PROBE_GAUGE_QUEUED];
    if (published > sum) {
        parts[*count].label = "other";
        parts[*count].value = published - sum;
        (*count)++;
        sum = published;
    }
    return sum;
}

static void series_push(struct view_tracker *tracker, double queued, double ready)
{
    tracker->queued_series[tracker->series_next] = queued;
    tracker->ready_series[tracker->series_next] = ready;
    tracker->series_next = (tracker->series_next + 1) % VIEW_SERIES_LEN;
    if (tracker->series_count < VIEW_SERIES_LEN)
        tracker->series_count++;
}

/* Rates need two points a second or more apart; closer points would make
 * requests/s jump around at every refresh. */
static void update_rates(struct view_tracker *tracker, const struct probe_snapshot *snap)
{
    uint64_t dt = snap->taken_ns - tracker->rate_t_ns;
    if (snap->taken_ns <= tracker->rate_t_ns || dt < NS_PER_S)
        return;
    const int64_t *g = snap->gauges;
    double seconds = (double)dt / 1e9;
    tracker->requests_per_s = (double)(g[PROBE_GAUGE_REQUESTS_DONE] - tracker->rate_requests) / seconds;
    tracker->turns_per_s = (double)(g[PROBE_GAUGE_LOOP_TURNS] - tracker->rate_turns) / seconds;
    double busy = (double)(g[PROBE_GAUGE_LOOP_BUSY_NS] - tracker->rate_busy_ns) / (double)dt;
    tracker->loop_utilisation = busy < 0 ? 0 : busy > 1 ? 1 : busy;
    if (tracker->requests_per_s < 0)
        tracker->requests_per_s = 0;
    if (tracker->turns_per_s < 0)
        tracker->turns_per_s = 0;
    tracker->rate_t_ns = snap->taken_ns;
    tracker->rate_requests = g[PROBE_GAUGE_REQUESTS_DONE];
    tracker->rate_turns = g[PROBE_GAUGE_LOOP_TURNS];
    tracker->rate_busy_ns = g[PROBE_GAUGE_LOOP_BUSY_NS];
}

void view_tracker_add_snapshot(struct view_tracker *tracker,
                               const struct probe_snapshot *snapshot, int64_t rss_bytes)
{
    /* memcpy, not assignment: the histograms inside are atomics. */
    memcpy(&tracker->snap, snapshot, sizeof *snapshot);
    if (tracker->snap.thread_count > PROBE_MAX_RINGS)
        tracker->snap.thread_count = PROBE_MAX_RINGS;
    const int64_t *g = tracker->snap.gauges;
    uint64_t now = tracker->snap.taken_ns;

    if (!tracker->have_snapshot) {
        /* The first snapshot is the baseline of every rate and window. */
        tracker->first_t_ns = now;
        tracker->first_requests = g[PROBE_GAUGE_REQUESTS_DONE];
        tracker->rate_t_ns = now;
        tracker->rate_requests = g[PROBE_GAUGE_REQUESTS_DONE];
        tracker->rate_turns = g[PROBE_GAUGE_LOOP_TURNS];
        tracker->rate_busy_ns = g[PROBE_GAUGE_LOOP_BUSY_NS];
        histogram_copy(&tracker->handler_base, &snapshot->hists[PROBE_HIST_HANDLER_NS]);
        histogram_copy(&tracker->handler_next, &snapshot->hists[PROBE_HIST_HANDLER_NS]);
        histogram_copy(&tracker->lag_base, &snapshot->hists[PROBE_HIST_LOOP_LAG_NS]);
        histogram_copy(&tracker->lag_next, &snapshot->hists[PROBE_HIST_LOOP_LAG_NS]);
        tracker->window_next_ns = now;
        tracker->have_snapshot = true;
    }
    if (tracker->status == VIEW_STATUS_WAITING)
        tracker->status = VIEW_STATUS_LIVE;
    if (!snapshot->writer_alive && tracker->status == VIEW_STATUS_LIVE)
        view_tracker_mark_gone(tracker, "server gone: it exited; last picture kept");
    tracker->rss_bytes = rss_bytes;

    update_rates(tracker, &tracker->snap);

    /* Slide the window: what was "next" 5 s ago becomes the base, so the
     * percentiles cover the last 5 to 10 seconds. */
    if (now >= tracker->window_next_ns + VIEW_WINDOW_NS) {
        histogram_copy(&tracker->handler_base, &tracker->handler_next);
        histogram_copy(&tracker->handler_next, &snapshot->hists[PROBE_HIST_HANDLER_NS]);
        histogram_copy(&tracker->lag_base, &tracker->lag_next);
        histogram_copy(&tracker->lag_next, &snapshot->hists[PROBE_HIST_LOOP_LAG_NS]);
        tracker->window_next_ns = now;
        tracker->window_started = true;
    }

    struct view_part parts[VIEW_MAX_PARTS];
    size_t part_count;
    int64_t queued = view_queued_parts(tracker->kind, g, parts, &part_count);
    int64_t ready = tracker->kind == VIEW_KIND_LOOP ? g[PROBE_GAUGE_LOOP_LAST_READY]
                                                    : g[PROBE_GAUGE_READY];
    series_push(tracker, (double)queued, (double)ready);

    struct view_gauge_sample *sample = &tracker->gauge_history[tracker->gauge_next];
    sample->t_ns = now;
    memcpy(sample->gauges, g, sizeof sample->gauges);
    tracker->gauge_next = (tracker->gauge_next + 1) % VIEW_GAUGE_HISTORY;
    if (tracker->gauge_count < VIEW_GAUGE_HISTORY)
        tracker->gauge_count++;

    if (queued > tracker->peak_queued)
        tracker->peak_queued = queued;
    if (g[PROBE_GAUGE_THREADS] > tracker->peak_threads)
        tracker->peak_threads = g[PROBE_GAUGE_THREADS];
    if (g[PROBE_GAUGE_CONNECTIONS] > tracker->peak_connections)
        tracker->peak_connections = g[PROBE_GAUGE_CONNECTIONS];
    if (rss_bytes > tracker->peak_rss)
        tracker->peak_rss = rss_bytes;
}

void view_tracker_add_events(struct view_tracker *tracker,
                             const struct probe_event_record *events, size_t n,
                             uint64_t missed)
{
    tracker->missed += missed;
    for (size_t i = 0; i < n; i++) {
        const struct probe_event_record *ev = &events[i];
        struct view_ring_handler *handler =
            ev->ring < PROBE_MAX_RINGS ? &tracker->handlers[ev->ring] : NULL;
        switch (ev->kind) {
        case PROBE_EV_POLL_RETURN:
            tracker->turns[tracker->turn_next] = (uint32_t)ev->a;
            tracker->turn_next = (tracker->turn_next + 1) % VIEW_TURN_STRIP_LEN;
            if (tracker->turn_count < VIEW_TURN_STRIP_LEN)
                tracker->turn_count++;
            break;
        case PROBE_EV_HANDLER_BEGIN:
            if (handler != NULL)
                *handler = (struct view_ring_handler){
                    .active = true, .route = (uint16_t)ev->a, .fd = ev->fd, .start_ns = ev->t_ns };
            break;
        case PROBE_EV_HANDLER_END:
        case PROBE_EV_THREAD_START:
        case PROBE_EV_THREAD_EXIT:
            if (handler != NULL)
                handler->active = false;
            break;
        default:
            break;
        }
    }
}

void view_tracker_add_clients(struct view_tracker *tracker,
                              const struct view_client_totals *totals, uint64_t t_ns)
{
    if (!tracker->have_clients) {
        /* The first sum is the baseline, as the first snapshot is. */
        tracker->have_clients = true;
        histogram_copy(&tracker->client_base, &totals->latency);
        histogram_copy(&tracker->client_next, &totals->latency);
        histogram_copy(&tracker->client_prev, &totals->latency);
        tracker->client_window_next_ns = t_ns;
        tracker->client_rate_t_ns = t_ns;
        tracker->client_rate_replies = totals->replies;
        tracker->client_errors_base = totals->errors;
    }
    tracker->client_loads = totals->loads;
    tracker->client_connections = totals->connections;
    tracker->client_errors = totals->errors - tracker->client_errors_base;

    /* The sparkline: p99 of what arrived since the previous sample, 0
     * when nothing did (a stalled server shows as a gap, then a spike). */
    struct histogram *since = malloc(sizeof *since);
    if (since != NULL) {
        histogram_window(since, &totals->latency, &tracker->client_prev);
        double p99 = histogram_count(since) > 0 ? (double)histogram_percentile(since, 99) : 0;
        free(since);
        tracker->client_series[tracker->client_series_next] = p99;
        tracker->client_series_next = (tracker->client_series_next + 1) % VIEW_SERIES_LEN;
        if (tracker->client_series_count < VIEW_SERIES_LEN)
            tracker->client_series_count++;
    }
    histogram_copy(&tracker->client_prev, &totals->latency);
    histogram_copy(&tracker->client_now, &totals->latency);

    /* The same 5..10 s window as the handler percentiles. */
    if (t_ns >= tracker->client_window_next_ns + VIEW_WINDOW_NS) {
        histogram_copy(&tracker->client_base, &tracker->client_next);
        histogram_copy(&tracker->client_next, &totals->latency);
        tracker->client_window_next_ns = t_ns;
    }
    uint64_t dt = t_ns - tracker->client_rate_t_ns;
    if (t_ns > tracker->client_rate_t_ns && dt >= NS_PER_S) {
        double rps = (double)(totals->replies - tracker->client_rate_replies) * 1e9 / (double)dt;
        tracker->client_rps = rps > 0 ? rps : 0;
        tracker->client_rate_t_ns = t_ns;
        tracker->client_rate_replies = totals->replies;
    }
}
