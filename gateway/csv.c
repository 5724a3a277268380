/* csv.c: see csv.h for the rules. */
#include "gateway/csv.h"

#include <stdlib.h>
#include <string.h>

/* Room for n more bytes within the bound; 0, or -1 with the writer failed. */
static int reserve(csv_t *w, size_t n)
{
    if (w->failed)
        return -1;
    if (n > w->max - w->total) {
        w->failed = 1;
        return -1;
    }
    if (w->len + n > w->cap) {
        size_t cap = w->cap ? w->cap : 4096;
        while (cap < w->len + n)
            cap *= 2;
        char *b = realloc(w->buf, cap);
        if (!b) {
            w->failed = 1;
            return -1;
        }
        w->buf = b;
        w->cap = cap;
    }
    return 0;
}

/* The caller reserved n. */
static void put(csv_t *w, const char *s, size_t n)
{
    if (n == 0)
        return; /* s may be NULL (an empty cell) */
    memcpy(w->buf + w->len, s, n);
    w->len += n;
    w->total += n;
}

int csv_init(csv_t *w, size_t max_bytes)
{
    memset(w, 0, sizeof(*w));
    w->max = max_bytes;
    if (reserve(w, 3) != 0)
        return -1;
    put(w, CSV_BOM, 3);
    return 0;
}

int csv_needs_escape(const char *s, size_t len)
{
    return len > 0 && (s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@' || s[0] == '\t' || s[0] == '\r');
}

int csv_is_number(const char *s, size_t len)
{
    size_t i = 0;
    if (i < len && s[i] == '-')
        i++;
    size_t digits = i;
    while (i < len && s[i] >= '0' && s[i] <= '9')
        i++;
    if (i == digits)
        return 0;
    if (i < len && s[i] == '.') {
        size_t frac = ++i;
        while (i < len && s[i] >= '0' && s[i] <= '9')
            i++;
        if (i == frac)
            return 0;
    }
    return i == len;
}

int csv_cell(csv_t *w, const char *s, size_t len, int flags)
{
    if (!s)
        len = 0;
    int escape = !((flags & CSV_NUMERIC) && csv_is_number(s, len)) && csv_needs_escape(s, len);
    size_t quotes = 0;
    int quote = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '"')
            quotes++;
        if (s[i] == '"' || s[i] == ',' || s[i] == '\r' || s[i] == '\n')
            quote = 1;
    }
    /* Worst case: separator, two quotes, the apostrophe, the doubled quotes. */
    size_t need = (w->cells > 0) + (quote ? 2 : 0) + (size_t)escape + len + quotes;
    if (len > w->max) { /* need would overflow: refused like any cell past the bound */
        w->failed = 1;
        return -1;
    }
    if (reserve(w, need) != 0)
        return -1;
    if (w->cells > 0)
        put(w, ",", 1);
    if (quote)
        put(w, "\"", 1);
    if (escape)
        put(w, "'", 1);
    size_t from = 0;
    for (size_t i = 0; i < len; i++)
        if (s[i] == '"') {
            put(w, s + from, i + 1 - from); /* up to and with the quote, */
            put(w, "\"", 1);                /* which is then doubled */
            from = i + 1;
        }
    put(w, s + from, len - from);
    if (quote)
        put(w, "\"", 1);
    w->cells++;
    return 0;
}

int csv_cell_str(csv_t *w, const char *s, int flags)
{
    return csv_cell(w, s, s ? strlen(s) : 0, flags);
}

int csv_end_row(csv_t *w)
{
    if (reserve(w, 2) != 0)
        return -1;
    put(w, "\r\n", 2);
    w->cells = 0;
    return 0;
}

char *csv_take(csv_t *w, size_t *len)
{
    char *b = w->buf;
    *len = w->len;
    if (!w->len) {
        *len = 0;
        return NULL;
    }
    w->buf = NULL;
    w->len = w->cap = 0;
    return b;
}

void csv_free(csv_t *w)
{
    free(w->buf);
    w->buf = NULL;
    w->len = w->cap = 0;
}
