/*
 * minimal_server.c — the floor the event loop is measured against: the
 * least a readiness-driven server can do and still answer `GET /`.
 *
 * Benchmark-only: it is not part of evlab and nothing links it.  It does
 * no HTTP work at all: every "\r\n\r\n" it reads counts as one request
 * and gets the same 70-byte reply `evlab serve` sends for GET /.  It has
 * no timers, no instrumentation, no buffers per connection (a reply that
 * the socket does not take whole closes the connection; with replies this
 * small that does not happen).  What is left is the part no server can
 * avoid: one wait, one read and one write per request.
 *
 *     minimal_server epoll|poll [PORT]
 *
 * prints "listening on 127.0.0.1:PORT pid PID" and serves until killed.
 * Both backends are level-triggered, like lib/loop/backend_*.c, and like
 * lib/server/loop_connection.c a read shorter than asked means "drained
 * for now" (no second read to see EAGAIN).  The poll variant keeps its
 * pollfd array between waits and removes by swapping in the last slot,
 * as lib/loop/backend_poll.c does, so the two cost the same in the kernel.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

static const char reply[] =
    "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 6\r\n\r\nhello\n";

enum { READ_SIZE = 16384, MAX_FDS = 65536 };

/* The end of the previous read of each fd, so a "\r\n\r\n" split across
 * two reads still counts once. */
static unsigned char tail_state[MAX_FDS];

/* Counts request ends in what one fd sent; `state` is how many bytes of
 * "\r\n\r\n" the previous read ended with. */
static int count_requests(int fd, const char *data, ssize_t len)
{
    static const char end[] = "\r\n\r\n";
    unsigned state = tail_state[fd];
    int requests = 0;
    for (ssize_t i = 0; i < len; i++) {
        if (data[i] == end[state])
            state++;
        else
            state = data[i] == '\r' ? 1 : 0;
        if (state == 4) {
            requests++;
            state = 0;
        }
    }
    tail_state[fd] = (unsigned char)state;
    return requests;
}

/* One readable event: read once, answer every request in it.  Returns
 * false when the connection must be closed. */
static bool serve_readable(int fd)
{
    static char in[READ_SIZE];
    static char out[256 * (sizeof reply - 1)];
    ssize_t n = read(fd, in, sizeof in);
    if (n < 0)
        return errno == EAGAIN || errno == EINTR;
    if (n == 0)
        return false;
    int requests = count_requests(fd, in, n);
    size_t len = 0;
    for (int i = 0; i < requests; i++) {
        if (len + sizeof reply - 1 > sizeof out) {
            if (write(fd, out, len) != (ssize_t)len)
                return false;
            len = 0;
        }
        memcpy(out + len, reply, sizeof reply - 1);
        len += sizeof reply - 1;
    }
    return len == 0 || write(fd, out, len) == (ssize_t)len;
}

static int open_listener(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t addr_len = sizeof addr;
    if (bind(fd, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(fd, 4096) < 0 ||
        getsockname(fd, (struct sockaddr *)&addr, &addr_len) < 0) {
        perror("minimal_server: listen");
        exit(1);
    }
    printf("listening on 127.0.0.1:%d pid %d\n", ntohs(addr.sin_port), (int)getpid());
    fflush(stdout);
    return fd;
}

/* Accepts what is waiting; returns the new fd or -1. */
static int accept_one(int listen_fd)
{
    int fd = accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0)
        return -1;
    if (fd >= MAX_FDS) {
        close(fd);
        return -1;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    tail_state[fd] = 0;
    return fd;
}

static void run_epoll(int listen_fd)
{
    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = { .events = EPOLLIN, .data.fd = listen_fd };
    epoll_ctl(ep, EPOLL_CTL_ADD, listen_fd, &ev);
    static struct epoll_event ready[1024];
    for (;;) {
        int n = epoll_wait(ep, ready, 1024, -1);
        for (int i = 0; i < n; i++) {
            int fd = ready[i].data.fd;
            if (fd == listen_fd) {
                int client;
                while ((client = accept_one(listen_fd)) >= 0) {
                    ev = (struct epoll_event){ .events = EPOLLIN, .data.fd = client };
                    epoll_ctl(ep, EPOLL_CTL_ADD, client, &ev);
                }
            } else if (!serve_readable(fd)) {
                close(fd);      /* close drops the epoll registration */
            }
        }
    }
}

static void run_poll(int listen_fd)
{
    static struct pollfd fds[MAX_FDS];
    size_t count = 1;
    fds[0] = (struct pollfd){ .fd = listen_fd, .events = POLLIN };
    for (;;) {
        int n = poll(fds, count, -1);
        /* Walk down, so that swapping the last slot into a hole never
         * moves an unvisited slot into a visited one. */
        for (size_t i = count; i-- > 0 && n > 0;) {
            if (fds[i].revents == 0)
                continue;
            n--;
            if (fds[i].fd == listen_fd) {
                int client;
                while (count < MAX_FDS && (client = accept_one(listen_fd)) >= 0)
                    fds[count++] = (struct pollfd){ .fd = client, .events = POLLIN };
            } else if (!serve_readable(fds[i].fd)) {
                close(fds[i].fd);
                fds[i] = fds[--count];
            }
        }
    }
}

int main(int argc, char **argv)
{
    if (argc < 2 || (strcmp(argv[1], "epoll") != 0 && strcmp(argv[1], "poll") != 0)) {
        fprintf(stderr, "usage: minimal_server epoll|poll [PORT]\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    int listen_fd = open_listener(argc > 2 ? atoi(argv[2]) : 0);
    if (strcmp(argv[1], "epoll") == 0)
        run_epoll(listen_fd);
    else
        run_poll(listen_fd);
    return 0;
}
