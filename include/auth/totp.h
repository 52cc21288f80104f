/* TOTP second factor (RFC 6238 over RFC 4226, HMAC-SHA1, 30 s steps, 6
 * digits): secrets, their base32 text and otpauth URL, and code checks that
 * accept the previous, current and next step. Whether a step was already
 * used is the caller's (users_store.c keeps the last one). Thread safe. */
#ifndef RUNOSD_AUTH_TOTP_H
#define RUNOSD_AUTH_TOTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TOTP_SECRET_LEN 20 /* bytes: 160 bits, as RFC 4226 recommends */
#define TOTP_SECRET_B32_LEN 32
#define TOTP_STEP_SECONDS 30
#define TOTP_DIGITS 6

/* The code of a step: HOTP(secret, step) with digits digits. */
uint32_t totp_code(const uint8_t *secret, size_t len, uint64_t step, int digits);

/* A fresh secret, and its RFC 4648 base32 text (no padding). */
void totp_new_secret(uint8_t secret[TOTP_SECRET_LEN]);
void totp_base32(const uint8_t *data, size_t len, char *out, size_t cap);
/* Decodes base32 (upper case, no padding); the number of bytes, or -1. */
int totp_base32_decode(const char *text, uint8_t *out, size_t cap);

/* Which step of now-1 .. now+1 code (6 digits as text) is, or 0 for none. */
uint64_t totp_check(const uint8_t *secret, size_t len, const char *code, int64_t unix_seconds);

#endif
