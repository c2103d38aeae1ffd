/*
 * loop_internal.h — PRIVATE to lib/loop: the hooks the loop's own helpers
 * need (wakeup.c for the doorbell, worker_pool.c for the worker pool),
 * kept out of loop.h so that loop.h lists only what a program using the
 * loop calls.  Nothing outside lib/loop/ includes this file (the loop's
 * unit tests do, to check the hooks).
 *
 * Same conventions as loop.h: loop thread only, 0 or a negative errno,
 * misuse is an assertion.
 */
#ifndef EVLAB_LOOP_INTERNAL_H
#define EVLAB_LOOP_INTERNAL_H

#include <stddef.h>

#include "loop/loop.h"

/* Like loop_io_start(), for a watcher the loop needs for itself (the
 * wakeup eventfd, the worker pool's completion eventfd): it is dispatched
 * like any other but is not counted by loop_active_io_count(), so it does
 * not by itself keep loop_run() going.  Stop it with loop_io_stop(). */
int  loop_io_start_internal(struct loop *loop, struct loop_io *io, unsigned events);

/* An outstanding request (a job submitted to a worker, whose done() has
 * not run yet) keeps loop_run() going even when no watcher or timer is
 * active, so its continuation is never lost.  Each begin is matched by
 * exactly one end. */
void loop_request_begin(struct loop *loop);
void loop_request_end(struct loop *loop);

/* The worker pool adds its waiting completions to the QUEUED gauge
 * through this (instrumentation only: the loop never decides anything by
 * it).  pending NULL removes the source. */
void loop_set_pending_source(struct loop *loop, size_t (*pending)(void *), void *data);

/* The probe thread given to loop_new() (NULL when not instrumented), so
 * the worker pool emits its submit events on the loop thread's ring. */
struct probe_thread *loop_probe_thread(const struct loop *loop);

#endif
