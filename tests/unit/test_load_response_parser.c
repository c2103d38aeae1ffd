/*
 * test_load_response_parser.c — the client-side HTTP response parser:
 * every split of the input gives the same answer, pipelined replies are
 * separated exactly, the body framings (length, none, until close) and
 * the errors that must close a connection.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "load/load_response_parser.h"

struct parsed {
    int count;           /* complete responses */
    int status[8];
    bool keep_alive[8];
    bool error;
};

/* Feeds `text` in pieces of `piece` bytes (0 = all at once), as reads
 * would deliver it, and records every complete response. */
static struct parsed feed(const char *text, size_t piece)
{
    struct load_response_parser p;
    struct parsed out;
    size_t len = strlen(text), off = 0;

    memset(&out, 0, sizeof out);
    load_response_parser_init(&p);
    while (off < len && !out.error) {
        size_t n = piece == 0 || piece > len - off ? len - off : piece;
        const char *data = text + off;
        off += n;
        while (n > 0) {
            size_t used = 0;
            enum load_response_result r = load_response_parse(&p, data, n, &used);
            assert_true(used <= n);
            data += used;
            n -= used;
            if (r == LOAD_RESPONSE_ERROR) {
                out.error = true;
                break;
            }
            if (r == LOAD_RESPONSE_DONE) {
                assert_true(out.count < 8);
                out.status[out.count] = p.status;
                out.keep_alive[out.count] = p.keep_alive;
                out.count++;
                load_response_parser_init(&p);
            } else {
                assert_int_equal(n, 0);   /* NEED_MORE uses everything */
            }
        }
    }
    return out;
}

static const char two_replies[] =
    "HTTP/1.1 200 OK\r\nContent-Length: 6\r\nContent-Type: text/plain\r\n\r\nhello\n"
    "HTTP/1.1 404 Not Found\r\ncontent-length:  10 \r\n\r\nnot found\n";

static void test_every_split_gives_the_same_answer(void **state)
{
    (void)state;
    for (size_t piece = 0; piece <= sizeof two_replies; piece++) {
        struct parsed r = feed(two_replies, piece);
        assert_false(r.error);
        assert_int_equal(r.count, 2);
        assert_int_equal(r.status[0], 200);
        assert_int_equal(r.status[1], 404);
        assert_true(r.keep_alive[0]);
        assert_true(r.keep_alive[1]);
    }
}

static void test_pipelined_replies_stop_at_each_end(void **state)
{
    struct load_response_parser p;
    size_t used = 0;

    (void)state;
    load_response_parser_init(&p);
    /* The parser must stop right after the first reply, leaving the
     * second one's bytes for the next call. */
    assert_int_equal(load_response_parse(&p, two_replies, strlen(two_replies), &used),
                     LOAD_RESPONSE_DONE);
    assert_int_equal(used, strlen("HTTP/1.1 200 OK\r\nContent-Length: 6\r\n"
                                  "Content-Type: text/plain\r\n\r\nhello\n"));
}

static void test_connection_close_and_http10(void **state)
{
    struct parsed r;

    (void)state;
    r = feed("HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n", 0);
    assert_int_equal(r.count, 1);
    assert_int_equal(r.status[0], 503);
    assert_false(r.keep_alive[0]);

    r = feed("HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok", 3);
    assert_int_equal(r.count, 1);
    assert_false(r.keep_alive[0]);

    r = feed("HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 2\r\n\r\nok", 0);
    assert_true(r.keep_alive[0]);

    /* Bare LF line ends are accepted too. */
    r = feed("HTTP/1.1 200 OK\nContent-Length: 2\n\nok", 0);
    assert_int_equal(r.count, 1);
}

static void test_bodyless_statuses(void **state)
{
    struct parsed r;

    (void)state;
    /* 204 and 304 end at the blank line even with no length. */
    r = feed("HTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 304 Not Modified\r\n\r\n", 1);
    assert_false(r.error);
    assert_int_equal(r.count, 2);
    assert_int_equal(r.status[1], 304);
}

static void test_body_until_close(void **state)
{
    struct load_response_parser p;
    const char *text = "HTTP/1.1 200 OK\r\n\r\nsome bytes";
    size_t used;

    (void)state;
    load_response_parser_init(&p);
    assert_false(load_response_started(&p));
    assert_int_equal(load_response_parse(&p, text, strlen(text), &used), LOAD_RESPONSE_NEED_MORE);
    assert_true(load_response_started(&p));
    assert_false(p.keep_alive);             /* it cannot be reused */
    assert_true(load_response_finish_at_eof(&p));

    /* A response cut inside a Content-Length body is not complete. */
    load_response_parser_init(&p);
    text = "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort";
    assert_int_equal(load_response_parse(&p, text, strlen(text), &used), LOAD_RESPONSE_NEED_MORE);
    assert_false(load_response_finish_at_eof(&p));
}

static void test_errors(void **state)
{
    static const char *const bad[] = {
        "HTTP/2 200 OK\r\n\r\n",
        "HTTP/1.1 2x0 OK\r\n\r\n",
        "SSH-2.0-OpenSSH\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello",
        "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 12a\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
        "HTTP/1.1 200 OK\r\nno colon here\r\n\r\n",
        "HTTP/1.1 200 OK\r\n\rX",
    };

    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct parsed r = feed(bad[i], 1);
        if (!r.error)
            fail_msg("accepted bad response #%zu: %s", i, bad[i]);
    }
}

static void test_huge_header_block_is_refused(void **state)
{
    struct load_response_parser p;
    static char text[LOAD_RESPONSE_MAX_HEADER_BYTES + 200];
    size_t used;

    (void)state;
    strcpy(text, "HTTP/1.1 200 OK\r\nX-Big: ");
    size_t len = strlen(text);
    memset(text + len, 'a', sizeof text - len - 1);
    text[sizeof text - 1] = '\0';
    load_response_parser_init(&p);
    assert_int_equal(load_response_parse(&p, text, strlen(text), &used), LOAD_RESPONSE_ERROR);
    assert_non_null(p.error);
}

static void test_large_body_in_one_step(void **state)
{
    struct load_response_parser p;
    static char text[70000];
    size_t used;

    (void)state;
    int head = snprintf(text, sizeof text, "HTTP/1.1 200 OK\r\nContent-Length: 65536\r\n\r\n");
    memset(text + head, 'x', 65536);
    load_response_parser_init(&p);
    assert_int_equal(load_response_parse(&p, text, (size_t)head + 65536, &used), LOAD_RESPONSE_DONE);
    assert_int_equal(used, (size_t)head + 65536);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_split_gives_the_same_answer),
        cmocka_unit_test(test_pipelined_replies_stop_at_each_end),
        cmocka_unit_test(test_connection_close_and_http10),
        cmocka_unit_test(test_bodyless_statuses),
        cmocka_unit_test(test_body_until_close),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_huge_header_block_is_refused),
        cmocka_unit_test(test_large_body_in_one_step),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
