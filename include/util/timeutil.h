/* Wall-clock and monotonic time, and RFC 3339 UTC formatting. Thread safe. */
#ifndef RUNOSD_UTIL_TIMEUTIL_H
#define RUNOSD_UTIL_TIMEUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Microseconds since the Unix epoch (CLOCK_REALTIME). */
int64_t time_now_us(void);

/* Milliseconds of CLOCK_MONOTONIC: for durations and cache ages only. */
int64_t time_mono_ms(void);

/* Microseconds of the same monotonic clock. */
int64_t time_mono_us(void);

/* Sleeps the calling thread ms milliseconds (a short bounded wait). */
void time_sleep_ms(int ms);

/* "2026-11-25T19:00:00Z" (seconds precision, as the API's times). */
void time_format_rfc3339(int64_t unix_us, char *out, size_t cap);

/* "2026-11-25T19:00:00.123Z" (for logs). */
void time_format_rfc3339_ms(int64_t unix_us, char *out, size_t cap);

/* Parses an RFC 3339 time ("2026-11-25T19:00:00Z", fractional seconds and a
 * numeric offset allowed) to microseconds since the epoch. */
bool time_parse_rfc3339(const char *s, int64_t *unix_us_out);

#endif
