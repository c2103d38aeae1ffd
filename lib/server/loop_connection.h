/*
 * loop_connection.h — one client connection of the event-loop model
 * (internal to lib/server/).  The connection itself, a state machine, is
 * private to loop_connection.c; server_loop.c only opens connections and
 * closes them all on shutdown.
 *
 * Ownership: struct loop_server belongs to server_loop.c; each connection
 * belongs to its loop_server (linked in `connections`) from
 * loop_connection_open() until it closes itself or loop_connection_close()
 * closes it.  Loop thread only.
 */
#ifndef EVLAB_LOOP_CONNECTION_H
#define EVLAB_LOOP_CONNECTION_H

#include <stddef.h>

#include "common/buffer.h"
#include "loop/loop.h"
#include "loop/worker_pool.h"

struct server;
struct loop_connection;

/* Shared by the listener and every connection of one loop server. */
struct loop_server {
    struct server *server;
    struct loop *loop;
    struct probe_thread *thread;       /* the loop thread's probe */
    struct worker_pool *pool;          /* NULL: /cpu runs inline */
    /* Where every connection's input and output buffers borrow their
     * blocks while they hold bytes (buffer.h): an idle connection holds
     * none.  Its bytes_lent is the buffer_bytes gauge. */
    struct buffer_pool buffers;
    size_t buffer_bytes_shown;         /* what the gauge says now */
    struct loop_connection *connections;   /* doubly linked, for shutdown */
    size_t connection_count;
};

/* Takes ownership of fd (non-blocking, accepted).  Returns 0 or -errno;
 * on failure fd is closed. */
int  loop_connection_open(struct loop_server *owner, int fd);
/* Closes at once (shutdown path): the connection leaves owner's list,
 * except one whose /cpu job a worker still holds, which is freed when the
 * job comes back (the worker pool is freed first on shutdown, so by then
 * there is none). */
void loop_connection_close(struct loop_connection *conn);

#endif
