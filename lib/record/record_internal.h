/*
 * record_internal.h — PRIVATE to lib/record: the byte-level helpers the
 * writer (record_writer.c) and the reader (record_reader.c) share, so the
 * two sides of the format cannot drift apart.  Not for the rest of the
 * program: record.h is the public interface, FORMAT.md the byte layout.
 *
 * Encoding appends to a struct buffer (lib/common/buffer.h).  Decoding
 * walks a struct record_cursor over bytes already in memory; a read past
 * the end returns 0 and marks the cursor bad rather than reading beyond,
 * so a damaged payload can never make the reader touch memory it does
 * not own.  Integers are little-endian whatever the machine.
 */
#ifndef EVLAB_RECORD_INTERNAL_H
#define EVLAB_RECORD_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buffer.h"

/* CRC-32 (the IEEE polynomial that zlib and PNG use) of `n` bytes,
 * continuing from `crc` (start with 0). */
uint32_t record_crc32(uint32_t crc, const void *bytes, size_t n);

/* Appenders; each returns 0 or -ENOMEM. */
int record_put_u8(struct buffer *b, uint8_t value);
int record_put_u16(struct buffer *b, uint16_t value);
int record_put_u32(struct buffer *b, uint32_t value);
int record_put_u64(struct buffer *b, uint64_t value);
/* Unsigned LEB128: 7 bits a byte, small numbers in one byte. */
int record_put_varint(struct buffer *b, uint64_t value);
/* Signed values through "zigzag" (0, -1, 1, -2 ... -> 0, 1, 2, 3 ...),
 * so that small negative numbers stay small too. */
int record_put_signed(struct buffer *b, int64_t value);
int record_put_bytes(struct buffer *b, const void *bytes, size_t n);

struct record_cursor {
    const uint8_t *at, *end;
    bool bad;                    /* a read ran past the end */
};

uint8_t  record_get_u8(struct record_cursor *c);
uint16_t record_get_u16(struct record_cursor *c);
uint32_t record_get_u32(struct record_cursor *c);
uint64_t record_get_u64(struct record_cursor *c);
uint64_t record_get_varint(struct record_cursor *c);
int64_t  record_get_signed(struct record_cursor *c);
/* Copies n bytes into out (zeros when the cursor is bad). */
void     record_get_bytes(struct record_cursor *c, void *out, size_t n);

/* Little-endian loads from a byte pointer that is known to be in range. */
uint32_t record_load_u32(const uint8_t *p);

#endif
