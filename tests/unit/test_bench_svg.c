/*
 * test_bench_svg.c — the SVG plotter: nice tick values on linear and log
 * axes, short tick labels, and a rendered file whose structure a test can
 * rely on (one <g class="series"> per series, escaped text, no points
 * that a log axis cannot show).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/svg_plot.h"

static void test_linear_ticks_are_round(void **state)
{
    double ticks[SVG_MAX_TICKS], lo = 0, hi = 123456;

    (void)state;
    size_t n = svg_ticks_linear(&lo, &hi, ticks, SVG_MAX_TICKS);
    /* Steps of 50k cover 0..123456 with 0, 50k, 100k, 150k. */
    assert_int_equal(n, 4);
    assert_true(ticks[0] == 0 && ticks[1] == 50000 && ticks[3] == 150000);
    assert_true(lo == 0 && hi == 150000);

    lo = 3; hi = 3;    /* a flat series still gets an axis */
    n = svg_ticks_linear(&lo, &hi, ticks, SVG_MAX_TICKS);
    assert_true(n >= 2 && hi > lo);
    assert_true(lo <= 3 && hi >= 3);
}

static void test_log_ticks_are_decades(void **state)
{
    double ticks[SVG_MAX_TICKS], lo = 1, hi = 1000;

    (void)state;
    size_t n = svg_ticks_log(&lo, &hi, ticks, SVG_MAX_TICKS);
    assert_int_equal(n, 4);
    assert_true(ticks[0] == 1 && ticks[3] == 1000);

    lo = 0.045; hi = 0.45;
    n = svg_ticks_log(&lo, &hi, ticks, SVG_MAX_TICKS);
    /* Two decades: 2x and 5x ticks too: 0.01 0.02 0.05 0.1 0.2 0.5 1. */
    assert_int_equal(n, 7);
    assert_true(fabs(ticks[1] - 0.02) < 1e-12 && fabs(ticks[5] - 0.5) < 1e-12);
    assert_true(fabs(lo - 0.01) < 1e-12 && fabs(hi - 1) < 1e-12);
}

static void test_number_labels(void **state)
{
    char s[32];

    (void)state;
    svg_format_number(0, s, sizeof s);       assert_string_equal(s, "0");
    svg_format_number(10, s, sizeof s);      assert_string_equal(s, "10");
    svg_format_number(1000, s, sizeof s);    assert_string_equal(s, "1k");
    svg_format_number(25000, s, sizeof s);   assert_string_equal(s, "25k");
    svg_format_number(1500000, s, sizeof s); assert_string_equal(s, "1.5M");
    svg_format_number(0.01, s, sizeof s);    assert_string_equal(s, "0.01");
    svg_format_number(2.5, s, sizeof s);     assert_string_equal(s, "2.5");
}

static size_t count(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *p = hay; (p = strstr(p, needle)) != NULL; p++)
        n++;
    return n;
}

static void test_rendered_file_structure(void **state)
{
    const double x[] = { 1, 10, 100, 1000 };
    const double a[] = { 100, 200, 300, 400 };
    const double b[] = { 5, 0, 7, 9 };   /* 0 cannot be drawn on a log axis */
    const bool flags[] = { false, false, true, false };
    struct svg_series series[2] = {
        { "loop", "#009e73", 4, x, a, NULL },
        { "a<b & c", "#0072b2", 4, x, b, flags },
    };
    struct svg_chart charts[2] = {
        { "Throughput", "connections", "req/s", true, false, 2, series, "hollow: errors" },
        { "p99", "connections", "ms", true, true, 2, series, NULL },
    };
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);

    (void)state;
    assert_non_null(f);
    assert_int_equal(svg_plot_write(f, "title & more", charts, 2), 0);
    fclose(f);

    assert_non_null(strstr(text, "<svg xmlns=\"http://www.w3.org/2000/svg\""));
    assert_non_null(strstr(text, "</svg>\n"));
    assert_int_equal(count(text, "<g class=\"chart\">"), 2);
    /* Two series in each of the two charts. */
    assert_int_equal(count(text, "<g class=\"series\""), 4);
    assert_int_equal(count(text, "data-series=\"loop\""), 2);
    /* Markup characters in names and titles are escaped. */
    assert_non_null(strstr(text, "a&lt;b &amp; c"));
    assert_non_null(strstr(text, "title &amp; more"));
    assert_null(strstr(text, "a<b"));
    /* Markers: 4 + 4 on the linear chart, 4 + 3 on the log chart. */
    assert_int_equal(count(text, "<circle"), 15);
    /* The flagged point is hollow in both charts; the note shows once. */
    assert_int_equal(count(text, "class=\"flagged\""), 2);
    assert_int_equal(count(text, ">hollow: errors</text>"), 1);
    /* Axis labels are there. */
    assert_non_null(strstr(text, ">connections</text>"));
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_linear_ticks_are_round),
        cmocka_unit_test(test_log_ticks_are_decades),
        cmocka_unit_test(test_number_labels),
        cmocka_unit_test(test_rendered_file_structure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
