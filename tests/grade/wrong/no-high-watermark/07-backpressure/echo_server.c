/*
 * echo_server.c — exercise 07, a WRONG solution kept for the grader's
 * self-check: no high watermark (see conn_update_interest).
 *
 * Every byte a client sends comes back to it.  The bytes read but not yet
 * sent wait in the connection's output buffer.  A client that sends but
 * never reads would make that buffer grow without end, so:
 *
 *     pending output > HIGH_WATERMARK   stop reading from this client
 *                                       (watch it for WRITABLE only);
 *     pending output < LOW_WATERMARK    start reading again.
 *
 * While we do not read, the kernel's buffers fill up and the client's own
 * send() blocks: the pressure travels back to whoever produces too much.
 * Two marks instead of one keep a connection near the limit from flipping
 * between paused and reading on every small write.
 *
 * A connection's memory is then bounded by HIGH_WATERMARK plus one read
 * (READ_CHUNK), whatever the client does.
 */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/buffer.h"
#include "loop/loop.h"
#include "net/net.h"
#include "probe/probe.h"

#define HIGH_WATERMARK (1024 * 1024)   /* pause reading above this */
#define LOW_WATERMARK  (256 * 1024)    /* resume reading below this */
#define READ_CHUNK     (64 * 1024)     /* at most this much per read */

struct server;

struct conn {
    struct server *server;
    struct loop_io io;
    struct buffer out;          /* bytes read, not yet echoed back */
    bool reading_paused;        /* we stopped reading: too much pending */
    bool peer_finished;         /* the client closed its sending side */
    struct conn *next, *prev;   /* the server's list of open conns */
};

struct server {
    struct loop *loop;
    struct probe *probe;
    struct loop_io listener;
    struct conn *conns;
};

static volatile sig_atomic_t stop_requested;
static struct loop *signal_loop;

static void conn_close(struct conn *conn)
{
    struct server *server = conn->server;
    loop_io_stop(server->loop, &conn->io);
    close(conn->io.fd);
    if (conn->prev != NULL)
        conn->prev->next = conn->next;
    else
        server->conns = conn->next;
    if (conn->next != NULL)
        conn->next->prev = conn->prev;
    if (conn->reading_paused)
        probe_gauge_add(server->probe, PROBE_GAUGE_READS_PAUSED, -1);
    probe_gauge_add(server->probe, PROBE_GAUGE_OUTPUT_QUEUED,
                    -(int64_t)buffer_pending(&conn->out));
    probe_gauge_add(server->probe, PROBE_GAUGE_CONNECTIONS, -1);
    buffer_free(&conn->out);
    free(conn);
}

/* Decides what to watch from the state: the heart of backpressure. */
static void conn_update_interest(struct conn *conn)
{
    size_t pending = buffer_pending(&conn->out);
    struct probe *probe = conn->server->probe;

    /* WRONG (on purpose): the high watermark check is missing, so
     * reading never pauses and a non-reader's echo piles up without end. */
    if (conn->reading_paused && pending < LOW_WATERMARK) {
        conn->reading_paused = false;
        probe_gauge_add(probe, PROBE_GAUGE_READS_PAUSED, -1);
    }
    unsigned want = 0;
    if (!conn->reading_paused && !conn->peer_finished)
        want |= LOOP_READABLE;
    if (pending > 0)
        want |= LOOP_WRITABLE;
    if (want != conn->io.events)
        loop_io_modify(conn->server->loop, &conn->io, want);
}

/* Sends what the socket takes.  false: the connection was closed. */
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
        probe_gauge_add(conn->server->probe, PROBE_GAUGE_OUTPUT_QUEUED, -n);
    }
    buffer_compact(&conn->out);
    if (conn->peer_finished && buffer_pending(&conn->out) == 0) {
        conn_close(conn);               /* everything echoed: done */
        return false;
    }
    return true;
}

/* Reads once: fairness, every client gets a turn. false: closed. */
static bool conn_read(struct conn *conn)
{
    char *space = buffer_reserve(&conn->out, READ_CHUNK);
    if (space == NULL) {
        conn_close(conn);
        return false;
    }
    ssize_t n = net_read(conn->io.fd, space, READ_CHUNK);
    if (n == -EAGAIN)
        return true;
    if (n < 0) {                        /* reset: nobody to echo to */
        conn_close(conn);
        return false;
    }
    if (n == 0) {                       /* the client finished sending */
        conn->peer_finished = true;
        return true;
    }
    buffer_commit(&conn->out, (size_t)n);
    probe_gauge_add(conn->server->probe, PROBE_GAUGE_OUTPUT_QUEUED, n);
    return true;
}

static void on_conn_event(struct loop *loop, struct loop_io *io, unsigned revents)
{
    (void)loop;
    struct conn *conn = io->data;

    if ((revents & (LOOP_READABLE | LOOP_ERROR)) && !conn->reading_paused &&
        !conn->peer_finished && !conn_read(conn))
        return;
    if (!conn_flush(conn))
        return;
    conn_update_interest(conn);
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
        fprintf(stderr, "echo_server: %s\n", err);
        return 1;
    }
    int port = net_local_port(listen_fd);

    /* Publish under the name the grader (or you) chose, for evlab view. */
    char name[64];
    const char *env_name = getenv("EVLAB_PROBE_NAME");
    if (env_name != NULL)
        snprintf(name, sizeof name, "%s", env_name);
    else
        snprintf(name, sizeof name, "ex07-%d", (int)getpid());
    if (probe_create(&server.probe, &(struct probe_config){
            .name = name, .model = "loop", .port = port }, err, sizeof err) < 0)
        fprintf(stderr, "echo_server: no probe (%s); running unwatched\n", err);
    struct probe_thread *loop_thread = probe_thread_begin(server.probe, "loop");

    if (loop_new(&server.loop, NULL, loop_thread) < 0) {
        fprintf(stderr, "echo_server: cannot create the event loop\n");
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
    loop_run(server.loop);

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
