/*
 * Request and idle timeouts, in every model: a slowloris client (a byte
 * now and then, never finishing its headers) gets 408 and a close once
 * the request timeout passes; a keep-alive connection that goes quiet is
 * closed after the idle timeout; a slow but timely request is served.
 * The servers run with short timeouts (--request-timeout 500ms,
 * --idle-timeout 700ms) so the tests stay quick; margins are generous.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "support/served.h"

struct fixture {
    const char *model;
    const char *const *args;
    struct served server;
};

static const char *const short_timeouts[] = {
    "--request-timeout", "500ms", "--idle-timeout", "700ms", NULL };
static const char *const short_timeouts_epoll[] = {
    "--request-timeout", "500ms", "--idle-timeout", "700ms", "--backend", "epoll", NULL };

static int setup(void **state)
{
    struct fixture *f = *state;
    return served_start(&f->server, f->model, f->args, 0) == 0 ? 0 : -1;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    return served_stop(&f->server) == 0 ? 0 : -1;
}

static void test_slowloris_gets_408(void **state)
{
    struct fixture *f = *state;
    struct client c;
    assert_int_equal(client_connect(&c, f->server.port), 0);
    double start = now_ms();
    assert_int_equal(client_send_str(&c, "GET / HTTP/1.1\r\nX-Slow: "), 0);
    /* One byte every 100 ms, for up to 3 s, until the server answers. */
    struct response r = { 0 };
    int got = -1;
    for (int i = 0; i < 30 && got != 0; i++) {
        if (client_send_str(&c, "a") != 0)
            break;                      /* the server already closed */
        got = client_read_response(&c, &r, 100);
    }
    if (got != 0)
        got = client_read_response(&c, &r, 2000);
    double waited = now_ms() - start;
    fprintf(stderr, "  %s: slowloris answered %d after %.0f ms\n", f->model, r.status, waited);
    assert_int_equal(got, 0);
    assert_int_equal(r.status, 408);
    assert_true(r.connection_close);
    response_free(&r);
    assert_true(waited >= 450);      /* not before the timeout */
    assert_true(waited < 3000);
    assert_true(client_wait_closed(&c, 3000));
    client_close(&c);

    /* And the server still serves. */
    assert_int_equal(http_get(f->server.port, "/", NULL), 200);
}

static void test_idle_keep_alive_is_closed(void **state)
{
    struct fixture *f = *state;
    struct client c;
    assert_int_equal(client_connect(&c, f->server.port), 0);
    assert_int_equal(client_send_str(&c, "GET / HTTP/1.1\r\n\r\n"), 0);
    struct response r;
    assert_int_equal(client_read_response(&c, &r, 3000), 0);
    assert_int_equal(r.status, 200);
    response_free(&r);
    double start = now_ms();
    assert_true(client_wait_closed(&c, 5000));
    double waited = now_ms() - start;
    fprintf(stderr, "  %s: idle connection closed after %.0f ms\n", f->model, waited);
    assert_true(waited >= 600);
    client_close(&c);
}

static void test_slow_but_timely_request_is_served(void **state)
{
    struct fixture *f = *state;
    struct client c;
    assert_int_equal(client_connect(&c, f->server.port), 0);
    const char *request = "GET /echo?patience HTTP/1.1\r\n\r\n";
    /* The whole request over ~300 ms: inside the 500 ms timeout. */
    size_t len = strlen(request);
    for (size_t i = 0; i < len; i += 4) {
        size_t n = len - i < 4 ? len - i : 4;
        assert_int_equal(client_send(&c, request + i, n), 0);
        usleep(35000);
    }
    struct response r;
    assert_int_equal(client_read_response(&c, &r, 3000), 0);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "patience");
    response_free(&r);
    client_close(&c);
}

#define TIMEOUT_TESTS(fx)                                                                    \
    cmocka_unit_test_prestate_setup_teardown(test_slowloris_gets_408, setup, teardown, fx), \
    cmocka_unit_test_prestate_setup_teardown(test_idle_keep_alive_is_closed, setup, teardown, fx), \
    cmocka_unit_test_prestate_setup_teardown(test_slow_but_timely_request_is_served, setup, teardown, fx)

int main(void)
{
    static struct fixture blocking = { .model = "blocking", .args = short_timeouts };
    static struct fixture threads = { .model = "threads", .args = short_timeouts };
    static struct fixture loop_poll = { .model = "loop", .args = short_timeouts };
    static struct fixture loop_epoll = { .model = "loop", .args = short_timeouts_epoll };
    const struct CMUnitTest tests[] = {
        TIMEOUT_TESTS(&blocking),
        TIMEOUT_TESTS(&threads),
        TIMEOUT_TESTS(&loop_poll),
        TIMEOUT_TESTS(&loop_epoll),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
