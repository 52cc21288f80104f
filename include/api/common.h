/* Helpers shared by the handlers of server/api/: mapping store results to
 * replies, list cursors, ETags and If-Match, and the JSON form of resources
 * used by more than one handler. */
#ifndef RUNOSD_API_COMMON_H
#define RUNOSD_API_COMMON_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db/accounts_store.h"
#include "db/audit_store.h"
#include "db/db.h"
#include "db/users_store.h"
#include "http/request.h"

#define API_LIST_DEFAULT_LIMIT 50
#define API_LIST_MAX_LIMIT 200

/* The same for a write made under If-Match: DB_CONFLICT means the resource
 * changed since the ETag the client sent, so it is 412 precondition.failed. */
void api_reply_write_error(struct request *req, enum db_result r, const char *what, const char *id);

/* A list position: a time and an id, opaque to clients. */
struct api_cursor {
	int64_t after_us;
	char after_id[64];
};

/* Reads ?limit and ?cursor, whose id must pass valid_id (the list's id
 * shape); on a bad value replies 400 and returns false. */
bool api_list_params(struct request *req, bool (*valid_id)(const char *), int *limit,
		     struct api_cursor *cursor) __attribute__((warn_unused_result));

/* A page is fetched with limit + 1 rows: trims *n to limit and says whether
 * there are more (then the page ends with a nextCursor). */
bool api_page_trim(size_t *n, int limit);

#define API_CURSOR_MAX 160

/* The nextCursor value after the last item of a full page, into out. */
void api_next_cursor(int64_t last_us, const char *last_id, char out[API_CURSOR_MAX]);

/* Answers 200 with one page of a list (API.md §1: the list convention).
 * body (stolen) is the page without a cursor: {<items>: [...]} and whatever
 * else the list shows. next NULL: the last page, answered as it is.
 * Otherwise body gains nextCursor: next, and a Link header (RFC 8288)
 * rel="next" gives the next page's URL: RUNOS_PUBLIC_URL, this request's
 * path and every query parameter it sent, with cursor_param ("cursor", or
 * "after" for step logs) set to next, all percent-encoded. */
void api_reply_page(struct request *req, json_t *body, const char *cursor_param, const char *next);

/* in with every byte but RFC 3986's unreserved ones (A-Z a-z 0-9 - . _ ~)
 * and those of keep percent-encoded ("/" becomes %2F unless keep has it);
 * the caller frees the result. */
char *api_percent_encode(const char *in, const char *keep);

/* Sets the ETag header for a resource version. */
void api_set_etag(struct request *req, int version);

/* If-None-Match holds etag (RFC 9110 §13.1.2: weak comparison, a list, or
 * *): the caller has this version, so the answer is 304. */
bool api_not_modified(const struct request *req, const char *etag);

/* Reads If-Match: *version = 0 when absent or "*". On a malformed header
 * replies 400 and returns false. */
bool api_if_match(struct request *req, int *version) __attribute__((warn_unused_result));

#define API_MIN_PASSWORD_LEN 10

/* Refuses (400 validation.weak_password) a password shorter than
 * API_MIN_PASSWORD_LEN characters. */
bool api_check_password(struct request *req, const char *field, const char *password)
	__attribute__((warn_unused_result));

/* The :cid of the path; one that cannot be a cid replies 404
 * cluster.not_found and gives NULL. */
const char *api_path_cid(struct request *req) __attribute__((warn_unused_result));

/* Loads the cluster of the path (:aid, :cid): a malformed or unknown cid
 * replies 404 cluster.not_found and returns false. */
struct cluster;
bool api_load_cluster(struct request *req, struct cluster *out) __attribute__((warn_unused_result));

/* The caller, for the audit trail: its user, or its API key. */
struct audit_actor api_actor(const struct request *req);

/* Stored conditions (JSON array text of {type, status, reason, message,
 * lastTransitionUs}) as the API shows them, with lastTransitionAt in RFC
 * 3339; [] when the text is not an array. */
json_t *api_conditions_json(const char *text);

json_t *api_user_to_json(const struct user *u);
json_t *api_account_to_json(const struct account *a);

#endif
