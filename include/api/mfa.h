/* The TOTP second factor for handlers: checking a user's code at login. */
#ifndef RUNOSD_API_MFA_H
#define RUNOSD_API_MFA_H

#include <stdbool.h>

struct request;

/* Checks code against uid's enabled secret and uses its step (a code works
 * once). False with a 401 (auth.invalid_totp) or 503 reply otherwise. */
bool api_mfa_check_login(struct request *req, const char *uid, const char *code)
	__attribute__((warn_unused_result));

#endif
