/* csv.h: the one CSV writer (exports of the staff console).
 *
 * What it writes, for Excel and for any RFC 4180 reader:
 *   - the file starts with the UTF-8 byte order mark (EF BB BF), without
 *     which Excel reads UTF-8 as the local code page (mojibake in Chinese);
 *   - cells are separated by commas, rows end with CRLF;
 *   - a cell holding a comma, a double quote, CR or LF is enclosed in
 *     double quotes, its quotes doubled;
 *   - formula injection (OWASP "CSV Injection"): a text cell whose first
 *     byte is '=', '+', '-', '@', TAB or CR gets a leading apostrophe, so a
 *     spreadsheet shows it as text instead of evaluating it
 *     ("=HYPERLINK(...)" is written '=HYPERLINK(...)). A cell of a column
 *     declared numeric (CSV_NUMERIC) is written as it is only when it is a
 *     plain decimal number (-?digits[.digits]), so a negative amount stays a
 *     number there; anything else in a numeric column is escaped like text;
 *   - NUL bytes never appear (cells are C strings), and invalid UTF-8 is
 *     written as it came (the database holds valid UTF-8).
 *
 * Output is bounded: the writer refuses (returns -1, and every later call
 * too) once the total written since csv_init would pass max_bytes. The
 * bytes accumulate in w->buf; a caller writing a long file takes them
 * (csv_take) after each page and writes them out, which keeps memory at one
 * page while the bound counts the whole file.
 *
 * No libcsv: Debian's libcsv (3.0.3, unchanged since 2013) quotes every
 * field and knows nothing of formula injection, which is the part that
 * matters here; these rules fit in a hundred lines that a fuzzer drives.
 *
 * Not thread-safe: one writer per thread. */
#ifndef GW_CSV_H
#define GW_CSV_H
#include <stddef.h>

#define CSV_BOM "\xEF\xBB\xBF"

enum {
    CSV_TEXT = 0,
    CSV_NUMERIC = 1, /* a column of numbers: a plain decimal is written unescaped */
};

typedef struct {
    char *buf;    /* the bytes not yet taken (owned; not NUL-terminated) */
    size_t len;   /* bytes in buf */
    size_t cap;   /* allocated */
    size_t total; /* bytes written since csv_init, taken or not */
    size_t max;   /* bound on total */
    int cells;    /* cells in the current row */
    int failed;   /* the bound was passed or memory ran out: every call fails */
} csv_t;

/* Starts a file: writes the BOM. max_bytes bounds the whole output (BOM
 * included). 0, or -1 when max_bytes cannot hold the BOM or memory runs
 * out. */
int csv_init(csv_t *w, size_t max_bytes);
/* Appends one cell of len bytes (s may be NULL: an empty cell) to the
 * current row. flags: CSV_TEXT or CSV_NUMERIC. 0, or -1 (bound, memory). */
int csv_cell(csv_t *w, const char *s, size_t len, int flags);
/* The same for a NUL-terminated string (NULL: empty). */
int csv_cell_str(csv_t *w, const char *s, int flags);
/* Ends the current row (CRLF). 0 or -1. */
int csv_end_row(csv_t *w);
/* Hands the bytes written so far to the caller (*len set; the caller frees
 * the result, which may be NULL when there are none) and empties the
 * buffer; the total still counts them. */
char *csv_take(csv_t *w, size_t *len);
/* Frees the buffer. The writer may be csv_init'ed again. */
void csv_free(csv_t *w);

/* 1 when a text cell starting with these bytes would be escaped against
 * formula injection (exposed for tests). */
int csv_needs_escape(const char *s, size_t len);
/* 1 when s is a plain decimal number: -?[0-9]+(\.[0-9]+)? */
int csv_is_number(const char *s, size_t len);

#endif
