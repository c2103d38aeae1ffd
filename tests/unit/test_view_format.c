/*
 * test_view_format.c — the view's pure text helpers: units, rounding at
 * unit boundaries, sparkline levels, bars that never hide a rare value,
 * and UTF-8-aware clipping.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "view_format.h"

static void test_duration_units(void **state)
{
    (void)state;
    char buf[32];
    assert_string_equal(format_duration(buf, sizeof buf, 0), "0 ns");
    assert_string_equal(format_duration(buf, sizeof buf, 340), "340 ns");
    assert_string_equal(format_duration(buf, sizeof buf, 12300), "12.3 us");
    assert_string_equal(format_duration(buf, sizeof buf, 12345678), "12.3 ms");
    assert_string_equal(format_duration(buf, sizeof buf, 1234000000), "1.23 s");
    assert_string_equal(format_duration(buf, sizeof buf, 125000000000ull), "2m05s");
    /* Rounding never produces "1000 us": it moves to the next unit. */
    assert_string_equal(format_duration(buf, sizeof buf, 999960), "1.00 ms");
    assert_string_equal(format_duration(buf, sizeof buf, 999), "999 ns");
    assert_string_equal(format_duration(buf, sizeof buf, 1000), "1.00 us");
}

static void test_relative_count_bytes(void **state)
{
    (void)state;
    char buf[32];
    assert_string_equal(format_relative(buf, sizeof buf, 0), "0");
    assert_string_equal(format_relative(buf, sizeof buf, -12300000), "-12.3 ms");
    assert_string_equal(format_relative(buf, sizeof buf, 1500), "+1.50 us");
    assert_string_equal(format_relative(buf, sizeof buf, INT64_MIN)[0] == '-' ? "ok" : "bad",
                        "ok");
    assert_string_equal(format_count(buf, sizeof buf, 999), "999");
    assert_string_equal(format_count(buf, sizeof buf, 12345), "12.3k");
    assert_string_equal(format_count(buf, sizeof buf, 1200000), "1.20M");
    assert_string_equal(format_count(buf, sizeof buf, -5), "-5");
    assert_string_equal(format_bytes(buf, sizeof buf, 512), "512 B");
    assert_string_equal(format_bytes(buf, sizeof buf, 3565158), "3.40 MiB");
}

static void test_truncation_is_safe(void **state)
{
    (void)state;
    char tiny[4];
    format_duration(tiny, sizeof tiny, 12345678);
    assert_int_equal(strlen(tiny), 3);
    /* A Unicode sparkline that does not fit stops at a whole glyph. */
    double values[4] = { 1, 2, 3, 4 };
    char small[8];
    format_sparkline(small, sizeof small, values, 4, 4, 0, VIEW_CHARSET_UNICODE);
    assert_int_equal(strlen(small), 6);       /* two 3-byte glyphs */
    assert_int_equal(format_cells(small), 2);
}

static void test_sparkline_levels(void **state)
{
    (void)state;
    char buf[256];
    double values[] = { 0, 1, 4, 8 };
    format_sparkline(buf, sizeof buf, values, 4, 10, 8, VIEW_CHARSET_ASCII);
    /* Zero is the floor; any positive value is at least level 1; max is
     * the top. */
    assert_string_equal(buf, "_.=#");
    format_sparkline(buf, sizeof buf, values, 4, 10, 8, VIEW_CHARSET_UNICODE);
    assert_int_equal(format_cells(buf), 4);
    assert_memory_equal(buf, "\u2581", 3);
    assert_memory_equal(buf + 9, "\u2588", 3);
    /* Only the newest `width` values are shown. */
    format_sparkline(buf, sizeof buf, values, 4, 2, 8, VIEW_CHARSET_ASCII);
    assert_string_equal(buf, "=#");
    /* max <= 0: scaled to the largest value shown. */
    format_sparkline(buf, sizeof buf, values, 4, 4, 0, VIEW_CHARSET_ASCII);
    assert_string_equal(buf, "_.=#");
}

static void test_bar(void **state)
{
    (void)state;
    char buf[256];
    format_bar(buf, sizeof buf, 0.5, 10, VIEW_CHARSET_ASCII);
    assert_string_equal(buf, "#####     ");
    format_bar(buf, sizeof buf, 0, 4, VIEW_CHARSET_ASCII);
    assert_string_equal(buf, "    ");
    /* A tiny fraction still shows: a rare slow handler must be visible. */
    format_bar(buf, sizeof buf, 0.0001, 10, VIEW_CHARSET_ASCII);
    assert_string_equal(buf, "#         ");
    format_bar(buf, sizeof buf, 0.0001, 10, VIEW_CHARSET_UNICODE);
    assert_int_equal(format_cells(buf), 10);
    assert_memory_equal(buf, "\u258f", 3);
    format_bar(buf, sizeof buf, 2.0, 3, VIEW_CHARSET_ASCII);
    assert_string_equal(buf, "###");
}

static void test_clip_utf8(void **state)
{
    (void)state;
    char buf[64];
    format_clip(buf, sizeof buf, "ab\u2588cd", 3);
    assert_string_equal(buf, "ab\u2588");
    assert_int_equal(format_cells("ab\u2588cd"), 5);
    /* A byte budget that would split the glyph stops before it. */
    char four[5];
    format_clip(four, sizeof four, "ab\u2588cd", 10);
    assert_string_equal(four, "ab");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_duration_units),
        cmocka_unit_test(test_relative_count_bytes),
        cmocka_unit_test(test_truncation_is_safe),
        cmocka_unit_test(test_sparkline_levels),
        cmocka_unit_test(test_bar),
        cmocka_unit_test(test_clip_utf8),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
