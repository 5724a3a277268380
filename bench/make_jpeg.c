/* make_jpeg: writes a baseline JPEG of about TARGET bytes that looks like a
 * phone photo to the upload path: 4:2:0, photo-sized, with an EXIF block
 * (orientation 1) for the strip step to remove.
 *
 *   make_jpeg OUT TARGET_BYTES SEED [WIDTH HEIGHT [ORIENTATION]]
 *
 * WIDTH x HEIGHT default to 2016 x 1512; ORIENTATION (1-8) is the EXIF tag's
 * value (e.g. 6: the upload path must turn it, a lossless transform).
 *
 * The picture is smooth gradients plus seeded noise; the quality is searched
 * until the file lands within 5% of TARGET_BYTES. Built by bench/run.sh. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <turbojpeg.h>

static int W = 2016, H = 1512;

/* APP1 "Exif" with a little-endian TIFF header and one IFD entry:
 * Orientation (0x0112), SHORT, count 1, value 1. */
static unsigned char exif_app1[] = {
    0xFF, 0xE1, 0x00, 0x22, 'E', 'x', 'i', 'f', 0, 0,
    'I', 'I', 0x2A, 0x00, 0x08, 0x00, 0x00, 0x00,
    0x01, 0x00,
    0x12, 0x01, 0x03, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00,
};

static unsigned rng_state;

static unsigned rnd(void)
{
    rng_state = rng_state * 1103515245u + 12345u;
    return rng_state >> 16;
}

static void paint(unsigned char *px, unsigned seed, int noise)
{
    rng_state = seed * 2654435761u + 1;
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            unsigned char *p = px + ((size_t)y * W + (size_t)x) * 3;
            int n = noise ? (int)(rnd() % (unsigned)(2 * noise + 1)) - noise : 0;
            int r = (x * 255 / W + (int)seed * 37) % 256 + n;
            int g = (y * 255 / H + (int)seed * 91) % 256 + n;
            int b = ((x + y) * 255 / (W + H)) + n;
            p[0] = (unsigned char)(r < 0 ? 0 : r > 255 ? 255 : r);
            p[1] = (unsigned char)(g < 0 ? 0 : g > 255 ? 255 : g);
            p[2] = (unsigned char)(b < 0 ? 0 : b > 255 ? 255 : b);
        }
}

int main(int argc, char **argv)
{
    if (argc != 4 && argc != 6 && argc != 7) {
        fprintf(stderr, "usage: make_jpeg OUT TARGET_BYTES SEED [WIDTH HEIGHT [ORIENTATION]]\n");
        return 2;
    }
    if (argc >= 6) {
        W = atoi(argv[4]);
        H = atoi(argv[5]);
        if (W < 16 || H < 16 || W > 65000 || H > 65000) {
            fprintf(stderr, "make_jpeg: WIDTH and HEIGHT must be 16-65000\n");
            return 2;
        }
    }
    if (argc == 7) {
        int o = atoi(argv[6]);
        if (o < 1 || o > 8) {
            fprintf(stderr, "make_jpeg: ORIENTATION must be 1-8\n");
            return 2;
        }
        exif_app1[28] = (unsigned char)o; /* the Orientation entry's value (little-endian SHORT) */
    }
    long target = atol(argv[2]);
    unsigned seed = (unsigned)atol(argv[3]);
    unsigned char *px = malloc((size_t)W * (size_t)H * 3);
    tjhandle tj = tjInitCompress();
    unsigned char *jpeg = NULL;
    unsigned long size = 0;
    int rc = 1;
    if (!px || !tj)
        goto Exit;
    /* Noise sets the size; search it at a fixed photo-like quality. */
    int lo = 0, hi = 64, best = -1;
    long best_diff = -1;
    while (lo <= hi) {
        int noise = (lo + hi) / 2;
        paint(px, seed, noise);
        tjFree(jpeg);
        jpeg = NULL;
        if (tjCompress2(tj, px, W, 0, H, TJPF_RGB, &jpeg, &size, TJSAMP_420, 88, 0) != 0) {
            fprintf(stderr, "make_jpeg: %s\n", tjGetErrorStr2(tj));
            goto Exit;
        }
        long diff = labs((long)size - target);
        if (best_diff < 0 || diff < best_diff) {
            best_diff = diff;
            best = noise;
        }
        if (diff * 20 <= target)
            break;
        if ((long)size < target)
            lo = noise + 1;
        else
            hi = noise - 1;
    }
    if (best_diff * 20 > target) {
        paint(px, seed, best);
        tjFree(jpeg);
        jpeg = NULL;
        if (tjCompress2(tj, px, W, 0, H, TJPF_RGB, &jpeg, &size, TJSAMP_420, 88, 0) != 0)
            goto Exit;
    }
    FILE *f = fopen(argv[1], "wb");
    if (!f) {
        perror(argv[1]);
        goto Exit;
    }
    /* SOI, then the EXIF block, then the rest (tjCompress2 wrote JFIF APP0). */
    int ok = fwrite(jpeg, 1, 2, f) == 2 && fwrite(exif_app1, 1, sizeof(exif_app1), f) == sizeof(exif_app1) &&
             fwrite(jpeg + 2, 1, size - 2, f) == size - 2;
    if (fclose(f) != 0 || !ok) {
        perror(argv[1]);
        goto Exit;
    }
    printf("%s %lu bytes %dx%d\n", argv[1], size + sizeof(exif_app1), W, H);
    rc = 0;
Exit:
    tjFree(jpeg);
    if (tj)
        tjDestroy(tj);
    free(px);
    return rc;
}
