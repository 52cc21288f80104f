/* Secret sealing: round trips, tampering, record binding, key rotation and
 * the master key file. */
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto/seal.h"
#include "testlib.h"

static uint8_t key_a[SEAL_KEY_LEN] = { 1, 2, 3 };
static uint8_t key_b[SEAL_KEY_LEN] = { 9, 8, 7 };

static bool opens(const struct seal_keyring *ring, const char *sealed, const char *aad,
		  const char *expect)
{
	size_t len = 0;
	uint8_t *plain = crypto_unseal(ring, sealed, aad, &len);
	bool ok = plain && len == strlen(expect) && memcmp(plain, expect, len) == 0;
	crypto_free_secret(plain, len);
	return ok;
}

TEST(round_trip)
{
	struct seal_keyring *ring = crypto_keyring_create(&key_a, 1);
	const char *secret = "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEE...\n";
	char *sealed = crypto_seal(ring, secret, strlen(secret), "abcde/ca/agent");
	CHECK(strncmp(sealed, "v1.", 3) == 0);
	CHECK(strstr(sealed, "PRIVATE") == NULL);
	CHECK(opens(ring, sealed, "abcde/ca/agent", secret));
	char *again = crypto_seal(ring, secret, strlen(secret), "abcde/ca/agent");
	CHECK_MSG(strcmp(sealed, again) != 0, "two seals of one value must differ");
	char *empty = crypto_seal(ring, "", 0, "x");
	CHECK(opens(ring, empty, "x", ""));
	free(sealed);
	free(again);
	free(empty);
	crypto_keyring_destroy(ring);
}

TEST(refuses_what_is_not_its_own)
{
	struct seal_keyring *ring = crypto_keyring_create(&key_a, 1);
	struct seal_keyring *other = crypto_keyring_create(&key_b, 1);
	char *sealed = crypto_seal(ring, "hunter2-password", 16, "abcde/services/d6ekr");
	CHECK(!opens(ring, sealed, "abcde/services/zzzzz", "hunter2-password"));
	CHECK(!opens(other, sealed, "abcde/services/d6ekr", "hunter2-password"));
	/* Every character changed, to each of two others: never opens (the
	 * last character of a part has unused bits, hence two changes). */
	size_t n = strlen(sealed);
	int refused = 0;
	for (size_t i = 0; i < n; i++) {
		char saved = sealed[i];
		for (int k = 0; k < 2; k++) {
			sealed[i] =
				k == 0 ? (saved == 'A' ? 'B' : 'A') : (saved == 'w' ? 'x' : 'w');
			refused += !opens(ring, sealed, "abcde/services/d6ekr", "hunter2-password");
		}
		sealed[i] = saved;
	}
	CHECK_INT_EQ(refused, 2 * (long long)n);
	CHECK(!opens(ring, "", "x", ""));
	CHECK(!opens(ring, "v1.x.y", "x", ""));
	CHECK(!opens(ring, "v2.0000000000000000.a.b.c.d", "x", ""));
	free(sealed);
	crypto_keyring_destroy(ring);
	crypto_keyring_destroy(other);
}

TEST(rotation)
{
	/* Sealed under A; a ring of (B, A) still opens it and seals under B. */
	struct seal_keyring *old_ring = crypto_keyring_create(&key_a, 1);
	char *sealed = crypto_seal(old_ring, "cluster-admin-key", 17, "abcde/clusters/i4y");
	uint8_t keys[2][SEAL_KEY_LEN];
	memcpy(keys[0], key_b, SEAL_KEY_LEN);
	memcpy(keys[1], key_a, SEAL_KEY_LEN);
	struct seal_keyring *ring = crypto_keyring_create((const uint8_t(*)[SEAL_KEY_LEN])keys, 2);
	CHECK(opens(ring, sealed, "abcde/clusters/i4y", "cluster-admin-key"));
	char *resealed = crypto_seal(ring, "cluster-admin-key", 17, "abcde/clusters/i4y");
	CHECK(!opens(old_ring, resealed, "abcde/clusters/i4y", "cluster-admin-key"));
	CHECK(opens(ring, resealed, "abcde/clusters/i4y", "cluster-admin-key"));
	free(sealed);
	free(resealed);
	crypto_keyring_destroy(ring);
	crypto_keyring_destroy(old_ring);
}

TEST(master_key)
{
	uint8_t key[SEAL_KEY_LEN], again[SEAL_KEY_LEN];
	char err[256] = "", origin[256] = "";
	CHECK(crypto_master_key_load("AQIDAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", "/nonexistent",
				     key, origin, sizeof(origin), err, sizeof(err)));
	CHECK_STR_EQ(origin, "RUNOS_MASTER_KEY");
	CHECK(key[0] == 1 && key[1] == 2 && key[2] == 3 && key[31] == 0);
	CHECK(!crypto_master_key_load("c2hvcnQ=", "/nonexistent", key, origin, sizeof(origin), err,
				      sizeof(err)));
	CHECK(strstr(err, "RUNOS_MASTER_KEY") != NULL);

	char dir[] = "/tmp/runosd-seal-XXXXXX";
	CHECK(mkdtemp(dir) != NULL);
	char state[64];
	snprintf(state, sizeof(state), "%s/state", dir);
	CHECK_MSG(
		crypto_master_key_load(NULL, state, key, origin, sizeof(origin), err, sizeof(err)),
		"%s", err);
	char path[96];
	snprintf(path, sizeof(path), "%s/master.key", state);
	/* Where the key came from names the file, and that it is new. */
	CHECK(strstr(origin, path) != NULL && strstr(origin, "created now") != NULL);
	struct stat st;
	CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
	CHECK(crypto_master_key_load(NULL, state, again, origin, sizeof(origin), err, sizeof(err)));
	CHECK(memcmp(key, again, SEAL_KEY_LEN) == 0);
	CHECK(strstr(origin, path) != NULL && strstr(origin, "created now") == NULL);
	unlink(path);
	rmdir(state);
	rmdir(dir);
}

int main(void)
{
	RUN(round_trip);
	RUN(refuses_what_is_not_its_own);
	RUN(rotation);
	RUN(master_key);
	return test_summary("unit/seal");
}
