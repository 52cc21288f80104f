/* RFC 3339 formatting and parsing. */
#include "testlib.h"
#include "util/timeutil.h"

TEST(format)
{
	char buf[40];
	time_format_rfc3339(0, buf, sizeof(buf));
	CHECK_STR_EQ(buf, "1970-01-01T00:00:00Z");
	time_format_rfc3339(1795636800LL * 1000000 + 999999, buf, sizeof(buf));
	CHECK_STR_EQ(buf, "2026-11-25T20:00:00Z");
	time_format_rfc3339_ms(1795636800LL * 1000000 + 123456, buf, sizeof(buf));
	CHECK_STR_EQ(buf, "2026-11-25T20:00:00.123Z");
}

TEST(parse)
{
	int64_t us;
	CHECK(time_parse_rfc3339("2026-11-25T20:00:00Z", &us));
	CHECK_INT_EQ(us, 1795636800LL * 1000000);
	CHECK(time_parse_rfc3339("2026-11-25T21:00:00.5+01:00", &us));
	CHECK_INT_EQ(us, 1795636800LL * 1000000 + 500000);
	CHECK(time_parse_rfc3339("2026-11-25t20:00:00z", &us));
	CHECK(!time_parse_rfc3339("2026-11-25", &us));
	CHECK(!time_parse_rfc3339("2026-02-30T00:00:00Z", &us));
	CHECK(!time_parse_rfc3339("2026-13-01T00:00:00Z", &us));
	CHECK(!time_parse_rfc3339("2026-11-25T20:00:00", &us));
	CHECK(!time_parse_rfc3339("2026-11-25T20:00:00Zjunk", &us));
	CHECK(!time_parse_rfc3339("2026-11-25T20:00:00.Z", &us));
}

int main(void)
{
	RUN(format);
	RUN(parse);
	return test_summary("unit/timeutil");
}
