/* SHA-256 (and SHA-1 where a protocol names it), HMAC-SHA1, hex and base64,
 * and constant-time comparison. Thread safe. */
#ifndef RUNOSD_CRYPTO_HASH_H
#define RUNOSD_CRYPTO_HASH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CRYPTO_SHA256_LEN 32

void crypto_sha256(const void *data, size_t len, uint8_t out[CRYPTO_SHA256_LEN]);

#define CRYPTO_SHA1_LEN 20

/* SHA-1, only where another protocol names it (Redis script ids). */
void crypto_sha1(const void *data, size_t len, uint8_t out[CRYPTO_SHA1_LEN]);

/* HMAC-SHA1 of msg under key (TOTP, RFC 6238). */
void crypto_hmac_sha1(const void *key, size_t key_len, const void *msg, size_t msg_len,
		      uint8_t out[CRYPTO_SHA1_LEN]);

/* HMAC-SHA256 of msg under key (GitHub's X-Hub-Signature-256). */
void crypto_hmac_sha256(const void *key, size_t key_len, const void *msg, size_t msg_len,
			uint8_t out[CRYPTO_SHA256_LEN]);

/* Standard base64 (RFC 4648, padded) of len bytes, to free(). */
char *crypto_base64(const void *data, size_t len);

/* A WireGuard key as wg(8) writes and reads it: standard base64 of exactly
 * 32 bytes, 44 characters with one '=', in its one canonical form (the last
 * digit's two unused bits zero, which wg refuses otherwise). */
bool crypto_is_wg_key(const char *s);

/* Lower-case hex of a byte string; out must hold 2 * len + 1 bytes. */
void crypto_hex(const uint8_t *bytes, size_t len, char *out);

bool crypto_equal(const void *a, const void *b, size_t len);

#endif
