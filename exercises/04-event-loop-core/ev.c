/*
 * ev.c — exercise 04: the core of an event loop.  You hand in this file;
 * ev.h (given, fixed) says exactly what each function must do.
 *
 * As given, the loop can be created and freed, and everything else
 * answers -ENOSYS.  A plan that works (poll(2) is the simpler backend;
 * epoll(7) is fine too):
 *
 *   - Keep one registration per descriptor in a table indexed by fd
 *     (struct ev_watch below): add, modify and remove are then O(1).
 *   - ev_run_once(): copy the registrations into a pollfd array (this
 *     turn's snapshot), poll(), then walk the array and call the callback
 *     of each ready entry.
 *   - While walking, callbacks change the table.  Before each callback,
 *     look the descriptor up in the table again: skip it if it was
 *     removed — or removed and added again, which its number alone cannot
 *     tell you (give every ev_add() a new generation number and remember
 *     in the snapshot which one you polled).  Mask the events with the
 *     registration's interest as it is *now*.
 */
#include "ev.h"

#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

/* One registered descriptor (a suggestion: change it as you like). */
struct ev_watch {
    bool active;
    unsigned events;          /* EV_READ | EV_WRITE wanted */
    ev_callback cb;
    void *data;
    uint64_t generation;      /* which ev_add() made this registration */
};

struct ev_loop {
    struct ev_watch watches[EV_MAX_FDS];  /* indexed by fd */
    size_t count;                         /* registered descriptors */
    /* TODO: what ev_run_once() needs (the pollfd snapshot, ...). */
};

int ev_loop_new(struct ev_loop **out)
{
    struct ev_loop *loop = calloc(1, sizeof *loop);
    if (loop == NULL)
        return -ENOMEM;
    *out = loop;
    return 0;
}

void ev_loop_free(struct ev_loop *loop)
{
    free(loop);
}

int ev_add(struct ev_loop *loop, int fd, unsigned events, ev_callback cb, void *data)
{
    (void)loop; (void)fd; (void)events; (void)cb; (void)data;
    return -ENOSYS;   /* TODO */
}

int ev_modify(struct ev_loop *loop, int fd, unsigned events)
{
    (void)loop; (void)fd; (void)events;
    return -ENOSYS;   /* TODO */
}

int ev_remove(struct ev_loop *loop, int fd)
{
    (void)loop; (void)fd;
    return -ENOSYS;   /* TODO */
}

size_t ev_count(const struct ev_loop *loop)
{
    return loop->count;
}

int ev_run_once(struct ev_loop *loop, int timeout_ms)
{
    (void)loop; (void)timeout_ms;
    return -ENOSYS;   /* TODO: wait, collect, dispatch */
}
