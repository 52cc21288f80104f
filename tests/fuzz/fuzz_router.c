/* Fuzzes route matching with the server's own table: the first line of the
 * input is the method, the rest the path. */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "http/router.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct http_router *router;
	if (!router) {
		char err[256];
		router = http_router_create(api_routes, api_routes_count, err, sizeof(err));
		if (!router)
			abort();
	}
	char buf[2048];
	if (size >= sizeof(buf))
		size = sizeof(buf) - 1;
	memcpy(buf, data, size);
	buf[size] = '\0';
	char *path = strchr(buf, '\n');
	if (!path)
		return 0;
	*path++ = '\0';
	struct router_match m;
	(void)http_router_match(router, buf, path, &m);
	return 0;
}
