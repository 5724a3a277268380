/* multipart.h: a zero-copy parser of multipart/form-data bodies (RFC 7578),
 * the shape wx.uploadFile sends: one file part plus optional string fields.
 *
 * The body is already in memory, so parts are slices of it: nothing is copied
 * and the body must outlive the parts. The parser enforces a part count, a
 * header size limit and the closing boundary. A part's filename and its own
 * Content-Type are reported as sent and are never to be trusted: callers
 * decide the type from the bytes. */
#ifndef GW_MULTIPART_H
#define GW_MULTIPART_H
#include <stddef.h>

#define MULTIPART_BOUNDARY_MAX 70  /* RFC 2046 */
#define MULTIPART_HEADERS_MAX 8192 /* bytes of one part's header block */

typedef struct {
    const char *name; /* Content-Disposition name="..." (quotes removed, escapes kept) */
    size_t name_len;
    const char *filename; /* filename="..." or NULL: informational only */
    size_t filename_len;
    const char *content_type; /* the part's Content-Type or NULL: informational only */
    size_t content_type_len;
    const char *data;
    size_t len;
} mp_part_t;

typedef enum {
    MP_OK = 0,
    MP_ERR_NO_BOUNDARY,  /* no opening boundary line */
    MP_ERR_UNTERMINATED, /* the closing boundary "--<boundary>--" is missing */
    MP_ERR_TOO_MANY_PARTS,
    MP_ERR_BAD_HEADERS, /* header block too long, malformed, or without form-data name */
} mp_status_t;

/* Extracts the boundary from a Content-Type value. Returns 0, -1 when the
 * type is not multipart/form-data, -2 when the boundary is missing or bad.
 * out must hold MULTIPART_BOUNDARY_MAX + 1 bytes. */
int multipart_boundary(const char *content_type, char *out, size_t outsz);

/* Splits body into at most max_parts parts. */
mp_status_t multipart_parse(const char *body, size_t len, const char *boundary, mp_part_t *parts, int max_parts,
                            int *nparts);

/* The first part whose name is `name`, or NULL. */
const mp_part_t *multipart_find(const mp_part_t *parts, int nparts, const char *name);

const char *multipart_strerror(mp_status_t st);

#endif
