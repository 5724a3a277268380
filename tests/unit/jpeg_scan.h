/* jpeg_scan.h: finding markers in a JPEG file, for the image tests. */
#ifndef GW_TEST_JPEG_SCAN_H
#define GW_TEST_JPEG_SCAN_H
#include <stddef.h>

/* Offset of the n-th (0-based) marker `m` anywhere in the file (also after
 * the first scan): segments are skipped by their length, the entropy-coded
 * data of a scan up to its next real marker. (size_t)-1 when absent. */
static inline size_t find_marker(const unsigned char *j, size_t len, unsigned m, int n)
{
    size_t p = 2;
    while (p + 4 <= len && j[p] == 0xFF) {
        unsigned cur = j[p + 1];
        if (cur == m && n-- == 0)
            return p;
        if (cur == 0xD9)
            break;
        p += 2 + ((size_t)j[p + 2] << 8 | j[p + 3]);
        if (cur == 0xDA)
            while (p + 1 < len && !(j[p] == 0xFF && j[p + 1] != 0 && !(j[p + 1] >= 0xD0 && j[p + 1] <= 0xD7)))
                p++;
    }
    return (size_t)-1;
}

#endif
