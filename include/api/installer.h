/* The node installer (GET /install.sh): a POSIX shell script for one join
 * token that pins the agent CA, registers the machine and writes the agent's
 * configuration. */
#ifndef RUNOSD_API_INSTALLER_H
#define RUNOSD_API_INSTALLER_H

struct server;
struct join_token;
struct pki_ca;

/* The script for tok, whose secret is token, pinning ca; to free(). */
char *api_render_installer(const struct server *srv, const struct pki_ca *ca,
			   const struct join_token *tok, const char *token);

#endif
