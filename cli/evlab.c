/*
 * evlab — one program, git-style subcommands.
 *
 * This file only finds the subcommand and hands it the rest of argv; each
 * command lives in its own cli/cmd_NAME.c and owns its options and usage.
 */
#include <stdio.h>
#include <string.h>

#include "cli_util.h"
#include "commands.h"

#define EVLAB_VERSION "0.1.0"

struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
};

static const struct command commands[] = {
    { "serve", cmd_serve, "run a server: --model blocking|threads|loop" },
    { "stats", cmd_stats, "print one snapshot of a running server's counters" },
    { "list",  cmd_list,  "list the running instrumented servers" },
    { "view",  cmd_view,  "watch running servers live, side by side (ncurses)" },
    { "demo",  cmd_demo,  "start all three models under load and watch them" },
    { "lesson", cmd_lesson, "list the lessons, or play one live (--plain --check: headless)" },
    { "load",  cmd_load,  "generate HTTP load and report latency percentiles" },
    { "record", cmd_record, "record running servers to a file (replay, trace)" },
    { "trace", cmd_trace, "convert a recording to Chrome trace JSON (Perfetto)" },
    { "bench", cmd_bench, "sweep models x connections x workloads, write CSV/SVG" },
    { "grade", cmd_grade, "build and grade exercises: a table, Gradescope JSON or JUnit" },
};
#define COMMAND_COUNT (sizeof commands / sizeof commands[0])

static void print_usage(FILE *to)
{
    fprintf(to, "usage: evlab [--version] [--help] COMMAND [ARGS]\n\ncommands:\n");
    for (size_t i = 0; i < COMMAND_COUNT; i++)
        fprintf(to, "  %-7s %s\n", commands[i].name, commands[i].summary);
    fprintf(to, "\n'evlab help COMMAND' or 'evlab COMMAND --help' explains one command.\n"
                "Start here: 'evlab demo' (the live side-by-side view).\n");
}

static const struct command *find_command(const char *name)
{
    for (size_t i = 0; i < COMMAND_COUNT; i++)
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        print_usage(stderr);
        return CLI_EXIT_USAGE;
    }
    const char *name = argv[1];
    if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0) {
        print_usage(stdout);
        return 0;
    }
    if (strcmp(name, "--version") == 0) {
        printf("evlab %s\n", EVLAB_VERSION);
        return 0;
    }
    if (strcmp(name, "help") == 0) {
        if (argc < 3) {
            print_usage(stdout);
            return 0;
        }
        const struct command *topic = find_command(argv[2]);
        if (topic == NULL) {
            fprintf(stderr, "evlab: no such command '%s'\n", argv[2]);
            print_usage(stderr);
            return CLI_EXIT_USAGE;
        }
        char *help_argv[] = { (char *)topic->name, "--help", NULL };
        return topic->run(2, help_argv);
    }
    const struct command *command = find_command(name);
    if (command == NULL) {
        fprintf(stderr, "evlab: '%s' is not an evlab command\n", name);
        print_usage(stderr);
        return CLI_EXIT_USAGE;
    }
    return command->run(argc - 1, argv + 1);
}
