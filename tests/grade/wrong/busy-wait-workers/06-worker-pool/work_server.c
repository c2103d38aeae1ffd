/*
 * work_server.c — exercise 06, a WRONG solution kept for the grader's
 * self-check: the workers busy-wait for jobs (see worker_main).
 *
 * Protocol (one request per line, at most LINE_MAX_BYTES bytes):
 *     PING\n              -> PONG\n at once, even while jobs run
 *     WORK <ms> <id>\n    -> DONE <id> <answer>\n once work_compute(ms, id)
 *                            has run on a worker thread
 *     anything else       -> ERROR\n
 *
 * Design.  One loop thread owns every socket.  A WORK request becomes a
 * job on the pool's queue (a list guarded by a mutex, with a condition
 * variable the idle workers sleep on).  A worker takes a job, computes,
 * puts the finished job on the done list and writes 1 to an eventfd.  The
 * loop watches that eventfd like any socket: when it turns readable, the
 * loop takes the whole done list and writes each reply.  So only the loop
 * thread ever touches a connection, and no thread waits for another
 * except through the queue.
 *
 * A client may leave while its job runs.  The job points at its
 * connection, so the connection's memory stays until its last job is
 * back (jobs_in_flight); closing only stops watching and closes the fd.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "common/buffer.h"
#include "loop/loop.h"
#include "net/net.h"
#include "probe/probe.h"
#include "work.h"

#define LINE_MAX_BYTES  64
#define WORKER_THREADS  2
#define MAX_WORK_MS     10000

struct server;

struct conn {
    struct server *server;
    struct loop_io io;
    char line[LINE_MAX_BYTES + 1];  /* the request line read so far */
    size_t line_len;
    struct buffer out;              /* replies not yet sent */
    bool closed;                    /* fd closed; memory kept for jobs */
    int jobs_in_flight;             /* jobs that still point at us */
    struct conn *next, *prev;       /* the server's list of open conns */
};

struct job {
    struct conn *conn;
    uint32_t ms;
    uint64_t id;
    uint64_t answer;                /* written by the worker */
    struct job *next;
};

/* The worker pool: two lists, one lock, one condition, one eventfd. */
struct pool {
    pthread_mutex_t lock;
    pthread_cond_t work_ready;      /* signalled when `queued` gains a job */
    struct job *queued;             /* waiting for a worker (LIFO is fine) */
    struct job *done;               /* finished, waiting for the loop */
    bool shutting_down;
    int done_fd;                    /* eventfd: "the done list has jobs" */
    struct loop_io done_io;
    pthread_t threads[WORKER_THREADS];
    struct probe *probe;
};

struct server {
    struct loop *loop;
    struct probe *probe;
    struct loop_io listener;
    struct conn *conns;
    struct pool pool;
};

static volatile sig_atomic_t stop_requested;
static struct loop *signal_loop;

/* ---- the worker threads ------------------------------------------- */

static void *worker_main(void *arg)
{
    struct pool *pool = arg;
    struct probe_thread *me = probe_thread_begin(pool->probe, "worker");

    pthread_mutex_lock(&pool->lock);
    for (;;) {
        /* WRONG (on purpose): spins on the queue instead of sleeping on
         * the condition variable, so an idle server burns two cores. */
        while (pool->queued == NULL && !pool->shutting_down) {
            pthread_mutex_unlock(&pool->lock);
            pthread_mutex_lock(&pool->lock);
        }
        if (pool->shutting_down)
            break;
        struct job *job = pool->queued;
        pool->queued = job->next;
        pthread_mutex_unlock(&pool->lock);

        /* The slow part runs without the lock and without the loop. */
        job->answer = work_compute(job->ms, job->id);

        pthread_mutex_lock(&pool->lock);
        job->next = pool->done;
        pool->done = job;
        /* Ring the loop's doorbell: an 8-byte write of 1 adds to the
         * eventfd's counter, so rings never get lost. */
        uint64_t one = 1;
        ssize_t n = write(pool->done_fd, &one, sizeof one);
        (void)n;
    }
    pthread_mutex_unlock(&pool->lock);
    probe_thread_end(me);
    return NULL;
}

static void pool_submit(struct pool *pool, struct job *job)
{
    pthread_mutex_lock(&pool->lock);
    job->next = pool->queued;
    pool->queued = job;
    pthread_cond_signal(&pool->work_ready);
    pthread_mutex_unlock(&pool->lock);
}

/* ---- connections --------------------------------------------------- */

static void conn_free_if_unused(struct conn *conn)
{
    if (conn->closed && conn->jobs_in_flight == 0) {
        buffer_free(&conn->out);
        free(conn);
    }
}

static void conn_close(struct conn *conn)
{
    struct server *server = conn->server;
    if (conn->closed)
        return;
    loop_io_stop(server->loop, &conn->io);
    close(conn->io.fd);
    conn->closed = true;
    if (conn->prev != NULL)
        conn->prev->next = conn->next;
    else
        server->conns = conn->next;
    if (conn->next != NULL)
        conn->next->prev = conn->prev;
    probe_gauge_add(server->probe, PROBE_GAUGE_CONNECTIONS, -1);
    conn_free_if_unused(conn);
}

/* Sends what it can; keeps watching for WRITABLE while bytes remain.
 * Returns false when the write failed and the connection was closed (its
 * memory may be gone: the caller must not touch it again). */
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
    unsigned want = LOOP_READABLE;
    if (buffer_pending(&conn->out) > 0)
        want |= LOOP_WRITABLE;
    if (want != conn->io.events)
        loop_io_modify(conn->server->loop, &conn->io, want);
    return true;
}

/* Queues a reply; conn_flush() sends it.  (Replies are a few bytes and
 * the buffer has no limit, so only a machine out of memory fails here,
 * and then the reply is lost but the server keeps going.) */
static void conn_reply(struct conn *conn, const char *text)
{
    (void)buffer_append(&conn->out, text, strlen(text));
}

static void handle_line(struct conn *conn, char *line)
{
    unsigned ms;
    uint64_t id;
    char extra;

    if (strcmp(line, "PING") == 0) {
        conn_reply(conn, "PONG\n");
    } else if (sscanf(line, "WORK %u %" SCNu64 " %c", &ms, &id, &extra) == 2 &&
               ms <= MAX_WORK_MS) {
        struct job *job = calloc(1, sizeof *job);
        if (job == NULL) {
            conn_reply(conn, "ERROR\n");
            return;
        }
        job->conn = conn;
        job->ms = ms;
        job->id = id;
        conn->jobs_in_flight++;
        pool_submit(&conn->server->pool, job);
    } else {
        conn_reply(conn, "ERROR\n");
    }
}

static void on_conn_event(struct loop *loop, struct loop_io *io, unsigned revents)
{
    (void)loop;
    struct conn *conn = io->data;

    if ((revents & LOOP_WRITABLE) && !conn_flush(conn))
        return;
    if (!(revents & (LOOP_READABLE | LOOP_ERROR)))
        return;

    char buf[512];
    ssize_t n = net_read(io->fd, buf, sizeof buf);
    if (n == -EAGAIN)
        return;
    if (n <= 0) {                       /* peer closed, or reset */
        conn_close(conn);
        return;
    }
    for (ssize_t i = 0; i < n; i++) {
        if (buf[i] == '\n') {
            conn->line[conn->line_len] = '\0';
            if (conn->line_len > 0 && conn->line[conn->line_len - 1] == '\r')
                conn->line[conn->line_len - 1] = '\0';
            handle_line(conn, conn->line);
            conn->line_len = 0;
        } else if (conn->line_len == LINE_MAX_BYTES) {
            conn_reply(conn, "ERROR\n");      /* too long: answer, then hang up */
            if (conn_flush(conn))
                conn_close(conn);
            return;
        } else {
            conn->line[conn->line_len++] = buf[i];
        }
    }
    conn_flush(conn);
}

/* The loop side of the pool: the eventfd turned readable. */
static void on_jobs_done(struct loop *loop, struct loop_io *io, unsigned revents)
{
    (void)loop; (void)revents;
    struct server *server = io->data;
    struct pool *pool = &server->pool;
    uint64_t count;

    /* Reading resets the eventfd's counter to zero. */
    if (read(pool->done_fd, &count, sizeof count) < 0)
        return;
    pthread_mutex_lock(&pool->lock);
    struct job *done = pool->done;
    pool->done = NULL;
    pthread_mutex_unlock(&pool->lock);

    while (done != NULL) {
        struct job *job = done;
        done = job->next;
        struct conn *conn = job->conn;
        conn->jobs_in_flight--;
        if (!conn->closed) {
            char reply[64];
            snprintf(reply, sizeof reply, "DONE %" PRIu64 " %" PRIu64 "\n",
                     job->id, job->answer);
            conn_reply(conn, reply);
            conn_flush(conn);
        } else {
            conn_free_if_unused(conn);
        }
        free(job);
    }
}

static void on_listener(struct loop *loop, struct loop_io *io, unsigned revents)
{
    (void)revents;
    struct server *server = io->data;

    for (;;) {
        int fd = net_accept(io->fd, true);
        if (fd < 0)
            return;                     /* -EAGAIN: nobody else waiting */
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

/* ---- start and stop ------------------------------------------------ */

static int pool_start(struct server *server)
{
    struct pool *pool = &server->pool;
    pthread_mutex_init(&pool->lock, NULL);
    pthread_cond_init(&pool->work_ready, NULL);
    pool->probe = server->probe;
    pool->done_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (pool->done_fd < 0)
        return -errno;
    loop_io_init(&pool->done_io, pool->done_fd, on_jobs_done, server);
    loop_io_start(server->loop, &pool->done_io, LOOP_READABLE);
    for (int i = 0; i < WORKER_THREADS; i++)
        pthread_create(&pool->threads[i], NULL, worker_main, pool);
    probe_gauge_set(server->probe, PROBE_GAUGE_WORKERS, WORKER_THREADS);
    return 0;
}

static void pool_stop(struct server *server)
{
    struct pool *pool = &server->pool;
    pthread_mutex_lock(&pool->lock);
    pool->shutting_down = true;
    pthread_cond_broadcast(&pool->work_ready);
    pthread_mutex_unlock(&pool->lock);
    for (int i = 0; i < WORKER_THREADS; i++)
        pthread_join(pool->threads[i], NULL);
    /* Jobs never started or never delivered: give their memory back. */
    struct job *lists[2] = { pool->queued, pool->done };
    for (int l = 0; l < 2; l++) {
        while (lists[l] != NULL) {
            struct job *job = lists[l];
            lists[l] = job->next;
            job->conn->jobs_in_flight--;
            conn_free_if_unused(job->conn);
            free(job);
        }
    }
    loop_io_stop(server->loop, &pool->done_io);
    close(pool->done_fd);
}

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
    loop_wakeup(signal_loop);           /* async-signal-safe */
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
    struct server server = { 0 };
    char err[256];

    net_ignore_sigpipe();
    int listen_fd = net_listen("127.0.0.1", parse_port(argc, argv), 128, true,
                               err, sizeof err);
    if (listen_fd < 0) {
        fprintf(stderr, "work_server: %s\n", err);
        return 1;
    }
    int port = net_local_port(listen_fd);

    /* Publish under the name the grader (or you) chose, for evlab view. */
    char name[64];
    const char *env_name = getenv("EVLAB_PROBE_NAME");
    if (env_name != NULL)
        snprintf(name, sizeof name, "%s", env_name);
    else
        snprintf(name, sizeof name, "ex06-%d", (int)getpid());
    if (probe_create(&server.probe, &(struct probe_config){
            .name = name, .model = "loop", .port = port }, err, sizeof err) < 0)
        fprintf(stderr, "work_server: no probe (%s); running unwatched\n", err);
    struct probe_thread *loop_thread = probe_thread_begin(server.probe, "loop");

    if (loop_new(&server.loop, NULL, loop_thread) < 0) {
        fprintf(stderr, "work_server: cannot create the event loop\n");
        return 1;
    }
    signal_loop = server.loop;
    loop_set_wakeup_handler(server.loop, on_wakeup, &server);
    struct sigaction sa = { .sa_handler = on_signal };
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);

    if (pool_start(&server) < 0) {
        fprintf(stderr, "work_server: cannot start the worker pool\n");
        return 1;
    }
    loop_io_init(&server.listener, listen_fd, on_listener, &server);
    loop_io_start(server.loop, &server.listener, LOOP_READABLE);

    printf("listening on port %d\n", port);
    fflush(stdout);
    loop_run(server.loop);

    /* Stopped by a signal: close everything, then free. */
    loop_io_stop(server.loop, &server.listener);
    close(listen_fd);
    while (server.conns != NULL)
        conn_close(server.conns);
    pool_stop(&server);
    loop_free(server.loop);
    probe_thread_end(loop_thread);
    probe_destroy(server.probe);
    return 0;
}
