/*
 * cli_util.c — the option parsing helpers every subcommand shares.
 *
 * Design: each parser takes the whole text of one option value and either
 * accepts all of it or rejects it.  strtoull() alone would accept " 12",
 * "-1" (wrapping to a huge number) and "12abc"; evlab wants a student who
 * typed "-c 1O" to hear about it, so we check the first character, the end
 * pointer and ERANGE ourselves.  Nothing here prints except
 * cli_usage_error(), which is the one place the "evlab CMD: message" +
 * usage + exit status 2 convention lives.
 */
#include "cli_util.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/decimal.h"

int cli_usage_error(const char *cmd, const char *usage, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "evlab %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    if (usage != NULL)
        fputs(usage, stderr);
    return CLI_EXIT_USAGE;
}

/* Parses the leading decimal digits of `text` into *value and leaves *end
 * after them.  Rejects an empty digit run, a sign or leading blanks (which
 * strtoull would quietly accept) and overflow. */
static bool parse_digits(const char *text, uint64_t *value, const char **end)
{
    size_t digits;

    if (text == NULL)
        return false;
    digits = decimal_parse_prefix(text, strlen(text), UINT64_MAX, value);
    *end = text + digits;
    return digits > 0;
}

bool cli_parse_u64(const char *text, uint64_t min, uint64_t max, uint64_t *out)
{
    uint64_t v;
    const char *end;

    if (!parse_digits(text, &v, &end) || *end != '\0')
        return false;
    if (v < min || v > max)
        return false;
    *out = v;
    return true;
}

/* Multiplies with an overflow check, so "99999999999h" is an error and not
 * a wrapped, surprisingly short duration. */
static bool mul_checked(uint64_t a, uint64_t b, uint64_t *out)
{
    if (a != 0 && b > UINT64_MAX / a)
        return false;
    *out = a * b;
    return true;
}

bool cli_parse_duration(const char *text, uint64_t *out_ns)
{
    uint64_t v, unit;
    const char *end;

    if (!parse_digits(text, &v, &end))
        return false;
    /* A bare number means seconds, the unit people type most often. */
    if (*end == '\0' || strcmp(end, "s") == 0)
        unit = NS_PER_S;
    else if (strcmp(end, "ms") == 0)
        unit = NS_PER_MS;
    else if (strcmp(end, "us") == 0)
        unit = NS_PER_US;
    else if (strcmp(end, "m") == 0)
        unit = 60 * NS_PER_S;
    else if (strcmp(end, "h") == 0)
        unit = 3600 * NS_PER_S;
    else
        return false;
    return mul_checked(v, unit, out_ns);
}

bool cli_parse_size(const char *text, uint64_t *out)
{
    uint64_t v, unit;
    const char *end;

    if (!parse_digits(text, &v, &end))
        return false;
    /* Binary multiples, upper or lower case, with an optional trailing
     * "b" ("64k", "64K", "64kb"). */
    switch (tolower((unsigned char)*end)) {
    case '\0': unit = 1; break;
    case 'b':  unit = 1; break;
    case 'k':  unit = 1024ull; break;
    case 'm':  unit = 1024ull * 1024; break;
    case 'g':  unit = 1024ull * 1024 * 1024; break;
    default:   return false;
    }
    if (*end != '\0') {
        end++;
        if (unit != 1 && tolower((unsigned char)*end) == 'b')
            end++;
        if (*end != '\0')
            return false;
    }
    return mul_checked(v, unit, out);
}
