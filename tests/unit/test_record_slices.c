/*
 * test_record_slices.c — events back into nested per-thread slices
 * (lib/record/record_slices.h), including the sequences a recording that
 * starts or stops mid-run, or has a gap, produces.
 *
 * Covered: a loop turn holds its wait, dispatch, handler and the call the
 * handler blocks in, each nested in the one before; an end without its
 * begin is ignored; an end that skips an open slice closes it too, at the
 * same instant; a gap drops what was open; finish closes what is left; a
 * new turn ends the previous one; rings are independent; and the
 * blocked-server rule: a handler or a non-poll wait past the budget on the
 * loop thread counts, not on a worker, not in the threads model, not a
 * wait already inside a counted handler.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "record/record_slices.h"

#define MAX_SEEN 32

struct seen {
    struct record_slice slices[MAX_SEEN];
    size_t count;
};

static void collect(void *context, const struct record_slice *slice)
{
    struct seen *seen = context;
    assert_true(seen->count < MAX_SEEN);
    seen->slices[seen->count++] = *slice;
}

static struct record_slicer *slicer_new(struct seen *seen)
{
    struct record_slicer *slicer = malloc(sizeof *slicer);
    assert_non_null(slicer);
    memset(seen, 0, sizeof *seen);
    record_slicer_init(slicer, collect, seen);
    return slicer;
}

static void feed(struct record_slicer *slicer, uint64_t t, uint16_t kind, uint16_t ring, int fd,
                 uint64_t a)
{
    struct probe_event_record ev = { .t_ns = t, .kind = kind, .ring = ring, .fd = fd, .a = a };
    record_slicer_event(slicer, &ev);
}

static void test_a_turn_nests(void **state)
{
    (void)state;
    struct seen seen;
    struct record_slicer *s = slicer_new(&seen);
    feed(s, 100, PROBE_EV_POLL_ENTER, 0, -1, 0);
    feed(s, 110, PROBE_EV_BLOCK_BEGIN, 0, -1, PROBE_CALL_POLL);
    feed(s, 200, PROBE_EV_BLOCK_END, 0, -1, PROBE_CALL_POLL);
    feed(s, 210, PROBE_EV_DISPATCH_BEGIN, 0, 7, 1);
    feed(s, 220, PROBE_EV_HANDLER_BEGIN, 0, 7, 3);
    feed(s, 230, PROBE_EV_BLOCK_BEGIN, 0, 7, PROBE_CALL_SLEEP);
    feed(s, 900, PROBE_EV_BLOCK_END, 0, 7, PROBE_CALL_SLEEP);
    feed(s, 910, PROBE_EV_HANDLER_END, 0, 7, 3);
    feed(s, 920, PROBE_EV_DISPATCH_END, 0, 7, 1);
    feed(s, 1000, PROBE_EV_POLL_ENTER, 0, -1, 0);      /* ends the turn */
    assert_int_equal(seen.count, 5);
    /* Inner slices close first. */
    assert_int_equal(seen.slices[0].kind, RECORD_SLICE_WAIT);
    assert_int_equal(seen.slices[0].detail, PROBE_CALL_POLL);
    assert_int_equal(seen.slices[0].depth, 1);
    assert_int_equal(seen.slices[1].kind, RECORD_SLICE_WAIT);
    assert_int_equal(seen.slices[1].detail, PROBE_CALL_SLEEP);
    assert_int_equal(seen.slices[1].depth, 3);
    assert_true(seen.slices[1].in_handler);
    assert_int_equal(seen.slices[2].kind, RECORD_SLICE_HANDLER);
    assert_int_equal(seen.slices[2].begin_ns, 220);
    assert_int_equal(seen.slices[2].end_ns, 910);
    assert_false(seen.slices[2].in_handler);
    assert_int_equal(seen.slices[3].kind, RECORD_SLICE_DISPATCH);
    assert_int_equal(seen.slices[4].kind, RECORD_SLICE_TURN);
    assert_int_equal(seen.slices[4].begin_ns, 100);
    assert_int_equal(seen.slices[4].end_ns, 1000);
    record_slicer_finish(s, 1500);
    assert_int_equal(seen.count, 6);                   /* the second turn */
    assert_int_equal(seen.slices[5].end_ns, 1500);
    free(s);
}

static void test_unmatched_ends_and_gaps(void **state)
{
    (void)state;
    struct seen seen;
    struct record_slicer *s = slicer_new(&seen);
    /* The recording began inside a handler: its end has no begin. */
    feed(s, 10, PROBE_EV_HANDLER_END, 1, 5, 0);
    feed(s, 20, PROBE_EV_BLOCK_END, 1, 5, PROBE_CALL_READ);
    assert_int_equal(seen.count, 0);
    /* A dispatch whose handler's end was lost: both close at the
     * dispatch's end. */
    feed(s, 30, PROBE_EV_DISPATCH_BEGIN, 1, 5, 1);
    feed(s, 40, PROBE_EV_HANDLER_BEGIN, 1, 5, 0);
    feed(s, 50, PROBE_EV_DISPATCH_END, 1, 5, 1);
    assert_int_equal(seen.count, 2);
    assert_int_equal(seen.slices[0].kind, RECORD_SLICE_HANDLER);
    assert_int_equal(seen.slices[0].end_ns, 50);
    assert_int_equal(seen.slices[1].kind, RECORD_SLICE_DISPATCH);
    /* A wait for another call does not end this one. */
    feed(s, 60, PROBE_EV_BLOCK_BEGIN, 1, 5, PROBE_CALL_READ);
    feed(s, 70, PROBE_EV_BLOCK_END, 1, 5, PROBE_CALL_WRITE);
    assert_int_equal(seen.count, 2);
    /* Another ring is independent. */
    feed(s, 75, PROBE_EV_HANDLER_BEGIN, 2, 9, 0);
    feed(s, 76, PROBE_EV_HANDLER_END, 2, 9, 0);
    assert_int_equal(seen.count, 3);
    assert_int_equal(seen.slices[2].ring, 2);
    /* A gap: what was open is dropped, not reported with a made-up end. */
    record_slicer_gap(s);
    feed(s, 80, PROBE_EV_BLOCK_END, 1, 5, PROBE_CALL_READ);
    record_slicer_finish(s, 100);
    assert_int_equal(seen.count, 3);
    /* A ring out of range is ignored. */
    feed(s, 90, PROBE_EV_HANDLER_BEGIN, PROBE_MAX_RINGS, 1, 0);
    record_slicer_finish(s, 100);
    assert_int_equal(seen.count, 3);
    free(s);
}

static void test_deep_nesting_is_bounded(void **state)
{
    (void)state;
    struct seen seen;
    struct record_slicer *s = slicer_new(&seen);
    for (int i = 0; i < RECORD_SLICE_DEPTH + 4; i++)
        feed(s, 10 + (uint64_t)i, PROBE_EV_DISPATCH_BEGIN, 0, i, 1);
    record_slicer_finish(s, 100);
    assert_int_equal(seen.count, RECORD_SLICE_DEPTH);
    for (size_t i = 1; i < seen.count; i++)
        assert_true(seen.slices[i].depth < seen.slices[i - 1].depth);
    free(s);
}

static void test_what_blocks_a_server(void **state)
{
    (void)state;
    const uint64_t budget = 10;
    struct record_slice handler = { .kind = RECORD_SLICE_HANDLER, .begin_ns = 0, .end_ns = 11 };
    assert_true(record_slice_blocks_server(&handler, "loop", "loop", budget));
    assert_true(record_slice_blocks_server(&handler, "blocking", "main", budget));
    assert_false(record_slice_blocks_server(&handler, "threads", "conn", budget));
    assert_false(record_slice_blocks_server(&handler, "loop", "worker", budget));
    handler.end_ns = 10;                               /* exactly the budget: fine */
    assert_false(record_slice_blocks_server(&handler, "loop", "loop", budget));

    struct record_slice wait = { .kind = RECORD_SLICE_WAIT, .detail = PROBE_CALL_SLEEP,
                                 .begin_ns = 0, .end_ns = 50 };
    assert_true(record_slice_blocks_server(&wait, "loop", "loop", budget));
    wait.in_handler = true;                            /* its handler is counted */
    assert_false(record_slice_blocks_server(&wait, "loop", "loop", budget));
    wait.in_handler = false;
    wait.detail = PROBE_CALL_POLL;                     /* the loop's own wait */
    assert_false(record_slice_blocks_server(&wait, "loop", "loop", budget));
    wait.detail = PROBE_CALL_READ;                     /* by design in blocking */
    assert_false(record_slice_blocks_server(&wait, "blocking", "main", budget));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_turn_nests),
        cmocka_unit_test(test_unmatched_ends_and_gaps),
        cmocka_unit_test(test_deep_nesting_is_bounded),
        cmocka_unit_test(test_what_blocks_a_server),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
