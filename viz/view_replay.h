/*
 * view_replay.h — step mode's reconstruction of a server at recorded
 * event N: the state of every thread and of the loop's current turn,
 * rebuilt by folding recorded events 0..N-1 (slow motion).  view_model.h
 * turns the result into a pane.
 *
 * The fold can be kept and continued: view_replay_begin() sets up the
 * state before event 0, view_replay_continue() folds further events into
 * it, and a copy taken at event K and continued to N is the very state a
 * fold from 0 to N reaches (struct view_replay holds everything the fold
 * depends on).  That is how a replay of millions of events keeps copies
 * every few thousand events (viz/replay_source.c) and never starts again
 * from event 0.  Threads that emitted nothing that changes their state
 * (silent threads) take their state from a snapshot instead, filled in
 * afterwards by view_replay_fill_silent(): the fold never touches them.
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
    /* true: the ring's state comes from its own events; false: a silent
     * ring, whose state view_replay_fill_silent() takes from a snapshot. */
    bool from_events[PROBE_MAX_RINGS];
    /* The loop's turn in progress: poll() returned `turn_ready` events,
     * `turn_dispatched` of them have been dispatched so far. */
    bool in_turn;
    uint32_t turn_ready, turn_dispatched;
    uint32_t turns[VIEW_TURN_STRIP_LEN];   /* oldest first */
    size_t turn_count;
    int64_t accepts, closes, handlers_done;
    uint64_t last_lateness_ns;
};

/* The state before events[0] (nothing folded yet): each thread's state
 * inferred from its first event in the whole recording.  O(n). */
void view_replay_begin(const struct probe_event_record *events, size_t n,
                       struct view_replay *out);

/* Folds events[state->applied..upto) into *state (upto is clamped to n;
 * it must not be below state->applied: to go back, restore a copy). */
void view_replay_continue(struct view_replay *state, const struct probe_event_record *events,
                          size_t n, size_t upto);

/* Sets the silent threads (from_events false) to what `fallback` says, a
 * snapshot taken after the recording, or to "not started" when it is
 * NULL or does not list them.  Can be called again with another
 * snapshot: each call starts those threads over. */
void view_replay_fill_silent(struct view_replay *state, const struct probe_event_record *events,
                             size_t n, const struct probe_snapshot *fallback);

/* All three at once: folds events[0..upto) into *out, starting from the
 * state each thread must have had before events[0] (for a silent thread,
 * from `fallback`, which may be NULL). */
void view_replay_run(const struct probe_event_record *events, size_t n, size_t upto,
                     const struct probe_snapshot *fallback, struct view_replay *out);

/* Events of events[0..n) at or before t_ns (they are in time order). */
size_t view_events_until(const struct probe_event_record *events, size_t n, uint64_t t_ns);

#endif
