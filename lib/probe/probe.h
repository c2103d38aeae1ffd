/*
 * probe.h — the instrumentation layer: the one header any server includes
 * to be watched by `evlab view`, `evlab stats` and `evlab list`.
 *
 * The three evlab models, the exercises' starter code and a student's own
 * server all publish the same way.  This is the whole of a small one
 * (probe_example_serve() in lib/probe/probe_example.c, which the build
 * compiles and tests/unit/test_probe_example.c runs and compares with
 * this text):
 *
 *     struct probe *probe;
 *     rc = probe_create(&probe, &(struct probe_config){
 *         .name = name, .model = "example", .port = port }, NULL, 0);
 *     if (rc < 0)
 *         return rc;
 *     struct probe_thread *me = probe_thread_begin(probe, "main");
 *     for (int served = 0; served < requests; served++) {
 *         struct pollfd pfd = { .fd = listen_fd, .events = POLLIN };
 *         probe_block_begin(me, PROBE_CALL_POLL, listen_fd);
 *         int n = poll(&pfd, 1, wait_ms);
 *         probe_block_end(me, PROBE_CALL_POLL, listen_fd);
 *         probe_emit(me, PROBE_EV_POLL_RETURN, -1, (uint64_t)n, 0);
 *         if (n <= 0)
 *             break;
 *         int fd = accept(listen_fd, NULL, NULL);
 *         if (fd < 0)
 *             continue;
 *         probe_emit(me, PROBE_EV_ACCEPT, fd, 0, 0);
 *         probe_handler_begin(me, fd, ROUTE_ROOT);
 *         answer(fd);
 *         probe_handler_end(me, fd, ROUTE_ROOT);
 *         probe_emit(me, PROBE_EV_CLOSE, fd, 0, 0);
 *         close(fd);
 *     }
 *     probe_thread_end(me);
 *     probe_destroy(probe);
 *
 * Design.  A server owns one named POSIX shared-memory segment,
 * /dev/shm/evlab.NAME, mode 0600.  It holds a header (layout version,
 * model, port, pid, start time), gauges and histograms that writers update
 * with relaxed atomics, and PROBE_MAX_RINGS rings of fixed-size timestamped
 * events.  Each instrumented thread claims one ring for its lifetime, so
 * every ring has exactly one writer and needs no lock.  Readers
 * (probe_reader.h) map the segment read-only; any number may attach.
 *
 * A writer never waits.  It always writes the next slot of its ring,
 * overwriting the oldest event; a reader that falls a whole ring behind
 * learns it was overrun and how many events it missed.  A thread that
 * finds no free ring keeps running: its events are dropped and counted in
 * PROBE_GAUGE_EVENTS_DROPPED — never silently.
 *
 * Every function accepts NULL for its probe or thread and then does
 * nothing, so code can be instrumented unconditionally (the load generator
 * runs the same event loop with probe == NULL).
 *
 * Compiled out.  Building with -DEVLAB_NO_PROBES (make PROBES=0) turns
 * every function here into an empty inline, so the cost of instrumentation
 * itself can be measured.  probe_create() then succeeds with *out = NULL.
 *
 * Errors: functions that can fail return 0 or a negative errno and fill
 * `err` (when not NULL) with a message naming the failing call.
 * Ownership: probe_create() allocates; probe_destroy() unmaps, unlinks the
 * segment and frees.  probe_thread_begin() allocates a small handle that
 * probe_thread_end() frees; end every thread before destroying its probe.
 * Clock: all timestamps are CLOCK_MONOTONIC nanoseconds (clock_now_ns()).
 */
#ifndef EVLAB_PROBE_H
#define EVLAB_PROBE_H

#include <stddef.h>
#include <stdint.h>

#include "histogram.h"

#define PROBE_LAYOUT_VERSION 4   /* 2: client gauges and histogram; 3: buffer bytes;
                                    4: per-ring gauges */
#define PROBE_NAME_MAX       48   /* segment name, without the "evlab." prefix */
#define PROBE_MODEL_MAX      16
#define PROBE_ROLE_MAX       16

/* What happened.  For each kind, what `fd`, `a` and `b` carry. */
enum probe_event_kind {
    PROBE_EV_NONE = 0,
    PROBE_EV_ACCEPT,          /* fd: new connection                        */
    PROBE_EV_READ,            /* fd; a: bytes (0 = peer closed)            */
    PROBE_EV_WRITE,           /* fd; a: bytes                              */
    PROBE_EV_CLOSE,           /* fd                                        */
    PROBE_EV_POLL_ENTER,      /* a: timeout ms (or UINT64_MAX = infinite)  */
    PROBE_EV_POLL_RETURN,     /* a: number of ready events                 */
    PROBE_EV_DISPATCH_BEGIN,  /* fd; a: revents (LOOP_READABLE...)         */
    PROBE_EV_DISPATCH_END,    /* fd; a: revents; b: duration ns            */
    PROBE_EV_HANDLER_BEGIN,   /* fd; a: route (enum route_id)              */
    PROBE_EV_HANDLER_END,     /* fd; a: route; b: duration ns              */
    PROBE_EV_TIMER_FIRE,      /* a: lateness ns (how late it fired)        */
    PROBE_EV_WORK_SUBMIT,     /* fd: connection the work is for            */
    PROBE_EV_WORK_DONE,       /* fd; b: duration ns on the worker          */
    PROBE_EV_THREAD_START,    /* a: thread id (gettid)                     */
    PROBE_EV_THREAD_EXIT,     /* a: thread id                              */
    PROBE_EV_BLOCK_BEGIN,     /* fd (or -1); a: enum probe_call            */
    PROBE_EV_BLOCK_END,       /* fd (or -1); a: enum probe_call; b: ns     */
    PROBE_EV_REJECT,          /* fd; a: HTTP status sent before closing    */
    /* Written by probe_handlers_ran() only, and never returned by a
     * reader: probe_reader_events() hands it out as the HANDLER_BEGIN /
     * HANDLER_END pairs it stands for.  fd; a: route | count << 16;
     * b: each handler's share in ns; time: when the first began. */
    PROBE_EV_HANDLER_RUN,
    PROBE_EV_KIND_COUNT
};

/* Which call a thread is blocked in (PROBE_EV_BLOCK_*, thread state). */
enum probe_call {
    PROBE_CALL_NONE = 0,
    PROBE_CALL_ACCEPT,
    PROBE_CALL_READ,
    PROBE_CALL_WRITE,
    PROBE_CALL_POLL,
    PROBE_CALL_SLEEP,
    PROBE_CALL_WORK_WAIT,     /* a worker waiting for its next job */
    PROBE_CALL_LOCK,
    PROBE_CALL_COUNT
};

/* Gauges: signed 64-bit values, set or added to by writers. */
enum probe_gauge {
    PROBE_GAUGE_CONNECTIONS = 0,   /* open client connections                 */
    PROBE_GAUGE_THREADS,           /* threads of the server (sampler excluded) */
    PROBE_GAUGE_QUEUED,            /* per model: docs/MODELS.md               */
    PROBE_GAUGE_READY,             /* per model: docs/MODELS.md               */
    PROBE_GAUGE_HANDLERS_RUNNING,
    PROBE_GAUGE_REQUESTS_DONE,
    PROBE_GAUGE_EVENTS_DROPPED,
    /* What "queued" is made of; each model fills the parts it has. */
    PROBE_GAUGE_Q_ACCEPT_BACKLOG,  /* kernel accept queue (TCP_INFO)          */
    PROBE_GAUGE_Q_PIPELINED,       /* requests waiting behind the one served  */
    PROBE_GAUGE_Q_UNDISPATCHED,    /* loop: ready events not yet dispatched   */
    PROBE_GAUGE_Q_TIMERS_EXPIRED,  /* loop: expired timers not yet run        */
    PROBE_GAUGE_Q_COMPLETIONS,     /* loop: worker completions waiting        */
    PROBE_GAUGE_Q_RUNNABLE,        /* threads: runnable but not running       */
    /* Loop and server details. */
    PROBE_GAUGE_LOOP_TURNS,
    PROBE_GAUGE_LOOP_BUSY_NS,      /* time outside the backend wait           */
    PROBE_GAUGE_LOOP_LAST_READY,   /* what the last poll returned             */
    PROBE_GAUGE_TIMERS_PENDING,
    PROBE_GAUGE_WORK_QUEUED,       /* jobs waiting for a worker               */
    PROBE_GAUGE_WORKERS,
    PROBE_GAUGE_ACCEPTS,
    PROBE_GAUGE_CLOSES,
    PROBE_GAUGE_BYTES_IN,
    PROBE_GAUGE_BYTES_OUT,
    PROBE_GAUGE_ERRORS_4XX,
    PROBE_GAUGE_REJECTED_503,
    PROBE_GAUGE_ACCEPT_PAUSES,     /* EMFILE/ENFILE episodes                  */
    PROBE_GAUGE_READS_PAUSED,      /* loop: connections paused by backpressure */
    PROBE_GAUGE_OUTPUT_QUEUED,     /* bytes written by handlers, not yet sent */
    PROBE_GAUGE_BUFFER_BYTES,      /* loop: memory the connections' buffers hold
                                      now (0 when every connection is idle) */
    /* A load generator (model "load", see load_run.h) publishes these. */
    PROBE_GAUGE_CLIENT_ERRORS,     /* failed requests and connections         */
    PROBE_GAUGE_COUNT
};

enum probe_hist {
    PROBE_HIST_HANDLER_NS = 0,     /* handler runtime                         */
    PROBE_HIST_LOOP_LAG_NS,        /* how late timers fire                    */
    PROBE_HIST_POLL_READY,         /* ready events per poll (a count, not ns) */
    PROBE_HIST_DISPATCH_NS,        /* one loop dispatch                       */
    PROBE_HIST_CLIENT_NS,          /* load generator: latency of each reply   */
    PROBE_HIST_COUNT
};

/* What a thread is doing now (kept in its ring header, for the view). */
enum probe_thread_state {
    PROBE_STATE_IDLE = 0,
    PROBE_STATE_BLOCKED,           /* inside call probe_thread_info.call      */
    PROBE_STATE_HANDLER,           /* running a handler for route ...         */
    PROBE_STATE_EXITED
};

struct probe_config {
    const char *name;    /* segment name; NULL: "MODEL-PID" */
    const char *model;   /* "blocking", "threads", "loop" or a student's own */
    int port;
};

struct probe;
struct probe_thread;

#ifndef EVLAB_NO_PROBES

int  probe_create(struct probe **out, const struct probe_config *config,
                  char *err, size_t err_len);
void probe_destroy(struct probe *probe);
const char *probe_name(const struct probe *probe);  /* "" for NULL */

/* Updates the port readers see, e.g. once bind() picked an ephemeral
 * port after probe_create(). */
void probe_set_port(struct probe *probe, int port);

/* Claims a ring for the calling thread.  Returns NULL only when probe is
 * NULL or memory runs out; with no ring free the handle still works and
 * counts drops. Emits PROBE_EV_THREAD_START, and PROBE_EV_THREAD_EXIT at
 * the end. */
struct probe_thread *probe_thread_begin(struct probe *probe, const char *role);
void probe_thread_end(struct probe_thread *thread);
struct probe *probe_thread_probe(struct probe_thread *thread);

void probe_emit(struct probe_thread *thread, enum probe_event_kind kind,
                int fd, uint64_t a, uint64_t b);
/* The same, with a timestamp the caller already took (clock_now_ns()):
 * saves a clock read where the caller times the same moment anyway. */
void probe_emit_at(struct probe_thread *thread, uint64_t t_ns, enum probe_event_kind kind,
                   int fd, uint64_t a, uint64_t b);

/* Mark the thread blocked in `call` (thread state + BLOCK_BEGIN/END; the
 * end event carries the time spent blocked). */
void probe_block_begin(struct probe_thread *thread, enum probe_call call, int fd);
void probe_block_end(struct probe_thread *thread, enum probe_call call, int fd);

/* Bracket one request's handler: thread state, HANDLERS_RUNNING gauge,
 * events, and on end the runtime goes into PROBE_HIST_HANDLER_NS and
 * REQUESTS_DONE is incremented.  `route` is an enum route_id. */
void probe_handler_begin(struct probe_thread *thread, int fd, unsigned route);
void probe_handler_end(struct probe_thread *thread, int fd, unsigned route);

/* The same four with a timestamp the caller already took.  A clock read
 * is the most expensive thing a probe does (tens of ns, more than all the
 * stores of an event), so a caller that times several moments in a row
 * takes each once and passes it on: the loop uses one reading for the end
 * of its wait and everything that happens then (loop.c), and one for the
 * end of a handler and the start of the next (loop_connection.c). */
void probe_block_begin_at(struct probe_thread *thread, uint64_t t_ns, enum probe_call call,
                          int fd);
void probe_block_end_at(struct probe_thread *thread, uint64_t t_ns, enum probe_call call,
                        int fd);
void probe_handler_begin_at(struct probe_thread *thread, uint64_t t_ns, int fd,
                            unsigned route);
void probe_handler_end_at(struct probe_thread *thread, uint64_t t_ns, int fd, unsigned route);

/* `count` handlers of one `route` on connection `fd` that ran back to back
 * from start_ns to end_ns with no clock reading between them: what one
 * probe_handler_begin_at()/probe_handler_end_at() pair per handler would
 * have recorded, except that each handler is given an equal share of the
 * time the run took (its events are spaced evenly over it; the ring holds
 * the whole run in one slot, PROBE_EV_HANDLER_RUN).  The total is
 * exact; how it divides among the run is not known, so use this only for
 * handlers whose work does not depend on the request (the loop's fixed
 * replies to pipelined requests, loop_connection.c "Clocks"), and time
 * every other handler on its own.  The thread state is left as it is. */
void probe_handlers_ran(struct probe_thread *thread, uint64_t start_ns, uint64_t end_ns,
                        int fd, unsigned route, unsigned count);

/* clock_now_ns() when thread is instrumented, else 0 without reading the
 * clock: for timestamps taken only to pass to the _at functions. */
uint64_t probe_clock_ns(const struct probe_thread *thread);

void    probe_gauge_add(struct probe *probe, enum probe_gauge gauge, int64_t delta);
/* The same from an instrumented thread: a gauge that changes on every
 * request (bytes in and out, output queued, loop busy time) is then
 * counted in the thread's own ring with plain stores, no locked
 * instruction; readers see the sum (probe_layout.h, "Per-thread counts").
 * Any other gauge, or a thread without a ring, goes to probe_gauge_add().
 * probe_gauge_set() of such a gauge sets only the shared part: use one
 * or the other for a gauge, not both. */
void    probe_thread_gauge_add(struct probe_thread *thread, enum probe_gauge gauge,
                               int64_t delta);
void    probe_gauge_set(struct probe *probe, enum probe_gauge gauge, int64_t value);
int64_t probe_gauge_get(const struct probe *probe, enum probe_gauge gauge);
void    probe_hist_record(struct probe *probe, enum probe_hist hist, uint64_t value);
/* The same from an instrumented thread: the histograms recorded on every
 * request or turn (a loop's dispatch time and ready events) are then kept
 * in the thread's own ring, without locked instructions, as the gauges of
 * probe_thread_gauge_add(). */
void    probe_thread_hist_record(struct probe_thread *thread, enum probe_hist hist,
                                 uint64_t value);

/* Starts a background thread that samples what no server thread can
 * report while it is blocked: the accept queue of `listen_fd` (TCP_INFO
 * tcpi_unacked) into Q_ACCEPT_BACKLOG, and for the threads model the
 * number of runnable-but-not-running threads (from /proc/self/task) into
 * Q_RUNNABLE, plus THREADS.  flags: PROBE_SAMPLE_*.  It stops in
 * probe_destroy(). */
#define PROBE_SAMPLE_ACCEPT_QUEUE 1u
#define PROBE_SAMPLE_THREADS      2u
int probe_sampler_start(struct probe *probe, int listen_fd, unsigned flags);

/* Renders the gauges and handler percentiles as JSON into buf (the body
 * of GET /stats).  Returns the length written, or a negative errno. */
int probe_stats_json(const struct probe *probe, char *buf, size_t buf_len);

#else /* EVLAB_NO_PROBES: everything vanishes, so its cost can be measured */

static inline int probe_create(struct probe **out, const struct probe_config *c,
                               char *e, size_t el)
{ (void)c; (void)e; (void)el; *out = NULL; return 0; }
static inline void probe_destroy(struct probe *p) { (void)p; }
static inline const char *probe_name(const struct probe *p) { (void)p; return ""; }
static inline void probe_set_port(struct probe *p, int port) { (void)p; (void)port; }
static inline struct probe_thread *probe_thread_begin(struct probe *p, const char *r)
{ (void)p; (void)r; return NULL; }
static inline void probe_thread_end(struct probe_thread *t) { (void)t; }
static inline struct probe *probe_thread_probe(struct probe_thread *t) { (void)t; return NULL; }
static inline void probe_emit(struct probe_thread *t, enum probe_event_kind k,
                              int fd, uint64_t a, uint64_t b)
{ (void)t; (void)k; (void)fd; (void)a; (void)b; }
static inline void probe_emit_at(struct probe_thread *t, uint64_t ts, enum probe_event_kind k,
                                 int fd, uint64_t a, uint64_t b)
{ (void)t; (void)ts; (void)k; (void)fd; (void)a; (void)b; }
static inline void probe_block_begin(struct probe_thread *t, enum probe_call c, int fd)
{ (void)t; (void)c; (void)fd; }
static inline void probe_block_end(struct probe_thread *t, enum probe_call c, int fd)
{ (void)t; (void)c; (void)fd; }
static inline void probe_handler_begin(struct probe_thread *t, int fd, unsigned r)
{ (void)t; (void)fd; (void)r; }
static inline void probe_handler_end(struct probe_thread *t, int fd, unsigned r)
{ (void)t; (void)fd; (void)r; }
static inline void probe_block_begin_at(struct probe_thread *t, uint64_t ts, enum probe_call c,
                                        int fd)
{ (void)t; (void)ts; (void)c; (void)fd; }
static inline void probe_block_end_at(struct probe_thread *t, uint64_t ts, enum probe_call c,
                                      int fd)
{ (void)t; (void)ts; (void)c; (void)fd; }
static inline void probe_handler_begin_at(struct probe_thread *t, uint64_t ts, int fd,
                                          unsigned r)
{ (void)t; (void)ts; (void)fd; (void)r; }
static inline void probe_handler_end_at(struct probe_thread *t, uint64_t ts, int fd, unsigned r)
{ (void)t; (void)ts; (void)fd; (void)r; }
static inline void probe_handlers_ran(struct probe_thread *t, uint64_t s, uint64_t e, int fd,
                                      unsigned r, unsigned n)
{ (void)t; (void)s; (void)e; (void)fd; (void)r; (void)n; }
static inline uint64_t probe_clock_ns(const struct probe_thread *t) { (void)t; return 0; }
static inline void probe_gauge_add(struct probe *p, enum probe_gauge g, int64_t d)
{ (void)p; (void)g; (void)d; }
static inline void probe_thread_gauge_add(struct probe_thread *t, enum probe_gauge g, int64_t d)
{ (void)t; (void)g; (void)d; }
static inline void probe_gauge_set(struct probe *p, enum probe_gauge g, int64_t v)
{ (void)p; (void)g; (void)v; }
static inline int64_t probe_gauge_get(const struct probe *p, enum probe_gauge g)
{ (void)p; (void)g; return 0; }
static inline void probe_hist_record(struct probe *p, enum probe_hist h, uint64_t v)
{ (void)p; (void)h; (void)v; }
static inline void probe_thread_hist_record(struct probe_thread *t, enum probe_hist h, uint64_t v)
{ (void)t; (void)h; (void)v; }
#define PROBE_SAMPLE_ACCEPT_QUEUE 1u
#define PROBE_SAMPLE_THREADS      2u
static inline int probe_sampler_start(struct probe *p, int fd, unsigned f)
{ (void)p; (void)fd; (void)f; return 0; }
int probe_stats_json(const struct probe *probe, char *buf, size_t buf_len);

#endif /* EVLAB_NO_PROBES */

/* Names for printing; valid for any value (unknown -> "?"). */
const char *probe_event_kind_name(enum probe_event_kind kind);
const char *probe_call_name(enum probe_call call);
const char *probe_gauge_name(enum probe_gauge gauge);
const char *probe_hist_name(enum probe_hist hist);
const char *probe_thread_state_name(enum probe_thread_state state);

#endif
