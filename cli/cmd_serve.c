/*
 * evlab serve — run one server model in the foreground until SIGINT or
 * SIGTERM.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli_util.h"
#include "commands.h"
#include "common/limits.h"
#include "loop/loop.h"
#include "server/server.h"
#include "common/clock.h"

static const char serve_usage[] =
    "usage: evlab serve --model blocking|threads|loop [options]\n"
    "\n"
    "Runs one server model on 127.0.0.1 with instrumentation, until Ctrl-C.\n"
    "Routes: /  /echo  /sleep/MS  /sleep/MS?block=1  /cpu/MS  /stats\n"
    "\n"
    "  -m, --model M          blocking | threads | loop (required)\n"
    "  -p, --port P           TCP port; 0 (default) picks a free one\n"
    "      --bind ADDR        IPv4 address to bind (default 127.0.0.1)\n"
    "  -n, --name NAME        instrumentation name (default MODEL-PID);\n"
    "                         watch it with 'evlab view NAME'\n"
    "      --max-body BYTES   largest request body (default 4m); past it: 413\n"
    "      --request-timeout T  a request must arrive whole within T of its\n"
    "                         first byte (default 10s); past it: 408 and a close\n"
    "      --idle-timeout T   close a connection without progress for T (default 60s)\n"
    "  threads model:\n"
    "      --max-threads N    connection threads before answering 503 (default 10000)\n"
    "      --stack-size BYTES stack per connection thread (default 64k)\n"
    "  loop model:\n"
    "      --backend B        poll (default) | epoll\n"
    "      --workers N        run /cpu on a pool of N threads (default 0: inline,\n"
    "                         which blocks the loop: the pitfall)\n"
    "      --no-backpressure  never pause reading a client whose replies pile up\n"
    "  -q, --quiet            print nothing but errors\n"
    "  -h, --help             this text\n"
    "\n"
    "Once listening, prints one line:\n"
    "  evlab serve: model M, listening on 127.0.0.1:PORT, instrumentation name NAME, pid PID\n";

/* The one server of this process, for the signal handler (which cannot be
 * given an argument). */
static struct server *running_server;

static void on_stop_signal(int signo)
{
    (void)signo;
    if (running_server != NULL)
        server_request_stop(running_server);
}

static void install_stop_handlers(void)
{
    /* No SA_RESTART: a blocked accept()/read() must return EINTR so the
     * model notices the stop request. */
    struct sigaction sa = { .sa_handler = on_stop_signal };
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

static bool backend_known(const char *name)
{
    for (const char *const *b = loop_backend_names; *b != NULL; b++)
        if (strcmp(*b, name) == 0)
            return true;
    return false;
}

/* What the command line asked for. */
struct serve_args {
    struct server_config config;
    bool quiet;
};

/* Parses the command line into *args, the way every evlab command does
 * (cli/cmd_view.c's parse_args is the model): options are parsed into
 * locals and handed back only when all of them were good.  Returns 0 to
 * go on, -1 when --help was printed (exit 0), or the exit status of a
 * usage error that was printed. */
static int parse_args(int argc, char **argv, struct serve_args *args)
{
    enum { OPT_BIND = 256, OPT_MAX_BODY, OPT_MAX_THREADS, OPT_STACK, OPT_BACKEND,
           OPT_WORKERS, OPT_NO_BACKPRESSURE, OPT_REQUEST_TIMEOUT, OPT_IDLE_TIMEOUT };
    static const struct option options[] = {
        { "model", required_argument, NULL, 'm' },
        { "port", required_argument, NULL, 'p' },
        { "bind", required_argument, NULL, OPT_BIND },
        { "name", required_argument, NULL, 'n' },
        { "max-body", required_argument, NULL, OPT_MAX_BODY },
        { "max-threads", required_argument, NULL, OPT_MAX_THREADS },
        { "stack-size", required_argument, NULL, OPT_STACK },
        { "backend", required_argument, NULL, OPT_BACKEND },
        { "workers", required_argument, NULL, OPT_WORKERS },
        { "no-backpressure", no_argument, NULL, OPT_NO_BACKPRESSURE },
        { "request-timeout", required_argument, NULL, OPT_REQUEST_TIMEOUT },
        { "idle-timeout", required_argument, NULL, OPT_IDLE_TIMEOUT },
        { "quiet", no_argument, NULL, 'q' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    struct server_config config = { .bind_addr = "127.0.0.1", .backend = "poll" };
    bool have_model = false, quiet = false;
    uint64_t value;
    int opt;

    optind = 1;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":m:p:n:qh", options, NULL)) != -1) {
        switch (opt) {
        case 'm':
            if (!server_model_parse(optarg, &config.model))
                return cli_usage_error("serve", serve_usage,
                                       "unknown model '%s' (blocking, threads or loop)", optarg);
            have_model = true;
            break;
        case 'p':
            if (!cli_parse_u64(optarg, 0, 65535, &value))
                return cli_usage_error("serve", serve_usage, "--port wants 0..65535, not '%s'", optarg);
            config.port = (int)value;
            break;
        case OPT_BIND:
            config.bind_addr = optarg;
            break;
        case 'n':
            config.name = optarg;
            break;
        case OPT_MAX_BODY:
            if (!cli_parse_size(optarg, &value) || value == 0 || value > (1u << 30))
                return cli_usage_error("serve", serve_usage,
                                       "--max-body wants a size from 1 to 1g, not '%s'", optarg);
            config.max_body = (size_t)value;
            break;
        case OPT_MAX_THREADS:
            if (!cli_parse_u64(optarg, 1, 1000000, &value))
                return cli_usage_error("serve", serve_usage,
                                       "--max-threads wants 1..1000000, not '%s'", optarg);
            config.max_threads = (unsigned)value;
            break;
        case OPT_STACK:
            if (!cli_parse_size(optarg, &value) || value < THREADS_MIN_STACK_BYTES ||
                value > (64u << 20))
                return cli_usage_error("serve", serve_usage,
                                       "--stack-size wants 16k..64m, not '%s'", optarg);
            config.stack_size = (size_t)value;
            break;
        case OPT_BACKEND:
            if (!backend_known(optarg))
                return cli_usage_error("serve", serve_usage,
                                       "unknown backend '%s' (poll or epoll)", optarg);
            config.backend = optarg;
            break;
        case OPT_WORKERS:
            if (!cli_parse_u64(optarg, 0, WORKERS_MAX, &value))
                return cli_usage_error("serve", serve_usage, "--workers wants 0..%d, not '%s'",
                                       WORKERS_MAX, optarg);
            config.workers = (unsigned)value;
            break;
        case OPT_NO_BACKPRESSURE:
            config.no_backpressure = true;
            break;
        case OPT_REQUEST_TIMEOUT:
        case OPT_IDLE_TIMEOUT: {
            uint64_t ns;
            /* 1 ms .. 1 day, whole milliseconds. */
            if (!cli_parse_duration(optarg, &ns) || ns < NS_PER_MS || ns > 86400 * NS_PER_S)
                return cli_usage_error("serve", serve_usage,
                                       "%s wants a duration from 1ms to 24h (e.g. 10s), not '%s'",
                                       opt == OPT_REQUEST_TIMEOUT ? "--request-timeout"
                                                                  : "--idle-timeout", optarg);
            uint32_t ms = (uint32_t)(ns / NS_PER_MS);
            if (opt == OPT_REQUEST_TIMEOUT)
                config.request_timeout_ms = ms;
            else
                config.idle_timeout_ms = ms;
            break;
        }
        case 'q':
            quiet = true;
            break;
        case 'h':
            fputs(serve_usage, stdout);
            return -1;
        case ':':
            return cli_usage_error("serve", serve_usage, "option '%s' needs a value", argv[optind - 1]);
        default:
            return cli_usage_error("serve", serve_usage, "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return cli_usage_error("serve", serve_usage, "unexpected argument '%s'", argv[optind]);
    if (!have_model)
        return cli_usage_error("serve", serve_usage, "--model is required");
    if (config.model != SERVER_LOOP && (config.workers > 0 || config.no_backpressure ||
                                        strcmp(config.backend, "poll") != 0))
        return cli_usage_error("serve", serve_usage,
                               "--backend, --workers and --no-backpressure are loop-model options");
    args->config = config;
    args->quiet = quiet;
    return 0;
}

int cmd_serve(int argc, char **argv)
{
    struct serve_args args;
    memset(&args, 0, sizeof args);
    int parsed = parse_args(argc, argv, &args);
    if (parsed != 0)
        return parsed < 0 ? 0 : parsed;
    struct server_config config = args.config;
    bool quiet = args.quiet;

    char err[256] = "";
    struct server *server;
    int rc = server_open(&server, &config, err, sizeof err);
    if (rc < 0) {
        fprintf(stderr, "evlab serve: %s\n", err);
        return 1;
    }
    running_server = server;
    install_stop_handlers();
    const char *name = server_instrumentation_name(server);
    if (!quiet) {
        printf("evlab serve: model %s, listening on %s:%d, instrumentation name %s, pid %d\n",
               server_model_name(config.model), config.bind_addr, server_port(server),
               name[0] ? name : "(probes compiled out)", (int)getpid());
        fflush(stdout);
    }
    rc = server_run(server);
    running_server = NULL;
    server_close(server);
    if (rc < 0) {
        fprintf(stderr, "evlab serve: event loop failed: error %d\n", -rc);
        return 1;
    }
    return 0;
}
