/* Loading (or, at first start, creating) the agent CA. */
#ifndef RUNOSD_PKI_CA_BOOT_H
#define RUNOSD_PKI_CA_BOOT_H

#include <stddef.h>

#include "db/db.h"
#include "pki/ca.h"

struct seal_keyring;
struct server;

enum ca_boot_result {
	CA_BOOT_OK,
	CA_BOOT_DB,  /* the database cannot be read or written (yet): try again later */
	CA_BOOT_KEY, /* the master key does not open the stored CA, or it is damaged */
};

/* The installation's agent CA, its key opened with keys, in *out; otherwise a
 * message in err, naming where the key came from (key_origin, as
 * crypto_master_key_load says it) when it does not open the CA. */
enum ca_boot_result pki_ca_boot(struct db_pool *db, const struct seal_keyring *keys,
				const char *key_origin, struct pki_ca **out, char *err,
				size_t errcap);

/* The server's agent CA, loaded on first use when the start could not (a
 * database without its schema yet); NULL while it still cannot: answer 503. */
const struct pki_ca *pki_ca_of(struct server *srv);

#endif
