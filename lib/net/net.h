/*
 * net.h — the socket calls every model shares, with their error handling
 * written once: EINTR is retried here, SIGPIPE never fires (send() with
 * MSG_NOSIGNAL), and running out of descriptors has a documented answer.
 *
 * Errors: 0 (or a count / fd) on success, a negative errno on failure;
 * functions that set up something a person configured (net_listen) also
 * fill `err` with a message naming the failing call.
 */
#ifndef EVLAB_NET_H
#define EVLAB_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Opens a TCP listening socket on addr:port (IPv4 dotted quad; port 0 =
 * ephemeral) with SO_REUSEADDR and close-on-exec.  Returns the fd or a
 * negative errno. */
int net_listen(const char *addr, int port, int backlog, bool nonblocking,
               char *err, size_t err_len);

/* The port a bound socket got (for port 0). Negative errno on failure. */
int net_local_port(int fd);

int net_set_nonblocking(int fd);
int net_set_nodelay(int fd);

/* accept4() with close-on-exec (and O_NONBLOCK if asked), retrying EINTR
 * and the connection-was-aborted-before-we-got-it case (ECONNABORTED).
 * Returns the new fd or a negative errno (-EAGAIN when nothing is there
 * on a non-blocking listener; -EMFILE/-ENFILE when out of descriptors). */
int net_accept(int listen_fd, bool nonblocking);

/* The reserve-descriptor trick for EMFILE.  When accept() fails because
 * this process has no descriptor left, the pending connection would stay
 * in the accept queue and poll() would report the listener readable again
 * at once: a busy loop.  So we keep one descriptor open in reserve (on
 * /dev/null); on EMFILE we close it, accept the connection, close that
 * too (the client sees a reset/close instead of hanging), and reopen the
 * reserve.  Returns 0 when one connection was shed; -EAGAIN when no
 * connection was waiting after all (Linux reports EMFILE from a blocking
 * accept before it waits); or another negative errno when even shedding
 * failed.  On any error the caller pauses accepting for a while. */
struct net_spare_fd { int fd; };
void net_spare_fd_open(struct net_spare_fd *spare);
void net_spare_fd_close(struct net_spare_fd *spare);
int  net_shed_connection(int listen_fd, struct net_spare_fd *spare);

/* recv() retrying EINTR.  Returns bytes (0 = peer closed) or -errno. */
ssize_t net_read(int fd, void *buf, size_t len);

/* send(MSG_NOSIGNAL) once, retrying EINTR.  Returns bytes or -errno
 * (-EAGAIN on a full non-blocking socket, -EPIPE/-ECONNRESET when the
 * peer went away). */
ssize_t net_write(int fd, const void *buf, size_t len);

/* For blocking sockets: send everything, advancing past partial writes.
 * 0 or -errno. */
int net_write_all(int fd, const void *buf, size_t len);

/* Closes a connection after an error reply without destroying the reply:
 * close() with unread input makes the kernel send a reset, and the client
 * may then lose the 4xx we just sent.  So: shut down our sending side,
 * read and discard what the client still sends for a short while (bounded
 * in time and bytes), then close.  Blocking; for the thread models. */
void net_lingering_close(int fd);

/* SIGPIPE would kill the whole server when one client goes away
 * mid-write; every server ignores it once at start. */
void net_ignore_sigpipe(void);

/* Number of descriptors this process has open (entries of /proc/self/fd,
 * not counting the one used to list them).  For tests and `stats`. */
int net_count_open_fds(void);

#endif
