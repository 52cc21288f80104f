/* SQL for the agent CA's row (see include/db/agent_ca_store.h). */
#include "db/agent_ca_store.h"

#include <stdlib.h>

#include "db_internal.h"
#include "util/xmalloc.h"

static const struct db_stmt stmt_get = { "agent_ca_get",
					 "SELECT cert_pem, key_sealed FROM agent_ca WHERE id = 1" };
/* The primary key decides between servers starting at the same time. */
static const struct db_stmt stmt_insert = {
	"agent_ca_insert",
	"INSERT INTO agent_ca (id, cert_pem, key_sealed) VALUES (1, $1, $2) ON CONFLICT DO NOTHING"
};

enum db_result db_agent_ca_get(struct db_pool *db, char **cert_pem, char **key_sealed)
{
	*cert_pem = *key_sealed = NULL;
	PGresult *res;
	enum db_result r = db_query(db, &stmt_get, 0, NULL, &res);
	if (r != DB_OK)
		return r;
	if (PQntuples(res) == 1) {
		*cert_pem = xstrdup(PQgetvalue(res, 0, 0));
		*key_sealed = xstrdup(PQgetvalue(res, 0, 1));
	} else {
		r = DB_NOT_FOUND;
	}
	PQclear(res);
	return r;
}

enum db_result db_agent_ca_insert(struct db_pool *db, const char *cert_pem, const char *key_sealed)
{
	const char *params[] = { cert_pem, key_sealed };
	return db_query(db, &stmt_insert, 2, params, NULL);
}
