/* fuzz_multipart.c: the multipart/form-data parser (gateway/multipart.h), as
 * POST /api/v1/uploads uses it.
 *
 * Input: the request's Content-Type value, a newline, then the body
 * ("multipart/form-data; boundary=XyZ\n--XyZ\r\n..."). Without a newline the
 * whole input is the Content-Type.
 *
 * Calls: multipart_boundary, multipart_parse, multipart_find,
 * multipart_strerror.
 * Properties: the boundary is 1..70 characters; the parser reports at most
 * max_parts parts; every slice it returns (name, filename, content type,
 * data) lies inside the body. */
#include <string.h>

#include "../../gateway/multipart.h"
#include "fuzz.h"

#define MAX_PARTS 16 /* UPLOAD_MAX_PARTS in handlers/media/uploads.c */

static int inside(const char *body, size_t len, const char *p, size_t n)
{
    return p >= body && p <= body + len && n <= (size_t)(body + len - p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nl = memchr(data, '\n', size);
    size_t ct_len = nl ? (size_t)(nl - data) : size;
    char *ct = fuzz_strndup(data, ct_len);
    size_t body_len = nl ? size - ct_len - 1 : 0;
    /* An exact-size copy: a read past the body is a sanitizer report. */
    char *body = malloc(body_len ? body_len : 1);
    char boundary[MULTIPART_BOUNDARY_MAX + 1];
    if (!body)
        abort();
    if (body_len)
        memcpy(body, nl + 1, body_len);

    int rc = multipart_boundary(ct, boundary, sizeof(boundary));
    FUZZ_CHECK(rc == 0 || rc == -1 || rc == -2);
    if (rc == 0) {
        size_t blen = strlen(boundary);
        FUZZ_CHECK(blen >= 1 && blen <= MULTIPART_BOUNDARY_MAX);
        mp_part_t parts[MAX_PARTS];
        int nparts = -1;
        mp_status_t st = multipart_parse(body, body_len, boundary, parts, MAX_PARTS, &nparts);
        FUZZ_CHECK(nparts >= 0 && nparts <= MAX_PARTS);
        FUZZ_CHECK(multipart_strerror(st) != NULL);
        for (int i = 0; i < nparts; i++) {
            const mp_part_t *p = &parts[i];
            FUZZ_CHECK(p->name && inside(body, body_len, p->name, p->name_len));
            FUZZ_CHECK(!p->filename || inside(body, body_len, p->filename, p->filename_len));
            FUZZ_CHECK(!p->content_type || inside(body, body_len, p->content_type, p->content_type_len));
            FUZZ_CHECK(p->data && inside(body, body_len, p->data, p->len));
        }
        if (st == MP_OK) {
            const mp_part_t *file = multipart_find(parts, nparts, "file");
            FUZZ_CHECK(!file || (file >= parts && file < parts + nparts));
        }
    }
    free(body);
    free(ct);
    return 0;
}
