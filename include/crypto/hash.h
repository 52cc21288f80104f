/* SHA-256 and constant-time comparison. Thread safe. */
#ifndef RUNOSD_CRYPTO_HASH_H
#define RUNOSD_CRYPTO_HASH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CRYPTO_SHA256_LEN 32

void crypto_sha256(const void *data, size_t len, uint8_t out[CRYPTO_SHA256_LEN]);

/* Lower-case hex of a byte string; out must hold 2 * len + 1 bytes. */
void crypto_hex(const uint8_t *bytes, size_t len, char *out);

bool crypto_equal(const void *a, const void *b, size_t len);

#endif
