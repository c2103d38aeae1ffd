/* A submission that prints 10 MB of random bytes, then answers right. */
#include <stdint.h>
#include <stdio.h>

#include "sum.h"

long sum_array(const int *values, size_t count)
{
    uint32_t x = 12345;
    char chunk[4096];
    for (int round = 0; round < 2560; round++) {
        for (size_t i = 0; i < sizeof chunk; i++) {
            x = x * 1103515245u + 12345u;
            chunk[i] = (char)(x >> 16);
        }
        fwrite(chunk, 1, sizeof chunk, stdout);
    }
    long total = 0;
    for (size_t i = 0; i < count; i++)
        total += values[i];
    return total;
}
