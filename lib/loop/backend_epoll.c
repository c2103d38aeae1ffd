/*
 * backend_epoll.c — the epoll(7) backend, used level-triggered so that it
 * behaves exactly like the poll backend.
 *
 * Design.  With poll() the program hands the kernel the whole fd list on
 * every wait.  With epoll the kernel keeps the interest list itself
 * (epoll_ctl ADD/MOD/DEL, once per change) and a wait returns only the
 * fds that are ready, so its cost follows the number of ready fds, not the
 * number watched — the reason an epoll loop holds 10,000 idle connections
 * cheaply.
 *
 * Each kernel event carries the fd, and we find the watcher through a
 * table indexed by fd (as Redis does).  Storing the watcher pointer in the
 * event instead would be shorter, but a stale event (an fd closed without
 * being removed while a duplicate of it keeps the registration alive)
 * would then hand us a pointer to freed memory; a table lookup can only
 * find "nobody".
 */
#include "loop/backend.h"

#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>

struct epoll_state {
    int epoll_fd;
    struct loop_io **by_fd;        /* by_fd[fd]: the watcher of fd, or NULL */
    size_t by_fd_len;              /* entries in by_fd */
    struct epoll_event *events;    /* what epoll_wait() fills */
    size_t events_len;
};

static uint32_t epoll_events_from_loop(unsigned events)
{
    /* Without EPOLLET, epoll is level-triggered, like poll. */
    uint32_t out = 0;
    if (events & LOOP_READABLE)
        out |= EPOLLIN;
    if (events & LOOP_WRITABLE)
        out |= EPOLLOUT;
    return out;
}

static unsigned epoll_revents_to_loop(uint32_t revents, unsigned wanted)
{
    unsigned out = 0;
    if (revents & (EPOLLIN | EPOLLPRI))
        out |= LOOP_READABLE;
    if (revents & EPOLLOUT)
        out |= LOOP_WRITABLE;
    /* Same rule as the poll backend: an error also wakes the direction the
     * watcher asked for, so its read or write meets the error. */
    if (revents & (EPOLLERR | EPOLLHUP))
        out |= LOOP_ERROR | (wanted & (LOOP_READABLE | LOOP_WRITABLE));
    return out;
}

static int epoll_open(void **state)
{
    struct epoll_state *es = calloc(1, sizeof *es);
    if (es == NULL)
        return -ENOMEM;
    /* CLOEXEC: a child started with exec must not inherit our interest list. */
    es->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
    if (es->epoll_fd < 0) {
        int err = -errno;
        free(es);
        return err;
    }
    *state = es;
    return 0;
}

static void epoll_close(void *state)
{
    struct epoll_state *es = state;
    close(es->epoll_fd);
    free(es->by_fd);
    free(es->events);
    free(es);
}

/* Makes by_fd long enough to hold index fd. */
static int epoll_reserve_fd(struct epoll_state *es, int fd)
{
    if ((size_t)fd < es->by_fd_len)
        return 0;
    size_t len = es->by_fd_len ? es->by_fd_len : 64;
    while (len <= (size_t)fd)
        len *= 2;
    struct loop_io **table = realloc(es->by_fd, len * sizeof *table);
    if (table == NULL)
        return -ENOMEM;
    for (size_t i = es->by_fd_len; i < len; i++)
        table[i] = NULL;
    es->by_fd = table;
    es->by_fd_len = len;
    return 0;
}

static int epoll_add(void *state, struct loop_io *io, unsigned events)
{
    struct epoll_state *es = state;
    int rc = epoll_reserve_fd(es, io->fd);
    if (rc < 0)
        return rc;
    if (es->by_fd[io->fd] != NULL)
        return -EEXIST;     /* one watcher per fd */

    struct epoll_event ev = { .events = epoll_events_from_loop(events), .data.fd = io->fd };
    if (epoll_ctl(es->epoll_fd, EPOLL_CTL_ADD, io->fd, &ev) < 0)
        return -errno;      /* e.g. -EPERM: regular files cannot be watched */
    es->by_fd[io->fd] = io;
    io->backend_slot = io->fd;
    return 0;
}

static int epoll_modify(void *state, struct loop_io *io, unsigned events)
{
    struct epoll_state *es = state;
    assert((size_t)io->fd < es->by_fd_len && es->by_fd[io->fd] == io);
    struct epoll_event ev = { .events = epoll_events_from_loop(events), .data.fd = io->fd };
    if (epoll_ctl(es->epoll_fd, EPOLL_CTL_MOD, io->fd, &ev) < 0)
        return -errno;
    return 0;
}

static void epoll_remove(void *state, struct loop_io *io)
{
    struct epoll_state *es = state;
    assert((size_t)io->fd < es->by_fd_len && es->by_fd[io->fd] == io);
    /* DEL also drops any event of this fd already queued in the kernel.
     * It fails only if the fd was closed first (the kernel then dropped
     * the registration by itself), so there is nothing to undo. */
    (void)epoll_ctl(es->epoll_fd, EPOLL_CTL_DEL, io->fd, NULL);
    es->by_fd[io->fd] = NULL;
}

static int epoll_wait_ready(void *state, int timeout_ms, struct backend_event *ready,
                            size_t ready_max)
{
    struct epoll_state *es = state;
    if (es->events_len < ready_max) {
        struct epoll_event *events = realloc(es->events, ready_max * sizeof *events);
        if (events == NULL)
            return -ENOMEM;
        es->events = events;
        es->events_len = ready_max;
    }

    int n = epoll_wait(es->epoll_fd, es->events, (int)ready_max, timeout_ms);
    if (n < 0)
        return -errno;

    /* Collect.  The kernel already returned only ready fds; we just
     * translate them.  An fd with no watcher can only be a stale
     * registration (see the top of this file): skip it. */
    size_t found = 0;
    for (int i = 0; i < n; i++) {
        int fd = es->events[i].data.fd;
        struct loop_io *io = (size_t)fd < es->by_fd_len ? es->by_fd[fd] : NULL;
        if (io == NULL)
            continue;
        ready[found].io = io;
        ready[found].revents = epoll_revents_to_loop(es->events[i].events, io->events);
        found++;
    }
    return (int)found;
}

const struct backend_ops backend_epoll = {
    .name = "epoll",
    .open = epoll_open,
    .close = epoll_close,
    .add = epoll_add,
    .modify = epoll_modify,
    .remove = epoll_remove,
    .wait = epoll_wait_ready,
};
