/*
 * Log-linear histogram of non-negative 64-bit values (usually nanoseconds).
 *
 * Design: values below 2^HIST_SUB_BITS get a bucket each (exact).  Above
 * that, every power of two [2^e, 2^(e+1)) is split into 2^HIST_SUB_BITS
 * equal-width sub-buckets.  A bucket's width is therefore at most
 * 1/2^HIST_SUB_BITS of its lower bound, so any reported percentile is
 * within HIST_RELATIVE_ERROR (3.125%) of the true value.  This is the
 * same idea as HdrHistogram, which wrk2 uses, with fewer knobs.
 *
 * The struct has a fixed size and no pointers, so it can live in shared
 * memory.  Counters are C11 atomics updated with relaxed ordering: many
 * threads may record into one histogram at once without locks, and a
 * reader in another process may copy it at any moment (a copy taken while
 * writers run is a consistent-enough snapshot: each counter is exact, the
 * total may be off by the handful of records in flight).
 *
 * Values at or above HIST_MAX_VALUE land in the last bucket and still
 * count toward max.
 *
 * Errors: none; every function accepts any value.
 * Ownership: the caller owns the struct (embed it, or allocate it).
 */
#ifndef EVLAB_HISTOGRAM_H
#define EVLAB_HISTOGRAM_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define HIST_SUB_BITS        5
#define HIST_SUB_BUCKETS     (1u << HIST_SUB_BITS)
#define HIST_MAX_EXPONENT    44            /* 2^44 ns is about 4.9 hours */
#define HIST_BUCKETS         (HIST_SUB_BUCKETS * (HIST_MAX_EXPONENT - HIST_SUB_BITS + 1))
#define HIST_MAX_VALUE       ((uint64_t)1 << HIST_MAX_EXPONENT)
#define HIST_RELATIVE_ERROR  (1.0 / HIST_SUB_BUCKETS)

struct histogram {
    _Atomic uint64_t count;
    _Atomic uint64_t sum;      /* saturates at UINT64_MAX rather than wrapping */
    _Atomic uint64_t min;      /* UINT64_MAX while empty */
    _Atomic uint64_t max;
    _Atomic uint64_t buckets[HIST_BUCKETS];
};

void histogram_init(struct histogram *h);
void histogram_record(struct histogram *h, uint64_t value);
/* The same for a histogram that only one thread ever records into (each
 * probe thread's own, probe_layout.h): plain relaxed loads and stores
 * instead of locked read-modify-write instructions, so recording costs a
 * few ns less.  Readers may read it at any time, as any histogram. */
void histogram_record_owned(struct histogram *h, uint64_t value);
/* histogram_record_owned() `times` times with one value, in one update
 * (a run of handlers that shared one clock reading, probe_handlers_ran()). */
void histogram_record_owned_times(struct histogram *h, uint64_t value, uint64_t times);

/* Add every count of `from` into `into` (e.g. one histogram per load
 * generator connection, merged at the end). */
void histogram_merge(struct histogram *into, const struct histogram *from);

/* What was recorded between two copies of one histogram: out = now -
 * base, bucket by bucket (out is re-initialised first; empty when nothing
 * happened in between).  The window's min and max are only known to a
 * bucket, never past the real maximum of `now`.  Used for "the last few
 * seconds" by the live view and for one lesson step's window. */
void histogram_window(struct histogram *out, const struct histogram *now,
                      const struct histogram *base);

/* Copy with relaxed loads: how a reader takes a snapshot of a live one. */
void histogram_copy(struct histogram *dst, const struct histogram *src);

uint64_t histogram_count(const struct histogram *h);
uint64_t histogram_min(const struct histogram *h);    /* 0 when empty */
uint64_t histogram_max(const struct histogram *h);    /* 0 when empty */
double   histogram_mean(const struct histogram *h);   /* 0 when empty */

/* The value at percentile p (0..100): the upper bound of the bucket that
 * holds the p-th percentile record, clamped to [min, max] so p100 is the
 * exact max.  0 when empty. */
uint64_t histogram_percentile(const struct histogram *h, double p);

/* Bucket geometry, for drawing the histogram. */
size_t   histogram_bucket_index(uint64_t value);
uint64_t histogram_bucket_low(size_t index);   /* inclusive */
uint64_t histogram_bucket_high(size_t index);  /* exclusive */

#endif
