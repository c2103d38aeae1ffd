/*
 * server_internal.h — what the three models share inside lib/server/.
 * Not for use outside this folder.
 */
#ifndef EVLAB_SERVER_INTERNAL_H
#define EVLAB_SERVER_INTERNAL_H

#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "common/buffer.h"
#include "common/limits.h"
#include "probe/probe.h"
#include "server/server.h"

struct server;

/* What differs between the models: how they run, and how a signal
 * handler nudges them out of whatever call they are blocked in. */
struct server_model_ops {
    const char *name;
    /* The listening socket is non-blocking (the loop waits in poll or
     * epoll instead) and so are the connections it accepts. */
    bool nonblocking_listener;
    /* Sets up model state after the socket and probe exist. */
    int  (*open)(struct server *server, char *err, size_t err_len);
    int  (*run)(struct server *server);
    /* Async-signal-safe: make run() notice stop_requested soon (it may
     * be blocked in accept(), in a connection's read, or in the loop's
     * wait). */
    void (*wake)(struct server *server);
    /* Frees model state.  Returns false when threads of the model are
     * still running (a stop that timed out): the caller must then leave
     * the shared memory mapped, since those threads still write to it. */
    bool (*close)(struct server *server);
};

extern const struct server_model_ops server_blocking_ops;
extern const struct server_model_ops server_threads_ops;
extern const struct server_model_ops server_loop_ops;

struct server {
    struct server_config config;
    const struct server_model_ops *ops;
    int listen_fd;
    int port;
    struct probe *probe;
    atomic_bool stop_requested;
    void *model_state;          /* owned by the model's open/close */
};

/* The two models that serve a connection with blocking calls differ in
 * how long one connection may hold its thread, and in what the view
 * counts for them (README, "What the view calls queued and ready"). */
enum sync_model {
    /* blocking: the only thread.  Requests pipelined behind the one being
     * served are queued (Q_PIPELINED; the model counts the connection
     * itself as ready), and between requests the connection gives way
     * to a client waiting in the accept queue. */
    SYNC_MODEL_BLOCKING,
    /* threads: a thread per connection, which may stay as long as its
     * client likes.  A thread inside a handler is ready (READY). */
    SYNC_MODEL_THREADS
};

/* Serves one connection with blocking calls until the client closes,
 * sends a bad request, or the server stops (blocking and threads models,
 * sync_connection.c).  Closes fd before returning. */
void sync_connection_serve(struct server *server, struct probe_thread *thread, int fd,
                           enum sync_model model);

/* How many bytes the next read into `in` may ask for: one chunk, or less
 * when the input buffer is close to its limit (a maximal request followed
 * by pipelined bytes), so the last bytes of room are still used.  0 means
 * full: the parser will have answered 413/431 before that can happen. */
static inline size_t server_read_size(const struct buffer *in)
{
    size_t room = in->limit == 0 ? SERVER_READ_CHUNK : in->limit - buffer_pending(in);
    return room < SERVER_READ_CHUNK ? room : SERVER_READ_CHUNK;
}

/* What server_accept() returns when it has no new connection. */
enum server_accept_none {
    /* None this time: a signal, a transient error, or (non-blocking) an
     * empty accept queue.  Check for a stop, then call again (or, on the
     * loop, wait for the listener to be readable). */
    SERVER_ACCEPT_AGAIN = -1,
    /* Descriptors ran out and the waiting client was shed: call again. */
    SERVER_ACCEPT_SHED = -2,
    /* Descriptors ran out and not even shedding worked: stop accepting
     * for ACCEPT_PAUSE_MS, or the server would spin. */
    SERVER_ACCEPT_PAUSE = -3
};

/* The accept step of every model (server_accept.c): a new connection's
 * fd, blocking or not like the listener, or an enum server_accept_none.
 * `spare` is the model's reserve descriptor for shedding. */
struct net_spare_fd;
int server_accept(struct server *server, struct probe_thread *thread,
                  struct net_spare_fd *spare);

/* Blocks SIGINT and SIGTERM in the calling thread; threads created after
 * this inherit the mask, so the signal always reaches the thread that
 * calls server_run(). */
void server_block_stop_signals(sigset_t *previous);
void server_unblock_stop_signals(void);

#endif
