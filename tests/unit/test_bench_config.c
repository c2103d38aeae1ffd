/*
 * test_bench_config.c — the pure parts of `evlab bench`: the list
 * options (models, connection counts, workloads) and their errors, the
 * /proc parsers, and the sweep progress line.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "bench/bench_config.h"
#include "bench/bench_procstat.h"
#include "bench/bench_run.h"

static void test_defaults(void **state)
{
    struct bench_config cfg;

    (void)state;
    bench_config_defaults(&cfg);
    assert_int_equal(cfg.model_count, 3);
    assert_int_equal(cfg.level_count, 4);
    assert_int_equal(cfg.connections[3], 1000);
    assert_int_equal(cfg.workload_count, 2);
    assert_string_equal(cfg.workloads[1].name, "mix");
    assert_int_equal(cfg.workloads[1].mix.count, 2);
    assert_string_equal(cfg.workloads[1].mix.entries[1].path, "/sleep/50");
    assert_int_equal(bench_run_count(&cfg), 24);
    /* The default sweep must fit in five minutes (make bench). */
    double per_run = (double)(cfg.duration_ns + cfg.warmup_ns) / 1e9 + 0.5;
    assert_true(per_run * (double)bench_run_count(&cfg) < 240);
}

static void test_lists(void **state)
{
    struct bench_config cfg;
    char err[256] = "";

    (void)state;
    bench_config_defaults(&cfg);
    assert_int_equal(bench_parse_models("loop,threads", &cfg, err, sizeof err), 0);
    assert_int_equal(cfg.model_count, 2);
    assert_string_equal(cfg.models[1], "threads");

    assert_int_equal(bench_parse_levels("100,1,10", &cfg, err, sizeof err), 0);
    assert_int_equal(cfg.level_count, 3);
    assert_int_equal(cfg.connections[0], 1);      /* sorted */
    assert_int_equal(cfg.connections[2], 100);

    assert_int_equal(bench_parse_workloads("root;slow=/:50,/sleep/100:50", &cfg, err, sizeof err), 0);
    assert_int_equal(cfg.workload_count, 2);
    assert_string_equal(cfg.workloads[1].name, "slow");
    assert_string_equal(cfg.workloads[1].mix_text, "/:50,/sleep/100:50");
    assert_int_equal(cfg.workloads[1].mix.count, 2);

    assert_int_equal(bench_parse_workloads("cpu,sleep", &cfg, err, sizeof err), 0);
    assert_string_equal(cfg.workloads[0].mix_text, "/cpu/1");
}

static void expect_error(int rc, const char *err, const char *part)
{
    assert_int_equal(rc, -EINVAL);
    if (strstr(err, part) == NULL)
        fail_msg("message '%s' does not mention '%s'", err, part);
}

static void test_list_errors(void **state)
{
    struct bench_config cfg;
    char err[256];

    (void)state;
    bench_config_defaults(&cfg);
    expect_error(bench_parse_models("loop,fibers", &cfg, err, sizeof err), err, "unknown model 'fibers'");
    expect_error(bench_parse_models("loop,loop", &cfg, err, sizeof err), err, "twice");
    expect_error(bench_parse_models("", &cfg, err, sizeof err), err, "unknown model ''");
    expect_error(bench_parse_levels("1,0", &cfg, err, sizeof err), err, "bad connection count '0'");
    expect_error(bench_parse_levels("1,,2", &cfg, err, sizeof err), err, "bad connection count ''");
    expect_error(bench_parse_levels("10,10", &cfg, err, sizeof err), err, "twice");
    expect_error(bench_parse_levels("1x", &cfg, err, sizeof err), err, "'1x'");
    expect_error(bench_parse_workloads("rot", &cfg, err, sizeof err), err, "unknown workload 'rot'");
    expect_error(bench_parse_workloads("a b=/", &cfg, err, sizeof err), err, "letters, digits");
    expect_error(bench_parse_workloads("x=/:0", &cfg, err, sizeof err), err, "workload 'x': bad weight");
    expect_error(bench_parse_workloads("root,root", &cfg, err, sizeof err), err, "twice");
    /* A failed parse leaves the previous value alone. */
    assert_int_equal(cfg.model_count, 3);
    assert_int_equal(cfg.level_count, 4);
}

static void test_proc_parsers(void **state)
{
    static const char status[] =
        "Name:\tevlab\nUmask:\t0022\nState:\tS (sleeping)\nVmPeak:\t  12000 kB\n"
        "VmHWM:\t    4468 kB\nVmRSS:\t    4100 kB\nThreads:\t12\n"
        "voluntary_ctxt_switches:\t150\nnonvoluntary_ctxt_switches:\t7\n";
    /* A command name with a blank and a ')' in it, as an attacker could
     * choose: only the last ')' ends it. */
    static const char stat[] =
        "1234 (ev) lab) S 1 1234 1234 0 -1 4194560 1000 0 0 0 250 130 0 0 20 0 12 0 100 0 0";
    struct bench_proc_sample s;

    (void)state;
    memset(&s, 0, sizeof s);
    assert_int_equal(bench_proc_parse_status(status, &s), 0);
    assert_int_equal(s.vm_hwm_kb, 4468);
    assert_int_equal(s.vm_rss_kb, 4100);
    assert_int_equal(s.threads, 12);
    assert_int_equal(bench_proc_parse_stat(stat, 100, &s), 0);
    assert_int_equal(s.cpu_ms, 3800);            /* (250 + 130) ticks at 100 Hz */
    assert_int_equal(bench_proc_parse_status("Name:\tx\n", &s), -EPROTO);
    assert_int_equal(bench_proc_parse_stat("garbage", 100, &s), -EPROTO);

    /* And our own process reads back sensibly.  A fresh process may not
     * have been switched out yet, so the test causes a switch itself:
     * sleeping blocks the thread, which the kernel counts as a voluntary
     * context switch.  The count must then have grown. */
    struct bench_proc_sample before;
    assert_int_equal(bench_proc_read(getpid(), &before), 0);
    assert_true(before.threads >= 1 && before.vm_hwm_kb > 0 && before.vm_rss_kb > 0);
    assert_int_equal(usleep(2000), 0);
    assert_int_equal(bench_proc_read(getpid(), &s), 0);
    assert_true(s.voluntary_ctxt > before.voluntary_ctxt);
}

static void test_status_line(void **state)
{
    struct bench_status st = {
        .index = 6, .total = 24, .model = "loop", .workload = "mix",
        .connections = 100, .run_fraction = 0.5, .seconds_left = 72,
    };
    char line[200];

    (void)state;
    bench_status_format(&st, line, sizeof line);
    /* 6.5 of 24 runs done: 5 of 20 bar cells. */
    assert_non_null(strstr(line, "[#####---------------]"));
    assert_non_null(strstr(line, " 7/24"));
    assert_non_null(strstr(line, "loop"));
    assert_non_null(strstr(line, "100 conns"));
    assert_non_null(strstr(line, "~1m12s left"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_lists),
        cmocka_unit_test(test_list_errors),
        cmocka_unit_test(test_proc_parsers),
        cmocka_unit_test(test_status_line),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
