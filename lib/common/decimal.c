/*
 * decimal.c — strict unsigned decimal numbers (see decimal.h).
 *
 * Overflow is checked before each step: value * 10 + digit > max exactly
 * when value > (max - digit) / 10, so the check itself cannot overflow,
 * whatever max is (UINT64_MAX included).
 */
#include "common/decimal.h"

size_t decimal_parse_prefix(const char *text, size_t len, uint64_t max, uint64_t *out)
{
    uint64_t value = 0;
    size_t i = 0;

    for (; i < len && text[i] >= '0' && text[i] <= '9'; i++) {
        uint64_t digit = (uint64_t)(text[i] - '0');
        if (digit > max || value > (max - digit) / 10)
            return 0;
        value = value * 10 + digit;
    }
    if (i > 0)
        *out = value;
    return i;
}

bool decimal_parse(const char *text, size_t len, uint64_t max, uint64_t *out)
{
    uint64_t value;

    if (len == 0 || decimal_parse_prefix(text, len, max, &value) != len)
        return false;
    *out = value;
    return true;
}
