/* utf8.h: counting and cutting UTF-8 text without splitting a character.
 * Every place that shortens a string (a fixed buffer, a WeChat field limit,
 * a log excerpt) cuts with these: names and addresses are Chinese, and half
 * a character makes the whole text invalid downstream. */
#ifndef GW_UTF8_H
#define GW_UTF8_H
#include <stddef.h>

/* Number of UTF-8 code points; -1 if the bytes are not valid UTF-8. */
long utf8_length(const char *s, size_t len);
/* Largest prefix of s holding at most max_chars code points, in bytes,
 * never cutting a character. */
size_t utf8_prefix_bytes(const char *s, size_t len, size_t max_chars);
/* Copies the longest whole-character prefix of src (NULL = "") that fits in
 * dst with its NUL; returns the bytes copied. Use instead of
 * snprintf(dst, size, "%s", src) for text that may be longer than dst. */
size_t utf8_copy(char *dst, size_t dstsz, const char *src);

#endif
