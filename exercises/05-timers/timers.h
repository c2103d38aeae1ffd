/*
 * timers.h — exercise 05: the timers of an event loop.  This header is
 * given and fixed (the tests include it); you write timers.c.
 *
 * A loop needs two answers about its timers, fast and often:
 *   - "how long may I sleep?"  — until the earliest due time, so the wait
 *     (poll's timeout) comes from the first timer: timers_timeout_ms();
 *   - "which timers are due now?" — run them, earliest first:
 *     timers_run_due().
 * and connections start and cancel timeouts all the time.  A binary
 * min-heap ordered by due time gives the earliest timer in O(1) and start,
 * cancel and pop in O(log n).  Each timer remembers its own position in
 * the heap (heap_index), so cancelling needs no search.
 *
 * Time is passed in by the caller (now_ns, CLOCK_MONOTONIC nanoseconds),
 * never read here: the loop reads the clock once per turn, and the tests
 * can use any clock they like.
 *
 * The rules (the tests check each one):
 *   - Timers fire in order of due_ns; two with the same due_ns fire in
 *     the order they were started.
 *   - timers_timeout_ms() rounds UP: a timer due in 0.3 ms gives 1, not
 *     0.  Rounding down would wake the loop before the timer is due, find
 *     nothing to do, and wait 0 ms again and again: a spin.
 *   - A timer is no longer active when its callback runs, so the callback
 *     may start it again (a periodic timer) or free it.
 *   - Callbacks may start and cancel any timer.  A timer cancelled by an
 *     earlier callback of the same timers_run_due() does not run.  A timer
 *     started (or restarted) during timers_run_due() is not run by that
 *     same call, even if it is already due: it waits for the next call
 *     (so a timer restarted "now" cannot keep the call going forever).
 *
 * Ownership: the caller owns every struct timer (embed it in your own
 * struct) and the struct timers; timers.c only allocates the heap array,
 * freed by timers_free().  A timer must not be freed while it is active.
 * Errors: 0 or a negative errno.
 */
#ifndef TIMERS_H
#define TIMERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct timers;
struct timer;

typedef void (*timer_cb)(struct timers *set, struct timer *timer, void *data);

#define TIMER_INACTIVE SIZE_MAX   /* heap_index of a timer that is not started */

struct timer {
    uint64_t due_ns;        /* when it is due; set by timers_start() */
    timer_cb cb;
    void *data;             /* yours, handed to cb */
    /* Private to timers.c from here on (the tests do not read them). */
    size_t heap_index;      /* position in the heap, or TIMER_INACTIVE */
    uint64_t seq;           /* start order, to break ties */
    struct timer *next_due; /* free for your use (e.g. a list of due timers) */
};

struct timers {
    struct timer **heap;    /* heap[0] is the earliest timer */
    size_t count;           /* timers in the heap */
    size_t capacity;        /* slots allocated in heap */
    uint64_t next_seq;      /* the next start order number */
    /* Free for your use (e.g. the due timers timers_run_due() has taken
     * out of the heap but not run yet). */
    struct timer *due_list;
    size_t due_count;
};

void timer_init(struct timer *timer, timer_cb cb, void *data);
/* True from timers_start() until it fires or is cancelled. */
bool timer_active(const struct timer *timer);

void timers_init(struct timers *set);
/* Frees the heap array; the timers themselves are the caller's. */
void timers_free(struct timers *set);

/* Starts `timer` to be due at due_ns.  Starting an active timer moves it
 * (it fires once, at the new time).  0 or -ENOMEM. */
int  timers_start(struct timers *set, struct timer *timer, uint64_t due_ns);
/* Cancels an active timer; does nothing to an inactive one. */
void timers_cancel(struct timers *set, struct timer *timer);

/* The earliest active timer, or NULL. */
struct timer *timers_peek(const struct timers *set);
/* How many timers are active. */
size_t timers_count(const struct timers *set);

/* The wait's timeout at now_ns: -1 when no timer is active (wait without
 * limit), 0 when one is already due, else the milliseconds until the
 * earliest, rounded up, at most INT_MAX. */
int  timers_timeout_ms(const struct timers *set, uint64_t now_ns);

/* Runs every timer due at now_ns (due_ns <= now_ns), by the rules above.
 * Returns how many callbacks ran. */
size_t timers_run_due(struct timers *set, uint64_t now_ns);

#endif
