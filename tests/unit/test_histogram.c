/*
 * test_histogram.c — the log-linear histogram (lib/probe/histogram.h).
 *
 * What must hold: every percentile is within HIST_RELATIVE_ERROR of the
 * true value on known data; bucket geometry is consistent (a value lies
 * inside its own bucket, no bucket is wider than the promised error);
 * zero and huge values are accepted; merge adds exactly; and recording
 * from several threads at once loses nothing.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <pthread.h>
#include <stdlib.h>

#include "probe/histogram.h"

/* Heap-allocated: a histogram is about 10 KiB. */
static struct histogram *hist_new(void)
{
    struct histogram *h = malloc(sizeof *h);
    assert_non_null(h);
    histogram_init(h);
    return h;
}

/* |reported - expected| <= expected * HIST_RELATIVE_ERROR */
static void assert_close(uint64_t reported, uint64_t expected)
{
    double diff = fabs((double)reported - (double)expected);
    if (diff > (double)expected * HIST_RELATIVE_ERROR) {
        print_error("reported %llu, expected %llu\n", (unsigned long long)reported,
                    (unsigned long long)expected);
        fail();
    }
}

static void test_empty(void **state)
{
    (void)state;
    struct histogram *h = hist_new();
    assert_int_equal(histogram_count(h), 0);
    assert_int_equal(histogram_min(h), 0);
    assert_int_equal(histogram_max(h), 0);
    assert_true(histogram_mean(h) == 0.0);
    assert_int_equal(histogram_percentile(h, 50), 0);
    assert_int_equal(histogram_percentile(h, 100), 0);
    free(h);
}

static void test_uniform_percentiles(void **state)
{
    (void)state;
    struct histogram *h = hist_new();
    const uint64_t n = 100000;
    for (uint64_t v = 1; v <= n; v++)
        histogram_record(h, v);
    assert_int_equal(histogram_count(h), n);
    assert_int_equal(histogram_min(h), 1);
    assert_int_equal(histogram_max(h), n);
    assert_true(fabs(histogram_mean(h) - 50000.5) < 1e-6);

    /* For 1..n the true p-th percentile is ceil(p/100 * n). */
    const double ps[] = { 1, 10, 25, 50, 75, 90, 99, 99.9, 99.99 };
    for (size_t i = 0; i < sizeof ps / sizeof ps[0]; i++) {
        uint64_t expected = (uint64_t)ceil(ps[i] / 100.0 * (double)n);
        assert_close(histogram_percentile(h, ps[i]), expected);
    }
    /* The ends are exact: clamped to the recorded min and max. */
    assert_int_equal(histogram_percentile(h, 0), 1);
    assert_int_equal(histogram_percentile(h, 100), n);
    /* Out-of-range p is clamped, not an error. */
    assert_int_equal(histogram_percentile(h, 250), n);
    assert_int_equal(histogram_percentile(h, -5), 1);
    free(h);
}

static void test_constant(void **state)
{
    (void)state;
    struct histogram *h = hist_new();
    for (int i = 0; i < 1000; i++)
        histogram_record(h, 123456789);
    /* Every percentile of a constant is that constant, exactly, because
     * the answer is clamped to [min, max]. */
    assert_int_equal(histogram_percentile(h, 1), 123456789);
    assert_int_equal(histogram_percentile(h, 50), 123456789);
    assert_int_equal(histogram_percentile(h, 99.9), 123456789);
    assert_int_equal(histogram_mean(h), 123456789.0);
    free(h);
}

static void test_two_points(void **state)
{
    (void)state;
    struct histogram *h = hist_new();
    /* 90 fast requests at 1 ms, 10 slow ones at 250 ms. */
    for (int i = 0; i < 90; i++)
        histogram_record(h, 1000000);
    for (int i = 0; i < 10; i++)
        histogram_record(h, 250000000);
    assert_close(histogram_percentile(h, 50), 1000000);
    assert_close(histogram_percentile(h, 90), 1000000);
    assert_close(histogram_percentile(h, 91), 250000000);
    assert_close(histogram_percentile(h, 99), 250000000);
    assert_int_equal(histogram_percentile(h, 100), 250000000);

    /* Small values have exact buckets: 10 and 20 come back exactly. */
    struct histogram *small = hist_new();
    histogram_record(small, 10);
    histogram_record(small, 20);
    assert_int_equal(histogram_percentile(small, 50), 10);
    assert_int_equal(histogram_percentile(small, 51), 20);
    free(small);
    free(h);
}

static void test_zero_and_huge(void **state)
{
    (void)state;
    struct histogram *h = hist_new();
    histogram_record(h, 0);
    assert_int_equal(histogram_count(h), 1);
    assert_int_equal(histogram_min(h), 0);
    assert_int_equal(histogram_max(h), 0);
    assert_int_equal(histogram_percentile(h, 50), 0);

    histogram_record(h, HIST_MAX_VALUE);
    histogram_record(h, HIST_MAX_VALUE * 4);
    histogram_record(h, UINT64_MAX);
    assert_int_equal(histogram_count(h), 4);
    assert_int_equal(histogram_max(h), UINT64_MAX);
    /* Huge values share the last bucket and still count toward max. */
    assert_int_equal(histogram_bucket_index(HIST_MAX_VALUE), HIST_BUCKETS - 1);
    assert_int_equal(histogram_bucket_index(UINT64_MAX), HIST_BUCKETS - 1);
    assert_int_equal(atomic_load(&h->buckets[HIST_BUCKETS - 1]), 3);
    assert_int_equal(histogram_percentile(h, 100), UINT64_MAX);
    /* The sum saturated instead of wrapping around to something small. */
    assert_int_equal(atomic_load(&h->sum), UINT64_MAX);
    free(h);
}

static void test_merge(void **state)
{
    (void)state;
    struct histogram *a = hist_new();
    struct histogram *b = hist_new();
    for (uint64_t v = 1; v <= 1000; v++)
        histogram_record(a, v);
    for (uint64_t v = 1001; v <= 3000; v++)
        histogram_record(b, v);
    histogram_merge(a, b);
    assert_int_equal(histogram_count(a), 3000);
    assert_int_equal(histogram_min(a), 1);
    assert_int_equal(histogram_max(a), 3000);
    assert_true(fabs(histogram_mean(a) - 1500.5) < 1e-6);
    assert_close(histogram_percentile(a, 50), 1500);
    assert_close(histogram_percentile(a, 90), 2700);

    /* Merging an empty histogram changes nothing (its min is UINT64_MAX
     * and must not leak in as a value). */
    struct histogram *empty = hist_new();
    histogram_merge(a, empty);
    assert_int_equal(histogram_count(a), 3000);
    assert_int_equal(histogram_max(a), 3000);

    /* Merging into an empty one gives the same numbers. */
    histogram_merge(empty, a);
    assert_int_equal(histogram_count(empty), 3000);
    assert_int_equal(histogram_min(empty), 1);
    assert_int_equal(histogram_percentile(empty, 50), histogram_percentile(a, 50));

    /* A copy is equal, bucket for bucket. */
    struct histogram *copy = hist_new();
    histogram_copy(copy, a);
    for (size_t i = 0; i < HIST_BUCKETS; i++)
        assert_int_equal(atomic_load(&copy->buckets[i]), atomic_load(&a->buckets[i]));
    assert_int_equal(histogram_percentile(copy, 99), histogram_percentile(a, 99));
    free(copy);
    free(empty);
    free(a);
    free(b);
}

static void check_value_geometry(uint64_t v)
{
    size_t i = histogram_bucket_index(v);
    assert_true(i < HIST_BUCKETS);
    uint64_t low = histogram_bucket_low(i), high = histogram_bucket_high(i);
    if (v < HIST_MAX_VALUE) {
        if (!(low <= v && v < high)) {
            print_error("value %llu in bucket %zu [%llu, %llu)\n", (unsigned long long)v, i,
                        (unsigned long long)low, (unsigned long long)high);
            fail();
        }
    } else {
        assert_int_equal(i, HIST_BUCKETS - 1);
    }
}

static void test_bucket_geometry(void **state)
{
    (void)state;
    /* Buckets tile [0, HIST_MAX_VALUE) with no gap or overlap, and none
     * is wider than the promised relative error. */
    assert_int_equal(histogram_bucket_low(0), 0);
    for (size_t i = 0; i < HIST_BUCKETS; i++) {
        uint64_t low = histogram_bucket_low(i), high = histogram_bucket_high(i);
        assert_true(low < high);
        if (i + 1 < HIST_BUCKETS)
            assert_int_equal(high, histogram_bucket_low(i + 1));
        /* A bucket one value wide is exact; any wider one is at most
         * 1/32 of its lower bound. */
        if (high - low > 1)
            assert_true((double)(high - low) / (double)low <= HIST_RELATIVE_ERROR);
        assert_int_equal(histogram_bucket_index(low), i);
        assert_int_equal(histogram_bucket_index(high - 1), i);
    }
    assert_int_equal(histogram_bucket_high(HIST_BUCKETS - 1), HIST_MAX_VALUE);

    /* Many values: every small one, every power of two and its
     * neighbours, and a pseudo-random spread over all magnitudes. */
    for (uint64_t v = 0; v < 5000; v++)
        check_value_geometry(v);
    for (unsigned e = 0; e < 64; e++) {
        uint64_t p = (uint64_t)1 << e;
        check_value_geometry(p - 1);
        check_value_geometry(p);
        check_value_geometry(p + 1);
    }
    uint64_t x = 88172645463325252ull;    /* xorshift64: fixed, repeatable */
    for (int i = 0; i < 200000; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        check_value_geometry(x >> (x % 64));
    }
}

#define THREADS 4
#define RECORDS_PER_THREAD 200000

static void *record_many(void *arg)
{
    struct histogram *h = arg;
    for (uint64_t i = 1; i <= RECORDS_PER_THREAD; i++)
        histogram_record(h, i);
    return NULL;
}

static void test_concurrent_record(void **state)
{
    (void)state;
    struct histogram *h = hist_new();
    pthread_t threads[THREADS];
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&threads[i], NULL, record_many, h), 0);
    for (int i = 0; i < THREADS; i++)
        pthread_join(threads[i], NULL);

    /* Relaxed atomics lose nothing: every count and the sum are exact. */
    uint64_t total = 0;
    for (size_t i = 0; i < HIST_BUCKETS; i++)
        total += atomic_load(&h->buckets[i]);
    assert_int_equal(total, (uint64_t)THREADS * RECORDS_PER_THREAD);
    assert_int_equal(histogram_count(h), (uint64_t)THREADS * RECORDS_PER_THREAD);
    uint64_t per_thread_sum = (uint64_t)RECORDS_PER_THREAD * (RECORDS_PER_THREAD + 1) / 2;
    assert_int_equal(atomic_load(&h->sum), THREADS * per_thread_sum);
    assert_int_equal(histogram_min(h), 1);
    assert_int_equal(histogram_max(h), RECORDS_PER_THREAD);
    assert_int_equal(atomic_load(&h->buckets[histogram_bucket_index(7)]), THREADS);
    free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_uniform_percentiles),
        cmocka_unit_test(test_constant),
        cmocka_unit_test(test_two_points),
        cmocka_unit_test(test_zero_and_huge),
        cmocka_unit_test(test_merge),
        cmocka_unit_test(test_bucket_geometry),
        cmocka_unit_test(test_concurrent_record),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
