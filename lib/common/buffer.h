/*
 * buffer.h — a growable byte buffer with a read cursor, used for a
 * connection's input (bytes read, not yet parsed) and output (bytes
 * produced, not yet written).
 *
 *     data[0 .. start)        already consumed (reclaimed lazily)
 *     data[start .. len)      pending: readable / not yet sent
 *     data[len .. cap)        free space for the next read or append
 *
 * buffer_consume() advances `start` (the cursor of a partial write);
 * buffer_compact() moves pending bytes to the front when that is cheap.
 *
 * Borrowed blocks.  A buffer made with buffer_init_pooled() takes its
 * block from a struct buffer_pool when bytes first arrive and gives it
 * back with buffer_give_back_if_drained() once everything was consumed,
 * so a buffer that holds nothing costs nothing but this struct.  The
 * event loop does that for every connection (loop_connection.c): 10,000
 * idle keep-alive connections then hold no buffer memory at all, and the
 * pool's bytes_lent counter (the server's buffer_bytes gauge) shows what
 * the busy ones hold.  A pool has one owner thread: nothing here locks.
 *
 * Errors: 0 or -ENOMEM; a buffer never grows past its `limit` (0 = no
 * limit) and then returns -ENOBUFS, so a hostile peer cannot make us
 * buffer without end.
 * Ownership: the caller owns the struct; buffer_free() releases the bytes
 * (to the pool, for a pooled buffer).  A pool must outlive its buffers:
 * buffer_pool_free() asserts that every block came back.
 */
#ifndef EVLAB_BUFFER_H
#define EVLAB_BUFFER_H

#include <assert.h>
#include <stddef.h>

struct buffer_pool;

struct buffer {
    char *data;                  /* NULL while the buffer holds no block */
    size_t start;
    size_t len;
    size_t cap;
    size_t limit;
    struct buffer_pool *pool;    /* where blocks come from; NULL: malloc */
};

void   buffer_init(struct buffer *b, size_t limit);
void   buffer_init_pooled(struct buffer *b, size_t limit, struct buffer_pool *pool);
void   buffer_free(struct buffer *b);
static inline const char *buffer_peek(const struct buffer *b);   /* data + start */
int    buffer_append(struct buffer *b, const void *bytes, size_t n);
int    buffer_appendf(struct buffer *b, const char *fmt, ...)
           __attribute__((format(printf, 2, 3)));
/* Makes room for at least `n` more bytes and returns where to write them
 * (then call buffer_commit with how many were written). NULL on failure. */
char  *buffer_reserve(struct buffer *b, size_t n);
/* Like buffer_reserve, but says why it failed: 0, -ENOBUFS (the pending
 * bytes would pass `limit`) or -ENOMEM.  After 0, appending up to `n`
 * bytes cannot fail.  (Added with buffer.c.) */
int    buffer_ensure(struct buffer *b, size_t n);
static inline void buffer_commit(struct buffer *b, size_t n);
static inline void buffer_consume(struct buffer *b, size_t n);
static inline void buffer_compact(struct buffer *b);
void   buffer_clear(struct buffer *b);
/* When nothing is pending, gives the block back (to the pool, or to
 * malloc) so the buffer holds no memory until bytes arrive again. */
static inline void buffer_give_back_if_drained(struct buffer *b);

/* --- Inline, because the loop calls them on every request --------------- */

/* The functions below run several times for every request the event loop
 * answers (every read, parse and write asks at least one of them), and
 * each is a few instructions: a call would cost as much as the work.  So
 * they live here, asserts and all, and only their rare slow paths (moving
 * bytes, giving a block back) are calls into buffer.c. */

/* Slides the pending bytes to the front (buffer_compact's slow path). */
void   buffer_move_to_front(struct buffer *b);
/* Releases the block of a drained buffer (the slow path of
 * buffer_give_back_if_drained; b->data != NULL and nothing pending). */
void   buffer_give_back(struct buffer *b);

/* Bytes written and not yet consumed.  The invariant is still checked in
 * every build. */
static inline size_t buffer_pending(const struct buffer *b)
{
    assert(b != NULL && b->start <= b->len && b->len <= b->cap);
    return b->len - b->start;
}

static inline const char *buffer_peek(const struct buffer *b)
{
    assert(b != NULL);
    /* An empty buffer may have no allocation at all; NULL + 0 is not
     * valid C, so hand back an empty string instead. */
    if (b->data == NULL)
        return "";
    return b->data + b->start;
}

static inline void buffer_commit(struct buffer *b, size_t n)
{
    assert(b != NULL);
    /* Committing more than was reserved would claim bytes past the block. */
    assert(n <= b->cap - b->len);
    b->len += n;
}

static inline void buffer_consume(struct buffer *b, size_t n)
{
    assert(b != NULL);
    /* Consuming bytes that were never there is a caller bug. */
    assert(n <= b->len - b->start);
    b->start += n;
    /* Fully drained: rewinding is free (nothing to move), and it keeps the
     * common request/reply ping-pong at the front of the block. */
    if (b->start == b->len) {
        b->start = 0;
        b->len = 0;
    }
}

static inline void buffer_compact(struct buffer *b)
{
    assert(b != NULL);
    /* "Cheap" means the move copies no more bytes than it reclaims. */
    if (b->start > 0 && b->len - b->start <= b->start)
        buffer_move_to_front(b);
}

static inline void buffer_give_back_if_drained(struct buffer *b)
{
    assert(b != NULL);
    if (b->data != NULL && b->len == b->start)
        buffer_give_back(b);
}

/* --- The pool ----------------------------------------------------------- */

struct buffer_pool_block;

struct buffer_pool {
    size_t block_size;           /* the size of every block it lends */
    size_t max_free;             /* free blocks kept; more go back to malloc */
    struct buffer_pool_block *free_list;   /* blocks ready to lend */
    size_t free_count;           /* blocks on free_list */
    size_t bytes_lent;           /* bytes its buffers hold now, blocks and
                                    the larger allocations they grew into */
};

void   buffer_pool_init(struct buffer_pool *pool, size_t block_size, size_t max_free);
/* Frees the free blocks.  Every buffer must have given its block back. */
void   buffer_pool_free(struct buffer_pool *pool);
/* Inline for the same reason as the functions above: the event loop
 * publishes it (the buffer_bytes gauge) after every event. */
static inline size_t buffer_pool_bytes_lent(const struct buffer_pool *pool)
{
    return pool->bytes_lent;
}

#endif
