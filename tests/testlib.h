/* A minimal test framework shared by every test program: checks count
 * passes and failures, and the program ends with the line
 * "<suite>: N passed, N failed" that scripts/dev.sh test adds up.
 * Usage:
 *   TEST(name) { CHECK(x == 1); CHECK_STR_EQ(s, "a"); }
 *   int main(void) { RUN(name); return test_summary("suite"); } */
#ifndef RUNOSD_TESTLIB_H
#define RUNOSD_TESTLIB_H

#include <stdio.h>
#include <string.h>

static int test_passed, test_failed;
static const char *test_current = "";

#define TEST(name) static void test_##name(void)
#define RUN(name)                                    \
	do {                                         \
		test_current = #name;                \
		test_##name();                       \
	} while (0)

#define CHECK_MSG(cond, ...)                                                          \
	do {                                                                          \
		if (cond) {                                                           \
			test_passed++;                                                \
		} else {                                                              \
			test_failed++;                                                \
			fprintf(stderr, "FAIL %s (%s:%d): %s: ", test_current, __FILE__, \
				__LINE__, #cond);                                     \
			fprintf(stderr, __VA_ARGS__);                                 \
			fputc('\n', stderr);                                          \
		}                                                                     \
	} while (0)

#define CHECK(cond) CHECK_MSG(cond, "%s", "")
#define CHECK_INT_EQ(a, b)                                                            \
	CHECK_MSG((long long)(a) == (long long)(b), "got %lld, want %lld", (long long)(a), \
		  (long long)(b))
static inline int test_str_eq(const char *a, const char *b)
{
	return a != NULL && strcmp(a, b) == 0;
}
static inline const char *test_str_shown(const char *s)
{
	return s ? s : "(null)";
}
#define CHECK_STR_EQ(a, b)                                                        \
	CHECK_MSG(test_str_eq((a), (b)), "got \"%s\", want \"%s\"", test_str_shown(a), (b))

static inline int test_summary(const char *suite)
{
	printf("%s: %d passed, %d failed\n", suite, test_passed, test_failed);
	fflush(stdout);
	return test_failed == 0 ? 0 : 1;
}

#endif
