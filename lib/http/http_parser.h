/*
 * http_parser.h — an incremental parser for the HTTP/1.1 subset evlab
 * serves: request line, header fields, Content-Length bodies, keep-alive,
 * pipelining, Expect: 100-continue.  Chunked transfer coding is refused
 * (501).
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
 *         if (r == HTTP_PARSE_NEED_MORE) {           // read more first, but
 *             if (http_parser_take_continue(&p))     // the client may be
 *                 send "HTTP/1.1 100 Continue";      // waiting for this
 *             break;
 *         }
 *         if (r == HTTP_PARSE_ERROR) { reply req.error_status; close; }
 *         ...serve req...                            // req points into `in`
 *         buffer_consume(&in, req.total_len);        // parser reset itself
 *     }
 *
 * The request's strings point into the caller's buffer: they are valid
 * until the caller consumes or changes it.  Nothing here allocates.
 *
 * A request is anything shaped like one: a request line of exactly
 * `method SP target SP HTTP/1.x`, header lines, and a body whose length
 * the header says.  Its method may still be one evlab does not serve
 * (req.method is then HTTP_METHOD_UNKNOWN, or a known method no route
 * takes): that is for the routes to answer (501, 405), and since the
 * request's end is known, the connection can carry on.
 *
 * Errors are what breaks the framing, mapped to statuses a client can
 * act on:
 *   400 malformed: not a request line (no spaces, a method token longer
 *       than HTTP_METHOD_MAX_LEN, a target that is neither /path nor
 *       http://host/path), header syntax, bad or conflicting
 *       Content-Length, HTTP version other than 1.0 / 1.1 (a missing
 *       Host on 1.1 is allowed)
 *   413 Content-Length above max_body, as soon as the header block ends
 *   417 an Expect field other than 100-continue (HTTP/1.1 only)
 *   431 headers above HTTP_MAX_HEADER_BYTES or HTTP_MAX_HEADER_FIELDS
 *   501 any Transfer-Encoding (chunked): the body's end cannot be found
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
 *     a method token too long to be one: 400).  So garbage gets 400
 *     after a few bytes instead of 431 after 8 KiB.
 *   - Header block limit: up to HTTP_MAX_HEADER_BYTES bytes including the
 *     final empty line is accepted; as soon as that many bytes are here,
 *     all valid so far, without the empty line: 431.
 *   - Body limit: Content-Length == max_body is accepted, above it is 413,
 *     reported as soon as the header block is complete.
 *   - Expect: 100-continue: once the header block is complete and the
 *     body is not all here, http_parser_take_continue() returns true
 *     once; the caller then sends "100 Continue" so that the client
 *     starts sending the body.
 */
#ifndef EVLAB_HTTP_PARSER_H
#define EVLAB_HTTP_PARSER_H

#include <stdbool.h>
#include <stddef.h>

#include "common/limits.h"

/* The methods the parser knows: the five evlab serves, then the other
 * standard ones (http_parser.c, known_methods).  Any other token in a
 * well-formed request line is HTTP_METHOD_UNKNOWN. */
enum http_method {
    HTTP_GET, HTTP_HEAD, HTTP_POST, HTTP_PUT, HTTP_DELETE,
    HTTP_OPTIONS, HTTP_PATCH, HTTP_TRACE, HTTP_CONNECT,
    HTTP_METHOD_UNKNOWN
};

/* The longest known method name ("CONNECT", "OPTIONS").  A method token
 * longer than this is not a method but noise, or a line without spaces:
 * 400 as soon as its next byte arrives. */
#define HTTP_METHOD_MAX_LEN 7

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
    bool keep_alive;                          /* 1.1 default yes, 1.0 default no
                                                 (Connection: keep-alive asks) */
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

/* What the header fields said about the body so far, field by field. */
struct http_framing {
    int version_minor;     /* of the request line (1.0 has no Expect) */
    bool have_length;      /* a Content-Length field was seen */
    size_t length;         /* its value, 0 without one; final once the
                              header block is complete */
    bool expect_continue;  /* Expect: 100-continue */
};

struct http_parser {
    size_t max_body;
    size_t scanned;        /* bytes of the header block already checked */
    size_t header_len;     /* 0 until the header block is complete */
    struct http_framing framing;
    bool continue_due;     /* "100 Continue" not yet taken by the caller */
    /* The check in progress, all offsets from the start of the request. */
    enum http_scan_state state;
    size_t line_start;     /* where the line being checked begins */
    size_t part_start;     /* where its target, version or header value
                              begins (the byte after the space or colon) */
    size_t target_start;   /* request line: where its target begins, so
                              its method ends one byte before */
    size_t field_count;    /* header lines complete and checked (may pass the
                              limit: that is judged when the block ends) */
};

void http_parser_init(struct http_parser *p, size_t max_body);
enum http_parse_result http_parse(struct http_parser *p, const char *data,
                                  size_t len, struct http_request *req);

/* True once per request: its header block asked for Expect:
 * 100-continue, is complete and within the limits, and the body is still
 * to come.  Call after HTTP_PARSE_NEED_MORE; the caller then sends
 * "HTTP/1.1 100 Continue" (http_continue_append) before reading on. */
bool http_parser_take_continue(struct http_parser *p);

/* Case-insensitive header lookup; NULL when absent. */
const struct http_header *http_find_header(const struct http_request *req,
                                           const char *name);
const char *http_method_name(enum http_method m);   /* "GET"; "?" for UNKNOWN */

#endif
