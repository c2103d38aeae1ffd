/*
 * record_slices.h — turning one server's recorded events back into
 * intervals ("slices") per thread: each loop turn, each wait in a call
 * (poll, accept, read, sleep...), each dispatch and each handler, with
 * the nesting they had on the thread.  `evlab trace` writes them as
 * trace slices (record_trace.h); the replay finds blocked-loop moments
 * with them (viz/replay_*.c).
 *
 * Design.  Every thread (ring) keeps a stack of open slices.  A begin
 * event pushes; an end event pops down to the slice it ends, closing any
 * slice still open above it at the same instant, so what comes out always
 * nests properly, whatever a recording that starts or stops mid-run, or a
 * gap, did to the pairs.  An end with no matching begin is ignored.  A
 * loop turn runs from one POLL_ENTER to the next.
 *
 * Errors: none; any event sequence is accepted.
 * Ownership: the caller owns the slicer (it is large: heap memory) and
 * the callback's context; a slice passed to the callback is only valid
 * during the call.
 */
#ifndef EVLAB_RECORD_SLICES_H
#define EVLAB_RECORD_SLICES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "probe/probe_reader.h"

enum record_slice_kind {
    RECORD_SLICE_TURN = 0,    /* one loop turn: wait, dispatches, timers */
    RECORD_SLICE_WAIT,        /* blocked in a call; detail = enum probe_call */
    RECORD_SLICE_DISPATCH,    /* detail = revents */
    RECORD_SLICE_HANDLER      /* detail = enum route_id */
};

struct record_slice {
    enum record_slice_kind kind;
    uint16_t ring;
    int32_t fd;
    uint64_t detail;
    uint64_t begin_ns, end_ns;
    unsigned depth;           /* 0: outermost on its thread */
    bool in_handler;          /* some enclosing slice is a handler */
};

/* Deepest nesting kept per thread (turn > dispatch > handler > wait is
 * four); deeper begins are ignored, with their ends. */
#define RECORD_SLICE_DEPTH 8

typedef void (*record_slice_cb)(void *context, const struct record_slice *slice);

struct record_slice_stack {
    struct record_slice open[RECORD_SLICE_DEPTH];
    unsigned depth;
};

struct record_slicer {
    record_slice_cb on_slice;
    void *context;
    struct record_slice_stack rings[PROBE_MAX_RINGS];
};

void record_slicer_init(struct record_slicer *slicer, record_slice_cb on_slice, void *context);

/* Feeds one event (in time order per ring). */
void record_slicer_event(struct record_slicer *slicer, const struct probe_event_record *event);

/* Events were lost: open slices cannot be trusted to end, so they are
 * dropped without being reported. */
void record_slicer_gap(struct record_slicer *slicer);

/* Closes every slice still open at t_ns (the end of the recording). */
void record_slicer_finish(struct record_slicer *slicer, uint64_t t_ns);

/* Whether a slice on a thread with role `role`, of a server of model
 * `model`, kept that server from serving anyone else for longer than
 * budget_ns: a handler, or a wait in anything but the loop's own poll,
 * accept or a worker's queue, on the one thread of a loop or blocking
 * server (never inside a handler already counted). */
bool record_slice_blocks_server(const struct record_slice *slice, const char *model,
                                const char *role, uint64_t budget_ns);

#endif
