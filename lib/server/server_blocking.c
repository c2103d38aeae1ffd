/*
 * server_blocking.c — the blocking model: one thread, one connection at a
 * time.
 *
 *     for (;;) {
 *         fd = accept(listener);     // wait for a client
 *         serve(fd);                 // wait for *this* client, until it leaves
 *     }                              // (or, between requests, another one waits)
 *
 * While serve() waits for one client's request (or sleeps in its /sleep
 * handler), every other client waits in the kernel's accept queue.  Only
 * between two requests does the connection give way: when someone is
 * waiting, its last reply says "Connection: close" (sync_connection.c,
 * give_way_if_others_wait), else one idle keep-alive client would lock
 * everyone out.
 * The instrumentation shows exactly that: queued = the accept queue
 * (sampled through TCP_INFO, since this thread cannot report while it is
 * blocked) plus requests pipelined behind the one being served; ready =
 * the one connection being served.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/limits.h"
#include "net/net.h"
#include "server/server_internal.h"

struct blocking_state {
    struct net_spare_fd spare;
    /* The connection being served, so a stop request can interrupt the
     * read it is blocked in (-1 when none). */
    atomic_int current_fd;
};

static int blocking_open(struct server *server, char *err, size_t err_len)
{
    struct blocking_state *state = calloc(1, sizeof *state);
    if (state == NULL)
        return -ENOMEM;
    net_spare_fd_open(&state->spare);
    atomic_init(&state->current_fd, -1);
    server->model_state = state;
    probe_sampler_start(server->probe, server->listen_fd, PROBE_SAMPLE_ACCEPT_QUEUE);
    return 0;
}

static int blocking_run(struct server *server)
{
    struct blocking_state *state = server->model_state;
    struct probe_thread *thread = probe_thread_begin(server->probe, "main");
    probe_gauge_set(server->probe, PROBE_GAUGE_THREADS, 1);

    while (!atomic_load(&server->stop_requested)) {
        int fd = server_accept(server, thread, &state->spare);
        if (fd == SERVER_ACCEPT_PAUSE)
            clock_sleep_ms(ACCEPT_PAUSE_MS);   /* out of descriptors: don't spin */
        if (fd < 0)
            continue;
        probe_gauge_add(server->probe, PROBE_GAUGE_CONNECTIONS, 1);

        atomic_store(&state->current_fd, fd);
        if (atomic_load(&server->stop_requested))
            shutdown(fd, SHUT_RDWR);    /* stop arrived just now: don't block */
        /* Ready, in this model, is the one connection being served; the
         * requests it pipelines behind the current one are queued. */
        probe_gauge_set(server->probe, PROBE_GAUGE_READY, 1);
        sync_connection_serve(server, thread, fd, SYNC_MODEL_BLOCKING);
        probe_gauge_set(server->probe, PROBE_GAUGE_READY, 0);
        probe_gauge_set(server->probe, PROBE_GAUGE_Q_PIPELINED, 0);
        atomic_store(&state->current_fd, -1);
    }
    probe_thread_end(thread);
    return 0;
}

static void blocking_wake(struct server *server)
{
    struct blocking_state *state = server->model_state;
    /* shutdown() is async-signal-safe.  On the listener it ends a blocked
     * accept() (Linux wakes it with EINVAL); on the connection, a blocked
     * read. */
    shutdown(server->listen_fd, SHUT_RD);
    int fd = atomic_load(&state->current_fd);
    if (fd >= 0)
        shutdown(fd, SHUT_RDWR);
}

static bool blocking_close(struct server *server)
{
    struct blocking_state *state = server->model_state;
    net_spare_fd_close(&state->spare);
    free(state);
    return true;
}

const struct server_model_ops server_blocking_ops = {
    .name = "blocking",
    .nonblocking_listener = false,
    .open = blocking_open,
    .run = blocking_run,
    .wake = blocking_wake,
    .close = blocking_close,
};
