/*
 * reply.h — turn a routed request into response bytes, the same way in
 * every model.  The model decides *when* (after its own kind of waiting
 * for /sleep and /cpu); this decides *what*.
 */
#ifndef EVLAB_REPLY_H
#define EVLAB_REPLY_H

#include <stdbool.h>

#include "common/buffer.h"
#include "http/http_parser.h"
#include "http/routes.h"

struct probe;

/* Everything needed to answer a request after the request's bytes are
 * gone (the loop answers /sleep long after it parsed it). */
struct reply_plan {
    struct route_match match;
    bool keep_alive;
    bool head;            /* HEAD: headers only */
};

void reply_plan_make(const struct http_request *req, struct reply_plan *plan);

/* Appends the response.  For ROUTE_ECHO, plan->match.echo must still
 * point at live bytes.  Returns whether the connection stays open:
 * false after any 4xx/5xx, as for Connection: close. */
bool reply_append(struct probe *probe, const struct reply_plan *plan, struct buffer *out);

/* The reply to a request the parser rejected (req->error_status); the
 * connection must be closed after it. */
void reply_parse_error_append(struct probe *probe, const struct http_request *req,
                              struct buffer *out);

/* 408: the request did not arrive whole within the request timeout (a
 * slowloris client, or a stalled upload).  Closes. */
void reply_timeout_append(struct probe *probe, struct buffer *out);

#endif
