/*
 * Every server model, started as a real process on an ephemeral port and
 * driven over real loopback sockets: keep-alive, pipelining, a 1 MiB
 * echo, each framing error followed by a close, each route error with
 * the connection kept (the full table of edge cases is
 * test_http_edge.c), the instrumentation moving, descriptors back to
 * where they started, a clean SIGTERM stop.
 *
 * Each test runs once per model (and the loop once per backend), from a
 * table at the bottom.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "probe/probe_reader.h"
#include "support/served.h"

struct fixture {
    const char *model;
    const char *const *args;
    struct served server;
    int fds_at_start;
};

static int setup(void **state)
{
    struct fixture *f = *state;
    if (served_start(&f->server, f->model, f->args, 0) != 0)
        return -1;
    /* One request first, so lazily opened descriptors (e.g. /dev/shm,
     * /proc for the sampler) are counted in the baseline. */
    http_get(f->server.port, "/", NULL);
    /* The server closes that connection a moment after we do; on a busy
     * machine the moment can be long, so the baseline is the lowest
     * count seen over half a second, not one reading. */
    f->fds_at_start = served_fd_count(&f->server);
    for (int i = 0; i < 10; i++) {
        usleep(50000);
        int count = served_fd_count(&f->server);
        if (count >= 0 && count < f->fds_at_start)
            f->fds_at_start = count;
    }
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    int status = served_stop(&f->server);
    char path[128];
    snprintf(path, sizeof path, "/dev/shm/evlab.%s", f->server.name);
    int segment_left = access(path, F_OK) == 0;
    if (status != 0 || segment_left) {
        fprintf(stderr, "%s: exit status %d, segment left behind: %d\n", f->model, status,
                segment_left);
        return -1;
    }
    return 0;
}

static void test_keep_alive(void **state)
{
    struct fixture *f = *state;
    struct client c;
    assert_int_equal(client_connect(&c, f->server.port), 0);
    for (int i = 0; i < 5; i++) {
        struct response r;
        assert_int_equal(client_send_str(&c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"), 0);
        assert_int_equal(client_read_response(&c, &r, 5000), 0);
        assert_int_equal(r.status, 200);
        assert_string_equal(r.body, "hello\n");
        assert_false(r.connection_close);
        response_free(&r);
    }
    /* Connection: close is honoured: reply, then the server closes. */
    struct response r;
    assert_int_equal(client_send_str(&c, "GET / HTTP/1.1\r\nConnection: close\r\n\r\n"), 0);
    assert_int_equal(client_read_response(&c, &r, 5000), 0);
    assert_int_equal(r.status, 200);
    assert_true(r.connection_close);
    response_free(&r);
    assert_true(client_wait_closed(&c, 5000));
    client_close(&c);
}

static void test_pipelining(void **state)
{
    struct fixture *f = *state;
    struct client c;
    assert_int_equal(client_connect(&c, f->server.port), 0);
    /* Three requests in one write; the replies must come back in order. */
    assert_int_equal(client_send_str(&c,
        "GET /echo?first HTTP/1.1\r\n\r\n"
        "POST /echo HTTP/1.1\r\nContent-Length: 6\r\n\r\nsecond"
        "GET /sleep/20 HTTP/1.1\r\n\r\n"
        "GET /echo?fourth HTTP/1.1\r\n\r\n"), 0);
    const char *expected[] = { "first", "second", "slept 20 ms\n", "fourth" };
    for (int i = 0; i < 4; i++) {
        struct response r;
        assert_int_equal(client_read_response(&c, &r, 5000), 0);
        assert_int_equal(r.status, 200);
        assert_string_equal(r.body, expected[i]);
        response_free(&r);
    }
    client_close(&c);
}

static void test_echo_one_mebibyte(void **state)
{
    struct fixture *f = *state;
    enum { SIZE = 1 << 20 };
    char *body = malloc(SIZE);
    assert_non_null(body);
    for (size_t i = 0; i < SIZE; i++)
        body[i] = (char)('a' + (i * 7) % 26);
    struct client c;
    assert_int_equal(client_connect(&c, f->server.port), 0);
    char head[128];
    snprintf(head, sizeof head, "POST /echo HTTP/1.1\r\nContent-Length: %d\r\n\r\n", SIZE);
    assert_int_equal(client_send_str(&c, head), 0);
    assert_int_equal(client_send(&c, body, SIZE), 0);
    struct response r;
    assert_int_equal(client_read_response(&c, &r, 15000), 0);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.body_len, SIZE);
    assert_memory_equal(r.body, body, SIZE);
    response_free(&r);
    client_close(&c);
    free(body);
}

/* Sends `request`, expects `status` and then a close. */
static void expect_status_and_close(int port, const char *request, size_t len, int status)
{
    struct client c;
    assert_int_equal(client_connect(&c, port), 0);
    assert_int_equal(client_send(&c, request, len), 0);
    struct response r;
    assert_int_equal(client_read_response(&c, &r, 5000), 0);
    if (r.status != status)
        fprintf(stderr, "request %.40s...: got %d, want %d\n", request, r.status, status);
    assert_int_equal(r.status, status);
    assert_true(r.connection_close);
    response_free(&r);
    assert_true(client_wait_closed(&c, 5000));
    client_close(&c);
}

static void test_bad_requests(void **state)
{
    struct fixture *f = *state;
    int port = f->server.port;
    const char *garbage = "\x16\x03\x01 hello? this is not http\r\n\r\n";
    expect_status_and_close(port, garbage, strlen(garbage), 400);
    const char *bad_length = "POST /echo HTTP/1.1\r\nContent-Length: -1\r\n\r\n";
    expect_status_and_close(port, bad_length, strlen(bad_length), 400);
    const char *too_big = "POST /echo HTTP/1.1\r\nContent-Length: 999999999\r\n\r\n";
    expect_status_and_close(port, too_big, strlen(too_big), 413);
    const char *chunked = "POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n";
    expect_status_and_close(port, chunked, strlen(chunked), 501);
    const char *no_version = "GARBAGE\r\n\r\n";
    expect_status_and_close(port, no_version, strlen(no_version), 400);

    /* Headers past the limit: 431. */
    size_t n = 20000;
    char *huge = malloc(n + 64);
    assert_non_null(huge);
    int at = sprintf(huge, "GET / HTTP/1.1\r\nX-Fill: ");
    memset(huge + at, 'x', n);
    memcpy(huge + at + n, "\r\n\r\n", 4);
    expect_status_and_close(port, huge, (size_t)at + n + 4, 431);
    free(huge);

    /* A well-formed request the routes refuse is an answer, not a
     * broken stream: the connection carries on. */
    const char *const refused[] = {
        "GET /no/such/thing HTTP/1.1\r\n\r\n", "BREW /pot HTTP/1.1\r\n\r\n",
        "GET /sleep/abc HTTP/1.1\r\n\r\n", "GET /sleep/99999999 HTTP/1.1\r\n\r\n",
        "DELETE / HTTP/1.1\r\n\r\n",
    };
    const int refused_status[] = { 404, 501, 400, 400, 405 };
    struct client c;
    assert_int_equal(client_connect(&c, port), 0);
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        struct response r;
        assert_int_equal(client_send_str(&c, refused[i]), 0);
        assert_int_equal(client_read_response(&c, &r, 5000), 0);
        assert_int_equal(r.status, refused_status[i]);
        assert_false(r.connection_close);
        response_free(&r);
    }
    struct response r;
    assert_int_equal(client_send_str(&c, "GET / HTTP/1.1\r\n\r\n"), 0);
    assert_int_equal(client_read_response(&c, &r, 5000), 0);
    assert_int_equal(r.status, 200);
    response_free(&r);
    client_close(&c);
}

static void test_descriptors_return_to_start(void **state)
{
    struct fixture *f = *state;
    enum { CLIENTS = 20 };
    struct client clients[CLIENTS];
    for (int i = 0; i < CLIENTS; i++) {
        assert_int_equal(client_connect(&clients[i], f->server.port), 0);
        assert_int_equal(client_send_str(&clients[i], "GET /echo?x HTTP/1.1\r\n\r\n"), 0);
    }
    for (int i = 0; i < CLIENTS; i++) {
        struct response r;
        assert_int_equal(client_read_response(&clients[i], &r, 10000), 0);
        assert_int_equal(r.status, 200);
        response_free(&r);
        client_close(&clients[i]);
    }
    int count = served_wait_fd_count(&f->server, f->fds_at_start, 5000);
    assert_int_equal(count, f->fds_at_start);
}

static void test_instrumentation_moves(void **state)
{
    struct fixture *f = *state;
    char err[256];
    struct probe_reader *reader;
    assert_int_equal(probe_reader_open(&reader, f->server.name, err, sizeof err), 0);
    assert_string_equal(probe_reader_info(reader)->model, f->model);
    assert_int_equal(probe_reader_info(reader)->port, f->server.port);

    struct probe_snapshot *before = malloc(sizeof *before), *after = malloc(sizeof *after);
    assert_non_null(before);
    assert_non_null(after);
    assert_int_equal(probe_reader_snapshot(reader, before), 0);
    for (int i = 0; i < 10; i++)
        assert_int_equal(http_get(f->server.port, "/sleep/5", NULL), 200);
    /* Gauges are updated after the reply is sent: allow a moment. */
    double deadline = now_ms() + 3000;
    do {
        usleep(20000);
        assert_int_equal(probe_reader_snapshot(reader, after), 0);
    } while (after->gauges[PROBE_GAUGE_REQUESTS_DONE] <
                 before->gauges[PROBE_GAUGE_REQUESTS_DONE] + 10 && now_ms() < deadline);
    assert_true(after->writer_alive);
    assert_true(after->gauges[PROBE_GAUGE_REQUESTS_DONE] >=
                before->gauges[PROBE_GAUGE_REQUESTS_DONE] + 10);
    assert_true(after->gauges[PROBE_GAUGE_ACCEPTS] >= before->gauges[PROBE_GAUGE_ACCEPTS] + 10);
    assert_true(histogram_count(&after->hists[PROBE_HIST_HANDLER_NS]) >=
                histogram_count(&before->hists[PROBE_HIST_HANDLER_NS]) + 10);
    /* The event stream saw the accepts. */
    struct probe_event_record events[4096];
    size_t n = probe_reader_events(reader, events, 4096, NULL);
    int accepts = 0;
    for (size_t i = 0; i < n; i++)
        accepts += events[i].kind == PROBE_EV_ACCEPT;
    assert_true(accepts >= 10);

    struct response r;
    assert_int_equal(http_get(f->server.port, "/stats", &r), 200);
    assert_non_null(strstr(r.body, "requests_done"));
    response_free(&r);
    free(before);
    free(after);
    probe_reader_close(reader);
}

#define MODEL_TESTS(fixture_ptr)                                                              \
    cmocka_unit_test_prestate_setup_teardown(test_keep_alive, setup, teardown, fixture_ptr),  \
    cmocka_unit_test_prestate_setup_teardown(test_pipelining, setup, teardown, fixture_ptr),  \
    cmocka_unit_test_prestate_setup_teardown(test_echo_one_mebibyte, setup, teardown, fixture_ptr), \
    cmocka_unit_test_prestate_setup_teardown(test_bad_requests, setup, teardown, fixture_ptr), \
    cmocka_unit_test_prestate_setup_teardown(test_descriptors_return_to_start, setup, teardown, fixture_ptr), \
    cmocka_unit_test_prestate_setup_teardown(test_instrumentation_moves, setup, teardown, fixture_ptr)

int main(void)
{
    static const char *const epoll_args[] = { "--backend", "epoll", NULL };
    static const char *const workers_args[] = { "--workers", "2", NULL };
    static struct fixture blocking = { .model = "blocking" };
    static struct fixture threads = { .model = "threads" };
    static struct fixture loop_poll = { .model = "loop" };
    static struct fixture loop_epoll = { .model = "loop", .args = epoll_args };
    static struct fixture loop_workers = { .model = "loop", .args = workers_args };
    const struct CMUnitTest tests[] = {
        MODEL_TESTS(&blocking),
        MODEL_TESTS(&threads),
        MODEL_TESTS(&loop_poll),
        MODEL_TESTS(&loop_epoll),
        MODEL_TESTS(&loop_workers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
