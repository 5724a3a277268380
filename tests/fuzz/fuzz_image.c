/* fuzz_image.c: checking and cleaning an uploaded photo (gateway/image.h):
 * type sniffing, JPEG metadata removal or lossless turning, PNG decoding and
 * re-encoding, the thumbnail.
 *
 * Input: the file, as the "file" part of an upload.
 *
 * Calls: image_sniff, image_type_name, image_process, image_out_free.
 * Properties: a status from the enum (no budget is set: never IMAGE_BUSY); a refusal says why; an accepted image
 * has its type's content type, a cleaned copy, sizes within the pixel limit
 * and a thumbnail no larger than IMAGE_THUMB_MAX_SIDE; and the cleaned copy
 * is accepted again with the same size (what is stored can be served and
 * uploaded again). */
#include <string.h>

#include "../../gateway/image.h"
#include "fuzz.h"

static void check_ok(const image_out_t *out)
{
    FUZZ_CHECK(out->type == IMAGE_JPEG || out->type == IMAGE_PNG);
    FUZZ_CHECK(!strcmp(out->content_type, out->type == IMAGE_JPEG ? "image/jpeg" : "image/png"));
    FUZZ_CHECK(out->data && out->len > 0);
    FUZZ_CHECK(out->width > 0 && out->height > 0 && (long)out->width * out->height <= IMAGE_MAX_PIXELS_DEFAULT);
    FUZZ_CHECK(out->thumb && out->thumb_len > 0);
    FUZZ_CHECK(out->thumb_width > 0 && out->thumb_width <= IMAGE_THUMB_MAX_SIDE);
    FUZZ_CHECK(out->thumb_height > 0 && out->thumb_height <= IMAGE_THUMB_MAX_SIDE);
    FUZZ_CHECK(image_sniff(out->thumb, out->thumb_len) == IMAGE_JPEG);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    image_out_t out, again;
    char why[200];
    image_type_t t = image_sniff(data, size);
    FUZZ_CHECK(image_type_name(t) != NULL);
    image_status_t st = image_process(data, size, &out, why, sizeof(why));
    FUZZ_CHECK(st == IMAGE_OK || st == IMAGE_UNSUPPORTED || st == IMAGE_INVALID || st == IMAGE_NOMEM ||
               st == IMAGE_TOO_LARGE);
    if (st == IMAGE_OK) {
        FUZZ_CHECK(out.type == t);
        check_ok(&out);
        FUZZ_CHECK(image_process(out.data, out.len, &again, why, sizeof(why)) == IMAGE_OK);
        check_ok(&again);
        FUZZ_CHECK(again.type == out.type && again.width == out.width && again.height == out.height);
        image_out_free(&again);
    } else {
        FUZZ_CHECK(why[0] != '\0' && strnlen(why, sizeof(why)) < sizeof(why));
        FUZZ_CHECK(out.data == NULL && out.thumb == NULL);
    }
    image_out_free(&out);
    return 0;
}
