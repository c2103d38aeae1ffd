/*
 * routes.h — the workload every model serves, decided in one place so the
 * three models cannot drift apart.
 *
 *   GET  /              tiny fixed reply ("hello\n")
 *   POST /echo          the request body back; GET /echo?Q echoes Q
 *   GET  /sleep/MS      a slow backend: MS milliseconds of waiting
 *                       (loop: a timer; blocking/threads: the thread sleeps)
 *   GET  /sleep/MS?block=1   on the loop, sleep *inside* the handler: the
 *                       pitfall of a blocking call in loop code
 *   GET  /cpu/MS        about MS milliseconds of CPU-bound work
 *                       (loop: inline, or on the worker pool with --workers)
 *   GET  /stats         JSON snapshot of the server's counters
 *   anything else       404; a method a path does not take 405; a method
 *                       nobody here implements (HTTP_METHOD_UNKNOWN) 501
 *
 * route_match() only decides; each model acts (that is the lesson: the
 * *what* is shared, the *how to wait* differs).  MS must be a decimal
 * integer 0..ROUTE_MAX_SLEEP_MS (or ROUTE_MAX_CPU_MS); anything else is
 * ROUTE_BAD_ARGUMENT, which the models answer with 400.  Each of these
 * is an answer to a well-formed request, so the connection stays open
 * after it (reply.c).
 */
#ifndef EVLAB_ROUTES_H
#define EVLAB_ROUTES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "http_parser.h"

enum route_id {
    ROUTE_ROOT = 0,
    ROUTE_ECHO,
    ROUTE_SLEEP,
    ROUTE_SLEEP_BLOCKING,     /* /sleep/MS?block=1 */
    ROUTE_CPU,
    ROUTE_STATS,
    ROUTE_NOT_FOUND,
    ROUTE_BAD_ARGUMENT,
    ROUTE_METHOD_NOT_ALLOWED, /* e.g. DELETE / : 405 */
    ROUTE_NOT_IMPLEMENTED,    /* e.g. BREW / : 501 */
    ROUTE_COUNT
};

struct route_match {
    enum route_id id;
    uint32_t ms;                  /* SLEEP, SLEEP_BLOCKING, CPU */
    const char *echo;  size_t echo_len;   /* ECHO: body or query */
    const char *error_detail;     /* BAD_ARGUMENT, METHOD_NOT_ALLOWED,
                                     NOT_IMPLEMENTED: why */
};

void route_match(const struct http_request *req, struct route_match *out);
const char *route_name(enum route_id id);      /* "/sleep", "?" when unknown */

/* The fixed reply of GET /. */
#define ROUTE_ROOT_BODY "hello\n"

/* Burns about `ms` of CPU time on the calling thread (a busy loop that
 * checks the thread's CPU clock), so /cpu/MS costs the same on any
 * machine.  Returns a value derived from the work so it cannot be
 * optimised away. */
uint64_t route_cpu_burn(uint32_t ms);

#endif
