/* image_cost: CPU time of the upload path's image work on one core, to tell
 * how many uploads a second the cores can carry at best.
 *
 *   image_cost PHOTO.jpg [ITERATIONS]
 *
 * Prints one BENCH_IMAGE JSON line, milliseconds per photo:
 *   process    image_process() as the upload step runs it (validate, upright,
 *              strip, thumbnail)
 *   transform  its lossless tjTransform alone (entropy decode + re-encode)
 *   thumb      its 1/8-scale decode alone (what the thumbnail needs)
 *   marker     copying the JPEG without its APPn/COM segments, no decode: the
 *              cost of a strip that does not re-encode (for comparison)
 *   sha256     hashing the result once (the content address)
 * Linked against the gateway's own code (BUILD/libgateway.a) by bench/run.sh. */
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <turbojpeg.h>

#include "../gateway/image.h"

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static unsigned char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *buf = n > 0 ? malloc((size_t)n) : NULL;
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    *len = buf ? (size_t)n : 0;
    return buf;
}

/* SOI, then every segment except APP0..APP15 and COM, then the scan data
 * as-is. Returns the output length, 0 on a malformed header. */
static size_t strip_markers(const unsigned char *in, size_t len, unsigned char *out)
{
    if (len < 4 || in[0] != 0xFF || in[1] != 0xD8)
        return 0;
    size_t i = 2, o = 2;
    out[0] = 0xFF;
    out[1] = 0xD8;
    while (i + 4 <= len) {
        if (in[i] != 0xFF)
            return 0;
        unsigned m = in[i + 1];
        size_t seg = ((size_t)in[i + 2] << 8 | in[i + 3]) + 2;
        if (i + seg > len)
            return 0;
        if (m == 0xDA) { /* start of scan: the rest is entropy-coded data */
            memcpy(out + o, in + i, len - i);
            return o + (len - i);
        }
        if (!((m >= 0xE0 && m <= 0xEF) || m == 0xFE)) {
            memcpy(out + o, in + i, seg);
            o += seg;
        }
        i += seg;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: image_cost PHOTO.jpg [ITERATIONS]\n");
        return 2;
    }
    int iters = argc > 2 ? atoi(argv[2]) : 20;
    size_t len = 0;
    unsigned char *in = read_file(argv[1], &len);
    if (!in || iters < 1) {
        fprintf(stderr, "image_cost: cannot read %s\n", argv[1]);
        return 1;
    }
    char why[200];
    image_out_t out;
    double t0 = now_ms();
    for (int i = 0; i < iters; i++) {
        memset(&out, 0, sizeof(out));
        if (image_process(in, len, &out, why, sizeof(why)) != IMAGE_OK) {
            fprintf(stderr, "image_cost: %s\n", why);
            return 1;
        }
        image_out_free(&out);
    }
    double process = (now_ms() - t0) / iters;

    tjhandle tx = tjInitTransform(), dec = tjInitDecompress();
    tjtransform xf;
    memset(&xf, 0, sizeof(xf));
    xf.op = TJXOP_NONE;
    xf.options = TJXOPT_COPYNONE | TJXOPT_TRIM;
    unsigned char *clean = NULL;
    unsigned long clean_len = 0;
    t0 = now_ms();
    for (int i = 0; i < iters; i++) {
        tjFree(clean);
        clean = NULL;
        if (tjTransform(tx, in, (unsigned long)len, 1, &clean, &clean_len, &xf, 0) != 0)
            return 1;
    }
    double transform = (now_ms() - t0) / iters;

    int w, h, ss, cs;
    tjDecompressHeader3(dec, in, (unsigned long)len, &w, &h, &ss, &cs);
    int sw = (w + 7) / 8, sh = (h + 7) / 8;
    unsigned char *rgb = malloc((size_t)sw * (size_t)sh * 3);
    t0 = now_ms();
    for (int i = 0; i < iters; i++)
        if (tjDecompress2(dec, in, (unsigned long)len, rgb, sw, 0, sh, TJPF_RGB, 0) != 0)
            return 1;
    double thumb = (now_ms() - t0) / iters;

    unsigned char *copy = malloc(len);
    size_t copy_len = 0;
    t0 = now_ms();
    for (int i = 0; i < iters; i++)
        copy_len = strip_markers(in, len, copy);
    double marker = (now_ms() - t0) / iters;

    unsigned char digest[SHA256_DIGEST_LENGTH];
    t0 = now_ms();
    for (int i = 0; i < iters; i++)
        SHA256(clean, clean_len, digest);
    double sha = (now_ms() - t0) / iters;

    printf("BENCH_IMAGE {\"bytes\":%zu,\"width\":%d,\"height\":%d,\"process_ms\":%.2f,\"transform_ms\":%.2f,"
           "\"thumb_decode_ms\":%.2f,\"marker_strip_ms\":%.3f,\"marker_strip_bytes\":%zu,\"sha256_ms\":%.2f}\n",
           len, w, h, process, transform, thumb, marker, copy_len, sha);
    tjFree(clean);
    free(rgb);
    free(copy);
    free(in);
    tjDestroy(tx);
    tjDestroy(dec);
    return 0;
}
