/*
 * test_work_server.c — the graded tests of exercise 06 (worker pool).
 *
 * Each test starts the student's work_server, talks to it over real
 * sockets on 127.0.0.1 and looks at it through /proc.  The point of the
 * exercise is ping_during_work: a PING sent while a long WORK job runs is
 * answered before that job is done, which is only possible when the job
 * runs on another thread.  The other tests check that the answers are
 * right, that many clients work at once, that a client leaving mid-job
 * costs nothing, and that an idle server sleeps instead of spinning.
 */
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "grade_net.h"
#include "grade_proc.h"
#include "grade_server.h"
#include "grade_test.h"
#include "../work.h"

#define LINE_TIMEOUT_MS 5000

/* Reads one line and fails the test unless it is exactly `want`.
 * TODO move to support (asked in exercises/support/REQUESTS.md). */
static void expect_line(struct grade_ctx *ctx, int fd, const char *want,
                        int timeout_ms, const char *input)
{
    char line[256], got[300];
    size_t n = grade_recv_line(fd, line, sizeof line, timeout_ms);
    if (n == strlen(want) && memcmp(line, want, n) == 0)
        return;
    char expected[300];
    grade_quote(want, strlen(want), expected, sizeof expected);
    if (n == 0)
        grade_fail(ctx, "the reply line", expected, input,
                   "no complete line within %d ms (or the connection closed)", timeout_ms);
    grade_fail(ctx, "the reply line", expected, input, "%s",
               grade_quote(line, n, got, sizeof got));
}

/* The reply a correct server gives to WORK <ms> <id>. */
static void done_line(uint64_t id, char *out, size_t cap)
{
    snprintf(out, cap, "DONE %" PRIu64 " %" PRIu64 "\n", id, work_answer(id));
}

static bool has_data(int fd)
{
    struct pollfd pfd = { .fd = fd, .events = POLLIN };
    return poll(&pfd, 1, 0) == 1;
}

/* TODO move to support (asked in exercises/support/REQUESTS.md). */
static bool is_event_wait(const char *call)
{
    return strcmp(call, "poll") == 0 || strcmp(call, "ppoll") == 0 ||
           strcmp(call, "epoll_wait") == 0 || strcmp(call, "epoll_pwait") == 0 ||
           strcmp(call, "select") == 0 || strcmp(call, "pselect6") == 0;
}

static void test_ping_pong(struct grade_ctx *ctx)
{
    struct grade_server srv;
    grade_server_start(ctx, &srv, NULL);
    int fd = grade_connect(ctx, srv.port);

    grade_send_all(ctx, fd, "PING\n", 5);
    expect_line(ctx, fd, "PONG\n", LINE_TIMEOUT_MS, "PING\\n");

    grade_note(ctx, "three PINGs in one write");
    grade_send_all(ctx, fd, "PING\nPING\nPING\n", 15);
    for (int i = 0; i < 3; i++)
        expect_line(ctx, fd, "PONG\n", LINE_TIMEOUT_MS, "PING\\nPING\\nPING\\n in one write");

    grade_note(ctx, "PING sent one byte at a time");
    grade_send_dribble(ctx, fd, "PING\n", 5, 1, 30);
    expect_line(ctx, fd, "PONG\n", LINE_TIMEOUT_MS, "PING\\n sent one byte every 30 ms");

    grade_send_all(ctx, fd, "HELLO\n", 6);
    expect_line(ctx, fd, "ERROR\n", LINE_TIMEOUT_MS, "HELLO\\n (not a request)");
    close(fd);
    grade_server_stop(ctx, &srv);
}

static void test_work_answer(struct grade_ctx *ctx)
{
    struct grade_server srv;
    grade_server_start(ctx, &srv, NULL);
    int fd = grade_connect(ctx, srv.port);

    for (int i = 0; i < 3; i++) {
        uint64_t id = grade_rand_below(ctx, 1000000000u);
        char request[64], want[64];
        snprintf(request, sizeof request, "WORK 50 %" PRIu64 "\n", id);
        done_line(id, want, sizeof want);
        grade_send_all(ctx, fd, request, strlen(request));
        char input[80];
        snprintf(input, sizeof input, "WORK 50 %" PRIu64 "\\n", id);
        expect_line(ctx, fd, want, 10000, input);
    }
    close(fd);
    grade_server_stop(ctx, &srv);
}

static void test_ping_during_work(struct grade_ctx *ctx)
{
    struct grade_server srv;
    grade_server_start(ctx, &srv, NULL);
    int worker = grade_connect(ctx, srv.port);
    int pinger = grade_connect(ctx, srv.port);
    uint64_t id = 1 + grade_rand_below(ctx, 1000000u);
    char request[64], want[64];
    snprintf(request, sizeof request, "WORK 1200 %" PRIu64 "\n", id);
    done_line(id, want, sizeof want);

    grade_send_all(ctx, worker, request, strlen(request));
    grade_sleep_ms(200);        /* the job is surely running by now */
    grade_note(ctx, "client A sent WORK 1200 %" PRIu64 "; client B sends PING", id);
    uint64_t sent = grade_now_ms();
    grade_send_all(ctx, pinger, "PING\n", 5);

    char line[64];
    size_t n = grade_recv_line(pinger, line, sizeof line, 1000);
    uint64_t waited = grade_now_ms() - sent;
    if (n != 5 || memcmp(line, "PONG\n", 5) != 0)
        grade_fail(ctx, "a PING is answered while another client's 1.2 s job runs",
                   "PONG\\n within 1 s", "client A: WORK 1200 (1.2 s of CPU); 200 ms later client B: PING",
                   "%s after %" PRIu64 " ms: the loop was busy computing the job itself",
                   n == 0 ? "no PONG" : "a wrong reply", waited);
    if (has_data(worker))
        grade_fail(ctx, "the PONG arrives before the job is done (the job ran elsewhere)",
                   "PONG first, DONE later", "client A: WORK 1200; client B: PING",
                   "client A already had its DONE when B got PONG (after %" PRIu64 " ms): "
                   "the job ran on the loop thread", waited);
    expect_line(ctx, worker, want, 15000, request);
    close(worker);
    close(pinger);
    grade_server_stop(ctx, &srv);
}

static void test_uses_worker_threads(struct grade_ctx *ctx)
{
    struct grade_server srv;
    grade_server_start(ctx, &srv, NULL);
    int fd = grade_connect(ctx, srv.port);
    grade_send_all(ctx, fd, "WORK 600 7\n", 11);
    grade_sleep_ms(200);

    int threads = grade_proc_threads(srv.pid);
    if (threads < 2)
        grade_fail(ctx, "the server's thread count while a job runs (/proc/PID/status)",
                   "at least 2 (the loop and a worker)", "WORK 600 7",
                   "%d thread: the job runs on the loop thread", threads);
    const char *call = grade_proc_wait_call(srv.pid);
    if (!is_event_wait(call))
        grade_fail(ctx, "where the loop thread waits while a worker computes (/proc/PID/syscall)",
                   "poll or epoll_wait (ready to answer other clients)", "WORK 600 7",
                   "%s", call);
    char want[64];
    done_line(7, want, sizeof want);
    expect_line(ctx, fd, want, 15000, "WORK 600 7");
    close(fd);
    grade_server_stop(ctx, &srv);
}

#define MANY 6

static void test_many_clients(struct grade_ctx *ctx)
{
    struct grade_server srv;
    grade_server_start(ctx, &srv, NULL);
    int fds[MANY];
    uint64_t ids[MANY];
    for (int i = 0; i < MANY; i++) {
        fds[i] = grade_connect(ctx, srv.port);
        ids[i] = (uint64_t)i * 1000 + grade_rand_below(ctx, 1000);
    }
    grade_note(ctx, "%d clients each send WORK 150 <own id> and then PING", MANY);
    for (int i = 0; i < MANY; i++) {
        char request[64];
        snprintf(request, sizeof request, "WORK 150 %" PRIu64 "\nPING\n", ids[i]);
        grade_send_all(ctx, fds[i], request, strlen(request));
    }
    for (int i = 0; i < MANY; i++) {
        char want[64], input[96], line[128];
        done_line(ids[i], want, sizeof want);
        snprintf(input, sizeof input, "client %d of %d: WORK 150 %" PRIu64 "\\nPING\\n",
                 i + 1, MANY, ids[i]);
        /* Replies may come in either order: PONG at once, DONE later. */
        bool saw_pong = false, saw_done = false;
        for (int k = 0; k < 2; k++) {
            size_t n = grade_recv_line(fds[i], line, sizeof line, 15000);
            if (n == 5 && memcmp(line, "PONG\n", 5) == 0 && !saw_pong) {
                saw_pong = true;
            } else if (n == strlen(want) && memcmp(line, want, n) == 0 && !saw_done) {
                saw_done = true;
            } else {
                char got[200];
                grade_fail(ctx, "each client gets its own PONG and its own DONE",
                           want, input, "%s", n == 0 ? "nothing within 15 s"
                           : grade_quote(line, n, got, sizeof got));
            }
        }
    }
    for (int i = 0; i < MANY; i++)
        close(fds[i]);
    grade_server_stop(ctx, &srv);
}

static void test_client_leaves_mid_job(struct grade_ctx *ctx)
{
    struct grade_server srv;
    grade_server_start(ctx, &srv, NULL);
    int baseline = grade_proc_open_fds(srv.pid);

    grade_note(ctx, "4 clients send WORK 300, then 2 close and 2 reset before the reply");
    for (int i = 0; i < 4; i++) {
        int fd = grade_connect(ctx, srv.port);
        grade_send_all(ctx, fd, "WORK 300 1\n", 11);
        grade_sleep_ms(20);
        if (i % 2 == 0)
            close(fd);
        else
            grade_close_with_reset(fd);
    }
    grade_sleep_ms(1000);       /* 4 jobs of 300 ms on 2 workers: finished */
    grade_server_check_alive(ctx, &srv, "after clients left while their jobs ran");
    int fds = grade_proc_wait_open_fds(srv.pid, baseline, 5000);
    if (fds > baseline)
        grade_fail(ctx, "descriptors open after the clients left (/proc/PID/fd)",
                   "the count before they came", "4 clients left mid-job (2 closed, 2 reset)",
                   "%d open, %d before: each leaving client leaks its socket", fds, baseline);
    int fd = grade_connect(ctx, srv.port);
    grade_send_all(ctx, fd, "PING\n", 5);
    expect_line(ctx, fd, "PONG\n", LINE_TIMEOUT_MS, "PING after 4 clients left mid-job");
    close(fd);
    grade_server_stop(ctx, &srv);
}

static void test_idle_cpu(struct grade_ctx *ctx)
{
    struct grade_server srv;
    grade_server_start(ctx, &srv, NULL);
    int fd = grade_connect(ctx, srv.port);
    grade_send_all(ctx, fd, "WORK 20 3\n", 10);
    char want[64];
    done_line(3, want, sizeof want);
    expect_line(ctx, fd, want, 10000, "WORK 20 3");

    grade_note(ctx, "one client connected, nothing to do, for 1 s");
    grade_sleep_ms(200);
    uint64_t before = grade_proc_cpu_ns(srv.pid);
    uint64_t start = grade_now_ms();
    grade_sleep_ms(1000);
    uint64_t used_ms = (grade_proc_cpu_ns(srv.pid) - before) / 1000000u;
    uint64_t wall_ms = grade_now_ms() - start;
    if (used_ms > 100)
        grade_fail(ctx, "CPU time of the idle server, all threads (/proc/PID/stat)",
                   "under 100 ms in a second of idleness", "no requests for 1 s",
                   "%" PRIu64 " ms of CPU in %" PRIu64 " ms: a thread busy-waits "
                   "(spins on a flag or polls with a zero timeout) instead of sleeping",
                   used_ms, wall_ms);
    close(fd);
    grade_server_stop(ctx, &srv);
}

static const struct grade_test tests[] = {
    { "ping_pong", 1, "", 10,
      "PING gets PONG: alone, three in one write, dribbled byte by byte; junk gets ERROR",
      test_ping_pong },
    { "work_answer", 2, "", 15,
      "WORK 50 <id> gets DONE <id> <work_answer(id)>", test_work_answer },
    { "ping_during_work", 3, "core,timing", 15,
      "a PING from another client is answered while a 1.2 s job runs", test_ping_during_work },
    { "uses_worker_threads", 1, "core", 15,
      "while a job runs: at least 2 threads, the loop thread waits in poll/epoll",
      test_uses_worker_threads },
    { "many_clients", 1, "", 20,
      "6 clients with a job each all get their own DONE and PONG", test_many_clients },
    { "client_leaves_mid_job", 1, "", 15,
      "clients that close or reset before their job is done: no crash, no leaked descriptor",
      test_client_leaves_mid_job },
    { "idle_cpu", 1, "timing", 10,
      "an idle server uses (almost) no CPU: nothing busy-waits", test_idle_cpu },
};

int main(int argc, char **argv)
{
    return grade_main(argc, argv, tests, sizeof tests / sizeof tests[0]);
}
