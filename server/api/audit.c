/* GET /:aid/audit-events (admin): the account's audit trail, newest first.
 * Entries hold who, what, on what, the trace id and the client address;
 * never a secret (stores write ids, not values). */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "api/common.h"
#include "api/handlers.h"
#include "db/audit_store.h"
#include "runosd.h"

/* Cursor ids of this list are entry ids: digits. */
static bool is_entry_id(const char *s)
{
	if (!s || !*s || strlen(s) > 19)
		return false;
	for (; *s; s++)
		if (!isdigit((unsigned char)*s))
			return false;
	return true;
}

void api_audit_list(struct request *req)
{
	int limit;
	struct api_cursor cursor;
	if (!api_list_params(req, is_entry_id, &limit, &cursor))
		return;
	struct audit_entry *entries;
	size_t n;
	enum db_result r = db_audit_list(req->server->db, request_param(req, "aid"),
					 cursor.after_us, cursor.after_id, limit + 1, &entries, &n);
	if (r != DB_OK) {
		request_db_error(req, r, "audit_event", NULL);
		return;
	}
	bool more = api_page_trim(&n, limit);
	json_t *list = json_array();
	for (size_t i = 0; i < n; i++) {
		const struct audit_entry *e = &entries[i];
		json_array_append_new(
			list, json_pack("{s:s, s:o, s:{s:s, s:s}, s:s, s:{s:s, s:s}, s:s, s:s}",
					"id", e->id, "at", http_json_time(e->at_us), "actor",
					"type", e->actor_type, "id", e->actor_id, "action",
					e->action, "target", "type", e->target_type, "id",
					e->target_id, "traceId", e->trace_id, "ip", e->ip));
	}
	char next[API_CURSOR_MAX];
	if (more)
		api_next_cursor(entries[n - 1].at_us, entries[n - 1].id, next);
	free(entries);
	api_reply_page(req, json_pack("{s:o}", "entries", list), "cursor", more ? next : NULL);
}
