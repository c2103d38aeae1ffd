#include "common/clock.h"

#include <errno.h>

void clock_sleep_ms(uint32_t ms)
{
    struct timespec left = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };
    /* nanosleep reports the time still to sleep when a signal interrupts
     * it; going back to sleep for exactly that remainder keeps the total. */
    while (nanosleep(&left, &left) == -1 && errno == EINTR)
        ;
}
