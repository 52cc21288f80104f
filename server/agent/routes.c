/* The agent listener's route table (AGENT.md §2-3): registration is public
 * (its join token is checked by the handler); every other route needs a
 * node's client certificate. */
#include "agent/handlers.h"
#include "util/text.h"

static const char *const beat_statuses[] = { "not_installed", "ready", "not_ready", "cordoned",
					     NULL };

static const struct field_spec register_input[] = {
	{ "token", FIELD_STRING, true, 1, 64, NULL, "join token rnj_...", NULL },
	{ "machineId", FIELD_STRING, true, 1, MACHINE_ID_MAX_CHARS, NULL, "/etc/machine-id", NULL },
	{ "hostname", FIELD_STRING, false, 0, HOSTNAME_MAX_CHARS, NULL, "the node's host name",
	  NULL },
	{ "os", FIELD_STRING, false, 0, OS_MAX_CHARS, NULL, "e.g. ubuntu-24.04", NULL },
	{ "agentVersion", FIELD_STRING, false, 0, AGENT_VERSION_MAX_CHARS, NULL, "agent version",
	  NULL },
	{ "csr", FIELD_TEXT, false, 0, 16384, NULL, "PEM CSR; without it a key is made", NULL },
	{ 0 },
};
static const struct field_spec heartbeat_input[] = {
	{ "externalIpAddress", FIELD_STRING, false, 0, 64, NULL, "public address", NULL },
	{ "isCp", FIELD_BOOLEAN, false, 0, 0, NULL, "runs the control plane", NULL },
	{ "isWorker", FIELD_BOOLEAN, false, 0, 0, NULL, "runs workloads", NULL },
	{ "status", FIELD_ENUM, false, 0, 0, beat_statuses, "node state", NULL },
	{ "version", FIELD_STRING, false, 0, AGENT_VERSION_MAX_CHARS, NULL, "agent version", NULL },
	{ "running", FIELD_STRINGS, false, 0, 1000, NULL, "tags of running instructions", NULL },
	{ 0 },
};
static const struct field_spec status_input[] = {
	{ "status", FIELD_STRING, true, 1, 64, NULL, "install progress, INSTALL_ERROR", NULL },
	{ "message", FIELD_STRING, false, 0, STATUS_MESSAGE_MAX_CHARS, NULL, "details", NULL },
	{ 0 },
};
static const struct field_spec logs_input[] = {
	{ "type", FIELD_STRING, true, 1, 64, NULL, "what the entry is about", NULL },
	{ "severity", FIELD_INTEGER, true, 1, 3, NULL, "1 info, 2 warning, 3 error", NULL },
	{ "message", FIELD_STRING, true, 1, 8192, NULL, "what happened", NULL },
	{ "code", FIELD_STRING, false, 0, 64, NULL, "machine-readable code", NULL },
	{ "cause", FIELD_STRING, false, 0, 4096, NULL, "why", NULL },
	{ "remedy", FIELD_STRING, false, 0, 4096, NULL, "what to do", NULL },
	{ "docsUrl", FIELD_STRING, false, 0, 512, NULL, "documentation link", NULL },
	{ 0 },
};
static const struct field_spec vpn_sync_input[] = {
	{ "nodePeer", FIELD_OBJECT, true, 0, 0, NULL, "{pubKey, endpointIp, ip}", NULL },
	{ "nodeIsReady", FIELD_BOOLEAN, false, 0, 0, NULL, "WireGuard is up", NULL },
	{ "wg1", FIELD_OBJECT, false, 0, 0, NULL,
	  "control-plane nodes: {pubKey, endpoint} of the users' VPN (wg1) they serve", NULL },
	{ 0 },
};
static const struct field_spec certificate_input[] = {
	{ "csr", FIELD_TEXT, false, 0, 16384, NULL, "PEM CSR; without it a key is made", NULL },
	{ 0 },
};
static const struct field_spec credentials_input[] = {
	{ "caCert", FIELD_TEXT, true, 1, 65536, NULL, "cluster CA certificate (PEM)", NULL },
	{ "adminCert", FIELD_TEXT, true, 1, 65536, NULL, "admin client certificate (PEM)", NULL },
	{ "adminKey", FIELD_TEXT, true, 1, 65536, NULL, "admin client key (PEM)", NULL },
	{ "kubernetesVersion", FIELD_STRING, false, 0, 64, NULL, "e.g. v1.31.2", NULL },
	{ 0 },
};
/* Each entry is checked by the handler (agent/service_status.c). */
static const struct field_spec service_status_input[] = {
	{ "services", FIELD_JSON, true, 0, 1000, NULL,
	  "at most 1000 of [{osid, state, replicas:{desired, ready}, message}]", NULL },
	{ 0 },
};
static const char *const log_levels[] = { "debug", "info", "warn", "error", NULL };
static const struct field_spec reply_input[] = {
	{ "attempt", FIELD_INTEGER, true, 1, 1000, NULL, "the attempt answered", NULL },
	{ "type", FIELD_STRING, true, 1, 64, NULL, "reply type, or ERROR", NULL },
	{ "payload", FIELD_JSON, false, 0, 0, NULL, "the reply", NULL },
	{ "error", FIELD_TEXT, false, 0, 16384, NULL, "with type ERROR: what failed", NULL },
	{ 0 },
};
static const struct field_spec progress_input[] = {
	{ "attempt", FIELD_INTEGER, true, 1, 1000, NULL, "the attempt running", NULL },
	{ "message", FIELD_TEXT, true, 1, 16384, NULL, "a log line of the step", NULL },
	{ "level", FIELD_ENUM, false, 0, 0, log_levels, "default info", NULL },
	{ "progress", FIELD_INTEGER, false, 0, 100, NULL, "percent of the job", NULL },
	{ 0 },
};
static const struct field_spec no_input[] = { { 0 } };

/* The agent listener is not in the OpenAPI document (docs/agent.md describes
 * it), so its answers name their members without typing them. */
#define MEMBER(name)                                                                               \
	{                                                                                          \
		name, FIELD_JSON, false, false, NULL, "see docs/agent.md", NULL                    \
	}
#define FIELDS(...) ((const struct output_field[]){ __VA_ARGS__, { 0 } })
static const struct output_spec no_body = { .type = "none", .status = 204, .fields = NULL };
static const struct output_spec registration_output = {
	.type = "registration",
	.status = 200,
	.fields = FIELDS(MEMBER("aid"), MEMBER("cid"), MEMBER("nid"), MEMBER("role"),
			 MEMBER("certificate"), MEMBER("caCert"), MEMBER("vpnIp"),
			 MEMBER("heartbeatIntervalSeconds"), MEMBER("offlineAfterSeconds"),
			 MEMBER("jobId"))
};
static const struct output_spec heartbeat_output = {
	.type = "heartbeatAnswer",
	.status = 200,
	.fields = FIELDS(MEMBER("isHealthy"), MEMBER("message"), MEMBER("offlineAfterSeconds"),
			 MEMBER("renewCertificate"), MEMBER("cancel"))
};
static const struct output_spec instructions_output = { .type = "instructions",
							.status = 200,
							.fields = FIELDS(MEMBER("instructions")) };
static const struct output_spec peers_output = { .type = "vpnPeers",
						 .status = 200,
						 .fields = FIELDS(MEMBER("peers")) };
static const struct output_spec control_planes_output = {
	.type = "controlPlaneNodes", .status = 200, .fields = FIELDS(MEMBER("controlPlaneNodes"))
};
static const struct output_spec vip_output = { .type = "vipHolder",
					       .status = 200,
					       .fields = FIELDS(MEMBER("isHolder"),
								MEMBER("generation")) };
static const struct output_spec service_status_output = { .type = "serviceReports",
							  .status = 200,
							  .fields = FIELDS(MEMBER("accepted"),
									   MEMBER("ignored")) };
static const struct output_spec certificate_output = { .type = "certificate",
						       .status = 200,
						       .fields = FIELDS(MEMBER("certificate"),
									MEMBER("caCert")) };

static const struct field_spec instructions_query[] = {
	{ "wait", FIELD_INTEGER, false, 0, 60, NULL, "seconds to wait for work", NULL },
	{ "max", FIELD_INTEGER, false, 1, 50, NULL, "the most instructions to take", NULL },
	{ 0 },
};

const struct route agent_routes[] = {
	{ "POST", "/agent/v1/register", agent_register, ROUTE_PUBLIC, ROLE_NONE, false,
	  register_input, &registration_output,
	  "Register with a join token (privateKey too when no csr was sent)", NULL, NULL },
	{ "POST", "/agent/v1/heartbeat", agent_heartbeat, ROUTE_AGENT, ROLE_NONE, false,
	  heartbeat_input, &heartbeat_output, "Every 5 s: the node is alive", NULL, NULL },
	{ "GET", "/agent/v1/instructions", agent_instructions, ROUTE_AGENT, ROLE_NONE, false,
	  no_input, &instructions_output, "Long poll: ?wait=0..60 s, ?max=1..50",
	  instructions_query, NULL },
	{ "POST", "/agent/v1/instructions/:tag/reply", agent_instruction_reply, ROUTE_AGENT,
	  ROLE_NONE, false, reply_input, &no_body, "Answer an instruction (attempt fences)", NULL,
	  NULL },
	{ "POST", "/agent/v1/instructions/:tag/progress", agent_instruction_progress, ROUTE_AGENT,
	  ROLE_NONE, false, progress_input, &no_body, "Progress: extends the lease, logs", NULL,
	  NULL },
	{ "POST", "/agent/v1/status", agent_status, ROUTE_AGENT, ROLE_NONE, false, status_input,
	  &no_body, "Install progress", NULL, NULL },
	{ "POST", "/agent/v1/logs", agent_logs, ROUTE_AGENT, ROLE_NONE, false, logs_input, &no_body,
	  "An event of the node", NULL, NULL },
	{ "POST", "/agent/v1/vpn/sync", agent_vpn_sync, ROUTE_AGENT, ROLE_NONE, false,
	  vpn_sync_input, &peers_output, "Report the WireGuard peer; get the others", NULL, NULL },
	{ "GET", "/agent/v1/control-plane-nodes", agent_control_plane_nodes, ROUTE_AGENT, ROLE_NONE,
	  false, no_input, &control_planes_output, "Online control-plane nodes", NULL, NULL },
	{ "GET", "/agent/v1/vip-holder", agent_vip_holder, ROUTE_AGENT, ROLE_NONE, false, no_input,
	  &vip_output, "Whether this node holds the cluster VIP", NULL, NULL },
	{ "POST", "/agent/v1/certificate", agent_certificate, ROUTE_AGENT, ROLE_NONE, false,
	  certificate_input, &certificate_output, "Renew the node certificate", NULL, NULL },
	{ "POST", "/agent/v1/cluster-credentials", agent_cluster_credentials, ROUTE_AGENT,
	  ROLE_NONE, false, credentials_input, &no_body,
	  "Control-plane nodes: the cluster's admin credentials", NULL, NULL },
	{ "POST", "/agent/v1/service-status", agent_service_status, ROUTE_AGENT, ROLE_NONE, false,
	  service_status_input, &service_status_output,
	  "Control-plane nodes: the state of the cluster's services", NULL, NULL },
};

const size_t agent_routes_count = sizeof(agent_routes) / sizeof(agent_routes[0]);
