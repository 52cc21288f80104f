/* Line-oriented logger (see include/util/log.h). The level and format are
 * written once at start-up before threads exist, then only read. */
#include "util/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "util/timeutil.h"

static enum log_level min_level = LOG_INFO;
static bool json_format = true;

static const char *const level_names[] = { "debug", "info", "warn", "error" };

bool log_parse_level(const char *name, enum log_level *out)
{
	for (int i = LOG_DEBUG; i <= LOG_ERROR; i++) {
		if (strcmp(name, level_names[i]) == 0) {
			*out = (enum log_level)i;
			return true;
		}
	}
	return false;
}

bool log_parse_format(const char *name, bool *json_out)
{
	if (strcmp(name, "json") == 0)
		*json_out = true;
	else if (strcmp(name, "text") == 0)
		*json_out = false;
	else
		return false;
	return true;
}

void log_configure(enum log_level level, bool json)
{
	min_level = level;
	json_format = json;
}

bool log_enabled(enum log_level level)
{
	return level >= min_level;
}

static void write_all(const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(STDERR_FILENO, buf, len);
		if (n <= 0)
			return;
		buf += n;
		len -= (size_t)n;
	}
}

size_t log_json_escape(char *out, size_t cap, const char *s)
{
	size_t n = 0;
	for (; *s && n + 7 < cap; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\') {
			out[n++] = '\\';
			out[n++] = (char)c;
		} else if (c < 0x20) {
			n += (size_t)snprintf(out + n, cap - n, "\\u%04x", c);
		} else {
			out[n++] = (char)c;
		}
	}
	out[n] = '\0';
	return n;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	if (level < min_level)
		return;

	char msg[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);

	char ts[40];
	time_format_rfc3339_ms(time_now_us(), ts, sizeof(ts));

	char line[4600];
	size_t n;
	if (json_format) {
		n = (size_t)snprintf(line, sizeof(line),
				     "{\"ts\":\"%s\",\"level\":\"%s\",\"msg\":\"", ts,
				     level_names[level]);
		n += log_json_escape(line + n, sizeof(line) - n - 4, msg);
		n += (size_t)snprintf(line + n, sizeof(line) - n, "\"}\n");
	} else {
		n = (size_t)snprintf(line, sizeof(line), "%s %-5s %s\n", ts, level_names[level],
				     msg);
		if (n >= sizeof(line))
			n = sizeof(line) - 1;
	}
	write_all(line, n);
}

bool log_is_json(void)
{
	return json_format;
}

void log_json_line(const char *json_object)
{
	size_t len = strlen(json_object);
	char line[8192];
	if (len + 1 < sizeof(line)) {
		memcpy(line, json_object, len);
		line[len] = '\n';
		write_all(line, len + 1);
	} else {
		write_all(json_object, len);
		write_all("\n", 1);
	}
}
