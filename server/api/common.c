/* Handler helpers (see include/api/common.h). Stateless. */
#include "api/common.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/clusters_store.h"
#include "http/validate.h"
#include "idalloc/clusters.h"
#include "runosd.h"
#include "util/timeutil.h"
#include "util/xmalloc.h"

void api_reply_write_error(struct request *req, enum db_result r, const char *what, const char *id)
{
	if (r != DB_CONFLICT) {
		request_db_error(req, r, what, id);
		return;
	}
	char noun[64];
	snprintf(noun, sizeof(noun), "%s", what);
	for (char *p = noun; *p; p++)
		if (*p == '_')
			*p = ' ';
	request_error(req, 412, "precondition.failed", NULL,
		      "The %s changed: If-Match does not match its ETag", noun);
}

/* Cursors are "<microseconds>.<id>" in base64url, so clients treat them as
 * opaque; a cursor only positions a list and grants nothing. */
static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static void encode_b64url(const char *in, char *out, size_t cap)
{
	size_t len = strlen(in), o = 0;
	for (size_t i = 0; i < len && o + 5 < cap; i += 3) {
		uint32_t v = (uint32_t)(unsigned char)in[i] << 16;
		if (i + 1 < len)
			v |= (uint32_t)(unsigned char)in[i + 1] << 8;
		if (i + 2 < len)
			v |= (unsigned char)in[i + 2];
		out[o++] = b64url[(v >> 18) & 63];
		out[o++] = b64url[(v >> 12) & 63];
		if (i + 1 < len)
			out[o++] = b64url[(v >> 6) & 63];
		if (i + 2 < len)
			out[o++] = b64url[v & 63];
	}
	out[o] = '\0';
}

static bool decode_b64url(const char *in, char *out, size_t cap)
{
	size_t o = 0;
	uint32_t acc = 0;
	int bits = 0;
	for (; *in; in++) {
		const char *p = strchr(b64url, *in);
		if (!p)
			return false;
		acc = (acc << 6) | (uint32_t)(p - b64url);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (o + 1 >= cap)
				return false;
			out[o++] = (char)((acc >> bits) & 0xff);
		}
	}
	out[o] = '\0';
	return true;
}

bool api_page_trim(size_t *n, int limit)
{
	bool more = *n > (size_t)limit;
	if (more)
		*n = (size_t)limit;
	return more;
}

void api_next_cursor(int64_t last_us, const char *last_id, char out[API_CURSOR_MAX])
{
	char plain[96];
	snprintf(plain, sizeof(plain), "%lld.%s", (long long)last_us, last_id);
	encode_b64url(plain, out, API_CURSOR_MAX);
}

char *api_percent_encode(const char *in, const char *keep)
{
	char *out = xmalloc(3 * strlen(in) + 1), *o = out;
	for (const unsigned char *p = (const unsigned char *)in; *p; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || strchr("-._~", *p) || strchr(keep, *p))
			*o++ = (char)*p;
		else
			o += sprintf(o, "%%%02X", *p);
	}
	*o = '\0';
	return out;
}

/* Appends "<sep><name>=<value encoded>" to *url (reallocated). */
static void append_param(char **url, char sep, const char *name, const char *value)
{
	char *encoded = api_percent_encode(value, "");
	char *longer = xasprintf("%s%c%s=%s", *url, sep, name, encoded);
	free(encoded);
	free(*url);
	*url = longer;
}

/* The URL of the next page. Every query parameter the request sent is one
 * of its route's (others are refused before the handler runs), so the
 * route's table says which to copy. */
static char *next_page_url(const struct request *req, const char *cursor_param, const char *next)
{
	char *path = api_percent_encode(req->path, "/");
	char *url = xasprintf("%s%s", req->server->cfg.public_url, path);
	free(path);
	char sep = '?';
	for (const struct field_spec *f = req->route->query; f && f->name; f++) {
		const char *value = request_query(req, f->name);
		if (!value || strcmp(f->name, cursor_param) == 0)
			continue;
		append_param(&url, sep, f->name, value);
		sep = '&';
	}
	append_param(&url, sep, cursor_param, next);
	return url;
}

void api_reply_page(struct request *req, json_t *body, const char *cursor_param, const char *next)
{
	if (next) {
		json_object_set_new(body, "nextCursor", json_string(next));
		char *url = next_page_url(req, cursor_param, next);
		char *link = xasprintf("<%s>; rel=\"next\"", url);
		request_set_header(req, "Link", link);
		free(link);
		free(url);
	}
	request_reply(req, 200, body);
}

static bool parse_cursor(const char *text, bool (*valid_id)(const char *), struct api_cursor *out)
{
	char plain[96];
	if (strlen(text) > 150 || !decode_b64url(text, plain, sizeof(plain)))
		return false;
	char *dot = strchr(plain, '.');
	if (!dot || dot == plain)
		return false;
	*dot = '\0';
	char *end;
	errno = 0;
	long long us = strtoll(plain, &end, 10);
	if (errno || *end != '\0' || us < 0)
		return false;
	const char *id = dot + 1;
	if (strlen(id) >= sizeof(out->after_id) || !valid_id(id))
		return false;
	out->after_us = us;
	snprintf(out->after_id, sizeof(out->after_id), "%s", id);
	return true;
}

bool api_list_params(struct request *req, bool (*valid_id)(const char *), int *limit,
		     struct api_cursor *cursor)
{
	memset(cursor, 0, sizeof(*cursor));
	*limit = request_query_int(req, "limit", API_LIST_DEFAULT_LIMIT);
	const char *text = request_query(req, "cursor");
	if (text && *text && !parse_cursor(text, valid_id, cursor)) {
		request_error(req, 400, "validation.invalid", json_pack("{s:s}", "field", "cursor"),
			      "cursor is not one this server gave out");
		return false;
	}
	return true;
}

void api_set_etag(struct request *req, int version)
{
	char etag[32];
	snprintf(etag, sizeof(etag), "\"v%d\"", version);
	request_set_header(req, "ETag", etag);
}

bool api_if_match(struct request *req, int *version)
{
	*version = 0;
	const char *text = request_header(req, "If-Match");
	if (!text)
		return true;
	while (*text == ' ')
		text++;
	if (strcmp(text, "*") == 0)
		return true;
	/* Our ETags are strong: a weak one never matches (RFC 9110 §13.1.1),
	 * which -1 expresses, as no version is negative. */
	bool weak = strncmp(text, "W/", 2) == 0;
	if (weak)
		text += 2;
	char *end;
	long v = -1;
	if (text[0] == '"' && text[1] == 'v') {
		errno = 0;
		v = strtol(text + 2, &end, 10);
		if (errno || end == text + 2 || strcmp(end, "\"") != 0 || v < 1)
			v = -1;
		else
			*version = weak ? -1 : (int)v;
	}
	if (v < 1) {
		/* A quoted tag of another form is well-formed but can never match. */
		size_t n = strlen(text);
		if (n >= 2 && text[0] == '"' && text[n - 1] == '"') {
			*version = -1;
			return true;
		}
		request_error(req, 400, "validation.if_match", NULL,
			      "If-Match must be \"*\" or an ETag such as \"v3\"");
		return false;
	}
	return true;
}

bool api_check_password(struct request *req, const char *field, const char *password)
{
	if (http_utf8_length(password) < API_MIN_PASSWORD_LEN) {
		request_error(
			req, 400, "validation.weak_password", json_pack("{s:s}", "field", field),
			"The password must have at least %d characters", API_MIN_PASSWORD_LEN);
		return false;
	}
	return true;
}

json_t *api_user_to_json(const struct user *u)
{
	return json_pack("{s:s, s:s, s:s, s:b, s:o}", "uid", u->uid, "email", u->email, "name",
			 u->name, "mfaEnabled", u->mfa_enabled, "createdAt",
			 http_json_time(u->created_us));
}

json_t *api_account_to_json(const struct account *a)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:o}", "aid", a->aid, "name", a->name,
			 "companyName", a->company_name, "website", a->website, "baseDomain",
			 a->base_domain, "createdAt", http_json_time(a->created_us));
}

const char *api_path_cid(struct request *req)
{
	const char *cid = request_param(req, "cid");
	if (!idalloc_is_cid(cid)) {
		request_error(req, 404, "cluster.not_found", NULL, "Cluster %s not found", cid);
		return NULL;
	}
	return cid;
}

bool api_load_cluster(struct request *req, struct cluster *out)
{
	const char *cid = api_path_cid(req);
	if (!cid)
		return false;
	enum db_result r = db_clusters_get(req->server->db, request_param(req, "aid"), cid, out);
	if (r != DB_OK) {
		request_db_error(req, r, "cluster", cid);
		return false;
	}
	return true;
}

struct audit_actor api_actor(const struct request *req)
{
	const struct principal *p = &req->principal;
	return (struct audit_actor){ .type = p->kind == TOKEN_PAT ? "api_key" : "user",
				     .id = p->kind == TOKEN_PAT ? p->token_id : p->uid,
				     .trace_id = req->trace_id,
				     .ip = req->client_ip };
}

json_t *api_conditions_json(const char *text)
{
	json_t *list = json_loads(text, 0, NULL);
	if (!json_is_array(list)) {
		json_decref(list);
		return json_array();
	}
	size_t i;
	json_t *c;
	json_array_foreach (list, i, c) {
		json_int_t us = json_integer_value(json_object_get(c, "lastTransitionUs"));
		json_object_del(c, "lastTransitionUs");
		json_object_set_new(c, "lastTransitionAt", http_json_time((int64_t)us));
	}
	return list;
}

bool api_not_modified(const struct request *req, const char *etag)
{
	const char *h = request_header(req, "If-None-Match");
	if (!h)
		return false;
	size_t n = strlen(etag);
	for (const char *p = h; *p;) {
		while (*p == ' ' || *p == ',' || *p == '\t')
			p++;
		if (*p == '*')
			return true;
		if (strncmp(p, "W/", 2) == 0)
			p += 2;
		if (strncmp(p, etag, n) == 0 && (p[n] == '\0' || p[n] == ',' || p[n] == ' '))
			return true;
		while (*p && *p != ',')
			p++;
	}
	return false;
}
