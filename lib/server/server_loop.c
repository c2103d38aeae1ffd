/*
 * server_loop.c — the event-loop model: one thread, non-blocking sockets.
 *
 *     loop:  wait for readiness (poll/epoll) -> dispatch each ready fd ->
 *            run due timers -> repeat
 *
 * This file owns the listening socket and the server's lifetime; each
 * client is a small state machine in loop_connection.c.  Accepting drains
 * the accept queue until EAGAIN (a readable listener may hold many
 * connections), at most LOOP_MAX_ACCEPTS_PER_DISPATCH per turn so clients
 * already connected are not starved by a connection storm.
 *
 * Each accept is the step all three models share (server_accept.c), which
 * also handles running out of descriptors: the listener stays readable
 * while connections wait, so naively the loop would spin at 100% CPU
 * calling a failing accept().  The shared step sheds one waiting
 * connection with the reserve descriptor; if that fails too, we stop
 * watching the listener for ACCEPT_PAUSE_MS and let the connections we
 * have finish.
 *
 * Stopping: the signal handler calls loop_wakeup() (an eventfd write, safe
 * in a signal handler); on the loop thread we then close the listener's
 * watcher and every connection, and the loop runs out of work and returns.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "common/limits.h"
#include "net/net.h"
#include "server/loop_connection.h"
#include "server/server_internal.h"

struct loop_model {
    struct loop_server shared;
    struct loop_io listener;
    struct loop_timer accept_resume;    /* after an EMFILE pause */
    struct net_spare_fd spare;
};

static void pause_accepting(struct loop_model *model)
{
    loop_io_stop(model->shared.loop, &model->listener);
    loop_timer_start(model->shared.loop, &model->accept_resume,
                     (uint64_t)ACCEPT_PAUSE_MS * 1000000u);
}

static void on_accept_resume(struct loop *loop, struct loop_timer *timer)
{
    struct loop_model *model = timer->data;
    if (!atomic_load(&model->shared.server->stop_requested))
        loop_io_start(loop, &model->listener, LOOP_READABLE);
}

static void on_listener_readable(struct loop *loop, struct loop_io *io, unsigned revents)
{
    (void)loop; (void)revents;
    struct loop_model *model = io->data;
    struct server *server = model->shared.server;

    for (int i = 0; i < LOOP_MAX_ACCEPTS_PER_DISPATCH; i++) {
        int fd = server_accept(server, model->shared.thread, &model->spare);
        if (fd == SERVER_ACCEPT_PAUSE) {
            pause_accepting(model);     /* out of descriptors: don't spin */
            return;
        }
        if (fd == SERVER_ACCEPT_SHED)
            continue;
        if (fd < 0)
            return;                 /* accept queue drained, or transient: next turn */
        loop_connection_open(&model->shared, fd);
    }
}

/* Stops watching everything: the listener, the accept pause, the worker
 * pool (cancelling queued /cpu jobs first, since their completions close
 * their connections), then every connection.  Afterwards the loop has
 * nothing left and loop_run() returns.  Safe to call twice. */
static void loop_model_shut_down(struct loop_model *model)
{
    struct loop *loop = model->shared.loop;
    if (loop_io_active(&model->listener))
        loop_io_stop(loop, &model->listener);
    if (loop_timer_active(&model->accept_resume))
        loop_timer_stop(loop, &model->accept_resume);
    if (model->shared.pool != NULL) {
        worker_pool_free(model->shared.pool);
        model->shared.pool = NULL;
    }
    while (model->shared.connections != NULL)
        loop_connection_close(model->shared.connections);
}

/* Runs on the loop thread after a signal's loop_wakeup(). */
static void on_wakeup(struct loop *loop, void *data)
{
    struct loop_model *model = data;
    if (!atomic_load(&model->shared.server->stop_requested))
        return;
    loop_model_shut_down(model);
    loop_stop(loop);
}

static int loop_model_open(struct server *server, char *err, size_t err_len)
{
    struct loop_model *model = calloc(1, sizeof *model);
    if (model == NULL)
        return -ENOMEM;
    model->shared.server = server;
    server->model_state = model;
    /* The loop thread is the thread that calls server_run(); its probe
     * ring is claimed here, on that same thread (cmd_serve opens and runs
     * on its main thread). */
    model->shared.thread = probe_thread_begin(server->probe, "loop");
    int rc = loop_new(&model->shared.loop, server->config.backend, model->shared.thread);
    if (rc < 0) {
        snprintf(err, err_len, "event loop: backend '%s': %s",
                 server->config.backend ? server->config.backend : "poll",
                 rc == -EINVAL ? "unknown (use poll or epoll)" : "could not start");
        goto fail_thread;
    }
    rc = loop_wakeup_init(model->shared.loop, on_wakeup, model);
    if (rc < 0) {
        snprintf(err, err_len, "event loop: wakeup: error %d", -rc);
        goto fail_loop;
    }
    if (server->config.workers > 0) {
        rc = worker_pool_new(&model->shared.pool, model->shared.loop, server->probe,
                             server->config.workers, 4 * 1024);
        if (rc < 0) {
            snprintf(err, err_len, "worker pool of %u: error %d", server->config.workers, -rc);
            goto fail_loop;
        }
    }
    net_spare_fd_open(&model->spare);
    loop_io_init(&model->listener, server->listen_fd, on_listener_readable, model);
    loop_timer_init(&model->accept_resume, on_accept_resume, model);
    probe_gauge_set(server->probe, PROBE_GAUGE_THREADS, 1 + (int64_t)server->config.workers);
    return 0;

fail_loop:
    loop_free(model->shared.loop);
fail_thread:
    probe_thread_end(model->shared.thread);
    free(model);
    server->model_state = NULL;
    return rc;
}

static int loop_model_run(struct server *server)
{
    struct loop_model *model = server->model_state;
    int rc = loop_io_start(model->shared.loop, &model->listener, LOOP_READABLE);
    if (rc < 0)
        return rc;
    return loop_run(model->shared.loop);
}

static void loop_model_wake(struct server *server)
{
    struct loop_model *model = server->model_state;
    loop_wakeup(model->shared.loop);
}

static bool loop_model_close(struct server *server)
{
    struct loop_model *model = server->model_state;
    /* Normally on_wakeup already did this; again for a run() that ended
     * some other way. */
    loop_model_shut_down(model);
    loop_free(model->shared.loop);
    probe_thread_end(model->shared.thread);
    net_spare_fd_close(&model->spare);
    free(model);
    return true;
}

const struct server_model_ops server_loop_ops = {
    .name = "loop",
    .nonblocking_listener = true,
    .open = loop_model_open,
    .run = loop_model_run,
    .wake = loop_model_wake,
    .close = loop_model_close,
};
