/*
 * load_progress.h — the one line `evlab load` shows while it runs.
 *
 * On a terminal the line is redrawn in place ("\r" + erase to end of
 * line) four times a second; when output is a file or a pipe, a plain
 * line is printed once a second instead, so logs stay readable and
 * contain no control characters.  The line goes to stderr so that
 * stdout carries only the result (and `--json` stays parseable).
 *
 * Ownership: the caller owns struct load_progress_printer.
 */
#ifndef EVLAB_LOAD_PROGRESS_H
#define EVLAB_LOAD_PROGRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "load/load_run.h"

/* "measure  3.2s/11.0s  12345 req/s  errors 0  open 10" (no newline). */
void load_progress_format(const struct load_progress *p, char *out, size_t out_len);

struct load_progress_printer {
    FILE *out;
    bool tty;         /* redraw in place */
    bool dirty;       /* a line is on screen and must be cleared */
};

void load_progress_printer_init(struct load_progress_printer *pp, FILE *out);

/* The progress interval that suits the printer (250 ms / 1000 ms). */
unsigned load_progress_interval_ms(const struct load_progress_printer *pp);

/* A load_progress_cb: pass the printer as its data. */
void load_progress_print(const struct load_progress *p, void *printer);

/* Erases the in-place line so the result starts on a clean line. */
void load_progress_finish(struct load_progress_printer *pp);

#endif
