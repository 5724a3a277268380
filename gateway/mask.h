/* mask.h: the one place where personal identifiers are redacted for logs
 * and for views that may not see them in full. */
#ifndef GW_MASK_H
#define GW_MASK_H
#include <stddef.h>

/* 13812341234 -> 138****1234; anything shorter than 7 chars -> "****". */
void mask_phone(const char *phone, char *out, size_t outsz);
/* oAbCdEfGhIjK... -> oAbC****hIjK (first 4, last 4). */
void mask_openid(const char *openid, char *out, size_t outsz);

#endif
