/*
 * nb_server.c — exercise 03: a non-blocking server on one thread, one
 * event loop (lib/loop/loop.h), and a small state machine per connection.
 *
 * This file is what you hand in.  As given, it listens (non-blocking),
 * runs the loop, accepts clients and registers each one for
 * LOOP_READABLE, but on_conn_event() just closes the connection.  Write
 * the part that serves it.
 *
 * The protocol.  A client sends lines `N\n` (N a decimal number, at most
 * NB_MAX_REPLY); for each the server sends back N bytes of the alphabet
 * pattern (byte i is 'a' + i % 26, see reply_byte()) and a '\n'.
 * Anything else gets `error\n` and a close (parse_request() tells).
 * Replies can be far larger than any socket buffer, so never build one in
 * memory: keep a cursor (`reply_sent` of `reply_len`) and produce the
 * next chunk of the pattern each time the socket can take more.
 *
 * Every socket is non-blocking: recv() and send() (net_read/net_write)
 * do what they can at once and return -EAGAIN when they cannot do more.
 * EAGAIN is not an error; it means "wait until the loop says ready".
 * Give each connection two states:
 *
 *     READING  — watching LOOP_READABLE; bytes go into `in` until a whole
 *                line is there; then its reply starts:
 *     WRITING  — watching LOOP_WRITABLE only; send the next chunk until
 *                -EAGAIN (wait for writable again) or the reply is done
 *                (then answer any line already received behind it, and
 *                go back to READING).
 *
 * Never watch LOOP_WRITABLE when there is nothing to write: a connected
 * socket is almost always writable, so poll() would return at once,
 * every time, and the loop would spin at 100% CPU.  And never call
 * anything that blocks: one slow client must slow down only itself.
 */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "loop/loop.h"
#include "net/net.h"
#include "probe/probe.h"

#define NB_MAX_REPLY     (64u << 20)  /* largest N a client may ask for */
#define NB_LINE_MAX      32           /* a request line longer than this is an error */
#define NB_CHUNK         (64 * 1024)  /* bytes produced per send() */
/* Bytes written per callback, for fairness: one fast reader of a 64 MiB
 * reply must not keep the loop to itself.  Twice the largest send buffer
 * Linux gives a socket by default (net.ipv4.tcp_wmem), so a reader that
 * falls behind fills its socket first and we really see -EAGAIN. */
#define NB_WRITE_BUDGET  (8u << 20)
#define NB_ACCEPT_BUDGET 64           /* connections accepted per callback */

enum conn_state { CONN_READING, CONN_WRITING };

struct conn {
    struct loop_io io;            /* the loop's watcher for this socket */
    struct server *server;
    enum conn_state state;
    char in[NB_LINE_MAX];         /* received bytes not yet answered */
    size_t in_len;                /* how many of them */
    uint64_t reply_len;           /* bytes in the reply being sent (N + 1 for '\n') */
    uint64_t reply_sent;          /* how many of them the socket has taken */
    bool close_when_sent;         /* an error reply: close once it is out */
    const char *fixed_reply;      /* the error text, instead of the pattern */
    struct conn *prev, *next;     /* every open connection, to close them at exit */
};

struct server {
    struct loop *loop;
    struct probe *probe;
    struct probe_thread *thread;
    struct loop_io listener;
    struct net_spare_fd spare;    /* for EMFILE (net.h) */
    struct conn *conns;
};

static struct loop *signal_loop;  /* for the SIGTERM handler */

static void on_stop_signal(int signo)
{
    (void)signo;
    loop_stop(signal_loop);       /* an atomic store: safe in a handler */
    loop_wakeup(signal_loop);     /* and make the wait return to notice it */
}

static void conn_close(struct conn *c)
{
    struct server *server = c->server;
    loop_io_stop(server->loop, &c->io);
    close(c->io.fd);
    probe_emit(server->thread, PROBE_EV_CLOSE, c->io.fd, 0, 0);
    probe_gauge_add(server->probe, PROBE_GAUGE_CONNECTIONS, -1);
    if (c->prev)
        c->prev->next = c->next;
    else
        server->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    free(c);
}

/* Switches the state and tells the loop what this state waits for. */
static void conn_set_state(struct conn *c, enum conn_state state)
{
    c->state = state;
    loop_io_modify(c->server->loop, &c->io,
                   state == CONN_READING ? LOOP_READABLE : LOOP_WRITABLE);
}

/* Byte `i` of the reply: the pattern, then '\n' (or the fixed error text). */
static char reply_byte(const struct conn *c, uint64_t i)
{
    if (c->fixed_reply)
        return c->fixed_reply[i];
    return i + 1 == c->reply_len ? '\n' : (char)('a' + i % 26);
}

/* A request line (without its '\n') is a decimal number of at most
 * NB_MAX_REPLY, digits only.  Returns false for anything else. */
static bool parse_request(const char *line, uint64_t *n)
{
    if (line[0] == '\0')
        return false;
    uint64_t value = 0;
    for (const char *p = line; *p != '\0'; p++) {
        if (*p < '0' || *p > '9')
            return false;
        value = value * 10 + (uint64_t)(*p - '0');
        if (value > NB_MAX_REPLY)
            return false;                 /* also stops overflow on long lines */
    }
    *n = value;
    return true;
}

/* TODO: the state machine.  A suggested split:
 *
 *   conn_start_next_reply(c)  if `in` holds a whole line, take it out
 *                             (memmove the rest down), parse_request() it
 *                             and set reply_len/reply_sent (or the error
 *                             reply and close_when_sent);
 *   conn_write(c)             send chunks of reply_byte() from reply_sent
 *                             on, advancing by what net_write() returned,
 *                             until -EAGAIN, the end of the reply, or
 *                             NB_WRITE_BUDGET bytes (fairness);
 *   conn_read(c)              net_read() into in + in_len; 0 or an error:
 *                             close; a whole line: start its reply and
 *                             switch to CONN_WRITING with conn_set_state().
 */

static void on_conn_event(struct loop *loop, struct loop_io *io, unsigned revents)
{
    (void)loop;
    (void)revents;
    struct conn *c = io->data;
    (void)parse_request;   /* remove these three once you use them */
    (void)reply_byte;
    (void)conn_set_state;
    conn_close(c);         /* TODO: serve the connection instead */
}

static void on_listener_readable(struct loop *loop, struct loop_io *io, unsigned revents)
{
    (void)revents;
    struct server *server = io->data;
    for (int i = 0; i < NB_ACCEPT_BUDGET; i++) {
        int fd = net_accept(io->fd, true);   /* non-blocking: -EAGAIN when none is left */
        if (fd == -EMFILE || fd == -ENFILE) {
            net_shed_connection(io->fd, &server->spare);
            return;
        }
        if (fd < 0)
            return;
        struct conn *c = calloc(1, sizeof *c);
        if (c == NULL) {
            close(fd);
            return;
        }
        c->server = server;
        c->state = CONN_READING;
        loop_io_init(&c->io, fd, on_conn_event, c);
        if (loop_io_start(loop, &c->io, LOOP_READABLE) < 0) {
            close(fd);
            free(c);
            continue;
        }
        c->next = server->conns;
        if (c->next)
            c->next->prev = c;
        server->conns = c;
        probe_emit(server->thread, PROBE_EV_ACCEPT, fd, 0, 0);
        probe_gauge_add(server->probe, PROBE_GAUGE_CONNECTIONS, 1);
    }
}

static void parse_args(int argc, char **argv, int *port, const char **backend)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--port") == 0 && i + 1 < argc)
            *port = atoi(argv[++i]);
        else if (strcmp(argv[i], "--backend") == 0 && i + 1 < argc)
            *backend = argv[++i];
        else {
            fprintf(stderr, "usage: %s [--port N] [--backend poll|epoll]\n", argv[0]);
            exit(2);
        }
    }
}

int main(int argc, char **argv)
{
    int port = 0;
    const char *backend = "poll";
    parse_args(argc, argv, &port, &backend);
    net_ignore_sigpipe();

    char err[256];
    int listen_fd = net_listen("127.0.0.1", port, 128, true, err, sizeof err);
    if (listen_fd < 0) {
        fprintf(stderr, "nb_server: %s\n", err);
        return 1;
    }
    port = net_local_port(listen_fd);

    struct server server = { 0 };
    char name[64];
    const char *env_name = getenv("EVLAB_PROBE_NAME");
    snprintf(name, sizeof name, "%s", env_name ? env_name : "");
    if (name[0] == '\0')
        snprintf(name, sizeof name, "ex03-%d", (int)getpid());
    if (probe_create(&server.probe, &(struct probe_config){ .name = name, .model = "loop",
                                                            .port = port }, err, sizeof err) < 0)
        fprintf(stderr, "nb_server: no probe (%s); serving anyway\n", err);
    server.thread = probe_thread_begin(server.probe, "loop");
    if (loop_new(&server.loop, backend, server.thread) < 0) {
        fprintf(stderr, "nb_server: unknown backend '%s'\n", backend);
        return 2;
    }
    net_spare_fd_open(&server.spare);
    loop_io_init(&server.listener, listen_fd, on_listener_readable, &server);
    loop_io_start(server.loop, &server.listener, LOOP_READABLE);

    signal_loop = server.loop;
    signal(SIGTERM, on_stop_signal);
    signal(SIGINT, on_stop_signal);

    printf("listening on port %d\n", port);
    fflush(stdout);
    loop_run(server.loop);

    /* Stopped: close every connection so the loop can be freed. */
    while (server.conns)
        conn_close(server.conns);
    loop_io_stop(server.loop, &server.listener);
    close(listen_fd);
    net_spare_fd_close(&server.spare);
    loop_free(server.loop);
    probe_thread_end(server.thread);
    probe_destroy(server.probe);
    return 0;
}
