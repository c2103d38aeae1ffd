/*
 * test_load_cli_util.c — the option parsers every subcommand shares
 * (cli/cli_util.c): whole numbers with ranges, durations and sizes, and
 * everything they must refuse.  cli/ is not part of the test libraries,
 * so the one source file is compiled into this test directly.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "cli_util.c"

static void test_u64(void **state)
{
    uint64_t v = 7;

    (void)state;
    assert_true(cli_parse_u64("0", 0, 10, &v) && v == 0);
    assert_true(cli_parse_u64("10", 0, 10, &v) && v == 10);
    assert_true(cli_parse_u64("18446744073709551615", 0, UINT64_MAX, &v) && v == UINT64_MAX);
    v = 7;
    assert_false(cli_parse_u64("11", 0, 10, &v));
    assert_false(cli_parse_u64("0", 1, 10, &v));
    assert_false(cli_parse_u64("", 0, 10, &v));
    assert_false(cli_parse_u64(NULL, 0, 10, &v));
    assert_false(cli_parse_u64("-1", 0, UINT64_MAX, &v));     /* strtoull would wrap it */
    assert_false(cli_parse_u64("+1", 0, 10, &v));
    assert_false(cli_parse_u64(" 1", 0, 10, &v));
    assert_false(cli_parse_u64("1O", 0, 100, &v));
    assert_false(cli_parse_u64("18446744073709551616", 0, UINT64_MAX, &v));
    assert_int_equal(v, 7);                                   /* untouched on failure */
}

static void test_duration(void **state)
{
    uint64_t ns = 0;

    (void)state;
    assert_true(cli_parse_duration("10", &ns) && ns == 10000000000ull);
    assert_true(cli_parse_duration("10s", &ns) && ns == 10000000000ull);
    assert_true(cli_parse_duration("250ms", &ns) && ns == 250000000ull);
    assert_true(cli_parse_duration("5us", &ns) && ns == 5000ull);
    assert_true(cli_parse_duration("2m", &ns) && ns == 120000000000ull);
    assert_true(cli_parse_duration("1h", &ns) && ns == 3600000000000ull);
    assert_true(cli_parse_duration("0", &ns) && ns == 0);
    assert_false(cli_parse_duration("", &ns));
    assert_false(cli_parse_duration("s", &ns));
    assert_false(cli_parse_duration("1.5s", &ns));
    assert_false(cli_parse_duration("10 s", &ns));
    assert_false(cli_parse_duration("10sec", &ns));
    assert_false(cli_parse_duration("-1s", &ns));
    assert_false(cli_parse_duration("99999999999999h", &ns));   /* overflow */
}

static void test_size(void **state)
{
    uint64_t v = 0;

    (void)state;
    assert_true(cli_parse_size("512", &v) && v == 512);
    assert_true(cli_parse_size("64k", &v) && v == 65536);
    assert_true(cli_parse_size("64K", &v) && v == 65536);
    assert_true(cli_parse_size("64kb", &v) && v == 65536);
    assert_true(cli_parse_size("1m", &v) && v == 1048576);
    assert_true(cli_parse_size("2g", &v) && v == 2147483648ull);
    assert_true(cli_parse_size("10b", &v) && v == 10);
    assert_false(cli_parse_size("", &v));
    assert_false(cli_parse_size("k", &v));
    assert_false(cli_parse_size("64x", &v));
    assert_false(cli_parse_size("64kk", &v));
    assert_false(cli_parse_size("10bb", &v));
    assert_false(cli_parse_size("99999999999999999g", &v));
}

static void test_usage_error_returns_2(void **state)
{
    (void)state;
    /* The message goes to stderr; what callers rely on is the status. */
    assert_int_equal(cli_usage_error("test", NULL, "bad value '%s'", "x"), CLI_EXIT_USAGE);
    assert_int_equal(CLI_EXIT_USAGE, 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_u64),
        cmocka_unit_test(test_duration),
        cmocka_unit_test(test_size),
        cmocka_unit_test(test_usage_error_returns_2),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
