/* Process log: one line per event on standard error, JSON ("json") or
 * human-readable ("text"). Lines are written with a single write(2), so lines
 * from different threads never interleave. The level and format are the only
 * mutable globals of the process besides the stop flag; set them once at start.
 * Never pass a secret (password, token, key) to these functions. */
#ifndef RUNOSD_UTIL_LOG_H
#define RUNOSD_UTIL_LOG_H

#include <stdbool.h>
#include <stddef.h>

enum log_level {
	LOG_DEBUG,
	LOG_INFO,
	LOG_WARN,
	LOG_ERROR
};

bool log_parse_level(const char *name, enum log_level *out);
bool log_parse_format(const char *name, bool *json_out);
void log_configure(enum log_level level, bool json);
bool log_enabled(enum log_level level);
bool log_is_json(void);

/* Formats the message and writes one line with time and level. */
void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Writes s into out as the inside of a JSON string (quotes, backslashes and
 * control characters escaped), stopping before cap; returns the length. */
size_t log_json_escape(char *out, size_t cap, const char *s);

/* Writes an already formatted JSON object (the access log) as one line. */
void log_json_line(const char *json_object);

#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)

#endif
