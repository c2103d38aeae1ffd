/*
 * timer_heap.h — the loop's timers, kept in a binary min-heap.
 *
 * The loop needs two answers fast: "which timer is due first?" (to know
 * how long the backend may sleep) and "remove this timer" (connections
 * cancel their timeouts all the time).  A binary heap ordered by
 * (due_ns, order) gives the first in O(1) and insert/remove in O(log n);
 * each timer keeps its own position in timer->heap_index, so removing it
 * needs no search.  `order` breaks ties: of two timers due at the same
 * nanosecond, the one started first fires first.
 *
 * Ownership: the heap holds pointers to timers the caller owns; it only
 * allocates its own array.  A timer is in the heap exactly when its
 * heap_index is not SIZE_MAX.  Errors: 0 or a negative errno.
 */
#ifndef EVLAB_TIMER_HEAP_H
#define EVLAB_TIMER_HEAP_H

#include <stddef.h>
#include <stdint.h>

#include "loop/loop.h"

struct timer_heap {
    struct loop_timer **items;   /* items[0] is the earliest timer */
    size_t count;                /* timers in the heap */
    size_t capacity;             /* slots allocated in items */
};

void timer_heap_init(struct timer_heap *heap);
void timer_heap_free(struct timer_heap *heap);   /* frees the array only */

/* Adds a timer that is not in the heap (due_ns and order already set).
 * Returns 0 or -ENOMEM. */
int  timer_heap_insert(struct timer_heap *heap, struct loop_timer *timer);

/* Removes a timer that is in the heap; sets its heap_index to SIZE_MAX. */
void timer_heap_remove(struct timer_heap *heap, struct loop_timer *timer);

/* The earliest timer, or NULL when the heap is empty.  This and
 * timer_heap_count() are inline: the loop asks both on every turn, and
 * each is one load. */
static inline struct loop_timer *timer_heap_peek(const struct timer_heap *heap)
{
    return heap->count > 0 ? heap->items[0] : NULL;
}

static inline size_t timer_heap_count(const struct timer_heap *heap)
{
    return heap->count;
}

/* How many timers are due at `now_ns` (due_ns <= now_ns); visits only
 * those, so it costs what running them will cost anyway. */
size_t timer_heap_count_due(const struct timer_heap *heap, uint64_t now_ns);

#endif
