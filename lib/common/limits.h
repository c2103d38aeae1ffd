/*
 * Every limit evlab enforces, in one place (after xv6's param.h).
 *
 * A limit that is not here is a bug: a student who wonders "how big can a
 * header be?" or "how many threads before 503?" should find the answer in
 * this file, with the reason for the number next to it.
 */
#ifndef EVLAB_LIMITS_H
#define EVLAB_LIMITS_H

/* --- HTTP workload --------------------------------------------------- */

/* Request line plus all headers, up to and including the blank line.
 * 8 KiB matches what common servers accept by default; past it: 431. */
#define HTTP_MAX_HEADER_BYTES      8192

/* Header fields in one request; more is treated as "too large": 431. */
#define HTTP_MAX_HEADER_FIELDS     64

/* Default cap on a Content-Length body (evlab serve --max-body).  Large
 * enough for the 1 MiB echo test, small enough that a hostile client
 * cannot make the server buffer gigabytes.  Past it: 413. */
#define HTTP_DEFAULT_MAX_BODY      (4u * 1024 * 1024)

/* Route arguments: /sleep/MS and /cpu/MS.  Past these: 400, so a typo
 * cannot park a server for an hour in front of a class. */
#define ROUTE_MAX_SLEEP_MS         60000
#define ROUTE_MAX_CPU_MS           10000

/* A request must arrive whole (request line, headers and body) within
 * this long of its first byte; past it the server answers 408 and closes
 * (evlab serve --request-timeout).  This is what ends a slowloris client,
 * which sends a byte now and then to hold a connection -- and in the
 * thread models a whole thread -- for ever. */
#define HTTP_REQUEST_TIMEOUT_MS    10000

/* A keep-alive connection with no request in progress, or a client that
 * stops reading our replies, is closed after this long without progress
 * (evlab serve --idle-timeout).  Long enough that a class can watch
 * thousands of idle connections; short enough that they do not pile up. */
#define HTTP_IDLE_TIMEOUT_MS       60000

/* --- Server models --------------------------------------------------- */

/* listen(2) backlog.  The kernel caps it at net.core.somaxconn. */
#define SERVER_LISTEN_BACKLOG      4096

/* Bytes asked of one read(2). */
#define SERVER_READ_CHUNK          16384

/* Thread-per-connection: default stack per connection thread.  64 KiB is
 * plenty for our handlers and lets 10,000 threads fit in 640 MiB of
 * *reserved* address space (only touched pages cost real memory). */
#define THREADS_DEFAULT_STACK_BYTES (64u * 1024)
#define THREADS_MIN_STACK_BYTES     (16u * 1024)

/* Thread-per-connection: default cap on live connection threads; past it
 * a new connection gets 503 and a close (evlab serve --max-threads). */
#define THREADS_DEFAULT_MAX         10000

/* Event loop: stop reading a connection once this much output is queued
 * for it, resume when it drains below the low watermark (backpressure). */
#define LOOP_OUTPUT_HIGH_WATERMARK (256u * 1024)
#define LOOP_OUTPUT_LOW_WATERMARK  (64u * 1024)

/* Event loop fairness: at most this many read(2) calls for one connection
 * per dispatch, so one fast sender cannot starve the others. */
#define LOOP_MAX_READS_PER_DISPATCH 4

/* Event loop fairness: at most this many accept(2) calls per dispatch of
 * the listening socket (we still drain, just over several turns). */
#define LOOP_MAX_ACCEPTS_PER_DISPATCH 256

/* Ready events returned by one backend wait call. */
#define LOOP_MAX_READY_PER_TURN    1024

/* Worker pool size cap (evlab serve --workers N). */
#define WORKERS_MAX                64

/* Thread models: a /sleep or /cpu handler runs in slices this long and
 * checks between slices whether the server is stopping, so a stop is
 * noticed within one slice instead of after a 60-second sleep. */
#define THREADS_HANDLER_SLICE_MS   20

/* Thread-per-connection: how long a stop waits for connection threads to
 * finish the handler they are in.  Longer than a slice (above), so every
 * thread notices the stop; short enough that Ctrl-C feels immediate. */
#define THREADS_SHUTDOWN_WAIT_MS   2000

/* When accept(2) fails with EMFILE/ENFILE and no spare descriptor helps,
 * stop accepting for this long instead of spinning. */
#define ACCEPT_PAUSE_MS            100

/* --- Instrumentation ------------------------------------------------- */

/* Rings in one segment.  A thread that finds none free still runs; its
 * events are dropped and counted (gauge events_dropped). */
#define PROBE_MAX_RINGS            256

/* Events per ring (a power of two, so index -> slot is a mask). */
#define PROBE_RING_EVENTS          4096

/* How often the sampler thread refreshes gauges that must be sampled
 * (accept queue via TCP_INFO, runnable threads via /proc). */
#define PROBE_SAMPLE_INTERVAL_MS   50

#endif
