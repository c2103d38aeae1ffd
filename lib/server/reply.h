/*
 * reply.h — turn a routed request into response bytes, the same way in
 * every model.  The model decides *when* (after its own kind of waiting
 * for /sleep and /cpu); this decides *what*, and what happens to the
 * connection afterwards:
 *
 *   - a well-formed request keeps its connection whatever the status
 *     (200, 404, 405, 501, 400 for a bad route argument, 503 for a full
 *     worker queue), unless its client asked to close;
 *   - an HTTP/1.0 client that asked to keep it is told so
 *     ("Connection: keep-alive"), since 1.0 closes by default;
 *   - a broken framing closes (reply_parse_error_append: malformed,
 *     413, 417, 431, Transfer-Encoding; reply_timeout_append: 408);
 *   - a client waiting for "100 Continue" gets it before the body is read
 *     (reply_continue_append), the same moment in every model.
 *
 * Errors: replies are appended whole or not at all (http_response.h).
 * The models' output buffers have no limit, so only a failed allocation
 * can refuse one; the client then gets no reply to that request.
 */
#ifndef EVLAB_REPLY_H
#define EVLAB_REPLY_H

#include <stdbool.h>

#include "common/buffer.h"
#include "http/http_parser.h"
#include "http/http_response.h"
#include "http/routes.h"

struct probe;

/* Everything needed to answer a request after the request's bytes are
 * gone (the loop answers /sleep long after it parsed it). */
struct reply_plan {
    struct route_match match;
    enum http_connection connection;   /* what the reply says, and does */
    bool head;                         /* HEAD: headers only */
};

void reply_plan_make(const struct http_request *req, struct reply_plan *plan);

/* Appends the response.  For ROUTE_ECHO, plan->match.echo must still
 * point at live bytes.  Returns whether the connection stays open (the
 * client did not ask to close). */
bool reply_append(struct probe *probe, const struct reply_plan *plan, struct buffer *out);

/* 503 for a request the server has no room to run now (the loop's worker
 * queue is full).  Counted in REJECTED_503; returns whether the
 * connection stays open, as reply_append. */
bool reply_busy_append(struct probe *probe, const struct reply_plan *plan, struct buffer *out);

/* Call after every HTTP_PARSE_NEED_MORE: if the request being received
 * waits for permission to send its body (Expect: 100-continue, within
 * the body limit), appends "HTTP/1.1 100 Continue" and returns true
 * (once per request).  A request over the limit never gets here: the
 * parser refuses it with 413 as soon as its header block is complete. */
bool reply_continue_append(struct http_parser *parser, struct buffer *out);

/* The reply to a request the parser rejected (req->error_status); the
 * connection must be closed after it. */
void reply_parse_error_append(struct probe *probe, const struct http_request *req,
                              struct buffer *out);

/* 408: the request did not arrive whole within the request timeout (a
 * slowloris client, or a stalled upload).  Closes. */
void reply_timeout_append(struct probe *probe, struct buffer *out);

#endif
