#include "utf8.h"

#include <string.h>

/* Well-formed UTF-8 as RFC 3629 defines it: no overlong forms, no UTF-16
 * surrogates (U+D800..U+DFFF), nothing above U+10FFFF. MariaDB's utf8mb4
 * refuses those, so letting them through would turn bad input into a 500. */
long utf8_length(const char *s, size_t len)
{
    long n = 0;
    const unsigned char *p = (const unsigned char *)s, *end = p + len;
    while (p < end) {
        int extra;
        unsigned char lo = 0x80, hi = 0xBF; /* allowed range of the second byte */
        if (*p < 0x80)
            extra = 0;
        else if (*p >= 0xC2 && *p <= 0xDF)
            extra = 1;
        else if (*p >= 0xE0 && *p <= 0xEF) {
            extra = 2;
            if (*p == 0xE0)
                lo = 0xA0; /* overlong below U+0800 */
            else if (*p == 0xED)
                hi = 0x9F; /* surrogates */
        } else if (*p >= 0xF0 && *p <= 0xF4) {
            extra = 3;
            if (*p == 0xF0)
                lo = 0x90; /* overlong below U+10000 */
            else if (*p == 0xF4)
                hi = 0x8F; /* above U+10FFFF */
        } else
            return -1;
        if (end - p < extra + 1)
            return -1;
        if (extra && (p[1] < lo || p[1] > hi))
            return -1;
        for (int i = 2; i <= extra; i++)
            if ((p[i] & 0xC0) != 0x80)
                return -1;
        p += extra + 1;
        n++;
    }
    return n;
}

size_t utf8_prefix_bytes(const char *s, size_t len, size_t max_chars)
{
    size_t i = 0, chars = 0;
    while (i < len && chars < max_chars) {
        unsigned char b = (unsigned char)s[i];
        size_t step = b < 0x80 ? 1 : (b & 0xE0) == 0xC0 ? 2 : (b & 0xF0) == 0xE0 ? 3 : (b & 0xF8) == 0xF0 ? 4 : 1;
        if (i + step > len)
            break;
        i += step;
        chars++;
    }
    return i;
}

size_t utf8_copy(char *dst, size_t dstsz, const char *src)
{
    if (dstsz == 0)
        return 0;
    size_t n = src ? utf8_prefix_bytes(src, strnlen(src, dstsz), (size_t)-1) : 0;
    if (n > dstsz - 1) /* a character that straddles the end: drop it whole */
        n = utf8_prefix_bytes(src, dstsz - 1, (size_t)-1);
    memcpy(dst, src ? src : "", n);
    dst[n] = '\0';
    return n;
}
