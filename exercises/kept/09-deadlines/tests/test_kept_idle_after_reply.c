/*
 * test_kept_idle_after_reply.c — exercise 09's test kept for after the
 * due date: the idle timeout counts from the last activity, not from the
 * connect.  A client busy with SLOW 1200 for more than the idle timeout
 * must not be called idle; after the reply its idle second starts.
 */
#include <inttypes.h>
#include <string.h>
#include <unistd.h>

#include "grade_net.h"
#include "grade_server.h"
#include "grade_test.h"

static void test_idle_counts_from_last_reply(struct grade_ctx *ctx)
{
    struct grade_server srv;
    grade_server_start(ctx, &srv, NULL);
    int fd = grade_connect(ctx, srv.port);
    const char *input = "SLOW 1200 (longer than the 1 s idle timeout), then silence";
    char line[64], quoted[128];

    grade_send_all(ctx, fd, "SLOW 1200\n", 10);
    size_t n = grade_recv_line(fd, line, sizeof line, 3000);
    if (n != 10 || memcmp(line, "DONE 1200\n", 10) != 0)
        grade_fail(ctx, "a request in progress is not idle", "DONE 1200\\n", input, "%s",
                   n == 0 ? "nothing within 3 s" : grade_quote(line, n, quoted, sizeof quoted));
    uint64_t replied = grade_now_ms();
    n = grade_recv_line(fd, line, sizeof line, 3000);
    uint64_t after = grade_now_ms() - replied;
    if (n != 9 || memcmp(line, "BYE idle\n", 9) != 0 || after < 900)
        grade_fail(ctx, "the idle second starts after the reply", "BYE idle\\n about 1 s after DONE",
                   input, "%s after %" PRIu64 " ms",
                   n == 0 ? "nothing" : grade_quote(line, n, quoted, sizeof quoted), after);
    close(fd);
    grade_server_stop(ctx, &srv);
}

static const struct grade_test tests[] = {
    { "idle_counts_from_last_reply", 1, "timing", 10,
      "a long request is not idleness; the idle timeout starts after its reply",
      test_idle_counts_from_last_reply },
};

int main(int argc, char **argv)
{
    return grade_main(argc, argv, tests, sizeof tests / sizeof tests[0]);
}
