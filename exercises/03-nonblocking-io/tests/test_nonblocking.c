/*
 * test_nonblocking.c — the graded tests of exercise 03 (non-blocking reads
 * and writes, a per-connection state machine, replies larger than the
 * socket buffer).
 *
 * The protocol: a line `N\n` asks for N bytes of the pattern
 * "abcdefghijklmnopqrstuvwxyzabc..." followed by '\n'.  Replies are
 * checked byte by byte as they stream in (never stored whole), so a 32 MiB
 * reply costs the test no memory and a lost chunk is found at its offset.
 *
 * What makes the tests adversarial:
 *   - a client with an 8 KiB receive buffer asks for 32 MiB and reads
 *     nothing: a server that blocks in send() (or loops on EAGAIN) stalls
 *     every other client, which the test then measures;
 *   - requests arrive pipelined in one write, or one byte at a time;
 *   - a client resets in the middle of a huge reply;
 *   - /proc tells whether the sockets are O_NONBLOCK, whether the idle
 *     server waits in poll/epoll with one thread, and whether it burns
 *     CPU while idle (the busy-wait check, flagged `timing`).
 */
#include <errno.h>
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

/* Byte i of the reply to `N`: the pattern, then '\n' at i == N. */
static char expected_byte(uint64_t n, uint64_t i)
{
    return i == n ? '\n' : (char)('a' + i % 26);
}

/*
 * Reads the reply to `N` (N + 1 bytes) and checks every byte.  Reads at
 * most `limit` bytes when limit > 0 (then returns early).  Fails the test
 * on a wrong byte, an early close or the deadline; `input` says what was
 * asked, for the message.
 */
static void read_reply(struct grade_ctx *ctx, int fd, uint64_t n, uint64_t limit,
                       int timeout_ms, const char *checked, const char *input)
{
    static char buf[64 * 1024];
    uint64_t want = limit > 0 && limit < n + 1 ? limit : n + 1;
    uint64_t got = 0;
    uint64_t deadline = grade_now_ms() + (uint64_t)timeout_ms;
    while (got < want) {
        uint64_t now = grade_now_ms();
        struct pollfd p = { .fd = fd, .events = POLLIN };
        if (now >= deadline || poll(&p, 1, (int)(deadline - now)) <= 0)
            grade_fail(ctx, checked, "the whole reply within the time limit", input,
                       "%llu of %llu bytes after %d ms, then nothing more arrived",
                       (unsigned long long)got, (unsigned long long)(n + 1), timeout_ms);
        size_t room = want - got < sizeof buf ? (size_t)(want - got) : sizeof buf;
        ssize_t r = recv(fd, buf, room, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            grade_fail(ctx, checked, "the whole reply, then the connection stays open", input,
                       "the server %s after %llu of %llu bytes",
                       r == 0 ? "closed the connection" : "reset the connection",
                       (unsigned long long)got, (unsigned long long)(n + 1));
        for (ssize_t k = 0; k < r; k++) {
            char want_byte = expected_byte(n, got + (uint64_t)k);
            if (buf[k] != want_byte) {
                char g[64];
                grade_quote(buf + k, r - k < 12 ? (size_t)(r - k) : 12, g, sizeof g);
                grade_fail(ctx, checked, "the pattern abc...z repeated, then '\\n'", input,
                           "byte %llu of %llu should be '%c' but the bytes from there are %s "
                           "(a chunk lost or sent twice? the cursor must move by what send() "
                           "returned)",
                           (unsigned long long)(got + (uint64_t)k),
                           (unsigned long long)(n + 1), want_byte, g);
            }
        }
        got += (uint64_t)r;
    }
}

static void send_request(struct grade_ctx *ctx, int fd, uint64_t n)
{
    char line[32];
    int len = snprintf(line, sizeof line, "%llu\n", (unsigned long long)n);
    grade_send_all(ctx, fd, line, (size_t)len);
}

/* Asks for N bytes and checks the reply arrives within timeout_ms. */
static void request(struct grade_ctx *ctx, int fd, uint64_t n, int timeout_ms,
                    const char *checked, const char *input)
{
    send_request(ctx, fd, n);
    read_reply(ctx, fd, n, 0, timeout_ms, checked, input);
}

static void start_server(struct grade_ctx *ctx, struct grade_server *srv)
{
    grade_server_start(ctx, srv, NULL);
}

/* Three clients connected and served once, left open; one with half a
 * request pending.  For the structural tests. */
static void three_idle_clients(struct grade_ctx *ctx, struct grade_server *srv, int fds[3])
{
    for (int i = 0; i < 3; i++) {
        fds[i] = grade_connect(ctx, srv->port);
        request(ctx, fds[i], 10, 2000, "three clients are served",
                "3 clients each asked for 10 bytes");
    }
    grade_send_all(ctx, fds[2], "1", 1);   /* half a request: the server must wait for it */
}

/* After an idle phase, each client is still served (the rest of the half
 * request completes client 3's "12"). */
static void three_clients_still_served(struct grade_ctx *ctx, int fds[3], const char *input)
{
    request(ctx, fds[0], 5, 2000, "clients are still served after idling", input);
    request(ctx, fds[1], 5, 2000, "clients are still served after idling", input);
    grade_send_all(ctx, fds[2], "2\n", 2);
    read_reply(ctx, fds[2], 12, 0, 2000, "a request split across an idle pause is answered",
               input);
}

/* --- the tests ------------------------------------------------------- */

static void test_small_request(struct grade_ctx *ctx)
{
    struct grade_server srv;
    start_server(ctx, &srv);
    int fd = grade_connect(ctx, srv.port);
    request(ctx, fd, 5, 2000, "a small request is answered", "\"5\\n\" (expect \"abcde\\n\")");
    request(ctx, fd, 0, 2000, "a request for 0 bytes is answered", "\"0\\n\" (expect \"\\n\")");
    request(ctx, fd, 30, 2000, "the pattern wraps after z", "\"30\\n\"");
    close(fd);
    grade_server_stop(ctx, &srv);
}

static void test_pipelined_and_dribbled(struct grade_ctx *ctx)
{
    struct grade_server srv;
    start_server(ctx, &srv);
    /* The dribbler starts a request and pauses mid-line. */
    int dribbler = grade_connect(ctx, srv.port);
    grade_send_dribble(ctx, dribbler, "12", 2, 1, 50);

    /* Meanwhile, four pipelined requests in one write, answered in order. */
    int fd = grade_connect(ctx, srv.port);
    const char pipelined[] = "3\n10\n0\n27\n";
    grade_send_all(ctx, fd, pipelined, strlen(pipelined));
    const uint64_t sizes[] = { 3, 10, 0, 27 };
    for (int i = 0; i < 4; i++)
        read_reply(ctx, fd, sizes[i], 0, 2000,
                   "pipelined requests are all answered, in order, while another client "
                   "is mid-request",
                   "\"3\\n10\\n0\\n27\\n\" in one write; another client had sent \"12\" "
                   "without its newline");

    /* The dribbler finishes one byte at a time. */
    grade_send_dribble(ctx, dribbler, "3\n", 2, 1, 50);
    read_reply(ctx, dribbler, 123, 0, 2000, "a request sent one byte at a time is answered",
               "\"123\\n\" sent one byte every 50 ms");
    close(fd);
    close(dribbler);
    grade_server_stop(ctx, &srv);
}

static void test_big_reply_slow_reader(struct grade_ctx *ctx)
{
    struct grade_server srv;
    start_server(ctx, &srv);
    int fd = grade_connect_rcvbuf(ctx, srv.port, 8192);
    uint64_t n = 16u << 20;
    send_request(ctx, fd, n);
    grade_sleep_ms(300);   /* read nothing: the server hits EAGAIN and must wait */
    read_reply(ctx, fd, n, 0, 10000, "a 16 MiB reply arrives whole to a slow reader",
               "\"16777216\\n\" from a client with an 8 KiB receive buffer that first "
               "reads nothing for 300 ms");
    request(ctx, fd, 5, 2000, "the connection takes requests again after a huge reply",
            "\"5\\n\" after the 16 MiB reply on the same connection");
    close(fd);
    grade_server_check_alive(ctx, &srv, "after a 16 MiB reply");
    grade_server_stop(ctx, &srv);
}

static void test_slow_reader_does_not_stall_others(struct grade_ctx *ctx)
{
    struct grade_server srv;
    start_server(ctx, &srv);
    int slow = grade_connect_rcvbuf(ctx, srv.port, 8192);
    uint64_t n = 32u << 20;
    send_request(ctx, slow, n);
    grade_sleep_ms(200);   /* by now the server is stuck on this client if it blocks */

    for (int round = 0; round < 3; round++) {
        int other = grade_connect(ctx, srv.port);
        char input[160];
        snprintf(input, sizeof input, "a client asked for 32 MiB and reads nothing; meanwhile "
                 "client %d asks for 100 bytes", round + 1);
        request(ctx, other, 100, 2000, "a client is served while another one's huge reply "
                "is stuck (the server must not block in send)", input);
        close(other);
    }
    read_reply(ctx, slow, n, 0, 10000, "the slow reader still gets its whole 32 MiB reply",
               "\"33554432\\n\", read only after three other clients were served");
    close(slow);
    grade_server_stop(ctx, &srv);
}

static void test_reset_mid_reply(struct grade_ctx *ctx)
{
    struct grade_server srv;
    start_server(ctx, &srv);
    grade_sleep_ms(50);
    int baseline = grade_proc_open_fds(srv.pid);
    for (int i = 0; i < 3; i++) {
        int fd = grade_connect_rcvbuf(ctx, srv.port, 8192);
        send_request(ctx, fd, 32u << 20);
        read_reply(ctx, fd, 32u << 20, 100000, 3000, "a huge reply starts",
                   "\"33554432\\n\" (the client reads 100,000 bytes, then resets)");
        grade_close_with_reset(fd);
    }
    grade_sleep_ms(100);
    grade_server_check_alive(ctx, &srv, "after clients reset mid-reply (SIGPIPE? see net.h)");
    int fd = grade_connect(ctx, srv.port);
    request(ctx, fd, 1000, 2000, "a new client is served after three resets mid-reply",
            "\"1000\\n\" after three clients reset in the middle of a 32 MiB reply");
    close(fd);
    int fds = grade_proc_wait_open_fds(srv.pid, baseline, 2000);
    if (fds > baseline)
        grade_fail(ctx, "a connection reset mid-reply is closed by the server",
                   "the descriptor count of before the clients",
                   "three clients reset in the middle of a 32 MiB reply, one more was served",
                   "%d descriptors open, %d before", fds, baseline);
    grade_server_stop(ctx, &srv);
}

static void test_sockets_nonblocking(struct grade_ctx *ctx)
{
    struct grade_server srv;
    start_server(ctx, &srv);
    int fds[3];
    three_idle_clients(ctx, &srv, fds);
    int sockets = 0, nonblocking = 0;
    grade_proc_socket_flags(srv.pid, &sockets, &nonblocking);
    if (sockets < 4)
        grade_fail(ctx, "the server keeps its clients' sockets open",
                   "4 sockets or more (the listener and 3 clients)",
                   "3 clients connected and served once, still connected",
                   "%d sockets", sockets);
    if (nonblocking != sockets)
        grade_fail(ctx, "every socket of the server is non-blocking (O_NONBLOCK in "
                   "/proc/PID/fdinfo)", "all of them",
                   "the listener and 3 connected clients",
                   "%d of %d sockets are blocking (use net_listen(..., true) and "
                   "net_accept(fd, true), or fcntl O_NONBLOCK)", sockets - nonblocking, sockets);
    three_clients_still_served(ctx, fds, "3 clients, after the descriptor check");
    grade_server_stop(ctx, &srv);
}

static bool is_readiness_wait(const char *call)
{
    static const char *const waits[] = { "poll", "ppoll", "epoll_wait", "epoll_pwait",
                                         "epoll_pwait2", "select", "pselect6", NULL };
    for (int i = 0; waits[i] != NULL; i++)
        if (strcmp(call, waits[i]) == 0)
            return true;
    return false;
}

static void test_waits_in_poll(struct grade_ctx *ctx)
{
    struct grade_server srv;
    start_server(ctx, &srv);
    /* Connected but silent clients first: where does the server wait now?
     * (Checked before anything is asked, so a server that blocks in
     * accept() is named as such.) */
    int silent[3];
    for (int i = 0; i < 3; i++)
        silent[i] = grade_connect(ctx, srv.port);
    /* Sample a few times: one sample could catch the loop between calls. */
    const char *call = "running";
    for (int i = 0; i < 10 && !is_readiness_wait(call); i++) {
        grade_sleep_ms(50);
        call = grade_proc_wait_call(srv.pid);
    }
    if (!is_readiness_wait(call))
        grade_fail(ctx, "the idle server waits in poll() or epoll_wait() (/proc/PID/syscall)",
                   "poll, ppoll or epoll_wait", "3 clients connected, none has sent anything",
                   "its main thread is in %s%s", call,
                   strcmp(call, "accept") == 0 || strcmp(call, "accept4") == 0
                       ? " (a blocking accept: nobody else is served while it waits)"
                       : strcmp(call, "read") == 0 || strcmp(call, "recvfrom") == 0
                             ? " (a blocking read on one client)" : "");
    int threads = grade_proc_threads(srv.pid);
    if (threads != 1)
        grade_fail(ctx, "the server runs on one thread", "1 thread",
                   "3 idle clients connected", "%d threads", threads);
    for (int i = 0; i < 3; i++)
        close(silent[i]);
    int fds[3];
    three_idle_clients(ctx, &srv, fds);
    three_clients_still_served(ctx, fds, "3 clients, after the wait check");
    grade_server_stop(ctx, &srv);
}

static void test_idle_cpu(struct grade_ctx *ctx)
{
    struct grade_server srv;
    start_server(ctx, &srv);
    int fds[3];
    three_idle_clients(ctx, &srv, fds);
    grade_sleep_ms(200);
    uint64_t before = grade_proc_cpu_ns(srv.pid);
    grade_sleep_ms(1500);
    uint64_t used_ms = (grade_proc_cpu_ns(srv.pid) - before) / 1000000;
    if (used_ms > 150)
        grade_fail(ctx, "an idle server uses (almost) no CPU", "under 150 ms of CPU in 1.5 s",
                   "3 connected clients, all idle for 1.5 s (one mid-request)",
                   "%llu ms of CPU: the loop spins (watching LOOP_WRITABLE with nothing "
                   "to write? a zero timeout?)", (unsigned long long)used_ms);
    three_clients_still_served(ctx, fds, "3 clients, after 1.5 s idle");
    grade_server_stop(ctx, &srv);
}

static const struct grade_test tests[] = {
    { "small_request", 1, "core", 10, "\"5\\n\" gets \"abcde\\n\"; 0 and 30 work too",
      test_small_request },
    { "pipelined_and_dribbled", 1, "core", 10,
      "pipelined requests are answered in order; a request dribbled byte by byte is too",
      test_pipelined_and_dribbled },
    { "big_reply_slow_reader", 2, "core", 20,
      "a 16 MiB reply arrives intact to a client with a tiny receive buffer",
      test_big_reply_slow_reader },
    { "slow_reader_does_not_stall_others", 2, "core", 20,
      "while one client's 32 MiB reply is stuck, other clients are served",
      test_slow_reader_does_not_stall_others },
    { "reset_mid_reply", 1, "core", 15,
      "clients that reset mid-reply are closed; the server keeps serving",
      test_reset_mid_reply },
    { "sockets_nonblocking", 1, "core", 10,
      "every socket is O_NONBLOCK (checked in /proc)", test_sockets_nonblocking },
    { "waits_in_poll", 1, "core", 10,
      "the idle server waits in poll/epoll, on one thread (checked in /proc)",
      test_waits_in_poll },
    { "idle_cpu", 1, "core,timing", 10,
      "an idle server with connected clients does not spin (CPU time from /proc)",
      test_idle_cpu },
};

int main(int argc, char **argv)
{
    return grade_main(argc, argv, tests, sizeof tests / sizeof tests[0]);
}
