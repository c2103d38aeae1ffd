/*
 * worker_pool.h — run CPU-bound or blocking jobs on a few threads and post
 * each completion back to the event loop (lesson 8: offload, then continue
 * on the loop).
 *
 * The loop thread submits a job; a worker runs job->work(job) off the
 * loop; the worker pushes the finished job onto a completion queue and
 * writes to an eventfd the loop watches; the loop then calls
 * job->done(job) on the loop thread, where it is safe to touch
 * connections again.  work() must not touch loop state; done() may.
 *
 * The job queue is bounded (max_queued): a full queue makes
 * worker_pool_submit() return -EAGAIN so the caller can shed load instead
 * of queueing without end (lesson 9, backpressure).
 *
 * Ownership: the caller owns each job from submit until done() is called;
 * it must stay valid in between.  worker_pool_free() joins the workers;
 * jobs still queued are never run, and their done() is called with
 * job->cancelled set, so no continuation is silently lost (lesson 11).
 * Errors: 0 or a negative errno.
 */
#ifndef EVLAB_WORKER_POOL_H
#define EVLAB_WORKER_POOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct loop;
struct probe;
struct worker_pool;

struct worker_job {
    void (*work)(struct worker_job *job);   /* runs on a worker thread */
    void (*done)(struct worker_job *job);   /* runs on the loop thread */
    void *data;                             /* yours */
    bool cancelled;                         /* set when the pool was freed first */
    /* Pool-private. */
    struct worker_job *next;
    int fd_for_probe;
    uint64_t submitted_ns;
    uint64_t work_ns;
};

/* probe may be NULL; workers register their own probe threads ("worker"). */
int  worker_pool_new(struct worker_pool **out, struct loop *loop, struct probe *probe,
                     unsigned threads, size_t max_queued);
void worker_pool_free(struct worker_pool *pool);
int  worker_pool_submit(struct worker_pool *pool, struct worker_job *job, int fd_for_probe);
size_t worker_pool_pending_completions(const struct worker_pool *pool);
size_t worker_pool_queued(const struct worker_pool *pool);
unsigned worker_pool_threads(const struct worker_pool *pool);

#endif
