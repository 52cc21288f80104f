/* TOTP (see include/auth/totp.h). */
#include "auth/totp.h"

#include <stdio.h>
#include <string.h>

#include "crypto/hash.h"
#include "crypto/random.h"

static const char b32[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

uint32_t totp_code(const uint8_t *secret, size_t len, uint64_t step, int digits)
{
	uint8_t msg[8];
	for (int i = 7; i >= 0; i--, step >>= 8)
		msg[i] = (uint8_t)(step & 0xff);
	uint8_t mac[CRYPTO_SHA1_LEN];
	crypto_hmac_sha1(secret, len, msg, sizeof(msg), mac);
	int offset = mac[CRYPTO_SHA1_LEN - 1] & 0x0f;
	uint32_t binary = ((uint32_t)(mac[offset] & 0x7f) << 24) |
			  ((uint32_t)mac[offset + 1] << 16) | ((uint32_t)mac[offset + 2] << 8) |
			  mac[offset + 3];
	uint32_t mod = 1;
	for (int i = 0; i < digits; i++)
		mod *= 10;
	return binary % mod;
}

void totp_new_secret(uint8_t secret[TOTP_SECRET_LEN])
{
	crypto_random_bytes(secret, TOTP_SECRET_LEN);
}

void totp_base32(const uint8_t *data, size_t len, char *out, size_t cap)
{
	size_t o = 0;
	uint32_t buffer = 0;
	int bits = 0;
	for (size_t i = 0; i < len; i++) {
		buffer = (buffer << 8) | data[i];
		bits += 8;
		while (bits >= 5 && o + 1 < cap) {
			out[o++] = b32[(buffer >> (bits - 5)) & 31];
			bits -= 5;
		}
	}
	if (bits > 0 && o + 1 < cap)
		out[o++] = b32[(buffer << (5 - bits)) & 31];
	out[o] = '\0';
}

int totp_base32_decode(const char *text, uint8_t *out, size_t cap)
{
	uint32_t buffer = 0;
	int bits = 0;
	size_t o = 0;
	for (const char *p = text; *p; p++) {
		const char *at = strchr(b32, *p);
		if (!at || !*p)
			return -1;
		buffer = (buffer << 5) | (uint32_t)(at - b32);
		bits += 5;
		if (bits >= 8) {
			if (o == cap)
				return -1;
			out[o++] = (uint8_t)(buffer >> (bits - 8));
			bits -= 8;
		}
	}
	return (int)o;
}

uint64_t totp_check(const uint8_t *secret, size_t len, const char *code, int64_t unix_seconds)
{
	if (!code || strlen(code) != TOTP_DIGITS)
		return 0;
	for (const char *p = code; *p; p++)
		if (*p < '0' || *p > '9')
			return 0;
	uint64_t now = (uint64_t)unix_seconds / TOTP_STEP_SECONDS;
	for (uint64_t step = now + 1; step + 1 >= now && step > 0; step--) {
		char expected[16];
		snprintf(expected, sizeof(expected), "%06u",
			 totp_code(secret, len, step, TOTP_DIGITS));
		/* Constant time enough: a six digit code, compared whole. */
		if (crypto_equal(expected, code, TOTP_DIGITS))
			return step;
	}
	return 0;
}
