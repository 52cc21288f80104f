/* argon2id through libargon2, with the OWASP parameters (19 MiB, t=2, p=1).
 * Stateless and thread safe; each call allocates its own memory block. */
#include "auth/password.h"

#include <argon2.h>
#include <pthread.h>
#include <string.h>

#include "crypto/random.h"
#include "util/log.h"

#define T_COST 2
#define M_COST_KIB 19456
#define PARALLELISM 1
#define SALT_LEN 16
#define HASH_LEN 32

bool auth_password_hash(const char *password, char out[PASSWORD_HASH_MAX])
{
	unsigned char salt[SALT_LEN];
	crypto_random_bytes(salt, sizeof(salt));
	int rc = argon2id_hash_encoded(T_COST, M_COST_KIB, PARALLELISM, password, strlen(password),
				       salt, sizeof(salt), HASH_LEN, out, PASSWORD_HASH_MAX);
	if (rc != ARGON2_OK) {
		log_error("argon2id hashing failed: %s", argon2_error_message(rc));
		return false;
	}
	return true;
}

bool auth_password_verify(const char *password, const char *phc)
{
	return argon2id_verify(phc, password, strlen(password)) == ARGON2_OK;
}

static char dummy_hash[PASSWORD_HASH_MAX];
static bool dummy_ready;

static void make_dummy_hash(void)
{
	char secret[33];
	crypto_random_string(secret, 32, "abcdefghijklmnopqrstuvwxyz");
	dummy_ready = auth_password_hash(secret, dummy_hash);
}

void auth_password_burn(const char *password)
{
	/* A hash of a random password made once with the same parameters, so a
	 * verification against it costs exactly what a real one does. */
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, make_dummy_hash);
	if (dummy_ready)
		(void)auth_password_verify(password, dummy_hash);
}
