/* log.h: one-line structured logging to stderr.
 * Every line carries the request id of the call the thread is working on
 * (set with log_set_request_id), so a request can be followed across threads.
 * Never pass secrets; pass phones and openids through mask.h first. */
#ifndef GW_LOG_H
#define GW_LOG_H

typedef enum { LOG_DEBUG = 0, LOG_INFO, LOG_WARN, LOG_ERROR } log_level_t;

void log_set_level(log_level_t level);
int log_parse_level(const char *name, log_level_t *out);
/* Thread-local request id; NULL clears it. The string must outlive its use. */
void log_set_request_id(const char *request_id);
const char *log_request_id(void);

void log_write(log_level_t level, const char *tag, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#define log_debug(tag, ...) log_write(LOG_DEBUG, tag, __VA_ARGS__)
#define log_info(tag, ...) log_write(LOG_INFO, tag, __VA_ARGS__)
#define log_warn(tag, ...) log_write(LOG_WARN, tag, __VA_ARGS__)
#define log_error(tag, ...) log_write(LOG_ERROR, tag, __VA_ARGS__)

#endif
