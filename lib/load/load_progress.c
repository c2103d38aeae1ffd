/*
 * load_progress.c — the progress line (see the header).  Formatting is
 * a pure function so the unit test can check it; printing only decides
 * between "redraw in place" and "append a line".
 */
#include "load/load_progress.h"

#include <inttypes.h>
#include <unistd.h>

static const char *phase_name(enum load_phase phase)
{
    switch (phase) {
    case LOAD_PHASE_WARMUP:  return "warm-up";
    case LOAD_PHASE_MEASURE: return "measure";
    default:                 return "done";
    }
}

void load_progress_format(const struct load_progress *p, char *out, size_t out_len)
{
    if (p->no_read) {
        /* No replies to count: what matters is whether the server still
         * takes requests from clients that never read. */
        snprintf(out, out_len, "%-7s %5.1fs/%.1fs  %8.0f sent/s (replies never read)  "
                 "errors %" PRIu64 "  open %u",
                 phase_name(p->phase), (double)p->elapsed_ns / 1e9, (double)p->total_ns / 1e9,
                 p->recent_sent_per_sec, p->errors, p->open_connections);
        return;
    }
    snprintf(out, out_len, "%-7s %5.1fs/%.1fs  %8.0f req/s  errors %" PRIu64 "  open %u",
             phase_name(p->phase), (double)p->elapsed_ns / 1e9, (double)p->total_ns / 1e9,
             p->recent_rps, p->errors, p->open_connections);
}

void load_progress_printer_init(struct load_progress_printer *pp, FILE *out)
{
    pp->out = out;
    pp->tty = isatty(fileno(out)) == 1;
    pp->dirty = false;
}

unsigned load_progress_interval_ms(const struct load_progress_printer *pp)
{
    return pp->tty ? 250 : 1000;
}

void load_progress_print(const struct load_progress *p, void *printer)
{
    struct load_progress_printer *pp = printer;
    char line[160];

    if (p->phase == LOAD_PHASE_DONE)
        return;   /* the result follows; no need for a last line */
    load_progress_format(p, line, sizeof line);
    if (pp->tty) {
        /* Back to column 0, erase the old line, draw the new one. */
        fprintf(pp->out, "\r\033[K%s", line);
        pp->dirty = true;
    } else {
        fprintf(pp->out, "%s\n", line);
    }
    fflush(pp->out);
}

void load_progress_finish(struct load_progress_printer *pp)
{
    if (pp->tty && pp->dirty) {
        fputs("\r\033[K", pp->out);
        fflush(pp->out);
    }
    pp->dirty = false;
}
