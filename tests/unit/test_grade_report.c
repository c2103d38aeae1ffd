/*
 * test_grade_report.c — the grader's pure parts: exercise.conf parsing,
 * flags, and the three report formats, on hand-made results.
 *
 * The report tests feed output that a misbehaving submission could print
 * (invalid UTF-8, control bytes, quotes, '<' and '&') and check that the
 * Gradescope JSON and the JUnit XML stay well-formed: JSON is read back
 * with python3 (json.load), XML with python3's xml.etree, so the check is
 * a real parser and not a pattern.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "grade/grader.h"

/* A temp folder named like an exercise, holding exercise.conf = text. */
static char *make_exercise(const char *text)
{
    static char dir[128];
    char base[] = "/tmp/test_grade_XXXXXX";
    assert_non_null(mkdtemp(base));
    snprintf(dir, sizeof dir, "%s/07-sample", base);
    assert_int_equal(mkdir(dir, 0755), 0);
    char path[160];
    snprintf(path, sizeof path, "%s/exercise.conf", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return dir;
}

static void remove_exercise(const char *dir)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf '%.*s'", (int)(strrchr(dir, '/') - dir), dir);
    assert_int_equal(system(cmd), 0);
}

static void test_conf_parsed(void **state)
{
    (void)state;
    char *dir = make_exercise("# a comment\ntitle = Sample   # trailing comment\n"
                              "kind = module\nsubmit = a.c  b.c\n");
    struct grader_exercise ex;
    char err[256] = "";
    assert_int_equal(grader_read_exercise(dir, &ex, err, sizeof err), 0);
    assert_string_equal(ex.number, "07");
    assert_string_equal(ex.name, "07-sample");
    assert_string_equal(ex.title, "Sample");
    assert_string_equal(ex.kind, "module");
    assert_int_equal(ex.submit_count, 2);
    assert_string_equal(ex.submit[0], "a.c");
    assert_string_equal(ex.submit[1], "b.c");
    remove_exercise(dir);
}

/* Each bad conf is refused with a message naming the problem. */
static void test_conf_refused(void **state)
{
    (void)state;
    static const struct { const char *text, *says; } cases[] = {
        { "title = x\nsubmit = a.c\nkidn = server\n", "unknown key 'kidn'" },
        { "title = x\nkind = daemon\nsubmit = a.c\n", "kind is server or module" },
        { "title = x\nsubmit = ../escape.c\n", "plain file name" },
        { "title = x\n", "no 'submit =' line" },
        { "just words\n", "expected 'key = value'" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *dir = make_exercise(cases[i].text);
        struct grader_exercise ex;
        char err[256] = "";
        assert_int_not_equal(grader_read_exercise(dir, &ex, err, sizeof err), 0);
        if (strstr(err, cases[i].says) == NULL)
            fail_msg("conf %zu: message '%s' does not say '%s'", i, err, cases[i].says);
        remove_exercise(dir);
    }
}

static void test_flags(void **state)
{
    (void)state;
    assert_true(grader_has_flag("core,timing", "timing"));
    assert_true(grader_has_flag("core", "core"));
    assert_false(grader_has_flag("core,timing", "tim"));
    assert_false(grader_has_flag("", "core"));
    assert_false(grader_has_flag(NULL, "core"));
}

/* Two exercises: one graded with a pass, a failure full of hostile
 * bytes and a kept test; one not graded. */
static void fill_results(struct grader_results *r, struct grader_exercise_result ex[2],
                         struct grader_test_result t[3])
{
    memset(r, 0, sizeof *r);
    memset(ex, 0, 2 * sizeof *ex);
    memset(t, 0, 3 * sizeof *t);
    snprintf(ex[0].exercise.number, sizeof ex[0].exercise.number, "03");
    snprintf(ex[0].exercise.name, sizeof ex[0].exercise.name, "03-nonblocking");
    snprintf(ex[0].exercise.title, sizeof ex[0].exercise.title, "Non-blocking <I/O> & \"more\"");
    ex[0].graded = true;
    snprintf(t[0].name, sizeof t[0].name, "small_request");
    snprintf(t[0].description, sizeof t[0].description, "a small request");
    t[0].points = t[0].score = 2;
    t[0].status = GRADER_PASSED;
    t[0].core = true;
    snprintf(t[1].name, sizeof t[1].name, "garbage");
    snprintf(t[1].description, sizeof t[1].description, "prints <garbage> & \"quotes\"");
    t[1].points = 3;
    t[1].status = GRADER_FAILED;
    t[1].output = strdup("bad utf-8 \xff\xfe, control \x01\x1b[31m, quote \" back\\slash\n"
                         "ok utf-8: \xc3\xa9\xe2\x82\xac, truncated \xe2\x82");
    snprintf(t[2].name, sizeof t[2].name, "kept_one");
    snprintf(t[2].description, sizeof t[2].description, "kept from students");
    t[2].points = t[2].score = 1;
    t[2].status = GRADER_PASSED;
    t[2].kept = true;
    ex[0].tests = t;
    ex[0].test_count = 3;
    ex[0].score = 3;
    ex[0].max_score = 6;
    snprintf(ex[1].exercise.number, sizeof ex[1].exercise.number, "04");
    snprintf(ex[1].exercise.name, sizeof ex[1].exercise.name, "04-loop");
    ex[1].message = strdup("not graded: your code does not build");
    r->exercises = ex;
    r->count = 2;
    r->score = 3;
    r->max_score = 6;
    r->seconds = 1.5;
}

/* Fills the sample results, writes them with `report` to a file and runs
 * a python3 script on it; returns the script's exit status. */
static int python_check(int (*report)(const struct grader_results *, FILE *), const char *script)
{
    struct grader_results r;
    struct grader_exercise_result ex[2];
    struct grader_test_result t[3];
    fill_results(&r, ex, t);
    char path[] = "/tmp/test_grade_report_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    assert_int_equal(report(&r, f), 0);
    fclose(f);
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "python3 -c '%s' %s", script, path);
    int status = system(cmd);
    unlink(path);
    free(t[1].output);
    free(ex[1].message);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void test_gradescope_json(void **state)
{
    (void)state;
    const char *script =
        "import json,sys\n"
        "r=json.load(open(sys.argv[1],encoding=\"utf-8\"))\n"
        "assert r[\"score\"]==3 and \"execution_time\" in r and \"output\" in r\n"
        "t=r[\"tests\"]\n"
        "assert len(t)==4, len(t)\n"
        "assert t[0][\"name\"]==\"03 small_request: a small request\" and t[0][\"status\"]==\"passed\"\n"
        "assert t[0][\"tags\"]==[\"core\"] and t[0][\"number\"]==\"3.1\"\n"
        "assert t[1][\"status\"]==\"failed\" and t[1][\"score\"]==0 and t[1][\"max_score\"]==3\n"
        "assert \"\\ufffd\" in t[1][\"output\"] and \"\\u00e9\\u20ac\" in t[1][\"output\"]\n"
        "assert t[2][\"visibility\"]==\"after_due_date\" and t[0][\"visibility\"]==\"visible\"\n"
        "assert \"does not build\" in t[3][\"output\"] and t[3][\"max_score\"]==0\n";
    assert_int_equal(python_check(grader_report_gradescope, script), 0);
}

static void test_junit_xml(void **state)
{
    (void)state;
    const char *script =
        "import sys, xml.etree.ElementTree as ET\n"
        "root=ET.parse(sys.argv[1]).getroot()\n"
        "assert root.tag==\"testsuites\" and root.get(\"failures\")==\"1\"\n"
        "suite=root[0]\n"
        "assert suite.get(\"name\")==\"03-nonblocking\"\n"
        "cases=list(suite)\n"
        "assert [c.get(\"classname\") for c in cases]==[\"03-nonblocking\"]*3\n"
        "assert cases[1].find(\"failure\") is not None and cases[0].find(\"failure\") is None\n"
        "assert \"<garbage>\" in cases[1].find(\"failure\").get(\"message\")\n";
    assert_int_equal(python_check(grader_report_junit, script), 0);
}

static void test_text_table(void **state)
{
    (void)state;
    struct grader_results r;
    struct grader_exercise_result ex[2];
    struct grader_test_result t[3];
    fill_results(&r, ex, t);
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    grader_report_text(&r, f, false);
    fclose(f);
    assert_non_null(strstr(text, "  PASS  2/2  small_request"));
    assert_non_null(strstr(text, "  FAIL  0/3  garbage"));
    assert_non_null(strstr(text, "        | bad utf-8"));
    assert_non_null(strstr(text, "kept from students [kept]"));
    assert_non_null(strstr(text, "not graded: your code does not build"));
    assert_non_null(strstr(text, "total 3/6"));
    free(text);
    free(t[1].output);
    free(ex[1].message);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_conf_parsed),
        cmocka_unit_test(test_conf_refused),
        cmocka_unit_test(test_flags),
        cmocka_unit_test(test_gradescope_json),
        cmocka_unit_test(test_junit_xml),
        cmocka_unit_test(test_text_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
