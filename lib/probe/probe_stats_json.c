/*
 * probe_stats_json.c — the instrumentation as one JSON object: the body
 * of GET /stats on every server, and `evlab stats NAME` from outside.
 *
 *   {"name":"loop-1234","model":"loop","pid":1234,"port":8080,
 *    "uptime_s":12.345,
 *    "gauges":{"connections":3,"threads":1,...},
 *    "handler_us":{"count":99,"p50":12.0,"p90":...,"p99":...,"p99.9":...,"max":...},
 *    "loop_lag_p99_us":0.0}
 *
 * Gauges use the names of probe_gauge_name(); times are microseconds
 * with one decimal, which is the unit people read latencies in.  Both
 * entry points share one renderer, so the server and `evlab stats`
 * can never drift apart.
 *
 * The renderer works straight from the live histograms (relaxed loads
 * only) instead of copying them: a copy is 10 KiB, and GET /stats may be
 * served by a thread with a 64 KiB stack.
 *
 * probe_stats_json() exists even with EVLAB_NO_PROBES, answering that
 * the probes are compiled out, so /stats still works in that build.
 */
#include "probe/probe_layout.h"
#include "probe/probe_writer.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/json.h"

/* An append-only cursor into the caller's buffer that remembers whether
 * anything did not fit, so the render code can stay a straight line. */
struct json_out {
    char *buf;
    size_t len;
    size_t used;
    bool overflow;
};

static void json_printf(struct json_out *out, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void json_printf(struct json_out *out, const char *fmt, ...)
{
    if (out->overflow)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(out->buf + out->used, out->len - out->used, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= out->len - out->used) {
        out->overflow = true;
        return;
    }
    out->used += (size_t)n;
}

/* A JSON string (lib/common/json.h escapes it).  Names are restricted
 * already, but a model is any text a student gave. */
static void json_string(struct json_out *out, const char *text)
{
    if (out->overflow)
        return;
    size_t room = out->len - out->used;
    size_t need = json_format_string(out->buf + out->used, room, text);
    if (need >= room) {
        out->overflow = true;
        return;
    }
    out->used += need;
}

static double ns_to_us(uint64_t ns)
{
    return (double)ns / 1000.0;
}

int probe_json_render(char *buf, size_t buf_len, const char *name, const char *model,
                      int pid, int port, uint64_t uptime_ns, const int64_t *gauges,
                      const struct histogram *handler, const struct histogram *loop_lag)
{
    if (buf_len == 0)
        return -ENOSPC;
    struct json_out out = { .buf = buf, .len = buf_len };

    json_printf(&out, "{\"name\":");
    json_string(&out, name);
    json_printf(&out, ",\"model\":");
    json_string(&out, model);
    json_printf(&out, ",\"pid\":%d,\"port\":%d,\"uptime_s\":%.3f", pid, port,
                (double)uptime_ns / 1e9);

    json_printf(&out, ",\"gauges\":{");
    for (int g = 0; g < PROBE_GAUGE_COUNT; g++)
        json_printf(&out, "%s\"%s\":%lld", g == 0 ? "" : ",",
                    probe_gauge_name((enum probe_gauge)g), (long long)gauges[g]);
    json_printf(&out, "}");

    json_printf(&out,
                ",\"handler_us\":{\"count\":%llu,\"p50\":%.1f,\"p90\":%.1f,\"p99\":%.1f,"
                "\"p99.9\":%.1f,\"max\":%.1f}",
                (unsigned long long)histogram_count(handler),
                ns_to_us(histogram_percentile(handler, 50.0)),
                ns_to_us(histogram_percentile(handler, 90.0)),
                ns_to_us(histogram_percentile(handler, 99.0)),
                ns_to_us(histogram_percentile(handler, 99.9)),
                ns_to_us(histogram_max(handler)));
    json_printf(&out, ",\"loop_lag_p99_us\":%.1f}",
                ns_to_us(histogram_percentile(loop_lag, 99.0)));

    if (out.overflow) {
        buf[0] = '\0';
        return -ENOSPC;
    }
    return (int)out.used;
}

int probe_snapshot_json(const struct probe_info *info, const struct probe_snapshot *snapshot,
                        char *buf, size_t buf_len)
{
    uint64_t uptime = snapshot->taken_ns > info->start_mono_ns
                          ? snapshot->taken_ns - info->start_mono_ns : 0;
    return probe_json_render(buf, buf_len, info->name, info->model, info->pid, info->port,
                             uptime, snapshot->gauges,
                             &snapshot->hists[PROBE_HIST_HANDLER_NS],
                             &snapshot->hists[PROBE_HIST_LOOP_LAG_NS]);
}

/* A fixed answer, for the builds and calls that have no probe. */
static int json_fixed(char *buf, size_t buf_len, const char *text)
{
    size_t n = strlen(text);
    if (n >= buf_len)
        return -ENOSPC;
    memcpy(buf, text, n + 1);
    return (int)n;
}

#ifndef EVLAB_NO_PROBES

int probe_stats_json(const struct probe *probe, char *buf, size_t buf_len)
{
    if (probe == NULL)
        return json_fixed(buf, buf_len, "{\"probes\":\"off\"}");
    const struct probe_segment *seg = probe->seg;
    int64_t gauges[PROBE_GAUGE_COUNT];
    /* On the heap: a histogram is 15 KiB, and the thread models' stacks
     * are deliberately small. */
    struct histogram *handler = malloc(sizeof *handler);
    if (handler == NULL)
        return -ENOMEM;
    probe_segment_totals(seg, gauges, handler);
    int n = probe_json_render(buf, buf_len, seg->header.name, seg->header.model,
                              seg->header.prefix.pid,
                              atomic_load_explicit(&seg->header.port, memory_order_relaxed),
                              clock_now_ns() - seg->header.start_mono_ns, gauges, handler,
                              &seg->hists[PROBE_HIST_LOOP_LAG_NS]);
    free(handler);
    return n;
}

#else

int probe_stats_json(const struct probe *probe, char *buf, size_t buf_len)
{
    (void)probe;
    return json_fixed(buf, buf_len, "{\"probes\":\"compiled out\"}");
}

#endif /* EVLAB_NO_PROBES */
