/*
 * grade_net.h — the client side of a graded server test: connect to the
 * student's server on 127.0.0.1, send all of a buffer (at once or as a
 * slow dribble), receive with a deadline, vanish with a reset.
 *
 * Every wait is bounded: nothing here can hang a test.  Functions that
 * take a ctx fail the test (grade_fail) with a message a student
 * understands when the server misbehaves; the receive functions return
 * what they got and let the test judge it.  Descriptors returned belong
 * to the caller (close them; the process exit also does).
 */
#ifndef EVLAB_GRADE_NET_H
#define EVLAB_GRADE_NET_H

#include <stdbool.h>
#include <stddef.h>

#include "grade_test.h"

/* A blocking TCP connection to 127.0.0.1:port (fails the test on error). */
int  grade_connect(struct grade_ctx *ctx, int port);
/* grade_connect with SO_RCVBUF set to rcvbuf_bytes *before* connect():
 * the window is negotiated at the handshake, and shrinking the buffer
 * afterwards stalls a loopback transfer in retransmission backoff.  Use
 * this for "a client that reads slowly" tests. */
int  grade_connect_rcvbuf(struct grade_ctx *ctx, int port, int rcvbuf_bytes);
/* Like grade_connect but returns -errno instead of failing (for tests
 * that expect a refusal). */
int  grade_try_connect(int port);

/* Sends all len bytes; fails the test if the server takes none of them
 * for 10 s (it stopped reading) or the connection breaks. */
void grade_send_all(struct grade_ctx *ctx, int fd, const void *buf, size_t len);
/* Sends len bytes in pieces of `chunk` bytes with delay_ms between them
 * (chunk 1 = the 1-byte dribble every server must survive). */
void grade_send_dribble(struct grade_ctx *ctx, int fd, const void *buf, size_t len,
                        size_t chunk, int delay_ms);

/* recv exactly len bytes within timeout_ms; returns bytes got (< len on EOF/timeout). */
size_t grade_recv_exact(int fd, void *buf, size_t len, int timeout_ms);
/* recv until the peer closes or timeout; returns bytes, sets *closed
 * (true on an orderly close or a reset). */
size_t grade_recv_until_close(int fd, void *buf, size_t cap, int timeout_ms, bool *closed);
/* Reads one line ending in '\n' (kept) within timeout_ms; returns its
 * length, 0 on EOF or timeout.  Reads byte by byte: meant for short
 * protocol lines, not bulk data. */
size_t grade_recv_line(int fd, char *buf, size_t cap, int timeout_ms);

/* Reads one line within timeout_ms and fails the test unless it equals
 * `want` (with its '\n'); `input` says what was sent, for the message. */
void grade_expect_line(struct grade_ctx *ctx, int fd, const char *want, int timeout_ms,
                       const char *input);

void grade_close_with_reset(int fd);                          /* SO_LINGER 0: RST */
void grade_set_rcvbuf(int fd, int bytes);
void grade_set_sndbuf(int fd, int bytes);

#endif
