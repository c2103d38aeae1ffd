/*
 * test_view_text.c — laying panes out: side by side, stacked, zoomed, too
 * small; lines never wider than the pane; sections dropped from the least
 * important when the pane is short, the alert and the numbers kept; and
 * the demo's closing table and load-report parsing.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/routes.h"
#include "demo_load.h"
#include "demo_summary.h"
#include "view_text.h"

static void test_layout_side_by_side_and_stacked(void **state)
{
    (void)state;
    struct view_rect r[3];
    bool side;
    int need_cols, need_rows;
    /* The demo's 160-column terminal: three panes side by side. */
    assert_true(view_layout(160, 42, 3, false, 0, r, &side, &need_cols, &need_rows));
    assert_true(side);
    assert_int_equal(r[0].x, 0);
    assert_int_equal(r[1].x, r[0].w + 1);           /* one column of separator */
    assert_int_equal(r[2].x + r[2].w, 160);
    assert_int_equal(r[1].h, 42);
    /* 70 columns: stacked, full width, heights adding up. */
    assert_true(view_layout(70, 17, 3, false, 0, r, &side, &need_cols, &need_rows));
    assert_false(side);
    assert_int_equal(r[0].w, 70);
    assert_int_equal(r[1].y, r[0].h);
    assert_int_equal(r[2].y + r[2].h, 17);
    /* Too small either way: false, and what would be enough. */
    assert_false(view_layout(30, 10, 3, false, 0, r, &side, &need_cols, &need_rows));
    assert_int_equal(need_cols, VIEW_MIN_PANE_COLS);
    assert_false(view_layout(70, 8, 3, false, 0, r, &side, &need_cols, &need_rows));
    assert_int_equal(need_rows, 3 * VIEW_MIN_PANE_ROWS);
    /* Zoom: only the focused pane, all of the body. */
    assert_true(view_layout(70, 8, 3, true, 1, r, &side, &need_cols, &need_rows));
    assert_int_equal(r[0].w, 0);
    assert_int_equal(r[1].w, 70);
    assert_int_equal(r[1].h, 8);
    assert_int_equal(r[2].w, 0);
}

static void blocked_loop_pane(struct view_pane *pane)
{
    memset(pane, 0, sizeof *pane);
    snprintf(pane->name, sizeof pane->name, "demo-loop-1");
    snprintf(pane->model, sizeof pane->model, "loop");
    pane->kind = VIEW_KIND_LOOP;
    pane->status = VIEW_STATUS_LIVE;
    pane->ready_is_turns = true;
    pane->queued = 4;
    pane->ready = 9;
    pane->alert = VIEW_ALERT_BLOCKED;
    pane->alert_cause = VIEW_CAUSE_HANDLER_RUNNING;
    pane->alert_ns = 230000000;
    pane->alert_route = ROUTE_CPU;
    pane->alert_fd = 7;
    pane->handler_running = true;
    pane->longest_ns = 230000000;
    pane->log_count = 30;
    for (size_t i = 0; i < pane->log_count; i++)
        pane->log[i].event = (struct probe_event_record){
            .kind = PROBE_EV_ACCEPT, .fd = (int32_t)(1000 + i) };
}

static size_t find_line(const struct view_line *lines, size_t n, const char *needle)
{
    for (size_t i = 0; i < n; i++)
        if (strstr(lines[i].text, needle) != NULL)
            return i;
    return SIZE_MAX;
}

static void test_pane_lines_fit_and_prioritise(void **state)
{
    (void)state;
    struct view_pane *pane = malloc(sizeof *pane);
    struct view_line *lines = malloc(200 * sizeof *lines);
    assert_non_null(pane);
    assert_non_null(lines);
    blocked_loop_pane(pane);

    size_t full = view_text_full_height(pane, 52);
    size_t n = view_text_pane(pane, 52, 200, VIEW_CHARSET_UNICODE, lines, 200);
    assert_int_equal(n, full);
    for (size_t i = 0; i < n; i++)
        assert_true(format_cells(lines[i].text) <= 52);
    /* Everything present, the newest log line last. */
    assert_int_equal(find_line(lines, n, "fd 1029"), n - 1);
    assert_int_equal(lines[0].style, VIEW_STYLE_TITLE);
    size_t alert = find_line(lines, n, "LOOP BLOCKED");
    assert_true(alert != SIZE_MAX);
    assert_int_equal(lines[alert].style, VIEW_STYLE_ALERT);

    /* Ten lines: title, the alert and the numbers stay; the log goes. */
    n = view_text_pane(pane, 52, 10, VIEW_CHARSET_ASCII, lines, 200);
    assert_true(n <= 10);
    assert_true(find_line(lines, n, "LOOP BLOCKED") != SIZE_MAX);
    assert_true(find_line(lines, n, "QUEUED 4") != SIZE_MAX);
    assert_true(find_line(lines, n, "READY 9") != SIZE_MAX);
    assert_true(find_line(lines, n, "accept -> fd") == SIZE_MAX);

    /* A little short of full: only the oldest log lines are dropped. */
    n = view_text_pane(pane, 52, full - 5, VIEW_CHARSET_ASCII, lines, 200);
    assert_int_equal(n, full - 5);
    assert_true(find_line(lines, n, "fd 1029") != SIZE_MAX);
    assert_true(find_line(lines, n, "fd 1000") == SIZE_MAX);
    assert_true(find_line(lines, n, "EVENTS") != SIZE_MAX);
    free(pane);
    free(lines);
}

static void test_load_report_parsing(void **state)
{
    (void)state;
    struct demo_client_totals totals = { 0 };
    const char *report =
        "{\"target\": \"127.0.0.1:1\", \"mode\": \"open\", \"requests\": 41, "
        "\"latency_ns\": {\"min\": 1, \"p50\": 819199, \"p99\": 51438084, \"max\": 61438084}, "
        "\"errors\": {\"total\": 2, \"timeout\": 2}, "
        "\"mix\": [{\"path\": \"/\", \"weight\": 95, \"requests\": 40}]}";
    assert_true(demo_load_parse_report(report, &totals));
    assert_true(demo_load_parse_report(report, &totals));
    assert_int_equal(totals.requests, 82);
    assert_int_equal(totals.errors, 4);
    assert_int_equal(totals.worst_p99_ns, 51438084);
    assert_int_equal(totals.max_ns, 61438084);
    assert_int_equal(totals.runs, 2);
    assert_false(demo_load_parse_report("evlab load: connection refused", &totals));
    assert_false(demo_load_parse_report("", &totals));
    assert_int_equal(totals.runs, 2);
}

static void test_summary_table(void **state)
{
    (void)state;
    struct demo_summary_column columns[3];
    memset(columns, 0, sizeof columns);
    const char *models[3] = { "blocking", "threads", "loop" };
    for (int i = 0; i < 3; i++) {
        snprintf(columns[i].model, sizeof columns[i].model, "%s", models[i]);
        columns[i].requests_served = 1000 * (i + 1);
        columns[i].handler_p99_ns = 101000000;
        columns[i].peak_threads = i == 1 ? 23 : 1;
    }
    columns[1].gone = true;
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&text, &size);
    assert_non_null(out);
    demo_summary_print(out, columns, 3, 30.0, "steady, slow backend");
    fclose(out);
    assert_non_null(strstr(text, "30.0 s under load (steady, slow backend)"));
    assert_non_null(strstr(text, "threads (died)"));
    assert_non_null(strstr(text, "peak threads"));
    assert_non_null(strstr(text, "101 ms"));
    assert_non_null(strstr(text, "3.00k"));
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_layout_side_by_side_and_stacked),
        cmocka_unit_test(test_pane_lines_fit_and_prioritise),
        cmocka_unit_test(test_load_report_parsing),
        cmocka_unit_test(test_summary_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
