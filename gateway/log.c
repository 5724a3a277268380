/* log.c: see log.h.
 *
 * Each call formats its whole line in a stack buffer and hands it to a single
 * write(2) on fd 2. Lines are at most LOG_LINE_MAX bytes (== PIPE_BUF on
 * Linux), so writes to a pipe are atomic and lines from several threads never
 * interleave; with a file or tty one write per line gives the same result in
 * practice. stdio is bypassed on purpose: its buffer is shared by threads. */
#if !defined(_GNU_SOURCE) && !defined(_POSIX_C_SOURCE)
#define _POSIX_C_SOURCE 200809L
#endif
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define LOG_LINE_MAX 4096 /* whole line, '\n' included */
#define LOG_TAG_MAX 32
#define LOG_RID_MAX 64

static _Atomic int g_level = LOG_INFO;
static _Thread_local const char *t_request_id;

static const char *const level_names[] = {"DEBUG", "INFO", "WARN", "ERROR"};

void log_set_level(log_level_t level)
{
    if ((int)level < LOG_DEBUG)
        level = LOG_DEBUG;
    if ((int)level > LOG_ERROR)
        level = LOG_ERROR;
    atomic_store_explicit(&g_level, (int)level, memory_order_relaxed);
}

int log_parse_level(const char *name, log_level_t *out)
{
    static const struct {
        const char *name;
        log_level_t level;
    } names[] = {
        {"debug", LOG_DEBUG}, {"info", LOG_INFO}, {"warn", LOG_WARN}, {"warning", LOG_WARN}, {"error", LOG_ERROR},
    };

    if (name == NULL || out == NULL)
        return -1;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (strcasecmp(name, names[i].name) == 0) {
            *out = names[i].level;
            return 0;
        }
    }
    return -1;
}

void log_set_request_id(const char *request_id)
{
    t_request_id = request_id;
}

const char *log_request_id(void)
{
    return t_request_id;
}

/* Control characters (other than tab) would let a value start a new line or
 * play terminal escapes, so they become spaces. */
static void clean(char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c < 0x20 && c != '\t') || c == 0x7f)
            s[i] = ' ';
    }
}

/* Appends at most max bytes of s at line[pos]; returns the new position. */
static size_t put(char *line, size_t pos, const char *s, size_t max)
{
    size_t n = strnlen(s, max);
    memcpy(line + pos, s, n);
    clean(line + pos, n);
    return pos + n;
}

static void write_all(int fd, const char *p, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return; /* nowhere left to report a logging failure */
        }
        p += n;
        len -= (size_t)n;
    }
}

void log_write(log_level_t level, const char *tag, const char *fmt, ...)
{
    char line[LOG_LINE_MAX];
    int saved_errno = errno; /* callers often log and then look at errno */
    struct timespec ts;
    struct tm tm;
    size_t pos, avail;
    va_list ap;
    int n;

    if ((int)level < atomic_load_explicit(&g_level, memory_order_relaxed))
        return;
    if ((int)level > LOG_ERROR)
        level = LOG_ERROR;

    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    pos = strftime(line, sizeof line, "%Y-%m-%dT%H:%M:%S", &tm);
    /* The prefix is bounded (< 64 + tag + rid), far below LOG_LINE_MAX. */
    pos +=
        (size_t)snprintf(line + pos, sizeof line - pos, ".%03dZ %s [", (int)(ts.tv_nsec / 1000000), level_names[level]);
    pos = put(line, pos, tag ? tag : "-", LOG_TAG_MAX);
    pos = put(line, pos, "] rid=", 6);
    pos = put(line, pos, t_request_id ? t_request_id : "-", LOG_RID_MAX);
    line[pos++] = ' ';

    /* Room for the message and its NUL; the NUL's byte later holds '\n'. */
    avail = sizeof line - pos;
    n = 0;
    if (fmt != NULL) {
        va_start(ap, fmt);
        n = vsnprintf(line + pos, avail, fmt, ap);
        va_end(ap);
    }
    if (n < 0)
        n = snprintf(line + pos, avail, "(log format error)");
    if ((size_t)n >= avail) {
        /* Cut at a UTF-8 character boundary and mark the cut. */
        size_t cut = avail - 1 - 3;
        while (cut > 0 && ((unsigned char)line[pos + cut] & 0xC0) == 0x80)
            cut--;
        memcpy(line + pos + cut, "...", 3);
        n = (int)cut + 3;
    }
    clean(line + pos, (size_t)n);
    pos += (size_t)n;
    line[pos++] = '\n';

    write_all(STDERR_FILENO, line, pos);
    errno = saved_errno;
}
