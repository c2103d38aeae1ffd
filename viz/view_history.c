/*
 * view_history.c — a ring of event records (see view_history.h).
 *
 * Design.  `next` is where the next event goes; once the ring is full it
 * is also the oldest event, so "the i-th oldest" is slot (next + i) mod
 * capacity when full and slot i before that.  Only one thread (the view's)
 * ever touches a history, so there is no locking.
 */
#include "view_history.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

int view_history_init(struct view_history *history, size_t capacity)
{
    assert(capacity > 0);
    memset(history, 0, sizeof *history);
    history->slots = calloc(capacity, sizeof *history->slots);
    if (history->slots == NULL)
        return -ENOMEM;
    history->capacity = capacity;
    return 0;
}

void view_history_free(struct view_history *history)
{
    free(history->slots);
    memset(history, 0, sizeof *history);
}

void view_history_clear(struct view_history *history)
{
    history->count = 0;
    history->next = 0;
    history->total = 0;
}

void view_history_push(struct view_history *history,
                       const struct probe_event_record *events, size_t n)
{
    assert(history->slots != NULL);
    /* Of a batch larger than the ring only its tail can survive. */
    if (n > history->capacity) {
        history->total += n - history->capacity;
        events += n - history->capacity;
        n = history->capacity;
    }
    while (n > 0) {
        /* Copy up to the end of the slot array, then wrap around. */
        size_t run = history->capacity - history->next;
        if (run > n)
            run = n;
        memcpy(&history->slots[history->next], events, run * sizeof *events);
        history->next = (history->next + run) % history->capacity;
        history->count += run;
        if (history->count > history->capacity)
            history->count = history->capacity;
        history->total += run;
        events += run;
        n -= run;
    }
}

const struct probe_event_record *view_history_at(const struct view_history *history,
                                                 size_t i)
{
    assert(i < history->count);
    size_t oldest = history->count == history->capacity ? history->next : 0;
    return &history->slots[(oldest + i) % history->capacity];
}

size_t view_history_copy(const struct view_history *history,
                         struct probe_event_record *out, size_t max)
{
    size_t n = history->count < max ? history->count : max;
    size_t skip = history->count - n;
    for (size_t i = 0; i < n; i++)
        out[i] = *view_history_at(history, skip + i);
    return n;
}
