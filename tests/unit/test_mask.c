/* Secret masking of log text. */
#include <stdlib.h>

#include "testlib.h"
#include "util/mask.h"

static void check_mask(const char *in, const char *want, const char *file, int line)
{
	char *got = mask_secrets(in);
	test_record(strcmp(got, want) == 0, file, line, "mask(\"%s\") = \"%s\", want \"%s\"", in,
		    got, want);
	free(got);
}
#define CHECK_MASK(in, want) check_mask((in), (want), __FILE__, __LINE__)

TEST(tokens)
{
	CHECK_MASK("join with rnj_4Zc1kQv9XbY2mN8pL0sT6wE3rU7iO5aS1dF9gH2jK4lZ6xC8vB0nM3qW5e done",
		   "join with rnj_*** done");
	CHECK_MASK("rnp_abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNO", "rnp_***");
	/* A generated service password, as a database error might echo it. */
	CHECK_MASK("auth failed for app:rnc_Q2w3E4r5T6y7U8i9O0pA1s2D3f4G5h6J",
		   "auth failed for app:rnc_***");
	/* Too short, or not a token prefix: kept. */
	CHECK_MASK("rnj_short and rnx_abcdefghijklmnopqrstuvwxyz",
		   "rnj_short and rnx_abcdefghijklmnopqrstuvwxyz");
}

TEST(private_keys)
{
	CHECK_MASK("key:\n-----BEGIN EC PRIVATE KEY-----\nMHcCAQEE\nabc\n-----END EC PRIVATE "
		   "KEY-----\nok",
		   "key:\n***\nok");
	CHECK_MASK("-----BEGIN PRIVATE KEY-----\nMIIE", "***");
	/* Certificates are public. */
	CHECK_MASK("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----",
		   "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----");
}

TEST(pairs)
{
	CHECK_MASK("db password=hunter2 host=x", "db password=*** host=x");
	CHECK_MASK("{\"password\": \"hunter2\", \"user\": \"a\"}",
		   "{\"password\": \"***\", \"user\": \"a\"}");
	CHECK_MASK("PASSWORD:s3cr3t;next", "PASSWORD:***;next");
	CHECK_MASK("url?api_key=abc123&x=1", "url?api_key=***&x=1");
	CHECK_MASK("--token=xyz", "--token=***");
	/* Part of a longer word: kept. */
	CHECK_MASK("mypassword=kept", "mypassword=kept");
	CHECK_MASK("password= ", "password= ");
	CHECK_MASK("nothing secret here", "nothing secret here");
	CHECK_MASK("", "");
}

int main(void)
{
	RUN(tokens);
	RUN(private_keys);
	RUN(pairs);
	return test_summary("unit/mask");
}
