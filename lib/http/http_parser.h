/*
 * http_parser.h — an incremental parser for the HTTP/1.1 subset evlab
 * serves: request line, header fields, Content-Length bodies, keep-alive,
 * pipelining.  Chunked transfer coding is refused (501).
 *
 * Incremental means: bytes arrive in any split, the caller appends them to
 * one input buffer and calls http_parse() again on the whole pending
 * input.  The parser remembers how far it already searched, so a request
 * split into N reads costs O(total bytes), not O(N * bytes).  When a whole
 * request is there, http_parse() returns HTTP_PARSE_DONE and says how many
 * bytes it used; the next request (pipelining) starts right after them.
 *
 *     http_parser_init(&p, max_body);
 *     for (;;) {
 *         r = http_parse(&p, buffer_peek(&in), buffer_pending(&in), &req);
 *         if (r == HTTP_PARSE_NEED_MORE) break;      // read more first
 *         if (r == HTTP_PARSE_ERROR) { reply req.error_status; close; }
 *         ...serve req...                            // req points into `in`
 *         buffer_consume(&in, req.total_len);        // parser reset itself
 *     }
 *
 * The request's strings point into the caller's buffer: they are valid
 * until the caller consumes or changes it.  Nothing here allocates.
 *
 * Errors map to status codes a client can act on:
 *   400 malformed (request line, header syntax, bad Content-Length,
 *       HTTP version other than 1.0 / 1.1, missing Host on 1.1 is allowed)
 *   413 Content-Length above max_body
 *   431 headers above HTTP_MAX_HEADER_BYTES or HTTP_MAX_HEADER_FIELDS
 *   501 method other than GET/HEAD/POST/PUT/DELETE, or any
 *       Transfer-Encoding (chunked)
 * After an error the connection must be closed: the parser cannot know
 * where the next request would begin.
 *
 * State between calls (details in http_parser.c):
 *   - On HTTP_PARSE_DONE the parser has already reset itself for the next
 *     request: do not call http_parser_init again, just consume
 *     req.total_len bytes and call http_parse on what remains.  On
 *     HTTP_PARSE_ERROR it resets too, but the connection must close.
 *   - On HTTP_PARSE_NEED_MORE the contents of *req are unspecified.
 *     Between calls the caller may move the pending bytes (its buffer may
 *     grow or compact) but must not drop or change them.
 *   - Lines may end in CRLF or in a bare LF (both accepted everywhere);
 *     a CR that is not followed by LF is a control character: 400.  One
 *     empty line before the request line is ignored.
 *   - Header block limit: up to HTTP_MAX_HEADER_BYTES bytes including the
 *     final empty line is accepted; as soon as that many bytes are here
 *     without the empty line, 431.  A method that cannot be ours is
 *     refused from its first bytes (400 or 501), before the line ends.
 *   - Body limit: Content-Length == max_body is accepted, above it is 413,
 *     reported as soon as the header block is complete.
 */
#ifndef EVLAB_HTTP_PARSER_H
#define EVLAB_HTTP_PARSER_H

#include <stdbool.h>
#include <stddef.h>

#include "common/limits.h"

enum http_method { HTTP_GET, HTTP_HEAD, HTTP_POST, HTTP_PUT, HTTP_DELETE };

enum http_parse_result {
    HTTP_PARSE_NEED_MORE = 0,
    HTTP_PARSE_DONE = 1,
    HTTP_PARSE_ERROR = -1
};

struct http_header {
    const char *name;  size_t name_len;
    const char *value; size_t value_len;   /* leading/trailing blanks trimmed */
};

struct http_request {
    enum http_method method;
    const char *target;  size_t target_len;   /* "/echo?x=1" */
    const char *path;    size_t path_len;     /* "/echo" */
    const char *query;   size_t query_len;    /* "x=1" (len 0 if none) */
    int version_minor;                        /* 0 or 1 */
    bool keep_alive;                          /* 1.1 default yes, 1.0 default no */
    size_t header_count;
    struct http_header headers[HTTP_MAX_HEADER_FIELDS];
    const char *body;    size_t body_len;
    size_t total_len;                          /* header block + body */
    int error_status;                          /* set with HTTP_PARSE_ERROR */
    const char *error_reason;                  /* short text for the 4xx body */
};

struct http_parser {
    size_t max_body;
    size_t scanned;        /* bytes already searched for the blank line */
    size_t header_len;     /* 0 until the header block is complete */
    size_t body_len;       /* from Content-Length, once headers are parsed */
};

void http_parser_init(struct http_parser *p, size_t max_body);
enum http_parse_result http_parse(struct http_parser *p, const char *data,
                                  size_t len, struct http_request *req);

/* Case-insensitive header lookup; NULL when absent. */
const struct http_header *http_find_header(const struct http_request *req,
                                           const char *name);
const char *http_method_name(enum http_method m);

#endif
