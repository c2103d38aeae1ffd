/*
 * probe_writer.h — PRIVATE to lib/probe: the server-side object behind
 * `struct probe` (probe.h), shared by probe.c (segment, rings, events),
 * probe_sampler.c (the background sampler) and probe_stats_json.c.
 *
 * Nothing here exists when the probes are compiled out.
 */
#ifndef EVLAB_PROBE_WRITER_H
#define EVLAB_PROBE_WRITER_H

#ifndef EVLAB_NO_PROBES

#include <pthread.h>
#include <stdbool.h>
#include <sys/types.h>

#include "probe/probe_layout.h"

/* The sampler thread's controls (probe_sampler.c). */
struct probe_sampler {
    bool started;            /* a thread exists and must be joined */
    pthread_t thread;
    pthread_mutex_t lock;    /* protects `stop` */
    pthread_cond_t wake;     /* signalled to stop early */
    bool stop;
    int listen_fd;
    unsigned flags;          /* PROBE_SAMPLE_* */
};

struct probe {
    struct probe_segment *seg;   /* our read-write mapping */
    size_t map_len;
    char name[PROBE_NAME_MAX];
    dev_t dev;                   /* identity of our /dev/shm file, so   */
    ino_t ino;                   /* destroy never unlinks someone else's */
    struct probe_sampler sampler;
};

/* Stops and joins the sampler thread if one runs; called by
 * probe_destroy() before the segment is unmapped. */
void probe_sampler_stop(struct probe *probe);

#endif /* EVLAB_NO_PROBES */

#endif
