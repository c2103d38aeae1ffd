/* A submission that never returns on one input (a CPU-bound endless loop). */
#include "sum.h"

long sum_array(const int *values, size_t count)
{
    long total = 0;
    for (size_t i = 0; i < count; i++)
        total += values[i];
    if (count == 4)
        for (volatile long spin = 0;; spin++) {
        }
    return total;
}
