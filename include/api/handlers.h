/* Every handler of the route table (server/api/routes.c). A handler checks
 * what the schema cannot, calls a store, and renders the reply; see
 * include/http/request.h for what it may use. */
#ifndef RUNOSD_API_HANDLERS_H
#define RUNOSD_API_HANDLERS_H

#include <stdbool.h>

struct request;
struct route_account;

/* server/api/health.c */
void api_healthz(struct request *req);
void api_readyz(struct request *req);

/* server/api/auth.c */
void api_auth_signup(struct request *req);
void api_auth_login(struct request *req);
void api_auth_logout(struct request *req);

/* server/api/user.c */
void api_user_get(struct request *req);
void api_user_update(struct request *req);

/* server/api/accounts.c */
void api_accounts_list(struct request *req);
void api_accounts_create(struct request *req);
void api_account_profile_get(struct request *req);
void api_account_profile_update(struct request *req);

/* server/api/vpn_devices.c and vpn_state.c: users' VPN devices (wg1) */
void api_vpn_devices_create(struct request *req);
void api_vpn_devices_list(struct request *req);
void api_vpn_devices_get(struct request *req);
void api_vpn_devices_update(struct request *req);
void api_vpn_devices_delete(struct request *req);
void api_vpn_devices_clusters(struct request *req);
void api_vpn_devices_state(struct request *req);
void api_vpn_devices_config(struct request *req);

/* server/api/api_keys.c */
void api_api_keys_create(struct request *req);
void api_api_keys_list(struct request *req);
void api_api_keys_get(struct request *req);
void api_api_keys_update(struct request *req);
void api_api_keys_delete(struct request *req);

/* server/api/clusters.c */
void api_clusters_create(struct request *req);
void api_clusters_list(struct request *req);
void api_clusters_get(struct request *req);
void api_clusters_update(struct request *req);
void api_clusters_delete(struct request *req);
void api_clusters_kubeconfig(struct request *req);
void api_clusters_deployment_ready(struct request *req);
void api_cluster_domains_list(struct request *req);

/* server/api/nodes.c */
void api_nodes_list(struct request *req);
void api_nodes_get(struct request *req);
void api_nodes_update(struct request *req);
void api_nodes_delete(struct request *req);

/* server/api/join_tokens.c */
void api_join_tokens_create(struct request *req);
void api_join_tokens_list(struct request *req);
void api_join_tokens_delete(struct request *req);
void api_install_script(struct request *req);

/* server/api/jobs.c */
/* The account of a /jobs request (ROUTE_ACCOUNT_OF): the list's ?aid, or
 * the job's of the path. */
bool api_jobs_account_of_list(struct request *req, struct route_account *out);
bool api_jobs_account_of_job(struct request *req, struct route_account *out);
void api_jobs_get(struct request *req);
void api_jobs_list(struct request *req);
void api_jobs_workitems(struct request *req);
void api_jobs_logs(struct request *req);
void api_jobs_cancel(struct request *req);

/* server/api/audit.c */
void api_audit_list(struct request *req);

/* server/api/service_info.c */
void api_service_info_list(struct request *req);
void api_service_info_get(struct request *req);

/* server/api/openapi.c */
void api_openapi(struct request *req);

/* server/api/cli.c */
void api_cli_manifest(struct request *req);
void api_cli_manifest_version(struct request *req);
void api_cli_toolsets(struct request *req);

/* server/api/docs.c: GET /docs and the files of the page */
void api_docs(struct request *req);

/* server/api/metrics.c */
void api_metrics(struct request *req);

/* server/api/device.c */
void api_device_initiate(struct request *req);
void api_device_approve(struct request *req);
void api_device_poll(struct request *req);

/* server/api/mfa.c */
void api_mfa_totp_setup(struct request *req);
void api_mfa_totp_verify(struct request *req);

/* server/api/members.c */
void api_members_list(struct request *req);
void api_members_update(struct request *req);
void api_members_delete(struct request *req);
void api_membership_leave(struct request *req);
void api_invitations_create(struct request *req);
void api_invitations_accept(struct request *req);

/* server/api/modules.c */
void api_modules_list(struct request *req);

/* services.c, services_ops.c */
void api_services_create(struct request *req);
void api_services_list(struct request *req);
void api_services_list_type(struct request *req);
void api_services_get(struct request *req);
void api_services_status(struct request *req);
void api_services_update(struct request *req);
void api_services_delete(struct request *req);
void api_services_credentials(struct request *req);
void api_services_rotate(struct request *req);

/* webhooks.c */
void api_webhooks_github(struct request *req);

/* apps.c, apps_ops.c */
void api_apps_create(struct request *req);
void api_apps_list(struct request *req);
void api_apps_get(struct request *req);
void api_apps_update(struct request *req);
void api_apps_delete(struct request *req);
void api_apps_status(struct request *req);
void api_apps_network_access(struct request *req);
void api_apps_env_get(struct request *req);
void api_apps_env_set(struct request *req);
void api_apps_requires(struct request *req);
void api_apps_dependencies(struct request *req);
void api_apps_deploy(struct request *req);
void api_apps_build(struct request *req);
void api_apps_deployments(struct request *req);
void api_apps_rollback(struct request *req);
void api_apps_webhook_rotate(struct request *req);
void api_apps_logs(struct request *req);
void api_apps_domains_list(struct request *req);
void api_apps_domains_add(struct request *req);
void api_apps_domains_verify(struct request *req);
void api_apps_domains_delete(struct request *req);

#endif
