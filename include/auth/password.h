/* Password hashing with argon2id (PHC strings). Deliberately slow: called only
 * by signup, login and password change, never per request. Thread safe. */
#ifndef RUNOSD_AUTH_PASSWORD_H
#define RUNOSD_AUTH_PASSWORD_H

#include <stdbool.h>
#include <stddef.h>

#include "db/credential_types.h" /* PASSWORD_HASH_MAX */

/* Writes the PHC string "$argon2id$v=19$m=...,t=...,p=...$salt$hash". */
bool auth_password_hash(const char *password, char out[PASSWORD_HASH_MAX])
	__attribute__((warn_unused_result));

bool auth_password_verify(const char *password, const char *phc);

/* Spends the same time as a verification; used when the user does not exist
 * so login answers take the same time either way. */
void auth_password_burn(const char *password);

#endif
