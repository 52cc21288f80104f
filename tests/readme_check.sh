#!/usr/bin/env bash
# The README's walkthrough works as printed. Every ```sh block of README.md is cut into its
# commands (a command: the lines up to where bash can parse them), and the commands are run one
# after the other in one bash, as a reader pastes them, against a real runosd this script starts
# on a database of its own (RUNOS_TEST_ADMIN_DATABASE_URL) and free ports. Each command must
# succeed: curl runs with --fail-with-body, so an HTTP error fails it, and any failing command of
# the line (pipefail) counts. The one change made to the text is the address: the README's
# http://127.0.0.1:8080 becomes this server's.
#
# A block that sources .dev/node.env is the part after `scripts/dev.sh node`: it runs in a
# directory where node_join (scripts/node_join.sh, what `scripts/dev.sh node` runs) has just
# joined a simulated node (tests/agent-sim) for an account made like `scripts/dev.sh run`'s demo
# account. The lines node_join prints as "next" are run too, and some answers are checked: the
# cluster active, the node online, a kubeconfig, the join job completed, an owner among the
# members, the credentials report in the audit trail, the online node in the metrics, the
# service healthy, the app deployed and healthy, its logs. A second
# node then joins the same cluster as a worker (the first node's background agent answers its
# peers and join-command steps); the worker is deleted (its agent must stop by itself) and the
# first agent is stopped as scripts/dev.sh stop does.
#
# Run by scripts/dev.sh test (the RUNOS_TEST_* variables); last line "readme: N passed, N failed".
set -uo pipefail
ROOT="${RUNOS_TEST_SOURCE_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)}"
README="$ROOT/README.md"
PASSED=0
FAILED=0
SERVER_PID=""
DB=""
WORK=""

pass() {
	PASSED=$((PASSED + 1))
	printf 'ok    %s\n' "$*"
}
fail() {
	FAILED=$((FAILED + 1))
	printf 'FAIL  %s\n' "$*"
}

cleanup() {
	[[ -n $WORK ]] && node_agents_stop "$WORK/node/.dev" >/dev/null 2>&1
	if [[ -n $SERVER_PID ]]; then
		kill -TERM "$SERVER_PID" 2>/dev/null
		wait "$SERVER_PID" 2>/dev/null
		SERVER_PID=""
	fi
	if [[ -n $DB ]]; then
		psql -X -q "$RUNOS_TEST_ADMIN_DATABASE_URL" -c 'SET client_min_messages = warning' \
			-c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1
		DB=""
	fi
}

finish() {
	# README_CHECK_OUT=DIR keeps what every command answered, to refresh the README's excerpts.
	[[ -n ${README_CHECK_OUT:-} && -n $WORK ]] && cp -r "$WORK/node/.out" "$README_CHECK_OUT"
	cleanup
	printf 'readme: %d passed, %d failed\n' "$PASSED" "$FAILED"
	[[ $FAILED -eq 0 && $PASSED -gt 0 ]]
	exit
}
trap 'finish' INT TERM
trap 'cleanup' EXIT   # any other way out: idempotent

for v in RUNOS_TEST_BIN RUNOS_TEST_ADMIN_DATABASE_URL RUNOS_TEST_REDIS_URL RUNOS_TEST_TMPDIR \
	RUNOS_TEST_MASTER_KEY; do
	if [[ -z ${!v:-} ]]; then
		fail "$v is not set (run this through scripts/dev.sh test)"
		finish
	fi
done
# shellcheck source=scripts/node_join.sh
. "$ROOT/scripts/node_join.sh"
SIM="$(dirname "$RUNOS_TEST_BIN")/../tests/agent-sim/agent-sim"
WORK="$(mktemp -d "$RUNOS_TEST_TMPDIR/readme.XXXXXX")"

# ---------------------------------------------------------------------------------------------
# a runosd of our own

DB="runosd_readme_$$"
DATABASE_URL="$(python3 - "$RUNOS_TEST_ADMIN_DATABASE_URL" "$DB" <<'EOF'
import sys, urllib.parse as u
p = u.urlsplit(sys.argv[1])
print(u.urlunsplit(p._replace(path="/" + sys.argv[2])))
EOF
)"
if psql -X -q "$RUNOS_TEST_ADMIN_DATABASE_URL" -c "CREATE DATABASE $DB" >"$WORK/psql.log" 2>&1; then
	pass "database $DB created"
else
	fail "CREATE DATABASE $DB: $(cat "$WORK/psql.log")"
	DB=""
	finish
fi

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
HTTP_PORT="$(free_port)"
AGENT_PORT="$(free_port)"
while [[ $AGENT_PORT == "$HTTP_PORT" ]]; do AGENT_PORT="$(free_port)"; done
URL="http://127.0.0.1:$HTTP_PORT"
mkdir -p "$WORK/state"
RUNOS_DATABASE_URL="$DATABASE_URL" RUNOS_REDIS_URL="$RUNOS_TEST_REDIS_URL" \
	RUNOS_HTTP_ADDR="127.0.0.1:$HTTP_PORT" RUNOS_AGENT_ADDR="127.0.0.1:$AGENT_PORT" \
	RUNOS_MASTER_KEY="$RUNOS_TEST_MASTER_KEY" RUNOS_STATE_DIR="$WORK/state" RUNOS_LOG_FORMAT=text \
	"$RUNOS_TEST_BIN" serve >"$WORK/runosd.log" 2>&1 &
SERVER_PID=$!
ready=0
for ((i = 0; i < 600; i++)); do
	kill -0 "$SERVER_PID" 2>/dev/null || break
	if curl -fsS -o /dev/null "$URL/readyz" 2>/dev/null; then
		ready=1
		break
	fi
	sleep 0.1
done
if [[ $ready == 1 ]]; then
	pass "runosd serves $URL (agents: 127.0.0.1:$AGENT_PORT)"
else
	fail "runosd did not become ready: $(tail -n 20 "$WORK/runosd.log")"
	finish
fi

# ---------------------------------------------------------------------------------------------
# the README's blocks

# split_commands FILE → the commands of the shell text in FILE, NUL-separated
split_commands() {
	python3 - "$1" <<'EOF'
import subprocess, sys
out, buf = [], []
for line in open(sys.argv[1]).read().splitlines():
    buf.append(line)
    text = "\n".join(buf)
    body = [l for l in buf if l.strip() and not l.strip().startswith("#")]
    if not body:
        buf = []
        continue
    if line.endswith("\\"):
        continue
    if subprocess.run(["bash", "-n", "-c", text], capture_output=True).returncode == 0:
        out.append(text.strip("\n"))
        buf = []
if buf and any(l.strip() and not l.strip().startswith("#") for l in buf):
    out.append("\n".join(buf))  # unparseable: bash will say why
sys.stdout.write("".join(c + "\0" for c in out))
EOF
}

# run_block NAME FILE DIR: runs the commands of FILE in DIR, one check each; the output of
# command i is in DIR/.out/NAME.i (its stderr in .err), the command in .cmd.
run_block() {
	local name="$1" file="$2" dir="$3" runner i=0 cmd
	runner="$WORK/$name.runner.sh"
	mkdir -p "$dir/.out"
	{
		printf 'cd %q || exit 1\n' "$dir"
		printf 'set -E -o pipefail\n'
		printf 'curl() { command curl --fail-with-body "$@"; }\n'
		printf "trap '__rc=1' ERR\n"
	} >"$runner"
	while IFS= read -r -d '' cmd; do
		i=$((i + 1))
		printf '%s\n' "$cmd" >"$dir/.out/$name.$i.cmd"
		{
			printf '__rc=0\n{\n%s\n} >%q 2>%q\n' "$cmd" "$dir/.out/$name.$i" "$dir/.out/$name.$i.err"
			printf 'echo "$__rc" >%q\n' "$dir/.out/$name.$i.rc"
		} >>"$runner"
	done < <(split_commands "$file")
	if [[ $i -eq 0 ]]; then
		fail "$name: no commands"
		return
	fi
	bash "$runner" </dev/null >"$WORK/$name.runner.log" 2>&1
	local n rc line
	for ((n = 1; n <= i; n++)); do
		line="$(head -n 1 "$dir/.out/$name.$n.cmd")"
		[[ $(wc -l <"$dir/.out/$name.$n.cmd") -gt 1 ]] && line+=" ..."
		rc="$(cat "$dir/.out/$name.$n.rc" 2>/dev/null || echo 'not run')"
		if [[ $rc == 0 ]]; then
			pass "$name: $line"
		else
			fail "$name: $line (status $rc)"
			awk '{ print "        out: " $0 }' "$dir/.out/$name.$n" 2>/dev/null | head -n 5
			awk '{ print "        err: " $0 }' "$dir/.out/$name.$n.err" 2>/dev/null | head -n 5
		fi
	done
}

# expect NAME DIR CMD_REGEX OUT_REGEX WHAT: the output of the command of block NAME that matches
# CMD_REGEX (the first one) matches OUT_REGEX.
expect() {
	local name="$1" dir="$2" cre="$3" ore="$4" what="$5" f
	for f in "$dir/.out/$name".*.cmd; do
		[[ -f $f ]] || continue
		if grep -Eq -- "$cre" "$f"; then
			if grep -Eq -- "$ore" "${f%.cmd}"; then
				pass "$name: $what"
			else
				fail "$name: $what: the output of $(head -n 1 "$f") does not match $ore"
			fi
			return
		fi
	done
	fail "$name: no command matching $cre (for: $what)"
}

python3 - "$README" "$WORK/blocks" <<'EOF'
import os, sys
os.makedirs(sys.argv[2], exist_ok=True)
block, n = None, 0
for line in open(sys.argv[1]).read().splitlines():
    if block is None and line.strip() == "```sh":
        block = []
    elif block is not None and line.strip() == "```":
        n += 1
        open(os.path.join(sys.argv[2], "%02d.sh" % n), "w").write("\n".join(block) + "\n")
        block = None
    elif block is not None:
        block.append(line)
EOF
blocks=("$WORK"/blocks/*.sh)
[[ -f ${blocks[0]} ]] || {
	fail "README.md has no \`\`\`sh block"
	finish
}
sed -i "s#http://127\.0\.0\.1:8080#$URL#g" "${blocks[@]}"

# The node: an account as scripts/dev.sh run makes its demo account, then node_join as
# scripts/dev.sh node runs it.
join_node() {
	local dir="$WORK/node" resp="$WORK/signup.json" session aid pat
	mkdir -p "$dir/.dev"
	curl -fsS -o "$resp" -H 'Content-Type: application/json' "$URL/auth/signup" \
		-d '{"email":"demo@runos.local","password":"demo-password-123","name":"Demo User","companyName":"Demo Co"}' ||
		return 1
	session="$(nj_json "$resp" token)"
	aid="$(nj_json "$resp" account.aid)"
	curl -fsS -o "$resp" -H "Authorization: Bearer $session" -H 'Content-Type: application/json' \
		"$URL/$aid/api-keys" -d '{"name":"demo key"}' || return 1
	pat="$(nj_json "$resp" token)"
	(cd "$dir" && NJ_API="$URL" NJ_AID="$aid" NJ_TOKEN="$pat" NJ_SIM="$SIM" NJ_DIR="$dir/.dev" \
		NJ_WATCH_PID=$$ node_join) >"$WORK/node_join.log" 2>&1
}

b=0
joined=0
for f in "${blocks[@]}"; do
	b=$((b + 1))
	if grep -q '\.dev/node\.env' "$f"; then
		if [[ $joined == 0 ]]; then
			if join_node; then
				pass "node_join (scripts/dev.sh node): $(grep -c '^==> ' "$WORK/node_join.log") steps"
				joined=1
			else
				fail "node_join (scripts/dev.sh node):"
				sed 's/^/        /' "$WORK/node_join.log"
				continue
			fi
			sed 's/^/        /' "$WORK/node_join.log"
			# what it printed to do next
			sed -n '/^next (/,/^$/p' "$WORK/node_join.log" | sed -n 's/^  //p' >"$WORK/printed.sh"
			run_block printed "$WORK/printed.sh" "$WORK/node"
		fi
		run_block "block$b" "$f" "$WORK/node"
		expect "block$b" "$WORK/node" '/clusters/\$CID"' '"status":"active"' 'the cluster is active'
		expect "block$b" "$WORK/node" '/nodes"' '"status":"online"' 'the node is online'
		expect "block$b" "$WORK/node" 'grep .*kubeconfig' '^ *server: https://k8s\.' 'a kubeconfig'
		expect "block$b" "$WORK/node" '/jobs\?' '"type":"node.join","status":"completed"' \
			'the join job completed'
		expect "block$b" "$WORK/node" '/workitems"' '"name":"join","status":"completed"' \
			'its join step completed'
		expect "block$b" "$WORK/node" '/members"' '"accountRole":"owner"' 'the owner among the members'
		expect "block$b" "$WORK/node" '/audit-events' '"action":"cluster.credentials"' \
			'the credentials report in the audit trail'
		expect "block$b" "$WORK/node" '/metrics"' '^runosd_nodes\{status="online"\} 1$' \
			'the online node in the metrics'
		expect "block$b" "$WORK/node" '^curl .*SVC/status"' '"state":"healthy"' \
			'the service is healthy (installed by its job, reported by the node)'
		expect "block$b" "$WORK/node" '^curl .*SVC" ' '"osid":"postgresql-[a-z0-9]{5}"' 'the service shown'
		expect "block$b" "$WORK/node" '^curl .*SVC/credentials"' '"password":"rnc_' 'its credentials'
		expect "block$b" "$WORK/node" '^curl .*APP/deployments"' '"status":"succeeded"' \
			'the app deployed (built, applied, reported ready)'
		expect "block$b" "$WORK/node" '^curl .*APP/status"' '"state":"healthy"' 'the app is healthy'
		expect "block$b" "$WORK/node" '^curl .*APP/logs' '"podName":"app-[a-z0-9]{5}-' 'its logs'
	else
		mkdir -p "$WORK/block$b"
		run_block "block$b" "$f" "$WORK/block$b"
	fi
done
[[ $joined == 1 ]] || fail "no README block sources .dev/node.env (the scripts/dev.sh node part)"

# A second node joins the cluster as a worker: the first node's background agent answers the
# SET_VPN_PEERS and GET_CLUSTER_JOIN_CMD of the new node's job.
if [[ $joined == 1 ]]; then
	CID="$(sed -n "s/^CID='\(.*\)'$/\1/p" "$WORK/node/.dev/node.env")"
	FIRST="$(sed -n "s/^NID='\(.*\)'$/\1/p" "$WORK/node/.dev/node.env")"
	pat="$(sed -n "s/^TOKEN='\(.*\)'$/\1/p" "$WORK/node/.dev/node.env")"
	aid="$(sed -n "s/^AID='\(.*\)'$/\1/p" "$WORK/node/.dev/node.env")"
	if (cd "$WORK/node" && NJ_API="$URL" NJ_AID="$aid" NJ_TOKEN="$pat" NJ_SIM="$SIM" \
		NJ_DIR="$WORK/node/.dev" NJ_WATCH_PID=$$ NJ_CID="$CID" node_join) >"$WORK/node_join2.log" 2>&1 &&
		grep -q "(worker)" "$WORK/node_join2.log" && grep -q "is active" "$WORK/node_join2.log"; then
		pass "node_join --cluster $CID: a worker joined, the cluster is still active"
	else
		fail "node_join --cluster $CID:"
		sed 's/^/        /' "$WORK/node_join2.log"
	fi
	declare -A pid_of=()
	for f in "$WORK/node/.dev/nodes"/*/agent.pid; do
		[[ -f $f ]] && pid_of[$(basename "$(dirname "$f")")]="$(cat "$f")"
	done
	if [[ ${#pid_of[@]} -eq 2 ]] && kill -0 "${pid_of[@]}" 2>/dev/null; then
		pass "two background agents run (pids ${pid_of[*]})"
	else
		fail "background agents: ${#pid_of[@]} pid files (${pid_of[*]:-none}), wanted 2 running"
	fi
	# The worker deleted: the first node's agent answers the job's peer update, and the
	# worker's agent stops by itself once its certificate is refused.
	WORKER="$(sed -n "s/^NID='\(.*\)'$/\1/p" "$WORK/node/.dev/node.env")"
	NJ_API="$URL" NJ_TOKEN="$pat" NJ_RESP="$WORK/delete.json"
	if nj_api_ok 202 DELETE "/$aid/$CID/nodes/$WORKER" && JOB="$(nj_json "$NJ_RESP" jobId)" &&
		nj_job_settled "$JOB" && [[ $(nj_json "$NJ_RESP" status) == completed ]]; then
		pass "DELETE node $WORKER: its node.delete job completed"
	else
		fail "DELETE node $WORKER: $(cat "$NJ_RESP")"
	fi
	wpid="${pid_of[$WORKER]:-}"
	for ((i = 0; i < 300; i++)); do
		[[ -n $wpid ]] && kill -0 "$wpid" 2>/dev/null || break
		sleep 0.1
	done
	if [[ -n $wpid ]] && ! kill -0 "$wpid" 2>/dev/null; then
		pass "the deleted node's agent stopped by itself"
	else
		fail "the deleted node's agent (pid ${wpid:-none}) still runs 30 s after the delete"
	fi
	node_agents_stop "$WORK/node/.dev" >/dev/null
	fpid="${pid_of[$FIRST]:-}"
	if [[ -n $fpid ]] && ! kill -0 "$fpid" 2>/dev/null; then
		pass "node_agents_stop (scripts/dev.sh stop) stopped the other one"
	else
		fail "node_agents_stop left the agent of $FIRST (pid ${fpid:-none}) running"
	fi
	[[ -n $FIRST ]] || fail "no NID in node.env"
fi

if ! kill -0 "$SERVER_PID" 2>/dev/null; then
	fail "runosd exited during the walkthrough: $(tail -n 20 "$WORK/runosd.log")"
	SERVER_PID=""
fi
finish
