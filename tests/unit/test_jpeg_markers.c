/* test_jpeg_markers.c: the marker-level metadata copy. Test files are made
 * with libturbojpeg (baseline, progressive, with restart markers) and
 * metadata segments are spliced in byte by byte: after SOI, before a scan,
 * between the scans of a progressive file, after EOI. Checked: the metadata
 * is gone, the copy equals the copy of the same file without metadata, the
 * scans are kept byte for byte (same pixels), APP14 "Adobe" survives (cut to
 * its standard length), and broken structures are refused. */
#include <stdlib.h>
#include <turbojpeg.h>

#include "jpeg_markers.h"
#include "jpeg_scan.h"
#include "test.h"

/* ---- fixtures ---- */

typedef struct {
    unsigned char *data;
    size_t len;
} buf_t;

/* A w x h 4:2:0 JPEG of gradients and noise (so the scans hold stuffed FF 00
 * bytes); flags: 0 or TJFLAG_PROGRESSIVE. libturbojpeg writes a JFIF APP0. */
static buf_t make_jpeg(int w, int h, int flags)
{
    unsigned char *rgb = malloc((size_t)w * h * 3);
    unsigned seed = 12345;
    for (int i = 0; i < w * h; i++) {
        seed = seed * 1103515245u + 12345u;
        int x = i % w, y = i / w, n = (int)(seed >> 16) % 64;
        rgb[3 * i] = (unsigned char)((x * 255 / w + n) & 0xff);
        rgb[3 * i + 1] = (unsigned char)((y * 255 / h + n) & 0xff);
        rgb[3 * i + 2] = (unsigned char)(((x + y) * 127 / (w + h) + n) & 0xff);
    }
    tjhandle c = tjInitCompress();
    unsigned char *jpeg = NULL;
    unsigned long n = 0;
    buf_t b = {NULL, 0};
    if (tjCompress2(c, rgb, w, 0, h, TJPF_RGB, &jpeg, &n, TJSAMP_420, 90, flags) == 0) {
        b.data = malloc(n);
        memcpy(b.data, jpeg, n);
        b.len = n;
    }
    tjFree(jpeg);
    tjDestroy(c);
    free(rgb);
    return b;
}

/* A marker segment: FF marker, length, payload. */
static buf_t segment(unsigned marker, const void *payload, size_t n)
{
    buf_t s = {malloc(n + 4), n + 4};
    s.data[0] = 0xFF;
    s.data[1] = (unsigned char)marker;
    s.data[2] = (unsigned char)((n + 2) >> 8);
    s.data[3] = (unsigned char)((n + 2) & 0xff);
    memcpy(s.data + 4, payload, n);
    return s;
}

/* A copy of b with `ins` inserted at offset `at` (b and ins are freed). */
static buf_t splice(buf_t b, size_t at, buf_t ins)
{
    buf_t r = {malloc(b.len + ins.len), b.len + ins.len};
    memcpy(r.data, b.data, at);
    memcpy(r.data + at, ins.data, ins.len);
    memcpy(r.data + at + ins.len, b.data + at, b.len - at);
    free(b.data);
    free(ins.data);
    return r;
}

static buf_t bytes(const void *p, size_t n)
{
    buf_t b = {malloc(n ? n : 1), n};
    memcpy(b.data, p, n);
    return b;
}

static int count_marker(const buf_t *b, unsigned m)
{
    int n = 0;
    while (find_marker(b->data, b->len, m, n) != (size_t)-1)
        n++;
    return n;
}

static int contains(const buf_t *b, const char *needle)
{
    size_t m = strlen(needle);
    for (size_t i = 0; i + m <= b->len; i++)
        if (memcmp(b->data + i, needle, m) == 0)
            return 1;
    return 0;
}

/* Runs the copy into a buffer of exactly in.len bytes (so that ASan sees any
 * overrun); on OK the result is shrunk to its length. */
static jpeg_strip_status_t strip(const buf_t *in, buf_t *out, const char **why)
{
    out->data = malloc(in->len);
    out->len = 0;
    jpeg_strip_status_t st = jpeg_strip_metadata(in->data, in->len, out->data, &out->len, why);
    if (st != JPEG_STRIP_OK) {
        free(out->data);
        out->data = NULL;
        out->len = 0;
    }
    return st;
}

static int same(const buf_t *a, const buf_t *b)
{
    return a->data && b->data && a->len == b->len && memcmp(a->data, b->data, a->len) == 0;
}

/* Decodes to RGB (malloc) with strict flags; NULL if it does not decode. */
static unsigned char *decode(const buf_t *b, int *w, int *h, int *cs)
{
    tjhandle d = tjInitDecompress();
    int ss;
    unsigned char *px = NULL;
    if (tjDecompressHeader3(d, b->data, b->len, w, h, &ss, cs) == 0) {
        px = malloc((size_t)*w * *h * 3);
        if (tjDecompress2(d, b->data, b->len, px, *w, 0, *h, TJPF_RGB, TJFLAG_STOPONWARNING) != 0) {
            free(px);
            px = NULL;
        }
    }
    tjDestroy(d);
    return px;
}

static int same_pixels(const buf_t *a, const buf_t *b)
{
    int wa, ha, ca, wb, hb, cb;
    unsigned char *pa = decode(a, &wa, &ha, &ca), *pb = decode(b, &wb, &hb, &cb);
    int ok = pa && pb && wa == wb && ha == hb && ca == cb && memcmp(pa, pb, (size_t)wa * ha * 3) == 0;
    free(pa);
    free(pb);
    return ok;
}

static const char exif_payload[] = "Exif\0\0II*\0\x08\0\0\0secret-gps-31.2304N";
static const char iptc_payload[] = "Photoshop 3.0\0secret-iptc-byline";
static const char icc_payload[] = "ICC_PROFILE\0\x01\x01secret-icc-device";
static const char comment[] = "secret-comment";

static int has_no_secret(const buf_t *b)
{
    return !contains(b, "secret");
}

/* ---- tests ---- */

static void test_baseline_copy_keeps_the_scan_byte_for_byte(void)
{
    buf_t j = make_jpeg(96, 64, 0), out;
    const char *why = NULL;
    CHECK(j.data && j.data[2] == 0xFF && j.data[3] == 0xE0); /* JFIF APP0 right after SOI */
    size_t app0 = 2 + ((size_t)j.data[4] << 8 | j.data[5]);
    CHECK_INT(strip(&j, &out, &why), JPEG_STRIP_OK);
    CHECK(why == NULL);
    /* everything but the APP0 segment, unchanged */
    CHECK_INT(out.len, j.len - app0);
    CHECK(memcmp(out.data, "\xff\xd8", 2) == 0);
    CHECK(memcmp(out.data + 2, j.data + 2 + app0, j.len - 2 - app0) == 0);
    CHECK_INT(count_marker(&out, 0xE0), 0);
    CHECK(same_pixels(&j, &out));
    free(out.data);
    free(j.data);
}

static void test_metadata_segments_are_dropped(void)
{
    buf_t plain = make_jpeg(96, 64, 0), j = bytes(plain.data, plain.len), expected, out;
    CHECK_INT(strip(&plain, &expected, NULL), JPEG_STRIP_OK);
    /* after SOI: EXIF, IPTC, ICC; before the scan: a comment and an APP15 */
    j = splice(j, 2, segment(0xE1, exif_payload, sizeof exif_payload - 1));
    j = splice(j, 2, segment(0xED, iptc_payload, sizeof iptc_payload - 1));
    j = splice(j, 2, segment(0xE2, icc_payload, sizeof icc_payload - 1));
    size_t sos = find_marker(j.data, j.len, 0xDA, 0);
    j = splice(j, sos, segment(0xFE, comment, strlen(comment)));
    j = splice(j, sos, segment(0xEF, "secret-app15", 12));
    CHECK(contains(&j, "secret-gps") && contains(&j, "secret-comment"));
    CHECK_INT(strip(&j, &out, NULL), JPEG_STRIP_OK);
    CHECK(same(&out, &expected)); /* exactly the copy of the file without them */
    CHECK(has_no_secret(&out));
    for (unsigned m = 0xE0; m <= 0xEF; m++)
        CHECK_INT(count_marker(&out, m), 0);
    CHECK_INT(count_marker(&out, 0xFE), 0);
    CHECK(same_pixels(&j, &out));
    free(out.data);
    free(expected.data);
    free(j.data);
    free(plain.data);
}

static void test_progressive_metadata_between_scans(void)
{
    buf_t plain = make_jpeg(128, 96, TJFLAG_PROGRESSIVE), j = bytes(plain.data, plain.len), expected, out;
    CHECK_INT(strip(&plain, &expected, NULL), JPEG_STRIP_OK);
    int scans = count_marker(&plain, 0xDA);
    CHECK(scans >= 6);
    CHECK_INT(count_marker(&plain, 0xC2), 1);
    j = splice(j, 2, segment(0xE1, exif_payload, sizeof exif_payload - 1));
    /* between scans 2 and 3, and before the last one */
    j = splice(j, find_marker(j.data, j.len, 0xDA, 2), segment(0xFE, comment, strlen(comment)));
    j = splice(j, find_marker(j.data, j.len, 0xDA, 2), segment(0xE1, "http://ns.adobe.com/xap/1.0/\0secret-xmp", 39));
    j = splice(j, find_marker(j.data, j.len, 0xDA, scans - 1), segment(0xED, iptc_payload, sizeof iptc_payload - 1));
    CHECK_INT(count_marker(&j, 0xFE), 1);
    CHECK_INT(count_marker(&j, 0xDA), scans);
    CHECK(same_pixels(&j, &plain)); /* a decoder skips them */
    CHECK_INT(strip(&j, &out, NULL), JPEG_STRIP_OK);
    CHECK(same(&out, &expected));
    CHECK(has_no_secret(&out));
    CHECK_INT(count_marker(&out, 0xDA), scans);
    CHECK_INT(count_marker(&out, 0xFE), 0);
    CHECK_INT(count_marker(&out, 0xE1), 0);
    CHECK_INT(count_marker(&out, 0xED), 0);
    CHECK(same_pixels(&out, &plain));
    free(out.data);
    free(expected.data);
    free(j.data);
    free(plain.data);
}

static void test_adobe_app14_is_kept_at_its_standard_length(void)
{
    /* transform 0: the three components are R, G, B, not YCbCr. Followed by
     * bytes a decoder ignores, which must not survive. */
    static const char adobe[] = "Adobe\0\x64\0\0\0\0\0secret-tail";
    buf_t plain = make_jpeg(64, 48, 0), j, out;
    CHECK_INT(strip(&plain, &j, NULL), JPEG_STRIP_OK); /* without JFIF, which would say YCbCr */
    j = splice(j, 2, segment(0xEE, adobe, sizeof adobe - 1));
    j = splice(j, 2, segment(0xEE, "NotAdobe-secret", 15)); /* another APP14: dropped */
    int w, h, cs;
    unsigned char *px = decode(&j, &w, &h, &cs);
    CHECK(px != NULL);
    CHECK_INT(cs, TJCS_RGB);
    free(px);
    CHECK_INT(strip(&j, &out, NULL), JPEG_STRIP_OK);
    CHECK(has_no_secret(&out));
    CHECK_INT(count_marker(&out, 0xEE), 1);
    size_t at = find_marker(out.data, out.len, 0xEE, 0);
    CHECK(at != (size_t)-1 && memcmp(out.data + at,
                                     "\xff\xee\x00\x0e"
                                     "Adobe\0\x64\0\0\0\0\0",
                                     16) == 0);
    CHECK(same_pixels(&j, &out)); /* still read as RGB */
    free(out.data);
    free(j.data);
    free(plain.data);
}

static void test_trailing_bytes_after_eoi_are_dropped(void)
{
    buf_t plain = make_jpeg(64, 48, 0), j = bytes(plain.data, plain.len), expected, out;
    CHECK_INT(strip(&plain, &expected, NULL), JPEG_STRIP_OK);
    static const char tail[] = "\xff\xd8\xff\xe1 a second picture with secret-exif";
    j = splice(j, j.len, bytes(tail, sizeof tail - 1));
    CHECK_INT(strip(&j, &out, NULL), JPEG_STRIP_OK);
    CHECK(same(&out, &expected));
    CHECK(out.len >= 2 && memcmp(out.data + out.len - 2, "\xff\xd9", 2) == 0);
    CHECK(has_no_secret(&out));
    free(out.data);
    free(expected.data);
    free(j.data);
    free(plain.data);
}

static void test_fill_bytes_and_restart_markers(void)
{
    /* restart markers every MCU row, then fill bytes before a segment */
    setenv("TJ_RESTART", "1", 1);
    buf_t plain = make_jpeg(96, 64, 0);
    unsetenv("TJ_RESTART");
    CHECK(find_marker(plain.data, plain.len, 0xDD, 0) != (size_t)-1); /* DRI */
    int rst = 0;
    for (size_t i = find_marker(plain.data, plain.len, 0xDA, 0); i + 1 < plain.len; i++)
        rst += plain.data[i] == 0xFF && plain.data[i + 1] >= 0xD0 && plain.data[i + 1] <= 0xD7;
    CHECK(rst >= 3);
    buf_t j = bytes(plain.data, plain.len), expected, out;
    CHECK_INT(strip(&plain, &expected, NULL), JPEG_STRIP_OK);
    CHECK(same_pixels(&plain, &expected));
    size_t dqt = find_marker(j.data, j.len, 0xDB, 0), sos = find_marker(j.data, j.len, 0xDA, 0);
    j = splice(j, sos, bytes("\xff\xff", 2)); /* the later one first: offsets stay valid */
    j = splice(j, dqt, bytes("\xff\xff\xff", 3));
    CHECK(same_pixels(&j, &plain));
    CHECK_INT(strip(&j, &out, NULL), JPEG_STRIP_OK);
    CHECK(same(&out, &expected));
    free(out.data);
    free(expected.data);
    free(j.data);
    free(plain.data);
}

static void test_truncated_segment_is_refused(void)
{
    buf_t j = make_jpeg(64, 48, 0), cut, out;
    const char *why = NULL;
    size_t dqt = find_marker(j.data, j.len, 0xDB, 0);
    size_t cuts[] = {dqt + 1, dqt + 3, dqt + 10};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        cut = bytes(j.data, cuts[i]);
        why = NULL;
        CHECK_INT(strip(&cut, &out, &why), JPEG_STRIP_MALFORMED);
        CHECK(why != NULL && strlen(why) > 0);
        free(cut.data);
    }
    /* inside the scan, and just before EOI */
    size_t cut_at[] = {find_marker(j.data, j.len, 0xDA, 0) + 20, j.len - 2, j.len - 1};
    for (size_t i = 0; i < sizeof cut_at / sizeof cut_at[0]; i++) {
        cut = bytes(j.data, cut_at[i]);
        why = NULL;
        CHECK_INT(strip(&cut, &out, &why), JPEG_STRIP_MALFORMED);
        CHECK(why != NULL && strstr(why, "EOI") != NULL);
        free(cut.data);
    }
    free(j.data);
}

static void test_length_past_the_end_is_refused(void)
{
    buf_t j = make_jpeg(64, 48, 0), out;
    const char *why = NULL;
    j = splice(j, 2, segment(0xE1, exif_payload, sizeof exif_payload - 1));
    j.data[4] = 0xFF; /* APP1 length 0xFF.. : longer than the file */
    CHECK(((size_t)j.data[4] << 8 | j.data[5]) > j.len);
    CHECK_INT(strip(&j, &out, &why), JPEG_STRIP_MALFORMED);
    CHECK(why != NULL && strstr(why, "past the end") != NULL);
    j.data[4] = 0x00;
    j.data[5] = 0x01; /* shorter than its own length bytes */
    CHECK_INT(strip(&j, &out, &why), JPEG_STRIP_MALFORMED);
    free(j.data);
}

static void test_other_malformed_structures(void)
{
    buf_t j = make_jpeg(64, 48, 0), b, out;
    const char *why = NULL;
    /* not a JPEG */
    b = bytes("\x89PNG\r\n\x1a\n", 8);
    CHECK_INT(strip(&b, &out, &why), JPEG_STRIP_MALFORMED);
    free(b.data);
    /* bytes between two segments */
    b = bytes(j.data, j.len);
    b = splice(b, find_marker(b.data, b.len, 0xDB, 0), bytes("xx", 2));
    CHECK_INT(strip(&b, &out, &why), JPEG_STRIP_MALFORMED);
    CHECK(strstr(why, "stray") != NULL);
    free(b.data);
    /* EOI before any scan */
    b = bytes("\xff\xd8\xff\xfe\x00\x04hi\xff\xd9", 10);
    CHECK_INT(strip(&b, &out, &why), JPEG_STRIP_MALFORMED);
    free(b.data);
    /* a scan before the frame header: SOF0 renamed to an APP15 that is dropped */
    b = bytes(j.data, j.len);
    b.data[find_marker(b.data, b.len, 0xC0, 0) + 1] = 0xEF;
    CHECK_INT(strip(&b, &out, &why), JPEG_STRIP_MALFORMED);
    CHECK(strstr(why, "frame") != NULL);
    free(b.data);
    /* two frame headers */
    b = bytes(j.data, j.len);
    size_t sof = find_marker(b.data, b.len, 0xC0, 0);
    b = splice(b, sof, bytes(b.data + sof, 2 + ((size_t)b.data[sof + 2] << 8 | b.data[sof + 3])));
    CHECK_INT(strip(&b, &out, &why), JPEG_STRIP_MALFORMED);
    free(b.data);
    free(j.data);
}

static void test_markers_left_to_a_decoder(void)
{
    buf_t j = make_jpeg(64, 48, 0), b, out;
    const char *why = NULL;
    /* arithmetic coding (SOF9) */
    b = bytes(j.data, j.len);
    b.data[find_marker(b.data, b.len, 0xC0, 0) + 1] = 0xC9;
    CHECK_INT(strip(&b, &out, &why), JPEG_STRIP_UNSUPPORTED);
    free(b.data);
    /* a TEM marker (no length) before the tables */
    b = bytes(j.data, j.len);
    b = splice(b, find_marker(b.data, b.len, 0xDB, 0), bytes("\xff\x01", 2));
    CHECK_INT(strip(&b, &out, &why), JPEG_STRIP_UNSUPPORTED);
    free(b.data);
    free(j.data);
}

int main(void)
{
    RUN(test_baseline_copy_keeps_the_scan_byte_for_byte);
    RUN(test_metadata_segments_are_dropped);
    RUN(test_progressive_metadata_between_scans);
    RUN(test_adobe_app14_is_kept_at_its_standard_length);
    RUN(test_trailing_bytes_after_eoi_are_dropped);
    RUN(test_fill_bytes_and_restart_markers);
    RUN(test_truncated_segment_is_refused);
    RUN(test_length_past_the_end_is_refused);
    RUN(test_other_malformed_structures);
    RUN(test_markers_left_to_a_decoder);
    return TEST_REPORT();
}
