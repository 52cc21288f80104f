/* An app's webhook secret and sealing names (include/apps/secrets.h). The
 * secret is random text rather than bytes because GitHub takes the secret as
 * the user types it and keys the HMAC with its characters. */
#include "apps/secrets.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "crypto/hash.h"
#include "crypto/random.h"

static const char base62[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

void app_webhook_secret_new(char out[APP_WEBHOOK_SECRET_LEN + 1])
{
	memcpy(out, "rnw_", 4);
	crypto_random_string(out + 4, APP_WEBHOOK_SECRET_LEN - 4, base62);
	out[APP_WEBHOOK_SECRET_LEN] = '\0';
}

void app_domain_token_new(char out[APP_DOMAIN_TOKEN_LEN + 1])
{
	memcpy(out, "rnv_", 4);
	crypto_random_string(out + 4, APP_DOMAIN_TOKEN_LEN - 4, base62);
	out[APP_DOMAIN_TOKEN_LEN] = '\0';
}

bool app_webhook_signature_ok(const char *secret, const void *body, size_t len, const char *header)
{
	static const char prefix[] = "sha256=";
	size_t plen = sizeof(prefix) - 1;
	if (!header || strncmp(header, prefix, plen) != 0 ||
	    strlen(header + plen) != 2 * CRYPTO_SHA256_LEN)
		return false;
	uint8_t mac[CRYPTO_SHA256_LEN];
	crypto_hmac_sha256(secret, strlen(secret), body, len, mac);
	char hex[2 * CRYPTO_SHA256_LEN + 1];
	crypto_hex(mac, sizeof(mac), hex);
	bool ok = crypto_equal(hex, header + plen, 2 * CRYPTO_SHA256_LEN);
	explicit_bzero(mac, sizeof(mac));
	return ok;
}

void app_seal_aad(const char *aid, const char *cid, const char *osid, const char *what, char *out,
		  size_t cap)
{
	snprintf(out, cap, "%s/apps/%s/%s/%s", aid, cid, osid, what);
}

void app_env_aad(const char *aid, const char *cid, const char *osid, const char *key, char *out,
		 size_t cap)
{
	char what[300];
	snprintf(what, sizeof(what), "env/%s", key);
	app_seal_aad(aid, cid, osid, what, out, cap);
}
