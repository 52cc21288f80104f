/* The handlers' shared helpers that need no request (server/api/common.c):
 * the percent-encoding of the Link rel=next URLs of list pages. */
#include <stdlib.h>
#include <string.h>

#include "api/common.h"
#include "testlib.h"

static void check_encode(const char *in, const char *keep, const char *want, const char *file,
			 int line)
{
	char *got = api_percent_encode(in, keep);
	test_record(strcmp(got, want) == 0, file, line,
		    "encode(\"%s\", \"%s\") = \"%s\", want \"%s\"", in, keep, got, want);
	free(got);
}
#define CHECK_ENCODE(in, keep, want) check_encode((in), (keep), (want), __FILE__, __LINE__)

TEST(percent_encode)
{
	/* RFC 3986's unreserved characters stay. */
	CHECK_ENCODE("AZaz09-._~", "", "AZaz09-._~");
	/* A query value: everything else is encoded, the delimiters included. */
	CHECK_ENCODE("a b&c=d+e/f?g#h%", "", "a%20b%26c%3Dd%2Be%2Ff%3Fg%23h%25");
	CHECK_ENCODE("<x>\"", "", "%3Cx%3E%22");
	/* UTF-8 bytes, each encoded, in upper-case hex. */
	CHECK_ENCODE("\xc3\xa9", "", "%C3%A9");
	/* A path keeps its slashes. */
	CHECK_ENCODE("/a1b2c/clusters", "/", "/a1b2c/clusters");
	CHECK_ENCODE("/jobs/a b/x", "/", "/jobs/a%20b/x");
	CHECK_ENCODE("", "", "");
}

int main(void)
{
	RUN(percent_encode);
	return test_summary("unit/api");
}
