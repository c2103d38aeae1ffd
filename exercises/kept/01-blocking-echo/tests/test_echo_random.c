/*
 * test_echo_random.c — kept test of exercise 01 (graded on the course
 * platform, shown after the due date): a larger, randomized version of
 * eintr_storm and clients_in_turn.
 *
 * Twelve clients one after another, each sending a random amount (up to
 * 1 MiB; two of them 6 MiB) in random-sized pieces with random pauses, while the test reads
 * the echo slowly (so the server's sends block) and a thread interrupts
 * the server's main
 * thread with SIGUSR1 every millisecond.  Every byte must come back in
 * order; afterwards no descriptor may be left open.  The seed fixes the
 * sizes, so a failure replays exactly.
 */
#include <pthread.h>
#include <stdbool.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "grade_net.h"
#include "grade_proc.h"
#include "grade_server.h"
#include "grade_test.h"

struct sender {
    struct grade_ctx *ctx;
    int fd;
    const unsigned char *data;
    size_t len;
    size_t chunk;
    int delay_ms;
};

/* The sending half runs in its own thread, so the test reads the echo
 * while it is still sending (a client that sends everything first would
 * deadlock against any echo server once the buffers are full). */
static void *send_thread(void *arg)
{
    struct sender *s = arg;
    grade_send_dribble(s->ctx, s->fd, s->data, s->len, s->chunk, s->delay_ms);
    return NULL;
}

/* Reads len bytes 16 KiB at a time with a short pause after each, so the
 * server's send() keeps finding the socket full (where signals cut sends
 * short).  Returns the bytes read before EOF or the deadline. */
static size_t recv_slowly(int fd, unsigned char *buf, size_t len, int timeout_ms)
{
    size_t got = 0;
    uint64_t deadline = grade_now_ms() + (uint64_t)timeout_ms;
    while (got < len && grade_now_ms() < deadline) {
        size_t want = len - got < 16384 ? len - got : 16384;
        size_t n = grade_recv_exact(fd, buf + got, want, (int)(deadline - grade_now_ms()));
        got += n;
        if (n < want)
            break;
        usleep(1000);
    }
    return got;
}

static atomic_bool interrupting;

/* Interrupts the server's main thread (tid == pid) once a millisecond. */
static void *interrupt_thread(void *arg)
{
    pid_t pid = *(pid_t *)arg;
    while (atomic_load(&interrupting)) {
        syscall(SYS_tgkill, (int)pid, (int)pid, SIGUSR1);
        usleep(1000);
    }
    return NULL;
}

static void test_random_clients(struct grade_ctx *ctx)
{
    struct grade_server srv;
    grade_server_start(ctx, &srv, NULL);
    int baseline = grade_proc_open_fds(srv.pid);
    size_t cap = 6u << 20;
    unsigned char *data = malloc(cap), *got = malloc(cap);
    atomic_store(&interrupting, true);
    pthread_t interrupter;
    pthread_create(&interrupter, NULL, interrupt_thread, &srv.pid);

    for (int client = 1; client <= 12; client++) {
        /* Two clients send more than the socket buffers hold, so the
         * server's send() blocks and signals cut it short; the others send
         * random amounts in random pieces (pauses only between big ones,
         * to bound the time). */
        bool big = client == 4 || client == 9;
        size_t len = big ? cap : 1 + grade_rand_below(ctx, 1u << 20);
        size_t chunk = big ? 65536 : 1 + grade_rand_below(ctx, 65536);
        int delay_ms = chunk >= 16384 ? (int)grade_rand_below(ctx, 2) : 0;
        grade_rand_bytes(ctx, data, len);
        struct sender s = { ctx, grade_connect_rcvbuf(ctx, srv.port, 8192), data, len, chunk,
                            delay_ms };
        grade_note(ctx, "client %d of 12: %zu bytes in pieces of %zu, %d ms apart", client,
                   len, s.chunk, s.delay_ms);
        pthread_t sender;
        pthread_create(&sender, NULL, send_thread, &s);
        size_t n = recv_slowly(s.fd, got, len, 15000);
        pthread_join(sender, NULL);
        char input[128];
        snprintf(input, sizeof input, "client %d of 12: %zu random bytes in pieces of %zu, "
                 "SIGUSR1 to the server every ms", client, len, s.chunk);
        if (n < len || memcmp(got, data, len) != 0) {
            size_t same = 0;
            while (same < n && got[same] == data[same])
                same++;
            grade_fail(ctx, "every byte is echoed, in order, while signals interrupt the server",
                       "all bytes back, identical", input,
                       "%zu of %zu bytes came back; the first difference is at byte %zu", n,
                       len, same);
        }
        if (client % 3 == 0)
            grade_close_with_reset(s.fd);
        else
            close(s.fd);
        grade_server_check_alive(ctx, &srv, input);
    }
    atomic_store(&interrupting, false);
    pthread_join(interrupter, NULL);
    int fds = grade_proc_wait_open_fds(srv.pid, baseline, 2000);
    if (fds > baseline)
        grade_fail(ctx, "no descriptor is left open after the clients left",
                   "the descriptor count of before the clients", "12 random clients",
                   "%d open, %d before", fds, baseline);
    free(data);
    free(got);
    grade_server_stop(ctx, &srv);
}

static const struct grade_test tests[] = {
    { "random_clients", 2, "", 60,
      "12 clients with random sizes and pieces are echoed intact under a signal storm",
      test_random_clients },
};

int main(int argc, char **argv)
{
    return grade_main(argc, argv, tests, sizeof tests / sizeof tests[0]);
}
