/* Unit tests of the subscribe-message keyword values (gateway/wechat_keywords.h):
 * each type's limits, cuts on character boundaries, placeholders, times and
 * dates. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gateway/utf8.h"
#include "gateway/wechat_keywords.h"
#include "test.h"

static char out[WX_KW_VALUE_MAX];

static const char *build(wx_kw_type_t t, const char *raw)
{
    wx_kw_build(t, raw, "2025-05-31 09:30", out);
    return out;
}

static long chars(const char *s)
{
    return utf8_length(s, strlen(s));
}

static void test_type_of_key(void)
{
    CHECK_INT(wx_kw_type_of_key("thing1"), WX_KW_THING);
    CHECK_INT(wx_kw_type_of_key("character_string12"), WX_KW_CHARACTER_STRING);
    CHECK_INT(wx_kw_type_of_key("phone_number2"), WX_KW_PHONE_NUMBER);
    CHECK_INT(wx_kw_type_of_key("phrase3"), WX_KW_PHRASE);
    CHECK_INT(wx_kw_type_of_key("thing"), WX_KW_INVALID); /* no number */
    CHECK_INT(wx_kw_type_of_key("enum1"), WX_KW_INVALID);
    CHECK_INT(wx_kw_type_of_key("things1"), WX_KW_INVALID);
    CHECK_INT(wx_kw_type_of_key("12"), WX_KW_INVALID);
    CHECK_STR(wx_kw_type_name(WX_KW_CAR_NUMBER), "car_number");
}

static void test_thing(void)
{
    /* 25 CJK characters (3 bytes each) -> the first 20, whole characters */
    CHECK_STR(build(WX_KW_THING, "一二三四五六七八九十一二三四五六七八九十甲乙丙丁戊"),
              "一二三四五六七八九十一二三四五六七八九十");
    /* a cut right before a multi-byte character */
    CHECK_STR(build(WX_KW_THING, "abcdefghijklmnopqrs维修"), "abcdefghijklmnopqrs维");
    CHECK_INT(chars(build(WX_KW_THING, "😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀")), 20);
    CHECK_STR(build(WX_KW_THING, "  line\none\t two  "), "line one two");
    CHECK_STR(build(WX_KW_THING, ""), "-");
    CHECK_STR(build(WX_KW_THING, NULL), "-");
    CHECK_STR(build(WX_KW_THING, "a\xff"
                                 "b"),
              "ab"); /* a stray byte is dropped, not cut into */
    /* a cut that ends on a space does not leave it */
    CHECK_STR(build(WX_KW_THING, "abcdefghijklmnopqrs tuv"), "abcdefghijklmnopqrs");
}

static void test_phrase_and_strings(void)
{
    CHECK_STR(build(WX_KW_PHRASE, "处理中处理中"), "处理中处理");
    CHECK_STR(build(WX_KW_PHRASE, "已派单"), "已派单");
    CHECK_STR(build(WX_KW_PHRASE, "dispatched"), "无");
    CHECK_STR(build(WX_KW_PHRASE, "已 派-单"), "已派单");
    CHECK_STR(build(WX_KW_CHARACTER_STRING, "R20250601-0001维修"), "R20250601-0001");
    CHECK_STR(build(WX_KW_CHARACTER_STRING, "0123456789012345678901234567890123456789"),
              "01234567890123456789012345678901");
    CHECK_STR(build(WX_KW_CHARACTER_STRING, "维修"), "-");
    CHECK_STR(build(WX_KW_LETTER, "ab1c"), "abc");
    CHECK_STR(build(WX_KW_LETTER, "123"), "NA");
    CHECK_STR(build(WX_KW_SYMBOL, "a-b+c*d/e%f"), "-+*/%");
    CHECK_STR(build(WX_KW_SYMBOL, "abc"), "-");
}

static void test_name(void)
{
    CHECK_STR(build(WX_KW_NAME, "张三"), "张三");
    CHECK_STR(build(WX_KW_NAME, "张*"), "张*");
    CHECK_STR(build(WX_KW_NAME, "Wang Xiaoming 2"), "Wang Xiaoming");
    CHECK_STR(build(WX_KW_NAME, "欧阳一二三四五六七八九"), "欧阳一二三四五六七八");     /* CJK: 10 */
    CHECK_STR(build(WX_KW_NAME, "Alexander Maximilian Smith"), "Alexander Maximilian"); /* letters: 20 */
    CHECK_STR(build(WX_KW_NAME, "张Smith三李四王五赵六"), "张Smith三李四王");           /* mixed counts as CJK */
    CHECK_STR(build(WX_KW_NAME, "123"), "-");
}

static void test_numbers(void)
{
    CHECK_STR(build(WX_KW_NUMBER, "共3件"), "3");
    CHECK_STR(build(WX_KW_NUMBER, "-2.5"), "-2.5");
    CHECK_STR(build(WX_KW_NUMBER, "1,234"), "1234");
    CHECK_STR(build(WX_KW_NUMBER, "none"), "0");
    CHECK_STR(build(WX_KW_AMOUNT, "¥500.00"), "¥500.00");
    CHECK_STR(build(WX_KW_AMOUNT, "200元"), "200元");
    CHECK_STR(build(WX_KW_AMOUNT, "500"), "¥500");
    CHECK_STR(build(WX_KW_AMOUNT, "1,234.567"), "¥1234.56");
    CHECK_STR(build(WX_KW_AMOUNT, "500积分"), "¥500");
    CHECK_STR(build(WX_KW_AMOUNT, "12345678901"), "¥0"); /* 11 digits do not fit */
    CHECK_STR(build(WX_KW_AMOUNT, "-"), "¥0");
    CHECK_STR(build(WX_KW_PHONE_NUMBER, "138****0001"), "138****0001");
    CHECK_STR(build(WX_KW_PHONE_NUMBER, "+86-0766-66888866"), "+86-0766-66888866");
    CHECK_STR(build(WX_KW_PHONE_NUMBER, "+86-0766-668888661234"), "+86-0766-66888866");
    CHECK_STR(build(WX_KW_PHONE_NUMBER, "电话13800000001"), "13800000001");
    CHECK_STR(build(WX_KW_PHONE_NUMBER, "-"), "0");
    CHECK_STR(build(WX_KW_CAR_NUMBER, "粤B12345"), "粤B12345");
    CHECK_STR(build(WX_KW_CAR_NUMBER, "粤B1学2345警"), "粤B12345警");
    CHECK_STR(build(WX_KW_CAR_NUMBER, "粤 B-123456789"), "粤B123456");
    CHECK_STR(build(WX_KW_CAR_NUMBER, ""), "无");
}

static void test_times(void)
{
    CHECK_STR(build(WX_KW_TIME, "2025-06-01 14:05"), "2025-06-01 14:05");
    CHECK_STR(build(WX_KW_TIME, "2025-06-01T14:05:30.123+08:00"), "2025-06-01 14:05");
    CHECK_STR(build(WX_KW_TIME, "2025/6/1 9:05:00"), "2025-06-01 09:05");
    CHECK_STR(build(WX_KW_TIME, "2019年10月1日 15:01"), "2019-10-01 15:01");
    CHECK_STR(build(WX_KW_TIME, "10月1日 15:01"), "10月1日 15:01");
    CHECK_STR(build(WX_KW_TIME, "14:05"), "14:05");
    CHECK_STR(build(WX_KW_TIME, "2025-06-01 14:00~2025-06-01 16:00"), "2025-06-01 14:00~2025-06-01 16:00");
    CHECK_STR(build(WX_KW_TIME, "1748786700"), "2025-06-01 14:05"); /* Unix seconds, TZ=UTC below */
    /* unreadable or dateless: the event's own time */
    CHECK_STR(build(WX_KW_TIME, "明天下午"), "2025-05-31 09:30");
    CHECK_STR(build(WX_KW_TIME, "-"), "2025-05-31 09:30");
    CHECK_STR(build(WX_KW_TIME, "2025-06-01"), "2025-05-31 09:30");
    CHECK_STR(build(WX_KW_TIME, "2025-13-01 10:00"), "2025-05-31 09:30");
    CHECK_STR(build(WX_KW_TIME, "25:00"), "2025-05-31 09:30");
    CHECK_STR(build(WX_KW_DATE, "2025/6/1"), "2025-06-01");
    CHECK_STR(build(WX_KW_DATE, "2025-06-01 14:05:00"), "2025-06-01 14:05");
    CHECK_STR(build(WX_KW_DATE, "1748786700"), "2025-06-01 14:05");
    CHECK_STR(build(WX_KW_DATE, "14:05"), "2025-05-31");
    CHECK_STR(build(WX_KW_DATE, NULL), "2025-05-31");
    wx_kw_build(WX_KW_DATE, "", NULL, out); /* no event time either: today */
    CHECK_INT(strlen(out), 10);
}

int main(void)
{
    setenv("TZ", "UTC", 1);
    tzset();
    RUN(test_type_of_key);
    RUN(test_thing);
    RUN(test_phrase_and_strings);
    RUN(test_name);
    RUN(test_numbers);
    RUN(test_times);
    return TEST_REPORT();
}
