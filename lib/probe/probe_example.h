/*
 * probe_example.h — the smallest instrumented server, the example that
 * the comment at the top of probe.h quotes.  It is built into libevlab
 * and run by tests/unit/test_probe_example.c, which also checks that
 * probe.h quotes it word for word, so the example a student copies first
 * always compiles and works.
 *
 * Errors: 0 or a negative errno.  Ownership: the caller owns listen_fd
 * (a listening TCP socket); everything else is created and freed inside.
 */
#ifndef EVLAB_PROBE_EXAMPLE_H
#define EVLAB_PROBE_EXAMPLE_H

/* Accepts `requests` clients on listen_fd one after another, reads one
 * request from each, answers "200 OK" and closes; every step published
 * through probe.h under the instrumentation name `name`.  Gives up when no
 * client comes for `wait_ms`. */
int probe_example_serve(int listen_fd, const char *name, int port, int requests, int wait_ms);

#endif
