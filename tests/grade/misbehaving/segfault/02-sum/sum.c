/* A submission that crashes: writes through a NULL pointer on non-empty input. */
#include "sum.h"

long sum_array(const int *values, size_t count)
{
    if (count > 0) {
        volatile int *nowhere = (volatile int *)0;
        *nowhere = values[0];
    }
    return 0;
}
