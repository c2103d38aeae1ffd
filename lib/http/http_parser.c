/*
 * http_parser.c — the incremental HTTP/1.1 request parser (see
 * http_parser.h for how a caller drives it).
 *
 * Design.  A request is parsed in two phases, and the parser remembers
 * where it stands between calls in a few numbers (struct http_parser):
 *
 *   1. Checking the header block as it arrives.  Each call looks only at
 *      the bytes that are new since the last call (`scanned` is where it
 *      resumes), one byte at a time, and `state` says which part of
 *      which line the next byte belongs to: method, target, version,
 *      header name, header value, or the start of a line.  Two kinds of
 *      check run on the way:
 *        - per byte: a byte that no continuation of the line could make
 *          valid (a control byte, a blank before the colon, a fourth part
 *          in the request line...) is refused at once, and the offsets
 *          where the line's parts begin are noted as their first bytes
 *          go by (part_start, target_start);
 *        - per line: when a line end arrives, what needs the whole line
 *          is checked (finish_request_line, check_field) and the line is
 *          filled into the request.  Its bytes are not looked at again:
 *          the per-byte checks have already seen every one of them.
 *      So the first error in the byte stream is the one reported, as soon
 *      as its bytes are here, and however the stream is split.  A request
 *      that trickles in one byte per read still costs O(total bytes): no
 *      byte is checked twice, except a CR at the end of the input, which
 *      waits for the next byte to tell whether it starts a CRLF.  Nothing
 *      past HTTP_MAX_HEADER_BYTES is looked at: once that many bytes are
 *      here, all valid so far, without the empty line, the answer is 431
 *      whatever comes next.
 *   2. Waiting for the body.  When the empty line arrives, `header_len`
 *      and the body's length are known and each further call is a single
 *      comparison: are header_len + framing.length bytes here yet?
 *
 * The request handed back holds pointers into the caller's bytes.  Phase
 * 1 fills each line into the request as it ends, so when the whole
 * header block arrives in one call (the common case: one read brings one
 * request), the request is complete when the empty line is found.  But
 * the caller may move its bytes between calls (its buffer grows or
 * compacts), so for a block that came in pieces, phase 1 runs once more,
 * with a fresh parser, over the whole block as it is now, on the call
 * that returns HTTP_PARSE_DONE.  Those bytes have passed every check
 * already, so that run cannot fail: http_parse asserts so.  Each byte is
 * still looked at a bounded number of times, and nothing is allocated.
 *
 * Where the instructions go (bench/http_cost.py counts them): most bytes
 * of a request sit in a method, a target, a header name or a header
 * value, where the only check is the byte's class.  skip_plain_run walks
 * such bytes with one table lookup each (byte_class), header values 8
 * bytes at a time (word_is_plain_value), and moves on from one part to
 * the next over the space or colon between them, so a well-formed line
 * costs one call; scan_byte's state switch runs only for the bytes that
 * may be an error, and for a line cut short by the end of the input.
 *
 * Rules worth knowing (the tests pin each one down):
 *   - A line may end in CRLF or in a bare LF (RFC 9112 section 2.2 lets
 *     a server accept LF; `printf 'GET / HTTP/1.1\n\n' | nc` then
 *     works).  A CR anywhere else is a control character: 400.
 *   - One empty line before the request line is skipped (RFC 9112 2.2:
 *     some old clients send CRLF after a POST body).  A second one means
 *     there is no request line: 400.
 *   - A request line is exactly `method SP target SP version`.  Any
 *     method token up to HTTP_METHOD_MAX_LEN makes a request, known or
 *     not (the routes answer 501 for one nobody here implements); a
 *     longer token, or a line without its two spaces, is 400.  The
 *     target is origin form ("/path?q") or absolute form
 *     ("http://host/path?q"), whose host is ignored.
 *   - Header names are tokens followed directly by ':'.  Whitespace
 *     before the colon is 400 (it has been used to smuggle requests past
 *     proxies); so are obsolete folded lines starting with a blank.
 *   - Several Content-Length fields with the same value are accepted;
 *     different values, or anything but digits, are 400.
 *   - Garbage is refused early: the first bytes of a TLS handshake sent
 *     to a plain-HTTP port, or binary noise after a good request line,
 *     get 400 after a few bytes instead of 431 after 8 KiB or a timeout.
 *     431 is for a block that is still valid-looking when it hits the
 *     byte limit, or that ends with more than HTTP_MAX_HEADER_FIELDS
 *     fields.
 *   - After HTTP_PARSE_DONE the parser has reset itself for the next
 *     request; after HTTP_PARSE_ERROR it has reset too, but the caller
 *     must close the connection (the stream position is lost).
 */
#include "http/http_parser.h"

#include <assert.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

/* ---- character classes ---------------------------------------------- */

/* The class of every byte value, looked up by the loops that walk most
 * bytes of a request (skip_plain_run): one load per byte instead of a
 * chain of comparisons.  A byte may be in several classes:
 *   BYTE_TOKEN   RFC 9110 "tchar", what a method or a header name is made
 *                of: letters, digits and  ! # $ % & ' * + - . ^ _ ` | ~
 *   BYTE_TARGET  a request target byte: visible ASCII, 0x21 to 0x7E, no
 *                blanks, no controls (other bytes must be percent-encoded)
 *   BYTE_VALUE   a header value byte: visible ASCII, SP, HTAB, and (for
 *                old clients) bytes >= 0x80; every other control byte,
 *                NUL and DEL included, is 400
 * In the table, V is a value byte only (SP, HTAB, >= 0x80), TV a visible
 * byte that is not a token byte (a delimiter such as '/' or ':'), and TTV
 * a token byte, which is visible too. */
enum {
    BYTE_TOKEN = 1,
    BYTE_TARGET = 2,
    BYTE_VALUE = 4
};

#define V   BYTE_VALUE
#define TV  (BYTE_TARGET | BYTE_VALUE)
#define TTV (BYTE_TOKEN | BYTE_TARGET | BYTE_VALUE)
static const unsigned char byte_class[256] = {
    /* 0x00-0x1F: control bytes; only HTAB (0x09) may be in a value */
    0, 0, 0, 0, 0, 0, 0, 0, 0, V, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    /* SP  !    "   #    $    %    &    '    (   )   *    +    ,   -    .    / */
    V,  TTV, TV, TTV, TTV, TTV, TTV, TTV, TV, TV, TTV, TTV, TV, TTV, TTV, TV,
    /* 0-9 : ; < = > ? */
    TTV, TTV, TTV, TTV, TTV, TTV, TTV, TTV, TTV, TTV, TV, TV, TV, TV, TV, TV,
    /* @ A-O */
    TV,  TTV, TTV, TTV, TTV, TTV, TTV, TTV, TTV, TTV, TTV, TTV, TTV, TTV, TTV, TTV,
    /* P-Z [ \ ] ^ _ */
    TTV, TTV, TTV, TTV, TTV, TTV, TTV, TTV, TTV, TTV, TTV, TV, TV, TV, TTV, TTV,
    /* ` a-o */
    TTV, TTV, TTV, TTV, TTV, TTV, TTV, TTV, TTV, TTV, TTV, TTV, TTV, TTV, TTV, TTV,
    /* p-z { | } ~ DEL */
    TTV, TTV, TTV, TTV, TTV, TTV, TTV, TTV, TTV, TTV, TTV, TV, TTV, TV, TTV, 0,
    /* 0x80-0xFF: not ASCII; allowed in values only */
    V, V, V, V, V, V, V, V, V, V, V, V, V, V, V, V,
    V, V, V, V, V, V, V, V, V, V, V, V, V, V, V, V,
    V, V, V, V, V, V, V, V, V, V, V, V, V, V, V, V,
    V, V, V, V, V, V, V, V, V, V, V, V, V, V, V, V,
    V, V, V, V, V, V, V, V, V, V, V, V, V, V, V, V,
    V, V, V, V, V, V, V, V, V, V, V, V, V, V, V, V,
    V, V, V, V, V, V, V, V, V, V, V, V, V, V, V, V,
    V, V, V, V, V, V, V, V, V, V, V, V, V, V, V, V,
};
#undef V
#undef TV
#undef TTV

static bool is_token_char(unsigned char c)
{
    return (byte_class[c] & BYTE_TOKEN) != 0;
}

static bool is_target_char(unsigned char c)
{
    return (byte_class[c] & BYTE_TARGET) != 0;
}

static bool is_value_char(unsigned char c)
{
    return (byte_class[c] & BYTE_VALUE) != 0;
}

/* Whether none of the 8 bytes at s is a control byte (below 0x20) or
 * DEL (0x7F): then all 8 are value bytes, and a header value can be
 * walked a word at a time instead of a byte at a time.  (HTAB is a value
 * byte but a control byte too: a word holding one fails this test, and
 * the byte loop that follows it in skip_plain_run takes it.)
 *
 * How it tests 8 bytes at once: w holds the bytes as one 64-bit number,
 * and ONES has 0x01 in every byte.  For one byte b, b - 0x20 has its top
 * bit set exactly when b < 0x20 or b >= 0xA0; and-ing with ~b keeps the
 * first case only (b >= 0x80 has the top bit of ~b clear).  Done on the
 * whole word, a byte below 0x20 borrows from the byte above it, which
 * may mark that one too; but no borrow happens below the lowest such
 * byte, so that one is always marked, and without one nothing is: the
 * result is nonzero exactly when some byte is below 0x20, in either byte
 * order.  The same test on w ^ 0x7F7F... with 0x01 instead of 0x20 finds
 * a byte that was 0x7F (it is then 0).  memcpy is how C reads 8 bytes
 * from any address; compilers make it a single load. */
static bool word_is_plain_value(const char *s)
{
    const uint64_t ONES = 0x0101010101010101u, TOPS = 0x8080808080808080u;
    uint64_t w, del;

    memcpy(&w, s, sizeof w);
    del = w ^ (0x7F * ONES);
    return ((((w - 0x20 * ONES) & ~w) | ((del - ONES) & ~del)) & TOPS) == 0;
}

static bool is_letter(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_blank(char c)
{
    return c == ' ' || c == '\t';
}

/* ---- what a line says, once its bytes are checked ----------------------- */

/* Phase 1 (below) checks every byte of a line as it arrives, so when a
 * line ends, its shape is already known: where its parts begin, and that
 * each part holds only the bytes it may hold.  These functions do the
 * checks that need the whole line, and fill in the request. */

static bool bytes_equal_nocase(const char *a, size_t a_len, const char *b)
{
    return a_len == strlen(b) && strncasecmp(a, b, a_len) == 0;
}

/* Every method name the parser knows: the five evlab serves, then the
 * other standard ones, which the routes answer with 405 (known, not
 * allowed on any of our paths).  Any other token is a method nobody here
 * implements: the routes answer 501, and the connection stays usable. */
static const struct {
    const char *name;
    enum http_method method;
} known_methods[] = {
    { "GET", HTTP_GET },         { "HEAD", HTTP_HEAD },       { "POST", HTTP_POST },
    { "PUT", HTTP_PUT },         { "DELETE", HTTP_DELETE },   { "OPTIONS", HTTP_OPTIONS },
    { "PATCH", HTTP_PATCH },     { "TRACE", HTTP_TRACE },     { "CONNECT", HTTP_CONNECT },
};

/* Whether the method token a[0 .. len) is `name`.  Methods are
 * case-sensitive: "get" is not GET.  A token is at most
 * HTTP_METHOD_MAX_LEN bytes, none of them NUL, so comparing byte by byte
 * up to the first difference (at the latest, name's terminating NUL)
 * costs less than a call to memcmp. */
static bool method_token_is(const char *a, size_t len, const char *name)
{
    size_t i = 0;

    while (i < len && a[i] == name[i])
        i++;
    return i == len && name[len] == '\0';
}

/* The method a token names; GET is first in the table, so the most common
 * request stops at the first comparison. */
static enum http_method method_from_token(const char *token, size_t len)
{
    for (size_t m = 0; m < sizeof known_methods / sizeof known_methods[0]; m++) {
        if (method_token_is(token, len, known_methods[m].name))
            return known_methods[m].method;
    }
    return HTTP_METHOD_UNKNOWN;
}

/* Splits "/path?query" (target[0 .. len), starting with '/') at the
 * first '?'. */
static void split_path_and_query(const char *target, size_t len, struct http_request *req)
{
    const char *question = memchr(target, '?', len);

    req->path = target;
    req->path_len = question != NULL ? (size_t)(question - target) : len;
    req->query = question != NULL ? question + 1 : target + len;   /* empty, not NULL */
    req->query_len = question != NULL ? len - req->path_len - 1 : 0;
}

/* The request target: origin form ("/echo?x", what clients send to a
 * server) or absolute form ("http://host:8080/echo?x", what they send
 * to a proxy, and what a server must accept too).  In absolute form the
 * scheme and host are skipped: there is only one host here.  Returns 0,
 * or 400 with *reason set. */
static int parse_target(const char *target, size_t len, struct http_request *req,
                        const char **reason)
{
    static const char *const schemes[] = { "http://", "https://" };
    size_t start = len;

    if (target[0] == '/') {
        split_path_and_query(target, len, req);
        return 0;
    }
    for (size_t s = 0; s < sizeof schemes / sizeof schemes[0]; s++) {
        size_t n = strlen(schemes[s]);
        if (len > n && strncasecmp(target, schemes[s], n) == 0)
            start = n;
    }
    if (start == len) {
        *reason = "request target is neither /path nor http://host/path";
        return 400;
    }
    /* The host (and port) runs up to the path's '/'.  Without a path
     * ("http://host", "http://host?x") there is nothing to route. */
    const char *slash = memchr(target + start, '/', len - start);
    const char *question = memchr(target + start, '?', len - start);
    if (slash == NULL || slash == target + start || (question != NULL && question < slash)) {
        *reason = "absolute-form target without a host or a path";
        return 400;
    }
    split_path_and_query(slash, len - (size_t)(slash - target), req);
    return 0;
}

/* The request line data[p->line_start .. content_end) has ended while
 * phase 1 was in its version, so phase 1 has seen a method of 1 to
 * HTTP_METHOD_MAX_LEN token bytes, one space, a target of visible bytes
 * starting with '/' or a letter (at p->target_start), one space, and a
 * version (at p->part_start) whose bytes all fit "HTTP/#.#".  What is
 * left needs the whole line: the version's length and number, the
 * target's form, and which method the token names.  Fills in *req;
 * returns 0 or 400: every line of this shape is a request, even with a
 * method nobody here knows (HTTP_METHOD_UNKNOWN), so that its body can
 * be skipped and the connection kept. */
static int finish_request_line(const struct http_parser *p, const char *data,
                               size_t content_end, struct http_request *req,
                               const char **reason)
{
    const char *version = data + p->part_start;
    size_t method_len = p->target_start - 1 - p->line_start;

    assert(method_len >= 1 && method_len <= HTTP_METHOD_MAX_LEN);
    if (content_end - p->part_start != 8) {         /* cut short, like "HTTP/1." */
        *reason = "malformed request line";
        return 400;
    }
    if (version[5] != '1' || (version[7] != '0' && version[7] != '1')) {
        *reason = "unsupported HTTP version";
        return 400;
    }
    req->version_minor = version[7] - '0';
    req->target = data + p->target_start;
    req->target_len = p->part_start - 1 - p->target_start;
    if (parse_target(req->target, req->target_len, req, reason) != 0)
        return 400;
    req->method = method_from_token(data + p->line_start, method_len);
    return 0;
}

/* The header line data[p->line_start .. content_end) has ended after its
 * colon, so phase 1 has seen a name of token bytes, the colon just
 * before p->part_start, and only value bytes after it.  Nothing is left
 * to check: record the name, and the value with the blanks around it
 * trimmed. */
static void finish_header_line(const struct http_parser *p, const char *data,
                               size_t content_end, struct http_header *h)
{
    size_t v_start = p->part_start, v_end = content_end;

    h->name = data + p->line_start;
    h->name_len = p->part_start - 1 - p->line_start;
    while (v_start < v_end && is_blank(data[v_start]))
        v_start++;
    while (v_end > v_start && is_blank(data[v_end - 1]))
        v_end--;
    h->value = data + v_start;
    h->value_len = v_end - v_start;
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

/* The rules about the body that one header field can break, and what
 * it says about the body: the earlier fields' word is in *framing. */
static int check_field(const struct http_header *h, struct http_framing *framing,
                       const char **reason)
{
    if (bytes_equal_nocase(h->name, h->name_len, "Content-Length")) {
        size_t value;
        if (parse_content_length(h, &value) != 0) {
            *reason = "bad Content-Length";
            return 400;
        }
        if (framing->have_length && value != framing->length) {
            *reason = "conflicting Content-Length fields";
            return 400;
        }
        framing->have_length = true;
        framing->length = value;
    } else if (bytes_equal_nocase(h->name, h->name_len, "Transfer-Encoding")) {
        /* Without chunked decoding the body's end cannot be found. */
        *reason = "Transfer-Encoding not implemented";
        return 501;
    } else if (bytes_equal_nocase(h->name, h->name_len, "Expect") &&
               framing->version_minor == 1) {
        /* The client waits for "100 Continue" before it sends the body
         * (curl does so for uploads above 1 MiB).  HTTP/1.0 had no
         * expectations, so there the field means nothing.  An
         * expectation we cannot meet is refused before the body comes. */
        if (!bytes_equal_nocase(h->value, h->value_len, "100-continue")) {
            *reason = "only the expectation 100-continue is supported";
            return 417;
        }
        framing->expect_continue = true;
    }
    return 0;
}

/* ---- phase 1: checking the header block as it arrives ------------------- */

/* Whether c may be byte number `at` (from 0) of the version "HTTP/1.1":
 * the bytes of "HTTP/#.#", where '#' stands for any digit. */
static bool version_byte_fits(size_t at, unsigned char c)
{
    static const char version_pattern[] = "HTTP/#.#";

    if (at >= sizeof version_pattern - 1)
        return false;
    if (version_pattern[at] == '#')
        return c >= '0' && c <= '9';
    return c == (unsigned char)version_pattern[at];
}

/* The moves from one part of a line to the next, made on the byte that
 * separates them (a space, a colon), by scan_byte and by skip_plain_run
 * alike.  Each notes where the new part begins, for finish_request_line
 * and finish_header_line. */
static void enter_target(struct http_parser *p, size_t space)
{
    p->state = HTTP_SCAN_TARGET;
    p->part_start = space + 1;
    p->target_start = space + 1;
}

static void enter_version(struct http_parser *p, size_t space)
{
    p->state = HTTP_SCAN_VERSION;
    p->part_start = space + 1;
}

static void enter_value(struct http_parser *p, size_t colon)
{
    p->state = HTTP_SCAN_FIELD_VALUE;
    p->part_start = colon + 1;
}

/* Checks the byte at data[k], which belongs to a line that has not ended
 * (it is not a LF, nor a CR followed by LF).  Returns 0 while the line can
 * still become valid, else the status to answer with.  Each answer depends
 * only on bytes up to k, so it is the same however the input is split.
 * On the way it notes where the parts of the line begin, for
 * finish_request_line and finish_header_line. */
static int scan_byte(struct http_parser *p, const char *data, size_t k, const char **reason)
{
    unsigned char c = (unsigned char)data[k];

    /* The first byte of a line that is not empty says what the line is. */
    if (p->state == HTTP_SCAN_START)
        p->state = HTTP_SCAN_METHOD;
    if (p->state == HTTP_SCAN_FIELD_START)
        p->state = HTTP_SCAN_FIELD_NAME;

    switch (p->state) {
    case HTTP_SCAN_METHOD:
        if (c == ' ' && k > p->line_start) {
            enter_target(p, k);
            return 0;
        }
        if (!is_token_char(c))
            break;
        /* Longer than any method there is, and still no space: this
         * is not a request line (http_parser.h, HTTP_METHOD_MAX_LEN). */
        if (k - p->line_start >= HTTP_METHOD_MAX_LEN)
            break;
        return 0;
    case HTTP_SCAN_TARGET:
        /* Origin form starts with '/', absolute form with a scheme's
         * letter; parse_target checks the rest when the line ends. */
        if (k == p->part_start && c != '/' && !is_letter(c))
            break;
        if (c == ' ') {
            enter_version(p, k);
            return 0;
        }
        if (is_target_char(c))
            return 0;
        break;
    case HTTP_SCAN_VERSION:
        if (version_byte_fits(k - p->part_start, c))
            return 0;
        break;
    case HTTP_SCAN_FIELD_NAME:
        if (c == ':' && k > p->line_start) {
            enter_value(p, k);
            return 0;
        }
        if (is_token_char(c))
            return 0;
        if (is_blank((char)c))
            *reason = k == p->line_start ? "obsolete header line folding"
                                         : "whitespace before colon in header";
        else
            *reason = "malformed header line";
        return 400;
    case HTTP_SCAN_FIELD_VALUE:
        if (is_value_char(c))
            return 0;
        *reason = "control character in header";
        return 400;
    case HTTP_SCAN_START:
    case HTTP_SCAN_FIELD_START:
        assert(!"a line start state was left above");
        break;
    }
    /* Every request line case that breaks out of the switch lands here. */
    *reason = "malformed request line";
    return 400;
}

/* A line has ended: its content is data[line_start .. content_end) and the
 * next line begins at `next`.  Finishes the line's checks and fills it
 * into the request.  An empty line in the header part ends the block:
 * then p->header_len is set. */
static int scan_line_end(struct http_parser *p, const char *data, size_t content_end,
                         size_t next, struct http_request *req, const char **reason)
{
    struct http_header h, *field;
    int status;

    switch (p->state) {
    case HTTP_SCAN_START:
        /* The one empty line tolerated before the request line. */
        p->state = HTTP_SCAN_METHOD;
        break;
    case HTTP_SCAN_METHOD:
    case HTTP_SCAN_TARGET:
        *reason = content_end == p->line_start ? "missing request line"
                                               : "malformed request line";
        return 400;
    case HTTP_SCAN_VERSION:
        /* The request line.  Its version decides how an Expect field
         * reads (check_field), so the parser keeps it. */
        status = finish_request_line(p, data, content_end, req, reason);
        if (status != 0)
            return status;
        p->framing.version_minor = req->version_minor;
        p->state = HTTP_SCAN_FIELD_START;
        break;
    case HTTP_SCAN_FIELD_START:
        /* The empty line: the block is complete.  Too many fields is
         * judged only now, like too many bytes only at the byte limit, so
         * that a client may send up to that limit before hearing 431. */
        if (p->field_count > HTTP_MAX_HEADER_FIELDS) {
            *reason = "too many header fields";
            return 431;
        }
        p->header_len = next;
        break;
    case HTTP_SCAN_FIELD_NAME:
        *reason = "malformed header line";      /* no colon */
        return 400;
    case HTTP_SCAN_FIELD_VALUE:
        /* Filled straight into the request while there is room.  Past
         * the limit the field is still checked, in `h`, and 431 comes at
         * the end. */
        field = p->field_count < HTTP_MAX_HEADER_FIELDS ? &req->headers[p->field_count] : &h;
        finish_header_line(p, data, content_end, field);
        status = check_field(field, &p->framing, reason);
        if (status != 0)
            return status;
        p->field_count++;
        p->state = HTTP_SCAN_FIELD_START;
        break;
    }
    p->line_start = next;
    return 0;
}

/* The fast path of phase 1: walks the bytes from k on (k < window) that
 * scan_byte would accept, as long as each one needs no more than a test
 * of its class, and returns where it stopped.  Such bytes are most of a
 * request: the method, the target, the version, a header name, a header
 * value, and the single space or colon between two parts, whose move to
 * the next part is the one scan_byte makes (enter_target, enter_version,
 * enter_value).  A well-formed line is then walked in one call, up to its
 * CR or LF, instead of one trip through scan_byte's switch per part.
 * The walk stops at the first byte that needs more than that (a line
 * end, a byte that may be an error, the end of the input); that byte is
 * left to scan_byte or to the line end, so the outcome is the same as
 * checking byte by byte. */
static size_t skip_plain_run(struct http_parser *p, const char *data, size_t k,
                             size_t window)
{
    size_t method_end;

    switch (p->state) {
    case HTTP_SCAN_START:
        /* A token byte starts the method: scan_byte would move to
         * HTTP_SCAN_METHOD and accept it, so the walk takes it. */
        if (!is_token_char((unsigned char)data[k]))
            return k;
        p->state = HTTP_SCAN_METHOD;
        /* fall through */
    case HTTP_SCAN_METHOD:
        /* At most HTTP_METHOD_MAX_LEN token bytes: a longer method is
         * left to scan_byte, which refuses it. */
        method_end = p->line_start + HTTP_METHOD_MAX_LEN;
        if (method_end > window)
            method_end = window;
        while (k < method_end && is_token_char((unsigned char)data[k]))
            k++;
        /* A space after a method of at least one byte starts the target. */
        if (k == window || data[k] != ' ' || k == p->line_start)
            return k;
        enter_target(p, k);
        if (++k == window)
            return k;
        /* fall through */
    case HTTP_SCAN_TARGET:
        /* The first byte must be '/' or a letter (scan_byte); both are
         * target bytes, so after that test the loop can take it. */
        if (k == p->part_start && data[k] != '/' && !is_letter((unsigned char)data[k]))
            return k;
        while (k < window && is_target_char((unsigned char)data[k]))
            k++;
        /* A space after a target of at least one byte starts the
         * version (a space as its first byte is scan_byte's to refuse). */
        if (k == window || data[k] != ' ' || k == p->part_start)
            return k;
        enter_version(p, k);
        k++;
        /* fall through */
    case HTTP_SCAN_VERSION:
        /* The common case: the whole version is here and reads
         * "HTTP/1." and a digit.  Each of those 8 bytes fits the
         * pattern, as the loop below would find one byte at a time, and
         * no ninth byte can fit, so the walk ends after them. */
        if (k == p->part_start && window - k >= 8 && memcmp(data + k, "HTTP/1.", 7) == 0 &&
            data[k + 7] >= '0' && data[k + 7] <= '9')
            return k + 8;
        while (k < window && version_byte_fits(k - p->part_start, (unsigned char)data[k]))
            k++;
        return k;
    case HTTP_SCAN_FIELD_START:
        /* A token byte starts a header name, as in HTTP_SCAN_START. */
        if (!is_token_char((unsigned char)data[k]))
            return k;
        p->state = HTTP_SCAN_FIELD_NAME;
        /* fall through */
    case HTTP_SCAN_FIELD_NAME:
        while (k < window && is_token_char((unsigned char)data[k]))
            k++;
        /* A colon after a name of at least one byte starts the value. */
        if (k == window || data[k] != ':' || k == p->line_start)
            return k;
        enter_value(p, k);
        k++;
        /* fall through */
    case HTTP_SCAN_FIELD_VALUE:
        /* Values are the longest parts of most requests (Host,
         * User-Agent, Accept): 8 bytes at a time while all are plain,
         * then byte by byte up to the line end.  The word test accepts
         * only bytes the byte test accepts, and never reads past the
         * window. */
        while (window - k >= 8 && word_is_plain_value(data + k))
            k += 8;
        while (k < window && is_value_char((unsigned char)data[k]))
            k++;
        return k;
    }
    return k;
}

/* Checks data[p->scanned .. window) and remembers how far it got.
 * Returns 0 (with p->header_len set if the empty line ending the block
 * was found) or the status of the first error in the bytes. */
static int scan_header_block(struct http_parser *p, const char *data, size_t window,
                             struct http_request *req, const char **reason)
{
    size_t k = p->scanned;

    while (k < window && p->header_len == 0) {
        size_t ending = 0;      /* a line ends at k: 1 for LF, 2 for CRLF */
        int status;

        k = skip_plain_run(p, data, k, window);
        if (k == window)
            break;
        if (data[k] == '\n') {
            ending = 1;
        } else if (data[k] == '\r') {
            /* CRLF or a stray CR?  The next byte says; wait for it. */
            if (k + 1 == window)
                break;
            if (data[k + 1] == '\n')
                ending = 2;
        }
        if (ending > 0)
            status = scan_line_end(p, data, k, k + ending, req, reason);
        else
            status = scan_byte(p, data, k, reason);
        if (status != 0)
            return status;
        k += ending > 0 ? ending : 1;
    }
    p->scanned = k;
    return 0;
}

/* ---- what the whole block says -------------------------------------------- */

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

/* Decides req->keep_alive from the version and the Connection fields of
 * a request whose header fields are all in req->headers. */
static void decide_keep_alive(struct http_request *req)
{
    bool conn_close = false, conn_keep_alive = false;

    for (size_t i = 0; i < req->header_count; i++) {
        const struct http_header *h = &req->headers[i];
        if (bytes_equal_nocase(h->name, h->name_len, "Connection"))
            scan_connection_tokens(h, &conn_close, &conn_keep_alive);
    }
    /* HTTP/1.1 keeps the connection unless told to close; HTTP/1.0 closes
     * unless asked to keep it.  "close" wins over everything. */
    if (req->version_minor == 1)
        req->keep_alive = !conn_close;
    else
        req->keep_alive = conn_keep_alive && !conn_close;
}

/* ---- the public interface ---------------------------------------------- */

void http_parser_init(struct http_parser *p, size_t max_body)
{
    assert(p != NULL);
    p->max_body = max_body;
    p->scanned = 0;
    p->header_len = 0;
    p->state = HTTP_SCAN_START;
    p->line_start = 0;
    p->part_start = 0;
    p->target_start = 0;
    p->field_count = 0;
    p->framing = (struct http_framing){ 0 };
    p->continue_due = false;
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

/* Fills in *req from a header block that came in pieces: phase 1 runs
 * once more, with a fresh parser, over the whole block as the caller's
 * bytes are now.  That is the one-read case of http_parse, so it fills
 * in *req the same way.  These bytes have passed every check already; a
 * failure here means the caller changed them under us. */
static void fill_from_whole_block(const struct http_parser *p, const char *data,
                                  struct http_request *req)
{
    struct http_parser again;
    const char *reason = NULL;
    int status;

    http_parser_init(&again, p->max_body);
    status = scan_header_block(&again, data, p->header_len, req, &reason);
    assert(status == 0 && again.header_len == p->header_len &&
           again.framing.length == p->framing.length);
    req->header_count = again.field_count;
}

enum http_parse_result http_parse(struct http_parser *p, const char *data,
                                  size_t len, struct http_request *req)
{
    bool checked_in_this_call;
    int status;

    assert(p != NULL && req != NULL);
    assert(data != NULL || len == 0);
    /* Bytes of this request must not vanish between calls: the caller
     * consumes only after HTTP_PARSE_DONE. */
    assert(len >= p->scanned && len >= p->header_len);
    /* Whether phase 1 looks at this request's header block from its
     * first byte in this call: then, if the block also ends in this call,
     * the request it fills in points into these very bytes (see below). */
    checked_in_this_call = p->scanned == 0 && p->header_len == 0;
    /* Nothing has arrived since the last call: a server asks again after
     * every request it answers, usually with no bytes left.  Phase 1
     * below would find no byte to check and say the same. */
    if (p->header_len == 0 && len == p->scanned && len < HTTP_MAX_HEADER_BYTES)
        return HTTP_PARSE_NEED_MORE;

    if (p->header_len == 0) {
        /* Phase 1.  Bytes past the limit can never be part of the block,
         * so they are not even looked at. */
        size_t window = len < HTTP_MAX_HEADER_BYTES ? len : HTTP_MAX_HEADER_BYTES;
        const char *reason = NULL;

        status = scan_header_block(p, data, window, req, &reason);
        if (status != 0)
            return parse_fail(p, req, status, reason);
        if (p->header_len == 0) {
            /* HTTP_MAX_HEADER_BYTES valid-looking bytes and still no
             * empty line: the block cannot fit, whatever arrives next. */
            if (len >= HTTP_MAX_HEADER_BYTES)
                return parse_fail(p, req, 431, "header block too large");
            return HTTP_PARSE_NEED_MORE;
        }
        /* The block is complete, so the Content-Length is final.  Too
         * large is refused now, before any of the body is read: a client
         * that sent Expect: 100-continue has not even started sending. */
        if (p->framing.length > p->max_body)
            return parse_fail(p, req, 413, "body larger than the server accepts");
        /* A client waiting for permission gets it once, on the first
         * NEED_MORE (http_parser_take_continue), unless the body came
         * along anyway and the request is done below. */
        p->continue_due = p->framing.expect_continue && p->framing.length > 0;
    }

    /* Phase 2: one comparison per call until the body is all here. */
    if (len - p->header_len < p->framing.length)
        return HTTP_PARSE_NEED_MORE;

    if (checked_in_this_call) {
        /* The fast path, and the common case: the whole header block came
         * in one read.  Phase 1 has just filled every line of it into
         * *req (finish_request_line, then each field into req->headers)
         * from the bytes in front of us now, so there is nothing to
         * redo. */
        req->header_count = p->field_count;
    } else {
        /* The block came in pieces, over several calls: what phase 1
         * filled in then pointed into bytes the caller may have moved
         * since, and into a request struct it may not have kept. */
        fill_from_whole_block(p, data, req);
    }
    decide_keep_alive(req);
    req->body = data + p->header_len;
    req->body_len = p->framing.length;
    req->total_len = p->header_len + p->framing.length;
    req->error_status = 0;
    req->error_reason = NULL;

    /* Ready for the next (pipelined) request, which starts at
     * data + req->total_len. */
    http_parser_init(p, p->max_body);
    return HTTP_PARSE_DONE;
}

bool http_parser_take_continue(struct http_parser *p)
{
    bool due;

    assert(p != NULL);
    due = p->continue_due;
    p->continue_due = false;
    return due;
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
    for (size_t i = 0; i < sizeof known_methods / sizeof known_methods[0]; i++) {
        if (known_methods[i].method == m)
            return known_methods[i].name;
    }
    return "?";
}
