/*
 * backend.h — the contract between the event loop and one readiness
 * mechanism (poll(2) or epoll(7)).
 *
 * The loop never calls poll() or epoll_wait() itself.  It holds a pointer
 * to one `const struct backend_ops` (chosen by name at loop_new()) and an
 * opaque state pointer that only that backend understands.  Each backend
 * lives in its own short file (backend_poll.c, backend_epoll.c), so a
 * student can read the two side by side and see that they answer the same
 * question — "which of these fds are ready?" — with different costs.
 *
 * Rules every backend keeps, so the loop behaves the same on each:
 *   - Level-triggered: an fd that is still ready is reported again on the
 *     next wait (like poll).  Nothing is lost if the loop does not drain it.
 *   - Events are LOOP_READABLE / LOOP_WRITABLE / LOOP_ERROR (loop.h).
 *     An error or hang-up is always reported as LOOP_ERROR, together with
 *     the directions the watcher asked for, so a handler that only tries to
 *     read (or write) meets the EOF or error in that call instead of being
 *     woken again and again.
 *   - At most one watcher per fd (epoll refuses a second with -EEXIST).
 *   - A watcher is removed before its fd is closed.
 *   - io->backend_slot is the backend's to use while the watcher is added
 *     (it must be >= 0 then); the loop sets it to -1 after remove().
 *   - Errors are 0 or a negative errno.
 */
#ifndef EVLAB_LOOP_BACKEND_H
#define EVLAB_LOOP_BACKEND_H

#include <stddef.h>

#include "loop/loop.h"

/* One entry of the ready list that wait() fills for the loop. */
struct backend_event {
    struct loop_io *io;     /* the watcher; the loop sets it to NULL if the
                               watcher is stopped before being dispatched */
    unsigned revents;       /* LOOP_READABLE | LOOP_WRITABLE | LOOP_ERROR */
};

struct backend_ops {
    /* The name users pass to loop_new() and `--backend`. */
    const char *name;

    /* Allocates the backend's private state and stores it in *state.
     * Returns 0, or a negative errno (e.g. -EMFILE from epoll_create1). */
    int (*open)(void **state);

    /* Frees the state and closes any descriptor the backend owns.  Every
     * watcher has already been removed. */
    void (*close)(void *state);

    /* Starts watching io->fd for `events` (LOOP_READABLE|LOOP_WRITABLE,
     * possibly 0: then only errors are reported).  Sets io->backend_slot
     * to a value >= 0.  Returns 0 or a negative errno; on error the
     * watcher is left as it was (not added). */
    int (*add)(void *state, struct loop_io *io, unsigned events);

    /* Changes the events of a watcher that was added.  0 or -errno. */
    int (*modify)(void *state, struct loop_io *io, unsigned events);

    /* Stops watching io->fd.  Cannot fail from the caller's point of view:
     * the watcher is gone from the backend afterwards. */
    void (*remove)(void *state, struct loop_io *io);

    /* Sleeps until at least one watched fd is ready or timeout_ms passes
     * (-1: no limit, 0: just look).  Writes at most ready_max entries to
     * `ready` and returns how many, 0 on timeout, or a negative errno
     * (-EINTR when a signal interrupted the sleep).  Must not call any
     * watcher's callback: dispatching is the loop's job. */
    int (*wait)(void *state, int timeout_ms, struct backend_event *ready, size_t ready_max);
};

/* The backends, registered by name in loop.c. */
extern const struct backend_ops backend_poll;
extern const struct backend_ops backend_epoll;

#endif
