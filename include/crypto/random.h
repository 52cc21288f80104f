/* Cryptographically secure random bytes and strings (OpenSSL's CSPRNG).
 * Thread safe. */
#ifndef RUNOSD_CRYPTO_RANDOM_H
#define RUNOSD_CRYPTO_RANDOM_H

#include <stddef.h>

/* Fills buf; aborts if the CSPRNG fails (nothing safe can continue then). */
void crypto_random_bytes(void *buf, size_t len);

/* Writes len characters drawn uniformly from alphabet, then a NUL. */
void crypto_random_string(char *out, size_t len, const char *alphabet);

#endif
