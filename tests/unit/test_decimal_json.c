/*
 * test_decimal_json.c — the two small text helpers every module shares:
 * strict decimal numbers (lib/common/decimal.h) and JSON strings
 * (lib/common/json.h), including the edges where they used to differ
 * from file to file: a sign, a blank, overflow, a control byte, a buffer
 * one byte too short.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/decimal.h"
#include "common/json.h"

static bool parse(const char *text, uint64_t max, uint64_t *out)
{
    return decimal_parse(text, strlen(text), max, out);
}

static void test_decimal(void **state)
{
    uint64_t v = 77;

    (void)state;
    assert_true(parse("0", 10, &v) && v == 0);
    assert_true(parse("65535", 65535, &v) && v == 65535);
    assert_true(parse("18446744073709551615", UINT64_MAX, &v) && v == UINT64_MAX);
    v = 77;
    assert_false(parse("65536", 65535, &v));
    assert_false(parse("18446744073709551616", UINT64_MAX, &v));    /* overflow */
    assert_false(parse("", 10, &v));
    assert_false(parse("+3", 10, &v));
    assert_false(parse("-1", 10, &v));
    assert_false(parse(" 3", 10, &v));
    assert_false(parse("3 ", 10, &v));
    assert_false(parse("1x", 10, &v));
    assert_int_equal(v, 77);                 /* failures leave *out alone */

    /* A prefix stops at the first non-digit; a length bounds it too. */
    assert_int_equal(decimal_parse_prefix("250ms", 5, UINT64_MAX, &v), 3);
    assert_int_equal(v, 250);
    assert_int_equal(decimal_parse_prefix("12345", 2, UINT64_MAX, &v), 2);
    assert_int_equal(v, 12);
    assert_int_equal(decimal_parse_prefix("ms", 2, UINT64_MAX, &v), 0);
}

static void test_json(void **state)
{
    const char *text = "a\"b\\c\nd\x01" "\xc3\xa9";
    const char *want = "\"a\\\"b\\\\c\\u000ad\\u0001\xc3\xa9\"";
    char buf[64], *file_text = NULL;
    size_t file_len = 0;

    (void)state;
    assert_int_equal(json_format_string(buf, sizeof buf, text), strlen(want));
    assert_string_equal(buf, want);

    /* The FILE writer gives the very same bytes. */
    FILE *f = open_memstream(&file_text, &file_len);
    assert_non_null(f);
    json_write_string(f, text);
    fclose(f);
    assert_string_equal(file_text, want);
    free(file_text);

    /* Too short: truncated, NUL-terminated, and the needed length said. */
    size_t need = strlen(want);
    assert_int_equal(json_format_string(buf, need, text), need);
    assert_int_equal(strlen(buf), need - 1);
    assert_int_equal(json_format_string(buf, 0, text), need);
    assert_int_equal(json_format_string(buf, sizeof buf, ""), 2);
    assert_string_equal(buf, "\"\"");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decimal),
        cmocka_unit_test(test_json),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
