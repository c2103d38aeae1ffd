/*
 * probe_example.c — the smallest instrumented server (see
 * probe_example.h): one thread, blocking calls, one request per
 * connection.  It is deliberately the blocking model at its simplest, so
 * that nothing but the probe calls is new to a reader.
 *
 * The part between the two marker comments is what probe.h shows; the
 * test compares them line by line.  Keep the markers, keep the excerpt
 * short enough to read at a glance, and keep comments out of it (a
 * comment inside probe.h's comment would end that comment).  When poll()
 * times out (n == 0) nobody came, and the example gives up.
 */
#include "probe/probe_example.h"

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http/routes.h"
#include "probe/probe.h"

static const char reply[] = "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n";

/* One request, one reply; the handler is what the probes time. */
static void answer(int fd)
{
    char request[4096];

    /* A real server parses the request; a client that left gets nothing. */
    if (read(fd, request, sizeof request) <= 0)
        return;
    if (write(fd, reply, sizeof reply - 1) < 0)
        return;
}

int probe_example_serve(int listen_fd, const char *name, int port, int requests, int wait_ms)
{
    int rc;
    /* example-begin */
    struct probe *probe;
    rc = probe_create(&probe, &(struct probe_config){
        .name = name, .model = "example", .port = port }, NULL, 0);
    if (rc < 0)
        return rc;
    struct probe_thread *me = probe_thread_begin(probe, "main");
    for (int served = 0; served < requests; served++) {
        struct pollfd pfd = { .fd = listen_fd, .events = POLLIN };
        probe_block_begin(me, PROBE_CALL_POLL, listen_fd);
        int n = poll(&pfd, 1, wait_ms);
        probe_block_end(me, PROBE_CALL_POLL, listen_fd);
        probe_emit(me, PROBE_EV_POLL_RETURN, -1, (uint64_t)n, 0);
        if (n <= 0)
            break;
        int fd = accept(listen_fd, NULL, NULL);
        if (fd < 0)
            continue;
        probe_emit(me, PROBE_EV_ACCEPT, fd, 0, 0);
        probe_handler_begin(me, fd, ROUTE_ROOT);
        answer(fd);
        probe_handler_end(me, fd, ROUTE_ROOT);
        probe_emit(me, PROBE_EV_CLOSE, fd, 0, 0);
        close(fd);
    }
    probe_thread_end(me);
    probe_destroy(probe);
    /* example-end */
    return 0;
}
