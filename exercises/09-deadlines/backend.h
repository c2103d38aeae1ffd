/*
 * backend.h — the simulated slow backend of exercise 09, given to you
 * (do not edit; the grader uses its own copy).
 *
 * A real server would ask a database or another service and wait for the
 * answer; here a backend call is a timer on the loop that "answers" after
 * `ms` milliseconds by calling done(call, data) on the loop thread.
 *
 *     backend_call_start(loop, probe, &conn->call, ms, on_backend_done, conn);
 *     ...
 *     backend_call_cancel(loop, &conn->call);  // done() will not be called
 *
 * Every call that is started must end in exactly one of two ways: its
 * done() runs, or you cancel it.  The number of calls in flight is
 * published in the probe's PROBE_GAUGE_WORK_QUEUED gauge (shown as
 * `work_queued` by `evlab stats`); the tests read it to see whether you
 * cancelled the work of a client that left.
 *
 * Ownership: the caller embeds struct backend_call (in its connection)
 * and must not free it while backend_call_pending() is true.
 */
#ifndef EX09_BACKEND_H
#define EX09_BACKEND_H

#include <stdbool.h>
#include <stdint.h>

#include "loop/loop.h"
#include "probe/probe.h"

struct backend_call;
typedef void (*backend_done_cb)(struct backend_call *call, void *data);

struct backend_call {
    struct loop_timer timer;    /* backend-private from here on */
    backend_done_cb done;
    void *data;
    struct probe *probe;
    bool pending;
};

static inline bool backend_call_pending(const struct backend_call *call)
{
    return call->pending;
}

static inline void backend_call_fire(struct loop *loop, struct loop_timer *timer)
{
    (void)loop;
    struct backend_call *call = timer->data;
    call->pending = false;
    probe_gauge_add(call->probe, PROBE_GAUGE_WORK_QUEUED, -1);
    call->done(call, call->data);
}

static inline void backend_call_start(struct loop *loop, struct probe *probe,
                                      struct backend_call *call, uint32_t ms,
                                      backend_done_cb done, void *data)
{
    call->done = done;
    call->data = data;
    call->probe = probe;
    call->pending = true;
    loop_timer_init(&call->timer, backend_call_fire, call);
    loop_timer_start(loop, &call->timer, (uint64_t)ms * 1000000u);
    probe_gauge_add(probe, PROBE_GAUGE_WORK_QUEUED, 1);
}

/* Cancels a pending call (its done() will never run); harmless on a call
 * that is not pending. */
static inline void backend_call_cancel(struct loop *loop, struct backend_call *call)
{
    if (!call->pending)
        return;
    loop_timer_stop(loop, &call->timer);
    call->pending = false;
    probe_gauge_add(call->probe, PROBE_GAUGE_WORK_QUEUED, -1);
}

#endif
