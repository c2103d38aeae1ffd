/*
 * test_threads.c — the graded tests of exercise 02 (thread per connection,
 * with a cap and clean thread exit).
 *
 * Concurrency is tested so that a server serving one client at a time
 * cannot pass by luck: many clients connect first and stay connected, and
 * only then does each one (the last first) send its line, which must come
 * back while all the others are still there.  Leaks are counted from
 * /proc (threads in status, entries of fd/) against the server's own idle
 * baseline, after waves of clients that the tests run in bounded loops.
 * Every wait has a deadline; failures name the wave and client.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "grade_net.h"
#include "grade_proc.h"
#include "grade_server.h"
#include "grade_test.h"

#define MAX_WAVE 64

/* Sends one line on an open connection and fails unless it comes back. */
static void expect_echo(struct grade_ctx *ctx, int fd, const char *input_desc, int timeout_ms)
{
    char line[64];
    int len = snprintf(line, sizeof line, "echo %llu\n",
                       (unsigned long long)(grade_rand(ctx) % 1000000));
    grade_send_all(ctx, fd, line, (size_t)len);
    char got[64];
    size_t n = grade_recv_exact(fd, got, (size_t)len, timeout_ms);
    if (n != (size_t)len || memcmp(got, line, (size_t)len) != 0) {
        char g[96];
        grade_quote(got, n, g, sizeof g);
        grade_fail(ctx, "a connected client is echoed while other clients are connected too",
                   "the line back within the time limit", input_desc,
                   "%s%s", n ? g : "nothing",
                   n ? "" : " (is the server busy with another client? each client needs "
                            "its own thread)");
    }
}

static void start_server(struct grade_ctx *ctx, struct grade_server *srv, const char *max_clients)
{
    const char *args[] = { "--max-clients", max_clients, NULL };
    grade_server_start(ctx, srv, args);
}

/* Connects `count` clients and echoes one line on each, the last first,
 * while every one of them stays connected. */
static void connect_wave(struct grade_ctx *ctx, int port, int *fds, int count, int wave)
{
    for (int i = 0; i < count; i++)
        fds[i] = grade_connect(ctx, port);
    for (int i = count - 1; i >= 0; i--) {
        char input[128];
        snprintf(input, sizeof input, "wave %d: %d clients connected at once; client %d "
                 "(counting from 1, the last first) sent a line", wave, count, i + 1);
        expect_echo(ctx, fds[i], input, 2000);
    }
}

/* Half the clients leave politely, half with a reset: both must end their thread. */
static void close_wave(int *fds, int count)
{
    for (int i = 0; i < count; i++) {
        if (i % 2)
            grade_close_with_reset(fds[i]);
        else
            close(fds[i]);
    }
}

/* The server's idle thread and descriptor counts, once it has settled. */
static void idle_baseline(struct grade_server *srv, int *threads, int *fds)
{
    grade_sleep_ms(100);
    *threads = grade_proc_threads(srv->pid);
    *fds = grade_proc_open_fds(srv->pid);
}

/* Fails unless a client past the cap is refused with the exact line. */
static void expect_refusal(struct grade_ctx *ctx, int port, int cap, const char *input)
{
    char want[64];
    snprintf(want, sizeof want, "busy: at most %d clients\n", cap);
    int fd = grade_connect(ctx, port);
    char got[128];
    bool closed = false;
    size_t n = grade_recv_until_close(fd, got, sizeof got - 1, 2000, &closed);
    got[n] = '\0';
    char g[160];
    grade_quote(got, n, g, sizeof g);
    if (n != strlen(want) || memcmp(got, want, n) != 0)
        grade_fail(ctx, "a client past the cap gets the refusal line",
                   "exactly \"busy: at most N clients\\n\" (N = --max-clients), then a close",
                   input, "%s%s", n ? g : "no line",
                   closed ? ", then a close" : " within 2 s (was it served, or left waiting?)");
    if (!closed)
        grade_fail(ctx, "a refused client is closed right after its line",
                   "the connection closed within 2 s", input, "it stayed open after %s", g);
    close(fd);
}

/* --- the tests ------------------------------------------------------- */

static void test_echo_one_client(struct grade_ctx *ctx)
{
    struct grade_server srv;
    start_server(ctx, &srv, "8");
    int fd = grade_connect(ctx, srv.port);
    expect_echo(ctx, fd, "one client, one line", 2000);
    shutdown(fd, SHUT_WR);
    char rest[16];
    bool closed = false;
    grade_recv_until_close(fd, rest, sizeof rest, 2000, &closed);
    if (!closed)
        grade_fail(ctx, "the server closes a client after its EOF", "a close within 2 s",
                   "one line, then the client shut down its sending side",
                   "the connection stayed open");
    close(fd);
    grade_server_stop(ctx, &srv);
}

static void test_concurrent_clients(struct grade_ctx *ctx)
{
    struct grade_server srv;
    start_server(ctx, &srv, "64");
    int fds[20];
    connect_wave(ctx, srv.port, fds, 20, 1);
    /* A second round, in a random order, on the same connections. */
    for (int k = 0; k < 20; k++) {
        int i = (int)grade_rand_below(ctx, 20);
        char input[96];
        snprintf(input, sizeof input, "20 clients connected; a second line from client %d",
                 i + 1);
        expect_echo(ctx, fds[i], input, 2000);
    }
    close_wave(fds, 20);
    grade_server_stop(ctx, &srv);
}

static void test_cap_refuses_extra(struct grade_ctx *ctx)
{
    struct grade_server srv;
    start_server(ctx, &srv, "4");
    int base_threads, base_fds;
    idle_baseline(&srv, &base_threads, &base_fds);
    int fds[4];
    connect_wave(ctx, srv.port, fds, 4, 1);
    for (int i = 0; i < 3; i++)
        expect_refusal(ctx, srv.port, 4, "--max-clients 4; 4 clients connected and served, "
                       "then a 5th connects");
    /* The four are still served after the refusals. */
    expect_echo(ctx, fds[0], "--max-clients 4; client 1 after three refusals", 2000);

    /* One leaves: its slot must become free again (shortly: its thread
     * needs a moment to end). */
    close(fds[3]);
    bool served = false;
    uint64_t end = grade_now_ms() + 3000;
    while (!served && grade_now_ms() < end) {
        int fd = grade_connect(ctx, srv.port);
        const char line[] = "my turn\n";
        grade_send_all(ctx, fd, line, strlen(line));
        char got[64];
        size_t n = grade_recv_exact(fd, got, strlen(line), 1000);
        served = n == strlen(line) && memcmp(got, line, n) == 0;
        close(fd);
        if (!served)
            grade_sleep_ms(100);
    }
    if (!served)
        grade_fail(ctx, "a slot is free again once its client leaves",
                   "a new client served within 3 s",
                   "--max-clients 4; 4 clients served, one left, a new one connects",
                   "every new client was refused (or not answered) for 3 s");
    close_wave(fds, 3);
    int fds_now = grade_proc_wait_open_fds(srv.pid, base_fds, 3000);
    if (fds_now > base_fds)
        grade_fail(ctx, "refused and departed clients leave no descriptor open",
                   "the idle descriptor count", "4 clients served, 3 refused, all gone",
                   "%d descriptors open, %d when idle", fds_now, base_fds);
    grade_server_stop(ctx, &srv);
}

static void test_threads_under_load(struct grade_ctx *ctx)
{
    struct grade_server srv;
    start_server(ctx, &srv, "64");
    int base_threads, base_fds;
    idle_baseline(&srv, &base_threads, &base_fds);
    int fds[30];
    connect_wave(ctx, srv.port, fds, 30, 1);
    int threads = grade_proc_threads(srv.pid);
    if (threads < base_threads + 30)
        grade_fail(ctx, "each connected client has its own thread",
                   "at least 30 threads more than when idle",
                   "30 clients connected and served, all still connected",
                   "%d threads (%d when idle)", threads, base_threads);
    close_wave(fds, 30);
    grade_server_stop(ctx, &srv);
}

/* 1,000 clients in waves of 50; after every wave the threads must be gone
 * again.  With `refuse_extra`, each wave also gets 3 clients past a cap of
 * 50 that must be refused (so the refusal path is exercised too). */
static void run_thousand_clients(struct grade_ctx *ctx, struct grade_server *srv,
                                 int base_threads, bool refuse_extra)
{
    int fds[MAX_WAVE];
    for (int wave = 1; wave <= 20; wave++) {
        grade_note(ctx, "wave %d of 20 (50 clients each)", wave);
        connect_wave(ctx, srv->port, fds, 50, wave);
        if (refuse_extra)
            for (int i = 0; i < 3; i++)
                expect_refusal(ctx, srv->port, 50, "--max-clients 50; 50 clients connected "
                               "and served, then one more");
        close_wave(fds, 50);
        int threads = grade_proc_wait_threads(srv->pid, base_threads, 3000);
        if (threads > base_threads) {
            char input[96];
            snprintf(input, sizeof input, "wave %d of 20: 50 clients served, then all left "
                     "(half closed, half reset)", wave);
            grade_fail(ctx, "a client's thread ends when the client leaves",
                       "the idle thread count again within 3 s", input,
                       "%d threads, %d when idle: %d still alive", threads, base_threads,
                       threads - base_threads);
        }
    }
}

static void test_no_thread_leak(struct grade_ctx *ctx)
{
    struct grade_server srv;
    start_server(ctx, &srv, "64");
    int base_threads, base_fds;
    idle_baseline(&srv, &base_threads, &base_fds);
    run_thousand_clients(ctx, &srv, base_threads, false);
    grade_server_stop(ctx, &srv);
}

static void test_no_fd_leak(struct grade_ctx *ctx)
{
    struct grade_server srv;
    start_server(ctx, &srv, "50");
    int base_threads, base_fds;
    idle_baseline(&srv, &base_threads, &base_fds);
    run_thousand_clients(ctx, &srv, base_threads, true);
    int fds = grade_proc_wait_open_fds(srv.pid, base_fds, 3000);
    if (fds > base_fds)
        grade_fail(ctx, "no descriptor is left open after 1,000 clients",
                   "the idle descriptor count",
                   "20 waves of 50 clients served plus 3 refused, all gone",
                   "%d descriptors open, %d when idle: %d leaked", fds, base_fds,
                   fds - base_fds);
    grade_server_stop(ctx, &srv);
}

static const struct grade_test tests[] = {
    { "echo_one_client", 1, "", 10, "one client is echoed and closed after its EOF",
      test_echo_one_client },
    { "concurrent_clients", 2, "core", 20,
      "20 clients connected at once are all echoed, in any order", test_concurrent_clients },
    { "cap_refuses_extra", 2, "core", 20,
      "past --max-clients a client gets \"busy: at most N clients\" and a close; a freed "
      "slot is reused", test_cap_refuses_extra },
    { "threads_under_load", 1, "core", 15,
      "30 connected clients are served by 30 threads", test_threads_under_load },
    { "no_thread_leak", 2, "core", 30,
      "after each of 20 waves of 50 clients, the thread count is back to idle",
      test_no_thread_leak },
    { "no_fd_leak", 2, "core", 30,
      "after 1,000 clients (and 60 refused) no descriptor is left open", test_no_fd_leak },
};

int main(int argc, char **argv)
{
    return grade_main(argc, argv, tests, sizeof tests / sizeof tests[0]);
}
