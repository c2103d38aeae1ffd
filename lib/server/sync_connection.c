/*
 * sync_connection.c — serve one connection the straightforward way, with
 * blocking calls.  The blocking model runs this on its only thread; the
 * threads model runs it on one thread per connection.  This is the code
 * that is easy to write and read — the lesson is what it costs when many
 * clients arrive at once.
 *
 *     connection_open(&conn, fd);
 *     while (the connection stays open && the server runs) {
 *         connection_read(&conn);              // wait for bytes (timeouts here)
 *         connection_answer_buffered(&conn);   // each complete request, in order:
 *                                              //   connection_handle() runs it,
 *                                              //   a /sleep sleeps right here
 *         connection_write(&conn);             // wait until every reply is sent
 *     }
 *     connection_close(&conn);
 *
 * The steps carry the names of the event loop's connection
 * (loop_connection.c), so the two read side by side:
 *
 *     here (blocking calls)            there (called back by the loop)
 *     connection_read: waits           connection_read: on READABLE
 *     arm_deadline: SO_RCVTIMEO        on_deadline: a timer
 *     connection_answer_buffered       connection_answer_buffered
 *     connection_handle: /sleep sleeps connection_handle: /sleep starts a timer
 *     connection_write: waits          connection_write: on WRITABLE
 *     connection_close                 connection_update, start_lingering
 *
 * The difference is the lesson: here every step waits for as long as it
 * takes, and the thread waits with it; there, each step does what it can
 * without waiting, returns to the loop, and what the connection still
 * waits for is kept in its state.
 *
 * Pipelining: a client may send several requests before reading any
 * reply.  We answer every complete request already in the input buffer in
 * order, then write all the replies at once.
 *
 * Timeouts: a blocking read waits at most SO_RCVTIMEO, which is set
 * before each read to the idle timeout between requests, or to what is
 * left of the request timeout inside one (408 when none is left): the
 * same two rules as the loop's on_deadline().
 */
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "common/buffer.h"
#include "common/clock.h"
#include "common/limits.h"
#include "http/http_parser.h"
#include "http/routes.h"
#include "net/net.h"
#include "server/reply.h"
#include "server/server_internal.h"

/* One connection served by one thread; it lives on that thread's stack. */
struct sync_connection {
    struct server *server;
    struct probe_thread *thread;      /* the serving thread's probe */
    int fd;
    enum sync_model model;            /* which model serves it (server_internal.h) */
    struct buffer in;                 /* read, not yet parsed */
    struct buffer out;                /* answered, not yet written */
    struct http_parser parser;
    bool closing;                     /* we decided to close, after `out` is sent */
    uint64_t request_started_ns;      /* first byte of the pending request */
    uint32_t read_timeout_ms;         /* what SO_RCVTIMEO is set to now */
};

static struct probe *conn_probe(const struct sync_connection *conn)
{
    return conn->server->probe;
}

static bool server_stopping(const struct sync_connection *conn)
{
    return atomic_load(&conn->server->stop_requested);
}

/* --- Timeouts ----------------------------------------------------------- */

/* SO_RCVTIMEO / SO_SNDTIMEO: a blocking read or write on fd gives up with
 * EAGAIN after `ms` instead of waiting for ever. */
static void set_socket_timeout(int fd, int which, uint32_t ms)
{
    struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (suseconds_t)(ms % 1000) * 1000 };
    setsockopt(fd, SOL_SOCKET, which, &tv, sizeof tv);
}

/* Called when the first byte of a request is in: the request timeout
 * starts. */
static void connection_request_started(struct sync_connection *conn)
{
    conn->request_started_ns = clock_now_ns();
}

/* Sets how long the next read may wait.  Returns false when the pending
 * request has used up its request timeout already. */
static bool arm_deadline(struct sync_connection *conn)
{
    const struct server_config *config = &conn->server->config;
    uint32_t wait_ms = config->idle_timeout_ms;

    if (buffer_pending(&conn->in) > 0) {
        uint64_t elapsed_ms = (clock_now_ns() - conn->request_started_ns) / 1000000u;
        if (elapsed_ms >= config->request_timeout_ms)
            return false;
        wait_ms = config->request_timeout_ms - (uint32_t)elapsed_ms;
    }
    if (wait_ms != conn->read_timeout_ms) {
        set_socket_timeout(conn->fd, SO_RCVTIMEO, wait_ms);
        conn->read_timeout_ms = wait_ms;
    }
    return true;
}

/* --- Reading ------------------------------------------------------------ */

/* Waits for the next bytes.  Returns false when the connection is over
 * with nothing more to answer: the peer closed or reset it, it stayed idle
 * for the idle timeout, or the input is full.  A request that ran out of
 * time gets 408 and `closing`. */
static bool connection_read(struct sync_connection *conn)
{
    if (!arm_deadline(conn)) {
        reply_timeout_append(conn_probe(conn), &conn->out);
        conn->closing = true;
        return true;
    }
    size_t want = server_read_size(&conn->in);
    char *space = want > 0 ? buffer_reserve(&conn->in, want) : NULL;
    if (space == NULL)
        return false;
    probe_block_begin(conn->thread, PROBE_CALL_READ, conn->fd);
    ssize_t n = net_read(conn->fd, space, want);
    probe_block_end(conn->thread, PROBE_CALL_READ, conn->fd);
    if (n == -EINTR)
        return true;                /* a signal: the caller re-checks for a stop */
    if (n == -EAGAIN)               /* SO_RCVTIMEO ran out: idle, close; inside a */
        return buffer_pending(&conn->in) > 0;   /* request, the next call sends 408 */
    if (n <= 0)
        return false;               /* peer closed, or reset: nothing to answer */
    if (buffer_pending(&conn->in) == 0)
        connection_request_started(conn);
    buffer_commit(&conn->in, (size_t)n);
    probe_emit(conn->thread, PROBE_EV_READ, conn->fd, (uint64_t)n, 0);
    probe_thread_gauge_add(conn->thread, PROBE_GAUGE_BYTES_IN, n);
    return true;
}

/* --- Writing ------------------------------------------------------------ */

/* Sends every reply answered so far, waiting as long as the socket needs
 * (at most SO_SNDTIMEO per write).  Returns false if the peer went away. */
static bool connection_write(struct sync_connection *conn)
{
    size_t len = buffer_pending(&conn->out);
    if (len == 0)
        return true;
    probe_block_begin(conn->thread, PROBE_CALL_WRITE, conn->fd);
    int rc = net_write_all(conn->fd, buffer_peek(&conn->out), len);
    probe_block_end(conn->thread, PROBE_CALL_WRITE, conn->fd);
    if (rc == 0) {
        probe_emit(conn->thread, PROBE_EV_WRITE, conn->fd, len, 0);
        probe_thread_gauge_add(conn->thread, PROBE_GAUGE_BYTES_OUT, (int64_t)len);
    }
    buffer_clear(&conn->out);
    return rc == 0;
}

/* --- Handling one request ----------------------------------------------- */

/* The slow backend of /sleep: this thread waits, nothing else runs on it.
 * It waits in short slices against a deadline (so the total stays what
 * was asked) and gives up early when the server is stopping: otherwise a
 * SIGTERM would wait out a /sleep/60000 in the blocking model, and the
 * threads model's bounded shutdown wait would give up on this thread and
 * leave the instrumentation segment behind. */
static void sleep_unless_stopping(const struct sync_connection *conn, uint32_t ms)
{
    uint64_t deadline = clock_now_ns() + (uint64_t)ms * 1000000u;
    for (;;) {
        uint64_t now = clock_now_ns();
        if (now >= deadline || server_stopping(conn))
            return;
        uint64_t left_ms = (deadline - now + 999999u) / 1000000u;
        clock_sleep_ms(left_ms < THREADS_HANDLER_SLICE_MS ? (uint32_t)left_ms : THREADS_HANDLER_SLICE_MS);
    }
}

/* /cpu/MS in slices, for the same reason as sleep_unless_stopping(): the
 * total work is the same, but a stop request is noticed within a slice. */
static void burn_unless_stopping(const struct sync_connection *conn, uint32_t ms)
{
    while (ms > 0 && !server_stopping(conn)) {
        uint32_t slice = ms < THREADS_HANDLER_SLICE_MS ? ms : THREADS_HANDLER_SLICE_MS;
        route_cpu_burn(slice);
        ms -= slice;
    }
}

/* The blocking model has one thread, so a connection it keeps open
 * between two requests locks every other client out for as long as its
 * client idles (ab -k -c 10 would wait a whole idle timeout per
 * connection).  So when this is the last request it has, and another
 * client waits in the accept queue (the listener is readable), its reply
 * says close and the next client gets its turn.  A request still
 * arriving, or a slow handler, holds the thread all the same: that is
 * the lesson of this model. */
static void give_way_if_others_wait(const struct sync_connection *conn,
                                    const struct http_request *req, struct reply_plan *plan)
{
    struct pollfd listener = { .fd = conn->server->listen_fd, .events = POLLIN };

    if (conn->model != SYNC_MODEL_BLOCKING || plan->connection == HTTP_CONNECTION_CLOSE)
        return;
    if (buffer_pending(&conn->in) > req->total_len)
        return;                  /* more of this client's requests are here: those first */
    if (poll(&listener, 1, 0) > 0)
        plan->connection = HTTP_CONNECTION_CLOSE;
}

/* Runs one request's handler, blocking as long as the route says, and
 * appends its reply.  Returns whether the connection stays open. */
static bool connection_handle(struct sync_connection *conn, const struct http_request *req)
{
    struct reply_plan plan;
    reply_plan_make(req, &plan);

    probe_handler_begin(conn->thread, conn->fd, plan.match.id);
    /* The threads model counts a thread inside a handler as ready. */
    if (conn->model == SYNC_MODEL_THREADS)
        probe_gauge_add(conn_probe(conn), PROBE_GAUGE_READY, 1);
    switch (plan.match.id) {
    case ROUTE_SLEEP:
    case ROUTE_SLEEP_BLOCKING:
        /* The slow backend: in a thread model, waiting means this
         * thread sleeps and nothing else runs on it. */
        probe_block_begin(conn->thread, PROBE_CALL_SLEEP, conn->fd);
        sleep_unless_stopping(conn, plan.match.ms);
        probe_block_end(conn->thread, PROBE_CALL_SLEEP, conn->fd);
        break;
    case ROUTE_CPU:
        burn_unless_stopping(conn, plan.match.ms);
        break;
    default:
        break;
    }
    give_way_if_others_wait(conn, req, &plan);
    bool stays_open = reply_append(conn_probe(conn), &plan, &conn->out);
    if (conn->model == SYNC_MODEL_THREADS)
        probe_gauge_add(conn_probe(conn), PROBE_GAUGE_READY, -1);
    probe_handler_end(conn->thread, conn->fd, plan.match.id);
    return stays_open;
}

/* How many complete requests are in data[0..len): those waiting behind
 * the one about to be served.  Costs nothing when len is 0, the usual,
 * unpipelined case. */
static int count_complete_requests(const struct sync_connection *conn, const char *data,
                                   size_t len)
{
    struct http_parser ahead;
    struct http_request req;
    int count = 0;
    http_parser_init(&ahead, conn->server->config.max_body);
    while (len > 0 && http_parse(&ahead, data, len, &req) == HTTP_PARSE_DONE) {
        count++;
        data += req.total_len;
        len -= req.total_len;
    }
    return count;
}

/* The blocking model counts the requests pipelined behind the one it is
 * about to serve as queued.  `behind` is what the previous call returned
 * for this batch (-1 for the first request of a read): the requests are
 * parsed ahead once per read, then counted down. */
static int count_pipelined(struct sync_connection *conn, const struct http_request *req,
                           int behind)
{
    if (conn->model != SYNC_MODEL_BLOCKING)
        return behind;
    behind = behind < 0
        ? count_complete_requests(conn, buffer_peek(&conn->in) + req->total_len,
                                  buffer_pending(&conn->in) - req->total_len)
        : behind - 1;
    probe_gauge_set(conn_probe(conn), PROBE_GAUGE_Q_PIPELINED, behind);
    return behind;
}

/* Answers every complete request already in `in`, in order, until one
 * closes the connection; then says "100 Continue" if the request still
 * arriving waits for it. */
static void connection_answer_buffered(struct sync_connection *conn)
{
    int behind = -1;

    while (!conn->closing) {
        struct http_request req;
        enum http_parse_result r = http_parse(&conn->parser, buffer_peek(&conn->in),
                                              buffer_pending(&conn->in), &req);
        if (r == HTTP_PARSE_NEED_MORE) {
            reply_continue_append(&conn->parser, &conn->out);
            break;
        }
        if (r == HTTP_PARSE_ERROR) {
            reply_parse_error_append(conn_probe(conn), &req, &conn->out);
            conn->closing = true;
            break;
        }
        behind = count_pipelined(conn, &req, behind);
        if (!connection_handle(conn, &req))
            conn->closing = true;
        buffer_consume(&conn->in, req.total_len);
        if (buffer_pending(&conn->in) > 0)
            connection_request_started(conn);   /* a pipelined remainder */
    }
    buffer_compact(&conn->in);
}

/* --- Opening and closing ------------------------------------------------ */

static void connection_open(struct sync_connection *conn, struct server *server,
                            struct probe_thread *thread, int fd, enum sync_model model)
{
    *conn = (struct sync_connection){
        .server = server, .thread = thread, .fd = fd, .model = model,
    };
    /* The input never needs more than one maximal request at a time. */
    buffer_init(&conn->in, HTTP_MAX_HEADER_BYTES + server->config.max_body + SERVER_READ_CHUNK);
    buffer_init(&conn->out, 0);
    http_parser_init(&conn->parser, server->config.max_body);
    net_set_nodelay(fd);
    /* A client that stops reading our replies cannot hold this thread in
     * write() for longer than the idle timeout. */
    set_socket_timeout(fd, SO_SNDTIMEO, server->config.idle_timeout_ms);
}

static void connection_close(struct sync_connection *conn)
{
    buffer_free(&conn->in);
    buffer_free(&conn->out);
    probe_emit(conn->thread, PROBE_EV_CLOSE, conn->fd, 0, 0);
    probe_gauge_add(conn_probe(conn), PROBE_GAUGE_CLOSES, 1);
    probe_gauge_add(conn_probe(conn), PROBE_GAUGE_CONNECTIONS, -1);
    /* When we close first (an error, or Connection: close), the client
     * may still be sending; see net_lingering_close() for why we wait. */
    if (conn->closing)
        net_lingering_close(conn->fd);
    else
        close(conn->fd);
}

void sync_connection_serve(struct server *server, struct probe_thread *thread, int fd,
                           enum sync_model model)
{
    struct sync_connection conn;

    connection_open(&conn, server, thread, fd, model);
    while (!conn.closing && !server_stopping(&conn)) {
        if (!connection_read(&conn))
            break;
        connection_answer_buffered(&conn);
        if (!connection_write(&conn))
            break;
    }
    connection_close(&conn);
}
