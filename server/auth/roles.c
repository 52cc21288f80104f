/* Role names. Stateless. */
#include "auth/roles.h"

#include <string.h>

static const char *const role_names[] = { "none", "viewer", "member", "admin", "owner" };

const char *auth_role_name(enum role role)
{
	return role_names[role];
}

bool auth_role_parse(const char *name, enum role *out)
{
	for (int r = ROLE_VIEWER; r <= ROLE_OWNER; r++) {
		if (strcmp(name, role_names[r]) == 0) {
			*out = (enum role)r;
			return true;
		}
	}
	return false;
}
