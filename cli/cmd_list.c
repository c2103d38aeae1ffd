/*
 * evlab list — the instrumented servers on this machine (segments named
 * evlab.* in /dev/shm), and whether each is still running.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli_util.h"
#include "commands.h"
#include "probe/probe_reader.h"

static const char list_usage[] =
    "usage: evlab list [--clean]\n"
    "\n"
    "Lists instrumented evlab servers: name, model, pid, port, state.\n"
    "A server killed with SIGKILL leaves its segment behind (state 'gone');\n"
    "--clean removes those.\n";

enum { LIST_MAX = 256 };

/* What the command line asked for. */
struct list_args {
    bool clean;
};

/* Parses the command line into *args, the way every evlab command does
 * (cli/cmd_view.c's parse_args is the model): options are parsed into
 * locals and handed back only when all of them were good.  Returns 0 to
 * go on, -1 when --help was printed (exit 0), or the exit status of a
 * usage error that was printed. */
static int parse_args(int argc, char **argv, struct list_args *args)
{
    static const struct option options[] = {
        { "clean", no_argument, NULL, 'c' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    bool clean = false;
    int opt;
    optind = 1;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        if (opt == 'c')
            clean = true;
        else if (opt == 'h') {
            fputs(list_usage, stdout);
            return -1;
        } else
            return cli_usage_error("list", list_usage, "unknown option '%s'", argv[optind - 1]);
    }
    if (optind != argc)
        return cli_usage_error("list", list_usage, "unexpected argument '%s'", argv[optind]);
    args->clean = clean;
    return 0;
}

int cmd_list(int argc, char **argv)
{
    struct list_args args = { 0 };
    int parsed = parse_args(argc, argv, &args);
    if (parsed != 0)
        return parsed < 0 ? 0 : parsed;
    if (args.clean) {
        int removed = probe_list_clean();
        printf("removed %d segment%s of servers that are gone\n", removed < 0 ? 0 : removed,
               removed == 1 ? "" : "s");
    }
    static struct probe_info infos[LIST_MAX];
    int found = probe_list(infos, LIST_MAX);
    if (found < 0) {
        fprintf(stderr, "evlab list: cannot read /dev/shm\n");
        return 1;
    }
    if (found == 0) {
        printf("no evlab servers running (start one: evlab serve --model loop)\n");
        return 0;
    }
    printf("%-24s %-9s %8s %6s  %s\n", "NAME", "MODEL", "PID", "PORT", "STATE");
    for (int i = 0; i < found && i < LIST_MAX; i++)
        printf("%-24s %-9s %8d %6d  %s\n", infos[i].name, infos[i].model, infos[i].pid,
               infos[i].port, infos[i].alive ? "running" : "gone");
    if (found > LIST_MAX)
        printf("(%d more not shown)\n", found - LIST_MAX);
    return 0;
}
