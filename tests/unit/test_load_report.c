/*
 * test_load_report.c — how a load result is shown: durations in human
 * units, the text summary (percentiles, errors by kind, the histogram's
 * stated error), the --json object (well formed, every documented field,
 * paths escaped) and the progress line.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "load/load_progress.h"
#include "load/load_report.h"

static void test_format_ns(void **state)
{
    char s[32];

    (void)state;
    load_format_ns(850, s, sizeof s);          assert_string_equal(s, "850ns");
    load_format_ns(75800, s, sizeof s);        assert_string_equal(s, "75.8us");
    load_format_ns(1234567, s, sizeof s);      assert_string_equal(s, "1.23ms");
    load_format_ns(486540000, s, sizeof s);    assert_string_equal(s, "487ms");
    load_format_ns(1500000000, s, sizeof s);   assert_string_equal(s, "1.50s");
}

/* A result with known contents: 1000 latencies of 1..1000 us. */
static struct load_result *sample_result(void)
{
    struct load_result *r = calloc(1, sizeof *r);

    histogram_init(&r->latency);
    for (uint64_t i = 1; i <= 1000; i++)
        histogram_record(&r->latency, i * 1000);
    r->requests = 1000;
    r->elapsed_ns = 2000000000ull;
    r->requests_per_sec = 500;
    r->errors[LOAD_ERR_CONNECT_REFUSED] = 3;
    r->errors[LOAD_ERR_SHORT_READ] = 2;
    r->errors_total = 5;
    r->status_classes[2] = 1000;
    r->mix_requests[0] = 900;
    r->mix_requests[1] = 100;
    return r;
}

static void sample_config(struct load_config *cfg)
{
    char err[128];

    load_config_defaults(cfg);
    cfg->port = 8080;
    assert_int_equal(load_mix_parse("/:90,/we\"ird\\path:10", &cfg->mix, err, sizeof err), 0);
}

static char *capture(void (*print)(FILE *, const struct load_config *, const struct load_result *),
                     const struct load_config *cfg, const struct load_result *r)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);

    assert_non_null(f);
    print(f, cfg, r);
    fclose(f);
    return text;
}

static void test_text_summary(void **state)
{
    struct load_config cfg;
    struct load_result *r = sample_result();

    (void)state;
    sample_config(&cfg);
    char *text = capture(load_report_text, &cfg, r);
    assert_non_null(strstr(text, "requests    1000  (500.0 req/s)"));
    /* p50 of 1..1000 us is 500 us, within the histogram's 3.125%. */
    assert_non_null(strstr(text, "p50 5"));
    assert_non_null(strstr(text, "p99.9 "));
    assert_non_null(strstr(text, "max 1.00ms"));
    assert_non_null(strstr(text, "within 3.125%"));
    assert_non_null(strstr(text, "errors      5  (connect refused 3, short read 2)"));
    free(text);
    free(r);
}

/* A small JSON well-formedness check: strings with escapes, balanced
 * brackets, no trailing commas.  Enough to catch a hand-written printer
 * that forgot a comma or an escape. */
static const char *skip_ws(const char *p)
{
    while (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r')
        p++;
    return p;
}

static const char *json_value(const char *p);

static const char *json_string_end(const char *p)
{
    if (*p != '"')
        return NULL;
    for (p++; *p && *p != '"'; p++) {
        if ((unsigned char)*p < 0x20)
            return NULL;
        if (*p == '\\' && *++p == '\0')
            return NULL;
    }
    return *p == '"' ? p + 1 : NULL;
}

static const char *json_value(const char *p)
{
    p = skip_ws(p);
    if (*p == '"')
        return json_string_end(p);
    if (*p == '{' || *p == '[') {
        char close = *p == '{' ? '}' : ']';
        bool object = *p == '{';
        p = skip_ws(p + 1);
        if (*p == close)
            return p + 1;
        for (;;) {
            if (object) {
                p = json_string_end(skip_ws(p));
                if (p == NULL || *(p = skip_ws(p)) != ':')
                    return NULL;
                p++;
            }
            p = json_value(p);
            if (p == NULL)
                return NULL;
            p = skip_ws(p);
            if (*p == close)
                return p + 1;
            if (*p != ',')
                return NULL;
            p++;
        }
    }
    if (strncmp(p, "true", 4) == 0 || strncmp(p, "null", 4) == 0)
        return p + 4;
    if (strncmp(p, "false", 5) == 0)
        return p + 5;
    char *end;
    strtod(p, &end);
    return end == p ? NULL : end;
}

static void test_json_is_valid_with_documented_fields(void **state)
{
    static const char *const fields[] = {
        "\"target\": \"127.0.0.1:8080\"", "\"mode\": \"closed\"", "\"connections\": 10",
        "\"pipeline\": 1", "\"rate\": 0", "\"duration_s\"", "\"warmup_s\"", "\"elapsed_s\": 2.000",
        "\"requests\": 1000", "\"requests_per_sec\": 500.0", "\"bytes_read\"",
        "\"latency_ns\": {\"min\": 1000", "\"p50\"", "\"p90\"", "\"p99\"", "\"p99_9\"",
        "\"max\": 1000000", "\"latency_from\": \"send\"", "\"latency_relative_error\": 0.03125",
        "\"errors\": {\"total\": 5", "\"connect_refused\": 3", "\"connect_timeout\": 0",
        "\"connect_other\": 0", "\"timeout\": 0", "\"reset\": 0", "\"bad_status\": 0",
        "\"short_read\": 2", "\"bad_response\": 0", "\"status\": {\"2xx\": 1000", "\"unsent\": 0",
        "\"unanswered\": 0", "\"unanswered_oldest_ns\": 0", "\"connects\"", "\"max_open\"",
        "\"interrupted\": false", "\"mix\": [{\"path\": \"/\", \"weight\": 90, \"requests\": 900}",
        "\"path\": \"/we\\\"ird\\\\path\"",
    };
    struct load_config cfg;
    struct load_result *r = sample_result();

    (void)state;
    sample_config(&cfg);
    char *text = capture(load_report_json, &cfg, r);
    const char *end = json_value(text);
    if (end == NULL || *skip_ws(end) != '\0')
        fail_msg("not valid JSON: %s", text);
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
        if (strstr(text, fields[i]) == NULL)
            fail_msg("JSON lacks %s: %s", fields[i], text);

    /* Open loop says where its latency comes from. */
    cfg.mode = LOAD_OPEN;
    cfg.rate = 1000;
    free(text);
    text = capture(load_report_json, &cfg, r);
    assert_non_null(strstr(text, "\"mode\": \"open\""));
    assert_non_null(strstr(text, "\"rate\": 1000"));
    assert_non_null(strstr(text, "\"latency_from\": \"intended\""));
    free(text);
    free(r);
}

static void test_progress_line(void **state)
{
    struct load_progress p = {
        .phase = LOAD_PHASE_MEASURE, .elapsed_ns = 3200000000ull, .total_ns = 11000000000ull,
        .requests = 1, .recent_rps = 12345, .errors = 2, .open_connections = 10,
    };
    char line[160];

    (void)state;
    load_progress_format(&p, line, sizeof line);
    assert_non_null(strstr(line, "measure"));
    assert_non_null(strstr(line, "3.2s/11.0s"));
    assert_non_null(strstr(line, "12345 req/s"));
    assert_non_null(strstr(line, "errors 2"));
    assert_non_null(strstr(line, "open 10"));
    assert_null(strchr(line, '\r'));
    assert_null(strchr(line, '\n'));
}

/* --no-read: there are no replies, so the line, the text and the JSON
 * speak of requests sent, and say the replies were never read. */
static void test_no_read_reports_sent(void **state)
{
    struct load_progress p = {
        .phase = LOAD_PHASE_MEASURE, .elapsed_ns = 1000000000ull, .total_ns = 5000000000ull,
        .no_read = true, .sent = 900, .recent_sent_per_sec = 4321, .open_connections = 2,
    };
    char line[160];
    struct load_config cfg;
    struct load_result *r = sample_result();

    (void)state;
    load_progress_format(&p, line, sizeof line);
    assert_non_null(strstr(line, "4321 sent/s"));
    assert_non_null(strstr(line, "never read"));
    assert_non_null(strstr(line, "open 2"));

    sample_config(&cfg);
    cfg.no_read = true;
    r->sent = 777;
    r->bytes_written = 31080;
    r->bytes_read = 0;
    char *text = capture(load_report_text, &cfg, r);
    assert_non_null(strstr(text, "replies never read"));
    assert_non_null(strstr(text, "sent        777 requests"));
    assert_null(strstr(text, "latency "));   /* no reply, no latency to show */
    free(text);
    text = capture(load_report_json, &cfg, r);
    const char *end = json_value(text);
    if (end == NULL || *skip_ws(end) != '\0')
        fail_msg("not valid JSON: %s", text);
    assert_non_null(strstr(text, "\"no_read\": true"));
    assert_non_null(strstr(text, "\"sent\": 777"));
    assert_non_null(strstr(text, "\"bytes_written\": 31080"));
    free(text);
    free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_format_ns),
        cmocka_unit_test(test_text_summary),
        cmocka_unit_test(test_json_is_valid_with_documented_fields),
        cmocka_unit_test(test_progress_line),
        cmocka_unit_test(test_no_read_reports_sent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
