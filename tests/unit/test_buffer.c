/*
 * test_buffer.c — the growable byte buffer: append / peek / consume, the
 * reserve-commit pair used by read(2), geometric growth, the limit that
 * protects the server from a hostile peer, compaction of the consumed
 * prefix, and borrowing blocks from a pool: a drained pooled buffer holds
 * nothing, the pool's bytes_lent counts exactly what buffers hold, and the
 * pool keeps no more free blocks than its limit.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "common/buffer.h"

static void test_empty_buffer(void **state)
{
    struct buffer b;

    (void)state;
    buffer_init(&b, 0);
    assert_int_equal(buffer_pending(&b), 0);
    /* An empty buffer still peeks at something valid (not NULL). */
    assert_non_null(buffer_peek(&b));
    buffer_consume(&b, 0);
    buffer_compact(&b);
    buffer_free(&b);
    buffer_free(&b);            /* freeing twice leaves an empty buffer */
    assert_int_equal(buffer_pending(&b), 0);
}

static void test_append_peek_consume(void **state)
{
    struct buffer b;

    (void)state;
    buffer_init(&b, 0);
    assert_int_equal(buffer_append(&b, "hello ", 6), 0);
    assert_int_equal(buffer_append(&b, "world", 5), 0);
    assert_int_equal(buffer_pending(&b), 11);
    assert_memory_equal(buffer_peek(&b), "hello world", 11);

    /* A partial write: the cursor moves, the rest stays readable. */
    buffer_consume(&b, 6);
    assert_int_equal(buffer_pending(&b), 5);
    assert_memory_equal(buffer_peek(&b), "world", 5);

    /* Draining completely rewinds to the front of the block. */
    buffer_consume(&b, 5);
    assert_int_equal(buffer_pending(&b), 0);
    assert_int_equal(b.start, 0);
    assert_int_equal(b.len, 0);

    assert_int_equal(buffer_append(&b, "x", 1), 0);
    assert_memory_equal(buffer_peek(&b), "x", 1);
    buffer_clear(&b);
    assert_int_equal(buffer_pending(&b), 0);
    buffer_free(&b);
}

static void test_reserve_commit(void **state)
{
    struct buffer b;
    char *dst;

    (void)state;
    buffer_init(&b, 0);
    dst = buffer_reserve(&b, 100);
    assert_non_null(dst);
    assert_true(b.cap - b.len >= 100);
    /* Like read(2): fewer bytes arrived than there was room for. */
    memcpy(dst, "abcdef", 6);
    buffer_commit(&b, 6);
    assert_int_equal(buffer_pending(&b), 6);
    assert_memory_equal(buffer_peek(&b), "abcdef", 6);

    /* Even a reservation of zero bytes on a fresh buffer is usable. */
    buffer_free(&b);
    assert_non_null(buffer_reserve(&b, 0));
    buffer_free(&b);
}

/* Appending one byte at a time must reallocate only O(log n) times. */
static void test_grows_geometrically(void **state)
{
    struct buffer b;
    size_t changes = 0, last_cap = 0;

    (void)state;
    buffer_init(&b, 0);
    for (size_t i = 0; i < 100000; i++) {
        char c = (char)('a' + i % 26);
        assert_int_equal(buffer_append(&b, &c, 1), 0);
        if (b.cap != last_cap) {
            changes++;
            last_cap = b.cap;
        }
    }
    /* 512 doubling to >= 100000 is 9 steps; allow a little slack. */
    assert_true(changes <= 12);
    for (size_t i = 0; i < 100000; i += 997)
        assert_int_equal(buffer_peek(&b)[i], (char)('a' + i % 26));
    buffer_free(&b);
}

static void test_limit_refuses_without_damage(void **state)
{
    struct buffer b;
    char block[1000];

    (void)state;
    memset(block, 'q', sizeof block);
    buffer_init(&b, 1000);
    assert_int_equal(buffer_append(&b, block, 1000), 0);      /* exactly the limit */
    assert_int_equal(buffer_append(&b, "z", 1), -ENOBUFS);    /* one past */
    assert_int_equal(buffer_pending(&b), 1000);
    assert_true(b.cap <= 1000);
    assert_null(buffer_reserve(&b, 1));
    assert_int_equal(buffer_ensure(&b, 1), -ENOBUFS);
    assert_int_equal(buffer_appendf(&b, "%d", 7), -ENOBUFS);
    assert_int_equal(buffer_pending(&b), 1000);

    /* Consuming makes room again: the consumed prefix is reused even
     * though the buffer may not grow. */
    buffer_consume(&b, 600);
    assert_int_equal(buffer_append(&b, "0123456789", 10), 0);
    assert_int_equal(buffer_pending(&b), 410);
    assert_memory_equal(buffer_peek(&b), block, 400);
    assert_memory_equal(buffer_peek(&b) + 400, "0123456789", 10);
    assert_int_equal(buffer_append(&b, block, 590), 0);
    assert_int_equal(buffer_append(&b, block, 1), -ENOBUFS);
    assert_true(b.cap <= 1000);

    /* A single request larger than the whole limit is refused too. */
    buffer_clear(&b);
    assert_int_equal(buffer_ensure(&b, 1001), -ENOBUFS);
    assert_int_equal(buffer_ensure(&b, SIZE_MAX), -ENOBUFS);
    buffer_free(&b);
}

static void test_compact_only_when_cheap(void **state)
{
    struct buffer b;
    char block[100];

    (void)state;
    for (size_t i = 0; i < sizeof block; i++)
        block[i] = (char)i;
    buffer_init(&b, 0);
    assert_int_equal(buffer_append(&b, block, 100), 0);

    /* 10 consumed, 90 pending: moving 90 to reclaim 10 is not cheap. */
    buffer_consume(&b, 10);
    buffer_compact(&b);
    assert_int_equal(b.start, 10);

    /* 60 consumed, 40 pending: now it is. */
    buffer_consume(&b, 50);
    buffer_compact(&b);
    assert_int_equal(b.start, 0);
    assert_int_equal(buffer_pending(&b), 40);
    assert_memory_equal(buffer_peek(&b), block + 60, 40);
    buffer_free(&b);
}

/* A steady stream (append a little, consume a little, about 1000 bytes
 * always pending) must reuse the consumed prefix, not grow forever. */
static void test_fifo_stays_bounded(void **state)
{
    struct buffer b;
    char chunk[100];
    size_t produced = 0, consumed = 0, moves = 0;
    const char *last_data = NULL;

    (void)state;
    buffer_init(&b, 0);
    for (int round = 0; round < 20000; round++) {
        /* A new block means every pending byte was copied; that must
         * happen a few times while growing, not over and over. */
        if (b.data != last_data) {
            moves++;
            last_data = b.data;
        }
        for (size_t i = 0; i < sizeof chunk; i++)
            chunk[i] = (char)(produced + i);
        assert_int_equal(buffer_append(&b, chunk, sizeof chunk), 0);
        produced += sizeof chunk;
        while (buffer_pending(&b) > 1000) {
            /* Check the bytes come out in order, then consume them. */
            assert_int_equal((unsigned char)buffer_peek(&b)[0], (unsigned char)consumed);
            buffer_consume(&b, 37);
            consumed += 37;
        }
    }
    assert_true(b.cap <= 4096);
    assert_true(moves <= 8);
    buffer_free(&b);
}

static void test_appendf(void **state)
{
    struct buffer b;
    char expected[1200];

    (void)state;
    buffer_init(&b, 0);
    assert_int_equal(buffer_appendf(&b, "%s=%d;", "x", 42), 0);
    assert_int_equal(buffer_pending(&b), 5);
    assert_memory_equal(buffer_peek(&b), "x=42;", 5);

    /* Longer than appendf's scratch array on the stack. */
    memset(expected, 'w', 1000);
    assert_int_equal(buffer_appendf(&b, "%.*s", 1000, expected), 0);
    assert_int_equal(buffer_pending(&b), 1005);
    assert_memory_equal(buffer_peek(&b) + 5, expected, 1000);
    buffer_free(&b);

    /* At the limit, nothing at all is appended. */
    buffer_init(&b, 8);
    assert_int_equal(buffer_appendf(&b, "%s", "123456"), 0);
    assert_int_equal(buffer_appendf(&b, "%s", "abc"), -ENOBUFS);
    assert_int_equal(buffer_pending(&b), 6);
    assert_int_equal(buffer_appendf(&b, "%s", "ab"), 0);
    assert_memory_equal(buffer_peek(&b), "123456ab", 8);
    buffer_free(&b);
}

/* --- Pooled buffers ------------------------------------------------------ */

enum { BLOCK = 1024 };

/* The life of a connection's buffer: empty -> a block borrowed when bytes
 * arrive -> given back when drained -> the same block lent again. */
static void test_pool_lends_and_takes_back(void **state)
{
    struct buffer_pool pool;
    struct buffer b;

    (void)state;
    buffer_pool_init(&pool, BLOCK, 4);
    buffer_init_pooled(&b, 0, &pool);
    assert_null(b.data);
    assert_int_equal(buffer_pool_bytes_lent(&pool), 0);

    assert_int_equal(buffer_append(&b, "request", 7), 0);
    assert_int_equal(b.cap, BLOCK);           /* a whole block, not 512 */
    assert_int_equal(buffer_pool_bytes_lent(&pool), BLOCK);
    const char *first_block = b.data;

    /* Still pending: giving back must not lose bytes. */
    buffer_give_back_if_drained(&b);
    assert_non_null(b.data);
    assert_int_equal(buffer_pending(&b), 7);

    buffer_consume(&b, 7);
    buffer_give_back_if_drained(&b);
    assert_null(b.data);
    assert_int_equal(b.cap, 0);
    assert_int_equal(buffer_pool_bytes_lent(&pool), 0);
    assert_int_equal(pool.free_count, 1);

    /* The next bytes get the same block back, without malloc. */
    char *space = buffer_reserve(&b, 100);
    assert_non_null(space);
    assert_ptr_equal(b.data, first_block);
    assert_int_equal(pool.free_count, 0);
    buffer_free(&b);
    assert_int_equal(buffer_pool_bytes_lent(&pool), 0);
    buffer_pool_free(&pool);
}

/* A buffer that outgrows its block: the bigger allocation is counted in
 * bytes_lent, the block goes back to the pool at once, and the big one is
 * returned to malloc (not kept) when the buffer drains. */
static void test_pool_counts_grown_buffers(void **state)
{
    struct buffer_pool pool;
    struct buffer b;
    char big[3 * BLOCK];

    (void)state;
    memset(big, 'x', sizeof big);
    buffer_pool_init(&pool, BLOCK, 4);
    buffer_init_pooled(&b, 0, &pool);
    assert_int_equal(buffer_append(&b, big, 10), 0);
    assert_int_equal(buffer_append(&b, big, sizeof big), 0);
    assert_true(b.cap >= 10 + sizeof big);
    assert_int_equal(buffer_pool_bytes_lent(&pool), b.cap);
    assert_int_equal(pool.free_count, 1);     /* the outgrown block */
    assert_memory_equal(buffer_peek(&b) + 10, big, sizeof big);

    buffer_consume(&b, buffer_pending(&b));
    buffer_give_back_if_drained(&b);
    assert_int_equal(buffer_pool_bytes_lent(&pool), 0);
    assert_int_equal(pool.free_count, 1);
    buffer_pool_free(&pool);
}

/* Many buffers drained at once: the pool keeps max_free blocks and gives
 * the rest back, so a burst does not pin its peak memory for ever. */
static void test_pool_keeps_at_most_max_free(void **state)
{
    enum { BUFFERS = 10, MAX_FREE = 3 };
    struct buffer_pool pool;
    struct buffer b[BUFFERS];

    (void)state;
    buffer_pool_init(&pool, BLOCK, MAX_FREE);
    for (int i = 0; i < BUFFERS; i++) {
        buffer_init_pooled(&b[i], 0, &pool);
        assert_int_equal(buffer_append(&b[i], "x", 1), 0);
    }
    assert_int_equal(buffer_pool_bytes_lent(&pool), BUFFERS * BLOCK);
    for (int i = 0; i < BUFFERS; i++) {
        buffer_clear(&b[i]);
        buffer_give_back_if_drained(&b[i]);
    }
    assert_int_equal(buffer_pool_bytes_lent(&pool), 0);
    assert_int_equal(pool.free_count, MAX_FREE);
    buffer_pool_free(&pool);
    assert_int_equal(pool.free_count, 0);
}

/* A pooled buffer keeps its limit: refusing past it lends nothing. */
static void test_pool_respects_limit(void **state)
{
    struct buffer_pool pool;
    struct buffer b;
    char big[BLOCK];

    (void)state;
    memset(big, 'y', sizeof big);
    buffer_pool_init(&pool, BLOCK, 4);
    buffer_init_pooled(&b, 100, &pool);
    assert_int_equal(buffer_append(&b, big, 101), -ENOBUFS);
    assert_int_equal(buffer_pool_bytes_lent(&pool), 0);
    assert_int_equal(buffer_append(&b, big, 100), 0);
    assert_int_equal(b.cap, 100);             /* never more than the limit */
    assert_int_equal(buffer_pool_bytes_lent(&pool), 100);
    buffer_free(&b);
    assert_int_equal(buffer_pool_bytes_lent(&pool), 0);
    assert_int_equal(pool.free_count, 0);     /* not a block: freed */
    buffer_pool_free(&pool);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty_buffer),
        cmocka_unit_test(test_append_peek_consume),
        cmocka_unit_test(test_reserve_commit),
        cmocka_unit_test(test_grows_geometrically),
        cmocka_unit_test(test_limit_refuses_without_damage),
        cmocka_unit_test(test_compact_only_when_cheap),
        cmocka_unit_test(test_fifo_stays_bounded),
        cmocka_unit_test(test_appendf),
        cmocka_unit_test(test_pool_lends_and_takes_back),
        cmocka_unit_test(test_pool_counts_grown_buffers),
        cmocka_unit_test(test_pool_keeps_at_most_max_free),
        cmocka_unit_test(test_pool_respects_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
