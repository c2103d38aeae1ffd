/*
 * buffer.c — the growable byte buffer behind every connection's input and
 * output (see buffer.h for the picture of data / start / len / cap).
 *
 * Design.  Bytes are appended at `len` and consumed at `start`; consuming
 * only moves the cursor, so a partial write costs nothing but an addition.
 * The consumed prefix is reclaimed lazily, when somebody needs room:
 *
 *   1. If the free tail already holds the new bytes, nothing moves.
 *   2. If the consumed prefix is at least as large as the pending bytes,
 *      sliding the pending bytes to the front (buffer_compact) copies no
 *      more than it frees, so every byte is moved at most about once per
 *      time it is consumed: compaction is amortised O(1) per byte.
 *   3. Otherwise the buffer grows geometrically (doubling), so appending
 *      N bytes one at a time costs O(N) copies in total, not O(N^2).
 *
 * The `limit` caps the pending bytes (and so the allocation): a peer that
 * sends headers forever, or never reads its replies, gets -ENOBUFS and its
 * connection is closed instead of eating the server's memory.
 *
 * Only buffer_reserve, buffer_append(f) and buffer_compact move bytes;
 * buffer_consume never does, so a pointer obtained from buffer_peek()
 * stays valid across a consume (it just points at consumed bytes).
 *
 * Pools.  Every block a pooled buffer allocates goes through
 * buffer_alloc_block() and buffer_release_block(), which keep the pool's
 * bytes_lent exact.  A block of exactly the pool's block size comes from,
 * and goes back to, the pool's free list: a singly linked list threaded
 * through the first bytes of the free blocks themselves, so taking and
 * giving back cost two pointer moves and no malloc.  Larger blocks (a
 * buffer that grew) are ordinary malloc blocks, counted but not kept.
 * The event loop's buffers borrow and give back a block on every request
 * (an idle connection holds none), so both are short paths: borrowing is
 * the first thing buffer_make_room() tries, and the drained check that
 * gives a block back is inline in buffer.h.
 */
#include "common/buffer.h"

#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/limits.h"

/* A free block on a pool's free list; its first bytes hold the link. */
struct buffer_pool_block {
    struct buffer_pool_block *next;
};

void buffer_init(struct buffer *b, size_t limit)
{
    buffer_init_pooled(b, limit, NULL);
}

void buffer_init_pooled(struct buffer *b, size_t limit, struct buffer_pool *pool)
{
    assert(b != NULL);
    b->data = NULL;
    b->start = 0;
    b->len = 0;
    b->cap = 0;
    b->limit = limit;
    b->pool = pool;
}

/* --- Where blocks come from and go back to ----------------------------- */

/* Inline: the fast path of buffer_make_room() borrows a block per request. */
static inline char *buffer_alloc_block(struct buffer_pool *pool, size_t cap)
{
    char *block;
    if (pool != NULL && cap == pool->block_size && pool->free_list != NULL) {
        struct buffer_pool_block *first = pool->free_list;
        pool->free_list = first->next;
        pool->free_count--;
        block = (char *)first;
    } else {
        block = malloc(cap);
        if (block == NULL)
            return NULL;
    }
    if (pool != NULL)
        pool->bytes_lent += cap;
    return block;
}

static void buffer_release_block(struct buffer_pool *pool, char *block, size_t cap)
{
    if (block == NULL)
        return;
    if (pool == NULL) {
        free(block);
        return;
    }
    assert(pool->bytes_lent >= cap);
    pool->bytes_lent -= cap;
    if (cap == pool->block_size && pool->free_count < pool->max_free) {
        struct buffer_pool_block *freed = (struct buffer_pool_block *)(void *)block;
        freed->next = pool->free_list;
        pool->free_list = freed;
        pool->free_count++;
    } else {
        free(block);
    }
}

void buffer_free(struct buffer *b)
{
    assert(b != NULL);
    buffer_release_block(b->pool, b->data, b->cap);
    /* Leave an empty buffer with the same limit and pool, for reuse. */
    buffer_init_pooled(b, b->limit, b->pool);
}

void buffer_give_back(struct buffer *b)
{
    assert(b->data != NULL && b->len == b->start);    /* drained, holding a block */
    buffer_release_block(b->pool, b->data, b->cap);
    b->data = NULL;
    b->start = 0;
    b->len = 0;
    b->cap = 0;
}

/* Slides the pending bytes to the front, unconditionally. */
void buffer_move_to_front(struct buffer *b)
{
    size_t pending = b->len - b->start;

    if (b->start == 0)
        return;
    /* The regions may overlap, hence memmove rather than memcpy. */
    if (pending > 0)
        memmove(b->data, b->data + b->start, pending);
    b->start = 0;
    b->len = pending;
}

/* Cases 2 and 3 of the design above (case 1 and the borrow are in
 * buffer_make_room()).  Returns 0, -ENOBUFS or -ENOMEM. */
static int buffer_grow(struct buffer *b, size_t n)
{
    size_t pending = b->len - b->start;
    size_t need, new_cap;
    char *bigger;

    if (n > SIZE_MAX - pending)
        return -ENOBUFS;
    need = pending + n;
    if (b->limit != 0 && need > b->limit)
        return -ENOBUFS;

    /* Case 2: reuse the consumed prefix when moving is cheap, or when the
     * limit forbids growing any further (then moving is the only way). */
    if (need <= b->cap &&
        (b->start >= pending || (b->limit != 0 && b->cap >= b->limit))) {
        buffer_move_to_front(b);
        return 0;
    }

    /* Case 3: grow geometrically, but never past the limit.  Growing at
     * least doubles even when the bytes would fit after a (costly) move:
     * otherwise a nearly full buffer would copy all its pending bytes
     * again and again to reclaim a few consumed ones.  A pooled buffer
     * starts at the pool's block size, so its first block is borrowed. */
    if (b->cap > 0)
        new_cap = b->cap;
    else
        new_cap = b->pool != NULL ? b->pool->block_size : BUFFER_MIN_CAP;
    if (b->cap > 0 && new_cap <= SIZE_MAX / 2)
        new_cap *= 2;
    while (new_cap < need) {
        if (new_cap > SIZE_MAX / 2) {
            new_cap = need;
            break;
        }
        new_cap *= 2;
    }
    if (b->limit != 0 && new_cap > b->limit)
        new_cap = b->limit;
    assert(new_cap >= need);

    /* A fresh block plus one copy of the pending bytes: realloc would copy
     * the dead prefix as well. */
    bigger = buffer_alloc_block(b->pool, new_cap);
    if (bigger == NULL)
        return -ENOMEM;
    if (pending > 0)
        memcpy(bigger, b->data + b->start, pending);
    buffer_release_block(b->pool, b->data, b->cap);
    b->data = bigger;
    b->cap = new_cap;
    b->start = 0;
    b->len = pending;
    return 0;
}

/* Makes sure that at least `n` bytes are free after `len`.  Returns 0,
 * -ENOBUFS (the pending bytes would exceed the limit) or -ENOMEM.  The
 * two cases that happen on every request are here, and the rest is a
 * call to buffer_grow(), so that this part stays a few instructions. */
static inline int buffer_make_room(struct buffer *b, size_t n)
{
    if (b->cap - b->len >= n)
        return 0;                               /* case 1: room at the tail */

    /* The common case of a pooled buffer: it holds no block (it gave its
     * block back when it drained) and the bytes fit in one.  This is case
     * 3 with every answer known in advance: nothing pending to copy, no
     * old block to release, and the new capacity is the pool's block size
     * (unless a smaller limit caps it, which buffer_grow() handles). */
    struct buffer_pool *pool = b->pool;
    if (b->data == NULL && pool != NULL && n <= pool->block_size &&
        (b->limit == 0 || b->limit >= pool->block_size)) {
        assert(b->start == 0 && b->len == 0);
        b->data = buffer_alloc_block(pool, pool->block_size);
        if (b->data == NULL)
            return -ENOMEM;
        b->cap = pool->block_size;
        return 0;
    }
    return buffer_grow(b, n);
}

int buffer_ensure(struct buffer *b, size_t n)
{
    assert(b != NULL);
    return buffer_make_room(b, n);
}

char *buffer_reserve(struct buffer *b, size_t n)
{
    assert(b != NULL);
    if (buffer_make_room(b, n) != 0)
        return NULL;
    /* Even n == 0 must return a usable (non-NULL) pointer. */
    if (b->data == NULL && buffer_make_room(b, 1) != 0)
        return NULL;
    return b->data + b->len;
}

int buffer_append(struct buffer *b, const void *bytes, size_t n)
{
    int err;

    assert(b != NULL);
    assert(bytes != NULL || n == 0);
    if (n == 0)
        return 0;
    err = buffer_make_room(b, n);
    if (err != 0)
        return err;
    memcpy(b->data + b->len, bytes, n);
    b->len += n;
    return 0;
}

int buffer_appendf(struct buffer *b, const char *fmt, ...)
{
    char small[256];
    char *text = small;
    va_list ap;
    int n, err;

    assert(b != NULL && fmt != NULL);

    /* Format into a scratch area first, so a failure (or the limit) never
     * leaves half a line in the buffer: the append is all or nothing. */
    va_start(ap, fmt);
    n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0)
        return -EINVAL;
    if ((size_t)n >= sizeof small) {
        text = malloc((size_t)n + 1);
        if (text == NULL)
            return -ENOMEM;
        va_start(ap, fmt);
        vsnprintf(text, (size_t)n + 1, fmt, ap);
        va_end(ap);
    }
    err = buffer_append(b, text, (size_t)n);
    if (text != small)
        free(text);
    return err;
}

void buffer_clear(struct buffer *b)
{
    assert(b != NULL);
    b->start = 0;
    b->len = 0;
}

/* --- The pool ----------------------------------------------------------- */

void buffer_pool_init(struct buffer_pool *pool, size_t block_size, size_t max_free)
{
    /* A free block must hold the free list's link. */
    assert(pool != NULL && block_size >= sizeof(struct buffer_pool_block));
    pool->block_size = block_size;
    pool->max_free = max_free;
    pool->free_list = NULL;
    pool->free_count = 0;
    pool->bytes_lent = 0;
}

void buffer_pool_free(struct buffer_pool *pool)
{
    assert(pool != NULL);
    assert(pool->bytes_lent == 0 && "a buffer still holds a block of this pool");
    while (pool->free_list != NULL) {
        struct buffer_pool_block *block = pool->free_list;
        pool->free_list = block->next;
        free(block);
    }
    pool->free_count = 0;
}
