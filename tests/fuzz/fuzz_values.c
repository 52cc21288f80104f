/* Fuzzes the small parsers that read client-supplied strings: bearer tokens,
 * RFC 3339 times and listen addresses. */
#include <string.h>

#include "auth/token.h"
#include "config.h"
#include "fuzz.h"
#include "util/timeutil.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char s[512];
	if (size >= sizeof(s))
		size = sizeof(s) - 1;
	memcpy(s, data, size);
	s[size] = '\0';
	int64_t us;
	struct listen_addr addr;
	(void)auth_token_parse(s);
	(void)time_parse_rfc3339(s, &us);
	(void)config_parse_addr(s, &addr);
	return 0;
}
