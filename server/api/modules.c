/* GET /:aid/modules: the product's feature modules and whether the account
 * has each. Every account is on the "free" tier until billing exists, so the
 * table below decides; it is data, not per-account state. */
#include "api/handlers.h"
#include "http/request.h"

static const struct module {
	const char *key, *name, *description, *tier;
	bool enabled;
} modules[] = {
	{ "clusters", "Clusters", "Kubernetes clusters on your own servers", "free", true },
	{ "services", "Services", "Managed open-source services (databases, queues, storage)",
	  "free", true },
	{ "apps", "Applications", "Build and run applications from Git", "free", true },
	{ "vpn", "VPN", "WireGuard access to cluster networks for your devices", "free", true },
	{ "monitoring", "Monitoring", "Metrics and dashboards for clusters and services", "free",
	  true },
	{ "backups", "Backups", "Scheduled backups of services to object storage", "pro", false },
	{ "sso", "Single sign-on", "Sign in through your identity provider", "enterprise", false },
};

void api_modules_list(struct request *req)
{
	json_t *list = json_array();
	for (size_t i = 0; i < sizeof(modules) / sizeof(modules[0]); i++) {
		const struct module *m = &modules[i];
		json_array_append_new(list, json_pack("{s:s, s:s, s:s, s:s, s:i, s:b}", "key",
						      m->key, "name", m->name, "description",
						      m->description, "tier", m->tier, "sortOrder",
						      (int)(i + 1) * 10, "enabled", m->enabled));
	}
	request_reply(req, 200, json_pack("{s:o}", "modules", list));
}
