/* test.h: a minimal unit-test harness that speaks TAP. Each
 * tests/unit/test_*.c has a main() that runs test functions via RUN(): each
 * prints "ok N - name" or "not ok N - name", a failed check prints a "# FAIL"
 * diagnostic line, and TEST_REPORT() prints the plan "1..N" and returns the
 * exit status (non-zero on any failure). `prove` runs them (make unit). */
#ifndef GW_TEST_H
#define GW_TEST_H
#include <stdio.h>
#include <string.h>

static int test_passed, test_failed, test_current_failed;
static const char *test_current;

#define CHECK(cond)                                                                                                    \
    do {                                                                                                               \
        if (!(cond)) {                                                                                                 \
            printf("# FAIL %s (%s:%d): %s\n", test_current, __FILE__, __LINE__, #cond);                                \
            test_current_failed = 1;                                                                                   \
        }                                                                                                              \
    } while (0)

#define CHECK_INT(a, b)                                                                                                \
    do {                                                                                                               \
        long long va_ = (long long)(a), vb_ = (long long)(b);                                                          \
        if (va_ != vb_) {                                                                                              \
            printf("# FAIL %s (%s:%d): %s == %lld, expected %lld\n", test_current, __FILE__, __LINE__, #a, va_, vb_);  \
            test_current_failed = 1;                                                                                   \
        }                                                                                                              \
    } while (0)

#define CHECK_STR(a, b)                                                                                                \
    do {                                                                                                               \
        const char *sa_ = (a), *sb_ = (b);                                                                             \
        if (!sa_ || !sb_ || strcmp(sa_, sb_) != 0) {                                                                   \
            printf("# FAIL %s (%s:%d): %s == \"%s\", expected \"%s\"\n", test_current, __FILE__, __LINE__, #a,         \
                   sa_ ? sa_ : "(null)", sb_ ? sb_ : "(null)");                                                        \
            test_current_failed = 1;                                                                                   \
        }                                                                                                              \
    } while (0)

#define RUN(fn)                                                                                                        \
    do {                                                                                                               \
        test_current = #fn;                                                                                            \
        test_current_failed = 0;                                                                                       \
        fn();                                                                                                          \
        if (test_current_failed)                                                                                       \
            test_failed++;                                                                                             \
        else                                                                                                           \
            test_passed++;                                                                                             \
        printf("%sok %d - %s\n", test_current_failed ? "not " : "", test_passed + test_failed, test_current);          \
        fflush(stdout);                                                                                                \
    } while (0)

#define TEST_REPORT() (printf("1..%d\n", test_passed + test_failed), fflush(stdout), test_failed ? 1 : 0)

#endif
