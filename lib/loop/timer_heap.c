/*
 * timer_heap.c — a binary min-heap of timers (see timer_heap.h).
 *
 * Design.  The heap is an array read as a tree: the children of slot i are
 * slots 2i+1 and 2i+2, its parent is (i-1)/2, and every timer is due no
 * later than its children.  So the earliest timer is always items[0].
 * Inserting appends at the end and lets the timer rise ("sift up") while
 * it is earlier than its parent; removing moves the last timer into the
 * hole and lets it rise or sink ("sift down") until the order holds again.
 * Either walk is at most the tree's height, log2(n) steps.
 *
 * Every time a timer moves, its heap_index is updated: that is what makes
 * removing an arbitrary timer O(log n) instead of a search.
 */
#include "loop/timer_heap.h"

#include <assert.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

/* True when a must fire before b: earlier due time, or the same due time
 * and started earlier. */
static bool timer_before(const struct loop_timer *a, const struct loop_timer *b)
{
    if (a->due_ns != b->due_ns)
        return a->due_ns < b->due_ns;
    return a->order < b->order;
}

/* Puts timer into slot i and tells it so. */
static void heap_place(struct timer_heap *heap, size_t i, struct loop_timer *timer)
{
    heap->items[i] = timer;
    timer->heap_index = i;
}

static void heap_sift_up(struct timer_heap *heap, size_t i)
{
    struct loop_timer *timer = heap->items[i];
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!timer_before(timer, heap->items[parent]))
            break;
        heap_place(heap, i, heap->items[parent]);   /* parent moves down */
        i = parent;
    }
    heap_place(heap, i, timer);
}

static void heap_sift_down(struct timer_heap *heap, size_t i)
{
    struct loop_timer *timer = heap->items[i];
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= heap->count)
            break;
        /* Of the two children, the earlier one is the candidate to move up. */
        if (child + 1 < heap->count && timer_before(heap->items[child + 1], heap->items[child]))
            child++;
        if (!timer_before(heap->items[child], timer))
            break;
        heap_place(heap, i, heap->items[child]);    /* child moves up */
        i = child;
    }
    heap_place(heap, i, timer);
}

void timer_heap_init(struct timer_heap *heap)
{
    *heap = (struct timer_heap){ 0 };
}

void timer_heap_free(struct timer_heap *heap)
{
    free(heap->items);
    *heap = (struct timer_heap){ 0 };
}

int timer_heap_insert(struct timer_heap *heap, struct loop_timer *timer)
{
    assert(timer->heap_index == SIZE_MAX);   /* not already in a heap */
    if (heap->count == heap->capacity) {
        size_t capacity = heap->capacity ? heap->capacity * 2 : 16;
        struct loop_timer **items = realloc(heap->items, capacity * sizeof *items);
        if (items == NULL)
            return -ENOMEM;
        heap->items = items;
        heap->capacity = capacity;
    }
    heap->items[heap->count] = timer;
    heap->count++;
    heap_sift_up(heap, heap->count - 1);
    return 0;
}

void timer_heap_remove(struct timer_heap *heap, struct loop_timer *timer)
{
    size_t i = timer->heap_index;
    assert(i < heap->count && heap->items[i] == timer);

    struct loop_timer *last = heap->items[--heap->count];
    timer->heap_index = SIZE_MAX;
    if (last == timer)
        return;     /* it was the last slot: nothing to fill */

    /* The last timer fills the hole.  It may belong higher up (if it is
     * earlier than the hole's parent) or lower down; only one of the two
     * walks will move it. */
    heap->items[i] = last;
    last->heap_index = i;
    heap_sift_up(heap, i);
    heap_sift_down(heap, last->heap_index);
}

/* Counts the due timers in the subtree rooted at slot i.  A timer that is
 * not due has no due descendants, so its whole subtree is skipped. */
static size_t heap_count_due_from(const struct timer_heap *heap, size_t i, uint64_t now_ns)
{
    if (i >= heap->count || heap->items[i]->due_ns > now_ns)
        return 0;
    return 1 + heap_count_due_from(heap, 2 * i + 1, now_ns)
             + heap_count_due_from(heap, 2 * i + 2, now_ns);
}

size_t timer_heap_count_due(const struct timer_heap *heap, uint64_t now_ns)
{
    return heap_count_due_from(heap, 0, now_ns);
}
