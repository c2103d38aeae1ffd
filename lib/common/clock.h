/*
 * clock.h — monotonic time in nanoseconds: the one clock every evlab
 * timestamp uses, and the unit constants every file converts with.
 *
 * Times are uint64_t nanoseconds everywhere inside evlab; a value in
 * another unit says so in its name (timeout_ms, elapsed_s).  Convert with
 * these constants instead of writing 1000000u again: a missing zero in a
 * literal is a bug no compiler sees.
 */
#ifndef EVLAB_CLOCK_H
#define EVLAB_CLOCK_H

#include <stdint.h>
#include <time.h>

#define NS_PER_US 1000ull
#define NS_PER_MS 1000000ull
#define NS_PER_S  1000000000ull

/* Milliseconds (a timeout as a person types it) to nanoseconds. */
static inline uint64_t clock_ms_to_ns(uint64_t ms)
{
    return ms * NS_PER_MS;
}

static inline uint64_t clock_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec;
}

static inline uint64_t clock_realtime_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec;
}

/* Sleeps `ms` milliseconds, resuming after signals (EINTR), so a caller
 * that asked for 300 ms gets 300 ms. */
void clock_sleep_ms(uint32_t ms);

#endif
