/*
 * record_codec.c — the byte-level helpers of the recording format (see
 * record_internal.h): little-endian integers, variable-length integers
 * and the CRC-32 that guards every record.
 *
 * Design.  Events are most of a recording, and most of an event's fields
 * are small numbers (a kind, a ring, an fd, a few bytes, a time step of a
 * few microseconds), so they are written as variable-length integers:
 * seven bits per byte, the top bit saying "more follows".  A 64-bit
 * timestamp difference of 3 us (3000 ns) then takes two bytes instead of
 * eight.  The CRC uses the usual 256-entry table, built once on first
 * use (pthread_once, since several recorders may run in one process).
 */
#include "record/record_internal.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>

static uint32_t crc_table[256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

static void crc_table_build(void)
{
    /* Reflected CRC-32, polynomial 0xEDB88320. */
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int bit = 0; bit < 8; bit++)
            c = (c & 1u) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        crc_table[i] = c;
    }
}

uint32_t record_crc32(uint32_t crc, const void *bytes, size_t n)
{
    pthread_once(&crc_once, crc_table_build);
    const uint8_t *p = bytes;
    crc = ~crc;
    for (size_t i = 0; i < n; i++)
        crc = crc_table[(crc ^ p[i]) & 0xffu] ^ (crc >> 8);
    return ~crc;
}

/* --- Encoding ----------------------------------------------------------- */

/* Writes `value` as `width` little-endian bytes. */
static int put_le(struct buffer *b, uint64_t value, size_t width)
{
    char *out = buffer_reserve(b, width);
    if (out == NULL)
        return -ENOMEM;
    for (size_t i = 0; i < width; i++)
        out[i] = (char)(uint8_t)(value >> (8 * i));
    buffer_commit(b, width);
    return 0;
}

int record_put_u8(struct buffer *b, uint8_t value) { return put_le(b, value, 1); }
int record_put_u16(struct buffer *b, uint16_t value) { return put_le(b, value, 2); }
int record_put_u32(struct buffer *b, uint32_t value) { return put_le(b, value, 4); }
int record_put_u64(struct buffer *b, uint64_t value) { return put_le(b, value, 8); }

int record_put_varint(struct buffer *b, uint64_t value)
{
    char *out = buffer_reserve(b, 10);       /* 64 bits need at most 10 */
    if (out == NULL)
        return -ENOMEM;
    size_t n = 0;
    while (value >= 0x80) {
        out[n++] = (char)(uint8_t)((value & 0x7f) | 0x80);
        value >>= 7;
    }
    out[n++] = (char)(uint8_t)value;
    buffer_commit(b, n);
    return 0;
}

int record_put_signed(struct buffer *b, int64_t value)
{
    /* Zigzag: the sign goes into the lowest bit. */
    uint64_t zigzag = ((uint64_t)value << 1) ^ (uint64_t)(value >> 63);
    return record_put_varint(b, zigzag);
}

int record_put_bytes(struct buffer *b, const void *bytes, size_t n)
{
    return buffer_append(b, bytes, n);
}

/* --- Decoding ----------------------------------------------------------- */

uint32_t record_load_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get_le(struct record_cursor *c, size_t width)
{
    if (c->bad || (size_t)(c->end - c->at) < width) {
        c->bad = true;
        return 0;
    }
    uint64_t value = 0;
    for (size_t i = 0; i < width; i++)
        value |= (uint64_t)c->at[i] << (8 * i);
    c->at += width;
    return value;
}

uint8_t  record_get_u8(struct record_cursor *c) { return (uint8_t)get_le(c, 1); }
uint16_t record_get_u16(struct record_cursor *c) { return (uint16_t)get_le(c, 2); }
uint32_t record_get_u32(struct record_cursor *c) { return (uint32_t)get_le(c, 4); }
uint64_t record_get_u64(struct record_cursor *c) { return get_le(c, 8); }

uint64_t record_get_varint(struct record_cursor *c)
{
    uint64_t value = 0;
    for (unsigned shift = 0; shift < 64; shift += 7) {
        if (c->bad || c->at >= c->end) {
            c->bad = true;
            return 0;
        }
        uint8_t byte = *c->at++;
        value |= (uint64_t)(byte & 0x7f) << shift;
        if ((byte & 0x80) == 0)
            return value;
    }
    c->bad = true;                /* more than 10 bytes: not ours */
    return 0;
}

int64_t record_get_signed(struct record_cursor *c)
{
    uint64_t zigzag = record_get_varint(c);
    return (int64_t)(zigzag >> 1) ^ -(int64_t)(zigzag & 1);
}

void record_get_bytes(struct record_cursor *c, void *out, size_t n)
{
    if (c->bad || (size_t)(c->end - c->at) < n) {
        c->bad = true;
        memset(out, 0, n);
        return;
    }
    memcpy(out, c->at, n);
    c->at += n;
}
