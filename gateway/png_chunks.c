#include "png_chunks.h"

#include <string.h>

static const unsigned char signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};

static unsigned long be32(const unsigned char *p)
{
    return (unsigned long)p[0] << 24 | (unsigned long)p[1] << 16 | (unsigned long)p[2] << 8 | p[3];
}

static int is_letter(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static int kept(const unsigned char *type)
{
    static const char *const keep[] = {"IHDR", "PLTE", "tRNS", "IDAT", "IEND", "gAMA", "cHRM", "sRGB", "sBIT", "bKGD"};
    for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++)
        if (!memcmp(type, keep[i], 4))
            return 1;
    return 0;
}

static int fail(const char **why, const char *msg)
{
    if (why)
        *why = msg;
    return -1;
}

int png_keep_decoding_chunks(const unsigned char *in, size_t len, unsigned char *out, size_t *out_len, const char **why)
{
    size_t p = sizeof(signature), o = sizeof(signature);
    if (len < sizeof(signature) || memcmp(in, signature, sizeof(signature)) != 0)
        return fail(why, "no PNG signature");
    memcpy(out, in, sizeof(signature));
    for (int first = 1;; first = 0) {
        if (len - p < 12)
            return fail(why, "the file ends before IEND");
        unsigned long n = be32(in + p);
        const unsigned char *type = in + p + 4;
        if (n > 0x7fffffffUL || n > len - p - 12)
            return fail(why, "a chunk is longer than the file");
        if (!is_letter(type[0]) || !is_letter(type[1]) || !is_letter(type[2]) || !is_letter(type[3]))
            return fail(why, "a chunk type is not four letters");
        if (first && (memcmp(type, "IHDR", 4) != 0 || n != 13))
            return fail(why, "the first chunk is not a 13-byte IHDR");
        size_t whole = (size_t)n + 12;
        if (kept(type)) {
            memcpy(out + o, in + p, whole);
            o += whole;
        }
        p += whole;
        if (!memcmp(type, "IEND", 4))
            break; /* what follows IEND is not part of the image */
    }
    *out_len = o;
    return 0;
}
