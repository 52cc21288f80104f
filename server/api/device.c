/* CLI device login (API.md §3): the CLI starts a login and shows the user a
 * link; the user, signed in to the console, approves it for one of their
 * accounts; the CLI polls and receives, once, an API key of that account
 * with the approver's role. A login lasts 10 minutes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/common.h"
#include "api/handlers.h"
#include "auth/auth.h"
#include "auth/token.h"
#include "db/devices_store.h"
#include "runosd.h"
#include "util/timeutil.h"
#include "util/xmalloc.h"

#define DEVICE_TTL_US (10LL * 60 * 1000000)
#define DEVICE_KEY_TTL_US (90LL * 24 * 3600 * 1000000)

static const char *const states[] = {
	[DEVICE_OK] = "ok",
	[DEVICE_INVALID] = "invalid",
	[DEVICE_PENDING] = "authorization_pending",
	[DEVICE_EXPIRED] = "expired",
	[DEVICE_USED] = "used",
};

/* deviceId and token of the body; false when they cannot be a device's. */
static bool device_of(struct request *req, const char **id, uint8_t hash[CRYPTO_SHA256_LEN])
{
	*id = request_body_string(req, "deviceId");
	const char *token = request_body_string(req, "token");
	if (!idalloc_is_uuid(*id) || auth_token_parse(token) != TOKEN_DEVICE)
		return false;
	auth_token_hash(token, hash);
	return true;
}

void api_device_initiate(struct request *req)
{
	char id[IDALLOC_UUID_LEN + 1], token[TOKEN_LEN + 1];
	uint8_t hash[CRYPTO_SHA256_LEN];
	idalloc_uuid(id);
	auth_token_generate(TOKEN_DEVICE, token);
	auth_token_hash(token, hash);
	int64_t expires = time_now_us() + DEVICE_TTL_US;
	enum db_result r = db_devices_create(req->server->db, id, hash, expires);
	if (r != DB_OK) {
		request_db_error(req, r, "device", NULL);
		return;
	}
	char *url = xasprintf("%s/device?deviceId=%s", req->server->cfg.public_url, id);
	request_reply(req, 200,
		      json_pack("{s:s, s:s, s:o, s:s}", "deviceId", id, "token", token, "expiresAt",
				http_json_time(expires), "verificationUrl", url));
	free(url);
}

void api_device_approve(struct request *req)
{
	const char *id;
	uint8_t hash[CRYPTO_SHA256_LEN];
	const char *aid = request_body_string(req, "aid");
	enum device_state state = DEVICE_INVALID;
	enum db_result r = DB_OK;
	if (device_of(req, &id, hash))
		r = db_devices_approve(req->server->db, id, hash, req->principal.uid, aid, &state);
	if (r == DB_NOT_FOUND) {
		request_error(req, 404, "account.not_found", NULL, "Account %s not found", aid);
		return;
	}
	if (r != DB_OK) {
		request_db_error(req, r, "device", NULL);
		return;
	}
	if (state == DEVICE_INVALID) {
		request_error(req, 404, "device.not_found", NULL, "No such device login");
		return;
	}
	if (state != DEVICE_OK) {
		request_error(req, 409, state == DEVICE_EXPIRED ? "device.expired" : "device.used",
			      NULL, "This device login is %s", states[state]);
		return;
	}
	request_reply(req, 204, NULL);
}

void api_device_poll(struct request *req)
{
	const char *id;
	uint8_t hash[CRYPTO_SHA256_LEN];
	if (!device_of(req, &id, hash)) {
		request_reply(req, 200,
			      json_pack("{s:b, s:s}", "success", false, "error", "invalid"));
		return;
	}
	struct api_key key = { 0 };
	char token[TOKEN_LEN + 1];
	uint8_t key_hash[CRYPTO_SHA256_LEN];
	auth_token_generate(TOKEN_PAT, token);
	auth_token_hash(token, key_hash);
	idalloc_uuid(key.id);
	snprintf(key.name, sizeof(key.name), "CLI device login");
	memcpy(key.prefix, token, TOKEN_DISPLAY_PREFIX_LEN);
	key.expires_us = time_now_us() + DEVICE_KEY_TTL_US;
	enum device_state state;
	enum db_result r = db_devices_redeem(req->server->db, id, hash, &key, key_hash, &state);
	if (r != DB_OK) {
		request_db_error(req, r, "device", NULL);
		return;
	}
	if (state != DEVICE_OK) {
		request_reply(req, 200,
			      json_pack("{s:b, s:s}", "success", false, "error", states[state]));
		return;
	}
	request_reply(req, 200,
		      json_pack("{s:b, s:s, s:s}", "success", true, "accessToken", token,
				"accountId", key.aid));
}
