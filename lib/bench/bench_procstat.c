/*
 * bench_procstat.c — sample a server's memory, threads, CPU time and
 * context switches from /proc (see the header for which file gives what).
 *
 * /proc/PID/stat is one line whose second field, the command name in
 * parentheses, may itself contain blanks and ')' — so we find the *last*
 * ')' and count fields from there, the one robust way to parse it.
 */
#include "bench/bench_procstat.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Finds "Key:" at the start of a line and parses the number after it. */
static bool status_field(const char *text, const char *key, uint64_t *out)
{
    size_t key_len = strlen(key);

    for (const char *line = text; line != NULL && *line; ) {
        if (strncmp(line, key, key_len) == 0 && line[key_len] == ':') {
            *out = strtoull(line + key_len + 1, NULL, 10);
            return true;
        }
        line = strchr(line, '\n');
        if (line != NULL)
            line++;
    }
    return false;
}

int bench_proc_parse_status(const char *text, struct bench_proc_sample *out)
{
    uint64_t threads = 0;

    if (!status_field(text, "VmHWM", &out->vm_hwm_kb) ||
        !status_field(text, "VmRSS", &out->vm_rss_kb) ||
        !status_field(text, "Threads", &threads))
        return -EPROTO;
    out->threads = (uint32_t)threads;
    return 0;
}

int bench_proc_parse_stat(const char *text, long ticks_per_sec, struct bench_proc_sample *out)
{
    const char *p = strrchr(text, ')');
    unsigned long long utime, stime;

    if (p == NULL || ticks_per_sec <= 0)
        return -EPROTO;
    /* After ")": field 3 (state) ... utime is field 14, stime field 15. */
    if (sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
               &utime, &stime) != 2)
        return -EPROTO;
    out->cpu_ms = (uint64_t)(utime + stime) * 1000u / (uint64_t)ticks_per_sec;
    return 0;
}

/* Reads a small /proc file into buf (NUL-terminated). */
static int read_text(const char *path, char *buf, size_t len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    size_t used = 0;

    if (fd < 0)
        return -errno;
    while (used + 1 < len) {
        ssize_t n = read(fd, buf + used, len - 1 - used);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        used += (size_t)n;
    }
    close(fd);
    buf[used] = '\0';
    return 0;
}

int bench_proc_read(pid_t pid, struct bench_proc_sample *out)
{
    char path[64], text[4096];
    int rc;

    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    if ((rc = read_text(path, text, sizeof text)) < 0)
        return rc;
    if ((rc = bench_proc_parse_status(text, out)) < 0)
        return rc;
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    if ((rc = read_text(path, text, sizeof text)) < 0)
        return rc;
    if ((rc = bench_proc_parse_stat(text, sysconf(_SC_CLK_TCK), out)) < 0)
        return rc;

    /* Context switches: the sum over every live thread. */
    snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
    DIR *dir = opendir(path);
    if (dir == NULL)
        return -errno;
    out->voluntary_ctxt = 0;
    out->involuntary_ctxt = 0;
    for (struct dirent *e; (e = readdir(dir)) != NULL; ) {
        uint64_t v = 0, nv = 0;
        char task_path[128];
        if (e->d_name[0] == '.')
            continue;
        snprintf(task_path, sizeof task_path, "/proc/%d/task/%.20s/status", (int)pid, e->d_name);
        if (read_text(task_path, text, sizeof text) < 0)
            continue;   /* the thread exited meanwhile */
        if (status_field(text, "voluntary_ctxt_switches", &v))
            out->voluntary_ctxt += v;
        if (status_field(text, "nonvoluntary_ctxt_switches", &nv))
            out->involuntary_ctxt += nv;
    }
    closedir(dir);
    return 0;
}
