/*
 * kv_test.c — exercise 11, a WRONG solution kept for the grader's
 * self-check: a "test" that cannot fail.  It prints a PASS line of every
 * kind and a metric without checking anything, so it passes on the
 * correct server and on every faulty one alike — and must score only the
 * points for the shape of its report, none for catching faults.
 */
#include <stdio.h>

int main(void)
{
    printf("PASS happy set_then_get\n");
    printf("PASS edge dribbled_request\n");
    printf("PASS failure malformed_request\n");
    printf("METRIC get_latency_max 1.0 us\n");
    return 0;
}
