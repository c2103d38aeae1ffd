/*
 * test_spawn.c — lib/spawn/spawn.c without a server: the port parser, the
 * exit-code convention, and real children (/bin/sh) that print a line,
 * exit on their own, ignore SIGTERM, or print nothing at all.  Every
 * child is stopped by its PID, and the test checks no descriptor is left.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "net/net.h"
#include "spawn/spawn.h"

static int start_sh(struct spawn_child *child, const char *script)
{
    char *argv[] = { "sh", "-c", (char *)script, NULL };
    struct spawn_request request = { .path = "/bin/sh", .argv = argv,
                                     .stderr_fd = SPAWN_STDERR_STDOUT };
    char err[256];
    return spawn_start(child, &request, err, sizeof err);
}

static void test_listening_port(void **state)
{
    (void)state;
    assert_int_equal(spawn_listening_port("evlab serve: model loop, listening on 127.0.0.1:8080, "
                                          "instrumentation name loop-1, pid 1"), 8080);
    assert_int_equal(spawn_listening_port("listening on 127.0.0.1:0"), -EPROTO);
    assert_int_equal(spawn_listening_port("listening on 127.0.0.1:70000"), -EPROTO);
    assert_int_equal(spawn_listening_port("evlab serve: cannot bind"), -EPROTO);
}

static void test_line_then_stop(void **state)
{
    struct spawn_child child;
    char line[128];
    int fds = net_count_open_fds();

    (void)state;
    /* The line is read without what follows it; then the child ignores
     * nothing and stops on SIGTERM: the shell dies of the signal. */
    assert_int_equal(start_sh(&child, "echo 'listening on 127.0.0.1:4321'; echo more; exec sleep 30"), 0);
    assert_int_equal(spawn_read_line(child.stdout_fd, line, sizeof line, 5000), 0);
    assert_string_equal(line, "listening on 127.0.0.1:4321");
    assert_int_equal(spawn_read_line(child.stdout_fd, line, sizeof line, 5000), 0);
    assert_string_equal(line, "more");
    assert_true(spawn_running(&child));
    assert_int_equal(spawn_stop(&child, 5000), 128 + 15);
    assert_false(spawn_running(&child));
    assert_int_equal(net_count_open_fds(), fds);
}

static void test_exit_and_timeouts(void **state)
{
    struct spawn_child child;
    char line[128];

    (void)state;
    /* Exits on its own with status 3: the pipe reaches end of file. */
    assert_int_equal(start_sh(&child, "exit 3"), 0);
    assert_int_equal(spawn_read_line(child.stdout_fd, line, sizeof line, 5000), -EPIPE);
    assert_int_equal(spawn_stop(&child, 5000), 3);

    /* Prints nothing: the read gives up at its deadline. */
    assert_int_equal(start_sh(&child, "exec sleep 30"), 0);
    assert_int_equal(spawn_read_line(child.stdout_fd, line, sizeof line, 100), -ETIMEDOUT);
    assert_int_equal(spawn_stop(&child, 5000), 128 + 15);

    /* Ignores SIGTERM: killed after the grace time, reported as -1. */
    assert_int_equal(start_sh(&child, "trap '' TERM; echo ready; while :; do sleep 1; done"), 0);
    assert_int_equal(spawn_read_line(child.stdout_fd, line, sizeof line, 5000), 0);
    assert_int_equal(spawn_stop(&child, 200), -1);
}

static void test_serve_missing_binary(void **state)
{
    struct spawn_child child;
    char err[512] = "";
    int fds = net_count_open_fds();

    (void)state;
    assert_true(spawn_serve(&child, "/nonexistent/evlab", NULL, SPAWN_STDERR_NULL, 0, err,
                            sizeof err) < 0);
    assert_non_null(strstr(err, "did not report its port"));
    assert_int_equal(net_count_open_fds(), fds);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_listening_port),
        cmocka_unit_test(test_line_then_stop),
        cmocka_unit_test(test_exit_and_timeouts),
        cmocka_unit_test(test_serve_missing_binary),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
