/*
 * load_response_parser.h — the client side of HTTP/1.1: find where each
 * response ends in a stream of bytes that arrives in arbitrary pieces.
 *
 * A load generator does not need the body, only its end, so this parser
 * is a byte-at-a-time state machine that keeps nothing but a few counters
 * and the two header values that matter (Content-Length, Connection).
 * Consequence: a connection needs no input buffer at all; the loop reads
 * into one shared scratch buffer and feeds it here, and a response split
 * over any number of reads costs O(bytes).
 *
 *     load_response_parser_init(&p);
 *     while (len > 0) {
 *         r = load_response_parse(&p, data, len, &used);
 *         data += used; len -= used;
 *         if (r == LOAD_RESPONSE_DONE) { ...p.status, p.keep_alive...;
 *                                        load_response_parser_init(&p); }
 *         if (r == LOAD_RESPONSE_ERROR) { ...close the connection... }
 *     }
 *
 * Bodies: Content-Length, or (with no length) up to the close of the
 * connection; 1xx, 204 and 304 have none.  Chunked transfer coding is
 * refused (evlab servers never send it).
 * Errors: LOAD_RESPONSE_ERROR with p.error set to a short reason.
 */
#ifndef EVLAB_LOAD_RESPONSE_PARSER_H
#define EVLAB_LOAD_RESPONSE_PARSER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A status line plus headers longer than this is not an evlab server. */
#define LOAD_RESPONSE_MAX_HEADER_BYTES 16384

enum load_response_result {
    LOAD_RESPONSE_NEED_MORE = 0,
    LOAD_RESPONSE_DONE = 1,
    LOAD_RESPONSE_ERROR = -1,
};

struct load_response_parser {
    int state;                  /* enum in the .c file */
    size_t header_bytes;        /* bytes of status line + headers so far */
    char line[16];              /* start of the status line: "HTTP/1.1 200" */
    size_t line_len;
    char name[20];              /* current header name, lower-cased */
    size_t name_len;            /* may exceed sizeof name: "not interesting" */
    char value[24];             /* current header value, lower-cased */
    size_t value_len;
    /* What we learned. */
    int status;                 /* 0 until the status line is parsed */
    int version_minor;
    bool keep_alive;
    bool has_length;
    uint64_t body_left;         /* Content-Length bytes still to come */
    bool until_close;           /* no length: the body ends at EOF */
    const char *error;          /* set with LOAD_RESPONSE_ERROR */
};

void load_response_parser_init(struct load_response_parser *p);

/* Consumes bytes of data[0..len), stopping right after the end of one
 * response (DONE) or when all bytes are used (NEED_MORE); *used says how
 * many were consumed.  After DONE, init the parser again for the next
 * response (pipelining: the rest of `data` belongs to it). */
enum load_response_result load_response_parse(struct load_response_parser *p,
                                              const char *data, size_t len,
                                              size_t *used);

/* Whether any byte of a response has been consumed since init. */
bool load_response_started(const struct load_response_parser *p);

/* The peer closed the connection: true if that completes the response
 * (a body delimited by the close), false if the response is cut short. */
bool load_response_finish_at_eof(struct load_response_parser *p);

#endif
