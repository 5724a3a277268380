/* mask.c: see mask.h.
 *
 * Both functions work on bytes (phones and openids are ASCII), always
 * NUL-terminate out when outsz > 0, and truncate rather than overflow: a
 * truncated result is a prefix of the masked text, so it never reveals more.
 * A NULL input is written as "-" (the log placeholder for "absent"). The
 * "****" in the middle is fixed-width, so it does not leak the length. */
#include "mask.h"

#include <stdio.h>
#include <string.h>

#define MASK_HIDDEN "****"

/* Writes s[0..keep_head) "****" s[len-keep_tail..len) into out, or just
 * "****" when s is shorter than min_len. */
static void mask_middle(const char *s, size_t keep_head, size_t keep_tail, size_t min_len, char *out, size_t outsz)
{
    size_t len;

    if (out == NULL || outsz == 0)
        return;
    if (s == NULL) {
        snprintf(out, outsz, "-");
        return;
    }
    len = strlen(s);
    if (len < min_len) {
        snprintf(out, outsz, MASK_HIDDEN);
        return;
    }
    snprintf(out, outsz, "%.*s" MASK_HIDDEN "%s", (int)keep_head, s, s + len - keep_tail);
}

/* 13812341234 -> 138****1234. With a leading '+' the '+' is kept in addition
 * to the first 3 characters after it, and the length rule applies to what
 * follows the '+': +8613812341234 -> +861****1234, +123456 -> ****. */
void mask_phone(const char *phone, char *out, size_t outsz)
{
    if (phone != NULL && phone[0] == '+')
        mask_middle(phone, 1 + 3, 4, 1 + 7, out, outsz);
    else
        mask_middle(phone, 3, 4, 7, out, outsz);
}

/* First 4 and last 4 with "****" between; shorter than 10 -> "****". */
void mask_openid(const char *openid, char *out, size_t outsz)
{
    mask_middle(openid, 4, 4, 10, out, outsz);
}
