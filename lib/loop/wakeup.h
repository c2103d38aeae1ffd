/*
 * wakeup.h — a doorbell any thread (or signal handler) can ring to make
 * the loop's wait return, and a callback the loop runs when it does.
 *
 * It is an eventfd watched by the loop like any other fd.  Ringing writes
 * 1 to it (one async-signal-safe write); the loop wakes, reads the
 * counter back to zero and runs the callback on the loop thread.  Several
 * rings before the loop answers add up to one callback: a doorbell says
 * "look", not "how many times".
 *
 * Used by loop_wakeup() (loop.c) and by the worker pool to announce
 * finished jobs.  Its watcher is started with loop_io_start_internal(), so
 * an open doorbell does not by itself keep loop_run() going.
 *
 * Ownership: the caller embeds struct wakeup and must call wakeup_close()
 * (on the loop thread) before freeing it or the loop.
 */
#ifndef EVLAB_LOOP_WAKEUP_H
#define EVLAB_LOOP_WAKEUP_H

#include "loop/loop.h"

struct wakeup {
    int fd;                      /* the eventfd; -1 while closed */
    struct loop_io io;           /* the loop's watcher on fd */
    void (*cb)(struct loop *loop, void *data);   /* may be NULL */
    void *data;                  /* passed to cb */
};

/* Creates the eventfd and starts watching it.  0 or a negative errno. */
int  wakeup_open(struct wakeup *wakeup, struct loop *loop,
                 void (*cb)(struct loop *loop, void *data), void *data);
/* Stops watching and closes the eventfd.  Safe on a closed doorbell. */
void wakeup_close(struct wakeup *wakeup, struct loop *loop);
/* Rings: safe from any thread and from signal handlers (keeps errno). */
void wakeup_signal(const struct wakeup *wakeup);

#endif
