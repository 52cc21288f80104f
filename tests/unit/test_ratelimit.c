/* Rate limits in memory (GCRA): burst, refusal with Retry-After, and limits
 * high enough that a millisecond clock could not represent them. */
#include "ratelimit/ratelimit.h"
#include "testlib.h"

TEST(burst_then_refused)
{
	struct ratelimiter *rl = ratelimit_create(NULL);
	struct ratelimit_result r;
	for (int i = 0; i < 5; i++) {
		ratelimit_take(rl, "token:a", 5, 60000, &r);
		CHECK(r.allowed);
		CHECK_INT_EQ(r.remaining, 4 - i);
	}
	ratelimit_take(rl, "token:a", 5, 60000, &r);
	CHECK(!r.allowed);
	CHECK_INT_EQ(r.remaining, 0);
	/* One request is back after period / limit = 12 s at most. */
	CHECK(r.retry_after_ms > 11000 && r.retry_after_ms <= 12000);
	/* Another key has its own budget. */
	ratelimit_take(rl, "token:b", 5, 60000, &r);
	CHECK(r.allowed);
	ratelimit_destroy(rl);
}

TEST(limits_above_one_per_millisecond)
{
	/* 120,000 a minute is one per 0.5 ms: the burst is the whole minute's. */
	struct ratelimiter *rl = ratelimit_create(NULL);
	struct ratelimit_result r;
	ratelimit_take(rl, "token:fast", 120000, 60000, &r);
	CHECK(r.allowed);
	CHECK(r.remaining >= 119990);
	int allowed = 0;
	for (int i = 0; i < 100000; i++) {
		ratelimit_take(rl, "token:fast", 120000, 60000, &r);
		allowed += r.allowed;
	}
	CHECK_INT_EQ(allowed, 100000);
	ratelimit_destroy(rl);
}

int main(void)
{
	RUN(burst_then_refused);
	RUN(limits_above_one_per_millisecond);
	return test_summary("unit/ratelimit");
}
