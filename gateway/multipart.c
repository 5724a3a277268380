#include "multipart.h"

#include <string.h>
#include <strings.h>

static int is_token_char(char ch)
{
    /* RFC 2046 bchars, minus space (which may not end a boundary anyway) */
    return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
           strchr("'()+_,-./:=?", ch) != NULL;
}

/* Finds parameter `name` in a "; a=b; c="d"" list; sets *val and *vlen to its
 * value without quotes. Returns 1 if found. */
static int find_param(const char *p, const char *end, const char *name, const char **val, size_t *vlen)
{
    size_t nlen = strlen(name);
    while (p < end) {
        while (p < end && (*p == ';' || *p == ' ' || *p == '\t'))
            p++;
        const char *key = p;
        while (p < end && *p != '=' && *p != ';')
            p++;
        const char *key_end = p;
        while (key_end > key && (key_end[-1] == ' ' || key_end[-1] == '\t'))
            key_end--;
        if (p >= end || *p != '=')
            continue; /* a bare word such as "form-data" */
        p++;
        while (p < end && (*p == ' ' || *p == '\t'))
            p++;
        const char *v, *v_end;
        if (p < end && *p == '"') {
            v = ++p;
            while (p < end && *p != '"') {
                if (*p == '\\' && p + 1 < end)
                    p++;
                p++;
            }
            if (p >= end)
                return 0; /* unterminated quote */
            v_end = p++;
        } else {
            v = p;
            while (p < end && *p != ';' && *p != ' ' && *p != '\t')
                p++;
            v_end = p;
        }
        if ((size_t)(key_end - key) == nlen && strncasecmp(key, name, nlen) == 0) {
            *val = v;
            *vlen = (size_t)(v_end - v);
            return 1;
        }
    }
    return 0;
}

int multipart_boundary(const char *content_type, char *out, size_t outsz)
{
    static const char type[] = "multipart/form-data";
    if (!content_type)
        return -1;
    while (*content_type == ' ' || *content_type == '\t')
        content_type++;
    size_t tlen = sizeof(type) - 1;
    if (strncasecmp(content_type, type, tlen) != 0)
        return -1;
    const char *p = content_type + tlen, *end = content_type + strlen(content_type);
    if (p < end && *p != ';' && *p != ' ' && *p != '\t')
        return -1; /* e.g. multipart/form-datax */
    const char *v;
    size_t vlen;
    if (!find_param(p, end, "boundary", &v, &vlen))
        return -2;
    if (vlen == 0 || vlen > MULTIPART_BOUNDARY_MAX || vlen + 1 > outsz)
        return -2;
    for (size_t i = 0; i < vlen; i++)
        if (!is_token_char(v[i]) && !(v[i] == ' ' && i + 1 < vlen))
            return -2;
    memcpy(out, v, vlen);
    out[vlen] = '\0';
    return 0;
}

/* After "--boundary" at p: 1 if "--" (close), 0 if optional blanks + CRLF
 * (another part follows; *next set past the CRLF), -1 if neither, meaning the
 * match was part of the data. */
static int after_delimiter(const char *p, const char *end, const char **next)
{
    if (end - p >= 2 && p[0] == '-' && p[1] == '-')
        return 1;
    while (p < end && (*p == ' ' || *p == '\t'))
        p++;
    if (end - p >= 2 && p[0] == '\r' && p[1] == '\n') {
        *next = p + 2;
        return 0;
    }
    return -1;
}

/* Parses one part's header block [p, end) into part. */
static int parse_headers(const char *p, const char *end, mp_part_t *part)
{
    int have_disposition = 0;
    while (p < end) {
        const char *eol = memchr(p, '\r', (size_t)(end - p));
        const char *line_end = eol ? eol : end;
        const char *colon = memchr(p, ':', (size_t)(line_end - p));
        if (!colon)
            return -1;
        size_t klen = (size_t)(colon - p);
        const char *v = colon + 1;
        while (v < line_end && (*v == ' ' || *v == '\t'))
            v++;
        if (klen == 19 && strncasecmp(p, "Content-Disposition", 19) == 0) {
            if ((size_t)(line_end - v) < 9 || strncasecmp(v, "form-data", 9) != 0)
                return -1;
            const char *val;
            size_t vlen;
            if (!find_param(v + 9, line_end, "name", &val, &vlen))
                return -1;
            part->name = val;
            part->name_len = vlen;
            if (find_param(v + 9, line_end, "filename", &val, &vlen)) {
                part->filename = val;
                part->filename_len = vlen;
            }
            have_disposition = 1;
        } else if (klen == 12 && strncasecmp(p, "Content-Type", 12) == 0) {
            part->content_type = v;
            part->content_type_len = (size_t)(line_end - v);
        }
        p = eol ? eol + 2 : end;
    }
    return have_disposition ? 0 : -1;
}

mp_status_t multipart_parse(const char *body, size_t len, const char *boundary, mp_part_t *parts, int max_parts,
                            int *nparts)
{
    char delim[MULTIPART_BOUNDARY_MAX + 5]; /* "\r\n--" + boundary */
    size_t blen = strlen(boundary);
    *nparts = 0;
    if (blen == 0 || blen > MULTIPART_BOUNDARY_MAX)
        return MP_ERR_NO_BOUNDARY;
    memcpy(delim, "\r\n--", 4);
    memcpy(delim + 4, boundary, blen);
    size_t dlen = blen + 4;
    const char *end = body + len, *p;

    /* The first delimiter may open the body (no preceding CRLF) or follow a
     * preamble, which is ignored. */
    const char *next = NULL, *first = NULL;
    int kind = -1;
    if (len >= dlen - 2 && memcmp(body, delim + 2, dlen - 2) == 0)
        kind = after_delimiter(body + dlen - 2, end, &next);
    for (const char *s = body; kind < 0;) {
        first = memmem(s, (size_t)(end - s), delim, dlen);
        if (!first)
            return MP_ERR_NO_BOUNDARY;
        kind = after_delimiter(first + dlen, end, &next);
        s = first + 1;
    }
    if (kind == 1)
        return MP_OK; /* an empty form: just the closing delimiter */
    p = next;

    for (;;) {
        if (*nparts >= max_parts)
            return MP_ERR_TOO_MANY_PARTS;
        mp_part_t *part = &parts[*nparts];
        memset(part, 0, sizeof(*part));
        /* headers end at an empty line; a part may have none */
        const char *hdr_end, *data;
        if (end - p >= 2 && p[0] == '\r' && p[1] == '\n') {
            hdr_end = p;
            data = p + 2;
        } else {
            size_t window =
                (size_t)(end - p) < MULTIPART_HEADERS_MAX + 4 ? (size_t)(end - p) : MULTIPART_HEADERS_MAX + 4;
            const char *blank = memmem(p, window, "\r\n\r\n", 4);
            if (!blank)
                return (size_t)(end - p) > MULTIPART_HEADERS_MAX ? MP_ERR_BAD_HEADERS : MP_ERR_UNTERMINATED;
            hdr_end = blank;
            data = blank + 4;
        }
        if (parse_headers(p, hdr_end, part) != 0)
            return MP_ERR_BAD_HEADERS;
        /* the data runs to the next real delimiter */
        const char *s = data;
        const char *m;
        for (;;) {
            m = memmem(s, (size_t)(end - s), delim, dlen);
            if (!m)
                return MP_ERR_UNTERMINATED;
            kind = after_delimiter(m + dlen, end, &next);
            if (kind >= 0)
                break;
            s = m + 1; /* the boundary text inside the data, not a delimiter */
        }
        part->data = data;
        part->len = (size_t)(m - data);
        (*nparts)++;
        if (kind == 1)
            return MP_OK; /* closing delimiter; the epilogue is ignored */
        p = next;
    }
}

const mp_part_t *multipart_find(const mp_part_t *parts, int nparts, const char *name)
{
    size_t n = strlen(name);
    for (int i = 0; i < nparts; i++)
        if (parts[i].name_len == n && memcmp(parts[i].name, name, n) == 0)
            return &parts[i];
    return NULL;
}

const char *multipart_strerror(mp_status_t st)
{
    switch (st) {
    case MP_OK:
        return "ok";
    case MP_ERR_NO_BOUNDARY:
        return "the body does not start with the boundary from Content-Type";
    case MP_ERR_UNTERMINATED:
        return "the body ends before the closing boundary";
    case MP_ERR_TOO_MANY_PARTS:
        return "too many parts";
    case MP_ERR_BAD_HEADERS:
        return "a part has malformed headers or no form-data name";
    }
    return "malformed multipart body";
}
