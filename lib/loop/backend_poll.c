/*
 * backend_poll.c — the poll(2) backend: the simplest readiness mechanism,
 * and the one lesson 4 starts from.
 *
 * Design.  poll() wants an array of struct pollfd, one per fd, rebuilt by
 * nobody: we keep that array alive between waits and edit it in place.
 * Beside it runs a parallel array of watcher pointers, so that slot i of
 * `fds` and slot i of `watchers` describe the same watcher, and each
 * watcher remembers its slot in io->backend_slot.  Adding appends; removing
 * moves the last slot into the hole (see poll_remove()), so both arrays
 * stay dense and every operation except the wait is O(1).
 *
 * The cost lesson 4 points at: every wait hands the kernel the whole array
 * and the kernel checks every fd, so a wait costs O(watched fds) even when
 * one fd is ready.  backend_epoll.c does not have that cost.
 */
#include "loop/backend.h"

#include <assert.h>
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdlib.h>

struct poll_state {
    struct pollfd *fds;          /* what poll() reads and fills */
    struct loop_io **watchers;   /* watchers[i] owns fds[i] */
    size_t count;                /* slots in use, in both arrays */
    size_t capacity;             /* slots allocated, in both arrays */
    size_t first_slot;           /* where the next collect starts (fairness) */
    bool walking;                /* true while the ready slots are collected */
};

static short poll_events_from_loop(unsigned events)
{
    short out = 0;
    if (events & LOOP_READABLE)
        out |= POLLIN;
    if (events & LOOP_WRITABLE)
        out |= POLLOUT;
    return out;
}

static unsigned poll_revents_to_loop(short revents, unsigned wanted)
{
    unsigned out = 0;
    if (revents & (POLLIN | POLLPRI))
        out |= LOOP_READABLE;
    if (revents & POLLOUT)
        out |= LOOP_WRITABLE;
    /* POLLNVAL means the fd was closed while still watched: a bug in the
     * caller, but reporting it as an error lets that one connection fail
     * instead of the whole server. */
    if (revents & (POLLERR | POLLHUP | POLLNVAL))
        out |= LOOP_ERROR | (wanted & (LOOP_READABLE | LOOP_WRITABLE));
    return out;
}

static int poll_open(void **state)
{
    struct poll_state *ps = calloc(1, sizeof *ps);
    if (ps == NULL)
        return -ENOMEM;
    *state = ps;
    return 0;
}

static void poll_close(void *state)
{
    struct poll_state *ps = state;
    assert(ps->count == 0);     /* the loop removes every watcher first */
    free(ps->fds);
    free(ps->watchers);
    free(ps);
}

/* Doubles both arrays together, so they always have the same capacity. */
static int poll_grow(struct poll_state *ps)
{
    size_t capacity = ps->capacity ? ps->capacity * 2 : 64;
    struct pollfd *fds = realloc(ps->fds, capacity * sizeof *fds);
    if (fds == NULL)
        return -ENOMEM;
    ps->fds = fds;
    struct loop_io **watchers = realloc(ps->watchers, capacity * sizeof *watchers);
    if (watchers == NULL)
        return -ENOMEM;     /* fds stays bigger than needed; harmless */
    ps->watchers = watchers;
    ps->capacity = capacity;
    return 0;
}

static int poll_add(void *state, struct loop_io *io, unsigned events)
{
    struct poll_state *ps = state;
    assert(!ps->walking);
    if (ps->count == ps->capacity) {
        int rc = poll_grow(ps);
        if (rc < 0)
            return rc;
    }
    size_t slot = ps->count++;
    ps->fds[slot] = (struct pollfd){ .fd = io->fd, .events = poll_events_from_loop(events) };
    ps->watchers[slot] = io;
    io->backend_slot = (int)slot;
    return 0;
}

static int poll_modify(void *state, struct loop_io *io, unsigned events)
{
    struct poll_state *ps = state;
    size_t slot = (size_t)io->backend_slot;
    assert(!ps->walking);
    assert(slot < ps->count && ps->watchers[slot] == io);
    ps->fds[slot].events = poll_events_from_loop(events);
    return 0;
}

/*
 * Swap-with-last removal.  Shifting every later slot down by one would
 * cost O(n) per close; instead the last slot moves into the hole and the
 * moved watcher is told its new slot.  Order inside the array carries no
 * meaning, so nothing is lost.  This is only safe while nobody is walking
 * the array — hence the assertion: a removal during the collect would
 * move an unvisited slot into an already visited one, and its event would
 * be missed.
 */
static void poll_remove(void *state, struct loop_io *io)
{
    struct poll_state *ps = state;
    size_t slot = (size_t)io->backend_slot;
    assert(!ps->walking);
    assert(slot < ps->count && ps->watchers[slot] == io);

    size_t last = --ps->count;
    if (slot != last) {
        ps->fds[slot] = ps->fds[last];
        ps->watchers[slot] = ps->watchers[last];
        ps->watchers[slot]->backend_slot = (int)slot;
    }
}

/* Collects the ready slots among [from, to) into `ready`, counting down
 * *left (how many slots poll() said have revents).  Returns false when
 * the ready list filled up first: *stopped_at is then the slot that did
 * not fit, where the next collect starts. */
static bool poll_collect(struct poll_state *ps, size_t from, size_t to, int *left,
                         struct backend_event *ready, size_t ready_max, size_t *found,
                         size_t *stopped_at)
{
    for (size_t slot = from; slot < to && *left > 0; slot++) {
        const struct pollfd *p = &ps->fds[slot];
        if (p->revents == 0)
            continue;
        if (*found == ready_max) {
            *stopped_at = slot;
            return false;
        }
        (*left)--;
        struct loop_io *io = ps->watchers[slot];
        ready[*found].io = io;
        ready[*found].revents = poll_revents_to_loop(p->revents, io->events);
        (*found)++;
    }
    return true;
}

static int poll_wait(void *state, int timeout_ms, struct backend_event *ready, size_t ready_max)
{
    struct poll_state *ps = state;
    int n = poll(ps->fds, (nfds_t)ps->count, timeout_ms);
    if (n < 0)
        return -errno;

    /* Collect: turn every slot with revents into a ready-list entry.  When
     * more fds are ready than the list holds, the next wait starts where
     * this one stopped, so the slots at the end of the array are not
     * starved by those at the front.  The walk is two plain ranges (from
     * the start slot to the end, then from 0 up to it), and it stops as
     * soon as it has met the n slots poll() counted: the only per-slot
     * work in userspace is that one look at revents, which the kernel has
     * just written for every slot anyway. */
    size_t found = 0;
    size_t start = ps->first_slot < ps->count ? ps->first_slot : 0;
    size_t stopped_at = 0;
    ps->first_slot = 0;
    ps->walking = true;
    if (!poll_collect(ps, start, ps->count, &n, ready, ready_max, &found, &stopped_at) ||
        !poll_collect(ps, 0, start, &n, ready, ready_max, &found, &stopped_at))
        ps->first_slot = stopped_at;
    ps->walking = false;
    return (int)found;
}

const struct backend_ops backend_poll = {
    .name = "poll",
    .open = poll_open,
    .close = poll_close,
    .add = poll_add,
    .modify = poll_modify,
    .remove = poll_remove,
    .wait = poll_wait,
};
