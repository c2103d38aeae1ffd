/*
 * reply.c — response bodies for each route, the 4xx/5xx replies, and
 * what each reply does to its connection (see reply.h for the rules).
 *
 * Why a 404 keeps the connection but a malformed request closes it: after
 * a well-formed request the parser knows exactly where the next one
 * starts, whatever the route thought of it, so closing would only cost
 * the client a new connection (a browser loses its keep-alive
 * connection on every missing favicon).  After a framing error nobody
 * knows where the next request starts, and a client that sends nonsense
 * should not keep a connection (or, in the threads model, a thread).
 */
#include "server/reply.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "probe/probe.h"

/* Big enough for every gauge and histogram summary of probe_stats_json. */
enum { STATS_JSON_MAX = 16384 };

/* The reply to `GET /` from an HTTP/1.1 client that keeps its connection:
 * what every benchmark asks for, and always the same bytes.  So they are
 * written out once, here, instead of formatted per request; the "6" is
 * the length of ROUTE_ROOT_BODY, and test_routes.c checks that these
 * bytes are exactly what http_response_append would have written. */
static const char root_reply[] =
    "HTTP/1.1 200 OK\r\n"
    "Content-Type: text/plain\r\n"
    "Content-Length: 6\r\n"
    "\r\n"
    ROUTE_ROOT_BODY;

void reply_plan_make(const struct http_request *req, struct reply_plan *plan)
{
    route_match(req, &plan->match);
    if (!req->keep_alive)
        plan->connection = HTTP_CONNECTION_CLOSE;
    else if (req->version_minor == 0)
        plan->connection = HTTP_CONNECTION_KEEP_ALIVE;
    else
        plan->connection = HTTP_CONNECTION_KEEP;
    plan->head = req->method == HTTP_HEAD;
}

static bool stays_open(const struct reply_plan *plan)
{
    return plan->connection != HTTP_CONNECTION_CLOSE;
}

static bool reply_ok(const struct reply_plan *plan, const char *type,
                     const void *body, size_t len, struct buffer *out)
{
    /* HEAD: the headers GET would send (same Content-Length), no body. */
    if (plan->head)
        http_response_append_head(out, 200, type, len, plan->connection);
    else
        http_response_append(out, 200, type, body, len, plan->connection);
    return stays_open(plan);
}

/* Any status but 200 to a well-formed request: the connection stays as
 * the client asked. */
static bool reply_status(struct probe *probe, const struct reply_plan *plan, int status,
                         const char *detail, struct buffer *out)
{
    if (status < 500)
        probe_gauge_add(probe, PROBE_GAUGE_ERRORS_4XX, 1);
    http_status_append(out, status, detail, plan->connection, plan->head);
    return stays_open(plan);
}

/* A framing error or a timeout: the reply says close, and the model
 * closes after it. */
static void reply_error(struct probe *probe, int status, const char *detail,
                        struct buffer *out)
{
    if (status < 500)
        probe_gauge_add(probe, PROBE_GAUGE_ERRORS_4XX, 1);
    http_error_append(out, status, detail);
}

bool reply_append(struct probe *probe, const struct reply_plan *plan, struct buffer *out)
{
    const struct route_match *m = &plan->match;
    char text[128];
    int len;

    switch (m->id) {
    case ROUTE_ROOT:
        /* The commonest reply of all is always the same bytes. */
        if (!plan->head && plan->connection == HTTP_CONNECTION_KEEP) {
            /* Appended whole or not at all, like every reply. */
            buffer_append(out, root_reply, sizeof root_reply - 1);
            return stays_open(plan);
        }
        return reply_ok(plan, "text/plain", ROUTE_ROOT_BODY,
                        sizeof ROUTE_ROOT_BODY - 1, out);
    case ROUTE_ECHO:
        return reply_ok(plan, "application/octet-stream", m->echo, m->echo_len, out);
    case ROUTE_SLEEP:
    case ROUTE_SLEEP_BLOCKING:
        len = snprintf(text, sizeof text, "slept %u ms\n", (unsigned)m->ms);
        return reply_ok(plan, "text/plain", text, (size_t)len, out);
    case ROUTE_CPU:
        len = snprintf(text, sizeof text, "burned %u ms of cpu\n", (unsigned)m->ms);
        return reply_ok(plan, "text/plain", text, (size_t)len, out);
    case ROUTE_STATS: {
        /* On the heap: thread-model stacks are deliberately small. */
        char *json = malloc(STATS_JSON_MAX);
        int n = json ? probe_stats_json(probe, json, STATS_JSON_MAX) : -ENOMEM;
        if (n < 0) {
            free(json);
            return reply_status(probe, plan, 500, "could not render stats", out);
        }
        bool keep = reply_ok(plan, "application/json", json, (size_t)n, out);
        free(json);
        return keep;
    }
    case ROUTE_NOT_FOUND:
        return reply_status(probe, plan, 404,
                            "no such route (try /, /echo, /sleep/MS, /cpu/MS, /stats)", out);
    case ROUTE_METHOD_NOT_ALLOWED:
        return reply_status(probe, plan, 405, "method not allowed on this route", out);
    case ROUTE_NOT_IMPLEMENTED:
        return reply_status(probe, plan, 501, "method not implemented", out);
    case ROUTE_BAD_ARGUMENT:
        return reply_status(probe, plan, 400,
                            m->error_detail ? m->error_detail : "bad route argument", out);
    case ROUTE_COUNT:
        break;
    }
    return reply_status(probe, plan, 500, "unknown route", out);
}

bool reply_busy_append(struct probe *probe, const struct reply_plan *plan, struct buffer *out)
{
    probe_gauge_add(probe, PROBE_GAUGE_REJECTED_503, 1);
    return reply_status(probe, plan, 503, "worker queue full; try again later", out);
}

bool reply_continue_append(struct http_parser *parser, struct buffer *out)
{
    if (!http_parser_take_continue(parser))
        return false;
    http_continue_append(out);
    return true;
}

void reply_parse_error_append(struct probe *probe, const struct http_request *req,
                              struct buffer *out)
{
    reply_error(probe, req->error_status,
                req->error_reason ? req->error_reason : "bad request", out);
}

void reply_timeout_append(struct probe *probe, struct buffer *out)
{
    reply_error(probe, 408, "the request did not arrive in time", out);
}
