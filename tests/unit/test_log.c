/* test_log.c: the line format, request ids (thread-local), level filtering,
 * one call = one line (newlines, truncation) and no interleaving across
 * threads. stderr (fd 2) is pointed at a temporary file while a test runs. */
#include "log.h"
#include "test.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static int saved_stderr = -1;
static int capture_fd = -1;

/* Points fd 2 at a fresh, empty, append-only temporary file. */
static void capture_begin(void)
{
    char path[] = "/tmp/test_log_XXXXXX";

    capture_fd = mkstemp(path);
    CHECK(capture_fd >= 0);
    if (capture_fd < 0)
        return;
    unlink(path);
    fcntl(capture_fd, F_SETFL, O_APPEND);
    saved_stderr = dup(STDERR_FILENO);
    dup2(capture_fd, STDERR_FILENO);
}

/* Restores fd 2 and returns what was written (malloc'ed, NUL-terminated). */
static char *capture_end(void)
{
    char *text = NULL;
    off_t size;

    if (capture_fd < 0)
        return NULL;
    dup2(saved_stderr, STDERR_FILENO);
    close(saved_stderr);
    size = lseek(capture_fd, 0, SEEK_END);
    text = malloc((size_t)size + 1);
    if (text != NULL && pread(capture_fd, text, (size_t)size, 0) == size)
        text[size] = '\0';
    else if (text != NULL)
        text[0] = '\0';
    close(capture_fd);
    capture_fd = -1;
    CHECK(text != NULL);
    return text;
}

static int count_lines(const char *s)
{
    int n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

/* "2026-11-28T22:31:05.123Z": d = digit, anything else literal. */
static int timestamp_ok(const char *s)
{
    static const char pat[] = "dddd-dd-ddTdd:dd:dd.dddZ";
    for (size_t i = 0; i < sizeof pat - 1; i++) {
        if (pat[i] == 'd' ? !isdigit((unsigned char)s[i]) : s[i] != pat[i])
            return 0;
    }
    return 1;
}

static void test_format(void)
{
    log_set_level(LOG_DEBUG);
    log_set_request_id(NULL);
    capture_begin();
    time_t before = time(NULL);
    log_info("http", "hello %d %s", 42, "world");
    time_t after = time(NULL);
    char *t = capture_end();
    if (t == NULL)
        return;

    CHECK_INT(count_lines(t), 1);
    CHECK(timestamp_ok(t));
    CHECK_STR(t + 24, " INFO [http] rid=- hello 42 world\n");

    /* The timestamp is UTC and current. */
    struct tm tm = {0};
    CHECK(strptime(t, "%Y-%m-%dT%H:%M:%S", &tm) != NULL);
    time_t when = timegm(&tm);
    CHECK(when >= before - 1 && when <= after);
    free(t);
}

static void test_level_names(void)
{
    log_set_level(LOG_DEBUG);
    capture_begin();
    log_debug("t", "d");
    log_info("t", "i");
    log_warn("t", "w");
    log_error("t", "e");
    log_write(LOG_INFO, NULL, "no tag");
    char *t = capture_end();
    if (t == NULL)
        return;
    CHECK_INT(count_lines(t), 5);
    CHECK(strstr(t, "Z DEBUG [t] rid=- d\n") != NULL);
    CHECK(strstr(t, "Z INFO [t] rid=- i\n") != NULL);
    CHECK(strstr(t, "Z WARN [t] rid=- w\n") != NULL);
    CHECK(strstr(t, "Z ERROR [t] rid=- e\n") != NULL);
    CHECK(strstr(t, "Z INFO [-] rid=- no tag\n") != NULL);
    free(t);
}

static void test_level_filter(void)
{
    log_set_level(LOG_WARN);
    capture_begin();
    log_debug("t", "hidden debug");
    log_info("t", "hidden info");
    log_warn("t", "shown warn");
    log_error("t", "shown error");
    char *t = capture_end();
    log_set_level(LOG_DEBUG);
    if (t == NULL)
        return;
    CHECK_INT(count_lines(t), 2);
    CHECK(strstr(t, "hidden") == NULL);
    CHECK(strstr(t, " WARN [t] rid=- shown warn\n") != NULL);
    CHECK(strstr(t, " ERROR [t] rid=- shown error\n") != NULL);
    free(t);

    log_set_level(LOG_ERROR);
    capture_begin();
    log_warn("t", "hidden");
    char *e = capture_end();
    log_set_level(LOG_DEBUG);
    if (e != NULL)
        CHECK_STR(e, "");
    free(e);
}

static void test_parse_level(void)
{
    log_level_t l = LOG_ERROR;
    CHECK_INT(log_parse_level("debug", &l), 0);
    CHECK_INT(l, LOG_DEBUG);
    CHECK_INT(log_parse_level("info", &l), 0);
    CHECK_INT(l, LOG_INFO);
    CHECK_INT(log_parse_level("warn", &l), 0);
    CHECK_INT(l, LOG_WARN);
    CHECK_INT(log_parse_level("error", &l), 0);
    CHECK_INT(l, LOG_ERROR);
    CHECK_INT(log_parse_level("INFO", &l), 0); /* case-insensitive */
    CHECK_INT(l, LOG_INFO);
    CHECK_INT(log_parse_level("warning", &l), 0);
    CHECK_INT(l, LOG_WARN);

    l = LOG_INFO;
    CHECK_INT(log_parse_level("verbose", &l), -1);
    CHECK_INT(log_parse_level("", &l), -1);
    CHECK_INT(log_parse_level("info ", &l), -1);
    CHECK_INT(log_parse_level(NULL, &l), -1);
    CHECK_INT(log_parse_level("info", NULL), -1);
    CHECK_INT(l, LOG_INFO); /* untouched on failure */
}

static void test_request_id(void)
{
    log_set_level(LOG_DEBUG);
    CHECK(log_request_id() == NULL);
    log_set_request_id("req-7f3a");
    CHECK_STR(log_request_id(), "req-7f3a");
    capture_begin();
    log_info("db", "query done");
    log_set_request_id(NULL);
    log_info("db", "idle");
    char *t = capture_end();
    CHECK(log_request_id() == NULL);
    if (t == NULL)
        return;
    CHECK_INT(count_lines(t), 2);
    CHECK(strstr(t, " INFO [db] rid=req-7f3a query done\n") != NULL);
    CHECK(strstr(t, " INFO [db] rid=- idle\n") != NULL);
    free(t);
}

static void *other_thread_rid(void *arg)
{
    const char **seen = arg;
    *seen = log_request_id(); /* must not see the main thread's id */
    log_set_request_id("req-other");
    return NULL;
}

static void test_request_id_is_thread_local(void)
{
    pthread_t th;
    const char *seen = "unset";

    log_set_request_id("req-main");
    CHECK_INT(pthread_create(&th, NULL, other_thread_rid, &seen), 0);
    pthread_join(th, NULL);
    CHECK(seen == NULL);
    CHECK_STR(log_request_id(), "req-main");
    log_set_request_id(NULL);
}

static void test_newlines_stay_one_line(void)
{
    log_set_level(LOG_DEBUG);
    log_set_request_id("r\nid");
    capture_begin();
    log_warn("ta\ng", "first\nsecond\r\nthird%s", "\nfourth");
    char *t = capture_end();
    log_set_request_id(NULL);
    if (t == NULL)
        return;
    CHECK_INT(count_lines(t), 1);
    CHECK(strstr(t, " WARN [ta g] rid=r id first second  third fourth\n") != NULL);
    free(t);
}

static void test_truncation(void)
{
    size_t big = 10000;
    char *msg = malloc(big + 1);
    if (msg == NULL)
        return;
    memset(msg, 'a', big);
    msg[big] = '\0';
    log_set_level(LOG_DEBUG);
    capture_begin();
    log_info("t", "%s", msg);
    log_info("t", "after");
    char *t = capture_end();
    free(msg);
    if (t == NULL)
        return;
    CHECK_INT(count_lines(t), 2);
    char *nl = strchr(t, '\n');
    CHECK(nl != NULL);
    if (nl != NULL) {
        CHECK_INT(nl - t + 1, 4096); /* the whole line, '\n' included */
        CHECK(strncmp(nl - 3, "...", 3) == 0);
        CHECK(strstr(nl + 1, " INFO [t] rid=- after\n") != NULL);
    }
    free(t);

    /* A cut never splits a UTF-8 character: fill with 3-byte characters. */
    size_t chars = 2000;
    char *utf = malloc(chars * 3 + 1);
    if (utf == NULL)
        return;
    for (size_t i = 0; i < chars; i++)
        memcpy(utf + 3 * i, "\xe4\xb8\xad", 3); /* U+4E2D */
    utf[chars * 3] = '\0';
    capture_begin();
    log_info("t", "%s", utf);
    t = capture_end();
    free(utf);
    if (t == NULL)
        return;
    nl = strchr(t, '\n');
    CHECK(nl != NULL && nl - t >= 4);
    if (nl != NULL && nl - t >= 4) {
        CHECK(strncmp(nl - 3, "...", 3) == 0);
        unsigned char last = (unsigned char)nl[-4];
        CHECK(last == 0xad); /* the last byte of a whole character */
    }
    free(t);
}

static void test_errno_preserved(void)
{
    capture_begin();
    errno = EAGAIN;
    log_error("t", "x");
    CHECK_INT(errno, EAGAIN);
    free(capture_end());
}

#define THREADS 4
#define LINES 500

static void *writer(void *arg)
{
    char id[16], body[1001];
    int k = (int)(long)arg;

    snprintf(id, sizeof id, "t%d", k);
    memset(body, 'A' + k, sizeof body - 1);
    body[sizeof body - 1] = '\0';
    log_set_request_id(id);
    for (int i = 0; i < LINES; i++)
        log_info("mt", "%s", body);
    log_set_request_id(NULL);
    return NULL;
}

static void test_threads_do_not_interleave(void)
{
    pthread_t th[THREADS];

    log_set_level(LOG_DEBUG);
    capture_begin();
    for (long i = 0; i < THREADS; i++)
        pthread_create(&th[i], NULL, writer, (void *)i);
    for (int i = 0; i < THREADS; i++)
        pthread_join(th[i], NULL);
    char *t = capture_end();
    if (t == NULL)
        return;
    CHECK_INT(count_lines(t), THREADS * LINES);

    /* Every line is whole, and its body matches its own request id. */
    int bad = 0;
    for (char *line = t, *nl; (nl = strchr(line, '\n')) != NULL; line = nl + 1) {
        *nl = '\0';
        char *rid = strstr(line, " rid=t");
        if (!timestamp_ok(line) || rid == NULL) {
            bad++;
            continue;
        }
        int k = rid[6] - '0';
        char *body = rid + 8;
        if (strlen(body) != 1000 || strspn(body, (char[]){(char)('A' + k), '\0'}) != 1000)
            bad++;
    }
    CHECK_INT(bad, 0);
    free(t);
}

int main(void)
{
    RUN(test_format);
    RUN(test_level_names);
    RUN(test_level_filter);
    RUN(test_parse_level);
    RUN(test_request_id);
    RUN(test_request_id_is_thread_local);
    RUN(test_newlines_stay_one_line);
    RUN(test_truncation);
    RUN(test_errno_preserved);
    RUN(test_threads_do_not_interleave);
    return TEST_REPORT();
}
