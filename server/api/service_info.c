/* GET /service-info and GET /service-info/:type: the service catalog
 * (include/services/catalog.h). Public and database-free: the catalog is
 * compiled in, so its body and strong ETag are computed once and every
 * request only compares If-None-Match. The ETag changes only with the
 * binary's table, so one tag serves the list and each entry. */
#include <string.h>

#include "api/common.h"
#include "api/handlers.h"
#include "http/request.h"
#include "services/catalog.h"

/* Sets the ETag; true when the caller already has this version (304 sent). */
static bool answered_by_etag(struct request *req)
{
	const char *etag = catalog_etag();
	request_set_header(req, "ETag", etag);
	if (!api_not_modified(req, etag))
		return false;
	request_reply(req, 304, NULL);
	return true;
}

void api_service_info_list(struct request *req)
{
	if (answered_by_etag(req))
		return;
	request_reply_text(req, 200, "application/json", catalog_body());
}

void api_service_info_get(struct request *req)
{
	const char *type = request_param(req, "type");
	const struct service_type *t = catalog_find(type);
	if (!t) {
		request_error(req, 404, "service_type.not_found", json_pack("{s:s}", "type", type),
			      "There is no service type \"%s\"; GET /service-info lists them",
			      type);
		return;
	}
	if (answered_by_etag(req))
		return;
	request_reply(req, 200, catalog_entry_json(t));
}
