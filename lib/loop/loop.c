/*
 * loop.c — the event loop: one thread, many fds, a few timers.
 *
 * Design.  A turn is the diagram at the top of loop.h, and loop_turn()
 * below is that diagram in code:
 *
 *     1. wait      the backend sleeps until an fd is ready or the nearest
 *                  timer is due;
 *     2. collect   what it found becomes this turn's ready list;
 *     3. dispatch  each entry's callback runs, in list order;
 *     4. timers    every timer due by now runs, earliest first;
 *     5. repeat    loop_run() goes round until loop_stop() or nothing is
 *                  left to wait for.
 *
 * Who keeps the loop alive.  loop_run() returns when no user watcher, no
 * timer and no outstanding request (a worker job whose done() has not run)
 * is left.  The loop's own watchers — the wakeup eventfd and the worker
 * pool's completion eventfd — are started with loop_io_start_internal():
 * they sit in a separate list (`internal`), are not counted by
 * loop_active_io_count(), and therefore never keep the loop running by
 * themselves.
 *
 * Stopping during a turn.  A callback may stop any watcher, even one
 * whose event is still waiting further down this turn's ready list, and
 * may free it right away.  loop_io_stop() therefore clears that watcher's
 * remaining entries (sets their io to NULL), and dispatch skips them.
 *
 * Timers.  The timeout of the wait is the time to the nearest timer,
 * rounded UP to whole milliseconds: rounding down would wake us before the
 * timer is due, find nothing to run and wait again for 0 ms — a spin.  A
 * timer's due time is measured from the real clock when it is started
 * (not from the cached loop_now_ns()), so it never fires early even when
 * started at the end of a long callback.  The timer phase runs one batch,
 * fixed when the phase begins: the timers due by then that were already
 * started (struct timer_batch).  A timer that a callback starts — even
 * with delay 0, even one that restarts itself — joins the next turn's
 * batch, so one phase cannot run for ever, and the wait in between lets
 * ready fds have their turn.
 *
 * Instrumentation.  Every probe call of the loop is in this file, on the
 * seams of the diagram: around the wait (POLL_ENTER/RETURN, the thread
 * shown as blocked in poll), after collect (READY), around each callback
 * (DISPATCH_BEGIN/END, handler time) and for each timer (TIMER_FIRE with
 * its lateness).  QUEUED is published as the turn drains, so a reader sees
 * it count down; its parts are counted in one place, struct loop_queue and
 * the queue_*() functions, which the loop itself never reads.  With no
 * probe thread all of it is skipped, and with the probes compiled out
 * (make PROBES=0) the loop runs the same callbacks in the same order.
 *
 * What a turn costs.  At a steady request rate almost every request is a
 * turn of its own (one ready fd), so whatever the loop does per turn, it
 * does per request; the bookkeeping is therefore shaped so that an empty
 * part of the turn costs next to nothing:
 *   - QUEUED and its parts are published just before each callback runs
 *     and once when the turn ends: those are the moments a reader (the
 *     view samples about ten times a second) can see them for longer
 *     than a few nanoseconds, and a gauge that did not change is not
 *     stored again (loop_show());
 *   - with no timer due, the timer phase looks at the earliest timer and
 *     stops, and nothing is counted for it (loop_timer_due());
 *   - the clock is read when something may have taken time, not at every
 *     step: see loop_clock_now().
 */
#include "loop/loop.h"

#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/limits.h"
#include "loop/backend.h"
#include "loop/loop_internal.h"
#include "loop/timer_heap.h"
#include "loop/wakeup.h"
#include "probe/probe.h"

/* loop_stop() may be called from a signal handler; that is only safe if
 * the flag is a lock-free atomic. */
_Static_assert(ATOMIC_BOOL_LOCK_FREE == 2, "loop_stop() needs a lock-free atomic bool");

/* Which timers one timer phase fires: those due by due_ns (the time the
 * phase began) that were started before order_end (the start stamp the
 * next timer would get).  See "Timers" above. */
struct timer_batch {
    uint64_t due_ns;
    uint64_t order_end;
};

/* The gauges the loop stores only when their value changed, each with
 * its slot in loop_queue.shown (see loop_show()). */
enum loop_shown_slot {
    SHOWN_UNDISPATCHED,
    SHOWN_TIMERS_EXPIRED,
    SHOWN_COMPLETIONS,
    SHOWN_QUEUED,
    SHOWN_TIMERS_PENDING,
    SHOWN_LAST_READY,
    SHOWN_SLOTS
};

/* The parts of the QUEUED gauge that the loop itself has to count (the
 * worker pool counts its completions).  Kept up to date only while the
 * loop is instrumented. */
struct loop_queue {
    size_t undispatched;         /* ready entries after ready_next, not cancelled */
    size_t timers_expired;       /* timers of `expired` not run (or stopped) yet */
    bool counting_timers;        /* `expired` describes this turn's due timers */
    struct timer_batch expired;  /* which timers timers_expired counts */
    /* What the gauges show now, so that publishing (before every
     * callback) stores only what changed; -1: not published yet. */
    int64_t shown[SHOWN_SLOTS];
};

struct loop {
    /* The backend chosen at loop_new(), and its private state. */
    const struct backend_ops *backend;
    void *backend_state;

    /* Instrumentation; both NULL when the loop is not watched. */
    struct probe_thread *probe_thread;
    struct probe *probe;

    /* Time and turns. */
    uint64_t now_ns;             /* cached clock, see loop_now_ns() */
    uint64_t clock_fresh_ns;     /* a reading no callback has run since, or 0
                                    (see loop_clock_now()) */
    uint64_t turns;              /* turns completed */
    uint64_t busy_since_ns;      /* when the last wait returned (for LOOP_BUSY_NS) */
    bool in_turn;                /* a turn is running (no nesting) */
    atomic_bool stop_requested;  /* set by loop_stop(), read by loop_run() */

    /* What keeps the loop alive. */
    size_t active_io;            /* user watchers started */
    size_t requests;             /* outstanding requests (worker jobs) */
    struct loop_io **internal;   /* the loop's own started watchers */
    size_t internal_count;
    size_t internal_capacity;

    /* This turn's ready list, filled by the backend in the wait. */
    struct backend_event ready[LOOP_MAX_READY_PER_TURN];
    size_t ready_count;          /* entries the wait produced */
    size_t ready_next;           /* the next entry to dispatch */

    /* Timers, and the batch the running timer phase may fire. */
    struct timer_heap timers;
    uint64_t next_timer_order;   /* start-order stamp for the next timer */
    struct timer_batch batch;

    /* Instrumentation only; never read to decide what runs. */
    struct loop_queue queue;

    /* Cross-thread: the wakeup doorbell and the worker pool's count. */
    struct wakeup wakeup;
    size_t (*pending_source)(void *data);
    void *pending_data;
};

/* The backends a user can choose, in the same order as their names. */
static const struct backend_ops *const loop_backends[] = { &backend_poll, &backend_epoll };
const char *const loop_backend_names[] = { "poll", "epoll", NULL };
_Static_assert(sizeof loop_backends / sizeof loop_backends[0] + 1 ==
               sizeof loop_backend_names / sizeof loop_backend_names[0],
               "every backend needs a name and every name a backend");

/* ---------------------------------------------------------------------
 * Timer batches: the rule of the timer phase.
 */

static bool timer_in_batch(const struct loop_timer *timer, const struct timer_batch *batch)
{
    return timer->due_ns <= batch->due_ns && timer->order < batch->order_end;
}

/* The batch of timers due at `now` among those started so far. */
static struct timer_batch loop_batch_at(const struct loop *loop, uint64_t now)
{
    return (struct timer_batch){ .due_ns = now, .order_end = loop->next_timer_order };
}

/* Is any timer due at `now`?  The heap's first timer is the earliest, so
 * one look answers it; most turns answer no and skip the timer work. */
static bool loop_timer_due(const struct loop *loop, uint64_t now)
{
    const struct loop_timer *first = timer_heap_peek(&loop->timers);
    return first != NULL && first->due_ns <= now;
}

/* ---------------------------------------------------------------------
 * Instrumentation: what QUEUED is made of, counted and published here and
 * nowhere else.  Every function returns at once when the loop has no
 * probe, so none of this costs anything then.
 */

/* Stores a gauge unless it already shows `value`: most turns leave most
 * of the loop's gauges as they were, and a store the reader cannot tell
 * from the last one is wasted work. */
static void loop_show(struct loop *loop, enum loop_shown_slot slot, enum probe_gauge gauge,
                      int64_t value)
{
    if (loop->queue.shown[slot] == value)
        return;
    loop->queue.shown[slot] = value;
    probe_gauge_set(loop->probe, gauge, value);
}

/* QUEUED and its parts as they are now.  Called just before every
 * callback and when the turn ends (see "What a turn costs" above). */
static void loop_publish_queue(struct loop *loop)
{
    if (loop->probe == NULL)
        return;
    size_t completions = loop->pending_source ? loop->pending_source(loop->pending_data) : 0;
    const struct loop_queue *q = &loop->queue;
    loop_show(loop, SHOWN_UNDISPATCHED, PROBE_GAUGE_Q_UNDISPATCHED, (int64_t)q->undispatched);
    loop_show(loop, SHOWN_TIMERS_EXPIRED, PROBE_GAUGE_Q_TIMERS_EXPIRED,
              (int64_t)q->timers_expired);
    loop_show(loop, SHOWN_COMPLETIONS, PROBE_GAUGE_Q_COMPLETIONS, (int64_t)completions);
    loop_show(loop, SHOWN_QUEUED, PROBE_GAUGE_QUEUED,
              (int64_t)(q->undispatched + q->timers_expired + completions));
    loop_show(loop, SHOWN_TIMERS_PENDING, PROBE_GAUGE_TIMERS_PENDING,
              (int64_t)timer_heap_count(&loop->timers));
}

/* TIMERS_PENDING, refreshed whenever a timer starts or stops. */
static void queue_timers_pending(struct loop *loop)
{
    if (loop->probe != NULL)
        loop_show(loop, SHOWN_TIMERS_PENDING, PROBE_GAUGE_TIMERS_PENDING,
                  (int64_t)timer_heap_count(&loop->timers));
}

/* The wait produced n entries, none dispatched yet. */
static void queue_ready(struct loop *loop, size_t n)
{
    if (loop->probe != NULL)
        loop->queue.undispatched = n;
}

/* One entry left the undispatched part: dispatched, or its watcher stopped. */
static void queue_entry_done(struct loop *loop)
{
    if (loop->probe == NULL)
        return;
    assert(loop->queue.undispatched > 0);
    loop->queue.undispatched--;
}

/* Counts the timers of `batch` as expired, waiting to run.  Visits only
 * the due timers (timer_heap_count_due), so it costs what running them
 * will cost anyway, and nothing at all when none is due. */
static void queue_count_timers(struct loop *loop, struct timer_batch batch)
{
    if (loop->probe == NULL)
        return;
    loop->queue.expired = batch;
    loop->queue.counting_timers = true;
    loop->queue.timers_expired = loop_timer_due(loop, batch.due_ns)
                                     ? timer_heap_count_due(&loop->timers, batch.due_ns)
                                     : 0;
}

/* A timer left the heap (fired or stopped): if it was counted, uncount it. */
static void queue_timer_gone(struct loop *loop, const struct loop_timer *timer)
{
    if (loop->probe == NULL || !loop->queue.counting_timers ||
        !timer_in_batch(timer, &loop->queue.expired))
        return;
    assert(loop->queue.timers_expired > 0);
    loop->queue.timers_expired--;
}

/* The timer phase is over: every counted timer has run or was stopped. */
static void queue_timers_done(struct loop *loop)
{
    if (loop->probe == NULL)
        return;
    assert(loop->queue.timers_expired == 0);
    loop->queue.counting_timers = false;
}

/* ---------------------------------------------------------------------
 * The phases of one turn.
 */

/* The time now, for a phase that needs it.  Reading the clock costs tens
 * of nanoseconds, more than any one probe call, and most turns already
 * hold a reading after which no callback has run: the wait's return, the end
 * of the last callback (timed when instrumented), or the timer phase's.
 * Only the loop's own bookkeeping, nanoseconds, lies between such a
 * reading and now, so it is used instead of a new one; clock_fresh_ns
 * keeps it, and whatever runs a callback sets it to 0 first.  The reading
 * may be behind the real time by those nanoseconds, never ahead of it:
 * a timeout computed from it can only come out a little longer, never
 * shorter, so no timer fires early.  It even carries over to the next
 * turn's wait, but only inside loop_run(): loop_run_once() starts from 0,
 * since its caller may have run for any time since the last turn. */
static uint64_t loop_clock_now(struct loop *loop)
{
    if (loop->clock_fresh_ns == 0)
        loop->clock_fresh_ns = clock_now_ns();
    return loop->clock_fresh_ns;
}

/* The wait may sleep until the nearest timer is due, and no longer than
 * the caller allows (-1: no limit from the caller). */
static int loop_wait_timeout(const struct loop *loop, uint64_t now, int caller_timeout_ms)
{
    int timeout_ms = -1;
    const struct loop_timer *next = timer_heap_peek(&loop->timers);
    if (next != NULL) {
        if (next->due_ns <= now) {
            timeout_ms = 0;
        } else {
            /* Round up: see "Timers" at the top of this file. */
            uint64_t ms = (next->due_ns - now + 999999) / 1000000;
            timeout_ms = ms > INT_MAX ? INT_MAX : (int)ms;
        }
    }
    if (caller_timeout_ms >= 0 && (timeout_ms < 0 || caller_timeout_ms < timeout_ms))
        timeout_ms = caller_timeout_ms;
    return timeout_ms;
}

/* 1. wait: sleep in the backend.  Returns the number of ready entries it
 * wrote to loop->ready, or a negative errno.
 *
 * One reading on each side of the sleep serves everything that needs the
 * time here: the timeout to the nearest timer, the busy time since the
 * previous wait, the events and thread state around the wait, and
 * loop_now_ns().  The one before the sleep is usually the previous
 * turn's last reading (loop_clock_now()). */
static int loop_phase_wait(struct loop *loop, int caller_timeout_ms)
{
    uint64_t before = loop_clock_now(loop);
    int timeout_ms = loop_wait_timeout(loop, before, caller_timeout_ms);

    /* While we sleep nothing is ready: READY drops to 0, the thread shows
     * as blocked in poll. */
    if (loop->probe != NULL) {
        probe_thread_gauge_add(loop->probe_thread, PROBE_GAUGE_LOOP_BUSY_NS,
                               (int64_t)(before - loop->busy_since_ns));
        probe_gauge_set(loop->probe, PROBE_GAUGE_READY, 0);
        probe_emit_at(loop->probe_thread, before, PROBE_EV_POLL_ENTER, -1,
                      timeout_ms < 0 ? UINT64_MAX : (uint64_t)timeout_ms, 0);
        probe_block_begin_at(loop->probe_thread, before, PROBE_CALL_POLL, -1);
    }

    int n = loop->backend->wait(loop->backend_state, timeout_ms, loop->ready,
                                LOOP_MAX_READY_PER_TURN);

    uint64_t after = clock_now_ns();
    loop->now_ns = after;
    loop->busy_since_ns = after;
    loop->clock_fresh_ns = after;
    if (loop->probe != NULL) {
        probe_block_end_at(loop->probe_thread, after, PROBE_CALL_POLL, -1);
        probe_emit_at(loop->probe_thread, after, PROBE_EV_POLL_RETURN, -1,
                      n > 0 ? (uint64_t)n : 0, 0);
    }

    /* A signal interrupted the sleep: nothing is ready, and the turn goes
     * on to the timers as after a timeout. */
    if (n == -EINTR)
        return 0;
    return n;
}

/* 2. collect: the backend's entries become this turn's ready list. */
static void loop_phase_collect(struct loop *loop, size_t n)
{
    loop->ready_count = n;
    loop->ready_next = 0;

    if (loop->probe != NULL) {
        /* QUEUED while dispatching: these entries, and the timers already
         * due that the timer phase will run.  It is published before the
         * first callback, nanoseconds from now (loop_phase_dispatch()). */
        queue_ready(loop, n);
        queue_count_timers(loop, loop_batch_at(loop, loop->now_ns));
        probe_gauge_set(loop->probe, PROBE_GAUGE_READY, (int64_t)n);
        loop_show(loop, SHOWN_LAST_READY, PROBE_GAUGE_LOOP_LAST_READY, (int64_t)n);
        probe_thread_hist_record(loop->probe_thread, PROBE_HIST_POLL_READY, n);
    }
}

/* Runs one watcher's callback, timed when instrumented. */
static void loop_dispatch_one(struct loop *loop, struct loop_io *io, unsigned revents)
{
    if (loop->probe_thread == NULL) {
        loop->clock_fresh_ns = 0;       /* time passes in the callback */
        io->cb(loop, io, revents);
        return;
    }
    /* One clock reading per callback: callbacks run back to back, so the
     * end of one is the start of the next (what lies between is this
     * loop's bookkeeping, nanoseconds), and the first starts when the
     * wait returned. */
    uint64_t start = loop_clock_now(loop);
    int fd = io->fd;    /* the callback may free io */
    probe_emit_at(loop->probe_thread, start, PROBE_EV_DISPATCH_BEGIN, fd, revents, 0);
    loop->clock_fresh_ns = 0;
    io->cb(loop, io, revents);
    uint64_t end = clock_now_ns();
    loop->clock_fresh_ns = end;
    uint64_t duration = end - start;
    probe_emit_at(loop->probe_thread, end, PROBE_EV_DISPATCH_END, fd, revents, duration);
    probe_thread_hist_record(loop->probe_thread, PROBE_HIST_DISPATCH_NS, duration);
}

/* 3. dispatch: every entry of the ready list, in order. */
static void loop_phase_dispatch(struct loop *loop)
{
    while (loop->ready_next < loop->ready_count) {
        /* Advance first: from here on this entry is not "undispatched",
         * and a stop inside the callback only scans entries after it. */
        struct backend_event event = loop->ready[loop->ready_next++];
        if (event.io == NULL)
            continue;   /* its watcher was stopped earlier in this turn */
        queue_entry_done(loop);

        /* The watcher may have been modified since the wait: deliver only
         * what it still asks for (errors always). */
        unsigned revents = event.revents & (event.io->events | LOOP_ERROR);
        if (revents != 0) {
            loop_publish_queue(loop);   /* what waits while this one runs */
            loop_dispatch_one(loop, event.io, revents);
        }
    }
    loop->ready_count = 0;
    loop->ready_next = 0;
}

/* Runs one timer's callback; it has already left the heap. */
static void loop_fire_timer(struct loop *loop, struct loop_timer *timer)
{
    if (loop->probe_thread != NULL) {
        /* Lateness from the real clock: a slow timer before this one in
         * the same turn makes this one late, and the view should say so. */
        uint64_t lateness = clock_now_ns() - timer->due_ns;
        probe_emit(loop->probe_thread, PROBE_EV_TIMER_FIRE, -1, lateness, 0);
        probe_hist_record(loop->probe, PROBE_HIST_LOOP_LAG_NS, lateness);
    }
    loop->clock_fresh_ns = 0;           /* time passes in the callback */
    timer->cb(loop, timer);
}

/* 4. timers: run this phase's batch, earliest first.  `dispatched`: the
 * dispatch phase ran callbacks (so time has passed since the wait). */
static void loop_phase_timers(struct loop *loop, bool dispatched)
{
    /* Callbacks took time since the wait returned; timers that fell due
     * meanwhile run now rather than one wait later.  (With no callback
     * run, the time of the wait's return is still fresh.) */
    if (dispatched)
        loop->now_ns = loop_clock_now(loop);
    if (!loop_timer_due(loop, loop->now_ns)) {
        queue_timers_done(loop);        /* the common turn: nothing due */
        return;
    }

    /* The batch is fixed here: see "Timers" at the top of this file. */
    loop->batch = loop_batch_at(loop, loop->now_ns);
    queue_count_timers(loop, loop->batch);

    for (;;) {
        struct loop_timer *timer = timer_heap_peek(&loop->timers);
        /* The heap is ordered by (due, start order), so once the earliest
         * timer is outside the batch, every other one is too: a timer due
         * later is later in the heap, and one started during this phase
         * is due no earlier than batch.due_ns, behind the batch's own. */
        if (timer == NULL || !timer_in_batch(timer, &loop->batch))
            break;
        timer_heap_remove(&loop->timers, timer);
        queue_timer_gone(loop, timer);
        loop_publish_queue(loop);       /* what waits while this one runs */
        loop_fire_timer(loop, timer);
    }
    queue_timers_done(loop);
}

/* One turn: the diagram of loop.h, step by step. */
static int loop_turn(struct loop *loop, int timeout_ms)
{
    assert(!loop->in_turn);     /* loop_run() from inside a callback */
    loop->in_turn = true;

    int n = loop_phase_wait(loop, timeout_ms);      /* 1. wait     */
    if (n >= 0) {
        loop_phase_collect(loop, (size_t)n);        /* 2. collect  */
        loop_phase_dispatch(loop);                  /* 3. dispatch */
        loop_phase_timers(loop, n > 0);             /* 4. timers   */
    }

    /* The turn is over: the gauges show what it left behind (QUEUED is
     * 0 now but for worker completions), never a value from inside it. */
    loop_publish_queue(loop);
    loop->turns++;
    probe_gauge_set(loop->probe, PROBE_GAUGE_LOOP_TURNS, (int64_t)loop->turns);
    loop->in_turn = false;
    return n < 0 ? n : 0;
}

/* Anything left to wait for? (The loop's own watchers do not count.) */
static bool loop_alive(const struct loop *loop)
{
    return loop->active_io > 0 || timer_heap_count(&loop->timers) > 0 || loop->requests > 0;
}

int loop_run(struct loop *loop)
{
    int rc = 0;
    loop->clock_fresh_ns = 0;       /* our caller ran since the last turn */
    while (rc == 0 && !atomic_load(&loop->stop_requested) && loop_alive(loop))
        rc = loop_turn(loop, -1);                   /* 5. repeat   */
    /* The stop is consumed here, so the next loop_run() runs again.  A
     * stop requested before loop_run() was called is honoured. */
    atomic_store(&loop->stop_requested, false);
    return rc;
}

int loop_run_once(struct loop *loop, int timeout_ms)
{
    loop->clock_fresh_ns = 0;       /* our caller ran since the last turn */
    return loop_turn(loop, timeout_ms);
}

/* Safe from any thread and from a signal handler (a lock-free atomic);
 * follow it with loop_wakeup() if the loop may be asleep in its wait. */
void loop_stop(struct loop *loop)
{
    atomic_store(&loop->stop_requested, true);
}

/* ---------------------------------------------------------------------
 * Creating and freeing.
 */

static const struct backend_ops *loop_find_backend(const char *name)
{
    for (size_t i = 0; loop_backend_names[i] != NULL; i++) {
        if (strcmp(loop_backend_names[i], name) == 0) {
            assert(strcmp(loop_backends[i]->name, name) == 0);
            return loop_backends[i];
        }
    }
    return NULL;
}

int loop_new(struct loop **out, const char *backend, struct probe_thread *probe)
{
    const struct backend_ops *ops = loop_find_backend(backend ? backend : "poll");
    if (ops == NULL)
        return -EINVAL;

    /* calloc: every count starts at zero, every pointer at NULL. */
    struct loop *loop = calloc(1, sizeof *loop);
    if (loop == NULL)
        return -ENOMEM;
    loop->backend = ops;
    loop->probe_thread = probe;
    loop->probe = probe_thread_probe(probe);
    loop->now_ns = clock_now_ns();
    loop->busy_since_ns = loop->now_ns;
    for (int i = 0; i < SHOWN_SLOTS; i++)
        loop->queue.shown[i] = -1;
    atomic_init(&loop->stop_requested, false);
    timer_heap_init(&loop->timers);

    int rc = ops->open(&loop->backend_state);
    if (rc < 0) {
        free(loop);
        return rc;
    }
    /* The doorbell exists from the start, so loop_wakeup() always works;
     * loop_set_wakeup_handler() only sets what runs when it rings. */
    rc = wakeup_open(&loop->wakeup, loop, NULL, NULL);
    if (rc < 0) {
        ops->close(loop->backend_state);
        free(loop->internal);
        free(loop);
        return rc;
    }
    *out = loop;
    return 0;
}

void loop_free(struct loop *loop)
{
    if (loop == NULL)
        return;
    assert(!loop->in_turn);
    assert(loop->active_io == 0 && "stop every io watcher before loop_free()");
    assert(timer_heap_count(&loop->timers) == 0 && "stop every timer before loop_free()");
    assert(loop->requests == 0 && "free the worker pool before loop_free()");
    wakeup_close(&loop->wakeup, loop);
    assert(loop->internal_count == 0 && "free the worker pool before loop_free()");

    loop->backend->close(loop->backend_state);
    timer_heap_free(&loop->timers);
    free(loop->internal);
    free(loop);
}

const char *loop_backend_name(const struct loop *loop)
{
    return loop->backend->name;
}

/* ---------------------------------------------------------------------
 * io watchers.
 */

void loop_io_init(struct loop_io *io, int fd, loop_io_cb cb, void *data)
{
    *io = (struct loop_io){ .fd = fd, .events = 0, .cb = cb, .data = data, .backend_slot = -1 };
}

static int loop_io_add(struct loop *loop, struct loop_io *io, unsigned events)
{
    assert(io->backend_slot == -1 && "starting a watcher that is already started");
    assert(io->fd >= 0 && io->cb != NULL);
    assert((events & ~(LOOP_READABLE | LOOP_WRITABLE | LOOP_ERROR)) == 0);
    io->events = events;
    int rc = loop->backend->add(loop->backend_state, io, events);
    if (rc == 0)
        assert(io->backend_slot >= 0);
    return rc;
}

int loop_io_start(struct loop *loop, struct loop_io *io, unsigned events)
{
    int rc = loop_io_add(loop, io, events);
    if (rc == 0)
        loop->active_io++;
    return rc;
}

int loop_io_start_internal(struct loop *loop, struct loop_io *io, unsigned events)
{
    /* Make room first, so nothing needs undoing if the backend says no. */
    if (loop->internal_count == loop->internal_capacity) {
        size_t capacity = loop->internal_capacity ? loop->internal_capacity * 2 : 4;
        struct loop_io **list = realloc(loop->internal, capacity * sizeof *list);
        if (list == NULL)
            return -ENOMEM;
        loop->internal = list;
        loop->internal_capacity = capacity;
    }
    int rc = loop_io_add(loop, io, events);
    if (rc == 0)
        loop->internal[loop->internal_count++] = io;
    return rc;
}

int loop_io_modify(struct loop *loop, struct loop_io *io, unsigned events)
{
    assert(loop_io_active(io) && "modifying a stopped watcher");
    assert((events & ~(LOOP_READABLE | LOOP_WRITABLE | LOOP_ERROR)) == 0);
    int rc = loop->backend->modify(loop->backend_state, io, events);
    if (rc == 0)
        io->events = events;
    return rc;
}

/* Clears io's entries still waiting in this turn's ready list, so that a
 * watcher stopped (and perhaps freed) by an earlier callback is never
 * dispatched.  Entries before ready_next were already dispatched. */
static void loop_forget_ready(struct loop *loop, const struct loop_io *io)
{
    for (size_t i = loop->ready_next; i < loop->ready_count; i++) {
        if (loop->ready[i].io == io) {
            loop->ready[i].io = NULL;
            queue_entry_done(loop);
        }
    }
}

/* Takes io off the internal list; false if it was not on it. */
static bool loop_forget_internal(struct loop *loop, const struct loop_io *io)
{
    for (size_t i = 0; i < loop->internal_count; i++) {
        if (loop->internal[i] == io) {
            loop->internal[i] = loop->internal[--loop->internal_count];
            return true;
        }
    }
    return false;
}

void loop_io_stop(struct loop *loop, struct loop_io *io)
{
    if (!loop_io_active(io))
        return;     /* already stopped: close paths need not check first */
    loop->backend->remove(loop->backend_state, io);
    io->backend_slot = -1;
    loop_forget_ready(loop, io);
    if (!loop_forget_internal(loop, io)) {
        assert(loop->active_io > 0);
        loop->active_io--;
    }
}

/* ---------------------------------------------------------------------
 * Timers.
 */

void loop_timer_init(struct loop_timer *timer, loop_timer_cb cb, void *data)
{
    *timer = (struct loop_timer){ .due_ns = 0, .cb = cb, .data = data,
                                  .heap_index = SIZE_MAX, .order = 0 };
}

/* Starting an active timer restarts it (handy for idle timeouts that are
 * pushed back on every read). */
void loop_timer_start(struct loop *loop, struct loop_timer *timer, uint64_t delay_ns)
{
    assert(timer->cb != NULL);
    loop_timer_stop(loop, timer);

    uint64_t now = clock_now_ns();
    timer->due_ns = delay_ns > UINT64_MAX - now ? UINT64_MAX : now + delay_ns;
    timer->order = loop->next_timer_order++;
    if (timer_heap_insert(&loop->timers, timer) < 0) {
        /* loop_timer_start() has no way to report an error, and a timer
         * that silently never fires is worse than stopping here. */
        fputs("evlab: out of memory starting a timer\n", stderr);
        abort();
    }
    queue_timers_pending(loop);
}

void loop_timer_stop(struct loop *loop, struct loop_timer *timer)
{
    if (!loop_timer_active(timer))
        return;
    timer_heap_remove(&loop->timers, timer);
    queue_timer_gone(loop, timer);      /* it will not run after all */
    queue_timers_pending(loop);
}

/* ---------------------------------------------------------------------
 * Small accessors and the cross-thread doorbell.
 */

uint64_t loop_now_ns(const struct loop *loop)
{
    return loop->now_ns;
}

void loop_set_wakeup_handler(struct loop *loop, void (*on_wakeup)(struct loop *, void *),
                             void *data)
{
    loop->wakeup.cb = on_wakeup;
    loop->wakeup.data = data;
}

void loop_wakeup(struct loop *loop)
{
    wakeup_signal(&loop->wakeup);
}

size_t loop_active_io_count(const struct loop *loop)
{
    return loop->active_io;
}

size_t loop_active_timer_count(const struct loop *loop)
{
    return timer_heap_count(&loop->timers);
}

uint64_t loop_turns(const struct loop *loop)
{
    return loop->turns;
}

void loop_set_pending_source(struct loop *loop, size_t (*pending)(void *), void *data)
{
    loop->pending_source = pending;
    loop->pending_data = data;
}

struct probe_thread *loop_probe_thread(const struct loop *loop)
{
    return loop->probe_thread;
}

void loop_request_begin(struct loop *loop)
{
    loop->requests++;
}

void loop_request_end(struct loop *loop)
{
    assert(loop->requests > 0);
    loop->requests--;
}
