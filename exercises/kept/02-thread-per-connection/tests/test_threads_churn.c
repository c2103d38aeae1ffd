/*
 * test_threads_churn.c — kept test of exercise 02 (graded on the course
 * platform, shown after the due date): random churn instead of tidy waves.
 *
 * 600 seeded random steps over up to 40 open clients: connect a new one,
 * echo a line on a random open one, close one politely, or reset one —
 * so clients arrive and leave in every order, while others are mid-echo.
 * Every echo must come back; at the end, with everyone gone, the thread
 * and descriptor counts must be the idle ones again.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "grade_net.h"
#include "grade_proc.h"
#include "grade_server.h"
#include "grade_test.h"

enum { MAX_OPEN = 40, STEPS = 600 };

static void test_random_churn(struct grade_ctx *ctx)
{
    struct grade_server srv;
    const char *args[] = { "--max-clients", "64", NULL };
    grade_server_start(ctx, &srv, args);
    grade_sleep_ms(100);
    int base_threads = grade_proc_threads(srv.pid);
    int base_fds = grade_proc_open_fds(srv.pid);

    int open_fds[MAX_OPEN];
    int nopen = 0, connects = 0;
    for (int step = 1; step <= STEPS; step++) {
        uint64_t r = grade_rand_below(ctx, 10);
        if (nopen == 0 || (r < 4 && nopen < MAX_OPEN)) {
            open_fds[nopen++] = grade_connect(ctx, srv.port);
            connects++;
        } else if (r < 8) {
            int i = (int)grade_rand_below(ctx, (uint64_t)nopen);
            char line[48];
            int len = snprintf(line, sizeof line, "step %d\n", step);
            grade_send_all(ctx, open_fds[i], line, (size_t)len);
            char got[48];
            size_t n = grade_recv_exact(open_fds[i], got, (size_t)len, 2000);
            if (n != (size_t)len || memcmp(got, line, (size_t)len) != 0) {
                char input[96];
                snprintf(input, sizeof input, "step %d of %d, %d clients open, %d connected so far",
                         step, STEPS, nopen, connects);
                char quoted[96];
                grade_quote(got, n, quoted, sizeof quoted);
                grade_fail(ctx, "every open client is echoed while others come and go",
                           "the line back within 2 s", input, "%s (%zu of %d bytes)",
                           n ? quoted : "nothing", n, len);
            }
        } else {
            int i = (int)grade_rand_below(ctx, (uint64_t)nopen);
            if (r == 8)
                close(open_fds[i]);
            else
                grade_close_with_reset(open_fds[i]);
            open_fds[i] = open_fds[--nopen];
        }
    }
    for (int i = 0; i < nopen; i++)
        close(open_fds[i]);
    grade_note(ctx, "%d clients connected in all; all gone now", connects);
    int threads = grade_proc_wait_threads(srv.pid, base_threads, 3000);
    if (threads > base_threads)
        grade_fail(ctx, "every client's thread ends once it leaves", "the idle thread count",
                   "600 random steps of connects, echoes, closes and resets",
                   "%d threads, %d when idle", threads, base_threads);
    int fds = grade_proc_wait_open_fds(srv.pid, base_fds, 3000);
    if (fds > base_fds)
        grade_fail(ctx, "every client's socket is closed once it leaves",
                   "the idle descriptor count",
                   "600 random steps of connects, echoes, closes and resets",
                   "%d descriptors, %d when idle", fds, base_fds);
    grade_server_stop(ctx, &srv);
}

static const struct grade_test tests[] = {
    { "random_churn", 2, "", 30,
      "600 random connects, echoes, closes and resets: all echoed, nothing left behind",
      test_random_churn },
};

int main(int argc, char **argv)
{
    return grade_main(argc, argv, tests, sizeof tests / sizeof tests[0]);
}
