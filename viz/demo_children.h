/*
 * demo_children.h — the child processes of `evlab demo`: started from our
 * own binary (/proc/self/exe), watched, and stopped by PID on every way
 * out: normal quit, quit signals, --duration, and crashes.
 *
 * Four layers of "never leave a server behind":
 *   1. demo_children_stop_all() on the normal paths: SIGTERM, a bounded
 *      wait, then SIGKILL for anything still there, and every child reaped.
 *   2. demo_children_kill_from_signal(), async-signal-safe, for the crash
 *      handler (view_terminal_set_crash_hook()).
 *   3. An atexit() handler that does what 1 does, for an exit() we did not
 *      plan.
 *   4. Each child asks the kernel to send it SIGTERM when the demo dies
 *      (prctl PR_SET_PDEATHSIG): this covers even SIGKILL of the demo.
 *
 * Output: a child's stdout and stderr go to a pipe the demo reads without
 * blocking (demo_child_drain()), so a chatty child can never fill the pipe
 * and stall, and nothing it prints lands on the ncurses screen.
 *
 * Errors: 0 or a negative errno with a message in err.
 * Ownership: the table of children is this module's (a signal handler must
 * reach it, so it cannot live in a caller's struct); callers hold indexes.
 */
#ifndef EVLAB_DEMO_CHILDREN_H
#define EVLAB_DEMO_CHILDREN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define DEMO_MAX_CHILDREN  32
#define DEMO_OUTPUT_BYTES  8192

struct demo_child {
    bool used;
    bool running;             /* started and not yet reaped */
    pid_t pid;
    int output_fd;            /* read end of its stdout+stderr pipe, or -1 */
    int exit_status;          /* waitpid() status once reaped */
    char label[32];
    char output[DEMO_OUTPUT_BYTES];   /* what it printed (first bytes) */
    size_t output_len;
};

/* Starts `/proc/self/exe argv[1]...` (argv[0] is the program name shown
 * in ps).  Returns the child's index (>= 0) or a negative errno. */
int demo_child_spawn(const char *label, char *const argv[], char *err, size_t err_len);

struct demo_child *demo_child_get(int index);

/* Waits up to timeout_ms for a whole first line of output; copies it
 * without the newline.  0, -ETIMEDOUT, or -EPIPE if the child closed its
 * output (usually: it exited) first. */
int demo_child_first_line(int index, char *line, size_t len, unsigned timeout_ms);

/* Reads whatever the child printed since last time, without blocking. */
void demo_child_drain(int index);

/* Collects exited children (waitpid WNOHANG); returns how many it reaped. */
int demo_children_reap(void);

/* Sends `signal` to one child, if it still runs. */
void demo_child_signal(int index, int signal);

/* Stops one child: SIGTERM, up to grace_ms, then SIGKILL; always reaps. */
void demo_child_stop(int index, unsigned grace_ms);

/* Stops every child still running the same way, all at once. */
void demo_children_stop_all(unsigned grace_ms);

/* Async-signal-safe: SIGTERM to every child still running. */
void demo_children_kill_from_signal(void);

/* Frees the slot of a reaped child, closing its pipe. */
void demo_child_release(int index);

#endif
