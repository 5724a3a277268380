/* fuzz_json.c: reading a JSON request body, as gateway/request.c does for
 * BODY_JSON routes (json_max_depth 16), then the field getters the handlers
 * use, and the UTF-8 helpers every length check and cut goes through.
 *
 * Input: the request body.
 *
 * Calls: json_depth, json_parse_object, json_string_or_fail,
 * json_opt_string_or_fail, json_int_or_fail, json_opt_int_or_fail,
 * json_bool_or_fail (on a call from call_new), utf8_length,
 * utf8_prefix_bytes, utf8_copy.
 * Properties: a parsed body is an object no deeper than the limit; a getter
 * either succeeds or leaves a 400 naming the field; UTF-8 cuts never split a
 * character of valid text and never exceed their bounds; the count of a
 * prefix is what was asked for. */
#include <string.h>

#include "../../gateway/call.h"
#include "../../gateway/json_util.h"
#include "../../gateway/utf8.h"
#include "fuzz.h"

#define MAX_DEPTH 16 /* json_max_depth's default */

/* utf8_length, utf8_prefix_bytes and utf8_copy on len bytes at s (not
 * necessarily NUL-terminated). */
static void check_utf8(const char *s, size_t len)
{
    long n = utf8_length(s, len);
    FUZZ_CHECK(n >= -1 && n <= (long)len);
    static const size_t maxes[] = {0, 1, 2, 3, 20, 32, 500};
    for (size_t i = 0; i < sizeof(maxes) / sizeof(maxes[0]); i++) {
        size_t cut = utf8_prefix_bytes(s, len, maxes[i]);
        FUZZ_CHECK(cut <= len);
        if (n >= 0) {
            size_t want = (size_t)n < maxes[i] ? (size_t)n : maxes[i];
            FUZZ_CHECK(utf8_length(s, cut) == (long)want);
        }
    }
    /* utf8_copy reads a C string: up to the first NUL. */
    char *cs = fuzz_strndup((const uint8_t *)s, len);
    int valid = utf8_length(cs, strlen(cs)) >= 0;
    for (size_t dstsz = 1; dstsz <= 8; dstsz++) {
        char dst[8];
        size_t got = utf8_copy(dst, dstsz, cs);
        FUZZ_CHECK(got < dstsz && dst[got] == '\0' && memcmp(dst, cs, got) == 0);
        FUZZ_CHECK(!valid || utf8_length(dst, got) >= 0);
    }
    free(cs);
}

static void check_strings(const cJSON *item)
{
    for (; item; item = item->next) {
        if (item->string)
            check_utf8(item->string, strlen(item->string));
        if (cJSON_IsString(item))
            check_utf8(item->valuestring, strlen(item->valuestring));
        check_strings(item->child);
    }
}

/* Each getter on each top-level member: a success, or a failed call whose
 * error names that field. */
static void check_getters(const cJSON *obj)
{
    for (const cJSON *m = obj->child; m; m = m->next) {
        const char *field = m->string;
        gw_call_t *c = call_new();
        const char *s, *opt;
        long long v;
        int b, present;
        if (!c)
            abort();
#define EXPECT(ok)                                                                                 \
    do {                                                                                           \
        if (ok)                                                                                    \
            FUZZ_CHECK(c->err == ERR_NONE);                                                        \
        else                                                                                       \
            FUZZ_CHECK(c->err != ERR_NONE && c->status == 400 && !strncmp(c->err_field, field, 63)); \
        c->err = ERR_NONE;                                                                         \
        c->status = 0;                                                                             \
        c->err_field[0] = '\0';                                                                    \
    } while (0)
        s = json_string_or_fail(c, obj, field, 1, 32);
        EXPECT(s != NULL);
        if (s) {
            long n = utf8_length(s, strlen(s));
            FUZZ_CHECK(n >= 1 && n <= 32);
        }
        EXPECT(json_opt_string_or_fail(c, obj, field, 0, 500, &opt) == 0);
        EXPECT(json_int_or_fail(c, obj, field, 1, 1000000, &v) == 0);
        EXPECT(json_opt_int_or_fail(c, obj, field, -5, 5, &v, &present) == 0);
        EXPECT(json_bool_or_fail(c, obj, field, &b) == 0);
#undef EXPECT
        call_free(c);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    const char *why = NULL;
    int depth = json_depth(text, size);
    FUZZ_CHECK(depth >= -1);
    cJSON *obj = json_parse_object(text, size, MAX_DEPTH, &why);
    if (!obj) {
        FUZZ_CHECK(why != NULL);
    } else {
        FUZZ_CHECK(cJSON_IsObject(obj));
        FUZZ_CHECK(depth >= 1 && depth <= MAX_DEPTH);
        check_strings(obj->child);
        check_getters(obj);
        cJSON_Delete(obj);
    }
    check_utf8(text, size);
    return 0;
}
