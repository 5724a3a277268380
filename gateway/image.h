/* image.h: checking and cleaning uploaded photos. CPU-heavy: call only from a
 * POOL_CPU step (or a test), never from an event-loop thread.
 *
 * The type is decided from the magic bytes alone.
 *
 * A JPEG loses every metadata segment (EXIF with GPS and maker notes, XMP,
 * ICC profiles, IPTC, JFIF, comments) and anything after its EOI. One whose
 * EXIF orientation is 1 (or absent) is copied at the marker level
 * (jpeg_markers.h): its scans are stored byte for byte, no re-encoding. One
 * that must be turned (orientations 2..8), and any file the marker copy does
 * not handle (arithmetic coding, unusual markers), is turned upright with a
 * lossless transform that writes no metadata, so a rotated photo still shows
 * upright once its orientation tag is gone. The stored file is validated by
 * decoding all of it (the thumbnail's scaled decode reads every scan).
 * ICC profiles are dropped like the rest: a wide-gamut photo is then shown as
 * sRGB, slightly less saturated.
 *
 * A PNG is decoded and re-encoded with only its critical chunks (no tEXt,
 * eXIf, iCCP...). Both get a JPEG thumbnail.
 *
 * Memory is bounded before anything is decoded: the size is read from the
 * header alone (JPEG SOF, PNG IHDR), an image over the pixel limit is
 * refused, and the worst-case bytes of the whole process (pixels, DCT
 * coefficients, the transform's copy, output buffers) are reserved in a
 * media_budget_t that caps all decodes of the process together. PNG
 * ancillary chunks are skipped unread, and libpng's own limits (chunk count,
 * chunk allocation) are set. */
#ifndef GW_IMAGE_H
#define GW_IMAGE_H
#include <stddef.h>

#include "media_budget.h"

#define IMAGE_MAX_PIXELS_DEFAULT 24000000L /* until image_set_limits says otherwise */
#define IMAGE_THUMB_MAX_SIDE 320
#define IMAGE_THUMB_QUALITY 80

typedef enum {
    IMAGE_UNKNOWN = 0,
    IMAGE_JPEG,
    IMAGE_PNG,
    IMAGE_GIF,
    IMAGE_WEBP,
    IMAGE_HEIF, /* HEIC/HEIF/AVIF (ISO-BMFF ftyp brands) */
    IMAGE_BMP,
    IMAGE_TIFF,
} image_type_t;

typedef enum {
    IMAGE_OK = 0,
    IMAGE_UNSUPPORTED, /* not an image, or a type not accepted (why says which) */
    IMAGE_INVALID,     /* claims to be JPEG/PNG but does not decode */
    IMAGE_NOMEM,
    IMAGE_TOO_LARGE, /* over the pixel limit, or needs more memory than the whole budget */
    IMAGE_BUSY,      /* the decode budget stayed full for its whole wait: retry later */
} image_status_t;

typedef struct {
    long max_pixels;        /* width x height above this is IMAGE_TOO_LARGE */
    media_budget_t *budget; /* where decodes reserve their memory; NULL = no cap (borrowed) */
} image_limits_t;

/* Sets the limits of every later image_process (copied; budget borrowed).
 * Call before the threads that process images start. Until then: the
 * default pixel limit and no budget. */
void image_set_limits(const image_limits_t *lim);

/* What the header alone tells. */
typedef struct {
    image_type_t type; /* IMAGE_JPEG or IMAGE_PNG */
    int width, height; /* as stored (before turning upright) */
    int orientation;   /* EXIF orientation 1..8 (JPEG); 1 for PNG */
    size_t cost;       /* worst-case bytes image_process holds at once for it */
} image_header_t;

/* Reads the size from the header only (JPEG SOF via libturbojpeg, PNG IHDR
 * by hand) and computes the decode's worst-case memory; nothing is decoded.
 * IMAGE_OK, IMAGE_UNSUPPORTED (not a JPEG or PNG), IMAGE_INVALID (no
 * readable header) or IMAGE_TOO_LARGE (more than max_pixels); why is set
 * unless IMAGE_OK. */
image_status_t image_read_header(const unsigned char *in, size_t len, long max_pixels, image_header_t *h, char *why,
                                 size_t whysz);

typedef struct {
    image_type_t type;
    const char *content_type; /* "image/jpeg" | "image/png" */
    unsigned char *data;      /* the cleaned image (malloc) */
    size_t len;
    int width, height;    /* upright */
    unsigned char *thumb; /* JPEG thumbnail (malloc) */
    size_t thumb_len;
    int thumb_width, thumb_height;
} image_out_t;

image_type_t image_sniff(const unsigned char *data, size_t len);
const char *image_type_name(image_type_t t); /* "JPEG", "WebP", ... or "unknown" */

/* EXIF orientation (1..8) of a JPEG's APP1 Exif segment; 1 when absent or unreadable. */
int image_jpeg_orientation(const unsigned char *jpeg, size_t len);

/* Validates and cleans `in`. On IMAGE_OK `out` owns two buffers (free with
 * image_out_free); otherwise `why` holds a message for the client. Checks
 * the header first (image_read_header), then holds a reservation of the
 * header's cost in the budget while it decodes; may wait for room (see
 * media_budget.h), and answers IMAGE_BUSY when none came. */
image_status_t image_process(const unsigned char *in, size_t len, image_out_t *out, char *why, size_t whysz);
void image_out_free(image_out_t *out);

#endif
