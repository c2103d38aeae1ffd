/*
 * blocking_accept.c — the accept step of the two models that block in
 * accept() (blocking and threads), written once.
 *
 * Out of descriptors (EMFILE/ENFILE): the waiting client is shed with the
 * reserve descriptor rather than left hanging (net.h); if even that fails
 * we pause for ACCEPT_PAUSE_MS instead of spinning on a failing accept().
 *
 * The reserve itself can be lost: net_shed_connection() lends its slot out
 * for a moment, and another thread (the sampler reading /proc, say) may
 * take the slot first.  Without a reserve the next EMFILE could not shed
 * anyone.  A successful accept proves a slot is free again, so that is
 * when the reserve is taken back (one open(), and only after a loss).
 */
#include <errno.h>

#include "common/clock.h"
#include "common/limits.h"
#include "net/net.h"
#include "server/server_internal.h"

int server_accept_blocking(struct server *server, struct probe_thread *thread,
                           struct net_spare_fd *spare)
{
    probe_block_begin(thread, PROBE_CALL_ACCEPT, server->listen_fd);
    int fd = net_accept(server->listen_fd, false);
    probe_block_end(thread, PROBE_CALL_ACCEPT, server->listen_fd);
    if (fd == -EMFILE || fd == -ENFILE) {
        probe_gauge_add(server->probe, PROBE_GAUGE_ACCEPT_PAUSES, 1);
        if (net_shed_connection(server->listen_fd, spare) < 0)
            clock_sleep_ms(ACCEPT_PAUSE_MS);
        return -1;
    }
    if (fd < 0)
        return -1;   /* EINTR (the caller checks for a stop), or transient */
    if (spare->fd < 0)
        net_spare_fd_open(spare);
    probe_emit(thread, PROBE_EV_ACCEPT, fd, 0, 0);
    probe_gauge_add(server->probe, PROBE_GAUGE_ACCEPTS, 1);
    return fd;
}
