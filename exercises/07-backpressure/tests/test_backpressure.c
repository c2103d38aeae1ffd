/*
 * test_backpressure.c — the graded tests of exercise 07 (backpressure).
 *
 * The clients here are non-blocking and driven by pump(): it sends a
 * deterministic byte stream (a random block of PATTERN_LEN bytes from the
 * seed, repeated; PATTERN_LEN is prime so chunk edges never line up with
 * it), optionally reads the echo back and checks every byte, and stops
 * when everything is done or nothing moved for a while.  A client that
 * never reads is pump() with reading off: against a server with
 * backpressure its sends stall once the server's watermark and the
 * kernel's buffers are full; against one without, the server swallows
 * everything and its memory (RSS, /proc/PID/status) grows with it.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "grade_net.h"
#include "grade_proc.h"
#include "grade_server.h"
#include "grade_test.h"

#define PATTERN_LEN 65521u
#define MIB (1024u * 1024u)
/* What a non-reading client tries to push, and the most a server with a
 * watermark can have taken by the time it stalls (its kernel buffers can
 * grow to tens of MiB on their own; this is far below the push). */
#define PUSH_BYTES    (128u * MIB)
#define STALLED_BELOW (80u * MIB)
#define RSS_GROWTH_MAX_KIB (16 * 1024)

static unsigned char pattern[PATTERN_LEN];

struct pump {
    uint64_t sent;
    uint64_t received;
    bool closed;            /* the server closed or reset the connection */
};

static void pattern_init(struct grade_ctx *ctx)
{
    grade_rand_bytes(ctx, pattern, sizeof pattern);
}

/* Sends up to `target` bytes of the stream (reading the echo when
 * `reading`) until done, until nothing moved for stall_ms, or max_ms. */
static void pump(struct grade_ctx *ctx, int fd, struct pump *p, uint64_t target,
                 bool reading, int stall_ms, int max_ms)
{
    static unsigned char chunk[64 * 1024];
    uint64_t start = grade_now_ms(), last_progress = start;

    while (!p->closed) {
        bool want_send = p->sent < target;
        bool want_recv = reading && p->received < p->sent;
        if (!want_send && !want_recv)
            return;
        uint64_t now = grade_now_ms();
        if (now - last_progress > (uint64_t)stall_ms || now - start > (uint64_t)max_ms)
            return;
        struct pollfd pfd = { .fd = fd,
                              .events = (short)((want_send ? POLLOUT : 0) | (reading ? POLLIN : 0)) };
        if (poll(&pfd, 1, 50) <= 0)
            continue;
        if (want_send && (pfd.revents & POLLOUT)) {
            size_t len = sizeof chunk;
            if (target - p->sent < len)
                len = (size_t)(target - p->sent);
            for (size_t i = 0; i < len; i++)
                chunk[i] = pattern[(p->sent + i) % PATTERN_LEN];
            ssize_t n = send(fd, chunk, len, MSG_NOSIGNAL | MSG_DONTWAIT);
            if (n > 0) {
                p->sent += (uint64_t)n;
                last_progress = grade_now_ms();
            } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
                p->closed = true;
            }
        }
        if (reading && (pfd.revents & (POLLIN | POLLHUP | POLLERR))) {
            ssize_t n = recv(fd, chunk, sizeof chunk, MSG_DONTWAIT);
            if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
                p->closed = true;
            } else if (n > 0) {
                for (ssize_t i = 0; i < n; i++) {
                    uint64_t at = p->received + (uint64_t)i;
                    if (chunk[i] != pattern[at % PATTERN_LEN])
                        grade_fail(ctx, "every byte comes back unchanged and in order",
                                   "the bytes the client sent", "a seeded random byte stream",
                                   "byte %" PRIu64 " differs (0x%02x, sent 0x%02x)",
                                   at, chunk[i], pattern[at % PATTERN_LEN]);
                }
                p->received += (uint64_t)n;
                last_progress = grade_now_ms();
            }
        }
    }
}

static int connect_nonblocking(struct grade_ctx *ctx, int port)
{
    /* Small client buffers: what piles up must pile up in the server.
     * (The receive buffer is set before connect: shrinking it later
     * would stall the transfer in retransmissions.) */
    int fd = grade_connect_rcvbuf(ctx, port, 64 * 1024);
    grade_set_sndbuf(fd, 64 * 1024);
    return fd;
}

/* A client that sends and never reads, until its sends stall. */
static void push_without_reading(struct grade_ctx *ctx, int fd, struct pump *p)
{
    grade_note(ctx, "a client sends up to %u MiB and never reads", PUSH_BYTES / MIB);
    pump(ctx, fd, p, PUSH_BYTES, false, 800, 6000);
}

static void test_echo_dribble(struct grade_ctx *ctx)
{
    struct grade_server srv;
    grade_server_start(ctx, &srv, NULL);
    int fd = grade_connect(ctx, srv.port);
    const char *text = "hello, backpressure\n";
    size_t len = strlen(text);
    char got[64], quoted[128];

    grade_send_dribble(ctx, fd, text, len, 1, 10);
    size_t n = grade_recv_exact(fd, got, len, 3000);
    if (n != len || memcmp(got, text, len) != 0)
        grade_fail(ctx, "the echo of a line sent one byte at a time", "hello, backpressure\\n",
                   "\"hello, backpressure\\n\", one byte every 10 ms", "%s",
                   grade_quote(got, n, quoted, sizeof quoted));

    grade_note(ctx, "the client shuts down its sending side (half-close)");
    grade_send_all(ctx, fd, "bye\n", 4);
    shutdown(fd, SHUT_WR);
    bool closed = false;
    n = grade_recv_until_close(fd, got, sizeof got, 3000, &closed);
    if (n != 4 || memcmp(got, "bye\n", 4) != 0 || !closed)
        grade_fail(ctx, "after the client's half-close: the rest of the echo, then a close",
                   "\"bye\\n\" and then end of stream", "\"bye\\n\" then shutdown(SHUT_WR)",
                   "%s, %s", grade_quote(got, n, quoted, sizeof quoted),
                   closed ? "then closed" : "but the connection stayed open");
    close(fd);
    grade_server_stop(ctx, &srv);
}

static void test_echo_large(struct grade_ctx *ctx)
{
    struct grade_server srv;
    grade_server_start(ctx, &srv, NULL);
    pattern_init(ctx);
    int fd = connect_nonblocking(ctx, srv.port);
    struct pump p = { 0 };
    uint64_t total = 8u * MIB;

    grade_note(ctx, "a client sends 8 MiB while reading the echo");
    pump(ctx, fd, &p, total, true, 3000, 20000);
    if (p.received != total)
        grade_fail(ctx, "8 MiB sent by a client that reads all the while come back",
                   "8388608 bytes", "8 MiB of seeded random bytes",
                   "%" PRIu64 " sent, %" PRIu64 " echoed%s", p.sent, p.received,
                   p.closed ? ", then the server closed the connection" : ", then nothing for 3 s");
    close(fd);
    grade_server_stop(ctx, &srv);
}

static void test_memory_bounded_non_reader(struct grade_ctx *ctx)
{
    struct grade_server srv;
    grade_server_start(ctx, &srv, NULL);
    pattern_init(ctx);
    long rss_before = grade_proc_rss_kib(srv.pid);
    int fd = connect_nonblocking(ctx, srv.port);
    struct pump p = { 0 };

    push_without_reading(ctx, fd, &p);
    grade_server_check_alive(ctx, &srv, "while a client sent without reading");
    long rss_after = grade_proc_rss_kib(srv.pid);
    if (p.closed)
        grade_fail(ctx, "a client that does not read is slowed down, not thrown out",
                   "the connection stays open", "a client sends and never reads",
                   "the server closed the connection after taking %" PRIu64 " bytes", p.sent);
    if (rss_after - rss_before > RSS_GROWTH_MAX_KIB)
        grade_fail(ctx, "the server's memory (RSS in /proc/PID/status) while one client never reads",
                   "growth under 16 MiB (1 MiB high watermark + buffers)",
                   "one client sends up to 128 MiB and never reads",
                   "grew by %ld MiB (%ld -> %ld KiB) after it accepted %" PRIu64
                   " MiB: output is buffered without limit (no high watermark)",
                   (rss_after - rss_before) / 1024, rss_before, rss_after, p.sent / MIB);
    close(fd);
    grade_server_stop(ctx, &srv);
}

static void test_resumes_after_drain(struct grade_ctx *ctx)
{
    struct grade_server srv;
    grade_server_start(ctx, &srv, NULL);
    pattern_init(ctx);
    int fd = connect_nonblocking(ctx, srv.port);
    struct pump p = { 0 };

    push_without_reading(ctx, fd, &p);
    if (p.sent >= STALLED_BELOW)
        grade_fail(ctx, "the server stops reading a client whose echo piles up",
                   "the client's sends stall (well under 80 MiB accepted)",
                   "one client sends up to 128 MiB and never reads",
                   "it accepted %" PRIu64 " MiB without the client reading a byte",
                   p.sent / MIB);
    uint64_t stalled_at = p.sent;

    grade_note(ctx, "the client stalled after %" PRIu64 " bytes; now it reads everything", stalled_at);
    pump(ctx, fd, &p, stalled_at, true, 3000, 20000);
    if (p.received != stalled_at)
        grade_fail(ctx, "once the client reads, the server drains its buffer and reads again",
                   "all the bytes the client had sent come back", "sent until stalled, then read",
                   "%" PRIu64 " of %" PRIu64 " bytes came back%s", p.received, stalled_at,
                   p.closed ? ", then the server closed" : ", then nothing for 3 s (reading never resumed?)");

    grade_note(ctx, "after draining, the client sends 2 MiB more while reading");
    pump(ctx, fd, &p, stalled_at + 2u * MIB, true, 3000, 20000);
    if (p.received != stalled_at + 2u * MIB)
        grade_fail(ctx, "reading resumes below the low watermark",
                   "the next 2 MiB echoed too", "sent until stalled, read all, send 2 MiB more",
                   "%" PRIu64 " of the 2097152 new bytes came back",
                   p.received > stalled_at ? p.received - stalled_at : 0);
    close(fd);
    grade_server_stop(ctx, &srv);
}

static void test_other_clients_served(struct grade_ctx *ctx)
{
    struct grade_server srv;
    grade_server_start(ctx, &srv, NULL);
    pattern_init(ctx);
    int hog = connect_nonblocking(ctx, srv.port);
    struct pump hp = { 0 };
    push_without_reading(ctx, hog, &hp);

    grade_note(ctx, "while that client is paused, a second one echoes 256 KiB");
    int fd = connect_nonblocking(ctx, srv.port);
    struct pump p = { 0 };
    uint64_t start = grade_now_ms();
    pump(ctx, fd, &p, 256 * 1024, true, 3000, 10000);
    if (p.received != 256 * 1024)
        grade_fail(ctx, "a second client is served while the first one is paused",
                   "262144 bytes echoed", "client 1 sends without reading; client 2 echoes 256 KiB",
                   "%" PRIu64 " bytes echoed in %" PRIu64 " ms", p.received, grade_now_ms() - start);
    close(fd);
    close(hog);
    grade_server_stop(ctx, &srv);
}

static void test_reset_mid_transfer(struct grade_ctx *ctx)
{
    struct grade_server srv;
    grade_server_start(ctx, &srv, NULL);
    pattern_init(ctx);
    int baseline = grade_proc_open_fds(srv.pid);

    grade_note(ctx, "3 clients each send 4 MiB without reading, then reset");
    for (int i = 0; i < 3; i++) {
        int fd = connect_nonblocking(ctx, srv.port);
        struct pump p = { 0 };
        pump(ctx, fd, &p, 4u * MIB, false, 500, 3000);
        grade_close_with_reset(fd);
    }
    grade_sleep_ms(300);
    grade_server_check_alive(ctx, &srv, "after clients reset mid-transfer");
    int fds = grade_proc_wait_open_fds(srv.pid, baseline, 2000);
    if (fds > baseline)
        grade_fail(ctx, "descriptors open after the clients reset (/proc/PID/fd)",
                   "the count before they came", "3 clients reset while their echo was pending",
                   "%d open, %d before", fds, baseline);

    int fd = grade_connect(ctx, srv.port);
    grade_send_all(ctx, fd, "still there?\n", 13);
    char got[32], quoted[64];
    size_t n = grade_recv_exact(fd, got, 13, 3000);
    if (n != 13 || memcmp(got, "still there?\n", 13) != 0)
        grade_fail(ctx, "the server still echoes after the resets", "still there?\\n",
                   "a new client sends \"still there?\\n\"", "%s",
                   grade_quote(got, n, quoted, sizeof quoted));
    close(fd);
    grade_server_stop(ctx, &srv);
}

static const struct grade_test tests[] = {
    { "echo_dribble", 1, "", 10,
      "a line sent one byte at a time comes back; after a half-close, the rest and a close",
      test_echo_dribble },
    { "echo_large", 2, "", 25,
      "8 MiB from a client that reads all the while come back byte for byte", test_echo_large },
    { "memory_bounded_non_reader", 3, "core", 15,
      "a client that never reads cannot make the server's memory grow past ~16 MiB",
      test_memory_bounded_non_reader },
    { "resumes_after_drain", 2, "core", 30,
      "the server stops reading a non-reader, and reads again once it drains", test_resumes_after_drain },
    { "other_clients_served", 1, "", 20,
      "while one client is paused, another is echoed normally", test_other_clients_served },
    { "reset_mid_transfer", 1, "", 20,
      "clients that reset with echo pending: no crash, no leaked descriptor", test_reset_mid_transfer },
};

int main(int argc, char **argv)
{
    return grade_main(argc, argv, tests, sizeof tests / sizeof tests[0]);
}
