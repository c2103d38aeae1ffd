/*
 * view_history.h — a bounded, in-order history of one server's events:
 * the newest VIEW_HISTORY_EVENTS the view has read, oldest first.
 *
 * The view reads events faster than it paints (view_limits.h), keeps the
 * newest here for the event log, and copies the whole history when the
 * user pauses, so step mode replays a recording that no longer changes.
 *
 * Errors: view_history_init() returns 0 or -ENOMEM.
 * Ownership: the caller owns the struct; init allocates the slots and
 * view_history_free() releases them (safe on a zeroed struct).
 */
#ifndef EVLAB_VIEW_HISTORY_H
#define EVLAB_VIEW_HISTORY_H

#include <stddef.h>
#include <stdint.h>

#include "probe/probe_reader.h"

struct view_history {
    struct probe_event_record *slots;
    size_t capacity;     /* slots allocated */
    size_t count;        /* slots holding an event (<= capacity) */
    size_t next;         /* slot the next event goes into */
    uint64_t total;      /* events ever pushed, including overwritten ones */
};

int  view_history_init(struct view_history *history, size_t capacity);
void view_history_free(struct view_history *history);
void view_history_clear(struct view_history *history);

/* Appends events (already in time order); the oldest make room. */
void view_history_push(struct view_history *history,
                       const struct probe_event_record *events, size_t n);

/* The i-th oldest event still held (i < count). */
const struct probe_event_record *view_history_at(const struct view_history *history,
                                                 size_t i);

/* Copies the newest min(count, max) events, oldest first; returns how many. */
size_t view_history_copy(const struct view_history *history,
                         struct probe_event_record *out, size_t max);

#endif
