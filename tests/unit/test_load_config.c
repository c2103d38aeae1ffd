/*
 * test_load_config.c — the option syntax of `evlab load`: --mix (valid
 * forms, every error with its message), weighted picking, the target
 * forms, and the request bytes we put on the wire.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "load/load_config.h"

static void test_mix_single_path_defaults_weight_one(void **state)
{
    struct load_mix mix;
    char err[256] = "";

    (void)state;
    assert_int_equal(load_mix_parse("/", &mix, err, sizeof err), 0);
    assert_int_equal(mix.count, 1);
    assert_string_equal(mix.entries[0].path, "/");
    assert_int_equal(mix.entries[0].weight, 1);
    assert_int_equal(mix.total_weight, 1);
}

static void test_mix_weighted_entries(void **state)
{
    struct load_mix mix;
    char err[256] = "", text[256];

    (void)state;
    assert_int_equal(load_mix_parse("/:90,/sleep/100:10", &mix, err, sizeof err), 0);
    assert_int_equal(mix.count, 2);
    assert_string_equal(mix.entries[0].path, "/");
    assert_int_equal(mix.entries[0].weight, 90);
    assert_string_equal(mix.entries[1].path, "/sleep/100");
    assert_int_equal(mix.entries[1].weight, 10);
    assert_int_equal(mix.total_weight, 100);

    /* Queries are part of the path; a missing weight means 1. */
    assert_int_equal(load_mix_parse("/sleep/5?block=1,/cpu/2:3", &mix, err, sizeof err), 0);
    assert_string_equal(mix.entries[0].path, "/sleep/5?block=1");
    assert_int_equal(mix.entries[0].weight, 1);
    assert_int_equal(mix.entries[1].weight, 3);

    /* And it formats back the way it was typed. */
    assert_int_equal(load_mix_parse("/:90,/sleep/100:10", &mix, err, sizeof err), 0);
    load_mix_format(&mix, text, sizeof text);
    assert_string_equal(text, "/:90,/sleep/100:10");
}

/* Each bad mix must be refused with a message that names the problem. */
static void expect_mix_error(const char *text, const char *message_part)
{
    struct load_mix mix;
    char err[256] = "";

    mix.count = 99;   /* must be left alone on error */
    assert_int_equal(load_mix_parse(text, &mix, err, sizeof err), -EINVAL);
    assert_int_equal(mix.count, 99);
    if (strstr(err, message_part) == NULL)
        fail_msg("mix '%s': message '%s' does not mention '%s'", text, err, message_part);
}

static void test_mix_errors(void **state)
{
    char many[512] = "";

    (void)state;
    expect_mix_error("", "empty");
    expect_mix_error("/:90,", "empty entry");
    expect_mix_error(",/", "empty entry");
    expect_mix_error("/:90,,/x:1", "empty entry");
    expect_mix_error("sleep/100:10", "must start with '/'");
    expect_mix_error("/:", "bad weight ''");
    expect_mix_error("/:0", "bad weight '0'");
    expect_mix_error("/:-5", "bad weight '-5'");
    expect_mix_error("/:ten", "bad weight 'ten'");
    expect_mix_error("/:10x", "bad weight '10x'");
    expect_mix_error("/:1000001", "1..1000000");
    expect_mix_error("/:99999999999999999999", "bad weight");
    expect_mix_error("/a b:1", "blank or control");
    expect_mix_error("/a\r\nX: y", "blank or control");
    expect_mix_error("/:1:2", "bad weight '1:2'");
    for (int i = 0; i <= LOAD_MAX_MIX_ENTRIES; i++)
        strcat(many, i == 0 ? "/" : ",/");
    expect_mix_error(many, "more than 16 entries");
}

static void test_mix_pick_follows_weights(void **state)
{
    struct load_mix mix;
    char err[256];
    uint64_t counts[2] = { 0, 0 };
    uint64_t x = 88172645463325252ull;

    (void)state;
    assert_int_equal(load_mix_parse("/:90,/sleep/100:10", &mix, err, sizeof err), 0);
    /* The edges of the random range land on the first and last entry. */
    assert_int_equal(load_mix_pick(&mix, 0), 0);
    assert_int_equal(load_mix_pick(&mix, UINT64_MAX), 1);
    for (int i = 0; i < 100000; i++) {
        x ^= x << 13; x ^= x >> 7; x ^= x << 17;
        counts[load_mix_pick(&mix, x)]++;
    }
    /* 10% +- 1% of 100,000 picks. */
    assert_in_range(counts[1], 9000, 11000);
    assert_int_equal(counts[0] + counts[1], 100000);
}

static void test_target_forms(void **state)
{
    char host[256], path[LOAD_MAX_PATH + 1], err[256];
    int port = 0;

    (void)state;
    assert_int_equal(load_target_split("127.0.0.1:8080", host, sizeof host, &port,
                                       path, sizeof path, err, sizeof err), 0);
    assert_string_equal(host, "127.0.0.1");
    assert_int_equal(port, 8080);
    assert_string_equal(path, "");

    assert_int_equal(load_target_split("9000", host, sizeof host, &port,
                                       path, sizeof path, err, sizeof err), 0);
    assert_string_equal(host, "127.0.0.1");
    assert_int_equal(port, 9000);

    assert_int_equal(load_target_split(":81", host, sizeof host, &port,
                                       path, sizeof path, err, sizeof err), 0);
    assert_string_equal(host, "127.0.0.1");
    assert_int_equal(port, 81);

    assert_int_equal(load_target_split("http://localhost:8080/sleep/10", host, sizeof host,
                                       &port, path, sizeof path, err, sizeof err), 0);
    assert_string_equal(host, "localhost");
    assert_int_equal(port, 8080);
    assert_string_equal(path, "/sleep/10");

    assert_int_equal(load_target_split("[::1]:8080", host, sizeof host, &port,
                                       path, sizeof path, err, sizeof err), 0);
    assert_string_equal(host, "::1");

    /* No port at all: maybe an instrumentation name, no message. */
    assert_int_equal(load_target_split("loop-1234", host, sizeof host, &port,
                                       path, sizeof path, err, sizeof err), -ENOENT);

    /* Bad ports are errors with a message. */
    err[0] = '\0';
    assert_int_equal(load_target_split("127.0.0.1:0", host, sizeof host, &port,
                                       path, sizeof path, err, sizeof err), -EINVAL);
    assert_non_null(strstr(err, "bad port '0'"));
    assert_int_equal(load_target_split("127.0.0.1:70000", host, sizeof host, &port,
                                       path, sizeof path, err, sizeof err), -EINVAL);
    assert_int_equal(load_target_split("127.0.0.1:http", host, sizeof host, &port,
                                       path, sizeof path, err, sizeof err), -EINVAL);
    assert_int_equal(load_target_split("http://localhost/", host, sizeof host, &port,
                                       path, sizeof path, err, sizeof err), -EINVAL);
}

static void test_resolve_and_request(void **state)
{
    struct load_config cfg;
    char err[256], req[LOAD_MAX_REQUEST_BYTES];

    (void)state;
    load_config_defaults(&cfg);
    cfg.port = 8080;
    assert_int_equal(load_target_resolve(&cfg, err, sizeof err), 0);
    assert_int_equal(cfg.addr.ss_family, AF_INET);

    assert_int_equal(load_mix_parse("/:90,/sleep/100:10", &cfg.mix, err, sizeof err), 0);
    int n = load_request_format(&cfg, 1, req, sizeof req);
    const char *want = "GET /sleep/100 HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n";
    assert_int_equal(n, (int)strlen(want));
    assert_string_equal(req, want);
    assert_int_equal(load_request_format(&cfg, 2, req, sizeof req), -EINVAL);
    assert_int_equal(load_request_format(&cfg, 0, req, 10), -ENOBUFS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mix_single_path_defaults_weight_one),
        cmocka_unit_test(test_mix_weighted_entries),
        cmocka_unit_test(test_mix_errors),
        cmocka_unit_test(test_mix_pick_follows_weights),
        cmocka_unit_test(test_target_forms),
        cmocka_unit_test(test_resolve_and_request),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
