/*
 * wakeup.c — the loop's doorbell (see wakeup.h).
 *
 * Design.  An eventfd is a 64-bit counter behind a descriptor: write()
 * adds to it, read() returns it and resets it to zero, and it is readable
 * while it is not zero.  That is exactly a doorbell the loop can watch
 * with poll or epoll.  (Before eventfd existed, programs used a pipe to
 * themselves — "the self-pipe trick" — which costs two descriptors.)
 *
 * Both ends are non-blocking: a ring must never make a worker or a signal
 * handler wait, and the loop's read must never block if two watchers of
 * the same counter raced.
 */
#include "loop/wakeup.h"

#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "loop/loop_internal.h"

/* Runs on the loop thread when the counter is not zero. */
static void wakeup_on_readable(struct loop *loop, struct loop_io *io, unsigned revents)
{
    struct wakeup *wakeup = io->data;
    uint64_t rings;
    /* Reset the counter first, so a ring that arrives while cb runs makes
     * the next wait return again instead of being swallowed.  EAGAIN only
     * means someone already reset it. */
    if (read(wakeup->fd, &rings, sizeof rings) < 0) {
        /* Nothing to do: the next ring makes it readable again. */
    }
    if (wakeup->cb != NULL)
        wakeup->cb(loop, wakeup->data);
}

int wakeup_open(struct wakeup *wakeup, struct loop *loop,
                void (*cb)(struct loop *loop, void *data), void *data)
{
    wakeup->fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (wakeup->fd < 0) {
        wakeup->fd = -1;
        return -errno;
    }
    wakeup->cb = cb;
    wakeup->data = data;
    loop_io_init(&wakeup->io, wakeup->fd, wakeup_on_readable, wakeup);
    int rc = loop_io_start_internal(loop, &wakeup->io, LOOP_READABLE);
    if (rc < 0) {
        close(wakeup->fd);
        wakeup->fd = -1;
    }
    return rc;
}

void wakeup_close(struct wakeup *wakeup, struct loop *loop)
{
    if (wakeup->fd < 0)
        return;
    loop_io_stop(loop, &wakeup->io);    /* stop before close: backend.h */
    close(wakeup->fd);
    wakeup->fd = -1;
}

void wakeup_signal(const struct wakeup *wakeup)
{
    /* A signal handler may interrupt code that is about to read errno;
     * write() could change it under that code, so we put it back. */
    int saved_errno = errno;
    uint64_t one = 1;
    /* The only failure that matters is EAGAIN (the counter is near 2^64):
     * the doorbell is then already ringing, which is all we want. */
    if (write(wakeup->fd, &one, sizeof one) < 0) {
        /* Nothing to undo, and no errno to report from a signal handler. */
    }
    errno = saved_errno;
}
