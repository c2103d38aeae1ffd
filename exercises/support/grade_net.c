/*
 * grade_net.c — bounded client-side socket calls for graded tests.
 *
 * Sockets stay blocking (the tests read like a client would be written)
 * and every wait goes through poll() with the time left until a deadline,
 * so a server that never answers costs a test its points within its
 * limit instead of hanging it.  SIGPIPE is avoided per call with
 * MSG_NOSIGNAL: a server that closes early must fail a check, not kill
 * the test process.
 */
#include "grade_net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* How long a send may make no progress before we say the server stopped reading. */
#define GRADE_SEND_STALL_MS 10000

/* Connects to 127.0.0.1:port; rcvbuf > 0 sets SO_RCVBUF first. */
static int connect_with(int port, int rcvbuf)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    if (rcvbuf > 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    while (connect(fd, (struct sockaddr *)&sin, sizeof sin) < 0) {
        if (errno == EINTR)
            continue;
        int e = errno;
        close(fd);
        return -e;
    }
    return fd;
}

int grade_try_connect(int port)
{
    return connect_with(port, 0);
}

/* Fails the test when a connect did not succeed. */
static int connected_or_fail(struct grade_ctx *ctx, int port, int fd)
{
    if (fd < 0) {
        char what[64];
        snprintf(what, sizeof what, "connect to 127.0.0.1:%d", port);
        grade_fail(ctx, "a client can connect to your server", "the connection is accepted",
                   what, "connect failed: %s", strerror(-fd));
    }
    return fd;
}

int grade_connect(struct grade_ctx *ctx, int port)
{
    return connected_or_fail(ctx, port, connect_with(port, 0));
}

int grade_connect_rcvbuf(struct grade_ctx *ctx, int port, int rcvbuf_bytes)
{
    return connected_or_fail(ctx, port, connect_with(port, rcvbuf_bytes));
}

/* Waits until fd is ready for `events` or the deadline passes; returns
 * true when ready. */
static bool wait_ready(int fd, short events, uint64_t deadline_ms)
{
    for (;;) {
        uint64_t now = grade_now_ms();
        if (now >= deadline_ms)
            return false;
        struct pollfd p = { .fd = fd, .events = events };
        int n = poll(&p, 1, (int)(deadline_ms - now));
        if (n > 0)
            return true;
        if (n < 0 && errno != EINTR)
            return false;
    }
}

/* Sends len bytes, failing the test on a stall or a broken connection;
 * `how` names the sending style in the message. */
static void send_bytes(struct grade_ctx *ctx, int fd, const char *p, size_t len,
                       size_t total, size_t already, const char *how)
{
    size_t sent = 0;
    while (sent < len) {
        if (!wait_ready(fd, POLLOUT, grade_now_ms() + GRADE_SEND_STALL_MS)) {
            grade_fail(ctx, "your server keeps reading what a client sends",
                       "the server reads the request", how,
                       "sent %zu of %zu bytes, then the server read nothing for %d s",
                       already + sent, total, GRADE_SEND_STALL_MS / 1000);
        }
        ssize_t n = send(fd, p + sent, len - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            sent += (size_t)n;
        } else if (n < 0 && errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK) {
            grade_fail(ctx, "your server keeps the connection open while a client sends",
                       "the connection stays open", how,
                       "sent %zu of %zu bytes, then sending failed: %s (the server closed or reset the connection)",
                       already + sent, total, strerror(errno));
        }
    }
}

void grade_send_all(struct grade_ctx *ctx, int fd, const void *buf, size_t len)
{
    char how[64];
    snprintf(how, sizeof how, "%zu bytes sent at once", len);
    send_bytes(ctx, fd, buf, len, len, 0, how);
}

void grade_send_dribble(struct grade_ctx *ctx, int fd, const void *buf, size_t len,
                        size_t chunk, int delay_ms)
{
    char how[96];
    snprintf(how, sizeof how, "%zu bytes sent %zu at a time, %d ms apart", len, chunk, delay_ms);
    if (chunk == 0)
        chunk = 1;
    /* TCP_NODELAY so each piece really leaves as its own segment. */
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    const char *p = buf;
    for (size_t off = 0; off < len; off += chunk) {
        size_t piece = len - off < chunk ? len - off : chunk;
        send_bytes(ctx, fd, p + off, piece, len, off, how);
        if (off + piece < len && delay_ms > 0)
            grade_sleep_ms(delay_ms);
    }
}

size_t grade_recv_exact(int fd, void *buf, size_t len, int timeout_ms)
{
    uint64_t deadline = grade_now_ms() + (uint64_t)timeout_ms;
    size_t got = 0;
    while (got < len) {
        if (!wait_ready(fd, POLLIN, deadline))
            break;
        ssize_t n = recv(fd, (char *)buf + got, len - got, MSG_DONTWAIT);
        if (n > 0)
            got += (size_t)n;
        else if (n == 0)
            break;
        else if (errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK)
            break;
    }
    return got;
}

size_t grade_recv_until_close(int fd, void *buf, size_t cap, int timeout_ms, bool *closed)
{
    uint64_t deadline = grade_now_ms() + (uint64_t)timeout_ms;
    size_t got = 0;
    char sink[4096];
    *closed = false;
    for (;;) {
        if (!wait_ready(fd, POLLIN, deadline))
            break;
        /* Past the caller's buffer we keep reading (and counting nothing)
         * so that the close can still be seen. */
        char *into = got < cap ? (char *)buf + got : sink;
        size_t room = got < cap ? cap - got : sizeof sink;
        ssize_t n = recv(fd, into, room, MSG_DONTWAIT);
        if (n > 0) {
            if (got < cap)
                got += (size_t)n;
        } else if (n == 0 || (errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK)) {
            *closed = true;
            break;
        }
    }
    return got;
}

size_t grade_recv_line(int fd, char *buf, size_t cap, int timeout_ms)
{
    uint64_t deadline = grade_now_ms() + (uint64_t)timeout_ms;
    size_t got = 0;
    if (cap == 0)
        return 0;
    while (got + 1 < cap) {
        if (!wait_ready(fd, POLLIN, deadline))
            break;
        ssize_t n = recv(fd, buf + got, 1, MSG_DONTWAIT);
        if (n == 1) {
            if (buf[got++] == '\n')
                break;
        } else if (n == 0 || (errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK)) {
            break;
        }
    }
    buf[got] = '\0';
    return got > 0 && buf[got - 1] == '\n' ? got : 0;
}

void grade_expect_line(struct grade_ctx *ctx, int fd, const char *want, int timeout_ms,
                       const char *input)
{
    char line[4096];
    size_t n = grade_recv_line(fd, line, sizeof line, timeout_ms);
    if (n == strlen(want) && memcmp(line, want, n) == 0)
        return;
    char q_want[600], q_got[600];
    grade_quote(want, strlen(want), q_want, sizeof q_want);
    if (n == 0 && line[0] == '\0')
        grade_fail(ctx, "the server answers with the expected line", q_want, input,
                   "no complete line within %d ms", timeout_ms);
    grade_fail(ctx, "the server answers with the expected line", q_want, input, "%s",
               grade_quote(line, strlen(line), q_got, sizeof q_got));
}

void grade_close_with_reset(int fd)
{
    struct linger lg = { .l_onoff = 1, .l_linger = 0 };
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    close(fd);
}

void grade_set_rcvbuf(int fd, int bytes)
{
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof bytes);
}

void grade_set_sndbuf(int fd, int bytes)
{
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &bytes, sizeof bytes);
}
