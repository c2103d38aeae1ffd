/*
 * worker_pool.c — a few threads that run jobs off the loop, and a
 * doorbell that brings each finished job back to it (worker_pool.h).
 *
 * Design.  Two queues, one lock:
 *
 *     loop thread --submit--> [job queue] --> worker runs job->work()
 *     loop thread <--done()-- [completions] <-- worker pushes, rings doorbell
 *
 * The job queue is bounded: submit refuses with -EAGAIN when max_queued
 * jobs are waiting, which is the backpressure lesson 9 is about.  Idle
 * workers sleep on a condition variable until a job arrives (or the pool
 * shuts down).  A worker that finishes a job pushes it onto the
 * completion list and rings the doorbell (an eventfd, wakeup.h) the loop
 * watches; the loop then takes the whole list under the lock and calls
 * each done() on the loop thread, outside the lock.
 *
 * Only the mutex orders memory between threads: the eventfd is just a
 * nudge, so everything a worker wrote into the job is published by the
 * unlock that follows pushing it, and seen by the loop after its lock.
 *
 * Two counters are also kept as atomics so the loop (and its QUEUED
 * gauge) can read them without taking the lock: jobs waiting for a
 * worker, and completions waiting for the loop.
 *
 * Every submitted job holds the loop open (loop_request_begin) until its
 * done() has run, so loop_run() cannot return with a continuation lost.
 */
#include "loop/worker_pool.h"

#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "common/clock.h"
#include "common/limits.h"
#include "loop/loop.h"
#include "loop/loop_internal.h"
#include "loop/wakeup.h"
#include "probe/probe.h"

/* A singly linked FIFO of jobs, through job->next. */
struct job_list {
    struct worker_job *head;
    struct worker_job *tail;
};

struct worker_pool {
    struct loop *loop;
    struct probe *probe;
    pthread_t *threads;
    unsigned thread_count;       /* threads started */
    size_t max_queued;

    pthread_mutex_t lock;        /* guards everything down to `stopping` */
    pthread_cond_t job_ready;    /* signalled when a job is queued or on stop */
    struct job_list jobs;        /* submitted, not yet taken by a worker */
    struct job_list completions; /* run by a worker, done() not yet called */
    bool stopping;               /* workers must exit; set by free */

    /* Copies of the two queue lengths, readable without the lock. */
    atomic_size_t jobs_queued;
    atomic_size_t completions_waiting;

    struct wakeup doorbell;      /* rung by workers, answered on the loop */
    bool delivering;             /* done() callbacks are running */
};

static void job_list_push(struct job_list *list, struct worker_job *job)
{
    job->next = NULL;
    if (list->tail != NULL)
        list->tail->next = job;
    else
        list->head = job;
    list->tail = job;
}

static struct worker_job *job_list_pop(struct job_list *list)
{
    struct worker_job *job = list->head;
    if (job != NULL) {
        list->head = job->next;
        if (list->head == NULL)
            list->tail = NULL;
        job->next = NULL;
    }
    return job;
}

/* Takes the whole list, leaving it empty. */
static struct job_list job_list_take(struct job_list *list)
{
    struct job_list all = *list;
    *list = (struct job_list){ NULL, NULL };
    return all;
}

/* ---------------------------------------------------------------------
 * Worker threads.
 */

/* Waits for a job; NULL means the pool is stopping.  Called and returns
 * with the lock held. */
static struct worker_job *worker_next_job(struct worker_pool *pool, struct probe_thread *me)
{
    while (pool->jobs.head == NULL && !pool->stopping) {
        /* The view shows this worker as idle, waiting for work. */
        probe_block_begin(me, PROBE_CALL_WORK_WAIT, -1);
        pthread_cond_wait(&pool->job_ready, &pool->lock);
        probe_block_end(me, PROBE_CALL_WORK_WAIT, -1);
    }
    /* On stop, jobs still queued are left for worker_pool_free() to cancel:
     * a worker finishes what it holds, and takes nothing new. */
    if (pool->stopping)
        return NULL;
    struct worker_job *job = job_list_pop(&pool->jobs);
    atomic_fetch_sub(&pool->jobs_queued, 1);
    probe_gauge_add(pool->probe, PROBE_GAUGE_WORK_QUEUED, -1);
    return job;
}

static void *worker_main(void *arg)
{
    struct worker_pool *pool = arg;
    struct probe_thread *me = probe_thread_begin(pool->probe, "worker");

    pthread_mutex_lock(&pool->lock);
    struct worker_job *job;
    while ((job = worker_next_job(pool, me)) != NULL) {
        pthread_mutex_unlock(&pool->lock);

        /* The job runs without the lock, so other workers and the loop
         * are never held up by it. */
        uint64_t start = clock_now_ns();
        job->work(job);
        job->work_ns = clock_now_ns() - start;
        probe_emit(me, PROBE_EV_WORK_DONE, job->fd_for_probe, 0, job->work_ns);

        pthread_mutex_lock(&pool->lock);
        job_list_push(&pool->completions, job);
        atomic_fetch_add(&pool->completions_waiting, 1);
        /* Ringing under the lock is cheap (one write) and means free(),
         * which closes the doorbell after joining us, can never race it. */
        wakeup_signal(&pool->doorbell);
    }
    pthread_mutex_unlock(&pool->lock);

    probe_thread_end(me);
    return NULL;
}

/* ---------------------------------------------------------------------
 * The loop side.
 */

/* Calls done() for every job on the list, on the loop thread. */
static void pool_deliver(struct worker_pool *pool, struct job_list list, bool cancelled)
{
    pool->delivering = true;
    struct worker_job *job;
    while ((job = job_list_pop(&list)) != NULL) {
        job->cancelled = cancelled;
        if (!cancelled)
            atomic_fetch_sub(&pool->completions_waiting, 1);
        loop_request_end(pool->loop);
        job->done(job);     /* may free job, or submit a new one */
    }
    pool->delivering = false;
}

/* The doorbell rang: some jobs are finished. */
static void pool_on_doorbell(struct loop *loop, void *data)
{
    struct worker_pool *pool = data;
    pthread_mutex_lock(&pool->lock);
    struct job_list finished = job_list_take(&pool->completions);
    pthread_mutex_unlock(&pool->lock);
    pool_deliver(pool, finished, false);
}

/* The loop's QUEUED gauge counts completions waiting (loop_set_pending_source). */
static size_t pool_pending_source(void *data)
{
    struct worker_pool *pool = data;
    return atomic_load(&pool->completions_waiting);
}

/* Asks every worker to exit and waits for them. */
static void pool_stop_workers(struct worker_pool *pool)
{
    pthread_mutex_lock(&pool->lock);
    pool->stopping = true;
    pthread_cond_broadcast(&pool->job_ready);
    pthread_mutex_unlock(&pool->lock);
    for (unsigned i = 0; i < pool->thread_count; i++)
        pthread_join(pool->threads[i], NULL);
}

/* Starts the workers with every signal blocked, so that signals (SIGINT,
 * SIGPIPE...) go to the loop thread, which knows what to do with them. */
static int pool_start_workers(struct worker_pool *pool, unsigned threads)
{
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = 0;
    for (unsigned i = 0; i < threads; i++) {
        rc = pthread_create(&pool->threads[i], NULL, worker_main, pool);
        if (rc != 0)
            break;
        pool->thread_count++;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return -rc;
}

int worker_pool_new(struct worker_pool **out, struct loop *loop, struct probe *probe,
                    unsigned threads, size_t max_queued)
{
    if (threads == 0 || threads > WORKERS_MAX || max_queued == 0)
        return -EINVAL;
    struct worker_pool *pool = calloc(1, sizeof *pool);
    if (pool == NULL)
        return -ENOMEM;
    pool->threads = calloc(threads, sizeof *pool->threads);
    if (pool->threads == NULL) {
        free(pool);
        return -ENOMEM;
    }
    pool->loop = loop;
    pool->probe = probe;
    pool->max_queued = max_queued;
    atomic_init(&pool->jobs_queued, 0);
    atomic_init(&pool->completions_waiting, 0);
    pthread_mutex_init(&pool->lock, NULL);
    pthread_cond_init(&pool->job_ready, NULL);

    /* The doorbell must exist before any worker can ring it. */
    int rc = wakeup_open(&pool->doorbell, loop, pool_on_doorbell, pool);
    if (rc == 0)
        rc = pool_start_workers(pool, threads);
    if (rc < 0) {
        pool_stop_workers(pool);
        wakeup_close(&pool->doorbell, loop);
        pthread_cond_destroy(&pool->job_ready);
        pthread_mutex_destroy(&pool->lock);
        free(pool->threads);
        free(pool);
        return rc;
    }
    loop_set_pending_source(loop, pool_pending_source, pool);
    probe_gauge_add(probe, PROBE_GAUGE_WORKERS, (int64_t)threads);
    *out = pool;
    return 0;
}

void worker_pool_free(struct worker_pool *pool)
{
    if (pool == NULL)
        return;
    assert(!pool->delivering && "worker_pool_free() from inside a done() callback");
    pool_stop_workers(pool);     /* from now on submit returns -ECANCELED */

    /* The workers are gone, so the lists are ours alone.  Jobs that ran
     * get their done() as usual; jobs that never ran get it cancelled. */
    pool_deliver(pool, job_list_take(&pool->completions), false);
    size_t never_ran = atomic_exchange(&pool->jobs_queued, 0);
    probe_gauge_add(pool->probe, PROBE_GAUGE_WORK_QUEUED, -(int64_t)never_ran);
    pool_deliver(pool, job_list_take(&pool->jobs), true);

    loop_set_pending_source(pool->loop, NULL, NULL);
    wakeup_close(&pool->doorbell, pool->loop);
    probe_gauge_add(pool->probe, PROBE_GAUGE_WORKERS, -(int64_t)worker_pool_threads(pool));
    pthread_cond_destroy(&pool->job_ready);
    pthread_mutex_destroy(&pool->lock);
    free(pool->threads);
    free(pool);
}

int worker_pool_submit(struct worker_pool *pool, struct worker_job *job, int fd_for_probe)
{
    assert(job->work != NULL && job->done != NULL);
    job->cancelled = false;
    job->fd_for_probe = fd_for_probe;
    job->submitted_ns = clock_now_ns();
    job->work_ns = 0;

    pthread_mutex_lock(&pool->lock);
    if (pool->stopping) {
        /* Only possible from a done() that worker_pool_free() is
         * delivering: the continuation cannot run any more. */
        pthread_mutex_unlock(&pool->lock);
        return -ECANCELED;
    }
    if (atomic_load(&pool->jobs_queued) >= pool->max_queued) {
        pthread_mutex_unlock(&pool->lock);
        return -EAGAIN;     /* full: the caller sheds load (lesson 9) */
    }
    /* The gauge and the event are updated under the lock, so a worker's
     * -1 and WORK_DONE can never come before this +1 and WORK_SUBMIT. */
    probe_emit(loop_probe_thread(pool->loop), PROBE_EV_WORK_SUBMIT, fd_for_probe, 0, 0);
    probe_gauge_add(pool->probe, PROBE_GAUGE_WORK_QUEUED, 1);
    job_list_push(&pool->jobs, job);
    atomic_fetch_add(&pool->jobs_queued, 1);
    pthread_cond_signal(&pool->job_ready);
    pthread_mutex_unlock(&pool->lock);

    loop_request_begin(pool->loop);     /* held until done() runs */
    return 0;
}

size_t worker_pool_pending_completions(const struct worker_pool *pool)
{
    return atomic_load(&pool->completions_waiting);
}

size_t worker_pool_queued(const struct worker_pool *pool)
{
    return atomic_load(&pool->jobs_queued);
}

unsigned worker_pool_threads(const struct worker_pool *pool)
{
    return pool->thread_count;
}
