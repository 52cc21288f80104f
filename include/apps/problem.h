/* What the apps module's checks say about a refused input: the API error code
 * (docs/api-decisions.md), the member it is about and a sentence for people.
 * The handler turns it into a 400 with {error, code, field}. */
#ifndef RUNOSD_APPS_PROBLEM_H
#define RUNOSD_APPS_PROBLEM_H

#include <stdbool.h>

struct app_problem {
	const char *code; /* "validation.invalid", "validation.range", ... (static) */
	char field[128];  /* "repo.url", "servicePortMappings[1].domains[0]", "envVars.KEY" */
	char message[512];
};

/* Fills p (when not NULL) and returns false, so a check can end with
 * "return app_problem_set(...)". */
bool app_problem_set(struct app_problem *p, const char *code, const char *field, const char *fmt,
		     ...) __attribute__((format(printf, 4, 5)));

#endif
