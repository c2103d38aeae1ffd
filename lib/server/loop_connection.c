/*
 * loop_connection.c — one client of the event-loop model, as a state
 * machine driven by readiness events.
 *
 * Nothing here ever waits.  Every function runs, does what it can without
 * blocking, and returns to the loop; what it cannot finish now it leaves
 * in the connection's state and asks the loop to call back:
 *
 *   readable  -> read what is there (at most LOOP_MAX_READS_PER_DISPATCH
 *                reads, so one eager client cannot starve the rest), then
 *                answer every complete request in order;
 *   /sleep    -> start a timer and return; the timer callback answers
 *                (CONN_WAITING meanwhile: pipelined requests wait their turn,
 *                since replies must go out in request order);
 *   /cpu      -> inline (the pitfall) or submitted to the worker pool,
 *                whose completion callback answers on the loop thread;
 *   writable  -> write what is pending; `out`'s start cursor remembers how
 *                far a partial write got.
 *
 * Backpressure: when a client sends requests faster than it reads replies,
 * `out` grows.  Past LOOP_OUTPUT_HIGH_WATERMARK we stop reading from that
 * client (and stop answering what is already buffered) until `out` drains
 * below LOOP_OUTPUT_LOW_WATERMARK.  The kernel's buffers then fill and
 * TCP flow control slows the client down.  --no-backpressure turns this
 * off for the pitfall lesson: then `out` grows without bound.
 */
#include "server/loop_connection.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/limits.h"
#include "http/http_response.h"
#include "http/routes.h"
#include "net/net.h"
#include "probe/probe.h"
#include "server/server_internal.h"

/* How long a lingering close waits for the client to go (see net.h). */
enum { LINGER_MS = 500 };

static void connection_update(struct loop_connection *conn);
static void connection_answer_buffered(struct loop_connection *conn);

static struct probe *conn_probe(const struct loop_connection *conn)
{
    return conn->owner->server->probe;
}

static bool backpressure_enabled(const struct loop_connection *conn)
{
    return !conn->owner->server->config.no_backpressure;
}

/* Keeps the server-wide OUTPUT_QUEUED gauge equal to the sum of every
 * connection's pending output. */
static void account_output(struct loop_connection *conn)
{
    size_t pending = buffer_pending(&conn->out);
    probe_gauge_add(conn_probe(conn), PROBE_GAUGE_OUTPUT_QUEUED,
                    (int64_t)pending - (int64_t)conn->out_counted);
    conn->out_counted = pending;
}

static void connection_free(struct loop_connection *conn)
{
    struct loop_server *owner = conn->owner;
    if (conn->reads_paused)
        probe_gauge_add(conn_probe(conn), PROBE_GAUGE_READS_PAUSED, -1);
    buffer_clear(&conn->out);
    account_output(conn);
    buffer_free(&conn->in);
    buffer_free(&conn->out);
    if (conn->prev)
        conn->prev->next = conn->next;
    else
        owner->connections = conn->next;
    if (conn->next)
        conn->next->prev = conn->prev;
    owner->connection_count--;
    free(conn);
}

void loop_connection_close(struct loop_connection *conn)
{
    struct loop_server *owner = conn->owner;
    if (loop_io_active(&conn->io))
        loop_io_stop(owner->loop, &conn->io);
    if (loop_timer_active(&conn->timer))
        loop_timer_stop(owner->loop, &conn->timer);
    if (loop_timer_active(&conn->deadline))
        loop_timer_stop(owner->loop, &conn->deadline);
    if (conn->io.fd >= 0) {
        probe_emit(owner->thread, PROBE_EV_CLOSE, conn->io.fd, 0, 0);
        probe_gauge_add(conn_probe(conn), PROBE_GAUGE_CLOSES, 1);
        probe_gauge_add(conn_probe(conn), PROBE_GAUGE_CONNECTIONS, -1);
        close(conn->io.fd);
        conn->io.fd = -1;
    }
    /* The worker pool still holds &conn->job: free when it comes back. */
    if (conn->job_in_flight)
        conn->free_when_job_done = true;
    else
        connection_free(conn);
}

/* --- Timeouts ----------------------------------------------------------- */

/* One timer per connection enforces two limits (limits.h): a request must
 * arrive whole within the request timeout (else 408: this is what ends a
 * slowloris client), and a connection without progress for the idle
 * timeout is closed.  Re-arming a timer on every read would cost a heap
 * operation per request, so the timer is lazy: it fires at the earliest
 * deadline it was given, then looks at the connection's timestamps and
 * either acts or sets itself for the deadline that really applies now. */

static uint64_t ms_to_ns(uint32_t ms)
{
    return (uint64_t)ms * 1000000u;
}

static void arm_deadline_at(struct loop_connection *conn, uint64_t due_ns)
{
    uint64_t now = loop_now_ns(conn->owner->loop);
    loop_timer_start(conn->owner->loop, &conn->deadline, due_ns > now ? due_ns - now : 0);
}

/* Called when the first byte of a request is in: the request timeout
 * starts, and may come before the deadline the timer is set for. */
static void connection_request_started(struct loop_connection *conn)
{
    const struct server_config *config = &conn->owner->server->config;
    conn->request_started_ns = loop_now_ns(conn->owner->loop);
    uint64_t due = conn->request_started_ns + ms_to_ns(config->request_timeout_ms);
    if (!loop_timer_active(&conn->deadline) || conn->deadline.due_ns > due)
        arm_deadline_at(conn, due);
}

static void on_deadline(struct loop *loop, struct loop_timer *timer)
{
    struct loop_connection *conn = timer->data;
    const struct server_config *config = &conn->owner->server->config;
    uint64_t now = loop_now_ns(loop);

    if (conn->state == CONN_WAITING) {
        /* We are the slow one (a /sleep or a job): not the client's fault. */
        arm_deadline_at(conn, now + ms_to_ns(config->idle_timeout_ms));
        return;
    }
    bool receiving = conn->state == CONN_READING && !conn->reads_paused &&
                     buffer_pending(&conn->in) > 0;
    if (receiving) {
        uint64_t due = conn->request_started_ns + ms_to_ns(config->request_timeout_ms);
        if (now < due) {
            arm_deadline_at(conn, due);
            return;
        }
        reply_timeout_append(conn_probe(conn), &conn->out);
        account_output(conn);
        conn->state = CONN_CLOSING;
        conn->last_progress_ns = now;
        arm_deadline_at(conn, now + ms_to_ns(config->idle_timeout_ms));
        connection_update(conn);
        return;
    }
    uint64_t due = conn->last_progress_ns + ms_to_ns(config->idle_timeout_ms);
    if (now < due) {
        arm_deadline_at(conn, due);
        return;
    }
    loop_connection_close(conn);    /* idle, or not reading our replies */
}

/* --- Reading ------------------------------------------------------------ */

/* Returns false if the connection was closed. */
static bool connection_read(struct loop_connection *conn)
{
    int fd = conn->io.fd;
    for (int i = 0; i < LOOP_MAX_READS_PER_DISPATCH; i++) {
        size_t want = server_read_size(&conn->in);
        char *space = want > 0 ? buffer_reserve(&conn->in, want) : NULL;
        if (space == NULL)
            return true;          /* input full: connection_update pauses reads */
        ssize_t n = net_read(fd, space, want);
        if (n == -EAGAIN)
            return true;          /* drained: the normal way out */
        if (n < 0) {
            loop_connection_close(conn);   /* reset by peer, etc. */
            return false;
        }
        probe_emit(conn->owner->thread, PROBE_EV_READ, fd, (uint64_t)n, 0);
        if (n == 0) {
            conn->peer_closed = true;
            return true;
        }
        if (buffer_pending(&conn->in) == 0)
            connection_request_started(conn);
        buffer_commit(&conn->in, (size_t)n);
        conn->last_progress_ns = loop_now_ns(conn->owner->loop);
        probe_gauge_add(conn_probe(conn), PROBE_GAUGE_BYTES_IN, n);
    }
    return true;
}

/* --- Writing ------------------------------------------------------------ */

/* Returns false if the connection was closed. */
static bool connection_write(struct loop_connection *conn)
{
    int fd = conn->io.fd;
    for (int i = 0; i < LOOP_MAX_READS_PER_DISPATCH && buffer_pending(&conn->out) > 0; i++) {
        ssize_t n = net_write(fd, buffer_peek(&conn->out), buffer_pending(&conn->out));
        if (n == -EAGAIN)
            break;                /* kernel buffer full: wait for WRITABLE */
        if (n < 0) {
            loop_connection_close(conn);
            return false;
        }
        /* A partial write is normal: advance the cursor past what the
         * kernel took; the rest goes out on a later WRITABLE event. */
        buffer_consume(&conn->out, (size_t)n);
        conn->last_progress_ns = loop_now_ns(conn->owner->loop);
        probe_emit(conn->owner->thread, PROBE_EV_WRITE, fd, (uint64_t)n, 0);
        probe_gauge_add(conn_probe(conn), PROBE_GAUGE_BYTES_OUT, n);
    }
    if (buffer_pending(&conn->out) == 0)
        buffer_clear(&conn->out);
    else
        buffer_compact(&conn->out);
    account_output(conn);
    return true;
}

/* --- Continuations: what answers a request after the handler returned --- */

/* Called when a /sleep timer fires or a worker job completes. */
static void connection_finish_waiting(struct loop_connection *conn)
{
    assert(conn->state == CONN_WAITING);
    if (!reply_append(conn_probe(conn), &conn->waiting_for, &conn->out))
        conn->state = CONN_CLOSING;
    else
        conn->state = CONN_READING;
    account_output(conn);
    if (conn->state == CONN_READING)
        connection_answer_buffered(conn);      /* pipelined requests */
    connection_update(conn);
}

static void on_sleep_done(struct loop *loop, struct loop_timer *timer)
{
    (void)loop;
    struct loop_connection *conn = timer->data;
    if (conn->state == CONN_LINGERING) {
        loop_connection_close(conn);       /* the linger deadline */
        return;
    }
    connection_finish_waiting(conn);
}

static void cpu_work(struct worker_job *job)
{
    struct loop_connection *conn = job->data;
    route_cpu_burn(conn->waiting_for.match.ms);    /* off the loop thread */
}

static void cpu_done(struct worker_job *job)
{
    struct loop_connection *conn = job->data;
    conn->job_in_flight = false;
    if (conn->free_when_job_done) {
        connection_free(conn);
        return;
    }
    if (job->cancelled) {
        loop_connection_close(conn);       /* server stopping */
        return;
    }
    connection_finish_waiting(conn);
}

/* --- Handling one request ----------------------------------------------- */

static void connection_handle(struct loop_connection *conn, const struct http_request *req)
{
    struct loop_server *owner = conn->owner;
    struct probe *probe = conn_probe(conn);
    int fd = conn->io.fd;
    struct reply_plan plan;
    reply_plan_make(req, &plan);

    probe_handler_begin(owner->thread, fd, plan.match.id);
    switch (plan.match.id) {
    case ROUTE_SLEEP:
        /* The slow backend the loop way: ask to be called back later and
         * return at once, so the loop serves everyone else meanwhile. */
        conn->waiting_for = plan;
        conn->state = CONN_WAITING;
        loop_timer_start(owner->loop, &conn->timer, (uint64_t)plan.match.ms * 1000000u);
        break;
    case ROUTE_SLEEP_BLOCKING:
        /* The pitfall, on purpose: a blocking call inside loop code.  For
         * these milliseconds no other client gets anything. */
        probe_block_begin(owner->thread, PROBE_CALL_SLEEP, fd);
        clock_sleep_ms(plan.match.ms);
        probe_block_end(owner->thread, PROBE_CALL_SLEEP, fd);
        if (!reply_append(probe, &plan, &conn->out))
            conn->state = CONN_CLOSING;
        break;
    case ROUTE_CPU:
        if (owner->pool != NULL) {
            conn->waiting_for = plan;
            conn->job = (struct worker_job){ .work = cpu_work, .done = cpu_done, .data = conn };
            int rc = worker_pool_submit(owner->pool, &conn->job, fd);
            if (rc == 0) {
                conn->job_in_flight = true;
                conn->state = CONN_WAITING;
                break;
            }
            /* Job queue full: shed this request instead of queueing
             * without bound (lesson 9). */
            if (!reply_busy_append(probe, &plan, &conn->out))
                conn->state = CONN_CLOSING;
            break;
        }
        /* No pool: the pitfall of CPU-bound work on the loop thread. */
        route_cpu_burn(plan.match.ms);
        if (!reply_append(probe, &plan, &conn->out))
            conn->state = CONN_CLOSING;
        break;
    default:
        if (!reply_append(probe, &plan, &conn->out))
            conn->state = CONN_CLOSING;
        break;
    }
    probe_handler_end(owner->thread, fd, plan.match.id);
    account_output(conn);
}

static bool output_over_high_watermark(const struct loop_connection *conn)
{
    return backpressure_enabled(conn) &&
           buffer_pending(&conn->out) > LOOP_OUTPUT_HIGH_WATERMARK;
}

/* Answers complete requests already in `in`, in order, until one has to
 * wait, one closes the connection, or backpressure says stop. */
static void connection_answer_buffered(struct loop_connection *conn)
{
    while (conn->state == CONN_READING && !output_over_high_watermark(conn)) {
        struct http_request req;
        enum http_parse_result r = http_parse(&conn->parser, buffer_peek(&conn->in),
                                              buffer_pending(&conn->in), &req);
        if (r == HTTP_PARSE_NEED_MORE) {
            /* Expect: 100-continue, decided in reply.c for every model. */
            if (reply_continue_append(&conn->parser, &conn->out))
                account_output(conn);
            break;
        }
        if (r == HTTP_PARSE_ERROR) {
            reply_parse_error_append(conn_probe(conn), &req, &conn->out);
            account_output(conn);
            conn->state = CONN_CLOSING;
            break;
        }
        connection_handle(conn, &req);
        /* Safe now: no reply plan points into `in` any more (/echo was
         * copied into `out`; /sleep and /cpu only keep numbers). */
        buffer_consume(&conn->in, req.total_len);
        if (buffer_pending(&conn->in) > 0)
            connection_request_started(conn);
    }
    buffer_compact(&conn->in);
}

/* --- Deciding what to wait for next ------------------------------------- */

static void set_reads_paused(struct loop_connection *conn, bool paused)
{
    if (conn->reads_paused == paused)
        return;
    conn->reads_paused = paused;
    probe_gauge_add(conn_probe(conn), PROBE_GAUGE_READS_PAUSED, paused ? 1 : -1);
}

static void start_lingering(struct loop_connection *conn)
{
    /* Our reply is out; shut our side and give the client a moment to
     * read it and close, discarding whatever it still sends. */
    shutdown(conn->io.fd, SHUT_WR);
    conn->state = CONN_LINGERING;
    buffer_clear(&conn->in);
    loop_timer_start(conn->owner->loop, &conn->timer, (uint64_t)LINGER_MS * 1000000u);
}

/* After anything happened: pick the events to watch, or close. */
static void connection_update(struct loop_connection *conn)
{
    bool has_output = buffer_pending(&conn->out) > 0;

    if (conn->state == CONN_CLOSING && !has_output) {
        if (conn->peer_closed) {
            loop_connection_close(conn);
            return;
        }
        start_lingering(conn);
    }
    if (conn->state == CONN_LINGERING) {
        buffer_clear(&conn->in);
        if (conn->peer_closed) {
            loop_connection_close(conn);
            return;
        }
    }
    if (conn->peer_closed && !has_output && conn->state == CONN_READING) {
        loop_connection_close(conn);   /* client done, everything answered */
        return;
    }

    if (backpressure_enabled(conn)) {
        if (buffer_pending(&conn->out) > LOOP_OUTPUT_HIGH_WATERMARK)
            set_reads_paused(conn, true);
        else if (buffer_pending(&conn->out) < LOOP_OUTPUT_LOW_WATERMARK)
            set_reads_paused(conn, false);
    }

    bool input_full = server_read_size(&conn->in) == 0;
    unsigned events = 0;
    if (!conn->peer_closed && !conn->reads_paused && !input_full &&
        conn->state != CONN_CLOSING)
        events |= LOOP_READABLE;
    if (has_output)
        events |= LOOP_WRITABLE;

    if (events == 0) {
        if (loop_io_active(&conn->io))
            loop_io_stop(conn->owner->loop, &conn->io);
    } else if (!loop_io_active(&conn->io)) {
        if (loop_io_start(conn->owner->loop, &conn->io, events) < 0)
            loop_connection_close(conn);
    } else if (events != conn->io.events) {
        if (loop_io_modify(conn->owner->loop, &conn->io, events) < 0)
            loop_connection_close(conn);
    }
}

static void on_connection_event(struct loop *loop, struct loop_io *io, unsigned revents)
{
    (void)loop;
    struct loop_connection *conn = io->data;

    if (revents & (LOOP_READABLE | LOOP_ERROR))
        if (!connection_read(conn))
            return;
    if (conn->state == CONN_READING)
        connection_answer_buffered(conn);
    if (buffer_pending(&conn->out) > 0)
        if (!connection_write(conn))
            return;
    /* Writing may have drained below the low watermark: answer what was
     * held back, then write again if that produced more. */
    if (conn->state == CONN_READING && !output_over_high_watermark(conn) &&
        buffer_pending(&conn->in) > 0) {
        connection_answer_buffered(conn);
        if (buffer_pending(&conn->out) > 0 && !connection_write(conn))
            return;
    }
    connection_update(conn);
}

int loop_connection_open(struct loop_server *owner, int fd)
{
    struct loop_connection *conn = calloc(1, sizeof *conn);
    if (conn == NULL) {
        close(fd);
        return -ENOMEM;
    }
    struct server *server = owner->server;
    conn->owner = owner;
    /* Input never needs more than one maximal request plus one read. */
    buffer_init(&conn->in, HTTP_MAX_HEADER_BYTES + server->config.max_body + SERVER_READ_CHUNK);
    buffer_init(&conn->out, 0);
    http_parser_init(&conn->parser, server->config.max_body);
    loop_io_init(&conn->io, fd, on_connection_event, conn);
    loop_timer_init(&conn->timer, on_sleep_done, conn);
    loop_timer_init(&conn->deadline, on_deadline, conn);
    conn->state = CONN_READING;
    conn->last_progress_ns = loop_now_ns(owner->loop);
    net_set_nodelay(fd);

    conn->next = owner->connections;
    if (owner->connections)
        owner->connections->prev = conn;
    owner->connections = conn;
    owner->connection_count++;
    probe_gauge_add(server->probe, PROBE_GAUGE_CONNECTIONS, 1);

    int rc = loop_io_start(owner->loop, &conn->io, LOOP_READABLE);
    if (rc < 0) {
        loop_connection_close(conn);
        return rc;
    }
    arm_deadline_at(conn, conn->last_progress_ns + ms_to_ns(server->config.idle_timeout_ms));
    return 0;
}
