/* wechat_keywords.c: building keyword values by type (see the header).
 *
 * Each type is built in three moves: keep the characters the type allows
 * (filter), cut to the type's length on a character boundary
 * (utf8_prefix_bytes), and fall back to the type's placeholder when nothing
 * usable is left. Times and dates are parsed and written out again in one
 * form WeChat accepts. The character classes follow WeChat's documented
 * rules; CJK means the CJK Unified Ideographs blocks. */
#include "wechat_keywords.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "utf8.h"

/* ---- characters ---------------------------------------------------------- */

/* The code point at s[*pos], advancing *pos past it; -1 (and one byte
 * skipped) for bytes that are not UTF-8. */
static long next_char(const char *s, size_t len, size_t *pos)
{
    const unsigned char *p = (const unsigned char *)s + *pos;
    size_t n = p[0] < 0x80 ? 1 : (p[0] & 0xE0) == 0xC0 ? 2 : (p[0] & 0xF0) == 0xE0 ? 3 : (p[0] & 0xF8) == 0xF0 ? 4 : 0;
    long cp;

    if (n == 0 || *pos + n > len) {
        (*pos)++;
        return -1;
    }
    cp = n == 1 ? p[0] : p[0] & (0x7F >> n);
    for (size_t k = 1; k < n; k++) {
        if ((p[k] & 0xC0) != 0x80) {
            (*pos)++;
            return -1;
        }
        cp = (cp << 6) | (p[k] & 0x3F);
    }
    *pos += n;
    return cp;
}

static int is_cjk(long cp)
{
    return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) || (cp >= 0xF900 && cp <= 0xFAFF) ||
           (cp >= 0x20000 && cp <= 0x2EBEF);
}

static int is_digit(long cp)
{
    return cp >= '0' && cp <= '9';
}

static int is_alpha(long cp)
{
    return (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z');
}

static int is_symbol(long cp) /* printable ASCII that is not a letter, digit or space */
{
    return cp > 0x20 && cp < 0x7F && !is_alpha(cp) && !is_digit(cp);
}

/* Characters that would make a thing unprintable: controls, line and
 * paragraph separators, zero-width characters, the byte-order mark. */
static int is_invisible(long cp)
{
    return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F) || (cp >= 0x200B && cp <= 0x200F) || cp == 0x2028 || cp == 0x2029 ||
           cp == 0xFEFF;
}

enum { DROP, KEEP, SPACE };
typedef int (*char_rule_t)(long cp);

static int rule_thing(long cp)
{
    if (cp == '\t' || cp == '\n' || cp == '\r')
        return SPACE;
    return is_invisible(cp) ? DROP : KEEP;
}

static int rule_phrase(long cp)
{
    return is_cjk(cp) ? KEEP : DROP;
}

static int rule_ascii_printable(long cp)
{
    if (cp == '\t' || cp == '\n' || cp == '\r')
        return SPACE;
    return cp >= 0x20 && cp < 0x7F ? KEEP : DROP;
}

static int rule_name(long cp) /* names carry no digits */
{
    return is_cjk(cp) || is_alpha(cp) || is_symbol(cp) || cp == ' ' ? KEEP : DROP;
}

static int rule_letter(long cp)
{
    return is_alpha(cp) ? KEEP : DROP;
}

static int rule_symbol(long cp)
{
    return is_symbol(cp) ? KEEP : DROP;
}

static int rule_phone(long cp)
{
    return is_digit(cp) || is_symbol(cp) || cp == ' ' ? KEEP : DROP;
}

static int rule_car(long cp)
{
    return is_cjk(cp) || is_alpha(cp) || is_digit(cp) ? KEEP : DROP;
}

/* ---- types -------------------------------------------------------------- */

/* rule: the characters a type keeps when it is built by filtering and
 * cutting to max_chars; NULL for the types built their own way. */
static const struct {
    const char *name;
    wx_kw_type_t type;
    size_t max_chars;
    const char *placeholder;
    char_rule_t rule;
} TYPES[] = {
    {"thing", WX_KW_THING, 20, "-", rule_thing},
    {"number", WX_KW_NUMBER, 32, "0", NULL},
    {"letter", WX_KW_LETTER, 32, "NA", rule_letter},
    {"symbol", WX_KW_SYMBOL, 5, "-", rule_symbol},
    {"character_string", WX_KW_CHARACTER_STRING, 32, "-", rule_ascii_printable},
    {"time", WX_KW_TIME, 0, NULL, NULL},
    {"date", WX_KW_DATE, 0, NULL, NULL},
    {"amount", WX_KW_AMOUNT, 0, "¥0", NULL},
    {"phone_number", WX_KW_PHONE_NUMBER, 17, "0", rule_phone},
    {"car_number", WX_KW_CAR_NUMBER, 8, "无", NULL},
    {"name", WX_KW_NAME, 20, "-", NULL},
    {"phrase", WX_KW_PHRASE, 5, "无", rule_phrase},
};
#define NTYPES (sizeof(TYPES) / sizeof(TYPES[0]))

static size_t type_index(wx_kw_type_t type)
{
    for (size_t i = 0; i < NTYPES; i++)
        if (TYPES[i].type == type)
            return i;
    return 0;
}

wx_kw_type_t wx_kw_type_of_key(const char *key)
{
    size_t n = key ? strlen(key) : 0, d = n;
    while (d > 0 && key[d - 1] >= '0' && key[d - 1] <= '9')
        d--;
    if (d == 0 || d == n) /* WeChat keys are a type name followed by a number */
        return WX_KW_INVALID;
    for (size_t i = 0; i < NTYPES; i++)
        if (strlen(TYPES[i].name) == d && strncmp(key, TYPES[i].name, d) == 0)
            return TYPES[i].type;
    return WX_KW_INVALID;
}

const char *wx_kw_type_name(wx_kw_type_t type)
{
    return type == WX_KW_INVALID ? "invalid" : TYPES[type_index(type)].name;
}

/* Copies the characters of raw that `rule` keeps into out (whole characters
 * only), with runs of spaces folded and the ends trimmed. */
static void filter(const char *raw, char_rule_t rule, char *out, size_t outsz)
{
    size_t len = raw ? strlen(raw) : 0, pos = 0, o = 0;
    int pending_space = 0;

    while (pos < len) {
        size_t start = pos;
        long cp = next_char(raw, len, &pos);
        int what = cp < 0 ? DROP : rule(cp);
        if (what == SPACE || (what == KEEP && cp == ' ')) {
            pending_space = o > 0;
            continue;
        }
        if (what == DROP)
            continue;
        size_t n = pos - start;
        if (o + (size_t)pending_space + n >= outsz)
            break;
        if (pending_space)
            out[o++] = ' ';
        pending_space = 0;
        memcpy(out + o, raw + start, n);
        o += n;
    }
    out[o] = '\0';
}

/* Cuts s in place to at most max_chars characters. */
static void cut(char *s, size_t max_chars)
{
    size_t len = strlen(s);
    len = utf8_prefix_bytes(s, len, max_chars);
    s[len] = '\0';
    while (len > 0 && s[len - 1] == ' ') /* a cut may leave a trailing space */
        s[--len] = '\0';
}

static int has_cjk(const char *s)
{
    size_t len = strlen(s), pos = 0;
    while (pos < len)
        if (is_cjk(next_char(s, len, &pos)))
            return 1;
    return 0;
}

/* ---- numbers and amounts ------------------------------------------------- */

/* The first number in s as digits[.digits] (thousands commas dropped), with
 * a leading '-' if allow_minus. 0 when s holds no digit. */
static int first_number(const char *s, int allow_minus, char *out, size_t outsz)
{
    const char *p = s ? s : "";
    size_t o = 0;
    int seen_dot = 0;

    while (*p && !is_digit((unsigned char)*p))
        p++;
    if (!*p || outsz < 4)
        return 0;
    if (allow_minus && p > s && p[-1] == '-')
        out[o++] = '-';
    for (; *p && o + 1 < outsz; p++) {
        if (is_digit((unsigned char)*p))
            out[o++] = *p;
        else if (*p == ',' && is_digit((unsigned char)p[1]) && !seen_dot)
            continue;
        else if (*p == '.' && !seen_dot && is_digit((unsigned char)p[1])) {
            seen_dot = 1;
            out[o++] = '.';
        } else
            break;
    }
    out[o] = '\0';
    return 1;
}

static void build_number(const char *raw, char *out)
{
    char num[WX_KW_VALUE_MAX];
    if (!first_number(raw, 1, num, sizeof num)) {
        out[0] = '\0';
        return;
    }
    if (strlen(num) > 32) { /* too long: the integer part alone, if it fits */
        char *dot = strchr(num, '.');
        if (dot)
            *dot = '\0';
        if (strlen(num) > 32)
            num[0] = '\0';
    }
    snprintf(out, WX_KW_VALUE_MAX, "%s", num);
}

static const char *const CURRENCIES[] = {"¥", "￥", "$", "€", "£"};

/* 1 if s is already an amount WeChat accepts: a currency symbol or a
 * trailing 元 around 1-10 digits [.d{1,2}]. */
static int is_amount(const char *s)
{
    const char *p = s;
    size_t digits = 0;
    int symbol = 0;

    for (size_t i = 0; i < sizeof CURRENCIES / sizeof *CURRENCIES && !symbol; i++)
        if (strncmp(p, CURRENCIES[i], strlen(CURRENCIES[i])) == 0) {
            p += strlen(CURRENCIES[i]);
            symbol = 1;
        }
    while (is_digit((unsigned char)*p) && digits <= 10)
        p++, digits++;
    if (digits == 0 || digits > 10)
        return 0;
    if (*p == '.') {
        size_t dec = 0;
        for (p++; is_digit((unsigned char)*p); p++)
            dec++;
        if (dec < 1 || dec > 2)
            return 0;
    }
    if (strcmp(p, "元") == 0)
        return 1;
    return *p == '\0' && symbol;
}

static void build_amount(const char *raw, char *out)
{
    char num[32], trimmed[WX_KW_VALUE_MAX];

    filter(raw, rule_thing, trimmed, sizeof trimmed);
    out[0] = '\0';
    if (is_amount(trimmed)) {
        snprintf(out, WX_KW_VALUE_MAX, "%s", trimmed);
        return;
    }
    if (!first_number(raw, 0, num, sizeof num))
        return;
    char *dot = strchr(num, '.');
    if (dot && strlen(dot) > 3) /* at most two decimals, cut not rounded */
        dot[3] = '\0';
    if ((dot ? (size_t)(dot - num) : strlen(num)) > 10)
        return;
    snprintf(out, WX_KW_VALUE_MAX, "¥%s", num);
}

/* ---- times and dates ----------------------------------------------------- */

typedef struct {
    int has_date, has_year, has_time;
    int y, mo, d, h, mi;
} moment_t;

/* Reads min..max decimal digits at *p. */
static int read_int(const char **p, const char *end, int min, int max, int *out)
{
    int n = 0, v = 0;
    while (*p + n < end && n < max && is_digit((unsigned char)(*p)[n]))
        v = v * 10 + ((*p)[n++] - '0');
    if (n < min || (*p + n < end && is_digit((unsigned char)(*p)[n])))
        return -1;
    *p += n;
    *out = v;
    return 0;
}

static int lit(const char **p, const char *end, const char *text)
{
    size_t n = strlen(text);
    if ((size_t)(end - *p) < n || memcmp(*p, text, n) != 0)
        return -1;
    *p += n;
    return 0;
}

static void skip_spaces(const char **p, const char *end)
{
    while (*p < end && **p == ' ')
        (*p)++;
}

/* HH:MM[:SS[.fff]] with an ISO zone suffix (Z, +08:00) tolerated and ignored:
 * the wall-clock time is shown as written. */
static int parse_clock(const char **p, const char *end, moment_t *m)
{
    int sec;
    if (read_int(p, end, 1, 2, &m->h) != 0 || lit(p, end, ":") != 0 || read_int(p, end, 2, 2, &m->mi) != 0)
        return -1;
    if (lit(p, end, ":") == 0) {
        if (read_int(p, end, 2, 2, &sec) != 0 || sec > 59)
            return -1;
        if (lit(p, end, ".") == 0 && read_int(p, end, 1, 9, &sec) != 0)
            return -1;
    }
    if (lit(p, end, "Z") != 0 && *p < end && (**p == '+' || **p == '-')) {
        int zh, zm;
        (*p)++;
        if (read_int(p, end, 2, 2, &zh) != 0)
            return -1;
        lit(p, end, ":");
        if (read_int(p, end, 2, 2, &zm) != 0)
            return -1;
    }
    m->has_time = 1;
    return 0;
}

static int from_unix_seconds(const char *s, const char *end, moment_t *m)
{
    char buf[16];
    struct tm tm;
    size_t n = (size_t)(end - s);
    if (n < 9 || n > 11)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (!is_digit((unsigned char)s[i]))
            return -1;
    memcpy(buf, s, n);
    buf[n] = '\0';
    time_t t = (time_t)strtoll(buf, NULL, 10);
    if (!localtime_r(&t, &tm))
        return -1;
    *m = (moment_t){1, 1, 1, tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min};
    return 0;
}

/* One moment: a date (2024-05-01, 2024/05/01, 2024.05.01, 2024年5月1日,
 * 5月1日) optionally followed (after spaces or 'T') by a clock time, a clock
 * time alone, or Unix seconds. The whole text must be used. */
static int parse_moment(const char *s, const char *end, moment_t *m)
{
    const char *p;
    int a;

    memset(m, 0, sizeof *m);
    while (s < end && *s == ' ')
        s++;
    while (end > s && end[-1] == ' ')
        end--;
    if (from_unix_seconds(s, end, m) == 0)
        return 0;
    p = s;
    if (read_int(&p, end, 4, 4, &m->y) == 0) {
        m->has_date = m->has_year = 1;
        if (lit(&p, end, "年") == 0) {
            if (read_int(&p, end, 1, 2, &m->mo) != 0 || lit(&p, end, "月") != 0 ||
                read_int(&p, end, 1, 2, &m->d) != 0 || lit(&p, end, "日") != 0)
                return -1;
        } else if (p < end && (*p == '-' || *p == '/' || *p == '.')) {
            char sep[2] = {*p++, '\0'};
            if (read_int(&p, end, 1, 2, &m->mo) != 0 || lit(&p, end, sep) != 0 || read_int(&p, end, 1, 2, &m->d) != 0)
                return -1;
        } else {
            return -1;
        }
    } else if (read_int(&p, end, 1, 2, &a) == 0) {
        if (lit(&p, end, "月") == 0) {
            m->has_date = 1;
            m->mo = a;
            if (read_int(&p, end, 1, 2, &m->d) != 0 || lit(&p, end, "日") != 0)
                return -1;
        } else {
            p = s; /* a clock time alone */
            if (parse_clock(&p, end, m) != 0)
                return -1;
        }
    } else {
        return -1;
    }
    if (m->has_date && p < end) {
        if (*p != ' ' && *p != 'T')
            return -1;
        p++;
        skip_spaces(&p, end);
        if (parse_clock(&p, end, m) != 0)
            return -1;
    }
    if (p != end)
        return -1;
    if (m->has_date && (m->mo < 1 || m->mo > 12 || m->d < 1 || m->d > 31 || (m->has_year && m->y < 1970)))
        return -1;
    if (m->has_time && (m->h > 23 || m->mi > 59))
        return -1;
    return 0;
}

static void format_moment(const moment_t *m, int with_date, int with_time, char *out, size_t outsz)
{
    char date[32] = "", clock[8] = "";
    if (with_date && m->has_year)
        snprintf(date, sizeof date, "%04d-%02d-%02d", m->y, m->mo, m->d);
    else if (with_date)
        snprintf(date, sizeof date, "%d月%d日", m->mo, m->d);
    if (with_time)
        snprintf(clock, sizeof clock, "%02d:%02d", m->h, m->mi);
    snprintf(out, outsz, "%s%s%s", date, date[0] && clock[0] ? " " : "", clock);
}

/* A time (needs a clock) or a date (needs a date), or a range a~b of them.
 * 0 with out filled, -1 if raw cannot be read as one. */
static int build_moment(wx_kw_type_t type, const char *raw, char *out)
{
    const char *parts[2], *ends[2], *tilde;
    char one[2][48];
    int nparts = 1;

    if (!raw || !raw[0])
        return -1;
    parts[0] = raw;
    tilde = strchr(raw, '~');
    ends[0] = tilde ? tilde : raw + strlen(raw);
    if (tilde) {
        parts[1] = tilde + 1;
        ends[1] = parts[1] + strlen(parts[1]);
        nparts = 2;
        if (strchr(parts[1], '~'))
            return -1;
    }
    for (int i = 0; i < nparts; i++) {
        moment_t m;
        if (parse_moment(parts[i], ends[i], &m) != 0)
            return -1;
        if (type == WX_KW_TIME && !m.has_time)
            return -1;
        if (type == WX_KW_DATE && !m.has_date)
            return -1;
        format_moment(&m, m.has_date, m.has_time, one[i], sizeof one[i]);
    }
    snprintf(out, WX_KW_VALUE_MAX, "%s%s%s", one[0], nparts == 2 ? "~" : "", nparts == 2 ? one[1] : "");
    return 0;
}

/* The fallback time, or now, when the value cannot be read. */
static void moment_placeholder(wx_kw_type_t type, const char *fallback_time, char *out)
{
    if (fallback_time && build_moment(WX_KW_TIME, fallback_time, out) == 0) {
        if (type == WX_KW_DATE) {
            char *space = strchr(out, ' ');
            if (space)
                *space = '\0';
        }
        return;
    }
    time_t now = time(NULL);
    struct tm tm;
    localtime_r(&now, &tm);
    moment_t m = {1, 1, 1, tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min};
    format_moment(&m, 1, type == WX_KW_TIME, out, WX_KW_VALUE_MAX);
}

/* ---- the rest ------------------------------------------------------------ */

/* Plates: letters and digits, with a CJK character allowed only first (the
 * province) or last (e.g. 学, 警). */
static void build_car_number(const char *raw, char *out)
{
    char kept[WX_KW_VALUE_MAX];
    size_t len, pos = 0, o = 0, count = 0;

    filter(raw, rule_car, kept, sizeof kept);
    len = strlen(kept);
    while (pos < len && count < 8) {
        size_t start = pos;
        long cp = next_char(kept, len, &pos);
        if (is_cjk(cp) && count > 0 && pos < len)
            continue;
        memcpy(out + o, kept + start, pos - start);
        o += pos - start;
        count++;
    }
    out[o] = '\0';
}

void wx_kw_build(wx_kw_type_t type, const char *raw, const char *fallback_time, char out[WX_KW_VALUE_MAX])
{
    size_t t = type_index(type);

    out[0] = '\0';
    switch (type) {
    case WX_KW_TIME:
    case WX_KW_DATE: {
        char trimmed[WX_KW_VALUE_MAX];
        filter(raw, rule_thing, trimmed, sizeof trimmed);
        if (build_moment(type, trimmed, out) != 0)
            moment_placeholder(type, fallback_time, out);
        return;
    }
    case WX_KW_NUMBER:
        build_number(raw, out);
        break;
    case WX_KW_AMOUNT:
        build_amount(raw, out);
        break;
    case WX_KW_CAR_NUMBER:
        build_car_number(raw, out);
        break;
    case WX_KW_NAME:
        filter(raw, rule_name, out, WX_KW_VALUE_MAX);
        cut(out, has_cjk(out) ? 10 : 20); /* any CJK makes it a CJK name: 10 */
        break;
    case WX_KW_THING:
    case WX_KW_PHRASE:
    case WX_KW_CHARACTER_STRING:
    case WX_KW_LETTER:
    case WX_KW_SYMBOL:
    case WX_KW_PHONE_NUMBER:
        filter(raw, TYPES[t].rule, out, WX_KW_VALUE_MAX);
        cut(out, TYPES[t].max_chars);
        if (type == WX_KW_PHONE_NUMBER && !strpbrk(out, "0123456789")) /* a phone number needs a digit */
            out[0] = '\0';
        break;
    case WX_KW_INVALID:
        break;
    }
    if (!out[0])
        snprintf(out, WX_KW_VALUE_MAX, "%s", TYPES[t].placeholder ? TYPES[t].placeholder : "-");
}
