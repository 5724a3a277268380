#include "phone.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

int phone_normalise(const char *in, char *out, size_t outsz)
{
    char digits[24]; /* longer than any phone; keeps "+<digits>" within out */
    size_t n = 0;
    int plus = 0;
    for (const char *p = in; *p; p++) {
        if (*p == ' ' || *p == '-')
            continue;
        if (*p == '+' && n == 0 && !plus) {
            plus = 1;
            continue;
        }
        if (!isdigit((unsigned char)*p) || n + 1 >= sizeof(digits))
            return -1;
        digits[n++] = *p;
    }
    digits[n] = '\0';
    const char *d = digits;
    if (plus && n == 13 && !strncmp(digits, "86", 2)) {
        d += 2;
        n -= 2;
        plus = 0;
    }
    if (!plus && n == 11 && d[0] == '1')
        snprintf(out, outsz, "%s", d);
    else if (plus && n >= 7 && n <= 15)
        snprintf(out, outsz, "+%s", d);
    else
        return -1;
    return 0;
}
