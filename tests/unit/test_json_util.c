/* test_json_util.c: body parsing limits (depth, trailing data, objects only),
 * UTF-8 length and prefix cutting, and the *_or_fail field getters. */
#include <stdio.h>
#include <string.h>

#include "call.h"
#include "json_util.h"
#include "test.h"

static int depth_of(const char *s)
{
    return json_depth(s, strlen(s));
}

static void test_depth(void)
{
    CHECK_INT(depth_of(""), 0);
    CHECK_INT(depth_of("1"), 0);
    CHECK_INT(depth_of("{}"), 1);
    CHECK_INT(depth_of("[]"), 1);
    CHECK_INT(depth_of("{\"a\":[{\"b\":[1,2]}],\"c\":{}}"), 4);
    CHECK_INT(depth_of("{\"a\":\"[[[[{{{{\"}"), 1);         /* brackets in strings do not count */
    CHECK_INT(depth_of("{\"a\":\"\\\"[[[\",\"b\":[]}"), 2); /* nor after an escaped quote */
    CHECK_INT(depth_of("{\"a\":\"\\\\\",\"b\":[[]]}"), 3);  /* an escaped backslash ends before the quote */
    CHECK_INT(depth_of("{"), -1);
    CHECK_INT(depth_of("}"), -1);
    CHECK_INT(depth_of("{]]"), -1);
    CHECK_INT(depth_of("[[]"), -1);
}

static cJSON *parse(const char *s, int max_depth, const char **why)
{
    *why = NULL;
    return json_parse_object(s, strlen(s), max_depth, why);
}

static void test_parse_object(void)
{
    const char *why;
    cJSON *o = parse("{\"a\":1}", 4, &why);
    CHECK(o != NULL && cJSON_IsObject(o));
    cJSON_Delete(o);
    o = parse(" \n{\"a\":[[1]]}\r\n\t ", 3, &why); /* exactly the limit, white space around */
    CHECK(o != NULL);
    cJSON_Delete(o);

    struct {
        const char *text;
        const char *why_has;
    } bad[] = {
        {"{\"a\":[[1]]}", "deep"},  {"{\"a\":1} x", "trailing"}, {"{\"a\":1}{}", "trailing"},
        {"{\"a\":1}}", "trailing"}, {"{\"a\":[1}", "not valid"}, /* unbalanced: left to the parser */
        {"[1,2]", "object"},        {"\"s\"", "object"},         {"12", "object"},
        {"null", "object"},         {"{\"a\":}", "not valid"},   {"{'a':1}", "not valid"},
        {"", "not valid"},          {"   ", "not valid"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        o = parse(bad[i].text, 2, &why);
        CHECK(o == NULL);
        CHECK(why != NULL && strstr(why, bad[i].why_has) != NULL);
        if (o || !why || !strstr(why, bad[i].why_has))
            printf("  input %s: %s\n", bad[i].text, why ? why : "(no reason)");
        cJSON_Delete(o);
    }
    /* The length is honoured: no reliance on a terminating NUL. */
    const char *buf = "{\"a\":1}garbage";
    o = json_parse_object(buf, 7, 4, &why);
    CHECK(o != NULL);
    cJSON_Delete(o);
    o = json_parse_object(buf, 9, 4, &why);
    CHECK(o == NULL);
}

static void test_utf8_length(void)
{
    CHECK_INT(utf8_length("", 0), 0);
    CHECK_INT(utf8_length("abc", 3), 3);
    CHECK_INT(utf8_length("\xc3\xa9", 2), 1);                 /* é */
    CHECK_INT(utf8_length("\xe4\xb8\xad\xe6\x96\x87", 6), 2); /* 中文 */
    CHECK_INT(utf8_length("\xf0\x9f\x98\x80", 4), 1);         /* U+1F600 */
    CHECK_INT(utf8_length("\xef\xbf\xbd", 3), 1);             /* U+FFFD */
    CHECK_INT(utf8_length("\xf4\x8f\xbf\xbf", 4), 1);         /* U+10FFFF, the last code point */
    CHECK_INT(utf8_length("a\0b", 3), 3);

    const char *invalid[] = {
        "\x80",             /* lone continuation byte */
        "\xc3",             /* truncated */
        "\xe4\xb8",         /* truncated */
        "\xc3\x28",         /* bad continuation */
        "\xc0\xaf",         /* overlong '/' */
        "\xc1\xbf",         /* overlong */
        "\xe0\x80\xaf",     /* overlong 3-byte */
        "\xe0\x9f\xbf",     /* overlong 3-byte */
        "\xed\xa0\x80",     /* UTF-16 surrogate U+D800 */
        "\xed\xbf\xbf",     /* surrogate U+DFFF */
        "\xf0\x80\x80\xaf", /* overlong 4-byte */
        "\xf0\x8f\xbf\xbf", /* overlong 4-byte */
        "\xf4\x90\x80\x80", /* above U+10FFFF */
        "\xf5\x80\x80\x80", /* never valid lead byte */
        "\xff",
    };
    for (size_t i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++) {
        long n = utf8_length(invalid[i], strlen(invalid[i]));
        if (n != -1)
            printf("  invalid sequence %zu accepted\n", i);
        CHECK_INT(n, -1);
    }
}

static void test_utf8_copy(void)
{
    char small[8];
    /* "天空之城" is 12 bytes: 7 bytes of room hold two whole characters. */
    CHECK_INT(utf8_copy(small, sizeof(small), "天空之城"), 6);
    CHECK_STR(small, "天空");
    CHECK_INT(utf8_length(small, strlen(small)), 2);
    CHECK_INT(utf8_copy(small, sizeof(small), "abc"), 3);
    CHECK_STR(small, "abc");
    CHECK_INT(utf8_copy(small, sizeof(small), NULL), 0);
    CHECK_STR(small, "");
    char exact[7];
    CHECK_INT(utf8_copy(exact, sizeof(exact), "天空之城"), 6);
    CHECK_STR(exact, "天空");
}

static void test_utf8_prefix(void)
{
    const char *s = "a\xe4\xb8\xad"
                    "b\xf0\x9f\x98\x80"
                    "c"; /* a中b😀c: 1+3+1+4+1 bytes */
    size_t len = strlen(s);
    CHECK_INT(utf8_prefix_bytes(s, len, 0), 0);
    CHECK_INT(utf8_prefix_bytes(s, len, 1), 1);
    CHECK_INT(utf8_prefix_bytes(s, len, 2), 4);
    CHECK_INT(utf8_prefix_bytes(s, len, 3), 5);
    CHECK_INT(utf8_prefix_bytes(s, len, 4), 9);
    CHECK_INT(utf8_prefix_bytes(s, len, 5), 10);
    CHECK_INT(utf8_prefix_bytes(s, len, 100), 10);
    /* A buffer that ends inside a character: the partial character is left out. */
    CHECK_INT(utf8_prefix_bytes(s, 3, 5), 1);
    CHECK_INT(utf8_prefix_bytes(s, 8, 5), 5);
    /* Every prefix is valid UTF-8 of the requested length. */
    for (size_t n = 0; n <= 5; n++) {
        size_t b = utf8_prefix_bytes(s, len, n);
        CHECK_INT(utf8_length(s, b), (long)n);
    }
}

/* A fresh call with the given body for each getter check. */
static gw_call_t *call_with(const char *json)
{
    gw_call_t *c = call_new();
    c->body = cJSON_Parse(json);
    return c;
}

#define CHECK_FAILED(c, code, field)                                                                                   \
    do {                                                                                                               \
        CHECK_INT((c)->err, code);                                                                                     \
        CHECK_INT((c)->status, 400);                                                                                   \
        CHECK_STR((c)->err_field, field);                                                                              \
        CHECK(strstr((c)->err_message, field) != NULL);                                                                \
    } while (0)

static void test_string_getters(void)
{
    gw_call_t *c = call_with("{\"s\":\"abc\",\"cn\":\"\xe4\xb8\xad\xe6\x96\x87\xe5\xad\x97\",\"e\":\"\","
                             "\"n\":null,\"i\":5,\"bad\":\"\xed\xa0\x80\"}");
    CHECK_STR(json_string_or_fail(c, c->body, "s", 1, 3), "abc");
    CHECK_STR(json_string_or_fail(c, c->body, "cn", 3, 3),
              "\xe4\xb8\xad\xe6\x96\x87\xe5\xad\x97"); /* characters, not bytes */
    CHECK_INT(c->err, ERR_NONE);
    CHECK_INT(c->status, 0);

    struct {
        const char *field;
        size_t min, max;
        err_code_t err;
    } fails[] = {
        {"missing", 1, 10, ERR_MISSING_FIELD}, {"n", 1, 10, ERR_MISSING_FIELD},   {"i", 1, 10, ERR_INVALID_FIELD},
        {"e", 1, 10, ERR_INVALID_FIELD},       {"s", 4, 10, ERR_INVALID_FIELD},   {"s", 1, 2, ERR_INVALID_FIELD},
        {"cn", 1, 2, ERR_INVALID_FIELD},       {"bad", 1, 10, ERR_INVALID_FIELD},
    };
    for (size_t i = 0; i < sizeof(fails) / sizeof(fails[0]); i++) {
        gw_call_t *f = call_new();
        f->body = cJSON_Duplicate(c->body, 1);
        CHECK(json_string_or_fail(f, f->body, fails[i].field, fails[i].min, fails[i].max) == NULL);
        CHECK_FAILED(f, fails[i].err, fails[i].field);
        call_free(f);
    }

    const char *out = "x";
    CHECK_INT(json_opt_string_or_fail(c, c->body, "missing", 1, 10, &out), 0);
    CHECK(out == NULL);
    out = "x";
    CHECK_INT(json_opt_string_or_fail(c, c->body, "n", 1, 10, &out), 0);
    CHECK(out == NULL);
    CHECK_INT(json_opt_string_or_fail(c, c->body, "s", 1, 10, &out), 0);
    CHECK_STR(out, "abc");
    CHECK_INT(c->err, ERR_NONE);
    CHECK_INT(json_opt_string_or_fail(c, c->body, "i", 1, 10, &out), -1);
    CHECK(out == NULL);
    CHECK_FAILED(c, ERR_INVALID_FIELD, "i");
    call_free(c);
}

static void test_int_getters(void)
{
    const char *body = "{\"i\":5,\"neg\":-7,\"f\":1.5,\"s\":\"5\",\"b\":true,\"n\":null,\"big\":1e300,"
                       "\"max\":9007199254740992}";
    gw_call_t *c = call_with(body);
    long long v = 0;
    CHECK_INT(json_int_or_fail(c, c->body, "i", 1, 10, &v), 0);
    CHECK_INT(v, 5);
    CHECK_INT(json_int_or_fail(c, c->body, "neg", -10, 0, &v), 0);
    CHECK_INT(v, -7);
    CHECK_INT(json_int_or_fail(c, c->body, "i", 5, 5, &v), 0); /* bounds are inclusive */
    CHECK_INT(json_int_or_fail(c, c->body, "max", 1, 1LL << 53, &v), 0);
    CHECK_INT(v, 1LL << 53);
    CHECK_INT(c->err, ERR_NONE);
    int present = -1;
    CHECK_INT(json_opt_int_or_fail(c, c->body, "missing", 1, 10, &v, &present), 0);
    CHECK_INT(present, 0);
    CHECK_INT(json_opt_int_or_fail(c, c->body, "n", 1, 10, &v, &present), 0);
    CHECK_INT(present, 0);
    CHECK_INT(json_opt_int_or_fail(c, c->body, "i", 1, 10, &v, &present), 0);
    CHECK_INT(present, 1);
    call_free(c);

    struct {
        const char *field;
        long long lo, hi;
        err_code_t err;
    } fails[] = {
        {"missing", 1, 10, ERR_MISSING_FIELD}, {"n", 1, 10, ERR_MISSING_FIELD},
        {"f", 1, 10, ERR_INVALID_FIELD},       {"s", 1, 10, ERR_INVALID_FIELD},
        {"b", 0, 10, ERR_INVALID_FIELD},       {"i", 6, 10, ERR_INVALID_FIELD},
        {"i", 1, 4, ERR_INVALID_FIELD},        {"big", 1, 1LL << 53, ERR_INVALID_FIELD},
    };
    for (size_t i = 0; i < sizeof(fails) / sizeof(fails[0]); i++) {
        c = call_with(body);
        v = 123;
        CHECK_INT(json_int_or_fail(c, c->body, fails[i].field, fails[i].lo, fails[i].hi, &v), -1);
        CHECK_INT(v, 123);
        CHECK_FAILED(c, fails[i].err, fails[i].field);
        call_free(c);
    }
}

static void test_bool_getter(void)
{
    gw_call_t *c = call_with("{\"t\":true,\"f\":false,\"i\":1,\"s\":\"true\",\"n\":null}");
    int b = -1;
    CHECK_INT(json_bool_or_fail(c, c->body, "t", &b), 0);
    CHECK_INT(b, 1);
    CHECK_INT(json_bool_or_fail(c, c->body, "f", &b), 0);
    CHECK_INT(b, 0);
    CHECK_INT(c->err, ERR_NONE);
    const char *invalid[] = {"i", "s"};
    for (size_t i = 0; i < 2; i++) {
        gw_call_t *f = call_with("{\"i\":1,\"s\":\"true\"}");
        CHECK_INT(json_bool_or_fail(f, f->body, invalid[i], &b), -1);
        CHECK_FAILED(f, ERR_INVALID_FIELD, invalid[i]);
        call_free(f);
    }
    const char *missing[] = {"n", "missing"};
    for (size_t i = 0; i < 2; i++) {
        gw_call_t *f = call_with("{\"n\":null}");
        CHECK_INT(json_bool_or_fail(f, f->body, missing[i], &b), -1);
        CHECK_FAILED(f, ERR_MISSING_FIELD, missing[i]);
        call_free(f);
    }
    call_free(c);
}

static void test_trimmed(void)
{
    /* ASCII spaces, a tab and the ideographic space U+3000 around 空调. */
    gw_call_t *c = call_with("{\"s\":\" \\t\xe3\x80\x80\xe7\xa9\xba\xe8\xb0\x83 \xe3\x80\x80\","
                             "\"blank\":\" \xe3\x80\x80 \",\"n\":null,\"i\":1}");
    char out[16];
    int present = -1;
    CHECK_INT(json_trimmed_or_fail(c, c->body, "s", 1, 1, 2, out, sizeof(out), &present), 0);
    CHECK_STR(out, "\xe7\xa9\xba\xe8\xb0\x83");
    CHECK_INT(present, 1);
    CHECK_INT(json_trimmed_or_fail(c, c->body, "missing", 0, 1, 2, out, sizeof(out), &present), 0);
    CHECK_INT(present, 0);
    CHECK_STR(out, "");
    CHECK_INT(json_trimmed_or_fail(c, c->body, "n", 0, 1, 2, out, sizeof(out), &present), 0);
    CHECK_INT(present, 0);
    CHECK_INT(c->err, ERR_NONE);
    struct {
        const char *field;
        int required;
        size_t max, outsz;
        err_code_t err;
    } fails[] = {
        {"missing", 1, 2, 16, ERR_MISSING_FIELD}, {"n", 1, 2, 16, ERR_MISSING_FIELD},
        {"blank", 0, 2, 16, ERR_INVALID_FIELD},   {"i", 0, 2, 16, ERR_INVALID_FIELD},
        {"s", 1, 1, 16, ERR_INVALID_FIELD},       {"s", 1, 2, 6, ERR_INVALID_FIELD}, /* no room: refused, never cut */
    };
    for (size_t i = 0; i < sizeof(fails) / sizeof(fails[0]); i++) {
        gw_call_t *f = call_new();
        f->body = cJSON_Duplicate(c->body, 1);
        CHECK_INT(json_trimmed_or_fail(f, f->body, fails[i].field, fails[i].required, 1, fails[i].max, out,
                                       fails[i].outsz, &present),
                  -1);
        CHECK_FAILED(f, fails[i].err, fails[i].field);
        call_free(f);
    }
    call_free(c);
}

static void test_known_fields(void)
{
    static const char *const known[] = {"name", "code", NULL};
    gw_call_t *c = call_with("{\"name\":\"a\",\"code\":\"b\"}");
    CHECK_INT(json_known_fields_or_fail(c, c->body, known), 0);
    CHECK_INT(c->err, ERR_NONE);
    call_free(c);
    c = call_with("{\"name\":\"a\",\"colour\":\"red\"}");
    CHECK_INT(json_known_fields_or_fail(c, c->body, known), -1);
    CHECK_FAILED(c, ERR_INVALID_FIELD, "colour");
    call_free(c);
}

static void test_string_or_null(void)
{
    cJSON *o = cJSON_CreateObject();
    json_add_string_or_null(o, "a", "x");
    json_add_string_or_null(o, "b", NULL);
    char *text = cJSON_PrintUnformatted(o);
    CHECK_STR(text, "{\"a\":\"x\",\"b\":null}");
    cJSON_free(text);
    cJSON_Delete(o);
}

static void test_enum_getter(void)
{
    static const char *const names[] = {"hotline", "front_desk", "wechat_group", NULL};
    gw_call_t *c = call_with("{\"ch\":\"front_desk\",\"bad\":\"email\",\"n\":null,\"i\":3}");
    const char *got = json_enum_or_fail(c, c->body, "ch", names);
    CHECK(got == names[1]); /* the table's entry: it outlives the body */
    CHECK_INT(c->err, ERR_NONE);
    struct {
        const char *field;
        err_code_t err;
    } fails[] = {
        {"missing", ERR_MISSING_FIELD}, {"n", ERR_MISSING_FIELD}, {"i", ERR_INVALID_FIELD}, {"bad", ERR_INVALID_FIELD}};
    for (size_t i = 0; i < sizeof(fails) / sizeof(fails[0]); i++) {
        gw_call_t *f = call_new();
        f->body = cJSON_Duplicate(c->body, 1);
        CHECK(json_enum_or_fail(f, f->body, fails[i].field, names) == NULL);
        CHECK_FAILED(f, fails[i].err, fails[i].field);
        call_free(f);
    }
    gw_call_t *f = call_new();
    f->body = cJSON_Duplicate(c->body, 1);
    CHECK(json_enum_or_fail(f, f->body, "bad", names) == NULL);
    CHECK_STR(f->err_message, "bad must be one of hotline, front_desk, wechat_group");
    call_free(f);
    call_free(c);
}

int main(void)
{
    RUN(test_depth);
    RUN(test_parse_object);
    RUN(test_utf8_length);
    RUN(test_utf8_prefix);
    RUN(test_string_getters);
    RUN(test_enum_getter);
    RUN(test_int_getters);
    RUN(test_bool_getter);
    RUN(test_string_or_null);
    RUN(test_trimmed);
    RUN(test_known_fields);
    RUN(test_utf8_copy);
    return TEST_REPORT();
}
