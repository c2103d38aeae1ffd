/*
 * ev.h — exercise 04: the core of an event loop.  This header is given
 * and fixed (the tests include it); you write ev.c.
 *
 * An ev_loop watches file descriptors.  You register a descriptor with
 * the events you care about (EV_READ, EV_WRITE) and a callback; each call
 * of ev_run_once() waits until at least one registered descriptor is
 * ready (or the timeout passes) and then calls the callback of every
 * ready one.  That is one turn of the loop:
 *
 *     1. wait      poll() or epoll_wait() on the registered descriptors;
 *     2. collect   which of them are ready, and for what;
 *     3. dispatch  call each ready descriptor's callback, once.
 *
 * The rules a correct loop keeps (the tests check each one):
 *   - A callback gets `events` = what is ready AND what its descriptor is
 *     registered for at the moment of the call, plus EV_ERROR when the
 *     descriptor has an error or hang-up (always reported, even when not
 *     asked for).  A callback whose events would be 0 is not called.
 *   - Callbacks may call ev_add(), ev_modify() and ev_remove() on any
 *     descriptor, including their own.  A descriptor removed during a
 *     turn gets no further callback in that turn, even if its number is
 *     registered again in the meantime (closed, reopened by pipe() and
 *     added again: that is a new registration, first seen next turn).
 *     A descriptor added during a turn is first considered next turn.
 *   - Each ready descriptor's callback is called at most once per turn.
 *   - ev_run_once() with nothing registered returns 0 at once.
 *
 * Limits: descriptors 0 .. EV_MAX_FDS - 1.
 * Errors: 0 (or a count) on success, a negative errno on failure; errno
 * itself is not part of the interface.
 * Ownership: the loop never opens or closes the descriptors it watches;
 * the caller closes them (after ev_remove()).  `data` is the caller's and
 * is handed back untouched.  ev_loop_free() from inside a callback is a
 * programmer error.
 */
#ifndef EV_H
#define EV_H

#include <stddef.h>

#define EV_READ   0x1u   /* readable (or end of file) */
#define EV_WRITE  0x2u   /* writable */
#define EV_ERROR  0x4u   /* error or hang-up: always reported, never asked for */

#define EV_MAX_FDS 1024

struct ev_loop;

/* Called with the descriptor, what happened (EV_* bits), and your data. */
typedef void (*ev_callback)(struct ev_loop *loop, int fd, unsigned events, void *data);

/* Creates an empty loop in *out.  0 or -ENOMEM (or the errno of
 * epoll_create1() if you use epoll). */
int  ev_loop_new(struct ev_loop **out);
/* Frees the loop; descriptors still registered are forgotten, not closed. */
void ev_loop_free(struct ev_loop *loop);

/* Starts watching fd for `events` (EV_READ and/or EV_WRITE, or 0 to hear
 * only about errors), calling cb(loop, fd, events, data) when ready.
 * -EINVAL: fd out of 0..EV_MAX_FDS-1, unknown bits in events, or cb NULL.
 * -EEXIST: fd is already registered. */
int  ev_add(struct ev_loop *loop, int fd, unsigned events, ev_callback cb, void *data);
/* Changes what a registered fd is watched for.  -EINVAL as above;
 * -ENOENT: fd is not registered. */
int  ev_modify(struct ev_loop *loop, int fd, unsigned events);
/* Stops watching fd.  -ENOENT: fd is not registered (-EINVAL: out of range). */
int  ev_remove(struct ev_loop *loop, int fd);
/* How many descriptors are registered. */
size_t ev_count(const struct ev_loop *loop);

/* One turn: waits at most timeout_ms (-1: no limit, 0: do not wait) for
 * a registered descriptor to be ready, then dispatches.  Returns how many
 * callbacks it called (0 on a timeout, or when a signal interrupted the
 * wait), or a negative errno if the wait itself failed. */
int  ev_run_once(struct ev_loop *loop, int timeout_ms);

#endif
