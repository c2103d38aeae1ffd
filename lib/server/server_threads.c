/*
 * server_threads.c — the thread-per-connection model.
 *
 *     for (;;) {
 *         fd = accept(listener);
 *         if (too many threads) { reply 503; close(fd); continue; }
 *         pthread_create(serve, fd);   // this thread blocks, not us
 *     }
 *
 * The code of each connection is as simple as in the blocking model
 * (sync_connection.c): blocking is fine because only that connection's
 * thread waits.  The price is one thread per connection: a stack each
 * (--stack-size, default 64 KiB of reserved address space, of which only
 * the touched pages cost memory), a kernel task each, and context switches
 * between them.  The instrumentation measures that rather than assuming
 * it: THREADS and Q_RUNNABLE (threads ready to run but waiting for a CPU)
 * come from a sampler reading /proc; READY counts threads inside a handler.
 *
 * Shutdown: every live connection's fd is kept in a registry, so a stop
 * request can shut them all down; then we wait (bounded) for the threads
 * to leave.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/buffer.h"
#include "common/clock.h"
#include "common/limits.h"
#include "http/http_response.h"
#include "net/net.h"
#include "server/server_internal.h"

struct threads_state {
    struct net_spare_fd spare;
    pthread_attr_t attr;
    pthread_mutex_t lock;
    pthread_cond_t all_gone;     /* signalled when live reaches 0 */
    unsigned live;               /* connection threads running (under lock) */
    int *fds;                    /* registry: live connection fds (under lock) */
    unsigned fd_count;
    unsigned fd_capacity;
};

struct connection_job {
    struct server *server;
    int fd;
};

static void registry_add(struct threads_state *state, int fd)
{
    /* Called with state->lock held; capacity is reserved before the
     * thread is created, so this cannot fail. */
    state->fds[state->fd_count++] = fd;
}

static void registry_remove(struct threads_state *state, int fd)
{
    for (unsigned i = 0; i < state->fd_count; i++)
        if (state->fds[i] == fd) {
            state->fds[i] = state->fds[--state->fd_count];   /* swap with last */
            return;
        }
}

static void *connection_thread(void *arg)
{
    struct connection_job job = *(struct connection_job *)arg;
    free(arg);
    struct server *server = job.server;
    struct threads_state *state = server->model_state;

    struct probe_thread *thread = probe_thread_begin(server->probe, "conn");
    sync_connection_serve(server, thread, job.fd, SYNC_MODEL_THREADS);
    probe_thread_end(thread);

    pthread_mutex_lock(&state->lock);
    registry_remove(state, job.fd);
    if (--state->live == 0)
        pthread_cond_broadcast(&state->all_gone);
    pthread_mutex_unlock(&state->lock);
    return NULL;
}

static int threads_open(struct server *server, char *err, size_t err_len)
{
    /* The defaults of this model's options (server.h). */
    if (server->config.max_threads == 0)
        server->config.max_threads = THREADS_DEFAULT_MAX;
    if (server->config.stack_size == 0)
        server->config.stack_size = THREADS_DEFAULT_STACK_BYTES;

    struct threads_state *state = calloc(1, sizeof *state);
    if (state == NULL)
        return -ENOMEM;
    state->fd_capacity = server->config.max_threads;
    state->fds = calloc(state->fd_capacity, sizeof *state->fds);
    if (state->fds == NULL) {
        free(state);
        return -ENOMEM;
    }
    pthread_attr_init(&state->attr);
    pthread_attr_setdetachstate(&state->attr, PTHREAD_CREATE_DETACHED);
    int rc = pthread_attr_setstacksize(&state->attr, server->config.stack_size);
    if (rc != 0) {
        snprintf(err, err_len, "stack size %zu: %s", server->config.stack_size, strerror(rc));
        pthread_attr_destroy(&state->attr);
        free(state->fds);
        free(state);
        return -rc;
    }
    pthread_mutex_init(&state->lock, NULL);
    pthread_cond_init(&state->all_gone, NULL);
    net_spare_fd_open(&state->spare);
    server->model_state = state;
    probe_sampler_start(server->probe, server->listen_fd,
                        PROBE_SAMPLE_ACCEPT_QUEUE | PROBE_SAMPLE_THREADS);
    return 0;
}

/* Past the cap (or when the system refuses another thread) the client gets
 * an honest 503 instead of a hang. */
static void reject_busy(struct server *server, struct probe_thread *thread, int fd)
{
    struct buffer out;
    buffer_init(&out, 0);
    http_error_append(&out, 503, "too many connections; try again later");
    net_write_all(fd, buffer_peek(&out), buffer_pending(&out));
    buffer_free(&out);
    probe_emit(thread, PROBE_EV_REJECT, fd, 503, 0);
    probe_gauge_add(server->probe, PROBE_GAUGE_REJECTED_503, 1);
    close(fd);
}

static void start_connection(struct server *server, struct probe_thread *thread, int fd)
{
    struct threads_state *state = server->model_state;
    struct connection_job *job = malloc(sizeof *job);

    pthread_mutex_lock(&state->lock);
    bool full = state->live >= server->config.max_threads;
    if (!full && job != NULL) {
        *job = (struct connection_job){ .server = server, .fd = fd };
        pthread_t tid;
        int rc = pthread_create(&tid, &state->attr, connection_thread, job);
        if (rc == 0) {
            state->live++;
            registry_add(state, fd);
            pthread_mutex_unlock(&state->lock);
            probe_gauge_add(server->probe, PROBE_GAUGE_CONNECTIONS, 1);
            return;
        }
    }
    pthread_mutex_unlock(&state->lock);
    free(job);
    reject_busy(server, thread, fd);
}

static int threads_run(struct server *server)
{
    struct threads_state *state = server->model_state;
    struct probe_thread *thread = probe_thread_begin(server->probe, "acceptor");

    while (!atomic_load(&server->stop_requested)) {
        int fd = server_accept(server, thread, &state->spare);
        if (fd == SERVER_ACCEPT_PAUSE)
            clock_sleep_ms(ACCEPT_PAUSE_MS);   /* out of descriptors: don't spin */
        if (fd < 0)
            continue;
        start_connection(server, thread, fd);
    }

    /* Stop: wake every connection thread out of its read, then wait. */
    pthread_mutex_lock(&state->lock);
    for (unsigned i = 0; i < state->fd_count; i++)
        shutdown(state->fds[i], SHUT_RDWR);
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += THREADS_SHUTDOWN_WAIT_MS / 1000;
    while (state->live > 0)
        if (pthread_cond_timedwait(&state->all_gone, &state->lock, &deadline) == ETIMEDOUT)
            break;
    unsigned left = state->live;
    pthread_mutex_unlock(&state->lock);
    if (left > 0)
        fprintf(stderr, "evlab serve: %u connection threads still busy at exit\n", left);
    probe_thread_end(thread);
    return 0;
}

static void threads_wake(struct server *server)
{
    /* Ends the acceptor's blocked accept() (async-signal-safe); the
     * acceptor then shuts the connections down itself, in threads_run. */
    shutdown(server->listen_fd, SHUT_RD);
}

static bool threads_close(struct server *server)
{
    struct threads_state *state = server->model_state;
    pthread_mutex_lock(&state->lock);
    unsigned left = state->live;
    pthread_mutex_unlock(&state->lock);
    if (left > 0)
        return false;   /* threads still use the state */
    pthread_attr_destroy(&state->attr);
    pthread_mutex_destroy(&state->lock);
    pthread_cond_destroy(&state->all_gone);
    net_spare_fd_close(&state->spare);
    free(state->fds);
    free(state);
    return true;
}

const struct server_model_ops server_threads_ops = {
    .name = "threads",
    .nonblocking_listener = false,
    .open = threads_open,
    .run = threads_run,
    .wake = threads_wake,
    .close = threads_close,
};
