/* TOTP against RFC 6238's own test vectors (appendix B, SHA-1, 8 digits),
 * base32 round trips, and the ±1 step window. */
#include <string.h>

#include "auth/totp.h"
#include <stdio.h>

#include "testlib.h"

static const uint8_t rfc_secret[] = "12345678901234567890";

TEST(rfc6238_vectors)
{
	static const struct {
		uint64_t time;
		uint32_t code;
	} vectors[] = {
		{ 59, 94287082 },	  { 1111111109, 7081804 },  { 1111111111, 14050471 },
		{ 1234567890, 89005924 }, { 2000000000, 69279037 }, { 20000000000ULL, 65353130 },
	};
	for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++)
		CHECK_INT_EQ(totp_code(rfc_secret, 20, vectors[i].time / 30, 8), vectors[i].code);
	/* Six digits are the last six of those. */
	CHECK_INT_EQ(totp_code(rfc_secret, 20, 59 / 30, 6), 287082);
}

TEST(base32)
{
	char text[64];
	totp_base32((const uint8_t *)"foobar", 6, text, sizeof(text));
	CHECK_STR_EQ(text, "MZXW6YTBOI"); /* RFC 4648 §10, without padding */
	uint8_t back[16];
	CHECK_INT_EQ(totp_base32_decode(text, back, sizeof(back)), 6);
	CHECK(memcmp(back, "foobar", 6) == 0);
	CHECK_INT_EQ(totp_base32_decode("MZXW6YTBO1", back, sizeof(back)), -1);
	uint8_t secret[TOTP_SECRET_LEN];
	totp_new_secret(secret);
	totp_base32(secret, sizeof(secret), text, sizeof(text));
	CHECK_INT_EQ(strlen(text), TOTP_SECRET_B32_LEN);
}

TEST(window)
{
	int64_t now = 1111111111;
	char code[8];
	for (int delta = -2; delta <= 2; delta++) {
		uint64_t step = (uint64_t)(now / 30 + delta);
		snprintf(code, sizeof(code), "%06u", totp_code(rfc_secret, 20, step, 6));
		uint64_t got = totp_check(rfc_secret, 20, code, now);
		if (delta >= -1 && delta <= 1)
			CHECK_INT_EQ(got, step);
		else
			CHECK_INT_EQ(got, 0);
	}
	CHECK_INT_EQ(totp_check(rfc_secret, 20, "12345", now), 0);
	CHECK_INT_EQ(totp_check(rfc_secret, 20, "12345a", now), 0);
	CHECK_INT_EQ(totp_check(rfc_secret, 20, NULL, now), 0);
}

int main(void)
{
	RUN(rfc6238_vectors);
	RUN(base32);
	RUN(window);
	return test_summary("unit/totp");
}
