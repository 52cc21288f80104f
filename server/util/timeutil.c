/* Time helpers (see include/util/timeutil.h). Stateless. */
#include "util/timeutil.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

int64_t time_now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t time_mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void time_sleep_ms(int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

int64_t time_mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void to_tm(int64_t unix_us, struct tm *tm)
{
	time_t secs = (time_t)(unix_us >= 0 ? unix_us / 1000000 : (unix_us - 999999) / 1000000);
	gmtime_r(&secs, tm);
}

void time_format_rfc3339(int64_t unix_us, char *out, size_t cap)
{
	struct tm tm;
	to_tm(unix_us, &tm);
	strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void time_format_rfc3339_ms(int64_t unix_us, char *out, size_t cap)
{
	struct tm tm;
	char base[32];
	to_tm(unix_us, &tm);
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	int ms = (int)((unix_us % 1000000 + 1000000) % 1000000 / 1000);
	snprintf(out, cap, "%s.%03dZ", base, ms);
}

static bool digits(const char *s, int n, int *out)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return true;
}

bool time_parse_rfc3339(const char *s, int64_t *unix_us_out)
{
	int year, mon, day, hour, min, sec;
	if (strlen(s) < 20 || !digits(s, 4, &year) || s[4] != '-' || !digits(s + 5, 2, &mon) ||
	    s[7] != '-' || !digits(s + 8, 2, &day) || (s[10] != 'T' && s[10] != 't') ||
	    !digits(s + 11, 2, &hour) || s[13] != ':' || !digits(s + 14, 2, &min) || s[16] != ':' ||
	    !digits(s + 17, 2, &sec))
		return false;
	if (mon < 1 || mon > 12 || day < 1 || day > 31 || hour > 23 || min > 59 || sec > 60)
		return false;

	const char *p = s + 19;
	int64_t frac_us = 0;
	if (*p == '.') {
		p++;
		int scale = 100000, count = 0;
		while (isdigit((unsigned char)*p)) {
			frac_us += (*p - '0') * scale;
			scale /= 10;
			p++;
			count++;
		}
		if (count == 0)
			return false;
	}

	int offset_s = 0;
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int oh, om;
		if (!digits(p + 1, 2, &oh) || p[3] != ':' || !digits(p + 4, 2, &om) || oh > 23 ||
		    om > 59)
			return false;
		offset_s = (oh * 3600 + om * 60) * (*p == '-' ? -1 : 1);
		p += 6;
	} else {
		return false;
	}
	if (*p != '\0')
		return false;

	struct tm tm = { .tm_year = year - 1900,
			 .tm_mon = mon - 1,
			 .tm_mday = day,
			 .tm_hour = hour,
			 .tm_min = min,
			 .tm_sec = sec };
	time_t t = timegm(&tm);
	/* timegm normalises 31 February into March: refuse dates that moved. */
	struct tm check;
	gmtime_r(&t, &check);
	if (check.tm_mday != day && sec != 60)
		return false;
	*unix_us_out = ((int64_t)t - offset_s) * 1000000 + frac_us;
	return true;
}
