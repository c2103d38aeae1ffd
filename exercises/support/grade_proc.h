/*
 * grade_proc.h — structural checks on the student's running server, read
 * from /proc (never by scraping ps or lsof): thread count, descriptors,
 * which descriptors are sockets and which of those are non-blocking, the
 * kind of wait the main thread sits in, CPU time and memory.
 *
 * All functions are snapshots: call them while the server is in the state
 * you want to check (e.g. after the clients have been served and a short
 * settle time).  On a process that is gone they return -1 / 0 / false /
 * "gone" rather than failing the test; the caller decides.
 */
#ifndef EVLAB_GRADE_PROC_H
#define EVLAB_GRADE_PROC_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

int      grade_proc_threads(pid_t pid);                       /* Threads: in status */
int      grade_proc_open_fds(pid_t pid);
/* sockets among its fds, and how many of those have O_NONBLOCK (fdinfo flags) */
void     grade_proc_socket_flags(pid_t pid, int *sockets, int *nonblocking);
bool     grade_proc_has_fd_kind(pid_t pid, const char *link_substr); /* "anon_inode:[eventpoll]" */
uint64_t grade_proc_cpu_ns(pid_t pid);                        /* utime+stime of all threads */
/* The syscall the main thread is blocked in ("epoll_wait", "poll", "accept",
 * "read", ... or "running"), from /proc/PID/syscall (number -> name).
 * "syscall NNN" for a number not in our table, "gone" if unreadable.
 * Returns a static string or a buffer overwritten by the next call. */
const char *grade_proc_wait_call(pid_t pid);
long     grade_proc_rss_kib(pid_t pid);
/* True for the calls an event loop waits in: poll/ppoll, epoll_wait and
 * its p-variants, select/pselect (the names grade_proc_wait_call() gives). */
bool     grade_proc_is_event_wait(const char *call);

/* Polls until grade_proc_open_fds(pid) <= want or timeout_ms passes;
 * returns the last count (servers close descriptors a moment after the
 * client sees the close). */
int      grade_proc_wait_open_fds(pid_t pid, int want, int timeout_ms);
/* Polls until grade_proc_threads(pid) <= want or timeout_ms passes. */
int      grade_proc_wait_threads(pid_t pid, int want, int timeout_ms);

#endif
