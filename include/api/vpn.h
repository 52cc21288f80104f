/* What the handlers of users' VPN devices (server/api/vpn_devices.c,
 * server/api/vpn_state.c) share. */
#ifndef RUNOSD_API_VPN_H
#define RUNOSD_API_VPN_H

#include <jansson.h>

struct request;
struct vpn_device;

/* Whose devices the caller sees: its own uid (a member), or NULL for every
 * device of the account (an admin or owner). Points into req. */
const char *api_vpn_owner(const struct request *req);

/* The :id of the path, which must look like a device id; else replies 404
 * vpn_device.not_found and gives NULL. */
const char *api_vpn_device_id(struct request *req) __attribute__((warn_unused_result));

/* The device's wg1 address (idalloc_device_ip) into out (16 bytes). */
void api_vpn_address(const struct vpn_device *d, char out[16]);

#endif
