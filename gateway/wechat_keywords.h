/* wechat_keywords.h: one subscribe-message keyword value, built under
 * WeChat's rules for its type (subscribeMessage.send, "value rules per
 * keyword type": a value that breaks them is refused with 47003). Pure
 * functions, any thread.
 *
 * The type is the keyword's name without its number: thing3 is a thing.
 * Building never fails: characters the type does not allow are dropped, the
 * text is cut to the type's length on a UTF-8 character boundary, times and
 * dates are normalised, and what ends up empty or unusable becomes the type's
 * placeholder (WeChat refuses empty values too), so a message is never
 * rejected for a missing value. Which value fills which keyword is the
 * caller's business (domain/notifications/notification_templates.h). */
#ifndef GW_WECHAT_KEYWORDS_H
#define GW_WECHAT_KEYWORDS_H
#include <stddef.h>

typedef enum {
    WX_KW_INVALID = 0,
    WX_KW_THING,            /* <= 20 characters */
    WX_KW_NUMBER,           /* <= 32, -?digits[.digits] */
    WX_KW_LETTER,           /* <= 32 ASCII letters */
    WX_KW_SYMBOL,           /* <= 5 symbols */
    WX_KW_CHARACTER_STRING, /* <= 32 printable ASCII */
    WX_KW_TIME,             /* [date] HH:MM, or a range a~b */
    WX_KW_DATE,             /* date [HH:MM], or a range a~b */
    WX_KW_AMOUNT,           /* currency symbol, <= 10 digits, .dd */
    WX_KW_PHONE_NUMBER,     /* <= 17 digits and symbols */
    WX_KW_CAR_NUMBER,       /* <= 8; CJK only first or last */
    WX_KW_NAME,             /* <= 10 with CJK, else <= 20 letters/symbols */
    WX_KW_PHRASE,           /* <= 5 CJK characters */
} wx_kw_type_t;

/* Large enough for any built value (20 characters of 4 bytes, or a range). */
#define WX_KW_VALUE_MAX 128

/* "character_string2" -> WX_KW_CHARACTER_STRING; WX_KW_INVALID if the key is not
 * a known type followed by digits. */
wx_kw_type_t wx_kw_type_of_key(const char *key);
const char *wx_kw_type_name(wx_kw_type_t type);

/* Builds the value of `type` from raw (UTF-8 text, may be NULL) into out
 * (WX_KW_VALUE_MAX bytes, NUL-terminated). fallback_time ("YYYY-MM-DD HH:MM",
 * may be NULL: now) stands in for a time or date that cannot be read. Times
 * given as Unix seconds are shown in the process's local time zone. */
void wx_kw_build(wx_kw_type_t type, const char *raw, const char *fallback_time, char out[WX_KW_VALUE_MAX]);

#endif
