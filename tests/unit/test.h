/* test.h: a minimal unit-test harness. Each tests/unit/test_*.c has a main()
 * that runs TEST functions via RUN(); the file prints one line per check
 * failure and a closing "unit <file>: N passed, N failed" line that
 * tests/run-unit.sh adds up. Exit status is non-zero on any failure. */
#ifndef GW_TEST_H
#define GW_TEST_H
#include <stdio.h>
#include <string.h>

static int test_passed, test_failed, test_current_failed;
static const char *test_current;

#define CHECK(cond)                                                                       \
    do {                                                                                  \
        if (!(cond)) {                                                                    \
            printf("FAIL %s (%s:%d): %s\n", test_current, __FILE__, __LINE__, #cond);     \
            test_current_failed = 1;                                                      \
        }                                                                                 \
    } while (0)

#define CHECK_INT(a, b)                                                                   \
    do {                                                                                  \
        long long va_ = (long long)(a), vb_ = (long long)(b);                             \
        if (va_ != vb_) {                                                                 \
            printf("FAIL %s (%s:%d): %s == %lld, expected %lld\n", test_current, __FILE__, \
                   __LINE__, #a, va_, vb_);                                               \
            test_current_failed = 1;                                                      \
        }                                                                                 \
    } while (0)

#define CHECK_STR(a, b)                                                                   \
    do {                                                                                  \
        const char *sa_ = (a), *sb_ = (b);                                                \
        if (!sa_ || !sb_ || strcmp(sa_, sb_) != 0) {                                      \
            printf("FAIL %s (%s:%d): %s == \"%s\", expected \"%s\"\n", test_current,       \
                   __FILE__, __LINE__, #a, sa_ ? sa_ : "(null)", sb_ ? sb_ : "(null)");    \
            test_current_failed = 1;                                                      \
        }                                                                                 \
    } while (0)

#define RUN(fn)                                                                           \
    do {                                                                                  \
        test_current = #fn;                                                               \
        test_current_failed = 0;                                                          \
        fn();                                                                             \
        if (test_current_failed)                                                          \
            test_failed++;                                                                \
        else                                                                              \
            test_passed++;                                                                \
    } while (0)

#define TEST_REPORT()                                                                     \
    (printf("unit %s: %d passed, %d failed\n", __FILE__, test_passed, test_failed),       \
     test_failed ? 1 : 0)

#endif
