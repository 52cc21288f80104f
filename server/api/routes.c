/* The route table: the single source of truth for routing, permissions and
 * input validation (and, later, the OpenAPI document and the CLI manifest).
 * A row that declares no access level stops the server at start. */
#include "api/common.h"
#include "api/handlers.h"
#include "http/route.h"
#include "util/text.h"

/* Query parameters (checked like body fields: an undeclared one is 400). */
#define LIST_QUERY                                                                                 \
	{ "limit", FIELD_INTEGER, false, 1, API_LIST_MAX_LIMIT, NULL, "page size" },               \
	{                                                                                          \
		"cursor", FIELD_STRING, false, 0, 0, NULL, "nextCursor of the page before"         \
	}
static const struct field_spec list_query[] = { LIST_QUERY, { 0 } };
static const char *const cluster_statuses[] = { "pending",  "provisioning", "active",
						"degraded", "deleting",	    NULL };
static const struct field_spec clusters_query[] = {
	LIST_QUERY,
	{ "status", FIELD_ENUM, false, 0, 0, cluster_statuses, "only clusters in this status" },
	{ 0 },
};
static const struct field_spec cluster_domains_query[] = {
	LIST_QUERY,
	{ "cid", FIELD_STRING, false, 0, 16, NULL, "only this cluster's domain" },
	{ 0 },
};
static const char *const job_statuses[] = { "pending", "running",   "completed",
					    "failed",  "cancelled", NULL };
static const struct field_spec jobs_query[] = {
	LIST_QUERY,
	{ "aid", FIELD_STRING, false, 0, 16, NULL, "the account (an API key: its own)" },
	{ "cid", FIELD_STRING, false, 0, 16, NULL, "only jobs of this cluster" },
	{ "status", FIELD_ENUM, false, 0, 0, job_statuses, "only jobs in this status" },
	{ "type", FIELD_STRING, false, 0, 64, NULL, "only jobs of this type (node.join, ...)" },
	{ 0 },
};
static const struct field_spec step_logs_query[] = {
	{ "after", FIELD_STRING, false, 0, 24, NULL, "nextCursor of the page before" },
	{ 0 },
};
static const struct field_spec installer_query[] = {
	{ "token", FIELD_STRING, false, 0, 256, NULL, "the join token" },
	{ 0 },
};

static const char *const role_choices[] = { "viewer", "member", "admin", "owner", NULL };

static const struct field_spec signup_input[] = {
	{ "email", FIELD_STRING, true, 3, 254, NULL, "login email" },
	{ "password", FIELD_STRING, true, 1, 1024, NULL, "at least 10 characters" },
	{ "name", FIELD_STRING, false, 0, NAME_MAX_CHARS, NULL, "display name" },
	{ "companyName", FIELD_STRING, false, 0, NAME_MAX_CHARS, NULL, "company of the account" },
	{ 0 },
};
static const struct field_spec login_input[] = {
	{ "email", FIELD_STRING, true, 1, 254, NULL, "login email" },
	{ "password", FIELD_STRING, true, 1, 1024, NULL, "password" },
	{ "totp", FIELD_STRING, false, 6, 8, NULL, "TOTP code when MFA is on" },
	{ 0 },
};
static const struct field_spec user_update_input[] = {
	{ "name", FIELD_STRING, false, 0, NAME_MAX_CHARS, NULL, "display name" },
	{ "password", FIELD_STRING, false, 1, 1024, NULL, "new password" },
	{ "currentPassword", FIELD_STRING, false, 1, 1024, NULL,
	  "the present password; required with password" },
	{ 0 },
};
static const struct field_spec account_create_input[] = {
	{ "name", FIELD_STRING, true, 1, NAME_MAX_CHARS, NULL, "account name" },
	{ "companyName", FIELD_STRING, false, 0, NAME_MAX_CHARS, NULL, "company name" },
	{ 0 },
};
static const struct field_spec profile_update_input[] = {
	{ "name", FIELD_STRING, false, 1, NAME_MAX_CHARS, NULL, "account name" },
	{ "companyName", FIELD_STRING, false, 0, NAME_MAX_CHARS, NULL, "company name" },
	{ "website", FIELD_STRING, false, 0, WEBSITE_MAX_CHARS, NULL, "http(s) URL or empty" },
	{ 0 },
};
static const struct field_spec api_key_create_input[] = {
	{ "name", FIELD_STRING, true, 1, NAME_MAX_CHARS, NULL, "what the key is for" },
	{ "expiresAt", FIELD_TIME, false, 0, 0, NULL, "default +90 days, at most one year" },
	{ "accountRole", FIELD_ENUM, false, 0, 0, role_choices, "default: the creator's role" },
	{ 0 },
};
static const struct field_spec api_key_update_input[] = {
	{ "name", FIELD_STRING, false, 1, NAME_MAX_CHARS, NULL, "new name" },
	{ 0 },
};
static const struct field_spec cluster_create_input[] = {
	{ "name", FIELD_STRING, true, 1, NAME_MAX_CHARS, NULL, "cluster name" },
	{ "description", FIELD_STRING, false, 0, DESCRIPTION_MAX_CHARS, NULL,
	  "what the cluster is for" },
	{ 0 },
};
static const struct field_spec cluster_update_input[] = {
	{ "name", FIELD_STRING, false, 1, NAME_MAX_CHARS, NULL, "cluster name" },
	{ "description", FIELD_STRING, false, 0, DESCRIPTION_MAX_CHARS, NULL,
	  "what the cluster is for" },
	{ 0 },
};
static const struct field_spec node_update_input[] = {
	{ "name", FIELD_STRING, false, 1, NAME_MAX_CHARS, NULL, "node name" },
	{ 0 },
};
static const char *const node_role_choices[] = { "controlplane", "worker", "hybrid", NULL };
static const struct field_spec join_token_create_input[] = {
	{ "role", FIELD_ENUM, true, 0, 0, node_role_choices, "what the node becomes" },
	{ "ttlSeconds", FIELD_INTEGER, false, 60, 86400, NULL, "lifetime, default 1800 s" },
	{ "maxUses", FIELD_INTEGER, false, 1, 1000, NULL, "registrations allowed, default 1" },
	{ 0 },
};
static const struct field_spec invitation_create_input[] = {
	{ "email", FIELD_STRING, true, 3, 254, NULL, "who is invited" },
	{ "accountRole", FIELD_ENUM, true, 0, 0, role_choices, "their role once they accept" },
	{ 0 },
};
static const struct field_spec invitation_accept_input[] = {
	{ "token", FIELD_STRING, true, 1, 64, NULL, "the invitation token rni_..." },
	{ 0 },
};
static const struct field_spec member_update_input[] = {
	{ "accountRole", FIELD_ENUM, true, 0, 0, role_choices, "the new role" },
	{ 0 },
};
static const struct field_spec totp_verify_input[] = {
	{ "code", FIELD_STRING, true, 6, 6, NULL, "the current code of the new secret" },
	{ 0 },
};
static const struct field_spec device_approve_input[] = {
	{ "deviceId", FIELD_STRING, true, 1, 64, NULL, "from initiate" },
	{ "token", FIELD_STRING, true, 1, 64, NULL, "from initiate" },
	{ "aid", FIELD_STRING, true, 1, 16, NULL, "the account the CLI will act in" },
	{ 0 },
};
static const struct field_spec device_poll_input[] = {
	{ "deviceId", FIELD_STRING, true, 1, 64, NULL, "from initiate" },
	{ "token", FIELD_STRING, true, 1, 64, NULL, "from initiate" },
	{ 0 },
};
/* The requires inputs of every catalog type (tests/unit/test_catalog.c
 * checks that each type's are here); a field of another type is refused by
 * the handler. */
#define SERVICE_REQUIRES_FIELD(name, type)                                                         \
	{                                                                                          \
		name, FIELD_STRING, false, 1, 64, NULL, "osid of the " type " service it uses"     \
	}
static const struct field_spec service_create_input[] = {
	{ "name", FIELD_STRING, true, 1, NAME_MAX_CHARS, NULL, "unique in the cluster" },
	{ "version", FIELD_STRING, false, 1, 32, NULL, "one of the type's versions" },
	{ "replicas", FIELD_INTEGER, false, 0, 100, NULL, "within the type's range" },
	{ "storageMb", FIELD_INTEGER, false, 1, 16777216, NULL, "within the type's bounds" },
	{ "storageClass", FIELD_STRING, false, 1, 80, NULL,
	  "openebs-local (default), longhorn or longhorn-<osid>" },
	{ "flags", FIELD_OBJECT, false, 0, 0, NULL, "the type's flags: {name: value}" },
	{ "nodeAffinityTags", FIELD_STRINGS, false, 0, 16, NULL,
	  "run only on nodes with these tags" },
	SERVICE_REQUIRES_FIELD("postgresOsid", "postgresql"),
	SERVICE_REQUIRES_FIELD("valkeyOsid", "valkey"),
	SERVICE_REQUIRES_FIELD("minioOsid", "minio"),
	SERVICE_REQUIRES_FIELD("ollamaOsid", "ollama"),
	{ 0 },
};
static const struct field_spec service_update_input[] = {
	{ "replicas", FIELD_INTEGER, false, 0, 100, NULL, "within the type's range" },
	{ "version", FIELD_STRING, false, 1, 32, NULL, "a newer version of the type" },
	{ "storageMb", FIELD_INTEGER, false, 1, 16777216, NULL, "grow only" },
	{ 0 },
};
static const struct field_spec no_input[] = { { 0 } };

#define FIELDS(...) ((const char *const[]){ __VA_ARGS__, NULL })
#define USER_FIELDS "uid", "email", "name", "mfaEnabled", "createdAt"
#define ACCOUNT_FIELDS "aid", "name", "companyName", "website", "baseDomain", "createdAt"
#define API_KEY_FIELDS "id", "name", "prefix", "accountRole", "createdAt", "expiresAt", "createdBy"

static const struct output_spec no_body = { "none", NULL };
static const struct output_spec health_output = { "health", FIELDS("status") };
static const struct output_spec signup_output = { "signup",
						  FIELDS("user", "account", "token", "expiresAt") };
static const struct output_spec session_output = { "session",
						   FIELDS("token", "expiresAt", "user") };
static const struct output_spec user_output = { "user", FIELDS(USER_FIELDS) };
static const struct output_spec accounts_output = { "accounts", FIELDS("accounts", "nextCursor") };
static const struct output_spec new_account_output = {
	"account", FIELDS(ACCOUNT_FIELDS, "accountRole", "isDefault")
};
static const struct output_spec account_output = { "account", FIELDS(ACCOUNT_FIELDS) };
static const struct output_spec new_api_key_output = { "apiKeyWithToken",
						       FIELDS(API_KEY_FIELDS, "token", "warning") };
static const struct output_spec api_keys_output = { "apiKeys", FIELDS("apiKeys", "nextCursor") };
static const struct output_spec api_key_output = { "apiKey", FIELDS(API_KEY_FIELDS) };
#define CLUSTER_FIELDS                                                                             \
	"cid", "name", "description", "domain", "status", "configured", "clusterIndex", "vpnCidr", \
		"vip", "k8sApiUrl", "nodeCounts", "conditions", "createdAt", "updatedAt"
static const struct output_spec cluster_output = { "cluster", FIELDS(CLUSTER_FIELDS) };
static const struct output_spec clusters_output = { "clusters", FIELDS("clusters", "nextCursor") };
static const struct output_spec kubeconfig_output = { "kubeconfig", NULL };
static const struct output_spec deployment_ready_output = {
	"deploymentReadiness", FIELDS("ready", "harbor", "minio", "buildkit")
};
static const struct output_spec cluster_domains_output = { "clusterDomains",
							   FIELDS("clusterDomains", "nextCursor") };
#define NODE_FIELDS                                                                                \
	"nid", "cid", "name", "role", "status", "machineId", "hostname", "os", "vpnIp",            \
		"externalIp", "agentVersion", "lastHeartbeatAt", "certNotAfter", "conditions",     \
		"createdAt"
static const struct output_spec node_output = { "node", FIELDS(NODE_FIELDS) };
static const struct output_spec nodes_output = { "nodes", FIELDS("nodes", "nextCursor") };
static const struct output_spec modules_output = { "modules", FIELDS("modules") };
static const struct output_spec new_join_token_output = {
	"joinTokenWithSecret",
	FIELDS("id", "token", "expiresAt", "role", "maxUses", "caPin", "installCommand")
};
/* Items: id, prefix, role, maxUses, uses, expiresAt, createdAt, createdBy. */
static const struct output_spec join_tokens_output = { "joinTokens",
						       FIELDS("joinTokens", "nextCursor") };
static const struct output_spec job_started_output = { "jobStarted", FIELDS("jobId") };
#define JOB_FIELDS                                                                                 \
	"id", "aid", "cid", "type", "status", "progress", "currentStep", "error", "result",        \
		"target", "attempt", "createdAt", "startedAt", "completedAt"
static const struct output_spec job_output = { "job", FIELDS(JOB_FIELDS) };
static const struct output_spec jobs_output = { "jobs", FIELDS("jobs", "nextCursor") };
static const struct output_spec workitems_output = { "workItems",
						     FIELDS("jobId", "workItems", "hasMore") };
static const struct output_spec step_logs_output = { "workItemLogs",
						     FIELDS("workItemId", "logs", "nextCursor") };
static const struct output_spec job_cancel_output = { "jobCancelled", FIELDS("id", "status") };
#define MEMBER_FIELDS "uid", "email", "name", "accountRole", "joinedAt"
static const struct output_spec member_output = { "member", FIELDS(MEMBER_FIELDS) };
static const struct output_spec members_output = { "members", FIELDS("members", "nextCursor") };
static const struct output_spec invitation_output = { "invitation",
						      FIELDS("id", "token", "expiresAt") };
static const struct output_spec invitation_accepted_output = { "invitationAccepted",
							       FIELDS("aid", "accountRole") };
static const struct output_spec left_output = { "membershipLeft", FIELDS("left", "defaultAccount",
									 "remainingAccounts") };
static const struct output_spec audit_output = { "auditEvents", FIELDS("entries", "nextCursor") };
static const struct output_spec metrics_output = { "prometheusText", NULL };
static const struct output_spec totp_setup_output = { "totpSecret",
						      FIELDS("secret", "otpauthUrl") };
#define SERVICE_FIELDS                                                                             \
	"id", "osid", "type", "name", "version", "replicas", "storageMb", "storageClass", "flags", \
		"nodeAffinityTags", "status", "endpoint", "namespace", "requires", "conditions",   \
		"createdAt", "updatedAt"
static const struct output_spec service_output = { "service", FIELDS(SERVICE_FIELDS) };
static const struct output_spec services_output = { "services", FIELDS("services", "nextCursor") };
static const struct output_spec service_created_output = {
	"serviceCreated", FIELDS("id", "osid", "name", "status", "jobId", "endpoint", "warnings")
};
static const struct output_spec service_status_output = {
	"serviceStatus", FIELDS("state", "replicas", "reason", "message", "reportedAt")
};
static const struct output_spec service_credentials_output = {
	"serviceCredentials", FIELDS("username", "password", "host", "port", "database", "url")
};
static const struct output_spec device_output = {
	"deviceLogin", FIELDS("deviceId", "token", "expiresAt", "verificationUrl")
};
/* {success:false, error} or {success:true, accessToken, accountId} */
static const struct output_spec device_poll_output = { "devicePoll", NULL };
static const struct output_spec installer_output = { "installer", NULL };
static const struct output_spec service_info_list_output = { "serviceTypes", FIELDS("services") };
static const struct output_spec service_info_output = {
	"serviceType",
	FIELDS("type", "name", "category", "platform", "description", "versions", "defaultVersion",
	       "defaultReplicas", "minReplicas", "maxReplicas", "defaultStorageMb", "minStorageMb",
	       "maxStorageMb", "ports", "http", "flags", "requires", "credentials", "chart")
};

const struct route api_routes[] = {
	{ "GET", "/healthz", api_healthz, ROUTE_PUBLIC, ROLE_NONE, false, no_input, &health_output,
	  "The process is running", NULL, NULL },
	{ "GET", "/metrics", api_metrics, ROUTE_PUBLIC, ROLE_NONE, false, no_input, &metrics_output,
	  "Prometheus metrics (text format)", NULL, NULL },
	{ "GET", "/readyz", api_readyz, ROUTE_PUBLIC, ROLE_NONE, false, no_input, &health_output,
	  "The database answers and migrations are applied", NULL, NULL },

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

	{ "GET", "/:aid/modules", api_modules_list, ROUTE_ACCOUNT, ROLE_VIEWER, false, no_input,
	  &modules_output, "Feature modules of the account", NULL, NULL },
};

const size_t api_routes_count = sizeof(api_routes) / sizeof(api_routes[0]);
