/*
 * view_events.h — one recorded event as a short line of words, for the
 * event log of a pane: "accept -> fd 7", "poll() returned 3 ready".
 *
 * This belongs to the text layer (with view_text.h): the view model hands
 * over the raw event records and only the text layer words them.
 *
 * Errors: none; an event kind this view does not know still gets a line.
 * Ownership: the caller supplies the buffer; at most `len` bytes are
 * written, always NUL-terminated.
 */
#ifndef EVLAB_VIEW_EVENTS_H
#define EVLAB_VIEW_EVENTS_H

#include <stddef.h>

#include "probe/probe_reader.h"

void view_event_describe(const struct probe_event_record *event, char *buf, size_t len);

#endif
