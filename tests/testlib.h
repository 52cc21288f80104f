/* A minimal test framework shared by every test program: checks count
 * passes and failures, and the program ends with the line
 * "<suite>: N passed, N failed" that scripts/dev.sh test adds up.
 * Usage:
 *   TEST(name) { CHECK(x == 1); CHECK_STR_EQ(s, "a"); }
 *   int main(void) { RUN(name); return test_summary("suite"); } */
#ifndef RUNOSD_TESTLIB_H
#define RUNOSD_TESTLIB_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static _Atomic int test_passed, test_failed; /* checks may run on helper threads */
static const char *test_current = "";

#define TEST(name) static void test_##name(void)
#define RUN(name)                                                                                  \
	do {                                                                                       \
		test_current = #name;                                                              \
		test_##name();                                                                     \
	} while (0)

static inline void test_record(int ok, const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static inline void test_record(int ok, const char *file, int line, const char *fmt, ...)
{
	if (ok) {
		test_passed++;
		return;
	}
	test_failed++;
	fprintf(stderr, "FAIL %s (%s:%d): ", test_current, file, line);
	va_list ap;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static inline int test_str_eq(const char *a, const char *b)
{
	return a != NULL && strcmp(a, b) == 0;
}

static inline const char *test_str_shown(const char *s)
{
	return s ? s : "(null)";
}

/* Each macro evaluates its arguments exactly once. */
#define CHECK_MSG(cond, fmt, ...)                                                                  \
	do {                                                                                       \
		int test_ok_ = !!(cond);                                                           \
		if (test_ok_)                                                                      \
			test_passed++;                                                             \
		else                                                                               \
			test_record(0, __FILE__, __LINE__, "%s: " fmt, #cond, ##__VA_ARGS__);      \
	} while (0)

#define CHECK(cond) CHECK_MSG(cond, "%s", "false")

#define CHECK_INT_EQ(a, b)                                                                         \
	do {                                                                                       \
		long long test_a_ = (long long)(a), test_b_ = (long long)(b);                      \
		test_record(test_a_ == test_b_, __FILE__, __LINE__, "%s: got %lld, want %lld", #a, \
			    test_a_, test_b_);                                                     \
	} while (0)

#define CHECK_STR_EQ(a, b)                                                                         \
	do {                                                                                       \
		const char *test_a_ = (a), *test_b_ = (b);                                         \
		test_record(test_str_eq(test_a_, test_b_), __FILE__, __LINE__,                     \
			    "%s: got \"%s\", want \"%s\"", #a, test_str_shown(test_a_), test_b_);  \
	} while (0)

static inline int test_summary(const char *suite)
{
	printf("%s: %d passed, %d failed\n", suite, test_passed, test_failed);
	fflush(stdout);
	return test_failed == 0 ? 0 : 1;
}

#endif
