/* fuzz_jpeg_markers.c: removing a JPEG's metadata at the marker level
 * (gateway/jpeg_markers.h), and reading its EXIF orientation, on bytes as
 * uploaded.
 *
 * Input: the file.
 *
 * Calls: jpeg_strip_metadata, image_jpeg_orientation.
 * Properties: the copy is never longer than the original and never written
 * past; it starts with SOI and ends with EOI; stripping the copy again
 * changes nothing (no metadata segment survives, nothing is dropped twice);
 * the orientation is 1..8. */
#include <string.h>

#include "../../gateway/image.h"
#include "../../gateway/jpeg_markers.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* Exact-size output buffers: a write past `len` is a sanitizer report. */
    unsigned char *out = malloc(size ? size : 1), *again = malloc(size ? size : 1);
    size_t n = (size_t)-1, n2 = (size_t)-1;
    const char *why = NULL;
    if (!out || !again)
        abort();
    jpeg_strip_status_t st = jpeg_strip_metadata(data, size, out, &n, &why);
    FUZZ_CHECK(st == JPEG_STRIP_OK || st == JPEG_STRIP_MALFORMED || st == JPEG_STRIP_UNSUPPORTED);
    if (st == JPEG_STRIP_OK) {
        FUZZ_CHECK(n >= 4 && n <= size);
        FUZZ_CHECK(out[0] == 0xFF && out[1] == 0xD8 && out[n - 2] == 0xFF && out[n - 1] == 0xD9);
        FUZZ_CHECK(jpeg_strip_metadata(out, n, again, &n2, &why) == JPEG_STRIP_OK);
        FUZZ_CHECK(n2 == n && memcmp(out, again, n) == 0);
        int o = image_jpeg_orientation(out, n);
        FUZZ_CHECK(o == 1); /* no EXIF left */
    } else {
        FUZZ_CHECK(why != NULL && why[0] != '\0');
    }
    int o = image_jpeg_orientation(data, size);
    FUZZ_CHECK(o >= 1 && o <= 8);
    free(again);
    free(out);
    return 0;
}
