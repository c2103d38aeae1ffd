/*
 * test_http_response.c — reply formatting, byte for byte: the status
 * line, Content-Type, Content-Length, "Connection: close" exactly when
 * the server will close and "Connection: keep-alive" exactly when an
 * HTTP/1.0 client is told the connection stays, error replies that
 * always close, status replies that need not, "100 Continue", and replies
 * that land whole or not at all when the output buffer is at its limit.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/buffer.h"
#include "http/http_response.h"

/* Asserts that the buffer holds exactly `expected`, then empties it. */
static void expect_bytes(struct buffer *out, const char *expected)
{
    size_t n = strlen(expected);

    if (buffer_pending(out) != n || memcmp(buffer_peek(out), expected, n) != 0)
        fail_msg("got \"%.*s\"\nexpected \"%s\"", (int)buffer_pending(out),
                 buffer_peek(out), expected);
    buffer_consume(out, n);
}

static void test_ok_keep_alive_exact(void **state)
{
    struct buffer out;

    (void)state;
    buffer_init(&out, 0);
    assert_int_equal(http_response_append(&out, 200, "text/plain", "hello\n", 6, HTTP_CONNECTION_KEEP), 0);
    expect_bytes(&out,
                 "HTTP/1.1 200 OK\r\n"
                 "Content-Type: text/plain\r\n"
                 "Content-Length: 6\r\n"
                 "\r\n"
                 "hello\n");
    buffer_free(&out);
}

static void test_close_and_empty_body(void **state)
{
    struct buffer out;

    (void)state;
    buffer_init(&out, 0);
    assert_int_equal(http_response_append(&out, 200, "application/json", "{}", 2, HTTP_CONNECTION_CLOSE), 0);
    expect_bytes(&out,
                 "HTTP/1.1 200 OK\r\n"
                 "Content-Type: application/json\r\n"
                 "Content-Length: 2\r\n"
                 "Connection: close\r\n"
                 "\r\n"
                 "{}");

    /* An empty body still says Content-Length: 0; no type when NULL. */
    assert_int_equal(http_response_append(&out, 200, NULL, NULL, 0, HTTP_CONNECTION_KEEP), 0);
    expect_bytes(&out, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    buffer_free(&out);
}

static void test_head_reply_has_length_but_no_body(void **state)
{
    struct buffer out;

    (void)state;
    buffer_init(&out, 0);
    assert_int_equal(http_response_append_head(&out, 200, "text/plain", 6, HTTP_CONNECTION_KEEP), 0);
    expect_bytes(&out, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 6\r\n\r\n");
    buffer_free(&out);
}

static void test_error_reply_always_closes(void **state)
{
    struct buffer out;

    (void)state;
    buffer_init(&out, 0);
    assert_int_equal(http_error_append(&out, 413, "body larger than the server accepts"), 0);
    expect_bytes(&out,
                 "HTTP/1.1 413 Payload Too Large\r\n"
                 "Content-Type: text/plain\r\n"
                 "Content-Length: 59\r\n"
                 "Connection: close\r\n"
                 "\r\n"
                 "413 Payload Too Large: body larger than the server accepts\n");

    assert_int_equal(http_error_append(&out, 404, NULL), 0);
    expect_bytes(&out,
                 "HTTP/1.1 404 Not Found\r\n"
                 "Content-Type: text/plain\r\n"
                 "Content-Length: 14\r\n"
                 "Connection: close\r\n"
                 "\r\n"
                 "404 Not Found\n");
    buffer_free(&out);
}

/* HTTP/1.0 closes by default, so a 1.0 client must be told when the
 * connection stays (ab -k waits for a close otherwise). */
static void test_keep_alive_said_to_http_1_0(void **state)
{
    struct buffer out;

    (void)state;
    buffer_init(&out, 0);
    assert_int_equal(http_response_append(&out, 200, "text/plain", "hi", 2,
                                          HTTP_CONNECTION_KEEP_ALIVE), 0);
    expect_bytes(&out,
                 "HTTP/1.1 200 OK\r\n"
                 "Content-Type: text/plain\r\n"
                 "Content-Length: 2\r\n"
                 "Connection: keep-alive\r\n"
                 "\r\n"
                 "hi");
    buffer_free(&out);
}

/* A status reply to a well-formed request keeps the connection if asked;
 * to HEAD it is the head alone. */
static void test_status_reply_keeps_or_closes(void **state)
{
    struct buffer out;

    (void)state;
    buffer_init(&out, 0);
    assert_int_equal(http_status_append(&out, 404, NULL, HTTP_CONNECTION_KEEP, false), 0);
    expect_bytes(&out,
                 "HTTP/1.1 404 Not Found\r\n"
                 "Content-Type: text/plain\r\n"
                 "Content-Length: 14\r\n"
                 "\r\n"
                 "404 Not Found\n");
    assert_int_equal(http_status_append(&out, 501, "x", HTTP_CONNECTION_KEEP_ALIVE, true), 0);
    expect_bytes(&out,
                 "HTTP/1.1 501 Not Implemented\r\n"
                 "Content-Type: text/plain\r\n"
                 "Content-Length: 23\r\n"
                 "Connection: keep-alive\r\n"
                 "\r\n");
    assert_int_equal(http_continue_append(&out), 0);
    expect_bytes(&out, "HTTP/1.1 100 Continue\r\n\r\n");
    buffer_free(&out);
}

static void test_pipelined_replies_concatenate(void **state)
{
    struct buffer out;

    (void)state;
    buffer_init(&out, 0);
    assert_int_equal(http_response_append(&out, 200, "text/plain", "a", 1, HTTP_CONNECTION_KEEP), 0);
    assert_int_equal(http_response_append(&out, 404, "text/plain", "b", 1, HTTP_CONNECTION_KEEP), 0);
    expect_bytes(&out,
                 "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 1\r\n\r\na"
                 "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: 1\r\n\r\nb");
    buffer_free(&out);
}

static void test_reasons(void **state)
{
    (void)state;
    assert_string_equal(http_status_reason(100), "Continue");
    assert_string_equal(http_status_reason(200), "OK");
    assert_string_equal(http_status_reason(400), "Bad Request");
    assert_string_equal(http_status_reason(404), "Not Found");
    assert_string_equal(http_status_reason(405), "Method Not Allowed");
    assert_string_equal(http_status_reason(408), "Request Timeout");
    assert_string_equal(http_status_reason(413), "Payload Too Large");
    assert_string_equal(http_status_reason(417), "Expectation Failed");
    assert_string_equal(http_status_reason(431), "Request Header Fields Too Large");
    assert_string_equal(http_status_reason(500), "Internal Server Error");
    assert_string_equal(http_status_reason(501), "Not Implemented");
    assert_string_equal(http_status_reason(503), "Service Unavailable");
    assert_string_equal(http_status_reason(299), "Unknown");
}

/* At the output limit a reply is refused whole: no half reply is left
 * behind to corrupt the replies queued after it. */
static void test_limit_all_or_nothing(void **state)
{
    static const char ok[] = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 6\r\n\r\nhello\n";
    struct buffer out;
    char big[300];

    (void)state;
    buffer_init(&out, 2 * (sizeof ok - 1));
    assert_int_equal(http_response_append(&out, 200, "text/plain", "hello\n", 6, HTTP_CONNECTION_KEEP), 0);
    memset(big, 'x', sizeof big);
    assert_int_equal(http_response_append(&out, 200, "text/plain", big, sizeof big, HTTP_CONNECTION_KEEP), -ENOBUFS);
    assert_int_equal(buffer_pending(&out), sizeof ok - 1);
    assert_int_equal(http_error_append(&out, 500, "a detail long enough not to fit"), -ENOBUFS);
    assert_int_equal(http_response_append_head(&out, 200, "text/plain", 1u << 20, HTTP_CONNECTION_KEEP), 0);
    /* Exactly filling the limit works. */
    buffer_clear(&out);
    assert_int_equal(http_response_append(&out, 200, "text/plain", "hello\n", 6, HTTP_CONNECTION_KEEP), 0);
    assert_int_equal(http_response_append(&out, 200, "text/plain", "hello\n", 6, HTTP_CONNECTION_KEEP), 0);
    assert_int_equal(buffer_pending(&out), out.limit);
    buffer_free(&out);
}

/* The decimal writer: one digit, a round number, and SIZE_MAX (the
 * longest a size_t can be), each exactly as printf would write it. */
static void test_content_length_digits(void **state)
{
    struct buffer out;
    char expected[128];

    (void)state;
    buffer_init(&out, 0);
    assert_int_equal(http_response_append_head(&out, 200, NULL, 0, HTTP_CONNECTION_KEEP), 0);
    expect_bytes(&out, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    assert_int_equal(http_response_append_head(&out, 200, NULL, 1000000, HTTP_CONNECTION_KEEP), 0);
    expect_bytes(&out, "HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n");
    assert_int_equal(http_response_append_head(&out, 200, NULL, SIZE_MAX, HTTP_CONNECTION_CLOSE), 0);
    snprintf(expected, sizeof expected,
             "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n", SIZE_MAX);
    expect_bytes(&out, expected);
    /* A status without a reason of its own still gets a status line. */
    assert_int_equal(http_response_append(&out, 999, "text/plain", "x", 1, HTTP_CONNECTION_KEEP), 0);
    expect_bytes(&out, "HTTP/1.1 999 Unknown\r\nContent-Type: text/plain\r\n"
                       "Content-Length: 1\r\n\r\nx");
    buffer_free(&out);
}

/* A detail too long for the status body is cut to 511 bytes, of which
 * the last is still the newline. */
static void test_long_detail_is_cut(void **state)
{
    struct buffer out;
    char detail[600];
    const char *body;

    (void)state;
    memset(detail, 'd', sizeof detail - 1);
    detail[sizeof detail - 1] = '\0';
    buffer_init(&out, 0);
    assert_int_equal(http_status_append(&out, 400, detail, HTTP_CONNECTION_KEEP, false), 0);
    body = memmem(buffer_peek(&out), buffer_pending(&out), "\r\n\r\n", 4);
    assert_non_null(body);
    body += 4;
    assert_int_equal(buffer_peek(&out) + buffer_pending(&out) - body, 511);
    assert_memory_equal(body, "400 Bad Request: ddd", 20);
    assert_int_equal(body[509], 'd');
    assert_int_equal(body[510], '\n');
    assert_non_null(memmem(buffer_peek(&out), buffer_pending(&out), "Content-Length: 511\r\n", 21));
    buffer_free(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ok_keep_alive_exact),
        cmocka_unit_test(test_close_and_empty_body),
        cmocka_unit_test(test_head_reply_has_length_but_no_body),
        cmocka_unit_test(test_error_reply_always_closes),
        cmocka_unit_test(test_keep_alive_said_to_http_1_0),
        cmocka_unit_test(test_status_reply_keeps_or_closes),
        cmocka_unit_test(test_pipelined_replies_concatenate),
        cmocka_unit_test(test_reasons),
        cmocka_unit_test(test_limit_all_or_nothing),
        cmocka_unit_test(test_content_length_digits),
        cmocka_unit_test(test_long_detail_is_cut),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
