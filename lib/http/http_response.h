/*
 * http_response.h — format responses into an output buffer.
 *
 * Every response carries Content-Length (so keep-alive clients know where
 * it ends) and says what happens to the connection (enum
 * http_connection).
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

/* What a reply says about its connection. */
enum http_connection {
    /* HTTP/1.1: open unless said otherwise, so no field is needed. */
    HTTP_CONNECTION_KEEP,
    /* An HTTP/1.0 client that asked to keep the connection: the reply
     * must say "Connection: keep-alive", or the client takes the reply
     * to end at the close, and waits for one that never comes. */
    HTTP_CONNECTION_KEEP_ALIVE,
    /* "Connection: close": the server closes after this reply. */
    HTTP_CONNECTION_CLOSE
};

int http_response_append(struct buffer *out, int status, const char *content_type,
                         const void *body, size_t body_len, enum http_connection connection);

/* The status line and header fields only, announcing a body of
 * `body_len` bytes that is not appended: the reply to HEAD, which must
 * carry the Content-Length that GET would have.  (Added with
 * http_response.c.) */
int http_response_append_head(struct buffer *out, int status, const char *content_type,
                              size_t body_len, enum http_connection connection);

/* A short text/plain reply for a status other than 200 ("404 Not Found:
 * no such route\n").  head_only: the reply to HEAD, the same head
 * without its body. */
int http_status_append(struct buffer *out, int status, const char *detail,
                       enum http_connection connection, bool head_only);

/* The same, closing the connection: for errors after which the stream
 * cannot be trusted (http_parser.h, "Errors"). */
int http_error_append(struct buffer *out, int status, const char *detail);

/* The interim reply "HTTP/1.1 100 Continue" with its empty line: it tells
 * a client that sent Expect: 100-continue to send the body now.  The
 * final reply follows later, as usual. */
int http_continue_append(struct buffer *out);

#endif
