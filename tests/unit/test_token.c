/* Token format, checksum and hashing; password hashing round trip. */
#include "auth/password.h"
#include "auth/roles.h"
#include "auth/token.h"
#include "crypto/hash.h"
#include "testlib.h"

TEST(generate_and_parse)
{
	char a[TOKEN_LEN + 1], b[TOKEN_LEN + 1];
	auth_token_generate(TOKEN_SESSION, a);
	auth_token_generate(TOKEN_SESSION, b);
	CHECK_INT_EQ(strlen(a), TOKEN_LEN);
	CHECK(strncmp(a, "rns_", 4) == 0);
	CHECK(strcmp(a, b) != 0);
	CHECK_INT_EQ(auth_token_parse(a), TOKEN_SESSION);

	auth_token_generate(TOKEN_PAT, a);
	CHECK(strncmp(a, "rnp_", 4) == 0);
	CHECK_INT_EQ(auth_token_parse(a), TOKEN_PAT);
	auth_token_generate(TOKEN_JOIN, a);
	CHECK_INT_EQ(auth_token_parse(a), TOKEN_JOIN);
}

TEST(checksum_catches_typos)
{
	char t[TOKEN_LEN + 1];
	auth_token_generate(TOKEN_PAT, t);
	for (int i = 4; i < TOKEN_LEN; i++) {
		char saved = t[i];
		t[i] = saved == 'a' ? 'b' : 'a';
		CHECK_MSG(auth_token_parse(t) == TOKEN_INVALID, "typo at %d accepted", i);
		t[i] = saved;
	}
	t[0] = 'x';
	CHECK_INT_EQ(auth_token_parse(t), TOKEN_INVALID);
	CHECK_INT_EQ(auth_token_parse(""), TOKEN_INVALID);
	CHECK_INT_EQ(auth_token_parse("rnp_short"), TOKEN_INVALID);
	auth_token_generate(TOKEN_PAT, t);
	t[20] = '-';
	CHECK_INT_EQ(auth_token_parse(t), TOKEN_INVALID);
}

TEST(hash_is_sha256)
{
	uint8_t h[CRYPTO_SHA256_LEN];
	char hex[2 * CRYPTO_SHA256_LEN + 1];
	auth_token_hash("abc", h);
	crypto_hex(h, sizeof(h), hex);
	CHECK_STR_EQ(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(password_round_trip)
{
	char phc[PASSWORD_HASH_MAX];
	CHECK(auth_password_hash("correct horse battery", phc));
	CHECK(strncmp(phc, "$argon2id$", 10) == 0);
	CHECK(strstr(phc, "correct") == NULL);
	CHECK(auth_password_verify("correct horse battery", phc));
	CHECK(!auth_password_verify("correct horse batterz", phc));
	CHECK(!auth_password_verify("x", "not a hash"));
}

TEST(roles)
{
	enum role r;
	CHECK(auth_role_parse("admin", &r) && r == ROLE_ADMIN);
	CHECK(!auth_role_parse("none", &r));
	CHECK(!auth_role_parse("Admin", &r));
	CHECK_STR_EQ(auth_role_name(ROLE_OWNER), "owner");
	CHECK(auth_role_min(ROLE_VIEWER, ROLE_OWNER) == ROLE_VIEWER);
	CHECK(ROLE_VIEWER < ROLE_MEMBER && ROLE_MEMBER < ROLE_ADMIN && ROLE_ADMIN < ROLE_OWNER);
}

TEST(wireguard_keys)
{
	CHECK(crypto_is_wg_key("xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg="));
	CHECK(crypto_is_wg_key("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="));
	CHECK(!crypto_is_wg_key(
		"xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dh=")); /* not canonical */
	CHECK(!crypto_is_wg_key("xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8D=="));
	CHECK(!crypto_is_wg_key("xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg"));
	CHECK(!crypto_is_wg_key("xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=A"));
	CHECK(!crypto_is_wg_key("xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp-Dg="));
	CHECK(!crypto_is_wg_key(""));
}

int main(void)
{
	RUN(generate_and_parse);
	RUN(checksum_catches_typos);
	RUN(hash_is_sha256);
	RUN(password_round_trip);
	RUN(roles);
	RUN(wireguard_keys);
	return test_summary("unit/token");
}
