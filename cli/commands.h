/*
 * commands.h — the evlab subcommands, git style: `evlab serve ...` calls
 * cmd_serve(argc, argv) with argv[0] == "serve".
 *
 * Each command parses its own options (getopt_long), prints its usage on
 * --help and exits 0, and on a bad option prints one line
 * "evlab CMD: what is wrong", then its usage, and returns 2.
 * Return value: the process exit status.
 */
#ifndef EVLAB_COMMANDS_H
#define EVLAB_COMMANDS_H

int cmd_serve(int argc, char **argv);
int cmd_stats(int argc, char **argv);
int cmd_list(int argc, char **argv);
int cmd_load(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_view(int argc, char **argv);
int cmd_demo(int argc, char **argv);
int cmd_lesson(int argc, char **argv);
int cmd_record(int argc, char **argv);
int cmd_trace(int argc, char **argv);
int cmd_grade(int argc, char **argv);

#endif
