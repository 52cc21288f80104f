/* The stock runos CLI's manifest (docs/cli.md), generated from the route
 * table: one command per row that a personal access token may call, named
 * by its pattern and method, its inputs the row's field specs, its output the
 * row's typed answer. server/api/cli.c serves it. */
#ifndef RUNOSD_API_CLI_MANIFEST_H
#define RUNOSD_API_CLI_MANIFEST_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "auth/roles.h"
#include "http/route.h"

/* Whether a row is a CLI command: one of an account, of an account's job or
 * of the caller's user that a personal access token may call (sign-in
 * flows, session-only rows, documents and health probes are not). */
bool api_cli_is_command(const struct route *r);

/* The commands of routes that role may call, new: ROLE_NONE gives every
 * command (the unscoped manifest). A row with a :type of the service
 * catalog gives one command per catalog type. */
json_t *api_cli_commands(const struct route *routes, size_t count, enum role role);

/* The manifest's version: a digest of commands' compact, key-sorted JSON
 * text, so it changes exactly when the commands do. out holds 65 bytes. */
void api_cli_version(const json_t *commands, char out[65]);

#endif
