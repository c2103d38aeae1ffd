/*
 * test_echo.c — the graded tests of exercise 01 (a robust blocking echo
 * server).
 *
 * Each test starts the student's echo_server on an ephemeral port, talks
 * to it over real loopback sockets and checks the bytes that come back
 * against the bytes sent (random, from the seed, so a lost or reordered
 * chunk is found and its offset named).  The adversarial parts are made
 * on purpose rather than hoped for:
 *   - a short write needs a send() interrupted half-way, so a test fills
 *     the server's socket buffers (the client reads slowly) and sends the
 *     server SIGUSR1 every half millisecond (the starter installs a
 *     handler without SA_RESTART, so its calls really return early);
 *   - a vanishing client sends megabytes without reading, then resets;
 *   - descriptors are counted in /proc before and after.
 * The server is iterative (one client at a time), so every test here uses
 * one client at a time.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "grade_net.h"
#include "grade_proc.h"
#include "grade_server.h"
#include "grade_test.h"

/* How a client drives one echo transfer (see echo_transfer()). */
struct transfer_plan {
    size_t read_chunk;        /* bytes per recv() */
    int read_pause_ms;        /* read nothing at first, so buffers fill up */
    int read_every_ms;        /* then one recv() at most this often (0: as fast as possible) */
    pid_t signal_pid;         /* > 0: send SIGUSR1 to this server's main thread */
    int timeout_ms;           /* the whole transfer must finish within this */
};

/* What came of it. */
struct transfer_result {
    size_t sent;
    size_t received;
    bool closed;              /* the server closed or reset the connection */
    long signals;             /* SIGUSR1 sent during the transfer */
};

/* Sends SIGUSR1 to the server's main thread (its tid is its pid), which is
 * the thread blocked in recv()/send(): a process-directed kill() could be
 * taken by another thread and interrupt nothing. */
static void interrupt_main_thread(pid_t pid)
{
    syscall(SYS_tgkill, (int)pid, (int)pid, SIGUSR1);
}

/*
 * Sends `len` bytes and reads the echo into `out`, both at once on one
 * non-blocking socket (a blocking client that first sends everything
 * would deadlock against any echo server once the buffers are full).
 * Reads are slowed down as the plan says, so the server's send() blocks
 * and comes back short.
 */
static void echo_transfer(int fd, const unsigned char *data, size_t len, unsigned char *out,
                          const struct transfer_plan *plan, struct transfer_result *res)
{
    memset(res, 0, sizeof *res);
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    uint64_t start = grade_now_ms();
    uint64_t next_read = start + (uint64_t)plan->read_pause_ms;
    uint64_t last_signal = 0;
    while (res->received < len && !res->closed) {
        uint64_t now = grade_now_ms();
        if (now - start > (uint64_t)plan->timeout_ms)
            break;
        struct pollfd p = { .fd = fd, .events = 0 };
        if (res->sent < len)
            p.events |= POLLOUT;
        if (now >= next_read)
            p.events |= POLLIN;
        poll(&p, 1, 1);
        /* At most one signal per millisecond: enough to interrupt most
         * calls, not so many that the server does nothing else. */
        if (plan->signal_pid > 0 && now != last_signal) {
            last_signal = now;
            interrupt_main_thread(plan->signal_pid);
            res->signals++;
        }
        if ((p.revents & POLLOUT) && res->sent < len) {
            size_t want = len - res->sent < 65536 ? len - res->sent : 65536;
            ssize_t n = send(fd, data + res->sent, want, MSG_NOSIGNAL);
            if (n > 0)
                res->sent += (size_t)n;
            else if (n < 0 && errno != EAGAIN && errno != EINTR)
                res->closed = true;
        }
        if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
            size_t want = len - res->received < plan->read_chunk ? len - res->received
                                                                 : plan->read_chunk;
            ssize_t n = recv(fd, out + res->received, want, 0);
            if (n > 0) {
                /* A wrong byte ends the transfer at once: waiting for the
                 * rest would only run into the time limit. */
                bool wrong = memcmp(out + res->received, data + res->received, (size_t)n) != 0;
                res->received += (size_t)n;
                if (wrong)
                    break;
            }
            else if (n == 0 || (errno != EAGAIN && errno != EINTR))
                res->closed = true;
            next_read = grade_now_ms() + (uint64_t)plan->read_every_ms;
        }
    }
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
}

/* The offset of the first byte that differs, or len when none does. */
static size_t first_difference(const unsigned char *a, const unsigned char *b, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (a[i] != b[i])
            return i;
    return len;
}

/* Fails unless `got` (received bytes) is exactly `want` (wanted bytes). */
static void check_echo(struct grade_ctx *ctx, const char *checked, const char *input,
                       const unsigned char *want, size_t want_len,
                       const unsigned char *got, size_t got_len, bool closed)
{
    size_t same = first_difference(want, got, got_len < want_len ? got_len : want_len);
    if (same < got_len && same < want_len) {
        char w[64], g[64];
        grade_quote(want + same, want_len - same < 16 ? want_len - same : 16, w, sizeof w);
        grade_quote(got + same, got_len - same < 16 ? got_len - same : 16, g, sizeof g);
        grade_fail(ctx, checked, "every byte echoed back, in order", input,
                   "byte %zu of %zu differs: expected %s, got %s (bytes lost, "
                   "repeated or reordered; a short write whose rest was not sent?)",
                   same, want_len, w, g);
    }
    if (got_len < want_len)
        grade_fail(ctx, checked, "every byte echoed back, in order", input,
                   "only %zu of %zu bytes came back%s", got_len, want_len,
                   closed ? ", then the server closed the connection"
                          : " before the time limit (the rest never arrived)");
}

static void start_server(struct grade_ctx *ctx, struct grade_server *srv)
{
    grade_server_start(ctx, srv, NULL);
}

/* True when the server has closed (or reset) the connection: the next
 * recv() would return 0 or an error at once. */
static bool peer_closed(int fd)
{
    struct pollfd p = { .fd = fd, .events = POLLIN };
    if (poll(&p, 1, 0) <= 0)
        return false;
    char byte;
    ssize_t n = recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    return n == 0 || (n < 0 && errno != EAGAIN);
}

/* --- the tests ------------------------------------------------------- */

static void test_echo_one_line(struct grade_ctx *ctx)
{
    struct grade_server srv;
    start_server(ctx, &srv);
    int fd = grade_connect(ctx, srv.port);
    const char line[] = "hello, echo\n";
    grade_send_all(ctx, fd, line, strlen(line));
    char got[64];
    size_t n = grade_recv_exact(fd, got, strlen(line), 2000);
    check_echo(ctx, "one short line comes back unchanged", "\"hello, echo\\n\" sent at once",
               (const unsigned char *)line, strlen(line), (unsigned char *)got, n,
               peer_closed(fd));
    close(fd);
    grade_server_stop(ctx, &srv);
}

static void test_echo_dribble(struct grade_ctx *ctx)
{
    struct grade_server srv;
    start_server(ctx, &srv);
    int fd = grade_connect(ctx, srv.port);
    /* One byte at a time, each awaited before the next is sent: a server
     * that waits for a full buffer or a whole line before echoing stalls. */
    for (int i = 0; i < 40; i++) {
        unsigned char byte = (unsigned char)('a' + grade_rand_below(ctx, 26));
        grade_send_all(ctx, fd, &byte, 1);
        unsigned char got = 0;
        if (grade_recv_exact(fd, &got, 1, 2000) != 1 || got != byte) {
            char input[96];
            snprintf(input, sizeof input, "40 single bytes, each sent after the previous came "
                     "back; this was byte %d ('%c')", i, byte);
            grade_fail(ctx, "a single byte is echoed as soon as it arrives",
                       "the same byte back within 2 s", input,
                       "%s", got ? "a different byte" : "nothing within 2 s (does the server "
                       "wait for more data, or a newline, before it echoes?)");
        }
    }
    close(fd);
    grade_server_stop(ctx, &srv);
}

static void test_eof_closes(struct grade_ctx *ctx)
{
    struct grade_server srv;
    start_server(ctx, &srv);
    int fd = grade_connect(ctx, srv.port);
    size_t len = 20000;
    unsigned char *data = malloc(len), *got = malloc(len + 1);
    grade_rand_bytes(ctx, data, len);
    grade_send_all(ctx, fd, data, len);
    shutdown(fd, SHUT_WR);   /* "I am done sending": the server sees EOF */
    bool closed = false;
    size_t n = grade_recv_until_close(fd, got, len + 1, 3000, &closed);
    const char *input = "20,000 random bytes, then the client shut down its sending side";
    check_echo(ctx, "everything sent before EOF comes back", input, data, len, got, n, closed);
    if (n > len)
        grade_fail(ctx, "nothing but the echo comes back", "exactly 20000 bytes", input,
                   "%zu bytes", n);
    if (!closed)
        grade_fail(ctx, "the server closes the connection after the client's EOF",
                   "the connection closed within 3 s of the EOF", input,
                   "it stayed open (recv() returning 0 means the client is done: close the socket)");
    close(fd);
    free(data);
    free(got);
    grade_server_stop(ctx, &srv);
}

/* One big transfer with the plan given; fails on any difference. */
static void run_big_echo(struct grade_ctx *ctx, struct grade_server *srv, size_t len,
                         const struct transfer_plan *plan, const char *checked, const char *input)
{
    int fd = grade_connect_rcvbuf(ctx, srv->port, 16 * 1024);
    unsigned char *data = malloc(len), *got = malloc(len);
    grade_rand_bytes(ctx, data, len);
    struct transfer_result res;
    echo_transfer(fd, data, len, got, plan, &res);
    grade_note(ctx, "sent %zu, received %zu bytes, %ld signals", res.sent, res.received,
               res.signals);
    grade_server_check_alive(ctx, srv, "during a large echo");
    check_echo(ctx, checked, input, data, len, got, res.received, res.closed);
    close(fd);
    free(data);
    free(got);
}

static void test_large_slow_reader(struct grade_ctx *ctx)
{
    struct grade_server srv;
    start_server(ctx, &srv);
    struct transfer_plan plan = { .read_chunk = 32 * 1024, .read_pause_ms = 300,
                                  .read_every_ms = 1, .timeout_ms = 8000 };
    run_big_echo(ctx, &srv, 8u << 20, &plan, "8 MiB come back intact to a client that reads slowly",
                 "8 MiB of random bytes; the client reads nothing for 300 ms, then 32 KiB "
                 "per millisecond (its receive buffer is 16 KiB)");
    grade_server_stop(ctx, &srv);
}

static void test_eintr_storm(struct grade_ctx *ctx)
{
    struct grade_server srv;
    start_server(ctx, &srv);
    struct transfer_plan plan = { .read_chunk = 16 * 1024, .read_pause_ms = 200,
                                  .read_every_ms = 1, .signal_pid = srv.pid,
                                  .timeout_ms = 8000 };
    run_big_echo(ctx, &srv, 6u << 20,
                 &plan, "6 MiB come back intact while signals interrupt the server's calls",
                 "6 MiB of random bytes while the server's thread gets SIGUSR1 about every "
                 "millisecond (recv/send return EINTR or a short count)");
    grade_server_stop(ctx, &srv);
}

static void test_client_vanishes(struct grade_ctx *ctx)
{
    struct grade_server srv;
    start_server(ctx, &srv);
    int baseline = grade_proc_open_fds(srv.pid);

    /* The vanishing client: pushes data without ever reading the echo, so
     * the server ends up blocked in send(); then it resets. */
    int fd = grade_connect_rcvbuf(ctx, srv.port, 4096);
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    static unsigned char junk[65536];
    grade_rand_bytes(ctx, junk, sizeof junk);
    size_t pushed = 0;
    uint64_t end = grade_now_ms() + 600;
    while (grade_now_ms() < end && pushed < (64u << 20)) {
        ssize_t n = send(fd, junk, sizeof junk, MSG_NOSIGNAL);
        if (n > 0)
            pushed += (size_t)n;
        else
            grade_sleep_ms(5);
    }
    grade_note(ctx, "the vanishing client sent %zu bytes without reading, then reset", pushed);
    grade_close_with_reset(fd);
    grade_sleep_ms(100);
    grade_server_check_alive(ctx, &srv, "after a client reset the connection mid-transfer "
                             "(SIGPIPE? use MSG_NOSIGNAL)");

    /* The next client must be served normally. */
    int next = grade_connect(ctx, srv.port);
    const char line[] = "still there?\n";
    grade_send_all(ctx, next, line, strlen(line));
    char got[64];
    size_t n = grade_recv_exact(next, got, strlen(line), 3000);
    check_echo(ctx, "the next client is served after one vanished mid-transfer",
               "a client sent MiBs without reading, reset; then a new client sent "
               "\"still there?\\n\"",
               (const unsigned char *)line, strlen(line), (unsigned char *)got, n,
               peer_closed(next));
    close(next);
    int fds = grade_proc_wait_open_fds(srv.pid, baseline, 2000);
    if (fds > baseline)
        grade_fail(ctx, "no descriptor is left open after the clients left",
                   "the descriptor count of before the clients", "one vanished client, one normal",
                   "%d open descriptors, %d before", fds, baseline);
    grade_server_stop(ctx, &srv);
}

static void test_clients_in_turn(struct grade_ctx *ctx)
{
    struct grade_server srv;
    start_server(ctx, &srv);
    int baseline = grade_proc_open_fds(srv.pid);
    for (int i = 0; i < 50; i++) {
        int fd = grade_connect(ctx, srv.port);
        char line[64];
        int len = snprintf(line, sizeof line, "client %d of 50: %llu\n", i + 1,
                           (unsigned long long)grade_rand(ctx));
        grade_send_all(ctx, fd, line, (size_t)len);
        char got[64];
        size_t n = grade_recv_exact(fd, got, (size_t)len, 2000);
        char input[96];
        snprintf(input, sizeof input, "client %d of 50 (one after another) sent one line", i + 1);
        check_echo(ctx, "each of 50 clients in turn is echoed", input,
                   (const unsigned char *)line, (size_t)len, (unsigned char *)got, n,
               peer_closed(fd));
        /* Half close politely, half reset: both must end the connection. */
        if (i % 2)
            grade_close_with_reset(fd);
        else
            close(fd);
    }
    int fds = grade_proc_wait_open_fds(srv.pid, baseline, 2000);
    if (fds > baseline)
        grade_fail(ctx, "every client's descriptor is closed when it leaves",
                   "the descriptor count of before the clients",
                   "50 clients one after another, half closing, half resetting",
                   "%d open descriptors, %d before: %d leaked", fds, baseline, fds - baseline);
    grade_server_stop(ctx, &srv);
}

static const struct grade_test tests[] = {
    { "echo_one_line", 1, "core", 10, "one short line is echoed back", test_echo_one_line },
    { "echo_dribble", 1, "core", 15,
      "single bytes are echoed one by one, as soon as each arrives", test_echo_dribble },
    { "eof_closes", 2, "core", 10,
      "after the client's EOF, everything is echoed and the server closes", test_eof_closes },
    { "large_slow_reader", 2, "core", 20,
      "8 MiB are echoed intact to a client that reads slowly", test_large_slow_reader },
    { "eintr_storm", 2, "core", 20,
      "a 6 MiB echo survives signals (EINTR and short writes)", test_eintr_storm },
    { "client_vanishes", 1, "core", 15,
      "a client that resets mid-transfer does not kill the server or leak its socket",
      test_client_vanishes },
    { "clients_in_turn", 1, "core", 15,
      "50 clients one after another are all echoed and leave no descriptor open",
      test_clients_in_turn },
};

int main(int argc, char **argv)
{
    return grade_main(argc, argv, tests, sizeof tests / sizeof tests[0]);
}
