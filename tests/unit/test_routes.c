/*
 * test_routes.c — route_match() on real parsed requests (every route,
 * every method rule, the argument checks of /sleep/MS and /cpu/MS), the
 * route names, and route_cpu_burn() measured on the thread's CPU clock.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "http/http_parser.h"
#include "http/routes.h"
#include "server/reply.h"

/* Parses `raw` (a string literal, so the request's pointers stay valid)
 * and matches it. */
static void match(const char *raw, struct route_match *m)
{
    struct http_parser p;
    struct http_request req;

    http_parser_init(&p, HTTP_DEFAULT_MAX_BODY);
    if (http_parse(&p, raw, strlen(raw), &req) != HTTP_PARSE_DONE)
        fail_msg("did not parse: %s", raw);
    route_match(&req, m);
}

static void expect_route(const char *method, const char *target, enum route_id id)
{
    char raw[256];
    struct route_match m;
    struct http_parser p;
    struct http_request req;

    snprintf(raw, sizeof raw, "%s %s HTTP/1.1\r\nHost: t\r\n\r\n", method, target);
    http_parser_init(&p, HTTP_DEFAULT_MAX_BODY);
    assert_int_equal(http_parse(&p, raw, strlen(raw), &req), HTTP_PARSE_DONE);
    route_match(&req, &m);
    if (m.id != id)
        fail_msg("%s %s: route %s, expected %s", method, target,
                 route_name(m.id), route_name(id));
    if (id == ROUTE_BAD_ARGUMENT && m.error_detail == NULL)
        fail_msg("%s %s: no error_detail", method, target);
}

static void test_root(void **state)
{
    struct route_match m;

    (void)state;
    match("GET / HTTP/1.1\r\n\r\n", &m);
    assert_int_equal(m.id, ROUTE_ROOT);
    expect_route("HEAD", "/", ROUTE_ROOT);
    expect_route("GET", "/?x=1", ROUTE_ROOT);
    expect_route("POST", "/", ROUTE_METHOD_NOT_ALLOWED);
    expect_route("PUT", "/", ROUTE_METHOD_NOT_ALLOWED);
    expect_route("DELETE", "/", ROUTE_METHOD_NOT_ALLOWED);
    assert_string_equal(ROUTE_ROOT_BODY, "hello\n");
}

static void test_echo(void **state)
{
    struct route_match m;

    (void)state;
    match("POST /echo HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello", &m);
    assert_int_equal(m.id, ROUTE_ECHO);
    assert_int_equal(m.echo_len, 5);
    assert_memory_equal(m.echo, "hello", 5);

    match("PUT /echo?ignored HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc", &m);
    assert_int_equal(m.id, ROUTE_ECHO);
    assert_int_equal(m.echo_len, 3);
    assert_memory_equal(m.echo, "abc", 3);

    match("GET /echo?say=hi%20there HTTP/1.1\r\n\r\n", &m);
    assert_int_equal(m.id, ROUTE_ECHO);
    assert_int_equal(m.echo_len, strlen("say=hi%20there"));
    assert_memory_equal(m.echo, "say=hi%20there", m.echo_len);

    match("HEAD /echo?q HTTP/1.1\r\n\r\n", &m);
    assert_int_equal(m.id, ROUTE_ECHO);
    assert_int_equal(m.echo_len, 1);

    match("GET /echo HTTP/1.1\r\n\r\n", &m);
    assert_int_equal(m.id, ROUTE_ECHO);
    assert_int_equal(m.echo_len, 0);

    match("POST /echo HTTP/1.1\r\n\r\n", &m);
    assert_int_equal(m.id, ROUTE_ECHO);
    assert_int_equal(m.echo_len, 0);

    expect_route("DELETE", "/echo", ROUTE_METHOD_NOT_ALLOWED);
}

static void test_sleep(void **state)
{
    struct route_match m;

    (void)state;
    match("GET /sleep/250 HTTP/1.1\r\n\r\n", &m);
    assert_int_equal(m.id, ROUTE_SLEEP);
    assert_int_equal(m.ms, 250);
    assert_null(m.error_detail);

    match("GET /sleep/0 HTTP/1.1\r\n\r\n", &m);
    assert_int_equal(m.id, ROUTE_SLEEP);
    assert_int_equal(m.ms, 0);

    match("GET /sleep/60000 HTTP/1.1\r\n\r\n", &m);     /* the bound itself */
    assert_int_equal(m.id, ROUTE_SLEEP);
    assert_int_equal(m.ms, ROUTE_MAX_SLEEP_MS);

    match("GET /sleep/0007 HTTP/1.1\r\n\r\n", &m);
    assert_int_equal(m.id, ROUTE_SLEEP);
    assert_int_equal(m.ms, 7);

    match("HEAD /sleep/5 HTTP/1.1\r\n\r\n", &m);
    assert_int_equal(m.id, ROUTE_SLEEP);

    match("GET /sleep/40?block=1 HTTP/1.1\r\n\r\n", &m);
    assert_int_equal(m.id, ROUTE_SLEEP_BLOCKING);
    assert_int_equal(m.ms, 40);

    expect_route("GET", "/sleep/40?x=2&block=1", ROUTE_SLEEP_BLOCKING);
    expect_route("GET", "/sleep/40?block=1&x=2", ROUTE_SLEEP_BLOCKING);
    expect_route("GET", "/sleep/40?block=0", ROUTE_SLEEP);
    expect_route("GET", "/sleep/40?block=10", ROUTE_SLEEP);
    expect_route("GET", "/sleep/40?xblock=1", ROUTE_SLEEP);
    expect_route("GET", "/sleep/40?", ROUTE_SLEEP);
    expect_route("GET", "/sleep/40?&&", ROUTE_SLEEP);
}

static void test_bad_arguments(void **state)
{
    static const char *const bad[] = {
        "/sleep/abc", "/sleep/-5", "/sleep/+5", "/sleep/", "/sleep",
        "/sleep/99999999999", "/sleep/4294967296", "/sleep/9999999999",
        "/sleep/60001", "/sleep/5/6", "/sleep/5.0", "/sleep/5x", "/sleep/%35",
        "/cpu/10001", "/cpu/", "/cpu", "/cpu/-1", "/cpu/1e3",
        "/sleep/abc?block=1",
    };
    struct route_match m;

    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        expect_route("GET", bad[i], ROUTE_BAD_ARGUMENT);
    match("GET /sleep/99999999999 HTTP/1.1\r\n\r\n", &m);
    assert_int_equal(m.id, ROUTE_BAD_ARGUMENT);
    assert_int_equal(m.ms, 0);
    assert_non_null(m.error_detail);
    assert_true(strlen(m.error_detail) > 0);
}

static void test_cpu(void **state)
{
    struct route_match m;

    (void)state;
    match("GET /cpu/10 HTTP/1.1\r\n\r\n", &m);
    assert_int_equal(m.id, ROUTE_CPU);
    assert_int_equal(m.ms, 10);
    expect_route("GET", "/cpu/10000", ROUTE_CPU);
    expect_route("GET", "/cpu/10?block=1", ROUTE_CPU);      /* block is for /sleep */
    expect_route("HEAD", "/cpu/1", ROUTE_CPU);
}

static void test_stats_and_method_rules(void **state)
{
    struct route_match m;

    (void)state;
    expect_route("GET", "/stats", ROUTE_STATS);
    expect_route("HEAD", "/stats", ROUTE_STATS);
    expect_route("POST", "/stats", ROUTE_METHOD_NOT_ALLOWED);
    expect_route("POST", "/sleep/5", ROUTE_METHOD_NOT_ALLOWED);
    expect_route("DELETE", "/sleep/5", ROUTE_METHOD_NOT_ALLOWED);
    expect_route("PUT", "/cpu/5", ROUTE_METHOD_NOT_ALLOWED);

    match("DELETE / HTTP/1.1\r\n\r\n", &m);
    assert_int_equal(m.id, ROUTE_METHOD_NOT_ALLOWED);
    assert_non_null(m.error_detail);
}

static void test_not_found(void **state)
{
    (void)state;
    expect_route("GET", "/nope", ROUTE_NOT_FOUND);
    expect_route("GET", "/sleepy", ROUTE_NOT_FOUND);
    expect_route("GET", "/sleep5", ROUTE_NOT_FOUND);
    expect_route("GET", "/cpux/5", ROUTE_NOT_FOUND);
    expect_route("GET", "/echo/", ROUTE_NOT_FOUND);
    expect_route("GET", "/ECHO", ROUTE_NOT_FOUND);
    expect_route("GET", "//", ROUTE_NOT_FOUND);
    expect_route("GET", "/stats/x", ROUTE_NOT_FOUND);
    expect_route("DELETE", "/nope", ROUTE_NOT_FOUND);
}

/* A method nobody here implements is 501 on any path (even one that does
 * not exist); a known method a path does not take is 405. */
static void test_unknown_and_unserved_methods(void **state)
{
    struct route_match m;

    (void)state;
    expect_route("BREW", "/", ROUTE_NOT_IMPLEMENTED);
    expect_route("BREW", "/nope", ROUTE_NOT_IMPLEMENTED);
    expect_route("get", "/", ROUTE_NOT_IMPLEMENTED);
    expect_route("OPTIONS", "/", ROUTE_METHOD_NOT_ALLOWED);
    expect_route("PATCH", "/echo", ROUTE_METHOD_NOT_ALLOWED);
    expect_route("TRACE", "/stats", ROUTE_METHOD_NOT_ALLOWED);
    expect_route("PATCH", "/nope", ROUTE_NOT_FOUND);
    match("BREW /sleep/5 HTTP/1.1\r\n\r\n", &m);
    assert_int_equal(m.id, ROUTE_NOT_IMPLEMENTED);
    assert_non_null(m.error_detail);
    /* Absolute form routes by its path. */
    match("GET http://example.com/sleep/7 HTTP/1.1\r\n\r\n", &m);
    assert_int_equal(m.id, ROUTE_SLEEP);
    assert_int_equal(m.ms, 7);
}

static void test_route_names(void **state)
{
    (void)state;
    assert_string_equal(route_name(ROUTE_ROOT), "/");
    assert_string_equal(route_name(ROUTE_ECHO), "/echo");
    assert_string_equal(route_name(ROUTE_SLEEP), "/sleep");
    assert_string_equal(route_name(ROUTE_CPU), "/cpu");
    assert_string_equal(route_name(ROUTE_STATS), "/stats");
    /* Every id has its own name; past the end is "?". */
    for (int a = 0; a < ROUTE_COUNT; a++) {
        assert_string_not_equal(route_name((enum route_id)a), "?");
        for (int b = a + 1; b < ROUTE_COUNT; b++)
            assert_string_not_equal(route_name((enum route_id)a), route_name((enum route_id)b));
    }
    assert_string_equal(route_name(ROUTE_COUNT), "?");
}

static uint64_t thread_cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* 30 ms asked: at least 30 ms of this thread's CPU, and not wildly more
 * (the margin is generous: the machine is shared and sanitizers slow). */
static void test_cpu_burn_costs_cpu_time(void **state)
{
    uint64_t before, used, x1, x2;

    (void)state;
    before = thread_cpu_ns();
    x1 = route_cpu_burn(30);
    used = thread_cpu_ns() - before;
    assert_true(used >= 30u * 1000000u);
    assert_true(used < 300u * 1000000u);

    before = thread_cpu_ns();
    x2 = route_cpu_burn(0);
    used = thread_cpu_ns() - before;
    assert_true(used < 20u * 1000000u);
    (void)x1;
    (void)x2;
}

/* The replies every client sees most, byte for byte, as reply_append
 * writes them: GET / on HTTP/1.1 (a prebuilt string in reply.c, which
 * must equal what http_response_append formats), HEAD /, an HTTP/1.0
 * client that asked to keep its connection, one that asked to close, and
 * a 404 that keeps the connection. */
static bool reply_to(const char *raw, struct buffer *out)
{
    struct http_parser p;
    struct http_request req;
    struct reply_plan plan;

    http_parser_init(&p, HTTP_DEFAULT_MAX_BODY);
    assert_int_equal(http_parse(&p, raw, strlen(raw), &req), HTTP_PARSE_DONE);
    reply_plan_make(&req, &plan);
    return reply_append(NULL, &plan, out);
}

static void expect_reply(const char *raw, bool stays_open, const char *expected)
{
    struct buffer out;

    buffer_init(&out, 0);
    assert_int_equal(reply_to(raw, &out), stays_open);
    if (buffer_pending(&out) != strlen(expected) ||
        memcmp(buffer_peek(&out), expected, strlen(expected)) != 0)
        fail_msg("%s: got \"%.*s\"", raw, (int)buffer_pending(&out), buffer_peek(&out));
    buffer_free(&out);
}

static void test_common_replies_exact(void **state)
{
    struct buffer prebuilt, formatted;

    (void)state;
    expect_reply("GET / HTTP/1.1\r\nHost: a\r\n\r\n", true,
                 "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 6\r\n\r\nhello\n");
    /* The prebuilt reply is what the general writer would send. */
    buffer_init(&prebuilt, 0);
    buffer_init(&formatted, 0);
    reply_to("GET / HTTP/1.1\r\n\r\n", &prebuilt);
    assert_int_equal(http_response_append(&formatted, 200, "text/plain", ROUTE_ROOT_BODY,
                                          strlen(ROUTE_ROOT_BODY), HTTP_CONNECTION_KEEP), 0);
    assert_int_equal(buffer_pending(&prebuilt), buffer_pending(&formatted));
    assert_memory_equal(buffer_peek(&prebuilt), buffer_peek(&formatted), buffer_pending(&formatted));
    buffer_free(&prebuilt);
    buffer_free(&formatted);

    expect_reply("HEAD / HTTP/1.1\r\n\r\n", true,
                 "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 6\r\n\r\n");
    expect_reply("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", true,
                 "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 6\r\n"
                 "Connection: keep-alive\r\n\r\nhello\n");
    expect_reply("GET / HTTP/1.1\r\nConnection: close\r\n\r\n", false,
                 "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 6\r\n"
                 "Connection: close\r\n\r\nhello\n");
    expect_reply("GET /favicon.ico HTTP/1.1\r\n\r\n", true,
                 "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: 72\r\n\r\n"
                 "404 Not Found: no such route (try /, /echo, /sleep/MS, /cpu/MS, /stats)\n");
    expect_reply("GET /sleep/0 HTTP/1.1\r\n\r\n", true,
                 "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 11\r\n\r\nslept 0 ms\n");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_root),
        cmocka_unit_test(test_echo),
        cmocka_unit_test(test_sleep),
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_cpu),
        cmocka_unit_test(test_stats_and_method_rules),
        cmocka_unit_test(test_not_found),
        cmocka_unit_test(test_unknown_and_unserved_methods),
        cmocka_unit_test(test_route_names),
        cmocka_unit_test(test_common_replies_exact),
        cmocka_unit_test(test_cpu_burn_costs_cpu_time),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
