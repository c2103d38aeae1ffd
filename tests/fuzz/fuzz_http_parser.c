/*
 * fuzz_http_parser.c — libFuzzer target for the request parser, the
 * routes and the reply formatting.
 *
 * Build and run (from the repository root; needs clang):
 *
 *   make fuzz               # 60 s; FUZZ_S=600 make fuzz for longer
 *
 * The Makefile builds it with -fsanitize=fuzzer,address,undefined, starts
 * from the seeds in tests/fuzz/corpus/ (one file per request shape: a
 * 5-byte prefix, described below, then the bytes) and keeps what the
 * fuzzer adds in build/fuzz/corpus/.  A crash leaves its input in
 * build/fuzz/crash-*; rerun it with `build/fuzz/fuzz_http_parser FILE`.
 *
 * What it checks, beyond "no crash, no read past len" (every call gets
 * its bytes in a heap block of exactly `len` bytes, so AddressSanitizer
 * sees any over-read):
 *   - Differential: the stream parsed all at once and the same stream
 *     arriving in three pieces (cut where the first input bytes say) give
 *     the same sequence of requests and errors, field for field.
 *   - Invariants of every result: pointers inside the data, total_len
 *     within it, error statuses only 400/413/417/431/501.  While the header
 *     block is incomplete, the parser has checked every byte but at most
 *     a final CR (so incremental calls stay O(total bytes)).
 *   - route_match() and the reply functions run on every parsed request.
 *   - "100 Continue" is only ever due for a complete header block that
 *     asked for it, within max_body, whose body has not all arrived.
 *
 * Input layout: bytes 0-3 choose two cut points, byte 4 bit 0 chooses a
 * small or a large max_body; the rest is the byte stream.
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/buffer.h"
#include "http/http_parser.h"
#include "http/http_response.h"
#include "http/routes.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Enough outcomes for any stream of at most a few tens of KB. */
#define MAX_OUTCOMES 4096

/* One parse outcome with pointers as offsets into the stream. */
struct outcome {
    int result;
    int status;
    int method;
    size_t start;               /* where in the stream this request began */
    size_t target_off, target_len, path_len, query_off, query_len;
    int version_minor;
    bool keep_alive;
    size_t header_count;
    size_t body_off, body_len, total_len;
    size_t first_name_off, last_value_len;
    int route;
    uint32_t ms;
};

static size_t offset_of(const char *base, size_t len, const char *p, size_t n)
{
    /* A parsed pointer outside the bytes handed in is a parser bug. */
    if (!(p >= base && p <= base + len && n <= (size_t)(base + len - p)))
        abort();
    return (size_t)(p - base);
}

static void record(struct outcome *o, enum http_parse_result r, const struct http_request *req,
                   const char *base, size_t len, size_t start)
{
    struct route_match m;
    struct buffer out;
    enum http_connection connection;

    memset(o, 0, sizeof *o);
    o->result = r;
    o->start = start;
    if (r == HTTP_PARSE_ERROR) {
        o->status = req->error_status;
        if (o->status != 400 && o->status != 413 && o->status != 417 && o->status != 431 &&
            o->status != 501)
            abort();
        if (req->error_reason == NULL)
            abort();
        buffer_init(&out, 0);
        if (http_error_append(&out, req->error_status, req->error_reason) != 0)
            abort();
        buffer_free(&out);
        return;
    }
    if (req->total_len == 0 || req->total_len > len || req->header_count > HTTP_MAX_HEADER_FIELDS)
        abort();
    o->method = (int)req->method;
    o->target_off = offset_of(base, len, req->target, req->target_len);
    o->target_len = req->target_len;
    (void)offset_of(base, len, req->path, req->path_len);
    o->path_len = req->path_len;
    o->query_off = offset_of(base, len, req->query, req->query_len);
    o->query_len = req->query_len;
    o->version_minor = req->version_minor;
    o->keep_alive = req->keep_alive;
    o->header_count = req->header_count;
    for (size_t i = 0; i < req->header_count; i++) {
        (void)offset_of(base, len, req->headers[i].name, req->headers[i].name_len);
        (void)offset_of(base, len, req->headers[i].value, req->headers[i].value_len);
    }
    if (req->header_count > 0) {
        o->first_name_off = offset_of(base, len, req->headers[0].name, 1);
        o->last_value_len = req->headers[req->header_count - 1].value_len;
    }
    o->body_off = offset_of(base, len, req->body, req->body_len);
    o->body_len = req->body_len;
    o->total_len = req->total_len;
    if (o->body_off + o->body_len != o->total_len)
        abort();

    route_match(req, &m);
    o->route = (int)m.id;
    o->ms = m.ms;
    connection = req->keep_alive ? HTTP_CONNECTION_KEEP : HTTP_CONNECTION_CLOSE;
    buffer_init(&out, 0);
    if (m.id == ROUTE_ECHO) {
        if (http_response_append(&out, 200, "text/plain", m.echo, m.echo_len, connection) != 0)
            abort();
    } else if (http_response_append_head(&out, 200, "text/plain", m.ms, connection) != 0) {
        abort();
    }
    buffer_free(&out);
}

/* Parses `stream` arriving in pieces that end at cuts[0], cuts[1] and
 * `len`, the way a server does: parse all pending bytes after each read,
 * drop what a finished request used.  Returns the number of outcomes. */
static size_t run(const char *stream, size_t len, const size_t *cuts, size_t ncuts,
                  size_t max_body, struct outcome *outcomes)
{
    struct http_parser p;
    size_t consumed = 0, count = 0;

    http_parser_init(&p, max_body);
    for (size_t piece = 0; piece <= ncuts; piece++) {
        size_t arrived = piece < ncuts ? cuts[piece] : len;

        if (arrived < consumed)
            continue;
        for (;;) {
            struct http_request req;
            size_t pending = arrived - consumed;
            /* A fresh block of exactly the pending bytes for every call. */
            char *copy = malloc(pending > 0 ? pending : 1);
            enum http_parse_result r;

            if (copy == NULL)
                abort();
            memcpy(copy, stream + consumed, pending);
            r = http_parse(&p, copy, pending, &req);
            if (r == HTTP_PARSE_NEED_MORE) {
                size_t window = pending < HTTP_MAX_HEADER_BYTES ? pending : HTTP_MAX_HEADER_BYTES;
                if (p.header_len == 0 && p.scanned + 1 < window)
                    abort();
                /* "100 Continue" only for a complete block that asked for
                 * it, within the body limit, with body bytes still due. */
                if (http_parser_take_continue(&p) &&
                    (p.header_len == 0 || !p.framing.expect_continue ||
                     p.framing.length == 0 || p.framing.length > max_body ||
                     pending - p.header_len >= p.framing.length))
                    abort();
                free(copy);
                break;
            }
            if (count == MAX_OUTCOMES)
                abort();
            record(&outcomes[count++], r, &req, copy, pending, consumed);
            free(copy);
            if (r == HTTP_PARSE_ERROR)
                return count;           /* the connection would close */
            consumed += req.total_len;
        }
    }
    return count;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct outcome whole[MAX_OUTCOMES], pieces[MAX_OUTCOMES];
    size_t cuts[2], n_whole, n_pieces, len, max_body;
    const char *stream;

    if (size < 5)
        return 0;
    stream = (const char *)data + 5;
    len = size - 5;
    cuts[0] = ((size_t)data[0] << 8 | data[1]) % (len + 1);
    cuts[1] = ((size_t)data[2] << 8 | data[3]) % (len + 1);
    if (cuts[0] > cuts[1]) {
        size_t t = cuts[0];
        cuts[0] = cuts[1];
        cuts[1] = t;
    }
    max_body = (data[4] & 1) ? HTTP_DEFAULT_MAX_BODY : 16;

    n_whole = run(stream, len, NULL, 0, max_body, whole);
    n_pieces = run(stream, len, cuts, 2, max_body, pieces);

    /* However the bytes arrive, the requests and errors are the same. */
    if (n_whole != n_pieces)
        abort();
    for (size_t i = 0; i < n_whole; i++) {
        if (memcmp(&whole[i], &pieces[i], sizeof whole[i]) != 0)
            abort();
    }
    return 0;
}
