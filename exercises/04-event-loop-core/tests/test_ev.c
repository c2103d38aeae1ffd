/*
 * test_ev.c — the graded tests of exercise 04 (the core of an event loop),
 * cmocka tests run through grade_cmocka.
 *
 * Readiness is made real with pipes and socket pairs: writing a byte to a
 * pipe makes its read end readable; closing one end of a socket pair
 * makes the other report a hang-up.  Every callback is recorded (which
 * descriptor, which events, which data, in which turn), and the tests
 * assert exact totals, libuv style: "called once", never "called".
 *
 * The two tests that carry the most points are the ones loops get wrong:
 * a callback that removes its own descriptor, and one that removes
 * another descriptor that is ready in the same turn — including the case
 * where the removed number is reused at once by a new pipe, so a loop
 * that only checks "is fd N registered?" delivers a stale event to the
 * wrong file.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "ev.h"
#include "grade_cmocka.h"

/* --- recording callbacks --------------------------------------------- */

#define MAX_CALLS 512

struct call {
    int fd;
    unsigned events;
    void *data;
};

static struct call calls[MAX_CALLS];
static int ncalls;

static void record(int fd, unsigned events, void *data)
{
    if (ncalls < MAX_CALLS)
        calls[ncalls] = (struct call){ fd, events, data };
    ncalls++;
}

static void on_event(struct ev_loop *loop, int fd, unsigned events, void *data)
{
    (void)loop;
    record(fd, events, data);
}

/* How many recorded calls were for fd. */
static int calls_for(int fd)
{
    int n = 0;
    for (int i = 0; i < ncalls && i < MAX_CALLS; i++)
        n += calls[i].fd == fd;
    return n;
}

static void make_pipe(int fds[2])
{
    assert_int_equal(pipe(fds), 0);
}

static void make_readable(int write_fd)
{
    assert_int_equal(write(write_fd, "x", 1), 1);
}

static void drain(int read_fd)
{
    char buf[64];
    assert_true(read(read_fd, buf, sizeof buf) > 0);
}

/* "-EINVAL" for the negative errnos the interface uses, else the number. */
static const char *rc_name(int rc, char *buf, size_t cap)
{
    static const struct { int value; const char *name; } names[] = {
        { -EINVAL, "-EINVAL" }, { -EEXIST, "-EEXIST" }, { -ENOENT, "-ENOENT" },
        { -ENOSYS, "-ENOSYS (not written yet)" }, { -ENOMEM, "-ENOMEM" }, { -EBADF, "-EBADF" },
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (names[i].value == rc)
            return names[i].name;
    snprintf(buf, cap, "%d", rc);
    return buf;
}

/* Asserts a call's return value, saying in words what came back. */
static void expect_rc(int got, int want, const char *call)
{
    if (got != want) {
        char g[32], w[32];
        grade_explain("%s returned %s, expected %s", call, rc_name(got, g, sizeof g),
                      rc_name(want, w, sizeof w));
    }
    assert_int_equal(got, want);
}

static struct ev_loop *new_loop(void)
{
    struct ev_loop *loop = NULL;
    grade_explain("ev_loop_new() returns 0 and a loop");
    assert_int_equal(ev_loop_new(&loop), 0);
    assert_non_null(loop);
    ncalls = 0;
    return loop;
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* --- the tests ------------------------------------------------------- */

static void test_read_dispatch(void **state)
{
    (void)state;
    struct ev_loop *loop = new_loop();
    int p[2];
    make_pipe(p);
    int marker = 42;
    grade_explain("ev_add(loop, pipe read end %d, EV_READ, cb, &marker) returns 0", p[0]);
    expect_rc(ev_add(loop, p[0], EV_READ, on_event, &marker), 0, "ev_add(loop, p[0], EV_READ, on_event, &marker)");
    grade_explain("ev_count() is 1 after one ev_add()");
    assert_int_equal(ev_count(loop), 1);

    make_readable(p[1]);
    grade_explain("one byte written to the pipe: ev_run_once(loop, 1000) calls 1 callback "
                  "and returns 1");
    expect_rc(ev_run_once(loop, 1000), 1, "ev_run_once(loop, 1000)");
    assert_int_equal(ncalls, 1);
    grade_explain("the callback got the read end's fd, events == EV_READ, and &marker");
    assert_int_equal(calls[0].fd, p[0]);
    assert_int_equal(calls[0].events, EV_READ);
    assert_ptr_equal(calls[0].data, &marker);

    grade_explain("after ev_remove(), the still-readable pipe gets no callback "
                  "(ev_run_once(loop, 50) returns 0)");
    expect_rc(ev_remove(loop, p[0]), 0, "ev_remove(loop, p[0])");
    assert_int_equal(ev_count(loop), 0);
    ncalls = 0;
    expect_rc(ev_run_once(loop, 50), 0, "ev_run_once(loop, 50)");
    assert_int_equal(ncalls, 0);

    grade_explain("added again, the readable pipe is dispatched again");
    expect_rc(ev_add(loop, p[0], EV_READ, on_event, &marker), 0, "ev_add(loop, p[0], EV_READ, on_event, &marker)");
    expect_rc(ev_run_once(loop, 1000), 1, "ev_run_once(loop, 1000)");
    assert_int_equal(ncalls, 1);
    ev_remove(loop, p[0]);
    close(p[0]);
    close(p[1]);
    ev_loop_free(loop);
}

static void test_timeout_without_events(void **state)
{
    (void)state;
    struct ev_loop *loop = new_loop();
    grade_explain("with nothing registered, ev_run_once(loop, -1) returns 0 at once");
    expect_rc(ev_run_once(loop, -1), 0, "ev_run_once(loop, -1)");

    int p[2];
    make_pipe(p);
    expect_rc(ev_add(loop, p[0], EV_READ, on_event, NULL), 0, "ev_add(loop, p[0], EV_READ, on_event, NULL)");
    uint64_t start = now_ms();
    int rc = ev_run_once(loop, 150);
    uint64_t waited = now_ms() - start;
    grade_explain("an empty pipe: ev_run_once(loop, 150) returns 0 (no callback)");
    assert_int_equal(rc, 0);
    assert_int_equal(ncalls, 0);
    grade_explain("an empty pipe: ev_run_once(loop, 150) waits about 150 ms (waited %llu ms; "
                  "at least 100 expected, under 3000)", (unsigned long long)waited);
    assert_true(waited >= 100 && waited < 3000);

    start = now_ms();
    rc = ev_run_once(loop, 0);
    waited = now_ms() - start;
    grade_explain("ev_run_once(loop, 0) does not wait (waited %llu ms; under 100 expected)",
                  (unsigned long long)waited);
    assert_int_equal(rc, 0);
    assert_true(waited < 100);
    ev_remove(loop, p[0]);
    close(p[0]);
    close(p[1]);
    ev_loop_free(loop);
}

static void test_write_and_modify(void **state)
{
    (void)state;
    struct ev_loop *loop = new_loop();
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    int a = sv[0];
    expect_rc(ev_add(loop, a, EV_READ, on_event, NULL), 0, "ev_add(loop, a, EV_READ, on_event, NULL)");
    grade_explain("a socket that is writable but registered for EV_READ only, nothing to "
                  "read: no callback in ev_run_once(loop, 50)");
    expect_rc(ev_run_once(loop, 50), 0, "ev_run_once(loop, 50)");
    assert_int_equal(ncalls, 0);

    grade_explain("ev_modify(loop, fd, EV_WRITE): the writable socket is dispatched with "
                  "events == EV_WRITE");
    expect_rc(ev_modify(loop, a, EV_WRITE), 0, "ev_modify(loop, a, EV_WRITE)");
    expect_rc(ev_run_once(loop, 1000), 1, "ev_run_once(loop, 1000)");
    assert_int_equal(calls[0].events, EV_WRITE);

    assert_int_equal(write(sv[1], "x", 1), 1);
    ncalls = 0;
    grade_explain("ev_modify(loop, fd, EV_READ | EV_WRITE) with a byte to read: one "
                  "callback with events == EV_READ | EV_WRITE");
    expect_rc(ev_modify(loop, a, EV_READ | EV_WRITE), 0, "ev_modify(loop, a, EV_READ | EV_WRITE)");
    expect_rc(ev_run_once(loop, 1000), 1, "ev_run_once(loop, 1000)");
    assert_int_equal(ncalls, 1);
    assert_int_equal(calls[0].events, EV_READ | EV_WRITE);

    ncalls = 0;
    grade_explain("ev_modify(loop, fd, 0): readable and writable, but no callback");
    expect_rc(ev_modify(loop, a, 0), 0, "ev_modify(loop, a, 0)");
    expect_rc(ev_run_once(loop, 50), 0, "ev_run_once(loop, 50)");
    assert_int_equal(ncalls, 0);
    ev_remove(loop, a);
    close(sv[0]);
    close(sv[1]);
    ev_loop_free(loop);
}

static void test_errors(void **state)
{
    (void)state;
    struct ev_loop *loop = new_loop();
    int p[2];
    make_pipe(p);
    grade_explain("ev_add() of a negative fd returns -EINVAL");
    expect_rc(ev_add(loop, -1, EV_READ, on_event, NULL), -EINVAL, "ev_add(loop, -1, EV_READ, on_event, NULL)");
    grade_explain("ev_add() of fd EV_MAX_FDS returns -EINVAL");
    expect_rc(ev_add(loop, EV_MAX_FDS, EV_READ, on_event, NULL), -EINVAL, "ev_add(loop, EV_MAX_FDS, EV_READ, on_event, NULL)");
    grade_explain("ev_add() with an unknown event bit (0x8) returns -EINVAL");
    expect_rc(ev_add(loop, p[0], 0x8, on_event, NULL), -EINVAL, "ev_add(loop, p[0], 0x8, on_event, NULL)");
    grade_explain("ev_add() with a NULL callback returns -EINVAL");
    expect_rc(ev_add(loop, p[0], EV_READ, NULL, NULL), -EINVAL, "ev_add(loop, p[0], EV_READ, NULL, NULL)");
    grade_explain("nothing was registered by the failed calls: ev_count() is 0");
    assert_int_equal(ev_count(loop), 0);
    grade_explain("ev_modify() and ev_remove() of an fd never added return -ENOENT");
    expect_rc(ev_modify(loop, p[0], EV_READ), -ENOENT, "ev_modify(loop, p[0], EV_READ)");
    expect_rc(ev_remove(loop, p[0]), -ENOENT, "ev_remove(loop, p[0])");
    grade_explain("adding the same fd twice: the second ev_add() returns -EEXIST");
    expect_rc(ev_add(loop, p[0], EV_READ, on_event, NULL), 0, "ev_add(loop, p[0], EV_READ, on_event, NULL)");
    expect_rc(ev_add(loop, p[0], EV_WRITE, on_event, NULL), -EEXIST, "ev_add(loop, p[0], EV_WRITE, on_event, NULL)");
    assert_int_equal(ev_count(loop), 1);
    grade_explain("ev_modify() with an unknown event bit returns -EINVAL");
    expect_rc(ev_modify(loop, p[0], 0x10), -EINVAL, "ev_modify(loop, p[0], 0x10)");
    grade_explain("removing twice: the second ev_remove() returns -ENOENT");
    expect_rc(ev_remove(loop, p[0]), 0, "ev_remove(loop, p[0])");
    expect_rc(ev_remove(loop, p[0]), -ENOENT, "ev_remove(loop, p[0])");
    assert_int_equal(ev_count(loop), 0);
    close(p[0]);
    close(p[1]);
    ev_loop_free(loop);
}

/* For test_remove_self_in_callback: each callback removes and closes its
 * own pipe.  data points at the pipe's write end. */
static void remove_self(struct ev_loop *loop, int fd, unsigned events, void *data)
{
    record(fd, events, data);
    int *write_end = data;
    expect_rc(ev_remove(loop, fd), 0, "ev_remove(loop, fd)");
    close(fd);
    close(*write_end);
}

static void test_remove_self_in_callback(void **state)
{
    (void)state;
    struct ev_loop *loop = new_loop();
    int pipes[3][2];
    for (int i = 0; i < 3; i++) {
        make_pipe(pipes[i]);
        expect_rc(ev_add(loop, pipes[i][0], EV_READ, remove_self, &pipes[i][1]), 0, "ev_add(loop, pipes[i][0], EV_READ, remove_self, &pipes[i][1])");
        make_readable(pipes[i][1]);
    }
    grade_explain("three ready pipes whose callbacks each remove and close their own fd: "
                  "ev_run_once() calls all three, once each, and returns 3");
    expect_rc(ev_run_once(loop, 1000), 3, "ev_run_once(loop, 1000)");
    for (int i = 0; i < 3; i++)
        assert_int_equal(calls_for(pipes[i][0]), 1);
    grade_explain("after the three removals ev_count() is 0 and the next turn calls nothing");
    assert_int_equal(ev_count(loop), 0);
    ncalls = 0;
    expect_rc(ev_run_once(loop, 0), 0, "ev_run_once(loop, 0)");
    assert_int_equal(ncalls, 0);
    ev_loop_free(loop);
}

/* For test_remove_other_in_callback. */
struct pair_test {
    int a[2], b[2];               /* two pipes, both ready */
    int newcomer_calls;
    int newcomer_fd;
};

static void newcomer(struct ev_loop *loop, int fd, unsigned events, void *data)
{
    (void)loop;
    (void)events;
    (void)fd;
    struct pair_test *t = data;
    t->newcomer_calls++;
    drain(t->newcomer_fd);
}

/* Whichever of the two runs first removes the other, closes it, and puts
 * a brand-new, readable pipe under the same descriptor number. */
static void remove_other(struct ev_loop *loop, int fd, unsigned events, void *data)
{
    struct pair_test *t = data;
    record(fd, events, data);
    int *other = fd == t->a[0] ? t->b : t->a;
    int other_fd = other[0];
    expect_rc(ev_remove(loop, other_fd), 0, "ev_remove(loop, other_fd)");
    close(other[0]);
    close(other[1]);
    int fresh[2];
    make_pipe(fresh);
    /* Make sure the number is really reused, as it would be by accept(). */
    if (fresh[0] != other_fd) {
        assert_int_equal(dup2(fresh[0], other_fd), other_fd);
        close(fresh[0]);
    }
    other[0] = other_fd;
    other[1] = fresh[1];
    make_readable(other[1]);
    t->newcomer_fd = other_fd;
    expect_rc(ev_add(loop, other_fd, EV_READ, newcomer, t), 0, "ev_add(loop, other_fd, EV_READ, newcomer, t)");
    drain(fd);
}

static void test_remove_other_in_callback(void **state)
{
    (void)state;
    struct ev_loop *loop = new_loop();
    struct pair_test t = { .newcomer_calls = 0 };
    make_pipe(t.a);
    make_pipe(t.b);
    expect_rc(ev_add(loop, t.a[0], EV_READ, remove_other, &t), 0, "ev_add(loop, t.a[0], EV_READ, remove_other, &t)");
    expect_rc(ev_add(loop, t.b[0], EV_READ, remove_other, &t), 0, "ev_add(loop, t.b[0], EV_READ, remove_other, &t)");
    make_readable(t.a[1]);
    make_readable(t.b[1]);
    grade_explain("two ready pipes A and B; the first callback removes the other one: only "
                  "one callback runs in that turn (ev_run_once() returns 1)");
    int rc = ev_run_once(loop, 1000);
    assert_int_equal(ncalls, 1);
    assert_int_equal(rc, 1);
    grade_explain("the removed fd's number was reused at once by a new readable pipe and "
                  "added with another callback: that callback must not get the old, stale "
                  "event in the same turn (it was called %d times)", t.newcomer_calls);
    assert_int_equal(t.newcomer_calls, 0);
    grade_explain("next turn, the new registration is dispatched once");
    expect_rc(ev_run_once(loop, 1000), 1, "ev_run_once(loop, 1000)");
    assert_int_equal(t.newcomer_calls, 1);
    int survivor = calls[0].fd;
    ev_remove(loop, t.a[0]);
    ev_remove(loop, t.b[0]);
    (void)survivor;
    close(t.a[0]);
    close(t.a[1]);
    close(t.b[0]);
    close(t.b[1]);
    ev_loop_free(loop);
}

static void drain_on_event(struct ev_loop *loop, int fd, unsigned events, void *data)
{
    (void)loop;
    record(fd, events, data);
    drain(fd);
}

static void test_many_fds(void **state)
{
    (void)state;
    struct grade_ctx *ctx = grade_cmocka_ctx();
    struct ev_loop *loop = new_loop();
    enum { PIPES = 100 };
    int pipes[PIPES][2];
    bool ready[PIPES] = { false };
    int nready = 0;
    for (int i = 0; i < PIPES; i++) {
        make_pipe(pipes[i]);
        expect_rc(ev_add(loop, pipes[i][0], EV_READ, drain_on_event, NULL), 0, "ev_add(loop, pipes[i][0], EV_READ, drain_on_event, NULL)");
    }
    while (nready < 37) {
        int i = (int)grade_rand_below(ctx, PIPES);
        if (!ready[i]) {
            ready[i] = true;
            nready++;
            make_readable(pipes[i][1]);
        }
    }
    /* The callbacks drain their pipe, so a few turns must see each
     * ready pipe exactly once and never an empty one. */
    for (int turn = 0; turn < 5 && ncalls < 37; turn++)
        ev_run_once(loop, 200);
    grade_explain("100 registered pipes, 37 random ones readable (seed %llu): within 5 turns "
                  "exactly 37 callbacks (got %d)", (unsigned long long)ctx->seed, ncalls);
    assert_int_equal(ncalls, 37);
    for (int i = 0; i < PIPES; i++) {
        grade_explain("pipe %d (fd %d, %s) gets %d callback(s)", i, pipes[i][0],
                      ready[i] ? "readable" : "empty", ready[i] ? 1 : 0);
        assert_int_equal(calls_for(pipes[i][0]), ready[i] ? 1 : 0);
    }
    for (int i = 0; i < PIPES; i++) {
        ev_remove(loop, pipes[i][0]);
        close(pipes[i][0]);
        close(pipes[i][1]);
    }
    ev_loop_free(loop);
}

static void test_error_reported(void **state)
{
    (void)state;
    struct ev_loop *loop = new_loop();
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    expect_rc(ev_add(loop, sv[0], 0, on_event, NULL), 0, "ev_add(loop, sv[0], 0, on_event, NULL)");
    close(sv[1]);
    grade_explain("a socket registered with events 0 whose peer closed: one callback "
                  "with EV_ERROR (hang-up is always reported), and nothing else");
    expect_rc(ev_run_once(loop, 1000), 1, "ev_run_once(loop, 1000)");
    assert_int_equal(ncalls, 1);
    assert_int_equal(calls[0].events, EV_ERROR);

    ncalls = 0;
    expect_rc(ev_modify(loop, sv[0], EV_WRITE), 0, "ev_modify(loop, sv[0], EV_WRITE)");
    grade_explain("the same socket registered for EV_WRITE: the callback's events include "
                  "EV_ERROR");
    expect_rc(ev_run_once(loop, 1000), 1, "ev_run_once(loop, 1000)");
    assert_true(calls[0].events & EV_ERROR);
    ev_remove(loop, sv[0]);
    close(sv[0]);
    ev_loop_free(loop);
}

int main(int argc, char **argv)
{
    static const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_read_dispatch),
        cmocka_unit_test(test_timeout_without_events),
        cmocka_unit_test(test_write_and_modify),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_remove_self_in_callback),
        cmocka_unit_test(test_remove_other_in_callback),
        cmocka_unit_test(test_many_fds),
        cmocka_unit_test(test_error_reported),
    };
    static const struct grade_points points[] = {
        { "test_read_dispatch", 1, "core", 5,
          "a readable pipe is dispatched once with EV_READ and your data; removed, it is not" },
        { "test_timeout_without_events", 1, "core,timing", 5,
          "with nothing ready ev_run_once() waits for its timeout, and 0 does not wait" },
        { "test_write_and_modify", 1, "core", 5,
          "only the events asked for are reported; ev_modify() changes them" },
        { "test_errors", 1, "core", 5,
          "bad arguments, double add and unknown fds give -EINVAL, -EEXIST, -ENOENT" },
        { "test_remove_self_in_callback", 2, "core", 5,
          "callbacks that remove and close their own fd: each runs once, none after" },
        { "test_remove_other_in_callback", 2, "core", 5,
          "a callback removes another ready fd (whose number is reused at once): the "
          "stale event is not delivered" },
        { "test_many_fds", 1, "core", 5,
          "of 100 registered pipes, exactly the 37 readable ones are dispatched, once each" },
        { "test_error_reported", 1, "core", 5,
          "a hang-up is reported as EV_ERROR even when not asked for" },
    };
    return grade_cmocka_main(argc, argv, tests, sizeof tests / sizeof tests[0], points,
                             sizeof points / sizeof points[0]);
}
