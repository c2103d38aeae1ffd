/*
 * bench_output.c — CSV, JSON, Markdown and SVG from a sweep's rows (see
 * the header for the columns).
 *
 * Design: one table of column definitions drives the CSV header and
 * rows, so the two cannot drift apart; JSON uses the same column names
 * as keys.  Every writer opens its file, writes, and checks both
 * ferror() and fclose(): a full disk must be an error, not a short file.
 */
#include "bench/bench_output.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "bench/svg_plot.h"
#include "common/json.h"

int bench_output_mkdir(const char *dir, char *err, size_t err_len)
{
    char path[4096];

    if (snprintf(path, sizeof path, "%s", dir) >= (int)sizeof path) {
        snprintf(err, err_len, "output path too long");
        return -ENAMETOOLONG;
    }
    /* Create each prefix in turn, as mkdir -p does. */
    for (char *p = path + 1; ; p++) {
        if (*p == '/' || *p == '\0') {
            char saved = *p;
            *p = '\0';
            if (mkdir(path, 0755) < 0 && errno != EEXIST) {
                int e = errno;
                snprintf(err, err_len, "cannot create directory '%s': %s", path, strerror(e));
                return -e;
            }
            *p = saved;
            if (saved == '\0')
                break;
        }
    }
    return 0;
}

static FILE *open_out(const char *path, char *err, size_t err_len)
{
    FILE *f = fopen(path, "w");
    if (f == NULL)
        snprintf(err, err_len, "cannot write '%s': %s", path, strerror(errno));
    return f;
}

static int close_out(FILE *f, const char *path, char *err, size_t err_len)
{
    bool bad = ferror(f) != 0;
    if (fclose(f) != 0)
        bad = true;
    if (bad) {
        snprintf(err, err_len, "writing '%s' failed", path);
        return -EIO;
    }
    return 0;
}

static double ms(uint64_t ns)
{
    return (double)ns / 1e6;
}

/* Prints the numeric columns of one row, separated by `sep`; with
 * `keys`, as "name": value pairs (JSON). */
static void row_columns(FILE *f, const struct bench_row *r, const char *sep, bool keys)
{
#define COL(name, fmt, value) \
    fprintf(f, "%s" "%s" fmt, sep, keys ? "\"" name "\": " : "", value)
    COL("requests", "%" PRIu64, r->requests);
    COL("req_per_sec", "%.1f", r->requests_per_sec);
    COL("p50_ms", "%.3f", ms(r->p50_ns));
    COL("p90_ms", "%.3f", ms(r->p90_ns));
    COL("p99_ms", "%.3f", ms(r->p99_ns));
    COL("p999_ms", "%.3f", ms(r->p999_ns));
    COL("max_ms", "%.3f", ms(r->max_ns));
    COL("errors", "%" PRIu64, r->errors_total);
    for (int k = 0; k < LOAD_ERR_COUNT; k++)
        fprintf(f, "%s%s%s%s%" PRIu64, sep, keys ? "\"" : "",
                keys ? load_error_key((enum load_error_kind)k) : "", keys ? "\": " : "",
                r->errors[k]);
    COL("unanswered", "%" PRIu64, r->unanswered);
    COL("unanswered_oldest_ms", "%.3f", ms(r->unanswered_oldest_ns));
    COL("peak_rss_kb", "%" PRIu64, r->peak_rss_kb);
    COL("threads", "%u", r->threads_max);
    COL("cpu_ms", "%" PRIu64, r->cpu_ms);
    COL("voluntary_ctxt", "%" PRIu64, r->voluntary_ctxt);
    COL("involuntary_ctxt", "%" PRIu64, r->involuntary_ctxt);
    COL("server_exit", "%d", r->server_exit);
    COL("server_died", "%d", r->server_died ? 1 : 0);
#undef COL
}

int bench_write_csv(const char *path, const struct bench_row *rows, size_t count,
                    char *err, size_t err_len)
{
    FILE *f = open_out(path, err, err_len);

    if (f == NULL)
        return -EIO;
    fputs("workload,model,connections,requests,req_per_sec,p50_ms,p90_ms,p99_ms,p999_ms,max_ms,errors", f);
    for (int k = 0; k < LOAD_ERR_COUNT; k++)
        fprintf(f, ",%s", load_error_key((enum load_error_kind)k));
    fputs(",unanswered,unanswered_oldest_ms,peak_rss_kb,threads,cpu_ms,voluntary_ctxt,involuntary_ctxt,server_exit,server_died\n", f);
    for (size_t i = 0; i < count; i++) {
        fprintf(f, "%s,%s,%u", rows[i].workload, rows[i].model, rows[i].connections);
        row_columns(f, &rows[i], ",", false);
        fputc('\n', f);
    }
    return close_out(f, path, err, err_len);
}

int bench_write_json(const char *path, const struct bench_config *cfg,
                     const struct bench_row *rows, size_t count, char *err, size_t err_len)
{
    FILE *f = open_out(path, err, err_len);
    struct utsname u;

    if (f == NULL)
        return -EIO;
    if (uname(&u) < 0)
        memset(&u, 0, sizeof u);
    fprintf(f, "{\"machine\": {\"cpus\": %ld, \"kernel\": \"%s\"},\n", sysconf(_SC_NPROCESSORS_ONLN),
            u.release);
    fprintf(f, " \"config\": {\"duration_s\": %.3f, \"warmup_s\": %.3f, \"timeout_s\": %.3f, "
            "\"loop_backend\": \"%s\", \"latency_relative_error\": 0.03125, \"workloads\": [",
            (double)cfg->duration_ns / 1e9, (double)cfg->warmup_ns / 1e9,
            (double)cfg->timeout_ns / 1e9, cfg->loop_backend);
    for (size_t w = 0; w < cfg->workload_count; w++) {
        fprintf(f, "%s{\"name\": \"%s\", \"mix\": ", w ? ", " : "", cfg->workloads[w].name);
        json_write_string(f, cfg->workloads[w].mix_text);
        fputc('}', f);
    }
    fputs("]},\n \"runs\": [\n", f);
    for (size_t i = 0; i < count; i++) {
        fprintf(f, "  {\"workload\": \"%s\", \"model\": \"%s\", \"connections\": %u",
                rows[i].workload, rows[i].model, rows[i].connections);
        row_columns(f, &rows[i], ", ", true);
        fprintf(f, "}%s\n", i + 1 < count ? "," : "");
    }
    fputs(" ]}\n", f);
    return close_out(f, path, err, err_len);
}

int bench_write_markdown(const char *path, const struct bench_row *rows, size_t count,
                         char *err, size_t err_len)
{
    FILE *f = open_out(path, err, err_len);

    if (f == NULL)
        return -EIO;
    fputs("| workload | model | conns | req/s | p50 ms | p99 ms | max ms | errors "
          "| peak RSS MiB | threads | CPU ms | ctxt vol / invol |\n"
          "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n", f);
    for (size_t i = 0; i < count; i++) {
        const struct bench_row *r = &rows[i];
        fprintf(f, "| %s | %s | %u | %.0f | %.3f | %.3f | %.1f | %" PRIu64 " | %.1f | %u | %"
                PRIu64 " | %" PRIu64 " / %" PRIu64 " |\n",
                r->workload, r->model, r->connections, r->requests_per_sec, ms(r->p50_ns),
                ms(r->p99_ns), ms(r->max_ns), r->errors_total, (double)r->peak_rss_kb / 1024,
                r->threads_max, r->cpu_ms, r->voluntary_ctxt, r->involuntary_ctxt);
    }
    return close_out(f, path, err, err_len);
}

const char *bench_model_color(const char *model)
{
    /* Colour-blind-safe pairs, fixed per model so plots compare. */
    if (strcmp(model, "blocking") == 0)
        return "#d55e00";
    if (strcmp(model, "threads") == 0)
        return "#0072b2";
    if (strcmp(model, "loop") == 0)
        return "#009e73";
    return "#555555";
}

int bench_write_svg(const char *path, const struct bench_config *cfg,
                    const struct bench_workload *workload, const struct bench_row *rows,
                    size_t count, char *err, size_t err_len)
{
    struct svg_series tput[BENCH_MAX_MODELS], p99[BENCH_MAX_MODELS];
    double xs[BENCH_MAX_MODELS][BENCH_MAX_LEVELS];
    double ys_tput[BENCH_MAX_MODELS][BENCH_MAX_LEVELS];
    double ys_p99[BENCH_MAX_MODELS][BENCH_MAX_LEVELS];
    bool flagged[BENCH_MAX_MODELS][BENCH_MAX_LEVELS];
    char title[400];

    /* One series per model: its rows of this workload, by connections. */
    for (size_t m = 0; m < cfg->model_count; m++) {
        size_t n = 0;
        for (size_t i = 0; i < count && n < BENCH_MAX_LEVELS; i++) {
            if (strcmp(rows[i].model, cfg->models[m]) != 0 ||
                strcmp(rows[i].workload, workload->name) != 0)
                continue;
            xs[m][n] = rows[i].connections;
            ys_tput[m][n] = rows[i].requests_per_sec;
            /* No reply at all: no latency to draw (0 is left out on a
             * log axis). */
            ys_p99[m][n] = rows[i].requests > 0 ? ms(rows[i].p99_ns) : 0;
            /* Errors, or requests left waiting longer than any measured
             * reply: the percentiles leave those out, so say so. */
            flagged[m][n] = rows[i].errors_total > 0 || rows[i].server_died ||
                            (rows[i].unanswered > 0 && rows[i].unanswered_oldest_ns > rows[i].max_ns);
            n++;
        }
        tput[m] = (struct svg_series){ cfg->models[m], bench_model_color(cfg->models[m]),
                                       n, xs[m], ys_tput[m], flagged[m] };
        p99[m] = (struct svg_series){ cfg->models[m], bench_model_color(cfg->models[m]),
                                      n, xs[m], ys_p99[m], flagged[m] };
    }
    static const char note[] =
        "hollow point: errors or timeouts in that run; its latency leaves them out";
    struct svg_chart charts[2] = {
        { "Throughput", "connections (log scale)", "requests per second", true, false,
          cfg->model_count, tput, note },
        { "p99 latency", "connections (log scale)", "p99 latency, ms (log scale)", true, true,
          cfg->model_count, p99, note },
    };
    snprintf(title, sizeof title, "evlab bench: workload %s (%s), %.0f s per point",
             workload->name, workload->mix_text, (double)cfg->duration_ns / 1e9);

    FILE *f = open_out(path, err, err_len);
    if (f == NULL)
        return -EIO;
    svg_plot_write(f, title, charts, 2);
    return close_out(f, path, err, err_len);
}
