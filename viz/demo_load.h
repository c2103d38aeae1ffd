/*
 * demo_load.h — the load `evlab demo` puts on its three servers: one
 * `evlab load` child per server per kind of load, all three servers always
 * under identical load, so the panes differ only by model.
 *
 * Patterns (keys 1-4), or a tour that moves through them on its own:
 *   1 steady          a light stream of GET /
 *   2 slow backend    1 in 10 requests waits 100 ms (/sleep/100): the
 *                     blocking model queues, threads multiply, the loop
 *                     keeps timers
 *   3 CPU burst       1 in 10 requests computes 30 ms (/cpu/30): now the
 *                     loop is blocked too
 *   4 blocking call   3 in 100 requests sleep 200 ms *inside* the handler
 *                     (/sleep/200?block=1): the event-loop pitfall
 * and two extras switched on and off on top of any pattern:
 *   c  CPU-bound work  a few /cpu/40 requests per second
 *   s  slow clients    20 connections per server that send one request
 *                      and then sit idle (evlab load --idle)
 *
 * Each load child runs with --json; when it is stopped (SIGTERM) it prints
 * its report, which is parsed into per-server client totals for the
 * closing summary.
 *
 * Errors: start failures are kept as text for the status line, never
 * fatal: the demo goes on with whatever load did start.
 * Ownership: the caller owns struct demo_load; demo_load_stop() stops
 * every load child it started.
 */
#ifndef EVLAB_DEMO_LOAD_H
#define EVLAB_DEMO_LOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DEMO_SERVERS        3
#define DEMO_PATTERNS       4
#define DEMO_TOUR_SECONDS   15

struct demo_pattern {
    const char *name;
    const char *what;         /* for the status line */
    const char *connections, *rate, *mix;
};

extern const struct demo_pattern demo_patterns[DEMO_PATTERNS];

/* What the load generators measured for one server, summed over every
 * load child that ran against it. */
struct demo_client_totals {
    uint64_t requests, errors;
    uint64_t worst_p99_ns;    /* the worst p99 of any one run */
    uint64_t max_ns;
    unsigned runs;
};

struct demo_load {
    size_t server_count;
    char targets[DEMO_SERVERS][64];     /* "127.0.0.1:PORT" */
    int pattern;                        /* 0..DEMO_PATTERNS-1 */
    bool tour;
    uint64_t pattern_since_ns;
    bool cpu, slow;
    int main_children[DEMO_SERVERS];    /* demo_children indexes, -1 none */
    int cpu_children[DEMO_SERVERS];
    int slow_children[DEMO_SERVERS];
    struct demo_client_totals totals[DEMO_SERVERS];
    char patterns_seen[128];            /* "steady, slow backend" */
    char problem[160];                  /* last start failure, or "" */
};

void demo_load_init(struct demo_load *load, char targets[][64], size_t count);

/* Picks a pattern (and leaves the tour), or the tour (pattern < 0). */
void demo_load_select(struct demo_load *load, int pattern, uint64_t now_ns);
void demo_load_toggle_cpu(struct demo_load *load);
void demo_load_toggle_slow(struct demo_load *load);

/* Advances the tour; notices load children that died on their own. */
void demo_load_tick(struct demo_load *load, uint64_t now_ns);

/* "load: tour 2/4 slow backend - ... | c cpu off | s slow clients off" */
void demo_load_status(const struct demo_load *load, uint64_t now_ns, char *buf, size_t len);

/* Stops every load child and collects its report. */
void demo_load_stop(struct demo_load *load);

/* Parses the fields the summary needs from one `evlab load --json`
 * report; false when it does not look like one. */
bool demo_load_parse_report(const char *json, struct demo_client_totals *into);

#endif
