/*
 * timers.c — exercise 05, reference solution: timers in a binary min-heap.
 *
 * The heap is an array in which heap[i]'s children are heap[2i+1] and
 * heap[2i+2], and no timer is due later than its children; so heap[0] is
 * always the earliest.  "Earlier" means a smaller due_ns, or the same
 * due_ns and a smaller seq (started first).  Every move of a timer inside
 * the array updates its heap_index, which is what lets timers_cancel()
 * find it without a search.  Insert: put it last and sift it up.  Remove:
 * move the last timer into its place, then sift that one up or down.
 *
 * timers_run_due() works in two steps, like the loop's own phases:
 *   1. collect: pop every timer due at now_ns off the heap, in order, onto
 *      a list (set->due_list); they are still active, marked TIMER_DUE;
 *   2. run: take them off the list one by one and call each.
 * Only timers collected in step 1 can run, so a callback that starts a
 * timer (even one due in the past) cannot make this call run it, and
 * cannot keep the call going forever.  A callback that cancels or
 * restarts a timer still on the list takes it off the list.
 */
#include "timers.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>

/* heap_index of a timer taken off the heap by timers_run_due() but not run yet. */
#define TIMER_DUE (SIZE_MAX - 1)

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

/* Does a fire before b? */
static bool earlier(const struct timer *a, const struct timer *b)
{
    if (a->due_ns != b->due_ns)
        return a->due_ns < b->due_ns;
    return a->seq < b->seq;
}

/* Puts `timer` at heap[i] and records where it is. */
static void place(struct timers *set, size_t i, struct timer *timer)
{
    set->heap[i] = timer;
    timer->heap_index = i;
}

static void sift_up(struct timers *set, size_t i)
{
    struct timer *timer = set->heap[i];
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!earlier(timer, set->heap[parent]))
            break;
        place(set, i, set->heap[parent]);   /* the parent moves down */
        i = parent;
    }
    place(set, i, timer);
}

static void sift_down(struct timers *set, size_t i)
{
    struct timer *timer = set->heap[i];
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= set->count)
            break;
        if (child + 1 < set->count && earlier(set->heap[child + 1], set->heap[child]))
            child++;                         /* the earlier of the two children */
        if (!earlier(set->heap[child], timer))
            break;
        place(set, i, set->heap[child]);     /* the child moves up */
        i = child;
    }
    place(set, i, timer);
}

/* Takes the timer at heap[i] out of the heap. */
static void heap_remove(struct timers *set, size_t i)
{
    struct timer *timer = set->heap[i];
    set->count--;
    if (i != set->count) {
        /* The last timer fills the hole; it may belong above or below. */
        struct timer *moved = set->heap[set->count];
        place(set, i, moved);
        sift_up(set, i);
        sift_down(set, moved->heap_index);
    }
    timer->heap_index = TIMER_INACTIVE;
}

/* Takes a collected-but-not-run timer off the due list. */
static void due_list_remove(struct timers *set, struct timer *timer)
{
    struct timer **link = &set->due_list;
    while (*link != timer)
        link = &(*link)->next_due;
    *link = timer->next_due;
    timer->next_due = NULL;
    timer->heap_index = TIMER_INACTIVE;
    set->due_count--;
}

void timers_cancel(struct timers *set, struct timer *timer)
{
    if (timer->heap_index == TIMER_INACTIVE)
        return;
    if (timer->heap_index == TIMER_DUE)
        due_list_remove(set, timer);
    else
        heap_remove(set, timer->heap_index);
}

int timers_start(struct timers *set, struct timer *timer, uint64_t due_ns)
{
    timers_cancel(set, timer);               /* restarting moves it */
    if (set->count == set->capacity) {
        size_t capacity = set->capacity ? 2 * set->capacity : 16;
        struct timer **heap = realloc(set->heap, capacity * sizeof *heap);
        if (heap == NULL)
            return -ENOMEM;
        set->heap = heap;
        set->capacity = capacity;
    }
    timer->due_ns = due_ns;
    timer->seq = set->next_seq++;
    set->count++;
    place(set, set->count - 1, timer);
    sift_up(set, set->count - 1);
    return 0;
}

struct timer *timers_peek(const struct timers *set)
{
    return set->count > 0 ? set->heap[0] : NULL;
}

size_t timers_count(const struct timers *set)
{
    return set->count + set->due_count;
}

int timers_timeout_ms(const struct timers *set, uint64_t now_ns)
{
    if (set->due_count > 0)
        return 0;
    const struct timer *first = timers_peek(set);
    if (first == NULL)
        return -1;
    if (first->due_ns <= now_ns)
        return 0;
    uint64_t wait_ns = first->due_ns - now_ns;
    /* Round up: waking before the timer is due would find nothing to
     * run and wait 0 ms again and again. */
    uint64_t wait_ms = wait_ns / 1000000 + (wait_ns % 1000000 != 0);
    return wait_ms > INT_MAX ? INT_MAX : (int)wait_ms;
}

size_t timers_run_due(struct timers *set, uint64_t now_ns)
{
    /* 1. Collect, earliest first, onto the due list. */
    struct timer **tail = &set->due_list;
    while (*tail != NULL)
        tail = &(*tail)->next_due;
    while (set->count > 0 && set->heap[0]->due_ns <= now_ns) {
        struct timer *timer = set->heap[0];
        heap_remove(set, 0);
        timer->heap_index = TIMER_DUE;
        timer->next_due = NULL;
        *tail = timer;
        tail = &timer->next_due;
        set->due_count++;
    }

    /* 2. Run them; callbacks may cancel or restart the ones still waiting. */
    size_t ran = 0;
    /* WRONG: keeps collecting while it runs, so a timer restarted "now"
     * by its own callback runs again and again, forever. */
    while (set->due_list != NULL || (set->count > 0 && set->heap[0]->due_ns <= now_ns)) {
        if (set->due_list == NULL) {
            struct timer *next = set->heap[0];
            heap_remove(set, 0);
            next->heap_index = TIMER_DUE;
            next->next_due = NULL;
            set->due_list = next;
            set->due_count++;
        }
        struct timer *timer = set->due_list;
        set->due_list = timer->next_due;
        timer->next_due = NULL;
        timer->heap_index = TIMER_INACTIVE;  /* inactive while its callback runs */
        set->due_count--;
        timer->cb(set, timer, timer->data);
        ran++;
    }
    return ran;
}
