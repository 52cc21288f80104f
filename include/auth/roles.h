/* Account roles (enum role, ordered: each includes the rights of the ones
 * below it; defined in db/credential_types.h, which stores share). */
#ifndef RUNOSD_AUTH_ROLES_H
#define RUNOSD_AUTH_ROLES_H

#include <stdbool.h>

#include "db/credential_types.h"

/* "viewer", "member", "admin", "owner"; "none" for ROLE_NONE. */
const char *auth_role_name(enum role role);

bool auth_role_parse(const char *name, enum role *out);

static inline enum role auth_role_min(enum role a, enum role b)
{
	return a < b ? a : b;
}

#endif
