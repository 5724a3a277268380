/* test_png_chunks.c: the PNG chunk filter in front of libpng. A chunk that
 * declares more bytes than the file holds is refused (a 125-byte upload
 * declaring a 1.8 GB tEXt chunk made libpng allocate 1.8 GB: found by
 * tests/fuzz/fuzz_image.c, input in tests/fuzz/regressions/image/); text,
 * compressed text, ICC profiles and unknown chunks are left out; the
 * decoding chunks are copied byte for byte; IEND ends the copy; and
 * image_process refuses the oversized chunk before libpng sees it. */
#include <png.h>
#include <stdlib.h>
#include <string.h>

#include "image.h"
#include "png_chunks.h"
#include "test.h"

typedef struct {
    unsigned char d[4096];
    size_t n;
} buf_t;

static void put32(unsigned char *p, unsigned long v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

static unsigned long crc32_of(const unsigned char *p, size_t n)
{
    unsigned long c = 0xffffffffUL;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = c & 1 ? 0xedb88320UL ^ (c >> 1) : c >> 1;
    }
    return c ^ 0xffffffffUL;
}

/* Appends a chunk; declared: the length written (normally n). */
static void chunk_declared(buf_t *b, const char *type, const void *data, size_t n, unsigned long declared)
{
    put32(b->d + b->n, declared);
    memcpy(b->d + b->n + 4, type, 4);
    if (n)
        memcpy(b->d + b->n + 8, data, n);
    put32(b->d + b->n + 8 + n, crc32_of(b->d + b->n + 4, n + 4));
    b->n += n + 12;
}

static void chunk(buf_t *b, const char *type, const void *data, size_t n)
{
    chunk_declared(b, type, data, n, n);
}

/* A 4x2 RGB PNG written by libpng (signature, IHDR, IDAT, IEND); extra:
 * chunks put between IHDR and the rest. */
static void make_png(buf_t *b, void (*extra)(buf_t *))
{
    enum { IHDR_END = 8 + 12 + 13 };
    unsigned char px[4 * 2 * 3], png[1024];
    png_alloc_size_t n = sizeof(png);
    png_image img;
    memset(px, 0x80, sizeof(px));
    memset(&img, 0, sizeof(img));
    img.version = PNG_IMAGE_VERSION;
    img.width = 4;
    img.height = 2;
    img.format = PNG_FORMAT_RGB;
    if (!png_image_write_to_memory(&img, png, &n, 0, px, 0, NULL) || n < IHDR_END)
        abort();
    memcpy(b->d, png, IHDR_END);
    b->n = IHDR_END;
    if (extra)
        extra(b);
    memcpy(b->d + b->n, png + IHDR_END, n - IHDR_END);
    b->n += n - IHDR_END;
}

static void metadata_chunks(buf_t *b)
{
    static const unsigned char gama[4] = {0, 0, 0xb1, 0x8f};
    chunk(b, "tEXt", "Comment\0taken at 31.2304N", 25);
    chunk(b, "zTXt", "Raw profile\0\0\x78\x9c\x03\0\0\0\0\1", 20);
    chunk(b, "iCCP", "icc\0\0\x78\x9c\x03\0\0\0\0\1", 14);
    chunk(b, "gAMA", gama, 4);
    chunk(b, "prVt", "private", 7);
}

static void huge_text(buf_t *b)
{
    chunk_declared(b, "tEXt", "Comment\0taken at 31.2304N", 25, 1835623985UL);
}

static int has_chunk(const unsigned char *p, size_t n, const char *type)
{
    for (size_t i = 8; i + 8 <= n;) {
        unsigned long len = (unsigned long)p[i] << 24 | (unsigned long)p[i + 1] << 16 | p[i + 2] << 8 | p[i + 3];
        if (!memcmp(p + i + 4, type, 4))
            return 1;
        i += len + 12;
    }
    return 0;
}

static void test_plain_png_is_copied_whole(void)
{
    buf_t b;
    unsigned char out[4096];
    size_t n = 0;
    make_png(&b, NULL);
    CHECK_INT(png_keep_decoding_chunks(b.d, b.n, out, &n, NULL), 0);
    CHECK_INT(n, b.n);
    CHECK(memcmp(out, b.d, n) == 0);
}

static void test_metadata_chunks_are_left_out(void)
{
    buf_t b, plain;
    unsigned char out[4096];
    size_t n = 0;
    make_png(&b, metadata_chunks);
    make_png(&plain, NULL);
    CHECK_INT(png_keep_decoding_chunks(b.d, b.n, out, &n, NULL), 0);
    CHECK(!has_chunk(out, n, "tEXt") && !has_chunk(out, n, "zTXt") && !has_chunk(out, n, "iCCP") &&
          !has_chunk(out, n, "prVt"));
    CHECK(has_chunk(out, n, "gAMA"));
    CHECK_INT(n, plain.n + 16);
}

static void test_chunk_longer_than_the_file_is_refused(void)
{
    buf_t b;
    unsigned char out[4096];
    size_t n = 0;
    const char *why = NULL;
    make_png(&b, huge_text);
    CHECK_INT(png_keep_decoding_chunks(b.d, b.n, out, &n, &why), -1);
    CHECK_STR(why, "a chunk is longer than the file");

    image_out_t img;
    char msg[200];
    CHECK_INT(image_process(b.d, b.n, &img, msg, sizeof(msg)), IMAGE_INVALID);
    CHECK(strstr(msg, "a chunk is longer than the file") != NULL);
    CHECK(img.data == NULL);
}

static void test_structure_is_checked(void)
{
    buf_t b;
    unsigned char out[4096];
    size_t n = 0;
    const char *why = NULL;
    make_png(&b, NULL);
    CHECK_INT(png_keep_decoding_chunks(b.d, b.n - 12, out, &n, &why), -1); /* no IEND */
    CHECK_STR(why, "the file ends before IEND");
    CHECK_INT(png_keep_decoding_chunks(b.d, 7, out, &n, &why), -1);
    CHECK_STR(why, "no PNG signature");
    buf_t c = b;
    memcpy(c.d + 12, "IHDX", 4);
    CHECK_INT(png_keep_decoding_chunks(c.d, c.n, out, &n, &why), -1);
    CHECK_STR(why, "the first chunk is not a 13-byte IHDR");
    c = b;
    c.d[8 + 25 + 5] = '1'; /* the second chunk's type: "I1AT" */
    CHECK_INT(png_keep_decoding_chunks(c.d, c.n, out, &n, &why), -1);
    CHECK_STR(why, "a chunk type is not four letters");
    /* what follows IEND is not copied */
    c = b;
    memcpy(c.d + c.n, "trailer", 7);
    c.n += 7;
    CHECK_INT(png_keep_decoding_chunks(c.d, c.n, out, &n, &why), 0);
    CHECK_INT(n, b.n);
}

static void test_filtered_png_still_decodes(void)
{
    buf_t b;
    image_out_t img;
    char msg[200];
    make_png(&b, metadata_chunks);
    CHECK_INT(image_process(b.d, b.n, &img, msg, sizeof(msg)), IMAGE_OK);
    CHECK_INT(img.width, 4);
    CHECK_INT(img.height, 2);
    image_out_free(&img);
}

int main(void)
{
    RUN(test_plain_png_is_copied_whole);
    RUN(test_metadata_chunks_are_left_out);
    RUN(test_chunk_longer_than_the_file_is_refused);
    RUN(test_structure_is_checked);
    RUN(test_filtered_png_still_decodes);
    return TEST_REPORT();
}
