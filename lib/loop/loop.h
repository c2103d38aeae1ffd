/*
 * loop.h — a small single-threaded event loop, written to be read.
 *
 * One turn of loop_run() is the diagram from lesson 4:
 *
 *     1. wait     ask the backend (poll or epoll) which fds are ready,
 *                 sleeping at most until the nearest timer is due;
 *     2. collect  the backend fills the ready list for this turn;
 *     3. dispatch call each ready watcher's callback, one by one;
 *     4. timers   run every timer whose due time has passed;
 *     5. repeat   until loop_stop() or nothing is left to watch.
 *
 * The instrumentation (probe.h) hangs on those seams, not inside
 * callbacks: POLL_ENTER/POLL_RETURN around the wait, DISPATCH_BEGIN/END
 * around each callback, TIMER_FIRE with its lateness; the READY gauge is
 * what the wait returned, QUEUED is what of this turn is still waiting
 * (undispatched ready events + expired timers not yet run + completions
 * posted by the worker pool not yet delivered).  The loop decides nothing
 * by the instrumentation: built with the probes compiled out (make
 * PROBES=0) it runs exactly the same callbacks in the same order.
 *
 * Watchers and timers are owned by the caller (embed them in your
 * connection struct); the loop only links them.  Stopping a watcher from
 * inside any callback is allowed, even one whose event is still in this
 * turn's ready list: the loop forgets that pending event.  Freeing the
 * memory of a watcher that is still started is a bug (asserted where it
 * can be detected).
 *
 * Errors: 0 or a negative errno; nothing here sets or reads errno for the
 * caller.  Programmer errors (starting a started watcher, fd out of
 * range) are assertions.  Only one thread may touch a loop; other threads
 * talk to it through the worker pool's completion queue (worker_pool.h)
 * or loop_wakeup().
 */
#ifndef EVLAB_LOOP_H
#define EVLAB_LOOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct loop;
struct probe_thread;

/* Event bits, the same for every backend. */
#define LOOP_READABLE 0x1u
#define LOOP_WRITABLE 0x2u
#define LOOP_ERROR    0x4u   /* error or hang-up; always reported */

struct loop_io;
typedef void (*loop_io_cb)(struct loop *loop, struct loop_io *io, unsigned revents);

struct loop_io {
    int fd;
    unsigned events;        /* what we want to hear about */
    loop_io_cb cb;
    void *data;             /* yours */
    /* Loop-private from here on. */
    int backend_slot;       /* -1 while stopped */
};

struct loop_timer;
typedef void (*loop_timer_cb)(struct loop *loop, struct loop_timer *timer);

struct loop_timer {
    uint64_t due_ns;        /* CLOCK_MONOTONIC */
    loop_timer_cb cb;
    void *data;             /* yours */
    /* Loop-private from here on. */
    size_t heap_index;      /* SIZE_MAX while not started */
    uint64_t order;         /* tie-break: equal due times fire in start order */
};

/* backend: "poll" (default when NULL) or "epoll".  probe may be NULL. */
int  loop_new(struct loop **out, const char *backend, struct probe_thread *probe);
void loop_free(struct loop *loop);  /* every watcher must be stopped first */
const char *loop_backend_name(const struct loop *loop);

/* The names a user may pass as backend, NULL-terminated. */
extern const char *const loop_backend_names[];

void loop_io_init(struct loop_io *io, int fd, loop_io_cb cb, void *data);
int  loop_io_start(struct loop *loop, struct loop_io *io, unsigned events);
int  loop_io_modify(struct loop *loop, struct loop_io *io, unsigned events);
void loop_io_stop(struct loop *loop, struct loop_io *io);
static inline bool loop_io_active(const struct loop_io *io);

void loop_timer_init(struct loop_timer *timer, loop_timer_cb cb, void *data);
void loop_timer_start(struct loop *loop, struct loop_timer *timer, uint64_t delay_ns);
void loop_timer_stop(struct loop *loop, struct loop_timer *timer);
static inline bool loop_timer_active(const struct loop_timer *timer);

/* Runs turns until loop_stop() is called or no watcher or timer is
 * active.  Returns 0, or a negative errno if the backend failed. */
int  loop_run(struct loop *loop);
/* Runs exactly one turn, waiting at most timeout_ms (-1: until the next
 * timer or event).  For tests and for callers with their own outer loop. */
int  loop_run_once(struct loop *loop, int timeout_ms);
void loop_stop(struct loop *loop);

/* The loop's notion of now, refreshed after each wait and before the
 * timers run (cheap: no clock read).  Expiry is checked against it; a
 * timer's due time, though, is taken from the real clock when it is
 * started, so a timer started late in a long callback still never fires
 * early. */
uint64_t loop_now_ns(const struct loop *loop);

/* Safe from any thread and from signal handlers: makes a blocked wait
 * return so the loop notices loop_stop() or new completions. */
void loop_wakeup(struct loop *loop);
/* What runs on the loop thread after loop_wakeup() (NULL: nothing, the
 * default).  The doorbell itself exists from loop_new() on; this only
 * chooses the handler. */
void loop_set_wakeup_handler(struct loop *loop, void (*on_wakeup)(struct loop *, void *),
                             void *data);

/* Counts for callers and tests. */
size_t loop_active_io_count(const struct loop *loop);
size_t loop_active_timer_count(const struct loop *loop);
uint64_t loop_turns(const struct loop *loop);

/* Inline, because a connection asks them on every event: they read the
 * one private field that says whether the loop is watching. */
static inline bool loop_io_active(const struct loop_io *io)
{
    return io->backend_slot >= 0;
}

static inline bool loop_timer_active(const struct loop_timer *timer)
{
    return timer->heap_index != SIZE_MAX;
}

/* The loop's own helpers (wakeup.c, worker_pool.c) use a few more hooks;
 * they are in loop_internal.h, private to lib/loop/. */

#endif
