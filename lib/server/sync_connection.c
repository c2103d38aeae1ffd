/*
 * sync_connection.c — serve one connection the straightforward way, with
 * blocking calls: read, parse, handle, write, repeat.  The blocking model
 * runs this on its only thread; the threads model runs it on one thread
 * per connection.  This is the code that is easy to write and read — the
 * lesson is what it costs when many clients arrive at once.
 *
 * Pipelining: a client may send several requests before reading any
 * reply.  We answer every complete request already in the input buffer in
 * order, then write all the replies at once.
 */
#include <errno.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "common/buffer.h"
#include "common/clock.h"
#include "common/limits.h"
#include "http/http_parser.h"
#include "http/http_response.h"
#include "http/routes.h"
#include "net/net.h"
#include "server/reply.h"
#include "server/server_internal.h"

/* How many complete requests are in data[0..len): those waiting behind
 * the one about to be served, the "queued" of a connection.  Costs nothing
 * when len is 0, the usual, unpipelined case. */
static int count_pipelined(const struct server *server, const char *data, size_t len)
{
    struct http_parser ahead;
    struct http_request req;
    int count = 0;
    http_parser_init(&ahead, server->config.max_body);
    while (len > 0 && http_parse(&ahead, data, len, &req) == HTTP_PARSE_DONE) {
        count++;
        data += req.total_len;
        len -= req.total_len;
    }
    return count;
}

/* The slow backend of /sleep: this thread waits, nothing else runs on it.
 * It waits in short slices against a deadline (so the total stays what
 * was asked) and gives up early when the server is stopping: otherwise a
 * SIGTERM would wait out a /sleep/60000 in the blocking model, and the
 * threads model's bounded shutdown wait would give up on this thread and
 * leave the instrumentation segment behind. */
static void sleep_unless_stopping(const struct server *server, uint32_t ms)
{
    enum { SLICE_MS = 20 };
    uint64_t deadline = clock_now_ns() + (uint64_t)ms * 1000000u;
    for (;;) {
        uint64_t now = clock_now_ns();
        if (now >= deadline || atomic_load(&server->stop_requested))
            return;
        uint64_t left_ms = (deadline - now + 999999u) / 1000000u;
        clock_sleep_ms(left_ms < SLICE_MS ? (uint32_t)left_ms : SLICE_MS);
    }
}

/* /cpu/MS in slices, for the same reason as sleep_unless_stopping(): the
 * total work is the same, but a stop request is noticed within a slice. */
static void burn_unless_stopping(const struct server *server, uint32_t ms)
{
    enum { SLICE_MS = 20 };
    while (ms > 0 && !atomic_load(&server->stop_requested)) {
        uint32_t slice = ms < SLICE_MS ? ms : SLICE_MS;
        route_cpu_burn(slice);
        ms -= slice;
    }
}

/* SO_RCVTIMEO / SO_SNDTIMEO: a blocking read or write on fd gives up with
 * EAGAIN after `ms` instead of waiting for ever. */
static void set_socket_timeout(int fd, int which, uint32_t ms)
{
    struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (suseconds_t)(ms % 1000) * 1000 };
    setsockopt(fd, SOL_SOCKET, which, &tv, sizeof tv);
}

/* Runs one request's handler, blocking as long as the route says. */
static bool handle_request(struct server *server, struct probe_thread *thread, int fd,
                           const struct http_request *req, struct buffer *out,
                           bool count_ready)
{
    struct probe *probe = server->probe;
    struct reply_plan plan;
    reply_plan_make(req, &plan);

    probe_handler_begin(thread, fd, plan.match.id);
    if (count_ready)
        probe_gauge_add(probe, PROBE_GAUGE_READY, 1);
    switch (plan.match.id) {
    case ROUTE_SLEEP:
    case ROUTE_SLEEP_BLOCKING:
        /* The slow backend: in a thread model, waiting means this
         * thread sleeps and nothing else runs on it. */
        probe_block_begin(thread, PROBE_CALL_SLEEP, fd);
        sleep_unless_stopping(server, plan.match.ms);
        probe_block_end(thread, PROBE_CALL_SLEEP, fd);
        break;
    case ROUTE_CPU:
        burn_unless_stopping(server, plan.match.ms);
        break;
    default:
        break;
    }
    bool keep_alive = reply_append(probe, &plan, out);
    if (count_ready)
        probe_gauge_add(probe, PROBE_GAUGE_READY, -1);
    probe_handler_end(thread, fd, plan.match.id);
    return keep_alive;
}

static int flush_output(struct probe_thread *thread, struct probe *probe, int fd,
                        struct buffer *out)
{
    size_t len = buffer_pending(out);
    if (len == 0)
        return 0;
    probe_block_begin(thread, PROBE_CALL_WRITE, fd);
    int rc = net_write_all(fd, buffer_peek(out), len);
    probe_block_end(thread, PROBE_CALL_WRITE, fd);
    if (rc == 0) {
        probe_emit(thread, PROBE_EV_WRITE, fd, len, 0);
        probe_gauge_add(probe, PROBE_GAUGE_BYTES_OUT, (int64_t)len);
    }
    buffer_clear(out);
    return rc;
}

void sync_connection_serve(struct server *server, struct probe_thread *thread,
                           int fd, bool connection_is_ready)
{
    struct probe *probe = server->probe;
    struct buffer in, out;
    struct http_parser parser;
    bool keep_alive = true;     /* false once *we* decided to close */

    /* The input never needs more than one maximal request at a time. */
    buffer_init(&in, HTTP_MAX_HEADER_BYTES + server->config.max_body + SERVER_READ_CHUNK);
    buffer_init(&out, 0);
    http_parser_init(&parser, server->config.max_body);
    net_set_nodelay(fd);
    if (connection_is_ready)
        probe_gauge_set(probe, PROBE_GAUGE_READY, 1);

    /* A client that stops reading our replies cannot hold this thread in
     * write() for longer than the idle timeout. */
    set_socket_timeout(fd, SO_SNDTIMEO, server->config.idle_timeout_ms);
    uint32_t read_timeout_ms = 0;      /* what SO_RCVTIMEO is set to now */
    uint64_t request_started_ns = 0;   /* first byte of the pending request */

    while (keep_alive && !atomic_load(&server->stop_requested)) {
        /* How long the next read may wait: the idle timeout between
         * requests, what is left of the request timeout inside one. */
        uint32_t wait_ms = server->config.idle_timeout_ms;
        if (buffer_pending(&in) > 0) {
            uint64_t elapsed_ms = (clock_now_ns() - request_started_ns) / 1000000u;
            if (elapsed_ms >= server->config.request_timeout_ms) {
                reply_timeout_append(probe, &out);
                keep_alive = false;
                flush_output(thread, probe, fd, &out);
                break;
            }
            wait_ms = server->config.request_timeout_ms - (uint32_t)elapsed_ms;
        }
        if (wait_ms != read_timeout_ms) {
            set_socket_timeout(fd, SO_RCVTIMEO, wait_ms);
            read_timeout_ms = wait_ms;
        }

        size_t want = server_read_size(&in);
        char *space = want > 0 ? buffer_reserve(&in, want) : NULL;
        if (space == NULL)
            break;
        probe_block_begin(thread, PROBE_CALL_READ, fd);
        ssize_t n = net_read(fd, space, want);
        probe_block_end(thread, PROBE_CALL_READ, fd);
        if (n == -EINTR)
            continue;               /* a signal: re-check stop_requested */
        if (n == -EAGAIN) {
            if (buffer_pending(&in) == 0)
                break;              /* idle for the whole idle timeout: close */
            continue;               /* inside a request: the check above sends 408 */
        }
        if (n <= 0)
            break;                  /* peer closed, or reset: nothing to answer */
        if (buffer_pending(&in) == 0)
            request_started_ns = clock_now_ns();
        buffer_commit(&in, (size_t)n);
        probe_emit(thread, PROBE_EV_READ, fd, (uint64_t)n, 0);
        probe_gauge_add(probe, PROBE_GAUGE_BYTES_IN, n);

        /* Answer every complete request that is already here.  `behind`
         * counts the complete requests queued behind the one being served:
         * parsed ahead once per read, then counted down. */
        int behind = -1;
        for (;;) {
            struct http_request req;
            enum http_parse_result r =
                http_parse(&parser, buffer_peek(&in), buffer_pending(&in), &req);
            if (r == HTTP_PARSE_NEED_MORE)
                break;
            if (r == HTTP_PARSE_ERROR) {
                reply_parse_error_append(probe, &req, &out);
                keep_alive = false;
                break;
            }
            if (connection_is_ready) {
                behind = behind < 0
                    ? count_pipelined(server, buffer_peek(&in) + req.total_len,
                                      buffer_pending(&in) - req.total_len)
                    : behind - 1;
                probe_gauge_set(probe, PROBE_GAUGE_Q_PIPELINED, behind);
            }
            bool keep = handle_request(server, thread, fd, &req, &out, !connection_is_ready);
            buffer_consume(&in, req.total_len);
            request_started_ns = clock_now_ns();   /* for a pipelined remainder */
            if (!keep) {
                keep_alive = false;
                break;
            }
        }
        buffer_compact(&in);
        if (flush_output(thread, probe, fd, &out) < 0)
            break;
    }
    if (connection_is_ready) {
        probe_gauge_set(probe, PROBE_GAUGE_READY, 0);
        probe_gauge_set(probe, PROBE_GAUGE_Q_PIPELINED, 0);
    }
    buffer_free(&in);
    buffer_free(&out);
    probe_emit(thread, PROBE_EV_CLOSE, fd, 0, 0);
    probe_gauge_add(probe, PROBE_GAUGE_CLOSES, 1);
    probe_gauge_add(probe, PROBE_GAUGE_CONNECTIONS, -1);
    /* When we close first (an error, or Connection: close), the client
     * may still be sending; see net_lingering_close() for why we wait. */
    if (!keep_alive)
        net_lingering_close(fd);
    else
        close(fd);
}
