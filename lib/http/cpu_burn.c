/*
 * cpu_burn.c — route_cpu_burn(), the CPU-bound work behind /cpu/MS.
 *
 * Design.  A fixed iteration count would cost 2 ms on one machine and
 * 20 ms on another, and the lessons compare numbers across machines.  So
 * the loop is bounded by the thread's own CPU clock
 * (CLOCK_THREAD_CPUTIME_ID): time this thread actually ran, not wall
 * time, so when the two cores are shared with other work the request
 * still costs about MS of CPU, it just takes longer on the wall clock —
 * which is the point the CPU pitfall lesson makes.
 *
 * Reading the clock costs a system-call-sized amount of time (tens of
 * nanoseconds through the vDSO, more without it), so it is read only
 * every ROUTE_BURN_BATCH iterations: a few microseconds of work per
 * check, far finer than the milliseconds asked for.
 */
#include "http/routes.h"

#include <assert.h>
#include <time.h>

/* Iterations between two looks at the CPU clock. */
#define ROUTE_BURN_BATCH 4096

static uint64_t thread_cpu_ns(void)
{
    struct timespec ts;
    int rc = clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);

    /* Linux always has this clock; failing here is a broken system. */
    assert(rc == 0);
    (void)rc;
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t route_cpu_burn(uint32_t ms)
{
    uint64_t start = thread_cpu_ns();
    uint64_t budget = (uint64_t)ms * 1000000u;
    /* An xorshift generator: cheap, and each step depends on the last, so
     * the compiler can neither skip nor vectorise the work.  The result is
     * returned, so the loop cannot be optimised away either. */
    uint64_t x = 0x9e3779b97f4a7c15u ^ ms;

    while (thread_cpu_ns() - start < budget) {
        for (int i = 0; i < ROUTE_BURN_BATCH; i++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
        }
    }
    return x;
}
