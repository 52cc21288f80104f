/* The node installer script (see include/api/installer.h). Every value put
 * into it is either of a fixed alphabet (token, pin, ids, the CA's PEM) or a
 * URL that configuration refuses to hold quotes in, so single quotes suffice.
 *
 * What it does on the machine, as root:
 *  1. writes the agent CA into the config directory and checks its SHA-256
 *     against the pin (the one in the script and, when given, --ca-pin from
 *     the console's install command, which did not travel with the script);
 *  2. creates the node's key (P-256) there; only a CSR leaves the machine;
 *  3. registers at the agent listener, trusting that CA alone;
 *  4. writes the certificate and agent.conf beside the key.
 * Each failure says why on stderr and exits 1, a refused registration with
 * the server's code and message. Everything runs from main, called on the
 * last line, so a script cut short in transfer does nothing but fail. */
#include "api/installer.h"

#include <stdlib.h>

#include "db/join_tokens_store.h"
#include "pki/ca.h"
#include "runosd.h"
#include "util/timeutil.h"
#include "util/xmalloc.h"

/* clang-format off */
static const char script_head[] =
	"#!/bin/sh\n"
	"# runos node installer: joins this machine to cluster %s of account %s as a %s node.\n"
	"# Made for one join token; usable until %s. Run as root:\n"
	"#   sh install.sh [--ca-pin sha256:<hex>] [--config-dir DIR]\n"
	"set -eu\n"
	"\n"
	"AGENT_URL='%s'\n"
	"JOIN_TOKEN='%s'\n"
	"CA_PIN='%s'\n"
	"CONFIG_DIR=/etc/runos\n"
	"EXPECTED_PIN=\n"
	"\n";

static const char script_body[] =
	"fail() { echo \"runos: $*\" >&2; exit 1; }\n"
	"field() { sed -n \"s/.*\\\"$1\\\": *\\\"\\([^\\\"]*\\)\\\".*/\\1/p\" \"$CONFIG_DIR/registration.json\"; }\n"
	"json_text() { printf '%%s' \"$1\" | sed 's/[\\\\\"]/\\\\&/g'; }\n"
	"main() {\n"
	"while [ $# -gt 0 ]; do\n"
	"\tcase \"$1\" in\n"
	"\t--ca-pin) [ $# -ge 2 ] || fail \"--ca-pin needs a value\"; EXPECTED_PIN=$2; shift 2 ;;\n"
	"\t--config-dir) [ $# -ge 2 ] || fail \"--config-dir needs a value\"; CONFIG_DIR=$2; shift 2 ;;\n"
	"\t*) fail \"unknown option $1\" ;;\n"
	"\tesac\n"
	"done\n"
	"for tool in curl openssl sha256sum sed; do\n"
	"\tcommand -v \"$tool\" >/dev/null 2>&1 || fail \"$tool is needed\"\n"
	"done\n"
	"umask 077\n"
	"mkdir -p \"$CONFIG_DIR\"\n"
	"cat >\"$CONFIG_DIR/ca.pem\" <<'RUNOS_CA'\n"
	"%sRUNOS_CA\n"
	"\n"
	"# The CA must be the one the console showed, whoever served this script.\n"
	"pin=\"sha256:$(openssl x509 -in \"$CONFIG_DIR/ca.pem\" -outform DER | sha256sum | cut -d' ' -f1)\"\n"
	"[ \"$pin\" = \"$CA_PIN\" ] || fail \"the agent CA does not match its pin $CA_PIN\"\n"
	"[ -z \"$EXPECTED_PIN\" ] || [ \"$pin\" = \"$EXPECTED_PIN\" ] ||\n"
	"\tfail \"the agent CA ($pin) is not the one given with --ca-pin ($EXPECTED_PIN)\"\n"
	"\n"
	"# The node's private key never leaves this machine: only a CSR is sent.\n"
	"[ -s \"$CONFIG_DIR/node.key\" ] ||\n"
	"\topenssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out \"$CONFIG_DIR/node.key\"\n"
	"csr=$(openssl req -new -key \"$CONFIG_DIR/node.key\" -subj /CN=runos-node | sed -e ':a' -e 'N' -e '$!ba' -e 's/\\n/\\\\n/g')\n"
	"machine_id=$(cat /etc/machine-id 2>/dev/null || hostname)\n"
	"os=$( (. /etc/os-release && echo \"${ID:-linux}-${VERSION_ID:-}\") 2>/dev/null || echo linux)\n"
	"body=$(printf '{\"token\":\"%%s\",\"machineId\":\"%%s\",\"hostname\":\"%%s\",\"os\":\"%%s\",\"agentVersion\":\"installer\",\"csr\":\"%%s\"}' \\\n"
	"\t\"$JOIN_TOKEN\" \"$(json_text \"$machine_id\")\" \"$(json_text \"$(hostname)\")\" \"$(json_text \"$os\")\" \"$csr\")\n"
	"status=$(curl -sS --cacert \"$CONFIG_DIR/ca.pem\" -H 'Content-Type: application/json' \\\n"
	"\t--data-binary \"$body\" -o \"$CONFIG_DIR/registration.json\" -w '%%{http_code}' \\\n"
	"\t\"$AGENT_URL/agent/v1/register\") ||\n"
	"\tfail \"cannot reach the agent listener at $AGENT_URL (curl says why above)\"\n"
	"case \"$status\" in\n"
	"2[0-9][0-9]) ;;\n"
	"*) fail \"registration refused: HTTP $status $(field code): $(field error)\" ;;\n"
	"esac\n"
	"printf '%%b' \"$(field certificate)\" >\"$CONFIG_DIR/node.crt\"\n"
	"[ -s \"$CONFIG_DIR/node.crt\" ] || fail \"the registration answer has no certificate\"\n"
	"cat >\"$CONFIG_DIR/agent.conf\" <<EOF\n"
	"agent_url=$AGENT_URL\n"
	"ca_file=$CONFIG_DIR/ca.pem\n"
	"cert_file=$CONFIG_DIR/node.crt\n"
	"key_file=$CONFIG_DIR/node.key\n"
	"aid=$(field aid)\n"
	"cid=$(field cid)\n"
	"nid=$(field nid)\n"
	"role=$(field role)\n"
	"vpn_ip=$(field vpnIp)\n"
	"EOF\n"
	"echo \"runos: registered as node $(field nid); the agent's configuration is in $CONFIG_DIR\"\n"
	"}\n"
	"\n"
	"main \"$@\"\n";
/* clang-format on */

char *api_render_installer(const struct server *srv, const struct pki_ca *ca,
			   const struct join_token *tok, const char *token)
{
	char until[40];
	time_format_rfc3339(tok->expires_us, until, sizeof(until));
	char *head = xasprintf(script_head, tok->cid, tok->aid, tok->role, until,
			       srv->cfg.agent_url, token, pki_ca_pin(ca));
	char *body = xasprintf(script_body, pki_ca_cert_pem(ca));
	char *script = xasprintf("%s%s", head, body);
	free(head);
	free(body);
	return script;
}
