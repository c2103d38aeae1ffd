/*
 * grade_proc.c — reads /proc/PID/{status,fd,fdinfo,stat,syscall}.
 *
 * Why /proc and not ps/lsof: the numbers come straight from the kernel at
 * the moment of the call, without a helper process, a parse of a
 * human-formatted table or a race with the tool's own descriptors.
 *
 * The wait-call table maps syscall numbers from <sys/syscall.h> (so it is
 * right on x86-64 and arm64 alike) to the names a student would write;
 * epoll_pwait counts as "epoll_wait" and ppoll as "poll" because that is
 * what the C library uses underneath those calls.
 */
#include "grade_proc.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "grade_test.h"

/* Reads a whole small /proc file into buf (NUL-terminated); length or -1. */
static ssize_t read_proc_file(pid_t pid, const char *what, char *buf, size_t cap)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/%s", (int)pid, what);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t total = 0;
    while ((size_t)total + 1 < cap) {
        ssize_t n = read(fd, buf + total, cap - 1 - (size_t)total);
        if (n <= 0)
            break;
        total += n;
    }
    close(fd);
    buf[total] = '\0';
    return total;
}

/* The number after "Key:" in /proc/PID/status, or -1. */
static long status_field(pid_t pid, const char *key)
{
    char buf[8192];
    if (read_proc_file(pid, "status", buf, sizeof buf) < 0)
        return -1;
    size_t klen = strlen(key);
    for (char *line = buf; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
        if (strncmp(line, key, klen) == 0 && line[klen] == ':')
            return strtol(line + klen + 1, NULL, 10);
    }
    return -1;
}

int grade_proc_threads(pid_t pid)
{
    return (int)status_field(pid, "Threads");
}

long grade_proc_rss_kib(pid_t pid)
{
    return status_field(pid, "VmRSS");
}

/* Calls visit(fd, link target) for every descriptor; returns how many, or -1. */
static int for_each_fd(pid_t pid, void (*visit)(pid_t pid, int fd, const char *target, void *arg),
                       void *arg)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/fd", (int)pid);
    DIR *dir = opendir(path);
    if (dir == NULL)
        return -1;
    int count = 0;
    struct dirent *e;
    while ((e = readdir(dir)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        count++;
        if (visit == NULL)
            continue;
        char link[320], target[256];
        snprintf(link, sizeof link, "%s/%s", path, e->d_name);
        ssize_t n = readlink(link, target, sizeof target - 1);
        if (n < 0)
            continue;
        target[n] = '\0';
        visit(pid, atoi(e->d_name), target, arg);
    }
    closedir(dir);
    return count;
}

int grade_proc_open_fds(pid_t pid)
{
    return for_each_fd(pid, NULL, NULL);
}

struct socket_count { int sockets; int nonblocking; };

/* fdinfo's "flags:" line is the file's open flags in octal. */
static void count_socket(pid_t pid, int fd, const char *target, void *arg)
{
    struct socket_count *c = arg;
    if (strncmp(target, "socket:", 7) != 0)
        return;
    c->sockets++;
    char what[32], buf[1024];
    snprintf(what, sizeof what, "fdinfo/%d", fd);
    if (read_proc_file(pid, what, buf, sizeof buf) < 0)
        return;
    char *flags = strstr(buf, "flags:");
    if (flags && (strtoul(flags + 6, NULL, 8) & O_NONBLOCK))
        c->nonblocking++;
}

void grade_proc_socket_flags(pid_t pid, int *sockets, int *nonblocking)
{
    struct socket_count c = { 0, 0 };
    for_each_fd(pid, count_socket, &c);
    *sockets = c.sockets;
    *nonblocking = c.nonblocking;
}

struct kind_search { const char *needle; bool found; };

static void match_kind(pid_t pid, int fd, const char *target, void *arg)
{
    (void)pid;
    (void)fd;
    struct kind_search *s = arg;
    if (strstr(target, s->needle) != NULL)
        s->found = true;
}

bool grade_proc_has_fd_kind(pid_t pid, const char *link_substr)
{
    struct kind_search s = { link_substr, false };
    for_each_fd(pid, match_kind, &s);
    return s.found;
}

uint64_t grade_proc_cpu_ns(pid_t pid)
{
    char buf[2048];
    if (read_proc_file(pid, "stat", buf, sizeof buf) < 0)
        return 0;
    /* The command name (field 2) may contain spaces and parentheses: the
     * fields we want follow the last ')'.  utime and stime are fields 14
     * and 15, i.e. the 12th and 13th after the state field. */
    char *p = strrchr(buf, ')');
    if (p == NULL)
        return 0;
    unsigned long long utime = 0, stime = 0;
    if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
               &utime, &stime) != 2)
        return 0;
    long ticks = sysconf(_SC_CLK_TCK);
    if (ticks <= 0)
        ticks = 100;
    return (uint64_t)(utime + stime) * (1000000000ull / (uint64_t)ticks);
}

struct syscall_name { long number; const char *name; };

/* The calls a server waits in, under the names a student writes. */
static const struct syscall_name wait_calls[] = {
#ifdef SYS_epoll_wait
    { SYS_epoll_wait, "epoll_wait" },
#endif
#ifdef SYS_epoll_pwait
    { SYS_epoll_pwait, "epoll_wait" },
#endif
#ifdef SYS_epoll_pwait2
    { SYS_epoll_pwait2, "epoll_wait" },
#endif
#ifdef SYS_poll
    { SYS_poll, "poll" },
#endif
#ifdef SYS_ppoll
    { SYS_ppoll, "poll" },
#endif
#ifdef SYS_select
    { SYS_select, "select" },
#endif
#ifdef SYS_pselect6
    { SYS_pselect6, "select" },
#endif
#ifdef SYS_accept
    { SYS_accept, "accept" },
#endif
#ifdef SYS_accept4
    { SYS_accept4, "accept" },
#endif
#ifdef SYS_read
    { SYS_read, "read" },
#endif
#ifdef SYS_recvfrom
    { SYS_recvfrom, "recv" },
#endif
#ifdef SYS_recvmsg
    { SYS_recvmsg, "recv" },
#endif
#ifdef SYS_write
    { SYS_write, "write" },
#endif
#ifdef SYS_sendto
    { SYS_sendto, "send" },
#endif
#ifdef SYS_futex
    { SYS_futex, "futex" },
#endif
#ifdef SYS_nanosleep
    { SYS_nanosleep, "nanosleep" },
#endif
#ifdef SYS_clock_nanosleep
    { SYS_clock_nanosleep, "nanosleep" },
#endif
#ifdef SYS_wait4
    { SYS_wait4, "wait" },
#endif
#ifdef SYS_pause
    { SYS_pause, "pause" },
#endif
#ifdef SYS_connect
    { SYS_connect, "connect" },
#endif
};

const char *grade_proc_wait_call(pid_t pid)
{
    static char unknown[32];
    char buf[512];
    if (read_proc_file(pid, "syscall", buf, sizeof buf) <= 0)
        return "gone";
    if (strncmp(buf, "running", 7) == 0)
        return "running";
    char *end;
    long number = strtol(buf, &end, 10);
    if (end == buf)
        return "gone";
    /* -1 means "blocked, but not in a system call" (e.g. a page fault). */
    if (number < 0)
        return "running";
    for (size_t i = 0; i < sizeof wait_calls / sizeof wait_calls[0]; i++)
        if (wait_calls[i].number == number)
            return wait_calls[i].name;
    snprintf(unknown, sizeof unknown, "syscall %ld", number);
    return unknown;
}

bool grade_proc_is_event_wait(const char *call)
{
    /* grade_proc_wait_call() already folds the variants into these. */
    return call != NULL && (strcmp(call, "poll") == 0 || strcmp(call, "epoll_wait") == 0 ||
                            strcmp(call, "select") == 0 || strcmp(call, "ppoll") == 0 ||
                            strcmp(call, "epoll_pwait") == 0 || strcmp(call, "epoll_pwait2") == 0 ||
                            strcmp(call, "pselect6") == 0);
}

int grade_proc_wait_open_fds(pid_t pid, int want, int timeout_ms)
{
    uint64_t deadline = grade_now_ms() + (uint64_t)timeout_ms;
    int n = grade_proc_open_fds(pid);
    while (n > want && grade_now_ms() < deadline) {
        grade_sleep_ms(20);
        n = grade_proc_open_fds(pid);
    }
    return n;
}

int grade_proc_wait_threads(pid_t pid, int want, int timeout_ms)
{
    uint64_t deadline = grade_now_ms() + (uint64_t)timeout_ms;
    int n = grade_proc_threads(pid);
    while (n > want && grade_now_ms() < deadline) {
        grade_sleep_ms(20);
        n = grade_proc_threads(pid);
    }
    return n;
}
