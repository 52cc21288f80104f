/* /healthz (the process runs) and /readyz (the database answers and every
 * migration is applied): for load balancers and orchestrators. */
#include "api/handlers.h"
#include "db/db.h"
#include "http/request.h"
#include "runosd.h"

void api_healthz(struct request *req)
{
	request_reply(req, 200, json_pack("{s:s}", "status", "ok"));
}

void api_readyz(struct request *req)
{
	enum db_result r = db_check_ready(req->server->db);
	if (r == DB_OK)
		request_reply(req, 200, json_pack("{s:s}", "status", "ready"));
	else if (r == DB_NOT_FOUND)
		request_error(req, 503, "db.migrations_pending", NULL,
			      "Database migrations are not all applied");
	else
		request_error(req, 503, "db.unavailable", NULL, "The database is unavailable");
}
