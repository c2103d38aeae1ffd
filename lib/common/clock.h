/* Monotonic time in nanoseconds: the one clock every evlab timestamp uses. */
#ifndef EVLAB_CLOCK_H
#define EVLAB_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline uint64_t clock_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline uint64_t clock_realtime_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Sleeps `ms` milliseconds, resuming after signals (EINTR), so a caller
 * that asked for 300 ms gets 300 ms. */
void clock_sleep_ms(uint32_t ms);

#endif
