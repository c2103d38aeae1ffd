/*
 * server.c — what every model does the same way: bind the socket, create
 * the instrumentation segment, route signals to the serving thread, and
 * hand over to the model's own run().  Everything that differs between
 * the models is behind struct server_model_ops, in the model's own file
 * (server_blocking.c, server_threads.c, server_loop.c).
 */
#include "server/server.h"

#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/limits.h"
#include "net/fdlimit.h"
#include "net/net.h"
#include "server/server_internal.h"

static const struct {
    const char *name;
    enum server_model model;
    const struct server_model_ops *ops;
} models[] = {
    { "blocking", SERVER_BLOCKING, &server_blocking_ops },
    { "threads",  SERVER_THREADS,  &server_threads_ops },
    { "loop",     SERVER_LOOP,     &server_loop_ops },
};
#define MODEL_COUNT (sizeof models / sizeof models[0])

bool server_model_parse(const char *text, enum server_model *out)
{
    for (size_t i = 0; i < MODEL_COUNT; i++)
        if (strcmp(models[i].name, text) == 0) {
            *out = models[i].model;
            return true;
        }
    return false;
}

const char *server_model_name(enum server_model model)
{
    for (size_t i = 0; i < MODEL_COUNT; i++)
        if (models[i].model == model)
            return models[i].name;
    return "?";
}

static const struct server_model_ops *ops_for(enum server_model model)
{
    for (size_t i = 0; i < MODEL_COUNT; i++)
        if (models[i].model == model)
            return models[i].ops;
    return NULL;
}

void server_block_stop_signals(sigset_t *previous)
{
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, previous);
}

void server_unblock_stop_signals(void)
{
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_UNBLOCK, &stop, NULL);
}

int server_open(struct server **out, const struct server_config *config,
                char *err, size_t err_len)
{
    *out = NULL;
    const struct server_model_ops *ops = ops_for(config->model);
    if (ops == NULL) {
        snprintf(err, err_len, "unknown model %d", (int)config->model);
        return -EINVAL;
    }
    struct server *server = calloc(1, sizeof *server);
    if (server == NULL) {
        snprintf(err, err_len, "out of memory");
        return -ENOMEM;
    }
    server->config = *config;
    if (server->config.bind_addr == NULL)
        server->config.bind_addr = "127.0.0.1";
    if (server->config.max_body == 0)
        server->config.max_body = HTTP_DEFAULT_MAX_BODY;
    if (server->config.request_timeout_ms == 0)
        server->config.request_timeout_ms = HTTP_REQUEST_TIMEOUT_MS;
    if (server->config.idle_timeout_ms == 0)
        server->config.idle_timeout_ms = HTTP_IDLE_TIMEOUT_MS;
    server->ops = ops;
    atomic_init(&server->stop_requested, false);
    net_ignore_sigpipe();
    /* One descriptor per connection: the default soft limit (often 1024)
     * would cap the loop far below the 10,000 connections it can hold.
     * Raising the soft limit to the hard one needs no privilege; if the
     * hard limit is low, we run anyway and shed connections at EMFILE. */
    char limit_err[256];
    fdlimit_ensure(THREADS_DEFAULT_MAX + 64, NULL, limit_err, sizeof limit_err);
    /* Every helper thread started from here on (sampler, workers,
     * connection threads) inherits this mask, so SIGINT/SIGTERM can only
     * land in the thread that will call server_run(). */
    server_block_stop_signals(NULL);

    int fd = net_listen(server->config.bind_addr, config->port, SERVER_LISTEN_BACKLOG,
                        ops->nonblocking_listener, err, err_len);
    if (fd < 0) {
        free(server);
        return fd;
    }
    server->listen_fd = fd;
    server->port = net_local_port(fd);

    struct probe_config probe_config = {
        .name = config->name, .model = ops->name, .port = server->port,
    };
    int rc = probe_create(&server->probe, &probe_config, err, err_len);
    if (rc < 0) {
        close(fd);
        free(server);
        return rc;
    }
    rc = ops->open(server, err, err_len);
    if (rc < 0) {
        probe_destroy(server->probe);
        close(fd);
        free(server);
        return rc;
    }
    *out = server;
    return 0;
}

int server_run(struct server *server)
{
    server_unblock_stop_signals();
    return server->ops->run(server);
}

void server_request_stop(struct server *server)
{
    atomic_store(&server->stop_requested, true);
    server->ops->wake(server);
}

void server_close(struct server *server)
{
    if (server == NULL)
        return;
    bool released = server->ops->close(server);
    close(server->listen_fd);
    if (!released)
        return;   /* the process is exiting; its threads still use these */
    probe_destroy(server->probe);
    free(server);
}

int server_port(const struct server *server)
{
    return server->port;
}

const char *server_instrumentation_name(const struct server *server)
{
    return probe_name(server->probe);
}
