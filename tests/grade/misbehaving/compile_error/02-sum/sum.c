/* A submission that does not compile. */
#include "sum.h"

long sum_array(const int *values, size_t count)
{
    return values[0] +* ;
}
