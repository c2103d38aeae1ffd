/*
 * test_kept_reentrant.c — exercise 10's tests kept for after the due
 * date: a done callback that starts the next lookup (allowed by
 * lookup.h), and a cancel that comes after the outcome is decided but
 * before done has run (a synchronous service, cancelled before the loop
 * turns).  Each must still end in exactly one completion per lookup.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "grade_cmocka.h"
#include "../lookup.h"

struct chain {
    struct loop *loop;
    struct service *svc;
    int calls[2];
    int status[2];
};

static void second_done(void *data, int status, const char *value)
{
    (void)value;
    struct chain *c = data;
    if (c->calls[1]++ == 0)
        c->status[1] = status;
}

static void first_done(void *data, int status, const char *value)
{
    (void)value;
    struct chain *c = data;
    if (c->calls[0]++ == 0) {
        c->status[0] = status;
        struct lookup *next;
        /* Starting another lookup from inside done. */
        c->status[1] = lookup_start(&next, c->loop, c->svc, "b", 200, second_done, c);
    }
}

static void done_starts_next_lookup(void **state)
{
    (void)state;
    struct chain c = { 0 };
    assert_int_equal(loop_new(&c.loop, "poll", NULL), 0);
    assert_int_equal(service_new(&c.svc, c.loop), 0);
    service_script(c.svc, "a", SERVICE_REPLY, "a2", 0, 5);
    service_script(c.svc, "a2", SERVICE_REPLY, "A", 0, 5);
    service_script(c.svc, "b", SERVICE_REPLY, "b2", 0, 5);
    service_script(c.svc, "b2", SERVICE_REPLY, "B", 0, 5);
    struct lookup *lk;
    assert_int_equal(lookup_start(&lk, c.loop, c.svc, "a", 200, first_done, &c), 0);
    for (int i = 0; i < 100 && c.calls[1] == 0; i++)
        loop_run_once(c.loop, 10);
    for (int i = 0; i < 10; i++)
        loop_run_once(c.loop, 10);
    grade_explain("the first lookup's done ran once; inside it a second lookup started");
    assert_int_equal(c.calls[0], 1);
    grade_explain("the lookup started from inside done completes once too");
    assert_int_equal(c.calls[1], 1);
    assert_int_equal(c.status[1], 0);
    grade_explain("nothing pending at the end");
    assert_int_equal(service_pending(c.svc), 0);
    service_free(c.svc);
    assert_int_equal(loop_active_timer_count(c.loop), 0);
    loop_free(c.loop);
}

static void record(void *data, int status, const char *value)
{
    (void)value;
    int *counts = data;
    counts[0]++;
    counts[1] = status;
}

static void cancel_after_sync_outcome(void **state)
{
    (void)state;
    struct loop *loop;
    struct service *svc;
    assert_int_equal(loop_new(&loop, "poll", NULL), 0);
    assert_int_equal(service_new(&svc, loop), 0);
    service_script(svc, "s", SERVICE_SYNC, "s2", 0, 0);
    service_script(svc, "s2", SERVICE_SYNC, "S", 0, 0);
    int counts[2] = { 0, 0 };
    struct lookup *lk;
    assert_int_equal(lookup_start(&lk, loop, svc, "s", 200, record, counts), 0);
    lookup_cancel(lk);      /* the result is known, done has not run yet */
    for (int i = 0; i < 30; i++)
        loop_run_once(loop, 10);
    grade_explain("a lookup cancelled after a synchronous outcome but before done ran: done calls");
    assert_int_equal(counts[0], 1);
    grade_explain("its status: the cancel came first for the caller (-ECANCELED)");
    assert_int_equal(counts[1], -ECANCELED);
    service_free(svc);
    grade_explain("no timer left after the cancel");
    assert_int_equal(loop_active_timer_count(loop), 0);
    loop_free(loop);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(done_starts_next_lookup),
    cmocka_unit_test(cancel_after_sync_outcome),
};

static const struct grade_points points[] = {
    { "done_starts_next_lookup", 1, "", 10,
      "a done callback that starts another lookup: both complete exactly once" },
    { "cancel_after_sync_outcome", 1, "", 10,
      "cancel after a synchronous outcome but before done ran: done once, -ECANCELED" },
};

int main(int argc, char **argv)
{
    return grade_cmocka_main(argc, argv, tests, sizeof tests / sizeof tests[0],
                             points, sizeof points / sizeof points[0]);
}
