/*
 * fdlimit.h — make sure this process may open enough descriptors.
 *
 * Each connection is one descriptor, and the default soft limit
 * (ulimit -n, often 1024) is far below 10,000.  A process may raise its
 * own soft limit up to the hard limit without privileges, so we do that
 * when needed; past the hard limit only an administrator can help, and
 * the message says so.
 *
 * Errors: 0, or -EMFILE with `err` explaining the hard limit.
 */
#ifndef EVLAB_FDLIMIT_H
#define EVLAB_FDLIMIT_H

#include <stddef.h>
#include <stdint.h>

/* Ensures the soft RLIMIT_NOFILE is at least `needed`, raising it (to the
 * hard limit) when lower.  *raised_to (may be NULL) gets the new soft
 * limit, or 0 when nothing changed. */
int fdlimit_ensure(uint64_t needed, uint64_t *raised_to, char *err, size_t err_len);

#endif
