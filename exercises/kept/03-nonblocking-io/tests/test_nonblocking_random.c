/*
 * test_nonblocking_random.c — kept test of exercise 03 (graded on the
 * course platform, shown after the due date): random pipelines on several
 * connections at once.
 *
 * Six clients stay connected.  In each of 40 rounds a random client sends
 * a random batch of 1-12 requests (sizes mostly small, a few up to 2 MiB)
 * cut at random byte boundaries into several writes, and then reads all
 * the replies, checking every byte.  Between rounds, other clients are
 * left with half a request pending; and a few rounds end with an invalid
 * line, which must get "error\n" and a close (that client is replaced).
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "grade_net.h"
#include "grade_server.h"
#include "grade_test.h"

enum { CLIENTS = 6, ROUNDS = 40 };

/* Reads the reply to `n` (n pattern bytes, then '\n'), checking each byte. */
static void read_reply(struct grade_ctx *ctx, int fd, uint64_t n, const char *input)
{
    static char buf[65536];
    uint64_t got = 0;
    uint64_t deadline = grade_now_ms() + 10000;
    while (got < n + 1) {
        size_t room = n + 1 - got < sizeof buf ? (size_t)(n + 1 - got) : sizeof buf;
        size_t r = grade_recv_exact(fd, buf, room, (int)(deadline > grade_now_ms()
                                                             ? deadline - grade_now_ms() : 0));
        for (size_t k = 0; k < r; k++) {
            uint64_t i = got + k;
            char want = i == n ? '\n' : (char)('a' + i % 26);
            if (buf[k] != want)
                grade_fail(ctx, "every reply is the exact pattern, in request order",
                           "the pattern abc...z repeated, then '\\n'", input,
                           "byte %llu of the reply to %llu is wrong",
                           (unsigned long long)i, (unsigned long long)n);
        }
        got += r;
        if (r < room)
            grade_fail(ctx, "every reply arrives whole", "the whole reply within 10 s", input,
                       "%llu of %llu bytes of the reply to %llu", (unsigned long long)got,
                       (unsigned long long)(n + 1), (unsigned long long)n);
    }
}

/* Sends `len` bytes in random pieces. */
static void send_in_pieces(struct grade_ctx *ctx, int fd, const char *text, size_t len)
{
    size_t sent = 0;
    while (sent < len) {
        size_t piece = 1 + grade_rand_below(ctx, len - sent);
        grade_send_all(ctx, fd, text + sent, piece);
        sent += piece;
        if (grade_rand_below(ctx, 3) == 0)
            grade_sleep_ms(1);
    }
}

static void test_random_pipelines(struct grade_ctx *ctx)
{
    struct grade_server srv;
    grade_server_start(ctx, &srv, NULL);
    int fds[CLIENTS];
    for (int i = 0; i < CLIENTS; i++)
        fds[i] = grade_connect(ctx, srv.port);

    for (int round = 1; round <= ROUNDS; round++) {
        int c = (int)grade_rand_below(ctx, CLIENTS);
        uint64_t sizes[12];
        int count = 1 + (int)grade_rand_below(ctx, 12);
        char batch[12 * 16];
        size_t len = 0;
        for (int k = 0; k < count; k++) {
            sizes[k] = grade_rand_below(ctx, 10) == 0 ? grade_rand_below(ctx, 2u << 20)
                                                      : grade_rand_below(ctx, 3000);
            len += (size_t)snprintf(batch + len, sizeof batch - len, "%llu\n",
                                    (unsigned long long)sizes[k]);
        }
        bool invalid = grade_rand_below(ctx, 8) == 0;
        if (invalid)
            len += (size_t)snprintf(batch + len, sizeof batch - len, "12x\n");
        char input[160];
        snprintf(input, sizeof input, "round %d: client %d sent %d requests%s in random pieces "
                 "(seed %llu)", round, c + 1, count, invalid ? " and the line \"12x\"" : "",
                 (unsigned long long)ctx->seed);
        grade_note(ctx, "%s", input);
        send_in_pieces(ctx, fds[c], batch, len);
        for (int k = 0; k < count; k++)
            read_reply(ctx, fds[c], sizes[k], input);
        if (invalid) {
            char got[16];
            bool closed = false;
            size_t n = grade_recv_until_close(fds[c], got, sizeof got, 2000, &closed);
            if (n != 6 || memcmp(got, "error\n", 6) != 0 || !closed)
                grade_fail(ctx, "an invalid line gets \"error\\n\" and a close",
                           "\"error\\n\", then the connection closed", input,
                           "%zu bytes%s", n, closed ? ", closed" : ", still open");
            close(fds[c]);
            fds[c] = grade_connect(ctx, srv.port);
        }
        /* Leave another client mid-request now and then (finished with
         * its newline next time it is picked: "7" + "3\n..." = 73). */
        int other = (int)grade_rand_below(ctx, CLIENTS);
        if (other != c && grade_rand_below(ctx, 4) == 0) {
            grade_send_all(ctx, fds[other], "7", 1);
            grade_send_all(ctx, fds[other], "3\n", 2);
            read_reply(ctx, fds[other], 73, "\"7\" then \"3\\n\" in two writes");
        }
    }
    for (int i = 0; i < CLIENTS; i++)
        close(fds[i]);
    grade_server_check_alive(ctx, &srv, "after 40 random rounds");
    grade_server_stop(ctx, &srv);
}

static const struct grade_test tests[] = {
    { "random_pipelines", 2, "", 40,
      "40 random batches of pipelined requests in random pieces on 6 connections",
      test_random_pipelines },
};

int main(int argc, char **argv)
{
    return grade_main(argc, argv, tests, sizeof tests / sizeof tests[0]);
}
