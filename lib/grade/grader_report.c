/*
 * grader_report.c — the results as a person reads them (a table with the
 * explanation under each failed test), as Gradescope's results.json, and
 * as JUnit XML for any CI that keeps test reports.
 *
 * Test output is whatever a student's code printed, so it can be any
 * bytes: both machine formats escape it and replace bytes that are not
 * valid UTF-8 with U+FFFD, so one garbage-printing submission cannot make
 * the results file unreadable for the platform.
 */
#include "grade/grader.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Length of the valid UTF-8 sequence at s (1..4), or 0 if invalid. */
static size_t utf8_sequence(const unsigned char *s)
{
    if (s[0] < 0x80)
        return 1;
    size_t n = (s[0] & 0xe0) == 0xc0 ? 2 : (s[0] & 0xf0) == 0xe0 ? 3 : (s[0] & 0xf8) == 0xf0 ? 4 : 0;
    if (n == 0 || (n == 2 && s[0] < 0xc2))
        return 0;
    for (size_t i = 1; i < n; i++)
        if ((s[i] & 0xc0) != 0x80)
            return 0;
    return n;
}

static void json_string(FILE *out, const char *text)
{
    const unsigned char *s = (const unsigned char *)(text ? text : "");
    fputc('"', out);
    while (*s) {
        size_t n = utf8_sequence(s);
        if (n == 0) {
            fputs("\\ufffd", out);
            s++;
            continue;
        }
        if (n > 1) {
            fwrite(s, 1, n, out);
        } else if (*s == '"' || *s == '\\') {
            fprintf(out, "\\%c", *s);
        } else if (*s == '\n') {
            fputs("\\n", out);
        } else if (*s == '\t') {
            fputs("\\t", out);
        } else if (*s < 0x20 || *s == 0x7f) {
            fprintf(out, "\\u%04x", *s);
        } else {
            fputc(*s, out);
        }
        s += n;
    }
    fputc('"', out);
}

/* XML text: the five entities, no control bytes but tab and newline
 * (XML 1.0 forbids them), invalid UTF-8 replaced. */
static void xml_text(FILE *out, const char *text)
{
    const unsigned char *s = (const unsigned char *)(text ? text : "");
    while (*s) {
        size_t n = utf8_sequence(s);
        if (n == 0) {
            fputs("\xef\xbf\xbd", out);
            s++;
            continue;
        }
        if (n > 1)
            fwrite(s, 1, n, out);
        else if (*s == '<')
            fputs("&lt;", out);
        else if (*s == '>')
            fputs("&gt;", out);
        else if (*s == '&')
            fputs("&amp;", out);
        else if (*s == '"')
            fputs("&quot;", out);
        else if (*s == '\'')
            fputs("&apos;", out);
        else if (*s < 0x20 && *s != '\n' && *s != '\t')
            fputc('?', out);
        else
            fputc(*s, out);
        s += n;
    }
}

/* Prints text indented under a test, at most max_lines lines. */
static void print_indented(FILE *out, const char *text, int max_lines)
{
    int lines = 0;
    const char *p = text;
    while (*p && lines < max_lines) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        fprintf(out, "        | %.*s\n", (int)len, p);
        lines++;
        p = nl ? nl + 1 : p + len;
    }
    int more = 0;
    for (; *p; p++)
        more += *p == '\n';
    if (more > 0)
        fprintf(out, "        | [... %d more lines: rerun this test alone to see them all]\n", more);
}

void grader_report_text(const struct grader_results *results, FILE *out, bool color)
{
    const char *green = color ? "\033[32m" : "", *red = color ? "\033[31m" : "";
    const char *bold = color ? "\033[1m" : "", *reset = color ? "\033[0m" : "";
    for (size_t i = 0; i < results->count; i++) {
        const struct grader_exercise_result *res = &results->exercises[i];
        fprintf(out, "\n%s%s%s  %s\n", bold, res->exercise.name, reset, res->exercise.title);
        if (res->message) {
            fputs(red, out);
            print_indented(out, res->message, 40);
            fputs(reset, out);
        }
        size_t width = 4;
        for (size_t k = 0; k < res->test_count; k++)
            if (strlen(res->tests[k].name) > width)
                width = strlen(res->tests[k].name);
        for (size_t k = 0; k < res->test_count; k++) {
            const struct grader_test_result *t = &res->tests[k];
            bool ok = t->status == GRADER_PASSED;
            fprintf(out, "  %s%s%s %2d/%-2d %-*s  %s%s%s\n", ok ? green : red, ok ? "PASS" : "FAIL",
                    reset, t->score, t->points, (int)width, t->name, t->description,
                    t->kept ? " [kept]" : "",
                    t->retried ? (ok ? " (timing: passed on the retry)" : " (timing: failed twice)") : "");
            if (!ok && res->graded && t->output)
                print_indented(out, t->output, 30);
        }
        fprintf(out, "  score %s%d/%d%s  (%.1f s)\n", bold, res->score, res->max_score, reset, res->seconds);
    }
    if (results->count > 1) {
        fprintf(out, "\n%-32s %7s\n", "exercise", "score");
        for (size_t i = 0; i < results->count; i++) {
            const struct grader_exercise_result *res = &results->exercises[i];
            fprintf(out, "%-32s %3d/%-3d%s\n", res->exercise.name, res->score, res->max_score,
                    res->graded ? "" : "  (not graded)");
        }
    }
    fprintf(out, "\n%stotal %d/%d%s  (%.1f s)\n", bold, results->score, results->max_score, reset,
            results->seconds);
}

void grader_report_list(const struct grader_results *results, FILE *out)
{
    for (size_t i = 0; i < results->count; i++) {
        const struct grader_exercise_result *res = &results->exercises[i];
        fprintf(out, "%s\t%d\t%zu\t%s\n", res->exercise.name, res->max_score, res->test_count,
                res->exercise.title);
        for (size_t k = 0; k < res->test_count; k++) {
            const struct grader_test_result *t = &res->tests[k];
            fprintf(out, "\t%s\t%d\t%s\t%s\n", t->name, t->points, t->flags[0] ? t->flags : "-",
                    t->description);
        }
    }
}

int grader_report_gradescope(const struct grader_results *results, FILE *out)
{
    fprintf(out, "{\n  \"score\": %d,\n  \"execution_time\": %.0f,\n", results->score,
            results->seconds + 0.5);
    char summary[512];
    snprintf(summary, sizeof summary, "evlab grade: %d of %d points in %zu exercise%s.",
             results->score, results->max_score, results->count, results->count == 1 ? "" : "s");
    fputs("  \"output\": ", out);
    json_string(out, summary);
    fputs(",\n  \"visibility\": \"visible\",\n  \"stdout_visibility\": \"hidden\",\n  \"tests\": [", out);
    bool first = true;
    for (size_t i = 0; i < results->count; i++) {
        const struct grader_exercise_result *res = &results->exercises[i];
        for (size_t k = 0; k < res->test_count; k++) {
            const struct grader_test_result *t = &res->tests[k];
            char name[768], number[32];
            snprintf(name, sizeof name, "%s %s: %s", res->exercise.number, t->name, t->description);
            snprintf(number, sizeof number, "%d.%zu", atoi(res->exercise.number), k + 1);
            fprintf(out, "%s\n    {\n      \"name\": ", first ? "" : ",");
            json_string(out, name);
            fprintf(out, ",\n      \"number\": \"%s\",\n      \"score\": %d,\n      \"max_score\": %d,\n"
                         "      \"status\": \"%s\",\n      \"visibility\": \"%s\",\n      \"output\": ",
                    number, t->score, t->points, t->status == GRADER_PASSED ? "passed" : "failed",
                    t->kept ? "after_due_date" : "visible");
            json_string(out, t->output ? t->output : "");
            fputs(",\n      \"tags\": [", out);
            const char *tag_names[] = { "core", "timing", "kept" };
            bool tag_values[] = { t->core, t->timing, t->kept };
            bool any = false;
            for (int n = 0; n < 3; n++) {
                if (tag_values[n]) {
                    fprintf(out, "%s\"%s\"", any ? ", " : "", tag_names[n]);
                    any = true;
                }
            }
            fputs("]\n    }", out);
            first = false;
        }
        /* An exercise without tests (broken) still appears, worth nothing. */
        if (res->test_count == 0) {
            fprintf(out, "%s\n    {\n      \"name\": ", first ? "" : ",");
            json_string(out, res->exercise.name);
            fprintf(out, ",\n      \"score\": 0,\n      \"max_score\": 0,\n      \"status\": \"failed\",\n"
                         "      \"visibility\": \"visible\",\n      \"output\": ");
            json_string(out, res->message ? res->message : "no tests");
            fputs("\n    }", out);
            first = false;
        }
    }
    fputs("\n  ]\n}\n", out);
    return ferror(out) ? -EIO : 0;
}

int grader_report_junit(const struct grader_results *results, FILE *out)
{
    int tests = 0, failures = 0;
    for (size_t i = 0; i < results->count; i++)
        for (size_t k = 0; k < results->exercises[i].test_count; k++) {
            tests++;
            failures += results->exercises[i].tests[k].status != GRADER_PASSED;
        }
    fprintf(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                 "<testsuites name=\"evlab grade\" tests=\"%d\" failures=\"%d\" time=\"%.3f\">\n",
            tests, failures, results->seconds);
    for (size_t i = 0; i < results->count; i++) {
        const struct grader_exercise_result *res = &results->exercises[i];
        int f = 0;
        for (size_t k = 0; k < res->test_count; k++)
            f += res->tests[k].status != GRADER_PASSED;
        fputs("  <testsuite name=\"", out);
        xml_text(out, res->exercise.name);
        fprintf(out, "\" tests=\"%zu\" failures=\"%d\" time=\"%.3f\">\n", res->test_count, f, res->seconds);
        for (size_t k = 0; k < res->test_count; k++) {
            const struct grader_test_result *t = &res->tests[k];
            fputs("    <testcase classname=\"", out);
            xml_text(out, res->exercise.name);
            fputs("\" name=\"", out);
            xml_text(out, t->name);
            fprintf(out, "\" time=\"%.3f\">\n", t->seconds);
            if (t->status != GRADER_PASSED) {
                fputs("      <failure message=\"", out);
                xml_text(out, t->description);
                fprintf(out, " (0/%d points)\">", t->points);
                xml_text(out, t->output);
                fputs("</failure>\n", out);
            } else if (t->output && t->output[0]) {
                fputs("      <system-out>", out);
                xml_text(out, t->output);
                fputs("</system-out>\n", out);
            }
            fputs("    </testcase>\n", out);
        }
        fputs("  </testsuite>\n", out);
    }
    fputs("</testsuites>\n", out);
    return ferror(out) ? -EIO : 0;
}
