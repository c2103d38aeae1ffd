/*
 * fdlimit.c — raise RLIMIT_NOFILE for many connections (see the
 * header for why).  We raise the soft limit all the way to the hard one
 * rather than to exactly `needed`: the kernel charges nothing for a high
 * limit, and the run also opens a few descriptors we do not count.
 */
#include "net/fdlimit.h"

#include <errno.h>
#include <stdio.h>
#include <sys/resource.h>

int fdlimit_ensure(uint64_t needed, uint64_t *raised_to, char *err, size_t err_len)
{
    struct rlimit lim;

    if (raised_to != NULL)
        *raised_to = 0;
    if (getrlimit(RLIMIT_NOFILE, &lim) < 0) {
        snprintf(err, err_len, "getrlimit(RLIMIT_NOFILE) failed");
        return -EMFILE;
    }
    if (lim.rlim_cur != RLIM_INFINITY && lim.rlim_cur >= needed)
        return 0;
    if (lim.rlim_cur == RLIM_INFINITY)
        return 0;
    if (lim.rlim_max != RLIM_INFINITY && lim.rlim_max < needed) {
        snprintf(err, err_len,
                 "needs about %llu file descriptors, but the hard limit is %llu "
                 "(ulimit -Hn); ask an administrator to raise it "
                 "(/etc/security/limits.conf, or LimitNOFILE= for a service), "
                 "or use fewer connections",
                 (unsigned long long)needed, (unsigned long long)lim.rlim_max);
        return -EMFILE;
    }
    lim.rlim_cur = lim.rlim_max != RLIM_INFINITY ? lim.rlim_max : (rlim_t)needed;
    if (setrlimit(RLIMIT_NOFILE, &lim) < 0) {
        snprintf(err, err_len, "setrlimit(RLIMIT_NOFILE, %llu) failed",
                 (unsigned long long)lim.rlim_cur);
        return -EMFILE;
    }
    if (raised_to != NULL)
        *raised_to = lim.rlim_cur;
    return 0;
}
