/*
 * test_probe.c — the instrumentation layer end to end: a writer
 * (probe.h) and readers (probe_reader.h) talking through a real
 * /dev/shm segment.
 *
 * Covered: create/destroy leaves nothing behind; events reach every
 * reader in order; ring wrap-around is reported as missed events;
 * drops are counted when every ring is taken; layout-version mismatch,
 * foreign files and missing servers give clear errors; a reader outlives
 * its writer (child process that exits, with and without destroy); stale
 * segments are replaced; duplicate live names are refused; gauges,
 * histograms, thread states and stats JSON; the sampler's accept backlog
 * and runnable threads; probe_list; and a writer/reader race that must
 * never show a torn event (run it under SAN=tsan).
 *
 * Every segment name contains our pid, and every test removes what it
 * created, so tests can run in parallel with other engineers' servers.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <arpa/inet.h>
#include <unistd.h>

#include "net/net.h"
#include "common/clock.h"
#include "common/limits.h"
#include "probe/probe.h"
#include "probe/probe_reader.h"

#ifndef EVLAB_NO_PROBES

/* --- Helpers ------------------------------------------------------------ */

/* Per-test setup/teardown: nothing a test opens may stay open. */
static int fds_before(void **state)
{
    *state = (void *)(intptr_t)net_count_open_fds();
    return 0;
}

static int fds_after(void **state)
{
    int before = (int)(intptr_t)*state;
    int after = net_count_open_fds();
    if (after != before) {
        print_error("descriptor leak: %d open before, %d after\n", before, after);
        return -1;
    }
    return 0;
}

static void test_name(char *out, size_t len, const char *tag)
{
    snprintf(out, len, "test-%d-%s", (int)getpid(), tag);
}

static bool shm_exists(const char *name)
{
    char path[128];
    snprintf(path, sizeof path, "/dev/shm/evlab.%s", name);
    return access(path, F_OK) == 0;
}

static struct probe *probe_new(const char *name, const char *model, int port)
{
    struct probe *probe = NULL;
    char err[256] = "";
    int rc = probe_create(&probe, &(struct probe_config){ .name = name, .model = model,
                                                          .port = port },
                          err, sizeof err);
    if (rc != 0)
        print_error("probe_create(%s): %d %s\n", name, rc, err);
    assert_int_equal(rc, 0);
    assert_non_null(probe);
    return probe;
}

static struct probe_reader *reader_new(const char *name)
{
    struct probe_reader *reader = NULL;
    char err[256] = "";
    int rc = probe_reader_open(&reader, name, err, sizeof err);
    if (rc != 0)
        print_error("probe_reader_open(%s): %d %s\n", name, rc, err);
    assert_int_equal(rc, 0);
    return reader;
}

static struct probe_snapshot *snapshot_take(struct probe_reader *reader)
{
    struct probe_snapshot *snap = malloc(sizeof *snap);
    assert_non_null(snap);
    assert_int_equal(probe_reader_snapshot(reader, snap), 0);
    return snap;
}

/* Finds the thread with this role in a snapshot, or NULL. */
static const struct probe_thread_info *snapshot_thread(const struct probe_snapshot *snap,
                                                       const char *role)
{
    for (size_t i = 0; i < snap->thread_count; i++)
        if (strcmp(snap->threads[i].role, role) == 0)
            return &snap->threads[i];
    return NULL;
}

/* Writes a fake segment file with the given first bytes. */
static void write_fake_segment(const char *name, const void *bytes, size_t len,
                               size_t total)
{
    char path[128];
    snprintf(path, sizeof path, "/dev/shm/evlab.%s", name);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, bytes, len), (ssize_t)len);
    if (total > len)
        assert_int_equal(ftruncate(fd, (off_t)total), 0);
    close(fd);
}

static void remove_segment(const char *name)
{
    char shm_name[128];
    snprintf(shm_name, sizeof shm_name, "/evlab.%s", name);
    shm_unlink(shm_name);
}

/* --- Create, destroy, names --------------------------------------------- */

static void test_create_destroy(void **state)
{
    (void)state;
    char name[64];
    test_name(name, sizeof name, "create");
    struct probe *probe = probe_new(name, "loop", 8080);
    assert_string_equal(probe_name(probe), name);
    assert_true(shm_exists(name));

    struct probe_reader *reader = reader_new(name);
    const struct probe_info *info = probe_reader_info(reader);
    assert_string_equal(info->name, name);
    assert_string_equal(info->model, "loop");
    assert_int_equal(info->port, 8080);
    assert_int_equal(info->pid, getpid());
    assert_int_equal(info->layout_version, PROBE_LAYOUT_VERSION);
    assert_true(info->start_mono_ns <= clock_now_ns());
    assert_true(info->start_realtime_ns > 0);
    assert_true(probe_reader_writer_alive(reader));

    /* The port can be set after bind(); readers see it on refresh. */
    probe_set_port(probe, 40123);
    struct probe_snapshot *snap = snapshot_take(reader);
    assert_int_equal(probe_reader_info(reader)->port, 40123);
    assert_int_equal(snap->thread_count, 0);
    free(snap);

    probe_destroy(probe);
    assert_false(shm_exists(name));
    /* The reader's mapping survives, and it knows the writer is gone. */
    assert_false(probe_reader_writer_alive(reader));
    assert_string_equal(probe_reader_info(reader)->model, "loop");
    probe_reader_close(reader);

    /* Without a name: "MODEL-PID". */
    struct probe *unnamed = NULL;
    assert_int_equal(probe_create(&unnamed, &(struct probe_config){ .model = "blocking" },
                                  NULL, 0), 0);
    char expected[64];
    snprintf(expected, sizeof expected, "blocking-%d", (int)getpid());
    assert_string_equal(probe_name(unnamed), expected);
    assert_true(shm_exists(expected));
    probe_destroy(unnamed);
    assert_false(shm_exists(expected));

    /* Names that are not plain file names are refused. */
    char err[256] = "";
    struct probe *bad = NULL;
    assert_int_equal(probe_create(&bad, &(struct probe_config){ .name = "a/b" }, err,
                                  sizeof err), -EINVAL);
    assert_null(bad);
    assert_non_null(strstr(err, "a/b"));

    /* NULL everywhere is allowed and does nothing. */
    probe_destroy(NULL);
    assert_string_equal(probe_name(NULL), "");
    assert_null(probe_thread_begin(NULL, "x"));
    probe_emit(NULL, PROBE_EV_READ, 1, 2, 3);
    probe_gauge_add(NULL, PROBE_GAUGE_CONNECTIONS, 1);
    assert_int_equal(probe_gauge_get(NULL, PROBE_GAUGE_CONNECTIONS), 0);
}

static void test_names(void **state)
{
    (void)state;
    assert_string_equal(probe_event_kind_name(PROBE_EV_HANDLER_END), "handler_end");
    assert_string_equal(probe_event_kind_name(PROBE_EV_KIND_COUNT), "?");
    assert_string_equal(probe_call_name(PROBE_CALL_READ), "read");
    assert_string_equal(probe_call_name((enum probe_call)200), "?");
    assert_string_equal(probe_gauge_name(PROBE_GAUGE_Q_ACCEPT_BACKLOG), "q_accept_backlog");
    assert_string_equal(probe_gauge_name(PROBE_GAUGE_COUNT), "?");
    assert_string_equal(probe_hist_name(PROBE_HIST_HANDLER_NS), "handler_ns");
    assert_string_equal(probe_thread_state_name(PROBE_STATE_BLOCKED), "blocked");
    assert_string_equal(probe_thread_state_name((enum probe_thread_state)9), "?");
}

/* --- Events ------------------------------------------------------------- */

static void test_events_two_readers(void **state)
{
    (void)state;
    char name[64];
    test_name(name, sizeof name, "events");
    struct probe *probe = probe_new(name, "loop", 0);
    struct probe_thread *me = probe_thread_begin(probe, "main");
    assert_non_null(me);
    assert_ptr_equal(probe_thread_probe(me), probe);

    struct probe_reader *r1 = reader_new(name);
    struct probe_reader *r2 = reader_new(name);
    for (int i = 0; i < 100; i++)
        probe_emit(me, PROBE_EV_READ, i, (uint64_t)i, (uint64_t)i * 2);

    /* Each reader has its own cursors: both see everything. */
    struct probe_reader *readers[2] = { r1, r2 };
    struct probe_event_record events[256];
    for (int r = 0; r < 2; r++) {
        uint64_t missed = 0;
        size_t n = probe_reader_events(readers[r], events, 256, &missed);
        assert_int_equal(n, 101);
        assert_int_equal(missed, 0);
        assert_int_equal(events[0].kind, PROBE_EV_THREAD_START);
        for (int i = 0; i < 100; i++) {
            const struct probe_event_record *ev = &events[i + 1];
            assert_int_equal(ev->kind, PROBE_EV_READ);
            assert_int_equal(ev->fd, i);
            assert_int_equal(ev->a, (uint64_t)i);
            assert_int_equal(ev->b, (uint64_t)i * 2);
            assert_int_equal(ev->ring, events[0].ring);
            assert_true(ev->t_ns >= events[i].t_ns);
        }
        /* Nothing new: nothing returned. */
        assert_int_equal(probe_reader_events(readers[r], events, 256, &missed), 0);
    }

    /* A second thread's events interleave in time order; `max` is
     * respected and the rest come on the next call. */
    struct probe_thread *other = probe_thread_begin(probe, "other");
    probe_emit(me, PROBE_EV_WRITE, 1, 10, 0);
    probe_emit(other, PROBE_EV_WRITE, 2, 20, 0);
    probe_emit(me, PROBE_EV_CLOSE, 1, 0, 0);
    size_t n = probe_reader_events(r1, events, 2, NULL);
    assert_int_equal(n, 2);
    n += probe_reader_events(r1, events + 2, 10, NULL);
    assert_int_equal(n, 4);   /* other's THREAD_START + three events */
    for (size_t i = 1; i < n; i++)
        assert_true(events[i].t_ns >= events[i - 1].t_ns);
    assert_int_equal(events[3].kind, PROBE_EV_CLOSE);
    assert_int_not_equal(events[0].ring, events[3].ring);

    probe_thread_end(other);
    probe_thread_end(me);
    probe_reader_close(r1);
    probe_reader_close(r2);
    probe_destroy(probe);
}

static void test_ring_wraparound(void **state)
{
    (void)state;
    char name[64];
    test_name(name, sizeof name, "wrap");
    struct probe *probe = probe_new(name, "loop", 0);
    struct probe_thread *me = probe_thread_begin(probe, "main");
    struct probe_reader *reader = reader_new(name);

    size_t cap = PROBE_RING_EVENTS + 16;
    struct probe_event_record *events = calloc(cap, sizeof *events);
    assert_non_null(events);
    uint64_t missed = 0;
    /* Take THREAD_START, so the reader's cursor is at the present. */
    assert_int_equal(probe_reader_events(reader, events, cap, &missed), 1);

    const uint64_t total = 3 * PROBE_RING_EVENTS;
    for (uint64_t i = 0; i < total; i++)
        probe_emit(me, PROBE_EV_WRITE, 3, i, 0);

    /* Only the newest ring-full is still there; the rest is reported. */
    size_t n = probe_reader_events(reader, events, cap, &missed);
    assert_int_equal(n, PROBE_RING_EVENTS);
    assert_int_equal(missed, total - PROBE_RING_EVENTS);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(events[i].a, total - PROBE_RING_EVENTS + i);

    /* A fresh reader starts at the oldest event present, missing nothing
     * it could have had. */
    struct probe_reader *late = reader_new(name);
    uint64_t late_missed = 0;
    n = probe_reader_events(late, events, cap, &late_missed);
    assert_int_equal(n, PROBE_RING_EVENTS);
    assert_int_equal(late_missed, 0);
    assert_int_equal(events[0].a, total - PROBE_RING_EVENTS);

    /* A reader still catching up on that backlog when the writer laps it
     * has lost nothing written since it attached: not "missed".  What it
     * did not get to is gone; what the writer adds afterwards, it gets. */
    struct probe_reader *slow = reader_new(name);
    uint64_t slow_missed = 0;
    assert_int_equal(probe_reader_events(slow, events, 10, &slow_missed), 10);
    for (uint64_t i = 0; i < 100; i++)
        probe_emit(me, PROBE_EV_WRITE, 3, total + i, 0);
    n = probe_reader_events(slow, events, cap, &slow_missed);
    assert_int_equal(slow_missed, 0);
    assert_int_equal(n, PROBE_RING_EVENTS);
    assert_int_equal(events[n - 1].a, total + 99);
    probe_reader_close(slow);

    struct probe_snapshot *snap = snapshot_take(reader);
    assert_int_equal(snap->threads[0].events_written, total + 101);
    free(snap);

    free(events);
    probe_reader_close(late);
    probe_reader_close(reader);
    probe_thread_end(me);
    probe_destroy(probe);
}

static void test_drops_when_rings_full(void **state)
{
    (void)state;
    char name[64];
    test_name(name, sizeof name, "drops");
    struct probe *probe = probe_new(name, "threads", 0);
    struct probe_thread **handles = calloc(PROBE_MAX_RINGS, sizeof *handles);
    assert_non_null(handles);
    for (int i = 0; i < PROBE_MAX_RINGS; i++) {
        handles[i] = probe_thread_begin(probe, "conn");
        assert_non_null(handles[i]);
    }
    assert_int_equal(probe_gauge_get(probe, PROBE_GAUGE_EVENTS_DROPPED), 0);

    /* No ring left: the handle still works, and every event is counted. */
    struct probe_thread *extra = probe_thread_begin(probe, "extra");
    assert_non_null(extra);
    assert_int_equal(probe_gauge_get(probe, PROBE_GAUGE_EVENTS_DROPPED), 1);
    for (int i = 0; i < 10; i++)
        probe_emit(extra, PROBE_EV_READ, 5, 1, 0);
    probe_handler_begin(extra, 5, 0);
    probe_handler_end(extra, 5, 0);
    assert_int_equal(probe_gauge_get(probe, PROBE_GAUGE_EVENTS_DROPPED), 13);
    /* Gauges still work for a ringless thread. */
    assert_int_equal(probe_gauge_get(probe, PROBE_GAUGE_REQUESTS_DONE), 1);
    probe_thread_end(extra);
    assert_int_equal(probe_gauge_get(probe, PROBE_GAUGE_EVENTS_DROPPED), 14);

    /* A ring freed by an exiting thread is reused by the next one. */
    struct probe_reader *reader = reader_new(name);
    probe_thread_end(handles[7]);
    struct probe_thread *again = probe_thread_begin(probe, "reused");
    assert_int_equal(probe_gauge_get(probe, PROBE_GAUGE_EVENTS_DROPPED), 14);
    struct probe_snapshot *snap = snapshot_take(reader);
    assert_int_equal(snap->thread_count, PROBE_MAX_RINGS);
    const struct probe_thread_info *t = snapshot_thread(snap, "reused");
    assert_non_null(t);
    assert_int_equal(t->ring, 7);
    assert_int_equal(t->state, PROBE_STATE_IDLE);
    /* Its ring kept counting: THREAD_START, EXIT of the old owner, START. */
    assert_int_equal(t->events_written, 3);
    assert_int_equal(snap->gauges[PROBE_GAUGE_EVENTS_DROPPED], 14);
    free(snap);

    probe_thread_end(again);
    for (int i = 0; i < PROBE_MAX_RINGS; i++)
        if (i != 7)
            probe_thread_end(handles[i]);
    free(handles);
    probe_reader_close(reader);
    probe_destroy(probe);
}

/* What every request changes is counted in the thread's own ring with
 * plain stores (probe_layout.h, "Per-thread counts"): readers must still
 * see exact totals, across a ring handed from one thread to the next and
 * alongside a thread that has no ring and uses the shared gauges. */
static void test_handler_counts_kept_per_ring(void **state)
{
    (void)state;
    char name[64];
    test_name(name, sizeof name, "perring");
    struct probe *probe = probe_new(name, "threads", 0);
    struct probe_reader *reader = reader_new(name);

    struct probe_thread *first = probe_thread_begin(probe, "first");
    for (int i = 0; i < 3; i++) {
        probe_handler_begin_at(first, 1000, 4, 0);
        probe_handler_end_at(first, 1000 + 100 * (uint64_t)(i + 1), 4, 0);
    }
    probe_handler_begin(first, 4, 0);                 /* still running */
    struct probe_snapshot *snap = snapshot_take(reader);
    assert_int_equal(snap->gauges[PROBE_GAUGE_HANDLERS_RUNNING], 1);
    assert_int_equal(snap->gauges[PROBE_GAUGE_REQUESTS_DONE], 3);
    assert_int_equal(probe_gauge_get(probe, PROBE_GAUGE_HANDLERS_RUNNING), 1);
    const struct histogram *h = &snap->hists[PROBE_HIST_HANDLER_NS];
    assert_int_equal(histogram_count(h), 3);
    assert_int_equal(histogram_min(h), 100);
    assert_int_equal(histogram_max(h), 300);
    free(snap);
    probe_thread_end(first);      /* ends inside its handler: not running any more */

    /* The next thread takes the same ring over: the counts go on. */
    struct probe_thread *second = probe_thread_begin(probe, "second");
    probe_handler_begin_at(second, 5000, 4, 0);
    probe_handler_end_at(second, 5050, 4, 0);
    assert_int_equal(probe_gauge_get(probe, PROBE_GAUGE_REQUESTS_DONE), 4);
    assert_int_equal(probe_gauge_get(probe, PROBE_GAUGE_HANDLERS_RUNNING), 0);
    snap = snapshot_take(reader);
    assert_int_equal(snap->gauges[PROBE_GAUGE_REQUESTS_DONE], 4);
    assert_int_equal(histogram_count(&snap->hists[PROBE_HIST_HANDLER_NS]), 4);
    assert_int_equal(histogram_min(&snap->hists[PROBE_HIST_HANDLER_NS]), 50);
    free(snap);

    /* The server's own /stats JSON adds the rings up too. */
    char json[4096];
    assert_true(probe_stats_json(probe, json, sizeof json) > 0);
    assert_non_null(strstr(json, "\"requests_done\":4,"));
    assert_non_null(strstr(json, "\"handler_us\":{\"count\":4,"));

    probe_thread_end(second);
    probe_reader_close(reader);
    probe_destroy(probe);
}

/* A histogram with one writer may use the cheaper record: same result. */
static void test_histogram_record_owned_matches(void **state)
{
    (void)state;
    static struct histogram shared, owned;
    histogram_init(&shared);
    histogram_init(&owned);
    uint64_t values[] = { 0, 1, 31, 32, 1000, 123456789, UINT64_MAX / 2 };
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        histogram_record(&shared, values[i]);
        histogram_record_owned(&owned, values[i]);
    }
    assert_int_equal(histogram_count(&owned), histogram_count(&shared));
    assert_int_equal(histogram_min(&owned), histogram_min(&shared));
    assert_int_equal(histogram_max(&owned), histogram_max(&shared));
    assert_memory_equal(&owned, &shared, sizeof owned);
}

/* Recording a value n times at once is recording it n times. */
static void test_histogram_record_owned_times_matches(void **state)
{
    (void)state;
    static struct histogram one_by_one, at_once;
    histogram_init(&one_by_one);
    histogram_init(&at_once);
    uint64_t values[] = { 0, 7, 1000, 123456789 };
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        for (uint64_t k = 0; k < 5 + i; k++)
            histogram_record_owned(&one_by_one, values[i]);
        histogram_record_owned_times(&at_once, values[i], 5 + i);
    }
    histogram_record_owned_times(&at_once, 99, 0);     /* nothing */
    assert_memory_equal(&at_once, &one_by_one, sizeof at_once);
}

/* --- Errors a reader must explain --------------------------------------- */

static void test_reader_errors(void **state)
{
    (void)state;
    char name[64], err[256];
    struct probe_reader *reader = NULL;

    /* Missing. */
    test_name(name, sizeof name, "missing");
    assert_int_equal(probe_reader_open(&reader, name, err, sizeof err), -ENOENT);
    assert_null(reader);
    char expected[128];
    snprintf(expected, sizeof expected, "no evlab server named '%s' (see evlab list)", name);
    assert_string_equal(err, expected);

    /* Another layout version: refused, and both versions named. */
    test_name(name, sizeof name, "version");
    uint32_t words[4] = { PROBE_MAGIC, 99, 0, 0 };   /* pid 0: no live owner */
    write_fake_segment(name, words, sizeof words, 4096);
    assert_int_equal(probe_reader_open(&reader, name, err, sizeof err), -EPROTO);
    assert_non_null(strstr(err, "version 99"));
    snprintf(expected, sizeof expected, "version %d", PROBE_LAYOUT_VERSION);
    assert_non_null(strstr(err, expected));
    /* Its owner is gone, so a server may take the name over. */
    struct probe *probe = probe_new(name, "loop", 0);
    struct probe_reader *ok = reader_new(name);
    probe_reader_close(ok);
    probe_destroy(probe);
    assert_false(shm_exists(name));

    /* Not ours at all: wrong magic, or too small to say. */
    test_name(name, sizeof name, "foreign");
    uint32_t junk[4] = { 0x12345678, 1, 0, 0 };
    write_fake_segment(name, junk, sizeof junk, 4096);
    assert_int_equal(probe_reader_open(&reader, name, err, sizeof err), -EINVAL);
    assert_non_null(strstr(err, "not an evlab segment"));
    /* ...and a server will not silently delete someone else's file. */
    struct probe *refused = NULL;
    assert_int_equal(probe_create(&refused, &(struct probe_config){ .name = name }, err,
                                  sizeof err), -EEXIST);
    assert_non_null(strstr(err, "not an evlab segment"));
    assert_true(shm_exists(name));
    remove_segment(name);

    test_name(name, sizeof name, "tiny");
    write_fake_segment(name, "abc", 3, 3);
    assert_int_equal(probe_reader_open(&reader, name, err, sizeof err), -EINVAL);
    assert_non_null(strstr(err, "not an evlab segment"));
    remove_segment(name);

    /* Right magic and version but truncated. */
    test_name(name, sizeof name, "short");
    uint32_t ours[4] = { PROBE_MAGIC, PROBE_LAYOUT_VERSION, 0, 0 };
    write_fake_segment(name, ours, sizeof ours, 4096);
    assert_int_equal(probe_reader_open(&reader, name, err, sizeof err), -EINVAL);
    assert_non_null(strstr(err, "too small"));
    remove_segment(name);

    assert_int_equal(probe_reader_open(&reader, "../etc", err, sizeof err), -EINVAL);
}

static void test_duplicate_name(void **state)
{
    (void)state;
    char name[64], err[256] = "";
    test_name(name, sizeof name, "dup");
    struct probe *first = probe_new(name, "loop", 0);
    struct probe *second = NULL;
    assert_int_equal(probe_create(&second, &(struct probe_config){ .name = name }, err,
                                  sizeof err), -EEXIST);
    assert_null(second);
    char expected[128];
    snprintf(expected, sizeof expected, "name '%s' is in use by pid %d", name, (int)getpid());
    assert_string_equal(err, expected);
    /* The first one is untouched. */
    assert_true(shm_exists(name));
    probe_destroy(first);
    assert_false(shm_exists(name));
    /* Once it is gone the name is free again. */
    probe_destroy(probe_new(name, "loop", 0));
    assert_false(shm_exists(name));
}

/* --- A reader outlives its writer --------------------------------------- */

static bool read_byte_within(int fd, int timeout_ms)
{
    struct pollfd pfd = { .fd = fd, .events = POLLIN };
    if (poll(&pfd, 1, timeout_ms) != 1)
        return false;
    char c;
    return read(fd, &c, 1) == 1;
}

/* The child: a whole tiny server that emits events, says "ready", waits
 * for "go" and exits, destroying its probe or not (as a crash would). */
static void child_server(const char *name, bool destroy, int ready_fd, int go_fd)
{
    struct probe *probe = NULL;
    if (probe_create(&probe, &(struct probe_config){ .name = name, .model = "child" },
                     NULL, 0) != 0)
        _exit(2);
    struct probe_thread *me = probe_thread_begin(probe, "child");
    for (int i = 0; i < 10; i++)
        probe_emit(me, PROBE_EV_ACCEPT, 100 + i, (uint64_t)i, 0);
    probe_gauge_set(probe, PROBE_GAUGE_CONNECTIONS, 42);
    if (write(ready_fd, "r", 1) != 1)
        _exit(3);
    char c;
    if (read(go_fd, &c, 1) != 1)
        _exit(4);
    if (destroy) {
        probe_thread_end(me);
        probe_destroy(probe);
    }
    _exit(0);
}

static void reader_after_writer_exits(bool destroy)
{
    char name[64];
    test_name(name, sizeof name, destroy ? "exit-destroy" : "exit-crash");
    int ready[2], go[2];
    assert_int_equal(pipe(ready), 0);
    assert_int_equal(pipe(go), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(ready[0]);
        close(go[1]);
        child_server(name, destroy, ready[1], go[0]);
    }
    close(ready[1]);
    close(go[0]);
    assert_true(read_byte_within(ready[0], 10000));

    struct probe_reader *reader = reader_new(name);
    assert_true(probe_reader_writer_alive(reader));
    assert_int_equal(probe_reader_info(reader)->pid, pid);
    assert_int_equal(write(go[1], "g", 1), 1);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);   /* reaped: pid is gone */
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    close(ready[0]);
    close(go[1]);

    assert_false(probe_reader_writer_alive(reader));
    struct probe_event_record events[64];
    uint64_t missed = 0;
    size_t n = probe_reader_events(reader, events, 64, &missed);
    assert_int_equal(n, destroy ? 12 : 11);
    assert_int_equal(missed, 0);
    assert_int_equal(events[0].kind, PROBE_EV_THREAD_START);
    for (int i = 0; i < 10; i++) {
        assert_int_equal(events[1 + i].kind, PROBE_EV_ACCEPT);
        assert_int_equal(events[1 + i].fd, 100 + i);
    }
    if (destroy)
        assert_int_equal(events[11].kind, PROBE_EV_THREAD_EXIT);
    struct probe_snapshot *snap = snapshot_take(reader);
    assert_false(snap->writer_alive);
    assert_int_equal(snap->gauges[PROBE_GAUGE_CONNECTIONS], 42);
    assert_int_equal(snap->thread_count, 1);
    assert_int_equal(snap->threads[0].state, destroy ? PROBE_STATE_EXITED : PROBE_STATE_IDLE);
    free(snap);
    probe_reader_close(reader);

    if (destroy) {
        assert_false(shm_exists(name));
    } else {
        /* A crash leaves the segment behind, listed as dead.  (Another
         * process running probe_list_clean() — a parallel test, `evlab
         * list --clean` — may remove it at any moment, hence the check.) */
        struct probe_info *list = calloc(1024, sizeof *list);
        assert_non_null(list);
        int total = probe_list(list, 1024);
        assert_true(total >= 1);
        bool found = false;
        for (int i = 0; i < total && i < 1024; i++) {
            if (strcmp(list[i].name, name) == 0) {
                found = true;
                assert_false(list[i].alive);
                assert_int_equal(list[i].pid, pid);
                assert_string_equal(list[i].model, "child");
            }
        }
        assert_true(found || !shm_exists(name));
        free(list);
        /* A new server may take the name over. */
        struct probe *probe = probe_new(name, "loop", 0);
        probe_destroy(probe);
        assert_false(shm_exists(name));
    }
}

static void test_reader_after_writer_destroys(void **state)
{
    (void)state;
    reader_after_writer_exits(true);
}

static void test_reader_after_writer_crashes(void **state)
{
    (void)state;
    reader_after_writer_exits(false);
}

static void test_list_clean(void **state)
{
    (void)state;
    char name[64];
    test_name(name, sizeof name, "clean");
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct probe *probe = NULL;
        _exit(probe_create(&probe, &(struct probe_config){ .name = name }, NULL, 0) == 0
                  ? 0 : 1);     /* exit without destroy: a stale segment */
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_true(shm_exists(name));

    char live_name[64];
    test_name(live_name, sizeof live_name, "clean-live");
    struct probe *live = probe_new(live_name, "loop", 0);
    /* (A parallel cleaner may beat us to it, so count >= 0; either way
     * the stale segment must be gone.) */
    assert_true(probe_list_clean() >= 0);
    assert_false(shm_exists(name));
    assert_true(shm_exists(live_name));     /* a live server is never removed */
    probe_destroy(live);
}

/* --- Gauges, histograms, JSON ------------------------------------------- */

static void test_gauges_and_handler_histogram(void **state)
{
    (void)state;
    char name[64];
    test_name(name, sizeof name, "gauges");
    struct probe *probe = probe_new(name, "threads", 9000);
    struct probe_thread *me = probe_thread_begin(probe, "worker");
    probe_gauge_add(probe, PROBE_GAUGE_CONNECTIONS, 5);
    probe_gauge_add(probe, PROBE_GAUGE_CONNECTIONS, -2);
    probe_gauge_set(probe, PROBE_GAUGE_QUEUED, 17);
    assert_int_equal(probe_gauge_get(probe, PROBE_GAUGE_CONNECTIONS), 3);

    for (int i = 0; i < 3; i++) {
        probe_handler_begin(me, 9, 2);
        assert_int_equal(probe_gauge_get(probe, PROBE_GAUGE_HANDLERS_RUNNING), 1);
        clock_sleep_ms(5);
        probe_handler_end(me, 9, 2);
    }
    probe_hist_record(probe, PROBE_HIST_LOOP_LAG_NS, 2000000);

    struct probe_reader *reader = reader_new(name);
    struct probe_snapshot *snap = snapshot_take(reader);
    assert_true(snap->writer_alive);
    assert_int_equal(snap->gauges[PROBE_GAUGE_CONNECTIONS], 3);
    assert_int_equal(snap->gauges[PROBE_GAUGE_QUEUED], 17);
    assert_int_equal(snap->gauges[PROBE_GAUGE_HANDLERS_RUNNING], 0);
    assert_int_equal(snap->gauges[PROBE_GAUGE_REQUESTS_DONE], 3);
    const struct histogram *h = &snap->hists[PROBE_HIST_HANDLER_NS];
    assert_int_equal(histogram_count(h), 3);
    assert_true(histogram_min(h) >= 5000000);        /* slept 5 ms */
    assert_true(histogram_max(h) < 5000000000ull);   /* generous: < 5 s */
    assert_int_equal(histogram_count(&snap->hists[PROBE_HIST_LOOP_LAG_NS]), 1);

    /* The handler events carry route and duration. */
    struct probe_event_record events[16];
    size_t n = probe_reader_events(reader, events, 16, NULL);
    assert_int_equal(n, 7);
    assert_int_equal(events[1].kind, PROBE_EV_HANDLER_BEGIN);
    assert_int_equal(events[2].kind, PROBE_EV_HANDLER_END);
    assert_int_equal(events[2].fd, 9);
    assert_int_equal(events[2].a, 2);
    assert_true(events[2].b >= 5000000);
    assert_true(events[2].t_ns - events[1].t_ns == events[2].b);

    /* JSON from the server and from a reader. */
    char json[4096];
    int len = probe_stats_json(probe, json, sizeof json);
    assert_true(len > 0 && (size_t)len == strlen(json));
    char expected[160];
    snprintf(expected, sizeof expected,
             "{\"name\":\"%s\",\"model\":\"threads\",\"pid\":%d,\"port\":9000,", name,
             (int)getpid());
    assert_memory_equal(json, expected, strlen(expected));
    assert_non_null(strstr(json, "\"connections\":3,"));
    assert_non_null(strstr(json, "\"requests_done\":3,"));
    assert_non_null(strstr(json, "\"client_errors\":0}"));   /* the last gauge */
    assert_non_null(strstr(json, "\"handler_us\":{\"count\":3,\"p50\":"));
    assert_non_null(strstr(json, "\"p99.9\":"));
    assert_non_null(strstr(json, "\"loop_lag_p99_us\":2000.0}"));
    assert_non_null(strstr(json, "\"uptime_s\":"));
    assert_int_equal(json[len - 1], '}');
    /* Too small a buffer is an error, not a truncated document. */
    assert_int_equal(probe_stats_json(probe, json, 40), -ENOSPC);
    assert_int_equal(probe_stats_json(NULL, json, sizeof json),
                     (int)strlen("{\"probes\":\"off\"}"));

    len = probe_snapshot_json(probe_reader_info(reader), snap, json, sizeof json);
    assert_true(len > 0);
    assert_memory_equal(json, expected, strlen(expected));
    assert_non_null(strstr(json, "\"requests_done\":3,"));
    free(snap);

    probe_reader_close(reader);
    probe_thread_end(me);
    probe_destroy(probe);
}

/* A run of handlers timed together: each gets an equal share, in the
 * histogram, the request count and a BEGIN/END pair spaced evenly. */
static void test_handlers_ran(void **state)
{
    (void)state;
    char name[64];
    test_name(name, sizeof name, "run");
    struct probe *probe = probe_new(name, "loop", 9000);
    struct probe_thread *me = probe_thread_begin(probe, "loop");
    probe_handlers_ran(me, 1000, 1400, 7, 3, 4);       /* 4 handlers in 400 ns */
    probe_handlers_ran(me, 2000, 3000, 7, 3, 0);       /* an empty run: nothing */

    struct probe_reader *reader = reader_new(name);
    struct probe_snapshot *snap = snapshot_take(reader);
    assert_int_equal(snap->gauges[PROBE_GAUGE_REQUESTS_DONE], 4);
    assert_int_equal(snap->gauges[PROBE_GAUGE_HANDLERS_RUNNING], 0);
    const struct histogram *h = &snap->hists[PROBE_HIST_HANDLER_NS];
    assert_int_equal(histogram_count(h), 4);
    assert_int_equal(histogram_min(h), 100);
    assert_int_equal(histogram_max(h), 100);
    assert_int_equal(atomic_load(&h->sum), 400);

    /* The ring holds the run in one slot; a reader sees the pairs, also
     * when it takes them a few at a time (a call may end mid-run). */
    struct probe_event_record events[16];
    size_t n = 0;
    for (int call = 0; call < 20 && n < 16; call++) {
        size_t got = probe_reader_events(reader, events + n, 2, NULL);
        if (got == 0)
            break;
        n += got;
    }
    assert_int_equal(n, 9);                  /* THREAD_START + 4 pairs */
    assert_int_equal(probe_reader_events(reader, events, 16, NULL), 0);
    for (int i = 0; i < 4; i++) {
        const struct probe_event_record *begin = &events[1 + 2 * i], *end = &events[2 + 2 * i];
        assert_int_equal(begin->kind, PROBE_EV_HANDLER_BEGIN);
        assert_int_equal(end->kind, PROBE_EV_HANDLER_END);
        assert_int_equal(begin->t_ns, 1000 + 100 * (uint64_t)i);
        assert_int_equal(end->t_ns, begin->t_ns + 100);
        assert_int_equal(end->b, 100);
        assert_int_equal(end->fd, 7);
        assert_int_equal(end->a, 3);
    }
    free(snap);
    probe_reader_close(reader);
    probe_thread_end(me);
    probe_destroy(probe);
}

/* Gauges and histograms kept in the rings: what threads add in their own
 * rings and what goes to the shared ones add up, and a ring handed to a
 * new thread keeps what its old owner counted. */
static void test_thread_gauges(void **state)
{
    (void)state;
    char name[64];
    test_name(name, sizeof name, "tgauge");
    struct probe *probe = probe_new(name, "threads", 9000);
    struct probe_thread *a = probe_thread_begin(probe, "a");
    struct probe_thread *b = probe_thread_begin(probe, "b");
    probe_thread_gauge_add(a, PROBE_GAUGE_BYTES_IN, 100);
    probe_thread_gauge_add(b, PROBE_GAUGE_BYTES_IN, 20);
    probe_gauge_add(probe, PROBE_GAUGE_BYTES_IN, 3);
    probe_thread_gauge_add(a, PROBE_GAUGE_OUTPUT_QUEUED, 50);
    probe_thread_gauge_add(a, PROBE_GAUGE_OUTPUT_QUEUED, -50);
    probe_thread_gauge_add(b, PROBE_GAUGE_CONNECTIONS, 2);   /* not per ring: shared */
    probe_thread_gauge_add(NULL, PROBE_GAUGE_BYTES_IN, 1000);  /* nothing */
    assert_int_equal(probe_gauge_get(probe, PROBE_GAUGE_BYTES_IN), 123);
    assert_int_equal(probe_gauge_get(probe, PROBE_GAUGE_OUTPUT_QUEUED), 0);
    assert_int_equal(probe_gauge_get(probe, PROBE_GAUGE_CONNECTIONS), 2);

    probe_thread_end(a);
    struct probe_thread *c = probe_thread_begin(probe, "c");   /* takes a's ring */
    probe_thread_gauge_add(c, PROBE_GAUGE_BYTES_OUT, 7);
    /* Histograms too: per ring for the dispatch time, shared for lag. */
    probe_thread_hist_record(b, PROBE_HIST_DISPATCH_NS, 1000);
    probe_thread_hist_record(c, PROBE_HIST_DISPATCH_NS, 3000);
    probe_hist_record(probe, PROBE_HIST_DISPATCH_NS, 2000);
    probe_thread_hist_record(c, PROBE_HIST_LOOP_LAG_NS, 5);
    struct probe_reader *reader = reader_new(name);
    struct probe_snapshot *snap = snapshot_take(reader);
    assert_int_equal(snap->gauges[PROBE_GAUGE_BYTES_IN], 123);
    assert_int_equal(snap->gauges[PROBE_GAUGE_BYTES_OUT], 7);
    const struct histogram *dispatch = &snap->hists[PROBE_HIST_DISPATCH_NS];
    assert_int_equal(histogram_count(dispatch), 3);
    assert_int_equal(histogram_min(dispatch), 1000);
    assert_int_equal(histogram_max(dispatch), 3000);
    assert_int_equal(histogram_count(&snap->hists[PROBE_HIST_LOOP_LAG_NS]), 1);
    free(snap);
    probe_reader_close(reader);
    probe_thread_end(b);
    probe_thread_end(c);
    probe_destroy(probe);
}

/* --- Thread states ------------------------------------------------------ */

struct stateful {
    struct probe *probe;
    int gate[3][2];        /* three pipes the main thread opens in turn */
};

static void wait_gate(int fd)
{
    char c;
    assert_int_equal(read(fd, &c, 1), 1);
}

static void *stateful_main(void *arg)
{
    struct stateful *s = arg;
    struct probe_thread *me = probe_thread_begin(s->probe, "blocker");
    /* 1: blocked in read() on gate 0. */
    probe_block_begin(me, PROBE_CALL_READ, s->gate[0][0]);
    wait_gate(s->gate[0][0]);
    probe_block_end(me, PROBE_CALL_READ, s->gate[0][0]);
    /* 2: in a handler, blocked in a sleep (thread model's /sleep). */
    probe_handler_begin(me, 7, 3);
    probe_block_begin(me, PROBE_CALL_SLEEP, -1);
    wait_gate(s->gate[1][0]);
    probe_block_end(me, PROBE_CALL_SLEEP, -1);
    /* 3: back in the handler. */
    wait_gate(s->gate[2][0]);
    probe_handler_end(me, 7, 3);
    probe_thread_end(me);
    return NULL;
}

/* Polls snapshots until the "blocker" thread is in `state` (2 s max). */
static struct probe_thread_info wait_for_state(struct probe_reader *reader,
                                               enum probe_thread_state state)
{
    struct probe_thread_info info = { .state = 255 };
    uint64_t deadline = clock_now_ns() + 2000000000ull;
    while (clock_now_ns() < deadline) {
        struct probe_snapshot *snap = snapshot_take(reader);
        const struct probe_thread_info *t = snapshot_thread(snap, "blocker");
        if (t != NULL)
            info = *t;
        free(snap);
        if (info.state == state)
            break;
        clock_sleep_ms(5);
    }
    return info;
}

static void test_thread_states(void **state)
{
    (void)state;
    char name[64];
    test_name(name, sizeof name, "states");
    struct stateful s = { .probe = probe_new(name, "threads", 0) };
    for (int i = 0; i < 3; i++)
        assert_int_equal(pipe(s.gate[i]), 0);
    struct probe_reader *reader = reader_new(name);
    pthread_t thread;
    assert_int_equal(pthread_create(&thread, NULL, stateful_main, &s), 0);

    struct probe_thread_info t = wait_for_state(reader, PROBE_STATE_BLOCKED);
    assert_int_equal(t.state, PROBE_STATE_BLOCKED);
    assert_int_equal(t.call, PROBE_CALL_READ);
    assert_int_equal(t.fd, s.gate[0][0]);
    assert_true(t.tid > 0 && t.tid != getpid());
    assert_true(t.since_ns > 0 && t.since_ns <= clock_now_ns());
    clock_sleep_ms(20);
    assert_int_equal(write(s.gate[0][1], "x", 1), 1);

    t = wait_for_state(reader, PROBE_STATE_BLOCKED);   /* now in the sleep */
    uint64_t deadline = clock_now_ns() + 2000000000ull;
    while (t.call != PROBE_CALL_SLEEP && clock_now_ns() < deadline) {
        clock_sleep_ms(5);
        t = wait_for_state(reader, PROBE_STATE_BLOCKED);
    }
    assert_int_equal(t.call, PROBE_CALL_SLEEP);
    assert_int_equal(t.fd, -1);
    assert_int_equal(write(s.gate[1][1], "x", 1), 1);

    /* After the block inside a handler, the thread is back in it. */
    t = wait_for_state(reader, PROBE_STATE_HANDLER);
    assert_int_equal(t.state, PROBE_STATE_HANDLER);
    assert_int_equal(t.route, 3);
    assert_int_equal(t.fd, 7);
    assert_int_equal(write(s.gate[2][1], "x", 1), 1);
    pthread_join(thread, NULL);

    t = wait_for_state(reader, PROBE_STATE_EXITED);
    assert_int_equal(t.state, PROBE_STATE_EXITED);

    /* The first BLOCK_END carries at least the 20 ms we waited. */
    struct probe_event_record events[32];
    size_t n = probe_reader_events(reader, events, 32, NULL);
    bool seen = false;
    for (size_t i = 0; i < n && !seen; i++) {
        if (events[i].kind == PROBE_EV_BLOCK_END) {
            seen = true;
            assert_int_equal(events[i].a, PROBE_CALL_READ);
            assert_true(events[i].b >= 20000000);
        }
    }
    assert_true(seen);

    for (int i = 0; i < 3; i++) {
        close(s.gate[i][0]);
        close(s.gate[i][1]);
    }
    probe_reader_close(reader);
    probe_destroy(s.probe);
}

/* --- The sampler -------------------------------------------------------- */

static int listener_new(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    struct sockaddr_in addr = { .sin_family = AF_INET,
                                .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    assert_int_equal(bind(fd, (struct sockaddr *)&addr, sizeof addr), 0);
    assert_int_equal(listen(fd, 16), 0);
    return fd;
}

static int client_connect(int listen_fd)
{
    struct sockaddr_in addr;
    socklen_t len = sizeof addr;
    assert_int_equal(getsockname(listen_fd, (struct sockaddr *)&addr, &len), 0);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    assert_int_equal(connect(fd, (struct sockaddr *)&addr, sizeof addr), 0);
    return fd;
}

/* Polls a gauge until it equals `want`, for up to 2 s; returns the last
 * value seen. */
static int64_t wait_for_gauge(struct probe *probe, enum probe_gauge gauge, int64_t want)
{
    int64_t value = probe_gauge_get(probe, gauge);
    uint64_t deadline = clock_now_ns() + 2000000000ull;
    while (value != want && clock_now_ns() < deadline) {
        clock_sleep_ms(10);
        value = probe_gauge_get(probe, gauge);
    }
    return value;
}

static void test_sampler_accept_backlog(void **state)
{
    (void)state;
    char name[64];
    test_name(name, sizeof name, "backlog");
    int listen_fd = listener_new();
    struct probe *probe = probe_new(name, "blocking", 0);
    assert_int_equal(probe_sampler_start(probe, listen_fd, PROBE_SAMPLE_ACCEPT_QUEUE), 0);
    assert_int_equal(probe_sampler_start(probe, listen_fd, PROBE_SAMPLE_ACCEPT_QUEUE),
                     -EALREADY);

    /* Three handshakes complete in the kernel; nobody calls accept(). */
    int clients[3];
    for (int i = 0; i < 3; i++)
        clients[i] = client_connect(listen_fd);
    assert_int_equal(wait_for_gauge(probe, PROBE_GAUGE_Q_ACCEPT_BACKLOG, 3), 3);

    /* Accepting one shrinks the queue. */
    int accepted = accept(listen_fd, NULL, NULL);
    assert_true(accepted >= 0);
    assert_int_equal(wait_for_gauge(probe, PROBE_GAUGE_Q_ACCEPT_BACKLOG, 2), 2);

    /* Stopping is prompt: the sampler waits on a condition variable. */
    uint64_t start = clock_now_ns();
    probe_destroy(probe);
    assert_true(clock_now_ns() - start < 1000000000ull);

    close(accepted);
    for (int i = 0; i < 3; i++)
        close(clients[i]);
    close(listen_fd);
}

struct spinners {
    _Atomic bool stop;
};

static void *spin(void *arg)
{
    struct spinners *s = arg;
    uint64_t deadline = clock_now_ns() + 10000000000ull;   /* bounded: 10 s */
    while (!atomic_load_explicit(&s->stop, memory_order_relaxed) && clock_now_ns() < deadline)
        ;
    return NULL;
}

static void test_sampler_threads(void **state)
{
    (void)state;
    cpu_set_t set;
    assert_int_equal(sched_getaffinity(0, sizeof set, &set), 0);
    int cpus = CPU_COUNT(&set);
    if (cpus > 16)
        skip();     /* would need too many spinning threads */

    char name[64];
    test_name(name, sizeof name, "runnable");
    struct probe *probe = probe_new(name, "threads", 0);
    assert_int_equal(probe_sampler_start(probe, -1, PROBE_SAMPLE_THREADS), 0);

    /* More threads wanting a CPU than there are CPUs: some must wait. */
    int count = cpus + 2;
    struct spinners s = { .stop = false };
    pthread_t threads[20];
    for (int i = 0; i < count; i++)
        assert_int_equal(pthread_create(&threads[i], NULL, spin, &s), 0);

    int64_t runnable = 0, total = 0;
    uint64_t deadline = clock_now_ns() + 3000000000ull;
    while (clock_now_ns() < deadline) {
        runnable = probe_gauge_get(probe, PROBE_GAUGE_Q_RUNNABLE);
        total = probe_gauge_get(probe, PROBE_GAUGE_THREADS);
        if (runnable >= 1 && total >= count + 1)
            break;
        clock_sleep_ms(10);
    }
    atomic_store(&s.stop, true);
    for (int i = 0; i < count; i++)
        pthread_join(threads[i], NULL);
    /* The spinners plus this thread; the sampler does not count itself
     * (a sanitizer may add a helper thread of its own). */
    assert_true(total >= count + 1);
    assert_true(total <= count + 3);
    assert_true(runnable >= 1);
    probe_destroy(probe);
}

/* --- probe_list --------------------------------------------------------- */

static void test_probe_list(void **state)
{
    (void)state;
    char name[64];
    test_name(name, sizeof name, "list");
    struct probe *probe = probe_new(name, "loop", 7777);
    struct probe_info *list = calloc(1024, sizeof *list);
    assert_non_null(list);
    int total = probe_list(list, 1024);
    assert_true(total >= 1);
    bool found = false;
    for (int i = 0; i < total && i < 1024; i++) {
        if (i > 0)
            assert_true(strcmp(list[i - 1].name, list[i].name) <= 0);   /* sorted */
        if (strcmp(list[i].name, name) == 0) {
            found = true;
            assert_true(list[i].alive);
            assert_int_equal(list[i].pid, getpid());
            assert_int_equal(list[i].port, 7777);
            assert_string_equal(list[i].model, "loop");
            assert_int_equal(list[i].layout_version, PROBE_LAYOUT_VERSION);
        }
    }
    assert_true(found);
    /* max = 0 still counts. */
    assert_int_equal(probe_list(list, 0) >= 1, 1);
    free(list);
    probe_destroy(probe);
}

/* --- Writers and readers racing ----------------------------------------- */

#define RACE_WRITERS 3
#define RACE_ROUNDS 3
#define RACE_EVENTS 20000     /* per writer per round; several ring laps */

struct race {
    struct probe *probe;
    _Atomic int writers_done;
};

struct race_writer {
    struct race *race;
    uint64_t id;
};

static void *race_writer_main(void *arg)
{
    struct race_writer *w = arg;
    uint64_t seq = 0;
    /* Rounds: the thread's ring is released and claimed again, so ring
     * reuse happens while the reader reads. */
    for (int round = 0; round < RACE_ROUNDS; round++) {
        struct probe_thread *me = probe_thread_begin(w->race->probe, "racer");
        for (int i = 0; i < RACE_EVENTS; i++, seq++) {
            uint64_t a = (w->id << 32) | seq;
            probe_emit(me, PROBE_EV_WRITE, (int)w->id, a, ~a);
            if (i % 1000 == 0) {
                probe_handler_begin(me, 1, 0);
                probe_gauge_add(w->race->probe, PROBE_GAUGE_BYTES_OUT, 1);
                probe_handler_end(me, 1, 0);
            }
        }
        probe_thread_end(me);
    }
    atomic_fetch_add(&w->race->writers_done, 1);
    return NULL;
}

static void test_writer_reader_race(void **state)
{
    (void)state;
    char name[64];
    test_name(name, sizeof name, "race");
    struct race race = { .probe = probe_new(name, "loop", 0) };
    struct probe_reader *reader = reader_new(name);
    size_t cap = 1024;
    struct probe_event_record *events = calloc(cap, sizeof *events);
    struct probe_snapshot *snap = malloc(sizeof *snap);
    /* One bit per (writer, seq): each event may be seen at most once. */
    size_t per_writer = (size_t)RACE_ROUNDS * RACE_EVENTS;
    uint8_t *seen = calloc(RACE_WRITERS * per_writer, 1);
    uint64_t last_t[PROBE_MAX_RINGS] = { 0 };
    assert_non_null(events);
    assert_non_null(snap);
    assert_non_null(seen);

    uint64_t missed = 0, received = 0;
    /* The first call sets the cursors before any writer starts. */
    assert_int_equal(probe_reader_events(reader, events, cap, &missed), 0);

    pthread_t threads[RACE_WRITERS];
    struct race_writer writers[RACE_WRITERS];
    for (int i = 0; i < RACE_WRITERS; i++) {
        writers[i] = (struct race_writer){ .race = &race, .id = (uint64_t)i };
        assert_int_equal(pthread_create(&threads[i], NULL, race_writer_main, &writers[i]), 0);
    }

    bool draining = false;
    uint64_t deadline = clock_now_ns() + 60000000000ull;   /* bounded: 60 s */
    for (int iterations = 0; clock_now_ns() < deadline; iterations++) {
        bool done = atomic_load(&race.writers_done) == RACE_WRITERS;
        size_t n = probe_reader_events(reader, events, cap, &missed);
        for (size_t i = 0; i < n; i++) {
            const struct probe_event_record *ev = &events[i];
            /* Within one ring, time never goes backwards. */
            assert_true(ev->t_ns >= last_t[ev->ring]);
            last_t[ev->ring] = ev->t_ns;
            if (ev->kind != PROBE_EV_WRITE)
                continue;
            /* Never torn: the fields of one event belong together. */
            assert_int_equal(ev->b, ~ev->a);
            uint64_t writer = ev->a >> 32, seq = ev->a & 0xffffffffu;
            assert_int_equal(ev->fd, (int)writer);
            assert_true(writer < RACE_WRITERS && seq < per_writer);
            assert_int_equal(seen[writer * per_writer + seq], 0);
            seen[writer * per_writer + seq] = 1;
        }
        received += n;
        if (iterations % 16 == 0)
            assert_int_equal(probe_reader_snapshot(reader, snap), 0);
        if (done && n == 0) {
            if (draining)
                break;
            draining = true;     /* one more pass after the writers ended */
        }
        if (n == 0)
            sched_yield();       /* let the writers run on a busy machine */
    }
    for (int i = 0; i < RACE_WRITERS; i++)
        pthread_join(threads[i], NULL);

    print_message("race: received %llu, missed %llu\n", (unsigned long long)received,
                  (unsigned long long)missed);
    /* Everything written was either read or reported missed. */
    uint64_t per_round = RACE_EVENTS + 2 /* thread start, exit */ + 2 * (RACE_EVENTS / 1000);
    assert_int_equal(received + missed, (uint64_t)RACE_WRITERS * RACE_ROUNDS * per_round);
    assert_true(received > 0);
    assert_int_equal(probe_reader_snapshot(reader, snap), 0);
    assert_int_equal(snap->gauges[PROBE_GAUGE_REQUESTS_DONE],
                     RACE_WRITERS * RACE_ROUNDS * (RACE_EVENTS / 1000));
    assert_int_equal(snap->gauges[PROBE_GAUGE_EVENTS_DROPPED], 0);

    free(seen);
    free(snap);
    free(events);
    probe_reader_close(reader);
    probe_destroy(race.probe);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_create_destroy, fds_before, fds_after),
        cmocka_unit_test(test_names),
        cmocka_unit_test_setup_teardown(test_events_two_readers, fds_before, fds_after),
        cmocka_unit_test_setup_teardown(test_ring_wraparound, fds_before, fds_after),
        cmocka_unit_test_setup_teardown(test_drops_when_rings_full, fds_before, fds_after),
        cmocka_unit_test_setup_teardown(test_handler_counts_kept_per_ring, fds_before,
                                        fds_after),
        cmocka_unit_test(test_histogram_record_owned_matches),
        cmocka_unit_test(test_histogram_record_owned_times_matches),
        cmocka_unit_test_setup_teardown(test_handlers_ran, fds_before, fds_after),
        cmocka_unit_test_setup_teardown(test_thread_gauges, fds_before, fds_after),
        cmocka_unit_test_setup_teardown(test_reader_errors, fds_before, fds_after),
        cmocka_unit_test_setup_teardown(test_duplicate_name, fds_before, fds_after),
        cmocka_unit_test_setup_teardown(test_reader_after_writer_destroys, fds_before,
                                        fds_after),
        cmocka_unit_test_setup_teardown(test_reader_after_writer_crashes, fds_before,
                                        fds_after),
        cmocka_unit_test_setup_teardown(test_list_clean, fds_before, fds_after),
        cmocka_unit_test_setup_teardown(test_gauges_and_handler_histogram, fds_before,
                                        fds_after),
        cmocka_unit_test_setup_teardown(test_thread_states, fds_before, fds_after),
        cmocka_unit_test_setup_teardown(test_sampler_accept_backlog, fds_before, fds_after),
        cmocka_unit_test_setup_teardown(test_sampler_threads, fds_before, fds_after),
        cmocka_unit_test_setup_teardown(test_probe_list, fds_before, fds_after),
        cmocka_unit_test_setup_teardown(test_writer_reader_race, fds_before, fds_after),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

#else /* EVLAB_NO_PROBES: only the compiled-out promises can be checked */

static void test_compiled_out(void **state)
{
    (void)state;
    struct probe *probe = (struct probe *)1;
    assert_int_equal(probe_create(&probe, &(struct probe_config){ .name = "x" }, NULL, 0), 0);
    assert_null(probe);
    assert_null(probe_thread_begin(probe, "main"));
    char json[64];
    int len = probe_stats_json(probe, json, sizeof json);
    assert_int_equal(len, (int)strlen("{\"probes\":\"compiled out\"}"));
    assert_string_equal(json, "{\"probes\":\"compiled out\"}");
    assert_string_equal(probe_gauge_name(PROBE_GAUGE_THREADS), "threads");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_compiled_out),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

#endif /* EVLAB_NO_PROBES */
