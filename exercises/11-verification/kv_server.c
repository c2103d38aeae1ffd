/*
 * kv_server.c — exercise 11's server under test: a small key-value store
 * on the event loop.  Given to you (do not edit: you write the test for
 * it, kv_test.c; the grader builds its own copy).
 *
 * Protocol (README.md has the full text): one request per line, at most
 * KV_LINE_MAX bytes with its '\n'; the store is shared by all clients.
 *     SET <key> <value>   -> OK             (value: the rest of the line)
 *     GET <key>           -> VALUE <value>  or NOTFOUND
 *     DEL <key>           -> DELETED        or NOTFOUND
 *     COUNT               -> COUNT <n>      (keys stored)
 *     anything malformed  -> ERROR bad request   (connection stays open)
 *     a line too long     -> ERROR line too long, then the server closes
 *
 * Seeded faults.  The Makefile also builds this file with -DKV_FAULT=N
 * into build/kv_server_faultN, each a server with exactly one bug (the
 * #if KV_FAULT blocks below).  Your test must pass on the correct server
 * and fail on each faulty one: faults 1-5 are graded by the visible
 * tests, 6-8 by the tests shown after the due date.  Reading them is
 * allowed, but write your test from the protocol above: a test that
 * checks what the server promises catches these faults and the ones
 * nobody seeded.
 */
#include <ctype.h>
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

#ifndef KV_FAULT
#define KV_FAULT 0                      /* 0 = the correct server */
#endif

#define KV_LINE_MAX  256                /* a request line, '\n' included */
#define KV_KEY_MAX   32
#define KV_VALUE_MAX 200
#define KV_MAX_KEYS  1000

struct entry {
    char key[KV_KEY_MAX + 1];
    char value[KV_VALUE_MAX + 1];
    bool used;
};

struct server;

struct conn {
    struct server *server;
    struct loop_io io;
    char line[KV_LINE_MAX];             /* the request being received */
    size_t line_len;
    struct buffer out;
    bool close_when_sent;
    struct conn *next, *prev;
};

struct server {
    struct loop *loop;
    struct probe *probe;
    struct loop_io listener;
    struct conn *conns;
    struct entry entries[KV_MAX_KEYS];
};

static volatile sig_atomic_t stop_requested;
static struct loop *signal_loop;

/* ---- the store ------------------------------------------------------ */

static struct entry *store_find(struct server *server, const char *key)
{
    for (int i = 0; i < KV_MAX_KEYS; i++)
        if (server->entries[i].used && strcmp(server->entries[i].key, key) == 0)
            return &server->entries[i];
    return NULL;
}

static int store_count(const struct server *server)
{
    int n = 0;
    for (int i = 0; i < KV_MAX_KEYS; i++)
        n += server->entries[i].used;
    return n;
}

/* Keys: 1..KV_KEY_MAX letters, digits, '_', ':', '-'. */
static bool key_is_valid(const char *key, size_t len)
{
    if (len == 0 || len > KV_KEY_MAX)
        return false;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)key[i];
        if (!isalnum(c) && c != '_' && c != ':' && c != '-')
            return false;
    }
    return true;
}

/* ---- connections ---------------------------------------------------- */

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
    probe_gauge_add(server->probe, PROBE_GAUGE_CONNECTIONS, -1);
    buffer_free(&conn->out);
    free(conn);
}

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
    unsigned want = conn->close_when_sent ? 0 : LOOP_READABLE;
    if (buffer_pending(&conn->out) > 0)
        want |= LOOP_WRITABLE;
    if (want != conn->io.events)
        loop_io_modify(conn->server->loop, &conn->io, want);
    return true;
}

static void reply(struct conn *conn, const char *text)
{
    (void)buffer_append(&conn->out, text, strlen(text));
}

static void handle_set(struct conn *conn, const char *key, size_t key_len, const char *value)
{
    struct server *server = conn->server;
    char name[KV_KEY_MAX + 1];
    memcpy(name, key, key_len);
    name[key_len] = '\0';
    if (strlen(value) > KV_VALUE_MAX) {
        reply(conn, "ERROR bad request\n");
        return;
    }
#if KV_FAULT == 3
    /* FAULT 3: a value with spaces is cut at its first space. */
    char first_word[KV_VALUE_MAX + 1];
    snprintf(first_word, sizeof first_word, "%s", value);
    first_word[strcspn(first_word, " ")] = '\0';
    value = first_word;
#endif
    struct entry *e = store_find(server, name);
#if KV_FAULT == 1
    /* FAULT 1: overwriting a key keeps the old value. */
    if (e != NULL) {
        reply(conn, "OK\n");
        return;
    }
#endif
    if (e == NULL) {
        for (int i = 0; i < KV_MAX_KEYS && e == NULL; i++)
            if (!server->entries[i].used)
                e = &server->entries[i];
        if (e == NULL) {
            reply(conn, "ERROR full\n");
            return;
        }
        e->used = true;
        snprintf(e->key, sizeof e->key, "%s", name);
    }
    snprintf(e->value, sizeof e->value, "%s", value);
    reply(conn, "OK\n");
}

static void handle_line(struct conn *conn, char *line)
{
    struct server *server = conn->server;
    char *space = strchr(line, ' ');
    size_t cmd_len = space != NULL ? (size_t)(space - line) : strlen(line);
    const char *args = space != NULL ? space + 1 : "";
    size_t key_len = strcspn(args, " ");
    bool has_value = args[key_len] == ' ';

    if (cmd_len == 3 && memcmp(line, "SET", 3) == 0 && key_is_valid(args, key_len) &&
        has_value) {
        handle_set(conn, args, key_len, args + key_len + 1);
    } else if (cmd_len == 3 && (memcmp(line, "GET", 3) == 0 || memcmp(line, "DEL", 3) == 0) &&
               key_is_valid(args, key_len) && !has_value) {
        struct entry *e = store_find(server, args);
        if (e == NULL) {
#if KV_FAULT == 8
            /* FAULT 8: a missing key reads as an empty value. */
            if (line[0] == 'G') {
                reply(conn, "VALUE \n");
                return;
            }
#endif
            reply(conn, "NOTFOUND\n");
        } else if (line[0] == 'G') {
            char text[KV_VALUE_MAX + 16];
            snprintf(text, sizeof text, "VALUE %s\n", e->value);
            reply(conn, text);
        } else {
#if KV_FAULT != 5
            e->used = false;
#endif
            /* (FAULT 5: DEL answers DELETED but keeps the key.) */
            reply(conn, "DELETED\n");
        }
    } else if (strcmp(line, "COUNT") == 0) {
        char text[32];
        snprintf(text, sizeof text, "COUNT %d\n", store_count(server));
        reply(conn, text);
    } else {
#if KV_FAULT == 4
        /* FAULT 4: a malformed request gets no answer at all. */
        return;
#endif
        reply(conn, "ERROR bad request\n");
    }
}

static void on_conn_event(struct loop *loop, struct loop_io *io, unsigned revents)
{
    (void)loop;
    struct conn *conn = io->data;

    if ((revents & LOOP_WRITABLE) && !conn_flush(conn))
        return;
    if (!(revents & (LOOP_READABLE | LOOP_ERROR)) || conn->close_when_sent)
        return;

    char buf[1024];
    /* One byte spare: fault 2 appends a newline. */
    ssize_t n = net_read(io->fd, buf, sizeof buf - 1);
    if (n == -EAGAIN)
        return;
    if (n <= 0) {
#if KV_FAULT == 6
        /* FAULT 6: a client that resets brings the whole server down. */
        if (n == -ECONNRESET)
            exit(3);
#endif
        conn_close(conn);
        return;
    }
#if KV_FAULT == 2
    /* FAULT 2: each read is taken as a whole request, so a request that
     * arrives in pieces is judged piece by piece. */
    if (memchr(buf, '\n', (size_t)n) == NULL)
        buf[n++] = '\n';
#endif
    for (ssize_t i = 0; i < n; i++) {
        if (buf[i] == '\n') {
            conn->line[conn->line_len] = '\0';
            if (conn->line_len > 0 && conn->line[conn->line_len - 1] == '\r')
                conn->line[conn->line_len - 1] = '\0';
            conn->line_len = 0;
            handle_line(conn, conn->line);
        } else if (conn->line_len == KV_LINE_MAX - 1) {
#if KV_FAULT == 7
            /* FAULT 7: an overlong line is silently cut into pieces. */
            conn->line[conn->line_len] = '\0';
            conn->line_len = 0;
            handle_line(conn, conn->line);
            conn->line[conn->line_len++] = buf[i];
            continue;
#endif
            reply(conn, "ERROR line too long\n");
            conn->close_when_sent = true;
            conn_flush(conn);
            return;
        } else {
            conn->line[conn->line_len++] = buf[i];
        }
    }
    conn_flush(conn);
}

static void on_listener(struct loop *loop, struct loop_io *io, unsigned revents)
{
    (void)revents;
    struct server *server = io->data;

    for (;;) {
        int fd = net_accept(io->fd, true);
        if (fd < 0)
            return;
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
    loop_wakeup(signal_loop);
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
    static struct server server;        /* the store is large: not on the stack */
    char err[256];

    net_ignore_sigpipe();
    int listen_fd = net_listen("127.0.0.1", parse_port(argc, argv), 128, true,
                               err, sizeof err);
    if (listen_fd < 0) {
        fprintf(stderr, "kv_server: %s\n", err);
        return 1;
    }
    int port = net_local_port(listen_fd);

    char name[64];
    const char *env_name = getenv("EVLAB_PROBE_NAME");
    if (env_name != NULL)
        snprintf(name, sizeof name, "%s", env_name);
    else
        snprintf(name, sizeof name, "ex11-%d", (int)getpid());
    if (probe_create(&server.probe, &(struct probe_config){
            .name = name, .model = "loop", .port = port }, err, sizeof err) < 0)
        fprintf(stderr, "kv_server: no probe (%s); running unwatched\n", err);
    struct probe_thread *loop_thread = probe_thread_begin(server.probe, "loop");
    if (loop_new(&server.loop, NULL, loop_thread) < 0) {
        fprintf(stderr, "kv_server: cannot create the event loop\n");
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

    loop_io_stop(server.loop, &server.listener);
    close(listen_fd);
    while (server.conns != NULL)
        conn_close(server.conns);
    loop_free(server.loop);
    probe_thread_end(loop_thread);
    probe_destroy(server.probe);
    return 0;
}
