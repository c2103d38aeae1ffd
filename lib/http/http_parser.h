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
 *   - Errors are reported as soon as the bytes show them, not when the
 *     header block is complete: each line is checked when its line end
 *     arrives (a header line without a colon is 400 at once), and a line
 *     still arriving is refused at the first byte no continuation could
 *     make valid (a NUL or other control byte, a space before the colon,
 *     a method that cannot be ours: 400 or 501).  So garbage gets 400
 *     after a few bytes instead of 431 after 8 KiB.
 *   - Header block limit: up to HTTP_MAX_HEADER_BYTES bytes including the
 *     final empty line is accepted; as soon as that many bytes are here,
 *     all valid so far, without the empty line: 431.
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

/* Where the check of a header block that is still arriving stands: which
 * part of which line the next byte belongs to (see http_parser.c). */
enum http_scan_state {
    HTTP_SCAN_START,        /* first line: one empty line may come first */
    HTTP_SCAN_METHOD,       /* request line: in the method */
    HTTP_SCAN_TARGET,       /* request line: in the target */
    HTTP_SCAN_VERSION,      /* request line: in "HTTP/1.x" */
    HTTP_SCAN_FIELD_START,  /* start of a header line, or of the final empty line */
    HTTP_SCAN_FIELD_NAME,   /* header line: before the colon */
    HTTP_SCAN_FIELD_VALUE   /* header line: after the colon */
};

struct http_parser {
    size_t max_body;
    size_t scanned;        /* bytes of the header block already checked */
    size_t header_len;     /* 0 until the header block is complete */
    size_t body_len;       /* Content-Length so far; final once header_len is set */
    /* The check in progress, all offsets from the start of the request. */
    enum http_scan_state state;
    size_t line_start;     /* where the line being checked begins */
    size_t part_start;     /* where its target or version begins */
    size_t field_count;    /* header lines complete and checked (may pass the
                              limit: that is judged when the block ends) */
    bool have_length;      /* a Content-Length field was seen */
};

void http_parser_init(struct http_parser *p, size_t max_body);
enum http_parse_result http_parse(struct http_parser *p, const char *data,
                                  size_t len, struct http_request *req);

/* Case-insensitive header lookup; NULL when absent. */
const struct http_header *http_find_header(const struct http_request *req,
                                           const char *name);
const char *http_method_name(enum http_method m);

#endif
