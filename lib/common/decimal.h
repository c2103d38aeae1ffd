/*
 * decimal.h — the one parser of unsigned decimal numbers in evlab.
 *
 * Numbers arrive as text from people (command-line options, --mix
 * weights, connection lists) and from peers (Content-Length).  Both must
 * be strict in the same way: digits only, at least one, no sign, no
 * blank, no overflow.  strtoull() accepts " 12", "+12" and "-1" (which
 * wraps to a huge value), so it is not used alone for either.
 *
 * The text is a pointer and a length, not a C string, because most of it
 * is a piece of a larger buffer (a header value, one item of a list).
 * Errors: false / 0, and *out is left alone.
 */
#ifndef EVLAB_DECIMAL_H
#define EVLAB_DECIMAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Reads the decimal digits at the start of text[0..len).  Returns how
 * many digits it read, with their value in *out, or 0 when text does not
 * start with a digit or the value is above max. */
size_t decimal_parse_prefix(const char *text, size_t len, uint64_t max, uint64_t *out);

/* True when all of text[0..len) is digits (at least one) and the value
 * is at most max. */
bool decimal_parse(const char *text, size_t len, uint64_t max, uint64_t *out);

#endif
