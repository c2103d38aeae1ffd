/*
 * server_accept.c — the accept step, written once for all three models.
 *
 *     fd = server_accept(server, thread, &spare);
 *     blocking, threads:  the listener blocks, so this waits for a client;
 *     loop:               the listener is non-blocking and readable, so
 *                         this takes one client from the queue, or says
 *                         the queue is empty (SERVER_ACCEPT_AGAIN).
 *
 * Out of descriptors (EMFILE/ENFILE): the accept queue still holds the
 * client, so a blocking accept() would fail at once, again and again, and
 * a readable listener would wake the loop on every turn: either way the
 * server spins at 100% CPU.  So the waiting client is shed with the
 * reserve descriptor (net.h): it sees a close instead of hanging
 * (SERVER_ACCEPT_SHED).  If even that fails, the caller stops accepting
 * for ACCEPT_PAUSE_MS (SERVER_ACCEPT_PAUSE): the blocking models sleep,
 * the loop stops watching the listener and serves the connections it has.
 *
 * The reserve itself can be lost: net_shed_connection() lends its slot out
 * for a moment, and another thread (the sampler reading /proc, say) may
 * take the slot first.  Without a reserve the next EMFILE could not shed
 * anyone.  A successful accept proves a slot is free again, so that is
 * when the reserve is taken back (one open(), and only after a loss).
 */
#include <errno.h>

#include "net/net.h"
#include "server/server_internal.h"

int server_accept(struct server *server, struct probe_thread *thread,
                  struct net_spare_fd *spare)
{
    /* Only a blocking listener waits: that wait is what the view shows. */
    bool waits = !server->ops->nonblocking_listener;

    if (waits)
        probe_block_begin(thread, PROBE_CALL_ACCEPT, server->listen_fd);
    int fd = net_accept(server->listen_fd, !waits);
    if (waits)
        probe_block_end(thread, PROBE_CALL_ACCEPT, server->listen_fd);
    if (fd == -EMFILE || fd == -ENFILE) {
        probe_gauge_add(server->probe, PROBE_GAUGE_ACCEPT_PAUSES, 1);
        if (net_shed_connection(server->listen_fd, spare) < 0)
            return SERVER_ACCEPT_PAUSE;
        return SERVER_ACCEPT_SHED;
    }
    if (fd < 0)
        return SERVER_ACCEPT_AGAIN;  /* EAGAIN, EINTR (the caller checks for a stop), transient */
    if (spare->fd < 0)
        net_spare_fd_open(spare);
    probe_emit(thread, PROBE_EV_ACCEPT, fd, 0, 0);
    probe_gauge_add(server->probe, PROBE_GAUGE_ACCEPTS, 1);
    return fd;
}
