/*
 * load_report.c — print a load result as text or JSON (see the header for
 * every JSON field).
 *
 * Design: both printers read the same struct load_result and compute
 * nothing but percentiles, so the text and the JSON can never disagree.
 * The JSON is written by hand — it is one flat object and a short array —
 * with the one escaping rule that matters here: a path may contain a
 * quote or a backslash.
 */
#include "load/load_report.h"
#include "common/json.h"

#include <inttypes.h>

void load_format_ns(uint64_t ns, char *out, size_t out_len)
{
    double v = (double)ns;

    if (ns < 1000)
        snprintf(out, out_len, "%" PRIu64 "ns", ns);
    else if (ns < 1000000)
        snprintf(out, out_len, "%.*fus", v < 1e4 ? 2 : v < 1e5 ? 1 : 0, v / 1e3);
    else if (ns < 1000000000)
        snprintf(out, out_len, "%.*fms", v < 1e7 ? 2 : v < 1e8 ? 1 : 0, v / 1e6);
    else
        snprintf(out, out_len, "%.2fs", v / 1e9);
}

const char *load_mode_name(const struct load_config *cfg)
{
    if (cfg->idle)
        return "idle";
    return cfg->mode == LOAD_OPEN ? "open" : "closed";
}

static void target_format(const struct load_config *cfg, char *out, size_t len)
{
    bool v6 = false;
    for (const char *p = cfg->host; *p; p++)
        if (*p == ':')
            v6 = true;
    snprintf(out, len, "%s%s%s:%d", v6 ? "[" : "", cfg->host, v6 ? "]" : "", cfg->port);
}

void load_report_text(FILE *out, const struct load_config *cfg, const struct load_result *r)
{
    static const double pct[] = { 50, 90, 99, 99.9 };
    static const char *const pct_names[] = { "p50", "p90", "p99", "p99.9" };
    char target[300], mix[512], a[32];

    target_format(cfg, target, sizeof target);
    load_mix_format(&cfg->mix, mix, sizeof mix);
    fprintf(out, "target      %s  mix %s\n", target, mix);
    if (cfg->mode == LOAD_OPEN)
        fprintf(out, "mode        open loop, %" PRIu64 " req/s over %u connections (pipeline %u)\n",
                cfg->rate, cfg->connections, cfg->pipeline);
    else
        fprintf(out, "mode        %s, %u connections, pipeline %u\n",
                cfg->idle ? "idle (one request each, then hold)" : "closed loop",
                cfg->connections, cfg->pipeline);
    fprintf(out, "measured    %.2fs (after %.2fs warm-up)%s\n", (double)r->elapsed_ns / 1e9,
            (double)cfg->warmup_ns / 1e9, r->interrupted ? "  [interrupted]" : "");
    fprintf(out, "requests    %" PRIu64 "  (%.1f req/s)\n", r->requests, r->requests_per_sec);

    fprintf(out, "latency    ");
    for (size_t i = 0; i < sizeof pct / sizeof pct[0]; i++) {
        load_format_ns(histogram_percentile(&r->latency, pct[i]), a, sizeof a);
        fprintf(out, " %s %s ", pct_names[i], a);
    }
    load_format_ns(histogram_max(&r->latency), a, sizeof a);
    fprintf(out, " max %s\n", a);
    fprintf(out, "            (from %s; log-linear histogram, each value within %.4g%%)\n",
            cfg->mode == LOAD_OPEN ? "each request's intended send time" : "each request's send",
            HIST_RELATIVE_ERROR * 100);

    fprintf(out, "errors      %" PRIu64, r->errors_total);
    if (r->errors_total > 0) {
        const char *sep = "  (";
        for (int k = 0; k < LOAD_ERR_COUNT; k++) {
            if (r->errors[k] == 0)
                continue;
            fprintf(out, "%s%s %" PRIu64, sep, load_error_label((enum load_error_kind)k), r->errors[k]);
            sep = ", ";
        }
        fputc(')', out);
    }
    fputc('\n', out);
    if (r->status_classes[4] + r->status_classes[5] + r->status_classes[0] > 0)
        fprintf(out, "status      2xx %" PRIu64 ", 3xx %" PRIu64 ", 4xx %" PRIu64 ", 5xx %" PRIu64
                ", other %" PRIu64 "\n", r->status_classes[2], r->status_classes[3],
                r->status_classes[4], r->status_classes[5], r->status_classes[0]);
    if (r->unsent > 0)
        fprintf(out, "unsent      %" PRIu64 " requests were due but never sent: the server could "
                "not keep up with %" PRIu64 " req/s (not in the percentiles)\n", r->unsent, cfg->rate);
    /* Only worth a line when something waited longer than any reply we
     * measured: then the percentiles do not describe those requests. */
    if (r->unanswered > 0 && r->unanswered_oldest_ns > histogram_max(&r->latency)) {
        load_format_ns(r->unanswered_oldest_ns, a, sizeof a);
        fprintf(out, "unanswered  %" PRIu64 " requests still had no reply at the end (oldest "
                "waited %s; not in the percentiles)\n", r->unanswered, a);
    }
    if (cfg->mix.count > 1) {
        fprintf(out, "per path   ");
        for (size_t i = 0; i < cfg->mix.count; i++)
            fprintf(out, " %s %" PRIu64 "%s", cfg->mix.entries[i].path, r->mix_requests[i],
                    i + 1 < cfg->mix.count ? "," : "\n");
    }
}

void load_report_json(FILE *out, const struct load_config *cfg, const struct load_result *r)
{
    char target[300];
    const struct histogram *h = &r->latency;

    target_format(cfg, target, sizeof target);
    fprintf(out, "{\"target\": ");
    json_write_string(out, target);
    fprintf(out, ", \"mode\": \"%s\", \"connections\": %u, \"pipeline\": %u, \"rate\": %" PRIu64
            ", \"duration_s\": %.3f, \"warmup_s\": %.3f, \"elapsed_s\": %.3f",
            load_mode_name(cfg), cfg->connections, cfg->pipeline,
            cfg->mode == LOAD_OPEN ? cfg->rate : 0, (double)cfg->duration_ns / 1e9,
            (double)cfg->warmup_ns / 1e9, (double)r->elapsed_ns / 1e9);
    fprintf(out, ", \"requests\": %" PRIu64 ", \"requests_per_sec\": %.1f, \"bytes_read\": %" PRIu64,
            r->requests, r->requests_per_sec, r->bytes_read);
    fprintf(out, ", \"latency_ns\": {\"min\": %" PRIu64 ", \"mean\": %.0f, \"p50\": %" PRIu64
            ", \"p90\": %" PRIu64 ", \"p99\": %" PRIu64 ", \"p99_9\": %" PRIu64 ", \"max\": %" PRIu64 "}",
            histogram_min(h), histogram_mean(h), histogram_percentile(h, 50),
            histogram_percentile(h, 90), histogram_percentile(h, 99),
            histogram_percentile(h, 99.9), histogram_max(h));
    fprintf(out, ", \"latency_from\": \"%s\", \"latency_relative_error\": %.5f",
            cfg->mode == LOAD_OPEN ? "intended" : "send", HIST_RELATIVE_ERROR);
    fprintf(out, ", \"errors\": {\"total\": %" PRIu64, r->errors_total);
    for (int k = 0; k < LOAD_ERR_COUNT; k++)
        fprintf(out, ", \"%s\": %" PRIu64, load_error_key((enum load_error_kind)k), r->errors[k]);
    fprintf(out, "}, \"status\": {\"2xx\": %" PRIu64 ", \"3xx\": %" PRIu64 ", \"4xx\": %" PRIu64
            ", \"5xx\": %" PRIu64 ", \"other\": %" PRIu64 "}",
            r->status_classes[2], r->status_classes[3], r->status_classes[4],
            r->status_classes[5], r->status_classes[0]);
    fprintf(out, ", \"unsent\": %" PRIu64 ", \"unanswered\": %" PRIu64
            ", \"unanswered_oldest_ns\": %" PRIu64 ", \"connects\": %" PRIu64
            ", \"max_open\": %u, \"interrupted\": %s, \"mix\": [",
            r->unsent, r->unanswered, r->unanswered_oldest_ns, r->connects, r->max_open,
            r->interrupted ? "true" : "false");
    for (size_t i = 0; i < cfg->mix.count; i++) {
        fprintf(out, "%s{\"path\": ", i > 0 ? ", " : "");
        json_write_string(out, cfg->mix.entries[i].path);
        fprintf(out, ", \"weight\": %u, \"requests\": %" PRIu64 "}",
                cfg->mix.entries[i].weight, r->mix_requests[i]);
    }
    fprintf(out, "]}\n");
}
