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

/* ---- sniffing ---- */

static int is_heif_brand(const unsigned char *b)
{
    static const char *const brands[] = {"heic", "heix", "hevc", "hevx", "heim", "heis", "mif1", "msf1", "avif", "avis"};
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

static int too_many_pixels(int w, int h, char *why, size_t whysz)
{
    if (w > 0 && h > 0 && (long)w * (long)h <= IMAGE_MAX_PIXELS)
        return 0;
    if (why && whysz)
        snprintf(why, whysz, "the image is %dx%d; at most %ld megapixels are accepted", w, h,
                 IMAGE_MAX_PIXELS / 1000000);
    return 1;
}

/* ---- JPEG ---- */

/* EXIF orientation -> the lossless transform that makes the image upright. */
static const int xop_for_orientation[9] = {
    TJXOP_NONE, TJXOP_NONE, TJXOP_HFLIP, TJXOP_ROT180, TJXOP_VFLIP,
    TJXOP_TRANSPOSE, TJXOP_ROT90, TJXOP_TRANSVERSE, TJXOP_ROT270,
};

/* Decodes the cleaned JPEG at the smallest DCT scale still covering the
 * thumbnail (cheap), then box-filters it down. This decode is also the
 * validation of the stored file: whatever the scale, libjpeg entropy-decodes
 * every block of every scan (a progressive file is read whole before the
 * first row comes out) and reads on to EOI, and with TJFLAG_STOPONWARNING a
 * truncated or corrupt scan anywhere fails it. 0, -1 (does not decode) or
 * -2 (out of memory). */
static int jpeg_thumb(tjhandle dec, const unsigned char *jpeg, size_t len, int w, int h, image_out_t *out)
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

static image_status_t process_jpeg(const unsigned char *in, size_t len, image_out_t *out, char *why, size_t whysz)
{
    image_status_t st = IMAGE_INVALID;
    tjhandle dec = tjInitDecompress();
    unsigned char *clean = NULL;
    size_t clean_len = 0;
    int w = 0, h = 0, subsamp, cs = -1, rc = 0;
    if (!dec) {
        st = IMAGE_NOMEM;
        goto Exit;
    }
    /* A file that ends inside its headers can read as a tables-only
     * datastream: success without a size. */
    if (tjDecompressHeader3(dec, in, (unsigned long)len, &w, &h, &subsamp, &cs) != 0 || w < 1 || h < 1) {
        set_why(why, whysz, "the file is not a decodable JPEG (%s)", tjGetErrorStr2(dec));
        goto Exit;
    }
    if (too_many_pixels(w, h, why, whysz))
        goto Exit;
    if (cs == TJCS_CMYK || cs == TJCS_YCCK) {
        set_why(why, whysz, "%s JPEGs are not supported; send an RGB photo", "CMYK");
        st = IMAGE_UNSUPPORTED;
        goto Exit;
    }
    /* Upright first (stripping drops the orientation tag), then no metadata:
     * EXIF (GPS), XMP, ICC, comments. A photo that needs no turning is
     * copied at the marker level, which costs next to nothing; only a
     * rotated or mirrored one is re-encoded losslessly. */
    int orientation = image_jpeg_orientation(in, len);
    if (orientation == 1)
        rc = clean_by_markers(dec, in, len, cs, &clean, &clean_len, why, whysz);
    if (rc == 0)
        rc = clean_by_transform(in, len, orientation, &clean, &clean_len, why, whysz);
    if (rc < 0) {
        if (rc == -2)
            st = IMAGE_NOMEM;
        goto Exit;
    }
    if (tjDecompressHeader3(dec, clean, (unsigned long)clean_len, &w, &h, &subsamp, &cs) != 0 || w < 1 || h < 1) {
        set_why(why, whysz, "the JPEG is too small to turn upright (%s)", tjGetErrorStr2(dec));
        goto Exit;
    }
    if ((rc = jpeg_thumb(dec, clean, clean_len, w, h, out)) != 0) {
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
    out->height = h;
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
    if (info && write_png_rows(png, info, m, px, w, h, channels) == 0) {
        *out = m->buf;
        *out_len = m->len;
        m->buf = NULL;
        rc = 0;
    }
    if (png)
        png_destroy_write_struct(&png, &info);
    if (m)
        free(m->buf);
    free(m);
    return rc;
}

static image_status_t process_png(const unsigned char *in, size_t len, image_out_t *out, char *why, size_t whysz)
{
    image_status_t st = IMAGE_INVALID;
    unsigned char *px = NULL, *chunks = malloc(len);
    size_t chunks_len = 0;
    const char *problem = NULL;
    png_image img;
    memset(&img, 0, sizeof(img));
    img.version = PNG_IMAGE_VERSION;
    if (!chunks) {
        st = IMAGE_NOMEM;
        goto Exit;
    }
    /* libpng never sees a chunk larger than the file, nor one that inflates
     * (png_chunks.h); it reads from this copy until png_image_free. */
    if (png_keep_decoding_chunks(in, len, chunks, &chunks_len, &problem) != 0) {
        set_why(why, whysz, "the PNG data is corrupt or truncated (%s)", problem);
        goto Exit;
    }
    if (!png_image_begin_read_from_memory(&img, chunks, chunks_len)) {
        set_why(why, whysz, "the file is not a decodable PNG (%s)", img.message);
        goto Exit;
    }
    if (too_many_pixels((int)(img.width > 0x7fffffff ? 0 : img.width), (int)(img.height > 0x7fffffff ? 0 : img.height),
                        why, whysz))
        goto Exit;
    int channels = (img.format & PNG_FORMAT_FLAG_ALPHA) ? 4 : 3;
    img.format = channels == 4 ? PNG_FORMAT_RGBA : PNG_FORMAT_RGB;
    int w = (int)img.width, h = (int)img.height;
    if (!(px = malloc(PNG_IMAGE_SIZE(img)))) {
        st = IMAGE_NOMEM;
        goto Exit;
    }
    if (!png_image_finish_read(&img, NULL, px, 0, NULL)) {
        set_why(why, whysz, "the PNG data is corrupt or truncated (%s)", img.message);
        goto Exit;
    }
    if (encode_png(px, w, h, channels, &out->data, &out->len) != 0 || make_thumb(px, w, h, channels, out) != 0) {
        st = IMAGE_NOMEM;
        goto Exit;
    }
    out->width = w;
    out->height = h;
    out->type = IMAGE_PNG;
    out->content_type = "image/png";
    st = IMAGE_OK;
Exit:
    png_image_free(&img);
    free(px);
    free(chunks);
    return st;
}

/* ---- entry ---- */

image_status_t image_process(const unsigned char *in, size_t len, image_out_t *out, char *why, size_t whysz)
{
    memset(out, 0, sizeof(*out));
    if (why && whysz)
        why[0] = '\0';
    image_type_t t = image_sniff(in, len);
    image_status_t st;
    switch (t) {
    case IMAGE_JPEG:
        st = process_jpeg(in, len, out, why, whysz);
        break;
    case IMAGE_PNG:
        st = process_png(in, len, out, why, whysz);
        break;
    case IMAGE_UNKNOWN:
        set_why(why, whysz, "%s", "the file is not an image; send a JPEG or PNG photo");
        return IMAGE_UNSUPPORTED;
    default:
        if (why && whysz)
            snprintf(why, whysz, "%s images are not supported; send a JPEG or PNG photo", image_type_name(t));
        return IMAGE_UNSUPPORTED;
    }
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
