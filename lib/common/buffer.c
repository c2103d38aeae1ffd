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
 */
#include "common/buffer.h"

#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The first allocation.  Small enough that 10,000 idle connections cost
 * little, large enough that a typical request fits without regrowing. */
#define BUFFER_MIN_CAP 512

void buffer_init(struct buffer *b, size_t limit)
{
    assert(b != NULL);
    b->data = NULL;
    b->start = 0;
    b->len = 0;
    b->cap = 0;
    b->limit = limit;
}

void buffer_free(struct buffer *b)
{
    assert(b != NULL);
    free(b->data);
    /* Leave an empty buffer with the same limit, so it may be reused. */
    buffer_init(b, b->limit);
}

size_t buffer_pending(const struct buffer *b)
{
    assert(b != NULL && b->start <= b->len && b->len <= b->cap);
    return b->len - b->start;
}

const char *buffer_peek(const struct buffer *b)
{
    assert(b != NULL);
    /* An empty buffer may have no allocation at all; NULL + 0 is not
     * valid C, so hand back an empty string instead. */
    if (b->data == NULL)
        return "";
    return b->data + b->start;
}

/* Slides the pending bytes to the front, unconditionally. */
static void buffer_move_to_front(struct buffer *b)
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

void buffer_compact(struct buffer *b)
{
    assert(b != NULL);
    /* "Cheap" means the move copies no more bytes than it reclaims. */
    if (b->start > 0 && b->len - b->start <= b->start)
        buffer_move_to_front(b);
}

/* Makes sure that at least `n` bytes are free after `len`.  Returns 0,
 * -ENOBUFS (the pending bytes would exceed the limit) or -ENOMEM. */
static int buffer_make_room(struct buffer *b, size_t n)
{
    size_t pending = b->len - b->start;
    size_t need, new_cap;
    char *bigger;

    if (b->cap - b->len >= n)
        return 0;                               /* case 1: room at the tail */

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
     * again and again to reclaim a few consumed ones. */
    new_cap = b->cap > 0 ? b->cap : BUFFER_MIN_CAP;
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
    bigger = malloc(new_cap);
    if (bigger == NULL)
        return -ENOMEM;
    if (pending > 0)
        memcpy(bigger, b->data + b->start, pending);
    free(b->data);
    b->data = bigger;
    b->cap = new_cap;
    b->start = 0;
    b->len = pending;
    return 0;
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

void buffer_commit(struct buffer *b, size_t n)
{
    assert(b != NULL);
    /* Committing more than was reserved would claim bytes past the block. */
    assert(n <= b->cap - b->len);
    b->len += n;
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

void buffer_consume(struct buffer *b, size_t n)
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

void buffer_clear(struct buffer *b)
{
    assert(b != NULL);
    b->start = 0;
    b->len = 0;
}
