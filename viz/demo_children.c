/*
 * demo_children.c — starting, watching and stopping the demo's children
 * (see demo_children.h).
 *
 * Design.  A fixed table of DEMO_MAX_CHILDREN slots.  The PIDs also go
 * into a separate array of plain `volatile pid_t`, which is all the crash
 * handler reads: it must not walk structures that the interrupted code
 * may have been halfway through changing.
 *
 * Starting a child is lib/spawn/spawn.c's (the same code `evlab bench`
 * and the tests use); this file adds what only the demo needs: the table
 * a crash handler can walk, and the children's output kept for later.
 */
#include "demo_children.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "spawn/spawn.h"

static struct demo_child children[DEMO_MAX_CHILDREN];
static volatile pid_t running_pids[DEMO_MAX_CHILDREN];   /* 0: none */
static bool atexit_installed;

static void stop_all_at_exit(void)
{
    demo_children_stop_all(500);
}

struct demo_child *demo_child_get(int index)
{
    return index >= 0 && index < DEMO_MAX_CHILDREN && children[index].used ? &children[index]
                                                                             : NULL;
}

int demo_child_spawn(const char *label, char *const argv[], char *err, size_t err_len)
{
    int index;
    for (index = 0; index < DEMO_MAX_CHILDREN; index++)
        if (!children[index].used)
            break;
    if (index == DEMO_MAX_CHILDREN) {
        snprintf(err, err_len, "too many child processes (%d)", DEMO_MAX_CHILDREN);
        return -EMFILE;
    }
    if (!atexit_installed) {
        atexit(stop_all_at_exit);
        atexit_installed = true;
    }
    /* lib/spawn/spawn.c does the fork and exec, with the safety steps
     * its header lists (PDEATHSIG, default SIGPIPE).  stdout and stderr
     * share one pipe, read without blocking so a chatty child never
     * stalls and nothing it prints lands on the ncurses screen. */
    struct spawn_request request = {
        .path = "/proc/self/exe", .argv = argv, .stderr_fd = SPAWN_STDERR_STDOUT,
        .stdout_nonblocking = true,
    };
    struct spawn_child spawned;
    int rc = spawn_start(&spawned, &request, err, err_len);
    if (rc < 0)
        return rc;
    pid_t pid = spawned.pid;
    struct demo_child *child = &children[index];
    memset(child, 0, sizeof *child);
    child->used = true;
    child->running = true;
    child->pid = pid;
    child->output_fd = spawned.stdout_fd;
    snprintf(child->label, sizeof child->label, "%s", label);
    running_pids[index] = pid;
    return index;
}

/* Appends what is readable now; false once the pipe reached end of file. */
static bool drain_some(struct demo_child *child)
{
    char scratch[4096];
    for (;;) {
        ssize_t n = read(child->output_fd, scratch, sizeof scratch);
        if (n > 0) {
            /* Keep the first bytes (the startup line, a JSON report);
             * anything past the buffer is read and dropped. */
            size_t room = sizeof child->output - 1 - child->output_len;
            size_t keep = (size_t)n < room ? (size_t)n : room;
            memcpy(child->output + child->output_len, scratch, keep);
            child->output_len += keep;
            child->output[child->output_len] = '\0';
            continue;
        }
        if (n == 0)
            return false;
        if (errno == EINTR)
            continue;
        return true;               /* EAGAIN: nothing more for now */
    }
}

void demo_child_drain(int index)
{
    struct demo_child *child = demo_child_get(index);
    if (child != NULL && child->output_fd >= 0)
        drain_some(child);
}

int demo_child_first_line(int index, char *line, size_t len, unsigned timeout_ms)
{
    struct demo_child *child = demo_child_get(index);
    if (child == NULL)
        return -EINVAL;
    uint64_t deadline = clock_now_ns() + clock_ms_to_ns(timeout_ms);
    for (;;) {
        bool open = drain_some(child);
        char *newline = strchr(child->output, '\n');
        if (newline != NULL) {
            size_t n = (size_t)(newline - child->output);
            snprintf(line, len, "%.*s", (int)n, child->output);
            return 0;
        }
        if (!open) {
            snprintf(line, len, "%s", child->output);
            return -EPIPE;
        }
        uint64_t now = clock_now_ns();
        if (now >= deadline) {
            snprintf(line, len, "%s", child->output);
            return -ETIMEDOUT;
        }
        struct pollfd pfd = { .fd = child->output_fd, .events = POLLIN };
        poll(&pfd, 1, (int)((deadline - now) / NS_PER_MS) + 1);
    }
}

static void mark_reaped(int index, int status)
{
    children[index].running = false;
    children[index].exit_status = status;
    running_pids[index] = 0;
}

int demo_children_reap(void)
{
    int reaped = 0;
    for (int i = 0; i < DEMO_MAX_CHILDREN; i++) {
        if (!children[i].used || !children[i].running)
            continue;
        int status;
        pid_t pid = waitpid(children[i].pid, &status, WNOHANG);
        if (pid == children[i].pid) {
            mark_reaped(i, status);
            reaped++;
        }
    }
    return reaped;
}

void demo_child_signal(int index, int signal_number)
{
    struct demo_child *child = demo_child_get(index);
    if (child != NULL && child->running)
        kill(child->pid, signal_number);
}

/* Waits until none of `indexes` runs or grace_ms passed; then kills and
 * reaps whatever is left, so every child is gone when this returns. */
static void stop_indexes(const int *indexes, size_t count, unsigned grace_ms)
{
    for (size_t i = 0; i < count; i++)
        demo_child_signal(indexes[i], SIGTERM);
    uint64_t deadline = clock_now_ns() + clock_ms_to_ns(grace_ms);
    for (;;) {
        demo_children_reap();
        for (size_t i = 0; i < count; i++)
            if (children[indexes[i]].output_fd >= 0)
                drain_some(&children[indexes[i]]);
        bool any = false;
        for (size_t i = 0; i < count; i++)
            any = any || children[indexes[i]].running;
        if (!any || clock_now_ns() >= deadline)
            break;
        clock_sleep_ms(10);
    }
    for (size_t i = 0; i < count; i++) {
        struct demo_child *child = &children[indexes[i]];
        if (!child->running)
            continue;
        kill(child->pid, SIGKILL);
        int status;
        while (waitpid(child->pid, &status, 0) == -1 && errno == EINTR)
            ;
        mark_reaped(indexes[i], status);
    }
    /* What a stopped child printed last (a JSON report) is in the pipe. */
    for (size_t i = 0; i < count; i++)
        if (children[indexes[i]].output_fd >= 0)
            drain_some(&children[indexes[i]]);
}

void demo_child_stop(int index, unsigned grace_ms)
{
    if (demo_child_get(index) != NULL)
        stop_indexes(&index, 1, grace_ms);
}

void demo_children_stop_all(unsigned grace_ms)
{
    int indexes[DEMO_MAX_CHILDREN];
    size_t count = 0;
    for (int i = 0; i < DEMO_MAX_CHILDREN; i++)
        if (children[i].used && children[i].running)
            indexes[count++] = i;
    if (count > 0)
        stop_indexes(indexes, count, grace_ms);
}

void demo_children_kill_from_signal(void)
{
    for (int i = 0; i < DEMO_MAX_CHILDREN; i++) {
        pid_t pid = running_pids[i];
        if (pid > 0)
            kill(pid, SIGTERM);
    }
}

void demo_child_release(int index)
{
    struct demo_child *child = demo_child_get(index);
    if (child == NULL || child->running)
        return;
    if (child->output_fd >= 0)
        close(child->output_fd);
    memset(child, 0, sizeof *child);
    child->output_fd = -1;
}
