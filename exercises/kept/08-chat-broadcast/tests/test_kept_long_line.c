/*
 * test_kept_long_line.c — exercise 08's test kept for after the due date:
 * a client that sends 2000 bytes without a newline breaks the 1024-byte
 * line limit; the server closes it and broadcasts none of it.
 */
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "grade_net.h"
#include "grade_server.h"
#include "grade_test.h"

static int join(struct grade_ctx *ctx, int port)
{
    int fd = grade_connect(ctx, port);
    char line[32];
    if (grade_recv_line(fd, line, sizeof line, 3000) != 8)
        grade_fail(ctx, "the greeting", "WELCOME\\n", "connect", "no WELCOME within 3 s");
    return fd;
}

static void test_long_line_closes_sender(struct grade_ctx *ctx)
{
    struct grade_server srv;
    grade_server_start(ctx, &srv, NULL);
    int talker = join(ctx, srv.port), listener = join(ctx, srv.port);
    char junk[2000];
    memset(junk, 'x', sizeof junk);
    const char *input = "A sends 2000 bytes without a newline (limit: 1024)";

    grade_send_all(ctx, talker, junk, sizeof junk);
    char buf[64], quoted[128];
    bool closed = false;
    size_t n = grade_recv_until_close(talker, buf, sizeof buf, 3000, &closed);
    if (!closed)
        grade_fail(ctx, "a client whose line passes 1024 bytes is closed", "end of stream", input,
                   "still open after 3 s (%zu bytes received)", n);
    struct pollfd pfd = { .fd = listener, .events = POLLIN };
    if (poll(&pfd, 1, 300) == 1) {
        ssize_t got = recv(listener, buf, sizeof buf, MSG_DONTWAIT);
        grade_fail(ctx, "nothing of an overlong line is broadcast", "nothing", input, "B received %s",
                   got > 0 ? grade_quote(buf, (size_t)got, quoted, sizeof quoted) : "a close");
    }
    close(talker);
    close(listener);
    grade_server_stop(ctx, &srv);
}

static const struct grade_test tests[] = {
    { "long_line_closes_sender", 1, "", 10,
      "a line longer than 1024 bytes closes its sender and is not broadcast",
      test_long_line_closes_sender },
};

int main(int argc, char **argv)
{
    return grade_main(argc, argv, tests, sizeof tests / sizeof tests[0]);
}
