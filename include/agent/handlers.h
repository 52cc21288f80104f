/* The agent listener's routes (AGENT.md §2-3) and their handlers. */
#ifndef RUNOSD_AGENT_HANDLERS_H
#define RUNOSD_AGENT_HANDLERS_H

#include <stddef.h>

#include "http/request.h"
#include "http/route.h"

#define AGENT_HEARTBEAT_SECONDS 5

extern const struct route agent_routes[];
extern const size_t agent_routes_count;

/* server/agent/register.c */
void agent_register(struct request *req);

/* server/agent/reports.c: what agents report */
void agent_heartbeat(struct request *req);
void agent_status(struct request *req);
void agent_logs(struct request *req);
void agent_cluster_credentials(struct request *req);

/* server/agent/service_status.c: what a control plane sees of services */
void agent_service_status(struct request *req);

/* server/agent/work.c: instructions */
void agent_instructions(struct request *req);
void agent_instruction_reply(struct request *req);
void agent_instruction_progress(struct request *req);

/* server/agent/lookups.c: what agents ask */
void agent_vpn_sync(struct request *req);
void agent_control_plane_nodes(struct request *req);
void agent_vip_holder(struct request *req);
void agent_certificate(struct request *req);

#endif
