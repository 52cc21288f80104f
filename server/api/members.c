/* Handlers of members and invitations (API.md §3). The owner rules live in
 * the store (members_store.c); here they become answers: 403
 * member.owner_only for an admin touching owners, 409 member.last_owner for
 * an account that would lose its last owner. A changed membership drops the
 * user's cached tokens on this instance (others re-read within a second). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/common.h"
#include "api/handlers.h"
#include "auth/auth.h"
#include "auth/token.h"
#include "db/members_store.h"
#include "runosd.h"
#include "util/timeutil.h"

#define INVITATION_TTL_US (7LL * 24 * 3600 * 1000000)

static json_t *member_to_json(const struct member *m)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:o}", "uid", m->uid, "email", m->email, "name",
			 m->name, "accountRole", auth_role_name(m->role), "joinedAt",
			 http_json_time(m->joined_us));
}

/* Replies for a refused change; false when there was none. */
static bool refused(struct request *req, enum member_refusal why, const char *uid)
{
	switch (why) {
	case MEMBER_OK:
		return false;
	case MEMBER_NOT_FOUND:
		request_error(req, 404, "member.not_found", NULL, "Member %s not found", uid);
		return true;
	case MEMBER_OWNER_ONLY:
		request_error(req, 403, "member.owner_only", NULL,
			      "Only an owner grants, changes or removes the owner role");
		return true;
	case MEMBER_LAST_OWNER:
		request_error(req, 409, "member.last_owner", NULL,
			      "The account would have no owner left: make another member owner "
			      "first");
		return true;
	case MEMBER_EXISTS:
		request_error(req, 409, "member.exists", NULL,
			      "You are already a member of this account");
		return true;
	case MEMBER_INVITATION:
		request_error(req, 404, "invitation.not_found", NULL,
			      "This invitation is unknown, used, expired, or for another email");
		return true;
	}
	return false;
}

/* The :uid of the path, which must be a UUID; else 404. */
static const char *path_uid(struct request *req)
{
	const char *uid = request_param(req, "uid");
	if (!idalloc_is_uuid(uid)) {
		request_error(req, 404, "member.not_found", NULL, "Member %s not found", uid);
		return NULL;
	}
	return uid;
}

void api_members_list(struct request *req)
{
	int limit;
	struct api_cursor cursor;
	if (!api_list_params(req, idalloc_is_uuid, &limit, &cursor))
		return;
	struct member *members;
	size_t n;
	enum db_result r =
		db_members_list(req->server->db, request_param(req, "aid"), cursor.after_us,
				cursor.after_id, limit + 1, &members, &n);
	if (r != DB_OK) {
		request_db_error(req, r, "member", NULL);
		return;
	}
	bool more = api_page_trim(&n, limit);
	json_t *list = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(list, member_to_json(&members[i]));
	char next[API_CURSOR_MAX];
	if (more)
		api_next_cursor(members[n - 1].joined_us, members[n - 1].uid, next);
	free(members);
	api_reply_page(req, json_pack("{s:o}", "members", list), "cursor", more ? next : NULL);
}

void api_members_update(struct request *req)
{
	const char *uid = path_uid(req);
	int if_version;
	if (!uid || !api_if_match(req, &if_version))
		return;
	enum role role;
	if (!auth_role_parse(request_body_string(req, "accountRole"), &role))
		return; /* the schema allows only the four roles */
	struct member m;
	enum member_refusal why;
	struct audit_actor actor = api_actor(req);
	enum db_result r =
		db_members_set_role(req->server->db, request_param(req, "aid"), uid, role,
				    req->principal.role_in_aid, if_version, &actor, &m, &why);
	if (r != DB_OK) {
		api_reply_write_error(req, r, "member", uid);
		return;
	}
	if (refused(req, why, uid))
		return;
	auth_forget_user(req->server->auth, uid);
	api_set_etag(req, m.version);
	request_reply(req, 200, member_to_json(&m));
}

void api_members_delete(struct request *req)
{
	const char *uid = path_uid(req);
	int if_version;
	if (!uid || !api_if_match(req, &if_version))
		return;
	char default_aid[IDALLOC_SHORT_ID_LEN + 1];
	int remaining;
	enum member_refusal why;
	struct audit_actor actor = api_actor(req);
	enum db_result r = db_members_remove(req->server->db, request_param(req, "aid"), uid,
					     req->principal.role_in_aid, if_version, &actor,
					     default_aid, &remaining, &why);
	if (r != DB_OK) {
		api_reply_write_error(req, r, "member", uid);
		return;
	}
	if (refused(req, why, uid))
		return;
	auth_forget_user(req->server->auth, uid);
	request_reply(req, 204, NULL);
}

void api_membership_leave(struct request *req)
{
	const char *aid = request_param(req, "aid");
	char default_aid[IDALLOC_SHORT_ID_LEN + 1];
	int remaining;
	enum member_refusal why;
	struct audit_actor actor = api_actor(req);
	/* Leaving is removing oneself with one's own role: an owner may. */
	enum db_result r = db_members_remove(req->server->db, aid, req->principal.uid, ROLE_OWNER,
					     0, &actor, default_aid, &remaining, &why);
	if (r != DB_OK) {
		request_db_error(req, r, "member", NULL);
		return;
	}
	if (refused(req, why, req->principal.uid))
		return;
	auth_forget_user(req->server->auth, req->principal.uid);
	request_reply(req, 200,
		      json_pack("{s:s, s:o, s:i}", "left", aid, "defaultAccount",
				default_aid[0] ? json_string(default_aid) : json_null(),
				"remainingAccounts", remaining));
}

void api_invitations_create(struct request *req)
{
	const char *aid = request_param(req, "aid");
	const char *email = request_body_string(req, "email");
	enum role role;
	if (!auth_role_parse(request_body_string(req, "accountRole"), &role))
		return;
	if (!strchr(email, '@') || strchr(email, ' ')) {
		request_error(req, 400, "validation.invalid", json_pack("{s:s}", "field", "email"),
			      "email must be an email address");
		return;
	}
	if (role == ROLE_OWNER && req->principal.role_in_aid != ROLE_OWNER) {
		refused(req, MEMBER_OWNER_ONLY, NULL);
		return;
	}
	char token[TOKEN_LEN + 1], id[IDALLOC_UUID_LEN + 1];
	uint8_t hash[CRYPTO_SHA256_LEN];
	auth_token_generate(TOKEN_INVITE, token);
	auth_token_hash(token, hash);
	idalloc_uuid(id);
	int64_t expires = time_now_us() + INVITATION_TTL_US;
	struct audit_actor actor = api_actor(req);
	enum db_result r =
		db_invitations_create(req->server->db, id, aid, email, role, hash, expires, &actor);
	if (r != DB_OK) {
		request_db_error(req, r, "invitation", NULL);
		return;
	}
	request_reply(req, 201,
		      json_pack("{s:s, s:s, s:o}", "id", id, "token", token, "expiresAt",
				http_json_time(expires)));
}

void api_invitations_accept(struct request *req)
{
	const char *token = request_body_string(req, "token");
	if (auth_token_parse(token) != TOKEN_INVITE) {
		refused(req, MEMBER_INVITATION, NULL);
		return;
	}
	uint8_t hash[CRYPTO_SHA256_LEN];
	auth_token_hash(token, hash);
	char aid[IDALLOC_SHORT_ID_LEN + 1];
	enum role role;
	enum member_refusal why;
	enum db_result r =
		db_invitations_accept(req->server->db, hash, req->principal.uid, aid, &role, &why);
	if (r != DB_OK) {
		request_db_error(req, r, "invitation", NULL);
		return;
	}
	if (refused(req, why, NULL))
		return;
	auth_forget_user(req->server->auth, req->principal.uid);
	request_reply(req, 200,
		      json_pack("{s:s, s:s}", "aid", aid, "accountRole", auth_role_name(role)));
}
