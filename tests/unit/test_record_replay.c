/*
 * test_record_replay.c — `evlab view --replay` without a terminal: a
 * recording written by hand (lib/record/record.h) of a loop server that
 * serves a request every turn and, once, blocks for 300 ms in a handler;
 * then the replay's source (viz/replay_source.h) and timeline
 * (viz/replay_timeline.h) are driven through it.
 *
 * Covered: stepping back is exact — the pane at every event, reached
 * going forward, going backward and by a fresh replay that jumps straight
 * there, is byte for byte the same (across tracker checkpoints, and
 * around the checkpoints of the events' fold in a longer recording); loop
 * turns step from one "poll() returned" to the next both ways; the one
 * blocked-loop moment is found, jumped to from either side, and its pane
 * says LOOP BLOCKED for about 300 ms; with a blocking server beside the
 * loop, n N stop at every server's moments or only the focused one's;
 * speeds scale time; seeking clamps
 * to the recording; a file with no server is refused.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "http/routes.h"
#include "probe/histogram.h"
#include "record/record.h"
#include "replay_source.h"
#include "replay_timeline.h"

#define MS 1000000ull
#define T0 (10000 * MS)            /* the recorder attaches here */
#define TURNS 130                  /* one every 50 ms: 6.5 s, 65 snapshots */
#define BLOCKED_TURN 60
#define EVENTS_PER_TURN 10         /* 12 in the blocked turn */
/* Enough turns for the events to span three fold checkpoints. */
#define LONG_TURNS (2 * REPLAY_FOLD_CHECKPOINT_EVENTS / EVENTS_PER_TURN + 100)

static char path[96];

static void add(struct probe_event_record *events, size_t *n, uint64_t t, uint16_t kind,
                int fd, uint64_t a, uint64_t b)
{
    events[(*n)++] = (struct probe_event_record){ .t_ns = t, .kind = kind, .ring = 0,
                                                  .fd = fd, .a = a, .b = b };
}

/* One loop turn at time t: wait, one ready client, read, handler, write.
 * Returns when the turn ends. */
static uint64_t turn(struct probe_event_record *events, size_t *n, uint64_t t, bool block)
{
    int fd = 7;
    uint64_t handler_ns = block ? 300 * MS : 20000;
    add(events, n, t, PROBE_EV_POLL_ENTER, -1, 50, 0);
    add(events, n, t + 100, PROBE_EV_BLOCK_BEGIN, -1, PROBE_CALL_POLL, 0);
    add(events, n, t + 40 * MS, PROBE_EV_BLOCK_END, -1, PROBE_CALL_POLL, 40 * MS - 100);
    t += 40 * MS;
    add(events, n, t + 100, PROBE_EV_POLL_RETURN, -1, 1, 0);
    add(events, n, t + 200, PROBE_EV_DISPATCH_BEGIN, fd, 1, 0);
    add(events, n, t + 300, PROBE_EV_READ, fd, 80, 0);
    unsigned route = block ? ROUTE_SLEEP_BLOCKING : ROUTE_ROOT;
    add(events, n, t + 400, PROBE_EV_HANDLER_BEGIN, fd, route, 0);
    if (block) {
        add(events, n, t + 500, PROBE_EV_BLOCK_BEGIN, fd, PROBE_CALL_SLEEP, 0);
        add(events, n, t + 500 + 300 * MS, PROBE_EV_BLOCK_END, fd, PROBE_CALL_SLEEP, 300 * MS);
    }
    t += 400 + handler_ns;
    add(events, n, t + 100, PROBE_EV_HANDLER_END, fd, route, handler_ns);
    add(events, n, t + 200, PROBE_EV_WRITE, fd, 120, 0);
    add(events, n, t + 300, PROBE_EV_DISPATCH_END, fd, 1, handler_ns);
    return t + 10 * MS;
}

static void snapshot(struct record_writer *writer, unsigned server, uint64_t t,
                     int64_t requests)
{
    struct probe_snapshot *snap = calloc(1, sizeof *snap);
    assert_non_null(snap);
    snap->taken_ns = t;
    snap->writer_alive = true;
    for (int h = 0; h < PROBE_HIST_COUNT; h++)
        histogram_init(&snap->hists[h]);
    for (int64_t r = 0; r < requests; r++)
        histogram_record(&snap->hists[PROBE_HIST_HANDLER_NS], 20000);
    snap->gauges[PROBE_GAUGE_CONNECTIONS] = 1;
    snap->gauges[PROBE_GAUGE_THREADS] = 1;
    snap->gauges[PROBE_GAUGE_REQUESTS_DONE] = requests;
    snap->gauges[PROBE_GAUGE_LOOP_TURNS] = requests;
    snap->thread_count = 1;
    snap->threads[0] = (struct probe_thread_info){ .ring = 0, .tid = 4242, .role = "loop",
        .state = PROBE_STATE_BLOCKED, .call = PROBE_CALL_POLL, .fd = -1, .since_ns = t };
    assert_int_equal(record_writer_snapshot(writer, server, snap, 3 << 20), 0);
    free(snap);
}

/* Whether a server's turn blocks for 300 ms: once on the loop (server 0),
 * every 40 turns from turn 10 on the blocking server (server 1), so the
 * blocking server's moments come before and after the loop's. */
static bool turn_blocks(unsigned server, int turn_number)
{
    return server == 0 ? turn_number == BLOCKED_TURN : turn_number % 40 == 10;
}

/* Writes the scenario of `turns` turns on `servers` servers (1: the loop;
 * 2: also a blocking server); events and snapshots interleaved as a
 * recorder writes them (events drained every 10 ms, a snapshot every
 * 100 ms).  Returns the loop's number of events. */
static size_t write_servers(int turns, unsigned servers)
{
    static const struct probe_info infos[2] = {
        { .layout_version = PROBE_LAYOUT_VERSION, .name = "replay-loop", .model = "loop",
          .port = 8080, .pid = 77 },
        { .layout_version = PROBE_LAYOUT_VERSION, .name = "replay-blocking",
          .model = "blocking", .port = 8081, .pid = 78 },
    };
    struct probe_event_record *events[2] = { NULL, NULL };
    size_t n[2] = { 0, 0 }, written[2] = { 0, 0 };
    int64_t requests[2] = { 0, 0 };
    uint64_t end = T0;
    for (unsigned s = 0; s < servers; s++) {
        events[s] = calloc((size_t)turns * (EVENTS_PER_TURN + 2), sizeof *events[s]);
        assert_non_null(events[s]);
        uint64_t t = T0;
        for (int i = 0; i < turns; i++)
            t = turn(events[s], &n[s], t, turn_blocks(s, i));
        end = t > end ? t : end;
    }

    struct record_writer *writer;
    char err[256];
    assert_int_equal(record_writer_open(&writer, path, err, sizeof err), 0);
    for (unsigned s = 0; s < servers; s++)
        assert_int_equal(record_writer_server(writer, s, &infos[s], T0), 0);
    for (uint64_t now = T0; now <= end + 100 * MS; now += 10 * MS) {
        for (unsigned s = 0; s < servers; s++) {
            size_t from = written[s];
            while (written[s] < n[s] && events[s][written[s]].t_ns <= now) {
                requests[s] += events[s][written[s]].kind == PROBE_EV_HANDLER_END;
                written[s]++;
            }
            if (written[s] > from)
                assert_int_equal(record_writer_events(writer, s, events[s] + from,
                                                      written[s] - from), 0);
            if ((now - T0) % (100 * MS) == 0)
                snapshot(writer, s, now, requests[s]);
        }
    }
    for (unsigned s = 0; s < servers; s++) {
        assert_int_equal(written[s], n[s]);
        free(events[s]);
    }
    assert_int_equal(record_writer_close(writer, end + 100 * MS, err, sizeof err), 0);
    return n[0];
}

static size_t write_turns(int turns)
{
    return write_servers(turns, 1);
}

static size_t write_recording(void)
{
    return write_turns(TURNS);
}

static int setup(void **state)
{
    (void)state;
    snprintf(path, sizeof path, "/tmp/test_record_replay.%d.rec", (int)getpid());
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    unlink(path);
    return 0;
}

static struct replay_source *open_source(void)
{
    struct replay_source *source;
    char err[256] = "";
    if (replay_source_open(&source, path, 10 * MS, err, sizeof err) < 0)
        fail_msg("opening the replay: %s", err);
    return source;
}

/* The pane at a position (the caller frees it). */
static struct view_pane *pane_at(struct replay_source *source, const struct replay_position *pos)
{
    struct view_options options;
    view_options_init(&options);
    struct view_pane *pane = calloc(1, sizeof *pane);
    assert_non_null(pane);
    assert_int_equal(replay_source_build(source, pos->t_ns, pos->focus, pos->on_event,
                                         pos->event_index, &options, pane), 0);
    return pane;
}

/* FNV-1a of a whole pane: equal panes, equal hashes (panes are zeroed
 * before they are filled, so padding is equal too). */
static uint64_t pane_hash(struct replay_source *source, const struct replay_position *pos)
{
    struct view_pane *pane = pane_at(source, pos);
    uint64_t hash = 1469598103934665603ull;
    const unsigned char *bytes = (const unsigned char *)pane;
    for (size_t i = 0; i < sizeof *pane; i++)
        hash = (hash ^ bytes[i]) * 1099511628211ull;
    free(pane);
    return hash;
}

static void test_stepping_back_is_exact(void **state)
{
    (void)state;
    size_t n = write_recording();
    struct replay_source *source = open_source();
    size_t count;
    replay_source_events(source, 0, &count);
    assert_int_equal(count, n);

    uint64_t *forward = calloc(n, sizeof *forward);
    assert_non_null(forward);
    struct replay_position pos;
    replay_position_init(source, &pos);
    pos.t_ns = replay_first_ns(source) - 1;            /* before the first event */
    for (size_t i = 0; i < n; i++) {
        replay_step_event(source, &pos, 1);
        assert_true(pos.on_event);
        assert_int_equal(pos.event_index, i);
        forward[i] = pane_hash(source, &pos);
    }
    /* Back from the end, every pane as it was on the way forward. */
    for (size_t i = n; i-- > 0;) {
        assert_int_equal(pos.event_index, i);
        if (pane_hash(source, &pos) != forward[i])
            fail_msg("event %zu: the pane stepping back differs from the pane stepping forward",
                     i);
        if (i == 0) {
            /* Back at the start, the handler histogram is the one of the
             * first snapshot again (empty), not the last one seen. */
            struct view_pane *first = pane_at(source, &pos);
            assert_int_equal(first->hist_total, 0);
            free(first);
        }
        replay_step_event(source, &pos, -1);
    }
    replay_seek(source, &pos, replay_source_end(source));
    struct view_pane *last = pane_at(source, &pos);
    assert_int_equal(last->hist_total, TURNS);
    free(last);
    /* A fresh replay jumping straight to an event sees the same pane: the
     * picture depends on the position only, not on the way there. */
    struct replay_source *fresh = open_source();
    for (size_t i = 0; i < n; i += 97) {
        struct replay_position direct = { .t_ns = 0, .on_event = true, .event_index = i };
        size_t ignored;
        direct.t_ns = replay_source_events(fresh, 0, &ignored)[i].t_ns;
        assert_int_equal(pane_hash(fresh, &direct), forward[i]);
    }
    replay_source_close(fresh);
    free(forward);
    replay_source_close(source);
}

/* Around each fold checkpoint (replay_source.h), a picture is rebuilt
 * from different folds depending on the way there: stepping forward goes
 * on from the previous picture's fold (which began at the checkpoint
 * before), stepping back restores the checkpoint and folds the events
 * after it, and so does a fresh replay.  All three give the same pane. */
static void test_exact_across_fold_checkpoints(void **state)
{
    (void)state;
    size_t n = write_turns(LONG_TURNS);
    assert_true(n > 2 * REPLAY_FOLD_CHECKPOINT_EVENTS);
    struct replay_source *source = open_source();
    struct replay_source *fresh = open_source();
    size_t ignored;
    const struct probe_event_record *events = replay_source_events(source, 0, &ignored);
    enum { AROUND = 40 };
    uint64_t forward[2 * AROUND];
    for (size_t boundary = REPLAY_FOLD_CHECKPOINT_EVENTS; boundary < n;
         boundary += REPLAY_FOLD_CHECKPOINT_EVENTS) {
        size_t first = boundary - AROUND;
        struct replay_position pos = { .t_ns = events[first].t_ns, .on_event = true,
                                       .event_index = first };
        for (size_t i = 0; i < 2 * AROUND; i++) {
            assert_int_equal(pos.event_index, first + i);
            forward[i] = pane_hash(source, &pos);
            replay_step_event(source, &pos, 1);
        }
        /* From the far end of the recording, back to the boundary. */
        struct replay_position end = { .t_ns = events[n - 1].t_ns, .on_event = true,
                                       .event_index = n - 1 };
        pane_hash(source, &end);
        for (size_t i = 2 * AROUND; i-- > 0;) {
            replay_step_event(source, &pos, -1);
            assert_int_equal(pos.event_index, first + i);
            if (pane_hash(source, &pos) != forward[i])
                fail_msg("event %zu (fold checkpoint at %zu): the pane stepping back differs "
                         "from the pane stepping forward", first + i, boundary);
            if (pane_hash(fresh, &pos) != forward[i])
                fail_msg("event %zu (fold checkpoint at %zu): a fresh replay jumping there "
                         "shows another pane than stepping", first + i, boundary);
        }
        /* Between two events (out of step mode), on both sides. */
        struct replay_position between = { .t_ns = events[boundary].t_ns + 1 };
        assert_int_equal(pane_hash(source, &between), pane_hash(fresh, &between));
    }
    replay_source_close(fresh);
    replay_source_close(source);
}

static void test_turns_step_both_ways(void **state)
{
    (void)state;
    write_recording();
    struct replay_source *source = open_source();
    size_t n;
    const struct probe_event_record *events = replay_source_events(source, 0, &n);
    struct replay_position pos;
    replay_position_init(source, &pos);
    pos.t_ns = replay_first_ns(source) - 1;
    size_t turns = 0;
    for (;;) {
        size_t before = pos.on_event ? pos.event_index : SIZE_MAX;
        replay_step_turn(source, &pos, 1);
        if (pos.on_event && pos.event_index == before)
            break;
        assert_int_equal(events[pos.event_index].kind, PROBE_EV_POLL_RETURN);
        turns++;
        if (turns > TURNS)
            fail_msg("more turns than the recording has");
    }
    assert_int_equal(turns, TURNS);
    size_t back = 0;
    for (;;) {
        size_t before = pos.event_index;
        replay_step_turn(source, &pos, -1);
        if (pos.event_index == before)
            break;
        assert_int_equal(events[pos.event_index].kind, PROBE_EV_POLL_RETURN);
        back++;
    }
    assert_int_equal(back, TURNS - 1);
    replay_source_close(source);
}

static void test_blocked_moment_found_and_shown(void **state)
{
    (void)state;
    write_recording();
    struct replay_source *source = open_source();
    size_t count;
    const struct replay_warning *warnings = replay_source_warnings(source, &count);
    assert_int_equal(count, 1);
    assert_true(warnings[0].end_ns - warnings[0].begin_ns >= 300 * MS);

    struct replay_position pos;
    replay_position_init(source, &pos);
    assert_true(replay_jump_warning(source, &pos, 1));
    assert_int_equal(pos.t_ns, replay_warning_moment(&warnings[0]));
    assert_false(replay_jump_warning(source, &pos, 1));     /* only one */

    struct view_options options;
    view_options_init(&options);
    struct view_pane *pane = calloc(1, sizeof *pane);
    assert_non_null(pane);
    assert_int_equal(replay_source_build(source, pos.t_ns, 0, false, 0, &options, pane), 0);
    assert_int_equal(pane->alert, VIEW_ALERT_BLOCKED);
    assert_true(pane->alert_ns > 290 * MS && pane->alert_ns < 310 * MS);
    assert_int_equal(pane->alert_route, ROUTE_SLEEP_BLOCKING);

    /* From the end, the previous moment is the same one. */
    replay_seek(source, &pos, replay_source_end(source));
    assert_true(replay_jump_warning(source, &pos, -1));
    assert_int_equal(pos.t_ns, replay_warning_moment(&warnings[0]));
    /* A second before it, nothing is blocked. */
    assert_int_equal(replay_source_build(source, pos.t_ns - 1000 * MS, 0, false, 0, &options,
                                         pane), 0);
    assert_int_equal(pane->alert, VIEW_ALERT_NONE);
    free(pane);
    replay_source_close(source);
}

/* Two servers: n N stop at both servers' moments in time order and move
 * the focus; with warnings_in_focus, only at the focused server's, and
 * the focus stays. */
static void test_warnings_of_the_focused_server(void **state)
{
    (void)state;
    write_servers(TURNS, 2);
    struct replay_source *source = open_source();
    assert_int_equal(replay_source_count(source), 2);
    size_t count;
    const struct replay_warning *warnings = replay_source_warnings(source, &count);
    size_t of_loop = 0, of_blocking = 0;
    for (size_t i = 0; i < count; i++) {
        of_loop += warnings[i].server == 0;
        of_blocking += warnings[i].server == 1;
    }
    assert_int_equal(of_loop, 1);
    assert_int_equal(of_blocking, 3);               /* turns 10, 50 and 90 */

    /* Every server: the blocking server's first, and it takes the focus. */
    struct replay_position pos;
    replay_position_init(source, &pos);
    assert_true(replay_jump_warning(source, &pos, 1));
    assert_int_equal(pos.focus, 1);
    uint64_t previous = pos.t_ns;
    size_t stops = 1;
    while (replay_jump_warning(source, &pos, 1)) {
        assert_true(pos.t_ns > previous);             /* in time order */
        previous = pos.t_ns;
        stops++;
    }
    assert_int_equal(stops, count);

    /* Only the loop's: one stop from the start, none after it, and the
     * blocking server's moments on either side are skipped. */
    replay_position_init(source, &pos);
    pos.focus = 0;
    pos.warnings_in_focus = true;
    assert_true(replay_jump_warning(source, &pos, 1));
    assert_int_equal(pos.focus, 0);
    const struct replay_warning *loop_warning = NULL;
    for (size_t i = 0; i < count; i++)
        if (warnings[i].server == 0)
            loop_warning = &warnings[i];
    assert_int_equal(pos.t_ns, replay_warning_moment(loop_warning));
    assert_false(replay_jump_warning(source, &pos, 1));
    replay_seek(source, &pos, replay_source_end(source));
    assert_true(replay_jump_warning(source, &pos, -1));
    assert_int_equal(pos.t_ns, replay_warning_moment(loop_warning));
    assert_false(replay_jump_warning(source, &pos, -1));

    /* Only the blocking server's: all three, the focus on it throughout. */
    replay_position_init(source, &pos);
    pos.focus = 1;
    pos.warnings_in_focus = true;
    stops = 0;
    assert_false(replay_warning_counts(&pos, loop_warning));
    while (replay_jump_warning(source, &pos, 1)) {
        assert_int_equal(pos.focus, 1);
        stops++;
    }
    assert_int_equal(stops, of_blocking);
    replay_source_close(source);
}

static void test_speed_and_seek(void **state)
{
    (void)state;
    write_recording();
    struct replay_source *source = open_source();
    struct replay_position pos;
    replay_position_init(source, &pos);
    assert_int_equal(pos.t_ns, T0);
    assert_string_equal(replay_speed_name(pos.speed), "1x");
    for (int i = 0; i < 20; i++)
        replay_speed_change(&pos, -1);
    assert_string_equal(replay_speed_name(pos.speed), "1/1000x");
    pos.playing = true;
    replay_advance(source, &pos, 1000 * MS);         /* a second of wall time */
    assert_int_equal(pos.t_ns, T0 + 1 * MS);
    for (int i = 0; i < 20; i++)
        replay_speed_change(&pos, 1);
    assert_string_equal(replay_speed_name(pos.speed), "10x");
    replay_advance(source, &pos, 100 * MS);
    assert_int_equal(pos.t_ns, T0 + 1001 * MS);
    replay_advance(source, &pos, 60000 * MS);        /* past the end: stops there */
    assert_int_equal(pos.t_ns, replay_source_end(source));
    assert_false(pos.playing);
    replay_seek(source, &pos, 0);
    assert_int_equal(pos.t_ns, replay_first_ns(source));
    replay_source_close(source);
}

static void test_file_without_server_refused(void **state)
{
    (void)state;
    struct record_writer *writer;
    char err[256] = "";
    assert_int_equal(record_writer_open(&writer, path, err, sizeof err), 0);
    assert_int_equal(record_writer_close(writer, 1, err, sizeof err), 0);
    struct replay_source *source = NULL;
    assert_true(replay_source_open(&source, path, 10 * MS, err, sizeof err) < 0);
    assert_null(source);
    assert_non_null(strstr(err, "no recorded server"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_stepping_back_is_exact, setup, teardown),
        cmocka_unit_test_setup_teardown(test_exact_across_fold_checkpoints, setup, teardown),
        cmocka_unit_test_setup_teardown(test_turns_step_both_ways, setup, teardown),
        cmocka_unit_test_setup_teardown(test_blocked_moment_found_and_shown, setup, teardown),
        cmocka_unit_test_setup_teardown(test_warnings_of_the_focused_server, setup, teardown),
        cmocka_unit_test_setup_teardown(test_speed_and_seek, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_without_server_refused, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
