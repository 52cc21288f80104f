/* GET /cli/manifest, /cli/manifest-version and their account-scoped forms,
 * and GET /:aid/cli/toolsets: what the stock runos CLI builds its commands
 * from (docs/cli.md). The table is compiled in, so every manifest is built
 * once: the unscoped one holds every command, an account's only those its
 * caller's role may call. Each is served with its version as a strong ETag. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "api/cli_manifest.h"
#include "api/common.h"
#include "api/handlers.h"
#include "http/request.h"
#include "services/catalog.h"

/* Index: the role (ROLE_NONE: unscoped). */
static struct manifest {
	char version[65];
	char etag[68];
	char *body;	    /* {version, commands} */
	char *version_body; /* {version} */
} manifests[ROLE_OWNER + 1];
static pthread_once_t manifests_once = PTHREAD_ONCE_INIT;

static void build_manifests(void)
{
	for (int role = ROLE_NONE; role <= ROLE_OWNER; role++) {
		struct manifest *m = &manifests[role];
		json_t *commands = api_cli_commands(api_routes, api_routes_count, (enum role)role);
		api_cli_version(commands, m->version);
		snprintf(m->etag, sizeof(m->etag), "\"%.64s\"", m->version);
		json_t *body = json_pack("{s:s, s:o}", "version", m->version, "commands", commands);
		m->body = json_dumps(body, JSON_COMPACT);
		json_decref(body);
		json_t *version = json_pack("{s:s}", "version", m->version);
		m->version_body = json_dumps(version, JSON_COMPACT);
		json_decref(version);
	}
}

/* The caller's manifest: an account's route, by the caller's role in it. */
static const struct manifest *manifest_of(const struct request *req)
{
	pthread_once(&manifests_once, build_manifests);
	bool scoped = request_param(req, "aid") != NULL;
	return &manifests[scoped ? req->principal.role_in_aid : ROLE_NONE];
}

static void reply_versioned(struct request *req, const struct manifest *m, const char *body)
{
	request_set_header(req, "ETag", m->etag);
	if (api_not_modified(req, m->etag)) {
		request_reply(req, 304, NULL);
		return;
	}
	request_reply_text(req, 200, "application/json", body);
}

void api_cli_manifest(struct request *req)
{
	const struct manifest *m = manifest_of(req);
	reply_versioned(req, m, m->body);
}

void api_cli_manifest_version(struct request *req)
{
	const struct manifest *m = manifest_of(req);
	reply_versioned(req, m, m->version_body);
}

void api_cli_toolsets(struct request *req)
{
	json_t *types = json_array();
	for (size_t i = 0; i < catalog_count(); i++)
		json_array_append_new(types, json_string(catalog_at(i)->type));
	request_reply(req, 200,
		      json_pack("{s:b, s:o, s:b}", "scoped", true, "serviceTypes", types,
				"virtInstalled", false));
}
