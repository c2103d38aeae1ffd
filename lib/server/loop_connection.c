/*
 * loop_connection.c — one client of the event-loop model, as a state
 * machine driven by readiness events.
 *
 * Nothing here ever waits.  Every function runs, does what it can without
 * blocking, and returns to the loop; what it cannot finish now it leaves
 * in the connection's state and asks the loop to call back.  The states
 * and every move between them:
 *
 *                              accept
 *                                |
 *               /sleep           v         /cpu on the pool
 *   SLEEPING <--------------- READING ---------------> WORKING --closed--> ORPHANED
 *      |  -- timer fired, -->    |    <-- job done, --    |                (freed by
 *      |     reply keeps it      |        reply keeps     |                 cpu_done)
 *      |     open                |        it open         |
 *      |                         | a closing reply, 408,  |
 *      |                         | 503, or the client     |
 *      |                         v closed                 |
 *      +-- closing reply --> FLUSHING <-- closing reply --+
 *                                |
 *             output sent,       |       output sent,
 *             client closed      |       client still there
 *       (freed) <----------------+----------------> LINGERING ----> (freed) when
 *                                                   the client closes or
 *                                                   SERVER_LINGER_MS have passed
 *
 * READING -> READING (a reply written, the next request read) is not a
 * move.  Any state can be closed at once (a reset, a timeout, shutdown),
 * which frees the connection — except WORKING, whose job the worker pool
 * still holds: then it becomes ORPHANED and cpu_done() frees it.  Every
 * change of state goes through conn_set_state(), which asserts that the
 * move is one of the arrows above (conn_moves[]).
 *
 * Two facts are kept beside the state because they are about the socket,
 * not about the conversation: `peer_closed` (read returned 0: the client
 * will send nothing more) and `reads_paused` (backpressure, below).
 *
 * What each event does:
 *   readable  -> read what is there (a short read means drained, see
 *                connection_read()), then answer every complete request
 *                in order;
 *   /sleep    -> start the sleep timer and return; its callback answers
 *                (SLEEPING meanwhile: pipelined requests wait their turn,
 *                since replies must go out in request order);
 *   /cpu      -> inline (the pitfall) or submitted to the worker pool,
 *                whose completion callback answers on the loop thread;
 *   writable  -> write what is pending; `out`'s start cursor remembers how
 *                far a partial write got.
 *
 * Timers: `sleep_timer` only continues a /sleep.  `deadline` enforces the
 * one deadline the current state has — the request timeout while a
 * request is arriving (408), the idle timeout otherwise, the linger time
 * while LINGERING — lazily (see "Timeouts" below).
 *
 * Clocks: when instrumented, a clock reading costs more than everything
 * else a probe does (tens of ns, bench/probe_cost.c), so one event's
 * reading serves the next when only a few nanoseconds of bookkeeping lie
 * between them.  The reading taken when read() returns is the READ
 * event's time and the start of the first handler; the moment a handler
 * ends is the moment the next one begins; the last handler's end is the
 * time of the WRITE that follows.  A handler's time on the loop therefore
 * includes parsing its own request.  `clock_ns` carries the latest
 * reading (0: none fresh) through one event.
 *
 * Pipelined requests with fixed replies (GET /, a 404: route_is_fixed_reply())
 * go further: a run of them answered back to back is timed as a whole,
 * with one reading at its end, and each gets an equal share of the run in
 * the handler histogram and its events (probe_handlers_ran()).  Such a
 * handler takes about as long as the clock reading that would time it
 * (~100 ns against ~30), so reading the clock for each one cost more than
 * a tenth of a pipelined request's CPU.  Every other handler is timed on
 * its own, so a slow one is never averaged away; and a request that came
 * alone is a run of one: its time is exact.
 *
 * Backpressure: when a client sends requests faster than it reads replies,
 * `out` grows.  Past LOOP_OUTPUT_HIGH_WATERMARK we stop reading from that
 * client (and stop answering what is already buffered) until `out` drains
 * below LOOP_OUTPUT_LOW_WATERMARK.  The kernel's buffers then fill and
 * TCP flow control slows the client down.  --no-backpressure turns this
 * off for the pitfall lesson: then `out` grows without bound.
 *
 * Memory: a connection with nothing pending holds no buffer.  `in` and
 * `out` borrow a block from the loop's pool (struct loop_server.buffers)
 * when bytes arrive or a reply is written, and give it back as soon as
 * they are drained, so an idle keep-alive connection costs this struct
 * (440 bytes on x86-64, 448 with malloc's header), its slot in the
 * backend (8 bytes for epoll, 24 for poll), one in the timer heap (the
 * deadline, 8) and no probe state at all.
 * A student sees it with `evlab stats NAME`: buffer_bytes is what the
 * connections' buffers hold right now — 0 while 10,000 connections of
 * `evlab load --idle -c 10000` sit idle, growing only for the ones that
 * are busy — and VmRSS in /proc/PID/status grows by well under 1 KiB per
 * idle connection (bench/loop_cost.py idle measures it).
 */
#include "server/loop_connection.h"

#include <assert.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/limits.h"
#include "http/http_parser.h"
#include "http/http_response.h"
#include "http/routes.h"
#include "net/net.h"
#include "probe/probe.h"
#include "server/reply.h"
#include "server/server_internal.h"

enum conn_state {
    CONN_READING,      /* reading requests, answering them in order        */
    CONN_SLEEPING,     /* the sleep timer will write the next reply        */
    CONN_WORKING,      /* a worker job (/cpu) will write the next reply    */
    CONN_FLUSHING,     /* the last replies are queued: write, read nothing */
    CONN_LINGERING,    /* our side is shut: discard input, then close      */
    CONN_ORPHANED,     /* closed while the worker pool holds its job       */
    CONN_STATE_COUNT
};

/* The arrows of the diagram at the top: conn_moves[from][to]. */
static const bool conn_moves[CONN_STATE_COUNT][CONN_STATE_COUNT] = {
    [CONN_READING] = { [CONN_SLEEPING] = true, [CONN_WORKING] = true, [CONN_FLUSHING] = true },
    [CONN_SLEEPING] = { [CONN_READING] = true, [CONN_FLUSHING] = true },
    [CONN_WORKING] = { [CONN_READING] = true, [CONN_FLUSHING] = true, [CONN_ORPHANED] = true },
    [CONN_FLUSHING] = { [CONN_LINGERING] = true },
    [CONN_LINGERING] = { 0 },      /* only closing leaves it */
    [CONN_ORPHANED] = { 0 },       /* only cpu_done() frees it */
};

struct loop_connection {
    struct loop_server *owner;
    enum conn_state state;            /* changed only by conn_set_state() */
    bool peer_closed;                 /* read() returned 0 */
    bool reads_paused;                /* backpressure: too much output queued */
    struct loop_io io;
    struct loop_timer deadline;       /* request / idle / linger deadline (lazy) */
    uint64_t last_progress_ns;        /* last byte read or written */
    uint64_t request_started_ns;      /* first byte of the pending request */
    struct http_parser parser;
    struct buffer in;                 /* read, not yet parsed (pooled) */
    struct buffer out;                /* answered, not yet written (pooled) */
    size_t out_counted;               /* our share of the OUTPUT_QUEUED gauge */
    /* Used only while SLEEPING or WORKING (144 bytes of the struct; kept
     * inline rather than allocated per /sleep, which would cost a malloc
     * per slow request to save them on idle connections). */
    struct loop_timer sleep_timer;    /* continues a /sleep */
    struct worker_job job;            /* /cpu on the worker pool */
    struct reply_plan waiting_for;    /* the request the timer or job answers */
    struct loop_connection *prev, *next;
};

static void connection_update(struct loop_connection *conn);
static void connection_answer_buffered(struct loop_connection *conn, uint64_t *clock_ns);

static void conn_set_state(struct loop_connection *conn, enum conn_state next)
{
    assert(conn_moves[conn->state][next] && "connection state change not in the diagram");
    conn->state = next;
}

static struct probe *conn_probe(const struct loop_connection *conn)
{
    return conn->owner->server->probe;
}

static bool backpressure_enabled(const struct loop_connection *conn)
{
    return !conn->owner->server->config.no_backpressure;
}

/* Keeps the server-wide OUTPUT_QUEUED gauge equal to the sum of every
 * connection's pending output.  Called when output was written and at the
 * end of every event (connection_update()), not after every reply: a
 * reply written within the same event then costs the gauge nothing. */
static void account_output(struct loop_connection *conn)
{
    size_t pending = buffer_pending(&conn->out);
    if (pending == conn->out_counted)
        return;
    probe_thread_gauge_add(conn->owner->thread, PROBE_GAUGE_OUTPUT_QUEUED,
                           (int64_t)pending - (int64_t)conn->out_counted);
    conn->out_counted = pending;
}

/* What the connections' buffers hold now (the buffer_bytes gauge).  It
 * is asked after every event but changes only when a block is borrowed
 * or given back and stays there (a reply written at once borrows and
 * returns within one event), so the store is skipped when it would
 * write the same number. */
static void publish_buffer_bytes(struct loop_server *owner)
{
    size_t lent = buffer_pool_bytes_lent(&owner->buffers);
    if (lent == owner->buffer_bytes_shown)
        return;
    owner->buffer_bytes_shown = lent;
    probe_gauge_set(owner->server->probe, PROBE_GAUGE_BUFFER_BYTES, (int64_t)lent);
}

/* --- Closing -------------------------------------------------------------- */

static void connection_free(struct loop_connection *conn)
{
    struct loop_server *owner = conn->owner;
    if (conn->reads_paused)
        probe_gauge_add(conn_probe(conn), PROBE_GAUGE_READS_PAUSED, -1);
    buffer_free(&conn->in);
    buffer_free(&conn->out);
    account_output(conn);
    if (conn->prev)
        conn->prev->next = conn->next;
    else
        owner->connections = conn->next;
    if (conn->next)
        conn->next->prev = conn->prev;
    owner->connection_count--;
    publish_buffer_bytes(owner);
    free(conn);
}

/* Stops every watcher and timer and closes the socket. */
static void connection_close_socket(struct loop_connection *conn)
{
    struct loop_server *owner = conn->owner;
    loop_io_stop(owner->loop, &conn->io);
    loop_timer_stop(owner->loop, &conn->sleep_timer);
    loop_timer_stop(owner->loop, &conn->deadline);
    if (conn->io.fd >= 0) {
        probe_emit(owner->thread, PROBE_EV_CLOSE, conn->io.fd, 0, 0);
        probe_gauge_add(conn_probe(conn), PROBE_GAUGE_CLOSES, 1);
        probe_gauge_add(conn_probe(conn), PROBE_GAUGE_CONNECTIONS, -1);
        close(conn->io.fd);
        conn->io.fd = -1;
    }
}

void loop_connection_close(struct loop_connection *conn)
{
    assert(conn->state != CONN_ORPHANED && "closing a connection twice");
    connection_close_socket(conn);
    /* The worker pool still holds &conn->job: cpu_done() frees it. */
    if (conn->state == CONN_WORKING)
        conn_set_state(conn, CONN_ORPHANED);
    else
        connection_free(conn);
}

/* --- Timeouts ------------------------------------------------------------- */

/* One timer per connection enforces the deadline of its state (limits.h):
 * a request must arrive whole within the request timeout (else 408: this
 * is what ends a slowloris client), a connection without progress for
 * the idle timeout is closed, and a lingering one is closed after
 * SERVER_LINGER_MS.  Re-arming a timer on every read would cost a heap
 * operation per request, so the timer is lazy: it fires at the earliest
 * deadline it was given, then looks at the connection's state and
 * timestamps and either acts or sets itself for the deadline that really
 * applies now. */

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
    if (conn->state == CONN_LINGERING)
        return;                   /* discarded input: the linger deadline stands */
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

    switch (conn->state) {
    case CONN_SLEEPING:
    case CONN_WORKING:
        /* We are the slow one (a /sleep or a job): not the client's fault. */
        arm_deadline_at(conn, now + ms_to_ns(config->idle_timeout_ms));
        return;
    case CONN_LINGERING:
        loop_connection_close(conn);    /* the client did not go in time */
        return;
    case CONN_READING:
        if (!conn->reads_paused && buffer_pending(&conn->in) > 0) {
            /* A request is arriving: the request timeout applies. */
            uint64_t due = conn->request_started_ns + ms_to_ns(config->request_timeout_ms);
            if (now < due) {
                arm_deadline_at(conn, due);
                return;
            }
            reply_timeout_append(conn_probe(conn), &conn->out);
            conn_set_state(conn, CONN_FLUSHING);
            conn->last_progress_ns = now;
            arm_deadline_at(conn, now + ms_to_ns(config->idle_timeout_ms));
            connection_update(conn);
            return;
        }
        break;
    case CONN_FLUSHING:
        break;                          /* the idle timeout, below */
    case CONN_ORPHANED:
    case CONN_STATE_COUNT:
        assert(!"an orphaned connection has no timers");
        return;
    }
    uint64_t due = conn->last_progress_ns + ms_to_ns(config->idle_timeout_ms);
    if (now < due) {
        arm_deadline_at(conn, due);
        return;
    }
    loop_connection_close(conn);        /* idle, or not reading our replies */
}

/* --- Reading -------------------------------------------------------------- */

/*
 * Reads what the socket has.  Returns false if the connection was closed.
 *
 * A read that returns fewer bytes than it asked for has emptied the
 * socket's receive queue, so we stop there instead of calling read()
 * once more only to be told EAGAIN: that saves one system call per
 * request (a keep-alive request then costs one read and one write).  It
 * is safe because both backends are level-triggered (backend.h): if more
 * bytes arrive after our short read — even before we return to the loop
 * — the socket is readable, and the next wait reports it again.
 *
 * An edge-triggered loop (EPOLLET) could not skip that read.  It hears
 * about a socket only when the socket goes from "nothing to read" to
 * "something to read".  Bytes that arrive between our short read and our
 * return make no new edge if the socket already counts as readable, so
 * the only way to be sure nothing is left behind is to read until EAGAIN;
 * stopping early would leave those bytes unread with no event ever to
 * announce them, and the connection would hang.
 */
static bool connection_read(struct loop_connection *conn, uint64_t *clock_ns)
{
    int fd = conn->io.fd;
    for (int i = 0; i < LOOP_MAX_READS_PER_DISPATCH; i++) {
        size_t want = server_read_size(&conn->in);
        char *space = want > 0 ? buffer_reserve(&conn->in, want) : NULL;
        if (space == NULL)
            return true;          /* input full: connection_update pauses reads */
        ssize_t n = net_read(fd, space, want);
        if (n == -EAGAIN)
            return true;          /* nothing there after all (a spurious wakeup) */
        if (n < 0) {
            loop_connection_close(conn);   /* reset by peer, etc. */
            return false;
        }
        /* This reading also starts the first handler (see "Clocks" above). */
        *clock_ns = probe_clock_ns(conn->owner->thread);
        probe_emit_at(conn->owner->thread, *clock_ns, PROBE_EV_READ, fd, (uint64_t)n, 0);
        if (n == 0) {
            conn->peer_closed = true;
            return true;
        }
        if (buffer_pending(&conn->in) == 0)
            connection_request_started(conn);
        buffer_commit(&conn->in, (size_t)n);
        conn->last_progress_ns = loop_now_ns(conn->owner->loop);
        probe_thread_gauge_add(conn->owner->thread, PROBE_GAUGE_BYTES_IN, n);
        if ((size_t)n < want)
            return true;          /* a short read: drained for now (above) */
    }
    return true;
}

/* --- Writing -------------------------------------------------------------- */

/* Writes what is pending, at most LOOP_MAX_WRITES_PER_DISPATCH times.  A
 * write that the kernel took only partly means its send buffer is full,
 * so we stop there and wait for WRITABLE rather than try again only to be
 * told EAGAIN.  The first WRITE event takes its time from *clock_ns when a
 * handler just ended (see "Clocks" above).  Returns false if the
 * connection was closed. */
static bool connection_write(struct loop_connection *conn, uint64_t *clock_ns)
{
    int fd = conn->io.fd;
    for (int i = 0; i < LOOP_MAX_WRITES_PER_DISPATCH && buffer_pending(&conn->out) > 0; i++) {
        size_t want = buffer_pending(&conn->out);
        ssize_t n = net_write(fd, buffer_peek(&conn->out), want);
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
        uint64_t t = *clock_ns != 0 ? *clock_ns : probe_clock_ns(conn->owner->thread);
        *clock_ns = 0;      /* used: a second write takes its own reading */
        probe_emit_at(conn->owner->thread, t, PROBE_EV_WRITE, fd, (uint64_t)n, 0);
        probe_thread_gauge_add(conn->owner->thread, PROBE_GAUGE_BYTES_OUT, n);
        if ((size_t)n < want)
            break;                /* the send buffer is full (above) */
    }
    /* Drained: the block goes back to the pool until the next reply. */
    buffer_give_back_if_drained(&conn->out);
    buffer_compact(&conn->out);
    account_output(conn);
    return true;
}

/* --- Replies -------------------------------------------------------------- */

/* Appends the reply to `plan`.  Afterwards the connection is READING if
 * the reply keeps it open, FLUSHING if the reply closes it. */
static void connection_reply(struct loop_connection *conn, const struct reply_plan *plan)
{
    bool keep_open = reply_append(conn_probe(conn), plan, &conn->out);
    enum conn_state next = keep_open ? CONN_READING : CONN_FLUSHING;
    if (conn->state != next)
        conn_set_state(conn, next);
}

/* Called when a /sleep timer fires or a worker job completes. */
static void connection_finish_waiting(struct loop_connection *conn)
{
    assert(conn->state == CONN_SLEEPING || conn->state == CONN_WORKING);
    connection_reply(conn, &conn->waiting_for);
    uint64_t clock_ns = 0;
    if (conn->state == CONN_READING)
        connection_answer_buffered(conn, &clock_ns);   /* pipelined requests */
    connection_update(conn);
}

static void on_sleep_done(struct loop *loop, struct loop_timer *timer)
{
    (void)loop;
    connection_finish_waiting(timer->data);
}

static void cpu_work(struct worker_job *job)
{
    struct loop_connection *conn = job->data;
    route_cpu_burn(conn->waiting_for.match.ms);    /* off the loop thread */
}

static void cpu_done(struct worker_job *job)
{
    struct loop_connection *conn = job->data;
    if (conn->state == CONN_ORPHANED) {
        connection_free(conn);             /* closed while the job ran */
        return;
    }
    if (job->cancelled) {
        /* The server is stopping and the job never ran.  The pool has
         * let go of the job, so the connection can be freed now. */
        connection_close_socket(conn);
        connection_free(conn);
        return;
    }
    connection_finish_waiting(conn);
}

/* --- Handling one request ------------------------------------------------- */

/* Fixed-reply handlers answered back to back and not yet recorded: they
 * began at start_ns, one after another (see "Clocks" above).  With
 * count == 0, start_ns is just the latest reading (0: none fresh). */
struct handler_run {
    uint64_t start_ns;
    unsigned route;
    unsigned count;
};

/* Whether a route's handler does the same small work whatever the
 * request says: a fixed reply (hello, 404, 405, 400 for a bad argument,
 * 501), its request's header block bounded by HTTP_MAX_HEADER_BYTES.
 * Only these share a run's reading; /echo, /stats, /sleep and /cpu are
 * timed one by one, so a slow handler is never averaged away. */
static bool route_is_fixed_reply(enum route_id route)
{
    switch (route) {
    case ROUTE_ROOT:
    case ROUTE_NOT_FOUND:
    case ROUTE_BAD_ARGUMENT:
    case ROUTE_METHOD_NOT_ALLOWED:
    case ROUTE_NOT_IMPLEMENTED:
        return true;
    default:
        return false;
    }
}

/* Records the run's handlers, each with an equal share of the time since
 * run->start_ns (probe_handlers_ran()), and returns the reading that ends
 * it, which is also where whatever comes next begins.  An empty run reads
 * the clock only if it has no fresh reading. */
static uint64_t handler_run_end(struct loop_connection *conn, struct handler_run *run)
{
    struct probe_thread *thread = conn->owner->thread;
    if (run->count == 0) {
        if (run->start_ns == 0)
            run->start_ns = probe_clock_ns(thread);
        return run->start_ns;
    }
    uint64_t now = probe_clock_ns(thread);
    probe_handlers_ran(thread, run->start_ns, now, conn->io.fd, run->route, run->count);
    run->start_ns = now;
    run->count = 0;
    return now;
}

/* Answers one request.  A fixed reply joins the run; any other handler
 * ends the run and is timed on its own, from the run's last reading to a
 * reading of its own, which becomes run->start_ns for what follows. */
static void connection_handle(struct loop_connection *conn, const struct http_request *req,
                              struct handler_run *run)
{
    struct loop_server *owner = conn->owner;
    int fd = conn->io.fd;
    struct reply_plan plan;
    reply_plan_make(req, &plan);

    if (route_is_fixed_reply(plan.match.id)) {
        /* One route per run; an empty run only makes sure it has a start. */
        if (run->count == 0 || run->route != plan.match.id)
            handler_run_end(conn, run);
        run->route = plan.match.id;
        run->count++;
        connection_reply(conn, &plan);
        return;
    }

    uint64_t begin = handler_run_end(conn, run);
    probe_handler_begin_at(owner->thread, begin, fd, plan.match.id);
    switch (plan.match.id) {
    case ROUTE_SLEEP:
        /* The slow backend the loop way: ask to be called back later and
         * return at once, so the loop serves everyone else meanwhile. */
        conn->waiting_for = plan;
        conn_set_state(conn, CONN_SLEEPING);
        loop_timer_start(owner->loop, &conn->sleep_timer, ms_to_ns(plan.match.ms));
        break;
    case ROUTE_SLEEP_BLOCKING:
        /* The pitfall, on purpose: a blocking call inside loop code.  For
         * these milliseconds no other client gets anything. */
        probe_block_begin(owner->thread, PROBE_CALL_SLEEP, fd);
        clock_sleep_ms(plan.match.ms);
        probe_block_end(owner->thread, PROBE_CALL_SLEEP, fd);
        connection_reply(conn, &plan);
        break;
    case ROUTE_CPU:
        if (owner->pool != NULL) {
            conn->waiting_for = plan;
            conn->job = (struct worker_job){ .work = cpu_work, .done = cpu_done, .data = conn };
            if (worker_pool_submit(owner->pool, &conn->job, fd) == 0) {
                conn_set_state(conn, CONN_WORKING);
                break;
            }
            /* Job queue full: shed this request instead of queueing
             * without bound (lesson 9). */
            if (!reply_busy_append(conn_probe(conn), &plan, &conn->out))
                conn_set_state(conn, CONN_FLUSHING);
            break;
        }
        /* No pool: the pitfall of CPU-bound work on the loop thread. */
        route_cpu_burn(plan.match.ms);
        connection_reply(conn, &plan);
        break;
    default:
        connection_reply(conn, &plan);
        break;
    }
    run->start_ns = probe_clock_ns(owner->thread);
    probe_handler_end_at(owner->thread, run->start_ns, fd, plan.match.id);
}

static bool output_over_high_watermark(const struct loop_connection *conn)
{
    return backpressure_enabled(conn) &&
           buffer_pending(&conn->out) > LOOP_OUTPUT_HIGH_WATERMARK;
}

/* Answers complete requests already in `in`, in order, until one has to
 * wait, one closes the connection, or backpressure says stop.  *clock_ns
 * is the latest clock reading, or 0 (see "Clocks" above). */
static void connection_answer_buffered(struct loop_connection *conn, uint64_t *clock_ns)
{
    struct handler_run run = { .start_ns = *clock_ns };
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
            conn_set_state(conn, CONN_FLUSHING);
            break;
        }
        connection_handle(conn, &req, &run);
        /* Safe now: no reply plan points into `in` any more (/echo was
         * copied into `out`; /sleep and /cpu only keep numbers). */
        buffer_consume(&conn->in, req.total_len);
        if (buffer_pending(&conn->in) > 0)
            connection_request_started(conn);
    }
    /* The run ends before anything else is recorded (a WRITE, the next
     * READ), so the ring stays in time order. */
    *clock_ns = run.count > 0 ? handler_run_end(conn, &run) : run.start_ns;
    /* Everything parsed: the block goes back to the pool until more
     * bytes arrive.  A partial request keeps it. */
    buffer_give_back_if_drained(&conn->in);
    buffer_compact(&conn->in);
}

/* --- Deciding what to wait for next --------------------------------------- */

static void set_reads_paused(struct loop_connection *conn, bool paused)
{
    if (conn->reads_paused == paused)
        return;
    conn->reads_paused = paused;
    probe_gauge_add(conn_probe(conn), PROBE_GAUGE_READS_PAUSED, paused ? 1 : -1);
}

static void start_lingering(struct loop_connection *conn)
{
    /* Our replies are out; shut our side and give the client a moment to
     * read them and close, discarding whatever it still sends. */
    shutdown(conn->io.fd, SHUT_WR);
    conn_set_state(conn, CONN_LINGERING);
    arm_deadline_at(conn, loop_now_ns(conn->owner->loop) + ms_to_ns(SERVER_LINGER_MS));
}

/* Whether to ask the loop for READABLE: in every state that still takes
 * input, unless the client is done, backpressure holds us, or `in` is
 * full (then the parser answers 413/431 before more could fit). */
static bool connection_wants_input(const struct loop_connection *conn)
{
    if (conn->state == CONN_FLUSHING || conn->peer_closed || conn->reads_paused)
        return false;
    return server_read_size(&conn->in) > 0;
}

/* After anything happened: move on if the state is done, then pick the
 * events to watch, or close. */
static void connection_update(struct loop_connection *conn)
{
    /* The client will send nothing more: once every complete request is
     * answered (all of them by now, unless backpressure holds some back
     * until the output drains), write the replies, then close. */
    if (conn->state == CONN_READING && conn->peer_closed && !output_over_high_watermark(conn))
        conn_set_state(conn, CONN_FLUSHING);

    bool has_output = buffer_pending(&conn->out) > 0;
    if (conn->state == CONN_FLUSHING && !has_output) {
        if (conn->peer_closed) {
            loop_connection_close(conn);
            return;
        }
        start_lingering(conn);
    }
    if (conn->state == CONN_LINGERING) {
        buffer_clear(&conn->in);       /* discarded, as promised */
        buffer_give_back_if_drained(&conn->in);
        if (conn->peer_closed) {
            loop_connection_close(conn);
            return;
        }
    }

    if (backpressure_enabled(conn)) {
        if (buffer_pending(&conn->out) > LOOP_OUTPUT_HIGH_WATERMARK)
            set_reads_paused(conn, true);
        else if (buffer_pending(&conn->out) < LOOP_OUTPUT_LOW_WATERMARK)
            set_reads_paused(conn, false);
    }

    unsigned events = 0;
    if (connection_wants_input(conn))
        events |= LOOP_READABLE;
    if (has_output)
        events |= LOOP_WRITABLE;

    int rc = 0;
    if (events == 0)
        loop_io_stop(conn->owner->loop, &conn->io);
    else if (!loop_io_active(&conn->io))
        rc = loop_io_start(conn->owner->loop, &conn->io, events);
    else if (events != conn->io.events)
        rc = loop_io_modify(conn->owner->loop, &conn->io, events);
    account_output(conn);
    publish_buffer_bytes(conn->owner);
    if (rc < 0)
        loop_connection_close(conn);
}

static void on_connection_event(struct loop *loop, struct loop_io *io, unsigned revents)
{
    (void)loop;
    struct loop_connection *conn = io->data;
    uint64_t clock_ns = 0;      /* the latest clock reading (see "Clocks") */

    if (revents & (LOOP_READABLE | LOOP_ERROR))
        if (!connection_read(conn, &clock_ns))
            return;
    if (conn->state == CONN_READING)
        connection_answer_buffered(conn, &clock_ns);
    if (buffer_pending(&conn->out) > 0)
        if (!connection_write(conn, &clock_ns))
            return;
    /* Writing may have drained below the low watermark: answer what was
     * held back, then write again if that produced more. */
    if (conn->state == CONN_READING && !output_over_high_watermark(conn) &&
        buffer_pending(&conn->in) > 0) {
        clock_ns = 0;           /* a write came in between: read afresh */
        connection_answer_buffered(conn, &clock_ns);
        if (buffer_pending(&conn->out) > 0 && !connection_write(conn, &clock_ns))
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
    conn->state = CONN_READING;
    /* Input never needs more than one maximal request plus one read. */
    size_t in_limit = HTTP_MAX_HEADER_BYTES + server->config.max_body + SERVER_READ_CHUNK;
    buffer_init_pooled(&conn->in, in_limit, &owner->buffers);
    buffer_init_pooled(&conn->out, 0, &owner->buffers);
    http_parser_init(&conn->parser, server->config.max_body);
    loop_io_init(&conn->io, fd, on_connection_event, conn);
    loop_timer_init(&conn->sleep_timer, on_sleep_done, conn);
    loop_timer_init(&conn->deadline, on_deadline, conn);
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
