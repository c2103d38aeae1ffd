/*
 * test_loop.c — the event loop, run once per backend.
 *
 * main() runs the whole group once for every name in loop_backend_names,
 * so a new backend is tested the day it is registered.  Every test counts
 * callbacks and asserts exact totals, and the fixture checks that the
 * number of open descriptors is the same after the test as before.
 *
 * Covered: readable/writable callbacks on pipes, modify, errors on
 * hang-up, stopping (and freeing) another ready watcher from a callback,
 * timer order, ties, stop, restart-in-callback, the timer phase's batch
 * rule (with and without a probe), zero delay, "never early",
 * loop exit when idle, 1000 socketpairs at once, fairness past the ready
 * list's size, loop_wakeup() from another thread, EINTR and loop_stop()
 * from a signal handler, the probe gauges on the seams, and the assertion
 * in loop_free() (in a child process).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "net/net.h"
#include "common/clock.h"
#include "common/limits.h"
#include "loop/loop.h"
#include "loop/loop_internal.h"
#include "probe/probe.h"

#define MS 1000000ull

/* The backend the current group runs on (set by main). */
static const char *g_backend;

/* --- Fixture: a fresh loop per test, and the descriptor check ---------- */

struct fixture {
    struct loop *loop;
    int fds_before;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->fds_before = net_count_open_fds();
    assert_int_equal(loop_new(&f->loop, g_backend, NULL), 0);
    assert_string_equal(loop_backend_name(f->loop), g_backend);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    loop_free(f->loop);
    assert_int_equal(net_count_open_fds(), f->fds_before);
    free(f);
    return 0;
}

static void make_pipe(int fds[2])
{
    assert_int_equal(pipe2(fds, O_NONBLOCK | O_CLOEXEC), 0);
}

static void make_socketpair(int fds[2])
{
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds), 0);
}

static void write_byte(int fd)
{
    assert_int_equal(write(fd, "x", 1), 1);
}

/* --- Callbacks that count ------------------------------------------------ */

struct counter {
    int calls;
    unsigned last_revents;
    bool read_one;          /* read one byte per call */
};

static void on_io_count(struct loop *loop, struct loop_io *io, unsigned revents)
{
    struct counter *c = io->data;
    c->calls++;
    c->last_revents = revents;
    if (c->read_one) {
        char byte;
        (void)!read(io->fd, &byte, 1);
    }
}

/* --- Backends ------------------------------------------------------------ */

static void test_backend_names(void **state)
{
    struct fixture *f = *state;
    bool has_poll = false, has_epoll = false;
    for (size_t i = 0; loop_backend_names[i] != NULL; i++) {
        has_poll |= strcmp(loop_backend_names[i], "poll") == 0;
        has_epoll |= strcmp(loop_backend_names[i], "epoll") == 0;
    }
    assert_true(has_poll && has_epoll);
    assert_string_equal(loop_backend_name(f->loop), g_backend);

    struct loop *other = NULL;
    assert_int_equal(loop_new(&other, "kqueue", NULL), -EINVAL);
    assert_int_equal(loop_new(&other, NULL, NULL), 0);
    assert_string_equal(loop_backend_name(other), "poll");
    loop_free(other);
}

/* --- io watchers ---------------------------------------------------------- */

static void test_pipe_readable_counted(void **state)
{
    struct fixture *f = *state;
    int p[2];
    make_pipe(p);
    struct counter c = { .read_one = true };
    struct loop_io io;
    loop_io_init(&io, p[0], on_io_count, &c);
    assert_int_equal(loop_io_start(f->loop, &io, LOOP_READABLE), 0);
    assert_true(loop_io_active(&io));
    assert_int_equal(loop_active_io_count(f->loop), 1);

    assert_int_equal(loop_run_once(f->loop, 0), 0);
    assert_int_equal(c.calls, 0);                   /* nothing written yet */

    write_byte(p[1]);
    assert_int_equal(loop_run_once(f->loop, 1000), 0);
    assert_int_equal(c.calls, 1);
    assert_int_equal(c.last_revents, LOOP_READABLE);
    assert_int_equal(loop_run_once(f->loop, 0), 0);
    assert_int_equal(c.calls, 1);                   /* drained: no more */

    /* Two bytes, one read per call: level-triggered, so two turns. */
    write_byte(p[1]);
    write_byte(p[1]);
    assert_int_equal(loop_run_once(f->loop, 1000), 0);
    assert_int_equal(loop_run_once(f->loop, 0), 0);
    assert_int_equal(c.calls, 3);
    assert_int_equal(loop_run_once(f->loop, 0), 0);
    assert_int_equal(c.calls, 3);

    loop_io_stop(f->loop, &io);
    assert_false(loop_io_active(&io));
    loop_io_stop(f->loop, &io);                     /* twice is harmless */
    assert_int_equal(loop_active_io_count(f->loop), 0);
    close(p[0]);
    close(p[1]);
}

static void test_pipe_writable_counted(void **state)
{
    struct fixture *f = *state;
    int p[2];
    make_pipe(p);
    struct counter c = { 0 };
    struct loop_io io;
    loop_io_init(&io, p[1], on_io_count, &c);
    assert_int_equal(loop_io_start(f->loop, &io, LOOP_WRITABLE), 0);

    for (int i = 1; i <= 3; i++) {
        assert_int_equal(loop_run_once(f->loop, 1000), 0);
        assert_int_equal(c.calls, i);
        assert_int_equal(c.last_revents, LOOP_WRITABLE);
    }

    /* Fill the pipe: no longer writable, so no callback. */
    char block[4096] = { 0 };
    while (write(p[1], block, sizeof block) > 0)
        ;
    assert_int_equal(loop_run_once(f->loop, 0), 0);
    assert_int_equal(c.calls, 3);

    /* Drain it: writable again. */
    while (read(p[0], block, sizeof block) > 0)
        ;
    assert_int_equal(loop_run_once(f->loop, 1000), 0);
    assert_int_equal(c.calls, 4);

    loop_io_stop(f->loop, &io);
    close(p[0]);
    close(p[1]);
}

static void test_modify_events(void **state)
{
    struct fixture *f = *state;
    int s[2];
    make_socketpair(s);
    struct counter c = { 0 };
    struct loop_io io;
    loop_io_init(&io, s[0], on_io_count, &c);
    assert_int_equal(loop_io_start(f->loop, &io, LOOP_READABLE), 0);

    assert_int_equal(loop_run_once(f->loop, 0), 0);
    assert_int_equal(c.calls, 0);

    assert_int_equal(loop_io_modify(f->loop, &io, LOOP_WRITABLE), 0);
    assert_int_equal(io.events, LOOP_WRITABLE);
    assert_int_equal(loop_run_once(f->loop, 1000), 0);
    assert_int_equal(c.calls, 1);
    assert_int_equal(c.last_revents, LOOP_WRITABLE);

    write_byte(s[1]);
    assert_int_equal(loop_io_modify(f->loop, &io, LOOP_READABLE | LOOP_WRITABLE), 0);
    assert_int_equal(loop_run_once(f->loop, 1000), 0);
    assert_int_equal(c.calls, 2);
    assert_int_equal(c.last_revents, LOOP_READABLE | LOOP_WRITABLE);

    assert_int_equal(loop_io_modify(f->loop, &io, LOOP_READABLE), 0);
    assert_int_equal(loop_run_once(f->loop, 1000), 0);
    assert_int_equal(c.calls, 3);
    assert_int_equal(c.last_revents, LOOP_READABLE);

    /* No interest at all (paused): the unread byte wakes nobody. */
    assert_int_equal(loop_io_modify(f->loop, &io, 0), 0);
    assert_int_equal(loop_run_once(f->loop, 0), 0);
    assert_int_equal(c.calls, 3);
    assert_int_equal(loop_active_io_count(f->loop), 1);

    loop_io_stop(f->loop, &io);
    close(s[0]);
    close(s[1]);
}

static void test_hangup_reports_error(void **state)
{
    struct fixture *f = *state;
    int p[2];
    make_pipe(p);
    close(p[1]);
    struct counter c = { 0 };
    struct loop_io io;
    loop_io_init(&io, p[0], on_io_count, &c);
    assert_int_equal(loop_io_start(f->loop, &io, LOOP_READABLE), 0);
    assert_int_equal(loop_run_once(f->loop, 1000), 0);
    assert_int_equal(c.calls, 1);
    /* Both backends: the error, plus the direction asked for, so that the
     * handler's read() meets the end of file. */
    assert_int_equal(c.last_revents, LOOP_READABLE | LOOP_ERROR);
    char byte;
    assert_int_equal(read(p[0], &byte, 1), 0);
    loop_io_stop(f->loop, &io);
    close(p[0]);
}

/* Two readable pipes; whichever callback runs first stops, closes and
 * frees the other watcher.  The other callback must not run (under ASan a
 * dispatch of the freed watcher is a use-after-free report). */
struct two_watchers {
    struct loop_io *io[2];
    int write_end[2];
    int calls;
};

static void on_stop_the_other(struct loop *loop, struct loop_io *io, unsigned revents)
{
    struct two_watchers *tw = io->data;
    tw->calls++;
    int me = tw->io[0] == io ? 0 : 1;
    struct loop_io *other = tw->io[1 - me];
    if (other != NULL) {
        loop_io_stop(loop, other);
        close(other->fd);
        free(other);
        tw->io[1 - me] = NULL;
    }
}

static void test_stop_other_inside_callback(void **state)
{
    struct fixture *f = *state;
    struct two_watchers tw = { 0 };
    for (int i = 0; i < 2; i++) {
        int p[2];
        make_pipe(p);
        tw.write_end[i] = p[1];
        tw.io[i] = malloc(sizeof *tw.io[i]);
        assert_non_null(tw.io[i]);
        loop_io_init(tw.io[i], p[0], on_stop_the_other, &tw);
        assert_int_equal(loop_io_start(f->loop, tw.io[i], LOOP_READABLE), 0);
        write_byte(p[1]);
    }
    uint64_t turns = loop_turns(f->loop);
    assert_int_equal(loop_run_once(f->loop, 1000), 0);
    assert_int_equal(loop_turns(f->loop), turns + 1);
    assert_int_equal(tw.calls, 1);
    assert_int_equal(loop_active_io_count(f->loop), 1);

    for (int i = 0; i < 2; i++) {
        if (tw.io[i] != NULL) {
            loop_io_stop(f->loop, tw.io[i]);
            close(tw.io[i]->fd);
            free(tw.io[i]);
        }
        close(tw.write_end[i]);
    }
    assert_int_equal(loop_active_io_count(f->loop), 0);
}

/* Harder: the first callback stops the other watcher, closes its fd, and
 * restarts the same watcher struct on a fresh, empty pipe — which gets the
 * same fd number back.  The stale ready entry must still not dispatch. */
struct reuse_case {
    struct loop_io io[2];
    int read_end[2], write_end[2];
    int calls[2];
};

static void on_reuse(struct loop *loop, struct loop_io *io, unsigned revents)
{
    struct reuse_case *rc = io->data;
    int me = io == &rc->io[0] ? 0 : 1;
    rc->calls[me]++;
    char byte;
    assert_int_equal(read(io->fd, &byte, 1), 1);
    int other = 1 - me;
    if (rc->calls[other] == 0 && loop_io_active(&rc->io[other]) && rc->calls[me] == 1) {
        int old_fd = rc->read_end[other];
        loop_io_stop(loop, &rc->io[other]);
        close(rc->read_end[other]);
        close(rc->write_end[other]);
        int p[2];
        make_pipe(p);
        /* Give the new read end exactly the old number, as a busy server
         * reusing descriptors would. */
        if (p[0] != old_fd) {
            assert_int_equal(dup3(p[0], old_fd, O_CLOEXEC), old_fd);
            close(p[0]);
            p[0] = old_fd;
        }
        rc->read_end[other] = p[0];
        rc->write_end[other] = p[1];
        loop_io_init(&rc->io[other], p[0], on_reuse, rc);
        assert_int_equal(loop_io_start(loop, &rc->io[other], LOOP_READABLE), 0);
    }
}

static void test_stop_and_reuse_fd_inside_callback(void **state)
{
    struct fixture *f = *state;
    struct reuse_case rc = { 0 };
    for (int i = 0; i < 2; i++) {
        int p[2];
        make_pipe(p);
        rc.read_end[i] = p[0];
        rc.write_end[i] = p[1];
        loop_io_init(&rc.io[i], p[0], on_reuse, &rc);
        assert_int_equal(loop_io_start(f->loop, &rc.io[i], LOOP_READABLE), 0);
        write_byte(p[1]);
    }
    assert_int_equal(loop_run_once(f->loop, 1000), 0);
    assert_int_equal(rc.calls[0] + rc.calls[1], 1);
    /* The new pipe is empty: nothing more happens. */
    assert_int_equal(loop_run_once(f->loop, 0), 0);
    assert_int_equal(rc.calls[0] + rc.calls[1], 1);

    for (int i = 0; i < 2; i++) {
        loop_io_stop(f->loop, &rc.io[i]);
        close(rc.read_end[i]);
        close(rc.write_end[i]);
    }
}

/* A callback that stops and frees its own watcher. */
static void on_free_self(struct loop *loop, struct loop_io *io, unsigned revents)
{
    int *calls = io->data;
    (*calls)++;
    loop_io_stop(loop, io);
    free(io);
}

static void test_stop_self_and_free(void **state)
{
    struct fixture *f = *state;
    int p[2];
    make_pipe(p);
    int calls = 0;
    struct loop_io *io = malloc(sizeof *io);
    assert_non_null(io);
    loop_io_init(io, p[0], on_free_self, &calls);
    assert_int_equal(loop_io_start(f->loop, io, LOOP_READABLE), 0);
    write_byte(p[1]);
    /* loop_run returns once the only watcher stopped itself. */
    assert_int_equal(loop_run(f->loop), 0);
    assert_int_equal(calls, 1);
    assert_int_equal(loop_active_io_count(f->loop), 0);
    close(p[0]);
    close(p[1]);
}

/* --- Timers ----------------------------------------------------------------- */

#define MANY_TIMERS 200

struct fire_log {
    int order[MANY_TIMERS];
    int count;
    bool early;             /* a timer ran before its due time */
};

struct logged_timer {
    struct loop_timer timer;
    struct fire_log *log;
    int index;
};

static void on_timer_log(struct loop *loop, struct loop_timer *timer)
{
    struct logged_timer *lt = timer->data;
    assert_false(loop_timer_active(timer));     /* it left the heap first */
    if (clock_now_ns() < timer->due_ns || loop_now_ns(loop) < timer->due_ns)
        lt->log->early = true;
    lt->log->order[lt->log->count++] = lt->index;
}

static struct logged_timer *sort_timers;

static int by_due_then_start(const void *a, const void *b)
{
    const struct logged_timer *x = &sort_timers[*(const int *)a];
    const struct logged_timer *y = &sort_timers[*(const int *)b];
    if (x->timer.due_ns != y->timer.due_ns)
        return x->timer.due_ns < y->timer.due_ns ? -1 : 1;
    return x->index - y->index;
}

static void test_timers_random_order(void **state)
{
    struct fixture *f = *state;
    static struct logged_timer timers[MANY_TIMERS];
    struct fire_log log = { .count = 0 };
    srand(4242);
    for (int i = 0; i < MANY_TIMERS; i++) {
        timers[i].log = &log;
        timers[i].index = i;
        loop_timer_init(&timers[i].timer, on_timer_log, &timers[i]);
        /* 0..20 ms, in whole ms so that many share a delay. */
        loop_timer_start(f->loop, &timers[i].timer, (uint64_t)(rand() % 21) * MS);
    }
    assert_int_equal(loop_active_timer_count(f->loop), MANY_TIMERS);

    /* Expected: by due time, ties in start order. */
    int expected[MANY_TIMERS];
    for (int i = 0; i < MANY_TIMERS; i++)
        expected[i] = i;
    sort_timers = timers;
    qsort(expected, MANY_TIMERS, sizeof expected[0], by_due_then_start);

    assert_int_equal(loop_run(f->loop), 0);
    assert_int_equal(log.count, MANY_TIMERS);
    assert_false(log.early);
    assert_memory_equal(log.order, expected, sizeof expected);
    assert_int_equal(loop_active_timer_count(f->loop), 0);
}

static void test_timers_equal_delay_fire_in_start_order(void **state)
{
    struct fixture *f = *state;
    struct logged_timer timers[20];
    struct fire_log log = { .count = 0 };
    for (int i = 0; i < 20; i++) {
        timers[i].log = &log;
        timers[i].index = i;
        loop_timer_init(&timers[i].timer, on_timer_log, &timers[i]);
        loop_timer_start(f->loop, &timers[i].timer, 2 * MS);
    }
    assert_int_equal(loop_run(f->loop), 0);
    assert_int_equal(log.count, 20);
    for (int i = 0; i < 20; i++)
        assert_int_equal(log.order[i], i);
}

/* Stopping a timer before it fires, from outside and from inside another
 * timer's callback in the same timer phase. */
static void on_timer_stop_other(struct loop *loop, struct loop_timer *timer)
{
    struct loop_timer *victim = timer->data;
    loop_timer_stop(loop, victim);
}

static void on_timer_must_not_fire(struct loop *loop, struct loop_timer *timer)
{
    fail_msg("a stopped timer fired");
}

static void test_timer_stop_before_fire(void **state)
{
    struct fixture *f = *state;
    struct fire_log log = { .count = 0 };
    struct logged_timer a = { .log = &log, .index = 0 };
    struct loop_timer stopped, killer, victim;
    loop_timer_init(&a.timer, on_timer_log, &a);
    loop_timer_init(&stopped, on_timer_must_not_fire, NULL);
    loop_timer_init(&killer, on_timer_stop_other, &victim);
    loop_timer_init(&victim, on_timer_must_not_fire, NULL);
    assert_false(loop_timer_active(&stopped));

    loop_timer_start(f->loop, &a.timer, 1 * MS);
    loop_timer_start(f->loop, &stopped, 1 * MS);
    loop_timer_start(f->loop, &killer, 1 * MS);
    loop_timer_start(f->loop, &victim, 1 * MS);     /* due right after killer */
    assert_true(loop_timer_active(&stopped));
    loop_timer_stop(f->loop, &stopped);
    assert_false(loop_timer_active(&stopped));
    loop_timer_stop(f->loop, &stopped);             /* twice is harmless */

    /* Wait until all are due, so they run in the same timer phase. */
    clock_sleep_ms(5);
    assert_int_equal(loop_run(f->loop), 0);
    assert_int_equal(log.count, 1);
    assert_false(loop_timer_active(&victim));
}

/* A timer that restarts itself with delay 0 runs once per turn, not again
 * and again within one turn. */
struct restarter {
    struct loop_timer timer;
    int calls;
    int limit;
};

static void on_timer_restart(struct loop *loop, struct loop_timer *timer)
{
    struct restarter *r = timer->data;
    r->calls++;
    if (r->calls < r->limit)
        loop_timer_start(loop, timer, 0);
}

static void test_timer_restart_inside_callback(void **state)
{
    struct fixture *f = *state;
    struct restarter r = { .limit = 5 };
    loop_timer_init(&r.timer, on_timer_restart, &r);
    loop_timer_start(f->loop, &r.timer, 0);

    for (int turn = 1; turn <= 5; turn++) {
        assert_int_equal(loop_run_once(f->loop, -1), 0);
        assert_int_equal(r.calls, turn);
    }
    assert_false(loop_timer_active(&r.timer));
    assert_int_equal(loop_run(f->loop), 0);         /* nothing left: returns */
    assert_int_equal(r.calls, 5);
}

/* The timer phase's rule belongs to the loop, not to its instrumentation:
 * a timer started by a dispatch callback runs in this turn's timer phase,
 * a timer started by a timer callback waits for the next turn, and a timer
 * of the batch that an earlier one stops does not run at all.  Checked
 * with no probe and (when the probes are compiled in) with one, and the
 * whole file also runs in the make PROBES=0 build. */
struct batch_case {
    struct loop_io io;
    struct loop_timer first, second, victim;
    uint64_t first_turn, second_turn;
    int first_calls, second_calls, victim_calls;
};

static void on_batch_second(struct loop *loop, struct loop_timer *timer)
{
    struct batch_case *bc = timer->data;
    bc->second_calls++;
    bc->second_turn = loop_turns(loop);
}

static void on_batch_victim(struct loop *loop, struct loop_timer *timer)
{
    struct batch_case *bc = timer->data;
    (void)loop;
    bc->victim_calls++;
}

static void on_batch_first(struct loop *loop, struct loop_timer *timer)
{
    struct batch_case *bc = timer->data;
    bc->first_calls++;
    bc->first_turn = loop_turns(loop);
    loop_timer_start(loop, &bc->second, 0);     /* next turn's batch */
    loop_timer_stop(loop, &bc->victim);         /* in this batch: must not run */
}

static void on_batch_readable(struct loop *loop, struct loop_io *io, unsigned revents)
{
    struct batch_case *bc = io->data;
    char byte;
    (void)revents;
    assert_int_equal(read(io->fd, &byte, 1), 1);
    loop_io_stop(loop, io);
    /* Both due at once and started before the timer phase: this batch. */
    loop_timer_start(loop, &bc->first, 0);
    loop_timer_start(loop, &bc->victim, 0);
}

static void run_batch_case(struct loop *loop)
{
    struct batch_case bc = { 0 };
    int p[2];
    make_pipe(p);
    loop_io_init(&bc.io, p[0], on_batch_readable, &bc);
    loop_timer_init(&bc.first, on_batch_first, &bc);
    loop_timer_init(&bc.second, on_batch_second, &bc);
    loop_timer_init(&bc.victim, on_batch_victim, &bc);
    assert_int_equal(loop_io_start(loop, &bc.io, LOOP_READABLE), 0);
    assert_int_equal(write(p[1], "x", 1), 1);

    uint64_t turn = loop_turns(loop);
    assert_int_equal(loop_run_once(loop, 1000), 0);     /* dispatch, then timers */
    assert_int_equal(bc.first_calls, 1);
    assert_int_equal(bc.first_turn, turn);
    assert_int_equal(bc.second_calls, 0);
    assert_int_equal(bc.victim_calls, 0);
    assert_true(loop_timer_active(&bc.second));

    assert_int_equal(loop_run_once(loop, 1000), 0);     /* the next batch */
    assert_int_equal(bc.second_calls, 1);
    assert_int_equal(bc.second_turn, turn + 1);
    assert_int_equal(bc.victim_calls, 0);
    assert_int_equal(loop_active_timer_count(loop), 0);
    close(p[0]);
    close(p[1]);
}

static void test_timer_batch_rule(void **state)
{
    struct fixture *f = *state;
    run_batch_case(f->loop);                 /* not instrumented */

    struct probe *probe = NULL;
    char name[64], err[256];
    snprintf(name, sizeof name, "test-loop-batch-%d-%s", (int)getpid(), g_backend);
    if (probe_create(&probe, &(struct probe_config){ .name = name, .model = "loop" },
                     err, sizeof err) < 0)
        probe = NULL;
    struct probe_thread *me = probe_thread_begin(probe, "loop");
    struct loop *loop;
    assert_int_equal(loop_new(&loop, g_backend, me), 0);
    run_batch_case(loop);                    /* instrumented, when compiled in */
    assert_int_equal(probe_gauge_get(probe, PROBE_GAUGE_QUEUED), 0);
    assert_int_equal(probe_gauge_get(probe, PROBE_GAUGE_Q_TIMERS_EXPIRED), 0);
    loop_free(loop);
    probe_thread_end(me);
    probe_destroy(probe);
}

/* A zero-delay timer makes loop_run_once(-1) return at once. */
static void test_timer_zero_delay(void **state)
{
    struct fixture *f = *state;
    struct restarter zero = { .limit = 1 };
    struct loop_timer guard;
    loop_timer_init(&zero.timer, on_timer_restart, &zero);
    loop_timer_init(&guard, on_timer_must_not_fire, NULL);
    loop_timer_start(f->loop, &guard, 10000 * MS);
    loop_timer_start(f->loop, &zero.timer, 0);

    uint64_t start = clock_now_ns();
    assert_int_equal(loop_run_once(f->loop, -1), 0);
    assert_int_equal(zero.calls, 1);
    assert_true(clock_now_ns() - start < 2000 * MS);
    loop_timer_stop(f->loop, &guard);
}

/* A 50 ms timer fires no earlier than 50 ms after it was started, and the
 * loop does not spin waiting for it. */
static void test_timer_never_early(void **state)
{
    struct fixture *f = *state;
    struct fire_log log = { .count = 0 };
    struct logged_timer t = { .log = &log, .index = 0 };
    loop_timer_init(&t.timer, on_timer_log, &t);
    uint64_t start = clock_now_ns();
    loop_timer_start(f->loop, &t.timer, 50 * MS);
    uint64_t turns = loop_turns(f->loop);
    assert_int_equal(loop_run(f->loop), 0);
    uint64_t elapsed = clock_now_ns() - start;
    assert_int_equal(log.count, 1);
    assert_false(log.early);
    assert_true(elapsed >= 50 * MS);
    assert_true(elapsed < 5000 * MS);
    /* A loop that rounded the timeout down would spin through many 0 ms
     * waits; rounding up needs one wait, a few at worst. */
    assert_true(loop_turns(f->loop) - turns <= 5);
}

static void on_timer_stop_loop(struct loop *loop, struct loop_timer *timer)
{
    loop_stop(loop);
}

static void test_loop_exits_when_idle(void **state)
{
    struct fixture *f = *state;
    /* Nothing active (the loop's own wakeup fd does not count): returns
     * without even one turn. */
    assert_int_equal(loop_run(f->loop), 0);
    assert_int_equal(loop_turns(f->loop), 0);

    /* One timer: returns after it fired. */
    struct restarter once = { .limit = 1 };
    loop_timer_init(&once.timer, on_timer_restart, &once);
    loop_timer_start(f->loop, &once.timer, 1 * MS);
    assert_int_equal(loop_run(f->loop), 0);
    assert_int_equal(once.calls, 1);

    /* loop_stop() from a callback returns even though a timer is left. */
    struct loop_timer stopper, far;
    loop_timer_init(&stopper, on_timer_stop_loop, NULL);
    loop_timer_init(&far, on_timer_must_not_fire, NULL);
    loop_timer_start(f->loop, &far, 10000 * MS);
    loop_timer_start(f->loop, &stopper, 1 * MS);
    uint64_t start = clock_now_ns();
    assert_int_equal(loop_run(f->loop), 0);
    assert_true(clock_now_ns() - start < 2000 * MS);
    assert_true(loop_timer_active(&far));
    loop_timer_stop(f->loop, &far);
}

/* --- Many fds ---------------------------------------------------------------- */

/* Makes sure we may open `needed` more descriptors. */
static bool ensure_fd_room(int needed)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return false;
    rlim_t want = (rlim_t)(net_count_open_fds() + needed + 64);
    if (rl.rlim_cur >= want)
        return true;
    if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < want)
        return false;
    rl.rlim_cur = want;
    return setrlimit(RLIMIT_NOFILE, &rl) == 0;
}

struct pair_watch {
    struct loop_io io;
    int peer;
    int calls;
};

static void on_pair_readable(struct loop *loop, struct loop_io *io, unsigned revents)
{
    struct pair_watch *pw = io->data;
    pw->calls++;
    char byte;
    assert_int_equal(read(io->fd, &byte, 1), 1);
}

static struct pair_watch *open_pairs(struct loop *loop, int n, loop_io_cb cb)
{
    struct pair_watch *pairs = calloc((size_t)n, sizeof *pairs);
    assert_non_null(pairs);
    for (int i = 0; i < n; i++) {
        int s[2];
        make_socketpair(s);
        pairs[i].peer = s[1];
        loop_io_init(&pairs[i].io, s[0], cb, &pairs[i]);
        assert_int_equal(loop_io_start(loop, &pairs[i].io, LOOP_READABLE), 0);
    }
    return pairs;
}

static void close_pairs(struct loop *loop, struct pair_watch *pairs, int n)
{
    for (int i = 0; i < n; i++) {
        loop_io_stop(loop, &pairs[i].io);
        close(pairs[i].io.fd);
        close(pairs[i].peer);
    }
    free(pairs);
}

static void test_thousand_socketpairs(void **state)
{
    struct fixture *f = *state;
    const int n = 1000;
    if (!ensure_fd_room(2 * n))
        skip();
    struct pair_watch *pairs = open_pairs(f->loop, n, on_pair_readable);
    assert_int_equal(loop_active_io_count(f->loop), (size_t)n);
    for (int i = 0; i < n; i++)
        write_byte(pairs[i].peer);

    int total = 0;
    for (int turn = 0; turn < 50 && total < n; turn++) {
        assert_int_equal(loop_run_once(f->loop, 1000), 0);
        total = 0;
        for (int i = 0; i < n; i++)
            total += pairs[i].calls;
    }
    assert_int_equal(total, n);
    assert_int_equal(loop_run_once(f->loop, 0), 0);     /* nothing left */
    for (int i = 0; i < n; i++)
        assert_int_equal(pairs[i].calls, 1);
    close_pairs(f->loop, pairs, n);
}

/* More ready fds than one wait can return, and none of them drained: every
 * watcher must still get its turn within a few turns (no starvation of
 * the fds at the end of the poll array). */
static void on_pair_count_only(struct loop *loop, struct loop_io *io, unsigned revents)
{
    struct pair_watch *pw = io->data;
    pw->calls++;
}

static void test_fairness_past_ready_limit(void **state)
{
    struct fixture *f = *state;
    const int n = LOOP_MAX_READY_PER_TURN + 100;
    if (!ensure_fd_room(2 * n))
        skip();
    struct pair_watch *pairs = open_pairs(f->loop, n, on_pair_count_only);
    for (int i = 0; i < n; i++)
        write_byte(pairs[i].peer);

    for (int turn = 0; turn < 3; turn++)
        assert_int_equal(loop_run_once(f->loop, 1000), 0);
    for (int i = 0; i < n; i++)
        assert_true(pairs[i].calls >= 1);
    close_pairs(f->loop, pairs, n);
}

/* --- Cross-thread wakeup, signals -------------------------------------------- */

struct wake_ctx {
    struct loop *loop;
    int wakeups;
    pthread_t woken_on;
    bool stop_too;
};

static void on_wakeup(struct loop *loop, void *data)
{
    struct wake_ctx *ctx = data;
    ctx->wakeups++;
    ctx->woken_on = pthread_self();
}

static void *wake_later(void *arg)
{
    struct wake_ctx *ctx = arg;
    clock_sleep_ms(50);
    if (ctx->stop_too)
        loop_stop(ctx->loop);
    loop_wakeup(ctx->loop);
    return NULL;
}

static void test_wakeup_from_thread(void **state)
{
    struct fixture *f = *state;
    struct wake_ctx ctx = { .loop = f->loop };
    loop_set_wakeup_handler(f->loop, on_wakeup, &ctx);

    /* No watcher, no timer: only the wakeup can end this wait. */
    pthread_t thread;
    uint64_t start = clock_now_ns();
    assert_int_equal(pthread_create(&thread, NULL, wake_later, &ctx), 0);
    assert_int_equal(loop_run_once(f->loop, -1), 0);
    assert_int_equal(pthread_join(thread, NULL), 0);
    assert_int_equal(ctx.wakeups, 1);
    assert_true(pthread_equal(ctx.woken_on, pthread_self()));
    assert_true(clock_now_ns() - start < 5000 * MS);

    /* loop_stop() + loop_wakeup() from another thread end loop_run(). */
    struct loop_timer far;
    loop_timer_init(&far, on_timer_must_not_fire, NULL);
    loop_timer_start(f->loop, &far, 10000 * MS);
    ctx.stop_too = true;
    start = clock_now_ns();
    assert_int_equal(pthread_create(&thread, NULL, wake_later, &ctx), 0);
    assert_int_equal(loop_run(f->loop), 0);
    assert_int_equal(pthread_join(thread, NULL), 0);
    assert_true(clock_now_ns() - start < 5000 * MS);
    assert_int_equal(ctx.wakeups, 2);
    loop_timer_stop(f->loop, &far);
}

static struct loop *g_signal_loop;
static volatile sig_atomic_t g_signals;

static void on_sigusr1(int signo)
{
    g_signals++;
    if (g_signal_loop != NULL) {
        loop_stop(g_signal_loop);
        loop_wakeup(g_signal_loop);
    }
}

struct kill_ctx {
    pthread_t target;
};

static void *signal_later(void *arg)
{
    struct kill_ctx *ctx = arg;
    clock_sleep_ms(50);
    pthread_kill(ctx->target, SIGUSR1);
    return NULL;
}

static void test_signal_eintr_and_stop(void **state)
{
    struct fixture *f = *state;
    struct sigaction sa = { .sa_handler = on_sigusr1 }, old;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;    /* no SA_RESTART: the wait fails with EINTR */
    assert_int_equal(sigaction(SIGUSR1, &sa, &old), 0);

    struct loop_timer far;
    loop_timer_init(&far, on_timer_must_not_fire, NULL);
    loop_timer_start(f->loop, &far, 10000 * MS);

    /* EINTR is not an error: loop_run_once() returns 0, well before the
     * 10 s timer. */
    struct kill_ctx ctx = { .target = pthread_self() };
    pthread_t thread;
    g_signals = 0;
    g_signal_loop = NULL;
    uint64_t start = clock_now_ns();
    assert_int_equal(pthread_create(&thread, NULL, signal_later, &ctx), 0);
    assert_int_equal(loop_run_once(f->loop, -1), 0);
    assert_int_equal(pthread_join(thread, NULL), 0);
    assert_int_equal(g_signals, 1);
    assert_true(clock_now_ns() - start < 5000 * MS);

    /* loop_stop() + loop_wakeup() from a signal handler end loop_run(). */
    g_signal_loop = f->loop;
    start = clock_now_ns();
    assert_int_equal(pthread_create(&thread, NULL, signal_later, &ctx), 0);
    assert_int_equal(loop_run(f->loop), 0);
    assert_int_equal(pthread_join(thread, NULL), 0);
    assert_int_equal(g_signals, 2);
    assert_true(clock_now_ns() - start < 5000 * MS);
    g_signal_loop = NULL;

    loop_timer_stop(f->loop, &far);
    sigaction(SIGUSR1, &old, NULL);
}

/* --- Instrumentation on the seams ---------------------------------------- */

struct gauge_case {
    struct probe *probe;
    struct loop_io io[2];
    int calls;
    int64_t ready_seen, undispatched_seen, queued_seen;
};

static void on_read_gauges(struct loop *loop, struct loop_io *io, unsigned revents)
{
    struct gauge_case *gc = io->data;
    char byte;
    assert_int_equal(read(io->fd, &byte, 1), 1);
    if (gc->calls++ == 0) {
        gc->ready_seen = probe_gauge_get(gc->probe, PROBE_GAUGE_READY);
        gc->undispatched_seen = probe_gauge_get(gc->probe, PROBE_GAUGE_Q_UNDISPATCHED);
        gc->queued_seen = probe_gauge_get(gc->probe, PROBE_GAUGE_QUEUED);
    }
}

static void test_probe_gauges(void **state)
{
    struct gauge_case gc = { 0 };
    char name[64], err[256];
    snprintf(name, sizeof name, "test-loop-%d-%s", (int)getpid(), g_backend);
    int rc = probe_create(&gc.probe, &(struct probe_config){ .name = name, .model = "loop" },
                          err, sizeof err);
    if (rc < 0 || gc.probe == NULL) {
        print_message("probe unavailable (%s); skipping\n", rc < 0 ? err : "compiled out");
        skip();
    }
    struct probe_thread *me = probe_thread_begin(gc.probe, "loop");
    struct loop *loop;
    assert_int_equal(loop_new(&loop, g_backend, me), 0);
    assert_ptr_equal(loop_probe_thread(loop), me);

    int p[2][2];
    for (int i = 0; i < 2; i++) {
        make_pipe(p[i]);
        loop_io_init(&gc.io[i], p[i][0], on_read_gauges, &gc);
        assert_int_equal(loop_io_start(loop, &gc.io[i], LOOP_READABLE), 0);
        write_byte(p[i][1]);
    }
    assert_int_equal(loop_run_once(loop, 1000), 0);
    assert_int_equal(gc.calls, 2);
    /* Seen from inside the first callback: two ready, one still queued. */
    assert_int_equal(gc.ready_seen, 2);
    assert_int_equal(gc.undispatched_seen, 1);
    assert_int_equal(gc.queued_seen, 1);
    /* After the turn: drained. */
    assert_int_equal(probe_gauge_get(gc.probe, PROBE_GAUGE_LOOP_LAST_READY), 2);
    assert_int_equal(probe_gauge_get(gc.probe, PROBE_GAUGE_QUEUED), 0);
    assert_int_equal(probe_gauge_get(gc.probe, PROBE_GAUGE_LOOP_TURNS), 1);

    struct loop_timer t;
    loop_timer_init(&t, on_timer_stop_loop, NULL);
    loop_timer_start(loop, &t, 1 * MS);
    assert_int_equal(probe_gauge_get(gc.probe, PROBE_GAUGE_TIMERS_PENDING), 1);
    while (loop_timer_active(&t))
        assert_int_equal(loop_run_once(loop, 1000), 0);
    assert_int_equal(probe_gauge_get(gc.probe, PROBE_GAUGE_TIMERS_PENDING), 0);
    assert_true(probe_gauge_get(gc.probe, PROBE_GAUGE_LOOP_BUSY_NS) > 0);

    for (int i = 0; i < 2; i++) {
        loop_io_stop(loop, &gc.io[i]);
        close(p[i][0]);
        close(p[i][1]);
    }
    loop_free(loop);
    probe_thread_end(me);
    probe_destroy(gc.probe);
}

/* --- Programmer errors are assertions ------------------------------------- */

/* loop_free() with a watcher still started must abort (checked in a child
 * process, so the abort does not end this test run). */
static void test_free_with_active_watcher_aborts(void **state)
{
    fflush(NULL);
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        struct rlimit no_core = { 0, 0 };
        setrlimit(RLIMIT_CORE, &no_core);
        int devnull = open("/dev/null", O_WRONLY);
        dup2(devnull, STDERR_FILENO);
        struct loop *loop;
        int p[2];
        if (loop_new(&loop, g_backend, NULL) != 0 || pipe(p) != 0)
            _exit(2);
        struct loop_io io;
        struct counter c = { 0 };
        loop_io_init(&io, p[0], on_io_count, &c);
        if (loop_io_start(loop, &io, LOOP_READABLE) != 0)
            _exit(3);
        loop_free(loop);    /* must abort here */
        _exit(0);
    }
    int status;
    assert_int_equal(waitpid(child, &status, 0), child);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGABRT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_backend_names, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pipe_readable_counted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pipe_writable_counted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_modify_events, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hangup_reports_error, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stop_other_inside_callback, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stop_and_reuse_fd_inside_callback, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stop_self_and_free, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timers_random_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timers_equal_delay_fire_in_start_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timer_stop_before_fire, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timer_restart_inside_callback, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timer_batch_rule, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timer_zero_delay, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timer_never_early, setup, teardown),
        cmocka_unit_test_setup_teardown(test_loop_exits_when_idle, setup, teardown),
        cmocka_unit_test_setup_teardown(test_thousand_socketpairs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fairness_past_ready_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wakeup_from_thread, setup, teardown),
        cmocka_unit_test_setup_teardown(test_signal_eintr_and_stop, setup, teardown),
        cmocka_unit_test_setup_teardown(test_probe_gauges, setup, teardown),
        cmocka_unit_test_setup_teardown(test_free_with_active_watcher_aborts, setup, teardown),
    };
    int failed = 0;
    for (size_t i = 0; loop_backend_names[i] != NULL; i++) {
        g_backend = loop_backend_names[i];
        char group[32];
        snprintf(group, sizeof group, "loop/%s", g_backend);
        failed += cmocka_run_group_tests_name(group, tests, NULL, NULL);
    }
    return failed;
}
