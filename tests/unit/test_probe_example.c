/*
 * test_probe_example.c — the example at the top of lib/probe/probe.h,
 * compiled and run, so the first code a student copies is code the
 * build checks.
 *
 * The three functions below are that example, split where a server would
 * do other work: publish and claim a ring (example_start), one wait on
 * poll() marked as blocked plus the count it returned (example_turn), and
 * the end (example_stop).  Between them the test reads the segment back
 * as `evlab view` does and checks every event the example promises.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "probe/probe.h"
#include "probe/probe_reader.h"

#ifndef EVLAB_NO_PROBES

/* --- The example of probe.h (keep the two identical) -------------------- */

static struct probe *probe;
static struct probe_thread *me;

static int example_start(const char *name, int port)
{
    char err[256];
    if (probe_create(&probe, &(struct probe_config){
            .name = name, .model = "loop", .port = port }, err, sizeof err) < 0)
        return -1;
    me = probe_thread_begin(probe, "loop");
    return 0;
}

static int example_turn(struct pollfd *fds, nfds_t count, int timeout_ms)
{
    probe_block_begin(me, PROBE_CALL_POLL, -1);
    int n = poll(fds, count, timeout_ms);
    probe_block_end(me, PROBE_CALL_POLL, -1);
    probe_emit(me, PROBE_EV_POLL_RETURN, -1, n > 0 ? (uint64_t)n : 0, 0);
    return n;
}

static void example_stop(void)
{
    probe_thread_end(me);
    probe_destroy(probe);
}

/* --- The test ------------------------------------------------------------ */

static void test_example_publishes_its_events(void **state)
{
    (void)state;
    char name[64];
    snprintf(name, sizeof name, "example-%d", (int)getpid());
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    assert_int_equal(write(fds[1], "x", 1), 1);     /* one ready descriptor */
    struct pollfd watch = { .fd = fds[0], .events = POLLIN };

    assert_int_equal(example_start(name, 8080), 0);
    struct probe_reader *reader;
    char err[256];
    if (probe_reader_open(&reader, name, err, sizeof err) < 0)
        fail_msg("a reader cannot attach to the example's segment: %s", err);
    assert_string_equal(probe_reader_info(reader)->model, "loop");
    assert_int_equal(probe_reader_info(reader)->port, 8080);

    assert_int_equal(example_turn(&watch, 1, 1000), 1);
    struct probe_event_record events[16];
    size_t n = probe_reader_events(reader, events, 16, NULL);
    /* THREAD_START, BLOCK_BEGIN(poll), BLOCK_END(poll), POLL_RETURN 1. */
    const uint16_t expected[] = { PROBE_EV_THREAD_START, PROBE_EV_BLOCK_BEGIN,
                                  PROBE_EV_BLOCK_END, PROBE_EV_POLL_RETURN };
    assert_int_equal(n, 4);
    for (size_t i = 0; i < 4; i++)
        if (events[i].kind != expected[i])
            fail_msg("event %zu is %s, expected %s", i,
                     probe_event_kind_name((enum probe_event_kind)events[i].kind),
                     probe_event_kind_name((enum probe_event_kind)expected[i]));
    assert_int_equal(events[1].a, PROBE_CALL_POLL);
    assert_int_equal(events[3].a, 1);

    example_stop();
    assert_false(probe_reader_writer_alive(reader));
    probe_reader_close(reader);
    close(fds[0]);
    close(fds[1]);
    char path[96];
    snprintf(path, sizeof path, "/dev/shm/evlab.%s", name);
    assert_int_equal(access(path, F_OK), -1);     /* destroy removed the segment */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_example_publishes_its_events),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

#else
int main(void)
{
    return 0;    /* PROBES=0: the example compiles to nothing */
}
#endif
