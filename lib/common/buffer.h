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
 * Errors: 0 or -ENOMEM; a buffer never grows past its `limit` (0 = no
 * limit) and then returns -ENOBUFS, so a hostile peer cannot make us
 * buffer without end.
 * Ownership: the caller owns the struct; buffer_free() releases the bytes.
 */
#ifndef EVLAB_BUFFER_H
#define EVLAB_BUFFER_H

#include <stddef.h>

struct buffer {
    char *data;
    size_t start;
    size_t len;
    size_t cap;
    size_t limit;
};

void   buffer_init(struct buffer *b, size_t limit);
void   buffer_free(struct buffer *b);
size_t buffer_pending(const struct buffer *b);         /* len - start */
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

#endif
