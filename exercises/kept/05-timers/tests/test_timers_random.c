/*
 * test_timers_random.c — kept test of exercise 05 (graded on the course
 * platform, shown after the due date): 20,000 seeded random operations on
 * the student's timers, compared step by step with a model the test keeps
 * itself.
 *
 * The model is deliberately naive — an array of (due, start order) per
 * timer and a linear scan — so it is obviously right.  Operations: start
 * (which moves an active timer), cancel, peek, count, timeout, and
 * run_due at a clock that only moves forward; callbacks sometimes cancel
 * or restart another timer, or restart themselves.  After every operation
 * the count, the earliest timer's due time and the timeout must agree.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <stdbool.h>

#include "grade_cmocka.h"
#include "timers.h"

enum { N = 64, OPS = 20000 };

struct model_timer {
    struct timer timer;       /* the student's */
    int id;
    bool active;              /* the model's view */
    uint64_t due;
    uint64_t order;           /* start order */
};

static struct model_timer mt[N];
static struct timers set;
static uint64_t next_order;
static uint64_t now;
static struct grade_ctx *ctx;
static int op_no;
/* Timers the current run_due must still run, in order (the model's answer). */
static int expected[N];
static int nexpected, next_expected;

static bool model_earlier(const struct model_timer *a, const struct model_timer *b)
{
    return a->due != b->due ? a->due < b->due : a->order < b->order;
}

static struct model_timer *model_first(void)
{
    struct model_timer *first = NULL;
    for (int i = 0; i < N; i++)
        if (mt[i].active && (first == NULL || model_earlier(&mt[i], first)))
            first = &mt[i];
    return first;
}

static size_t model_count(void)
{
    size_t n = 0;
    for (int i = 0; i < N; i++)
        n += mt[i].active;
    return n;
}

static void model_start(struct model_timer *t, uint64_t due)
{
    grade_explain("operation %d: timers_start(timer %d, %llu) returns 0", op_no, t->id,
                  (unsigned long long)due);
    assert_int_equal(timers_start(&set, &t->timer, due), 0);
    t->active = true;
    t->due = due;
    t->order = next_order++;
}

/* A timer the model expects in this run: removes it from the list. */
static void model_forget_expected(int id)
{
    for (int k = next_expected; k < nexpected; k++)
        if (expected[k] == id) {
            for (int j = k; j + 1 < nexpected; j++)
                expected[j] = expected[j + 1];
            nexpected--;
            return;
        }
}

static void model_cancel(struct model_timer *t)
{
    timers_cancel(&set, &t->timer);
    t->active = false;
    model_forget_expected(t->id);
}

static void on_fire(struct timers *s, struct timer *timer, void *data)
{
    (void)s;
    (void)timer;
    struct model_timer *t = data;
    grade_explain("operation %d (run_due at %llu, seed %llu): the next timer to fire is timer "
                  "%d, by due time then start order (timer %d fired)", op_no,
                  (unsigned long long)now, (unsigned long long)ctx->seed,
                  next_expected < nexpected ? expected[next_expected] : -1, t->id);
    assert_true(next_expected < nexpected && expected[next_expected] == t->id);
    next_expected++;
    t->active = false;
    grade_explain("operation %d: a timer is inactive while its callback runs", op_no);
    assert_false(timer_active(&t->timer));

    /* Mischief, by the seed. */
    uint64_t r = grade_rand_below(ctx, 8);
    struct model_timer *other = &mt[grade_rand_below(ctx, N)];
    if (r == 0 && other != t)
        model_cancel(other);
    else if (r == 1 && other != t) {
        model_forget_expected(other->id);     /* restarted: not run by this call */
        model_start(other, now + grade_rand_below(ctx, 3) * 1000);
    } else if (r == 2)
        model_start(t, now);                  /* itself, due now: next call */
}

static void check_agrees(void)
{
    grade_explain("operation %d: timers_count() agrees with the model (%zu)", op_no,
                  model_count());
    assert_int_equal(timers_count(&set), model_count());
    struct model_timer *first = model_first();
    struct timer *peek = timers_peek(&set);
    grade_explain("operation %d: timers_peek() is the earliest timer (due %llu)", op_no,
                  first ? (unsigned long long)first->due : 0ull);
    if (first == NULL)
        assert_null(peek);
    else {
        assert_non_null(peek);
        assert_int_equal(peek->due_ns, first->due);
    }
    int want = -1;
    if (first != NULL) {
        uint64_t wait = first->due > now ? first->due - now : 0;
        uint64_t ms = wait / 1000000 + (wait % 1000000 != 0);
        want = ms > INT_MAX ? INT_MAX : (int)ms;
    }
    grade_explain("operation %d: timers_timeout_ms(%llu) is %d", op_no,
                  (unsigned long long)now, want);
    assert_int_equal(timers_timeout_ms(&set, now), want);
}

static void run_due(void)
{
    /* The model's answer: every active timer due now, in order. */
    nexpected = next_expected = 0;
    for (;;) {
        struct model_timer *best = NULL;
        for (int i = 0; i < N; i++) {
            bool taken = false;
            for (int k = 0; k < nexpected; k++)
                taken |= expected[k] == i;
            if (mt[i].active && !taken && mt[i].due <= now &&
                (best == NULL || model_earlier(&mt[i], best)))
                best = &mt[i];
        }
        if (best == NULL)
            break;
        expected[nexpected++] = best->id;
    }
    size_t ran = timers_run_due(&set, now);
    grade_explain("operation %d: timers_run_due(%llu) ran every due timer (%d expected, the "
                  "call returned %zu)", op_no, (unsigned long long)now, nexpected, ran);
    assert_int_equal(next_expected, nexpected);
    assert_int_equal(ran, (size_t)nexpected);
}

static void test_random_against_model(void **state)
{
    (void)state;
    ctx = grade_cmocka_ctx();
    timers_init(&set);
    next_order = 0;
    now = 1000000000ull;
    for (int i = 0; i < N; i++) {
        mt[i].id = i;
        mt[i].active = false;
        timer_init(&mt[i].timer, on_fire, &mt[i]);
    }
    for (op_no = 1; op_no <= OPS; op_no++) {
        struct model_timer *t = &mt[grade_rand_below(ctx, N)];
        switch (grade_rand_below(ctx, 6)) {
        case 0:
        case 1:
            /* Due times close together (many ties), some in the past. */
            model_start(t, now - 2000000 + grade_rand_below(ctx, 50) * 400000);
            break;
        case 2:
            model_cancel(t);
            break;
        case 3:
            now += grade_rand_below(ctx, 3000000);
            run_due();
            break;
        default:
            break;                            /* just check */
        }
        check_agrees();
    }
    for (int i = 0; i < N; i++)
        timers_cancel(&set, &mt[i].timer);
    timers_free(&set);
}

int main(int argc, char **argv)
{
    static const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_against_model),
    };
    static const struct grade_points points[] = {
        { "test_random_against_model", 2, "", 10,
          "20,000 random starts, cancels and runs agree with a simple model at every step" },
    };
    return grade_cmocka_main(argc, argv, tests, 1, points, 1);
}
