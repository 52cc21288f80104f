/* Secret sealing (ARCHITECTURE §5). A 256-bit master key wraps a fresh key per
 * sealed value; the value is encrypted with AES-256-GCM under that key, with
 * the record's identity (account and id) bound in as associated data, so a
 * sealed value copied onto another record does not open. The text form names
 * the master key by id, so keys can be rotated: a keyring opens values sealed
 * under any of its keys and seals under the first.
 *
 *   "v1.<key id>.<wrap nonce>.<wrapped key+tag>.<nonce>.<ciphertext+tag>"
 *   (each part base64url, the key id 16 hex digits)
 *
 * Keyrings are immutable after creation and thread safe. */
#ifndef RUNOSD_CRYPTO_SEAL_H
#define RUNOSD_CRYPTO_SEAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SEAL_KEY_LEN 32
#define SEAL_KEY_ID_LEN 16

struct seal_keyring;

/* A keyring over n master keys; the first one seals. The keys are copied. */
struct seal_keyring *crypto_keyring_create(const uint8_t (*keys)[SEAL_KEY_LEN], size_t n);
void crypto_keyring_destroy(struct seal_keyring *ring);

/* The master key: RUNOS_MASTER_KEY's value (base64 of 32 bytes) when given,
 * else the file <state_dir>/master.key, created (0600, random) when missing.
 * origin says which, for messages about the key ("RUNOS_MASTER_KEY", or the
 * file, and whether it was created now). false with a message in err
 * (naming the variable or the file). */
bool crypto_master_key_load(const char *env_value, const char *state_dir, uint8_t key[SEAL_KEY_LEN],
			    char *origin, size_t origincap, char *err, size_t errcap)
	__attribute__((warn_unused_result));

/* Seals len bytes; aad names the record ("<aid>/<table>/<id>"). The result is
 * NUL-terminated text to free(). */
char *crypto_seal(const struct seal_keyring *ring, const void *plain, size_t len, const char *aad);

/* Opens a sealed text for the same aad. NULL when it was altered, belongs to
 * another record, or was sealed under a key the ring does not hold. The
 * result (*len bytes, plus a NUL) is to be freed with crypto_free_secret. */
uint8_t *crypto_unseal(const struct seal_keyring *ring, const char *sealed, const char *aad,
		       size_t *len);

/* Zeroes and frees a secret. */
void crypto_free_secret(void *secret, size_t len);

#endif
