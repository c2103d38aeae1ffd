/*
 * deadline_server.c — exercise 09, a WRONG solution kept for the grader's
 * self-check: a busy-wait loop.  main() turns the loop with a zero
 * timeout instead of sleeping until the next timer, so every answer is
 * right and on time but an idle server burns a whole core.
 *
 * Protocol (one request at a time per connection, lines of at most
 * LINE_MAX_BYTES bytes):
 *     PING\n         -> PONG\n
 *     SLOW <ms>\n    -> DONE <ms>\n when the backend call (backend.h) answers
 *     a line while a SLOW is pending -> BUSY\n
 *     anything else  -> ERROR\n
 * Time limits:
 *     idle        no request in progress and no byte for IDLE_TIMEOUT_MS:
 *                 "BYE idle\n", then close.
 *     deadline    a request not answered REQUEST_DEADLINE_MS after its
 *                 first byte: "TIMEOUT\n".  A SLOW still waiting has its
 *                 backend call cancelled and the connection stays open; a
 *                 line still incomplete (a slowloris client) is closed.
 *     leaving     a client that closes or resets: its backend call is
 *                 cancelled at once, nothing is left running for nobody.
 *
 * Design.  Each connection has two timers and is always in one of two
 * states, decided in one place (conn_update_timers):
 *     waiting    no request in progress: the idle timer runs;
 *     busy       from a request's first byte until its reply: the
 *                deadline timer runs (started once, at that first byte,
 *                so dribbling bytes cannot push it back).
 * Every way out of a connection goes through conn_close(), which stops
 * both timers and cancels the backend call, so no callback can ever run
 * for memory that is gone.
 */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend.h"
#include "common/buffer.h"
#include "loop/loop.h"
#include "net/net.h"
#include "probe/probe.h"

#define LINE_MAX_BYTES      64
#define IDLE_TIMEOUT_MS     1000
#define REQUEST_DEADLINE_MS 1500
#define MAX_SLOW_MS         60000

struct server;

struct conn {
    struct server *server;
    struct loop_io io;
    char line[LINE_MAX_BYTES + 1];  /* the request line read so far */
    size_t line_len;
    struct buffer out;              /* replies not yet sent */
    bool close_when_sent;           /* BYE/TIMEOUT queued: close after it */
    struct loop_timer idle_timer;
    struct loop_timer deadline_timer;
    struct backend_call call;       /* the SLOW request's backend call */
    unsigned slow_ms;               /* what that SLOW asked for */
    struct conn *next, *prev;       /* the server's list of open conns */
};

struct server {
    struct loop *loop;
    struct probe *probe;
    struct loop_io listener;
    struct conn *conns;
};

static volatile sig_atomic_t stop_requested;
static struct loop *signal_loop;

static uint64_t ms_to_ns(unsigned ms)
{
    return (uint64_t)ms * 1000000u;
}

static void conn_close(struct conn *conn)
{
    struct server *server = conn->server;
    /* Nothing may fire for this connection after this point. */
    backend_call_cancel(server->loop, &conn->call);
    loop_timer_stop(server->loop, &conn->idle_timer);
    loop_timer_stop(server->loop, &conn->deadline_timer);
    loop_io_stop(server->loop, &conn->io);
    close(conn->io.fd);
    if (conn->prev != NULL)
        conn->prev->next = conn->next;
    else
        server->conns = conn->next;
    if (conn->next != NULL)
        conn->next->prev = conn->prev;
    probe_gauge_add(server->probe, PROBE_GAUGE_CONNECTIONS, -1);
    buffer_free(&conn->out);
    free(conn);
}

/* Sends what the socket takes.  false: the connection is gone. */
static bool conn_flush(struct conn *conn)
{
    while (buffer_pending(&conn->out) > 0) {
        ssize_t n = net_write(conn->io.fd, buffer_peek(&conn->out),
                              buffer_pending(&conn->out));
        if (n == -EAGAIN)
            break;
        if (n < 0) {
            conn_close(conn);
            return false;
        }
        buffer_consume(&conn->out, (size_t)n);
    }
    if (conn->close_when_sent && buffer_pending(&conn->out) == 0) {
        conn_close(conn);
        return false;
    }
    /* Closing: stop reading (a level-triggered READABLE we ignore would
     * wake the loop again and again). */
    unsigned want = conn->close_when_sent ? 0 : LOOP_READABLE;
    if (buffer_pending(&conn->out) > 0)
        want |= LOOP_WRITABLE;
    if (want != conn->io.events)
        loop_io_modify(conn->server->loop, &conn->io, want);
    return true;
}

static void conn_reply(struct conn *conn, const char *text)
{
    (void)buffer_append(&conn->out, text, strlen(text));
}

/* The two states: busy (a request in progress) or waiting. */
static void conn_update_timers(struct conn *conn)
{
    struct loop *loop = conn->server->loop;
    bool busy = conn->line_len > 0 || backend_call_pending(&conn->call);

    if (busy) {
        loop_timer_stop(loop, &conn->idle_timer);
        if (!loop_timer_active(&conn->deadline_timer))
            loop_timer_start(loop, &conn->deadline_timer, ms_to_ns(REQUEST_DEADLINE_MS));
    } else {
        loop_timer_stop(loop, &conn->deadline_timer);
        /* Restarting the idle timer on every change is what "idle for
         * IDLE_TIMEOUT_MS" means: measured from the last activity. */
        loop_timer_stop(loop, &conn->idle_timer);
        loop_timer_start(loop, &conn->idle_timer, ms_to_ns(IDLE_TIMEOUT_MS));
    }
}

static void on_backend_done(struct backend_call *call, void *data)
{
    (void)call;
    struct conn *conn = data;
    char reply[32];
    snprintf(reply, sizeof reply, "DONE %u\n", conn->slow_ms);
    conn_reply(conn, reply);
    if (conn_flush(conn))
        conn_update_timers(conn);
}

static void on_idle_timeout(struct loop *loop, struct loop_timer *timer)
{
    (void)loop;
    struct conn *conn = timer->data;
    conn_reply(conn, "BYE idle\n");
    conn->close_when_sent = true;
    conn_flush(conn);
}

static void on_deadline(struct loop *loop, struct loop_timer *timer)
{
    struct conn *conn = timer->data;
    conn_reply(conn, "TIMEOUT\n");
    if (backend_call_pending(&conn->call)) {
        /* The answer would come too late to matter: stop the work. */
        backend_call_cancel(loop, &conn->call);
        conn->line_len = 0;
    } else {
        conn->close_when_sent = true;   /* a request that never arrived */
    }
    if (conn_flush(conn))
        conn_update_timers(conn);
}

static void handle_line(struct conn *conn, const char *line)
{
    unsigned ms;
    char extra;

    if (backend_call_pending(&conn->call)) {
        conn_reply(conn, "BUSY\n");
    } else if (strcmp(line, "PING") == 0) {
        conn_reply(conn, "PONG\n");
    } else if (sscanf(line, "SLOW %u %c", &ms, &extra) == 1 && ms <= MAX_SLOW_MS) {
        conn->slow_ms = ms;
        backend_call_start(conn->server->loop, conn->server->probe, &conn->call,
                           ms, on_backend_done, conn);
    } else {
        conn_reply(conn, "ERROR\n");
    }
}

static void on_conn_event(struct loop *loop, struct loop_io *io, unsigned revents)
{
    struct conn *conn = io->data;

    if ((revents & LOOP_WRITABLE) && !conn_flush(conn))
        return;
    if (!(revents & (LOOP_READABLE | LOOP_ERROR)) || conn->close_when_sent)
        return;

    char buf[256];
    ssize_t n = net_read(io->fd, buf, sizeof buf);
    if (n == -EAGAIN)
        return;
    if (n <= 0) {                       /* left or reset: cancel its work */
        conn_close(conn);
        return;
    }
    for (ssize_t i = 0; i < n; i++) {
        if (buf[i] == '\n') {
            conn->line[conn->line_len] = '\0';
            if (conn->line_len > 0 && conn->line[conn->line_len - 1] == '\r')
                conn->line[conn->line_len - 1] = '\0';
            conn->line_len = 0;
            handle_line(conn, conn->line);
            /* Answered at once (PING, ERROR, BUSY): that request is over. */
            if (!backend_call_pending(&conn->call))
                loop_timer_stop(loop, &conn->deadline_timer);
        } else if (conn->line_len == LINE_MAX_BYTES) {
            conn_reply(conn, "ERROR\n");
            conn->close_when_sent = true;
            conn_flush(conn);
            return;
        } else {
            conn->line[conn->line_len++] = buf[i];
        }
    }
    if (conn_flush(conn))
        conn_update_timers(conn);
}

static void on_listener(struct loop *loop, struct loop_io *io, unsigned revents)
{
    (void)revents;
    struct server *server = io->data;

    for (;;) {
        int fd = net_accept(io->fd, true);
        if (fd < 0)
            return;                     /* -EAGAIN: nobody else waiting */
        struct conn *conn = calloc(1, sizeof *conn);
        if (conn == NULL) {
            close(fd);
            continue;
        }
        conn->server = server;
        buffer_init(&conn->out, 0);
        loop_timer_init(&conn->idle_timer, on_idle_timeout, conn);
        loop_timer_init(&conn->deadline_timer, on_deadline, conn);
        loop_io_init(&conn->io, fd, on_conn_event, conn);
        if (loop_io_start(loop, &conn->io, LOOP_READABLE) < 0) {
            close(fd);
            free(conn);
            continue;
        }
        conn->next = server->conns;
        if (server->conns != NULL)
            server->conns->prev = conn;
        server->conns = conn;
        probe_gauge_add(server->probe, PROBE_GAUGE_CONNECTIONS, 1);
        conn_update_timers(conn);       /* waiting: the idle timer starts */
    }
}

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
    loop_wakeup(signal_loop);           /* async-signal-safe */
}

static void on_wakeup(struct loop *loop, void *data)
{
    (void)data;
    if (stop_requested)
        loop_stop(loop);
}

static int parse_port(int argc, char **argv)
{
    for (int i = 1; i + 1 < argc; i++)
        if (strcmp(argv[i], "--port") == 0)
            return atoi(argv[i + 1]);
    return 0;
}

int main(int argc, char **argv)
{
    struct server server = { 0 };
    char err[256];

    net_ignore_sigpipe();
    int listen_fd = net_listen("127.0.0.1", parse_port(argc, argv), 128, true,
                               err, sizeof err);
    if (listen_fd < 0) {
        fprintf(stderr, "deadline_server: %s\n", err);
        return 1;
    }
    int port = net_local_port(listen_fd);

    /* Publish under the name the grader (or you) chose, for evlab view. */
    char name[64];
    const char *env_name = getenv("EVLAB_PROBE_NAME");
    if (env_name != NULL)
        snprintf(name, sizeof name, "%s", env_name);
    else
        snprintf(name, sizeof name, "ex09-%d", (int)getpid());
    if (probe_create(&server.probe, &(struct probe_config){
            .name = name, .model = "loop", .port = port }, err, sizeof err) < 0)
        fprintf(stderr, "deadline_server: no probe (%s); running unwatched\n", err);
    struct probe_thread *loop_thread = probe_thread_begin(server.probe, "loop");

    if (loop_new(&server.loop, NULL, loop_thread) < 0) {
        fprintf(stderr, "deadline_server: cannot create the event loop\n");
        return 1;
    }
    signal_loop = server.loop;
    loop_set_wakeup_handler(server.loop, on_wakeup, &server);
    struct sigaction sa = { .sa_handler = on_signal };
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);

    loop_io_init(&server.listener, listen_fd, on_listener, &server);
    loop_io_start(server.loop, &server.listener, LOOP_READABLE);

    printf("listening on port %d\n", port);
    fflush(stdout);
    /* WRONG (on purpose): never sleeps, checks again and again. */
    while (!stop_requested)
        loop_run_once(server.loop, 0);

    /* Stopped by a signal: close everything, then free. */
    loop_io_stop(server.loop, &server.listener);
    close(listen_fd);
    while (server.conns != NULL)
        conn_close(server.conns);
    loop_free(server.loop);
    probe_thread_end(loop_thread);
    probe_destroy(server.probe);
    return 0;
}
