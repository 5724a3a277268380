/* jpeg_markers.h: removing a JPEG's metadata at the marker level, without
 * decoding or re-encoding anything.
 *
 * The copy keeps what a decoder needs and nothing else: SOI; the frame header
 * (SOF0, SOF1 or SOF2: Huffman-coded baseline, extended or progressive);
 * quantisation and Huffman tables (DQT, DHT); the restart interval (DRI);
 * every scan header (SOS) with its entropy-coded data, restart markers
 * included, byte for byte; an APP14 "Adobe" segment cut to its standard 12
 * bytes (it tells RGB-coded data from YCbCr and holds nothing personal); and
 * EOI. It drops APP0..APP13, APP15 and COM wherever they are, between the
 * scans of a progressive file too: JFIF (with its optional thumbnail), EXIF
 * (GPS, maker notes, the embedded thumbnail), XMP, ICC profiles, Photoshop
 * IPTC, comments. Fill bytes before markers go, and everything after EOI
 * (e.g. a second picture appended by the camera).
 *
 * The marker structure is checked on the way (SOI first, every segment
 * length inside the file, only markers between segments, a frame header
 * before the first scan, EOI present); the entropy-coded data is not: decode
 * the copy to validate it. Kept segments are parsed strictly by libjpeg
 * (a length that does not match its content is an error), so they cannot
 * smuggle extra bytes through a decoder that accepts the copy. */
#ifndef GW_JPEG_MARKERS_H
#define GW_JPEG_MARKERS_H
#include <stddef.h>

typedef enum {
    JPEG_STRIP_OK = 0,
    JPEG_STRIP_MALFORMED,   /* broken marker structure: the file cannot be a valid JPEG */
    JPEG_STRIP_UNSUPPORTED, /* well formed so far, but a marker this copy does not handle (arithmetic
                               coding, lossless or hierarchical frames, TEM, reserved markers): leave the
                               file to a decoder */
} jpeg_strip_status_t;

/* Copies `in` without its metadata into `out`, which must hold `len` bytes
 * (the copy is never longer than the original). On JPEG_STRIP_OK *out_len is
 * the copy's length; otherwise *why (if not NULL) is a static message. */
jpeg_strip_status_t jpeg_strip_metadata(const unsigned char *in, size_t len, unsigned char *out, size_t *out_len,
                                        const char **why);

#endif
