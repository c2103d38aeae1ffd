/*
 * test_kept_pipelined.c — exercise 06's test kept for after the due date:
 * two jobs and a PING in one write on one connection.  The PING must be
 * answered first (the jobs run elsewhere) and both jobs must come back,
 * each with its own id, in either order.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "grade_net.h"
#include "grade_server.h"
#include "grade_test.h"
#include "../work.h"

static void test_pipelined_jobs_and_ping(struct grade_ctx *ctx)
{
    struct grade_server srv;
    grade_server_start(ctx, &srv, NULL);
    int fd = grade_connect(ctx, srv.port);
    const char *input = "WORK 400 11\\nWORK 400 12\\nPING\\n in one write";
    grade_send_all(ctx, fd, "WORK 400 11\nWORK 400 12\nPING\n", 29);

    char line[128], quoted[200], want[2][64];
    snprintf(want[0], sizeof want[0], "DONE 11 %" PRIu64 "\n", work_answer(11));
    snprintf(want[1], sizeof want[1], "DONE 12 %" PRIu64 "\n", work_answer(12));
    size_t n = grade_recv_line(fd, line, sizeof line, 3000);
    if (n != 5 || memcmp(line, "PONG\n", 5) != 0)
        grade_fail(ctx, "the first reply on a connection with two jobs and a PING queued",
                   "PONG\\n (the jobs run on workers)", input, "%s",
                   n == 0 ? "nothing within 3 s" : grade_quote(line, n, quoted, sizeof quoted));
    bool seen[2] = { false, false };
    for (int k = 0; k < 2; k++) {
        n = grade_recv_line(fd, line, sizeof line, 10000);
        int which = -1;
        for (int j = 0; j < 2; j++)
            if (!seen[j] && n == strlen(want[j]) && memcmp(line, want[j], n) == 0)
                which = j;
        if (which < 0)
            grade_fail(ctx, "both jobs of one connection come back with their own ids",
                       "DONE 11 ... and DONE 12 ..., in either order", input, "%s",
                       n == 0 ? "nothing within 10 s" : grade_quote(line, n, quoted, sizeof quoted));
        seen[which] = true;
    }
    close(fd);
    grade_server_stop(ctx, &srv);
}

static const struct grade_test tests[] = {
    { "pipelined_jobs_and_ping", 1, "", 20,
      "two WORKs and a PING in one write: PONG first, then both DONEs", test_pipelined_jobs_and_ping },
};

int main(int argc, char **argv)
{
    return grade_main(argc, argv, tests, sizeof tests / sizeof tests[0]);
}
