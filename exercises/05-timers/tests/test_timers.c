/*
 * test_timers.c — the graded tests of exercise 05 (timers: a min-heap, the
 * wait's timeout, cancellation), cmocka tests run through grade_cmocka.
 *
 * Time is the tests' own: they pass now_ns explicitly, so every ordering
 * and rounding check is exact and needs no sleeping.  Only two tests look
 * at the real clock: one runs a real poll() loop on the student's
 * timeouts and counts its turns (a loop that rounds down spins through
 * hundreds of zero-timeout turns before each timer), the other checks
 * that 200,000 timers take well under the 2.5 s allowed (a sorted list or
 * a linear scan takes many seconds: the heap is the point).
 *
 * Each fired timer is recorded with the `now` it fired at, so a test can
 * say which timer fired early, late, twice or never.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "grade_cmocka.h"
#include "timers.h"

#define MS 1000000ull   /* nanoseconds */

/* A test timer: which one it is, and what happened to it. */
struct test_timer {
    struct timer timer;
    int id;
    int fired;                /* how many times its callback ran */
    uint64_t fired_at;        /* the now_ns of its last firing */
};

static uint64_t current_now;  /* the now_ns the test passed to timers_run_due() */
static int fire_order[256 * 1024];
static int nfired;

static void on_fire(struct timers *set, struct timer *timer, void *data)
{
    (void)set;
    (void)timer;
    struct test_timer *t = data;
    t->fired++;
    t->fired_at = current_now;
    if (nfired < (int)(sizeof fire_order / sizeof fire_order[0]))
        fire_order[nfired] = t->id;
    nfired++;
}

static void init_timers(struct test_timer *timers, int count)
{
    for (int i = 0; i < count; i++) {
        timers[i].id = i;
        timers[i].fired = 0;
        timer_init(&timers[i].timer, on_fire, &timers[i]);
    }
    nfired = 0;
}

static size_t run_due(struct timers *set, uint64_t now)
{
    current_now = now;
    return timers_run_due(set, now);
}

static void start(struct timers *set, struct test_timer *t, uint64_t due)
{
    grade_explain("timers_start(timer %d, due %llu ns) returns 0", t->id,
                  (unsigned long long)due);
    assert_int_equal(timers_start(set, &t->timer, due), 0);
}

static uint64_t clock_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/*
 * Starts `count` timers at random due times (with ties: only 40 distinct
 * values), in random order, then advances the clock in steps and checks
 * that each fires once, at the first step at or after its due time, in
 * order of (due, start order).
 */
static void test_fires_in_order(void **state)
{
    (void)state;
    struct grade_ctx *ctx = grade_cmocka_ctx();
    enum { N = 60 };
    static struct test_timer t[N];
    int started[N];              /* start order -> timer id */
    struct timers set;
    timers_init(&set);
    init_timers(t, N);
    for (int i = 0; i < N; i++) {
        started[i] = i;
        t[i].timer.due_ns = 0;
    }
    /* Shuffle the start order. */
    for (int i = N - 1; i > 0; i--) {
        int j = (int)grade_rand_below(ctx, (uint64_t)i + 1);
        int tmp = started[i];
        started[i] = started[j];
        started[j] = tmp;
    }
    uint64_t due[N];
    uint64_t earliest = UINT64_MAX;
    for (int k = 0; k < N; k++) {
        int id = started[k];
        due[id] = 1000 * MS + grade_rand_below(ctx, 40) * 25 * MS;
        start(&set, &t[id], due[id]);
        if (due[id] < earliest)
            earliest = due[id];
    }
    grade_explain("after %d timers_start() calls (seed %llu), timers_count() is %d", N,
                  (unsigned long long)ctx->seed, N);
    assert_int_equal(timers_count(&set), N);
    grade_explain("timers_peek() returns a timer due at the earliest due time");
    assert_non_null(timers_peek(&set));
    assert_int_equal(timers_peek(&set)->due_ns, earliest);

    grade_explain("nothing fires before the earliest due time (run_due at %llu ns)",
                  (unsigned long long)(earliest - 1));
    assert_int_equal(run_due(&set, earliest - 1), 0);
    for (uint64_t now = 1000 * MS; now <= 2100 * MS; now += 37 * MS)
        run_due(&set, now);

    grade_explain("every one of %d timers fired exactly once (%d callbacks ran)", N, nfired);
    assert_int_equal(nfired, N);
    for (int i = 0; i < N; i++) {
        grade_explain("timer %d (due %llu ms) fired once, at the first step >= its due time "
                      "(fired %d times, last at %llu ms)", i,
                      (unsigned long long)(due[i] / MS), t[i].fired,
                      (unsigned long long)(t[i].fired_at / MS));
        assert_int_equal(t[i].fired, 1);
        assert_true(t[i].fired_at >= due[i] && t[i].fired_at < due[i] + 37 * MS);
    }
    /* Order: by due time, ties in start order. */
    int position[N];
    for (int k = 0; k < N; k++)
        position[started[k]] = k;
    for (int i = 1; i < N; i++) {
        int a = fire_order[i - 1], b = fire_order[i];
        bool ok = due[a] < due[b] || (due[a] == due[b] && position[a] < position[b]);
        grade_explain("firing order: timer %d (due %llu ms, started %d.) fired before timer %d "
                      "(due %llu ms, started %d.): earlier due first, ties in start order",
                      a, (unsigned long long)(due[a] / MS), position[a] + 1, b,
                      (unsigned long long)(due[b] / MS), position[b] + 1);
        assert_true(ok);
    }
    grade_explain("after all fired, timers_count() is 0 and timers_peek() NULL");
    assert_int_equal(timers_count(&set), 0);
    assert_null(timers_peek(&set));
    timers_free(&set);
}

static void test_cancel(void **state)
{
    (void)state;
    struct grade_ctx *ctx = grade_cmocka_ctx();
    enum { N = 40 };
    static struct test_timer t[N];
    bool cancelled[N] = { false };
    struct timers set;
    timers_init(&set);
    init_timers(t, N);
    for (int i = 0; i < N; i++)
        start(&set, &t[i], (100 + grade_rand_below(ctx, 1000)) * MS);

    /* The earliest (the heap's root), the latest (often a leaf), and some
     * random ones: each removal from a different place in the heap. */
    int earliest = 0, latest = 0;
    for (int i = 0; i < N; i++) {
        if (t[i].timer.due_ns < t[earliest].timer.due_ns)
            earliest = i;
        if (t[i].timer.due_ns > t[latest].timer.due_ns)
            latest = i;
    }
    int victims[10] = { earliest, latest };
    for (int k = 2; k < 10; k++)
        victims[k] = (int)grade_rand_below(ctx, N);
    size_t expected_count = N;
    for (int k = 0; k < 10; k++) {
        int v = victims[k];
        timers_cancel(&set, &t[v].timer);
        if (!cancelled[v])
            expected_count--;
        cancelled[v] = true;
        grade_explain("after cancelling timer %d (%s), timer_active() is false and "
                      "timers_count() is %zu", v,
                      k == 0 ? "the earliest" : k == 1 ? "the latest" : "a random one "
                      "(maybe cancelled twice)", expected_count);
        assert_false(timer_active(&t[v].timer));
        assert_int_equal(timers_count(&set), expected_count);
    }
    struct test_timer never;
    never.id = 999;
    never.fired = 0;
    timer_init(&never.timer, on_fire, &never);
    grade_explain("cancelling a timer that was never started does nothing");
    timers_cancel(&set, &never.timer);
    assert_int_equal(timers_count(&set), expected_count);

    grade_explain("timers_peek() is the earliest timer still active");
    const struct timer *first = timers_peek(&set);
    for (int i = 0; i < N; i++)
        if (!cancelled[i])
            assert_true(first->due_ns <= t[i].timer.due_ns);

    run_due(&set, 2000 * MS);
    for (int i = 0; i < N; i++) {
        grade_explain("timer %d (%s) fired %d times", i, cancelled[i] ? "cancelled" : "active",
                      cancelled[i] ? 0 : 1);
        assert_int_equal(t[i].fired, cancelled[i] ? 0 : 1);
    }
    for (int i = 1; i < nfired; i++) {
        grade_explain("the timers left after the cancellations still fire in due order "
                      "(timer %d before timer %d)", fire_order[i - 1], fire_order[i]);
        assert_true(t[fire_order[i - 1]].timer.due_ns <= t[fire_order[i]].timer.due_ns);
    }
    timers_free(&set);
}

static void test_restart_moves_timer(void **state)
{
    (void)state;
    static struct test_timer t[2];
    struct timers set;
    timers_init(&set);
    init_timers(t, 2);
    start(&set, &t[0], 100 * MS);
    start(&set, &t[0], 300 * MS);
    grade_explain("an active timer started again (100 ms, then 300 ms) is in the set once");
    assert_int_equal(timers_count(&set), 1);
    grade_explain("restarted to 300 ms, it does not fire at 200 ms");
    assert_int_equal(run_due(&set, 200 * MS), 0);
    grade_explain("restarted to 300 ms, it fires once at 300 ms");
    assert_int_equal(run_due(&set, 300 * MS), 1);
    assert_int_equal(t[0].fired, 1);
    assert_false(timer_active(&t[0].timer));

    start(&set, &t[0], 900 * MS);
    start(&set, &t[1], 500 * MS);
    start(&set, &t[0], 400 * MS);
    grade_explain("a timer moved earlier (900 ms -> 400 ms) becomes the first: "
                  "timers_peek() is it");
    assert_ptr_equal(timers_peek(&set), &t[0].timer);
    assert_int_equal(run_due(&set, 450 * MS), 1);
    assert_int_equal(t[0].fired, 2);
    assert_int_equal(t[1].fired, 0);
    timers_cancel(&set, &t[1].timer);
    timers_free(&set);
}

static void expect_timeout(struct timers *set, uint64_t now, int want, const char *when)
{
    int got = timers_timeout_ms(set, now);
    grade_explain("timers_timeout_ms() with the first timer %s is %d (got %d)", when, want, got);
    assert_int_equal(got, want);
}

static void test_timeout_rounds_up(void **state)
{
    (void)state;
    static struct test_timer t[1];
    struct timers set;
    timers_init(&set);
    init_timers(t, 1);
    uint64_t now = 5000 * MS;
    grade_explain("timers_timeout_ms() with no timer is -1 (got %d)", timers_timeout_ms(&set, now));
    assert_int_equal(timers_timeout_ms(&set, now), -1);
    const struct { int64_t offset_ns; int want; const char *when; } cases[] = {
        { -(int64_t)(3 * MS), 0, "3 ms overdue" },
        { 0, 0, "due exactly now" },
        { 1, 1, "due in 1 ns (round up: 0 would wake too early and spin)" },
        { 300000, 1, "due in 0.3 ms" },
        { 999999, 1, "due in 0.999999 ms" },
        { (int64_t)MS, 1, "due in exactly 1 ms" },
        { (int64_t)MS + 1, 2, "due in 1 ms + 1 ns" },
        { 2500000, 3, "due in 2.5 ms" },
        { (int64_t)(1000 * MS), 1000, "due in 1 s" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        start(&set, &t[0], (uint64_t)((int64_t)now + cases[i].offset_ns));
        expect_timeout(&set, now, cases[i].want, cases[i].when);
    }
    start(&set, &t[0], now + 30ull * 24 * 3600 * 1000 * MS);
    expect_timeout(&set, now, INT_MAX, "due in 30 days (more ms than an int holds: INT_MAX)");
    start(&set, &t[0], UINT64_MAX);
    expect_timeout(&set, now, INT_MAX, "due at UINT64_MAX ns (no overflow)");
    timers_cancel(&set, &t[0].timer);
    timers_free(&set);
}

/* For test_callbacks_change_timers. */
static struct test_timer ct[6];
static struct timers *ct_set;

/* Timer 0 cancels timer 1 (due at the same time, started after it). */
static void cancel_other(struct timers *set, struct timer *timer, void *data)
{
    on_fire(set, timer, data);
    timers_cancel(set, &ct[1].timer);
}

/* Timer 2 restarts itself "now": it must run once per timers_run_due(). */
static void restart_self(struct timers *set, struct timer *timer, void *data)
{
    on_fire(set, timer, data);
    assert_false(timer_active(timer));
    assert_int_equal(timers_start(set, timer, current_now), 0);
}

/* Timer 3 starts timer 4 due in the past: not run by this call. */
static void start_overdue(struct timers *set, struct timer *timer, void *data)
{
    on_fire(set, timer, data);
    assert_int_equal(timers_start(set, &ct[4].timer, 1 * MS), 0);
}

static void test_callbacks_change_timers(void **state)
{
    (void)state;
    struct timers set;
    timers_init(&set);
    ct_set = &set;
    init_timers(ct, 6);
    timer_init(&ct[0].timer, cancel_other, &ct[0]);
    timer_init(&ct[2].timer, restart_self, &ct[2]);
    timer_init(&ct[3].timer, start_overdue, &ct[3]);
    start(&set, &ct[0], 10 * MS);
    start(&set, &ct[1], 10 * MS);
    start(&set, &ct[2], 10 * MS);
    start(&set, &ct[3], 20 * MS);
    start(&set, &ct[5], 30 * MS);

    size_t ran = run_due(&set, 50 * MS);
    grade_explain("at 50 ms: timer 0 cancels timer 1 (also due) so it does not run; timer 2 "
                  "restarts itself at 50 ms (runs once in this call); timer 3 starts timer 4 "
                  "due at 1 ms (not run in this call); timer 5 runs. Timers 0,2,3,5 ran = 4 "
                  "(got %zu; fired: 0:%d 1:%d 2:%d 3:%d 4:%d 5:%d)", ran, ct[0].fired,
                  ct[1].fired, ct[2].fired, ct[3].fired, ct[4].fired, ct[5].fired);
    assert_int_equal(ct[1].fired, 0);
    assert_int_equal(ct[2].fired, 1);
    assert_int_equal(ct[4].fired, 0);
    assert_int_equal(ct[5].fired, 1);
    assert_int_equal(ran, 4);
    grade_explain("after the call, timers 2 and 4 are active (timers_count() is 2) and "
                  "timers_timeout_ms() is 0");
    assert_int_equal(timers_count(&set), 2);
    assert_int_equal(timers_timeout_ms(&set, 50 * MS), 0);

    ran = run_due(&set, 50 * MS);
    grade_explain("the next call at 50 ms runs timer 4 and timer 2 (again) = 2 (got %zu)", ran);
    assert_int_equal(ran, 2);
    assert_int_equal(ct[4].fired, 1);
    assert_int_equal(ct[2].fired, 2);
    timers_cancel(&set, &ct[2].timer);
    assert_int_equal(timers_count(&set), 0);
    timers_free(&set);
}

static void test_real_loop_does_not_spin(void **state)
{
    (void)state;
    static struct test_timer t[3];
    struct timers set;
    timers_init(&set);
    init_timers(t, 3);
    uint64_t start_ns = clock_ns();
    /* Due times that are not whole milliseconds away. */
    const uint64_t offsets[3] = { 5500000, 12300000, 20700000 };
    for (int i = 0; i < 3; i++)
        start(&set, &t[i], start_ns + offsets[i]);

    int turns = 0;
    while (timers_count(&set) > 0 && turns < 2000) {
        uint64_t now = clock_ns();
        int timeout = timers_timeout_ms(&set, now);
        grade_explain("in a real poll() loop with timers pending, timers_timeout_ms() is >= 0 "
                      "(got %d at turn %d)", timeout, turns + 1);
        assert_true(timeout >= 0);
        poll(NULL, 0, timeout);
        run_due(&set, clock_ns());
        turns++;
    }
    grade_explain("3 timers due in 5.5, 12.3 and 20.7 ms, a real poll() loop waiting "
                  "timers_timeout_ms(): all fire within 10 turns (took %d turns; rounding "
                  "down makes the loop wake early and spin)", turns);
    assert_int_equal(timers_count(&set), 0);
    assert_true(turns <= 10);
    for (int i = 0; i < 3; i++) {
        grade_explain("timer %d fired once, not before its due time", i);
        assert_int_equal(t[i].fired, 1);
        assert_true(t[i].fired_at >= t[i].timer.due_ns);
    }
    timers_free(&set);
}

static void test_many_timers_fast(void **state)
{
    (void)state;
    struct grade_ctx *ctx = grade_cmocka_ctx();
    enum { N = 200000 };
    struct test_timer *t = calloc(N, sizeof *t);
    assert_non_null(t);
    struct timers set;
    timers_init(&set);
    init_timers(t, N);
    uint64_t begin = clock_ns();
    for (int i = 0; i < N; i++) {
        assert_int_equal(timers_start(&set, &t[i].timer,
                                      1 + grade_rand_below(ctx, 1000000) * MS), 0);
        /* Give up as soon as the budget is spent, rather than wait for a
         * slow structure to finish. */
        if (i % 1000 == 999 && clock_ns() - begin > 2500 * MS) {
            grade_explain("200,000 timers_start() calls take under 2,500 ms (the first %d "
                          "already took %llu ms: each start costs more as the set grows; a "
                          "heap's start is O(log n))", i + 1,
                          (unsigned long long)((clock_ns() - begin) / MS));
            fail();
        }
    }
    for (int i = 0; i < N; i += 2)
        timers_cancel(&set, &t[i].timer);
    current_now = UINT64_MAX;
    size_t ran = timers_run_due(&set, UINT64_MAX);
    uint64_t took_ms = (clock_ns() - begin) / 1000000;
    grade_explain("200,000 timers started, every other one cancelled, the rest run: %d "
                  "callbacks expected (got %zu)", N / 2, ran);
    assert_int_equal(ran, N / 2);
    grade_explain("200,000 starts, 100,000 cancels and 100,000 firings take under 2,500 ms "
                  "(took %llu ms; a heap needs a few hundred at most, a sorted list or a "
                  "scan for the earliest needs many seconds)", (unsigned long long)took_ms);
    assert_true(took_ms < 2500);
    for (int i = 1; i < nfired && i < N / 2; i++) {
        if (t[fire_order[i - 1]].timer.due_ns > t[fire_order[i]].timer.due_ns) {
            grade_explain("firing %d: timer %d is due after timer %d, which fired next", i,
                          fire_order[i - 1], fire_order[i]);
            fail();
        }
    }
    timers_free(&set);
    free(t);
}

int main(int argc, char **argv)
{
    static const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fires_in_order),
        cmocka_unit_test(test_cancel),
        cmocka_unit_test(test_restart_moves_timer),
        cmocka_unit_test(test_timeout_rounds_up),
        cmocka_unit_test(test_callbacks_change_timers),
        cmocka_unit_test(test_real_loop_does_not_spin),
        cmocka_unit_test(test_many_timers_fast),
    };
    static const struct grade_points points[] = {
        { "test_fires_in_order", 2, "core", 5,
          "60 timers fire once each, on time, by due time (ties in start order)" },
        { "test_cancel", 2, "core", 5,
          "cancelled timers (first, last, random, twice, never started) never fire" },
        { "test_restart_moves_timer", 1, "core", 5,
          "starting an active timer again moves it; it fires once, at the new time" },
        { "test_timeout_rounds_up", 2, "core", 5,
          "the wait's timeout: -1 with no timer, 0 when due, milliseconds rounded up" },
        { "test_callbacks_change_timers", 1, "core", 5,
          "callbacks cancel, restart and start timers without breaking the rules" },
        { "test_real_loop_does_not_spin", 1, "core,timing", 5,
          "a real poll() loop on your timeouts fires 3 timers in a few turns, none early" },
        { "test_many_timers_fast", 1, "core,timing", 20,
          "200,000 timers are handled in under 2.5 s (a heap, not a list)" },
    };
    return grade_cmocka_main(argc, argv, tests, sizeof tests / sizeof tests[0], points,
                             sizeof points / sizeof points[0]);
}
