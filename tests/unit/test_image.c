/* test_image.c: type sniffing from magic bytes, the EXIF orientation reader,
 * and image_process: a JPEG carrying EXIF GPS and orientation 6 comes out
 * upright and without any metadata segment; an upright one is copied without
 * its metadata but otherwise byte for byte (progressive files too, with
 * metadata between their scans); its colour interpretation is kept; a PNG
 * loses its tEXt chunk; broken, truncated (also in the last scan of a
 * progressive file), oversized and unsupported files are refused.
 *
 * Memory bounds: the header check reads the size without decoding and
 * refuses more than the pixel limit (JPEG SOF, PNG IHDR); the decode cost
 * it computes grows with what the path needs (a turn costs more); the
 * budget refuses what never fits, answers busy when full, wakes a waiter on
 * release, and image_process gives back all it reserved; PNG bombs (huge
 * declared size, IDAT inflating past the declared rows, a zTXt bomb,
 * thousands of chunks) are refused or skipped; PNG variants (16-bit grey,
 * interlaced, palette with tRNS) still decode. */
#include <png.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>
#include <turbojpeg.h>

#include "image.h"
#include "jpeg_scan.h"
#include "test.h"

/* ---- fixtures ---- */

/* A w x h JPEG (4:2:0): left half red, right half blue, plus a little
 * noise; flags: 0 or TJFLAG_PROGRESSIVE. libturbojpeg writes a JFIF APP0
 * segment right after SOI. */
static unsigned char *make_jpeg_flags(int w, int h, int flags, size_t *len)
{
    unsigned char *rgb = malloc((size_t)w * h * 3);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            unsigned char *p = rgb + ((size_t)y * w + x) * 3;
            unsigned noise = (unsigned)(x * 7 + y * 13) % 16;
            p[0] = (unsigned char)((x < w / 2 ? 220 : 20) + noise);
            p[1] = (unsigned char)(20 + noise);
            p[2] = (unsigned char)((x < w / 2 ? 20 : 220) + noise);
        }
    tjhandle c = tjInitCompress();
    unsigned char *buf = NULL;
    unsigned long n = 0;
    tjCompress2(c, rgb, w, 0, h, TJPF_RGB, &buf, &n, TJSAMP_420, 90, flags);
    tjDestroy(c);
    free(rgb);
    unsigned char *out = malloc(n);
    memcpy(out, buf, n);
    tjFree(buf);
    *len = n;
    return out;
}

static unsigned char *make_jpeg(int w, int h, size_t *len)
{
    return make_jpeg_flags(w, h, 0, len);
}

static void put16(unsigned char *p, unsigned v)
{
    p[0] = (unsigned char)(v & 0xff);
    p[1] = (unsigned char)(v >> 8);
}

static void put32(unsigned char *p, unsigned long v)
{
    put16(p, (unsigned)(v & 0xffff));
    put16(p + 2, (unsigned)(v >> 16));
}

/* Inserts an APP1 Exif segment after SOI: IFD0 with Orientation and a GPS
 * IFD pointer; the GPS IFD holds latitude 31/1 14/1 5/1 N. Little-endian. */
static unsigned char *with_exif(const unsigned char *jpeg, size_t len, int orientation, size_t *out_len)
{
    unsigned char tiff[128];
    memset(tiff, 0, sizeof tiff);
    memcpy(tiff, "II*\0", 4);
    put32(tiff + 4, 8);
    put16(tiff + 8, 2);       /* IFD0: 2 entries */
    put16(tiff + 10, 0x0112); /* Orientation */
    put16(tiff + 12, 3);
    put32(tiff + 14, 1);
    put16(tiff + 18, (unsigned)orientation);
    put16(tiff + 22, 0x8825); /* GPSInfo IFD pointer */
    put16(tiff + 24, 4);
    put32(tiff + 26, 1);
    put32(tiff + 30, 38);
    put32(tiff + 34, 0);      /* no next IFD */
    put16(tiff + 38, 2);      /* GPS IFD: 2 entries */
    put16(tiff + 40, 0x0001); /* GPSLatitudeRef "N" */
    put16(tiff + 42, 2);
    put32(tiff + 44, 2);
    memcpy(tiff + 48, "N\0\0\0", 4);
    put16(tiff + 52, 0x0002); /* GPSLatitude: 3 RATIONAL at 68 */
    put16(tiff + 54, 5);
    put32(tiff + 56, 3);
    put32(tiff + 60, 68);
    put32(tiff + 64, 0);
    unsigned long lat[6] = {31, 1, 14, 1, 5, 1};
    for (int i = 0; i < 6; i++)
        put32(tiff + 68 + 4 * i, lat[i]);
    size_t tiff_len = 92;
    size_t seg_len = 2 + 6 + tiff_len;
    *out_len = len + 2 + seg_len;
    unsigned char *out = malloc(*out_len);
    memcpy(out, jpeg, 2);
    out[2] = 0xFF;
    out[3] = 0xE1;
    out[4] = (unsigned char)(seg_len >> 8);
    out[5] = (unsigned char)(seg_len & 0xff);
    memcpy(out + 6, "Exif\0\0", 6);
    memcpy(out + 12, tiff, tiff_len);
    memcpy(out + 12 + tiff_len, jpeg + 2, len - 2);
    return out;
}

static unsigned long crc32_of(const unsigned char *p, size_t n)
{
    unsigned long c = 0xffffffffUL;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (0xedb88320UL & (0UL - (c & 1)));
    }
    return c ^ 0xffffffffUL;
}

static void put32be(unsigned char *p, unsigned long v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

/* A w x h RGBA PNG with a tEXt chunk "Comment: secret-location" after IHDR. */
static unsigned char *make_png_with_text(int w, int h, size_t *len)
{
    png_image img;
    memset(&img, 0, sizeof img);
    img.version = PNG_IMAGE_VERSION;
    img.width = (png_uint_32)w;
    img.height = (png_uint_32)h;
    img.format = PNG_FORMAT_RGBA;
    unsigned char *px = malloc((size_t)w * h * 4);
    for (int i = 0; i < w * h; i++) {
        px[4 * i] = 10;
        px[4 * i + 1] = 200;
        px[4 * i + 2] = 30;
        px[4 * i + 3] = (unsigned char)(i % 2 ? 255 : 128);
    }
    png_alloc_size_t n = 0;
    png_image_write_to_memory(&img, NULL, &n, 0, px, 0, NULL);
    unsigned char *png = malloc(n);
    png_image_write_to_memory(&img, png, &n, 0, px, 0, NULL);
    free(px);
    static const char text[] = "Comment\0secret-location";
    size_t tlen = sizeof text - 1, chunk = 12 + tlen, ihdr_end = 8 + 25;
    unsigned char *out = malloc(n + chunk);
    memcpy(out, png, ihdr_end);
    unsigned char *c = out + ihdr_end;
    put32be(c, tlen);
    memcpy(c + 4, "tEXt", 4);
    memcpy(c + 8, text, tlen);
    put32be(c + 8 + tlen, crc32_of(c + 4, 4 + tlen));
    memcpy(out + ihdr_end + chunk, png + ihdr_end, n - ihdr_end);
    free(png);
    *len = n + chunk;
    return out;
}

static int contains(const unsigned char *hay, size_t n, const char *needle, size_t m)
{
    for (size_t i = 0; i + m <= n; i++)
        if (memcmp(hay + i, needle, m) == 0)
            return 1;
    return 0;
}

/* Number of APPn/COM marker segments before SOS. */
static int count_metadata_segments(const unsigned char *j, size_t len)
{
    int count = 0;
    size_t p = 2;
    while (p + 4 <= len && j[p] == 0xFF) {
        unsigned m = j[p + 1];
        if (m == 0xDA)
            break;
        size_t seg = (size_t)j[p + 2] << 8 | j[p + 3];
        if ((m >= 0xE1 && m <= 0xEF) || m == 0xFE)
            count++;
        p += 2 + seg;
    }
    return count;
}

/* APP0..APP15 and COM segments anywhere in the file. */
static int count_all_metadata_segments(const unsigned char *j, size_t len)
{
    int count = 0;
    for (unsigned m = 0xE0; m <= 0xEF; m++)
        for (int i = 0; find_marker(j, len, m, i) != (size_t)-1; i++)
            count++;
    for (int i = 0; find_marker(j, len, 0xFE, i) != (size_t)-1; i++)
        count++;
    return count;
}

/* A copy of j with n bytes of seg inserted at offset at (j is freed). */
static unsigned char *splice(unsigned char *j, size_t *len, size_t at, const void *seg, size_t n)
{
    unsigned char *out = malloc(*len + n);
    memcpy(out, j, at);
    memcpy(out + at, seg, n);
    memcpy(out + at + n, j + at, *len - at);
    free(j);
    *len += n;
    return out;
}

/* A marker segment FF marker LEN payload, inserted at offset at. */
static unsigned char *splice_segment(unsigned char *j, size_t *len, size_t at, unsigned marker, const void *payload,
                                     size_t n)
{
    unsigned char seg[256];
    seg[0] = 0xFF;
    seg[1] = (unsigned char)marker;
    seg[2] = (unsigned char)((n + 2) >> 8);
    seg[3] = (unsigned char)((n + 2) & 0xff);
    memcpy(seg + 4, payload, n);
    return splice(j, len, at, seg, n + 4);
}

/* Decodes at full size with strict flags into px (w*h*3); the colour space
 * the decoder chose goes to *cs. 0 or -1. */
static int decode_rgb(const unsigned char *j, size_t len, unsigned char *px, int w, int h, int *cs)
{
    tjhandle d = tjInitDecompress();
    int dw, dh, ss;
    int rc = tjDecompressHeader3(d, j, len, &dw, &dh, &ss, cs) == 0 && dw == w && dh == h &&
                     tjDecompress2(d, j, len, px, w, 0, h, TJPF_RGB, TJFLAG_STOPONWARNING) == 0
                 ? 0
                 : -1;
    tjDestroy(d);
    return rc;
}

/* ---- tests ---- */

static void test_sniff(void)
{
    CHECK_INT(image_sniff((const unsigned char *)"\xff\xd8\xff\xe0", 4), IMAGE_JPEG);
    CHECK_INT(image_sniff((const unsigned char *)"\x89PNG\r\n\x1a\n....", 12), IMAGE_PNG);
    CHECK_INT(image_sniff((const unsigned char *)"GIF89a......", 12), IMAGE_GIF);
    CHECK_INT(image_sniff((const unsigned char *)"RIFF\x10\0\0\0WEBPVP8 ", 16), IMAGE_WEBP);
    CHECK_INT(image_sniff((const unsigned char *)"\0\0\0\x18"
                                                 "ftypheic\0\0\0\0mif1heic",
                          24),
              IMAGE_HEIF);
    CHECK_INT(image_sniff((const unsigned char *)"\0\0\0\x18"
                                                 "ftypmp42\0\0\0\0isommif1",
                          24),
              IMAGE_HEIF);
    CHECK_INT(image_sniff((const unsigned char *)"\0\0\0\x18"
                                                 "ftypmp42\0\0\0\0isomavc1",
                          24),
              IMAGE_UNKNOWN);
    CHECK_INT(image_sniff((const unsigned char *)"hello, I am a text file", 23), IMAGE_UNKNOWN);
    CHECK_INT(image_sniff((const unsigned char *)"\xff\xd8", 2), IMAGE_UNKNOWN);
    CHECK_INT(image_sniff(NULL, 0), IMAGE_UNKNOWN);
}

static void test_orientation_reader(void)
{
    size_t len, elen;
    unsigned char *j = make_jpeg(32, 16, &len);
    CHECK_INT(image_jpeg_orientation(j, len), 1);
    for (int o = 1; o <= 8; o++) {
        unsigned char *e = with_exif(j, len, o, &elen);
        CHECK_INT(image_jpeg_orientation(e, elen), o);
        free(e);
    }
    unsigned char *e = with_exif(j, len, 9, &elen); /* out of range */
    CHECK_INT(image_jpeg_orientation(e, elen), 1);
    e[14] = 'X'; /* break the TIFF byte order mark */
    CHECK_INT(image_jpeg_orientation(e, elen), 1);
    CHECK_INT(image_jpeg_orientation(e, 20), 1); /* cut inside the segment */
    free(e);
    free(j);
}

static void test_jpeg_exif_gps_orientation(void)
{
    size_t len, elen;
    unsigned char *j = make_jpeg(64, 32, &len);
    unsigned char *e = with_exif(j, len, 6, &elen); /* rotate 90 clockwise to display */
    CHECK(contains(e, elen, "Exif", 4));
    image_out_t out;
    char why[200];
    CHECK_INT(image_process(e, elen, &out, why, sizeof why), IMAGE_OK);
    CHECK_STR(out.content_type, "image/jpeg");
    CHECK_INT(out.width, 32);
    CHECK_INT(out.height, 64);
    CHECK(!contains(out.data, out.len, "Exif", 4));
    CHECK_INT(count_metadata_segments(out.data, out.len), 0);
    CHECK_INT(image_jpeg_orientation(out.data, out.len), 1);
    /* upright: the left (red) half of the stored image is now on top */
    tjhandle d = tjInitDecompress();
    unsigned char px[32 * 64 * 3];
    CHECK_INT(tjDecompress2(d, out.data, out.len, px, 32, 0, 64, TJPF_RGB, 0), 0);
    const unsigned char *top = px + (8 * 32 + 16) * 3, *bottom = px + (56 * 32 + 16) * 3;
    CHECK(top[0] > 150 && top[2] < 100);
    CHECK(bottom[2] > 150 && bottom[0] < 100);
    /* the thumbnail is a JPEG of the upright image (small: kept at size) */
    int tw, th, ss, cs;
    CHECK_INT(tjDecompressHeader3(d, out.thumb, out.thumb_len, &tw, &th, &ss, &cs), 0);
    CHECK_INT(tw, 32);
    CHECK_INT(th, 64);
    CHECK_INT(out.thumb_width, 32);
    CHECK_INT(out.thumb_height, 64);
    CHECK(!contains(out.thumb, out.thumb_len, "Exif", 4));
    tjDestroy(d);
    image_out_free(&out);
    free(e);
    free(j);
}

static void test_jpeg_upright_is_copied_not_reencoded(void)
{
    size_t len, elen;
    unsigned char *j = make_jpeg(64, 32, &len);
    CHECK(j[2] == 0xFF && j[3] == 0xE0); /* JFIF */
    size_t app0 = 2 + ((size_t)j[4] << 8 | j[5]);
    unsigned char *e = with_exif(j, len, 1, &elen);
    image_out_t out;
    char why[200];
    CHECK_INT(image_process(e, elen, &out, why, sizeof why), IMAGE_OK);
    CHECK_INT(out.width, 64);
    CHECK_INT(out.height, 32);
    /* SOI, then the original's tables, frame, scan and EOI byte for byte:
     * no EXIF, no JFIF, no re-encoding */
    CHECK_INT(out.len, len - app0);
    CHECK(out.len == len - app0 && memcmp(out.data, "\xff\xd8", 2) == 0 &&
          memcmp(out.data + 2, j + 2 + app0, len - 2 - app0) == 0);
    CHECK_INT(count_all_metadata_segments(out.data, out.len), 0);
    CHECK(!contains(out.data, out.len, "Exif", 4));
    CHECK(out.thumb != NULL && out.thumb_width == 64 && out.thumb_height == 32);
    image_out_free(&out);
    free(e);
    free(j);
}

static const char secret_comment[] = "secret-location-31.2304N";

static void test_jpeg_progressive_with_metadata_between_scans(void)
{
    size_t len, elen;
    unsigned char *j = make_jpeg_flags(1024, 512, TJFLAG_PROGRESSIVE, &len);
    unsigned char *e = with_exif(j, len, 1, &elen);
    e = splice_segment(e, &elen, find_marker(e, elen, 0xDA, 2), 0xFE, secret_comment, strlen(secret_comment));
    e = splice_segment(e, &elen, find_marker(e, elen, 0xDA, 4), 0xE1, "Exif\0\0secret-gps", 16);
    CHECK(find_marker(e, elen, 0xC2, 0) != (size_t)-1);
    CHECK(contains(e, elen, "secret", 6));
    image_out_t out;
    char why[200];
    CHECK_INT(image_process(e, elen, &out, why, sizeof why), IMAGE_OK);
    CHECK_INT(out.width, 1024);
    CHECK_INT(out.height, 512);
    CHECK_INT(count_all_metadata_segments(out.data, out.len), 0);
    CHECK(!contains(out.data, out.len, "secret", 6) && !contains(out.data, out.len, "Exif", 4));
    /* still progressive, every scan kept: the same pixels as the original */
    CHECK(find_marker(out.data, out.len, 0xC2, 0) != (size_t)-1);
    int scans = 0;
    while (find_marker(j, len, 0xDA, scans) != (size_t)-1)
        scans++;
    CHECK(scans >= 6);
    CHECK(find_marker(out.data, out.len, 0xDA, scans - 1) != (size_t)-1);
    CHECK(find_marker(out.data, out.len, 0xDA, scans) == (size_t)-1);
    unsigned char *a = malloc(1024 * 512 * 3), *b = malloc(1024 * 512 * 3);
    int ca, cb;
    CHECK_INT(decode_rgb(j, len, a, 1024, 512, &ca), 0);
    CHECK_INT(decode_rgb(out.data, out.len, b, 1024, 512, &cb), 0);
    CHECK(ca == cb && memcmp(a, b, 1024 * 512 * 3) == 0);
    CHECK_INT(out.thumb_width, 320);
    CHECK_INT(out.thumb_height, 160);
    free(a);
    free(b);
    image_out_free(&out);
    free(e);
    free(j);
}

/* The thumbnail is decoded at 3/8 scale here, which needs only part of
 * each block; the validation still reads every scan to the end. */
static void test_jpeg_progressive_cut_in_its_last_scan_is_refused(void)
{
    size_t len;
    unsigned char *j = make_jpeg_flags(1024, 512, TJFLAG_PROGRESSIVE, &len);
    int scans = 0;
    while (find_marker(j, len, 0xDA, scans) != (size_t)-1)
        scans++;
    size_t last = find_marker(j, len, 0xDA, scans - 1);
    size_t data = last + 2 + ((size_t)j[last + 2] << 8 | j[last + 3]);
    CHECK(data + 100 < len - 2);
    /* half of the last scan's data, then EOI: the marker structure is fine */
    size_t cut = data + (len - 2 - data) / 2;
    while (j[cut - 1] == 0xFF) /* do not leave half of a stuffed FF 00 */
        cut--;
    memcpy(j + cut, "\xff\xd9", 2);
    image_out_t out;
    char why[200];
    CHECK_INT(image_process(j, cut + 2, &out, why, sizeof why), IMAGE_INVALID);
    CHECK(strstr(why, "corrupt or truncated") != NULL);
    CHECK(out.data == NULL && out.thumb == NULL);
    free(j);
}

static void test_jpeg_bytes_after_eoi_are_dropped(void)
{
    size_t len, elen;
    unsigned char *j = make_jpeg(64, 32, &len);
    static const char tail[] = "\xff\xd8\xff\xe1 appended picture, secret-location";
    unsigned char *e = malloc(len);
    memcpy(e, j, len);
    elen = len;
    e = splice(e, &elen, elen, tail, sizeof tail - 1);
    image_out_t out;
    char why[200];
    CHECK_INT(image_process(e, elen, &out, why, sizeof why), IMAGE_OK);
    CHECK(out.len >= 2 && memcmp(out.data + out.len - 2, "\xff\xd9", 2) == 0);
    CHECK(!contains(out.data, out.len, "secret", 6));
    image_out_free(&out);
    free(e);
    free(j);
}

static void test_jpeg_broken_marker_structure(void)
{
    size_t len, elen;
    unsigned char *j = make_jpeg(64, 32, &len);
    unsigned char *e = with_exif(j, len, 1, &elen);
    image_out_t out;
    char why[200];
    /* the EXIF segment claims to run past the end of the file: the headers
     * cannot be read (libturbojpeg reports success without a size) */
    e[4] = 0xFF;
    CHECK_INT(image_process(e, elen, &out, why, sizeof why), IMAGE_INVALID);
    CHECK(strstr(why, "not a decodable JPEG") != NULL);
    CHECK(out.data == NULL);
    free(e);
    free(j);
    /* the same after the first scan of a progressive file, where only the
     * marker-level copy reads it */
    j = make_jpeg_flags(128, 64, TJFLAG_PROGRESSIVE, &len);
    j = splice_segment(j, &len, find_marker(j, len, 0xDA, 2), 0xFE, secret_comment, strlen(secret_comment));
    j[find_marker(j, len, 0xFE, 0) + 2] = 0xFF;
    CHECK_INT(image_process(j, len, &out, why, sizeof why), IMAGE_INVALID);
    CHECK(strstr(why, "past the end") != NULL);
    CHECK(out.data == NULL && out.thumb == NULL);
    free(j);
}

/* A decoder reads three components as RGB after an APP14 "Adobe" segment
 * with transform 0, unless a JFIF segment says YCbCr. */
static void test_jpeg_colour_interpretation_is_kept(void)
{
    static const char adobe_rgb[] = "Adobe\0\x64\0\0\0\0\0"; /* 12 bytes, transform 0 */
    size_t len, alen, app0;
    unsigned char *j = make_jpeg(64, 32, &len);
    app0 = 2 + ((size_t)j[4] << 8 | j[5]);
    unsigned char *orig = malloc(64 * 32 * 3), *got = malloc(64 * 32 * 3);
    image_out_t out;
    char why[200];
    int cs_orig, cs_out;

    /* Adobe only: RGB; the marker copy keeps the segment */
    unsigned char *a = malloc(len - app0);
    memcpy(a, j, 2);
    memcpy(a + 2, j + 2 + app0, len - 2 - app0);
    alen = len - app0;
    a = splice_segment(a, &alen, 2, 0xEE, adobe_rgb, 12);
    CHECK_INT(decode_rgb(a, alen, orig, 64, 32, &cs_orig), 0);
    CHECK_INT(cs_orig, TJCS_RGB);
    CHECK_INT(image_process(a, alen, &out, why, sizeof why), IMAGE_OK);
    CHECK(find_marker(out.data, out.len, 0xEE, 0) != (size_t)-1);
    CHECK_INT(decode_rgb(out.data, out.len, got, 64, 32, &cs_out), 0);
    CHECK_INT(cs_out, TJCS_RGB);
    CHECK(memcmp(orig, got, 64 * 32 * 3) == 0);
    image_out_free(&out);
    free(a);

    /* JFIF and Adobe: YCbCr. Without its JFIF segment the copy would read as
     * RGB, so this file takes the transform, which writes a JFIF segment. */
    alen = len;
    a = malloc(len);
    memcpy(a, j, len);
    a = splice_segment(a, &alen, 2 + app0, 0xEE, adobe_rgb, 12);
    CHECK_INT(decode_rgb(a, alen, orig, 64, 32, &cs_orig), 0);
    CHECK_INT(cs_orig, TJCS_YCbCr);
    CHECK_INT(image_process(a, alen, &out, why, sizeof why), IMAGE_OK);
    CHECK_INT(decode_rgb(out.data, out.len, got, 64, 32, &cs_out), 0);
    CHECK_INT(cs_out, TJCS_YCbCr);
    CHECK(memcmp(orig, got, 64 * 32 * 3) == 0);
    CHECK_INT(count_metadata_segments(out.data, out.len), 0);
    image_out_free(&out);
    free(a);

    free(orig);
    free(got);
    free(j);
}

/* Arithmetic coding: the marker copy leaves it to the transform, which
 * stores it Huffman-coded (what browsers decode). */
static void test_jpeg_arithmetic_coding_is_transcoded(void)
{
    size_t len;
    setenv("TJ_ARITHMETIC", "1", 1);
    unsigned char *j = make_jpeg(64, 32, &len);
    unsetenv("TJ_ARITHMETIC");
    CHECK(find_marker(j, len, 0xC9, 0) != (size_t)-1); /* SOF9 */
    image_out_t out;
    char why[200];
    CHECK_INT(image_process(j, len, &out, why, sizeof why), IMAGE_OK);
    CHECK(find_marker(out.data, out.len, 0xC9, 0) == (size_t)-1);
    CHECK(find_marker(out.data, out.len, 0xC0, 0) != (size_t)-1 ||
          find_marker(out.data, out.len, 0xC1, 0) != (size_t)-1);
    CHECK_INT(out.width, 64);
    image_out_free(&out);
    free(j);
}

static void test_jpeg_thumbnail_size(void)
{
    size_t len;
    unsigned char *j = make_jpeg(1024, 512, &len);
    image_out_t out;
    char why[200];
    CHECK_INT(image_process(j, len, &out, why, sizeof why), IMAGE_OK);
    CHECK_INT(out.width, 1024);
    CHECK_INT(out.height, 512);
    CHECK_INT(out.thumb_width, 320);
    CHECK_INT(out.thumb_height, 160);
    tjhandle d = tjInitDecompress();
    int tw, th, ss, cs;
    CHECK_INT(tjDecompressHeader3(d, out.thumb, out.thumb_len, &tw, &th, &ss, &cs), 0);
    CHECK_INT(tw, 320);
    CHECK_INT(th, 160);
    tjDestroy(d);
    image_out_free(&out);
    free(j);
}

static void test_jpeg_broken(void)
{
    size_t len;
    unsigned char *j = make_jpeg(256, 256, &len);
    image_out_t out;
    char why[200];
    /* truncated in the middle of the scan */
    CHECK_INT(image_process(j, len / 2, &out, why, sizeof why), IMAGE_INVALID);
    CHECK(strlen(why) > 0);
    CHECK(out.data == NULL && out.thumb == NULL);
    /* only a JPEG signature */
    CHECK_INT(image_process((const unsigned char *)"\xff\xd8\xff\xe0garbage", 11, &out, why, sizeof why),
              IMAGE_INVALID);
    /* a header claiming 60000 x 60000 pixels: refused before decoding */
    for (size_t p = 2; p + 9 < len; p++)
        if (j[p] == 0xFF && j[p + 1] == 0xC0) {
            j[p + 5] = 0xEA, j[p + 6] = 0x60; /* height 60000 */
            j[p + 7] = 0xEA, j[p + 8] = 0x60; /* width 60000 */
            break;
        }
    CHECK_INT(image_process(j, len, &out, why, sizeof why), IMAGE_TOO_LARGE);
    CHECK(strstr(why, "megapixels") != NULL);
    free(j);
}

static void test_png_text_stripped(void)
{
    size_t len;
    unsigned char *p = make_png_with_text(40, 20, &len);
    CHECK(contains(p, len, "tEXt", 4) && contains(p, len, "secret-location", 15));
    image_out_t out;
    char why[200];
    CHECK_INT(image_process(p, len, &out, why, sizeof why), IMAGE_OK);
    CHECK_STR(out.content_type, "image/png");
    CHECK_INT(out.width, 40);
    CHECK_INT(out.height, 20);
    CHECK(!contains(out.data, out.len, "tEXt", 4));
    CHECK(!contains(out.data, out.len, "secret-location", 15));
    /* only critical chunks: IHDR, IDAT..., IEND */
    size_t off = 8;
    int ok = 1;
    while (off + 8 <= out.len) {
        size_t n = (size_t)out.data[off] << 24 | (size_t)out.data[off + 1] << 16 | (size_t)out.data[off + 2] << 8 |
                   out.data[off + 3];
        const unsigned char *type = out.data + off + 4;
        if (memcmp(type, "IHDR", 4) && memcmp(type, "IDAT", 4) && memcmp(type, "IEND", 4))
            ok = 0;
        off += 12 + n;
    }
    CHECK(ok);
    /* the re-encoded PNG decodes with the same pixels (alpha kept) */
    png_image img;
    memset(&img, 0, sizeof img);
    img.version = PNG_IMAGE_VERSION;
    CHECK(png_image_begin_read_from_memory(&img, out.data, out.len));
    img.format = PNG_FORMAT_RGBA;
    unsigned char px[40 * 20 * 4];
    CHECK(png_image_finish_read(&img, NULL, px, 0, NULL));
    CHECK(px[0] == 10 && px[1] == 200 && px[2] == 30 && px[3] == 128 && px[7] == 255);
    CHECK(out.thumb != NULL && out.thumb[0] == 0xFF && out.thumb[1] == 0xD8);
    image_out_free(&out);
    /* a broken IDAT CRC */
    for (size_t i = 8; i + 8 < len; i++)
        if (memcmp(p + i, "IDAT", 4) == 0) {
            p[i + 6] ^= 0x55;
            break;
        }
    CHECK_INT(image_process(p, len, &out, why, sizeof why), IMAGE_INVALID);
    free(p);
}

static void test_unsupported(void)
{
    image_out_t out;
    char why[200];
    static const char text[] = "this is a text file named photo.jpg";
    CHECK_INT(image_process((const unsigned char *)text, sizeof text - 1, &out, why, sizeof why), IMAGE_UNSUPPORTED);
    CHECK(strstr(why, "not an image") != NULL);
    CHECK_INT(image_process((const unsigned char *)"RIFF\x10\0\0\0WEBPVP8 ", 16, &out, why, sizeof why),
              IMAGE_UNSUPPORTED);
    CHECK(strstr(why, "WebP") != NULL);
    CHECK_INT(image_process((const unsigned char *)"\0\0\0\x18"
                                                   "ftypheic\0\0\0\0mif1heic",
                            24, &out, why, sizeof why),
              IMAGE_UNSUPPORTED);
    CHECK(strstr(why, "HEIC") != NULL);
    CHECK_INT(image_process((const unsigned char *)"GIF89a\1\0\1\0", 10, &out, why, sizeof why), IMAGE_UNSUPPORTED);
    CHECK(out.data == NULL);
}

/* ---- memory bounds ---- */

/* The SOF of a generated JPEG set to w x h (its scans no longer match). */
static void set_jpeg_size(unsigned char *j, size_t len, int w, int h)
{
    for (size_t p = 2; p + 9 < len; p++)
        if (j[p] == 0xFF && j[p + 1] == 0xC0) {
            j[p + 5] = (unsigned char)(h >> 8), j[p + 6] = (unsigned char)h;
            j[p + 7] = (unsigned char)(w >> 8), j[p + 8] = (unsigned char)w;
            return;
        }
}

static void test_header_jpeg(void)
{
    size_t len, elen;
    unsigned char *j = make_jpeg(64, 32, &len);
    image_header_t h;
    char why[200];
    CHECK_INT(image_read_header(j, len, IMAGE_MAX_PIXELS_DEFAULT, &h, why, sizeof why), IMAGE_OK);
    CHECK_INT(h.type, IMAGE_JPEG);
    CHECK_INT(h.width, 64);
    CHECK_INT(h.height, 32);
    CHECK_INT(h.orientation, 1);
    CHECK(h.cost > 64 * 32 * 3);
    /* turning it costs more: two sets of coefficients and the output */
    unsigned char *e = with_exif(j, len, 6, &elen);
    image_header_t h6;
    CHECK_INT(image_read_header(e, elen, IMAGE_MAX_PIXELS_DEFAULT, &h6, why, sizeof why), IMAGE_OK);
    CHECK_INT(h6.orientation, 6);
    CHECK(h6.cost > h.cost);
    /* a lowered limit refuses it */
    CHECK_INT(image_read_header(j, len, 2047, &h, why, sizeof why), IMAGE_TOO_LARGE);
    CHECK(strstr(why, "64x32") != NULL && strstr(why, "at most 2047 pixels") != NULL);
    CHECK_INT(image_read_header(j, len, 2048, &h, why, sizeof why), IMAGE_OK);
    /* 7000 x 5700 declared in a tiny file: refused from the header, and the
     * cost of such a photo when allowed is what a turn really holds */
    set_jpeg_size(e, elen, 7000, 5700);
    CHECK_INT(image_read_header(e, elen, IMAGE_MAX_PIXELS_DEFAULT, &h6, why, sizeof why), IMAGE_TOO_LARGE);
    CHECK(strstr(why, "7000x5700") != NULL);
    CHECK_INT(image_read_header(e, elen, 40000000, &h6, why, sizeof why), IMAGE_OK);
    size_t coef = (size_t)7008 * 5712 * 3; /* 4:2:0, padded to 16-pixel MCUs, 2 bytes a sample */
    CHECK(h6.cost >= 2 * coef && h6.cost < 2 * coef + ((size_t)8 << 20));
    /* not an image / not a header */
    CHECK_INT(image_read_header((const unsigned char *)"GIF89a\1\0\1\0", 10, 1000, &h, why, sizeof why),
              IMAGE_UNSUPPORTED);
    CHECK_INT(image_read_header((const unsigned char *)"\xff\xd8\xff\xe0garbage", 11, 1000, &h, why, sizeof why),
              IMAGE_INVALID);
    free(e);
    free(j);
}

static size_t png_header_only(unsigned char *out, unsigned long w, unsigned long h, int depth, int ctype)
{
    memcpy(out, "\x89PNG\r\n\x1a\n", 8);
    put32be(out + 8, 13);
    memcpy(out + 12, "IHDR", 4);
    put32be(out + 16, w);
    put32be(out + 20, h);
    out[24] = (unsigned char)depth;
    out[25] = (unsigned char)ctype;
    out[26] = out[27] = out[28] = 0;
    put32be(out + 29, crc32_of(out + 12, 17));
    return 33;
}

static void test_header_png(void)
{
    unsigned char p[64];
    image_header_t h;
    char why[200];
    size_t n = png_header_only(p, 7000, 5700, 8, 6);
    CHECK_INT(image_read_header(p, n, IMAGE_MAX_PIXELS_DEFAULT, &h, why, sizeof why), IMAGE_TOO_LARGE);
    CHECK(strstr(why, "7000x5700") != NULL);
    /* image_process refuses it the same way, before libpng sees it */
    image_out_t out;
    CHECK_INT(image_process(p, n, &out, why, sizeof why), IMAGE_TOO_LARGE);
    CHECK(out.data == NULL);
    /* one side absurd, the other 1: the product is small but the side is not */
    n = png_header_only(p, 100000000UL, 1, 8, 2);
    CHECK_INT(image_read_header(p, n, IMAGE_MAX_PIXELS_DEFAULT, &h, why, sizeof why), IMAGE_TOO_LARGE);
    n = png_header_only(p, 4000, 3000, 8, 2);
    CHECK_INT(image_read_header(p, n, IMAGE_MAX_PIXELS_DEFAULT, &h, why, sizeof why), IMAGE_OK);
    CHECK_INT(h.width, 4000);
    CHECK_INT(h.height, 3000);
    /* pixels at 4 bytes, plus the re-encoded copy's buffer */
    CHECK(h.cost >= (size_t)2 * 4000 * 3000 * 4);
    n = png_header_only(p, 0, 10, 8, 2);
    CHECK_INT(image_read_header(p, n, IMAGE_MAX_PIXELS_DEFAULT, &h, why, sizeof why), IMAGE_INVALID);
    CHECK_INT(image_read_header(p, 20, IMAGE_MAX_PIXELS_DEFAULT, &h, why, sizeof why), IMAGE_INVALID);
    memcpy(p + 12, "tEXt", 4); /* IHDR must come first */
    n = png_header_only(p, 10, 10, 8, 2);
    memcpy(p + 12, "IDAT", 4);
    CHECK_INT(image_read_header(p, n, IMAGE_MAX_PIXELS_DEFAULT, &h, why, sizeof why), IMAGE_INVALID);
}

typedef struct {
    media_budget_t *b;
    size_t bytes;
    media_budget_status_t got;
} reserver_t;

static void *reserve_in_thread(void *arg)
{
    reserver_t *r = arg;
    r->got = media_budget_reserve(r->b, r->bytes);
    return NULL;
}

static void test_budget(void)
{
    media_budget_t b;
    CHECK_INT(media_budget_init(&b, 100, 0), 0);
    CHECK_INT(media_budget_reserve(&b, 101), MEDIA_BUDGET_TOO_BIG);
    CHECK_INT(media_budget_reserve(&b, 60), MEDIA_BUDGET_OK);
    CHECK_INT(media_budget_reserve(&b, 41), MEDIA_BUDGET_BUSY);
    CHECK_INT(media_budget_reserve(&b, 40), MEDIA_BUDGET_OK);
    CHECK_INT(media_budget_used(&b), 100);
    media_budget_release(&b, 40);
    media_budget_release(&b, 60);
    CHECK_INT(media_budget_used(&b), 0);
    media_budget_destroy(&b);

    /* a waiter gets its room when a holder releases within the wait */
    CHECK_INT(media_budget_init(&b, 100, 30000), 0);
    CHECK_INT(media_budget_reserve(&b, 80), MEDIA_BUDGET_OK);
    reserver_t r = {&b, 50, MEDIA_BUDGET_TOO_BIG};
    pthread_t t;
    CHECK_INT(pthread_create(&t, NULL, reserve_in_thread, &r), 0);
    media_budget_release(&b, 80);
    pthread_join(t, NULL);
    CHECK_INT(r.got, MEDIA_BUDGET_OK);
    CHECK_INT(media_budget_used(&b), 50);
    media_budget_release(&b, 50);
    media_budget_destroy(&b);

    /* a bounded wait: busy after it, not before */
    CHECK_INT(media_budget_init(&b, 100, 150), 0);
    CHECK_INT(media_budget_reserve(&b, 100), MEDIA_BUDGET_OK);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    CHECK_INT(media_budget_reserve(&b, 1), MEDIA_BUDGET_BUSY);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    long waited_ms = (long)(t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
    CHECK(waited_ms >= 140);
    media_budget_release(&b, 100);
    media_budget_destroy(&b);
}

static void test_process_reserves_and_releases(void)
{
    size_t len, elen;
    unsigned char *j = make_jpeg(1024, 512, &len);
    unsigned char *e = with_exif(j, len, 6, &elen);
    image_header_t h;
    char why[200];
    CHECK_INT(image_read_header(e, elen, IMAGE_MAX_PIXELS_DEFAULT, &h, why, sizeof why), IMAGE_OK);
    media_budget_t b;
    image_out_t out;
    /* the whole budget is smaller than this photo's cost: refused at once */
    CHECK_INT(media_budget_init(&b, h.cost - 1, 0), 0);
    image_limits_t lim = {IMAGE_MAX_PIXELS_DEFAULT, &b};
    image_set_limits(&lim);
    CHECK_INT(image_process(e, elen, &out, why, sizeof why), IMAGE_TOO_LARGE);
    CHECK(strstr(why, "MiB") != NULL);
    media_budget_destroy(&b);
    /* room for it, but taken: busy (no wait configured); then free: OK */
    CHECK_INT(media_budget_init(&b, h.cost, 0), 0);
    CHECK_INT(media_budget_reserve(&b, 1), MEDIA_BUDGET_OK);
    CHECK_INT(image_process(e, elen, &out, why, sizeof why), IMAGE_BUSY);
    CHECK(out.data == NULL);
    media_budget_release(&b, 1);
    CHECK_INT(image_process(e, elen, &out, why, sizeof why), IMAGE_OK);
    CHECK_INT(out.width, 512);
    CHECK_INT(media_budget_used(&b), 0);
    image_out_free(&out);
    /* refused images give back what they reserved too */
    CHECK_INT(image_process(e, elen / 2, &out, why, sizeof why), IMAGE_INVALID);
    CHECK_INT(media_budget_used(&b), 0);
    media_budget_destroy(&b);
    image_limits_t none = {IMAGE_MAX_PIXELS_DEFAULT, NULL};
    image_set_limits(&none);
    free(e);
    free(j);
}

/* ---- PNG bombs ---- */

typedef struct {
    unsigned char *p;
    size_t n, cap;
    unsigned long acc;
    int nacc;
} bits_t;

static void bits_byte(bits_t *w, unsigned char c)
{
    if (w->n == w->cap) {
        w->cap = w->cap ? w->cap * 2 : 4096;
        w->p = realloc(w->p, w->cap);
    }
    w->p[w->n++] = c;
}

static void bits_put(bits_t *w, unsigned v, int n) /* LSB first, as deflate packs */
{
    w->acc |= (unsigned long)v << w->nacc;
    w->nacc += n;
    while (w->nacc >= 8) {
        bits_byte(w, (unsigned char)(w->acc & 0xff));
        w->acc >>= 8;
        w->nacc -= 8;
    }
}

static void bits_code(bits_t *w, unsigned code, int n) /* Huffman codes go MSB first */
{
    unsigned r = 0;
    for (int i = 0; i < n; i++)
        r |= ((code >> i) & 1u) << (n - 1 - i);
    bits_put(w, r, n);
}

/* A zlib stream inflating to `total` zero bytes, at about 160:1 (one fixed
 * Huffman block: a literal 0, then matches of 258 at distance 1). */
static unsigned char *zlib_zeros(size_t total, size_t *len)
{
    bits_t w = {0};
    bits_byte(&w, 0x78);
    bits_byte(&w, 0x01);
    bits_put(&w, 1, 1); /* BFINAL */
    bits_put(&w, 1, 2); /* fixed Huffman */
    size_t done = 0;
    while (done < total) {
        if (done > 0 && total - done >= 258) {
            bits_code(&w, 0xC5, 8); /* length code 285: 258 */
            bits_code(&w, 0, 5);    /* distance code 0: 1 */
            done += 258;
        } else {
            bits_code(&w, 0x30, 8); /* literal 0 */
            done++;
        }
    }
    bits_code(&w, 0, 7); /* end of block */
    if (w.nacc)
        bits_put(&w, 0, 8 - w.nacc);
    unsigned long adler = (unsigned long)(total % 65521) << 16 | 1;
    for (int i = 3; i >= 0; i--)
        bits_byte(&w, (unsigned char)(adler >> (8 * i)));
    *len = w.n;
    return w.p;
}

static size_t png_chunk(unsigned char *out, const char *type, const unsigned char *data, size_t n)
{
    put32be(out, n);
    memcpy(out + 4, type, 4);
    if (n)
        memcpy(out + 8, data, n);
    put32be(out + 8 + n, crc32_of(out + 4, 4 + n));
    return 12 + n;
}

/* An 8-bit RGB PNG of w x h, all black, whose IDAT inflates to `inflated`
 * bytes (w*h*3 + h is the honest size), with `ztxt` bytes of zTXt bomb and
 * `extra_chunks` tiny private chunks before it. */
static unsigned char *make_png_bomb(int w, int h, size_t inflated, size_t ztxt, int extra_chunks, size_t *len)
{
    size_t zlen = 0, tlen = 0;
    unsigned char *z = zlib_zeros(inflated, &zlen);
    unsigned char *t = ztxt ? zlib_zeros(ztxt, &tlen) : NULL;
    unsigned char *out = malloc(64 + zlen + tlen + 32 + (size_t)extra_chunks * 13);
    size_t n = png_header_only(out, (unsigned long)w, (unsigned long)h, 8, 2);
    for (int i = 0; i < extra_chunks; i++) {
        unsigned char b = (unsigned char)i;
        n += png_chunk(out + n, "prVt", &b, 1);
    }
    if (t) {
        unsigned char *zt = malloc(tlen + 16);
        memcpy(zt, "Comment\0\0", 9); /* keyword, NUL, compression method 0 */
        memcpy(zt + 9, t, tlen);
        n += png_chunk(out + n, "zTXt", zt, tlen + 9);
        free(zt);
    }
    n += png_chunk(out + n, "IDAT", z, zlen);
    n += png_chunk(out + n, "IEND", NULL, 0);
    free(z);
    free(t);
    *len = n;
    return out;
}

static void test_png_bombs(void)
{
    size_t len;
    image_out_t out;
    char why[200];
    /* honest: decodes */
    unsigned char *p = make_png_bomb(64, 64, 64 * (64 * 3 + 1), 0, 0, &len);
    CHECK_INT(image_process(p, len, &out, why, sizeof why), IMAGE_OK);
    CHECK_INT(out.width, 64);
    image_out_free(&out);
    free(p);
    /* a tiny file declaring 7000 x 5700 with real (compressed) rows */
    p = make_png_bomb(7000, 5700, (size_t)5700 * (7000 * 3 + 1), 0, 0, &len);
    CHECK(len < 1000000);
    CHECK_INT(image_process(p, len, &out, why, sizeof why), IMAGE_TOO_LARGE);
    free(p);
    /* IDAT inflating to 64 MB behind a 64 x 64 header: refused, having
     * inflated no further than the declared rows */
    p = make_png_bomb(64, 64, (size_t)64 << 20, 0, 0, &len);
    CHECK_INT(image_process(p, len, &out, why, sizeof why), IMAGE_INVALID);
    CHECK(out.data == NULL);
    free(p);
    /* a zTXt inflating to 64 MB: skipped unread, not stored */
    p = make_png_bomb(20, 10, 10 * (20 * 3 + 1), (size_t)64 << 20, 0, &len);
    CHECK_INT(image_process(p, len, &out, why, sizeof why), IMAGE_OK);
    CHECK(!contains(out.data, out.len, "zTXt", 4));
    image_out_free(&out);
    free(p);
    /* 20 000 private chunks: skipped, none kept */
    p = make_png_bomb(20, 10, 10 * (20 * 3 + 1), 0, 20000, &len);
    CHECK_INT(image_process(p, len, &out, why, sizeof why), IMAGE_OK);
    CHECK(!contains(out.data, out.len, "prVt", 4));
    image_out_free(&out);
    free(p);
}

/* 16-bit grey (interlaced) and a palette with tRNS come out as 8-bit RGB / RGBA. */
static void test_png_variants(void)
{
    png_image img;
    unsigned char px16[16 * 8 * 2], pal_px[16 * 8];
    for (int i = 0; i < 16 * 8; i++) {
        px16[2 * i] = (unsigned char)(i * 2);
        px16[2 * i + 1] = 0x80;
        pal_px[i] = (unsigned char)(i % 2);
    }
    memset(&img, 0, sizeof img);
    img.version = PNG_IMAGE_VERSION;
    img.width = 16;
    img.height = 8;
    img.format = PNG_FORMAT_LINEAR_Y; /* 16-bit grey */
    png_alloc_size_t n = 0;
    png_image_write_to_memory(&img, NULL, &n, 0, px16, 0, NULL);
    unsigned char *p = malloc(n);
    CHECK(png_image_write_to_memory(&img, p, &n, 0, px16, 0, NULL));
    image_out_t out;
    char why[200];
    CHECK_INT(image_process(p, n, &out, why, sizeof why), IMAGE_OK);
    CHECK_INT(out.width, 16);
    CHECK(out.len > 26 && out.data[24] == 8 && out.data[25] == PNG_COLOR_TYPE_RGB); /* IHDR depth, colour type */
    image_out_free(&out);
    free(p);
    /* palette of two entries, the first fully transparent */
    png_color palette[2] = {{255, 0, 0}, {0, 0, 255}};
    png_byte trns[1] = {0};
    png_structp wp = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop wi = png_create_info_struct(wp);
    FILE *f = tmpfile();
    png_init_io(wp, f);
    png_set_IHDR(wp, wi, 16, 8, 8, PNG_COLOR_TYPE_PALETTE, PNG_INTERLACE_ADAM7, PNG_COMPRESSION_TYPE_DEFAULT,
                 PNG_FILTER_TYPE_DEFAULT);
    png_set_PLTE(wp, wi, palette, 2);
    png_set_tRNS(wp, wi, trns, 1, NULL);
    png_write_info(wp, wi);
    int passes = png_set_interlace_handling(wp);
    for (int pass = 0; pass < passes; pass++)
        for (int y = 0; y < 8; y++)
            png_write_row(wp, pal_px + y * 16);
    png_write_end(wp, NULL);
    png_destroy_write_struct(&wp, &wi);
    long flen = ftell(f);
    unsigned char *pp = malloc((size_t)flen);
    rewind(f);
    CHECK(fread(pp, 1, (size_t)flen, f) == (size_t)flen);
    fclose(f);
    CHECK_INT(image_process(pp, (size_t)flen, &out, why, sizeof why), IMAGE_OK);
    CHECK(out.len > 26 && out.data[25] == PNG_COLOR_TYPE_RGB_ALPHA);
    image_out_free(&out);
    free(pp);
}

int main(void)
{
    RUN(test_sniff);
    RUN(test_orientation_reader);
    RUN(test_jpeg_exif_gps_orientation);
    RUN(test_jpeg_upright_is_copied_not_reencoded);
    RUN(test_jpeg_progressive_with_metadata_between_scans);
    RUN(test_jpeg_progressive_cut_in_its_last_scan_is_refused);
    RUN(test_jpeg_bytes_after_eoi_are_dropped);
    RUN(test_jpeg_broken_marker_structure);
    RUN(test_jpeg_colour_interpretation_is_kept);
    RUN(test_jpeg_arithmetic_coding_is_transcoded);
    RUN(test_jpeg_thumbnail_size);
    RUN(test_jpeg_broken);
    RUN(test_png_text_stripped);
    RUN(test_unsupported);
    RUN(test_header_jpeg);
    RUN(test_header_png);
    RUN(test_budget);
    RUN(test_process_reserves_and_releases);
    RUN(test_png_bombs);
    RUN(test_png_variants);
    return TEST_REPORT();
}
