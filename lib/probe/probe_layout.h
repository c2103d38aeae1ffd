/*
 * probe_layout.h — PRIVATE to lib/probe: the byte layout of the shared
 * memory segment that a server writes (probe.c) and readers map
 * read-only (probe_reader.c, probe_list.c).  Changing anything here
 * means bumping PROBE_LAYOUT_VERSION in probe.h.
 *
 * The segment, from offset 0:
 *
 *     struct probe_prefix     magic, layout version, pid, closed flag:
 *                             the same 16 bytes in every version, so any
 *                             evlab can tell who owns a segment and
 *                             whether that server is gone
 *     rest of the header      name, model, port, start times, sizes
 *     gauges, histograms      what writers add to with relaxed atomics
 *     ring headers            PROBE_MAX_RINGS of them, one per thread
 *     ring histograms         each thread's own handler runtimes
 *     event slots             PROBE_MAX_RINGS x PROBE_RING_EVENTS
 *
 * It is one C struct (struct probe_segment) with fixed-size arrays, so
 * offsets come from the compiler.  With 256 rings of 4096 slots of 40
 * bytes it is about 40 MiB, but ftruncate() creates it sparse: a page of
 * /dev/shm costs memory only once a writer touches it, and a ring nobody
 * claims is never touched.
 *
 * Per-thread counts.  What every request changes — HANDLERS_RUNNING,
 * REQUESTS_DONE, the histograms of probe_ring_hist_slot() (handler
 * runtime, and the loop's dispatch time and ready events), and the gauges of
 * probe_ring_gauge_slot() (bytes in and out, output queued, loop busy
 * time) — is kept per ring: each ring has one writer, so updating it is a
 * plain store, where a shared gauge would need a locked read-modify-write
 * (10-30 ns each on a virtual machine, several per request).  Readers add
 * the rings up (probe_segment_totals()); the shared gauges and histogram
 * hold only what threads without a ring did.  A ring's counts are never
 * reset: they keep what every owner of the ring added, so the sums stay
 * right when threads come and go.
 *
 * Every field that changes after creation is a C11 atomic, because the
 * writer and a reader may be threads of one process (the tests do that)
 * and plain loads and stores would then be a data race.  Fields written
 * once before the magic number is published are plain.
 *
 * One event slot is a tiny seqlock.  The writer of a ring:
 *     1. stores seq = 0           ("this slot is being rewritten")
 *     2. stores t_ns, kind_fd, a, b, each with release order, so none of
 *        them can become visible before step 1
 *     3. stores seq = index + 1   (release: the fields are complete)
 *     4. stores the ring's head = index + 1 (release)
 * A reader wanting event `index` loads seq (acquire), loads the fields
 * (acquire), then loads seq again.  Only when both loads equal index + 1
 * is the copy whole; anything else means the writer has lapped the reader
 * and the event is lost (counted as missed, never shown torn).
 */
#ifndef EVLAB_PROBE_LAYOUT_H
#define EVLAB_PROBE_LAYOUT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/limits.h"
#include "probe/histogram.h"
#include "probe/probe.h"
#include "probe/probe_reader.h"

/* The index -> slot mapping below is a mask, which needs a power of two. */
_Static_assert((PROBE_RING_EVENTS & (PROBE_RING_EVENTS - 1)) == 0,
               "PROBE_RING_EVENTS must be a power of two");

/* The first 16 bytes, identical in every layout version. */
struct probe_prefix {
    _Atomic uint32_t magic;       /* PROBE_MAGIC, stored last at creation */
    uint32_t layout_version;      /* PROBE_LAYOUT_VERSION */
    int32_t pid;                  /* the server process */
    _Atomic uint32_t closed;      /* 1 once probe_destroy() has run */
};

/* One event slot (40 bytes).  kind_fd packs the kind in the upper 32
 * bits and the fd (as uint32) in the lower 32 bits. */
struct probe_slot {
    _Atomic uint64_t seq;         /* index + 1 when complete, 0 while written */
    _Atomic uint64_t t_ns;
    _Atomic uint64_t kind_fd;
    _Atomic uint64_t a;
    _Atomic uint64_t b;
};

/* The gauges a thread adds to on every request, kept in its ring (see
 * "Per-thread counts"): the slot in probe_ring.gauges, or -1 for a gauge
 * that lives only in the shared array. */
#define PROBE_RING_GAUGES 4
static inline int probe_ring_gauge_slot(enum probe_gauge gauge)
{
    switch (gauge) {
    case PROBE_GAUGE_BYTES_IN:      return 0;
    case PROBE_GAUGE_BYTES_OUT:     return 1;
    case PROBE_GAUGE_OUTPUT_QUEUED: return 2;
    case PROBE_GAUGE_LOOP_BUSY_NS:  return 3;
    default:                        return -1;
    }
}

/* The histograms a thread records into on every request or loop turn,
 * kept per ring as the gauges above: the slot in ring_hists, or -1 for a
 * histogram that lives only in the shared array. */
#define PROBE_RING_HISTS 3
static inline int probe_ring_hist_slot(enum probe_hist hist)
{
    switch (hist) {
    case PROBE_HIST_HANDLER_NS:  return 0;
    case PROBE_HIST_DISPATCH_NS: return 1;
    case PROBE_HIST_POLL_READY:  return 2;
    default:                     return -1;
    }
}

/* A ring's header: who owns it and what that thread is doing.  Aligned
 * to a 64-byte cache line so that two threads updating their own headers
 * do not keep stealing one line from each other ("false sharing"). */
struct probe_ring {
    _Alignas(64) _Atomic uint32_t in_use;  /* 1 while a thread owns it */
    _Atomic uint32_t ever_used;   /* 1 once any thread has owned it */
    _Atomic int32_t tid;          /* owner's thread id (gettid) */
    _Atomic uint64_t head;        /* events ever written (next index) */
    _Atomic uint64_t state;       /* packed, see probe_state_pack() */
    _Atomic uint64_t since_ns;    /* when the thread entered that state */
    _Atomic uint64_t role[PROBE_ROLE_MAX / 8];  /* NUL-padded text */
    /* Owner-written counts, summed by readers (see "Per-thread counts"). */
    _Atomic uint32_t in_handler;  /* 1 while the owner is inside a handler */
    _Atomic uint64_t requests_done;   /* handlers ended, by every owner so far */
    _Atomic int64_t gauges[PROBE_RING_GAUGES];  /* see probe_ring_gauge_slot() */
};

_Static_assert(PROBE_ROLE_MAX % 8 == 0, "role is stored in 64-bit words");

/* Everything before the gauges: small, so `evlab list` can pread() it
 * without mapping 40 MiB. */
struct probe_header {
    struct probe_prefix prefix;
    char name[PROBE_NAME_MAX];
    char model[PROBE_MODEL_MAX];
    _Atomic int32_t port;         /* may be set after bind */
    uint32_t ring_capacity;       /* PROBE_MAX_RINGS */
    uint32_t ring_events;         /* PROBE_RING_EVENTS */
    _Atomic uint32_t ring_count;  /* rings ever claimed: a high-water mark */
    uint32_t gauge_count;         /* PROBE_GAUGE_COUNT */
    uint32_t hist_count;          /* PROBE_HIST_COUNT */
    uint64_t start_realtime_ns;
    uint64_t start_mono_ns;
};

struct probe_segment {
    struct probe_header header;
    _Atomic int64_t gauges[PROBE_GAUGE_COUNT];
    struct histogram hists[PROBE_HIST_COUNT];
    struct probe_ring rings[PROBE_MAX_RINGS];
    /* Each ring's own histograms (probe_ring_hist_slot()); set up (min =
     * "empty") when the ring is first claimed, so pages of unclaimed rings
     * are never touched. */
    struct histogram ring_hists[PROBE_MAX_RINGS][PROBE_RING_HISTS];
    struct probe_slot slots[PROBE_MAX_RINGS][PROBE_RING_EVENTS];
};

/* The promise made in probe_reader.h: magic at 0, version at 4, forever. */
_Static_assert(offsetof(struct probe_segment, header.prefix.magic) == 0, "magic at offset 0");
_Static_assert(offsetof(struct probe_segment, header.prefix.layout_version) == 4,
               "layout version at offset 4");
_Static_assert(sizeof(_Atomic uint32_t) == 4, "atomic words have plain sizes");

/* A thread's state fits one 64-bit word so that a reader never sees the
 * call of one state with the fd of another:
 *     bits 56..63 state, 48..55 call, 32..47 route, 0..31 fd. */
static inline uint64_t probe_state_pack(enum probe_thread_state state,
                                        enum probe_call call, unsigned route, int fd)
{
    return ((uint64_t)(state & 0xffu) << 56) | ((uint64_t)(call & 0xffu) << 48) |
           ((uint64_t)(route & 0xffffu) << 32) | (uint64_t)(uint32_t)fd;
}

static inline void probe_state_unpack(uint64_t word, struct probe_thread_info *out)
{
    out->state = (uint8_t)(word >> 56);
    out->call = (uint8_t)(word >> 48);
    out->route = (uint16_t)(word >> 32);
    out->fd = (int32_t)(uint32_t)word;
}

/* --- Helpers shared by writer and readers (probe_segment.c) ------------ */

/* A name is 1..PROBE_NAME_MAX-1 characters of [A-Za-z0-9._-], not
 * starting with '.', so it is always a plain file name in /dev/shm. */
bool probe_segment_name_valid(const char *name);

/* "/evlab.NAME", the name shm_open() wants.  Asserts it fits. */
void probe_segment_shm_name(char *out, size_t out_len, const char *name);

/* Writes a message into err (when err is not NULL and err_len > 0). */
void probe_error(char *err, size_t err_len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Whether process `pid` exists (kill(pid, 0); EPERM still means alive).
 * Note that a zombie, exited but not yet reaped, still counts as alive. */
bool probe_pid_alive(int pid);

/* What the first bytes of an existing segment say.  Reads with pread(),
 * so it needs no mapping.  Returns 0 and fills *out when the magic is
 * ours (whatever the version), -EINVAL when the file is too small or the
 * magic is wrong, or another negative errno. */
int probe_segment_read_prefix(int fd, struct probe_prefix *out, uint64_t *file_size);

/* Whether the server behind a prefix is still there: not closed and its
 * process alive. */
bool probe_prefix_alive(const struct probe_prefix *prefix);

/* What a reader should see: the shared gauges plus what the rings count
 * (HANDLERS_RUNNING, REQUESTS_DONE, probe_ring_gauge_slot()), and the
 * shared handler histogram plus every ring's (into *handler, which is
 * overwritten).  Reads only; safe while writers run. */
void probe_segment_totals(const struct probe_segment *seg, int64_t gauges[PROBE_GAUGE_COUNT],
                          struct histogram *handler);
/* One histogram as a reader should see it: the shared one plus, for
 * those kept per ring, every ring's (into *out, overwritten). */
void probe_segment_hist(const struct probe_segment *seg, enum probe_hist hist,
                        struct histogram *out);
/* One gauge as probe_segment_totals() would report it. */
int64_t probe_segment_gauge(const struct probe_segment *seg, enum probe_gauge gauge);

/* Renders stats JSON from plain values (shared by probe_stats_json() on
 * the server and probe_snapshot_json() for readers).  Histograms may be
 * live: only relaxed loads are used.  Returns length or -ENOSPC. */
int probe_json_render(char *buf, size_t buf_len, const char *name, const char *model,
                      int pid, int port, uint64_t uptime_ns, const int64_t *gauges,
                      const struct histogram *handler, const struct histogram *loop_lag);

#endif
