/*
 * test_lookup.c — the graded tests of exercise 10 (errors in asynchronous
 * code), cmocka tests run through grade_cmocka.h.
 *
 * Each test builds a real event loop (lib/loop) and the fake service,
 * scripts how its keys behave, starts lookups and turns the loop until
 * they complete or a time limit passes.  Every completion is counted by
 * record_done(), so "exactly once" is checked by counting, as libuv's own
 * tests do; after the last expected completion the loop keeps turning a
 * little longer, so a late second one is caught too.  At the end nothing
 * may be left: no request pending at the service, no loop timer.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "grade_cmocka.h"
#include "../lookup.h"

#define TIMEOUT_MS 200

struct outcome {
    int calls;                  /* how many times done ran */
    int status;                 /* of the first call */
    char value[64];
    bool called_inside_start;   /* done ran while lookup_start() was running */
};

static bool inside_start;

static void record_done(void *data, int status, const char *value)
{
    struct outcome *o = data;
    if (inside_start)
        o->called_inside_start = true;
    if (o->calls++ == 0) {
        o->status = status;
        snprintf(o->value, sizeof o->value, "%s", value != NULL ? value : "(NULL)");
    }
}

struct world {
    struct loop *loop;
    struct service *svc;
};

static void world_open(struct world *w)
{
    assert_int_equal(loop_new(&w->loop, "poll", NULL), 0);
    assert_int_equal(service_new(&w->svc, w->loop), 0);
}

/* Checks rule 7 on what is left, then frees (when it safely can). */
static void world_close(struct world *w)
{
    grade_explain("after every lookup completed: requests still pending at the service "
                  "(each should have been replied to or cancelled)");
    assert_int_equal(service_pending(w->svc), 0);
    service_free(w->svc);
    grade_explain("after every lookup completed: loop timers still running "
                  "(a timeout or other timer the lookup forgot to stop)");
    assert_int_equal(loop_active_timer_count(w->loop), 0);
    loop_free(w->loop);
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Turns the loop until *calls reaches want (then linger_ms more, to
 * catch a duplicate) or max_ms pass. */
static void run_until(struct world *w, const int *calls, int want, int max_ms, int linger_ms)
{
    uint64_t start = now_ms(), done_at = 0;
    while (now_ms() - start < (uint64_t)max_ms) {
        if (*calls >= want && done_at == 0)
            done_at = now_ms();
        if (done_at != 0 && now_ms() - done_at >= (uint64_t)linger_ms)
            return;
        loop_run_once(w->loop, 10);
    }
}

static int start_lookup(struct world *w, const char *key, struct outcome *o, struct lookup **lk)
{
    inside_start = true;
    int rc = lookup_start(lk, w->loop, w->svc, key, TIMEOUT_MS, record_done, o);
    inside_start = false;
    return rc;
}

static void expect_once(const struct outcome *o, const char *input)
{
    grade_explain("how many times done was called (%s)", input);
    assert_int_equal(o->calls, 1);
    grade_explain("done must not run inside lookup_start() (%s)", input);
    assert_false(o->called_inside_start);
}

static void two_steps_succeed(void **state)
{
    (void)state;
    struct world w;
    world_open(&w);
    service_script(w.svc, "user:7", SERVICE_REPLY, "profile:7", 0, 20);
    service_script(w.svc, "profile:7", SERVICE_REPLY, "Ada", 0, 20);
    struct outcome o = { 0 };
    struct lookup *lk;

    grade_explain("lookup_start(\"user:7\") returns 0 (user:7 -> profile:7 -> Ada, 20 ms each)");
    assert_int_equal(start_lookup(&w, "user:7", &o, &lk), 0);
    run_until(&w, &o.calls, 1, 2000, 100);
    expect_once(&o, "user:7 -> profile:7 -> Ada");
    grade_explain("done's status for user:7 -> profile:7 -> Ada");
    assert_int_equal(o.status, 0);
    grade_explain("done's value for user:7 -> profile:7 -> Ada");
    assert_string_equal(o.value, "Ada");
    grade_explain("the service was asked exactly twice");
    assert_int_equal(service_started(w.svc), 2);
    world_close(&w);
}

static void first_step_error(void **state)
{
    (void)state;
    struct world w;
    world_open(&w);
    service_script(w.svc, "user:7", SERVICE_ERROR, NULL, -EIO, 20);
    struct outcome o = { 0 };
    struct lookup *lk;

    grade_explain("lookup_start(\"user:7\") returns 0 (user:7 replies -EIO after 20 ms)");
    assert_int_equal(start_lookup(&w, "user:7", &o, &lk), 0);
    run_until(&w, &o.calls, 1, 2000, 100);
    expect_once(&o, "user:7 replies -EIO");
    grade_explain("done's status when step 1 replies -EIO (-5)");
    assert_int_equal(o.status, -EIO);
    grade_explain("no second step after a failed first one: service_get() calls");
    assert_int_equal(service_started(w.svc), 1);
    world_close(&w);
}

static void second_step_error(void **state)
{
    (void)state;
    struct world w;
    world_open(&w);
    /* profile:9 is not scripted: the service replies -ENOENT. */
    service_script(w.svc, "user:9", SERVICE_REPLY, "profile:9", 0, 10);
    struct outcome o = { 0 };
    struct lookup *lk;

    assert_int_equal(start_lookup(&w, "user:9", &o, &lk), 0);
    run_until(&w, &o.calls, 1, 2000, 100);
    expect_once(&o, "user:9 -> profile:9 -> -ENOENT");
    grade_explain("done's status when step 2 replies -ENOENT (-2)");
    assert_int_equal(o.status, -ENOENT);
    world_close(&w);
}

static void hang_times_out(void **state)
{
    (void)state;
    struct world w;
    world_open(&w);
    service_script(w.svc, "user:1", SERVICE_REPLY, "profile:1", 0, 10);
    service_script(w.svc, "profile:1", SERVICE_HANG, NULL, 0, 0);
    struct outcome o = { 0 };
    struct lookup *lk;

    uint64_t started = now_ms();
    assert_int_equal(start_lookup(&w, "user:1", &o, &lk), 0);
    run_until(&w, &o.calls, 1, 3000, 100);
    uint64_t took = now_ms() - started;
    grade_explain("a lookup whose second step never replies completes within 3 s "
                  "(timeout_ms = %d): done calls", TIMEOUT_MS);
    assert_int_equal(o.calls, 1);
    expect_once(&o, "step 2 never replies");
    grade_explain("done's status when the chain outlives timeout_ms: -ETIMEDOUT (-110)");
    assert_int_equal(o.status, -ETIMEDOUT);
    grade_explain("the timeout fires after timeout_ms, not before (took %llu ms, limit %d)",
                  (unsigned long long)took, TIMEOUT_MS);
    assert_true(took + 5 >= TIMEOUT_MS);
    world_close(&w);            /* the hanging request must have been cancelled */
}

static void duplicate_reply_ignored(void **state)
{
    (void)state;
    struct world w;
    world_open(&w);
    service_script(w.svc, "user:2", SERVICE_REPLY, "profile:2", 0, 10);
    service_script(w.svc, "profile:2", SERVICE_TWICE, "Grace", 0, 10);
    struct outcome o = { 0 };
    struct lookup *lk;

    assert_int_equal(start_lookup(&w, "user:2", &o, &lk), 0);
    run_until(&w, &o.calls, 1, 2000, 150);  /* the duplicate comes 20 ms later */
    expect_once(&o, "step 2 replies \"Grace\" twice, 20 ms apart");
    grade_explain("done's value when step 2 replies twice");
    assert_string_equal(o.value, "Grace");

    grade_explain("a duplicate of step 1 does not start step 2 twice nor complete twice");
    service_script(w.svc, "user:3", SERVICE_TWICE, "profile:3", 0, 10);
    service_script(w.svc, "profile:3", SERVICE_REPLY, "Hopper", 0, 50);
    struct outcome o2 = { 0 };
    assert_int_equal(start_lookup(&w, "user:3", &o2, &lk), 0);
    run_until(&w, &o2.calls, 1, 2000, 150);
    expect_once(&o2, "step 1 replies twice, 20 ms apart");
    assert_string_equal(o2.value, "Hopper");
    world_close(&w);
}

static void sync_reply_deferred(void **state)
{
    (void)state;
    struct world w;
    world_open(&w);
    service_script(w.svc, "user:4", SERVICE_SYNC, "profile:4", 0, 0);
    service_script(w.svc, "profile:4", SERVICE_SYNC, "Barbara", 0, 0);
    struct outcome o = { 0 };
    struct lookup *lk;

    grade_explain("lookup_start() with a service that replies synchronously to both steps");
    assert_int_equal(start_lookup(&w, "user:4", &o, &lk), 0);
    grade_explain("done must not have run yet when lookup_start() returns (rule 2); calls so far");
    assert_int_equal(o.calls, 0);
    run_until(&w, &o.calls, 1, 2000, 100);
    expect_once(&o, "both steps reply inside service_get()");
    grade_explain("done's value when both steps reply synchronously");
    assert_string_equal(o.value, "Barbara");
    world_close(&w);
}

static void start_failure(void **state)
{
    (void)state;
    struct world w;
    world_open(&w);
    service_script(w.svc, "user:5", SERVICE_REFUSE, NULL, -ECONNREFUSED, 0);
    struct outcome o = { 0 };
    struct lookup *lk;

    grade_explain("lookup_start() when the first service_get() fails at once with -ECONNREFUSED: "
                  "its return value (rule 1)");
    assert_int_equal(start_lookup(&w, "user:5", &o, &lk), -ECONNREFUSED);
    run_until(&w, &o.calls, 1, 300, 0);
    grade_explain("done must never run for a lookup_start() that returned an error; calls");
    assert_int_equal(o.calls, 0);

    service_script(w.svc, "user:6", SERVICE_REPLY, "profile:6", 0, 10);
    service_script(w.svc, "profile:6", SERVICE_REFUSE, NULL, -ECONNREFUSED, 0);
    struct outcome o2 = { 0 };
    grade_explain("lookup_start() when only the second service_get() fails at once");
    assert_int_equal(start_lookup(&w, "user:6", &o2, &lk), 0);
    run_until(&w, &o2.calls, 1, 2000, 100);
    expect_once(&o2, "the second service_get() fails at once with -ECONNREFUSED");
    grade_explain("done's status when the second service_get() is refused (-111)");
    assert_int_equal(o2.status, -ECONNREFUSED);
    world_close(&w);
}

static void cancel_completes_once(void **state)
{
    (void)state;
    struct world w;
    world_open(&w);
    service_script(w.svc, "user:8", SERVICE_HANG, NULL, 0, 0);
    struct outcome o = { 0 };
    struct lookup *lk;

    assert_int_equal(start_lookup(&w, "user:8", &o, &lk), 0);
    run_until(&w, &o.calls, 1, 50, 0);     /* let it get going */
    lookup_cancel(lk);
    grade_explain("lookup_cancel() on a running lookup: done calls before it returns (rule 6)");
    assert_int_equal(o.calls, 1);
    grade_explain("done's status after lookup_cancel(): -ECANCELED (-125)");
    assert_int_equal(o.status, -ECANCELED);
    run_until(&w, &o.calls, 99, 2 * TIMEOUT_MS, 0);   /* past where a timeout would fire */
    grade_explain("nothing more after a cancel, not even the timeout: done calls");
    assert_int_equal(o.calls, 1);
    world_close(&w);
}

#define MANY 100

static void many_mixed_chains(void **state)
{
    (void)state;
    struct world w;
    world_open(&w);
    struct grade_ctx *ctx = grade_cmocka_ctx();
    static struct outcome o[MANY];
    int expected[MANY];
    struct lookup *lk;
    memset(o, 0, sizeof o);

    for (int i = 0; i < MANY; i++) {
        char key[32], mid[32];
        snprintf(key, sizeof key, "k%d", i);
        snprintf(mid, sizeof mid, "m%d", i);
        unsigned delay = 1 + (unsigned)grade_rand_below(ctx, 50);
        int kind = (int)grade_rand_below(ctx, 5);
        service_script(w.svc, key, SERVICE_REPLY, mid, 0, delay);
        switch (kind) {
        case 0: service_script(w.svc, mid, SERVICE_REPLY, "v", 0, delay); expected[i] = 0; break;
        case 1: service_script(w.svc, mid, SERVICE_ERROR, NULL, -EIO, delay); expected[i] = -EIO; break;
        case 2: service_script(w.svc, mid, SERVICE_HANG, NULL, 0, 0); expected[i] = -ETIMEDOUT; break;
        case 3: service_script(w.svc, mid, SERVICE_TWICE, "v", 0, delay); expected[i] = 0; break;
        default: service_script(w.svc, mid, SERVICE_SYNC, "v", 0, 0); expected[i] = 0; break;
        }
        assert_int_equal(start_lookup(&w, key, &o[i], &lk), 0);
    }
    int total = 0;
    uint64_t start = now_ms();
    while (now_ms() - start < 3000) {
        loop_run_once(w.loop, 10);
        total = 0;
        for (int i = 0; i < MANY; i++)
            total += o[i].calls;
        if (total >= MANY && now_ms() - start > TIMEOUT_MS + 150)
            break;
    }
    for (int i = 0; i < MANY; i++) {
        grade_explain("lookup %d of %d (seeded mix of replies, errors, hangs, duplicates, "
                      "synchronous replies): done calls", i, MANY);
        assert_int_equal(o[i].calls, 1);
        grade_explain("lookup %d of %d: done's status", i, MANY);
        assert_int_equal(o[i].status, expected[i]);
    }
    world_close(&w);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(two_steps_succeed),
    cmocka_unit_test(first_step_error),
    cmocka_unit_test(second_step_error),
    cmocka_unit_test(hang_times_out),
    cmocka_unit_test(duplicate_reply_ignored),
    cmocka_unit_test(sync_reply_deferred),
    cmocka_unit_test(start_failure),
    cmocka_unit_test(cancel_completes_once),
    cmocka_unit_test(many_mixed_chains),
};

static const struct grade_points points[] = {
    { "two_steps_succeed", 1, "", 10,
      "a two-step lookup completes once with the second value; nothing is left behind" },
    { "first_step_error", 1, "", 10,
      "an error in step 1 completes once with that error; no step 2" },
    { "second_step_error", 1, "", 10, "an error in step 2 completes once with that error" },
    { "hang_times_out", 2, "core,timing", 10,
      "a service that never replies: -ETIMEDOUT once after timeout_ms, the request cancelled" },
    { "duplicate_reply_ignored", 1, "core", 10,
      "a service that replies twice: done still runs exactly once" },
    { "sync_reply_deferred", 1, "", 10,
      "a service that replies synchronously: done still runs later, from the loop" },
    { "start_failure", 1, "", 10,
      "a request refused at once: lookup_start returns the error (step 1) or done gets it (step 2)" },
    { "cancel_completes_once", 1, "core", 10,
      "lookup_cancel: done once with -ECANCELED, then nothing (no timeout, no request)" },
    { "many_mixed_chains", 1, "", 15,
      "100 lookups with seeded misbehaviour: each completes exactly once with the right status" },
};

int main(int argc, char **argv)
{
    return grade_cmocka_main(argc, argv, tests, sizeof tests / sizeof tests[0],
                             points, sizeof points / sizeof points[0]);
}
