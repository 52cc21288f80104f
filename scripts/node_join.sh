# shellcheck shell=bash
# Joining a simulated node to a cluster, as a machine running the installer and the agent would,
# against a running runosd. Sourced (bash) by scripts/dev.sh (`scripts/dev.sh node`) and by
# tests/readme_check.sh, so the path the README shows is the path the test runs.
#
#   NJ_API=http://127.0.0.1:8080 NJ_AID=... NJ_TOKEN=rnp_... NJ_SIM=build/tests/agent-sim/agent-sim \
#   NJ_DIR=.dev NJ_WATCH_PID=<pid> [NJ_CID=...] [NJ_ROLE=...] [NJ_NAME=...] node_join
#
# node_join, with an API token of the account (admin or owner):
#   1. creates a cluster named NJ_NAME (default "demo"), or uses NJ_CID;
#   2. makes a join token (POST /:aid/:cid/join-tokens) for NJ_ROLE (default controlplane for a
#      new cluster, worker for a given one);
#   3. fetches GET /install.sh?token= as the install command does, takes the agent URL and the
#      agent CA from it and checks the CA against the token's caPin;
#   4. registers one agent with tests/agent-sim (POST /agent/v1/register with a CSR; mutual TLS
#      with the issued certificate from then on);
#   5. starts that agent in the background (node_agent_start): a heartbeat every 5 s and a long
#      poll that answers every instruction, until NJ_WATCH_PID exits, the node is deleted or
#      node_agents_stop;
#   6. waits for the node's node.join job to complete and the node to be online;
#   7. a control-plane node of a cluster without credentials reports them
#      (POST /agent/v1/cluster-credentials: a throw-away Kubernetes CA and admin certificate
#      made with openssl) and the cluster becomes active;
#   8. writes NJ_DIR/node.env (API, AID, TOKEN, CID, NID, JOB) and prints what it did and the
#      next curl lines (node_next_steps).
# Everything is kept in NJ_DIR/nodes/<nid>/ (the agent's key and certificate, the CA, its log).
# Failures print a message on stderr and return 1.

NJ_WAIT_SECONDS=${NJ_WAIT_SECONDS:-60}

nj_say() { printf '==> %s\n' "$*"; }
nj_fail() {
	printf 'node: error: %s\n' "$*" >&2
	return 1
}

# nj_json FILE PATH → the value at PATH (a.b.0.c) of the JSON in FILE, empty when missing.
nj_json() {
	python3 - "$1" "$2" <<'EOF'
import json, sys
try:
    d = json.load(open(sys.argv[1]))
    for k in sys.argv[2].split(".") if sys.argv[2] else []:
        d = d[int(k)] if isinstance(d, list) else d[k]
    print(d if not isinstance(d, (dict, list)) else json.dumps(d))
except Exception:
    pass
EOF
}

# nj_api METHOD PATH [BODY] → NJ_STATUS, the body in NJ_RESP.
nj_api() {
	local args=(-sS -o "$NJ_RESP" -w '%{http_code}' -X "$1" -H "Authorization: Bearer $NJ_TOKEN")
	[[ -n ${3:-} ]] && args+=(-H 'Content-Type: application/json' --data-binary "$3")
	NJ_STATUS="$(curl "${args[@]}" "$NJ_API$2" 2>>"$NJ_RESP.err" || echo 000)"
}

nj_api_ok() {   # nj_api_ok WANT METHOD PATH [BODY]
	local want="$1"
	shift
	nj_api "$@"
	[[ $NJ_STATUS == "$want" ]] ||
		nj_fail "$1 $2 → $NJ_STATUS $(cat "$NJ_RESP" "$NJ_RESP.err" 2>/dev/null)"
}

# The answer of the job's GET, once it is no longer pending or running; 1 after NJ_WAIT_SECONDS.
nj_job_settled() {
	local i status
	for ((i = 0; i < NJ_WAIT_SECONDS * 5; i++)); do
		nj_api_ok 200 GET "/jobs/$1" || return 1
		status="$(nj_json "$NJ_RESP" status)"
		[[ $status == pending || $status == running ]] || return 0
		sleep 0.2
	done
	return 1
}

# The node.join job of node $1 in cluster NJ_CID: its id in NJ_JOB.
nj_find_join_job() {
	nj_api_ok 200 GET "/jobs?aid=$NJ_AID&cid=$NJ_CID&type=node.join&limit=200" || return 1
	NJ_JOB="$(python3 - "$NJ_RESP" "$1" <<'EOF'
import json, sys
jobs = json.load(open(sys.argv[1]))["jobs"]
print(next((j["id"] for j in jobs if j.get("target", {}).get("id") == sys.argv[2]), ""))
EOF
)"
	[[ -n $NJ_JOB ]] || nj_fail "no node.join job for node $1 in GET /jobs"
}

# The cluster's GET until its status is $1 (and the node NJ_NID online); 1 after NJ_WAIT_SECONDS.
nj_wait_active() {
	local i cluster="" node=""
	for ((i = 0; i < NJ_WAIT_SECONDS * 5; i++)); do
		nj_api_ok 200 GET "/$NJ_AID/$NJ_CID/nodes/$NJ_NID" || return 1
		node="$(nj_json "$NJ_RESP" status)"
		nj_api_ok 200 GET "/$NJ_AID/clusters/$NJ_CID" || return 1
		cluster="$(nj_json "$NJ_RESP" status)"
		[[ $node == online && $cluster == "$1" ]] && return 0
		sleep 0.2
	done
	nj_fail "after ${NJ_WAIT_SECONDS} s the node is $node and the cluster $cluster (wanted online and $1)"
}

# The credentials a control plane's kubeadm init would report: a cluster CA and an admin client
# certificate it signed (O=system:masters), made here, as JSON for /agent/v1/cluster-credentials.
nj_credentials_body() {
	local d="$1"
	if ! openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 \
		-subj /CN=kubernetes -keyout "$d/k8s-ca.key" -out "$d/k8s-ca.crt" 2>/dev/null ||
		! openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
			-subj '/O=system:masters/CN=kubernetes-admin' -keyout "$d/admin.key" \
			-out "$d/admin.csr" 2>/dev/null ||
		! openssl x509 -req -in "$d/admin.csr" -CA "$d/k8s-ca.crt" -CAkey "$d/k8s-ca.key" \
			-CAcreateserial -days 365 -out "$d/admin.crt" 2>/dev/null; then
		nj_fail "openssl could not make the cluster's credentials"
		return 1
	fi
	python3 - "$d" <<'EOF'
import json, sys
d = sys.argv[1]
read = lambda name: open(f"{d}/{name}").read()
print(json.dumps({"caCert": read("k8s-ca.crt"), "adminCert": read("admin.crt"),
                  "adminKey": read("admin.key"), "kubernetesVersion": "v1.31.2"}))
EOF
}

# node_agent_start NODE_DIR AGENT_URL WATCH_PID: the node's agent in the background, in a
# session of its own (it outlives the calling shell and its terminal); its pid, which is also its
# process group, in NODE_DIR/agent.pid.
node_agent_start() {
	local dir="$1" url="$2" watch="$3" i
	rm -f "$dir/agent.pid"
	setsid bash -c '. "$1" && shift && nj_agent_supervise "$@"' nj "${BASH_SOURCE[0]}" \
		"$NJ_SIM" "$url" "$dir" "$watch" </dev/null >>"$dir/agent.log" 2>&1 &
	for ((i = 0; i < 50; i++)); do
		[[ -s $dir/agent.pid ]] && return 0
		sleep 0.1
	done
	nj_fail "the agent did not start, see $dir/agent.log"
}

# The background agent (run by node_agent_start): `agent-sim beat` (a heartbeat every 5 s) and
# `agent-sim work` (a long poll answering every instruction), each started again should it end,
# until the process WATCH_PID is gone (the dev server's `scripts/dev.sh run`, or the test), the
# node is deleted (its certificate is refused), or a TERM to the process group
# (node_agents_stop).
nj_agent_supervise() {
	local sim="$1" url="$2" dir="$3" watch="$4" stopping=0
	printf '%s\n' "$$" >"$dir/agent.pid"
	trap 'stopping=1' TERM INT HUP
	local common=(--agent-url "$url" --ca "$dir/ca.pem" --state "$dir/state.jsonl")
	(while :; do
		"$sim" beat "${common[@]}" --interval 5 --duration 86400
		sleep 1
	done) &
	(while :; do
		"$sim" work "${common[@]}" --wait 30 --duration 86400
		sleep 1
	done) &
	printf '%s agent of node %s started (pid %s)\n' "$(date -u +%FT%TZ)" "$(basename "$dir")" "$$"
	while [[ $stopping == 0 ]] && kill -0 "$watch" 2>/dev/null; do
		# A deleted node's certificate is revoked: its agent has nothing left to do.
		if tail -n 2 "$dir/agent.log" 2>/dev/null | grep -q agent.cert_revoked; then
			printf '%s the node was deleted (its certificate is revoked)\n' "$(date -u +%FT%TZ)"
			break
		fi
		sleep 1
	done
	printf '%s agent stopping\n' "$(date -u +%FT%TZ)"
	rm -f "$dir/agent.pid"
	trap '' TERM
	kill -TERM 0 2>/dev/null
	sleep 1
	kill -KILL 0 2>/dev/null
}

# node_agents_stop DIR: stops the background agent of every node under DIR/nodes.
node_agents_stop() {
	local f pid i
	for f in "$1"/nodes/*/agent.pid; do
		[[ -f $f ]] || continue
		pid="$(cat "$f" 2>/dev/null || true)"
		rm -f "$f"
		[[ $pid =~ ^[0-9]+$ ]] || continue
		kill -0 "$pid" 2>/dev/null || continue
		nj_say "stopping the agent of node $(basename "$(dirname "$f")") (pid $pid)"
		kill -TERM -- "-$pid" 2>/dev/null || true
		for ((i = 0; i < 30; i++)); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL -- "-$pid" 2>/dev/null || true
	done
	return 0
}

# The curl lines to go on with, as the README shows them (after `. .dev/node.env`).
node_next_steps() {
	cat <<'EOF'
. .dev/node.env
curl -sS "$API/$AID/clusters/$CID" -H "Authorization: Bearer $TOKEN"
curl -sS "$API/$AID/$CID/nodes" -H "Authorization: Bearer $TOKEN"
curl -sS "$API/$AID/clusters/$CID/kubeconfig" -H "Authorization: Bearer $TOKEN" -o .dev/kubeconfig.yaml
grep server: .dev/kubeconfig.yaml
curl -sS "$API/jobs?cid=$CID" -H "Authorization: Bearer $TOKEN"
curl -sS "$API/jobs/$JOB/workitems" -H "Authorization: Bearer $TOKEN"
curl -sS "$API/$AID/members" -H "Authorization: Bearer $TOKEN"
curl -sS "$API/$AID/audit-events?limit=5" -H "Authorization: Bearer $TOKEN"
curl -sS "$API/metrics" | grep -E '^runosd_(nodes|jobs)\{'
EOF
}

node_join() {
	: "${NJ_API:?}" "${NJ_AID:?}" "${NJ_TOKEN:?}" "${NJ_SIM:?}" "${NJ_DIR:?}" "${NJ_WATCH_PID:?}"
	[[ -x $NJ_SIM ]] || nj_fail "$NJ_SIM is not built (meson compile -C build)" || return 1
	mkdir -p "$NJ_DIR/nodes"
	chmod 700 "$NJ_DIR/nodes"   # the agents' keys, and answers that hold tokens
	NJ_RESP="$NJ_DIR/nodes/.resp.json"
	rm -f "$NJ_RESP.err"
	local role="${NJ_ROLE:-}" domain status

	# 1. the cluster
	if [[ -z ${NJ_CID:-} ]]; then
		local name="${NJ_NAME:-demo}"
		nj_api_ok 201 POST "/$NJ_AID/clusters" \
			"$(python3 -c 'import json,sys; print(json.dumps({"name": sys.argv[1]}))' "$name")" ||
			return 1
		NJ_CID="$(nj_json "$NJ_RESP" cid)"
		nj_say "POST /$NJ_AID/clusters: cluster $NJ_CID \"$name\" created," \
			"domain $(nj_json "$NJ_RESP" domain), status $(nj_json "$NJ_RESP" status)"
		role="${role:-controlplane}"
	else
		nj_api_ok 200 GET "/$NJ_AID/clusters/$NJ_CID" || return 1
		nj_say "GET /$NJ_AID/clusters/$NJ_CID: cluster \"$(nj_json "$NJ_RESP" name)\"," \
			"status $(nj_json "$NJ_RESP" status)"
		role="${role:-worker}"
	fi
	domain="$(nj_json "$NJ_RESP" domain)"

	# 2. a join token
	nj_api_ok 201 POST "/$NJ_AID/$NJ_CID/join-tokens" "{\"role\":\"$role\",\"ttlSeconds\":600}" ||
		return 1
	local join_token pin
	join_token="$(nj_json "$NJ_RESP" token)"
	pin="$(nj_json "$NJ_RESP" caPin)"
	nj_say "POST /$NJ_AID/$NJ_CID/join-tokens: a $role token (${join_token:0:12}..., one use," \
		"10 minutes), CA pin ${pin:0:23}..."
	nj_say "  its installCommand, for a real machine: $(nj_json "$NJ_RESP" installCommand |
		sed 's/token=rnj_[A-Za-z0-9]*/token=rnj_.../')"

	# 3. what the installer carries: the agent URL and the agent CA, checked against the pin
	local tmp="$NJ_DIR/nodes/.join-$$"
	rm -rf "$tmp"
	mkdir -p "$tmp"
	chmod 700 "$tmp"
	curl -fsS -o "$tmp/install.sh" "$NJ_API/install.sh?token=$join_token" ||
		nj_fail "GET /install.sh?token= failed" || return 1
	local agent_url got
	agent_url="$(sed -n "s/^AGENT_URL='\(.*\)'$/\1/p" "$tmp/install.sh")"
	sed -n "/<<'RUNOS_CA'$/,/^RUNOS_CA$/p" "$tmp/install.sh" | sed '1d;$d' >"$tmp/ca.pem"
	got="sha256:$(openssl x509 -in "$tmp/ca.pem" -outform DER 2>/dev/null | sha256sum | cut -d' ' -f1)"
	[[ -n $agent_url && $got == "$pin" ]] ||
		nj_fail "install.sh: agent URL '$agent_url', CA $got, not the join token's pin $pin" ||
		return 1
	nj_say "GET /install.sh?token=...: agents dial $agent_url; its agent CA matches the pin"

	# 4. registration (agent-sim makes the key and the CSR; only the CSR leaves it)
	local out
	out="$("$NJ_SIM" register --agent-url "$agent_url" --ca "$tmp/ca.pem" --token "$join_token" \
		--count 1 --state "$tmp/state.jsonl" 2>&1)" ||
		nj_fail "agent-sim register: $out" || return 1
	printf '%s\n' "$out" | tail -n 1 >"$tmp/register.json"
	head -n 1 "$tmp/state.jsonl" >"$tmp/agent.json"
	NJ_NID="$(nj_json "$tmp/agent.json" nid)"
	[[ -n $NJ_NID ]] || nj_fail "agent-sim registered no node: $out" || return 1
	local node_dir="$NJ_DIR/nodes/$NJ_NID"
	rm -rf "$node_dir"
	mv "$tmp" "$node_dir"
	nj_say "agent-sim register: POST /agent/v1/register → node $NJ_NID ($role)," \
		"VPN IP $(nj_json "$node_dir/agent.json" vpnIp), certificate issued"

	# 5. its agent: heartbeats and instructions, over mutual TLS
	node_agent_start "$node_dir" "$agent_url" "$NJ_WATCH_PID" || return 1
	nj_say "agent of node $NJ_NID running in the background (pid $(cat "$node_dir/agent.pid")):" \
		"a heartbeat every 5 s, a long poll answering its instructions; log ${node_dir#"$PWD"/}/agent.log"

	# 6. its node.join job
	nj_find_join_job "$NJ_NID" || return 1
	if ! nj_job_settled "$NJ_JOB"; then
		nj_fail "the node.join job $NJ_JOB is still $(nj_json "$NJ_RESP" status) after" \
			"${NJ_WAIT_SECONDS} s (step $(nj_json "$NJ_RESP" currentStep)): an online node" \
			"of the cluster whose agent is not running may hold it up"
		return 1
	fi
	status="$(nj_json "$NJ_RESP" status)"
	[[ $status == completed ]] ||
		nj_fail "the node.join job $NJ_JOB ended $status: $(cat "$NJ_RESP")" || return 1
	nj_say "node.join job $NJ_JOB completed (GET /jobs/$NJ_JOB)"

	# 7. the cluster's credentials, from its first control plane
	local want=active
	nj_api_ok 200 GET "/$NJ_AID/clusters/$NJ_CID" || return 1
	if [[ $(nj_json "$NJ_RESP" configured) != True && ($role == controlplane || $role == hybrid) ]]; then
		local body
		body="$(nj_credentials_body "$node_dir")" || return 1
		out="$("$NJ_SIM" once --agent-url "$agent_url" --ca "$node_dir/ca.pem" \
			--state "$node_dir/state.jsonl" --path /agent/v1/cluster-credentials --body "$body")" ||
			nj_fail "POST /agent/v1/cluster-credentials: $out" || return 1
		nj_say "agent-sim once: POST /agent/v1/cluster-credentials → ${out%% *}" \
			"(a Kubernetes CA and admin certificate made with openssl)"
	elif [[ $(nj_json "$NJ_RESP" configured) != True ]]; then
		want=provisioning   # a worker alone: no control plane has reported credentials
	fi
	nj_wait_active "$want" || return 1
	nj_say "cluster $NJ_CID is $want; node $NJ_NID is online"

	# 8. what to do next
	(
		umask 077
		cat >"$NJ_DIR/node.env" <<EOF
# written by scripts/dev.sh node: the last node it joined — source it: . .dev/node.env
API='$NJ_API'
AID='$NJ_AID'
TOKEN='$NJ_TOKEN'
CID='$NJ_CID'
NID='$NJ_NID'
JOB='$NJ_JOB'
DOMAIN='$domain'
EOF
	)
	printf '\nnext (from the repository root; .dev/node.env sets API, AID, TOKEN, CID, NID, JOB):\n'
	node_next_steps | sed 's/^/  /'
	printf '\n'
}
