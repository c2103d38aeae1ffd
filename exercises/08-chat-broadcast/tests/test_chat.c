/*
 * test_chat.c — the graded tests of exercise 08 (broadcast chat).
 *
 * Every client first waits for its "WELCOME\n": after that the server
 * has surely registered it, so no test depends on how fast accept runs.
 * The slow-reader tests connect a client with a tiny receive buffer that
 * never reads, and then one client talks (8 MiB of numbered lines) while
 * another listens; talker and listener are driven from one poll() loop so
 * neither can block the test.  The policy under test is the one the
 * README states: a client whose outbox passes 256 KiB is disconnected,
 * everyone else receives every line, in order.
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

#define LINE_LEN    1000            /* bytes per numbered line, '\n' included */
#define FLOOD_LINES 8000            /* 8 MB: more than any kernel buffers */

static int join(struct grade_ctx *ctx, int port)
{
    int fd = grade_connect(ctx, port);
    char line[64], quoted[128];
    size_t n = grade_recv_line(fd, line, sizeof line, 3000);
    if (n != 8 || memcmp(line, "WELCOME\n", 8) != 0)
        grade_fail(ctx, "the greeting a new client gets", "WELCOME\\n", "connect",
                   "%s", n == 0 ? "nothing within 3 s" : grade_quote(line, n, quoted, sizeof quoted));
    return fd;
}

/* TODO move to support (asked in exercises/support/REQUESTS.md). */
static void expect_line(struct grade_ctx *ctx, int fd, const char *want, const char *who,
                        const char *input)
{
    char line[2048], quoted[256], expected[256], checked[128];
    size_t n = grade_recv_line(fd, line, sizeof line, 3000);
    if (n == strlen(want) && memcmp(line, want, n) == 0)
        return;
    snprintf(checked, sizeof checked, "the line %s receives", who);
    grade_fail(ctx, checked, grade_quote(want, strlen(want), expected, sizeof expected), input,
               "%s", n == 0 ? "nothing within 3 s" : grade_quote(line, n, quoted, sizeof quoted));
}

static void expect_silence(struct grade_ctx *ctx, int fd, int ms, const char *who,
                           const char *input)
{
    struct pollfd pfd = { .fd = fd, .events = POLLIN };
    if (poll(&pfd, 1, ms) == 1) {
        char buf[256], quoted[300], checked[128];
        ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
        snprintf(checked, sizeof checked, "%s receives nothing", who);
        grade_fail(ctx, checked, "nothing", input, "%s",
                   n <= 0 ? "the connection closed" : grade_quote(buf, (size_t)n, quoted, sizeof quoted));
    }
}

static void test_broadcast_basic(struct grade_ctx *ctx)
{
    struct grade_server srv;
    grade_server_start(ctx, &srv, NULL);
    int a = join(ctx, srv.port), b = join(ctx, srv.port), c = join(ctx, srv.port);

    grade_send_all(ctx, a, "hi from A\n", 10);
    expect_line(ctx, b, "hi from A\n", "B", "A sends \"hi from A\\n\" (A, B, C connected)");
    expect_line(ctx, c, "hi from A\n", "C", "A sends \"hi from A\\n\" (A, B, C connected)");
    expect_silence(ctx, a, 300, "the sender A itself", "A sends \"hi from A\\n\"");

    grade_send_all(ctx, b, "one\ntwo\n", 8);
    expect_line(ctx, a, "one\n", "A", "B sends \"one\\ntwo\\n\" in one write");
    expect_line(ctx, a, "two\n", "A", "B sends \"one\\ntwo\\n\" in one write");
    expect_line(ctx, c, "one\n", "C", "B sends \"one\\ntwo\\n\" in one write");
    expect_line(ctx, c, "two\n", "C", "B sends \"one\\ntwo\\n\" in one write");
    close(a); close(b); close(c);
    grade_server_stop(ctx, &srv);
}

static void test_dribbled_line(struct grade_ctx *ctx)
{
    struct grade_server srv;
    grade_server_start(ctx, &srv, NULL);
    int a = join(ctx, srv.port), b = join(ctx, srv.port);
    const char *text = "a line that arrives in pieces\n";

    grade_send_dribble(ctx, a, text, strlen(text), 1, 10);
    expect_line(ctx, b, text, "B", "A sends a line one byte every 10 ms");
    expect_silence(ctx, b, 200, "B (after the whole line)", "A sends a line one byte every 10 ms");
    close(a); close(b);
    grade_server_stop(ctx, &srv);
}

#define MANY 20

static void test_many_clients(struct grade_ctx *ctx)
{
    struct grade_server srv;
    grade_server_start(ctx, &srv, NULL);
    int fds[MANY];
    for (int i = 0; i < MANY; i++)
        fds[i] = join(ctx, srv.port);
    grade_note(ctx, "%d clients each send one line", MANY);
    for (int i = 0; i < MANY; i++) {
        char msg[32];
        int len = snprintf(msg, sizeof msg, "msg from %02d\n", i);
        grade_send_all(ctx, fds[i], msg, (size_t)len);
    }
    for (int i = 0; i < MANY; i++) {
        bool seen[MANY] = { false };
        for (int k = 0; k < MANY - 1; k++) {
            char line[64], quoted[128];
            int from = -1;
            size_t n = grade_recv_line(fds[i], line, sizeof line, 3000);
            if (n == 12 && sscanf(line, "msg from %d", &from) == 1 && from >= 0 &&
                from < MANY && from != i && !seen[from]) {
                seen[from] = true;
                continue;
            }
            char checked[96];
            snprintf(checked, sizeof checked, "client %d receives each other client's line once", i);
            grade_fail(ctx, checked, "19 lines \"msg from NN\\n\", one from each other client",
                       "20 clients each send \"msg from NN\\n\"", "line %d: %s", k + 1,
                       n == 0 ? "nothing within 3 s" : grade_quote(line, n, quoted, sizeof quoted));
        }
    }
    for (int i = 0; i < MANY; i++)
        close(fds[i]);
    grade_server_stop(ctx, &srv);
}

/* Line i of the flood: "line NNNNN " then letters, LINE_LEN bytes with '\n'. */
static void flood_line(int i, char *out)
{
    int head = snprintf(out, LINE_LEN, "line %05d ", i);
    for (int k = head; k < LINE_LEN - 1; k++)
        out[k] = (char)('a' + (i + k) % 26);
    out[LINE_LEN - 1] = '\n';
}

struct flood {
    int lines_heard;        /* whole, correct lines the listener got */
    bool listener_closed;
    uint64_t elapsed_ms;
};

/* Talker sends FLOOD_LINES lines; listener reads and checks them.  One
 * poll loop for both; gives up after no progress for 3 s. */
static void run_flood(struct grade_ctx *ctx, int talker, int listener, struct flood *f)
{
    static char out[LINE_LEN], in[LINE_LEN], expected[LINE_LEN];
    size_t out_off = LINE_LEN, in_len = 0;
    int next_to_send = 0;
    uint64_t start = grade_now_ms(), last = start;

    memset(f, 0, sizeof *f);
    while (f->lines_heard < FLOOD_LINES && !f->listener_closed &&
           grade_now_ms() - last < 3000) {
        if (out_off == LINE_LEN && next_to_send < FLOOD_LINES) {
            flood_line(next_to_send++, out);
            out_off = 0;
        }
        struct pollfd pfd[2] = {
            { .fd = talker, .events = out_off < LINE_LEN ? POLLOUT : 0 },
            { .fd = listener, .events = POLLIN },
        };
        if (poll(pfd, 2, 50) <= 0)
            continue;
        if (pfd[0].revents & POLLOUT) {
            ssize_t n = send(talker, out + out_off, LINE_LEN - out_off, MSG_DONTWAIT | MSG_NOSIGNAL);
            if (n > 0) {
                out_off += (size_t)n;
                last = grade_now_ms();
            }
        }
        if (pfd[1].revents & (POLLIN | POLLHUP | POLLERR)) {
            ssize_t n = recv(listener, in + in_len, LINE_LEN - in_len, MSG_DONTWAIT);
            if (n == 0 || (n < 0 && errno != EAGAIN)) {
                f->listener_closed = true;
            } else if (n > 0) {
                in_len += (size_t)n;
                last = grade_now_ms();
                if (in_len == LINE_LEN) {
                    flood_line(f->lines_heard, expected);
                    if (memcmp(in, expected, LINE_LEN) != 0) {
                        char quoted[128];
                        grade_fail(ctx, "a fast listener gets every line, whole and in order",
                                   "line 00000, line 00001, ... each 1000 bytes",
                                   "one client sends 8000 numbered lines of 1000 bytes",
                                   "line %d was %s", f->lines_heard,
                                   grade_quote(in, 40, quoted, sizeof quoted));
                    }
                    f->lines_heard++;
                    in_len = 0;
                }
            }
        }
    }
    f->elapsed_ms = grade_now_ms() - start;
}

/* A client that connects and never reads.  (Its receive buffer keeps the
 * default size: the kernel only grows it for a reader, and a tiny one
 * would make the final drain in slow_reader_policy crawl for minutes.) */
static int join_slow_reader(struct grade_ctx *ctx, int port)
{
    return join(ctx, port);
}

static void test_slow_reader_does_not_stall(struct grade_ctx *ctx)
{
    struct grade_server srv;
    grade_server_start(ctx, &srv, NULL);
    int slow = join_slow_reader(ctx, srv.port);
    int talker = join(ctx, srv.port), listener = join(ctx, srv.port);

    grade_note(ctx, "a slow client never reads; A sends %d lines of %d bytes; B reads",
               FLOOD_LINES, LINE_LEN);
    struct flood f;
    run_flood(ctx, talker, listener, &f);
    if (f.lines_heard < FLOOD_LINES)
        grade_fail(ctx, "a client that never reads does not stall the chat for the others",
                   "B receives all 8000 lines",
                   "client S never reads; A sends 8000 lines of 1000 bytes; B reads all the while",
                   "B got %d lines, then %s: the server waits for S (a blocking send?)",
                   f.lines_heard, f.listener_closed ? "B was disconnected" : "nothing for 3 s");
    close(slow); close(talker); close(listener);
    grade_server_stop(ctx, &srv);
}

static void test_slow_reader_policy(struct grade_ctx *ctx)
{
    struct grade_server srv;
    grade_server_start(ctx, &srv, NULL);
    int baseline = grade_proc_open_fds(srv.pid);
    long rss_before = grade_proc_rss_kib(srv.pid);
    int slow = join_slow_reader(ctx, srv.port);
    int talker = join(ctx, srv.port), listener = join(ctx, srv.port);

    struct flood f;
    run_flood(ctx, talker, listener, &f);
    long rss_after = grade_proc_rss_kib(srv.pid);

    /* The policy, seen from the server: it closed one of the 3 sockets. */
    int open_fds = grade_proc_wait_open_fds(srv.pid, baseline + 2, 2000);
    if (open_fds > baseline + 2)
        grade_fail(ctx, "the stated policy: a client whose outbox passes 256 KiB is disconnected",
                   "the server closes the slow client's socket (one descriptor fewer)",
                   "client S never read while A sent 8000 lines of 1000 bytes",
                   "%d descriptors open, %d with the 3 clients: S is still connected",
                   open_fds, baseline + 3);

    grade_note(ctx, "the flood is over (B heard %d lines); now the slow client reads", f.lines_heard);
    static char got[FLOOD_LINES * LINE_LEN];
    bool closed = false;
    size_t n = grade_recv_until_close(slow, got, sizeof got, 5000, &closed);
    if (!closed)
        grade_fail(ctx, "the slow client, reading at last, gets what was sent and then the close",
                   "end of stream within 5 s", "client S never read while A sent 8000 lines",
                   "S read %zu bytes and its connection is still open", n);
    /* What S did get must be whole lines, in order: line 0, 1, 2, ... */
    char expected[LINE_LEN];
    size_t whole = n / LINE_LEN;
    for (size_t i = 0; i < whole; i++) {
        flood_line((int)i, expected);
        if (memcmp(got + i * LINE_LEN, expected, LINE_LEN) != 0)
            grade_fail(ctx, "before the disconnect, the slow client gets whole lines in order",
                       "line 00000, line 00001, ...", "client S never read while A flooded",
                       "line %zu differs", i);
    }
    if (rss_after - rss_before > 16 * 1024)
        grade_fail(ctx, "the server's memory (RSS) while one client never reads",
                   "growth under 16 MiB (outboxes are limited)", "client S never read while A flooded",
                   "grew by %ld MiB", (rss_after - rss_before) / 1024);
    close(slow); close(talker); close(listener);
    grade_server_stop(ctx, &srv);
}

static void test_reset_mid_line(struct grade_ctx *ctx)
{
    struct grade_server srv;
    grade_server_start(ctx, &srv, NULL);
    int a = join(ctx, srv.port), b = join(ctx, srv.port), c = join(ctx, srv.port);

    grade_send_all(ctx, a, "half a li", 9);
    grade_sleep_ms(100);
    grade_close_with_reset(a);
    grade_sleep_ms(100);
    grade_server_check_alive(ctx, &srv, "after a client reset in the middle of a line");
    grade_send_all(ctx, c, "after\n", 6);
    expect_line(ctx, b, "after\n", "B",
                "A sent \"half a li\" and reset; then C sent \"after\\n\" (A's half line must vanish)");
    close(b); close(c);
    grade_server_stop(ctx, &srv);
}

/* TODO move to support (asked in exercises/support/REQUESTS.md). */
static bool is_event_wait(const char *call)
{
    return strcmp(call, "poll") == 0 || strcmp(call, "ppoll") == 0 ||
           strcmp(call, "epoll_wait") == 0 || strcmp(call, "epoll_pwait") == 0;
}

static void test_structure(struct grade_ctx *ctx)
{
    struct grade_server srv;
    grade_server_start(ctx, &srv, NULL);
    int baseline = grade_proc_open_fds(srv.pid);
    int fds[10];
    for (int i = 0; i < 10; i++)
        fds[i] = join(ctx, srv.port);
    grade_sleep_ms(100);

    const char *call = grade_proc_wait_call(srv.pid);
    if (!is_event_wait(call))
        grade_fail(ctx, "where the idle server waits (/proc/PID/syscall)",
                   "poll or epoll_wait", "10 clients connected, nobody talking",
                   "%s%s", call, strncmp(call, "accept", 6) == 0
                   ? ": the loop thread is stuck in a blocking accept()" : "");
    int sockets = 0, nonblocking = 0;
    grade_proc_socket_flags(srv.pid, &sockets, &nonblocking);
    if (sockets < 11 || nonblocking != sockets)
        grade_fail(ctx, "O_NONBLOCK on the server's sockets (/proc/PID/fdinfo)",
                   "all sockets non-blocking (listener + 10 clients)", "10 clients connected",
                   "%d sockets, %d of them non-blocking", sockets, nonblocking);
    int threads = grade_proc_threads(srv.pid);
    if (threads != 1)
        grade_fail(ctx, "the server's thread count", "1 (one event loop)", "10 clients connected",
                   "%d threads", threads);

    for (int i = 0; i < 10; i++)
        close(fds[i]);
    int open_fds = grade_proc_wait_open_fds(srv.pid, baseline, 2000);
    if (open_fds > baseline)
        grade_fail(ctx, "descriptors after the clients left (/proc/PID/fd)", "the count before they came",
                   "10 clients connected and left", "%d open, %d before", open_fds, baseline);
    grade_server_stop(ctx, &srv);
}

static const struct grade_test tests[] = {
    { "broadcast_basic", 2, "", 10,
      "a line goes to every other client, not back to its sender; two lines in one write stay two",
      test_broadcast_basic },
    { "dribbled_line", 1, "", 10,
      "a line sent one byte at a time is delivered once, whole", test_dribbled_line },
    { "many_clients", 1, "", 15,
      "20 clients each send a line; each receives the 19 others", test_many_clients },
    { "slow_reader_does_not_stall", 2, "core,timing", 20,
      "a client that never reads does not hold up 8 MB of chat for the others",
      test_slow_reader_does_not_stall },
    { "slow_reader_policy", 2, "core", 20,
      "the stated policy: a slow reader is disconnected after whole lines in order; memory bounded",
      test_slow_reader_policy },
    { "reset_mid_line", 1, "", 10,
      "a client that resets mid-line: no crash, its half line is not broadcast", test_reset_mid_line },
    { "structure", 1, "", 10,
      "one thread, non-blocking sockets, waits in poll/epoll, descriptors freed after clients leave",
      test_structure },
};

int main(int argc, char **argv)
{
    return grade_main(argc, argv, tests, sizeof tests / sizeof tests[0]);
}
