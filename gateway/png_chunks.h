/* png_chunks.h: a PNG's chunk list, checked and cut down to what decoding
 * needs before libpng sees it.
 *
 * Why: libpng allocates a chunk's declared length before it reads the chunk
 * (a 125-byte upload declaring a 1.8 GB tEXt chunk made it allocate and
 * touch 1.8 GB), and it inflates compressed text and ICC profiles (zTXt,
 * iTXt, iCCP) of any expanded size. Every chunk here must lie inside the
 * file, so nothing it declares is larger than the upload, and the chunks
 * that could expand, or that hold metadata the gateway drops anyway, never
 * reach the decoder.
 *
 * Kept, byte for byte (CRC included; libpng checks it): IHDR, PLTE, tRNS,
 * IDAT, IEND, and the small fixed-size colour chunks the decoder uses to
 * convert to sRGB (gAMA, cHRM, sRGB, sBIT, bKGD). Everything else is left
 * out (tEXt, zTXt, iTXt, iCCP, eXIf, tIME, pHYs, unknown and private
 * chunks), as is anything after IEND. Checked: the signature, IHDR first
 * and 13 bytes long, every length at most 2^31 - 1 and inside the file, chunk
 * types made of letters, and IEND present. */
#ifndef GW_PNG_CHUNKS_H
#define GW_PNG_CHUNKS_H
#include <stddef.h>

/* Copies `in` into `out` (which must hold `len` bytes; the copy is never
 * longer) with only the chunks above. 0 with *out_len set, or -1 with *why
 * (if not NULL) a static message. */
int png_keep_decoding_chunks(const unsigned char *in, size_t len, unsigned char *out, size_t *out_len,
                             const char **why);

#endif
