/* The route table: the single source of truth for routing, permissions and
 * input validation, the typed answers and the OpenAPI document built from them
 * (server/api/openapi.c), and later the CLI manifest.
 * A row that declares no access level stops the server at start. */
#include "api/common.h"
#include "api/handlers.h"
#include "http/route.h"
#include "idalloc/clusters.h"
#include "util/text.h"

/* Query parameters (checked like body fields: an undeclared one is 400). */
#define LIST_QUERY                                                                                 \
	{ "limit", FIELD_INTEGER, false, 1, API_LIST_MAX_LIMIT, NULL, "page size", "20" },         \
	{                                                                                          \
		"cursor", FIELD_STRING, false, 0, 0, NULL, "nextCursor of the page before", NULL   \
	}
static const struct field_spec list_query[] = { LIST_QUERY, { 0 } };
static const char *const cluster_statuses[] = { "pending",  "provisioning", "active",
						"degraded", "deleting",	    NULL };
static const struct field_spec clusters_query[] = {
	LIST_QUERY,
	{ "status", FIELD_ENUM, false, 0, 0, cluster_statuses, "only clusters in this status",
	  NULL },
	{ 0 },
};
static const struct field_spec cluster_domains_query[] = {
	LIST_QUERY,
	{ "cid", FIELD_STRING, false, 0, 16, NULL, "only this cluster's domain", NULL },
	{ 0 },
};
static const char *const job_statuses[] = { "pending", "running",   "completed",
					    "failed",  "cancelled", NULL };
static const struct field_spec jobs_query[] = {
	LIST_QUERY,
	{ "aid", FIELD_STRING, false, 0, 16, NULL, "the account (an API key: its own)", NULL },
	{ "cid", FIELD_STRING, false, 0, 16, NULL, "only jobs of this cluster", NULL },
	{ "status", FIELD_ENUM, false, 0, 0, job_statuses, "only jobs in this status", NULL },
	{ "type", FIELD_STRING, false, 0, 64, NULL, "only jobs of this type (node.join, ...)",
	  NULL },
	{ 0 },
};
static const struct field_spec step_logs_query[] = {
	{ "after", FIELD_STRING, false, 0, 24, NULL, "nextCursor of the page before", NULL },
	{ 0 },
};
static const struct field_spec installer_query[] = {
	{ "token", FIELD_STRING, false, 0, 256, NULL, "the join token", NULL },
	{ 0 },
};

static const char *const role_choices[] = { "viewer", "member", "admin", "owner", NULL };

static const struct field_spec signup_input[] = {
	{ "email", FIELD_STRING, true, 3, 254, NULL, "login email", "ada@example.com" },
	{ "password", FIELD_STRING, true, 1, 1024, NULL, "at least 10 characters",
	  "correct horse battery staple" },
	{ "name", FIELD_STRING, false, 0, NAME_MAX_CHARS, NULL, "display name", "Ada Lovelace" },
	{ "companyName", FIELD_STRING, false, 0, NAME_MAX_CHARS, NULL, "company of the account",
	  "Analytical Engines" },
	{ 0 },
};
static const struct field_spec login_input[] = {
	{ "email", FIELD_STRING, true, 1, 254, NULL, "login email", "ada@example.com" },
	{ "password", FIELD_STRING, true, 1, 1024, NULL, "password",
	  "correct horse battery staple" },
	{ "totp", FIELD_STRING, false, 6, 8, NULL, "TOTP code when MFA is on", NULL },
	{ 0 },
};
static const struct field_spec user_update_input[] = {
	{ "name", FIELD_STRING, false, 0, NAME_MAX_CHARS, NULL, "display name", "Ada King" },
	{ "password", FIELD_STRING, false, 1, 1024, NULL, "new password", NULL },
	{ "currentPassword", FIELD_STRING, false, 1, 1024, NULL,
	  "the present password; required with password", NULL },
	{ 0 },
};
static const struct field_spec account_create_input[] = {
	{ "name", FIELD_STRING, true, 1, NAME_MAX_CHARS, NULL, "account name", "Acme staging" },
	{ "companyName", FIELD_STRING, false, 0, NAME_MAX_CHARS, NULL, "company name", NULL },
	{ 0 },
};
static const struct field_spec profile_update_input[] = {
	{ "name", FIELD_STRING, false, 1, NAME_MAX_CHARS, NULL, "account name", NULL },
	{ "companyName", FIELD_STRING, false, 0, NAME_MAX_CHARS, NULL, "company name", NULL },
	{ "website", FIELD_STRING, false, 0, WEBSITE_MAX_CHARS, NULL, "http(s) URL or empty",
	  "https://example.com" },
	{ 0 },
};
static const struct field_spec api_key_create_input[] = {
	{ "name", FIELD_STRING, true, 1, NAME_MAX_CHARS, NULL, "what the key is for",
	  "ci deploys" },
	{ "expiresAt", FIELD_TIME, false, 0, 0, NULL, "default +90 days, at most one year", NULL },
	{ "accountRole", FIELD_ENUM, false, 0, 0, role_choices, "default: the creator's role",
	  NULL },
	{ 0 },
};
static const struct field_spec api_key_update_input[] = {
	{ "name", FIELD_STRING, false, 1, NAME_MAX_CHARS, NULL, "new name", "deploy bot" },
	{ 0 },
};
static const struct field_spec cluster_create_input[] = {
	{ "name", FIELD_STRING, true, 1, NAME_MAX_CHARS, NULL, "cluster name", "production" },
	{ "description", FIELD_STRING, false, 0, DESCRIPTION_MAX_CHARS, NULL,
	  "what the cluster is for", "customer-facing services" },
	{ 0 },
};
static const struct field_spec cluster_update_input[] = {
	{ "name", FIELD_STRING, false, 1, NAME_MAX_CHARS, NULL, "cluster name", NULL },
	{ "description", FIELD_STRING, false, 0, DESCRIPTION_MAX_CHARS, NULL,
	  "what the cluster is for", "customer-facing services" },
	{ 0 },
};
static const struct field_spec node_update_input[] = {
	{ "name", FIELD_STRING, false, 1, NAME_MAX_CHARS, NULL, "node name", "edge-1" },
	{ 0 },
};
static const char *const node_role_choices[] = { "controlplane", "worker", "hybrid", NULL };
static const struct field_spec join_token_create_input[] = {
	{ "role", FIELD_ENUM, true, 0, 0, node_role_choices, "what the node becomes", NULL },
	{ "ttlSeconds", FIELD_INTEGER, false, 60, 86400, NULL, "lifetime, default 1800 s", NULL },
	{ "maxUses", FIELD_INTEGER, false, 1, 1000, NULL, "registrations allowed, default 1",
	  NULL },
	{ 0 },
};
static const struct field_spec invitation_create_input[] = {
	{ "email", FIELD_STRING, true, 3, 254, NULL, "who is invited", "grace@example.com" },
	{ "accountRole", FIELD_ENUM, true, 0, 0, role_choices, "their role once they accept",
	  NULL },
	{ 0 },
};
static const struct field_spec invitation_accept_input[] = {
	{ "token", FIELD_STRING, true, 1, 64, NULL, "the invitation token rni_...",
	  "rni_5kQx2Vb8mN0pRt7YwZ3aLc9dEf1gHj4K" },
	{ 0 },
};
static const struct field_spec member_update_input[] = {
	{ "accountRole", FIELD_ENUM, true, 0, 0, role_choices, "the new role", NULL },
	{ 0 },
};
static const struct field_spec totp_verify_input[] = {
	{ "code", FIELD_STRING, true, 6, 6, NULL, "the current code of the new secret", "123456" },
	{ 0 },
};
static const struct field_spec device_approve_input[] = {
	{ "deviceId", FIELD_STRING, true, 1, 64, NULL, "from initiate", "0b1c2d3e4f5a6b7c" },
	{ "token", FIELD_STRING, true, 1, 64, NULL, "from initiate", "rnd_Wq3xY7zA1bC5dE9f" },
	{ "aid", FIELD_STRING, true, 1, 16, NULL, "the account the CLI will act in", "k1fsc" },
	{ 0 },
};
static const struct field_spec device_poll_input[] = {
	{ "deviceId", FIELD_STRING, true, 1, 64, NULL, "from initiate", "0b1c2d3e4f5a6b7c" },
	{ "token", FIELD_STRING, true, 1, 64, NULL, "from initiate", "rnd_Wq3xY7zA1bC5dE9f" },
	{ 0 },
};
/* The requires inputs of every catalog type (tests/unit/test_catalog.c
 * checks that each type's are here); a field of another type is refused by
 * the handler. */
#define SERVICE_REQUIRES_FIELD(name, type)                                                         \
	{                                                                                          \
		name, FIELD_STRING, false, 1, 64, NULL, "osid of the " type " service it uses",    \
			NULL                                                                       \
	}
static const struct field_spec service_create_input[] = {
	{ "name", FIELD_STRING, true, 1, NAME_MAX_CHARS, NULL, "unique in the cluster", "main-db" },
	{ "version", FIELD_STRING, false, 1, 32, NULL, "one of the type's versions", NULL },
	{ "replicas", FIELD_INTEGER, false, 0, 100, NULL, "within the type's range", NULL },
	{ "storageMb", FIELD_INTEGER, false, 1, 16777216, NULL, "within the type's bounds", NULL },
	{ "storageClass", FIELD_STRING, false, 1, 80, NULL,
	  "openebs-local (default), longhorn or longhorn-<osid>", NULL },
	{ "flags", FIELD_OBJECT, false, 0, 0, NULL, "the type's flags: {name: value}", NULL },
	{ "nodeAffinityTags", FIELD_STRINGS, false, 0, 16, NULL,
	  "run only on nodes with these tags", NULL },
	SERVICE_REQUIRES_FIELD("postgresOsid", "postgresql"),
	SERVICE_REQUIRES_FIELD("valkeyOsid", "valkey"),
	SERVICE_REQUIRES_FIELD("minioOsid", "minio"),
	SERVICE_REQUIRES_FIELD("ollamaOsid", "ollama"),
	{ 0 },
};
static const struct field_spec service_update_input[] = {
	{ "replicas", FIELD_INTEGER, false, 0, 100, NULL, "within the type's range", "2" },
	{ "version", FIELD_STRING, false, 1, 32, NULL, "a newer version of the type", NULL },
	{ "storageMb", FIELD_INTEGER, false, 1, 16777216, NULL, "grow only", NULL },
	{ 0 },
};
/* Apps (docs/apps.md): the shapes here, the rules between members in
 * server/apps/validate.c. */
static const char *const build_methods[] = { "buildkit", "arc", NULL };
static const char *const deployment_strategies[] = { "rolling", "recreate", NULL };
/* clang-format off */
#define APP_SETTINGS_FIELDS(name_required) \
	{ "name", FIELD_STRING, name_required, 1, NAME_MAX_CHARS, NULL, "unique in the cluster", \
	  "web" }, \
	{ "repo", FIELD_OBJECT, name_required, 0, 0, NULL, \
	  "{provider: \"github\", url: \"https://github.com/<owner>/<repo>\", branch}", \
	  "{\"provider\":\"github\",\"url\":\"https://github.com/acme/web\",\"branch\":\"main\"}" }, \
	{ "port", FIELD_INTEGER, false, 1, 65535, NULL, \
	  "the port it listens on (or servicePortMappings)", "8080" }, \
	{ "servicePortMappings", FIELD_JSON, false, 0, 0, NULL, \
	  "[{port, domains?}]: the first port gets <name>-<id>.<cluster domain>", NULL }, \
	{ "replicas", FIELD_INTEGER, false, 0, 20, NULL, "default 1", NULL }, \
	{ "buildMethod", FIELD_ENUM, false, 0, 0, build_methods, "default buildkit", NULL }, \
	{ "dockerfile", FIELD_STRING, false, 1, 255, NULL, "default Dockerfile", NULL }, \
	{ "sourceDir", FIELD_STRING, false, 1, 255, NULL, "default .", NULL }, \
	{ "healthCheckPath", FIELD_STRING, false, 1, 1024, NULL, \
	  "HTTP path of the readiness and liveness probes", NULL }, \
	{ "healthCheckPort", FIELD_INTEGER, false, 1, 65535, NULL, "default: the first port", NULL }, \
	{ "cpuRequestMc", FIELD_INTEGER, false, 10, 64000, NULL, "millicores", NULL }, \
	{ "memoryRequestMb", FIELD_INTEGER, false, 16, 262144, NULL, "MiB", NULL }, \
	{ "cpuLimitMc", FIELD_INTEGER, false, 10, 64000, NULL, "millicores", NULL }, \
	{ "memoryLimitMb", FIELD_INTEGER, false, 16, 262144, NULL, "MiB", NULL }, \
	{ "deploymentStrategy", FIELD_ENUM, false, 0, 0, deployment_strategies, "default rolling", \
	  NULL }, \
	{ "accessToken", FIELD_STRING, false, 1, 255, NULL, \
	  "for a private repository: sealed, only ever sent to the building node", NULL }
/* clang-format on */
static const struct field_spec app_create_input[] = {
	APP_SETTINGS_FIELDS(true),
	{ "requires", FIELD_OBJECT, false, 0, 0, NULL,
	  "{alias: {type, id, env: {url: \"DATABASE_URL\", ...}}}: services it uses", NULL },
	{ 0 },
};
static const struct field_spec app_update_input[] = { APP_SETTINGS_FIELDS(false), { 0 } };
static const char *const true_false[] = { "true", "false", NULL };
static const struct field_spec app_update_query[] = {
	{ "merge", FIELD_ENUM, false, 0, 0, true_false,
	  "true: keep what the body does not send (else it replaces the settings)", "true" },
	{ 0 },
};
static const struct field_spec app_deploy_input[] = {
	{ "sha", FIELD_STRING, false, 40, 40, NULL, "the commit (default: the branch head)", NULL },
	{ 0 },
};
static const struct field_spec app_rollback_input[] = {
	{ "deploymentId", FIELD_STRING, true, 36, 36, NULL, "a deployment that succeeded",
	  "6f1c2a9e-0b1d-4c5f-8a7e-3d2b1c0a9f8e" },
	{ 0 },
};
static const struct field_spec app_env_input[] = {
	{ "envVars", FIELD_OBJECT, true, 0, 0, NULL, "{KEY: \"value\"}: the whole set",
	  "{\"LOG_LEVEL\":\"info\"}" },
	{ 0 },
};
static const struct field_spec app_logs_query[] = {
	{ "tail", FIELD_INTEGER, false, 1, 5000, NULL,
	  "the last lines of each container, default 100", "100" },
	{ "since", FIELD_STRING, false, 2, 40, NULL, "a duration (15m, 2h) or an RFC 3339 time",
	  "15m" },
	{ "pod", FIELD_STRING, false, 1, 253, NULL, "one pod of the app (default: all)", NULL },
	{ 0 },
};
static const struct field_spec app_domain_input[] = {
	{ "fqdn", FIELD_STRING, true, 1, 512, NULL,
	  "a public DNS name you own, not under the cluster domains", "shop.example.com" },
	{ "port", FIELD_INTEGER, false, 1, 65535, NULL,
	  "the app's port it routes to (default: the first)", NULL },
	{ 0 },
};
static const struct field_spec vpn_device_create_input[] = {
	{ "name", FIELD_STRING, true, 1, NAME_MAX_CHARS, NULL, "what the device is", "ada-laptop" },
	{ "publicKey", FIELD_STRING, true, 1, 64, NULL,
	  "the device's WireGuard public key (base64 of 32 bytes, wg pubkey); the private key "
	  "never leaves the device",
	  "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=" },
	{ 0 },
};
static const struct field_spec vpn_device_update_input[] = {
	{ "name", FIELD_STRING, false, 1, NAME_MAX_CHARS, NULL, "new name", "ada-desktop" },
	{ 0 },
};
static const struct field_spec vpn_device_clusters_input[] = {
	{ "cids", FIELD_STRINGS, true, 0, 64, NULL,
	  "every cluster the device reaches (active clusters of the account); [] for none", "i4y" },
	{ 0 },
};
static const struct field_spec vpn_config_query[] = {
	{ "cid", FIELD_STRING, true, 1, 16, NULL, "one of the clusters the device reaches", "i4y" },
	{ 0 },
};
static const struct field_spec no_input[] = { { 0 } };

/* Members of answers: always present unless OUT_OPTIONAL. The OpenAPI document gives every object
 * additionalProperties:false, so a member a handler adds, drops or retypes
 * fails the response validation of the integration tests. */
#define OUT(name, type, description)                                                               \
	{                                                                                          \
		name, type, false, false, NULL, description, NULL                                  \
	}
#define OUT_NULLABLE(name, type, description)                                                      \
	{                                                                                          \
		name, type, false, true, NULL, description, NULL                                   \
	}
#define OUT_OPTIONAL(name, type, description)                                                      \
	{                                                                                          \
		name, type, true, false, NULL, description, NULL                                   \
	}
#define OUT_ENUM(name, choices, description)                                                       \
	{                                                                                          \
		name, FIELD_ENUM, false, false, choices, description, NULL                         \
	}
#define OUT_OBJECT(name, members, description)                                                     \
	{                                                                                          \
		name, FIELD_OBJECT, false, false, NULL, description, members                       \
	}
#define OUT_OBJECTS(name, members, description)                                                    \
	{                                                                                          \
		name, FIELD_OBJECTS, false, false, NULL, description, members                      \
	}
/* A paged list's cursor (api_reply_page): a member only when there is a next
 * page, so the last page is a single-key object. server/api/openapi.c knows a
 * list answer by this member and describes its Link header. */
#define NEXT_CURSOR                                                                                \
	{                                                                                          \
		"nextCursor", FIELD_STRING, true, false, NULL,                                     \
			"present only when there is a next page: pass it as cursor (after for "    \
			"step logs) to get it; also the Link header rel=next",                     \
			NULL                                                                       \
	}

static const char *const service_states[] = { "provisioning", "healthy",  "degraded", "unhealthy",
					      "failed",	      "deleting", "unknown",  NULL };

static const struct output_field health_fields[] = {
	OUT("status", FIELD_STRING, "ok (healthz) or ready (readyz)"),
	{ 0 },
};
#define USER_MEMBERS                                                                               \
	OUT("uid", FIELD_STRING, "user id"), OUT("email", FIELD_STRING, "login email"),            \
		OUT("name", FIELD_STRING, "display name"),                                         \
		OUT("mfaEnabled", FIELD_BOOLEAN, "whether logins need a TOTP code"),               \
		OUT("createdAt", FIELD_TIME, "when the user signed up")
static const struct output_field user_fields[] = { USER_MEMBERS, { 0 } };
#define ACCOUNT_MEMBERS                                                                            \
	OUT("aid", FIELD_STRING, "account id"), OUT("name", FIELD_STRING, "account name"),         \
		OUT("companyName", FIELD_STRING, "company name"),                                  \
		OUT("website", FIELD_STRING, "http(s) URL or empty"),                              \
		OUT("baseDomain", FIELD_STRING, "parent domain of the clusters' domains"),         \
		OUT("createdAt", FIELD_TIME, "when the account was created")
#define MY_ACCOUNT_MEMBERS                                                                         \
	OUT_ENUM("accountRole", role_choices, "the caller's role in it"),                          \
		OUT("isDefault", FIELD_BOOLEAN, "the caller's default account")
static const struct output_field account_fields[] = { ACCOUNT_MEMBERS, { 0 } };
static const struct output_field new_account_fields[] = { ACCOUNT_MEMBERS,
							  MY_ACCOUNT_MEMBERS,
							  { 0 } };
static const struct output_field signup_fields[] = {
	OUT_OBJECT("user", user_fields, "the new user"),
	OUT_OBJECT("account", new_account_fields, "the new personal account"),
	OUT("token", FIELD_STRING, "session token (Bearer)"),
	OUT("expiresAt", FIELD_TIME, "when the session ends"),
	{ 0 },
};
static const struct output_field session_fields[] = {
	OUT("token", FIELD_STRING, "session token (Bearer)"),
	OUT("expiresAt", FIELD_TIME, "when the session ends"),
	OUT_OBJECT("user", user_fields, "the user logged in"),
	{ 0 },
};
static const struct output_field account_item_fields[] = {
	OUT("aid", FIELD_STRING, "account id"),
	OUT("name", FIELD_STRING, "account name"),
	OUT("companyName", FIELD_STRING, "company name"),
	MY_ACCOUNT_MEMBERS,
	{ 0 },
};
static const struct output_field accounts_fields[] = {
	OUT_OBJECTS("accounts", account_item_fields, "the caller's accounts"),
	NEXT_CURSOR,
	{ 0 },
};
#define API_KEY_MEMBERS                                                                            \
	OUT("id", FIELD_STRING, "key id (UUID)"),                                                  \
		OUT("name", FIELD_STRING, "what the key is for"),                                  \
		OUT("prefix", FIELD_STRING, "first characters of the token, to recognise it"),     \
		OUT_ENUM("accountRole", role_choices, "what the key may do"),                      \
		OUT("createdAt", FIELD_TIME, "when it was created"),                               \
		OUT("expiresAt", FIELD_TIME, "when it stops working"),                             \
		OUT("createdBy", FIELD_STRING, "uid of its creator")
static const struct output_field api_key_fields[] = { API_KEY_MEMBERS, { 0 } };
static const struct output_field new_api_key_fields[] = {
	API_KEY_MEMBERS,
	OUT("token", FIELD_STRING, "the token (shown once)"),
	OUT("warning", FIELD_STRING, "store the token now: it is not shown again"),
	{ 0 },
};
static const struct output_field api_keys_fields[] = {
	OUT_OBJECTS("apiKeys", api_key_fields, "the account's keys"),
	NEXT_CURSOR,
	{ 0 },
};
static const struct output_field condition_fields[] = {
	OUT("type", FIELD_STRING, "what the condition is about"),
	OUT("status", FIELD_STRING, "True, False or Unknown"),
	OUT("reason", FIELD_STRING, "CamelCase reason"),
	OUT("message", FIELD_STRING, "for people"),
	OUT_NULLABLE("lastTransitionAt", FIELD_TIME, "when the status last changed"),
	{ 0 },
};
static const struct output_field node_counts_fields[] = {
	OUT("total", FIELD_INTEGER, "nodes of the cluster"),
	OUT("online", FIELD_INTEGER, "nodes online"),
	OUT("offline", FIELD_INTEGER, "nodes offline"),
	{ 0 },
};
static const struct output_field cluster_fields[] = {
	OUT("cid", FIELD_STRING, "cluster id"),
	OUT("name", FIELD_STRING, "cluster name"),
	OUT("description", FIELD_STRING, "what the cluster is for"),
	OUT("domain", FIELD_STRING, "the cluster's domain"),
	OUT_ENUM("status", cluster_statuses, "lifecycle status"),
	OUT("configured", FIELD_BOOLEAN, "whether a control plane has joined"),
	OUT("clusterIndex", FIELD_INTEGER, "index of its VPN subnet"),
	OUT("vpnCidr", FIELD_STRING, "the cluster's VPN subnet"),
	OUT("vip", FIELD_STRING, "virtual IP of the control plane"),
	OUT("k8sApiUrl", FIELD_STRING, "Kubernetes API URL"),
	OUT_OBJECT("nodeCounts", node_counts_fields, "nodes by status"),
	OUT_OBJECTS("conditions", condition_fields, "what is wrong, if anything"),
	OUT("createdAt", FIELD_TIME, "when it was created"),
	OUT("updatedAt", FIELD_TIME, "when it last changed"),
	{ 0 },
};
static const struct output_field clusters_fields[] = {
	OUT_OBJECTS("clusters", cluster_fields, "the account's clusters"),
	NEXT_CURSOR,
	{ 0 },
};
static const struct output_field deployment_ready_fields[] = {
	OUT("ready", FIELD_BOOLEAN, "all three are ready"),
	OUT("harbor", FIELD_BOOLEAN, "Harbor is ready"),
	OUT("minio", FIELD_BOOLEAN, "MinIO is ready"),
	OUT("buildkit", FIELD_BOOLEAN, "BuildKit is ready"),
	{ 0 },
};
static const struct output_field cluster_domain_fields[] = {
	OUT("id", FIELD_STRING, "domain id"),
	OUT("cid", FIELD_STRING, "its cluster"),
	OUT("fqdn", FIELD_STRING, "the domain"),
	OUT("wildcard", FIELD_BOOLEAN, "whether *.fqdn is served too"),
	{ 0 },
};
static const struct output_field cluster_domains_fields[] = {
	OUT_OBJECTS("clusterDomains", cluster_domain_fields, "domains of the clusters"),
	NEXT_CURSOR,
	{ 0 },
};
static const struct output_field node_fields[] = {
	OUT("nid", FIELD_STRING, "node id"),
	OUT("cid", FIELD_STRING, "its cluster"),
	OUT("name", FIELD_STRING, "node name"),
	OUT_ENUM("role", node_role_choices, "what the node is"),
	OUT("status", FIELD_STRING, "online, offline, ..."),
	OUT("machineId", FIELD_STRING, "/etc/machine-id of the machine"),
	OUT("hostname", FIELD_STRING, "host name"),
	OUT("os", FIELD_STRING, "operating system"),
	OUT("vpnIp", FIELD_STRING, "address on the cluster's VPN"),
	OUT("externalIp", FIELD_STRING, "address the agent connects from"),
	OUT("agentVersion", FIELD_STRING, "version of its agent"),
	OUT_NULLABLE("lastHeartbeatAt", FIELD_TIME, "the agent's last heartbeat"),
	OUT_NULLABLE("certNotAfter", FIELD_TIME, "when its certificate expires"),
	OUT_OBJECTS("conditions", condition_fields, "what is wrong, if anything"),
	OUT("createdAt", FIELD_TIME, "when it joined"),
	{ 0 },
};
static const struct output_field nodes_fields[] = {
	OUT_OBJECTS("nodes", node_fields, "the cluster's nodes"),
	NEXT_CURSOR,
	{ 0 },
};
static const struct output_field module_fields[] = {
	OUT("key", FIELD_STRING, "module key"),
	OUT("name", FIELD_STRING, "module name"),
	OUT("description", FIELD_STRING, "what it does"),
	OUT("tier", FIELD_STRING, "plan that includes it"),
	OUT("sortOrder", FIELD_INTEGER, "display order"),
	OUT("enabled", FIELD_BOOLEAN, "whether the account has it"),
	{ 0 },
};
static const struct output_field modules_fields[] = {
	OUT_OBJECTS("modules", module_fields, "every module"),
	{ 0 },
};
static const struct output_field new_join_token_fields[] = {
	OUT("id", FIELD_STRING, "token id"),
	OUT("token", FIELD_STRING, "the secret (shown once)"),
	OUT("expiresAt", FIELD_TIME, "when it stops working"),
	OUT_ENUM("role", node_role_choices, "what the node becomes"),
	OUT("maxUses", FIELD_INTEGER, "registrations allowed"),
	OUT("caPin", FIELD_STRING, "SHA-256 pin of the agent CA"),
	OUT("installCommand", FIELD_STRING, "the line to run on the machine"),
	{ 0 },
};
static const struct output_field join_token_fields[] = {
	OUT("id", FIELD_STRING, "token id"),
	OUT("prefix", FIELD_STRING, "first characters of the secret"),
	OUT_ENUM("role", node_role_choices, "what the node becomes"),
	OUT("maxUses", FIELD_INTEGER, "registrations allowed"),
	OUT("uses", FIELD_INTEGER, "registrations so far"),
	OUT("expiresAt", FIELD_TIME, "when it stops working"),
	OUT("createdAt", FIELD_TIME, "when it was created"),
	OUT("createdBy", FIELD_STRING, "uid of its creator"),
	{ 0 },
};
static const struct output_field join_tokens_fields[] = {
	OUT_OBJECTS("joinTokens", join_token_fields, "the cluster's join tokens"),
	NEXT_CURSOR,
	{ 0 },
};
static const struct output_field job_started_fields[] = {
	OUT("jobId", FIELD_STRING, "the job doing it: GET /jobs/{id}"),
	{ 0 },
};
static const struct output_field target_fields[] = {
	OUT("type", FIELD_STRING, "kind of object"),
	OUT("id", FIELD_STRING, "its id"),
	{ 0 },
};
static const struct output_field job_fields[] = {
	OUT("id", FIELD_STRING, "job id"),
	OUT("aid", FIELD_STRING, "its account"),
	OUT_NULLABLE("cid", FIELD_STRING, "its cluster, if any"),
	OUT("type", FIELD_STRING, "what it does (node.join, service.create, ...)"),
	OUT_ENUM("status", job_statuses, "where it is"),
	OUT("progress", FIELD_INTEGER, "percent done"),
	OUT("currentStep", FIELD_INTEGER, "number of the running step"),
	OUT_NULLABLE("error", FIELD_STRING, "why it failed"),
	OUT_NULLABLE("result", FIELD_JSON, "what it produced"),
	OUT_OBJECT("target", target_fields, "what it acts on"),
	OUT("attempt", FIELD_INTEGER, "attempt number"),
	OUT("createdAt", FIELD_TIME, "when it was queued"),
	OUT_NULLABLE("startedAt", FIELD_TIME, "when it started"),
	OUT_NULLABLE("completedAt", FIELD_TIME, "when it ended"),
	{ 0 },
};
static const struct output_field jobs_fields[] = {
	OUT_OBJECTS("jobs", job_fields, "the account's jobs"),
	NEXT_CURSOR,
	{ 0 },
};
static const struct output_field workitem_fields[] = {
	OUT("id", FIELD_STRING, "step id"),
	OUT("name", FIELD_STRING, "what it does"),
	OUT("status", FIELD_STRING, "where it is"),
	OUT("stepNumber", FIELD_INTEGER, "its place in the job"),
	OUT_NULLABLE("result", FIELD_JSON, "what it produced"),
	OUT("createdAt", FIELD_TIME, "when it was created"),
	OUT_NULLABLE("startedAt", FIELD_TIME, "when it started"),
	OUT_NULLABLE("completedAt", FIELD_TIME, "when it ended"),
	{ 0 },
};
static const struct output_field workitems_fields[] = {
	OUT("jobId", FIELD_STRING, "the job"),
	OUT_OBJECTS("workItems", workitem_fields, "its steps"),
	OUT("hasMore", FIELD_BOOLEAN, "always false: every step is listed"),
	{ 0 },
};
static const struct output_field log_line_fields[] = {
	OUT("id", FIELD_INTEGER, "line id"),
	OUT("level", FIELD_STRING, "info, warn or error"),
	OUT("message", FIELD_STRING, "the line"),
	OUT("createdAt", FIELD_TIME, "when it was logged"),
	{ 0 },
};
static const struct output_field step_logs_fields[] = {
	OUT("workItemId", FIELD_STRING, "the step"),
	OUT_OBJECTS("logs", log_line_fields, "its log lines, oldest first"),
	NEXT_CURSOR,
	{ 0 },
};
static const struct output_field job_cancel_fields[] = {
	OUT("id", FIELD_STRING, "job id"),
	OUT("status", FIELD_STRING, "cancelled"),
	{ 0 },
};
static const struct output_field member_fields[] = {
	OUT("uid", FIELD_STRING, "user id"),
	OUT("email", FIELD_STRING, "login email"),
	OUT("name", FIELD_STRING, "display name"),
	OUT_ENUM("accountRole", role_choices, "role in the account"),
	OUT("joinedAt", FIELD_TIME, "when they joined"),
	{ 0 },
};
static const struct output_field members_fields[] = {
	OUT_OBJECTS("members", member_fields, "the account's members"),
	NEXT_CURSOR,
	{ 0 },
};
static const struct output_field invitation_fields[] = {
	OUT("id", FIELD_STRING, "invitation id"),
	OUT("token", FIELD_STRING, "the invitation token (shown once)"),
	OUT("expiresAt", FIELD_TIME, "when it stops working"),
	{ 0 },
};
static const struct output_field invitation_accepted_fields[] = {
	OUT("aid", FIELD_STRING, "the account joined"),
	OUT_ENUM("accountRole", role_choices, "role in it"),
	{ 0 },
};
static const struct output_field left_fields[] = {
	OUT("left", FIELD_STRING, "the account left"),
	OUT_NULLABLE("defaultAccount", FIELD_STRING, "the caller's default account now"),
	OUT("remainingAccounts", FIELD_INTEGER, "accounts the caller is still in"),
	{ 0 },
};
static const struct output_field audit_entry_fields[] = {
	OUT("id", FIELD_STRING, "entry id"),
	OUT("at", FIELD_TIME, "when it happened"),
	OUT_OBJECT("actor", target_fields, "who did it"),
	OUT("action", FIELD_STRING, "what was done (cluster.create, ...)"),
	OUT_OBJECT("target", target_fields, "what it was done to"),
	OUT("traceId", FIELD_STRING, "the request's trace id"),
	OUT("ip", FIELD_STRING, "the caller's address"),
	{ 0 },
};
static const struct output_field audit_fields[] = {
	OUT_OBJECTS("entries", audit_entry_fields, "newest first"),
	NEXT_CURSOR,
	{ 0 },
};
static const struct output_field totp_setup_fields[] = {
	OUT("secret", FIELD_STRING, "base32 secret"),
	OUT("otpauthUrl", FIELD_STRING, "otpauth:// URL for authenticator apps"),
	{ 0 },
};
static const struct output_field service_fields[] = {
	OUT("id", FIELD_STRING, "5 characters"),
	OUT("osid", FIELD_STRING, "<type>-<id>, also its namespace"),
	OUT("type", FIELD_STRING, "catalog type"),
	OUT("name", FIELD_STRING, "unique in the cluster"),
	OUT("version", FIELD_STRING, "one of the type's versions"),
	OUT("replicas", FIELD_INTEGER, "desired replicas"),
	OUT_NULLABLE("storageMb", FIELD_INTEGER, "volume size; null for a stateless type"),
	OUT_NULLABLE("storageClass", FIELD_STRING, "null for a stateless type"),
	OUT_OBJECT("flags", NULL, "the type's flags: {name: value}"),
	OUT("nodeAffinityTags", FIELD_STRINGS, "runs only on nodes with these tags"),
	OUT_ENUM("status", service_states, "its state (see its status)"),
	OUT("endpoint", FIELD_STRING, "https://<osid>.<domain> or the in-cluster address"),
	OUT("namespace", FIELD_STRING, "its Kubernetes namespace (the osid)"),
	OUT_OBJECT("requires", NULL, "each requires input: the osid it names"),
	OUT_OBJECTS("conditions", condition_fields, "failed updates, deletes, rotations"),
	OUT("createdAt", FIELD_TIME, "when it was created"),
	OUT("updatedAt", FIELD_TIME, "when its spec last changed"),
	{ 0 },
};
static const struct output_field services_fields[] = {
	OUT_OBJECTS("services", service_fields, "oldest first"),
	NEXT_CURSOR,
	{ 0 },
};
static const struct output_field service_created_fields[] = {
	OUT("id", FIELD_STRING, "5 characters"),
	OUT("osid", FIELD_STRING, "<type>-<id>"),
	OUT("name", FIELD_STRING, "its name"),
	OUT("status", FIELD_STRING, "provisioning"),
	OUT("jobId", FIELD_STRING, "its install job"),
	OUT("endpoint", FIELD_STRING, "where it will answer"),
	OUT("warnings", FIELD_STRINGS, "advisories (Longhorn for a database, ...)"),
	{ 0 },
};
static const struct output_field service_replicas_fields[] = {
	OUT("desired", FIELD_INTEGER, "replicas asked for"),
	OUT("ready", FIELD_INTEGER, "replicas ready as reported"),
	{ 0 },
};
static const struct output_field service_status_fields[] = {
	OUT_ENUM("state", service_states, "its state"),
	OUT_OBJECT("replicas", service_replicas_fields, "desired and ready"),
	OUT("reason", FIELD_STRING, "AwaitingReport, CreateFailed, NodeOffline, ReportStale, ..."),
	OUT("message", FIELD_STRING, "for people"),
	OUT_NULLABLE("reportedAt", FIELD_TIME, "the cluster's last report"),
	{ 0 },
};
static const struct output_field service_credentials_fields[] = {
	OUT_NULLABLE("username", FIELD_STRING, "null for a type without one"),
	OUT_NULLABLE("password", FIELD_STRING, "null for a type without one"),
	OUT("host", FIELD_STRING, "in-cluster host"),
	OUT("port", FIELD_INTEGER, "port"),
	OUT_NULLABLE("database", FIELD_STRING, "null for a type without one"),
	OUT("url", FIELD_STRING, "connection URL"),
	{ 0 },
};
static const struct output_field device_fields[] = {
	OUT("deviceId", FIELD_STRING, "pass to approve and poll"),
	OUT("token", FIELD_STRING, "pass to approve and poll"),
	OUT("expiresAt", FIELD_TIME, "when the login attempt ends"),
	OUT("verificationUrl", FIELD_STRING, "where the user approves"),
	{ 0 },
};
static const struct output_field device_poll_fields[] = {
	OUT("success", FIELD_BOOLEAN, "whether the key is issued"),
	OUT_OPTIONAL("error", FIELD_STRING, "success false: pending, expired, invalid, ..."),
	OUT_OPTIONAL("accessToken", FIELD_STRING, "success true: the API key"),
	OUT_OPTIONAL("accountId", FIELD_STRING, "success true: its account"),
	{ 0 },
};
static const struct output_field port_fields[] = {
	OUT("name", FIELD_STRING, "port name"),
	OUT("port", FIELD_INTEGER, "number"),
	OUT("protocol", FIELD_STRING, "TCP or UDP"),
	{ 0 },
};
static const struct output_field flag_fields[] = {
	OUT("name", FIELD_STRING, "flag name"),
	OUT("type", FIELD_STRING, "boolean, integer, string, ..."),
	OUT_NULLABLE("default", FIELD_JSON, "its default value"),
	OUT("description", FIELD_STRING, "what it does"),
	{ 0 },
};
static const struct output_field requires_fields[] = {
	OUT("field", FIELD_STRING, "the create input naming it (postgresOsid, ...)"),
	OUT("type", FIELD_STRING, "the type it must be"),
	OUT("required", FIELD_BOOLEAN, "whether it must be given"),
	{ 0 },
};
static const struct output_field chart_fields[] = {
	OUT("repoUrl", FIELD_STRING, "Helm repository"),
	OUT("chartName", FIELD_STRING, "chart"),
	OUT("version", FIELD_STRING, "chart version"),
	{ 0 },
};
static const struct output_field service_info_fields[] = {
	OUT("type", FIELD_STRING, "the type (path segment of its routes)"),
	OUT("name", FIELD_STRING, "display name"),
	OUT("category", FIELD_STRING, "database, storage, ..."),
	OUT("platform", FIELD_BOOLEAN, "part of the platform"),
	OUT("description", FIELD_STRING, "what it is"),
	OUT("versions", FIELD_STRINGS, "versions that can be installed"),
	OUT("defaultVersion", FIELD_STRING, "installed when none is asked"),
	OUT("defaultReplicas", FIELD_INTEGER, "default replicas"),
	OUT("minReplicas", FIELD_INTEGER, "least replicas"),
	OUT("maxReplicas", FIELD_INTEGER, "most replicas"),
	OUT_NULLABLE("defaultStorageMb", FIELD_INTEGER, "null: stateless"),
	OUT_NULLABLE("minStorageMb", FIELD_INTEGER, "null: stateless"),
	OUT_NULLABLE("maxStorageMb", FIELD_INTEGER, "null: stateless"),
	OUT_OBJECTS("ports", port_fields, "ports it listens on"),
	OUT("http", FIELD_BOOLEAN, "has a public https endpoint"),
	OUT_OBJECTS("flags", flag_fields, "flags it takes"),
	OUT_OBJECTS("requires", requires_fields, "services it uses"),
	OUT("credentials", FIELD_STRINGS, "members of its credentials"),
	OUT_OBJECT("chart", chart_fields, "the Helm chart"),
	{ 0 },
};
static const struct output_field service_info_list_fields[] = {
	OUT_OBJECTS("services", service_info_fields, "every type"),
	{ 0 },
};

/* The CLI manifest (docs/cli.md): a command's input fields carry optional
 * members (format, positional, ...) and a default of their own type, so they
 * are free-form here; tests/integration/it_cli.c decodes them strictly. */
static const struct output_field cli_input_fields[] = {
	OUT_OBJECTS("fields", NULL, "{name, type, description, required, default, enum, ...}"),
	OUT_OBJECTS("flags", NULL, "{name, description, default}: booleans sent in flags:{}"),
	{ 0 },
};
static const struct output_field cli_output_fields[] = {
	OUT("type", FIELD_STRING, "object or array"),
	OUT("fields", FIELD_STRINGS, "the members to show"),
	{ 0 },
};
static const struct output_field cli_command_fields[] = {
	OUT("command", FIELD_STRING, "slash path; a {x} segment is the positional x"),
	OUT("description", FIELD_STRING, "for people"),
	OUT("endpoint", FIELD_STRING, "the route, :aid, :cid and :<name> to fill"),
	OUT("method", FIELD_STRING, "GET, POST, PUT, PATCH or DELETE"),
	OUT("mcp", FIELD_STRINGS, "read, sensitive_read, write or sensitive_write"),
	OUT("returnsJob", FIELD_BOOLEAN, "the answer has a jobId"),
	OUT_OBJECT("input", cli_input_fields, "GET and DELETE: query; others: body"),
	OUT_OBJECT("output", cli_output_fields, "how to show the answer"),
	{ 0 },
};
static const struct output_field cli_manifest_fields[] = {
	OUT("version", FIELD_STRING, "digest of the commands"),
	OUT_OBJECTS("commands", cli_command_fields, "one per route a token may call"),
	{ 0 },
};
static const struct output_field cli_version_fields[] = {
	OUT("version", FIELD_STRING, "digest of the manifest's commands"),
	{ 0 },
};
static const struct output_field cli_toolsets_fields[] = {
	OUT("scoped", FIELD_BOOLEAN, "the manifest is the account's (by the caller's role)"),
	OUT("serviceTypes", FIELD_STRINGS, "the catalog's types"),
	OUT("virtInstalled", FIELD_BOOLEAN, "virtual machines: not offered"),
	{ 0 },
};

static const char *const deployment_statuses[] = { "pending",	"building", "deploying",
						   "succeeded", "failed",   "superseded",
						   "cancelled", NULL };
static const char *const deployment_triggers[] = { "api", "webhook", "rollback", NULL };
static const struct output_field app_repo_fields[] = {
	OUT("provider", FIELD_STRING, "github"),
	OUT("url", FIELD_STRING, "https://github.com/<owner>/<repo>"),
	OUT("branch", FIELD_STRING, "the branch deployed"),
	{ 0 },
};
static const struct output_field app_port_fields[] = {
	OUT("port", FIELD_INTEGER, "a port it listens on"),
	OUT("domains", FIELD_STRINGS, "where it is served"),
	{ 0 },
};
#define APP_MEMBERS                                                                                \
	OUT("id", FIELD_STRING, "5 characters, unique"),                                           \
		OUT("osid", FIELD_STRING, "app-<id>, also its namespace"),                         \
		OUT("name", FIELD_STRING, "unique in the cluster"),                                \
		OUT("deployType", FIELD_STRING, "git"),                                            \
		OUT_OBJECT("repo", app_repo_fields, "what it is built from"),                      \
		OUT("port", FIELD_INTEGER, "its first port"),                                      \
		OUT_OBJECTS("servicePortMappings", app_port_fields, "its ports"),                  \
		OUT("domains", FIELD_STRINGS, "its generated domains"),                            \
		OUT("replicas", FIELD_INTEGER, "desired replicas"),                                \
		OUT_ENUM("buildMethod", build_methods, "how it is built"),                         \
		OUT("dockerfile", FIELD_STRING, "relative to sourceDir"),                          \
		OUT("sourceDir", FIELD_STRING, "relative to the repository"),                      \
		OUT_NULLABLE("healthCheckPath", FIELD_STRING, "its probes' path"),                 \
		OUT_NULLABLE("healthCheckPort", FIELD_INTEGER, "its probes' port"),                \
		OUT_NULLABLE("cpuRequestMc", FIELD_INTEGER, "millicores"),                         \
		OUT_NULLABLE("memoryRequestMb", FIELD_INTEGER, "MiB"),                             \
		OUT_NULLABLE("cpuLimitMc", FIELD_INTEGER, "millicores"),                           \
		OUT_NULLABLE("memoryLimitMb", FIELD_INTEGER, "MiB"),                               \
		OUT_ENUM("deploymentStrategy", deployment_strategies, "rolling or recreate"),      \
		OUT("hasAccessToken", FIELD_BOOLEAN, "a token for a private repository is set"),   \
		OUT("status", FIELD_STRING, "its state (see its status)"),                         \
		OUT("webhookUrl", FIELD_STRING, "GitHub push webhook: deploys the branch"),        \
		OUT("createdAt", FIELD_TIME, "when it was created"),                               \
		OUT("updatedAt", FIELD_TIME, "when its settings last changed")
static const struct output_field app_item_fields[] = { APP_MEMBERS, { 0 } };
static const struct output_field app_fields[] = {
	APP_MEMBERS,
	OUT_OBJECT("requires", NULL, "{alias: {type, id, osid, env}}"),
	{ 0 },
};
static const struct output_field apps_fields[] = {
	OUT_OBJECTS("apps", app_item_fields, "oldest first"),
	NEXT_CURSOR,
	{ 0 },
};
static const struct output_field app_created_fields[] = {
	OUT("jobId", FIELD_STRING, "its first deploy: GET /jobs/{id}"),
	OUT("deploymentId", FIELD_STRING, "that deploy"),
	OUT("id", FIELD_STRING, "the app's id"),
	OUT("osid", FIELD_STRING, "app-<id>"),
	OUT("webhookUrl", FIELD_STRING, "the repository's push webhook URL"),
	OUT("webhookSecret", FIELD_STRING, "the webhook's secret (shown once)"),
	OUT("warnings", FIELD_STRINGS, "advice about the settings"),
	{ 0 },
};
static const struct output_field replica_counts_fields[] = {
	OUT("desired", FIELD_INTEGER, "replicas asked for"),
	OUT("ready", FIELD_INTEGER, "replicas ready"),
	{ 0 },
};
static const struct output_field app_status_fields[] = {
	OUT("state", FIELD_STRING, "provisioning, healthy, degraded, unhealthy, failed, ..."),
	OUT("reason", FIELD_STRING, "CamelCase reason"),
	OUT_OBJECT("replicas", replica_counts_fields, "as the cluster reports them"),
	OUT("message", FIELD_STRING, "for people"),
	OUT_NULLABLE("reportedAt", FIELD_TIME, "the cluster's last report"),
	{ 0 },
};
static const struct output_field network_access_fields[] = {
	OUT("type", FIELD_STRING, "RUNOS_PUBLIC_<port> or IN_CLUSTER_<port>"),
	OUT("name", FIELD_STRING, "the host"),
	OUT("link", FIELD_STRING, "the URL"),
	{ 0 },
};
static const struct output_field env_vars_fields[] = {
	OUT_OBJECT("envVars", NULL, "{KEY: value}; secret sets: {KEY: {set: true}}"),
	{ 0 },
};
static const struct output_field app_requires_fields[] = {
	OUT_OBJECT("requires", NULL, "{alias: {type, id, osid, env}}"),
	{ 0 },
};
static const struct output_field dependency_fields[] = {
	OUT("alias", FIELD_STRING, "its name in requires"),
	OUT("type", FIELD_STRING, "catalog type"),
	OUT("id", FIELD_STRING, "the service's id"),
	OUT("osid", FIELD_STRING, "the service's osid"),
	OUT("lifecycle", FIELD_STRING, "provisioning, installed, failed, deleting"),
	{ 0 },
};
static const struct output_field dependencies_fields[] = {
	OUT_OBJECTS("dependencies", dependency_fields, "the services it requires"),
	{ 0 },
};
static const struct output_field deploy_started_fields[] = {
	OUT("jobId", FIELD_STRING, "the job: GET /jobs/{id}"),
	OUT("deploymentId", FIELD_STRING, "the deployment it makes"),
	{ 0 },
};
static const struct output_field deployment_fields[] = {
	OUT("id", FIELD_STRING, "deployment id"),
	OUT_NULLABLE("jobId", FIELD_STRING, "its job"),
	OUT_NULLABLE("sha", FIELD_STRING, "the commit (once built)"),
	OUT_NULLABLE("imageTag", FIELD_STRING, "harbor.<domain>/<osid>/app:<sha>"),
	OUT_NULLABLE("imageDigest", FIELD_STRING, "sha256:..."),
	OUT_ENUM("status", deployment_statuses, "where it is"),
	OUT_ENUM("trigger", deployment_triggers, "what started it"),
	OUT_NULLABLE("rollbackOf", FIELD_STRING, "a rollback: the deployment it re-applies"),
	OUT_NULLABLE("message", FIELD_STRING, "why it failed or was cancelled"),
	OUT("createdAt", FIELD_TIME, "when it was asked for"),
	OUT_NULLABLE("finishedAt", FIELD_TIME, "when it ended"),
	{ 0 },
};
static const struct output_field deployments_fields[] = {
	OUT_OBJECTS("deployments", deployment_fields, "newest first"),
	NEXT_CURSOR,
	{ 0 },
};
static const struct output_field log_entry_fields[] = {
	OUT("podName", FIELD_STRING, "the pod"),
	OUT("containerName", FIELD_STRING, "its container"),
	OUT_NULLABLE("timestamp", FIELD_STRING, "RFC 3339, as the container runtime wrote it"),
	OUT("message", FIELD_STRING, "the line"),
	{ 0 },
};
static const struct output_field app_logs_fields[] = {
	OUT_OBJECTS("entries", log_entry_fields, "oldest first per container"),
	{ 0 },
};
static const char *const domain_statuses[] = { "pending", "verified", "failed", NULL };
static const char *const certificate_statuses[] = { "none", "pending", "issued", "failed", NULL };
static const struct output_field domain_txt_fields[] = {
	OUT("name", FIELD_STRING, "_runos-challenge.<fqdn>"),
	OUT("value", FIELD_STRING, "the token the TXT record holds"),
	{ 0 },
};
static const struct output_field domain_verification_fields[] = {
	OUT("type", FIELD_STRING, "CNAME"),
	OUT("name", FIELD_STRING, "the record's name: the fqdn"),
	OUT("value", FIELD_STRING, "what it points at: the port's generated domain"),
	OUT_OBJECT("txt", domain_txt_fields, "or this TXT record instead"),
	{ 0 },
};
static const struct output_field domain_certificate_fields[] = {
	OUT_ENUM("status", certificate_statuses, "its cert-manager Certificate"),
	{ 0 },
};
static const struct output_field domain_fields[] = {
	OUT("fqdn", FIELD_STRING, "lower-case, no trailing dot"),
	OUT("port", FIELD_INTEGER, "the app's port it routes to"),
	OUT_ENUM("status", domain_statuses, "pending until its DNS record is seen"),
	OUT_OBJECT("verification", domain_verification_fields, "the DNS record to make"),
	OUT_OBJECT("certificate", domain_certificate_fields, "its TLS certificate"),
	OUT_NULLABLE("checkedAt", FIELD_TIME, "its last DNS check"),
	OUT("createdAt", FIELD_TIME, "when it was added"),
	{ 0 },
};
static const struct output_field domains_fields[] = {
	OUT_OBJECTS("domains", domain_fields, "oldest first"),
	{ 0 },
};
static const struct output_field webhook_secret_fields[] = {
	OUT("webhookUrl", FIELD_STRING, "the push webhook URL"),
	OUT("webhookSecret", FIELD_STRING, "the new secret (shown once)"),
	OUT("warning", FIELD_STRING, "store it now"),
	{ 0 },
};
/* A GitHub delivery's answer: which members depends on the event (docs/apps.md). */
static const struct output_field github_delivery_fields[] = {
	OUT_OPTIONAL("jobId", FIELD_STRING, "a push to the tracked branch: the deploy's job"),
	OUT_OPTIONAL("deploymentId", FIELD_STRING, "a push to the tracked branch: its deployment"),
	OUT_OPTIONAL("ignored", FIELD_BOOLEAN, "true: nothing was started (reason says why)"),
	OUT_OPTIONAL("reason", FIELD_STRING, "why it was ignored"),
	OUT_OPTIONAL("ok", FIELD_BOOLEAN, "a ping: true"),
	OUT_OPTIONAL("zen", FIELD_STRING, "a ping: GitHub's zen, echoed"),
	{ 0 },
};

/* What each route answers on success (see struct output_spec). */
static const struct output_spec cli_manifest_output = { .type = "cliManifest",
							.status = 200,
							.fields = cli_manifest_fields };
static const struct output_spec cli_version_output = { .type = "cliManifestVersion",
						       .status = 200,
						       .fields = cli_version_fields };
static const struct output_spec cli_toolsets_output = { .type = "cliToolsets",
							.status = 200,
							.fields = cli_toolsets_fields };
static const struct output_spec openapi_output = { .type = "openapiDocument",
						   .status = 200,
						   .media_type = "application/json",
						   .description = "The OpenAPI 3.1 document" };
static const struct output_spec docs_page_output = {
	.type = "docsPage",
	.status = 200,
	.media_type = "text/html",
	.description = "The page (Swagger UI) that renders /openapi.json for people"
};
static const struct output_spec docs_script_output = { .type = "docsScript",
						       .status = 200,
						       .media_type = "text/javascript",
						       .description =
							       "A script of the /docs page" };
static const struct output_spec docs_style_output = { .type = "docsStyle",
						      .status = 200,
						      .media_type = "text/css",
						      .description =
							      "The style sheet of the /docs page" };
static const struct output_spec no_body = { .type = "none", .status = 204, .fields = NULL };
static const struct output_spec health_output = { .type = "health",
						  .status = 200,
						  .fields = health_fields };
static const struct output_spec signup_output = {
	.type = "signup", .status = 201, .fields = signup_fields, .sensitive = true
};
static const struct output_spec session_output = {
	.type = "session", .status = 200, .fields = session_fields, .sensitive = true
};
static const struct output_spec user_output = { .type = "user",
						.status = 200,
						.fields = user_fields };
static const struct output_spec accounts_output = { .type = "accounts",
						    .status = 200,
						    .fields = accounts_fields };
static const struct output_spec new_account_output = { .type = "myAccount",
						       .status = 201,
						       .fields = new_account_fields };
static const struct output_spec account_output = { .type = "account",
						   .status = 200,
						   .fields = account_fields };
static const struct output_spec new_api_key_output = {
	.type = "apiKeyWithToken", .status = 201, .fields = new_api_key_fields, .sensitive = true
};
static const struct output_spec api_keys_output = { .type = "apiKeys",
						    .status = 200,
						    .fields = api_keys_fields };
static const struct output_spec api_key_output = { .type = "apiKey",
						   .status = 200,
						   .fields = api_key_fields };
static const struct output_spec cluster_output = {
	.type = "cluster", .status = 200, .fields = cluster_fields, .post_status = 201
};
static const struct output_spec clusters_output = { .type = "clusters",
						    .status = 200,
						    .fields = clusters_fields };
static const struct output_spec kubeconfig_output = { .type = "kubeconfig",
						      .status = 200,
						      .fields = NULL,
						      .media_type = "text/yaml",
						      .sensitive = true };
static const struct output_spec deployment_ready_output = { .type = "deploymentReadiness",
							    .status = 200,
							    .fields = deployment_ready_fields };
static const struct output_spec cluster_domains_output = { .type = "clusterDomains",
							   .status = 200,
							   .fields = cluster_domains_fields };
static const struct output_spec node_output = { .type = "node",
						.status = 200,
						.fields = node_fields };
static const struct output_spec nodes_output = { .type = "nodes",
						 .status = 200,
						 .fields = nodes_fields };
static const struct output_spec modules_output = { .type = "modules",
						   .status = 200,
						   .fields = modules_fields };
static const struct output_spec new_join_token_output = { .type = "joinTokenWithSecret",
							  .status = 201,
							  .fields = new_join_token_fields,
							  .sensitive = true };
static const struct output_spec join_tokens_output = { .type = "joinTokens",
						       .status = 200,
						       .fields = join_tokens_fields };
static const struct output_spec job_started_output = { .type = "jobStarted",
						       .status = 202,
						       .fields = job_started_fields };
static const struct output_spec job_output = { .type = "job", .status = 200, .fields = job_fields };
static const struct output_spec jobs_output = { .type = "jobs",
						.status = 200,
						.fields = jobs_fields };
static const struct output_spec workitems_output = { .type = "workItems",
						     .status = 200,
						     .fields = workitems_fields };
static const struct output_spec step_logs_output = { .type = "workItemLogs",
						     .status = 200,
						     .fields = step_logs_fields };
static const struct output_spec job_cancel_output = { .type = "jobCancelled",
						      .status = 202,
						      .fields = job_cancel_fields };
static const struct output_spec member_output = { .type = "member",
						  .status = 200,
						  .fields = member_fields };
static const struct output_spec members_output = { .type = "members",
						   .status = 200,
						   .fields = members_fields };
static const struct output_spec invitation_output = {
	.type = "invitation", .status = 201, .fields = invitation_fields, .sensitive = true
};
static const struct output_spec invitation_accepted_output = {
	.type = "invitationAccepted", .status = 200, .fields = invitation_accepted_fields
};
static const struct output_spec left_output = { .type = "membershipLeft",
						.status = 200,
						.fields = left_fields };
static const struct output_spec audit_output = { .type = "auditEvents",
						 .status = 200,
						 .fields = audit_fields };
static const struct output_spec metrics_output = {
	.type = "prometheusText", .status = 200, .fields = NULL, .media_type = "text/plain"
};
static const struct output_spec totp_setup_output = {
	.type = "totpSecret", .status = 200, .fields = totp_setup_fields, .sensitive = true
};
static const struct output_spec service_output = { .type = "service",
						   .status = 200,
						   .fields = service_fields };
static const struct output_spec services_output = { .type = "services",
						    .status = 200,
						    .fields = services_fields };
static const struct output_spec service_created_output = { .type = "serviceCreated",
							   .status = 202,
							   .fields = service_created_fields };
static const struct output_spec service_status_output = { .type = "serviceStatus",
							  .status = 200,
							  .fields = service_status_fields };
static const struct output_spec service_credentials_output = { .type = "serviceCredentials",
							       .status = 200,
							       .fields = service_credentials_fields,
							       .sensitive = true };
static const struct output_spec device_output = { .type = "deviceLogin",
						  .status = 200,
						  .fields = device_fields };
static const struct output_spec device_poll_output = {
	.sensitive = true, .type = "devicePoll", .status = 200, .fields = device_poll_fields
};
static const struct output_spec installer_output = { .type = "installer",
						     .status = 200,
						     .media_type = "text/x-shellscript",
						     .error_media_type = "text/plain" };
static const struct output_spec service_info_list_output = { .type = "serviceTypes",
							     .status = 200,
							     .fields = service_info_list_fields };
static const struct output_spec service_info_output = { .type = "serviceType",
							.status = 200,
							.fields = service_info_fields };

static const struct output_spec app_output = { .type = "app", .status = 200, .fields = app_fields };
static const struct output_spec apps_output = { .type = "apps",
						.status = 200,
						.fields = apps_fields };
static const struct output_spec app_created_output = {
	.type = "appCreated", .status = 202, .fields = app_created_fields, .sensitive = true
};
static const struct output_spec app_status_output = { .type = "appStatus",
						      .status = 200,
						      .fields = app_status_fields };
static const struct output_spec network_access_output = {
	.type = "networkAccess", .status = 200, .fields = network_access_fields, .list = true
};
static const struct output_spec env_vars_output = { .type = "envVars",
						    .status = 200,
						    .fields = env_vars_fields };
static const struct output_spec app_requires_output = { .type = "appRequires",
							.status = 200,
							.fields = app_requires_fields };
static const struct output_spec dependencies_output = { .type = "appDependencies",
							.status = 200,
							.fields = dependencies_fields };
static const struct output_spec deploy_started_output = { .type = "deployStarted",
							  .status = 202,
							  .fields = deploy_started_fields };
static const struct output_spec deployments_output = { .type = "deployments",
						       .status = 200,
						       .fields = deployments_fields };
static const struct output_spec app_logs_output = { .type = "appLogs",
						    .status = 200,
						    .fields = app_logs_fields };
static const struct output_spec webhook_secret_output = {
	.type = "webhookSecret", .status = 200, .fields = webhook_secret_fields, .sensitive = true
};
static const struct output_spec github_delivery_output = {
	.type = "githubDelivery",
	.status = 202,
	.fields = github_delivery_fields,
	.description =
		"A push: {jobId, deploymentId} of the deploy of `after`, or {ignored, reason}"
};
static const struct output_spec github_delivery_answered_output = {
	.type = "githubDeliveryAnswered",
	.status = 200,
	.fields = github_delivery_fields,
	.description = "A ping ({ok, zen}), or a repeated X-GitHub-Delivery: the first answer again"
};

static const struct output_spec app_domain_output = {
	.type = "appDomain", .status = 200, .fields = domain_fields, .post_status = 201
};
static const struct output_spec app_domain_checked_output = { .type = "appDomain",
							      .status = 200,
							      .fields = domain_fields };
static const struct output_spec app_domains_output = { .type = "appDomains",
						       .status = 200,
						       .fields = domains_fields };

static const struct output_field no_op_fields[] = {
	OUT("osid", FIELD_STRING, "the service or app"),
	OUT("noOp", FIELD_BOOLEAN, "true: nothing was asked that is not so already"),
	OUT("message", FIELD_STRING, "for people"),
	{ 0 },
};
static const struct output_spec service_unchanged_output = {
	.type = "serviceUnchanged",
	.status = 200,
	.fields = no_op_fields,
	.description = "Nothing to change: replicas, version and storage are as asked"
};
static const struct output_spec cluster_teardown_output = {
	.type = "jobStarted",
	.status = 202,
	.fields = job_started_fields,
	.description = "The cluster has nodes: their teardown job deletes it"
};
static const struct output_spec app_unchanged_output = {
	.type = "appUnchanged",
	.status = 200,
	.fields = no_op_fields,
	.description = "Nothing to roll out: nothing changed, or only the name"
};
static const struct output_spec domain_unrouted_output = {
	.type = "jobStarted",
	.status = 202,
	.fields = job_started_fields,
	.description = "The domain was verified and the app runs: a job re-applies its Ingress"
};
#define VPN_DEVICE_SHORT_MEMBERS                                                                   \
	OUT("id", FIELD_STRING, "device id"), OUT("name", FIELD_STRING, "what the device is"),     \
		OUT("address", FIELD_STRING,                                                       \
		    "its wg1 address, of " IDALLOC_DEVICE_CIDR " (unique in the account)"),        \
		OUT("publicKey", FIELD_STRING, "its WireGuard public key")
static const struct output_field vpn_device_created_fields[] = {
	VPN_DEVICE_SHORT_MEMBERS,
	OUT("createdAt", FIELD_TIME, "when it was enrolled"),
	{ 0 },
};
static const struct output_field vpn_device_fields[] = {
	VPN_DEVICE_SHORT_MEMBERS,
	OUT("ownerUid", FIELD_STRING, "the member who enrolled it"),
	OUT("cids", FIELD_STRINGS, "the clusters it reaches"),
	OUT("createdAt", FIELD_TIME, "when it was enrolled"),
	OUT("updatedAt", FIELD_TIME, "when it last changed"),
	{ 0 },
};
static const struct output_field vpn_devices_fields[] = {
	OUT_OBJECTS("devices", vpn_device_fields, "the devices the caller may see"),
	NEXT_CURSOR,
	{ 0 },
};
static const struct output_field vpn_session_fields[] = {
	OUT("ownerUid", FIELD_STRING, "the member who enrolled the device"),
	OUT("name", FIELD_STRING, "the device's name"),
	OUT("createdAt", FIELD_TIME, "when it was enrolled"),
	{ 0 },
};
static const struct output_field vpn_state_device_fields[] = {
	OUT("id", FIELD_STRING, "device id"),
	OUT("address", FIELD_STRING, "its wg1 address ([Interface] Address, /32)"),
	OUT_OBJECT("session", vpn_session_fields, "the enrolment the device belongs to"),
	{ 0 },
};
static const struct output_field vpn_server_fields[] = {
	OUT_NULLABLE("publicKey", FIELD_STRING,
		     "the wg1 key of a control-plane node serving the cluster; null until one "
		     "has reported it"),
	OUT_NULLABLE("endpoint", FIELD_STRING, "its host:port; null likewise"),
	{ 0 },
};
static const struct output_field vpn_dns_fields[] = {
	OUT("resolver", FIELD_STRING, "the cluster's DNS resolver (its VIP)"),
	OUT("zones", FIELD_STRINGS, "the names it resolves (the cluster's domain)"),
	{ 0 },
};
static const struct output_field vpn_state_cluster_fields[] = {
	OUT("cid", FIELD_STRING, "cluster id"),
	OUT("connected", FIELD_BOOLEAN,
	    "a control-plane node of the cluster has reported its wg1 key: the device can connect"),
	OUT_OBJECT("server", vpn_server_fields, "the [Peer] to connect to"),
	OUT("allowedIps", FIELD_STRINGS, "the cluster's wg0 subnet and its VIP"),
	OUT_OBJECT("dns", vpn_dns_fields, "name resolution through the tunnel"),
	{ 0 },
};
static const struct output_field vpn_state_fields[] = {
	OUT_OBJECT("device", vpn_state_device_fields, "the device"),
	OUT_OBJECTS("clusters", vpn_state_cluster_fields, "the clusters it reaches, by cid"),
	OUT("revision", FIELD_STRING, "changes whenever anything above does; also the ETag"),
	{ 0 },
};
static const struct output_spec vpn_device_created_output = { .type = "vpnDeviceCreated",
							      .status = 201,
							      .fields = vpn_device_created_fields };
static const struct output_spec vpn_device_output = { .type = "vpnDevice",
						      .status = 200,
						      .fields = vpn_device_fields };
static const struct output_spec vpn_devices_output = { .type = "vpnDevices",
						       .status = 200,
						       .fields = vpn_devices_fields };
static const struct output_spec vpn_state_output = {
	.type = "vpnDeviceState",
	.status = 200,
	.fields = vpn_state_fields,
	.description = "The state; 304 without a body when If-None-Match holds its ETag"
};
static const struct output_spec vpn_config_output = {
	.type = "wgQuickConfig",
	.status = 200,
	.fields = NULL,
	.media_type = "text/plain",
	.description = "A wg-quick file whose PrivateKey the client fills in ({{privateKey}})"
};

const struct route_answer api_route_answers[] = {
	{ api_services_update, &service_unchanged_output },
	{ api_apps_update, &app_unchanged_output },
	{ api_clusters_delete, &cluster_teardown_output },
	{ api_webhooks_github, &github_delivery_answered_output },
	{ api_apps_domains_delete, &domain_unrouted_output },
	{ NULL, NULL },
};

const struct route api_routes[] = {
	{ "GET", "/healthz", api_healthz, ROUTE_PUBLIC, ROLE_NONE, false, no_input, &health_output,
	  "The process is running", NULL, NULL },
	{ "GET", "/metrics", api_metrics, ROUTE_PUBLIC, ROLE_NONE, false, no_input, &metrics_output,
	  "Prometheus metrics (text format)", NULL, NULL },
	{ "GET", "/readyz", api_readyz, ROUTE_PUBLIC, ROLE_NONE, false, no_input, &health_output,
	  "The database answers and migrations are applied", NULL, NULL },

	{ "GET", "/openapi.json", api_openapi, ROUTE_PUBLIC, ROLE_NONE, false, no_input,
	  &openapi_output, "This API's OpenAPI 3.1 document", NULL, NULL },
	{ "GET", "/docs", api_docs, ROUTE_PUBLIC, ROLE_NONE, false, no_input, &docs_page_output,
	  "The API document for people (Swagger UI; 503 docs.not_built without its files)", NULL,
	  NULL },
	{ "GET", "/docs/docs.js", api_docs, ROUTE_PUBLIC, ROLE_NONE, false, no_input,
	  &docs_script_output, "The /docs page's own script", NULL, NULL },
	{ "GET", "/docs/swagger-ui-bundle.js", api_docs, ROUTE_PUBLIC, ROLE_NONE, false, no_input,
	  &docs_script_output, "Swagger UI's script, for the /docs page", NULL, NULL },
	{ "GET", "/docs/swagger-ui.css", api_docs, ROUTE_PUBLIC, ROLE_NONE, false, no_input,
	  &docs_style_output, "Swagger UI's style sheet, for the /docs page", NULL, NULL },

	{ "GET", "/cli/manifest", api_cli_manifest, ROUTE_PUBLIC, ROLE_NONE, false, no_input,
	  &cli_manifest_output, "The runos CLI's commands: every one", NULL, NULL },
	{ "GET", "/cli/manifest-version", api_cli_manifest_version, ROUTE_PUBLIC, ROLE_NONE, false,
	  no_input, &cli_version_output, "The version of GET /cli/manifest", NULL, NULL },
	{ "GET", "/:aid/cli/manifest", api_cli_manifest, ROUTE_ACCOUNT, ROLE_VIEWER, false,
	  no_input, &cli_manifest_output, "The runos CLI's commands that the caller may call", NULL,
	  NULL },
	{ "GET", "/:aid/cli/manifest-version", api_cli_manifest_version, ROUTE_ACCOUNT, ROLE_VIEWER,
	  false, no_input, &cli_version_output, "The version of the caller's CLI manifest", NULL,
	  NULL },
	{ "GET", "/:aid/cli/toolsets", api_cli_toolsets, ROUTE_ACCOUNT, ROLE_VIEWER, false,
	  no_input, &cli_toolsets_output, "What the CLI may offer in the account", NULL, NULL },

	{ "POST", "/auth/signup", api_auth_signup, ROUTE_PUBLIC, ROLE_NONE, false, signup_input,
	  &signup_output, "Create a user, a personal account and a session", NULL, NULL },
	{ "POST", "/auth/login", api_auth_login, ROUTE_PUBLIC, ROLE_NONE, false, login_input,
	  &session_output, "Start a session", NULL, NULL },
	{ "POST", "/auth/logout", api_auth_logout, ROUTE_SESSION, ROLE_NONE, false, no_input,
	  &no_body, "Revoke the session used", NULL, NULL },

	{ "POST", "/auth/device/initiate", api_device_initiate, ROUTE_PUBLIC, ROLE_NONE, false,
	  no_input, &device_output, "CLI device login: start", NULL, NULL },
	{ "POST", "/auth/device/approve", api_device_approve, ROUTE_SESSION, ROLE_NONE, false,
	  device_approve_input, &no_body, "Approve a device login for an account", NULL, NULL },
	{ "POST", "/auth/device/poll", api_device_poll, ROUTE_PUBLIC, ROLE_NONE, false,
	  device_poll_input, &device_poll_output, "CLI device login: the API key, once approved",
	  NULL, NULL },
	{ "GET", "/user", api_user_get, ROUTE_USER, ROLE_NONE, false, no_input, &user_output,
	  "The caller's user", NULL, NULL },
	{ "PATCH", "/user", api_user_update, ROUTE_SESSION, ROLE_NONE, false, user_update_input,
	  &user_output, "Rename, or change the password (revokes other sessions)", NULL, NULL },
	{ "POST", "/user/mfa/totp", api_mfa_totp_setup, ROUTE_SESSION, ROLE_NONE, false, no_input,
	  &totp_setup_output, "A new TOTP secret (pending until a code is verified)", NULL, NULL },
	{ "POST", "/user/mfa/totp/verify", api_mfa_totp_verify, ROUTE_SESSION, ROLE_NONE, false,
	  totp_verify_input, &no_body, "Verify a code of the pending secret: MFA on", NULL, NULL },
	{ "GET", "/user/accounts", api_accounts_list, ROUTE_USER, ROLE_NONE, false, no_input,
	  &accounts_output, "Accounts of the caller", list_query, NULL },
	{ "POST", "/user/accounts", api_accounts_create, ROUTE_SESSION, ROLE_NONE, false,
	  account_create_input, &new_account_output, "Create an account owned by the caller", NULL,
	  NULL },

	{ "GET", "/:aid/account/profile", api_account_profile_get, ROUTE_ACCOUNT, ROLE_VIEWER,
	  false, no_input, &account_output, "The account's profile", NULL, NULL },
	{ "PATCH", "/:aid/account/profile", api_account_profile_update, ROUTE_ACCOUNT, ROLE_ADMIN,
	  false, profile_update_input, &account_output, "Change the account's profile", NULL,
	  NULL },

	{ "POST", "/:aid/api-keys", api_api_keys_create, ROUTE_ACCOUNT, ROLE_ADMIN, true,
	  api_key_create_input, &new_api_key_output, "Create a personal access token", NULL, NULL },
	{ "GET", "/:aid/api-keys", api_api_keys_list, ROUTE_ACCOUNT, ROLE_ADMIN, false, no_input,
	  &api_keys_output, "List API keys (never their tokens)", list_query, NULL },
	{ "GET", "/:aid/api-keys/:id", api_api_keys_get, ROUTE_ACCOUNT, ROLE_ADMIN, false, no_input,
	  &api_key_output, "Show an API key", NULL, NULL },
	{ "PATCH", "/:aid/api-keys/:id", api_api_keys_update, ROUTE_ACCOUNT, ROLE_ADMIN, false,
	  api_key_update_input, &api_key_output, "Rename an API key", NULL, NULL },
	{ "DELETE", "/:aid/api-keys/:id", api_api_keys_delete, ROUTE_ACCOUNT, ROLE_ADMIN, false,
	  no_input, &no_body, "Revoke an API key", NULL, NULL },

	{ "POST", "/:aid/vpn/devices", api_vpn_devices_create, ROUTE_ACCOUNT, ROLE_MEMBER, false,
	  vpn_device_create_input, &vpn_device_created_output,
	  "Enrol a device (its WireGuard public key) on the users' VPN (wg1)", NULL, NULL },
	{ "GET", "/:aid/vpn/devices", api_vpn_devices_list, ROUTE_ACCOUNT, ROLE_MEMBER, false,
	  no_input, &vpn_devices_output, "VPN devices: a member's own, an admin's every one",
	  list_query, NULL },
	{ "GET", "/:aid/vpn/devices/:id", api_vpn_devices_get, ROUTE_ACCOUNT, ROLE_MEMBER, false,
	  no_input, &vpn_device_output, "Show a VPN device", NULL, NULL },
	{ "PATCH", "/:aid/vpn/devices/:id", api_vpn_devices_update, ROUTE_ACCOUNT, ROLE_MEMBER,
	  false, vpn_device_update_input, &vpn_device_output, "Rename a VPN device", NULL, NULL },
	{ "DELETE", "/:aid/vpn/devices/:id", api_vpn_devices_delete, ROUTE_ACCOUNT, ROLE_MEMBER,
	  false, no_input, &no_body,
	  "Revoke a VPN device: its clusters' peer sets are sent without it", NULL, NULL },
	{ "PUT", "/:aid/vpn/devices/:id/clusters", api_vpn_devices_clusters, ROUTE_ACCOUNT,
	  ROLE_MEMBER, false, vpn_device_clusters_input, &vpn_device_output,
	  "Choose the clusters a VPN device reaches", NULL, NULL },
	{ "GET", "/:aid/vpn/devices/:id/state", api_vpn_devices_state, ROUTE_ACCOUNT, ROLE_MEMBER,
	  false, no_input, &vpn_state_output,
	  "A VPN device's clusters and their wg1 servers (ETag, If-None-Match)", NULL, NULL },
	{ "GET", "/:aid/vpn/devices/:id/config", api_vpn_devices_config, ROUTE_ACCOUNT, ROLE_MEMBER,
	  false, no_input, &vpn_config_output,
	  "A wg-quick file of a VPN device for ?cid= (text/plain; the private key left to fill)",
	  vpn_config_query, NULL },

	{ "POST", "/:aid/clusters", api_clusters_create, ROUTE_ACCOUNT, ROLE_ADMIN, false,
	  cluster_create_input, &cluster_output, "Create a cluster (allocates cid, index, domain)",
	  NULL, NULL },
	{ "GET", "/:aid/clusters", api_clusters_list, ROUTE_ACCOUNT, ROLE_VIEWER, false, no_input,
	  &clusters_output, "List clusters; ?status= filters", clusters_query, NULL },
	{ "GET", "/:aid/clusters/:cid", api_clusters_get, ROUTE_ACCOUNT, ROLE_VIEWER, false,
	  no_input, &cluster_output, "Show a cluster", NULL, NULL },
	{ "PATCH", "/:aid/clusters/:cid", api_clusters_update, ROUTE_ACCOUNT, ROLE_ADMIN, false,
	  cluster_update_input, &cluster_output, "Rename or describe a cluster", NULL, NULL },
	{ "DELETE", "/:aid/clusters/:cid", api_clusters_delete, ROUTE_ACCOUNT, ROLE_ADMIN, false,
	  no_input, &no_body, "Delete a cluster", NULL, NULL },
	{ "GET", "/:aid/clusters/:cid/kubeconfig", api_clusters_kubeconfig, ROUTE_ACCOUNT,
	  ROLE_ADMIN, false, no_input, &kubeconfig_output,
	  "The cluster's kubeconfig (text/yaml) once it is active", NULL, NULL },
	{ "GET", "/:aid/clusters/:cid/is-app-deployment-ready", api_clusters_deployment_ready,
	  ROUTE_ACCOUNT, ROLE_VIEWER, false, no_input, &deployment_ready_output,
	  "Whether Harbor, MinIO and BuildKit are ready for app builds", NULL, NULL },
	{ "GET", "/:aid/cluster-domains", api_cluster_domains_list, ROUTE_ACCOUNT, ROLE_VIEWER,
	  false, no_input, &cluster_domains_output, "Domains of the clusters; ?cid= filters",
	  cluster_domains_query, NULL },

	{ "GET", "/:aid/:cid/nodes", api_nodes_list, ROUTE_ACCOUNT, ROLE_VIEWER, false, no_input,
	  &nodes_output, "Nodes of a cluster", list_query, NULL },
	{ "GET", "/:aid/:cid/nodes/:nid", api_nodes_get, ROUTE_ACCOUNT, ROLE_VIEWER, false,
	  no_input, &node_output, "Show a node", NULL, NULL },
	{ "PATCH", "/:aid/:cid/nodes/:nid", api_nodes_update, ROUTE_ACCOUNT, ROLE_ADMIN, false,
	  node_update_input, &node_output, "Rename a node", NULL, NULL },
	{ "DELETE", "/:aid/:cid/nodes/:nid", api_nodes_delete, ROUTE_ACCOUNT, ROLE_ADMIN, false,
	  no_input, &job_started_output,
	  "Delete a node: its certificate is revoked at once, its teardown queued", NULL, NULL },

	{ "POST", "/:aid/:cid/join-tokens", api_join_tokens_create, ROUTE_ACCOUNT, ROLE_ADMIN,
	  false, join_token_create_input, &new_join_token_output,
	  "Create a join token (shown once) with its install command", NULL, NULL },
	{ "GET", "/:aid/:cid/join-tokens", api_join_tokens_list, ROUTE_ACCOUNT, ROLE_ADMIN, false,
	  no_input, &join_tokens_output, "Join tokens of a cluster (never their secrets)",
	  list_query, NULL },
	{ "DELETE", "/:aid/:cid/join-tokens/:id", api_join_tokens_delete, ROUTE_ACCOUNT, ROLE_ADMIN,
	  false, no_input, &no_body, "Revoke a join token", NULL, NULL },
	{ "GET", "/install.sh", api_install_script, ROUTE_PUBLIC, ROLE_NONE, false, no_input,
	  &installer_output, "The node installer of ?token= (text/x-shellscript)", installer_query,
	  NULL },

	{ "GET", "/jobs", api_jobs_list, ROUTE_ACCOUNT_OF, ROLE_VIEWER, false, no_input,
	  &jobs_output, "Jobs of ?aid= (an API key: its account); ?cid, ?status, ?type filter",
	  jobs_query, api_jobs_account_of_list },
	{ "GET", "/jobs/:id", api_jobs_get, ROUTE_ACCOUNT_OF, ROLE_VIEWER, false, no_input,
	  &job_output, "Show a job (members of its account)", NULL, api_jobs_account_of_job },
	{ "GET", "/jobs/:id/workitems", api_jobs_workitems, ROUTE_ACCOUNT_OF, ROLE_VIEWER, false,
	  no_input, &workitems_output, "The steps of a job", NULL, api_jobs_account_of_job },
	{ "GET", "/jobs/:id/workitems/:wid/logs", api_jobs_logs, ROUTE_ACCOUNT_OF, ROLE_VIEWER,
	  false, no_input, &step_logs_output, "Log lines of a step; ?after= pages", step_logs_query,
	  api_jobs_account_of_job },
	{ "POST", "/jobs/:id/cancel", api_jobs_cancel, ROUTE_ACCOUNT_OF, ROLE_MEMBER, false,
	  no_input, &job_cancel_output, "Cancel a job (member)", NULL, api_jobs_account_of_job },

	{ "GET", "/:aid/members", api_members_list, ROUTE_ACCOUNT, ROLE_VIEWER, false, no_input,
	  &members_output, "Members of the account", list_query, NULL },
	{ "PATCH", "/:aid/members/:uid", api_members_update, ROUTE_ACCOUNT, ROLE_ADMIN, false,
	  member_update_input, &member_output, "Change a member's role (owners: owners only)", NULL,
	  NULL },
	{ "DELETE", "/:aid/members/:uid", api_members_delete, ROUTE_ACCOUNT, ROLE_ADMIN, false,
	  no_input, &no_body, "Remove a member (owners: owners only; never the last)", NULL, NULL },
	{ "DELETE", "/:aid/account/membership", api_membership_leave, ROUTE_ACCOUNT, ROLE_VIEWER,
	  true, no_input, &left_output, "Leave the account (not as its last owner)", NULL, NULL },
	{ "POST", "/:aid/invitations", api_invitations_create, ROUTE_ACCOUNT, ROLE_ADMIN, false,
	  invitation_create_input, &invitation_output, "Invite someone (token shown once)", NULL,
	  NULL },
	{ "POST", "/invitations/accept", api_invitations_accept, ROUTE_SESSION, ROLE_NONE, false,
	  invitation_accept_input, &invitation_accepted_output,
	  "Join an account you were invited to", NULL, NULL },

	{ "GET", "/:aid/audit-events", api_audit_list, ROUTE_ACCOUNT, ROLE_ADMIN, false, no_input,
	  &audit_output, "The account's audit trail, newest first", list_query, NULL },

	{ "POST", "/:aid/:cid/services/:type", api_services_create, ROUTE_ACCOUNT, ROLE_MEMBER,
	  false, service_create_input, &service_created_output,
	  "Create a service of a catalog type (its install job starts)", NULL, NULL },
	{ "GET", "/:aid/:cid/services", api_services_list, ROUTE_ACCOUNT, ROLE_VIEWER, false,
	  no_input, &services_output, "Services of a cluster", list_query, NULL },
	{ "GET", "/:aid/:cid/services/:type", api_services_list_type, ROUTE_ACCOUNT, ROLE_VIEWER,
	  false, no_input, &services_output, "Services of a cluster of one type", list_query,
	  NULL },
	{ "GET", "/:aid/:cid/services/:type/:id", api_services_get, ROUTE_ACCOUNT, ROLE_VIEWER,
	  false, no_input, &service_output, "Show a service", NULL, NULL },
	{ "PATCH", "/:aid/:cid/services/:type/:id", api_services_update, ROUTE_ACCOUNT, ROLE_MEMBER,
	  false, service_update_input, &job_started_output,
	  "Change replicas, version (upward) or storage (grow only)", NULL, NULL },
	{ "DELETE", "/:aid/:cid/services/:type/:id", api_services_delete, ROUTE_ACCOUNT,
	  ROLE_MEMBER, false, no_input, &job_started_output,
	  "Delete a service (not while others require it)", NULL, NULL },
	{ "GET", "/:aid/:cid/services/:type/:id/status", api_services_status, ROUTE_ACCOUNT,
	  ROLE_VIEWER, false, no_input, &service_status_output,
	  "A service's state as its cluster reports it", NULL, NULL },
	{ "GET", "/:aid/:cid/services/:type/:id/credentials", api_services_credentials,
	  ROUTE_ACCOUNT, ROLE_MEMBER, false, no_input, &service_credentials_output,
	  "A service's credentials (member; audited; never cached)", NULL, NULL },
	{ "POST", "/:aid/:cid/services/:type/:id/credentials/rotate", api_services_rotate,
	  ROUTE_ACCOUNT, ROLE_MEMBER, false, no_input, &job_started_output,
	  "New credentials: applied and what reads them restarted", NULL, NULL },
	{ "GET", "/service-info", api_service_info_list, ROUTE_PUBLIC, ROLE_NONE, false, no_input,
	  &service_info_list_output, "The service catalog: every type that can be installed", NULL,
	  NULL },
	{ "GET", "/service-info/:type", api_service_info_get, ROUTE_PUBLIC, ROLE_NONE, false,
	  no_input, &service_info_output, "One service type of the catalog", NULL, NULL },

	{ "POST", "/:aid/:cid/apps", api_apps_create, ROUTE_ACCOUNT, ROLE_MEMBER, false,
	  app_create_input, &app_created_output,
	  "Create an app from a GitHub repository (its first deploy starts)", NULL, NULL },
	{ "GET", "/:aid/:cid/apps", api_apps_list, ROUTE_ACCOUNT, ROLE_VIEWER, false, no_input,
	  &apps_output, "Apps of a cluster", list_query, NULL },
	{ "GET", "/:aid/:cid/apps/:id", api_apps_get, ROUTE_ACCOUNT, ROLE_VIEWER, false, no_input,
	  &app_output, "Show an app", NULL, NULL },
	{ "PATCH", "/:aid/:cid/apps/:id", api_apps_update, ROUTE_ACCOUNT, ROLE_MEMBER, false,
	  app_update_input, &job_started_output,
	  "Change an app's settings (?merge=true keeps what is not sent)", app_update_query, NULL },
	{ "DELETE", "/:aid/:cid/apps/:id", api_apps_delete, ROUTE_ACCOUNT, ROLE_MEMBER, false,
	  no_input, &job_started_output, "Delete an app (its namespace goes)", NULL, NULL },
	{ "GET", "/:aid/:cid/apps/:id/status", api_apps_status, ROUTE_ACCOUNT, ROLE_VIEWER, false,
	  no_input, &app_status_output, "An app's state as its cluster reports it", NULL, NULL },
	{ "GET", "/:aid/:cid/apps/:id/networkAccess", api_apps_network_access, ROUTE_ACCOUNT,
	  ROLE_VIEWER, false, no_input, &network_access_output,
	  "Where an app is reached: its public and in-cluster addresses", NULL, NULL },
	{ "GET", "/:aid/:cid/apps/:id/env-vars", api_apps_env_get, ROUTE_ACCOUNT, ROLE_VIEWER,
	  false, no_input, &env_vars_output, "An app's env vars", NULL, NULL },
	{ "POST", "/:aid/:cid/apps/:id/env-vars", api_apps_env_set, ROUTE_ACCOUNT, ROLE_MEMBER,
	  false, app_env_input, &job_started_output,
	  "Replace an app's env vars (its pods restart; no build)", NULL, NULL },
	{ "GET", "/:aid/:cid/apps/:id/secret-env-vars", api_apps_env_get, ROUTE_ACCOUNT,
	  ROLE_VIEWER, false, no_input, &env_vars_output,
	  "An app's secret env vars: their keys only", NULL, NULL },
	{ "POST", "/:aid/:cid/apps/:id/secret-env-vars", api_apps_env_set, ROUTE_ACCOUNT,
	  ROLE_MEMBER, false, app_env_input, &job_started_output,
	  "Replace an app's secret env vars (sealed, write-only)", NULL, NULL },
	{ "GET", "/:aid/:cid/apps/:id/requires", api_apps_requires, ROUTE_ACCOUNT, ROLE_VIEWER,
	  false, no_input, &app_requires_output, "The services an app requires", NULL, NULL },
	{ "GET", "/:aid/:cid/apps/:id/dependencies", api_apps_dependencies, ROUTE_ACCOUNT,
	  ROLE_VIEWER, false, no_input, &dependencies_output,
	  "The services an app requires, as they are now", NULL, NULL },
	{ "POST", "/:aid/:cid/apps/:id/deploy", api_apps_deploy, ROUTE_ACCOUNT, ROLE_MEMBER, false,
	  app_deploy_input, &deploy_started_output,
	  "Build a commit (default: the branch head) and roll it out", NULL, NULL },
	{ "POST", "/:aid/:cid/apps/:id/build", api_apps_build, ROUTE_ACCOUNT, ROLE_MEMBER, false,
	  app_deploy_input, &job_started_output, "Build a commit without rolling it out", NULL,
	  NULL },
	{ "GET", "/:aid/:cid/apps/:id/deployments", api_apps_deployments, ROUTE_ACCOUNT,
	  ROLE_VIEWER, false, no_input, &deployments_output, "An app's deployments, newest first",
	  list_query, NULL },
	{ "POST", "/:aid/:cid/apps/:id/rollback", api_apps_rollback, ROUTE_ACCOUNT, ROLE_MEMBER,
	  false, app_rollback_input, &deploy_started_output,
	  "Roll back to a deployment that succeeded (no build)", NULL, NULL },
	{ "GET", "/:aid/:cid/apps/:id/logs", api_apps_logs, ROUTE_ACCOUNT, ROLE_MEMBER, false,
	  no_input, &app_logs_output,
	  "An app's pod logs, read through a node of its cluster (waits up to 10 s)",
	  app_logs_query, NULL },
	{ "POST", "/:aid/:cid/apps/:id/webhook-secret/rotate", api_apps_webhook_rotate,
	  ROUTE_ACCOUNT, ROLE_ADMIN, false, no_input, &webhook_secret_output,
	  "A new webhook secret (shown once); the old one stops working", NULL, NULL },
	{ "POST", "/webhooks/github/:id", api_webhooks_github, ROUTE_SIGNED, ROLE_NONE, false,
	  no_input, &github_delivery_output,
	  "GitHub's push and ping deliveries for an app (signed with its webhook secret)", NULL,
	  NULL },
	{ "GET", "/:aid/:cid/apps/:id/domains", api_apps_domains_list, ROUTE_ACCOUNT, ROLE_VIEWER,
	  false, no_input, &app_domains_output, "An app's custom domains", NULL, NULL },
	{ "POST", "/:aid/:cid/apps/:id/domains", api_apps_domains_add, ROUTE_ACCOUNT, ROLE_MEMBER,
	  false, app_domain_input, &app_domain_output,
	  "Add a custom domain (pending until its CNAME or TXT record is seen)", NULL, NULL },
	{ "POST", "/:aid/:cid/apps/:id/domains/:fqdn/verify", api_apps_domains_verify,
	  ROUTE_ACCOUNT, ROLE_MEMBER, false, no_input, &app_domain_checked_output,
	  "Check a custom domain's DNS record now (a failed one is tried again)", NULL, NULL },
	{ "DELETE", "/:aid/:cid/apps/:id/domains/:fqdn", api_apps_domains_delete, ROUTE_ACCOUNT,
	  ROLE_MEMBER, false, no_input, &no_body, "Remove a custom domain", NULL, NULL },

	{ "GET", "/:aid/modules", api_modules_list, ROUTE_ACCOUNT, ROLE_VIEWER, false, no_input,
	  &modules_output, "Feature modules of the account", NULL, NULL },
};

const size_t api_routes_count = sizeof(api_routes) / sizeof(api_routes[0]);
