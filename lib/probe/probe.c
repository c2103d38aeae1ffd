/*
 * probe.c — the writer side of the instrumentation layer (probe.h):
 * creating the shared-memory segment, claiming a ring per thread, and
 * writing events, gauges and histograms into it.
 *
 * The one rule this file lives by: an instrumented thread never waits.
 * There is no lock anywhere on the writer's path.  Gauges and histograms
 * are relaxed atomic adds, which any number of threads may do at once.
 * Events go to the calling thread's own ring, which has exactly one
 * writer, so appending is a handful of plain atomic stores (the slot
 * protocol is described in probe_layout.h).  When the ring is full the
 * writer simply overwrites the oldest slot; it is the reader's job to
 * notice that it was lapped.
 *
 * Rings are claimed with a compare-and-swap on their in_use flag, so two
 * threads starting at once can never get the same ring, and released
 * when the thread ends, so a server whose threads come and go (thread
 * per connection) keeps reusing the same PROBE_MAX_RINGS rings.  A ring's
 * head keeps counting across owners: a reader's cursor stays meaningful
 * when a new thread takes the ring over.
 *
 * The whole file disappears with -DEVLAB_NO_PROBES; probe.h then turns
 * every call into an empty inline.
 */
#ifndef EVLAB_NO_PROBES

#include "probe/probe_writer.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/clock.h"

/* The per-thread handle.  It lives in the server's own memory, not in
 * the segment: only its owning thread ever touches it. */
struct probe_thread {
    struct probe *probe;
    struct probe_ring *ring;      /* NULL: no ring was free, events drop */
    struct probe_slot *slots;     /* this ring's PROBE_RING_EVENTS slots */
    struct histogram *hists;      /* this ring's own, probe_ring_hist_slot() */
    uint64_t next;                /* index of the next event we write */
    int tid;
    uint64_t block_start_ns;      /* when probe_block_begin() ran */
    /* The handler in progress, so that a block inside a handler (a
     * blocking sleep in the thread model) can return to HANDLER state. */
    bool in_handler;
    unsigned handler_route;
    int handler_fd;
    uint64_t handler_start_ns;
};

static const memory_order relaxed = memory_order_relaxed;
static const memory_order release = memory_order_release;

/* --- Creating and destroying the segment ------------------------------- */

/* Called when shm_open(O_EXCL) found the name taken.  Returns 0 when the
 * old segment belonged to a server that is gone and has been removed (so
 * the caller may try again), -EEXIST with a message otherwise. */
static int remove_if_stale(const char *shm_name, const char *name, char *err, size_t err_len)
{
    int fd = shm_open(shm_name, O_RDONLY, 0);
    if (fd == -1) {
        if (errno == ENOENT)
            return 0;             /* it vanished meanwhile: just retry */
        int e = errno;
        probe_error(err, err_len, "shm_open(%s) to inspect an existing segment: %s",
                    shm_name, strerror(e));
        return -e;
    }
    struct probe_prefix prefix;
    int rc = probe_segment_read_prefix(fd, &prefix, NULL);
    close(fd);
    if (rc == -EINVAL) {
        probe_error(err, err_len,
                    "/dev/shm%s exists but is not an evlab segment; remove it by hand",
                    shm_name);
        return -EEXIST;
    }
    if (rc < 0) {
        probe_error(err, err_len, "reading %s: %s", shm_name, strerror(-rc));
        return rc;
    }
    if (probe_prefix_alive(&prefix)) {
        probe_error(err, err_len, "name '%s' is in use by pid %d", name, (int)prefix.pid);
        return -EEXIST;
    }
    /* Its server is gone (crashed, killed, or destroyed without unlink):
     * the name is free again. */
    if (shm_unlink(shm_name) == -1 && errno != ENOENT) {
        int e = errno;
        probe_error(err, err_len, "shm_unlink(%s) of a stale segment: %s", shm_name,
                    strerror(e));
        return -e;
    }
    return 0;
}

/* Refuses to start when /dev/shm could not hold even one full segment.
 * Pages are allocated as they are first written, and a write that finds
 * tmpfs full kills the server with SIGBUS — mid-demo, without a word.
 * Containers often give /dev/shm only 64 MiB, so say it up front.  (This
 * cannot rule out running out later, when other segments grow.) */
static int check_shm_space(size_t need, char *err, size_t err_len)
{
    struct statvfs fs;
    if (statvfs("/dev/shm", &fs) != 0)
        return 0;    /* cannot tell: let shm_open() report real problems */
    uint64_t free_bytes = (uint64_t)fs.f_bavail * fs.f_frsize;
    if (free_bytes >= need)
        return 0;
    probe_error(err, err_len,
                "/dev/shm has %llu MiB free but a probe segment may use %zu MiB; "
                "enlarge it (docker run --shm-size=256m) or remove stale segments "
                "(evlab list --clean)",
                (unsigned long long)(free_bytes >> 20), need >> 20);
    return -ENOSPC;
}

/* Opens a brand-new segment file, replacing a stale one at most once. */
static int open_exclusive(const char *shm_name, const char *name, char *err, size_t err_len)
{
    for (int attempt = 0; attempt < 2; attempt++) {
        /* O_EXCL: two servers with one name must not share a segment. */
        int fd = shm_open(shm_name, O_RDWR | O_CREAT | O_EXCL, 0600);
        if (fd >= 0)
            return fd;
        if (errno != EEXIST) {
            int e = errno;
            probe_error(err, err_len, "shm_open(%s): %s", shm_name, strerror(e));
            return -e;
        }
        int rc = remove_if_stale(shm_name, name, err, err_len);
        if (rc < 0)
            return rc;
    }
    probe_error(err, err_len, "name '%s' was taken again while replacing a stale segment",
                name);
    return -EEXIST;
}

static void copy_text(char *dst, size_t dst_len, const char *src)
{
    /* The segment is zero-filled, so a shorter copy stays NUL-terminated. */
    size_t n = strlen(src);
    assert(n < dst_len);
    memcpy(dst, src, n);
}

static void segment_init(struct probe_segment *seg, const char *name, const char *model,
                         int port)
{
    /* ftruncate() gave us zeros, so every gauge, ring and slot already
     * reads as 0 (idle, never used).  Only non-zero starting values need
     * writing. */
    seg->header.prefix.layout_version = PROBE_LAYOUT_VERSION;
    seg->header.prefix.pid = (int32_t)getpid();
    copy_text(seg->header.name, sizeof seg->header.name, name);
    copy_text(seg->header.model, sizeof seg->header.model, model);
    atomic_store_explicit(&seg->header.port, port, relaxed);
    seg->header.ring_capacity = PROBE_MAX_RINGS;
    seg->header.ring_events = PROBE_RING_EVENTS;
    seg->header.gauge_count = PROBE_GAUGE_COUNT;
    seg->header.hist_count = PROBE_HIST_COUNT;
    seg->header.start_realtime_ns = clock_realtime_ns();
    seg->header.start_mono_ns = clock_now_ns();
    for (size_t i = 0; i < PROBE_HIST_COUNT; i++)
        histogram_init(&seg->hists[i]);
    /* Last, and with release order: a reader that sees the magic number
     * also sees everything written above. */
    atomic_store_explicit(&seg->header.prefix.magic, PROBE_MAGIC, release);
}

int probe_create(struct probe **out, const struct probe_config *config,
                 char *err, size_t err_len)
{
    assert(out != NULL && config != NULL);
    *out = NULL;

    const char *model = config->model != NULL ? config->model : "unknown";
    if (strlen(model) >= PROBE_MODEL_MAX) {
        probe_error(err, err_len, "model '%s' is longer than %d characters", model,
                    PROBE_MODEL_MAX - 1);
        return -EINVAL;
    }
    /* No name given: "MODEL-PID", unique among running servers. */
    char default_name[PROBE_MODEL_MAX + 16];
    snprintf(default_name, sizeof default_name, "%s-%d", model, (int)getpid());
    const char *name = config->name != NULL ? config->name : default_name;
    if (!probe_segment_name_valid(name)) {
        probe_error(err, err_len,
                    "invalid probe name '%s' (1-%d characters of A-Z a-z 0-9 . _ -)",
                    name, PROBE_NAME_MAX - 1);
        return -EINVAL;
    }

    struct probe *probe = calloc(1, sizeof *probe);
    if (probe == NULL) {
        probe_error(err, err_len, "out of memory");
        return -ENOMEM;
    }
    copy_text(probe->name, sizeof probe->name, name);   /* length checked above */

    int rc = check_shm_space(sizeof(struct probe_segment), err, err_len);
    if (rc < 0) {
        free(probe);
        return rc;
    }
    char shm_name[PROBE_NAME_MAX + 16];
    probe_segment_shm_name(shm_name, sizeof shm_name, name);
    int fd = open_exclusive(shm_name, name, err, err_len);
    if (fd < 0) {
        free(probe);
        return fd;
    }

    /* The file is sized, not filled: tmpfs allocates a page only when it
     * is first written, so unclaimed rings cost nothing. */
    probe->map_len = sizeof(struct probe_segment);
    struct stat st;
    if (ftruncate(fd, (off_t)probe->map_len) == -1) {
        rc = -errno;
        probe_error(err, err_len, "ftruncate(%s, %zu): %s", shm_name, probe->map_len,
                    strerror(errno));
    } else if (fstat(fd, &st) == -1) {
        rc = -errno;
        probe_error(err, err_len, "fstat(%s): %s", shm_name, strerror(errno));
    } else {
        probe->dev = st.st_dev;
        probe->ino = st.st_ino;
        void *map = mmap(NULL, probe->map_len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if (map == MAP_FAILED) {
            rc = -errno;
            probe_error(err, err_len, "mmap(%s): %s", shm_name, strerror(errno));
        } else {
            probe->seg = map;
        }
    }
    close(fd);    /* the mapping keeps the segment reachable */
    if (rc < 0) {
        shm_unlink(shm_name);
        free(probe);
        return rc;
    }

    segment_init(probe->seg, name, model, config->port);
    *out = probe;
    return 0;
}

/* Unlinks the segment only if the file at our name is still ours: if
 * another server already replaced it (believing us dead), leave it be. */
static void unlink_if_ours(const struct probe *probe)
{
    char shm_name[PROBE_NAME_MAX + 16];
    probe_segment_shm_name(shm_name, sizeof shm_name, probe->name);
    int fd = shm_open(shm_name, O_RDONLY, 0);
    if (fd == -1)
        return;
    struct stat st;
    bool ours = fstat(fd, &st) == 0 && st.st_dev == probe->dev && st.st_ino == probe->ino;
    close(fd);
    if (ours)
        shm_unlink(shm_name);
}

void probe_destroy(struct probe *probe)
{
    if (probe == NULL)
        return;
    probe_sampler_stop(probe);
    /* Readers that still have the segment mapped learn that we are gone
     * even before our pid disappears. */
    atomic_store_explicit(&probe->seg->header.prefix.closed, 1, release);
    unlink_if_ours(probe);
    munmap(probe->seg, probe->map_len);
    free(probe);
}

const char *probe_name(const struct probe *probe)
{
    return probe != NULL ? probe->name : "";
}

void probe_set_port(struct probe *probe, int port)
{
    if (probe != NULL)
        atomic_store_explicit(&probe->seg->header.port, port, relaxed);
}

/* --- Gauges and histograms --------------------------------------------- */

void probe_gauge_add(struct probe *probe, enum probe_gauge gauge, int64_t delta)
{
    assert((unsigned)gauge < PROBE_GAUGE_COUNT);
    if (probe != NULL)
        atomic_fetch_add_explicit(&probe->seg->gauges[gauge], delta, relaxed);
}

void probe_thread_gauge_add(struct probe_thread *thread, enum probe_gauge gauge, int64_t delta)
{
    if (thread == NULL)
        return;
    int slot = probe_ring_gauge_slot(gauge);
    if (thread->ring == NULL || slot < 0) {
        probe_gauge_add(thread->probe, gauge, delta);
        return;
    }
    /* One writer per ring: load and store, no locked instruction. */
    _Atomic int64_t *count = &thread->ring->gauges[slot];
    atomic_store_explicit(count, atomic_load_explicit(count, relaxed) + delta, relaxed);
}

void probe_thread_hist_record(struct probe_thread *thread, enum probe_hist hist, uint64_t value)
{
    if (thread == NULL)
        return;
    int slot = probe_ring_hist_slot(hist);
    if (thread->ring == NULL || slot < 0)
        probe_hist_record(thread->probe, hist, value);
    else
        histogram_record_owned(&thread->hists[slot], value);
}

void probe_gauge_set(struct probe *probe, enum probe_gauge gauge, int64_t value)
{
    assert((unsigned)gauge < PROBE_GAUGE_COUNT);
    if (probe != NULL)
        atomic_store_explicit(&probe->seg->gauges[gauge], value, relaxed);
}

int64_t probe_gauge_get(const struct probe *probe, enum probe_gauge gauge)
{
    assert((unsigned)gauge < PROBE_GAUGE_COUNT);
    if (probe == NULL)
        return 0;
    /* Some gauges are partly counted in the rings (probe_layout.h). */
    return probe_segment_gauge(probe->seg, gauge);
}

void probe_hist_record(struct probe *probe, enum probe_hist hist, uint64_t value)
{
    assert((unsigned)hist < PROBE_HIST_COUNT);
    if (probe != NULL)
        histogram_record(&probe->seg->hists[hist], value);
}

/* --- Threads and their rings ------------------------------------------- */

/* Finds a free ring and makes it ours, or returns -1.  A linear scan is
 * fine: it runs once per thread start, and the lowest free ring wins, so
 * the view's thread list stays compact. */
static int ring_claim(struct probe_segment *seg)
{
    for (int i = 0; i < PROBE_MAX_RINGS; i++) {
        struct probe_ring *ring = &seg->rings[i];
        uint32_t expected = 0;
        /* Cheap look first, so a busy scan does not write every line. */
        if (atomic_load_explicit(&ring->in_use, relaxed) != 0)
            continue;
        /* Acquire pairs with the release in probe_thread_end() of the
         * ring's previous owner: we see its final head. */
        if (atomic_compare_exchange_strong_explicit(&ring->in_use, &expected, 1,
                                                    memory_order_acquire, relaxed))
            return i;
    }
    return -1;
}

static void ring_set_role(struct probe_ring *ring, const char *role)
{
    char text[PROBE_ROLE_MAX] = { 0 };
    size_t n = strnlen(role, PROBE_ROLE_MAX - 1);
    memcpy(text, role, n);
    for (size_t w = 0; w < PROBE_ROLE_MAX / 8; w++) {
        uint64_t word;
        memcpy(&word, text + w * 8, 8);
        atomic_store_explicit(&ring->role[w], word, relaxed);
    }
}

static void ring_set_state(struct probe_thread *thread, enum probe_thread_state state,
                           enum probe_call call, unsigned route, int fd, uint64_t since)
{
    if (thread->ring == NULL)
        return;
    atomic_store_explicit(&thread->ring->state, probe_state_pack(state, call, route, fd),
                          relaxed);
    atomic_store_explicit(&thread->ring->since_ns, since, relaxed);
}

/* Appends one event to the thread's ring (protocol: probe_layout.h). */
static void event_write(struct probe_thread *thread, uint64_t now, enum probe_event_kind kind,
                        int fd, uint64_t a, uint64_t b)
{
    if (thread->ring == NULL) {
        /* No ring: the event is lost, but never silently. */
        probe_gauge_add(thread->probe, PROBE_GAUGE_EVENTS_DROPPED, 1);
        return;
    }
    uint64_t index = thread->next;
    struct probe_slot *slot = &thread->slots[index & (PROBE_RING_EVENTS - 1)];

    atomic_store_explicit(&slot->seq, 0, relaxed);
    atomic_store_explicit(&slot->t_ns, now, release);
    atomic_store_explicit(&slot->kind_fd, ((uint64_t)kind << 32) | (uint32_t)fd, release);
    atomic_store_explicit(&slot->a, a, release);
    atomic_store_explicit(&slot->b, b, release);
    atomic_store_explicit(&slot->seq, index + 1, release);
    atomic_store_explicit(&thread->ring->head, index + 1, release);
    thread->next = index + 1;
}

struct probe_thread *probe_thread_begin(struct probe *probe, const char *role)
{
    if (probe == NULL)
        return NULL;
    struct probe_thread *thread = calloc(1, sizeof *thread);
    if (thread == NULL)
        return NULL;
    thread->probe = probe;
    thread->tid = (int)syscall(SYS_gettid);
    uint64_t now = clock_now_ns();

    struct probe_segment *seg = probe->seg;
    int index = ring_claim(seg);
    if (index >= 0) {
        struct probe_ring *ring = &seg->rings[index];
        thread->ring = ring;
        thread->slots = seg->slots[index];
        thread->hists = seg->ring_hists[index];
        /* The segment starts zero-filled; an empty histogram also needs
         * min = UINT64_MAX, written before ever_used is published. */
        if (atomic_load_explicit(&ring->ever_used, relaxed) == 0)
            for (int h = 0; h < PROBE_RING_HISTS; h++)
                atomic_store_explicit(&thread->hists[h].min, UINT64_MAX, relaxed);
        thread->next = atomic_load_explicit(&ring->head, relaxed);
        atomic_store_explicit(&ring->tid, thread->tid, relaxed);
        ring_set_role(ring, role != NULL ? role : "");
        ring_set_state(thread, PROBE_STATE_IDLE, PROBE_CALL_NONE, 0, -1, now);
        /* Release: a reader that sees ever_used also sees role and tid. */
        atomic_store_explicit(&ring->ever_used, 1, release);

        /* Raise the high-water mark so readers scan only used rings. */
        uint32_t count = atomic_load_explicit(&seg->header.ring_count, relaxed);
        while (count < (uint32_t)index + 1 &&
               !atomic_compare_exchange_weak_explicit(&seg->header.ring_count, &count,
                                                      (uint32_t)index + 1, release, relaxed))
            ;
    }
    event_write(thread, now, PROBE_EV_THREAD_START, -1, (uint64_t)thread->tid, 0);
    return thread;
}

void probe_thread_end(struct probe_thread *thread)
{
    if (thread == NULL)
        return;
    uint64_t now = clock_now_ns();
    event_write(thread, now, PROBE_EV_THREAD_EXIT, -1, (uint64_t)thread->tid, 0);
    if (thread->ring != NULL) {
        atomic_store_explicit(&thread->ring->in_handler, 0, relaxed);
        ring_set_state(thread, PROBE_STATE_EXITED, PROBE_CALL_NONE, 0, -1, now);
        /* Release: the next owner sees our last head (see ring_claim). */
        atomic_store_explicit(&thread->ring->in_use, 0, release);
    }
    free(thread);
}

struct probe *probe_thread_probe(struct probe_thread *thread)
{
    return thread != NULL ? thread->probe : NULL;
}

void probe_emit(struct probe_thread *thread, enum probe_event_kind kind,
                int fd, uint64_t a, uint64_t b)
{
    if (thread == NULL)
        return;
    event_write(thread, clock_now_ns(), kind, fd, a, b);
}

void probe_emit_at(struct probe_thread *thread, uint64_t t_ns, enum probe_event_kind kind,
                   int fd, uint64_t a, uint64_t b)
{
    if (thread == NULL)
        return;
    event_write(thread, t_ns, kind, fd, a, b);
}

uint64_t probe_clock_ns(const struct probe_thread *thread)
{
    return thread != NULL ? clock_now_ns() : 0;
}

void probe_block_begin(struct probe_thread *thread, enum probe_call call, int fd)
{
    if (thread != NULL)
        probe_block_begin_at(thread, clock_now_ns(), call, fd);
}

void probe_block_begin_at(struct probe_thread *thread, uint64_t now, enum probe_call call,
                          int fd)
{
    if (thread == NULL)
        return;
    thread->block_start_ns = now;
    ring_set_state(thread, PROBE_STATE_BLOCKED, call, 0, fd, now);
    event_write(thread, now, PROBE_EV_BLOCK_BEGIN, fd, call, 0);
}

void probe_block_end(struct probe_thread *thread, enum probe_call call, int fd)
{
    if (thread != NULL)
        probe_block_end_at(thread, clock_now_ns(), call, fd);
}

void probe_block_end_at(struct probe_thread *thread, uint64_t now, enum probe_call call, int fd)
{
    if (thread == NULL)
        return;
    uint64_t blocked = now - thread->block_start_ns;
    /* Back to what the thread was doing before it blocked. */
    if (thread->in_handler)
        ring_set_state(thread, PROBE_STATE_HANDLER, PROBE_CALL_NONE, thread->handler_route,
                       thread->handler_fd, thread->handler_start_ns);
    else
        ring_set_state(thread, PROBE_STATE_IDLE, PROBE_CALL_NONE, 0, -1, now);
    event_write(thread, now, PROBE_EV_BLOCK_END, fd, call, blocked);
}

void probe_handler_begin(struct probe_thread *thread, int fd, unsigned route)
{
    if (thread != NULL)
        probe_handler_begin_at(thread, clock_now_ns(), fd, route);
}

void probe_handler_begin_at(struct probe_thread *thread, uint64_t now, int fd, unsigned route)
{
    if (thread == NULL)
        return;
    thread->in_handler = true;
    thread->handler_route = route;
    thread->handler_fd = fd;
    thread->handler_start_ns = now;
    ring_set_state(thread, PROBE_STATE_HANDLER, PROBE_CALL_NONE, route, fd, now);
    /* Counted in our own ring with a plain store (probe_layout.h,
     * "Per-thread counts"); a thread without a ring uses the gauge. */
    if (thread->ring != NULL)
        atomic_store_explicit(&thread->ring->in_handler, 1, relaxed);
    else
        probe_gauge_add(thread->probe, PROBE_GAUGE_HANDLERS_RUNNING, 1);
    event_write(thread, now, PROBE_EV_HANDLER_BEGIN, fd, route, 0);
}

void probe_handler_end(struct probe_thread *thread, int fd, unsigned route)
{
    if (thread != NULL)
        probe_handler_end_at(thread, clock_now_ns(), fd, route);
}

void probe_handler_end_at(struct probe_thread *thread, uint64_t now, int fd, unsigned route)
{
    if (thread == NULL)
        return;
    uint64_t ran = thread->in_handler ? now - thread->handler_start_ns : 0;
    thread->in_handler = false;
    ring_set_state(thread, PROBE_STATE_IDLE, PROBE_CALL_NONE, 0, -1, now);
    struct probe_ring *ring = thread->ring;
    if (ring != NULL) {
        /* One writer per ring: load and store, no locked instruction. */
        atomic_store_explicit(&ring->in_handler, 0, relaxed);
        atomic_store_explicit(&ring->requests_done,
                              atomic_load_explicit(&ring->requests_done, relaxed) + 1, relaxed);
        histogram_record_owned(&thread->hists[probe_ring_hist_slot(PROBE_HIST_HANDLER_NS)], ran);
    } else {
        probe_gauge_add(thread->probe, PROBE_GAUGE_HANDLERS_RUNNING, -1);
        probe_gauge_add(thread->probe, PROBE_GAUGE_REQUESTS_DONE, 1);
        probe_hist_record(thread->probe, PROBE_HIST_HANDLER_NS, ran);
    }
    event_write(thread, now, PROBE_EV_HANDLER_END, fd, route, ran);
}

void probe_handlers_ran(struct probe_thread *thread, uint64_t start_ns, uint64_t end_ns,
                        int fd, unsigned route, unsigned count)
{
    if (thread == NULL || count == 0)
        return;
    uint64_t took = end_ns > start_ns ? end_ns - start_ns : 0;
    /* A run of one is the common case (no pipelining): no divide. */
    uint64_t share = count == 1 ? took : took / count;
    /* One slot for the whole run: readers expand it into its pairs
     * (probe_reader.c, expand_run()), so a pipelined handler costs the
     * ring a sixteenth of a slot instead of two. */
    event_write(thread, start_ns, PROBE_EV_HANDLER_RUN, fd,
                (uint64_t)(route & 0xffffu) | (uint64_t)count << 16, share);
    struct probe_ring *ring = thread->ring;
    if (ring != NULL) {
        atomic_store_explicit(&ring->requests_done,
                              atomic_load_explicit(&ring->requests_done, relaxed) + count,
                              relaxed);
        histogram_record_owned_times(&thread->hists[probe_ring_hist_slot(PROBE_HIST_HANDLER_NS)],
                                     share, count);
    } else {
        probe_gauge_add(thread->probe, PROBE_GAUGE_REQUESTS_DONE, count);
        for (unsigned i = 0; i < count; i++)
            probe_hist_record(thread->probe, PROBE_HIST_HANDLER_NS, share);
    }
}

#endif /* EVLAB_NO_PROBES */
