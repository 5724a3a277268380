#include "image.h"

#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <turbojpeg.h>

#include "jpeg_markers.h"
#include "png_chunks.h"

/* Strict decoding: a warning (truncated or corrupt data) fails the image, and
 * progressive JPEGs with absurd scan counts are refused (a known DoS). */
#define TJ_FLAGS (TJFLAG_STOPONWARNING | TJFLAG_LIMITSCANS)

/* Fixed costs counted on top of the pixel-sized buffers: the codec's tables,
 * row buffers and zlib/libjpeg state, and the thumbnail's own buffers. */
#define CODEC_OVERHEAD_BYTES ((size_t)1 << 20)
#define THUMB_BYTES ((size_t)IMAGE_THUMB_MAX_SIDE * IMAGE_THUMB_MAX_SIDE * 3 * 2 + 65536)

/* libpng's own bounds, on top of the header check: no ancillary chunk is
 * kept (they are skipped unread), so the cache only has to hold none; one
 * chunk's buffer (PLTE, tRNS, a piece of IDAT) is far below this. */
#define PNG_CHUNK_CACHE_MAX 16
#define PNG_CHUNK_MALLOC_MAX ((png_alloc_size_t)1 << 20)

static image_limits_t limits = {IMAGE_MAX_PIXELS_DEFAULT, NULL};

void image_set_limits(const image_limits_t *lim)
{
    limits = *lim;
    if (limits.max_pixels < 1)
        limits.max_pixels = IMAGE_MAX_PIXELS_DEFAULT;
}

/* ---- sniffing ---- */

static int is_heif_brand(const unsigned char *b)
{
    static const char *const brands[] = {"heic", "heix", "hevc", "hevx", "heim",
                                         "heis", "mif1", "msf1", "avif", "avis"};
    for (size_t i = 0; i < sizeof(brands) / sizeof(brands[0]); i++)
        if (memcmp(b, brands[i], 4) == 0)
            return 1;
    return 0;
}

image_type_t image_sniff(const unsigned char *d, size_t len)
{
    if (len >= 3 && d[0] == 0xFF && d[1] == 0xD8 && d[2] == 0xFF)
        return IMAGE_JPEG;
    if (len >= 8 && memcmp(d, "\x89PNG\r\n\x1a\n", 8) == 0)
        return IMAGE_PNG;
    if (len >= 6 && (memcmp(d, "GIF87a", 6) == 0 || memcmp(d, "GIF89a", 6) == 0))
        return IMAGE_GIF;
    if (len >= 12 && memcmp(d, "RIFF", 4) == 0 && memcmp(d + 8, "WEBP", 4) == 0)
        return IMAGE_WEBP;
    if (len >= 12 && memcmp(d + 4, "ftyp", 4) == 0) {
        /* major brand, then compatible brands up to the box's end */
        size_t box = (size_t)d[0] << 24 | (size_t)d[1] << 16 | (size_t)d[2] << 8 | d[3];
        if (box > len)
            box = len;
        if (is_heif_brand(d + 8))
            return IMAGE_HEIF;
        for (size_t off = 16; off + 4 <= box; off += 4)
            if (is_heif_brand(d + off))
                return IMAGE_HEIF;
    }
    if (len >= 14 && d[0] == 'B' && d[1] == 'M')
        return IMAGE_BMP;
    if (len >= 4 && (memcmp(d, "II*\0", 4) == 0 || memcmp(d, "MM\0*", 4) == 0))
        return IMAGE_TIFF;
    return IMAGE_UNKNOWN;
}

const char *image_type_name(image_type_t t)
{
    switch (t) {
    case IMAGE_JPEG:
        return "JPEG";
    case IMAGE_PNG:
        return "PNG";
    case IMAGE_GIF:
        return "GIF";
    case IMAGE_WEBP:
        return "WebP";
    case IMAGE_HEIF:
        return "HEIC/HEIF";
    case IMAGE_BMP:
        return "BMP";
    case IMAGE_TIFF:
        return "TIFF";
    case IMAGE_UNKNOWN:
        break;
    }
    return "unknown";
}

/* ---- EXIF orientation ---- */

static unsigned rd16(const unsigned char *p, int le)
{
    return le ? (unsigned)p[0] | (unsigned)p[1] << 8 : (unsigned)p[0] << 8 | (unsigned)p[1];
}

static unsigned long rd32(const unsigned char *p, int le)
{
    return le ? (unsigned long)rd16(p, 1) | (unsigned long)rd16(p + 2, 1) << 16
              : (unsigned long)rd16(p, 0) << 16 | (unsigned long)rd16(p + 2, 0);
}

/* Orientation tag (0x0112) of IFD0 in a TIFF block; 1 if absent or bad. */
static int tiff_orientation(const unsigned char *t, size_t n)
{
    if (n < 8)
        return 1;
    int le;
    if (t[0] == 'I' && t[1] == 'I')
        le = 1;
    else if (t[0] == 'M' && t[1] == 'M')
        le = 0;
    else
        return 1;
    if (rd16(t + 2, le) != 42)
        return 1;
    unsigned long ifd = rd32(t + 4, le);
    if (ifd < 8 || ifd + 2 > n)
        return 1;
    unsigned count = rd16(t + ifd, le);
    for (unsigned i = 0; i < count; i++) {
        size_t e = ifd + 2 + 12 * (size_t)i;
        if (e + 12 > n)
            break;
        if (rd16(t + e, le) != 0x0112)
            continue;
        if (rd16(t + e + 2, le) != 3 /* SHORT */ || rd32(t + e + 4, le) != 1)
            return 1;
        unsigned v = rd16(t + e + 8, le);
        return v >= 1 && v <= 8 ? (int)v : 1;
    }
    return 1;
}

int image_jpeg_orientation(const unsigned char *j, size_t len)
{
    size_t p = 2; /* after SOI */
    while (p + 4 <= len) {
        if (j[p] != 0xFF)
            return 1;
        while (p < len && j[p] == 0xFF) /* fill bytes */
            p++;
        if (p >= len)
            return 1;
        unsigned marker = j[p++];
        if (marker == 0xD9 || marker == 0xDA) /* EOI, SOS: no metadata after */
            return 1;
        if (marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7))
            continue; /* no length */
        if (p + 2 > len)
            return 1;
        size_t seg = (size_t)j[p] << 8 | j[p + 1];
        if (seg < 2 || p + seg > len)
            return 1;
        if (marker == 0xE1 && seg >= 8 + 8 && memcmp(j + p + 2, "Exif\0\0", 6) == 0)
            return tiff_orientation(j + p + 8, seg - 8);
        p += seg;
    }
    return 1;
}

/* ---- pixels ---- */

static void thumb_size(int w, int h, int *tw, int *th)
{
    int longest = w > h ? w : h;
    if (longest <= IMAGE_THUMB_MAX_SIDE) {
        *tw = w;
        *th = h;
        return;
    }
    *tw = (int)(((long)w * IMAGE_THUMB_MAX_SIDE + longest / 2) / longest);
    *th = (int)(((long)h * IMAGE_THUMB_MAX_SIDE + longest / 2) / longest);
    if (*tw < 1)
        *tw = 1;
    if (*th < 1)
        *th = 1;
}

/* Box-filter downscale of RGB or RGBA (flattened onto white) to RGB. */
static void box_resize_rgb(const unsigned char *src, int sw, int sh, int channels, unsigned char *dst, int dw, int dh)
{
    size_t stride = (size_t)sw * (size_t)channels;
    for (int y = 0; y < dh; y++) {
        int y0 = (int)((long)y * sh / dh), y1 = (int)((long)(y + 1) * sh / dh);
        if (y1 <= y0)
            y1 = y0 + 1;
        for (int x = 0; x < dw; x++) {
            int x0 = (int)((long)x * sw / dw), x1 = (int)((long)(x + 1) * sw / dw);
            if (x1 <= x0)
                x1 = x0 + 1;
            unsigned long sum[3] = {0, 0, 0}, n = 0;
            for (int yy = y0; yy < y1; yy++) {
                const unsigned char *px = src + (size_t)yy * stride + (size_t)x0 * (size_t)channels;
                if (channels == 3) { /* opaque: no per-sample blend (a division each) */
                    for (int xx = x0; xx < x1; xx++, px += 3, n++) {
                        sum[0] += px[0];
                        sum[1] += px[1];
                        sum[2] += px[2];
                    }
                    continue;
                }
                for (int xx = x0; xx < x1; xx++, px += channels, n++) {
                    unsigned a = px[3];
                    for (int k = 0; k < 3; k++)
                        sum[k] += (px[k] * a + 255u * (255u - a) + 127u) / 255u;
                }
            }
            unsigned char *o = dst + ((size_t)y * (size_t)dw + (size_t)x) * 3;
            for (int k = 0; k < 3; k++)
                o[k] = (unsigned char)((sum[k] + n / 2) / n);
        }
    }
}

static int encode_jpeg(const unsigned char *rgb, int w, int h, unsigned char **out, size_t *out_len)
{
    tjhandle c = tjInitCompress();
    unsigned char *buf = NULL;
    unsigned long n = 0;
    int rc = -1;
    if (c && tjCompress2(c, rgb, w, 0, h, TJPF_RGB, &buf, &n, TJSAMP_420, IMAGE_THUMB_QUALITY, 0) == 0 &&
        (*out = malloc(n)) != NULL) {
        memcpy(*out, buf, n);
        *out_len = n;
        rc = 0;
    }
    tjFree(buf);
    if (c)
        tjDestroy(c);
    return rc;
}

/* Downscales pixels (RGB or RGBA) to the thumbnail box and encodes a JPEG. */
static int make_thumb(const unsigned char *px, int w, int h, int channels, image_out_t *out)
{
    int tw, th;
    thumb_size(w, h, &tw, &th);
    unsigned char *rgb = malloc((size_t)tw * (size_t)th * 3);
    if (!rgb)
        return -1;
    box_resize_rgb(px, w, h, channels, rgb, tw, th);
    int rc = encode_jpeg(rgb, tw, th, &out->thumb, &out->thumb_len);
    free(rgb);
    if (rc == 0) {
        out->thumb_width = tw;
        out->thumb_height = th;
    }
    return rc;
}

static void set_why(char *why, size_t whysz, const char *fmt, const char *detail)
{
    if (why && whysz)
        snprintf(why, whysz, fmt, detail);
}

static int too_many_pixels(long w, long h, long max_pixels, char *why, size_t whysz)
{
    if (w > 0 && h > 0 && w <= max_pixels && h <= max_pixels && w * h <= max_pixels)
        return 0;
    if (!why || !whysz)
        return 1;
    if (max_pixels >= 1000000)
        snprintf(why, whysz, "the image is %ldx%ld pixels (%.1f megapixels); at most %.1f megapixels are accepted", w,
                 h, (double)w * (double)h / 1e6, (double)max_pixels / 1e6);
    else
        snprintf(why, whysz, "the image is %ldx%ld pixels; at most %ld pixels are accepted", w, h, max_pixels);
    return 1;
}

/* ---- JPEG ---- */

/* EXIF orientation -> the lossless transform that makes the image upright. */
static const int xop_for_orientation[9] = {
    TJXOP_NONE,      TJXOP_NONE,  TJXOP_HFLIP,      TJXOP_ROT180, TJXOP_VFLIP,
    TJXOP_TRANSPOSE, TJXOP_ROT90, TJXOP_TRANSVERSE, TJXOP_ROT270,
};

/* The smallest DCT scale whose output still covers the thumbnail box. */
static tjscalingfactor thumb_scale(int w, int h)
{
    int nf = 0;
    tjscalingfactor *f = tjGetScalingFactors(&nf);
    int longest = w > h ? w : h, target = longest < IMAGE_THUMB_MAX_SIDE ? longest : IMAGE_THUMB_MAX_SIDE;
    tjscalingfactor best = {1, 1};
    int best_side = longest;
    for (int i = 0; f && i < nf; i++) {
        if (f[i].num > f[i].denom)
            continue;
        int side = TJSCALED(longest, f[i]);
        if (side >= target && side < best_side) {
            best = f[i];
            best_side = side;
        }
    }
    return best;
}

/* Decodes the cleaned JPEG at the smallest DCT scale still covering the
 * thumbnail (cheap), then box-filters it down. This decode is also the
 * validation of the stored file: whatever the scale, libjpeg entropy-decodes
 * every block of every scan (a progressive file is read whole before the
 * first row comes out) and reads on to EOI, and with TJFLAG_STOPONWARNING a
 * truncated or corrupt scan anywhere fails it. 0, -1 (does not decode) or
 * -2 (out of memory). */
static int jpeg_thumb(tjhandle dec, const unsigned char *jpeg, size_t len, int w, int h, image_out_t *out)
{
    tjscalingfactor best = thumb_scale(w, h);
    int sw = TJSCALED(w, best), sh = TJSCALED(h, best);
    unsigned char *rgb = malloc((size_t)sw * (size_t)sh * 3);
    if (!rgb)
        return -2;
    int rc = tjDecompress2(dec, jpeg, (unsigned long)len, rgb, sw, 0, sh, TJPF_RGB, TJ_FLAGS);
    if (rc == 0 && make_thumb(rgb, sw, sh, 3, out) != 0)
        rc = -2;
    free(rgb);
    return rc;
}

/* Upright already (orientation 1): the metadata segments are dropped and
 * everything else is copied byte for byte; nothing is decoded here (the
 * thumbnail decode validates the copy). Returns 1 with *clean set, 0 when
 * the file needs the transform path instead (a marker the copy does not
 * handle, or a copy that a decoder would read in another colour space: a
 * JFIF segment says YCbCr even where an APP14 "Adobe" segment or component
 * ids R,G,B say RGB, and JFIF is dropped), -1 when the file is not a valid
 * JPEG (why set), -2 when out of memory. */
static int clean_by_markers(tjhandle dec, const unsigned char *in, size_t len, int cs, unsigned char **clean,
                            size_t *clean_len, char *why, size_t whysz)
{
    unsigned char *copy = malloc(len);
    const char *problem = NULL;
    size_t n = 0;
    int w = 0, h = 0, subsamp, cs2 = -1, rc = 0;
    if (!copy)
        return -2;
    switch (jpeg_strip_metadata(in, len, copy, &n, &problem)) {
    case JPEG_STRIP_OK:
        break;
    case JPEG_STRIP_MALFORMED:
        set_why(why, whysz, "the JPEG data is corrupt or truncated (%s)", problem);
        rc = -1;
        goto Exit;
    case JPEG_STRIP_UNSUPPORTED:
        goto Exit;
    }
    if (tjDecompressHeader3(dec, copy, (unsigned long)n, &w, &h, &subsamp, &cs2) != 0 || w < 1 || h < 1 || cs2 != cs)
        goto Exit;
    *clean = copy;
    *clean_len = n;
    copy = NULL;
    rc = 1;
Exit:
    free(copy);
    return rc;
}

/* Turns the image upright with a lossless transform that copies no marker
 * at all. Partial edge blocks that a rotation cannot move losslessly are
 * trimmed. 0, -1 with why set, or -2 (out of memory). */
static int clean_by_transform(const unsigned char *in, size_t len, int orientation, unsigned char **clean,
                              size_t *clean_len, char *why, size_t whysz)
{
    tjhandle tx = tjInitTransform();
    unsigned char *buf = NULL;
    unsigned long n = 0;
    int rc = -1;
    tjtransform xf;
    memset(&xf, 0, sizeof(xf));
    xf.op = xop_for_orientation[orientation];
    xf.options = TJXOPT_COPYNONE | TJXOPT_TRIM;
    if (!tx) {
        rc = -2;
        goto Exit;
    }
    if (tjTransform(tx, in, (unsigned long)len, 1, &buf, &n, &xf, TJ_FLAGS) != 0) {
        set_why(why, whysz, "the JPEG data is corrupt or truncated (%s)", tjGetErrorStr2(tx));
        goto Exit;
    }
    if (!(*clean = malloc(n))) {
        rc = -2;
        goto Exit;
    }
    memcpy(*clean, buf, n);
    *clean_len = n;
    rc = 0;
Exit:
    tjFree(buf);
    if (tx)
        tjDestroy(tx);
    return rc;
}

/* ---- the header and what decoding it costs ---- */

typedef struct {
    image_header_t pub;
    int subsamp, colorspace; /* JPEG, from tjDecompressHeader3 */
    size_t marker_cost;      /* JPEG: the marker-level copy and the thumbnail decode */
    size_t transform_cost;   /* JPEG: the lossless transform, then the thumbnail decode */
} header_t;

/* Bytes of the DCT coefficients of a whole JPEG: 2 a sample, each component
 * padded to whole MCUs. A lossless transform holds them once for the source
 * and (for a turn or a flip) once more for the result; a progressive decode
 * holds them once. */
static size_t jpeg_coef_bytes(int w, int h, int subsamp)
{
    size_t pw = ((size_t)w + 15) & ~(size_t)15, ph = ((size_t)h + 15) & ~(size_t)15, per_pixel;
    switch (subsamp) {
    case TJSAMP_GRAY:
        per_pixel = 2;
        break;
    case TJSAMP_420:
    case TJSAMP_411:
        per_pixel = 3; /* luma + two quarter-size chroma planes, 2 bytes a sample */
        break;
    case TJSAMP_422:
    case TJSAMP_440:
        per_pixel = 4;
        break;
    default: /* 4:4:4 and anything unusual: the most */
        per_pixel = 6;
        break;
    }
    return pw * ph * per_pixel;
}

static size_t jpeg_thumb_decode_bytes(int w, int h)
{
    tjscalingfactor f = thumb_scale(w, h);
    return (size_t)TJSCALED(w, f) * (size_t)TJSCALED(h, f) * 3 + THUMB_BYTES;
}

static void jpeg_costs(header_t *h, size_t len)
{
    int w = h->pub.width, ht = h->pub.height;
    size_t coef = jpeg_coef_bytes(w, ht, h->subsamp), thumb = jpeg_thumb_decode_bytes(w, ht);
    /* the copy, then the thumbnail decode (a progressive file: all its coefficients) */
    h->marker_cost = len + coef + thumb + CODEC_OVERHEAD_BYTES;
    /* source and result coefficients, the output growing by doubling (up to
     * about 4x the input at its peak), then the decode as above */
    h->transform_cost = 2 * coef + 4 * len + thumb + CODEC_OVERHEAD_BYTES;
    h->pub.cost = h->pub.orientation == 1 ? h->marker_cost : h->transform_cost;
}

/* PNG: 8-bit RGBA at most (tRNS may add alpha to any colour type), the
 * re-encoded file (its buffer is sized for the worst case up front), the
 * row pointers and the thumbnail. */
static size_t png_raw_bytes(size_t w, size_t h)
{
    return w * h * 4 + h;
}

static size_t png_out_bound(size_t raw)
{
    return raw + (raw >> 10) + 65536; /* deflate's stored blocks at worst, and the chunk framing */
}

static size_t png_cost(int w, int h)
{
    size_t raw = png_raw_bytes((size_t)w, (size_t)h);
    return raw + png_out_bound(raw) + (size_t)h * sizeof(void *) + THUMB_BYTES + CODEC_OVERHEAD_BYTES;
}

static unsigned long be32(const unsigned char *p)
{
    return (unsigned long)p[0] << 24 | (unsigned long)p[1] << 16 | (unsigned long)p[2] << 8 | p[3];
}

static image_status_t read_png_header(const unsigned char *in, size_t len, long max_pixels, header_t *h, char *why,
                                      size_t whysz)
{
    /* signature, then IHDR must come first: length 13, "IHDR", w, h, depth, colour type... */
    if (len < 8 + 8 + 13 || be32(in + 8) != 13 || memcmp(in + 12, "IHDR", 4) != 0) {
        set_why(why, whysz, "the file is not a decodable PNG (%s)", "no IHDR chunk first");
        return IMAGE_INVALID;
    }
    unsigned long w = be32(in + 16), ht = be32(in + 20);
    if (w == 0 || ht == 0 || w > 0x7fffffffUL || ht > 0x7fffffffUL) {
        set_why(why, whysz, "the file is not a decodable PNG (%s)", "bad image size in IHDR");
        return IMAGE_INVALID;
    }
    if (too_many_pixels((long)w, (long)ht, max_pixels, why, whysz))
        return IMAGE_TOO_LARGE;
    h->pub.width = (int)w;
    h->pub.height = (int)ht;
    h->pub.orientation = 1;
    h->pub.cost = png_cost(h->pub.width, h->pub.height);
    return IMAGE_OK;
}

static image_status_t read_jpeg_header(const unsigned char *in, size_t len, long max_pixels, header_t *h, char *why,
                                       size_t whysz)
{
    image_status_t st = IMAGE_INVALID;
    tjhandle dec = tjInitDecompress();
    int w = 0, ht = 0;
    if (!dec) {
        set_why(why, whysz, "%s", "out of memory while processing the image");
        return IMAGE_NOMEM;
    }
    /* Headers only: no pixel or coefficient buffer is allocated here. A file
     * that ends inside its headers can read as a tables-only datastream:
     * success without a size. */
    if (tjDecompressHeader3(dec, in, (unsigned long)len, &w, &ht, &h->subsamp, &h->colorspace) != 0 || w < 1 ||
        ht < 1) {
        set_why(why, whysz, "the file is not a decodable JPEG (%s)", tjGetErrorStr2(dec));
        goto Exit;
    }
    if (too_many_pixels(w, ht, max_pixels, why, whysz)) {
        st = IMAGE_TOO_LARGE;
        goto Exit;
    }
    if (h->colorspace == TJCS_CMYK || h->colorspace == TJCS_YCCK) {
        set_why(why, whysz, "%s JPEGs are not supported; send an RGB photo", "CMYK");
        st = IMAGE_UNSUPPORTED;
        goto Exit;
    }
    h->pub.width = w;
    h->pub.height = ht;
    h->pub.orientation = image_jpeg_orientation(in, len);
    jpeg_costs(h, len);
    st = IMAGE_OK;
Exit:
    tjDestroy(dec);
    return st;
}

static image_status_t read_header(const unsigned char *in, size_t len, long max_pixels, header_t *h, char *why,
                                  size_t whysz)
{
    memset(h, 0, sizeof(*h));
    if (why && whysz)
        why[0] = '\0';
    image_type_t t = image_sniff(in, len);
    h->pub.type = t;
    switch (t) {
    case IMAGE_JPEG:
        return read_jpeg_header(in, len, max_pixels, h, why, whysz);
    case IMAGE_PNG:
        return read_png_header(in, len, max_pixels, h, why, whysz);
    case IMAGE_UNKNOWN:
        set_why(why, whysz, "%s", "the file is not an image; send a JPEG or PNG photo");
        return IMAGE_UNSUPPORTED;
    default:
        set_why(why, whysz, "%s images are not supported; send a JPEG or PNG photo", image_type_name(t));
        return IMAGE_UNSUPPORTED;
    }
}

image_status_t image_read_header(const unsigned char *in, size_t len, long max_pixels, image_header_t *out, char *why,
                                 size_t whysz)
{
    header_t h;
    image_status_t st = read_header(in, len, max_pixels, &h, why, whysz);
    *out = h.pub;
    return st;
}

/* ---- the budget ---- */

typedef struct {
    media_budget_t *budget; /* NULL: no cap */
    size_t held;
} reservation_t;

static double mib(size_t n)
{
    return (double)n / (1024.0 * 1024.0);
}

/* Makes the reservation at least `want` bytes (waiting as the budget says).
 * IMAGE_OK, IMAGE_BUSY or IMAGE_TOO_LARGE, with why set. */
static image_status_t hold(reservation_t *r, size_t want, const header_t *h, char *why, size_t whysz)
{
    if (!r->budget || want <= r->held)
        return IMAGE_OK;
    media_budget_status_t st =
        want > r->budget->capacity ? MEDIA_BUDGET_TOO_BIG : media_budget_reserve(r->budget, want - r->held);
    switch (st) {
    case MEDIA_BUDGET_OK:
        r->held = want;
        return IMAGE_OK;
    case MEDIA_BUDGET_BUSY:
        set_why(why, whysz, "%s", "the server is busy processing other photos; retry in a moment");
        return IMAGE_BUSY;
    case MEDIA_BUDGET_TOO_BIG:
        break;
    }
    if (why && whysz)
        snprintf(why, whysz,
                 "the image is %dx%d pixels; processing it needs %.0f MiB, more than the %.0f MiB this server "
                 "processes at once; send a smaller photo",
                 h->pub.width, h->pub.height, mib(want), mib(r->budget->capacity));
    return IMAGE_TOO_LARGE;
}

static void unhold(reservation_t *r)
{
    if (r->budget && r->held)
        media_budget_release(r->budget, r->held);
    r->held = 0;
}

/* ---- JPEG: the whole process ---- */

static image_status_t process_jpeg(const unsigned char *in, size_t len, const header_t *h, reservation_t *res,
                                   image_out_t *out, char *why, size_t whysz)
{
    image_status_t st = IMAGE_INVALID;
    tjhandle dec = tjInitDecompress();
    unsigned char *clean = NULL;
    size_t clean_len = 0;
    int w = 0, ht = 0, subsamp, cs = -1, rc = 0;
    if (!dec) {
        st = IMAGE_NOMEM;
        goto Exit;
    }
    /* Upright first (stripping drops the orientation tag), then no metadata:
     * EXIF (GPS), XMP, ICC, comments. A photo that needs no turning is
     * copied at the marker level, which costs next to nothing; only a
     * rotated or mirrored one is re-encoded losslessly. */
    int orientation = h->pub.orientation;
    if (orientation == 1)
        rc = clean_by_markers(dec, in, len, h->colorspace, &clean, &clean_len, why, whysz);
    if (rc == 0) {
        /* the marker copy could not handle it: the transform needs more room */
        if ((st = hold(res, h->transform_cost, h, why, whysz)) != IMAGE_OK)
            goto Exit;
        st = IMAGE_INVALID;
        rc = clean_by_transform(in, len, orientation, &clean, &clean_len, why, whysz);
    }
    if (rc < 0) {
        if (rc == -2)
            st = IMAGE_NOMEM;
        goto Exit;
    }
    if (tjDecompressHeader3(dec, clean, (unsigned long)clean_len, &w, &ht, &subsamp, &cs) != 0 || w < 1 || ht < 1) {
        set_why(why, whysz, "the JPEG is too small to turn upright (%s)", tjGetErrorStr2(dec));
        goto Exit;
    }
    if ((rc = jpeg_thumb(dec, clean, clean_len, w, ht, out)) != 0) {
        if (rc == -2)
            st = IMAGE_NOMEM;
        else
            set_why(why, whysz, "the JPEG data is corrupt or truncated (%s)", tjGetErrorStr2(dec));
        goto Exit;
    }
    out->data = clean;
    out->len = clean_len;
    clean = NULL;
    out->width = w;
    out->height = ht;
    out->type = IMAGE_JPEG;
    out->content_type = "image/jpeg";
    st = IMAGE_OK;
Exit:
    free(clean);
    if (dec)
        tjDestroy(dec);
    return st;
}

/* ---- PNG ---- */

typedef struct {
    unsigned char *buf;
    size_t len, cap;
} membuf_t;

static void mem_write(png_structp png, png_bytep data, size_t n)
{
    membuf_t *m = png_get_io_ptr(png);
    if (m->len + n > m->cap) {
        size_t cap = m->cap ? m->cap : 65536;
        while (cap < m->len + n)
            cap *= 2;
        unsigned char *nb = realloc(m->buf, cap);
        if (!nb)
            png_error(png, "out of memory");
        m->buf = nb;
        m->cap = cap;
    }
    memcpy(m->buf + m->len, data, n);
    m->len += n;
}

static void mem_flush(png_structp png)
{
    (void)png;
}

/* Writes IHDR, IDAT and IEND only: no ancillary chunk at all. Returns 0 or
 * -1; m->buf is owned by the caller either way. */
static int write_png_rows(png_structp png, png_infop info, membuf_t *m, const unsigned char *px, int w, int h,
                          int channels)
{
    if (setjmp(png_jmpbuf(png)))
        return -1;
    png_set_write_fn(png, m, mem_write, mem_flush);
    png_set_IHDR(png, info, (png_uint_32)w, (png_uint_32)h, 8,
                 channels == 4 ? PNG_COLOR_TYPE_RGB_ALPHA : PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    for (int y = 0; y < h; y++)
        png_write_row(png, px + (size_t)y * (size_t)w * (size_t)channels);
    png_write_end(png, NULL);
    return 0;
}

static int encode_png(const unsigned char *px, int w, int h, int channels, unsigned char **out, size_t *out_len)
{
    membuf_t *m = calloc(1, sizeof(*m));
    png_structp png = m ? png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL) : NULL;
    png_infop info = png ? png_create_info_struct(png) : NULL;
    int rc = -1;
    /* One buffer of the worst-case size (what the budget counted), so the
     * output never goes through a doubling realloc (old and new at once);
     * only the pages written are touched. */
    size_t bound = png_out_bound((size_t)w * (size_t)h * (size_t)channels + (size_t)h);
    if (info && (m->buf = malloc(bound)) != NULL) {
        m->cap = bound;
        if (write_png_rows(png, info, m, px, w, h, channels) == 0) {
            *out = m->buf;
            *out_len = m->len;
            m->buf = NULL;
            rc = 0;
        }
    }
    if (png)
        png_destroy_write_struct(&png, &info);
    if (m)
        free(m->buf);
    free(m);
    return rc;
}

typedef struct {
    const unsigned char *data;
    size_t len, off;
    char error[160];
} png_src_t;

static void png_src_read(png_structp png, png_bytep out, size_t n)
{
    png_src_t *s = png_get_io_ptr(png);
    if (n > s->len - s->off)
        png_error(png, "the file ends early");
    memcpy(out, s->data + s->off, n);
    s->off += n;
}

static void png_on_error(png_structp png, png_const_charp msg)
{
    png_src_t *s = png_get_error_ptr(png);
    snprintf(s->error, sizeof(s->error), "%s", msg);
    png_longjmp(png, 1);
}

static void png_on_warning(png_structp png, png_const_charp msg)
{
    (void)png;
    (void)msg;
}

/* Known ancillary chunks handled as unknown and never kept: skipped with
 * only their CRC read, so none is decompressed or stored (zTXt, iTXt and
 * iCCP are compressed: a small file could otherwise inflate to megabytes
 * each). tRNS stays: it carries transparency. */
static const png_byte png_skipped_chunks[] = "bKGD\0cHRM\0eXIf\0gAMA\0hIST\0iCCP\0iTXt\0oFFs\0pCAL\0pHYs\0"
                                             "sBIT\0sCAL\0sPLT\0sRGB\0sTER\0tEXt\0tIME\0zTXt";

/* Decodes to 8-bit RGB or RGBA rows in *px (malloc). The header check ran
 * before: w x h is within the pixel limit. libpng reads no further than the
 * rows the header declares: extra compressed data is an error, never
 * inflated into memory. 0, -1 (why set) or -2 (out of memory). */
static int png_decode(const unsigned char *in, size_t len, unsigned char **px_out, int *w_out, int *h_out, int *ch_out,
                      char *why, size_t whysz)
{
    png_src_t src = {.data = in, .len = len};
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &src, png_on_error, png_on_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    unsigned char *volatile px = NULL;
    png_bytep *volatile rows = NULL;
    volatile int rc = -2;
    if (!info)
        goto Exit;
    if (setjmp(png_jmpbuf(png))) {
        rc = strstr(src.error, "memory") ? -2 : -1;
        if (rc == -1)
            set_why(why, whysz, "the PNG data is corrupt or truncated (%s)", src.error);
        goto Exit;
    }
    png_set_read_fn(png, &src, png_src_read);
    long side = limits.max_pixels < 1000000 ? limits.max_pixels : 1000000;
    png_set_user_limits(png, (png_uint_32)side, (png_uint_32)side);
    png_set_chunk_cache_max(png, PNG_CHUNK_CACHE_MAX);
    png_set_chunk_malloc_max(png, PNG_CHUNK_MALLOC_MAX);
    png_set_keep_unknown_chunks(png, PNG_HANDLE_CHUNK_NEVER, NULL, 0);
    png_set_keep_unknown_chunks(png, PNG_HANDLE_CHUNK_NEVER, png_skipped_chunks, (int)(sizeof(png_skipped_chunks) / 5));
    /* Strict, like TJFLAG_STOPONWARNING for JPEG: "too much image data"
     * and the like fail the image instead of being shrugged off. */
    png_set_benign_errors(png, 0);
    png_read_info(png, info);
    png_uint_32 w, h;
    int depth, ctype, interlace;
    png_get_IHDR(png, info, &w, &h, &depth, &ctype, &interlace, NULL, NULL);
    if (ctype == PNG_COLOR_TYPE_PALETTE)
        png_set_palette_to_rgb(png);
    if (ctype == PNG_COLOR_TYPE_GRAY && depth < 8)
        png_set_expand_gray_1_2_4_to_8(png);
    if (png_get_valid(png, info, PNG_INFO_tRNS))
        png_set_tRNS_to_alpha(png);
    if (depth == 16)
        png_set_scale_16(png);
    if (ctype == PNG_COLOR_TYPE_GRAY || ctype == PNG_COLOR_TYPE_GRAY_ALPHA)
        png_set_gray_to_rgb(png);
    png_set_interlace_handling(png);
    png_read_update_info(png, info);
    int ch = png_get_channels(png, info);
    if ((ch != 3 && ch != 4) || png_get_bit_depth(png, info) != 8 ||
        png_get_rowbytes(png, info) != (size_t)w * (size_t)ch)
        png_error(png, "unexpected pixel layout");
    size_t stride = (size_t)w * (size_t)ch;
    if (!(px = malloc(stride * h)) || !(rows = malloc((size_t)h * sizeof(*rows)))) {
        rc = -2;
        goto Exit;
    }
    for (png_uint_32 y = 0; y < h; y++)
        rows[y] = px + (size_t)y * stride;
    png_read_image(png, rows);
    png_read_end(png, NULL);
    *px_out = px;
    px = NULL;
    *w_out = (int)w;
    *h_out = (int)h;
    *ch_out = ch;
    rc = 0;
Exit:
    free(rows);
    free(px);
    if (png)
        png_destroy_read_struct(&png, &info, NULL);
    return rc;
}

static image_status_t process_png(const unsigned char *in, size_t len, image_out_t *out, char *why, size_t whysz)
{
    image_status_t st = IMAGE_NOMEM;
    unsigned char *px = NULL, *chunks = malloc(len);
    size_t chunks_len = 0;
    const char *problem = NULL;
    int w = 0, h = 0, channels = 0;
    if (!chunks)
        goto Exit;
    /* libpng never sees a chunk larger than the file, nor one that inflates
     * (png_chunks.h); it reads from this copy. */
    if (png_keep_decoding_chunks(in, len, chunks, &chunks_len, &problem) != 0) {
        set_why(why, whysz, "the PNG data is corrupt or truncated (%s)", problem);
        st = IMAGE_INVALID;
        goto Exit;
    }
    switch (png_decode(chunks, chunks_len, &px, &w, &h, &channels, why, whysz)) {
    case 0:
        break;
    case -1:
        st = IMAGE_INVALID;
        goto Exit;
    default:
        goto Exit;
    }
    if (encode_png(px, w, h, channels, &out->data, &out->len) != 0 || make_thumb(px, w, h, channels, out) != 0)
        goto Exit;
    out->width = w;
    out->height = h;
    out->type = IMAGE_PNG;
    out->content_type = "image/png";
    st = IMAGE_OK;
Exit:
    free(px);
    free(chunks);
    return st;
}

/* ---- entry ---- */

image_status_t image_process(const unsigned char *in, size_t len, image_out_t *out, char *why, size_t whysz)
{
    memset(out, 0, sizeof(*out));
    header_t h;
    image_status_t st = read_header(in, len, limits.max_pixels, &h, why, whysz);
    if (st != IMAGE_OK)
        return st;
    reservation_t res = {limits.budget, 0};
    if ((st = hold(&res, h.pub.cost, &h, why, whysz)) != IMAGE_OK)
        return st;
    if (h.pub.type == IMAGE_JPEG)
        st = process_jpeg(in, len, &h, &res, out, why, whysz);
    else
        st = process_png(in, len, out, why, whysz);
    unhold(&res);
    if (st != IMAGE_OK)
        image_out_free(out);
    if (st == IMAGE_NOMEM)
        set_why(why, whysz, "%s", "out of memory while processing the image");
    return st;
}

void image_out_free(image_out_t *out)
{
    if (!out)
        return;
    free(out->data);
    free(out->thumb);
    memset(out, 0, sizeof(*out));
}
