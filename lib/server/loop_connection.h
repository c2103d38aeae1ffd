/*
 * loop_connection.h — one client connection of the event-loop model
 * (internal to lib/server/).
 */
#ifndef EVLAB_LOOP_CONNECTION_H
#define EVLAB_LOOP_CONNECTION_H

#include <stdbool.h>
#include <stdint.h>

#include "common/buffer.h"
#include "http/http_parser.h"
#include "loop/loop.h"
#include "loop/worker_pool.h"
#include "server/reply.h"

struct server;

/* Shared by the listener and every connection of one loop server. */
struct loop_server {
    struct server *server;
    struct loop *loop;
    struct probe_thread *thread;       /* the loop thread's probe */
    struct worker_pool *pool;          /* NULL: /cpu runs inline */
    struct loop_connection *connections;   /* doubly linked, for shutdown */
    size_t connection_count;
};

/* A connection moves through these states (see loop_connection.c). */
enum connection_state {
    CONN_READING,      /* reading and answering requests                  */
    CONN_WAITING,      /* a /sleep timer or a worker job will answer      */
    CONN_CLOSING,      /* we decided to close: flush the output first     */
    CONN_LINGERING     /* output sent, our side shut: discard input, then close */
};

struct loop_connection {
    struct loop_server *owner;
    struct loop_io io;
    struct loop_timer timer;          /* /sleep continuation, linger deadline */
    struct loop_timer deadline;       /* request and idle timeouts (lazy) */
    uint64_t last_progress_ns;        /* last byte read or written */
    uint64_t request_started_ns;      /* first byte of the pending request */
    struct worker_job job;            /* /cpu on the worker pool */
    bool job_in_flight;               /* the pool holds &job: don't free yet */
    bool free_when_job_done;
    struct buffer in;                 /* read, not yet parsed */
    struct buffer out;                /* answered, not yet written */
    size_t out_counted;               /* our share of the OUTPUT_QUEUED gauge */
    struct http_parser parser;
    enum connection_state state;
    struct reply_plan waiting_for;    /* the request a timer or job will answer */
    bool reads_paused;                /* backpressure: too much output queued */
    bool peer_closed;                 /* read() returned 0 */
    struct loop_connection *prev, *next;
};

/* Takes ownership of fd (non-blocking, accepted).  Returns 0 or -errno;
 * on failure fd is closed. */
int  loop_connection_open(struct loop_server *owner, int fd);
/* Closes at once (shutdown path). */
void loop_connection_close(struct loop_connection *conn);

#endif
