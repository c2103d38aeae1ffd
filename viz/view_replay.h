/*
 * view_replay.h — step mode's reconstruction of a server at recorded
 * event N: the state of every thread and of the loop's current turn,
 * rebuilt by folding recorded events 0..N-1 (slow motion).  view_model.h
 * turns the result into a pane.
 *
 * Errors: none; any recording is accepted (rings out of range are
 * ignored).  Ownership: the caller owns the event array and the result;
 * nothing keeps a pointer to either.
 */
#ifndef EVLAB_VIEW_REPLAY_H
#define EVLAB_VIEW_REPLAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "probe/probe_reader.h"
#include "view_limits.h"
#include "view_tracker.h"

struct view_ring_replay {
    bool exists;              /* started before this point, not exited */
    uint8_t state;            /* enum probe_thread_state */
    uint8_t call;             /* when BLOCKED */
    int32_t fd;
    uint64_t since_ns;        /* 0: before the recording began */
    struct view_ring_handler handler;
};

struct view_replay {
    size_t applied;           /* events folded in: 0..applied-1 */
    uint64_t t_ns;
    struct view_ring_replay rings[PROBE_MAX_RINGS];
    /* The loop's turn in progress: poll() returned `turn_ready` events,
     * `turn_dispatched` of them have been dispatched so far. */
    bool in_turn;
    uint32_t turn_ready, turn_dispatched;
    uint32_t turns[VIEW_TURN_STRIP_LEN];   /* oldest first */
    size_t turn_count;
    int64_t accepts, closes, handlers_done;
    uint64_t last_lateness_ns;
};

/* Folds events[0..upto) into *out, starting from the state each thread
 * must have had before events[0] (inferred from its first event in the
 * whole recording; for a thread with no events, from `fallback`, the
 * snapshot taken after the recording, may be NULL). */
void view_replay_run(const struct probe_event_record *events, size_t n, size_t upto,
                     const struct probe_snapshot *fallback, struct view_replay *out);

/* Events of events[0..n) at or before t_ns (they are in time order). */
size_t view_events_until(const struct probe_event_record *events, size_t n, uint64_t t_ns);

#endif
