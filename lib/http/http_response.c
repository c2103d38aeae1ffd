/*
 * http_response.c — formats replies into a connection's output buffer.
 *
 * Design.  A reply is a status line, three header fields at most and the
 * body.  The head is formatted into a small array on the stack first, so
 * its length is known; then room for head and body is reserved in one
 * go.  Either the whole reply lands in the buffer or (when the output
 * limit is reached) nothing does: a half-written reply would corrupt the
 * stream for every pipelined reply behind it.
 *
 * Every reply carries Content-Length, even an empty one, because a
 * keep-alive client has no other way to find where the reply ends.
 * HTTP/1.1 keeps the connection by default, so only an HTTP/1.0 client
 * that asked to keep it is told "Connection: keep-alive" (1.0 closes by
 * default); "Connection: close" is sent whenever we will close.
 */
#include "http/http_response.h"

#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>

/* Longest head we format: status line, the three fields and a generous
 * allowance for the content type.  A longer content type is a caller
 * bug (they are all string literals in evlab). */
#define HTTP_RESPONSE_HEAD_MAX 512

const char *http_status_reason(int status)
{
    switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 413: return "Payload Too Large";
    case 417: return "Expectation Failed";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    default:  return "Unknown";
    }
}

static const char *connection_field(enum http_connection connection)
{
    switch (connection) {
    case HTTP_CONNECTION_KEEP:       return "";
    case HTTP_CONNECTION_KEEP_ALIVE: return "Connection: keep-alive\r\n";
    case HTTP_CONNECTION_CLOSE:      return "Connection: close\r\n";
    }
    assert(!"not an enum http_connection");
    return "";
}

/* ---- writing a head piece by piece -------------------------------------- */

/* Text being written into a fixed array: each put copies one piece to
 * the end.  A piece that does not fit is cut at the array's end and
 * `cut` is set; the head writer asserts that never happens (its array is
 * sized for the longest head), the status body writer shortens its prose.
 * These few lines replace snprintf: a format string is parsed again on
 * every call, which cost more instructions than parsing the request did
 * (bench/http_cost.py counts them). */
struct text {
    char *bytes;
    size_t len;
    size_t cap;
    bool cut;
};

static void text_put(struct text *t, const char *piece, size_t n)
{
    size_t room = t->cap - t->len;

    if (n > room) {
        n = room;
        t->cut = true;
    }
    memcpy(t->bytes + t->len, piece, n);
    t->len += n;
}

static void text_put_string(struct text *t, const char *s)
{
    text_put(t, s, strlen(s));
}

/* Writes `value` in decimal.  The digits come out last one first, so
 * they are written from the end of a small array towards its start. */
static void text_put_decimal(struct text *t, size_t value)
{
    char digits[24];            /* SIZE_MAX has at most 20 digits */
    size_t first = sizeof digits;

    do {
        digits[--first] = (char)('0' + value % 10);
        value /= 10;
    } while (value > 0);
    text_put(t, digits + first, sizeof digits - first);
}

/* "404 Not Found": the status and its reason, as the status line and the
 * status replies' bodies both begin. */
static void text_put_status(struct text *t, int status)
{
    assert(status >= 100 && status <= 999);     /* three digits, as HTTP has */
    text_put_decimal(t, (size_t)status);
    text_put(t, " ", 1);
    text_put_string(t, http_status_reason(status));
}

/* Formats the head into `head` and returns its length:
 *
 *     HTTP/1.1 200 OK\r\n
 *     Content-Type: text/plain\r\n          (when content_type != NULL)
 *     Content-Length: 6\r\n
 *     Connection: close\r\n                 (as connection_field says)
 *     \r\n
 */
static size_t format_head(char *head, size_t size, int status, const char *content_type,
                          size_t body_len, enum http_connection connection)
{
    struct text t = { .bytes = head, .len = 0, .cap = size, .cut = false };

    /* A final reply: 1xx replies have no body and no Content-Length. */
    assert(status >= 200 && status <= 999);
    text_put_string(&t, "HTTP/1.1 ");
    text_put_status(&t, status);
    text_put_string(&t, "\r\n");
    if (content_type != NULL) {
        text_put_string(&t, "Content-Type: ");
        text_put_string(&t, content_type);
        text_put_string(&t, "\r\n");
    }
    text_put_string(&t, "Content-Length: ");
    text_put_decimal(&t, body_len);
    text_put_string(&t, "\r\n");
    text_put_string(&t, connection_field(connection));
    text_put_string(&t, "\r\n");
    assert(!t.cut);
    return t.len;
}

int http_response_append_head(struct buffer *out, int status, const char *content_type,
                              size_t body_len, enum http_connection connection)
{
    char head[HTTP_RESPONSE_HEAD_MAX];
    size_t head_len;

    assert(out != NULL);
    head_len = format_head(head, sizeof head, status, content_type, body_len, connection);
    return buffer_append(out, head, head_len);
}

int http_response_append(struct buffer *out, int status, const char *content_type,
                         const void *body, size_t body_len, enum http_connection connection)
{
    char head[HTTP_RESPONSE_HEAD_MAX];
    size_t head_len;
    int err;

    assert(out != NULL);
    assert(body != NULL || body_len == 0);
    head_len = format_head(head, sizeof head, status, content_type, body_len, connection);
    if (body_len > SIZE_MAX - head_len)
        return -ENOBUFS;

    /* One reservation for the whole reply: all of it or none of it.  After
     * it succeeds, both appends fit in the free tail and cannot fail. */
    err = buffer_ensure(out, head_len + body_len);
    if (err != 0)
        return err;
    err = buffer_append(out, head, head_len);
    assert(err == 0);
    err = buffer_append(out, body, body_len);
    assert(err == 0);
    return 0;
}

int http_status_append(struct buffer *out, int status, const char *detail,
                       enum http_connection connection, bool head_only)
{
    char body[HTTP_RESPONSE_HEAD_MAX];
    /* One byte short of the array, as the head: the body is prose. */
    struct text t = { .bytes = body, .len = 0, .cap = sizeof body - 1, .cut = false };

    assert(out != NULL);
    /* "413 Payload Too Large: body larger than the server accepts\n".
     * A detail too long for the array is cut, which is fine for prose;
     * the cut body still ends in a newline. */
    text_put_status(&t, status);
    if (detail != NULL && detail[0] != '\0') {
        text_put_string(&t, ": ");
        text_put_string(&t, detail);
    }
    text_put(&t, "\n", 1);
    if (t.cut)
        body[t.len - 1] = '\n';
    if (head_only)
        return http_response_append_head(out, status, "text/plain", t.len, connection);
    return http_response_append(out, status, "text/plain", body, t.len, connection);
}

int http_error_append(struct buffer *out, int status, const char *detail)
{
    return http_status_append(out, status, detail, HTTP_CONNECTION_CLOSE, false);
}

int http_continue_append(struct buffer *out)
{
    static const char interim[] = "HTTP/1.1 100 Continue\r\n\r\n";

    assert(out != NULL);
    return buffer_append(out, interim, sizeof interim - 1);
}
