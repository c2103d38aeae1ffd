/*
 * test_http_parser.c — the incremental request parser.
 *
 * The central property: however the bytes of a request are split across
 * reads, the parse is the same as when they all arrive at once.  Every
 * call here gets its bytes in a fresh heap block of exactly `len` bytes,
 * so AddressSanitizer catches any read past `len`, and the bytes move
 * between calls the way a growing buffer moves them.
 *
 * Then: pipelining, each error status with a realistic input, every limit
 * at its bound and one past, the keep-alive rules, unknown methods (a
 * request, not an error), absolute-form targets and Expect:
 * 100-continue.  Errors are
 * reported as soon as the bytes show them (a bad line when it ends, a byte
 * no line could contain when it arrives): garbage gets 400 long before
 * the 8 KiB that would make it 431.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buffer.h"
#include "http/http_parser.h"

#define MAX_BODY 1000

/* ---- helpers ----------------------------------------------------------- */

/* A copy of data[0 .. len) in a block of exactly len bytes (at least 1,
 * so malloc never returns NULL for a valid request). */
static char *exact_copy(const char *data, size_t len)
{
    char *copy = malloc(len > 0 ? len : 1);
    assert_non_null(copy);
    if (len > 0)
        memcpy(copy, data, len);
    return copy;
}

/* The parsed request with pointers turned into offsets from the start of
 * the data, so parses of different copies can be compared exactly. */
struct parsed {
    enum http_parse_result result;
    int error_status;
    enum http_method method;
    size_t target_off, target_len, path_off, path_len, query_off, query_len;
    int version_minor;
    bool keep_alive;
    size_t header_count;
    size_t name_off[HTTP_MAX_HEADER_FIELDS], name_len[HTTP_MAX_HEADER_FIELDS];
    size_t value_off[HTTP_MAX_HEADER_FIELDS], value_len[HTTP_MAX_HEADER_FIELDS];
    size_t body_off, body_len, total_len;
};

static size_t offset_in(const char *base, size_t len, const char *p, size_t n)
{
    /* Every pointer of a parsed request lies inside the data handed in. */
    assert_true(p >= base && p + n <= base + len);
    return (size_t)(p - base);
}

static void record(struct parsed *out, enum http_parse_result r,
                   const struct http_request *req, const char *base, size_t len)
{
    memset(out, 0, sizeof *out);
    out->result = r;
    if (r == HTTP_PARSE_ERROR) {
        out->error_status = req->error_status;
        assert_non_null(req->error_reason);
        return;
    }
    if (r != HTTP_PARSE_DONE)
        return;
    out->method = req->method;
    out->target_off = offset_in(base, len, req->target, req->target_len);
    out->target_len = req->target_len;
    out->path_off = offset_in(base, len, req->path, req->path_len);
    out->path_len = req->path_len;
    out->query_off = offset_in(base, len, req->query, req->query_len);
    out->query_len = req->query_len;
    out->version_minor = req->version_minor;
    out->keep_alive = req->keep_alive;
    out->header_count = req->header_count;
    for (size_t i = 0; i < req->header_count; i++) {
        out->name_off[i] = offset_in(base, len, req->headers[i].name, req->headers[i].name_len);
        out->name_len[i] = req->headers[i].name_len;
        out->value_off[i] = offset_in(base, len, req->headers[i].value, req->headers[i].value_len);
        out->value_len[i] = req->headers[i].value_len;
    }
    out->body_off = offset_in(base, len, req->body, req->body_len);
    out->body_len = req->body_len;
    out->total_len = req->total_len;
    assert_true(req->total_len <= len);
}

/* Parses data[0 .. len) in one call. */
static void parse_whole(const char *data, size_t len, size_t max_body, struct parsed *out)
{
    struct http_parser p;
    struct http_request req;
    char *copy = exact_copy(data, len);

    http_parser_init(&p, max_body);
    record(out, http_parse(&p, copy, len, &req), &req, copy, len);
    free(copy);
}

/* Feeds the prefixes data[0 .. cuts[0]), data[0 .. cuts[1]), ... and then
 * the whole, each in a fresh exact-size copy, stopping at the first call
 * that does not need more.  Asserts that earlier calls needed more. */
static void parse_in_steps(const char *data, size_t len, size_t max_body,
                           const size_t *cuts, size_t ncuts, struct parsed *out)
{
    struct http_parser p;
    struct http_request req;

    http_parser_init(&p, max_body);
    for (size_t i = 0; i <= ncuts; i++) {
        size_t n = i < ncuts ? cuts[i] : len;
        char *copy = exact_copy(data, n);
        enum http_parse_result r = http_parse(&p, copy, n, &req);

        if (r == HTTP_PARSE_NEED_MORE && p.header_len == 0) {
            /* O(total bytes): the search resumes where it stopped, at most
             * two bytes behind what has arrived. */
            assert_true(p.scanned + 2 >= (n < HTTP_MAX_HEADER_BYTES ? n : HTTP_MAX_HEADER_BYTES));
        }
        if (r != HTTP_PARSE_NEED_MORE || i == ncuts) {
            record(out, r, &req, copy, n);
            free(copy);
            return;
        }
        free(copy);
    }
}

static void assert_same_parse(const struct parsed *a, const struct parsed *b)
{
    assert_int_equal(a->result, b->result);
    assert_int_equal(a->error_status, b->error_status);
    assert_memory_equal(a, b, sizeof *a);
}

/* ---- sample requests --------------------------------------------------- */

static const char *const samples[] = {
    "GET / HTTP/1.1\r\nHost: localhost:8080\r\nUser-Agent: curl/8.5\r\nAccept: */*\r\n\r\n",
    "GET /echo?x=1&y=2 HTTP/1.0\r\nHost: a\r\nConnection: Keep-Alive\r\n\r\n",
    "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Type: text/plain\r\nContent-Length: 26\r\n\r\n"
        "abcdefghijklmnopqrstuvwxyz",
    /* Bare LF line ends, as typed into nc. */
    "PUT /echo HTTP/1.1\nContent-Length: 3\nX-Blank:   \t\n\nabc",
    /* One empty line before the request line is skipped. */
    "\r\nHEAD /sleep/5?block=1 HTTP/1.1\r\nConnection: close\r\nX-Odd:  a b  \r\n\r\n",
    /* A body of zero bytes, and a method with no body route. */
    "DELETE /x HTTP/1.1\r\nContent-Length: 0\r\n\r\n",
    /* A method nobody implements is still a request, body and all. */
    "BREW /pot HTTP/1.1\r\nContent-Length: 3\r\n\r\ntea",
    /* Absolute form, as sent to a proxy: the host is skipped. */
    "GET http://example.com:8080/echo?hi HTTP/1.1\r\n\r\n",
    /* A client that waits for 100 Continue (the body came anyway). */
    "POST /echo HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nok",
};
#define SAMPLE_COUNT (sizeof samples / sizeof samples[0])

/* Requests that must fail with the same status however they arrive. */
static const struct {
    const char *text;
    int status;
} bad_samples[] = {
    { "GET / HTTP/1.1\r\nBad Header: x\r\n\r\n", 400 },
    { "GET / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello", 400 },
    { "PROPFIND /pot HTTP/1.1\r\n\r\n", 400 },
    { "GARBAGE\r\n\r\n", 400 },
    { "POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", 501 },
    { "POST /echo HTTP/1.1\r\nExpect: 200-ok\r\nContent-Length: 2\r\n\r\nok", 417 },
    { "POST /echo HTTP/1.1\r\nContent-Length: 1001\r\n\r\n", 413 },
    { "GET / HTTP/3.0\r\n\r\n", 400 },
    /* Refused before the empty line arrives (it never does here). */
    { "GET / HTTP/1.1\r\nNoColon\r\nHost: a\r\n", 400 },
    { "GET / HTTP/1.1\r\nHost: a\r\nX-Ctl: a\x01b", 400 },
    { "GET / HTTP/1.1\r\nHost : a", 400 },
    { "GET / HTTP/1.1\r\n\x16\x03\x01\x02\x00\x01", 400 },
    { "GET /a\x00b HTTP/1.1", 400 },
    { "PROPFIND", 400 },
    { "POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\nHost", 501 },
};
#define BAD_SAMPLE_COUNT (sizeof bad_samples / sizeof bad_samples[0])

/* ---- the split property ------------------------------------------------ */

static void test_samples_parse_as_expected(void **state)
{
    struct http_parser p;
    struct http_request req;
    const char *s;

    (void)state;
    http_parser_init(&p, MAX_BODY);
    s = samples[0];
    assert_int_equal(http_parse(&p, s, strlen(s), &req), HTTP_PARSE_DONE);
    assert_int_equal(req.method, HTTP_GET);
    assert_int_equal(req.target_len, 1);
    assert_memory_equal(req.path, "/", 1);
    assert_int_equal(req.query_len, 0);
    assert_int_equal(req.version_minor, 1);
    assert_true(req.keep_alive);
    assert_int_equal(req.header_count, 3);
    assert_memory_equal(req.headers[0].name, "Host", 4);
    assert_int_equal(req.headers[0].value_len, strlen("localhost:8080"));
    assert_memory_equal(req.headers[0].value, "localhost:8080", 14);
    assert_int_equal(req.body_len, 0);
    assert_int_equal(req.total_len, strlen(s));
    /* The parser reset itself: ready for the next request. */
    assert_int_equal(p.scanned, 0);
    assert_int_equal(p.header_len, 0);
    assert_int_equal(p.framing.length, 0);

    s = samples[1];
    assert_int_equal(http_parse(&p, s, strlen(s), &req), HTTP_PARSE_DONE);
    assert_memory_equal(req.target, "/echo?x=1&y=2", 13);
    assert_int_equal(req.path_len, 5);
    assert_memory_equal(req.path, "/echo", 5);
    assert_int_equal(req.query_len, 7);
    assert_memory_equal(req.query, "x=1&y=2", 7);
    assert_int_equal(req.version_minor, 0);
    assert_true(req.keep_alive);

    s = samples[2];
    assert_int_equal(http_parse(&p, s, strlen(s), &req), HTTP_PARSE_DONE);
    assert_int_equal(req.method, HTTP_POST);
    assert_int_equal(req.body_len, 26);
    assert_memory_equal(req.body, "abcdefghijklmnopqrstuvwxyz", 26);
    assert_int_equal(req.total_len, strlen(s));

    s = samples[3];
    assert_int_equal(http_parse(&p, s, strlen(s), &req), HTTP_PARSE_DONE);
    assert_int_equal(req.method, HTTP_PUT);
    assert_int_equal(req.header_count, 2);
    assert_int_equal(req.headers[1].value_len, 0);          /* blanks trimmed */
    assert_memory_equal(req.body, "abc", 3);

    s = samples[4];
    assert_int_equal(http_parse(&p, s, strlen(s), &req), HTTP_PARSE_DONE);
    assert_int_equal(req.method, HTTP_HEAD);
    assert_false(req.keep_alive);
    assert_memory_equal(req.query, "block=1", 7);
    assert_int_equal(req.headers[1].value_len, 3);           /* "a b" */
    assert_memory_equal(req.headers[1].value, "a b", 3);
    assert_int_equal(req.total_len, strlen(s));

    s = samples[5];
    assert_int_equal(http_parse(&p, s, strlen(s), &req), HTTP_PARSE_DONE);
    assert_int_equal(req.method, HTTP_DELETE);
    assert_int_equal(req.body_len, 0);

    s = samples[6];
    assert_int_equal(http_parse(&p, s, strlen(s), &req), HTTP_PARSE_DONE);
    assert_int_equal(req.method, HTTP_METHOD_UNKNOWN);
    assert_memory_equal(req.body, "tea", 3);
    assert_int_equal(req.total_len, strlen(s));

    s = samples[7];
    assert_int_equal(http_parse(&p, s, strlen(s), &req), HTTP_PARSE_DONE);
    assert_int_equal(req.target_len, strlen("http://example.com:8080/echo?hi"));
    assert_int_equal(req.path_len, 5);
    assert_memory_equal(req.path, "/echo", 5);
    assert_int_equal(req.query_len, 2);
    assert_memory_equal(req.query, "hi", 2);

    s = samples[8];
    assert_int_equal(http_parse(&p, s, strlen(s), &req), HTTP_PARSE_DONE);
    assert_memory_equal(req.body, "ok", 2);
    /* All of it came at once: no "100 Continue" is due. */
    assert_false(http_parser_take_continue(&p));
}

static void test_one_byte_at_a_time(void **state)
{
    size_t cuts[512];

    (void)state;
    for (size_t s = 0; s < SAMPLE_COUNT; s++) {
        size_t len = strlen(samples[s]);
        struct parsed whole, stepped;

        assert_true(len < 512);
        for (size_t i = 0; i + 1 < len; i++)
            cuts[i] = i + 1;
        parse_whole(samples[s], len, MAX_BODY, &whole);
        assert_int_equal(whole.result, HTTP_PARSE_DONE);
        assert_int_equal(whole.total_len, len);
        parse_in_steps(samples[s], len, MAX_BODY, cuts, len - 1, &stepped);
        assert_same_parse(&whole, &stepped);
    }
}

static void test_every_two_way_split(void **state)
{
    (void)state;
    for (size_t s = 0; s < SAMPLE_COUNT; s++) {
        size_t len = strlen(samples[s]);
        struct parsed whole, split;

        parse_whole(samples[s], len, MAX_BODY, &whole);
        for (size_t cut = 1; cut < len; cut++) {
            parse_in_steps(samples[s], len, MAX_BODY, &cut, 1, &split);
            assert_same_parse(&whole, &split);
        }
    }
}

static void test_errors_same_under_any_split(void **state)
{
    size_t cuts[512];

    (void)state;
    for (size_t s = 0; s < BAD_SAMPLE_COUNT; s++) {
        const char *text = bad_samples[s].text;
        size_t len = strlen(text);
        struct parsed whole, split;

        parse_whole(text, len, MAX_BODY, &whole);
        assert_int_equal(whole.result, HTTP_PARSE_ERROR);
        assert_int_equal(whole.error_status, bad_samples[s].status);
        for (size_t cut = 1; cut < len; cut++) {
            parse_in_steps(text, len, MAX_BODY, &cut, 1, &split);
            assert_same_parse(&whole, &split);
        }
        for (size_t i = 0; i + 1 < len; i++)
            cuts[i] = i + 1;
        parse_in_steps(text, len, MAX_BODY, cuts, len - 1, &split);
        assert_same_parse(&whole, &split);
    }
}

/* ---- pipelining -------------------------------------------------------- */

static const char pipeline[] =
    "GET /a HTTP/1.1\r\nHost: h\r\n\r\n"
    "POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello"
    "GET /c HTTP/1.1\r\nConnection: close\r\n\r\n";

static void check_pipeline_request(int index, const struct http_request *req)
{
    switch (index) {
    case 0:
        assert_int_equal(req->method, HTTP_GET);
        assert_memory_equal(req->path, "/a", 2);
        assert_int_equal(req->body_len, 0);
        assert_true(req->keep_alive);
        break;
    case 1:
        assert_int_equal(req->method, HTTP_POST);
        assert_int_equal(req->body_len, 5);
        assert_memory_equal(req->body, "hello", 5);
        assert_true(req->keep_alive);
        break;
    case 2:
        assert_int_equal(req->method, HTTP_GET);
        assert_memory_equal(req->path, "/c", 2);
        assert_false(req->keep_alive);
        break;
    default:
        fail_msg("more requests than were sent");
    }
}

static void test_pipelined_in_one_buffer(void **state)
{
    struct http_parser p;
    struct http_request req;
    size_t len = sizeof pipeline - 1, pos = 0;
    char *copy = exact_copy(pipeline, len);
    int count = 0;

    (void)state;
    http_parser_init(&p, MAX_BODY);
    /* The loop from http_parser.h, with a plain offset as the cursor. */
    for (;;) {
        enum http_parse_result r = http_parse(&p, copy + pos, len - pos, &req);
        if (r == HTTP_PARSE_NEED_MORE)
            break;
        assert_int_equal(r, HTTP_PARSE_DONE);
        check_pipeline_request(count++, &req);
        pos += req.total_len;
    }
    assert_int_equal(count, 3);
    assert_int_equal(pos, len);
    free(copy);
}

/* The same three requests arriving in chunks of every size from 1 byte
 * to all at once, through a real struct buffer driven as the server
 * models drive it. */
static void test_pipelined_any_chunk_size(void **state)
{
    size_t len = sizeof pipeline - 1;

    (void)state;
    for (size_t chunk = 1; chunk <= len; chunk++) {
        struct http_parser p;
        struct http_request req;
        struct buffer in;
        size_t sent = 0;
        int count = 0;

        buffer_init(&in, 4096);
        http_parser_init(&p, MAX_BODY);
        while (sent < len) {
            size_t n = len - sent < chunk ? len - sent : chunk;
            assert_int_equal(buffer_append(&in, pipeline + sent, n), 0);
            sent += n;
            for (;;) {
                enum http_parse_result r =
                    http_parse(&p, buffer_peek(&in), buffer_pending(&in), &req);
                if (r == HTTP_PARSE_NEED_MORE)
                    break;
                assert_int_equal(r, HTTP_PARSE_DONE);
                check_pipeline_request(count++, &req);
                buffer_consume(&in, req.total_len);
            }
        }
        assert_int_equal(count, 3);
        assert_int_equal(buffer_pending(&in), 0);
        buffer_free(&in);
    }
}

/* ---- error statuses ---------------------------------------------------- */

static void expect_status(const char *text, size_t len, size_t max_body, int status)
{
    struct parsed out;

    parse_whole(text, len, max_body, &out);
    if (out.result != HTTP_PARSE_ERROR || out.error_status != status)
        fail_msg("input \"%.*s\": result %d status %d, expected error %d",
                 (int)len, text, out.result, out.error_status, status);
}

static void expect_str(const char *text, int status)
{
    expect_status(text, strlen(text), MAX_BODY, status);
}

static void expect_done(const char *text)
{
    struct parsed out;

    parse_whole(text, strlen(text), MAX_BODY, &out);
    if (out.result != HTTP_PARSE_DONE)
        fail_msg("input \"%s\": result %d status %d, expected DONE",
                 text, out.result, out.error_status);
}

static void test_400_malformed(void **state)
{
    static const char nul_in_header[] = "GET / HTTP/1.1\r\nHost: a\0b\r\n\r\n";

    (void)state;
    /* Request line. */
    expect_str("GET /\r\n\r\n", 400);
    expect_str("GET  / HTTP/1.1\r\n\r\n", 400);
    expect_str("GET / HTTP/1.1 \r\n\r\n", 400);
    expect_str("GET index.html HTTP/1.1\r\n\r\n", 400);
    expect_str("GET / HTTP/1.1\rX\n\r\n", 400);
    expect_str(" GET / HTTP/1.1\r\n\r\n", 400);
    expect_str("\r\n\r\nGET / HTTP/1.1\r\n\r\n", 400);     /* two empty lines */
    expect_str("GET /a\tb HTTP/1.1\r\n\r\n", 400);
    expect_str("GET /\x80 HTTP/1.1\r\n\r\n", 400);
    /* Version other than 1.0 / 1.1. */
    expect_str("GET / HTTP/1.2\r\n\r\n", 400);
    expect_str("GET / HTTP/2.0\r\n\r\n", 400);
    expect_str("GET / HTTP/0.9\r\n\r\n", 400);
    expect_str("GET / http/1.1\r\n\r\n", 400);
    expect_str("GET / HTTP/11\r\n\r\n", 400);
    /* Header syntax. */
    expect_str("GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400);       /* space before colon */
    expect_str("GET / HTTP/1.1\r\nHost\t: a\r\n\r\n", 400);
    expect_str("GET / HTTP/1.1\r\nNoColon\r\n\r\n", 400);
    expect_str("GET / HTTP/1.1\r\n: empty-name\r\n\r\n", 400);
    expect_str("GET / HTTP/1.1\r\nA: b\r\n folded\r\n\r\n", 400);
    expect_str("GET / HTTP/1.1\r\nA(b): c\r\n\r\n", 400);
    /* NUL and control characters in the header block. */
    expect_status(nul_in_header, sizeof nul_in_header - 1, MAX_BODY, 400);
    expect_str("GET / HTTP/1.1\r\nHost: a\x01\r\n\r\n", 400);
    expect_str("GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n", 400);
    expect_str("GET / HTTP/1.1\r\nHost: a\x7f\r\n\r\n", 400);
    /* Content-Length. */
    expect_str("POST /echo HTTP/1.1\r\nContent-Length: abc\r\n\r\n", 400);
    expect_str("POST /echo HTTP/1.1\r\nContent-Length: -5\r\n\r\n", 400);
    expect_str("POST /echo HTTP/1.1\r\nContent-Length: +5\r\n\r\nhello", 400);
    expect_str("POST /echo HTTP/1.1\r\nContent-Length: \r\n\r\n", 400);
    expect_str("POST /echo HTTP/1.1\r\nContent-Length: 5 5\r\n\r\nhello", 400);
    expect_str("POST /echo HTTP/1.1\r\nContent-Length: 5\r\ncontent-length: 4\r\n\r\nhello", 400);
    /* Duplicates that agree are fine. */
    expect_done("POST /echo HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello");
}

/* Garbage is refused from its first bytes, not after 8 KiB. */
static void test_400_early_on_garbage(void **state)
{
    static const char tls_hello[] = "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03";
    struct http_parser p;
    struct http_request req;

    (void)state;
    http_parser_init(&p, MAX_BODY);
    assert_int_equal(http_parse(&p, tls_hello, sizeof tls_hello - 1, &req), HTTP_PARSE_ERROR);
    assert_int_equal(req.error_status, 400);

    http_parser_init(&p, MAX_BODY);
    assert_int_equal(http_parse(&p, "GE", 2, &req), HTTP_PARSE_NEED_MORE);
    assert_int_equal(http_parse(&p, "GE{", 3, &req), HTTP_PARSE_ERROR);
    assert_int_equal(req.error_status, 400);

    /* A token longer than any method is not a request line: 400 before
     * the line ends (100 KiB of letters get 400, not 431). */
    http_parser_init(&p, MAX_BODY);
    assert_int_equal(http_parse(&p, "OPTIONS", 7, &req), HTTP_PARSE_NEED_MORE);
    assert_int_equal(http_parse(&p, "PROPFIND", 8, &req), HTTP_PARSE_ERROR);
    assert_int_equal(req.error_status, 400);
}

/* Feeds text[0 .. 1), text[0 .. 2), ... to one parser, each prefix in a
 * fresh exact-size copy, and asserts that every prefix shorter than `at`
 * needs more and the prefix of `at` bytes fails with `status`: the error
 * is reported on the very byte that shows it. */
static void expect_error_at(const char *text, size_t at, int status)
{
    struct http_parser p;
    struct http_request req;

    http_parser_init(&p, MAX_BODY);
    for (size_t n = 1; n <= at; n++) {
        char *copy = exact_copy(text, n);
        enum http_parse_result r = http_parse(&p, copy, n, &req);

        free(copy);
        if (n < at && r != HTTP_PARSE_NEED_MORE)
            fail_msg("input \"%.*s\": result %d after %zu bytes, expected to need more "
                     "until %zu", (int)at, text, r, n, at);
        if (n == at && (r != HTTP_PARSE_ERROR || req.error_status != status))
            fail_msg("input \"%.*s\": result %d status %d after %zu bytes, expected error %d",
                     (int)at, text, r, r == HTTP_PARSE_ERROR ? req.error_status : 0, n, status);
    }
}

/* The prefix of `text` up to and including the first `marker`. */
static size_t through(const char *text, const char *marker)
{
    const char *m = strstr(text, marker);

    assert_non_null(m);
    return (size_t)(m - text) + strlen(marker);
}

/* A line is judged when its line end arrives, and a line still arriving
 * at the first byte that no continuation could make valid. */
static void test_400_at_the_offending_byte(void **state)
{
    static const char nul_value[] = "GET / HTTP/1.1\r\nHost: a\0b\r\n";
    const char *t;

    (void)state;
    /* A header line without a colon, followed by more header lines but no
     * empty line yet: 400 as soon as its line end is here. */
    t = "GET / HTTP/1.1\r\nNoColon\r\nHost: a\r\nAccept: */*\r\n";
    expect_error_at(t, through(t, "NoColon\r\n"), 400);
    t = "GET / HTTP/1.1\nNoColon\nHost: a\n";
    expect_error_at(t, through(t, "NoColon\n"), 400);
    expect_str("GET / HTTP/1.1\r\nNoColon\r\nHost: a\r\n", 400);

    /* Bytes no header line can hold, refused before the line ends. */
    expect_error_at(nul_value, through(nul_value, "Host: a") + 1, 400);
    t = "GET / HTTP/1.1\r\nHost: a\x01";
    expect_error_at(t, strlen(t), 400);
    t = "GET / HTTP/1.1\r\nHost: a\x7f";
    expect_error_at(t, strlen(t), 400);
    t = "GET / HTTP/1.1\r\nHo\x01";
    expect_error_at(t, strlen(t), 400);
    t = "GET / HTTP/1.1\r\nHost :";
    expect_error_at(t, through(t, "Host "), 400);           /* space before colon */
    t = "GET / HTTP/1.1\r\nA: b\r\n folded";
    expect_error_at(t, through(t, "\r\n "), 400);           /* obsolete folding */
    t = "GET / HTTP/1.1\r\n: v";
    expect_error_at(t, through(t, "\r\n:"), 400);           /* empty name */
    t = "GET / HTTP/1.1\r\nA(b): c";
    expect_error_at(t, through(t, "A("), 400);              /* not a token */
    t = "GET / HTTP/1.1\r\nHost: a\rb";
    expect_error_at(t, strlen(t), 400);                     /* CR without LF */

    /* The request line, part by part. */
    t = "GET 1ndex.html HTTP/1.1";
    expect_error_at(t, through(t, "GET 1"), 400);           /* neither / nor a scheme */
    t = "GET index.html HTTP/1.1\r\n";
    expect_error_at(t, through(t, "1.1\r\n"), 400);         /* a scheme?  No: at line end */
    t = "GARBAGE\r\n\r\n";
    expect_error_at(t, through(t, "GARBAGE\r\n"), 400);     /* no spaces: not a request line */
    t = "ABCDEFGHIJKLMNOP";
    expect_error_at(t, HTTP_METHOD_MAX_LEN + 1, 400);       /* too long for a method */
    t = "GET /a\tb HTTP/1.1";
    expect_error_at(t, through(t, "/a\t"), 400);
    t = "GET / HTTPS/1.1";
    expect_error_at(t, through(t, "HTTPS"), 400);
    t = "GET / HTTP/1.1 \r\n";
    expect_error_at(t, through(t, "1.1 "), 400);
    t = "GET / HTTP/1.9\r\nHost: a\r\n";
    expect_error_at(t, through(t, "1.9\r\n"), 400);         /* version: at line end */

    /* The first error in the byte stream wins, complete block or not. */
    expect_str("POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\nBad Header\r\n\r\n", 501);
    expect_str("POST /echo HTTP/1.1\r\nBad Header\r\nTransfer-Encoding: chunked\r\n\r\n", 400);
    t = "POST /echo HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\nHost: a";
    expect_error_at(t, through(t, "6\r\n"), 400);
}

/* A small deterministic generator (xorshift64) for garbage bytes. */
static uint64_t next_random(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

/* A good request line, then binary garbage where the headers should be:
 * 400 long before 8 KiB have arrived, with or without line ends in the
 * garbage.  (The parser once judged a block only when complete or 8 KiB
 * long, so this was 431 after buffering 8 KiB of noise.) */
static void test_400_early_on_garbage_after_request_line(void **state)
{
    enum { SIZE = 64 * 1024 };
    static const char line[] = "GET / HTTP/1.1\r\n";
    char *stream = malloc(SIZE);

    (void)state;
    assert_non_null(stream);
    for (uint64_t seed = 1; seed <= 64; seed++) {
        uint64_t x = seed * 0x9e3779b97f4a7c15ull;
        struct http_parser p;
        struct http_request req;
        struct parsed whole;
        enum http_parse_result r = HTTP_PARSE_NEED_MORE;
        size_t n = 0;

        memcpy(stream, line, sizeof line - 1);
        for (size_t i = sizeof line - 1; i < SIZE; i++)
            stream[i] = (char)(next_random(&x) >> 56);
        /* Half the streams carry a CRLF a few bytes in (never right after
         * the request line: that would be a complete request), the case
         * where a "line" of garbage ends early. */
        if (seed % 2 == 0)
            memcpy(stream + sizeof line + seed % 7, "\r\n", 2);

        /* Arriving 16 bytes at a time, as a slow client sends it. */
        http_parser_init(&p, MAX_BODY);
        while (r == HTTP_PARSE_NEED_MORE && n < SIZE) {
            char *copy;
            n += 16;
            copy = exact_copy(stream, n);
            r = http_parse(&p, copy, n, &req);
            free(copy);
        }
        if (r != HTTP_PARSE_ERROR || req.error_status != 400 || n >= HTTP_MAX_HEADER_BYTES)
            fail_msg("seed %u: result %d status %d after %zu bytes, expected 400 before %d",
                     (unsigned)seed, r, r == HTTP_PARSE_ERROR ? req.error_status : 0, n,
                     HTTP_MAX_HEADER_BYTES);

        /* All 64 KiB at once: the same answer. */
        parse_whole(stream, SIZE, MAX_BODY, &whole);
        assert_int_equal(whole.result, HTTP_PARSE_ERROR);
        assert_int_equal(whole.error_status, 400);
    }
    free(stream);
}

/* Garbage that mostly looks like header text (printable bytes, line ends,
 * colons, a few control bytes) gets deeper into the checks; whatever it
 * is, one call, one byte per call, and a two-way split agree. */
static void test_garbage_same_under_any_split(void **state)
{
    enum { SIZE = 600 };
    static const char alphabet[] = "ab: \t\r\n\r\n:-/\x01\x80" "Content-Length: 5\r\n";
    char stream[SIZE];
    size_t cuts[SIZE];

    (void)state;
    for (size_t i = 0; i + 1 < SIZE; i++)
        cuts[i] = i + 1;
    for (uint64_t seed = 1; seed <= 200; seed++) {
        uint64_t x = seed * 0xd1b54a32d192ed03ull;
        size_t start = seed % 3 == 0 ? 0 : 16;
        struct parsed whole, stepped;

        memcpy(stream, "GET / HTTP/1.1\r\n", 16);
        for (size_t i = start; i < SIZE; i++)
            stream[i] = alphabet[next_random(&x) % (sizeof alphabet - 1)];
        parse_whole(stream, SIZE, MAX_BODY, &whole);
        parse_in_steps(stream, SIZE, MAX_BODY, cuts, SIZE - 1, &stepped);
        assert_same_parse(&whole, &stepped);
        cuts[0] = (size_t)(next_random(&x) % SIZE);
        parse_in_steps(stream, SIZE, MAX_BODY, cuts, 1, &stepped);
        assert_same_parse(&whole, &stepped);
        cuts[0] = 1;
    }
}

/* Parses `text` whole and asserts a request with `method`. */
static void expect_method(const char *text, enum http_method method)
{
    struct parsed out;

    parse_whole(text, strlen(text), MAX_BODY, &out);
    if (out.result != HTTP_PARSE_DONE || out.method != method)
        fail_msg("input \"%s\": result %d method %d, expected DONE with method %d",
                 text, out.result, out.method, method);
}

/* A well-formed request line is a request whatever its method: the
 * routes answer the ones we do not serve (501, 405), and the connection
 * can go on because the request's end is known. */
static void test_unknown_methods_are_requests(void **state)
{
    (void)state;
    expect_method("BREW /coffee HTTP/1.1\r\n\r\n", HTTP_METHOD_UNKNOWN);
    expect_method("get / HTTP/1.1\r\n\r\n", HTTP_METHOD_UNKNOWN);   /* case-sensitive */
    expect_method("PATCH /echo HTTP/1.1\r\n\r\n", HTTP_PATCH);
    expect_method("OPTIONS / HTTP/1.1\r\n\r\n", HTTP_OPTIONS);
    expect_method("CONNECT /x HTTP/1.1\r\n\r\n", HTTP_CONNECT);
    expect_method("TRACE / HTTP/1.1\r\n\r\n", HTTP_TRACE);
    expect_method("X / HTTP/1.1\r\n\r\n", HTTP_METHOD_UNKNOWN);
    /* The same tokens in a line of the wrong shape are malformed. */
    expect_str("BREW\r\n\r\n", 400);
    expect_str("BREW /coffee\r\n\r\n", 400);
    expect_str("BREWINGS /coffee HTTP/1.1\r\n\r\n", 400);   /* 8 letters */
}

static void test_501_transfer_encoding(void **state)
{
    (void)state;
    expect_str("POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", 501);
    expect_str("POST /echo HTTP/1.1\r\ntransfer-encoding: identity\r\n\r\n", 501);
    expect_str("POST /echo HTTP/1.1\r\nContent-Length: 5\r\n"
               "Transfer-Encoding: chunked\r\n\r\nhello", 501);
}

/* Content-Length above max_body is refused once the headers are in,
 * before a single body byte arrives; exactly max_body is accepted. */
static void test_413_body_limit(void **state)
{
    char text[2200];
    struct http_parser p;
    struct http_request req;
    int n;

    (void)state;
    n = snprintf(text, sizeof text, "POST /echo HTTP/1.1\r\nContent-Length: %d\r\n\r\n", MAX_BODY + 1);
    http_parser_init(&p, MAX_BODY);
    assert_int_equal(http_parse(&p, text, (size_t)n, &req), HTTP_PARSE_ERROR);
    assert_int_equal(req.error_status, 413);

    /* At the bound: headers first (need more), then the body. */
    n = snprintf(text, sizeof text, "POST /echo HTTP/1.1\r\nContent-Length: %d\r\n\r\n", MAX_BODY);
    memset(text + n, 'b', MAX_BODY);
    http_parser_init(&p, MAX_BODY);
    assert_int_equal(http_parse(&p, text, (size_t)n, &req), HTTP_PARSE_NEED_MORE);
    assert_int_equal(p.header_len, (size_t)n);
    assert_int_equal(p.framing.length, MAX_BODY);
    assert_int_equal(http_parse(&p, text, (size_t)n + MAX_BODY - 1, &req), HTTP_PARSE_NEED_MORE);
    assert_int_equal(http_parse(&p, text, (size_t)n + MAX_BODY, &req), HTTP_PARSE_DONE);
    assert_int_equal(req.body_len, MAX_BODY);
    assert_int_equal(req.total_len, (size_t)n + MAX_BODY);

    /* A number too big for any integer type is still just "too large". */
    expect_str("POST /echo HTTP/1.1\r\nContent-Length: 99999999999999999999999999\r\n\r\n", 413);
}

/* Builds "GET / HTTP/1.1\r\nX-Pad: aaa...\r\n\r\n" of exactly `total`
 * bytes into buf (which has room for it plus `extra`). */
static size_t build_padded(char *buf, size_t total)
{
    static const char head[] = "GET / HTTP/1.1\r\nX-Pad: ";
    size_t head_len = sizeof head - 1, pad = total - head_len - 4;

    memcpy(buf, head, head_len);
    memset(buf + head_len, 'a', pad);
    memcpy(buf + head_len + pad, "\r\n\r\n", 4);
    return total;
}

static void test_431_header_bytes(void **state)
{
    static const char next[] = "GET /next HTTP/1.1\r\n\r\n";
    char *buf = malloc(HTTP_MAX_HEADER_BYTES + 64);
    struct http_parser p;
    struct http_request req;
    size_t n;

    (void)state;
    assert_non_null(buf);

    /* Exactly HTTP_MAX_HEADER_BYTES, with a pipelined request behind it
     * so the bytes after the block are there too: accepted. */
    n = build_padded(buf, HTTP_MAX_HEADER_BYTES);
    memcpy(buf + n, next, sizeof next - 1);
    http_parser_init(&p, MAX_BODY);
    assert_int_equal(http_parse(&p, buf, n - 1, &req), HTTP_PARSE_NEED_MORE);
    assert_int_equal(http_parse(&p, buf, n + sizeof next - 1, &req), HTTP_PARSE_DONE);
    assert_int_equal(req.total_len, HTTP_MAX_HEADER_BYTES);
    assert_int_equal(http_parse(&p, buf + n, sizeof next - 1, &req), HTTP_PARSE_DONE);
    assert_memory_equal(req.path, "/next", 5);

    /* One byte more: refused as soon as HTTP_MAX_HEADER_BYTES bytes are
     * here without the empty line, not only when it finally arrives. */
    n = build_padded(buf, HTTP_MAX_HEADER_BYTES + 1);
    http_parser_init(&p, MAX_BODY);
    assert_int_equal(http_parse(&p, buf, HTTP_MAX_HEADER_BYTES - 1, &req), HTTP_PARSE_NEED_MORE);
    assert_int_equal(http_parse(&p, buf, HTTP_MAX_HEADER_BYTES, &req), HTTP_PARSE_ERROR);
    assert_int_equal(req.error_status, 431);
    expect_status(buf, n, MAX_BODY, 431);

    /* A header that never ends, sent 1 KiB at a time. */
    memset(buf, 'a', HTTP_MAX_HEADER_BYTES + 64);
    memcpy(buf, "GET / HTTP/1.1\r\nX: ", 19);
    http_parser_init(&p, MAX_BODY);
    for (n = 1024; n < HTTP_MAX_HEADER_BYTES; n += 1024)
        assert_int_equal(http_parse(&p, buf, n, &req), HTTP_PARSE_NEED_MORE);
    assert_int_equal(http_parse(&p, buf, HTTP_MAX_HEADER_BYTES + 64, &req), HTTP_PARSE_ERROR);
    assert_int_equal(req.error_status, 431);
    free(buf);
}

/* Valid header lines, trickled one byte per call past the limit: every
 * call needs more until HTTP_MAX_HEADER_BYTES bytes are here, then 431.
 * Checking each line early must not turn a large valid block into 400,
 * nor answer before the limit: not with a few long fields, and not with
 * many short ones (more than HTTP_MAX_HEADER_FIELDS, but the count is
 * judged only when the block ends, which it never does here). */
static void test_431_valid_headers_byte_by_byte(void **state)
{
    enum { SIZE = HTTP_MAX_HEADER_BYTES + 1024 };
    static const int value_widths[] = { 240, 30 };
    char *text = malloc(SIZE + 64);

    (void)state;
    assert_non_null(text);
    for (size_t w = 0; w < sizeof value_widths / sizeof value_widths[0]; w++) {
        struct http_parser p;
        struct http_request req;
        size_t n = (size_t)snprintf(text, SIZE + 64, "GET / HTTP/1.1\r\n");
        int field = 0;

        while (n < SIZE) {
            n += (size_t)snprintf(text + n, SIZE + 64 - n, "X-Field-%d: %0*d\r\n",
                                  field, value_widths[w], field);
            field++;
        }
        /* Long values: few fields.  Short ones: more than the limit. */
        assert_true(w == 0 ? field < HTTP_MAX_HEADER_FIELDS : field > HTTP_MAX_HEADER_FIELDS);

        http_parser_init(&p, MAX_BODY);
        for (n = 1; n <= SIZE; n++) {
            char *copy = exact_copy(text, n);
            enum http_parse_result r = http_parse(&p, copy, n, &req);

            free(copy);
            if (n < HTTP_MAX_HEADER_BYTES) {
                if (r != HTTP_PARSE_NEED_MORE)
                    fail_msg("width %d, after %zu bytes: result %d status %d",
                             value_widths[w], n, r, req.error_status);
                /* O(total bytes): the check resumes where it stopped. */
                assert_true(p.scanned + 1 >= n);
            } else {
                assert_int_equal(r, HTTP_PARSE_ERROR);
                assert_int_equal(req.error_status, 431);
                break;
            }
        }
        assert_int_equal(n, HTTP_MAX_HEADER_BYTES);
    }
    free(text);
}

/* At the limit itself: a bad byte inside the first HTTP_MAX_HEADER_BYTES
 * is 400, one just past it is never looked at (431). */
static void test_431_or_400_at_the_limit(void **state)
{
    char *buf = malloc(HTTP_MAX_HEADER_BYTES + 16);
    struct parsed out;

    (void)state;
    assert_non_null(buf);
    memset(buf, 'a', HTTP_MAX_HEADER_BYTES + 16);
    memcpy(buf, "GET / HTTP/1.1\r\nX: ", 19);

    buf[HTTP_MAX_HEADER_BYTES - 1] = '\x01';
    parse_whole(buf, HTTP_MAX_HEADER_BYTES + 16, MAX_BODY, &out);
    assert_int_equal(out.result, HTTP_PARSE_ERROR);
    assert_int_equal(out.error_status, 400);

    buf[HTTP_MAX_HEADER_BYTES - 1] = 'a';
    buf[HTTP_MAX_HEADER_BYTES] = '\x01';
    parse_whole(buf, HTTP_MAX_HEADER_BYTES + 16, MAX_BODY, &out);
    assert_int_equal(out.result, HTTP_PARSE_ERROR);
    assert_int_equal(out.error_status, 431);

    /* A CR as the last byte inside the limit could only end a line whose
     * LF falls outside it: 431 too, split or not. */
    buf[HTTP_MAX_HEADER_BYTES] = 'a';
    buf[HTTP_MAX_HEADER_BYTES - 1] = '\r';
    buf[HTTP_MAX_HEADER_BYTES] = '\n';
    expect_status(buf, HTTP_MAX_HEADER_BYTES + 16, MAX_BODY, 431);
    expect_status(buf, HTTP_MAX_HEADER_BYTES, MAX_BODY, 431);
    free(buf);
}

/* "GET / HTTP/1.1" with `fields` header fields. */
static size_t build_fields(char *buf, size_t size, int fields)
{
    size_t n = (size_t)snprintf(buf, size, "GET / HTTP/1.1\r\n");

    for (int i = 0; i < fields; i++)
        n += (size_t)snprintf(buf + n, size - n, "X-F%d: %d\r\n", i, i);
    n += (size_t)snprintf(buf + n, size - n, "\r\n");
    assert_true(n < size);
    return n;
}

/* A block that arrives in one call is filled in while it is checked;
 * one that arrives in pieces is parsed again at the end (http_parser.c,
 * http_parse).  At the field limit both must give the same request,
 * every field in its place, with a Connection field last of all. */
static void test_one_call_and_pieces_agree_at_field_limit(void **state)
{
    char buf[4096];
    size_t cuts[4096];
    struct parsed whole, stepped;
    size_t n;

    (void)state;
    n = build_fields(buf, sizeof buf, HTTP_MAX_HEADER_FIELDS - 1);
    n -= 2;                                   /* take off the empty line */
    n += (size_t)snprintf(buf + n, sizeof buf - n, "Connection: close\r\n\r\n");
    for (size_t i = 0; i + 1 < n; i++)
        cuts[i] = i + 1;
    parse_whole(buf, n, MAX_BODY, &whole);
    assert_int_equal(whole.result, HTTP_PARSE_DONE);
    assert_int_equal(whole.header_count, HTTP_MAX_HEADER_FIELDS);
    assert_false(whole.keep_alive);
    parse_in_steps(buf, n, MAX_BODY, cuts, n - 1, &stepped);
    assert_same_parse(&whole, &stepped);
}

static void test_431_header_count(void **state)
{
    char buf[4096];
    struct parsed out;
    size_t n;

    (void)state;
    n = build_fields(buf, sizeof buf, HTTP_MAX_HEADER_FIELDS);
    parse_whole(buf, n, MAX_BODY, &out);
    assert_int_equal(out.result, HTTP_PARSE_DONE);
    assert_int_equal(out.header_count, HTTP_MAX_HEADER_FIELDS);

    n = build_fields(buf, sizeof buf, HTTP_MAX_HEADER_FIELDS + 1);
    expect_status(buf, n, MAX_BODY, 431);

    /* Judged when the block is complete (every shorter prefix needs
     * more), as bytes are judged only at the byte limit: a client may
     * send up to HTTP_MAX_HEADER_BYTES before hearing 431. */
    expect_error_at(buf, n, 431);
}

/* ---- keep-alive -------------------------------------------------------- */

static void test_keep_alive_rules(void **state)
{
    static const struct {
        const char *text;
        bool keep_alive;
    } cases[] = {
        { "GET / HTTP/1.1\r\n\r\n", true },
        { "GET / HTTP/1.1\r\nConnection: close\r\n\r\n", false },
        { "GET / HTTP/1.1\r\nconnection: CLOSE\r\n\r\n", false },
        { "GET / HTTP/1.1\r\nConnection: Upgrade, Close\r\n\r\n", false },
        { "GET / HTTP/1.1\r\nConnection: keep-alive, close\r\n\r\n", false },
        { "GET / HTTP/1.1\r\nConnection: keep-alive\r\n\r\n", true },
        { "GET / HTTP/1.1\r\nConnection: closed\r\n\r\n", true },      /* not the token */
        { "GET / HTTP/1.0\r\n\r\n", false },
        { "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", true },
        { "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", true },
        { "GET / HTTP/1.0\r\nCONNECTION:  foo ,KEEP-ALIVE \r\n\r\n", true },
        { "GET / HTTP/1.0\r\nConnection: close\r\n\r\n", false },
        { "GET / HTTP/1.0\r\nConnection: keep-alive\r\nConnection: close\r\n\r\n", false },
        { "GET / HTTP/1.0\r\nKeep-Alive: timeout=5\r\n\r\n", false },
    };

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct parsed out;
        parse_whole(cases[i].text, strlen(cases[i].text), MAX_BODY, &out);
        assert_int_equal(out.result, HTTP_PARSE_DONE);
        if (out.keep_alive != cases[i].keep_alive)
            fail_msg("case %zu (%s): keep_alive %d", i, cases[i].text, out.keep_alive);
    }
}

/* ---- lookups and state ------------------------------------------------- */

static void test_find_header_and_method_names(void **state)
{
    static const char text[] = "POST /echo HTTP/1.1\r\nHost: h\r\ncontent-LENGTH: 2\r\n\r\nok";
    struct http_parser p;
    struct http_request req;
    const struct http_header *h;

    (void)state;
    http_parser_init(&p, MAX_BODY);
    assert_int_equal(http_parse(&p, text, sizeof text - 1, &req), HTTP_PARSE_DONE);
    h = http_find_header(&req, "Content-Length");
    assert_non_null(h);
    assert_int_equal(h->value_len, 1);
    assert_memory_equal(h->value, "2", 1);
    assert_non_null(http_find_header(&req, "HOST"));
    assert_null(http_find_header(&req, "Hos"));
    assert_null(http_find_header(&req, "Accept"));

    assert_string_equal(http_method_name(HTTP_GET), "GET");
    assert_string_equal(http_method_name(HTTP_HEAD), "HEAD");
    assert_string_equal(http_method_name(HTTP_POST), "POST");
    assert_string_equal(http_method_name(HTTP_PUT), "PUT");
    assert_string_equal(http_method_name(HTTP_DELETE), "DELETE");
    assert_string_equal(http_method_name(HTTP_METHOD_UNKNOWN), "?");
}

/* HTTP_METHOD_MAX_LEN is the longest name the parser knows, so no known
 * method is refused as "too long". */
static void test_method_max_len_is_the_longest_name(void **state)
{
    size_t longest = 0;

    (void)state;
    for (int m = HTTP_GET; m < HTTP_METHOD_UNKNOWN; m++) {
        const char *name = http_method_name((enum http_method)m);
        char line[64];
        assert_string_not_equal(name, "?");
        if (strlen(name) > longest)
            longest = strlen(name);
        snprintf(line, sizeof line, "%s / HTTP/1.1\r\n\r\n", name);
        expect_method(line, (enum http_method)m);
    }
    assert_int_equal(longest, HTTP_METHOD_MAX_LEN);
}

/* ---- absolute form ----------------------------------------------------- */

static void test_absolute_form(void **state)
{
    struct parsed out;
    static const char text[] = "GET HTTP://a.example/sleep/5?block=1 HTTP/1.1\r\n\r\n";

    (void)state;
    parse_whole(text, sizeof text - 1, MAX_BODY, &out);
    assert_int_equal(out.result, HTTP_PARSE_DONE);
    assert_int_equal(out.path_off, strlen("GET HTTP://a.example"));
    assert_int_equal(out.path_len, strlen("/sleep/5"));
    assert_int_equal(out.query_len, strlen("block=1"));
    expect_done("POST https://h:1/echo HTTP/1.1\r\nContent-Length: 1\r\n\r\nx");
    expect_done("GET http://h/ HTTP/1.0\r\n\r\n");
    /* Neither a path nor a host: nothing to route. */
    expect_str("GET http://h HTTP/1.1\r\n\r\n", 400);
    expect_str("GET http://h?x=/ HTTP/1.1\r\n\r\n", 400);
    expect_str("GET http:/// HTTP/1.1\r\n\r\n", 400);
    expect_str("GET ftp://h/ HTTP/1.1\r\n\r\n", 400);
    expect_str("GET http:// HTTP/1.1\r\n\r\n", 400);
    expect_str("GET * HTTP/1.1\r\n\r\n", 400);
}

/* ---- Expect: 100-continue ---------------------------------------------- */

static void test_expect_continue(void **state)
{
    static const char head[] = "POST /echo HTTP/1.1\r\nExpect: 100-Continue\r\n"
                               "Content-Length: 5\r\n\r\n";
    char text[128];
    struct http_parser p;
    struct http_request req;
    size_t n = sizeof head - 1;

    (void)state;
    memcpy(text, head, n);
    memcpy(text + n, "hello", 5);
    http_parser_init(&p, MAX_BODY);
    /* Not before the header block is complete... */
    assert_int_equal(http_parse(&p, text, n - 1, &req), HTTP_PARSE_NEED_MORE);
    assert_false(http_parser_take_continue(&p));
    /* ...then once, whatever else arrives... */
    assert_int_equal(http_parse(&p, text, n, &req), HTTP_PARSE_NEED_MORE);
    assert_true(http_parser_take_continue(&p));
    assert_false(http_parser_take_continue(&p));
    assert_int_equal(http_parse(&p, text, n + 2, &req), HTTP_PARSE_NEED_MORE);
    assert_false(http_parser_take_continue(&p));
    /* ...and the request is served as usual. */
    assert_int_equal(http_parse(&p, text, n + 5, &req), HTTP_PARSE_DONE);
    assert_memory_equal(req.body, "hello", 5);
    assert_false(http_parser_take_continue(&p));

    /* Too large: 413 at once, the client is not invited to send. */
    snprintf(text, sizeof text, "PUT /echo HTTP/1.1\r\nExpect: 100-continue\r\n"
             "Content-Length: %d\r\n\r\n", MAX_BODY + 1);
    http_parser_init(&p, MAX_BODY);
    assert_int_equal(http_parse(&p, text, strlen(text), &req), HTTP_PARSE_ERROR);
    assert_int_equal(req.error_status, 413);
    assert_false(http_parser_take_continue(&p));

    /* Nothing to send, nothing to wait for. */
    http_parser_init(&p, MAX_BODY);
    assert_int_equal(http_parse(&p, "GET / HTTP/1.1\r\nExpect: 100-continue\r\n\r\n", 40,
                                &req), HTTP_PARSE_DONE);
    assert_false(http_parser_take_continue(&p));

    /* Any other expectation: 417, as soon as its line is in. */
    expect_str("POST /echo HTTP/1.1\r\nExpect: 100-continue, x\r\n", 417);
    expect_str("POST /echo HTTP/1.1\r\nExpect:\r\nContent-Length: 1\r\n\r\nx", 417);
    /* HTTP/1.0 has no expectations: the field means nothing there. */
    expect_done("POST /echo HTTP/1.0\r\nExpect: whatever\r\nContent-Length: 1\r\n\r\nx");
    http_parser_init(&p, MAX_BODY);
    assert_int_equal(http_parse(&p, "POST /echo HTTP/1.0\r\nExpect: 100-continue\r\n"
                                "Content-Length: 1\r\n\r\n", 64, &req), HTTP_PARSE_NEED_MORE);
    assert_false(http_parser_take_continue(&p));
}

static void test_need_more_and_reset(void **state)
{
    struct http_parser p;
    struct http_request req;

    (void)state;
    http_parser_init(&p, MAX_BODY);
    assert_int_equal(http_parse(&p, "", 0, &req), HTTP_PARSE_NEED_MORE);
    assert_int_equal(http_parse(&p, "GET / HTTP/1.1\r\n", 16, &req), HTTP_PARSE_NEED_MORE);
    assert_int_equal(http_parse(&p, "GET / HTTP/1.1\r\n\r", 17, &req), HTTP_PARSE_NEED_MORE);
    assert_int_equal(http_parse(&p, "GET / HTTP/1.1\r\n\r\n", 18, &req), HTTP_PARSE_DONE);

    /* After an error the parser is back at its initial state too. */
    assert_int_equal(http_parse(&p, "GET / HTTP/1.1\r\nA : b\r\n\r\n", 25, &req), HTTP_PARSE_ERROR);
    assert_int_equal(p.scanned, 0);
    assert_int_equal(p.header_len, 0);
    assert_int_equal(p.max_body, MAX_BODY);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_samples_parse_as_expected),
        cmocka_unit_test(test_one_byte_at_a_time),
        cmocka_unit_test(test_every_two_way_split),
        cmocka_unit_test(test_errors_same_under_any_split),
        cmocka_unit_test(test_pipelined_in_one_buffer),
        cmocka_unit_test(test_pipelined_any_chunk_size),
        cmocka_unit_test(test_400_malformed),
        cmocka_unit_test(test_400_early_on_garbage),
        cmocka_unit_test(test_400_at_the_offending_byte),
        cmocka_unit_test(test_400_early_on_garbage_after_request_line),
        cmocka_unit_test(test_garbage_same_under_any_split),
        cmocka_unit_test(test_unknown_methods_are_requests),
        cmocka_unit_test(test_501_transfer_encoding),
        cmocka_unit_test(test_413_body_limit),
        cmocka_unit_test(test_431_header_bytes),
        cmocka_unit_test(test_431_valid_headers_byte_by_byte),
        cmocka_unit_test(test_431_or_400_at_the_limit),
        cmocka_unit_test(test_431_header_count),
        cmocka_unit_test(test_one_call_and_pieces_agree_at_field_limit),
        cmocka_unit_test(test_keep_alive_rules),
        cmocka_unit_test(test_find_header_and_method_names),
        cmocka_unit_test(test_method_max_len_is_the_longest_name),
        cmocka_unit_test(test_absolute_form),
        cmocka_unit_test(test_expect_continue),
        cmocka_unit_test(test_need_more_and_reset),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
