/*
 * bench_procstat.h — what a server process costs, read from /proc:
 *
 *   /proc/PID/status   VmHWM (peak resident memory), VmRSS, Threads
 *   /proc/PID/stat     utime + stime (CPU time, all threads, in ticks)
 *   /proc/PID/task/TID/status   voluntary_ctxt_switches and
 *                      nonvoluntary_ctxt_switches, summed over threads
 *                      (the process-level status file shows only the
 *                      main thread's switches)
 *
 * Context switches of threads that already exited are lost (the kernel
 * keeps them only for a later wait4()), so sample while the load runs.
 *
 * The parsers take the file text, so unit tests can feed them samples.
 * Errors: 0 or a negative errno (-ENOENT when the process is gone).
 */
#ifndef EVLAB_BENCH_PROCSTAT_H
#define EVLAB_BENCH_PROCSTAT_H

#include <stdint.h>
#include <sys/types.h>

struct bench_proc_sample {
    uint64_t vm_hwm_kb;       /* peak RSS since the process started */
    uint64_t vm_rss_kb;
    uint32_t threads;
    uint64_t cpu_ms;          /* user + system */
    uint64_t voluntary_ctxt;
    uint64_t involuntary_ctxt;
};

int bench_proc_parse_status(const char *text, struct bench_proc_sample *out);
int bench_proc_parse_stat(const char *text, long ticks_per_sec, struct bench_proc_sample *out);

/* Reads all of the above for a live process. */
int bench_proc_read(pid_t pid, struct bench_proc_sample *out);

#endif
