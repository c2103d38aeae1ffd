/*
 * load_client.c — one load-generator connection: connect, write, read,
 * parse, all non-blocking, all on one event loop.
 *
 * Design.  The only callback the loop knows is conn_on_event().  It does
 * one of two jobs depending on the state: finish a connect (CONNECTING:
 * the socket became writable, SO_ERROR says whether it worked) or move
 * bytes (OPEN: read replies, then write what is queued).  Every way a
 * connection can end goes through conn_fail() or conn_end(), which stop
 * the watcher, close the descriptor and tell the run — last, so that the
 * run may reconnect this very struct from inside on_closed.  After either
 * of those the code returns at once and never touches the connection
 * again in that call.
 *
 * Writes are batched: replies parsed in one dispatch may each trigger a
 * new request (closed loop), and they all leave in one send() at the end
 * of the dispatch rather than one syscall per request.  A partial write
 * keeps its cursor in `out` (buffer_consume advances it) and we ask the
 * loop for LOOP_WRITABLE only while something is left; asking for it all
 * the time would wake us on every turn, since a socket is nearly always
 * writable.
 *
 * A client that never reads (client->no_read) takes the same paths with
 * two differences: the loop is never asked for READABLE (so nothing is
 * read, ever), and a batch that has been written completely frees its
 * slots at once and is followed by on_drained, from conn_on_event only,
 * so that a run sending its next batch from there never recurses.
 */
#include "load/load_client.h"

#include <assert.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "net/net.h"

static const char *const error_keys[LOAD_ERR_COUNT] = {
    [LOAD_ERR_CONNECT_REFUSED] = "connect_refused",
    [LOAD_ERR_CONNECT_TIMEOUT] = "connect_timeout",
    [LOAD_ERR_CONNECT_OTHER]   = "connect_other",
    [LOAD_ERR_TIMEOUT]         = "timeout",
    [LOAD_ERR_RESET]           = "reset",
    [LOAD_ERR_BAD_STATUS]      = "bad_status",
    [LOAD_ERR_SHORT_READ]      = "short_read",
    [LOAD_ERR_BAD_RESPONSE]    = "bad_response",
};

static const char *const error_labels[LOAD_ERR_COUNT] = {
    [LOAD_ERR_CONNECT_REFUSED] = "connect refused",
    [LOAD_ERR_CONNECT_TIMEOUT] = "connect timeout",
    [LOAD_ERR_CONNECT_OTHER]   = "connect other",
    [LOAD_ERR_TIMEOUT]         = "timeout",
    [LOAD_ERR_RESET]           = "reset",
    [LOAD_ERR_BAD_STATUS]      = "bad status",
    [LOAD_ERR_SHORT_READ]      = "short read",
    [LOAD_ERR_BAD_RESPONSE]    = "bad response",
};

const char *load_error_key(enum load_error_kind kind)
{
    assert(kind < LOAD_ERR_COUNT);
    return error_keys[kind];
}

const char *load_error_label(enum load_error_kind kind)
{
    assert(kind < LOAD_ERR_COUNT);
    return error_labels[kind];
}

enum load_error_kind load_error_from_connect(int negative_errno)
{
    switch (-negative_errno) {
    case ECONNREFUSED: return LOAD_ERR_CONNECT_REFUSED;
    case ETIMEDOUT:    return LOAD_ERR_CONNECT_TIMEOUT;
    default:           return LOAD_ERR_CONNECT_OTHER;
    }
}

static void conn_on_event(struct loop *loop, struct loop_io *io, unsigned revents);

void load_conn_init(struct load_conn *conn, struct load_client *client,
                    uint32_t index, struct load_slot *slots)
{
    memset(conn, 0, sizeof *conn);
    conn->client = client;
    conn->index = index;
    conn->state = LOAD_CONN_CLOSED;
    conn->slots = slots;
    /* Output is a few requests at a time; the limit only guards against a
     * bug queueing without end. */
    buffer_init(&conn->out, (size_t)client->pipeline * 4096 + 65536);
    loop_io_init(&conn->io, -1, conn_on_event, conn);
}

/* Stops watching and closes the socket; forgets requests in flight. */
static void conn_teardown(struct load_conn *conn)
{
    if (loop_io_active(&conn->io))
        loop_io_stop(conn->client->loop, &conn->io);
    if (conn->io.fd >= 0)
        close(conn->io.fd);
    conn->io.fd = -1;
    conn->state = LOAD_CONN_CLOSED;
    conn->inflight = 0;
    conn->head = 0;
    conn->want_write = false;
    buffer_clear(&conn->out);
    load_response_parser_init(&conn->parser);
}

/* The connection failed: report, close, tell the run.  Callers return
 * immediately afterwards. */
static void conn_fail(struct load_conn *conn, enum load_error_kind kind)
{
    const struct load_client_ops *ops = conn->client->ops;

    conn_teardown(conn);
    conn->in_dispatch = false;
    ops->on_error(conn, kind);
    ops->on_closed(conn, true, kind);
}

/* The server ended the connection in an orderly way. */
static void conn_end(struct load_conn *conn)
{
    conn_teardown(conn);
    conn->in_dispatch = false;
    conn->client->ops->on_closed(conn, false, LOAD_ERR_COUNT);
}

int load_conn_connect(struct load_conn *conn, uint64_t now_ns)
{
    struct load_client *client = conn->client;
    int one = 1;
    int fd, rc;

    assert(conn->state == LOAD_CONN_CLOSED);
    fd = socket(client->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    /* Requests are small and we want each to leave now, not wait for
     * Nagle's algorithm to batch it with the next one. */
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (client->no_read) {
        /* Before connect(), so the window we offer is small from the
         * start: the replies then wait in the server, not in our kernel. */
        int rcvbuf = LOAD_NO_READ_RCVBUF;
        (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    }

    rc = connect(fd, (const struct sockaddr *)&client->addr, client->addr_len);
    if (rc < 0 && errno != EINPROGRESS && errno != EINTR) {
        rc = -errno;
        close(fd);
        return rc;
    }
    /* Connected at once or not: either way we learn the outcome the same
     * way, when the socket turns writable.  One path is easier to read
     * (and to get right) than two. */
    conn->io.fd = fd;
    conn->state = LOAD_CONN_CONNECTING;
    conn->connect_started_ns = now_ns;
    load_response_parser_init(&conn->parser);
    rc = loop_io_start(client->loop, &conn->io, LOOP_WRITABLE);
    if (rc < 0) {
        conn->io.fd = -1;
        conn->state = LOAD_CONN_CLOSED;
        close(fd);
        return rc;
    }
    return 0;
}

/* Asks the loop for exactly the events we need now.  A client that never
 * reads wants nothing at all while it has nothing to write: then the
 * watcher is stopped rather than modified to an empty set. */
static bool conn_update_events(struct load_conn *conn, bool want_write)
{
    struct loop *loop = conn->client->loop;
    int rc = 0;

    if (want_write == conn->want_write)
        return true;   /* (no_read: the watcher is active exactly when want_write) */
    unsigned events = (conn->client->no_read ? 0u : LOOP_READABLE) |
                      (want_write ? LOOP_WRITABLE : 0u);
    if (events == 0)
        loop_io_stop(loop, &conn->io);
    else if (!loop_io_active(&conn->io))
        rc = loop_io_start(loop, &conn->io, events);
    else
        rc = loop_io_modify(loop, &conn->io, events);
    if (rc < 0) {
        conn_fail(conn, LOAD_ERR_RESET);
        return false;
    }
    conn->want_write = want_write;
    return true;
}

/* Writes what is queued until done or the socket is full.  false if the
 * connection was closed. */
static bool conn_flush(struct load_conn *conn)
{
    while (buffer_pending(&conn->out) > 0) {
        ssize_t n = net_write(conn->io.fd, buffer_peek(&conn->out), buffer_pending(&conn->out));
        if (n == -EAGAIN || n == -EWOULDBLOCK)
            return conn_update_events(conn, true);   /* resume when writable */
        if (n < 0) {
            conn_fail(conn, LOAD_ERR_RESET);
            return false;
        }
        buffer_consume(&conn->out, (size_t)n);       /* the write cursor */
        conn->client->bytes_written += (uint64_t)n;
    }
    buffer_clear(&conn->out);
    if (conn->client->no_read && conn->inflight > 0) {
        /* The whole batch is in the kernel: no reply will free its slots,
         * so they are free now.  Stay writable for one more turn, whose
         * dispatch tells the run (conn_on_event). */
        conn->inflight = 0;
        conn->head = 0;
        return conn_update_events(conn, true);
    }
    return conn_update_events(conn, false);
}

bool load_conn_send(struct load_conn *conn, uint32_t entry, uint64_t start_ns,
                    uint64_t now_ns)
{
    struct load_client *client = conn->client;

    assert(load_conn_has_capacity(conn));
    if (buffer_append(&conn->out, client->requests[entry], client->request_lens[entry]) < 0) {
        conn_fail(conn, LOAD_ERR_CONNECT_OTHER);
        return false;
    }
    /* Remember it at the tail of the in-flight ring. */
    struct load_slot *slot = &conn->slots[(conn->head + conn->inflight) % client->pipeline];
    slot->start_ns = start_ns;
    slot->sent_ns = now_ns;
    slot->entry = entry;
    conn->inflight++;
    if (conn->in_dispatch)
        return true;   /* flushed at the end of our own callback */
    return conn_flush(conn);
}

/* A whole reply arrived: match it to the oldest request.  false if the
 * connection was closed. */
static bool conn_reply_done(struct load_conn *conn, uint64_t now_ns)
{
    struct load_client *client = conn->client;
    int status = conn->parser.status;
    bool keep_alive = conn->parser.keep_alive;

    if (conn->inflight == 0) {
        conn_fail(conn, LOAD_ERR_BAD_RESPONSE);   /* a reply nobody asked for */
        return false;
    }
    struct load_slot slot = conn->slots[conn->head];
    conn->head = (conn->head + 1) % client->pipeline;
    conn->inflight--;
    load_response_parser_init(&conn->parser);

    client->ops->on_response(conn, &slot, status, now_ns);
    /* on_response must not close us (see load_client.h). */
    assert(conn->state == LOAD_CONN_OPEN);
    if (!keep_alive) {
        /* The server said it closes after this reply; requests we had
         * pipelined behind it are lost, which is the server's right. */
        conn_end(conn);
        return false;
    }
    return true;
}

/* Feeds bytes to the parser, completing as many replies as they hold. */
static bool conn_consume(struct load_conn *conn, const char *data, size_t len, uint64_t now_ns)
{
    while (len > 0) {
        size_t used = 0;
        enum load_response_result r = load_response_parse(&conn->parser, data, len, &used);
        data += used;
        len -= used;
        if (r == LOAD_RESPONSE_ERROR) {
            conn_fail(conn, LOAD_ERR_BAD_RESPONSE);
            return false;
        }
        if (r == LOAD_RESPONSE_DONE && !conn_reply_done(conn, now_ns))
            return false;
    }
    return true;
}

/* The peer closed: an orderly end, or a reply cut short. */
static void conn_on_eof(struct load_conn *conn, uint64_t now_ns)
{
    if (load_response_started(&conn->parser)) {
        if (load_response_finish_at_eof(&conn->parser)) {
            if (conn_reply_done(conn, now_ns))
                conn_end(conn);
            return;
        }
        conn_fail(conn, LOAD_ERR_SHORT_READ);
        return;
    }
    if (conn->inflight > 0)
        conn_fail(conn, LOAD_ERR_SHORT_READ);    /* closed with requests unanswered */
    else
        conn_end(conn);                          /* an idle keep-alive closed */
}

/* Reads until the socket is drained or the fairness cap.  false if the
 * connection was closed. */
static bool conn_read(struct load_conn *conn, bool error_reported)
{
    struct load_client *client = conn->client;

    for (int i = 0; i < LOAD_MAX_READS_PER_DISPATCH; i++) {
        ssize_t n = net_read(conn->io.fd, client->scratch, sizeof client->scratch);
        if (n == -EAGAIN || n == -EWOULDBLOCK)
            break;
        if (n < 0) {
            conn_fail(conn, LOAD_ERR_RESET);
            return false;
        }
        uint64_t now_ns = clock_now_ns();
        if (n == 0) {
            conn_on_eof(conn, now_ns);
            return false;
        }
        client->bytes_read += (uint64_t)n;
        if (!conn_consume(conn, client->scratch, (size_t)n, now_ns))
            return false;
        if ((size_t)n < sizeof client->scratch)
            return true;   /* a short read means the socket is empty now */
    }
    if (error_reported) {
        /* Error or hang-up reported with nothing left to read. */
        conn_fail(conn, LOAD_ERR_RESET);
        return false;
    }
    return true;
}

/* CONNECTING and the socket became writable: did the connect work? */
static void conn_finish_connect(struct load_conn *conn)
{
    int so_error = 0;
    socklen_t len = sizeof so_error;

    if (getsockopt(conn->io.fd, SOL_SOCKET, SO_ERROR, &so_error, &len) < 0)
        so_error = errno;
    if (so_error != 0) {
        conn_fail(conn, load_error_from_connect(-so_error));
        return;
    }
    conn->state = LOAD_CONN_OPEN;
    conn->want_write = true;   /* what we registered for the connect */
    conn->in_dispatch = true;
    conn->client->ops->on_connected(conn);
    if (conn->state != LOAD_CONN_OPEN)
        return;
    conn->in_dispatch = false;
    (void)conn_flush(conn);
}

/* An OPEN connection that never reads: only writing, or an error (the
 * server reset us; with nothing read there is nothing else to learn). */
static void conn_on_event_no_read(struct load_conn *conn, unsigned revents)
{
    if (revents & LOOP_ERROR) {
        conn_fail(conn, LOAD_ERR_RESET);
        return;
    }
    if (buffer_pending(&conn->out) > 0) {
        if (!conn_flush(conn))
            return;
        if (buffer_pending(&conn->out) > 0)
            return;                  /* still full: wait for WRITABLE */
    }
    /* The last batch is out: the run may queue the next (in_dispatch makes
     * load_conn_send only queue it), and we write it here, once. */
    conn->in_dispatch = true;
    conn->client->ops->on_drained(conn);
    if (conn->state != LOAD_CONN_OPEN)
        return;
    conn->in_dispatch = false;
    if (buffer_pending(&conn->out) > 0)
        (void)conn_flush(conn);
    else
        (void)conn_update_events(conn, false);   /* nothing to send: sleep */
}

static void conn_on_event(struct loop *loop, struct loop_io *io, unsigned revents)
{
    struct load_conn *conn = io->data;

    (void)loop;
    if (conn->state == LOAD_CONN_CONNECTING) {
        conn_finish_connect(conn);
        return;
    }
    assert(conn->state == LOAD_CONN_OPEN);
    if (conn->client->no_read) {
        conn_on_event_no_read(conn, revents);
        return;
    }
    conn->in_dispatch = true;
    if ((revents & (LOOP_READABLE | LOOP_ERROR)) &&
        !conn_read(conn, (revents & LOOP_ERROR) != 0))
        return;
    conn->in_dispatch = false;
    /* New requests queued while parsing, or the rest of a partial write. */
    if (buffer_pending(&conn->out) > 0 || conn->want_write)
        (void)conn_flush(conn);
}

bool load_conn_check_timeouts(struct load_conn *conn, uint64_t now_ns,
                              uint64_t connect_timeout_ns, uint64_t timeout_ns)
{
    if (conn->state == LOAD_CONN_CONNECTING &&
        now_ns - conn->connect_started_ns >= connect_timeout_ns) {
        conn_fail(conn, LOAD_ERR_CONNECT_TIMEOUT);
        return true;
    }
    /* A client that never reads expects no reply, so it has no request
     * timeout: a kernel that takes none of its bytes is the point. */
    if (conn->client->no_read)
        return false;
    if (conn->state == LOAD_CONN_OPEN && conn->inflight > 0 &&
        now_ns - conn->slots[conn->head].sent_ns >= timeout_ns) {
        conn_fail(conn, LOAD_ERR_TIMEOUT);
        return true;
    }
    return false;
}

void load_conn_close(struct load_conn *conn)
{
    conn_teardown(conn);
}

void load_conn_free(struct load_conn *conn)
{
    buffer_free(&conn->out);
}
