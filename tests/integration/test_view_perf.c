/*
 * test_view_perf.c — what the live view costs at 100,000 events/s.
 *
 * A writer thread in this process publishes a steady ~100,000 events/s
 * through probe.h, shaped like a busy event loop (poll, dispatch, read,
 * handler, write).  `evlab view NAME --duration 5s --report` runs as a
 * child in a pseudo-terminal (so ncurses really paints, 160x45, with
 * colours), while we read and discard its screen output.  Its CPU time
 * comes from wait4()'s rusage, its refresh count from its --report line.
 *
 * The product target is >= 10 refreshes/s at <= 10% of one core; this
 * test prints the measured numbers and asserts generous bounds only
 * (the machine is shared and noisy, and sanitizer builds are slow):
 * >= 5 refreshes/s, < 50% of a core, and at least half of the events
 * written while the view ran were read (the rest would show as missed).
 *
 * Needs $EVLAB_BIN (make test sets it); skipped without it.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "common/clock.h"
#include "probe/probe.h"
#include "support/served.h"

#define TARGET_EVENTS_PER_S 100000u
#define VIEW_SECONDS        5
#define CHILD_DEADLINE_S    30

struct writer {
    struct probe *probe;
    atomic_bool stop;
    atomic_uint_fast64_t written;
};

/* One loop turn: 4 events around poll(), then 3 dispatches of 6 events. */
static uint64_t write_turn(struct probe_thread *me, int base_fd)
{
    probe_emit(me, PROBE_EV_POLL_ENTER, -1, 100, 0);
    probe_block_begin(me, PROBE_CALL_POLL, -1);
    probe_block_end(me, PROBE_CALL_POLL, -1);
    probe_emit(me, PROBE_EV_POLL_RETURN, -1, 3, 0);
    for (int i = 0; i < 3; i++) {
        int fd = base_fd + i;
        probe_emit(me, PROBE_EV_DISPATCH_BEGIN, fd, 1, 0);
        probe_emit(me, PROBE_EV_READ, fd, 41, 0);
        probe_handler_begin(me, fd, 0);
        probe_handler_end(me, fd, 0);
        probe_emit(me, PROBE_EV_WRITE, fd, 70, 0);
        probe_emit(me, PROBE_EV_DISPATCH_END, fd, 1, 2000);
    }
    return 4 + 3 * 6;
}

static void *writer_main(void *arg)
{
    struct writer *w = arg;
    struct probe_thread *me = probe_thread_begin(w->probe, "loop");
    uint64_t start = clock_now_ns(), written = 0;
    int fd = 5;
    while (!atomic_load(&w->stop)) {
        /* Catch up with the schedule, then sleep a millisecond. */
        uint64_t due = (clock_now_ns() - start) * TARGET_EVENTS_PER_S / 1000000000u;
        while (written < due) {
            written += write_turn(me, fd);
            fd = fd < 900 ? fd + 3 : 5;
        }
        atomic_store(&w->written, written);
        clock_sleep_ms(1);
    }
    probe_thread_end(me);
    return NULL;
}

/* Starts the view in a new pseudo-terminal; *master and *report_fd are
 * the terminal and the read end of its stderr. */
static pid_t start_view(const char *evlab, const char *name, int *master, int *report_fd)
{
    int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    assert_true(m >= 0);
    assert_int_equal(grantpt(m), 0);
    assert_int_equal(unlockpt(m), 0);
    struct winsize size = { .ws_row = 45, .ws_col = 160 };
    assert_int_equal(ioctl(m, TIOCSWINSZ, &size), 0);
    char slave_name[128];
    assert_int_equal(ptsname_r(m, slave_name, sizeof slave_name), 0);
    int pipe_fds[2];
    assert_int_equal(pipe2(pipe_fds, O_CLOEXEC), 0);

    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        setsid();
        int s = open(slave_name, O_RDWR);
        if (s < 0)
            _exit(126);
        dup2(s, STDIN_FILENO);
        dup2(s, STDOUT_FILENO);
        dup2(pipe_fds[1], STDERR_FILENO);
        setenv("TERM", "xterm-256color", 1);
        setenv("LANG", "C.UTF-8", 1);
        unsetenv("NO_COLOR");
        char duration[16];
        snprintf(duration, sizeof duration, "%ds", VIEW_SECONDS);
        execl(evlab, "evlab", "view", "--duration", duration, "--report", name, (char *)NULL);
        _exit(127);
    }
    close(pipe_fds[1]);
    *master = m;
    *report_fd = pipe_fds[0];
    return pid;
}

static void test_view_cost_at_100k_events_per_second(void **state)
{
    (void)state;
    const char *evlab = getenv("EVLAB_BIN");
    if (evlab == NULL || access(evlab, X_OK) != 0) {
        fprintf(stderr, "EVLAB_BIN not set: skipping the view measurement\n");
        skip();
    }
    int fds_before = self_fd_count();

    char name[48];
    snprintf(name, sizeof name, "viewperf-%d", (int)getpid());
    struct writer w = { 0 };
    char err[256];
    assert_int_equal(probe_create(&w.probe, &(struct probe_config){ .name = name, .model = "loop",
                                                                   .port = 1 },
                                  err, sizeof err), 0);
    pthread_t thread;
    assert_int_equal(pthread_create(&thread, NULL, writer_main, &w), 0);
    clock_sleep_ms(200);                       /* the writer is up to speed */

    int master, report_fd;
    uint64_t written_before = atomic_load(&w.written);
    uint64_t started = clock_now_ns();
    pid_t pid = start_view(evlab, name, &master, &report_fd);

    /* Swallow the screen output (the view would block on a full terminal)
     * and collect the report, until the child exits or the deadline. */
    char report[1024] = "";
    size_t report_len = 0;
    struct rusage usage;
    int status = 0;
    pid_t done = 0;
    uint64_t deadline = started + (uint64_t)CHILD_DEADLINE_S * 1000000000u;
    while (done == 0 && clock_now_ns() < deadline) {
        struct pollfd pfds[2] = { { .fd = master, .events = POLLIN },
                                  { .fd = report_fd, .events = POLLIN } };
        poll(pfds, 2, 50);
        char scratch[65536];
        if (pfds[0].revents & POLLIN)
            (void)!read(master, scratch, sizeof scratch);
        if (pfds[1].revents & POLLIN) {
            ssize_t n = read(report_fd, report + report_len, sizeof report - 1 - report_len);
            if (n > 0)
                report[report_len += (size_t)n] = '\0';
        }
        done = wait4(pid, &status, WNOHANG, &usage);
    }
    uint64_t elapsed_ns = clock_now_ns() - started;
    uint64_t written = atomic_load(&w.written) - written_before;
    if (done == 0) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
    }
    /* The last words of the report may still be in the pipe. */
    ssize_t n;
    while ((n = read(report_fd, report + report_len, sizeof report - 1 - report_len)) > 0)
        report[report_len += (size_t)n] = '\0';
    atomic_store(&w.stop, true);
    pthread_join(thread, NULL);
    probe_destroy(w.probe);
    close(master);
    close(report_fd);

    assert_true(done == pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    unsigned long long paints = 0, events = 0;
    double seconds = 0, rate = 0, events_rate = 0;
    const char *line = strstr(report, "evlab view: ");
    assert_non_null(line);
    assert_int_equal(sscanf(line, "evlab view: %llu refreshes in %lf s (%lf/s), %llu events read "
                                  "(%lf/s)", &paints, &seconds, &rate, &events, &events_rate), 5);
    double cpu_s = (double)usage.ru_utime.tv_sec + usage.ru_utime.tv_usec / 1e6 +
                   (double)usage.ru_stime.tv_sec + usage.ru_stime.tv_usec / 1e6;
    double cpu_percent = 100.0 * cpu_s / ((double)elapsed_ns / 1e9);
    double written_rate = (double)written / ((double)elapsed_ns / 1e9);
    printf("view measurement: writer %.0f events/s; view %.1f refreshes/s, read %.0f events/s, "
           "CPU %.1f%% of one core (%.2f s CPU in %.2f s)\n",
           written_rate, rate, events_rate, cpu_percent, cpu_s, (double)elapsed_ns / 1e9);

    assert_true(written_rate > TARGET_EVENTS_PER_S * 0.8);
    assert_true(rate >= 5.0);
    assert_true(cpu_percent < 50.0);
    assert_true((double)events >= 0.5 * (double)written);
    assert_int_equal(self_fd_count(), fds_before);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_view_cost_at_100k_events_per_second),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
