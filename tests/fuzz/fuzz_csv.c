/* fuzz_csv.c: the CSV writer (gateway/csv.h) on arbitrary cells.
 *
 * Input: a small header (byte 0: the output bound's shift, byte 1: a bit per
 * cell saying numeric), then cells separated by 0x00 and rows by 0x01.
 *
 * Calls: csv_init, csv_cell, csv_end_row, csv_take, csv_free.
 * Properties: the output starts with the BOM and never passes its bound;
 * once a call fails every later one does; and when everything was written,
 * an RFC 4180 reader (below) reads back exactly the cells given, each text
 * cell that starts with = + - @ TAB or CR with one leading apostrophe, a
 * numeric cell unchanged when it is a plain number, and the rows as given. */
#include <string.h>

#include "../../gateway/csv.h"
#include "fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    return 0;
}

/* Reads the next cell of an RFC 4180 file at *p into out (its length in
 * *outlen); returns 1 cell then end of row, 0 cell then comma, -1 malformed. */
static int read_cell(const char **p, const char *end, char *out, size_t *outlen)
{
    const char *s = *p;
    size_t n = 0;
    if (s < end && *s == '"') {
        s++;
        for (;;) {
            if (s >= end)
                return -1;
            if (*s == '"') {
                if (s + 1 < end && s[1] == '"') {
                    out[n++] = '"';
                    s += 2;
                    continue;
                }
                s++;
                break;
            }
            out[n++] = *s++;
        }
    } else {
        while (s < end && *s != ',' && *s != '\r') {
            if (*s == '"' || *s == '\n')
                return -1;
            out[n++] = *s++;
        }
    }
    *outlen = n;
    if (s < end && *s == ',') {
        *p = s + 1;
        return 0;
    }
    if (end - s >= 2 && s[0] == '\r' && s[1] == '\n') {
        *p = s + 2;
        return 1;
    }
    return -1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    size_t bound = (size_t)64 << (data[0] % 8);
    unsigned numeric_bits = data[1];
    const char *in = (const char *)data + 2, *in_end = (const char *)data + size;
    csv_t w;
    if (csv_init(&w, bound) != 0)
        abort(); /* 64 always holds the BOM */
    char *out = malloc(bound + 1);
    if (!out)
        abort();
    size_t out_len = 0;
    int failed = 0, cell = 0;
    /* Write: cells split at 0x00, rows at 0x01 (every row ends with one). */
    const char *s = in;
    for (const char *q = in; q <= in_end; q++) {
        if (q < in_end && *q != 0 && *q != 1)
            continue;
        int flags = (numeric_bits >> (cell % 8)) & 1 ? CSV_NUMERIC : CSV_TEXT;
        int rc = csv_cell(&w, s, (size_t)(q - s), flags);
        cell++;
        if (rc == 0 && (q == in_end || *q == 1)) {
            rc = csv_end_row(&w);
            cell = 0;
        }
        FUZZ_CHECK(!(failed && rc == 0));
        failed |= rc != 0;
        FUZZ_CHECK(w.total <= bound);
        if (w.len > bound / 2 || q == in_end) {
            size_t n;
            char *b = csv_take(&w, &n);
            FUZZ_CHECK(out_len + n <= bound);
            if (b)
                memcpy(out + out_len, b, n);
            out_len += n;
            free(b);
        }
        s = q + 1;
    }
    csv_free(&w);
    FUZZ_CHECK(out_len >= 3 && !memcmp(out, CSV_BOM, 3));

    /* Read back what was written in full. */
    if (!failed) {
        const char *p = out + 3, *end = out + out_len;
        char *cellbuf = malloc(out_len + 1);
        if (!cellbuf)
            abort();
        s = in;
        cell = 0;
        for (const char *q = in; q <= in_end; q++) {
            if (q < in_end && *q != 0 && *q != 1)
                continue;
            size_t n = 0, len = (size_t)(q - s);
            int flags = (numeric_bits >> (cell % 8)) & 1 ? CSV_NUMERIC : CSV_TEXT;
            int rc = read_cell(&p, end, cellbuf, &n);
            FUZZ_CHECK(rc >= 0);
            int escaped = !((flags & CSV_NUMERIC) && csv_is_number(s, len)) && csv_needs_escape(s, len);
            FUZZ_CHECK(n == len + (size_t)escaped);
            FUZZ_CHECK(!escaped || cellbuf[0] == '\'');
            FUZZ_CHECK(!memcmp(cellbuf + escaped, s, len));
            /* A cell that ends the row reads as one. */
            int row_end = q == in_end || *q == 1;
            FUZZ_CHECK(rc == row_end);
            cell = row_end ? 0 : cell + 1;
            s = q + 1;
        }
        FUZZ_CHECK(p == end);
        free(cellbuf);
    }
    free(out);
    return 0;
}
