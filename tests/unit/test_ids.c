/* Identifier shapes of API.md §2. */
#include "idalloc/ids.h"
#include "testlib.h"

TEST(short_ids)
{
	int first_letters = 0, seen_digit = 0, valid = 0;
	for (int i = 0; i < 2000; i++) {
		char id[IDALLOC_SHORT_ID_LEN + 1];
		idalloc_short_id(id);
		valid += idalloc_is_short_id(id);
		first_letters += id[0] >= 'a' && id[0] <= 'z' && id[4] >= 'a' && id[4] <= 'z';
		for (int j = 1; j < 4; j++)
			seen_digit |= id[j] >= '0' && id[j] <= '9';
	}
	CHECK_INT_EQ(valid, 2000);
	CHECK_INT_EQ(first_letters, 2000);
	CHECK(seen_digit);
	CHECK(idalloc_is_short_id("rjwrn"));
	CHECK(idalloc_is_short_id("a00ab"));
	CHECK(!idalloc_is_short_id("1jwrn"));
	CHECK(!idalloc_is_short_id("rjwr1"));
	CHECK(!idalloc_is_short_id("RJWRN"));
	CHECK(!idalloc_is_short_id("rjwr"));
	CHECK(!idalloc_is_short_id("rjwrnn"));
	CHECK(!idalloc_is_short_id("rj-rn"));
}

TEST(uuids)
{
	char a[IDALLOC_UUID_LEN + 1], b[IDALLOC_UUID_LEN + 1];
	idalloc_uuid(a);
	idalloc_uuid(b);
	CHECK(idalloc_is_uuid(a));
	CHECK(strcmp(a, b) != 0);
	CHECK_INT_EQ(a[14], '4');
	CHECK(!idalloc_is_uuid("not-a-uuid"));
	CHECK(!idalloc_is_uuid("0000000000000000000000000000000000000"));
	CHECK(idalloc_is_uuid("00000000-0000-0000-0000-000000000000"));
}

int main(void)
{
	RUN(short_ids);
	RUN(uuids);
	return test_summary("unit/ids");
}
