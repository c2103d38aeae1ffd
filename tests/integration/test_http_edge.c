/*
 * The request edge cases, one table, against every model over real
 * loopback sockets: each case must get the same statuses and the same
 * connection outcome (kept open, or closed) from blocking, threads, loop
 * on poll and loop on epoll.
 *
 * The rule the table pins down (lib/server/reply.h): a well-formed
 * request keeps its connection whatever the status (404, 405, 501 for an
 * unknown method, 400 for a bad route argument), unless its client asked
 * to close; only what breaks the framing closes (malformed, 408, 413,
 * 417, 431, Transfer-Encoding), because after it nobody knows where the
 * next request would start.  Smuggling-style framing (two lengths, "+3",
 * "3, 3", Transfer-Encoding with a length, obs-fold, a space before the
 * colon) is refused, never guessed at.
 *
 * "Kept open" is proven, not assumed: the last reply does not say close,
 * and a further request on the same connection gets 200.  "Closed" means
 * the last reply says close and the server then closes.
 *
 * Then what ApacheBench does with -k (test_ab_style_keep_alive): ten
 * HTTP/1.0 keep-alive clients taking turns.  Each reply must either say
 * "Connection: keep-alive" or close, else a 1.0 client waits for a close
 * that never comes; and the blocking model must not let one idle
 * keep-alive client lock the other nine out (it gives way between
 * requests, sync_connection.c, give_way_if_others_wait).
 *
 * Servers run with --request-timeout 1500ms so that the 408 case is
 * quick, and --max-body 1000 so that the 413 cases are small.  Rerun just
 * this test with `TESTS=test_http_edge make test`.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "support/served.h"

enum { MAX_BODY = 1000, MAX_REPLIES = 4 };

struct edge_case {
    const char *name;
    const char *request;            /* sent at once; may hold several requests */
    int statuses[MAX_REPLIES];      /* the replies expected, in order; 0 ends */
    bool kept_open;
    /* A header line the last reply must carry (NULL: none required). */
    const char *last_header;
    /* Sent only after the first reply (100 Continue) has arrived. */
    const char *after_first_reply;
};

#define ABC "Content-Length: 3\r\n\r\nabc"

static const struct edge_case cases[] = {
    /* Well-formed: kept open whatever the status. */
    { "plain GET", "GET / HTTP/1.1\r\nHost: a\r\n\r\n", { 200 }, true, NULL, NULL },
    { "404", "GET /no/such/thing HTTP/1.1\r\n\r\n", { 404 }, true, NULL, NULL },
    { "405", "DELETE / HTTP/1.1\r\n\r\n", { 405 }, true, NULL, NULL },
    { "400 bad route argument", "GET /sleep/abc HTTP/1.1\r\n\r\n", { 400 }, true, NULL, NULL },
    { "400 argument too large", "GET /cpu/99999999 HTTP/1.1\r\n\r\n", { 400 }, true, NULL, NULL },
    { "501 unknown method", "BREW /pot HTTP/1.1\r\n\r\n", { 501 }, true, NULL, NULL },
    { "501 unknown method, body skipped", "BREW /pot HTTP/1.1\r\n" ABC "GET / HTTP/1.1\r\n\r\n",
      { 501, 200 }, true, NULL, NULL },
    { "501 lower-case method", "get / HTTP/1.1\r\n\r\n", { 501 }, true, NULL, NULL },
    { "405 known method no route takes", "OPTIONS / HTTP/1.1\r\n\r\n", { 405 }, true, NULL, NULL },
    { "404 then pipelined 200", "GET /nope HTTP/1.1\r\n\r\nGET / HTTP/1.1\r\n\r\n",
      { 404, 200 }, true, NULL, NULL },
    { "bare LF line ends", "GET / HTTP/1.1\nHost: a\n\n", { 200 }, true, NULL, NULL },
    { "leading CRLF", "\r\nGET / HTTP/1.1\r\n\r\n", { 200 }, true, NULL, NULL },
    { "absolute-form target", "GET http://example.com:80/echo?abs HTTP/1.1\r\n\r\n",
      { 200 }, true, NULL, NULL },
    { "two equal Content-Lengths", "POST /echo HTTP/1.1\r\nContent-Length: 3\r\n" ABC,
      { 200 }, true, NULL, NULL },
    { "pipelined request after a body",
      "POST /echo HTTP/1.1\r\n" ABC "GET /echo?second HTTP/1.1\r\n\r\n",
      { 200, 200 }, true, NULL, NULL },
    { "HTTP/1.0 keep-alive", "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
      { 200 }, true, "Connection: keep-alive", NULL },
    { "HTTP/1.0 keep-alive, 404", "GET /nope HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n",
      { 404 }, true, "Connection: keep-alive", NULL },
    { "Expect: 100-continue",
      "POST /echo HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n",
      { 100, 200 }, true, NULL, "abc" },
    { "HTTP/1.0 ignores Expect", "POST /echo HTTP/1.0\r\nExpect: 100-continue\r\n"
      "Connection: keep-alive\r\n" ABC, { 200 }, true, "Connection: keep-alive", NULL },

    /* The client asked to close. */
    { "HTTP/1.0 default", "GET / HTTP/1.0\r\n\r\n", { 200 }, false, NULL, NULL },
    { "Connection: close", "GET / HTTP/1.1\r\nConnection: close\r\n\r\n", { 200 }, false,
      NULL, NULL },
    { "Connection: close, 404", "GET /nope HTTP/1.1\r\nConnection: close\r\n\r\n", { 404 },
      false, NULL, NULL },

    /* The framing is broken: the reply, then a close. */
    { "no target, no version", "GARBAGE\r\n\r\n", { 400 }, false, NULL, NULL },
    { "method token too long", "PROPFIND / HTTP/1.1\r\n\r\n", { 400 }, false, NULL, NULL },
    { "extra space", "GET  / HTTP/1.1\r\n\r\n", { 400 }, false, NULL, NULL },
    { "asterisk-form", "GET * HTTP/1.1\r\n\r\n", { 400 }, false, NULL, NULL },
    { "HTTP/2.0", "GET / HTTP/2.0\r\n\r\n", { 400 }, false, NULL, NULL },
    { "two different Content-Lengths",
      "POST /echo HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", { 400 },
      false, NULL, NULL },
    { "Content-Length +3", "POST /echo HTTP/1.1\r\nContent-Length: +3\r\n\r\nabc", { 400 },
      false, NULL, NULL },
    { "Content-Length 3, 3", "POST /echo HTTP/1.1\r\nContent-Length: 3, 3\r\n\r\nabc", { 400 },
      false, NULL, NULL },
    { "Transfer-Encoding", "POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
      "3\r\nabc\r\n0\r\n\r\n", { 501 }, false, NULL, NULL },
    { "Transfer-Encoding and Content-Length", "POST /echo HTTP/1.1\r\nContent-Length: 3\r\n"
      "Transfer-Encoding: chunked\r\n\r\nabc", { 501 }, false, NULL, NULL },
    { "obs-fold", "GET / HTTP/1.1\r\nX-A: b\r\n  folded\r\n\r\n", { 400 }, false, NULL, NULL },
    { "space before colon", "GET / HTTP/1.1\r\nHost : a\r\n\r\n", { 400 }, false, NULL, NULL },
    { "NUL in a header", "GET / HTTP/1.1\r\nX-A: a\0b\r\n\r\n", { 400 }, false, NULL, NULL },
    { "body over the limit", "POST /echo HTTP/1.1\r\nContent-Length: 1001\r\n\r\n", { 413 },
      false, NULL, NULL },
    { "Expect: 100-continue over the limit", "POST /echo HTTP/1.1\r\nExpect: 100-continue\r\n"
      "Content-Length: 5000000\r\n\r\n", { 413 }, false, NULL, NULL },
    { "unknown expectation", "POST /echo HTTP/1.1\r\nExpect: tea\r\n" ABC, { 417 }, false,
      NULL, NULL },
    { "request never completes", "GET / HTTP/1.1\r\nHost: slow", { 408 }, false, NULL, NULL },
};
#define CASE_COUNT (sizeof cases / sizeof cases[0])

/* The NUL case has a NUL inside: its length is not strlen(). */
static size_t request_len(const struct edge_case *c)
{
    if (strcmp(c->name, "NUL in a header") == 0)
        return sizeof "GET / HTTP/1.1\r\nX-A: a\0b\r\n\r\n" - 1;
    return strlen(c->request);
}

/* Waits until the client's buffer holds a whole reply head, so that the
 * head can be looked at before client_read_response() consumes it.
 * False on timeout or close. */
static bool wait_for_head(struct client *c, int timeout_ms)
{
    double deadline = now_ms() + timeout_ms;
    while (memmem(c->buf, c->len, "\r\n\r\n", 4) == NULL) {
        struct pollfd pfd = { .fd = c->fd, .events = POLLIN };
        int left = (int)(deadline - now_ms());
        if (left <= 0 || poll(&pfd, 1, left) <= 0)
            return false;
        ssize_t n = recv(c->fd, c->buf + c->len, sizeof c->buf - c->len, 0);
        if (n <= 0)
            return false;
        c->len += (size_t)n;
    }
    return true;
}

/* Copies the reply head at the start of c->buf (wait_for_head found it)
 * into `head` as a string. */
static void copy_head(const struct client *c, char *head, size_t size)
{
    const char *end = memmem(c->buf, c->len, "\r\n\r\n", 4);
    size_t n = (size_t)(end - c->buf);

    if (n > size - 1)
        n = size - 1;
    memcpy(head, c->buf, n);
    head[n] = '\0';
}

/* Runs one case against the server on `port`; returns NULL when it went
 * as expected, or what went wrong (in `why`). */
static const char *run_case(int port, const struct edge_case *ec, char *why, size_t why_len)
{
    struct client c;
    struct response r = { 0 };
    char head[1024] = "";
    bool said_close = false;

    if (client_connect(&c, port) != 0)
        return "could not connect";
    /* A server refusing early may close before all is sent: not an error. */
    (void)client_send(&c, ec->request, request_len(ec));
    for (int i = 0; i < MAX_REPLIES && ec->statuses[i] != 0; i++) {
        if (!wait_for_head(&c, 5000)) {
            snprintf(why, why_len, "reply %d (want %d) did not arrive", i + 1, ec->statuses[i]);
            client_close(&c);
            return why;
        }
        copy_head(&c, head, sizeof head);
        if (client_read_response(&c, &r, 5000) != 0 || r.status != ec->statuses[i]) {
            snprintf(why, why_len, "reply %d: status %d, want %d", i + 1, r.status,
                     ec->statuses[i]);
            response_free(&r);
            client_close(&c);
            return why;
        }
        said_close = r.connection_close;
        response_free(&r);
        if (i == 0 && ec->after_first_reply != NULL)
            (void)client_send_str(&c, ec->after_first_reply);
    }
    if (ec->last_header != NULL && strcasestr(head, ec->last_header) == NULL) {
        snprintf(why, why_len, "last reply lacks \"%s\":\n%s", ec->last_header, head);
        client_close(&c);
        return why;
    }
    if (said_close == ec->kept_open) {
        snprintf(why, why_len, "last reply %s \"Connection: close\"",
                 said_close ? "says" : "does not say");
        client_close(&c);
        return why;
    }
    if (ec->kept_open) {
        /* Still usable: one more request on the same connection. */
        if (client_send_str(&c, "GET / HTTP/1.1\r\n\r\n") != 0 ||
            client_read_response(&c, &r, 5000) != 0 || r.status != 200) {
            snprintf(why, why_len, "connection not usable after the replies");
            response_free(&r);
            client_close(&c);
            return why;
        }
        response_free(&r);
    } else if (!client_wait_closed(&c, 5000)) {
        snprintf(why, why_len, "server did not close the connection");
        client_close(&c);
        return why;
    }
    client_close(&c);
    return NULL;
}

struct fixture {
    const char *label;
    const char *model;
    const char *const *args;
    struct served server;
};

static int setup(void **state)
{
    struct fixture *f = *state;
    return served_start(&f->server, f->model, f->args, 0) == 0 ? 0 : -1;
}

/* Stops the server by PID even when the case failed half-way; a server
 * that does not exit 0 (a sanitizer report, say) fails the case. */
static int teardown(void **state)
{
    struct fixture *f = *state;
    int status = served_stop(&f->server);
    if (status != 0)
        fprintf(stderr, "%s: exit status %d, want 0\n", f->label, status);
    return status == 0 ? 0 : -1;
}

static void test_edge_cases(void **state)
{
    struct fixture *f = *state;
    char why[1200];
    int failures = 0;

    for (size_t i = 0; i < CASE_COUNT; i++) {
        const char *problem = run_case(f->server.port, &cases[i], why, sizeof why);
        if (problem != NULL) {
            fprintf(stderr, "%s: case \"%s\": %s\n", f->label, cases[i].name, problem);
            failures++;
        }
    }
    /* The server survived all of it. */
    assert_int_equal(http_get(f->server.port, "/", NULL), 200);
    if (failures > 0)
        fail_msg("%s: %d of %zu edge cases went wrong (listed above); rerun with "
                 "TESTS=test_http_edge make test", f->label, failures, CASE_COUNT);
}

/* Ten keep-alive HTTP/1.0 clients, each with a request outstanding, read
 * in turn, twenty requests each, as `ab -k -c 10` does.  A reply that
 * keeps the connection must say so; a reply that closes it is followed by
 * a new connection.  Every reply must come within 5 s. */
static void test_ab_style_keep_alive(void **state)
{
    enum { CLIENTS = 10, EACH = 20 };
    static const char request[] = "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n";
    struct fixture *f = *state;
    struct client clients[CLIENTS];
    int done[CLIENTS] = { 0 }, kept = 0, reconnects = 0;

    for (int i = 0; i < CLIENTS; i++) {
        assert_int_equal(client_connect(&clients[i], f->server.port), 0);
        assert_int_equal(client_send_str(&clients[i], request), 0);
    }
    for (int round = 0; round < EACH; round++) {
        for (int i = 0; i < CLIENTS; i++) {
            struct client *c = &clients[i];
            struct response r;
            char head[1024];
            if (!wait_for_head(c, 5000))
                fail_msg("%s: client %d, request %d: no reply within 5 s (one keep-alive "
                         "client holding the server?)", f->label, i, done[i] + 1);
            copy_head(c, head, sizeof head);
            bool said_keep_alive = strcasestr(head, "Connection: keep-alive") != NULL;
            assert_int_equal(client_read_response(c, &r, 5000), 0);
            assert_int_equal(r.status, 200);
            bool closes = r.connection_close;
            response_free(&r);
            if (!closes && !said_keep_alive)
                fail_msg("%s: reply kept the connection without saying keep-alive: an "
                         "HTTP/1.0 client now waits for a close", f->label);
            done[i]++;
            if (closes) {
                assert_true(client_wait_closed(c, 5000));
                client_close(c);
                assert_int_equal(client_connect(c, f->server.port), 0);
                reconnects++;
            } else {
                kept++;
            }
            if (done[i] < EACH)
                assert_int_equal(client_send_str(c, request), 0);
        }
    }
    for (int i = 0; i < CLIENTS; i++)
        client_close(&clients[i]);
    fprintf(stderr, "  %s: %d replies kept the connection, %d closed it\n", f->label, kept,
            reconnects);
    /* The concurrent models have no reason to close. */
    if (strcmp(f->model, "blocking") != 0)
        assert_int_equal(reconnects, 0);
}

int main(void)
{
    static const char *const base[] = { "--request-timeout", "1500ms", "--max-body", "1000",
                                        NULL };
    static const char *const epoll[] = { "--request-timeout", "1500ms", "--max-body", "1000",
                                         "--backend", "epoll", NULL };
    static struct fixture blocking = { "blocking", "blocking", base, { 0 } };
    static struct fixture threads = { "threads", "threads", base, { 0 } };
    static struct fixture loop_poll = { "loop (poll)", "loop", base, { 0 } };
    static struct fixture loop_epoll = { "loop (epoll)", "loop", epoll, { 0 } };
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_prestate_setup_teardown(test_edge_cases, setup, teardown, &blocking),
        cmocka_unit_test_prestate_setup_teardown(test_edge_cases, setup, teardown, &threads),
        cmocka_unit_test_prestate_setup_teardown(test_edge_cases, setup, teardown, &loop_poll),
        cmocka_unit_test_prestate_setup_teardown(test_edge_cases, setup, teardown, &loop_epoll),
        cmocka_unit_test_prestate_setup_teardown(test_ab_style_keep_alive, setup, teardown,
                                                 &blocking),
        cmocka_unit_test_prestate_setup_teardown(test_ab_style_keep_alive, setup, teardown,
                                                 &threads),
        cmocka_unit_test_prestate_setup_teardown(test_ab_style_keep_alive, setup, teardown,
                                                 &loop_poll),
        cmocka_unit_test_prestate_setup_teardown(test_ab_style_keep_alive, setup, teardown,
                                                 &loop_epoll),
    };
    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
