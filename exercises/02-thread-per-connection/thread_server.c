/*
 * thread_server.c — exercise 02: an echo server with one thread per
 * connection and a cap on how many run at once.
 *
 * This file is what you hand in.  As given, it is a correct echo server
 * that serves ONE client at a time: main() accepts a client and calls
 * serve_client() itself, so every other client waits in the accept queue
 * until that one leaves.  Make it concurrent:
 *
 *   1. Hand each accepted client to a new thread that runs
 *      serve_client() (start_client_thread() below is the place).  Create
 *      the thread detached, or join it, so its resources are given back.
 *   2. When the client leaves, the thread must close the socket and end:
 *      after 1,000 clients the server has as many threads and descriptors
 *      as before the first.
 *   3. Cap the number of clients served at once at --max-clients (default
 *      64).  A client past the cap gets exactly the line
 *      `busy: at most N clients\n` and is closed; count a slot as free
 *      only once its thread is done with it.
 *
 * Signals: SIGTERM/SIGINT set stop_requested and interrupt accept() in
 * the main thread.  A new thread inherits the signal mask of its creator,
 * so block every signal around pthread_create() (pthread_sigmask) to keep
 * the stop signal going to the main thread.  SIGUSR1 only interrupts
 * calls, as in exercise 01.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/net.h"
#include "probe/probe.h"

#define DEFAULT_MAX_CLIENTS 64

static volatile sig_atomic_t stop_requested;

/* What every client thread shares with the main thread. */
struct server_state {
    struct probe *probe;
    int max_clients;
    atomic_int active;        /* clients that own a thread right now */
};

/* One client thread's argument (for your thread start function). */
struct client {
    struct server_state *server;
    int fd;
};

static void on_stop_signal(int signo)
{
    (void)signo;
    stop_requested = 1;
}

static void on_interrupt_signal(int signo)
{
    (void)signo;
}

static void install_handler(int signo, void (*handler)(int))
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = handler;
    sigemptyset(&sa.sa_mask);
    sigaction(signo, &sa, NULL);   /* no SA_RESTART: calls return EINTR */
}

/* Sends all `len` bytes, retrying EINTR and finishing short writes.
 * Returns 0, or a negative errno when the client went away. */
static int send_all(int fd, const char *buf, size_t len)
{
    size_t sent = 0;
    while (sent < len) {
        ssize_t n = send(fd, buf + sent, len - sent, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        sent += (size_t)n;
    }
    return 0;
}

/* Echoes one client until EOF or error, then closes its socket.
 * TODO: run this in the client's own thread (the thread's start function
 * gets one void * argument: pass a malloc'ed struct client and free it
 * here), and give the client's slot back when it is done. */
static void serve_client(struct server_state *server, struct probe_thread *me, int fd)
{
    char buf[16 * 1024];
    while (!stop_requested) {
        probe_block_begin(me, PROBE_CALL_READ, fd);
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        probe_block_end(me, PROBE_CALL_READ, fd);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;                         /* EOF or reset: this client is done */
        probe_emit(me, PROBE_EV_READ, fd, (uint64_t)n, 0);
        if (send_all(fd, buf, (size_t)n) < 0)
            break;
        probe_emit(me, PROBE_EV_WRITE, fd, (uint64_t)n, 0);
    }
    close(fd);
    probe_emit(me, PROBE_EV_CLOSE, fd, 0, 0);
    probe_gauge_add(server->probe, PROBE_GAUGE_CONNECTIONS, -1);
}

/* TODO: refuse a client past the cap: send `busy: at most N clients\n`
 * (N = server->max_clients), then close it. */

/* TODO: start a thread for the client (pthread_create, detached), with
 * every signal blocked while it is created.  Returns 0 or -errno. */

static void parse_args(int argc, char **argv, int *port, int *max_clients)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--port") == 0 && i + 1 < argc)
            *port = atoi(argv[++i]);
        else if (strcmp(argv[i], "--max-clients") == 0 && i + 1 < argc)
            *max_clients = atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: %s [--port N] [--max-clients N]\n", argv[0]);
            exit(2);
        }
    }
    if (*max_clients < 1) {
        fprintf(stderr, "thread_server: --max-clients must be at least 1\n");
        exit(2);
    }
}

int main(int argc, char **argv)
{
    int port = 0;
    struct server_state server = { .max_clients = DEFAULT_MAX_CLIENTS };
    parse_args(argc, argv, &port, &server.max_clients);
    atomic_init(&server.active, 0);

    char err[256];
    int listen_fd = net_listen("127.0.0.1", port, 128, false, err, sizeof err);
    if (listen_fd < 0) {
        fprintf(stderr, "thread_server: %s\n", err);
        return 1;
    }
    port = net_local_port(listen_fd);
    install_handler(SIGTERM, on_stop_signal);
    install_handler(SIGINT, on_stop_signal);
    install_handler(SIGUSR1, on_interrupt_signal);

    char name[64];
    const char *env_name = getenv("EVLAB_PROBE_NAME");
    snprintf(name, sizeof name, "%s", env_name ? env_name : "");
    if (name[0] == '\0')
        snprintf(name, sizeof name, "ex02-%d", (int)getpid());
    if (probe_create(&server.probe, &(struct probe_config){ .name = name, .model = "threads",
                                                            .port = port }, err, sizeof err) < 0)
        fprintf(stderr, "thread_server: no probe (%s); serving anyway\n", err);
    struct probe_thread *me = probe_thread_begin(server.probe, "acceptor");

    printf("listening on port %d\n", port);
    fflush(stdout);

    while (!stop_requested) {
        probe_block_begin(me, PROBE_CALL_ACCEPT, listen_fd);
        int fd = accept(listen_fd, NULL, NULL);
        probe_block_end(me, PROBE_CALL_ACCEPT, listen_fd);
        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE)
                usleep(100 * 1000);       /* out of descriptors: wait, don't spin */
            continue;
        }
        probe_emit(me, PROBE_EV_ACCEPT, fd, 0, 0);

        /* TODO: past the cap, refuse the client; otherwise take a slot
         * and start a thread for it instead of serving it right here. */
        probe_gauge_add(server.probe, PROBE_GAUGE_CONNECTIONS, 1);
        serve_client(&server, me, fd);
    }

    /* With client threads, destroy the probe only once none is running
     * any more (they use it); see the README's hints. */
    close(listen_fd);
    probe_thread_end(me);
    probe_destroy(server.probe);
    return 0;
}
