/*
 * nb_server.c — exercise 03, reference solution: a non-blocking server on
 * one thread, one event loop, and a small state machine per connection.
 *
 * The protocol.  A client sends lines `N\n` (N a decimal number, at most
 * NB_MAX_REPLY); for each the server sends back N bytes of the alphabet
 * pattern (byte i is 'a' + i % 26) and a '\n'.  Anything else gets
 * `error\n` and a close.  Replies can be far larger than any socket
 * buffer, so a reply is never built in memory: the connection keeps a
 * cursor (`reply_sent` of `reply_len`) and produces the next chunk of the
 * pattern each time the socket can take more.
 *
 * Every socket is non-blocking, so no call ever waits: recv() and send()
 * do what they can at once and return EAGAIN when they cannot do more.
 * EAGAIN is not an error, it means "ask the loop to tell you when".  Each
 * connection is in one of two states:
 *
 *     READING  — watching LOOP_READABLE; bytes go into `in` until a whole
 *                line is there; then the reply starts:
 *     WRITING  — watching LOOP_WRITABLE only; send() the next chunk until
 *                EAGAIN (wait for writable again) or the reply is done
 *                (back to READING, after first answering any line that
 *                was already received behind the last one).
 *
 * Only one reply is in progress per connection and the next line is read
 * only when it is done, so a connection's memory is fixed (its struct),
 * however much a client asks for or however slowly it reads.  A client
 * that reads slowly therefore only slows itself down.  The loop never
 * watches for "writable" unless something is waiting to be written:
 * otherwise poll() would return at once, every time, and the loop would
 * spin at 100% CPU.  Writes stop after NB_WRITE_BUDGET bytes per callback
 * so one fast reader of a huge reply cannot starve the other clients.
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
    /* WRONG: always watching LOOP_WRITABLE, even with nothing to write:
     * poll() returns at once, every turn. */
    loop_io_modify(c->server->loop, &c->io, LOOP_READABLE | LOOP_WRITABLE);
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

/* If `in` holds a whole line, takes it out and starts its reply.
 * Returns true when a reply was started. */
static bool conn_start_next_reply(struct conn *c)
{
    char *newline = memchr(c->in, '\n', c->in_len);
    if (newline == NULL) {
        if (c->in_len < sizeof c->in)
            return false;                 /* wait for the rest of the line */
        newline = c->in + sizeof c->in - 1;   /* too long: an error */
    }
    size_t line_len = (size_t)(newline - c->in);
    char line[NB_LINE_MAX + 1];
    memcpy(line, c->in, line_len);
    line[line_len] = '\0';
    c->in_len -= line_len + 1;
    memmove(c->in, newline + 1, c->in_len);

    uint64_t n = 0;
    bool valid = parse_request(line, &n);
    c->reply_sent = 0;
    if (valid) {
        c->fixed_reply = NULL;
        c->reply_len = n + 1;
    } else {
        c->fixed_reply = "error\n";
        c->reply_len = strlen(c->fixed_reply);
        c->close_when_sent = true;
        c->in_len = 0;                    /* nothing after an error is answered */
    }
    return true;
}

/* Sends as much of the reply as the socket takes (up to the budget).
 * Returns false when the connection was closed. */
static bool conn_write(struct conn *c)
{
    char chunk[NB_CHUNK];
    size_t written = 0;
    while (c->reply_sent < c->reply_len && written < NB_WRITE_BUDGET) {
        uint64_t left = c->reply_len - c->reply_sent;
        size_t len = left < sizeof chunk ? (size_t)left : sizeof chunk;
        for (size_t i = 0; i < len; i++)
            chunk[i] = reply_byte(c, c->reply_sent + i);
        ssize_t n = net_write(c->io.fd, chunk, len);
        if (n == -EAGAIN)
            return true;                  /* socket full: wait for writable */
        if (n < 0) {
            conn_close(c);                /* the client is gone */
            return false;
        }
        /* The socket may take less than we offered: the cursor moves by
         * what it took, and the rest is produced again next time. */
        c->reply_sent += (uint64_t)n;
        written += (size_t)n;
        probe_emit(c->server->thread, PROBE_EV_WRITE, c->io.fd, (uint64_t)n, 0);
    }
    if (c->reply_sent < c->reply_len)
        return true;                      /* budget used up: continue next turn */
    if (c->close_when_sent) {
        conn_close(c);
        return false;
    }
    return true;
}

/* Answers every complete line already received, then goes back to reading. */
static void conn_after_reply(struct conn *c)
{
    while (c->reply_sent == c->reply_len) {
        if (!conn_start_next_reply(c)) {
            conn_set_state(c, CONN_READING);
            return;
        }
        if (!conn_write(c))
            return;                       /* closed */
    }
    conn_set_state(c, CONN_WRITING);      /* the reply waits for writable */
}

static void conn_read(struct conn *c)
{
    ssize_t n = net_read(c->io.fd, c->in + c->in_len, sizeof c->in - c->in_len);
    if (n == -EAGAIN)
        return;                           /* a spurious wake-up: nothing there */
    if (n <= 0) {
        conn_close(c);                    /* EOF (0) or an error */
        return;
    }
    probe_emit(c->server->thread, PROBE_EV_READ, c->io.fd, (uint64_t)n, 0);
    c->in_len += (size_t)n;
    /* A complete line starts a reply; nothing is read while it is sent. */
    if (conn_start_next_reply(c) && conn_write(c))
        conn_after_reply(c);
}

static void on_conn_event(struct loop *loop, struct loop_io *io, unsigned revents)
{
    (void)loop;
    struct conn *c = io->data;
    if (c->state == CONN_READING && (revents & (LOOP_READABLE | LOOP_ERROR)))
        conn_read(c);
    else if (c->state == CONN_WRITING && (revents & (LOOP_WRITABLE | LOOP_ERROR))) {
        if (conn_write(c) && c->reply_sent == c->reply_len)
            conn_after_reply(c);
    }
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
        if (loop_io_start(loop, &c->io, LOOP_READABLE | LOOP_WRITABLE) < 0) {
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
