/*
 * http_response.h — format responses into an output buffer.
 *
 * Every response carries Content-Length (so keep-alive clients know where
 * it ends) and "Connection: close" when the server will close after it.
 * Errors: 0 or the negative errno of buffer_append (-ENOBUFS at the
 * buffer's limit, -ENOMEM); a reply is appended whole or not at all.
 * content_type may be NULL (no Content-Type field, e.g. an empty body).
 */
#ifndef EVLAB_HTTP_RESPONSE_H
#define EVLAB_HTTP_RESPONSE_H

#include <stdbool.h>
#include <stddef.h>

#include "common/buffer.h"

const char *http_status_reason(int status);   /* "Not Found"; "Unknown" */

int http_response_append(struct buffer *out, int status, const char *content_type,
                         const void *body, size_t body_len, bool keep_alive);

/* The status line and header fields only, announcing a body of
 * `body_len` bytes that is not appended: the reply to HEAD, which must
 * carry the Content-Length that GET would have.  (Added with
 * http_response.c.) */
int http_response_append_head(struct buffer *out, int status, const char *content_type,
                              size_t body_len, bool keep_alive);

/* A short text/plain error reply ("413 Payload Too Large: ...\n") that
 * always closes the connection. */
int http_error_append(struct buffer *out, int status, const char *detail);

#endif
