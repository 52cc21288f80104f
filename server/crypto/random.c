/* Random bytes and strings from OpenSSL's CSPRNG, which is thread safe. */
#include "crypto/random.h"

#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"

void crypto_random_bytes(void *buf, size_t len)
{
	if (RAND_bytes(buf, (int)len) != 1) {
		log_error("CSPRNG failure: RAND_bytes failed");
		abort();
	}
}

void crypto_random_string(char *out, size_t len, const char *alphabet)
{
	size_t size = strlen(alphabet);
	/* Reject bytes above the largest multiple of size so every character is
	 * equally likely. */
	unsigned limit = 256 - (256 % (unsigned)size);
	unsigned char pool[64];
	size_t used = sizeof(pool);

	for (size_t i = 0; i < len;) {
		if (used == sizeof(pool)) {
			crypto_random_bytes(pool, sizeof(pool));
			used = 0;
		}
		unsigned char b = pool[used++];
		if (b < limit)
			out[i++] = alphabet[b % size];
	}
	out[len] = '\0';
	OPENSSL_cleanse(pool, sizeof(pool));
}
