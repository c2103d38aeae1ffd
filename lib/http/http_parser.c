/*
 * http_parser.c — the incremental HTTP/1.1 request parser (see
 * http_parser.h for how a caller drives it).
 *
 * Design.  A request is parsed in two phases, and the parser remembers
 * which phase it is in with three numbers (struct http_parser):
 *
 *   1. Waiting for the header block.  Each call searches only the bytes
 *      that are new since the last call (`scanned` is where the search
 *      resumes), looking for the empty line that ends the block.  A
 *      request that trickles in one byte per read therefore costs
 *      O(total bytes), not O(reads * bytes).  The search never looks past
 *      HTTP_MAX_HEADER_BYTES: once that many bytes are here without an
 *      empty line, the answer is 431 whatever comes next.
 *   2. Waiting for the body.  When the block is complete it is parsed
 *      once, in full, and checked (syntax, limits, Content-Length); then
 *      `header_len` and `body_len` are known and each further call is a
 *      single comparison: are header_len + body_len bytes here yet?
 *
 * The request handed back holds pointers into the caller's bytes, and
 * the caller may move those bytes between calls (its buffer grows or
 * compacts).  So the header block is parsed again, from the caller's
 * current bytes, on the call that returns HTTP_PARSE_DONE: at most twice
 * per request, still O(total bytes), and nothing is allocated.
 *
 * Rules worth knowing (the tests pin each one down):
 *   - A line may end in CRLF or in a bare LF (RFC 9112 section 2.2 lets
 *     a server accept LF; `printf 'GET / HTTP/1.1\n\n' | nc` then
 *     works).  A CR anywhere else is a control character: 400.
 *   - One empty line before the request line is skipped (RFC 9112 2.2:
 *     some old clients send CRLF after a POST body).  A second one ends
 *     the header block with no request line in it: 400.
 *   - Header names are tokens followed directly by ':'.  Whitespace
 *     before the colon is 400 (it has been used to smuggle requests past
 *     proxies); so are obsolete folded lines starting with a blank.
 *   - Several Content-Length fields with the same value are accepted;
 *     different values, or anything but digits, are 400.
 *   - The method is checked early: as soon as the first bytes of a
 *     connection cannot start a request line (a TLS handshake sent to a
 *     plain-HTTP port, say), the answer is 400 at once instead of after
 *     8 KiB or a timeout.
 *   - After HTTP_PARSE_DONE the parser has reset itself for the next
 *     request; after HTTP_PARSE_ERROR it has reset too, but the caller
 *     must close the connection (the stream position is lost).
 */
#include "http/http_parser.h"

#include <assert.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

/* Longest method we serve ("DELETE").  A token this long plus one more
 * character and still no space cannot be one of ours: 501 early. */
#define HTTP_METHOD_MAX_LEN 6

/* What a header-block parse found, beyond what goes into the request. */
struct block_facts {
    size_t content_length;
    const char *reason;         /* why, when the parse fails */
};

/* ---- character classes ---------------------------------------------- */

/* RFC 9110 "tchar": what may appear in a method or a header name. */
static bool is_token_char(unsigned char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return true;
    switch (c) {
    case '!': case '#': case '$': case '%': case '&': case '\'': case '*':
    case '+': case '-': case '.': case '^': case '_': case '`': case '|':
    case '~':
        return true;
    default:
        return false;
    }
}

/* A request target byte: visible ASCII, no blanks, no controls.  Bytes
 * above 0x7E must arrive percent-encoded. */
static bool is_target_char(unsigned char c)
{
    return c > 0x20 && c < 0x7f;
}

/* A header value byte: visible ASCII, blanks, and (for old clients)
 * bytes >= 0x80.  Every other control character, NUL included, is 400. */
static bool is_value_char(unsigned char c)
{
    return c == '\t' || (c >= 0x20 && c != 0x7f);
}

static bool is_blank(char c)
{
    return c == ' ' || c == '\t';
}

/* ---- phase 1: finding the end of the header block --------------------- */

/* Searches data[from .. window) for the empty line that ends the header
 * block.  Returns the block's length (one past that line's LF), or 0 when
 * it is not there yet; then *resume says where the next search starts.
 * A LF near the end whose following bytes have not arrived is searched
 * again next time, so at most two bytes are ever looked at twice. */
static size_t find_header_end(const char *data, size_t window, size_t from,
                              size_t *resume)
{
    size_t i = from;

    while (i < window) {
        const char *lf = memchr(data + i, '\n', window - i);
        if (lf == NULL)
            break;
        i = (size_t)(lf - data);
        /* A line ended at i.  The block ends if the next line is empty,
         * that is if it is "\n" or "\r\n". */
        if (i + 1 >= window) {
            *resume = i;
            return 0;
        }
        if (data[i + 1] == '\n')
            return i + 2;
        if (data[i + 1] == '\r') {
            if (i + 2 >= window) {
                *resume = i;
                return 0;
            }
            if (data[i + 2] == '\n')
                return i + 3;
        }
        i++;
    }
    *resume = window;
    return 0;
}

/* Looks at the first few bytes of a request, before its header block is
 * complete, for a start that no request line can have.  Returns 0 when
 * they are fine (or too few to tell), else the status to answer with.
 * Looks at no more than HTTP_METHOD_MAX_LEN + 3 bytes, so calling it on
 * every read keeps the parser O(total bytes). */
static int check_request_start(const char *data, size_t len, const char **reason)
{
    size_t i = 0, n;

    /* The one empty line we tolerate before the request line. */
    if (len >= 1 && data[0] == '\n') {
        i = 1;
    } else if (len >= 1 && data[0] == '\r') {
        if (len < 2)
            return 0;
        if (data[1] != '\n') {
            *reason = "malformed request line";
            return 400;
        }
        i = 2;
    }
    for (n = 0; i < len; i++, n++) {
        unsigned char c = (unsigned char)data[i];
        if (c == ' ') {
            if (n == 0) {
                *reason = "malformed request line";
                return 400;
            }
            return 0;       /* a plausible method; the rest comes later */
        }
        if (!is_token_char(c)) {
            *reason = "malformed request line";
            return 400;
        }
        if (n >= HTTP_METHOD_MAX_LEN) {
            *reason = "method not implemented";
            return 501;
        }
    }
    return 0;
}

/* ---- phase 2: parsing a complete header block ------------------------- */

/* Returns the end of the line starting at `pos` (the index of its LF) and
 * sets *content_end to where its content stops (before a CR if the line
 * ended in CRLF).  The block always ends in LF, so there is one. */
static size_t line_end(const char *data, size_t pos, size_t block_len, size_t *content_end)
{
    const char *lf = memchr(data + pos, '\n', block_len - pos);
    size_t end;

    assert(lf != NULL);
    end = (size_t)(lf - data);
    *content_end = (end > pos && data[end - 1] == '\r') ? end - 1 : end;
    return end;
}

static bool bytes_equal(const char *a, size_t a_len, const char *b)
{
    return a_len == strlen(b) && memcmp(a, b, a_len) == 0;
}

static bool bytes_equal_nocase(const char *a, size_t a_len, const char *b)
{
    return a_len == strlen(b) && strncasecmp(a, b, a_len) == 0;
}

/* Parses the request line "METHOD SP target SP HTTP/1.x" (line[0 .. len),
 * without its line end) into *req. */
static int parse_request_line(const char *line, size_t len,
                              struct http_request *req, const char **reason)
{
    static const char *const names[] = { "GET", "HEAD", "POST", "PUT", "DELETE" };
    static const enum http_method methods[] = {
        HTTP_GET, HTTP_HEAD, HTTP_POST, HTTP_PUT, HTTP_DELETE
    };
    size_t i = 0, method_len, target_start, q;
    const char *version;
    bool known = false;

    *reason = "malformed request line";

    /* Method: a non-empty token, then exactly one space. */
    while (i < len && is_token_char((unsigned char)line[i]))
        i++;
    method_len = i;
    if (method_len == 0 || i >= len || line[i] != ' ')
        return 400;
    i++;

    /* Target: origin form only ("/path?query"), then exactly one space. */
    target_start = i;
    while (i < len && is_target_char((unsigned char)line[i]))
        i++;
    if (i == target_start || line[target_start] != '/' || i >= len || line[i] != ' ')
        return 400;
    req->target = line + target_start;
    req->target_len = i - target_start;
    i++;

    /* Version: exactly "HTTP/1.0" or "HTTP/1.1" to the end of the line. */
    version = line + i;
    if (len - i != 8 || memcmp(version, "HTTP/", 5) != 0 ||
        version[5] < '0' || version[5] > '9' || version[6] != '.' ||
        version[7] < '0' || version[7] > '9')
        return 400;
    if (version[5] != '1' || (version[7] != '0' && version[7] != '1')) {
        *reason = "unsupported HTTP version";
        return 400;
    }
    req->version_minor = version[7] - '0';

    /* Only now, with the line known to be well formed, is an unknown
     * method "not implemented" rather than "malformed". */
    for (size_t m = 0; m < sizeof names / sizeof names[0]; m++) {
        if (bytes_equal(line, method_len, names[m])) {
            req->method = methods[m];
            known = true;
        }
    }
    if (!known) {
        *reason = "method not implemented";
        return 501;
    }

    /* Split the target at the first '?'. */
    req->path = req->target;
    req->path_len = req->target_len;
    req->query = req->target + req->target_len;     /* empty, not NULL */
    req->query_len = 0;
    for (q = 0; q < req->target_len; q++) {
        if (req->target[q] == '?') {
            req->path_len = q;
            req->query = req->target + q + 1;
            req->query_len = req->target_len - q - 1;
            break;
        }
    }
    return 0;
}

/* Parses one "Name: value" line into *h. */
static int parse_header_line(const char *line, size_t len, struct http_header *h,
                             const char **reason)
{
    size_t i = 0, v_start, v_end;

    if (is_blank(line[0])) {
        *reason = "obsolete header line folding";
        return 400;
    }
    while (i < len && is_token_char((unsigned char)line[i]))
        i++;
    if (i < len && is_blank(line[i])) {
        *reason = "whitespace before colon in header";
        return 400;
    }
    if (i == 0 || i >= len || line[i] != ':') {
        *reason = "malformed header line";
        return 400;
    }
    h->name = line;
    h->name_len = i;

    /* The value, with blanks around it trimmed. */
    v_start = i + 1;
    v_end = len;
    while (v_start < v_end && is_blank(line[v_start]))
        v_start++;
    while (v_end > v_start && is_blank(line[v_end - 1]))
        v_end--;
    for (size_t k = v_start; k < v_end; k++) {
        if (!is_value_char((unsigned char)line[k])) {
            *reason = "control character in header";
            return 400;
        }
    }
    h->value = line + v_start;
    h->value_len = v_end - v_start;
    return 0;
}

/* Content-Length: digits only.  A value too large for size_t saturates,
 * which is then simply "above max_body". */
static int parse_content_length(const struct http_header *h, size_t *out)
{
    size_t value = 0;

    if (h->value_len == 0)
        return -1;
    for (size_t k = 0; k < h->value_len; k++) {
        char c = h->value[k];
        if (c < '0' || c > '9')
            return -1;
        if (value > (SIZE_MAX - 9) / 10)
            value = SIZE_MAX;
        else
            value = value * 10 + (size_t)(c - '0');
    }
    *out = value;
    return 0;
}

/* Reads the comma-separated tokens of a Connection field. */
static void scan_connection_tokens(const struct http_header *h, bool *close, bool *keep_alive)
{
    size_t i = 0;

    while (i < h->value_len) {
        size_t start, end;
        while (i < h->value_len && (is_blank(h->value[i]) || h->value[i] == ','))
            i++;
        start = i;
        while (i < h->value_len && h->value[i] != ',')
            i++;
        end = i;
        while (end > start && is_blank(h->value[end - 1]))
            end--;
        if (bytes_equal_nocase(h->value + start, end - start, "close"))
            *close = true;
        else if (bytes_equal_nocase(h->value + start, end - start, "keep-alive"))
            *keep_alive = true;
    }
}

/* Parses the complete header block data[0 .. block_len) into *req.
 * Returns 0 or the error status (and facts->reason). */
static int parse_header_block(const char *data, size_t block_len, size_t max_body,
                              struct http_request *req, struct block_facts *facts)
{
    size_t pos = 0, end, content_end;
    bool have_length = false, conn_close = false, conn_keep_alive = false;
    int status;

    facts->content_length = 0;
    facts->reason = NULL;

    /* Skip the one tolerated empty line before the request line. */
    end = line_end(data, pos, block_len, &content_end);
    if (content_end == pos) {
        pos = end + 1;
        end = line_end(data, pos, block_len, &content_end);
    }
    if (content_end == pos) {
        facts->reason = "missing request line";
        return 400;
    }
    status = parse_request_line(data + pos, content_end - pos, req, &facts->reason);
    if (status != 0)
        return status;
    pos = end + 1;

    /* Header fields, up to the empty line that ends the block. */
    req->header_count = 0;
    for (;;) {
        struct http_header *h;

        end = line_end(data, pos, block_len, &content_end);
        if (content_end == pos)
            break;
        if (req->header_count == HTTP_MAX_HEADER_FIELDS) {
            facts->reason = "too many header fields";
            return 431;
        }
        h = &req->headers[req->header_count];
        status = parse_header_line(data + pos, content_end - pos, h, &facts->reason);
        if (status != 0)
            return status;
        req->header_count++;
        pos = end + 1;

        if (bytes_equal_nocase(h->name, h->name_len, "Content-Length")) {
            size_t value;
            if (parse_content_length(h, &value) != 0) {
                facts->reason = "bad Content-Length";
                return 400;
            }
            if (have_length && value != facts->content_length) {
                facts->reason = "conflicting Content-Length fields";
                return 400;
            }
            have_length = true;
            facts->content_length = value;
        } else if (bytes_equal_nocase(h->name, h->name_len, "Transfer-Encoding")) {
            facts->reason = "Transfer-Encoding not implemented";
            return 501;
        } else if (bytes_equal_nocase(h->name, h->name_len, "Connection")) {
            scan_connection_tokens(h, &conn_close, &conn_keep_alive);
        }
    }
    /* The empty line found by find_header_end is the block's last line. */
    assert(end + 1 == block_len);

    if (facts->content_length > max_body) {
        facts->reason = "body larger than the server accepts";
        return 413;
    }
    /* HTTP/1.1 keeps the connection unless told to close; HTTP/1.0 closes
     * unless asked to keep it.  "close" wins over everything. */
    if (req->version_minor == 1)
        req->keep_alive = !conn_close;
    else
        req->keep_alive = conn_keep_alive && !conn_close;
    return 0;
}

/* ---- the public interface ---------------------------------------------- */

void http_parser_init(struct http_parser *p, size_t max_body)
{
    assert(p != NULL);
    p->max_body = max_body;
    p->scanned = 0;
    p->header_len = 0;
    p->body_len = 0;
}

static enum http_parse_result parse_fail(struct http_parser *p, struct http_request *req,
                                         int status, const char *reason)
{
    req->error_status = status;
    req->error_reason = reason;
    req->total_len = 0;
    http_parser_init(p, p->max_body);
    return HTTP_PARSE_ERROR;
}

enum http_parse_result http_parse(struct http_parser *p, const char *data,
                                  size_t len, struct http_request *req)
{
    struct block_facts facts;
    bool parsed_now = false;
    int status;

    assert(p != NULL && req != NULL);
    assert(data != NULL || len == 0);
    /* Bytes of this request must not vanish between calls: the caller
     * consumes only after HTTP_PARSE_DONE. */
    assert(len >= p->scanned && len >= p->header_len);

    if (p->header_len == 0) {
        size_t window = len < HTTP_MAX_HEADER_BYTES ? len : HTTP_MAX_HEADER_BYTES;
        size_t block_len, resume = 0;
        const char *reason = NULL;

        status = check_request_start(data, len, &reason);
        if (status != 0)
            return parse_fail(p, req, status, reason);

        block_len = find_header_end(data, window, p->scanned, &resume);
        if (block_len == 0) {
            /* HTTP_MAX_HEADER_BYTES bytes and still no empty line: the
             * block cannot fit, whatever arrives next. */
            if (len >= HTTP_MAX_HEADER_BYTES)
                return parse_fail(p, req, 431, "header block too large");
            p->scanned = resume;
            return HTTP_PARSE_NEED_MORE;
        }

        status = parse_header_block(data, block_len, p->max_body, req, &facts);
        if (status != 0)
            return parse_fail(p, req, status, facts.reason);
        p->header_len = block_len;
        p->body_len = facts.content_length;
        p->scanned = block_len;
        parsed_now = true;
    }

    /* Phase 2: one comparison per call until the body is all here. */
    if (len - p->header_len < p->body_len)
        return HTTP_PARSE_NEED_MORE;

    if (!parsed_now) {
        /* Point the request into the caller's bytes as they are now. */
        status = parse_header_block(data, p->header_len, p->max_body, req, &facts);
        /* The same bytes parsed fine before; if not, the caller changed
         * them under us. */
        assert(status == 0 && facts.content_length == p->body_len);
    }
    req->body = data + p->header_len;
    req->body_len = p->body_len;
    req->total_len = p->header_len + p->body_len;
    req->error_status = 0;
    req->error_reason = NULL;

    /* Ready for the next (pipelined) request, which starts at
     * data + req->total_len. */
    http_parser_init(p, p->max_body);
    return HTTP_PARSE_DONE;
}

const struct http_header *http_find_header(const struct http_request *req,
                                           const char *name)
{
    assert(req != NULL && name != NULL);
    for (size_t i = 0; i < req->header_count; i++) {
        const struct http_header *h = &req->headers[i];
        if (bytes_equal_nocase(h->name, h->name_len, name))
            return h;
    }
    return NULL;
}

const char *http_method_name(enum http_method m)
{
    switch (m) {
    case HTTP_GET:    return "GET";
    case HTTP_HEAD:   return "HEAD";
    case HTTP_POST:   return "POST";
    case HTTP_PUT:    return "PUT";
    case HTTP_DELETE: return "DELETE";
    }
    return "?";
}
