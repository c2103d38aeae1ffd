/*
 * probe_sampler.c — a background thread that measures what the server's
 * own threads cannot report, because they are exactly the ones stuck:
 *
 *   - the kernel's accept queue of the listening socket.  A blocking
 *     server that is busy with one client never sees the connections
 *     piling up behind it; the kernel does, and for a socket in LISTEN
 *     state Linux reports the current accept-queue length in the
 *     tcpi_unacked field of TCP_INFO (and the queue's limit in
 *     tcpi_sacked).  -> PROBE_GAUGE_Q_ACCEPT_BACKLOG
 *
 *   - how many of our threads want a CPU.  Each thread's state letter
 *     is in /proc/self/task/TID/stat.  -> PROBE_GAUGE_THREADS and
 *     PROBE_GAUGE_Q_RUNNABLE
 *
 * The sampler is not an instrumented thread (it claims no ring and is
 * not counted in THREADS).  It sleeps on a condition variable with a
 * timeout rather than in sleep(), so probe_destroy() can wake it and join
 * it at once instead of waiting out the interval.  It blocks every
 * signal, so signals meant for the server (SIGINT, SIGTERM) are never
 * delivered to it.
 */
#ifndef EVLAB_NO_PROBES

#include "probe/probe_writer.h"

#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"

/* Above this many threads a /proc scan costs real time (three system
 * calls per thread), so we do it less often. */
#define SAMPLER_MANY_TASKS        1000
#define SAMPLER_MANY_TASKS_MS     500

/* Reads the accept-queue length of a listening socket, or -1 when the fd
 * is not (or no longer) a listening TCP socket. */
static int64_t accept_queue_length(int listen_fd)
{
    struct tcp_info info;
    socklen_t len = sizeof info;
    memset(&info, 0, sizeof info);
    if (getsockopt(listen_fd, IPPROTO_TCP, TCP_INFO, &info, &len) == -1)
        return -1;
    /* 10 is TCP_LISTEN in the kernel's state numbering; on any other
     * state tcpi_unacked means unacknowledged segments, not a queue. */
    if (info.tcpi_state != 10)
        return -1;
    return (int64_t)info.tcpi_unacked;
}

/* CPUs this process may run on (the affinity mask, which containers and
 * taskset narrow), falling back to the online count. */
static int usable_cpus(void)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0)
        return CPU_COUNT(&set);
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

/* The state letter of one task: the field after the ")" that closes the
 * command name (which may itself contain spaces and parentheses, hence
 * the search from the right).  0 when the task is gone. */
static char task_state(int task_dir_fd, const char *tid)
{
    char path[64];
    snprintf(path, sizeof path, "%s/stat", tid);
    int fd = openat(task_dir_fd, path, O_RDONLY | O_CLOEXEC);
    if (fd == -1)
        return 0;                 /* the thread exited during the scan */
    char buf[512];
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    char *paren = strrchr(buf, ')');
    if (paren == NULL || paren[1] != ' ')
        return 0;
    return paren[2];
}

/* Counts our tasks and those in state 'R'.  Returns the task count, or
 * -1 when /proc cannot be read. */
static int scan_tasks(int self_tid, int *runnable_out)
{
    DIR *dir = opendir("/proc/self/task");
    if (dir == NULL)
        return -1;
    int tasks = 0, runnable = 0;
    struct dirent *entry;
    while ((entry = readdir(dir)) != NULL) {
        if (entry->d_name[0] < '0' || entry->d_name[0] > '9')
            continue;             /* "." and ".." */
        if (atoi(entry->d_name) == self_tid)
            continue;             /* the sampler does not count itself */
        tasks++;
        if (task_state(dirfd(dir), entry->d_name) == 'R')
            runnable++;
    }
    closedir(dir);
    *runnable_out = runnable;
    return tasks;
}

static void sample_threads(struct probe *probe, int self_tid, int cpus)
{
    int runnable = 0;
    int tasks = scan_tasks(self_tid, &runnable);
    if (tasks < 0)
        return;
    probe_gauge_set(probe, PROBE_GAUGE_THREADS, tasks);
    /* An approximation, and the reason it is one: Linux shows 'R' both
     * for a thread that is running on a CPU and for one waiting in a run
     * queue, and /proc does not say which.  At most `cpus` of ours can be
     * running at once, so R - cpus of them are certainly waiting.  When
     * other processes use CPUs too, more of ours wait than that: the
     * gauge is a lower bound on runnable-but-not-running threads. */
    int waiting = runnable - cpus;
    probe_gauge_set(probe, PROBE_GAUGE_Q_RUNNABLE, waiting > 0 ? waiting : 0);
}

/* Sleeps up to `ms` unless asked to stop; returns true when asked. */
static bool sampler_wait(struct probe_sampler *sampler, uint32_t ms)
{
    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += ms / 1000;
    deadline.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&sampler->lock);
    /* Loop: a timed wait may wake spuriously, long before the deadline. */
    while (!sampler->stop) {
        if (pthread_cond_timedwait(&sampler->wake, &sampler->lock, &deadline) == ETIMEDOUT)
            break;
    }
    bool stop = sampler->stop;
    pthread_mutex_unlock(&sampler->lock);
    return stop;
}

static void *sampler_main(void *arg)
{
    struct probe *probe = arg;
    struct probe_sampler *sampler = &probe->sampler;
    int self_tid = (int)syscall(SYS_gettid);
    int cpus = usable_cpus();
    uint64_t next_thread_scan = 0;

    do {
        uint64_t now = clock_now_ns();
        if (sampler->flags & PROBE_SAMPLE_ACCEPT_QUEUE) {
            int64_t queued = accept_queue_length(sampler->listen_fd);
            if (queued >= 0)
                probe_gauge_set(probe, PROBE_GAUGE_Q_ACCEPT_BACKLOG, queued);
        }
        if ((sampler->flags & PROBE_SAMPLE_THREADS) && now >= next_thread_scan) {
            sample_threads(probe, self_tid, cpus);
            /* With thousands of threads, back off so the sampler does not
             * become a noticeable load of its own. */
            bool many = probe_gauge_get(probe, PROBE_GAUGE_THREADS) > SAMPLER_MANY_TASKS;
            uint64_t interval_ms = many ? SAMPLER_MANY_TASKS_MS : PROBE_SAMPLE_INTERVAL_MS;
            /* Half a round of slack, so that a wake-up a little early
             * does not make us skip a whole round. */
            next_thread_scan = now + interval_ms * 1000000u - PROBE_SAMPLE_INTERVAL_MS * 500000u;
        }
        /* The thread models cannot publish QUEUED themselves (their
         * threads are blocked), so its sum is refreshed here; the loop
         * publishes its own QUEUED on every turn and never starts us
         * with this flag. */
        if (sampler->flags & PROBE_SAMPLE_ACCEPT_QUEUE)
            probe_gauge_set(probe, PROBE_GAUGE_QUEUED,
                            probe_gauge_get(probe, PROBE_GAUGE_Q_ACCEPT_BACKLOG) +
                            probe_gauge_get(probe, PROBE_GAUGE_Q_PIPELINED) +
                            probe_gauge_get(probe, PROBE_GAUGE_Q_RUNNABLE));
    } while (!sampler_wait(sampler, PROBE_SAMPLE_INTERVAL_MS));
    return NULL;
}

int probe_sampler_start(struct probe *probe, int listen_fd, unsigned flags)
{
    if (probe == NULL)
        return 0;
    struct probe_sampler *sampler = &probe->sampler;
    if (sampler->started)
        return -EALREADY;

    sampler->listen_fd = listen_fd;
    sampler->flags = flags;
    sampler->stop = false;

    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    /* Deadlines on the monotonic clock: a wall-clock jump cannot make
     * the sampler sleep for an hour. */
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    int rc = pthread_cond_init(&sampler->wake, &attr);
    pthread_condattr_destroy(&attr);
    if (rc != 0)
        return -rc;
    rc = pthread_mutex_init(&sampler->lock, NULL);
    if (rc != 0) {
        pthread_cond_destroy(&sampler->wake);
        return -rc;
    }

    /* The new thread inherits the signal mask in force at creation. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    rc = pthread_create(&sampler->thread, NULL, sampler_main, probe);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        pthread_mutex_destroy(&sampler->lock);
        pthread_cond_destroy(&sampler->wake);
        return -rc;
    }
    sampler->started = true;
    return 0;
}

void probe_sampler_stop(struct probe *probe)
{
    struct probe_sampler *sampler = &probe->sampler;
    if (!sampler->started)
        return;
    pthread_mutex_lock(&sampler->lock);
    sampler->stop = true;
    pthread_cond_signal(&sampler->wake);
    pthread_mutex_unlock(&sampler->lock);
    pthread_join(sampler->thread, NULL);
    pthread_mutex_destroy(&sampler->lock);
    pthread_cond_destroy(&sampler->wake);
    sampler->started = false;
}

#endif /* EVLAB_NO_PROBES */
