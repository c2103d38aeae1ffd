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
    /* Sets up model state after the socket and probe exist. */
    int  (*open)(struct server *server, char *err, size_t err_len);
    int  (*run)(struct server *server);
    /* Async-signal-safe: make run() notice stop_requested soon. */
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

/* Serves one connection with blocking calls until the client closes,
 * sends a bad request, or the server stops (blocking and threads models).
 * Closes fd before returning.  `mark_ready` says whether this model counts
 * the connection itself as "ready" (blocking) or each handler (threads). */
void sync_connection_serve(struct server *server, struct probe_thread *thread,
                           int fd, bool connection_is_ready);

/* How many bytes the next read into `in` may ask for: one chunk, or less
 * when the input buffer is close to its limit (a maximal request followed
 * by pipelined bytes), so the last bytes of room are still used.  0 means
 * full: the parser will have answered 413/431 before that can happen. */
static inline size_t server_read_size(const struct buffer *in)
{
    size_t room = in->limit == 0 ? SERVER_READ_CHUNK : in->limit - buffer_pending(in);
    return room < SERVER_READ_CHUNK ? room : SERVER_READ_CHUNK;
}

/* One accept() for the models that block in it (blocking_accept.c):
 * returns a new connection's fd, or -1 when there is none this time (a
 * signal, a transient error, or descriptors ran out and the waiting client
 * was shed); the caller then checks stop_requested and calls again. */
struct net_spare_fd;
int server_accept_blocking(struct server *server, struct probe_thread *thread,
                           struct net_spare_fd *spare);

/* Blocks SIGINT and SIGTERM in the calling thread; threads created after
 * this inherit the mask, so the signal always reaches the thread that
 * calls server_run(). */
void server_block_stop_signals(sigset_t *previous);
void server_unblock_stop_signals(void);

#endif
