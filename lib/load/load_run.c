/*
 * load_run.c — the policy of a load run: when to connect, when to send,
 * what to count.  The connections themselves (load_client.c) only move
 * bytes; this file decides.
 *
 * Design.  Everything happens on one thread, in callbacks of one event
 * loop:
 *   - each connection's events (load_client.c), which call back here on
 *     connect, on every reply, on errors and on close;
 *   - a tick timer every LOAD_TICK_MS: phase changes (warm-up -> measure
 *     -> done), progress reports, and every LOAD_SCAN_MS a sweep over the
 *     connections for expired timeouts and due reconnects.  One periodic
 *     sweep instead of one timer per connection: with 10,000 connections
 *     and 100,000 replies a second, re-arming a timer per request would
 *     cost more than looking at each connection 20 times a second;
 *   - in open loop, a send timer that fires when the next request is due.
 *
 * Open loop bookkeeping needs no queue of requests: request i is due at
 * start + i / rate, so "which requests are waiting" is just the range
 * [sched_next, first not yet due).  What needs a queue is the other side,
 * connections with room for another request (ready_fifo), served first
 * come first served so the load spreads over all of them.
 */
#include "load/load_run.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "net/fdlimit.h"
#include "loop/loop.h"
#include "probe/probe.h"

#define LOAD_TICK_MS             10
#define LOAD_SCAN_MS             50
/* After a failed connect, wait before trying again: a refused port would
 * otherwise be hammered in a tight loop at 100% CPU. */
#define LOAD_RECONNECT_DELAY_MS  100
#define LOAD_DEFAULT_PROGRESS_MS 250


/* Per-connection facts only the run cares about. */
struct conn_extra {
    uint64_t retry_at_ns;   /* 0: no reconnect pending */
    bool in_fifo;           /* queued in ready_fifo (open loop) */
    bool counted_open;      /* counted in open_now */
    bool sent_idle;         /* --idle: its one request went out */
};

struct run {
    const struct load_config *cfg;
    const struct load_run_options *options;
    struct load_result *result;
    struct loop *loop;
    struct load_client *client;
    struct load_conn *conns;
    struct conn_extra *extra;
    struct load_slot *slots;
    uint32_t n;

    char requests[LOAD_MAX_MIX_ENTRIES][LOAD_MAX_REQUEST_BYTES];
    const char *request_ptrs[LOAD_MAX_MIX_ENTRIES];
    size_t request_lens[LOAD_MAX_MIX_ENTRIES];
    uint64_t rng;           /* xorshift64 state for the mix */

    uint64_t start_ns, measure_ns, end_ns;
    enum load_phase phase;
    bool stopping;
    struct loop_timer tick;
    uint64_t next_scan_ns;
    uint32_t open_now;

    /* Open loop. */
    struct loop_timer send_timer;
    uint64_t sched_next;    /* index of the next request to send */
    uint32_t *ready_fifo;   /* connections with room, oldest first */
    uint32_t fifo_head, fifo_count;

    /* What the clients see, published for viewers (NULL: unpublished). */
    struct probe *probe;

    /* Progress. */
    uint64_t replies_all;   /* every reply, warm-up included (for req/s) */
    uint64_t next_progress_ns, last_progress_ns, last_progress_replies;
};

static uint64_t rng_next(struct run *run)
{
    /* xorshift64: fast, and good enough to pick mix entries; a fixed seed
     * makes runs repeatable. */
    uint64_t x = run->rng;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    run->rng = x;
    return x;
}

static uint32_t pick_entry(struct run *run)
{
    if (run->cfg->mix.count == 1)
        return 0;
    return (uint32_t)load_mix_pick(&run->cfg->mix, rng_next(run));
}

static bool in_window(const struct run *run, uint64_t now_ns)
{
    return now_ns >= run->measure_ns && now_ns < run->end_ns;
}

/* When request i of the open-loop schedule is due. */
static uint64_t due_time(const struct run *run, uint64_t i)
{
    return run->start_ns + (uint64_t)((unsigned __int128)i * NS_PER_S / run->cfg->rate);
}

/* --- open loop ------------------------------------------------------ */

static void fifo_push(struct run *run, struct load_conn *conn)
{
    struct conn_extra *x = &run->extra[conn->index];

    if (x->in_fifo)
        return;
    assert(run->fifo_count < run->n);   /* each connection at most once */
    run->ready_fifo[(run->fifo_head + run->fifo_count) % run->n] = conn->index;
    run->fifo_count++;
    x->in_fifo = true;
}

/* The oldest queued connection that still has room, or NULL. */
static struct load_conn *fifo_pop(struct run *run)
{
    while (run->fifo_count > 0) {
        struct load_conn *conn = &run->conns[run->ready_fifo[run->fifo_head]];
        run->fifo_head = (run->fifo_head + 1) % run->n;
        run->fifo_count--;
        run->extra[conn->index].in_fifo = false;
        if (load_conn_has_capacity(conn))
            return conn;
        /* It closed (or filled up) since it was queued: skip it. */
    }
    return NULL;
}

/* Sends every request that is due, as long as some connection has room;
 * then sleeps until the next one is due.  Requests due while every
 * connection is busy simply wait (sched_next stays behind): their latency
 * clock is already running from their due time. */
static void open_loop_pump(struct run *run, uint64_t now_ns)
{
    while (!run->stopping) {
        uint64_t due = due_time(run, run->sched_next);
        if (due > now_ns) {
            if (loop_timer_active(&run->send_timer))
                loop_timer_stop(run->loop, &run->send_timer);
            loop_timer_start(run->loop, &run->send_timer, due - now_ns);
            return;
        }
        struct load_conn *conn = fifo_pop(run);
        if (conn == NULL)
            return;   /* backlog; a reply or a new connection resumes us */
        run->sched_next++;
        if (load_conn_send(conn, pick_entry(run), due, now_ns) && load_conn_has_capacity(conn))
            fifo_push(run, conn);
    }
}

static void on_send_timer(struct loop *loop, struct loop_timer *timer)
{
    (void)loop;
    open_loop_pump(timer->data, clock_now_ns());
}

/* --- connection callbacks ------------------------------------------- */

static void count_error(struct run *run, enum load_error_kind kind, uint64_t now_ns)
{
    probe_gauge_add(run->probe, PROBE_GAUGE_CLIENT_ERRORS, 1);   /* live: every error */
    if (now_ns < run->measure_ns || run->phase == LOAD_PHASE_DONE)
        return;   /* warm-up errors are not part of the result */
    run->result->errors[kind]++;
    run->result->errors_total++;
}

static void closed_loop_send(struct run *run, struct load_conn *conn, uint64_t now_ns)
{
    if (run->cfg->idle) {
        /* --idle: one request so the server has really served the
         * connection (and keeps it alive), then nothing. */
        if (!run->extra[conn->index].sent_idle) {
            run->extra[conn->index].sent_idle = true;
            (void)load_conn_send(conn, pick_entry(run), now_ns, now_ns);
        }
        return;
    }
    while (load_conn_has_capacity(conn))
        if (!load_conn_send(conn, pick_entry(run), now_ns, now_ns))
            return;
}

static void on_connected(struct load_conn *conn)
{
    struct run *run = conn->client->data;
    uint64_t now_ns = clock_now_ns();

    run->result->connects++;
    run->extra[conn->index].counted_open = true;
    if (++run->open_now > run->result->max_open)
        run->result->max_open = run->open_now;
    probe_gauge_set(run->probe, PROBE_GAUGE_CONNECTIONS, run->open_now);
    if (run->stopping)
        return;
    if (run->cfg->mode == LOAD_OPEN) {
        fifo_push(run, conn);
        open_loop_pump(run, now_ns);
    } else {
        closed_loop_send(run, conn, now_ns);
    }
}

static void on_response(struct load_conn *conn, const struct load_slot *slot,
                        int status, uint64_t now_ns)
{
    struct run *run = conn->client->data;
    struct load_result *r = run->result;

    run->replies_all++;
    /* Viewers get every reply, warm-up included: they keep windows of
     * their own. */
    probe_gauge_add(run->probe, PROBE_GAUGE_REQUESTS_DONE, 1);
    probe_hist_record(run->probe, PROBE_HIST_CLIENT_NS, now_ns - slot->start_ns);
    if (in_window(run, now_ns) && run->phase != LOAD_PHASE_DONE) {
        r->requests++;
        r->mix_requests[slot->entry]++;
        /* Open loop: from the due time; closed loop: from the send. */
        histogram_record(&r->latency, now_ns - slot->start_ns);
        int cls = status / 100;
        r->status_classes[cls >= 2 && cls <= 5 ? cls : 0]++;
        if (cls != 2 && cls != 3)
            count_error(run, LOAD_ERR_BAD_STATUS, now_ns);
    }
    if (run->stopping)
        return;
    if (run->cfg->mode == LOAD_OPEN) {
        fifo_push(run, conn);
        open_loop_pump(run, now_ns);
    } else {
        closed_loop_send(run, conn, now_ns);
    }
}

static void on_error(struct load_conn *conn, enum load_error_kind kind)
{
    struct run *run = conn->client->data;

    count_error(run, kind, clock_now_ns());
}

static void reconnect(struct run *run, struct load_conn *conn, uint64_t now_ns)
{
    int rc = load_conn_connect(conn, now_ns);
    if (rc < 0) {
        count_error(run, load_error_from_connect(rc), now_ns);
        run->extra[conn->index].retry_at_ns = now_ns + LOAD_RECONNECT_DELAY_MS * NS_PER_MS;
    }
}

static void on_closed(struct load_conn *conn, bool after_error, enum load_error_kind kind)
{
    struct run *run = conn->client->data;
    struct conn_extra *x = &run->extra[conn->index];
    uint64_t now_ns = clock_now_ns();

    if (x->counted_open) {
        x->counted_open = false;
        run->open_now--;
        probe_gauge_set(run->probe, PROBE_GAUGE_CONNECTIONS, run->open_now);
    }
    if (run->stopping)
        return;
    bool connect_failed = after_error && (kind == LOAD_ERR_CONNECT_REFUSED ||
                                          kind == LOAD_ERR_CONNECT_TIMEOUT ||
                                          kind == LOAD_ERR_CONNECT_OTHER);
    if (connect_failed)
        x->retry_at_ns = now_ns + LOAD_RECONNECT_DELAY_MS * NS_PER_MS;
    else
        reconnect(run, conn, now_ns);   /* at once: the server is there */
}

static const struct load_client_ops run_ops = {
    .on_connected = on_connected,
    .on_response = on_response,
    .on_error = on_error,
    .on_closed = on_closed,
};

/* --- the tick -------------------------------------------------------- */

static void report_progress(struct run *run, uint64_t now_ns)
{
    const struct load_run_options *o = run->options;
    struct load_progress p;
    uint64_t dt = now_ns - run->last_progress_ns;

    if (o == NULL || o->progress == NULL)
        return;
    p.phase = run->phase;
    p.elapsed_ns = now_ns - run->start_ns;
    p.total_ns = run->end_ns - run->start_ns;
    p.requests = run->result->requests;
    /* Recent req/s counts warm-up replies too, so the line is alive
     * from the first second. */
    p.recent_rps = dt > 0 ? (double)(run->replies_all - run->last_progress_replies) * 1e9 / (double)dt : 0;
    p.errors = run->result->errors_total;
    p.open_connections = run->open_now;
    run->last_progress_ns = now_ns;
    run->last_progress_replies = run->replies_all;
    o->progress(&p, o->progress_data);
}

/* Timeouts and reconnects, for every connection. */
static void scan_connections(struct run *run, uint64_t now_ns)
{
    for (uint32_t i = 0; i < run->n && !run->stopping; i++) {
        struct load_conn *conn = &run->conns[i];
        struct conn_extra *x = &run->extra[i];
        if (x->retry_at_ns != 0 && now_ns >= x->retry_at_ns &&
            conn->state == LOAD_CONN_CLOSED) {
            x->retry_at_ns = 0;
            reconnect(run, conn, now_ns);
            continue;
        }
        (void)load_conn_check_timeouts(conn, now_ns, run->cfg->connect_timeout_ns,
                                       run->cfg->timeout_ns);
    }
}

static void finish(struct run *run, uint64_t now_ns)
{
    struct load_result *r = run->result;
    uint64_t end = now_ns < run->end_ns ? now_ns : run->end_ns;

    run->phase = LOAD_PHASE_DONE;
    r->elapsed_ns = end > run->measure_ns ? end - run->measure_ns : 0;
    r->requests_per_sec = r->elapsed_ns > 0 ? (double)r->requests * 1e9 / (double)r->elapsed_ns : 0;
    r->bytes_read = run->client->bytes_read;
    if (run->cfg->mode == LOAD_OPEN) {
        /* Requests due inside the window that never went out: the server
         * (or the connections) could not keep up with the rate. */
        uint64_t first = run->measure_ns > run->start_ns
            ? (uint64_t)((unsigned __int128)(run->measure_ns - run->start_ns) * run->cfg->rate / NS_PER_S)
            : 0;
        uint64_t due_total = (uint64_t)((unsigned __int128)(end - run->start_ns) * run->cfg->rate / NS_PER_S);
        uint64_t sent_from = run->sched_next > first ? run->sched_next : first;
        r->unsent = due_total > sent_from ? due_total - sent_from : 0;
    }
    /* Requests still waiting at the end are not in the percentiles (we
     * do not know their latency yet); say how many and how old, so a
     * server that starves some connections cannot look fast. */
    for (uint32_t i = 0; i < run->n; i++) {
        const struct load_conn *conn = &run->conns[i];
        if (conn->state != LOAD_CONN_OPEN || conn->inflight == 0)
            continue;
        uint64_t age = now_ns - conn->slots[conn->head].start_ns;
        r->unanswered += conn->inflight;
        if (age > r->unanswered_oldest_ns)
            r->unanswered_oldest_ns = age;
    }
    /* Let the caller look at the server while it still holds our
     * connections (bench samples threads and memory here). */
    report_progress(run, now_ns);
    run->stopping = true;
    for (uint32_t i = 0; i < run->n; i++)
        load_conn_close(&run->conns[i]);
    run->open_now = 0;
    probe_gauge_set(run->probe, PROBE_GAUGE_CONNECTIONS, 0);
    if (loop_timer_active(&run->send_timer))
        loop_timer_stop(run->loop, &run->send_timer);
    loop_stop(run->loop);
}

static void on_tick(struct loop *loop, struct loop_timer *timer)
{
    struct run *run = timer->data;
    uint64_t now_ns = clock_now_ns();
    const struct load_run_options *o = run->options;

    (void)loop;
    if (o != NULL && o->stop_flag != NULL && *o->stop_flag) {
        run->result->interrupted = true;
        finish(run, now_ns);
        return;
    }
    if (now_ns >= run->end_ns) {
        finish(run, now_ns);
        return;
    }
    if (run->phase == LOAD_PHASE_WARMUP && now_ns >= run->measure_ns) {
        run->phase = LOAD_PHASE_MEASURE;
        report_progress(run, now_ns);
        run->next_progress_ns = now_ns + (o && o->progress_interval_ms ? o->progress_interval_ms
                                          : LOAD_DEFAULT_PROGRESS_MS) * NS_PER_MS;
    }
    if (now_ns >= run->next_scan_ns) {
        run->next_scan_ns = now_ns + LOAD_SCAN_MS * NS_PER_MS;
        scan_connections(run, now_ns);
    }
    if (now_ns >= run->next_progress_ns) {
        run->next_progress_ns = now_ns + (o && o->progress_interval_ms ? o->progress_interval_ms
                                          : LOAD_DEFAULT_PROGRESS_MS) * NS_PER_MS;
        report_progress(run, now_ns);
    }
    loop_timer_start(run->loop, &run->tick, LOAD_TICK_MS * NS_PER_MS);
}

/* --- setup and teardown ----------------------------------------------- */

static int run_prepare(struct run *run, char *err, size_t err_len)
{
    const struct load_config *cfg = run->cfg;

    for (size_t i = 0; i < cfg->mix.count; i++) {
        int len = load_request_format(cfg, i, run->requests[i], sizeof run->requests[i]);
        if (len < 0) {
            snprintf(err, err_len, "request for '%s' is too long", cfg->mix.entries[i].path);
            return len;
        }
        run->request_ptrs[i] = run->requests[i];
        run->request_lens[i] = (size_t)len;
    }
    run->n = cfg->connections;
    run->client = calloc(1, sizeof *run->client);
    run->conns = calloc(run->n, sizeof *run->conns);
    run->extra = calloc(run->n, sizeof *run->extra);
    run->slots = calloc((size_t)run->n * cfg->pipeline, sizeof *run->slots);
    run->ready_fifo = calloc(run->n, sizeof *run->ready_fifo);
    if (!run->client || !run->conns || !run->extra || !run->slots || !run->ready_fifo) {
        snprintf(err, err_len, "out of memory for %u connections", run->n);
        return -ENOMEM;
    }
    int rc = loop_new(&run->loop, cfg->backend, NULL);
    if (rc < 0) {
        snprintf(err, err_len, "cannot create the event loop (backend %s): %s",
                 cfg->backend ? cfg->backend : "default", strerror(-rc));
        return rc;
    }
    struct load_client *client = run->client;
    client->loop = run->loop;
    client->ops = &run_ops;
    client->data = run;
    client->addr = cfg->addr;
    client->addr_len = cfg->addr_len;
    client->requests = run->request_ptrs;
    client->request_lens = run->request_lens;
    client->pipeline = cfg->pipeline;
    for (uint32_t i = 0; i < run->n; i++)
        load_conn_init(&run->conns[i], client, i, &run->slots[(size_t)i * cfg->pipeline]);
    return 0;
}

/* Publishes the run as model "load" with the target's port (see
 * load_run.h).  Failing to is not fatal: the run is still measured. */
static void run_publish(struct run *run)
{
    char name[PROBE_NAME_MAX];
    snprintf(name, sizeof name, "load-%d-%d", run->cfg->port, (int)getpid());
    struct probe_config config = { .name = name, .model = "load", .port = run->cfg->port };
    if (probe_create(&run->probe, &config, NULL, 0) < 0)
        run->probe = NULL;
}

static void run_release(struct run *run)
{
    if (run->conns != NULL)
        for (uint32_t i = 0; i < run->n; i++) {
            load_conn_close(&run->conns[i]);
            load_conn_free(&run->conns[i]);
        }
    if (run->loop != NULL) {
        if (loop_timer_active(&run->tick))
            loop_timer_stop(run->loop, &run->tick);
        if (loop_timer_active(&run->send_timer))
            loop_timer_stop(run->loop, &run->send_timer);
        loop_free(run->loop);
    }
    probe_destroy(run->probe);
    free(run->ready_fifo);
    free(run->slots);
    free(run->extra);
    free(run->conns);
    free(run->client);
}

int load_run(const struct load_config *cfg, const struct load_run_options *options,
             struct load_result *result, char *err, size_t err_len)
{
    struct run *run;
    int rc;

    assert(cfg->connections >= 1 && cfg->connections <= LOAD_MAX_CONNECTIONS);
    assert(cfg->pipeline >= 1 && cfg->pipeline <= LOAD_MAX_PIPELINE);
    assert(cfg->mode != LOAD_OPEN || cfg->rate >= 1);
    assert(cfg->mix.count >= 1);

    memset(result, 0, sizeof *result);
    histogram_init(&result->latency);
    rc = fdlimit_ensure((uint64_t)cfg->connections + LOAD_SPARE_FDS, NULL, err, err_len);
    if (rc < 0)
        return rc;

    /* The run holds ~20 KiB of request text: keep it off the stack. */
    run = calloc(1, sizeof *run);
    if (run == NULL) {
        snprintf(err, err_len, "out of memory");
        return -ENOMEM;
    }
    run->cfg = cfg;
    run->options = options;
    run->result = result;
    /* xorshift64 must never hold 0: mix the seed into a nonzero constant. */
    run->rng = 0x9e3779b97f4a7c15ull ^ (cfg->seed * 0xbf58476d1ce4e5b9ull);
    if (run->rng == 0)
        run->rng = 0x9e3779b97f4a7c15ull;
    loop_timer_init(&run->tick, on_tick, run);
    loop_timer_init(&run->send_timer, on_send_timer, run);

    rc = run_prepare(run, err, err_len);
    if (rc == 0 && (options == NULL || !options->no_probe))
        run_publish(run);
    if (rc == 0) {
        uint64_t now_ns = clock_now_ns();
        run->start_ns = now_ns;
        run->measure_ns = now_ns + cfg->warmup_ns;
        run->end_ns = run->measure_ns + cfg->duration_ns;
        run->phase = cfg->warmup_ns > 0 ? LOAD_PHASE_WARMUP : LOAD_PHASE_MEASURE;
        run->last_progress_ns = now_ns;
        run->next_scan_ns = now_ns + LOAD_SCAN_MS * NS_PER_MS;
        run->next_progress_ns = now_ns + (options && options->progress_interval_ms
                                          ? options->progress_interval_ms
                                          : LOAD_DEFAULT_PROGRESS_MS) * NS_PER_MS;
        if (run->phase == LOAD_PHASE_MEASURE)
            report_progress(run, now_ns);
        for (uint32_t i = 0; i < run->n; i++)
            reconnect(run, &run->conns[i], now_ns);
        loop_timer_start(run->loop, &run->tick, LOAD_TICK_MS * NS_PER_MS);
        if (cfg->mode == LOAD_OPEN)
            open_loop_pump(run, now_ns);
        rc = loop_run(run->loop);
        if (rc < 0)
            snprintf(err, err_len, "the event loop failed: %s", strerror(-rc));
    }
    run_release(run);
    free(run);
    return rc;
}
