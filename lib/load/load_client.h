/*
 * load_client.h — one client connection of the load generator, as a
 * non-blocking state machine on the project's event loop:
 *
 *     CLOSED --connect()--> CONNECTING --writable, SO_ERROR 0--> OPEN
 *       ^                        |                                 |
 *       +----- error / close ----+---------------------------------+
 *
 * In OPEN the connection writes the requests it is given (a partial
 * write leaves a cursor in its output buffer and waits for writability)
 * and reads replies through a streaming response parser, matching each
 * reply to the oldest request in flight (HTTP/1.1 answers pipelined
 * requests in order).
 *
 * The connection decides nothing about *when* to send: that is the run's
 * policy (closed loop, open loop, idle), told through struct
 * load_client_ops.
 *
 * A client that never reads (struct load_client.no_read, `evlab load
 * --no-read`) is the other half of the picture: it writes requests and
 * never asks the loop for READABLE, so its replies pile up in the kernel
 * and then in the server.  No reply will ever be matched, so its slots
 * only count the batch being written (at most `pipeline` requests): once
 * the kernel has taken all of it the slots are free again and the run
 * hears so through on_drained.  It watches WRITABLE only while it has
 * something to write or has just written a batch (so a closed loop keeps
 * pushing one batch per turn, and an open loop with nothing due sleeps).
 * A server that closes the connection is noticed at the next write
 * (EPIPE/ECONNRESET) or as an error event (a reset).
 *
 * Rules for those callbacks:
 *   - on_response may call load_conn_send() on any connection, but must
 *     not close or connect `conn` itself;
 *   - on_closed is the last thing a connection does before it returns to
 *     the loop, so the run may call load_conn_connect() right there.
 *
 * Ownership: the run allocates the connections and their in-flight slots
 * and owns the shared struct load_client; load_conn_close() releases what
 * a connection holds (fd, output buffer) and may be called in any state.
 * Errors: 0 or a negative errno; failures of one connection are reported
 * through on_error/on_closed and never affect the others.
 */
#ifndef EVLAB_LOAD_CLIENT_H
#define EVLAB_LOAD_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "common/buffer.h"
#include "load/load_response_parser.h"
#include "loop/loop.h"

/* Bytes asked of one read(2); the replies of many pipelined requests fit. */
#define LOAD_READ_CHUNK               65536

/* Fairness: at most this many reads for one connection per dispatch. */
#define LOAD_MAX_READS_PER_DISPATCH   4

/* What went wrong, counted per kind in the result. */
enum load_error_kind {
    LOAD_ERR_CONNECT_REFUSED = 0,  /* nobody listening (ECONNREFUSED)       */
    LOAD_ERR_CONNECT_TIMEOUT,      /* no answer within --connect-timeout    */
    LOAD_ERR_CONNECT_OTHER,        /* any other connect/socket failure      */
    LOAD_ERR_TIMEOUT,              /* no reply within --timeout             */
    LOAD_ERR_RESET,                /* ECONNRESET / EPIPE                    */
    LOAD_ERR_BAD_STATUS,           /* a reply, but not 2xx/3xx              */
    LOAD_ERR_SHORT_READ,           /* closed before the whole reply came    */
    LOAD_ERR_BAD_RESPONSE,         /* not parseable as HTTP, or unexpected  */
    LOAD_ERR_COUNT
};

/* "connect_refused" (for JSON) and "connect refused" (for people). */
const char *load_error_key(enum load_error_kind kind);
const char *load_error_label(enum load_error_kind kind);

/* The connect errno -> kind mapping (ECONNREFUSED, ETIMEDOUT, others). */
enum load_error_kind load_error_from_connect(int negative_errno);

enum load_conn_state { LOAD_CONN_CLOSED = 0, LOAD_CONN_CONNECTING, LOAD_CONN_OPEN };

/* One request in flight: when its latency clock started (intended send
 * time in open loop, actual send time in closed loop), when it was really
 * written (for --timeout), and which mix entry it was. */
struct load_slot {
    uint64_t start_ns;
    uint64_t sent_ns;
    uint32_t entry;
};

struct load_conn;

struct load_client_ops {
    void (*on_connected)(struct load_conn *conn);
    void (*on_response)(struct load_conn *conn, const struct load_slot *slot,
                        int status, uint64_t now_ns);
    void (*on_error)(struct load_conn *conn, enum load_error_kind kind);
    /* conn is CLOSED now; `after_error` tells a failure from the server's
     * orderly close (Connection: close, or idle keep-alive timeout). */
    void (*on_closed)(struct load_conn *conn, bool after_error, enum load_error_kind kind);
    /* no_read only: everything queued was written; the connection has
     * room again.  May call load_conn_send() on conn (it is then written
     * at the end of the dispatch). */
    void (*on_drained)(struct load_conn *conn);
};

/* no_read: the receive buffer asked of the kernel (it doubles it).  Small,
 * so the replies stop filling the client's kernel after a few KiB and
 * pile up where the lesson looks, in the server. */
#define LOAD_NO_READ_RCVBUF           4096

/* What every connection of a run shares: the loop, where to connect, the
 * formatted requests, and one scratch buffer for reads (one thread, so
 * one buffer is enough; a connection keeps no input buffer of its own). */
struct load_client {
    struct loop *loop;
    const struct load_client_ops *ops;
    void *data;                          /* the run */
    struct sockaddr_storage addr;
    socklen_t addr_len;
    const char *const *requests;         /* per mix entry */
    const size_t *request_lens;
    uint32_t pipeline;                   /* slots per connection */
    bool no_read;                        /* never read replies (see above) */
    uint64_t bytes_read;
    uint64_t bytes_written;              /* whole run, warm-up included */
    char scratch[LOAD_READ_CHUNK];
};

struct load_conn {
    struct load_client *client;
    uint32_t index;                      /* in the run's array */
    enum load_conn_state state;
    struct loop_io io;
    uint64_t connect_started_ns;
    struct load_response_parser parser;
    /* In-flight requests, oldest first: a ring of client->pipeline slots
     * owned by the run; `head` is the oldest, `inflight` how many. */
    struct load_slot *slots;
    uint32_t head;
    uint32_t inflight;
    struct buffer out;                   /* written from out.start */
    bool in_dispatch;                    /* inside our own callback */
    bool want_write;                     /* LOOP_WRITABLE requested */
    void *run_data;                      /* free for the run's bookkeeping */
};

void load_conn_init(struct load_conn *conn, struct load_client *client,
                    uint32_t index, struct load_slot *slots);

/* Starts a non-blocking connect.  0, or a negative errno when it failed
 * at once (then the connection is CLOSED again and no callback ran). */
int  load_conn_connect(struct load_conn *conn, uint64_t now_ns);

/* Queues one request (mix entry `entry`) and writes it unless we are in
 * this connection's own callback (then it is written once, at the end of
 * the callback, together with the others).  The connection must be OPEN
 * with inflight < pipeline.  Returns false if writing failed and the
 * connection was closed (on_error/on_closed have run). */
bool load_conn_send(struct load_conn *conn, uint32_t entry, uint64_t start_ns,
                    uint64_t now_ns);

/* Checks the connect timeout and the oldest request's timeout; on expiry
 * reports the error and closes (callbacks run).  true if it expired. */
bool load_conn_check_timeouts(struct load_conn *conn, uint64_t now_ns,
                              uint64_t connect_timeout_ns, uint64_t timeout_ns);

/* Closes without any callback (end of the run).  Safe in any state. */
void load_conn_close(struct load_conn *conn);

/* Releases the output buffer (after load_conn_close). */
void load_conn_free(struct load_conn *conn);

/* Room for one more request: a slot free.  For a client that never reads
 * the slots hold the current batch, which is forgotten once it has all
 * been written (so "room" means the kernel took the last batch). */
static inline bool load_conn_has_capacity(const struct load_conn *conn)
{
    return conn->state == LOAD_CONN_OPEN && conn->inflight < conn->client->pipeline;
}

#endif
