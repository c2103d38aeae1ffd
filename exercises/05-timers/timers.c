/*
 * timers.c — exercise 05: timers in a binary min-heap.  You hand in this
 * file; timers.h (given, fixed) says exactly what each function must do.
 *
 * As given, timers can be initialised and counted, and nothing else
 * works.  A plan:
 *
 *   - The heap is set->heap[0 .. count-1]: heap[i]'s children are
 *     heap[2i+1] and heap[2i+2], and no timer fires later than its
 *     children, so heap[0] is the earliest.  "Earlier" = smaller due_ns,
 *     or the same due_ns and a smaller seq (started first).
 *   - Whenever a timer moves in the array, update its heap_index: then
 *     timers_cancel() knows where it is without searching.
 *   - Insert: append, sift up.  Remove heap[i]: move the last timer into
 *     slot i, then sift it up or down (it may belong either way).
 *   - timers_run_due(): first take every due timer off the heap (in
 *     order) onto set->due_list, then run them one by one.  Then a timer
 *     started by a callback cannot run in the same call; a callback that
 *     cancels or restarts a timer still on the list must take it off.
 *   - timers_timeout_ms(): round UP to whole milliseconds.
 */
#include "timers.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>

void timer_init(struct timer *timer, timer_cb cb, void *data)
{
    timer->due_ns = 0;
    timer->cb = cb;
    timer->data = data;
    timer->heap_index = TIMER_INACTIVE;
    timer->seq = 0;
    timer->next_due = NULL;
}

bool timer_active(const struct timer *timer)
{
    return timer->heap_index != TIMER_INACTIVE;
}

void timers_init(struct timers *set)
{
    set->heap = NULL;
    set->count = 0;
    set->capacity = 0;
    set->next_seq = 0;
    set->due_list = NULL;
    set->due_count = 0;
}

void timers_free(struct timers *set)
{
    free(set->heap);
    timers_init(set);
}

int timers_start(struct timers *set, struct timer *timer, uint64_t due_ns)
{
    (void)set; (void)timer; (void)due_ns;
    return -ENOSYS;   /* TODO: insert into the heap (or move, if active) */
}

void timers_cancel(struct timers *set, struct timer *timer)
{
    (void)set; (void)timer;   /* TODO */
}

struct timer *timers_peek(const struct timers *set)
{
    (void)set;
    return NULL;      /* TODO: the earliest timer */
}

size_t timers_count(const struct timers *set)
{
    return set->count + set->due_count;
}

int timers_timeout_ms(const struct timers *set, uint64_t now_ns)
{
    (void)set; (void)now_ns;
    return -1;        /* TODO: from the earliest timer, rounded up */
}

size_t timers_run_due(struct timers *set, uint64_t now_ns)
{
    (void)set; (void)now_ns;
    return 0;         /* TODO: collect the due timers, then run them */
}
