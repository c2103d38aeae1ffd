/*
 * probe_cost.c — what the instrumentation costs per request, without the
 * noise of a whole server: the probe calls the event loop makes for one
 * pipelined request, timed in a tight loop on this machine.
 *
 * Benchmark-only (make bench-tools).  It creates a real probe segment
 * (/dev/shm/evlab.probe-cost-PID, removed at the end) and prints, in ns:
 *
 *   clock reading          clock_now_ns(), what every timestamp costs
 *   handler, chained       probe_handler_begin_at/end_at as
 *                          connection_answer_buffered() uses them: one
 *                          reading per request, the end of one handler
 *                          being the start of the next
 *   handler, two readings  probe_handler_begin/end, a reading at each end
 *   handler, run of 16     probe_handlers_ran() for 16 pipelined fixed
 *                          replies and one reading, per handler
 *   event                  probe_emit_at() with a timestamp in hand
 *
 * Compare with the server's CPU per request (bench/loop_cost.py probes):
 * a pipelined GET / pays the run's share, any other route the chained pair.
 */
#include <stdio.h>
#include <stdint.h>
#include <unistd.h>

#include "common/clock.h"
#include "probe/probe.h"

enum { ROUNDS = 2000000 };

static double per_call_ns(uint64_t start, uint64_t end)
{
    return (double)(end - start) / ROUNDS;
}

int main(void)
{
    char name[64], err[256];
    snprintf(name, sizeof name, "probe-cost-%d", (int)getpid());
    struct probe *probe;
    if (probe_create(&probe, &(struct probe_config){ .name = name, .model = "loop" }, err,
                     sizeof err) < 0) {
        fprintf(stderr, "probe_cost: %s\n", err);
        return 1;
    }
    struct probe_thread *me = probe_thread_begin(probe, "loop");
    if (me == NULL) {
        fprintf(stderr, "probe_cost: the probes are compiled out in this build\n");
        probe_destroy(probe);
        return 1;
    }

    volatile uint64_t sink = 0;
    uint64_t start = clock_now_ns();
    for (int i = 0; i < ROUNDS; i++)
        sink += clock_now_ns();
    printf("clock reading          %6.1f ns\n", per_call_ns(start, clock_now_ns()));

    uint64_t t = probe_clock_ns(me);
    start = clock_now_ns();
    for (int i = 0; i < ROUNDS; i++) {
        probe_handler_begin_at(me, t, 5, 0);
        t = probe_clock_ns(me);
        probe_handler_end_at(me, t, 5, 0);
    }
    printf("handler, chained       %6.1f ns\n", per_call_ns(start, clock_now_ns()));

    start = clock_now_ns();
    for (int i = 0; i < ROUNDS; i++) {
        probe_handler_begin(me, 5, 0);
        probe_handler_end(me, 5, 0);
    }
    printf("handler, two readings  %6.1f ns\n", per_call_ns(start, clock_now_ns()));

    /* A pipelined run of 16 fixed replies, as loop_connection.c's
     * handler_run_end() records it: one reading for the whole run. */
    start = clock_now_ns();
    for (int i = 0; i < ROUNDS / 16; i++) {
        uint64_t run_start = t;
        t = probe_clock_ns(me);
        probe_handlers_ran(me, run_start, t, 5, 0, 16);
    }
    printf("handler, run of 16     %6.1f ns\n", per_call_ns(start, clock_now_ns()));

    start = clock_now_ns();
    for (int i = 0; i < ROUNDS; i++)
        probe_emit_at(me, t, PROBE_EV_READ, 5, 1, 0);
    printf("event                  %6.1f ns\n", per_call_ns(start, clock_now_ns()));

    (void)sink;
    probe_thread_end(me);
    probe_destroy(probe);
    return 0;
}
