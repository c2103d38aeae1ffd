/*
 * probe_list.c — which evlab servers exist on this machine (`evlab
 * list`), and removing the segments of those that died.
 *
 * POSIX shared memory on Linux is a tmpfs mounted at /dev/shm, and
 * shm_open("/evlab.x") is the file /dev/shm/evlab.x, so listing servers
 * is listing that directory.  We read only the small header of each
 * segment with pread(): mapping 40 MiB per entry just to print a line
 * would be wasteful.
 *
 * A crashed server never runs probe_destroy(), so its segment stays
 * until someone removes it.  probe_list_clean() does that for every
 * segment whose prefix says its server is gone.  Files named evlab.*
 * that are not evlab segments are listed (so a person can see them) but
 * never removed: we only delete what we can prove is ours and dead.
 */
#include "probe/probe_layout.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define SHM_DIR    "/dev/shm"
#define SHM_PREFIX "evlab."

/* The part of a directory entry after "evlab.", or NULL if the entry is
 * not one of ours by name. */
static const char *segment_name(const struct dirent *entry)
{
    size_t prefix_len = strlen(SHM_PREFIX);
    if (strncmp(entry->d_name, SHM_PREFIX, prefix_len) != 0)
        return NULL;
    const char *name = entry->d_name + prefix_len;
    return probe_segment_name_valid(name) ? name : NULL;
}

/* Fills what the segment's header says.  Fields stay zero when the file
 * cannot be read or is not ours; the name always comes from the file
 * name, which is what a user types to `evlab view`.  Returns false when
 * the segment vanished since readdir() saw it (someone cleaned it up). */
static bool info_read(const char *name, struct probe_info *info)
{
    memset(info, 0, sizeof *info);
    snprintf(info->name, sizeof info->name, "%s", name);

    char shm_name[PROBE_NAME_MAX + 16];
    probe_segment_shm_name(shm_name, sizeof shm_name, name);
    int fd = shm_open(shm_name, O_RDONLY, 0);
    if (fd == -1)
        return errno != ENOENT;
    struct probe_header header;
    uint64_t size = 0;
    if (probe_segment_read_prefix(fd, &header.prefix, &size) == 0) {
        /* The prefix is the same in every version, so pid and liveness
         * are known even for a segment written by another evlab. */
        info->layout_version = header.prefix.layout_version;
        info->pid = header.prefix.pid;
        info->alive = probe_prefix_alive(&header.prefix);
        if (header.prefix.layout_version == PROBE_LAYOUT_VERSION && size >= sizeof header &&
            pread(fd, &header, sizeof header, 0) == (ssize_t)sizeof header) {
            size_t n = strnlen(header.model, sizeof header.model);
            if (n >= sizeof info->model)
                n = sizeof info->model - 1;
            memcpy(info->model, header.model, n);
            info->port = atomic_load_explicit(&header.port, memory_order_relaxed);
            info->start_realtime_ns = header.start_realtime_ns;
            info->start_mono_ns = header.start_mono_ns;
        }
    }
    close(fd);
    return true;
}

static int info_compare(const void *a, const void *b)
{
    const struct probe_info *x = a, *y = b;
    return strcmp(x->name, y->name);
}

int probe_list(struct probe_info *out, size_t max)
{
    DIR *dir = opendir(SHM_DIR);
    if (dir == NULL)
        return -errno;
    int total = 0;
    size_t stored = 0;
    struct dirent *entry;
    while ((entry = readdir(dir)) != NULL) {
        const char *name = segment_name(entry);
        if (name == NULL)
            continue;
        if (stored < max) {
            if (!info_read(name, &out[stored]))
                continue;     /* gone already: do not list it */
            stored++;
        }
        total++;
    }
    closedir(dir);
    /* Directory order is arbitrary; sorted output is easier to scan. */
    if (stored > 1)
        qsort(out, stored, sizeof out[0], info_compare);
    return total;
}

int probe_list_clean(void)
{
    DIR *dir = opendir(SHM_DIR);
    if (dir == NULL)
        return -errno;
    int removed = 0;
    struct dirent *entry;
    while ((entry = readdir(dir)) != NULL) {
        const char *name = segment_name(entry);
        if (name == NULL)
            continue;
        char shm_name[PROBE_NAME_MAX + 16];
        probe_segment_shm_name(shm_name, sizeof shm_name, name);
        int fd = shm_open(shm_name, O_RDONLY, 0);
        if (fd == -1)
            continue;
        struct probe_prefix prefix;
        bool dead = probe_segment_read_prefix(fd, &prefix, NULL) == 0 &&
                    !probe_prefix_alive(&prefix);
        close(fd);
        if (dead && shm_unlink(shm_name) == 0)
            removed++;
    }
    closedir(dir);
    return removed;
}
