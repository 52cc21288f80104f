/* An app's secrets (docs/apps.md): the webhook secret, generated here and
 * shown once, that GitHub signs deliveries with; the check of a delivery's
 * X-Hub-Signature-256; and the associated data each sealed value of an app
 * is bound to (crypto/seal.h), so a value copied to another app, key or
 * purpose does not open. Thread safe. */
#ifndef RUNOSD_APPS_SECRETS_H
#define RUNOSD_APPS_SECRETS_H

#include <stdbool.h>
#include <stddef.h>

/* "rnw_" + 43 base62 characters (256 bits): util/mask.h masks it. */
#define APP_WEBHOOK_SECRET_LEN (4 + 43)

/* A new webhook secret from the CSPRNG; out holds APP_WEBHOOK_SECRET_LEN + 1. */
void app_webhook_secret_new(char out[APP_WEBHOOK_SECRET_LEN + 1]);

/* The token a custom domain's TXT record _runos-challenge.<fqdn> holds to
 * prove it is the user's: "rnv_" + 32 base62 characters (not a secret). */
#define APP_DOMAIN_TOKEN_LEN (4 + 32)
void app_domain_token_new(char out[APP_DOMAIN_TOKEN_LEN + 1]);

/* header (X-Hub-Signature-256, NULL when missing) is "sha256=" and the
 * lower-case hex HMAC-SHA256 of the raw body under secret, compared in
 * constant time. */
bool app_webhook_signature_ok(const char *secret, const void *body, size_t len, const char *header)
	__attribute__((warn_unused_result));

/* "<aid>/apps/<cid>/<osid>/<what>": what is "access-token", "webhook-secret"
 * or app_env_aad's "env/<KEY>". */
void app_seal_aad(const char *aid, const char *cid, const char *osid, const char *what, char *out,
		  size_t cap);
/* The AAD of the secret env var key. */
void app_env_aad(const char *aid, const char *cid, const char *osid, const char *key, char *out,
		 size_t cap);

#endif
