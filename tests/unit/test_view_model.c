/*
 * test_view_model.c — the view model from synthetic instrumentation:
 * snapshots and event records filled by hand, no server, no terminal.
 *
 * Covers each pane's numbers per model (queued and its parts, ready,
 * rates, the handler window and its percentiles), the blocked-loop alert
 * strictly past the budget and not before, handlers that block inside a
 * call, thread collapsing, step mode reconstructing the state at event N
 * (including a recording that starts in the middle of a handler, and the
 * same pane when the fold goes on from a saved copy), a server
 * that dies, and a segment that could not be read.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/routes.h"
#include "loop/loop.h"
#include "view_model.h"
#include "view_text.h"

/* The text layer's words for a pane's codes (view_text.h), so the
 * assertions below read what a person sees.  One static buffer each:
 * every use is inside one assertion. */
static const char *alert_words(const struct view_pane *pane)
{
    static char buf[512];
    return view_text_alert(pane, buf, sizeof buf);
}

static const char *doing_words(const struct view_thread_row *row)
{
    static char buf[256];
    return view_text_thread_doing(row, buf, sizeof buf);
}

static const char *log_words(const struct view_log_line *line)
{
    static char buf[256];
    return view_text_log_line(line, buf, sizeof buf);
}

#define MS 1000000ull
#define US 1000ull
#define T0 (1000 * MS)          /* an arbitrary monotonic start time */

/* Big structs live on the heap, as they do in the view. */
struct fixture {
    struct probe_snapshot snap;
    struct view_tracker tracker;
    struct view_pane pane;
    struct view_options options;
    struct view_history history;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    if (f == NULL)
        return -1;
    view_options_init(&f->options);
    if (view_history_init(&f->history, 1024) < 0)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    view_history_free(&f->history);
    free(f);
    return 0;
}

static void snapshot_reset(struct probe_snapshot *snap, uint64_t t_ns)
{
    memset(snap, 0, sizeof *snap);
    snap->taken_ns = t_ns;
    snap->writer_alive = true;
    for (int h = 0; h < PROBE_HIST_COUNT; h++)
        histogram_init(&snap->hists[h]);
}

static void add_thread(struct probe_snapshot *snap, int ring, int tid, const char *role,
                       enum probe_thread_state state, enum probe_call call, unsigned route,
                       int fd, uint64_t since_ns)
{
    struct probe_thread_info *info = &snap->threads[snap->thread_count++];
    memset(info, 0, sizeof *info);
    info->ring = ring;
    info->tid = tid;
    snprintf(info->role, sizeof info->role, "%s", role);
    info->state = (uint8_t)state;
    info->call = (uint8_t)call;
    info->route = (uint16_t)route;
    info->fd = fd;
    info->since_ns = since_ns;
}

static void tracker_start(struct fixture *f, const char *model)
{
    struct probe_info info = { .layout_version = PROBE_LAYOUT_VERSION, .port = 8080, .pid = 42 };
    snprintf(info.name, sizeof info.name, "test-%s", model);
    snprintf(info.model, sizeof info.model, "%s", model);
    view_tracker_init(&f->tracker, &info);
}

static struct probe_event_record event(uint64_t t, enum probe_event_kind kind, int ring, int fd,
                                       uint64_t a, uint64_t b)
{
    return (struct probe_event_record){ .t_ns = t, .kind = (uint16_t)kind,
                                        .ring = (uint16_t)ring, .fd = fd, .a = a, .b = b };
}

/* Whether any line of the pane's plain text contains `needle`. */
static bool pane_text_contains(const struct view_pane *pane, const char *needle)
{
    struct view_line *lines = malloc(200 * sizeof *lines);
    assert_non_null(lines);
    size_t n = view_text_pane(pane, 100, 200, VIEW_CHARSET_ASCII, lines, 200);
    bool found = false;
    for (size_t i = 0; i < n && !found; i++)
        found = strstr(lines[i].text, needle) != NULL;
    free(lines);
    return found;
}

/* --- Pane numbers per model ---------------------------------------------- */

static void test_loop_pane_numbers(void **state)
{
    struct fixture *f = *state;
    tracker_start(f, "loop");
    assert_int_equal(f->tracker.kind, VIEW_KIND_LOOP);

    snapshot_reset(&f->snap, T0);
    f->snap.gauges[PROBE_GAUGE_REQUESTS_DONE] = 1000;
    f->snap.gauges[PROBE_GAUGE_LOOP_TURNS] = 100;
    add_thread(&f->snap, 0, 42, "loop", PROBE_STATE_BLOCKED, PROBE_CALL_POLL, 0, -1, T0 - MS);
    view_tracker_add_snapshot(&f->tracker, &f->snap, 3 << 20);

    /* One second later: 2000 more requests, 500 more turns, half busy. */
    snapshot_reset(&f->snap, T0 + 1000 * MS);
    int64_t *g = f->snap.gauges;
    g[PROBE_GAUGE_REQUESTS_DONE] = 3000;
    g[PROBE_GAUGE_LOOP_TURNS] = 600;
    g[PROBE_GAUGE_LOOP_BUSY_NS] = 500 * MS;
    g[PROBE_GAUGE_CONNECTIONS] = 50;
    g[PROBE_GAUGE_THREADS] = 1;
    g[PROBE_GAUGE_Q_ACCEPT_BACKLOG] = 4;  /* not part of the loop's queued */
    g[PROBE_GAUGE_Q_UNDISPATCHED] = 3;
    g[PROBE_GAUGE_Q_TIMERS_EXPIRED] = 2;
    g[PROBE_GAUGE_Q_COMPLETIONS] = 1;
    g[PROBE_GAUGE_Q_PIPELINED] = 99;    /* not part of the loop's queued */
    g[PROBE_GAUGE_LOOP_LAST_READY] = 7;
    g[PROBE_GAUGE_EVENTS_DROPPED] = 5;
    for (int i = 0; i < 1000; i++)
        histogram_record(&f->snap.hists[PROBE_HIST_HANDLER_NS], 5 * US);
    for (int i = 0; i < 10; i++)
        histogram_record(&f->snap.hists[PROBE_HIST_HANDLER_NS], 50 * MS);
    add_thread(&f->snap, 0, 42, "loop", PROBE_STATE_BLOCKED, PROBE_CALL_POLL, 0, -1, T0);
    view_tracker_add_snapshot(&f->tracker, &f->snap, 3 << 20);

    struct probe_event_record events[] = {
        event(T0 + 10 * MS, PROBE_EV_POLL_RETURN, 0, -1, 5, 0),
        event(T0 + 20 * MS, PROBE_EV_POLL_RETURN, 0, -1, 7, 0),
    };
    view_tracker_add_events(&f->tracker, events, 2, 3);
    view_history_push(&f->history, events, 2);
    view_build_live(&f->tracker, &f->history, &f->options, &f->pane);

    struct view_pane *p = &f->pane;
    assert_int_equal(p->status, VIEW_STATUS_LIVE);
    assert_string_equal(p->model, "loop");
    assert_int_equal(p->connections, 50);
    assert_true(p->requests_per_s > 1999 && p->requests_per_s < 2001);
    assert_true(p->turns_per_s > 499 && p->turns_per_s < 501);
    assert_true(p->loop_utilisation > 0.49 && p->loop_utilisation < 0.51);
    assert_int_equal(p->queued, 3 + 2 + 1);
    assert_int_equal(p->part_count, 3);
    assert_true(p->ready_is_turns);
    assert_int_equal(p->ready, 7);
    assert_int_equal(p->turn_count, 2);
    assert_int_equal(p->turns[0], 5);
    assert_int_equal(p->turns[1], 7);
    assert_int_equal(p->events_dropped, 5);
    assert_int_equal(p->view_missed, 3);
    assert_int_equal(p->rss_bytes, 3 << 20);
    /* The window holds exactly what happened after the first snapshot. */
    assert_true(p->window_recent);
    assert_int_equal(p->hist_total, 1010);
    assert_int_equal(p->hist_rows[0], 1000);          /* <10us */
    assert_int_equal(p->hist_rows[4], 10);            /* <100ms */
    assert_true(p->p50_ns >= 5 * US && p->p50_ns <= 5 * US * 1.04);
    assert_true(p->max_ns >= 50 * MS && p->max_ns <= 50 * MS * 1.04);
    assert_int_equal(p->queued_series_len, 2);
    assert_int_equal((int)p->queued_series[1], 6);
    assert_int_equal(p->log_count, 2);
    assert_non_null(strstr(log_words(&p->log[1]), "poll() returned 7"));
    assert_true(pane_text_contains(p, "QUEUED 6"));
    assert_true(pane_text_contains(p, "READY 7"));
}

static void test_blocking_pane_numbers(void **state)
{
    struct fixture *f = *state;
    tracker_start(f, "blocking");
    snapshot_reset(&f->snap, T0);
    int64_t *g = f->snap.gauges;
    g[PROBE_GAUGE_Q_ACCEPT_BACKLOG] = 5;
    g[PROBE_GAUGE_Q_PIPELINED] = 2;
    g[PROBE_GAUGE_Q_RUNNABLE] = 40;       /* not the blocking model's */
    g[PROBE_GAUGE_READY] = 1;
    add_thread(&f->snap, 0, 42, "main", PROBE_STATE_BLOCKED, PROBE_CALL_READ, 0, 9, T0 - US);
    view_tracker_add_snapshot(&f->tracker, &f->snap, -1);
    view_build_live(&f->tracker, NULL, &f->options, &f->pane);

    struct view_pane *p = &f->pane;
    assert_int_equal(p->kind, VIEW_KIND_BLOCKING);
    assert_int_equal(p->queued, 7);
    assert_int_equal(p->part_count, 2);
    assert_false(p->ready_is_turns);
    assert_int_equal(p->ready, 1);
    assert_int_equal(p->served_count, 1);
    assert_int_equal(p->served_fds[0], 9);
    assert_int_equal(p->alert, VIEW_ALERT_NONE);
    /* The published QUEUED total, when larger, shows as "other". */
    g[PROBE_GAUGE_QUEUED] = 10;
    view_tracker_add_snapshot(&f->tracker, &f->snap, -1);
    view_build_live(&f->tracker, NULL, &f->options, &f->pane);
    assert_int_equal(p->queued, 10);
    assert_string_equal(p->parts[p->part_count - 1].label, "other");
    assert_int_equal(p->parts[p->part_count - 1].value, 3);
}

static void test_threads_pane_numbers(void **state)
{
    struct fixture *f = *state;
    tracker_start(f, "threads");
    snapshot_reset(&f->snap, T0);
    int64_t *g = f->snap.gauges;
    g[PROBE_GAUGE_Q_ACCEPT_BACKLOG] = 1;
    g[PROBE_GAUGE_Q_RUNNABLE] = 6;
    g[PROBE_GAUGE_READY] = 2;
    g[PROBE_GAUGE_THREADS] = 4;
    add_thread(&f->snap, 0, 10, "acceptor", PROBE_STATE_BLOCKED, PROBE_CALL_ACCEPT, 0, 3, T0 - MS);
    add_thread(&f->snap, 1, 11, "conn", PROBE_STATE_HANDLER, 0, ROUTE_ROOT, 7, T0 - US);
    add_thread(&f->snap, 2, 12, "conn", PROBE_STATE_BLOCKED, PROBE_CALL_READ, 0, 8, T0 - MS);
    add_thread(&f->snap, 3, 13, "conn", PROBE_STATE_EXITED, 0, 0, -1, T0 - MS);
    view_tracker_add_snapshot(&f->tracker, &f->snap, -1);
    view_build_live(&f->tracker, NULL, &f->options, &f->pane);

    struct view_pane *p = &f->pane;
    assert_int_equal(p->queued, 7);
    assert_int_equal(p->ready, 2);
    assert_int_equal(p->threads, 4);
    assert_int_equal(p->thread_total, 3);       /* the exited one is not listed */
    assert_false(p->threads_collapsed);
    assert_int_equal(p->thread_row_count, 3);
    assert_int_equal(p->served_count, 1);       /* only the one inside a handler */
    assert_int_equal(p->served_fds[0], 7);
    assert_true(p->handler_running);
    assert_int_equal(p->longest_ns, US);
}

/* --- The blocked-loop alert ---------------------------------------------- */

/* A loop whose thread started /cpu at T0; looked at `elapsed` later. */
static void loop_in_handler_at(struct fixture *f, uint64_t elapsed)
{
    tracker_start(f, "loop");
    snapshot_reset(&f->snap, T0 + elapsed);
    add_thread(&f->snap, 0, 42, "loop", PROBE_STATE_HANDLER, 0, ROUTE_CPU, 12, T0);
    view_tracker_add_snapshot(&f->tracker, &f->snap, -1);
    view_build_live(&f->tracker, NULL, &f->options, &f->pane);
}

static void test_blocked_alert_only_past_budget(void **state)
{
    struct fixture *f = *state;
    loop_in_handler_at(f, 9 * MS);
    assert_true(f->pane.handler_running);
    assert_int_equal(f->pane.longest_ns, 9 * MS);
    assert_int_equal(f->pane.alert, VIEW_ALERT_NONE);

    loop_in_handler_at(f, 10 * MS);             /* exactly the budget: fine */
    assert_int_equal(f->pane.alert, VIEW_ALERT_NONE);

    loop_in_handler_at(f, 10 * MS + 1);
    assert_int_equal(f->pane.alert, VIEW_ALERT_BLOCKED);
    assert_non_null(strstr(alert_words(&f->pane), "LOOP BLOCKED"));
    assert_non_null(strstr(alert_words(&f->pane), "/cpu"));
    assert_non_null(strstr(alert_words(&f->pane), "fd 12"));
    /* The model hands over codes, not words. */
    assert_int_equal(f->pane.alert_cause, VIEW_CAUSE_HANDLER_RUNNING);
    assert_int_equal(f->pane.alert_route, ROUTE_CPU);
    assert_int_equal(f->pane.alert_fd, 12);
    assert_true(f->pane.alert_ns > 10 * MS);
    assert_true(pane_text_contains(&f->pane, "LOOP BLOCKED"));

    /* A larger budget moves the line. */
    f->options.budget_ns = 50 * MS;
    loop_in_handler_at(f, 20 * MS);
    assert_int_equal(f->pane.alert, VIEW_ALERT_NONE);
    loop_in_handler_at(f, 51 * MS);
    assert_int_equal(f->pane.alert, VIEW_ALERT_BLOCKED);
}

static void test_blocked_in_a_call_inside_a_handler(void **state)
{
    struct fixture *f = *state;
    tracker_start(f, "loop");
    /* The handler started at T0, then slept from T0 + 1 ms: the ring
     * header only says "blocked in sleep"; the events say in which handler. */
    struct probe_event_record events[] = {
        event(T0, PROBE_EV_HANDLER_BEGIN, 0, 9, ROUTE_SLEEP_BLOCKING, 0),
        event(T0 + MS, PROBE_EV_BLOCK_BEGIN, 0, 9, PROBE_CALL_SLEEP, 0),
    };
    view_tracker_add_events(&f->tracker, events, 2, 0);
    snapshot_reset(&f->snap, T0 + 150 * MS);
    add_thread(&f->snap, 0, 42, "loop", PROBE_STATE_BLOCKED, PROBE_CALL_SLEEP, 0, 9, T0 + MS);
    view_tracker_add_snapshot(&f->tracker, &f->snap, -1);
    view_build_live(&f->tracker, NULL, &f->options, &f->pane);

    assert_true(f->pane.handler_running);
    assert_int_equal(f->pane.longest_ns, 150 * MS);
    assert_int_equal(f->pane.longest_route, ROUTE_SLEEP_BLOCKING);
    assert_true(f->pane.longest_blocked_in_call);
    assert_int_equal(f->pane.alert, VIEW_ALERT_BLOCKED);
    assert_non_null(strstr(alert_words(&f->pane), "sleep"));
    assert_non_null(strstr(alert_words(&f->pane), "150 ms"));
}

/* The view read HANDLER_BEGIN of a /cpu but not yet its HANDLER_END, and
 * the snapshot shows the loop back in poll(): the ring's own flag, read
 * with the state, says the handler is over, so nothing is "running". */
static void test_handler_end_not_yet_drained(void **state)
{
    struct fixture *f = *state;
    tracker_start(f, "loop");
    struct probe_event_record events[] = {
        event(T0, PROBE_EV_HANDLER_BEGIN, 0, 17, ROUTE_CPU, 0),
    };
    view_tracker_add_events(&f->tracker, events, 1, 0);
    snapshot_reset(&f->snap, T0 + 250 * MS);
    add_thread(&f->snap, 0, 42, "loop", PROBE_STATE_BLOCKED, PROBE_CALL_POLL, 0, -1, T0 + 240 * MS);
    f->snap.threads[0].outside_handler = true;
    view_tracker_add_snapshot(&f->tracker, &f->snap, -1);
    view_build_live(&f->tracker, NULL, &f->options, &f->pane);
    assert_false(f->pane.handler_running);
    assert_int_equal(f->pane.alert, VIEW_ALERT_NONE);
    assert_false(pane_text_contains(&f->pane, "LOOP BLOCKED"));

    /* Without the flag (a recording has none) the events decide, as before. */
    f->snap.threads[0].outside_handler = false;
    view_tracker_add_snapshot(&f->tracker, &f->snap, -1);
    view_build_live(&f->tracker, NULL, &f->options, &f->pane);
    assert_true(f->pane.handler_running);
}

static void test_loop_waiting_in_poll_is_not_blocked(void **state)
{
    struct fixture *f = *state;
    tracker_start(f, "loop");
    snapshot_reset(&f->snap, T0 + 5000 * MS);
    add_thread(&f->snap, 0, 42, "loop", PROBE_STATE_BLOCKED, PROBE_CALL_POLL, 0, -1, T0);
    add_thread(&f->snap, 1, 43, "worker", PROBE_STATE_HANDLER, 0, ROUTE_CPU, 7, T0);
    view_tracker_add_snapshot(&f->tracker, &f->snap, -1);
    view_build_live(&f->tracker, NULL, &f->options, &f->pane);
    /* An idle loop waiting in poll() for 5 s is fine, and so is a worker
     * thread computing for 5 s: the loop itself is free. */
    assert_int_equal(f->pane.alert, VIEW_ALERT_NONE);
    assert_true(f->pane.handler_running);
}

static void test_threads_slow_handler_is_not_red(void **state)
{
    struct fixture *f = *state;
    tracker_start(f, "threads");
    snapshot_reset(&f->snap, T0 + 100 * MS);
    add_thread(&f->snap, 0, 10, "conn", PROBE_STATE_HANDLER, 0, ROUTE_SLEEP, 5, T0);
    view_tracker_add_snapshot(&f->tracker, &f->snap, -1);
    view_build_live(&f->tracker, NULL, &f->options, &f->pane);
    assert_int_equal(f->pane.alert, VIEW_ALERT_SLOW);
    assert_non_null(strstr(alert_words(&f->pane), "other threads keep serving"));
}

static void test_blocking_server_blocked_on_one_client(void **state)
{
    struct fixture *f = *state;
    tracker_start(f, "blocking");
    snapshot_reset(&f->snap, T0 + 2000 * MS);
    add_thread(&f->snap, 0, 10, "main", PROBE_STATE_BLOCKED, PROBE_CALL_READ, 0, 6, T0);
    view_tracker_add_snapshot(&f->tracker, &f->snap, -1);
    view_build_live(&f->tracker, NULL, &f->options, &f->pane);
    assert_int_equal(f->pane.alert, VIEW_ALERT_BLOCKED);
    assert_non_null(strstr(alert_words(&f->pane), "SERVER BLOCKED"));
    assert_non_null(strstr(alert_words(&f->pane), "read()"));

    /* Waiting in accept() on the listening socket is not blocking anyone. */
    snapshot_reset(&f->snap, T0 + 3000 * MS);
    add_thread(&f->snap, 0, 10, "main", PROBE_STATE_BLOCKED, PROBE_CALL_ACCEPT, 0, 3, T0);
    view_tracker_add_snapshot(&f->tracker, &f->snap, -1);
    view_build_live(&f->tracker, NULL, &f->options, &f->pane);
    assert_int_equal(f->pane.alert, VIEW_ALERT_NONE);
}

/* --- Threads --------------------------------------------------------------- */

static void test_thread_collapsing(void **state)
{
    struct fixture *f = *state;
    tracker_start(f, "threads");
    snapshot_reset(&f->snap, T0 + MS);
    int ring = 0;
    for (int i = 0; i < 60; i++, ring++)
        add_thread(&f->snap, ring, 100 + ring, "conn", PROBE_STATE_BLOCKED, PROBE_CALL_READ, 0,
                   10 + ring, T0);
    for (int i = 0; i < 30; i++, ring++)
        add_thread(&f->snap, ring, 100 + ring, "conn", PROBE_STATE_HANDLER, 0, ROUTE_SLEEP,
                   10 + ring, T0);
    for (int i = 0; i < 10; i++, ring++)
        add_thread(&f->snap, ring, 100 + ring, "conn", PROBE_STATE_IDLE, 0, 0, -1, T0);
    view_tracker_add_snapshot(&f->tracker, &f->snap, -1);
    view_build_live(&f->tracker, NULL, &f->options, &f->pane);

    struct view_pane *p = &f->pane;
    assert_int_equal(p->thread_total, 100);
    assert_true(p->threads_collapsed);
    assert_int_equal(p->thread_row_count, 3);
    /* Largest group first, each a count and what they do. */
    assert_non_null(strstr(doing_words(&p->thread_rows[0]), "60 waiting in"));
    assert_non_null(strstr(doing_words(&p->thread_rows[1]), "30 running handler /sleep"));
    assert_non_null(strstr(doing_words(&p->thread_rows[2]), "10 "));
    assert_true(pane_text_contains(p, "by what they do"));

    /* Few threads: one row each, with role and tid. */
    snapshot_reset(&f->snap, T0 + MS);
    for (int i = 0; i < 5; i++)
        add_thread(&f->snap, i, 200 + i, "conn", PROBE_STATE_IDLE, 0, 0, -1, T0);
    view_tracker_add_snapshot(&f->tracker, &f->snap, -1);
    view_build_live(&f->tracker, NULL, &f->options, &f->pane);
    assert_false(p->threads_collapsed);
    assert_int_equal(p->thread_row_count, 5);
    assert_int_equal(p->thread_rows[4].tid, 204);
    assert_string_equal(p->thread_rows[4].role, "conn");
}

/* --- Step mode ------------------------------------------------------------- */

/* One loop turn: poll returns 3; fd 5 gets "/", fd 6 gets "/cpu" for 30 ms,
 * fd 7 gets "/"; then the next poll. */
static size_t make_turn(struct probe_event_record *ev)
{
    size_t n = 0;
    uint64_t t = T0;
    ev[n++] = event(t += US, PROBE_EV_POLL_ENTER, 0, -1, 100, 0);             /* 0 */
    ev[n++] = event(t += US, PROBE_EV_BLOCK_BEGIN, 0, -1, PROBE_CALL_POLL, 0); /* 1 */
    ev[n++] = event(t += 5 * MS, PROBE_EV_BLOCK_END, 0, -1, PROBE_CALL_POLL, 5 * MS);
    ev[n++] = event(t += US, PROBE_EV_POLL_RETURN, 0, -1, 3, 0);               /* 3 */
    ev[n++] = event(t += US, PROBE_EV_DISPATCH_BEGIN, 0, 5, LOOP_READABLE, 0); /* 4 */
    ev[n++] = event(t += US, PROBE_EV_HANDLER_BEGIN, 0, 5, ROUTE_ROOT, 0);     /* 5 */
    ev[n++] = event(t += US, PROBE_EV_HANDLER_END, 0, 5, ROUTE_ROOT, US);      /* 6 */
    ev[n++] = event(t += US, PROBE_EV_DISPATCH_END, 0, 5, LOOP_READABLE, 3 * US);
    ev[n++] = event(t += US, PROBE_EV_DISPATCH_BEGIN, 0, 6, LOOP_READABLE, 0); /* 8 */
    ev[n++] = event(t += US, PROBE_EV_HANDLER_BEGIN, 0, 6, ROUTE_CPU, 0);      /* 9 */
    ev[n++] = event(t += 30 * MS, PROBE_EV_HANDLER_END, 0, 6, ROUTE_CPU, 30 * MS); /* 10 */
    ev[n++] = event(t += US, PROBE_EV_DISPATCH_END, 0, 6, LOOP_READABLE, 30 * MS);
    ev[n++] = event(t += US, PROBE_EV_DISPATCH_BEGIN, 0, 7, LOOP_READABLE, 0); /* 12 */
    ev[n++] = event(t += US, PROBE_EV_DISPATCH_END, 0, 7, LOOP_READABLE, US);
    ev[n++] = event(t += US, PROBE_EV_POLL_ENTER, 0, -1, 100, 0);              /* 14 */
    return n;
}

static void step_tracker(struct fixture *f)
{
    tracker_start(f, "loop");
    snapshot_reset(&f->snap, T0 + 100 * MS);
    f->snap.gauges[PROBE_GAUGE_CONNECTIONS] = 3;
    add_thread(&f->snap, 0, 42, "loop", PROBE_STATE_BLOCKED, PROBE_CALL_POLL, 0, -1, T0 + 50 * MS);
    view_tracker_add_snapshot(&f->tracker, &f->snap, -1);
}

static void test_step_reconstructs_turn(void **state)
{
    struct fixture *f = *state;
    struct probe_event_record ev[32];
    size_t n = make_turn(ev);
    step_tracker(f);
    struct view_pane *p = &f->pane;

    /* At event 1 the loop waits in poll(). */
    view_build_step(&f->tracker, ev, n, 1, true, 0, &f->options, p);
    assert_true(p->stepping);
    assert_true(p->step_has_event);
    assert_int_equal(p->step_index, 1);
    assert_non_null(strstr(doing_words(&p->thread_rows[0]), "poll"));

    /* Poll returned 3: ready 3, all three still queued. */
    view_build_step(&f->tracker, ev, n, 3, true, 0, &f->options, p);
    assert_int_equal(p->ready, 3);
    assert_int_equal(p->queued, 3);
    assert_int_equal(p->turn_count, 1);
    assert_non_null(strstr(doing_words(&p->thread_rows[0]), "idle"));

    /* First dispatch: two left waiting. */
    view_build_step(&f->tracker, ev, n, 4, true, 0, &f->options, p);
    assert_int_equal(p->queued, 2);

    /* Inside /cpu on fd 6: one left; the handler just started. */
    view_build_step(&f->tracker, ev, n, 9, true, 0, &f->options, p);
    assert_int_equal(p->queued, 1);
    assert_true(p->handler_running);
    assert_int_equal(p->longest_route, ROUTE_CPU);
    assert_int_equal(p->longest_ns, 0);
    assert_int_equal(p->alert, VIEW_ALERT_NONE);
    /* The log ends at the current event, marked, times relative to it. */
    assert_int_equal(p->log_count, 10);
    assert_true(p->log[9].current);
    assert_false(p->log[8].current);
    assert_non_null(strstr(log_words(&p->log[9]), "handler /cpu fd 6 starts"));

    /* 20 ms into that handler (another pane's event is the current one):
     * the loop is blocked past the 10 ms budget. */
    view_build_step(&f->tracker, ev, n, 0, false, ev[9].t_ns + 20 * MS, &f->options, p);
    assert_false(p->step_has_event);
    assert_int_equal(p->longest_ns, 20 * MS);
    assert_int_equal(p->alert, VIEW_ALERT_BLOCKED);

    /* After the turn: the next poll is entered, nothing queued. */
    view_build_step(&f->tracker, ev, n, n - 1, true, 0, &f->options, p);
    assert_int_equal(p->queued, 0);
    assert_false(p->handler_running);
    /* Gauges come from the snapshot: the connection count is still there. */
    assert_int_equal(p->connections, 3);
}

static void test_step_starting_mid_handler(void **state)
{
    struct fixture *f = *state;
    step_tracker(f);
    /* The recording begins while ring 1 is 5 ms into a /sleep handler,
     * blocked in sleep(); all we see of it is the end. */
    struct probe_event_record ev[] = {
        event(T0 + 10 * MS, PROBE_EV_ACCEPT, 0, 8, 0, 0),
        event(T0 + 20 * MS, PROBE_EV_BLOCK_END, 1, 9, PROBE_CALL_SLEEP, 15 * MS),
        event(T0 + 21 * MS, PROBE_EV_HANDLER_END, 1, 9, ROUTE_SLEEP, 16 * MS),
    };
    struct view_replay *replay = malloc(sizeof *replay);
    assert_non_null(replay);
    view_replay_run(ev, 3, 1, NULL, replay);
    /* State after event 0: ring 1 was blocked in sleep since T0 + 5 ms,
     * inside /sleep since T0 + 5 ms. */
    assert_true(replay->rings[1].exists);
    assert_int_equal(replay->rings[1].state, PROBE_STATE_BLOCKED);
    assert_int_equal(replay->rings[1].call, PROBE_CALL_SLEEP);
    assert_int_equal(replay->rings[1].since_ns, T0 + 5 * MS);
    assert_true(replay->rings[1].handler.active);
    assert_int_equal(replay->rings[1].handler.route, ROUTE_SLEEP);
    assert_int_equal(replay->rings[1].handler.start_ns, T0 + 5 * MS);
    assert_int_equal(replay->accepts, 1);

    /* After the sleep returns it is back in its handler ... */
    view_replay_run(ev, 3, 2, NULL, replay);
    assert_int_equal(replay->rings[1].state, PROBE_STATE_HANDLER);
    /* ... and after the handler ends, idle. */
    view_replay_run(ev, 3, 3, NULL, replay);
    assert_int_equal(replay->rings[1].state, PROBE_STATE_IDLE);
    assert_false(replay->rings[1].handler.active);
    assert_int_equal(replay->handlers_done, 1);

    /* A ring with no events at all takes its state from the snapshot. */
    assert_int_equal(replay->rings[0].state, PROBE_STATE_EXITED);
    view_replay_run(ev, 3, 3, &f->tracker.snap, replay);
    assert_true(replay->rings[0].exists);
    free(replay);
}

static void test_thread_start_and_exit_in_replay(void **state)
{
    (void)state;
    struct probe_event_record ev[] = {
        event(T0 + 1, PROBE_EV_THREAD_START, 3, -1, 777, 0),
        event(T0 + 2, PROBE_EV_HANDLER_BEGIN, 3, 4, ROUTE_ROOT, 0),
        event(T0 + 3, PROBE_EV_HANDLER_END, 3, 4, ROUTE_ROOT, 1),
        event(T0 + 4, PROBE_EV_THREAD_EXIT, 3, -1, 777, 0),
    };
    struct view_replay *replay = malloc(sizeof *replay);
    assert_non_null(replay);
    view_replay_run(ev, 4, 0, NULL, replay);
    assert_false(replay->rings[3].exists);         /* not started yet */
    view_replay_run(ev, 4, 2, NULL, replay);
    assert_true(replay->rings[3].exists);
    assert_int_equal(replay->rings[3].state, PROBE_STATE_HANDLER);
    view_replay_run(ev, 4, 4, NULL, replay);
    assert_false(replay->rings[3].exists);
    assert_int_equal(view_events_until(ev, 4, T0 + 2), 2);
    assert_int_equal(view_events_until(ev, 4, T0), 0);
    assert_int_equal(view_events_until(ev, 4, T0 + 100), 4);
    free(replay);
}

/* A threads-style recording of three rings that begins in the middle of
 * a run: ring 1 is first seen ending a handler, ring 2 starts and exits,
 * ring 0 accepts and waits; ring 5 never emits anything (a silent thread
 * the snapshot lists).  Returns the number of events. */
static size_t make_mixed_run(struct probe_event_record *ev)
{
    size_t n = 0;
    uint64_t t = T0;
    ev[n++] = event(t += US, PROBE_EV_BLOCK_END, 1, 9, PROBE_CALL_SLEEP, 3 * MS);
    ev[n++] = event(t += US, PROBE_EV_HANDLER_END, 1, 9, ROUTE_SLEEP, 4 * MS);
    ev[n++] = event(t += US, PROBE_EV_THREAD_START, 2, -1, 900, 0);
    for (int round = 0; round < 8; round++) {
        int fd = 10 + round;
        ev[n++] = event(t += US, PROBE_EV_BLOCK_BEGIN, 0, -1, PROBE_CALL_ACCEPT, 0);
        ev[n++] = event(t += MS, PROBE_EV_BLOCK_END, 0, -1, PROBE_CALL_ACCEPT, MS);
        ev[n++] = event(t += US, PROBE_EV_ACCEPT, 0, fd, 0, 0);
        int ring = 1 + round % 2;
        ev[n++] = event(t += US, PROBE_EV_HANDLER_BEGIN, ring, fd, ROUTE_SLEEP, 0);
        ev[n++] = event(t += US, PROBE_EV_BLOCK_BEGIN, ring, fd, PROBE_CALL_SLEEP, 0);
        ev[n++] = event(t += 2 * MS, PROBE_EV_BLOCK_END, ring, fd, PROBE_CALL_SLEEP, 2 * MS);
        ev[n++] = event(t += US, PROBE_EV_HANDLER_END, ring, fd, ROUTE_SLEEP, 2 * MS + US);
        ev[n++] = event(t += US, PROBE_EV_CLOSE, ring, fd, 0, 0);
    }
    ev[n++] = event(t += US, PROBE_EV_THREAD_EXIT, 2, -1, 900, 0);
    return n;
}

/* The saved-fold path (view_build_step_from) gives the pane a fold from
 * event 0 gives, byte for byte, whatever event the fold was saved at and
 * whatever snapshot filled its silent threads before. */
static void test_step_from_saved_fold_is_exact(void **state)
{
    struct fixture *f = *state;
    struct probe_event_record ev[80];
    size_t n = make_mixed_run(ev);
    tracker_start(f, "threads");
    snapshot_reset(&f->snap, ev[n - 1].t_ns + MS);
    add_thread(&f->snap, 0, 40, "acceptor", PROBE_STATE_BLOCKED, PROBE_CALL_ACCEPT, 0, -1, T0);
    add_thread(&f->snap, 1, 41, "conn", PROBE_STATE_IDLE, PROBE_CALL_NONE, 0, -1, T0);
    /* Ring 5 entered a handler after the recording began: before that,
     * all the snapshot can say is that it existed. */
    add_thread(&f->snap, 5, 45, "conn", PROBE_STATE_HANDLER, PROBE_CALL_NONE, ROUTE_CPU, 33,
               T0 + 1000 * MS);
    view_tracker_add_snapshot(&f->tracker, &f->snap, -1);
    /* An earlier snapshot that said more: in /cpu on fd 33 since before. */
    struct probe_snapshot *earlier = malloc(sizeof *earlier);
    assert_non_null(earlier);
    memcpy(earlier, &f->snap, sizeof *earlier);
    earlier->threads[2].since_ns = T0 - MS;

    struct view_replay *from_zero = malloc(sizeof *from_zero);
    struct view_replay *saved = malloc(sizeof *saved);
    struct view_replay *resumed = malloc(sizeof *resumed);
    struct view_pane *expected = malloc(sizeof *expected);
    assert_non_null(from_zero);
    assert_non_null(saved);
    assert_non_null(resumed);
    assert_non_null(expected);
    /* The silent ring takes the snapshot's word for it. */
    view_replay_run(ev, n, n, earlier, from_zero);
    assert_false(from_zero->from_events[5]);
    assert_int_equal(from_zero->rings[5].state, PROBE_STATE_HANDLER);
    assert_int_equal(from_zero->rings[5].handler.route, ROUTE_CPU);
    view_replay_run(ev, n, n, &f->tracker.snap, from_zero);
    assert_int_equal(from_zero->rings[5].state, PROBE_STATE_IDLE);
    assert_false(from_zero->rings[5].handler.active);

    for (size_t at = 0; at < n; at++) {
        view_build_step(&f->tracker, ev, n, at, true, 0, &f->options, expected);
        for (size_t kept = 0; kept <= at + 1; kept += 7) {
            view_replay_begin(ev, n, saved);
            view_replay_continue(saved, ev, n, kept);
            memcpy(resumed, saved, sizeof *resumed);
            /* A fill from an earlier picture must not leak into this one. */
            view_replay_fill_silent(resumed, ev, n, earlier);
            view_replay_continue(resumed, ev, n, at + 1);
            assert_int_equal(resumed->applied, at + 1);
            view_build_step_from(&f->tracker, ev, n, at, true, 0, resumed, &f->options,
                                 &f->pane);
            if (memcmp(expected, &f->pane, sizeof *expected) != 0)
                fail_msg("event %zu: the pane from a fold saved at event %zu differs from the "
                         "pane folded from event 0", at, kept);
        }
    }
    /* Between events too (another pane's event is the current one). */
    uint64_t between = ev[20].t_ns + 1;
    view_build_step(&f->tracker, ev, n, 0, false, between, &f->options, expected);
    assert_int_equal(view_step_upto(ev, n, 0, false, between), 21);
    view_replay_begin(ev, n, resumed);
    view_replay_continue(resumed, ev, n, 21);
    view_build_step_from(&f->tracker, ev, n, 0, false, between, resumed, &f->options, &f->pane);
    assert_memory_equal(expected, &f->pane, sizeof *expected);
    free(earlier);
    free(from_zero);
    free(saved);
    free(resumed);
    free(expected);
}

/* --- Servers that die, segments we cannot read ------------------------------ */

static void test_server_gone_keeps_last_picture(void **state)
{
    struct fixture *f = *state;
    tracker_start(f, "threads");
    snapshot_reset(&f->snap, T0);
    f->snap.gauges[PROBE_GAUGE_CONNECTIONS] = 12;
    view_tracker_add_snapshot(&f->tracker, &f->snap, -1);
    snapshot_reset(&f->snap, T0 + MS);
    f->snap.gauges[PROBE_GAUGE_CONNECTIONS] = 12;
    f->snap.writer_alive = false;
    view_tracker_add_snapshot(&f->tracker, &f->snap, -1);
    view_build_live(&f->tracker, NULL, &f->options, &f->pane);
    assert_int_equal(f->pane.status, VIEW_STATUS_GONE);
    assert_int_equal(f->pane.connections, 12);
    assert_true(pane_text_contains(&f->pane, "server gone"));
    assert_true(pane_text_contains(&f->pane, "GONE"));
    assert_true(pane_text_contains(&f->pane, "QUEUED"));   /* the picture stays */
}

static void test_error_pane_says_why(void **state)
{
    struct fixture *f = *state;
    tracker_start(f, "loop");
    view_tracker_set_error(&f->tracker,
                           "segment 'x' has layout version 2; this evlab reads version 1");
    view_build_live(&f->tracker, NULL, &f->options, &f->pane);
    assert_int_equal(f->pane.status, VIEW_STATUS_ERROR);
    assert_true(pane_text_contains(&f->pane, "layout version 2"));
    assert_false(pane_text_contains(&f->pane, "QUEUED"));
}

/* --- What clients see ---------------------------------------------------- */

/* The loads' sum fed twice, one second apart: the pane shows the window's
 * percentiles, the rate, the errors since the start, and a sparkline
 * sample per feed; a pane without loads shows no client line. */
static void test_clients_beside_the_server(void **state)
{
    struct fixture *f = *state;
    tracker_start(f, "loop");
    snapshot_reset(&f->snap, T0);
    view_tracker_add_snapshot(&f->tracker, &f->snap, -1);
    view_build_live(&f->tracker, NULL, &f->options, &f->pane);
    assert_false(f->pane.clients_present);
    assert_false(pane_text_contains(&f->pane, "CLIENTS"));

    struct view_client_totals *totals = calloc(1, sizeof *totals);
    assert_non_null(totals);
    histogram_init(&totals->latency);
    totals->loads = 1;
    totals->connections = 10;
    totals->replies = 100;
    totals->errors = 2;
    for (int i = 0; i < 100; i++)
        histogram_record(&totals->latency, 1 * MS);
    view_tracker_add_clients(&f->tracker, totals, T0);      /* the baseline */

    /* A second later: 200 more replies, 20 of which waited 150 ms. */
    for (int i = 0; i < 180; i++)
        histogram_record(&totals->latency, 1 * MS);
    for (int i = 0; i < 20; i++)
        histogram_record(&totals->latency, 150 * MS);
    totals->replies = 300;
    totals->errors = 5;
    view_tracker_add_clients(&f->tracker, totals, T0 + 1000 * MS);
    view_build_live(&f->tracker, NULL, &f->options, &f->pane);

    struct view_pane *p = &f->pane;
    assert_true(p->clients_present);
    assert_int_equal(p->client_window_count, 200);      /* only what came after the baseline */
    assert_true(p->client_p50_ns >= 1 * MS && p->client_p50_ns <= 1 * MS * 1.04);
    assert_true(p->client_p99_ns >= 150 * MS && p->client_p99_ns <= 150 * MS * 1.04);
    assert_true(p->client_rps > 199 && p->client_rps < 201);
    assert_int_equal(p->client_errors, 3);
    assert_int_equal(p->client_connections, 10);
    assert_int_equal(p->client_series_len, 2);
    assert_true(p->client_series[1] >= 150 * MS);    /* the spike of the second sample */
    assert_true(pane_text_contains(p, "CLIENTS wait p50 1.0"));
    assert_true(pane_text_contains(p, "p99 15"));
    free(totals);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_loop_pane_numbers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_blocking_pane_numbers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_threads_pane_numbers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_blocked_alert_only_past_budget, setup, teardown),
        cmocka_unit_test_setup_teardown(test_blocked_in_a_call_inside_a_handler, setup, teardown),
        cmocka_unit_test_setup_teardown(test_handler_end_not_yet_drained, setup, teardown),
        cmocka_unit_test_setup_teardown(test_loop_waiting_in_poll_is_not_blocked, setup, teardown),
        cmocka_unit_test_setup_teardown(test_threads_slow_handler_is_not_red, setup, teardown),
        cmocka_unit_test_setup_teardown(test_blocking_server_blocked_on_one_client, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_thread_collapsing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_step_reconstructs_turn, setup, teardown),
        cmocka_unit_test_setup_teardown(test_step_starting_mid_handler, setup, teardown),
        cmocka_unit_test(test_thread_start_and_exit_in_replay),
        cmocka_unit_test_setup_teardown(test_step_from_saved_fold_is_exact, setup, teardown),
        cmocka_unit_test_setup_teardown(test_server_gone_keeps_last_picture, setup, teardown),
        cmocka_unit_test_setup_teardown(test_error_pane_says_why, setup, teardown),
        cmocka_unit_test_setup_teardown(test_clients_beside_the_server, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
