/* The agent CA's row (table agent_ca): its certificate and its sealed private
 * key, as text. Thread safe. */
#ifndef RUNOSD_DB_AGENT_CA_STORE_H
#define RUNOSD_DB_AGENT_CA_STORE_H

#include "db/db.h"

/* The stored CA; *cert_pem and *key_sealed are to free(). DB_NOT_FOUND: none
 * yet. */
enum db_result db_agent_ca_get(struct db_pool *db, char **cert_pem, char **key_sealed)
	__attribute__((warn_unused_result));

/* Stores a CA unless one is there already (then DB_OK too: read it back). */
enum db_result db_agent_ca_insert(struct db_pool *db, const char *cert_pem, const char *key_sealed)
	__attribute__((warn_unused_result));

#endif
