/* The agent CA at start: read from the database and opened with the master
 * key, or created, sealed and stored by the first server to start. */
#include "pki/ca_boot.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/seal.h"
#include "db/agent_ca_store.h"
#include "runosd.h"
#include "util/log.h"

/* The record identity sealed into the key: a copy elsewhere does not open. */
#define CA_KEY_AAD "system/agent_ca/1"

static enum db_result store_new_ca(struct db_pool *db, const struct seal_keyring *keys)
{
	struct pki_ca *ca = pki_ca_generate();
	if (!ca)
		return DB_ERROR;
	size_t len;
	char *key_pem = pki_ca_key_pem(ca, &len);
	char *sealed = key_pem ? crypto_seal(keys, key_pem, len, CA_KEY_AAD) : NULL;
	if (key_pem)
		crypto_free_secret(key_pem, len);
	enum db_result r = sealed ? db_agent_ca_insert(db, pki_ca_cert_pem(ca), sealed) : DB_ERROR;
	if (r == DB_OK)
		log_info("created the agent CA (%s)", pki_ca_pin(ca));
	free(sealed);
	pki_ca_destroy(ca);
	return r;
}

enum ca_boot_result pki_ca_boot(struct db_pool *db, const struct seal_keyring *keys,
				const char *key_origin, struct pki_ca **out, char *err,
				size_t errcap)
{
	*out = NULL;
	char *cert_pem, *sealed;
	enum db_result r = db_agent_ca_get(db, &cert_pem, &sealed);
	if (r == DB_NOT_FOUND) {
		r = store_new_ca(db, keys);
		if (r == DB_OK)
			r = db_agent_ca_get(db, &cert_pem, &sealed);
	}
	if (r != DB_OK) {
		snprintf(err, errcap, "cannot read or create the agent CA in the database");
		return CA_BOOT_DB;
	}
	size_t len = 0;
	uint8_t *key_pem = crypto_unseal(keys, sealed, CA_KEY_AAD, &len);
	*out = key_pem ? pki_ca_load(cert_pem, (const char *)key_pem) : NULL;
	if (!key_pem)
		snprintf(err, errcap,
			 "%s does not open the agent CA stored in the database (the database was"
			 " set up with another master key): set RUNOS_MASTER_KEY to that key%s",
			 key_origin,
			 strcmp(key_origin, "RUNOS_MASTER_KEY") == 0
				 ? ""
				 : ", or RUNOS_STATE_DIR to the directory whose master.key it was");
	else if (!*out)
		snprintf(err, errcap, "the agent CA stored in the database is damaged");
	if (key_pem)
		crypto_free_secret(key_pem, len);
	free(cert_pem);
	free(sealed);
	return *out ? CA_BOOT_OK : CA_BOOT_KEY;
}

const struct pki_ca *pki_ca_of(struct server *srv)
{
	struct pki_ca *ca = __atomic_load_n(&srv->ca, __ATOMIC_ACQUIRE);
	if (ca)
		return ca;
	static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	pthread_mutex_lock(&lock);
	ca = srv->ca;
	if (!ca) {
		char err[256];
		if (pki_ca_boot(srv->db, srv->keys, "The master key", &ca, err, sizeof(err)) ==
		    CA_BOOT_OK)
			__atomic_store_n(&srv->ca, ca, __ATOMIC_RELEASE);
		else
			log_error("%s", err);
	}
	pthread_mutex_unlock(&lock);
	return ca;
}
