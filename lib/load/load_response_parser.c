/*
 * load_response_parser.c — a streaming HTTP/1.x response parser for the
 * load generator.
 *
 * Design: one state per place we can be in the grammar, one byte at a
 * time in the header block, whole runs of bytes in the body.  We never
 * look back at earlier bytes, so nothing has to be buffered: the status
 * line is kept only as far as "HTTP/1.1 200", a header name only as far
 * as the longest one we care about ("content-length"), a value only as
 * far as a length can go.  Lenient where it costs nothing (a bare LF ends
 * a line just as CRLF does), strict where a mistake would make us lose
 * track of response boundaries (bad or duplicate Content-Length, chunked).
 */
#include "load/load_response_parser.h"
#include "common/decimal.h"

#include <ctype.h>
#include <string.h>

enum parser_state {
    ST_STATUS_LINE = 0,   /* "HTTP/1.1 200 OK" up to LF               */
    ST_HEADER_START,      /* first byte of a header line, or CR/LF    */
    ST_HEADER_NAME,       /* up to ':'                                */
    ST_HEADER_VALUE,      /* up to LF                                 */
    ST_HEADERS_END_LF,    /* saw CR on an empty line, LF must follow  */
    ST_BODY,              /* body_left bytes to skip                  */
    ST_BODY_UNTIL_CLOSE,  /* everything until EOF                     */
    ST_DONE,
};

void load_response_parser_init(struct load_response_parser *p)
{
    memset(p, 0, sizeof *p);
    p->state = ST_STATUS_LINE;
}

bool load_response_started(const struct load_response_parser *p)
{
    return p->header_bytes > 0;
}

/* "HTTP/1.1 200" (the reason phrase after it does not matter). */
static bool status_line_parse(struct load_response_parser *p)
{
    const char *l = p->line;

    if (p->line_len < 12 || memcmp(l, "HTTP/1.", 7) != 0)
        return false;
    if ((l[7] != '0' && l[7] != '1') || l[8] != ' ')
        return false;
    if (!isdigit((unsigned char)l[9]) || !isdigit((unsigned char)l[10]) ||
        !isdigit((unsigned char)l[11]))
        return false;
    p->version_minor = l[7] - '0';
    p->status = (l[9] - '0') * 100 + (l[10] - '0') * 10 + (l[11] - '0');
    if (p->status < 100)
        return false;
    /* HTTP/1.1 keeps the connection by default, 1.0 closes it. */
    p->keep_alive = p->version_minor == 1;
    return true;
}

/* A complete header line: act on the two headers that decide framing. */
static bool header_apply(struct load_response_parser *p)
{
    /* Drop the blanks that trail the value before the line end. */
    while (p->value_len > 0 && p->value_len <= sizeof p->value &&
           (p->value[p->value_len - 1] == ' ' || p->value[p->value_len - 1] == '\t'))
        p->value_len--;
    if (p->name_len > sizeof p->name)
        return true;   /* a long name we do not care about */

    if (p->name_len == 14 && memcmp(p->name, "content-length", 14) == 0) {
        uint64_t n = 0;
        if (p->has_length) {
            p->error = "bad or repeated Content-Length";
            return false;
        }
        /* Digits only; 15 of them is a petabyte, more than any reply. */
        if (p->value_len > 15 || !decimal_parse(p->value, p->value_len, UINT64_MAX, &n)) {
            p->error = "bad Content-Length";
            return false;
        }
        p->has_length = true;
        p->body_left = n;
    } else if (p->name_len == 10 && memcmp(p->name, "connection", 10) == 0) {
        if (p->value_len == 5 && memcmp(p->value, "close", 5) == 0)
            p->keep_alive = false;
        else if (p->value_len == 10 && memcmp(p->value, "keep-alive", 10) == 0)
            p->keep_alive = true;
    } else if (p->name_len == 17 && memcmp(p->name, "transfer-encoding", 17) == 0) {
        p->error = "Transfer-Encoding is not supported";
        return false;
    }
    return true;
}

/* The blank line after the headers: decide how the body is framed. */
static void headers_end(struct load_response_parser *p)
{
    if ((p->status >= 100 && p->status < 200) || p->status == 204 || p->status == 304) {
        p->state = ST_DONE;
    } else if (p->has_length) {
        p->state = p->body_left > 0 ? ST_BODY : ST_DONE;
    } else {
        /* No length: only the close of the connection ends the body, so
         * the connection cannot be reused. */
        p->until_close = true;
        p->keep_alive = false;
        p->state = ST_BODY_UNTIL_CLOSE;
    }
}

/* Feeds one byte of the status line or header block.  false on error. */
static bool header_byte(struct load_response_parser *p, char c)
{
    if (++p->header_bytes > LOAD_RESPONSE_MAX_HEADER_BYTES) {
        p->error = "response header block too large";
        return false;
    }
    switch (p->state) {
    case ST_STATUS_LINE:
        if (c == '\n') {
            if (!status_line_parse(p)) {
                p->error = "bad status line";
                return false;
            }
            p->state = ST_HEADER_START;
        } else if (p->line_len < sizeof p->line) {
            p->line[p->line_len++] = c;
        }
        return true;
    case ST_HEADER_START:
        if (c == '\r') {
            p->state = ST_HEADERS_END_LF;
            return true;
        }
        if (c == '\n') {
            headers_end(p);
            return true;
        }
        p->name_len = 0;
        p->value_len = 0;
        p->state = ST_HEADER_NAME;
        /* fall through: this byte is the first of the name */
        /* FALLTHROUGH */
    case ST_HEADER_NAME:
        if (c == ':') {
            p->state = ST_HEADER_VALUE;
        } else if (c == '\n' || c == '\r') {
            p->error = "header line without ':'";
            return false;
        } else {
            if (p->name_len < sizeof p->name)
                p->name[p->name_len] = (char)tolower((unsigned char)c);
            p->name_len++;
        }
        return true;
    case ST_HEADER_VALUE:
        if (c == '\n') {
            if (!header_apply(p))
                return false;
            p->state = ST_HEADER_START;
        } else if (c == '\r') {
            /* ignored: the LF ends the line */
        } else if ((c == ' ' || c == '\t') && p->value_len == 0) {
            /* leading blanks are not part of the value */
        } else {
            if (p->value_len < sizeof p->value)
                p->value[p->value_len] = (char)tolower((unsigned char)c);
            p->value_len++;
        }
        return true;
    case ST_HEADERS_END_LF:
        if (c != '\n') {
            p->error = "CR without LF after the headers";
            return false;
        }
        headers_end(p);
        return true;
    default:
        return false;
    }
}

enum load_response_result load_response_parse(struct load_response_parser *p,
                                              const char *data, size_t len,
                                              size_t *used)
{
    size_t i = 0;

    while (i < len && p->state != ST_DONE) {
        if (p->state == ST_BODY) {
            /* Skip as much of the body as this chunk holds, in one go. */
            size_t take = len - i;
            if (take > p->body_left)
                take = (size_t)p->body_left;
            p->body_left -= take;
            i += take;
            if (p->body_left == 0)
                p->state = ST_DONE;
        } else if (p->state == ST_BODY_UNTIL_CLOSE) {
            i = len;
        } else if (!header_byte(p, data[i++])) {
            *used = i;
            return LOAD_RESPONSE_ERROR;
        }
    }
    *used = i;
    return p->state == ST_DONE ? LOAD_RESPONSE_DONE : LOAD_RESPONSE_NEED_MORE;
}

bool load_response_finish_at_eof(struct load_response_parser *p)
{
    if (p->state == ST_BODY_UNTIL_CLOSE) {
        p->state = ST_DONE;
        return true;
    }
    return p->state == ST_DONE;
}
