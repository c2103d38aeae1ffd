/*
 * test_kept_two_non_readers.c — exercise 07's test kept for after the due
 * date: two clients that never read, at the same time.  The watermark is
 * per connection, so memory is bounded per client: two non-readers may
 * cost about twice what one does, never what they send.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "grade_net.h"
#include "grade_proc.h"
#include "grade_server.h"
#include "grade_test.h"

#define MIB (1024u * 1024u)

static void test_two_non_readers_bounded(struct grade_ctx *ctx)
{
    struct grade_server srv;
    grade_server_start(ctx, &srv, NULL);
    long rss_before = grade_proc_rss_kib(srv.pid);
    int fds[2];
    uint64_t sent[2] = { 0, 0 };
    for (int i = 0; i < 2; i++) {
        fds[i] = grade_connect_rcvbuf(ctx, srv.port, 64 * 1024);
        grade_set_sndbuf(fds[i], 64 * 1024);
    }
    static char chunk[64 * 1024];
    memset(chunk, 'b', sizeof chunk);
    grade_note(ctx, "two clients each send up to 64 MiB and never read");
    uint64_t start = grade_now_ms(), last = start;
    while (grade_now_ms() - last < 800 && grade_now_ms() - start < 8000) {
        struct pollfd pfd[2] = { { .fd = fds[0], .events = POLLOUT }, { .fd = fds[1], .events = POLLOUT } };
        if (poll(pfd, 2, 50) <= 0)
            continue;
        for (int i = 0; i < 2; i++) {
            if (!(pfd[i].revents & POLLOUT) || sent[i] >= 64u * MIB)
                continue;
            ssize_t n = send(fds[i], chunk, sizeof chunk, MSG_DONTWAIT | MSG_NOSIGNAL);
            if (n > 0) {
                sent[i] += (uint64_t)n;
                last = grade_now_ms();
            }
        }
    }
    long growth = grade_proc_rss_kib(srv.pid) - rss_before;
    if (growth > 32 * 1024)
        grade_fail(ctx, "the server's memory (RSS) with two clients that never read",
                   "growth under 32 MiB (a watermark per connection)",
                   "two clients each send up to 64 MiB and never read",
                   "grew by %ld MiB after taking %" PRIu64 " + %" PRIu64 " MiB",
                   growth / 1024, sent[0] / MIB, sent[1] / MIB);
    close(fds[0]);
    close(fds[1]);
    grade_server_stop(ctx, &srv);
}

static const struct grade_test tests[] = {
    { "two_non_readers_bounded", 1, "", 20,
      "two clients that never read: memory stays bounded per connection", test_two_non_readers_bounded },
};

int main(int argc, char **argv)
{
    return grade_main(argc, argv, tests, sizeof tests / sizeof tests[0]);
}
