/*
 * histogram.c — the log-linear histogram described in histogram.h.
 *
 * Bucket geometry.  A value v below 2^HIST_SUB_BITS (32) has a bucket of
 * its own: index v.  A larger value has a highest set bit e (5 <= e);
 * the HIST_SUB_BITS bits just below that top bit say which of the 32
 * equal slices of [2^e, 2^(e+1)) it falls in.  So the buckets come in
 * groups of 32: group 0 is the exact values 0..31, group g >= 1 covers
 * the powers of two starting at 2^(g+4).  Because a slice of [2^e,
 * 2^(e+1)) is 2^(e-5) wide and starts at or above 2^e, no bucket is wider
 * than 1/32 of its lower bound: that is the whole accuracy argument.
 *
 * Concurrency.  Every field is a C11 atomic touched with relaxed order:
 * we only need each counter to be exact on its own, not the counters to
 * agree with each other at every instant.  min, max and the saturating
 * sum cannot be expressed as a single fetch-and-add, so they use
 * compare-and-swap loops that retry only while another thread changed
 * the value under us.  None of this ever blocks a recording thread.
 */
#include "probe/histogram.h"

#include <assert.h>
#include <math.h>

static const memory_order relaxed = memory_order_relaxed;

void histogram_init(struct histogram *h)
{
    atomic_store_explicit(&h->count, 0, relaxed);
    atomic_store_explicit(&h->sum, 0, relaxed);
    /* UINT64_MAX means "nothing recorded yet", so any value is smaller. */
    atomic_store_explicit(&h->min, UINT64_MAX, relaxed);
    atomic_store_explicit(&h->max, 0, relaxed);
    for (size_t i = 0; i < HIST_BUCKETS; i++)
        atomic_store_explicit(&h->buckets[i], 0, relaxed);
}

size_t histogram_bucket_index(uint64_t value)
{
    if (value < HIST_SUB_BUCKETS)
        return (size_t)value;                    /* group 0: exact */
    if (value >= HIST_MAX_VALUE)
        return HIST_BUCKETS - 1;                 /* everything huge: last bucket */

    /* e is the position of the highest set bit (5 .. HIST_MAX_EXPONENT-1). */
    unsigned e = 63u - (unsigned)__builtin_clzll(value);
    /* The HIST_SUB_BITS bits below the top bit pick the slice. */
    size_t sub = (size_t)(value >> (e - HIST_SUB_BITS)) & (HIST_SUB_BUCKETS - 1);
    size_t group = e - HIST_SUB_BITS + 1;
    return group * HIST_SUB_BUCKETS + sub;
}

uint64_t histogram_bucket_low(size_t index)
{
    assert(index < HIST_BUCKETS);
    if (index < HIST_SUB_BUCKETS)
        return index;
    size_t group = index / HIST_SUB_BUCKETS;
    size_t sub = index % HIST_SUB_BUCKETS;
    unsigned e = (unsigned)group + HIST_SUB_BITS - 1;
    return ((uint64_t)1 << e) + ((uint64_t)sub << (e - HIST_SUB_BITS));
}

uint64_t histogram_bucket_high(size_t index)
{
    assert(index < HIST_BUCKETS);
    if (index < HIST_SUB_BUCKETS)
        return index + 1;
    unsigned e = (unsigned)(index / HIST_SUB_BUCKETS) + HIST_SUB_BITS - 1;
    return histogram_bucket_low(index) + ((uint64_t)1 << (e - HIST_SUB_BITS));
}

/* Adds to the sum but sticks at UINT64_MAX instead of wrapping around to
 * a small (and misleading) number. */
static void sum_add_saturating(_Atomic uint64_t *sum, uint64_t value)
{
    uint64_t old = atomic_load_explicit(sum, relaxed);
    for (;;) {
        uint64_t next = (old > UINT64_MAX - value) ? UINT64_MAX : old + value;
        if (next == old)
            return;
        /* On failure `old` is refreshed with what another thread stored. */
        if (atomic_compare_exchange_weak_explicit(sum, &old, next, relaxed, relaxed))
            return;
    }
}

static void min_update(_Atomic uint64_t *min, uint64_t value)
{
    uint64_t old = atomic_load_explicit(min, relaxed);
    while (value < old &&
           !atomic_compare_exchange_weak_explicit(min, &old, value, relaxed, relaxed))
        ;
}

static void max_update(_Atomic uint64_t *max, uint64_t value)
{
    uint64_t old = atomic_load_explicit(max, relaxed);
    while (value > old &&
           !atomic_compare_exchange_weak_explicit(max, &old, value, relaxed, relaxed))
        ;
}

void histogram_record(struct histogram *h, uint64_t value)
{
    atomic_fetch_add_explicit(&h->buckets[histogram_bucket_index(value)], 1, relaxed);
    atomic_fetch_add_explicit(&h->count, 1, relaxed);
    sum_add_saturating(&h->sum, value);
    min_update(&h->min, value);
    max_update(&h->max, value);
}

/* `times` records of `value` whose sum is `add`, by the one writer. */
static inline void owned_add(struct histogram *h, uint64_t value, uint64_t times, uint64_t add)
{
    _Atomic uint64_t *bucket = &h->buckets[histogram_bucket_index(value)];
    atomic_store_explicit(bucket, atomic_load_explicit(bucket, relaxed) + times, relaxed);
    atomic_store_explicit(&h->count, atomic_load_explicit(&h->count, relaxed) + times, relaxed);
    uint64_t sum = atomic_load_explicit(&h->sum, relaxed);
    atomic_store_explicit(&h->sum, sum > UINT64_MAX - add ? UINT64_MAX : sum + add, relaxed);
    if (value < atomic_load_explicit(&h->min, relaxed))
        atomic_store_explicit(&h->min, value, relaxed);
    if (value > atomic_load_explicit(&h->max, relaxed))
        atomic_store_explicit(&h->max, value, relaxed);
}

void histogram_record_owned(struct histogram *h, uint64_t value)
{
    owned_add(h, value, 1, value);
}

void histogram_record_owned_times(struct histogram *h, uint64_t value, uint64_t times)
{
    if (times == 0)
        return;
    /* value * times, saturating like the sum itself (no division: a
     * divide costs tens of cycles, and this runs on every request). */
    uint64_t add;
    if (__builtin_mul_overflow(value, times, &add))
        add = UINT64_MAX;
    owned_add(h, value, times, add);
}

void histogram_merge(struct histogram *into, const struct histogram *from)
{
    uint64_t count = atomic_load_explicit(&from->count, relaxed);
    if (count == 0)
        return;
    for (size_t i = 0; i < HIST_BUCKETS; i++) {
        uint64_t n = atomic_load_explicit(&from->buckets[i], relaxed);
        if (n != 0)
            atomic_fetch_add_explicit(&into->buckets[i], n, relaxed);
    }
    atomic_fetch_add_explicit(&into->count, count, relaxed);
    sum_add_saturating(&into->sum, atomic_load_explicit(&from->sum, relaxed));
    min_update(&into->min, atomic_load_explicit(&from->min, relaxed));
    max_update(&into->max, atomic_load_explicit(&from->max, relaxed));
}

void histogram_window(struct histogram *out, const struct histogram *now,
                      const struct histogram *base)
{
    histogram_init(out);
    uint64_t total = 0, sum = 0;
    size_t first = HIST_BUCKETS, last = 0;
    for (size_t i = 0; i < HIST_BUCKETS; i++) {
        uint64_t a = atomic_load_explicit(&now->buckets[i], relaxed);
        uint64_t b = atomic_load_explicit(&base->buckets[i], relaxed);
        uint64_t c = a > b ? a - b : 0;
        if (c == 0)
            continue;
        atomic_store_explicit(&out->buckets[i], c, relaxed);
        total += c;
        sum += c * histogram_bucket_low(i);
        if (first == HIST_BUCKETS)
            first = i;
        last = i;
    }
    if (total == 0)
        return;
    /* min/max of the window are only known to a bucket; never past the
     * server's real maximum. */
    uint64_t max = histogram_bucket_high(last) - 1;
    uint64_t real_max = histogram_max(now);
    atomic_store_explicit(&out->count, total, relaxed);
    atomic_store_explicit(&out->sum, sum, relaxed);
    atomic_store_explicit(&out->min, histogram_bucket_low(first), relaxed);
    atomic_store_explicit(&out->max, max < real_max || real_max == 0 ? max : real_max,
                          relaxed);
}

void histogram_copy(struct histogram *dst, const struct histogram *src)
{
    atomic_store_explicit(&dst->count, atomic_load_explicit(&src->count, relaxed), relaxed);
    atomic_store_explicit(&dst->sum, atomic_load_explicit(&src->sum, relaxed), relaxed);
    atomic_store_explicit(&dst->min, atomic_load_explicit(&src->min, relaxed), relaxed);
    atomic_store_explicit(&dst->max, atomic_load_explicit(&src->max, relaxed), relaxed);
    for (size_t i = 0; i < HIST_BUCKETS; i++)
        atomic_store_explicit(&dst->buckets[i],
                              atomic_load_explicit(&src->buckets[i], relaxed), relaxed);
}

uint64_t histogram_count(const struct histogram *h)
{
    return atomic_load_explicit(&h->count, relaxed);
}

uint64_t histogram_min(const struct histogram *h)
{
    /* Test the count, not min == UINT64_MAX: UINT64_MAX is a valid value. */
    if (histogram_count(h) == 0)
        return 0;
    return atomic_load_explicit(&h->min, relaxed);
}

uint64_t histogram_max(const struct histogram *h)
{
    if (histogram_count(h) == 0)
        return 0;
    return atomic_load_explicit(&h->max, relaxed);
}

double histogram_mean(const struct histogram *h)
{
    uint64_t count = histogram_count(h);
    if (count == 0)
        return 0.0;
    return (double)atomic_load_explicit(&h->sum, relaxed) / (double)count;
}

uint64_t histogram_percentile(const struct histogram *h, double p)
{
    if (p < 0.0 || isnan(p))
        p = 0.0;
    if (p > 100.0)
        p = 100.0;

    /* Count from the buckets themselves rather than h->count: on a live
     * histogram the two can differ by the records in flight, and the walk
     * below must be able to reach its rank. */
    uint64_t total = 0;
    for (size_t i = 0; i < HIST_BUCKETS; i++)
        total += atomic_load_explicit(&h->buckets[i], relaxed);
    if (total == 0)
        return 0;

    /* The rank of the record we want, 1-based: p50 of 10 records is the
     * 5th, p0 is the first. */
    uint64_t rank = (uint64_t)ceil(p / 100.0 * (double)total);
    if (rank < 1)
        rank = 1;
    if (rank > total)
        rank = total;

    uint64_t min = atomic_load_explicit(&h->min, relaxed);
    uint64_t max = atomic_load_explicit(&h->max, relaxed);
    /* The last record is the max, which we know exactly; this also
     * covers values too large for the buckets (all in the last one). */
    if (rank == total)
        return max;

    /* Walk all buckets but the last; a rank that lands in the last one
     * (home of every too-large value too) reports the max. */
    uint64_t seen = 0;
    uint64_t value = max;
    for (size_t i = 0; i < HIST_BUCKETS - 1; i++) {
        seen += atomic_load_explicit(&h->buckets[i], relaxed);
        if (seen >= rank) {
            /* The largest value this bucket can hold (its exclusive upper
             * bound minus one), so exact buckets report exact values. */
            value = histogram_bucket_high(i) - 1;
            break;
        }
    }
    /* Clamp to what was really recorded: p100 is the exact max, and a
     * value in a wide bucket is never reported above the max seen. */
    if (value > max)
        value = max;
    if (value < min)
        value = min;
    return value;
}
