/*
 * probe_reader.c — attach read-only to a server's segment and read it
 * (probe_reader.h).
 *
 * A reader maps the segment with PROT_READ, so nothing it does can
 * disturb the server: it never writes a byte the writer reads, never
 * takes a lock the writer needs.  All the coordination is one-sided and
 * lives in the data itself — each ring's head and each slot's sequence
 * number (protocol in probe_layout.h).
 *
 * Events.  The reader keeps, per ring, a cursor: the index of the next
 * event it has not yet returned.  Between two calls a ring's writer may
 * have written anything from nothing to many times the ring's size.  If
 * it wrote more than PROBE_RING_EVENTS, the oldest of those are already
 * overwritten: the cursor jumps forward to the oldest event still present
 * and the gap is added to *missed (only events written since the reader
 * attached count: see skip_to()).  The rings' new events are then merged
 * into one stream by timestamp — a k-way merge that repeatedly takes the
 * earliest "next event" among the rings with something left.  A linear
 * scan for that minimum is fine at a few hundred rings and easy to read.
 *
 * A HANDLER_RUN slot (a pipelined run of handlers timed together,
 * probe_handlers_ran()) is handed out as the BEGIN/END pairs it stands
 * for, one at a time and in time order like any event: run_next says how
 * far into it the reader is, so a call that ends mid-run resumes there.
 *
 * Time order is exact within one call.  Across calls it is very nearly
 * so: a writer takes its timestamp a moment before it publishes the
 * event, so an event can show up one call late with a time slightly
 * before events already returned.
 *
 * After the server exits the mapping stays valid (the kernel frees the
 * memory only when the last mapping goes), so the last picture can still
 * be read; probe_reader_writer_alive() tells the caller it is a picture.
 */
#include "probe/probe_layout.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common/clock.h"

/* How many times one call may find a ring's slot overwritten under it
 * before leaving that ring for the next call; only a writer far faster
 * than the reader can get there, and this keeps the call bounded. */
#define READER_MAX_LAPS 64

/* One ring's candidate for the merge: its next event, already copied. */
struct pending {
    int ring;
    bool have;
    uint32_t run_events;           /* the slot is a HANDLER_RUN of this many
                                      events (0: a plain event) */
    struct probe_event_record event;
};

struct probe_reader {
    const struct probe_segment *seg;
    size_t map_len;
    struct probe_info info;
    bool started;                          /* probe_reader_events() ran once */
    uint64_t cursor[PROBE_MAX_RINGS];      /* next event index per ring */
    uint32_t run_next[PROBE_MAX_RINGS];    /* within a HANDLER_RUN at the
                                              cursor: the next of its events */
    uint64_t attach_head[PROBE_MAX_RINGS]; /* head when the first call ran */
    struct pending pending[PROBE_MAX_RINGS];  /* merge scratch space */
};

static const memory_order relaxed = memory_order_relaxed;
static const memory_order acquire = memory_order_acquire;

/* --- Opening ------------------------------------------------------------ */

/* Checks the first 16 bytes; returns 0 or a negative errno with a
 * message that says what is wrong with the segment. */
static int check_prefix(int fd, const char *name, char *err, size_t err_len)
{
    struct probe_prefix prefix;
    uint64_t size = 0;
    int rc = probe_segment_read_prefix(fd, &prefix, &size);
    if (rc == -EINVAL && size < sizeof prefix) {
        probe_error(err, err_len,
                    "/dev/shm/evlab.%s is not an evlab segment (only %llu bytes)", name,
                    (unsigned long long)size);
        return rc;
    }
    if (rc == -EINVAL) {
        probe_error(err, err_len,
                    "/dev/shm/evlab.%s is not an evlab segment (bad magic number; or its "
                    "server is still starting)", name);
        return rc;
    }
    if (rc < 0) {
        probe_error(err, err_len, "reading /dev/shm/evlab.%s: %s", name, strerror(-rc));
        return rc;
    }
    if (prefix.layout_version != PROBE_LAYOUT_VERSION) {
        probe_error(err, err_len,
                    "server '%s' writes probe layout version %u but this evlab reads "
                    "version %u; run an evlab built from the same source",
                    name, prefix.layout_version, (unsigned)PROBE_LAYOUT_VERSION);
        return -EPROTO;
    }
    if (size < sizeof(struct probe_segment)) {
        probe_error(err, err_len,
                    "/dev/shm/evlab.%s is too small for layout version %u (%llu bytes, "
                    "need %zu)", name, (unsigned)PROBE_LAYOUT_VERSION,
                    (unsigned long long)size, sizeof(struct probe_segment));
        return -EINVAL;
    }
    return 0;
}

static void copy_field(char *dst, size_t dst_len, const char *src, size_t src_len)
{
    /* The segment is not trusted to NUL-terminate. */
    size_t n = strnlen(src, src_len);
    if (n >= dst_len)
        n = dst_len - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

static void info_fill(struct probe_info *info, const struct probe_header *header)
{
    info->layout_version = header->prefix.layout_version;
    copy_field(info->name, sizeof info->name, header->name, sizeof header->name);
    copy_field(info->model, sizeof info->model, header->model, sizeof header->model);
    info->port = atomic_load_explicit(&header->port, relaxed);
    info->pid = header->prefix.pid;
    info->start_realtime_ns = header->start_realtime_ns;
    info->start_mono_ns = header->start_mono_ns;
    info->alive = probe_prefix_alive(&header->prefix);
}

int probe_reader_open(struct probe_reader **out, const char *name,
                      char *err, size_t err_len)
{
    assert(out != NULL);
    *out = NULL;
    if (!probe_segment_name_valid(name)) {
        probe_error(err, err_len, "invalid server name '%s'", name != NULL ? name : "");
        return -EINVAL;
    }
    char shm_name[PROBE_NAME_MAX + 16];
    probe_segment_shm_name(shm_name, sizeof shm_name, name);

    int fd = shm_open(shm_name, O_RDONLY, 0);
    if (fd == -1) {
        int e = errno;
        if (e == ENOENT)
            probe_error(err, err_len, "no evlab server named '%s' (see evlab list)", name);
        else
            probe_error(err, err_len, "shm_open(%s): %s", shm_name, strerror(e));
        return -e;
    }
    int rc = check_prefix(fd, name, err, err_len);
    if (rc < 0) {
        close(fd);
        return rc;
    }

    struct probe_reader *reader = calloc(1, sizeof *reader);
    if (reader == NULL) {
        close(fd);
        probe_error(err, err_len, "out of memory");
        return -ENOMEM;
    }
    reader->map_len = sizeof(struct probe_segment);
    /* PROT_READ: a reader physically cannot change the server's data. */
    void *map = mmap(NULL, reader->map_len, PROT_READ, MAP_SHARED, fd, 0);
    int map_errno = errno;
    close(fd);                  /* the mapping outlives the descriptor */
    if (map == MAP_FAILED) {
        free(reader);
        probe_error(err, err_len, "mmap(%s): %s", shm_name, strerror(map_errno));
        return -map_errno;
    }
    reader->seg = map;

    const struct probe_header *header = &reader->seg->header;
    /* Acquire pairs with the writer's release store of the magic number:
     * every header field written before it is visible now. */
    if (atomic_load_explicit(&header->prefix.magic, acquire) != PROBE_MAGIC ||
        header->ring_capacity != PROBE_MAX_RINGS ||
        header->ring_events != PROBE_RING_EVENTS ||
        header->gauge_count != PROBE_GAUGE_COUNT || header->hist_count != PROBE_HIST_COUNT) {
        probe_error(err, err_len,
                    "/dev/shm/evlab.%s has layout version %u but different sizes "
                    "(rings, events, gauges); rebuild both sides from the same source",
                    name, (unsigned)PROBE_LAYOUT_VERSION);
        probe_reader_close(reader);
        return -EPROTO;
    }
    info_fill(&reader->info, header);
    *out = reader;
    return 0;
}

void probe_reader_close(struct probe_reader *reader)
{
    if (reader == NULL)
        return;
    munmap((void *)reader->seg, reader->map_len);
    free(reader);
}

const struct probe_info *probe_reader_info(const struct probe_reader *reader)
{
    return &reader->info;
}

bool probe_reader_writer_alive(const struct probe_reader *reader)
{
    return probe_prefix_alive(&reader->seg->header.prefix);
}

/* The header fields that may change: the port (set after bind) and
 * liveness. */
static void info_refresh(struct probe_reader *reader)
{
    reader->info.port = atomic_load_explicit(&reader->seg->header.port, relaxed);
    reader->info.alive = probe_reader_writer_alive(reader);
}

/* Rings to look at: the high-water mark of rings ever claimed. */
static uint32_t ring_count(const struct probe_reader *reader)
{
    uint32_t count = atomic_load_explicit(&reader->seg->header.ring_count, acquire);
    return count < PROBE_MAX_RINGS ? count : PROBE_MAX_RINGS;
}

/* --- Snapshots ---------------------------------------------------------- */

static void thread_info_fill(const struct probe_ring *ring, int index,
                             struct probe_thread_info *out)
{
    memset(out, 0, sizeof *out);
    out->ring = index;
    out->tid = atomic_load_explicit(&ring->tid, relaxed);
    char role[PROBE_ROLE_MAX];
    for (size_t w = 0; w < PROBE_ROLE_MAX / 8; w++) {
        uint64_t word = atomic_load_explicit(&ring->role[w], relaxed);
        memcpy(role + w * 8, &word, 8);
    }
    copy_field(out->role, sizeof out->role, role, sizeof role);
    probe_state_unpack(atomic_load_explicit(&ring->state, relaxed), out);
    out->since_ns = atomic_load_explicit(&ring->since_ns, relaxed);
    out->events_written = atomic_load_explicit(&ring->head, relaxed);
    out->outside_handler = atomic_load_explicit(&ring->in_handler, relaxed) == 0;
}

int probe_reader_snapshot(struct probe_reader *reader, struct probe_snapshot *out)
{
    const struct probe_segment *seg = reader->seg;
    info_refresh(reader);
    out->taken_ns = clock_now_ns();
    out->writer_alive = reader->info.alive;
    /* The gauges and some histograms are partly kept per ring. */
    for (size_t i = 0; i < PROBE_HIST_COUNT; i++)
        if (i != PROBE_HIST_HANDLER_NS)
            probe_segment_hist(seg, (enum probe_hist)i, &out->hists[i]);
    probe_segment_totals(seg, out->gauges, &out->hists[PROBE_HIST_HANDLER_NS]);

    out->thread_count = 0;
    uint32_t count = ring_count(reader);
    for (uint32_t i = 0; i < count; i++) {
        const struct probe_ring *ring = &seg->rings[i];
        /* Acquire pairs with the release in probe_thread_begin(). */
        if (atomic_load_explicit(&ring->ever_used, acquire) == 0)
            continue;
        thread_info_fill(ring, (int)i, &out->threads[out->thread_count++]);
    }
    return 0;
}

/* --- Events ------------------------------------------------------------- */

/* Event `part` of a HANDLER_RUN slot (probe_handlers_ran()): its handlers
 * as the BEGIN/END pairs one at a time would have written, `share` ns
 * each, back to back from the slot's time.  Callers see only pairs. */
static void expand_run(const struct probe_event_record *run, uint32_t part,
                       struct probe_event_record *out)
{
    uint64_t share = run->b;
    uint64_t handler = part / 2;
    bool end = part % 2 == 1;
    *out = *run;
    out->kind = end ? PROBE_EV_HANDLER_END : PROBE_EV_HANDLER_BEGIN;
    out->t_ns = run->t_ns + (handler + (end ? 1 : 0)) * share;
    out->a = run->a & 0xffffu;
    out->b = end ? share : 0;
}

static uint32_t run_event_count(const struct probe_event_record *run)
{
    uint64_t handlers = run->a >> 16;
    /* The writer never records an empty run; a bad count still yields a
     * pair rather than nothing, so the cursor always moves on. */
    if (handlers == 0 || handlers > UINT32_MAX / 2)
        handlers = 1;
    return (uint32_t)handlers * 2;
}

/* Moves a ring's cursor forward to `next` over events that were
 * overwritten before we read them.  Only events written after this reader
 * attached count as missed: the backlog a first call starts from was
 * never promised, and a writer that keeps going while we catch up on it
 * laps its oldest slots at once. */
static void skip_to(struct probe_reader *reader, int ring, uint64_t next, uint64_t *missed)
{
    uint64_t *cursor = &reader->cursor[ring];
    uint64_t from = *cursor > reader->attach_head[ring] ? *cursor : reader->attach_head[ring];
    if (next > from)
        *missed += next - from;
    *cursor = next;
    reader->run_next[ring] = 0;
}

/* Copies the event at the ring's cursor into p->event.  Moves the cursor
 * past events that were overwritten (adding them to *missed); returns
 * false when the ring has nothing more for now. */
static bool ring_peek(struct probe_reader *reader, struct pending *p, uint64_t *missed)
{
    const struct probe_ring *ring = &reader->seg->rings[p->ring];
    const struct probe_slot *slots = reader->seg->slots[p->ring];
    uint64_t *cursor = &reader->cursor[p->ring];

    for (int lap = 0; lap < READER_MAX_LAPS; lap++) {
        /* Acquire pairs with the writer's release store of head: the
         * slots below head are complete (unless overwritten since). */
        uint64_t head = atomic_load_explicit(&ring->head, acquire);
        if (*cursor >= head)
            return false;
        if (head - *cursor > PROBE_RING_EVENTS) {
            /* Lapped between calls: jump to the oldest event present. */
            skip_to(reader, p->ring, head - PROBE_RING_EVENTS, missed);
        }

        const struct probe_slot *slot = &slots[*cursor & (PROBE_RING_EVENTS - 1)];
        uint64_t want = *cursor + 1;
        uint64_t seq1 = atomic_load_explicit(&slot->seq, acquire);
        uint64_t t_ns = atomic_load_explicit(&slot->t_ns, acquire);
        uint64_t kind_fd = atomic_load_explicit(&slot->kind_fd, acquire);
        uint64_t a = atomic_load_explicit(&slot->a, acquire);
        uint64_t b = atomic_load_explicit(&slot->b, acquire);
        /* If any field above came from a newer write, the writer's
         * "seq = 0" is visible to this second load (probe_layout.h). */
        uint64_t seq2 = atomic_load_explicit(&slot->seq, relaxed);

        if (seq1 == want && seq2 == want) {
            p->event = (struct probe_event_record){
                .t_ns = t_ns,
                .kind = (uint16_t)(kind_fd >> 32),
                .ring = (uint16_t)p->ring,
                .fd = (int32_t)(uint32_t)kind_fd,
                .a = a,
                .b = b,
            };
            p->run_events = 0;
            if (p->event.kind == PROBE_EV_HANDLER_RUN) {
                struct probe_event_record run = p->event;
                p->run_events = run_event_count(&run);
                if (reader->run_next[p->ring] >= p->run_events)
                    reader->run_next[p->ring] = 0;
                expand_run(&run, reader->run_next[p->ring], &p->event);
            }
            return true;
        }
        /* The writer overwrote this slot while we read it: the event is
         * lost.  Skip it, and anything else already gone. */
        head = atomic_load_explicit(&ring->head, acquire);
        uint64_t next = *cursor + 1;
        if (head > PROBE_RING_EVENTS && head - PROBE_RING_EVENTS > next)
            next = head - PROBE_RING_EVENTS;
        skip_to(reader, p->ring, next, missed);
    }
    return false;
}

size_t probe_reader_events(struct probe_reader *reader,
                           struct probe_event_record *out, size_t max,
                           uint64_t *missed)
{
    info_refresh(reader);
    uint64_t lost = 0;
    uint32_t count = ring_count(reader);

    /* Gather each ring's first new event. */
    size_t active = 0;
    for (uint32_t r = 0; r < count; r++) {
        if (!reader->started) {
            /* First call: start at the oldest event still present. */
            uint64_t head = atomic_load_explicit(&reader->seg->rings[r].head, acquire);
            reader->cursor[r] = head > PROBE_RING_EVENTS ? head - PROBE_RING_EVENTS : 0;
            reader->run_next[r] = 0;
            reader->attach_head[r] = head;
        }
        struct pending *p = &reader->pending[active];
        p->ring = (int)r;
        p->have = ring_peek(reader, p, &lost);
        if (p->have)
            active++;
    }
    reader->started = true;

    /* Merge: always take the earliest of the rings' next events. */
    size_t stored = 0;
    while (stored < max && active > 0) {
        size_t best = 0;
        for (size_t i = 1; i < active; i++) {
            if (reader->pending[i].event.t_ns < reader->pending[best].event.t_ns)
                best = i;
        }
        struct pending *p = &reader->pending[best];
        out[stored++] = p->event;
        /* A HANDLER_RUN slot stays at the cursor until all its events
         * are out; then, as after any other event, the cursor moves on. */
        if (p->run_events == 0 || ++reader->run_next[p->ring] >= p->run_events) {
            reader->cursor[p->ring]++;
            reader->run_next[p->ring] = 0;
        }
        p->have = ring_peek(reader, p, &lost);
        if (!p->have)
            reader->pending[best] = reader->pending[--active];  /* swap-remove */
    }

    if (missed != NULL)
        *missed += lost;
    return stored;
}
