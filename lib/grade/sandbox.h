/*
 * sandbox.h — run one command in a contained child: the grader runs each
 * student build and each graded test through sandbox_run().
 *
 * What the child gets:
 *   - its own process group (setpgid), killed as a whole at the end;
 *   - limits: wall clock (the grader kills it), CPU seconds (RLIMIT_CPU),
 *     address space, file size, open descriptors, processes (RLIMIT_NPROC),
 *     no core files;
 *   - when the grader runs as root, an unprivileged uid of its own
 *     (sandbox_uid()): RLIMIT_NPROC is not enforced for root, so only a
 *     uid of its own keeps a fork bomb contained, and lets the grader kill
 *     every process of that uid afterwards, even ones that left the group;
 *   - stdin from /dev/null, stdout and stderr into one pipe that the
 *     grader drains without ever blocking: the first and the last
 *     SANDBOX_KEEP_BYTES/2 bytes are kept, the rest is counted.
 *
 * Ownership: argv/env/cwd belong to the caller; the result's output is
 * malloc'd and freed by sandbox_result_free().  Thread-safe: the grader
 * calls sandbox_run() from several worker threads at once, each with its
 * own slot (0 .. SANDBOX_MAX_SLOTS-1), so two children never share a uid.
 * Errors: 0 or a negative errno (the child could not be started).
 */
#ifndef EVLAB_SANDBOX_H
#define EVLAB_SANDBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Output kept per run: half from the start, half from the end. */
#define SANDBOX_KEEP_BYTES  (64 * 1024)
#define SANDBOX_MAX_SLOTS   8

struct sandbox_limits {
    int wall_ms;              /* killed after this (0 = no wall limit) */
    int cpu_s;                /* RLIMIT_CPU (0 = unlimited) */
    uint64_t mem_bytes;       /* RLIMIT_AS (0 = unlimited) */
    uint64_t fsize_bytes;     /* RLIMIT_FSIZE (0 = unlimited) */
    int nofile;               /* RLIMIT_NOFILE (0 = unchanged) */
    int nproc;                /* processes+threads beyond what the uid already runs (0 = unchanged) */
    int slot;                 /* which uid, for concurrent runs */
};

struct sandbox_result {
    int wait_status;          /* from wait4(); meaningless if timed_out */
    bool timed_out;           /* wall limit reached, the group was killed */
    double wall_s;            /* how long it ran */
    double cpu_s;             /* user+system CPU of the child itself */
    char *output;             /* kept output, NUL-terminated (malloc'd) */
    size_t output_len;
    size_t output_total;      /* bytes the child wrote in all */
    bool output_cut;          /* output_total > what was kept */
    char last_line[256];      /* last non-empty line of the output */
    int group_processes;      /* processes in its group when the wall limit hit (else 0) */
};

/* Runs argv[0] (a path) with argv, in cwd, with environ plus `extra_env`
 * ("KEY=value" strings, NULL-terminated, may be NULL) under `limits`.
 * Returns 0 with *out filled, or a negative errno if it could not start. */
int sandbox_run(const char *const argv[], const char *cwd, const char *const extra_env[],
                const struct sandbox_limits *limits, struct sandbox_result *out);
void sandbox_result_free(struct sandbox_result *r);

/* True when children run under their own uid (we are root and setuid works). */
bool sandbox_drops_privileges(void);
/* The uid/gid children of `slot` run as (only meaningful when dropping). */
uid_t sandbox_uid(int slot);
gid_t sandbox_gid(void);

/* "crashed with SIGSEGV (Segmentation fault)", "exited with status 3". */
const char *sandbox_describe_status(int wait_status, char *buf, size_t cap);

#endif
