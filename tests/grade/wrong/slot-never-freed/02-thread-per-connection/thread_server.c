/*
 * thread_server.c — exercise 02, reference solution: an echo server with
 * one thread per connection and a cap on how many run at once.
 *
 * The main thread only accepts.  Each accepted client is handed to a new
 * detached thread that echoes it with plain blocking calls (the same
 * robust loop as exercise 01) and, when the client leaves, closes the
 * socket, gives back its slot and ends.  Nothing has to join it: a
 * detached thread's resources go back to the system when it returns.
 *
 * The cap.  `active` counts clients that own a thread.  The main thread
 * takes a slot before it creates a thread, and the thread gives the slot
 * back as its very last act, so the count never undercounts a running
 * thread.  A client that arrives while every slot is taken gets one line,
 * `busy: at most N clients\n`, and is closed at once: it learns why,
 * instead of hanging in the accept queue.
 *
 * Signals.  SIGTERM/SIGINT must reach the main thread (blocked in
 * accept()), so client threads are created with every signal blocked and
 * keep that mask; SIGUSR1, as in exercise 01, only interrupts calls.
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

/* One client thread's argument; the thread frees it. */
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

/* The body of one client thread: echo until EOF or error, then clean up
 * everything this client owned — socket, slot, probe ring, argument. */
static void *client_thread(void *arg)
{
    struct client *client = arg;
    struct server_state *server = client->server;
    int fd = client->fd;
    struct probe_thread *me = probe_thread_begin(server->probe, "client");
    char buf[16 * 1024];

    for (;;) {
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
    probe_thread_end(me);
    free(client);
    /* WRONG: the slot is never given back. */
    return NULL;
}

/* Tells a client past the cap why it is turned away, then closes it. */
static void refuse_client(struct server_state *server, struct probe_thread *me, int fd)
{
    char line[64];
    int len = snprintf(line, sizeof line, "busy: at most %d clients\n", server->max_clients);
    send_all(fd, line, (size_t)len);   /* best effort: it may be gone already */
    close(fd);
    probe_emit(me, PROBE_EV_REJECT, fd, 0, 0);
}

/* Starts a detached thread for the client, with every signal blocked (it
 * inherits the mask in force at pthread_create()).  0 or -errno. */
static int start_client_thread(struct server_state *server, int fd)
{
    struct client *client = malloc(sizeof *client);
    if (client == NULL)
        return -ENOMEM;
    client->server = server;
    client->fd = fd;

    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pthread_t tid;
    int rc = pthread_create(&tid, &attr, client_thread, client);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_attr_destroy(&attr);
    if (rc != 0) {
        free(client);
        return -rc;
    }
    return 0;
}

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

        /* Take a slot before the thread exists; refuse when none is free. */
        if (atomic_fetch_add(&server.active, 1) >= server.max_clients) {
            atomic_fetch_sub(&server.active, 1);
            refuse_client(&server, me, fd);
            continue;
        }
        probe_gauge_add(server.probe, PROBE_GAUGE_CONNECTIONS, 1);
        if (start_client_thread(&server, fd) < 0) {
            probe_gauge_add(server.probe, PROBE_GAUGE_CONNECTIONS, -1);
            atomic_fetch_sub(&server.active, 1);
            refuse_client(&server, me, fd);
        }
    }

    /* Client threads still running use the probe, so it may only be
     * destroyed once they are gone; give connected clients a moment to
     * leave.  Otherwise the process exit ends them and `evlab list`
     * removes the segment of a server that is no longer running. */
    close(listen_fd);
    probe_thread_end(me);
    for (int i = 0; i < 50 && atomic_load(&server.active) > 0; i++)
        usleep(10 * 1000);
    if (atomic_load(&server.active) == 0)
        probe_destroy(server.probe);
    return 0;
}
