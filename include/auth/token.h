/* Bearer token format. A token is a type prefix, 43 base62 characters of
 * randomness (256 bits) and a 6-character base62 CRC-32 of the rest:
 * "rnp_" + 43 + 6 = 53 characters. The prefix lets secret scanners recognise
 * it; the checksum lets the server refuse a mistyped token without a database
 * round trip. Only the SHA-256 of a token is ever stored. Thread safe. */
#ifndef RUNOSD_AUTH_TOKEN_H
#define RUNOSD_AUTH_TOKEN_H

#include <stdbool.h>
#include <stdint.h>

#include "crypto/hash.h"
#include "db/credential_types.h" /* enum token_kind, TOKEN_DISPLAY_PREFIX_LEN */

#define TOKEN_LEN 53
#define TOKEN_PREFIX_LEN 4

/* Writes a new token of the kind into out (TOKEN_LEN + 1 bytes). */
void auth_token_generate(enum token_kind kind, char out[TOKEN_LEN + 1]);

/* The kind of a well-formed token with a valid checksum, else TOKEN_INVALID. */
enum token_kind auth_token_parse(const char *token);

void auth_token_hash(const char *token, uint8_t out[CRYPTO_SHA256_LEN]);

#endif
