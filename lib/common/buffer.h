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
const char *buffer_peek(const struct buffer *b);       /* data + start */
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
void   buffer_commit(struct buffer *b, size_t n);
void   buffer_consume(struct buffer *b, size_t n);
void   buffer_compact(struct buffer *b);
void   buffer_clear(struct buffer *b);
/* When nothing is pending, gives the block back (to the pool, or to
 * malloc) so the buffer holds no memory until bytes arrive again. */
void   buffer_give_back_if_drained(struct buffer *b);

/* --- The pool ----------------------------------------------------------- */

/* Bytes written and not yet consumed.  Inline because the loop asks it
 * many times per request (every event, every parse, every write); the
 * invariant is still checked in every build. */
static inline size_t buffer_pending(const struct buffer *b)
{
    assert(b != NULL && b->start <= b->len && b->len <= b->cap);
    return b->len - b->start;
}

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
size_t buffer_pool_bytes_lent(const struct buffer_pool *pool);

#endif
