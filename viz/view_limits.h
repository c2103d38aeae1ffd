/*
 * view_limits.h — every limit of the live view, in one place, with the
 * reason for each number (the viz/ counterpart of lib/common/limits.h).
 */
#ifndef EVLAB_VIEW_LIMITS_H
#define EVLAB_VIEW_LIMITS_H

/* Servers one `evlab view` can show at once (the demo uses three). */
#define VIEW_MAX_SERVERS        8

/* Events remembered per server for the event log and for step mode.
 * 16,384 events of 32 bytes is 512 KiB per server: at 100,000 events/s
 * that is the last 160 ms, in a classroom demo several seconds. */
#define VIEW_HISTORY_EVENTS     16384

/* How often the view drains the servers' event rings, independent of the
 * refresh rate.  A ring holds PROBE_RING_EVENTS (4096) events; at 100,000
 * events/s on one thread it fills in 41 ms, so we read every 20 ms. */
#define VIEW_DRAIN_INTERVAL_MS  20

/* Events read from one server in one drain, so a flood cannot starve the
 * keyboard; what is left is read at the next drain (or counted as missed). */
#define VIEW_DRAIN_MAX_EVENTS   8192

/* Samples kept for the queued/ready sparklines (one per refresh). */
#define VIEW_SERIES_LEN         120

/* Recent poll() turns kept for the loop's "ready" strip. */
#define VIEW_TURN_STRIP_LEN     64

/* Snapshots of gauges kept so step mode can show the gauges as they were
 * when a recorded event happened (one per refresh: about 12 s at 10 Hz). */
#define VIEW_GAUGE_HISTORY      128

/* Threads listed one per line before the pane collapses them to counts. */
#define VIEW_THREAD_ROWS        12

/* Event log lines a pane can hold. */
#define VIEW_LOG_LINES          40

/* Handler-runtime window for the percentiles: between 5 and 10 seconds. */
#define VIEW_WINDOW_NS          (5ull * 1000000000u)

/* Default budget past which a running handler counts as blocking the loop
 * (evlab view --budget MS). 10 ms is already a visible hiccup for every
 * other client of an event loop. */
#define VIEW_DEFAULT_BUDGET_MS  10

/* Refresh rates `+` and `-` step through, in Hz; default 10. */
#define VIEW_DEFAULT_REFRESH_HZ 10
#define VIEW_MAX_REFRESH_HZ     60

/* The smallest pane worth drawing, and the width below which panes are
 * stacked instead of placed side by side. */
#define VIEW_MIN_PANE_COLS      40
#define VIEW_MIN_PANE_ROWS      4
#define VIEW_SIDE_BY_SIDE_COLS  50

#endif
