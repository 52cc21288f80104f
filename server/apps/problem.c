/* app_problem_set (include/apps/problem.h). */
#include "apps/problem.h"

#include <stdarg.h>
#include <stdio.h>

bool app_problem_set(struct app_problem *p, const char *code, const char *field, const char *fmt,
		     ...)
{
	if (!p)
		return false;
	p->code = code;
	snprintf(p->field, sizeof(p->field), "%s", field ? field : "");
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(p->message, sizeof(p->message), fmt, ap);
	va_end(ap);
	return false;
}
