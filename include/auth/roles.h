/* Account roles, ordered: each includes the rights of the ones below it. */
#ifndef RUNOSD_AUTH_ROLES_H
#define RUNOSD_AUTH_ROLES_H

#include <stdbool.h>

enum role {
	ROLE_NONE = 0, /* not a member */
	ROLE_VIEWER,
	ROLE_MEMBER,
	ROLE_ADMIN,
	ROLE_OWNER,
};

/* "viewer", "member", "admin", "owner"; "none" for ROLE_NONE. */
const char *auth_role_name(enum role role);

bool auth_role_parse(const char *name, enum role *out);

static inline enum role auth_role_min(enum role a, enum role b)
{
	return a < b ? a : b;
}

#endif
