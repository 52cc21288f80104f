/* Token generation and parsing (see include/auth/token.h). Stateless. */
#include "auth/token.h"

#include <string.h>

#include "crypto/random.h"

#define RANDOM_LEN 43
#define CHECKSUM_LEN 6

static const char base62[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

static const struct {
	enum token_kind kind;
	const char *prefix;
} prefixes[] = {
	{ TOKEN_SESSION, "rns_" }, { TOKEN_PAT, "rnp_" },    { TOKEN_JOIN, "rnj_" },
	{ TOKEN_INVITE, "rni_" },  { TOKEN_DEVICE, "rnd_" },
};

/* CRC-32 (IEEE, as zlib's): speed is irrelevant for 47 bytes. */
static uint32_t crc32_ieee(const char *data, size_t len)
{
	uint32_t crc = 0xffffffffu;
	for (size_t i = 0; i < len; i++) {
		crc ^= (unsigned char)data[i];
		for (int bit = 0; bit < 8; bit++)
			crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1u)));
	}
	return ~crc;
}

static void checksum(const char *body, size_t len, char out[CHECKSUM_LEN])
{
	uint32_t crc = crc32_ieee(body, len);
	for (int i = CHECKSUM_LEN - 1; i >= 0; i--) {
		out[i] = base62[crc % 62];
		crc /= 62;
	}
}

void auth_token_generate(enum token_kind kind, char out[TOKEN_LEN + 1])
{
	const char *prefix = "rnx_";
	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
		if (prefixes[i].kind == kind)
			prefix = prefixes[i].prefix;
	memcpy(out, prefix, TOKEN_PREFIX_LEN);
	crypto_random_string(out + TOKEN_PREFIX_LEN, RANDOM_LEN, base62);
	checksum(out, TOKEN_PREFIX_LEN + RANDOM_LEN, out + TOKEN_PREFIX_LEN + RANDOM_LEN);
	out[TOKEN_LEN] = '\0';
}

enum token_kind auth_token_parse(const char *token)
{
	if (strlen(token) != TOKEN_LEN)
		return TOKEN_INVALID;
	for (size_t i = TOKEN_PREFIX_LEN; i < TOKEN_LEN; i++)
		if (!strchr(base62, token[i]) || token[i] == '\0')
			return TOKEN_INVALID;
	char expect[CHECKSUM_LEN];
	checksum(token, TOKEN_PREFIX_LEN + RANDOM_LEN, expect);
	if (memcmp(expect, token + TOKEN_PREFIX_LEN + RANDOM_LEN, CHECKSUM_LEN) != 0)
		return TOKEN_INVALID;
	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
		if (memcmp(token, prefixes[i].prefix, TOKEN_PREFIX_LEN) == 0)
			return prefixes[i].kind;
	return TOKEN_INVALID;
}

void auth_token_hash(const char *token, uint8_t out[CRYPTO_SHA256_LEN])
{
	crypto_sha256(token, strlen(token), out);
}
