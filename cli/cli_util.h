/*
 * cli_util.h — option parsing helpers shared by the subcommands, so every
 * command rejects bad input the same way: one line naming the option and
 * the value, then the usage, exit status 2.
 */
#ifndef EVLAB_CLI_UTIL_H
#define EVLAB_CLI_UTIL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define CLI_EXIT_USAGE 2

/* Prints "evlab CMD: <message>\n" and the usage text to stderr; returns
 * CLI_EXIT_USAGE so callers can `return cli_usage_error(...)`. */
int cli_usage_error(const char *cmd, const char *usage, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Parses a whole decimal number in [min, max]; false on anything else
 * (empty, trailing junk, sign, overflow). */
bool cli_parse_u64(const char *text, uint64_t min, uint64_t max, uint64_t *out);

/* Parses a duration: "250ms", "10s", "2m", "1h", or a bare number of
 * seconds.  Returns nanoseconds through *out_ns; false when malformed. */
bool cli_parse_duration(const char *text, uint64_t *out_ns);

/* Parses a byte size: "64k", "1m", "512" (bytes).  false when malformed. */
bool cli_parse_size(const char *text, uint64_t *out);

#endif
