/* A submission that forks without end on one input: every child forks
 * too, and a failed fork is simply tried again. */
#include <unistd.h>

#include "sum.h"

long sum_array(const int *values, size_t count)
{
    long total = 0;
    for (size_t i = 0; i < count; i++)
        total += values[i];
    if (count == 4)
        for (;;)
            fork();
    return total;
}
