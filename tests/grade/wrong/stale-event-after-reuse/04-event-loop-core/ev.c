/*
 * ev.c — exercise 04, reference solution: the core of an event loop on
 * poll(2).
 *
 * Registrations live in a table indexed by descriptor number, so add,
 * modify and remove are O(1) and a callback's descriptor is found without
 * a search.  Each turn builds a pollfd array from the table (one entry per
 * registered descriptor), waits in poll(), and then walks the array.
 *
 * The hard part is a callback that changes the table while the array is
 * being walked.  The array is this turn's snapshot; the table is the
 * truth.  Before each callback the walk asks the table: is this
 * descriptor still registered, and is it still the *same* registration
 * that was polled?  The second question is what a generation number
 * answers: every ev_add() stamps its registration with a new one, and the
 * snapshot remembers the stamp it polled.  So when a callback removes
 * descriptor 7, closes it, opens a pipe that reuses number 7 and adds it
 * again, the old readiness of 7 (which was about another file) is not
 * delivered to the new registration.  The events passed are masked with
 * the registration's interest *now*, so an ev_modify() from an earlier
 * callback in the same turn also takes effect at once.
 */
#include "ev.h"

#include <assert.h>
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

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
    int max_fd;                           /* highest registered fd, or -1 */
    uint64_t next_generation;
    bool dispatching;                     /* inside ev_run_once()'s callbacks */
    /* This turn's snapshot: what was polled, and which registration. */
    struct pollfd polled[EV_MAX_FDS];
    uint64_t polled_generation[EV_MAX_FDS];
};

int ev_loop_new(struct ev_loop **out)
{
    struct ev_loop *loop = calloc(1, sizeof *loop);
    if (loop == NULL)
        return -ENOMEM;
    loop->max_fd = -1;
    loop->next_generation = 1;
    *out = loop;
    return 0;
}

void ev_loop_free(struct ev_loop *loop)
{
    if (loop == NULL)
        return;
    assert(!loop->dispatching && "ev_loop_free() from inside a callback");
    free(loop);
}

static bool valid_events(unsigned events)
{
    return (events & ~(EV_READ | EV_WRITE)) == 0;
}

int ev_add(struct ev_loop *loop, int fd, unsigned events, ev_callback cb, void *data)
{
    if (fd < 0 || fd >= EV_MAX_FDS || !valid_events(events) || cb == NULL)
        return -EINVAL;
    struct ev_watch *w = &loop->watches[fd];
    if (w->active)
        return -EEXIST;
    *w = (struct ev_watch){ .active = true, .events = events, .cb = cb, .data = data,
                            .generation = loop->next_generation++ };
    loop->count++;
    if (fd > loop->max_fd)
        loop->max_fd = fd;
    return 0;
}

int ev_modify(struct ev_loop *loop, int fd, unsigned events)
{
    if (fd < 0 || fd >= EV_MAX_FDS || !valid_events(events))
        return -EINVAL;
    if (!loop->watches[fd].active)
        return -ENOENT;
    loop->watches[fd].events = events;
    return 0;
}

int ev_remove(struct ev_loop *loop, int fd)
{
    if (fd < 0 || fd >= EV_MAX_FDS)
        return -EINVAL;
    if (!loop->watches[fd].active)
        return -ENOENT;
    loop->watches[fd].active = false;
    loop->count--;
    /* Shrink max_fd so the next turn does not scan dead slots. */
    while (loop->max_fd >= 0 && !loop->watches[loop->max_fd].active)
        loop->max_fd--;
    return 0;
}

size_t ev_count(const struct ev_loop *loop)
{
    return loop->count;
}

/* poll()'s answer in our bits. */
static unsigned from_poll(short revents)
{
    unsigned events = 0;
    if (revents & POLLIN)
        events |= EV_READ;
    if (revents & POLLOUT)
        events |= EV_WRITE;
    if (revents & (POLLERR | POLLHUP | POLLNVAL))
        events |= EV_ERROR;
    return events;
}

int ev_run_once(struct ev_loop *loop, int timeout_ms)
{
    assert(!loop->dispatching && "ev_run_once() from inside a callback");
    if (loop->count == 0)
        return 0;                 /* nothing could ever wake us */

    /* 1. Snapshot the registrations into the pollfd array. */
    nfds_t n = 0;
    for (int fd = 0; fd <= loop->max_fd; fd++) {
        const struct ev_watch *w = &loop->watches[fd];
        if (!w->active)
            continue;
        loop->polled[n].fd = fd;
        loop->polled[n].events = (short)(((w->events & EV_READ) ? POLLIN : 0) |
                                         ((w->events & EV_WRITE) ? POLLOUT : 0));
        loop->polled[n].revents = 0;
        loop->polled_generation[n] = w->generation;
        n++;
    }

    /* 2. Wait.  A signal is not an error: report an empty turn. */
    int ready = poll(loop->polled, n, timeout_ms);
    if (ready < 0)
        return errno == EINTR ? 0 : -errno;

    /* 3. Dispatch, checking the table before every callback. */
    int called = 0;
    loop->dispatching = true;
    for (nfds_t i = 0; i < n && ready > 0; i++) {
        if (loop->polled[i].revents == 0)
            continue;
        ready--;
        int fd = loop->polled[i].fd;
        struct ev_watch *w = &loop->watches[fd];
        if (!w->active)           /* WRONG: not whether it is the same registration */
            continue;             /* removed (or replaced) by an earlier callback */
        unsigned events = from_poll(loop->polled[i].revents) & (w->events | EV_ERROR);
        if (events == 0)
            continue;             /* its interest changed since the wait */
        w->cb(loop, fd, events, w->data);
        called++;
    }
    loop->dispatching = false;
    return called;
}
