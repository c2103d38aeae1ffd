/*
 * probe_segment.c — small facts about a segment that the writer, the
 * reader and `evlab list` all need: which names are allowed, what
 * shm_open() calls them, and whether the server behind one is alive.
 *
 * Liveness is decided from the 16-byte prefix every layout version
 * shares (probe_layout.h): a segment whose server called probe_destroy()
 * has its `closed` flag set; one whose server crashed or was killed still
 * says closed == 0, so we also ask the kernel whether its pid exists.
 * Pids are recycled, so a very old crashed segment can look alive if a
 * new process got the same pid; that only delays its cleanup.
 *
 * This file is compiled in every build, even with EVLAB_NO_PROBES,
 * because the reader side must work against other servers' segments.
 */
#include "probe/probe_layout.h"

#include <assert.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

bool probe_segment_name_valid(const char *name)
{
    if (name == NULL || name[0] == '\0' || name[0] == '.')
        return false;
    size_t len = strlen(name);
    if (len >= PROBE_NAME_MAX)
        return false;
    /* A conservative alphabet: no '/', no spaces, nothing a shell or a
     * terminal would mangle when the name is shown or typed back. */
    for (size_t i = 0; i < len; i++) {
        char c = name[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                  (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
        if (!ok)
            return false;
    }
    return true;
}

void probe_segment_shm_name(char *out, size_t out_len, const char *name)
{
    int n = snprintf(out, out_len, "/evlab.%s", name);
    assert(n > 0 && (size_t)n < out_len);
}

void probe_error(char *err, size_t err_len, const char *fmt, ...)
{
    if (err == NULL || err_len == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, err_len, fmt, ap);
    va_end(ap);
}

bool probe_pid_alive(int pid)
{
    if (pid <= 0)
        return false;
    /* Signal 0 only checks that the process exists and may be signalled.
     * EPERM: it exists but belongs to someone else — still alive. */
    if (kill((pid_t)pid, 0) == 0)
        return true;
    return errno == EPERM;
}

int probe_segment_read_prefix(int fd, struct probe_prefix *out, uint64_t *file_size)
{
    struct stat st;
    if (fstat(fd, &st) == -1)
        return -errno;
    if (file_size != NULL)
        *file_size = (uint64_t)st.st_size;
    if ((uint64_t)st.st_size < sizeof *out)
        return -EINVAL;

    /* pread copies bytes into our own struct; the atomics in it are then
     * ours alone, so reading them below is not a race with the writer. */
    ssize_t got;
    do {
        got = pread(fd, out, sizeof *out, 0);
    } while (got == -1 && errno == EINTR);
    if (got == -1)
        return -errno;
    if ((size_t)got < sizeof *out)
        return -EINVAL;
    if (atomic_load_explicit(&out->magic, memory_order_relaxed) != PROBE_MAGIC)
        return -EINVAL;
    return 0;
}

static uint32_t rings_claimed(const struct probe_segment *seg)
{
    uint32_t count = atomic_load_explicit(&seg->header.ring_count, memory_order_acquire);
    return count < PROBE_MAX_RINGS ? count : PROBE_MAX_RINGS;
}

int64_t probe_segment_gauge(const struct probe_segment *seg, enum probe_gauge gauge)
{
    int64_t value = atomic_load_explicit(&seg->gauges[gauge], memory_order_relaxed);
    int slot = probe_ring_gauge_slot(gauge);
    if (gauge != PROBE_GAUGE_HANDLERS_RUNNING && gauge != PROBE_GAUGE_REQUESTS_DONE &&
        slot < 0)
        return value;
    uint32_t count = rings_claimed(seg);
    for (uint32_t i = 0; i < count; i++) {
        const struct probe_ring *ring = &seg->rings[i];
        if (gauge == PROBE_GAUGE_HANDLERS_RUNNING)
            value += atomic_load_explicit(&ring->in_handler, memory_order_relaxed);
        else if (gauge == PROBE_GAUGE_REQUESTS_DONE)
            value += (int64_t)atomic_load_explicit(&ring->requests_done, memory_order_relaxed);
        else
            value += atomic_load_explicit(&ring->gauges[slot], memory_order_relaxed);
    }
    return value;
}

void probe_segment_totals(const struct probe_segment *seg, int64_t gauges[PROBE_GAUGE_COUNT],
                          struct histogram *handler)
{
    for (int g = 0; g < PROBE_GAUGE_COUNT; g++)
        gauges[g] = probe_segment_gauge(seg, (enum probe_gauge)g);
    probe_segment_hist(seg, PROBE_HIST_HANDLER_NS, handler);
}

void probe_segment_hist(const struct probe_segment *seg, enum probe_hist hist,
                        struct histogram *out)
{
    histogram_copy(out, &seg->hists[hist]);
    int slot = probe_ring_hist_slot(hist);
    if (slot < 0)
        return;
    uint32_t count = rings_claimed(seg);
    for (uint32_t i = 0; i < count; i++) {
        /* Acquire pairs with the release in probe_thread_begin(): a ring
         * marked used has its histograms set up. */
        if (atomic_load_explicit(&seg->rings[i].ever_used, memory_order_acquire) != 0)
            histogram_merge(out, &seg->ring_hists[i][slot]);
    }
}

bool probe_prefix_alive(const struct probe_prefix *prefix)
{
    if (atomic_load_explicit(&prefix->closed, memory_order_acquire) != 0)
        return false;
    return probe_pid_alive(prefix->pid);
}
