/*
 * The lessons, asserted: what each model does when one client is slow.
 * Margins are generous (the machine is shared): we assert causes
 * ("the second client waited for the first one's sleep"), never speeds.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "probe/probe_reader.h"
#include "support/served.h"

/* Client A asks for `slow_path`; shortly after, client B asks for "/".
 * Returns how long B waited, in ms. */
static double second_client_wait_ms(int port, const char *slow_path)
{
    struct client a, b;
    char request[128];
    assert_int_equal(client_connect(&a, port), 0);
    /* Connection: close, so the blocking model moves on to B after
     * answering A instead of waiting for A's next request. */
    snprintf(request, sizeof request, "GET %s HTTP/1.1\r\nConnection: close\r\n\r\n",
             slow_path);
    assert_int_equal(client_send_str(&a, request), 0);
    usleep(50000);   /* let A's request reach its handler first */

    double start = now_ms();
    assert_int_equal(client_connect(&b, port), 0);
    assert_int_equal(client_send_str(&b, "GET / HTTP/1.1\r\n\r\n"), 0);
    struct response r;
    assert_int_equal(client_read_response(&b, &r, 10000), 0);
    double waited = now_ms() - start;
    assert_int_equal(r.status, 200);
    response_free(&r);

    assert_int_equal(client_read_response(&a, &r, 10000), 0);
    assert_int_equal(r.status, 200);
    response_free(&r);
    client_close(&a);
    client_close(&b);
    return waited;
}

/* The server of the running test, stopped by teardown even when an
 * assertion failed half-way. */
static struct served current;

static int stop_current(void **state)
{
    (void)state;
    if (current.pid > 0 && served_stop(&current) != 0)
        return -1;
    return 0;
}

static void run_second_client(const char *model, const char *const *args, const char *slow,
                              bool expect_blocked)
{
    assert_int_equal(served_start(&current, model, args, 0), 0);
    double waited = second_client_wait_ms(current.port, slow);
    fprintf(stderr, "  %s %s: second client waited %.0f ms\n", model, slow, waited);
    if (expect_blocked)
        assert_true(waited >= 200);     /* the rest of A's 300 ms */
    else
        assert_true(waited < 150);      /* did not wait for A */
}

static void test_blocking_second_client_waits(void **state)
{
    (void)state;
    run_second_client("blocking", NULL, "/sleep/300", true);
}

static void test_threads_second_client_does_not_wait(void **state)
{
    (void)state;
    run_second_client("threads", NULL, "/sleep/300", false);
}

static void test_loop_second_client_does_not_wait(void **state)
{
    (void)state;
    run_second_client("loop", NULL, "/sleep/300", false);
}

static void test_loop_blocking_sleep_delays_everyone(void **state)
{
    (void)state;
    run_second_client("loop", NULL, "/sleep/300?block=1", true);
}

static void test_loop_inline_cpu_delays_everyone(void **state)
{
    (void)state;
    run_second_client("loop", NULL, "/cpu/300", true);
}

static void test_loop_worker_cpu_does_not_delay(void **state)
{
    (void)state;
    static const char *const args[] = { "--workers", "2", NULL };
    run_second_client("loop", args, "/cpu/300", false);
}

/* 100 concurrent /sleep/200 on one thread: timers, not sleeping threads,
 * so the whole batch takes about 200 ms, not 100 x 200 ms. */
static void test_loop_hundred_sleeps_on_one_thread(void **state)
{
    (void)state;
    enum { CLIENTS = 100 };
    struct served *s = &current;
    assert_int_equal(served_start(s, "loop", NULL, 0), 0);
    assert_int_equal(served_thread_count(s), 1);

    static struct client clients[CLIENTS];
    double start = now_ms();
    for (int i = 0; i < CLIENTS; i++) {
        assert_int_equal(client_connect(&clients[i], s->port), 0);
        assert_int_equal(client_send_str(&clients[i], "GET /sleep/200 HTTP/1.1\r\n\r\n"), 0);
    }
    for (int i = 0; i < CLIENTS; i++) {
        struct response r;
        assert_int_equal(client_read_response(&clients[i], &r, 15000), 0);
        assert_int_equal(r.status, 200);
        response_free(&r);
    }
    double elapsed = now_ms() - start;
    fprintf(stderr, "  loop: %d x /sleep/200 took %.0f ms on %d thread(s)\n", CLIENTS, elapsed,
            served_thread_count(s));
    assert_true(elapsed >= 195);
    assert_true(elapsed < 0.25 * CLIENTS * 200);   /* far less than 20 s */
    assert_int_equal(served_thread_count(s), 1);
    for (int i = 0; i < CLIENTS; i++)
        client_close(&clients[i]);
}

/* Threads: one per connection, visible in /proc; past --max-threads, 503. */
static void test_threads_one_per_connection_and_cap(void **state)
{
    (void)state;
    static const char *const args[] = { "--max-threads", "4", NULL };
    struct served *s = &current;
    assert_int_equal(served_start(s, "threads", args, 0), 0);
    int base = served_thread_count(s);
    struct client held[4];
    for (int i = 0; i < 4; i++) {
        assert_int_equal(client_connect(&held[i], s->port), 0);
        assert_int_equal(client_send_str(&held[i], "GET / HTTP/1.1\r\n\r\n"), 0);
        struct response r;
        assert_int_equal(client_read_response(&held[i], &r, 5000), 0);
        response_free(&r);
    }
    assert_int_equal(served_thread_count(s), base + 4);

    struct client extra;
    assert_int_equal(client_connect(&extra, s->port), 0);
    assert_int_equal(client_send_str(&extra, "GET / HTTP/1.1\r\n\r\n"), 0);
    struct response r;
    assert_int_equal(client_read_response(&extra, &r, 5000), 0);
    assert_int_equal(r.status, 503);
    response_free(&r);
    client_close(&extra);

    for (int i = 0; i < 4; i++)
        client_close(&held[i]);
    double deadline = now_ms() + 5000;
    while (served_thread_count(s) != base && now_ms() < deadline)
        usleep(20000);
    assert_int_equal(served_thread_count(s), base);
}

/* Blocking model: while one client holds the only thread, later clients
 * wait in the kernel's accept queue, and the instrumentation says so
 * (QUEUED from TCP_INFO on the listening socket, READY = 1). */
static void test_blocking_queue_is_the_accept_queue(void **state)
{
    (void)state;
    struct served *s = &current;
    assert_int_equal(served_start(s, "blocking", NULL, 0), 0);
    struct client holder, waiting[3];
    assert_int_equal(client_connect(&holder, s->port), 0);
    assert_int_equal(client_send_str(&holder, "GET / HTTP/1.1\r\n\r\n"), 0);
    struct response r;
    assert_int_equal(client_read_response(&holder, &r, 5000), 0);
    response_free(&r);
    for (int i = 0; i < 3; i++)
        assert_int_equal(client_connect(&waiting[i], s->port), 0);

    char err[256];
    struct probe_reader *reader;
    assert_int_equal(probe_reader_open(&reader, s->name, err, sizeof err), 0);
    struct probe_snapshot *snap = malloc(sizeof *snap);
    assert_non_null(snap);
    double deadline = now_ms() + 3000;
    do {
        usleep(20000);
        assert_int_equal(probe_reader_snapshot(reader, snap), 0);
    } while (snap->gauges[PROBE_GAUGE_QUEUED] < 3 && now_ms() < deadline);
    assert_int_equal(snap->gauges[PROBE_GAUGE_Q_ACCEPT_BACKLOG], 3);
    assert_int_equal(snap->gauges[PROBE_GAUGE_QUEUED], 3);
    assert_int_equal(snap->gauges[PROBE_GAUGE_READY], 1);

    /* The holder leaves: the queue drains one client at a time. */
    client_close(&holder);
    for (int i = 0; i < 3; i++)
        client_close(&waiting[i]);
    deadline = now_ms() + 3000;
    do {
        usleep(20000);
        assert_int_equal(probe_reader_snapshot(reader, snap), 0);
    } while (snap->gauges[PROBE_GAUGE_QUEUED] != 0 && now_ms() < deadline);
    assert_int_equal(snap->gauges[PROBE_GAUGE_QUEUED], 0);
    free(snap);
    probe_reader_close(reader);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_blocking_second_client_waits, stop_current),
        cmocka_unit_test_teardown(test_threads_second_client_does_not_wait, stop_current),
        cmocka_unit_test_teardown(test_loop_second_client_does_not_wait, stop_current),
        cmocka_unit_test_teardown(test_loop_blocking_sleep_delays_everyone, stop_current),
        cmocka_unit_test_teardown(test_loop_inline_cpu_delays_everyone, stop_current),
        cmocka_unit_test_teardown(test_loop_worker_cpu_does_not_delay, stop_current),
        cmocka_unit_test_teardown(test_loop_hundred_sleeps_on_one_thread, stop_current),
        cmocka_unit_test_teardown(test_threads_one_per_connection_and_cap, stop_current),
        cmocka_unit_test_teardown(test_blocking_queue_is_the_accept_queue, stop_current),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
