#include "jpeg_markers.h"

#include <string.h>

#define M_SOI 0xD8
#define M_EOI 0xD9
#define M_SOS 0xDA
#define M_APP14 0xEE
#define ADOBE_DATA_LEN 12 /* "Adobe", version, flags0, flags1, transform: what libjpeg reads */

typedef enum { SEG_KEEP, SEG_DROP, SEG_ADOBE, SEG_FRAME, SEG_SCAN, SEG_OTHER } seg_kind_t;

static seg_kind_t classify(unsigned m)
{
    switch (m) {
    case 0xC0: /* SOF0 baseline */
    case 0xC1: /* SOF1 extended sequential */
    case 0xC2: /* SOF2 progressive */
        return SEG_FRAME;
    case 0xC4: /* DHT */
    case 0xDB: /* DQT */
    case 0xDD: /* DRI */
        return SEG_KEEP;
    case M_SOS:
        return SEG_SCAN;
    case M_APP14:
        return SEG_ADOBE;
    case 0xFE: /* COM */
        return SEG_DROP;
    default:
        return m >= 0xE0 && m <= 0xEF ? SEG_DROP : SEG_OTHER; /* APPn */
    }
}

typedef struct {
    const unsigned char *in;
    size_t len, p; /* read position */
    unsigned char *out;
    size_t o; /* write position */
} strip_t;

/* Entropy-coded data after a scan header: copied as it is up to the first
 * marker that is neither a stuffed zero (FF 00) nor a restart marker
 * (RST0..7). -1 if the file ends first. */
static int copy_scan_data(strip_t *s)
{
    size_t start = s->p, p = s->p;
    for (;;) {
        const unsigned char *ff = memchr(s->in + p, 0xFF, s->len - p);
        if (!ff)
            return -1;
        p = (size_t)(ff - s->in);
        if (p + 1 >= s->len)
            return -1;
        unsigned next = s->in[p + 1];
        if (next != 0x00 && !(next >= 0xD0 && next <= 0xD7))
            break;
        p += 2;
    }
    memcpy(s->out + s->o, s->in + start, p - start);
    s->o += p - start;
    s->p = p;
    return 0;
}

static void emit(strip_t *s, unsigned marker, const unsigned char *body, size_t n)
{
    s->out[s->o] = 0xFF;
    s->out[s->o + 1] = (unsigned char)marker;
    s->out[s->o + 2] = (unsigned char)((n + 2) >> 8);
    s->out[s->o + 3] = (unsigned char)((n + 2) & 0xFF);
    memcpy(s->out + s->o + 4, body, n);
    s->o += 4 + n;
}

jpeg_strip_status_t jpeg_strip_metadata(const unsigned char *in, size_t len, unsigned char *out, size_t *out_len,
                                        const char **why)
{
    strip_t s = {.in = in, .len = len, .p = 2, .out = out, .o = 2};
    jpeg_strip_status_t st = JPEG_STRIP_MALFORMED;
    const char *msg = NULL;
    int frames = 0, scans = 0, in_scan = 0;
    if (len < 4 || in[0] != 0xFF || in[1] != M_SOI) {
        msg = "the file does not start with a JPEG SOI marker";
        goto Exit;
    }
    out[0] = 0xFF;
    out[1] = M_SOI;
    for (;;) {
        if (in_scan && copy_scan_data(&s) != 0) {
            msg = "the file ends inside the image data, without an EOI marker";
            goto Exit;
        }
        in_scan = 0;
        if (s.p >= len) {
            msg = "the file ends without an EOI marker";
            goto Exit;
        }
        if (in[s.p] != 0xFF) {
            msg = "stray bytes between JPEG segments";
            goto Exit;
        }
        while (s.p < len && in[s.p] == 0xFF) /* fill bytes */
            s.p++;
        if (s.p >= len) {
            msg = "the file ends inside a marker";
            goto Exit;
        }
        unsigned m = in[s.p++];
        if (m == M_EOI) {
            if (!scans) {
                msg = "EOI before any image data";
                goto Exit;
            }
            s.out[s.o++] = 0xFF;
            s.out[s.o++] = M_EOI;
            break; /* anything after EOI is dropped */
        }
        if (m == 0x00 || m == M_SOI) {
            msg = m ? "a second SOI marker" : "stray bytes between JPEG segments";
            goto Exit;
        }
        seg_kind_t kind = classify(m);
        if (kind == SEG_OTHER) {
            st = JPEG_STRIP_UNSUPPORTED;
            msg = "a marker the metadata copy does not handle";
            goto Exit;
        }
        if (len - s.p < 2) {
            msg = "the file ends inside a segment header";
            goto Exit;
        }
        size_t seg = (size_t)in[s.p] << 8 | in[s.p + 1]; /* includes its own two bytes */
        if (seg < 2) {
            msg = "a segment has an invalid length";
            goto Exit;
        }
        if (seg > len - s.p) {
            msg = "a segment runs past the end of the file";
            goto Exit;
        }
        const unsigned char *body = in + s.p + 2;
        size_t n = seg - 2;
        switch (kind) {
        case SEG_ADOBE:
            if (n >= ADOBE_DATA_LEN && memcmp(body, "Adobe", 5) == 0)
                emit(&s, m, body, ADOBE_DATA_LEN);
            break;
        case SEG_FRAME:
            if (++frames > 1) {
                msg = "more than one frame header";
                goto Exit;
            }
            emit(&s, m, body, n);
            break;
        case SEG_SCAN:
            if (!frames) {
                msg = "a scan before the frame header";
                goto Exit;
            }
            scans++;
            in_scan = 1;
            emit(&s, m, body, n);
            break;
        case SEG_KEEP:
            emit(&s, m, body, n);
            break;
        case SEG_DROP:
        case SEG_OTHER:
            break;
        }
        s.p += seg;
    }
    *out_len = s.o;
    st = JPEG_STRIP_OK;
Exit:
    if (why)
        *why = msg;
    return st;
}
