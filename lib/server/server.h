/*
 * server.h — start one of the three server models.
 *
 *   blocking  one thread: accept a connection, serve it until it closes,
 *             only then accept the next.  Everyone else waits in the
 *             kernel's accept queue.
 *   threads   one thread per connection; the accepting thread hands each
 *             new connection to a fresh thread (past --max-threads: 503).
 *   loop      one thread, non-blocking sockets, an event loop (poll or
 *             epoll) that dispatches readiness to small handlers; timers
 *             for /sleep, an optional worker pool for /cpu.
 *
 * All three share everything that is not the lesson: sockets (net.h),
 * parsing and routes (http/), replies (reply.h) and instrumentation
 * (probe.h).  They differ only in how they wait.
 *
 * Lifecycle: server_open() binds and creates the instrumentation segment
 * (so the port is known before anything runs); server_run() serves until
 * server_request_stop(), which is async-signal-safe; server_close() frees.
 * Signals: server_run() expects SIGINT/SIGTERM to be blocked in every
 * thread but the one that calls it — server_open() blocks them in the
 * calling thread before it starts any helper thread, server_run() unblocks
 * them there.  The caller installs the handlers (see cli/cmd_serve.c).
 * Errors: 0 or a negative errno, with a message in `err`.
 */
#ifndef EVLAB_SERVER_H
#define EVLAB_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum server_model { SERVER_BLOCKING, SERVER_THREADS, SERVER_LOOP };

struct server_config {
    enum server_model model;
    const char *bind_addr;      /* default "127.0.0.1" */
    int port;                   /* 0: ephemeral */
    const char *name;           /* instrumentation name; NULL: MODEL-PID */
    size_t max_body;            /* 0: HTTP_DEFAULT_MAX_BODY */
    uint32_t request_timeout_ms; /* 0: HTTP_REQUEST_TIMEOUT_MS; then 408 */
    uint32_t idle_timeout_ms;   /* 0: HTTP_IDLE_TIMEOUT_MS; then close */
    /* threads */
    unsigned max_threads;       /* 0: THREADS_DEFAULT_MAX */
    size_t stack_size;          /* 0: THREADS_DEFAULT_STACK_BYTES */
    /* loop */
    const char *backend;        /* "poll" (default) or "epoll" */
    unsigned workers;           /* 0: /cpu runs inline on the loop */
    bool no_backpressure;       /* the pitfall lesson: never pause reads */
};

struct server;

/* Parses "blocking" / "threads" / "loop"; false for anything else. */
bool server_model_parse(const char *text, enum server_model *out);
const char *server_model_name(enum server_model model);

int  server_open(struct server **out, const struct server_config *config,
                 char *err, size_t err_len);
int  server_run(struct server *server);
void server_request_stop(struct server *server);   /* async-signal-safe */
void server_close(struct server *server);

int server_port(const struct server *server);
const char *server_instrumentation_name(const struct server *server);

#endif
