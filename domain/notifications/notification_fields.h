/* notification_fields.h: one subscribe-message keyword value, built under
 * WeChat's rules for its type (../shared/wechat-api.md §4). Pure functions.
 *
 * The type is the keyword's name without its number: thing3 is a thing.
 * Building never fails: characters the type does not allow are dropped, the
 * text is cut to the type's length on a UTF-8 character boundary, times and
 * dates are normalised, and what ends up empty or unusable becomes the type's
 * placeholder, so a message is never rejected for a missing payload key. */
#ifndef NOTIFICATION_FIELDS_H
#define NOTIFICATION_FIELDS_H
#include <stddef.h>

typedef enum {
    NF_INVALID = 0,
    NF_THING,            /* <= 20 characters */
    NF_NUMBER,           /* <= 32, -?digits[.digits] */
    NF_LETTER,           /* <= 32 ASCII letters */
    NF_SYMBOL,           /* <= 5 symbols */
    NF_CHARACTER_STRING, /* <= 32 printable ASCII */
    NF_TIME,             /* [date] HH:MM, or a range a~b */
    NF_DATE,             /* date [HH:MM], or a range a~b */
    NF_AMOUNT,           /* currency symbol, <= 10 digits, .dd */
    NF_PHONE_NUMBER,     /* <= 17 digits and symbols */
    NF_CAR_NUMBER,       /* <= 8; CJK only first or last */
    NF_NAME,             /* <= 10 with CJK, else <= 20 letters/symbols */
    NF_PHRASE,           /* <= 5 CJK characters */
} nf_type_t;

/* Large enough for any built value (20 characters of 4 bytes, or a range). */
#define NF_VALUE_MAX 128

/* "character_string2" -> NF_CHARACTER_STRING; NF_INVALID if the key is not
 * a known type followed by digits. */
nf_type_t nf_type_of_key(const char *key);
const char *nf_type_name(nf_type_t type);

/* Builds the value of `type` from raw (UTF-8 text, may be NULL) into out
 * (NF_VALUE_MAX bytes, NUL-terminated). event_time ("YYYY-MM-DD HH:MM", may
 * be NULL) stands in for a time or date that cannot be read. Times given as
 * Unix seconds are shown in the process's local time zone. */
void nf_build(nf_type_t type, const char *raw, const char *event_time, char out[NF_VALUE_MAX]);

#endif
