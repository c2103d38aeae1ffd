/*
 * test_worker_pool.c — jobs run on workers, completions come back to the
 * loop thread; run once per loop backend.
 *
 * Covered: 100 jobs on 4 threads with exact counts and every done() on
 * the loop thread; 4 jobs really running at once; loop_run() staying alive
 * while jobs are out and returning when none are (the pool's eventfd does
 * not keep it alive); continuations submitted from done(); the bounded
 * queue refusing with -EAGAIN; freeing with queued jobs (done() with
 * cancelled); argument checks; descriptors back to their count after free.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "net/net.h"
#include "common/clock.h"
#include "common/limits.h"
#include "loop/loop.h"
#include "loop/worker_pool.h"
#include "probe/probe.h"

#define MS 1000000ull

static const char *g_backend;

/* Each test makes its own loop and pool; the fixture only checks that
 * every descriptor they opened is closed again. */
static int setup(void **state)
{
    int *fds_before = malloc(sizeof *fds_before);
    assert_non_null(fds_before);
    *fds_before = net_count_open_fds();
    *state = fds_before;
    return 0;
}

static int teardown(void **state)
{
    int *fds_before = *state;
    assert_int_equal(net_count_open_fds(), *fds_before);
    free(fds_before);
    return 0;
}

struct gate;

/* A job that records where it ran. */
struct test_job {
    struct worker_job job;
    pthread_t loop_thread;
    pthread_t ran_on;
    atomic_int *work_calls;
    int *done_calls;
    int *cancelled_calls;
    bool done_on_loop_thread;
    uint64_t spin_ns;
    struct gate *gate;      /* for work_blocked_by_gate */
};

static void work_record(struct worker_job *job)
{
    struct test_job *tj = job->data;
    tj->ran_on = pthread_self();
    uint64_t end = clock_now_ns() + tj->spin_ns;
    while (clock_now_ns() < end)
        ;   /* CPU-bound on purpose */
    atomic_fetch_add(tj->work_calls, 1);
}

static void done_record(struct worker_job *job)
{
    struct test_job *tj = job->data;
    tj->done_on_loop_thread = pthread_equal(pthread_self(), tj->loop_thread);
    (*tj->done_calls)++;
    if (job->cancelled)
        (*tj->cancelled_calls)++;
}

static void test_jobs_across_threads(void **state)
{
    enum { JOBS = 100 };
    struct loop *loop;
    struct worker_pool *pool;
    assert_int_equal(loop_new(&loop, g_backend, NULL), 0);
    assert_int_equal(worker_pool_new(&pool, loop, NULL, 4, JOBS), 0);
    assert_int_equal(worker_pool_threads(pool), 4);

    static struct test_job jobs[JOBS];
    atomic_int work_calls = 0;
    int done_calls = 0, cancelled_calls = 0;
    for (int i = 0; i < JOBS; i++) {
        jobs[i] = (struct test_job){
            .job = { .work = work_record, .done = done_record, .data = &jobs[i] },
            .loop_thread = pthread_self(), .work_calls = &work_calls,
            .done_calls = &done_calls, .cancelled_calls = &cancelled_calls,
            .spin_ns = 200000,
        };
        assert_int_equal(worker_pool_submit(pool, &jobs[i].job, i), 0);
    }

    /* The outstanding jobs keep loop_run() going until every done() ran. */
    assert_int_equal(loop_run(loop), 0);
    assert_int_equal(atomic_load(&work_calls), JOBS);
    assert_int_equal(done_calls, JOBS);
    assert_int_equal(cancelled_calls, 0);
    for (int i = 0; i < JOBS; i++) {
        assert_true(jobs[i].done_on_loop_thread);
        assert_false(pthread_equal(jobs[i].ran_on, pthread_self()));
        assert_false(jobs[i].job.cancelled);
    }
    assert_int_equal(worker_pool_pending_completions(pool), 0);
    assert_int_equal(worker_pool_queued(pool), 0);

    worker_pool_free(pool);
    assert_int_equal(done_calls, JOBS);     /* nothing delivered twice */
    loop_free(loop);
}

/* Four jobs that each wait until all four are running at once: passes only
 * if the pool really runs four threads in parallel. */
struct rendezvous {
    pthread_mutex_t lock;
    pthread_cond_t changed;
    int arrived;
    int met;        /* jobs that saw all four arrive */
};

static void work_rendezvous(struct worker_job *job)
{
    struct rendezvous *r = job->data;
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += 10;
    pthread_mutex_lock(&r->lock);
    r->arrived++;
    pthread_cond_broadcast(&r->changed);
    while (r->arrived < 4) {
        if (pthread_cond_timedwait(&r->changed, &r->lock, &deadline) == ETIMEDOUT)
            break;
    }
    if (r->arrived >= 4)
        r->met++;
    pthread_mutex_unlock(&r->lock);
}

static void done_nothing(struct worker_job *job)
{
}

static void test_four_threads_run_at_once(void **state)
{
    struct loop *loop;
    struct worker_pool *pool;
    assert_int_equal(loop_new(&loop, g_backend, NULL), 0);
    assert_int_equal(worker_pool_new(&pool, loop, NULL, 4, 8), 0);
    struct rendezvous r = { .arrived = 0 };
    pthread_mutex_init(&r.lock, NULL);
    pthread_cond_init(&r.changed, NULL);
    struct worker_job jobs[4];
    for (int i = 0; i < 4; i++) {
        jobs[i] = (struct worker_job){ .work = work_rendezvous, .done = done_nothing, .data = &r };
        assert_int_equal(worker_pool_submit(pool, &jobs[i], -1), 0);
    }
    assert_int_equal(loop_run(loop), 0);
    assert_int_equal(r.met, 4);
    worker_pool_free(pool);
    loop_free(loop);
    pthread_cond_destroy(&r.changed);
    pthread_mutex_destroy(&r.lock);
}

/* With nothing submitted, the pool's eventfd does not keep the loop alive. */
static void test_idle_pool_does_not_keep_loop_alive(void **state)
{
    struct loop *loop;
    struct worker_pool *pool;
    assert_int_equal(loop_new(&loop, g_backend, NULL), 0);
    assert_int_equal(worker_pool_new(&pool, loop, NULL, 2, 4), 0);
    assert_int_equal(loop_run(loop), 0);
    assert_int_equal(loop_turns(loop), 0);
    assert_int_equal(loop_active_io_count(loop), 0);
    worker_pool_free(pool);
    loop_free(loop);
}

/* done() submits the next step: a chain of continuations. */
struct chain {
    struct worker_job job;
    struct worker_pool *pool;
    int steps_done;
    atomic_int steps_worked;
};

static void work_chain(struct worker_job *job)
{
    struct chain *c = job->data;
    atomic_fetch_add(&c->steps_worked, 1);
}

static void done_chain(struct worker_job *job)
{
    struct chain *c = job->data;
    c->steps_done++;
    if (c->steps_done < 10)
        assert_int_equal(worker_pool_submit(c->pool, &c->job, -1), 0);
}

static void test_continuations_from_done(void **state)
{
    struct loop *loop;
    assert_int_equal(loop_new(&loop, g_backend, NULL), 0);
    struct chain c = { .steps_done = 0 };
    atomic_init(&c.steps_worked, 0);
    assert_int_equal(worker_pool_new(&c.pool, loop, NULL, 2, 1), 0);
    c.job = (struct worker_job){ .work = work_chain, .done = done_chain, .data = &c };
    assert_int_equal(worker_pool_submit(c.pool, &c.job, -1), 0);
    assert_int_equal(loop_run(loop), 0);
    assert_int_equal(c.steps_done, 10);
    assert_int_equal(atomic_load(&c.steps_worked), 10);
    worker_pool_free(c.pool);
    loop_free(loop);
}

/* A job that holds its worker until the test opens the gate. */
struct gate {
    pthread_mutex_t lock;
    pthread_cond_t changed;
    bool started;
    bool open;
};

static void gate_init(struct gate *g)
{
    pthread_mutex_init(&g->lock, NULL);
    pthread_cond_init(&g->changed, NULL);
    g->started = g->open = false;
}

static void gate_destroy(struct gate *g)
{
    pthread_cond_destroy(&g->changed);
    pthread_mutex_destroy(&g->lock);
}

static void work_blocked_by_gate(struct worker_job *job)
{
    struct test_job *tj = job->data;
    struct gate *g = tj->gate;
    pthread_mutex_lock(&g->lock);
    g->started = true;
    pthread_cond_broadcast(&g->changed);
    while (!g->open)
        pthread_cond_wait(&g->changed, &g->lock);
    pthread_mutex_unlock(&g->lock);
    atomic_fetch_add(tj->work_calls, 1);
}

static void gate_wait_started(struct gate *g)
{
    pthread_mutex_lock(&g->lock);
    while (!g->started)
        pthread_cond_wait(&g->changed, &g->lock);
    pthread_mutex_unlock(&g->lock);
}

static void gate_open(struct gate *g)
{
    pthread_mutex_lock(&g->lock);
    g->open = true;
    pthread_cond_broadcast(&g->changed);
    pthread_mutex_unlock(&g->lock);
}

static void *gate_open_later(void *arg)
{
    clock_sleep_ms(200);
    gate_open(arg);
    return NULL;
}

/* One worker busy behind the gate, a queue of two: the third queued job
 * is refused with -EAGAIN and never runs. */
static void test_bounded_queue_refuses(void **state)
{
    struct loop *loop;
    struct worker_pool *pool;
    assert_int_equal(loop_new(&loop, g_backend, NULL), 0);
    assert_int_equal(worker_pool_new(&pool, loop, NULL, 1, 2), 0);

    struct gate g;
    gate_init(&g);
    atomic_int work_calls = 0;
    int done_calls = 0, cancelled_calls = 0;
    struct test_job jobs[4];
    for (int i = 0; i < 4; i++)
        jobs[i] = (struct test_job){
            .job = { .work = i == 0 ? work_blocked_by_gate : work_record, .done = done_record,
                     .data = &jobs[i] },
            .loop_thread = pthread_self(), .work_calls = &work_calls,
            .done_calls = &done_calls, .cancelled_calls = &cancelled_calls,
            .gate = &g,
        };

    assert_int_equal(worker_pool_submit(pool, &jobs[0].job, -1), 0);
    gate_wait_started(&g);                      /* the worker holds job 0 */
    assert_int_equal(worker_pool_queued(pool), 0);
    assert_int_equal(worker_pool_submit(pool, &jobs[1].job, -1), 0);
    assert_int_equal(worker_pool_submit(pool, &jobs[2].job, -1), 0);
    assert_int_equal(worker_pool_queued(pool), 2);
    assert_int_equal(worker_pool_submit(pool, &jobs[3].job, -1), -EAGAIN);
    assert_int_equal(worker_pool_queued(pool), 2);

    gate_open(&g);
    assert_int_equal(loop_run(loop), 0);
    assert_int_equal(atomic_load(&work_calls), 3);
    assert_int_equal(done_calls, 3);
    assert_int_equal(cancelled_calls, 0);
    assert_int_equal(worker_pool_queued(pool), 0);

    worker_pool_free(pool);
    loop_free(loop);
    gate_destroy(&g);
}

/* Free while one job runs and five wait: the running one completes
 * normally, the five get done() with cancelled set and never run. */
static void test_free_cancels_queued_jobs(void **state)
{
    struct loop *loop;
    struct worker_pool *pool;
    assert_int_equal(loop_new(&loop, g_backend, NULL), 0);
    assert_int_equal(worker_pool_new(&pool, loop, NULL, 1, 8), 0);

    struct gate g;
    gate_init(&g);
    atomic_int work_calls = 0;
    int done_calls = 0, cancelled_calls = 0;
    struct test_job jobs[6];
    for (int i = 0; i < 6; i++) {
        jobs[i] = (struct test_job){
            .job = { .work = i == 0 ? work_blocked_by_gate : work_record, .done = done_record,
                     .data = &jobs[i] },
            .loop_thread = pthread_self(), .work_calls = &work_calls,
            .done_calls = &done_calls, .cancelled_calls = &cancelled_calls,
            .gate = &g,
        };
        assert_int_equal(worker_pool_submit(pool, &jobs[i].job, -1), 0);
        if (i == 0)
            gate_wait_started(&g);
    }
    assert_int_equal(worker_pool_queued(pool), 5);

    /* free() blocks joining the worker; a helper opens the gate a little
     * later, by which time free() has told the worker to stop. */
    pthread_t helper;
    assert_int_equal(pthread_create(&helper, NULL, gate_open_later, &g), 0);
    worker_pool_free(pool);
    assert_int_equal(pthread_join(helper, NULL), 0);

    assert_int_equal(atomic_load(&work_calls), 1);
    assert_int_equal(done_calls, 6);
    assert_int_equal(cancelled_calls, 5);
    assert_false(jobs[0].job.cancelled);
    for (int i = 0; i < 6; i++)
        assert_true(jobs[i].done_on_loop_thread);
    for (int i = 1; i < 6; i++)
        assert_true(jobs[i].job.cancelled);

    /* No request is left holding the loop. */
    assert_int_equal(loop_run(loop), 0);
    loop_free(loop);
    gate_destroy(&g);
}

/* Completions wait, counted, until the loop picks them up. */
static void test_pending_completions_counted(void **state)
{
    struct loop *loop;
    struct worker_pool *pool;
    assert_int_equal(loop_new(&loop, g_backend, NULL), 0);
    assert_int_equal(worker_pool_new(&pool, loop, NULL, 2, 8), 0);
    atomic_int work_calls = 0;
    int done_calls = 0, cancelled_calls = 0;
    struct test_job jobs[5];
    for (int i = 0; i < 5; i++) {
        jobs[i] = (struct test_job){
            .job = { .work = work_record, .done = done_record, .data = &jobs[i] },
            .loop_thread = pthread_self(), .work_calls = &work_calls,
            .done_calls = &done_calls, .cancelled_calls = &cancelled_calls,
        };
        assert_int_equal(worker_pool_submit(pool, &jobs[i].job, -1), 0);
    }
    /* The loop is not running: finished jobs pile up as completions. */
    uint64_t deadline = clock_now_ns() + 5000 * MS;
    while (worker_pool_pending_completions(pool) < 5 && clock_now_ns() < deadline)
        clock_sleep_ms(1);
    assert_int_equal(worker_pool_pending_completions(pool), 5);
    assert_int_equal(done_calls, 0);

    assert_int_equal(loop_run_once(loop, 1000), 0);     /* one turn delivers all */
    assert_int_equal(done_calls, 5);
    assert_int_equal(worker_pool_pending_completions(pool), 0);
    worker_pool_free(pool);
    loop_free(loop);
}

/* The gauges the pool and the loop publish: WORKERS while the pool lives,
 * and completions waiting counted in QUEUED until the loop delivers them. */
struct gauge_seen {
    struct probe *probe;
    int done_calls;
    int64_t completions, queued;    /* read in the first done() */
};

static void work_nothing(struct worker_job *job)
{
}

static void done_read_gauges(struct worker_job *job)
{
    struct gauge_seen *seen = job->data;
    if (seen->done_calls++ == 0) {
        seen->completions = probe_gauge_get(seen->probe, PROBE_GAUGE_Q_COMPLETIONS);
        seen->queued = probe_gauge_get(seen->probe, PROBE_GAUGE_QUEUED);
    }
}

static void test_probe_gauges(void **state)
{
    struct probe *probe = NULL;
    char name[64], err[256];
    snprintf(name, sizeof name, "test-pool-%d-%s", (int)getpid(), g_backend);
    int rc = probe_create(&probe, &(struct probe_config){ .name = name, .model = "loop" },
                          err, sizeof err);
    if (rc < 0 || probe == NULL) {
        print_message("probe unavailable (%s); skipping\n", rc < 0 ? err : "compiled out");
        skip();
    }
    struct probe_thread *me = probe_thread_begin(probe, "loop");
    struct loop *loop;
    struct worker_pool *pool;
    assert_int_equal(loop_new(&loop, g_backend, me), 0);
    assert_int_equal(worker_pool_new(&pool, loop, probe, 3, 8), 0);
    assert_int_equal(probe_gauge_get(probe, PROBE_GAUGE_WORKERS), 3);

    struct gauge_seen seen = { .probe = probe };
    struct worker_job jobs[5];
    for (int i = 0; i < 5; i++) {
        jobs[i] = (struct worker_job){ .work = work_nothing, .done = done_read_gauges,
                                       .data = &seen };
        assert_int_equal(worker_pool_submit(pool, &jobs[i], 100 + i), 0);
    }
    uint64_t deadline = clock_now_ns() + 5000 * MS;
    while (worker_pool_pending_completions(pool) < 5 && clock_now_ns() < deadline)
        clock_sleep_ms(1);
    assert_int_equal(probe_gauge_get(probe, PROBE_GAUGE_WORK_QUEUED), 0);

    assert_int_equal(loop_run_once(loop, 1000), 0);
    assert_int_equal(seen.done_calls, 5);
    /* Seen from the first done(): all five were counted as waiting when
     * the loop collected them. */
    assert_int_equal(seen.completions, 5);
    assert_true(seen.queued >= 5);
    assert_int_equal(probe_gauge_get(probe, PROBE_GAUGE_Q_COMPLETIONS), 0);
    assert_int_equal(probe_gauge_get(probe, PROBE_GAUGE_QUEUED), 0);

    worker_pool_free(pool);
    assert_int_equal(probe_gauge_get(probe, PROBE_GAUGE_WORKERS), 0);
    loop_free(loop);
    probe_thread_end(me);
    probe_destroy(probe);
}

static void test_bad_arguments(void **state)
{
    struct loop *loop;
    struct worker_pool *pool = NULL;
    assert_int_equal(loop_new(&loop, g_backend, NULL), 0);
    assert_int_equal(worker_pool_new(&pool, loop, NULL, 0, 8), -EINVAL);
    assert_int_equal(worker_pool_new(&pool, loop, NULL, WORKERS_MAX + 1, 8), -EINVAL);
    assert_int_equal(worker_pool_new(&pool, loop, NULL, 2, 0), -EINVAL);
    assert_null(pool);
    loop_free(loop);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_jobs_across_threads, setup, teardown),
        cmocka_unit_test_setup_teardown(test_four_threads_run_at_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_idle_pool_does_not_keep_loop_alive, setup, teardown),
        cmocka_unit_test_setup_teardown(test_continuations_from_done, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bounded_queue_refuses, setup, teardown),
        cmocka_unit_test_setup_teardown(test_free_cancels_queued_jobs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pending_completions_counted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_probe_gauges, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_arguments, setup, teardown),
    };
    int failed = 0;
    for (size_t i = 0; loop_backend_names[i] != NULL; i++) {
        g_backend = loop_backend_names[i];
        char group[32];
        snprintf(group, sizeof group, "worker_pool/%s", g_backend);
        failed += cmocka_run_group_tests_name(group, tests, NULL, NULL);
    }
    return failed;
}
