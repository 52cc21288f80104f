#!/usr/bin/env bash
# Developer entry point for runosd (see README.md, "Quick start").
#
#   scripts/dev.sh run            build, private PostgreSQL + Redis, migrate, demo user/account/PAT,
#                                 server in the foreground (Ctrl-C stops everything)
#   scripts/dev.sh node [options] join a simulated node (tests/agent-sim) to a cluster of the demo
#                                 account of a running `run`, which leaves the cluster active
#                                 (scripts/node_join.sh; `node --help`)
#   scripts/dev.sh test [substr]  same setup on a throw-away database, then every test program;
#                                 the last line of output is "N passed, N failed"
#   scripts/dev.sh bench [args]   tests/bench/run.sh [args]
#   scripts/dev.sh fuzz [seconds] build tests/fuzz with clang + libFuzzer (build-fuzz/) and fuzz
#                                 each harness for that long (default 60); crashes land in .dev/fuzz
#   scripts/dev.sh build          install missing packages, meson setup + compile
#   scripts/dev.sh packages       install missing packages only
#   scripts/dev.sh stop           stop what an interrupted run/test left behind
#   scripts/dev.sh psql [args]    psql on the dev database (starts PostgreSQL if needed)
#   scripts/dev.sh help
#
# Works on a fresh Debian 12 machine, as root or as a user with sudo. PostgreSQL refuses to run as
# root, so as root the daemons run as the system user "runos-dev" (created when missing).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
cd "$ROOT"

PG_BIN=/usr/lib/postgresql/15/bin
PG_EXT_DIR=/usr/share/postgresql/15/extension
DEV_DIR="$ROOT/.dev"
DAEMON_USER=runos-dev
PG_USER=runos

PACKAGES=(build-essential pkg-config meson ninja-build libmicrohttpd-dev libgnutls28-dev
	libjansson-dev libhiredis-dev libargon2-dev uuid-dev libssl-dev libpq-dev libcurl4-openssl-dev
	postgresql-15 postgresql-client-15 redis-server wrk curl openssl python3 clang-format git prometheus
	nodejs procps chromium dnsmasq-base wireguard-tools)

# ---------------------------------------------------------------------------------------------
# state (read by cleanup)
MODE=""
BUILD_DIR="$ROOT/build"
SOCK_DIR=""          # /tmp/runosd-XXXXXX: PostgreSQL and Redis unix sockets
DAEMON_BASE=""       # owned by the daemon user: pg/data, pg/postgres.log, redis/
PG_DATA=""
PG_LOG=""
PG_PORT=""
PG_OPTS=""
PG_STARTED=0
REDIS_PORT=""
REDIS_PIDFILE=""
REDIS_STARTED=0
SERVER_PID=""
SCRATCH=""           # test: .dev/test-<pid>
REMOVE_DAEMON_BASE=0
FINAL_PRINTED=0
KEEP_LOGS=0
IN_WAIT=0

log() { printf '==> %s\n' "$*" >&2; }
warn() { printf 'dev.sh: warning: %s\n' "$*" >&2; }
die() {
	printf 'dev.sh: error: %s\n' "$*" >&2
	exit 1
}

# ---------------------------------------------------------------------------------------------
# packages

pkg_installed() {
	[[ $(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true) == "install ok installed" ]]
}

# Debian 12 ships contrib inside postgresql-15 (postgresql-contrib-15 is a virtual package and
# postgresql-contrib a metapackage); other releases may have a real postgresql-contrib-15.
contrib_present() {
	pkg_installed postgresql-contrib-15 || pkg_installed postgresql-contrib ||
		[[ -f $PG_EXT_DIR/pg_stat_statements.control ]]
}

ensure_packages() {
	local missing=() p
	for p in "${PACKAGES[@]}"; do
		pkg_installed "$p" || missing+=("$p")
	done
	# npm: the benchmark peers' and tests/k8s's `npm ci` (they run on the Node their
	# package-lock.json pins, so Debian's nodejs 18 does). Debian ships it as the package npm;
	# NodeSource's nodejs bundles it and conflicts with that package.
	command -v npm >/dev/null 2>&1 || pkg_installed npm || missing+=(npm)
	# kubectl: the tests check what runosd sends to clusters with the real tool (merged
	# kubeconfigs). Debian 12 ships it as kubernetes-client; a kubectl of your own is kept.
	command -v kubectl >/dev/null 2>&1 || pkg_installed kubernetes-client ||
		missing+=(kubernetes-client)
	local need_contrib=0
	contrib_present || need_contrib=1
	if [[ ${#missing[@]} -eq 0 && $need_contrib -eq 0 ]]; then
		return 0
	fi
	[[ $need_contrib -eq 1 ]] && missing+=("postgresql-contrib-15|postgresql-contrib")

	local sudo=()
	if ! user_is_root; then
		if command -v sudo >/dev/null 2>&1; then
			sudo=(sudo)
		else
			die "missing Debian packages and not root (no sudo): ${missing[*]}
  install them with: apt-get install --no-install-recommends ${missing[*]//|/ or }"
		fi
	fi
	log "installing missing packages: ${missing[*]}"
	"${sudo[@]}" apt-get update
	if [[ $need_contrib -eq 1 ]]; then
		local contrib=postgresql-contrib
		if apt-cache policy postgresql-contrib-15 2>/dev/null | grep -q 'Candidate: [^(]'; then
			contrib=postgresql-contrib-15
		fi
		missing=("${missing[@]/postgresql-contrib-15|postgresql-contrib/$contrib}")
	fi
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
		apt-get install -y --no-install-recommends "${missing[@]}"
}

# ---------------------------------------------------------------------------------------------
# build

build() {
	local dir="$1"
	shift
	if [[ ! -f $dir/meson-private/coredata.dat ]]; then
		log "meson setup $(basename "$dir") $*"
		meson setup "$dir" "$@"
	fi
	# The /docs page's Swagger UI (npm ci from its lockfile when needed): compiled into runosd.
	"$ROOT/server/docs_ui/install.sh" ||
		warn "server/docs_ui/install.sh failed: /docs will answer 503 docs.not_built"
	log "meson compile -C $(basename "$dir")"
	meson compile -C "$dir"
	[[ -x $dir/server/runosd ]] || die "build did not produce $dir/server/runosd"
}

build_selected() {
	if [[ ${RUNOS_TEST_SANITIZE:-0} == 1 && $MODE == test ]]; then
		BUILD_DIR="$ROOT/build-asan"
		build "$BUILD_DIR" -Db_sanitize=address,undefined -Db_lundef=false
	elif [[ ${RUNOS_TEST_SANITIZE:-0} == thread && $MODE == test ]]; then
		# A report makes runosd exit 66, which the integration tests' clean stops catch.
		BUILD_DIR="$ROOT/build-tsan"
		build "$BUILD_DIR" -Db_sanitize=thread -Db_lundef=false
	else
		BUILD_DIR="$ROOT/build"
		build "$BUILD_DIR"
	fi
}

# ---------------------------------------------------------------------------------------------
# daemon user, ports, directories

# The daemon user: created when missing by every function of scripts/lib/users.sh that chowns to
# it or runs a command as it.
# shellcheck source=scripts/lib/users.sh
source "$ROOT/scripts/lib/users.sh"

# Run a command as the daemon user (as root), or as ourselves (not root), with cwd /.
as_daemon() { user_run "$DAEMON_USER" "$@"; }

# The same, as a string for sh -c.
as_daemon_str() { user_run_str "$DAEMON_USER" "$@"; }

ensure_daemon_user() { user_ensure "$DAEMON_USER"; }

give_to_daemon() { user_give "$DAEMON_USER" "$@"; }

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

port_is_free() {
	python3 - "$1" <<'EOF' 2>/dev/null
import socket, sys
s = socket.socket()
try:
    s.bind(("127.0.0.1", int(sys.argv[1])))
except OSError:
    sys.exit(1)
EOF
}

make_sock_dir() {
	SOCK_DIR="$(mktemp -d /tmp/runosd-XXXXXX)"
	chmod 755 "$SOCK_DIR"
	give_to_daemon "$SOCK_DIR"
}

# DAEMON_BASE=$1 when the daemon user can reach it, else a directory under /var/tmp or /tmp.
# $2: "persistent" ($1 is .dev: keep data between runs; the fallback is a stable path under
# /var/tmp) or "temp" ($1 is a fresh directory given to the daemon user; the fallback is removed
# at exit). The daemon user gets its own pg/ and redis/ subdirectories.
choose_daemon_base() {
	local want="$1" kind="$2"
	mkdir -p "$want"
	[[ $kind == temp ]] && give_to_daemon "$want"
	if as_daemon test -x "$want" 2>/dev/null; then
		DAEMON_BASE="$want"
		return 0
	fi
	if [[ $kind == persistent ]]; then
		DAEMON_BASE="/var/tmp/runosd-dev-$(printf '%s' "$ROOT" | cksum | cut -d' ' -f1)"
		mkdir -p "$DAEMON_BASE"
		chmod 755 "$DAEMON_BASE"
	else
		rmdir "$want" 2>/dev/null || true
		DAEMON_BASE="$(mktemp -d /tmp/runosd-test-XXXXXX)"
		chmod 755 "$DAEMON_BASE"
		REMOVE_DAEMON_BASE=1
	fi
	log "$DAEMON_USER cannot reach $want; daemon data lives in $DAEMON_BASE"
}

# ---------------------------------------------------------------------------------------------
# PostgreSQL

pg_init() {
	mkdir -p "$DAEMON_BASE/pg"
	give_to_daemon "$DAEMON_BASE/pg"
	PG_DATA="$DAEMON_BASE/pg/data"
	PG_LOG="$DAEMON_BASE/pg/postgres.log"
	if [[ -d $PG_DATA && ! -f $PG_DATA/PG_VERSION ]]; then
		warn "removing incomplete data directory $PG_DATA"
		rm -rf "$PG_DATA"
	fi
	if [[ ! -f $PG_DATA/PG_VERSION ]]; then
		log "initdb $PG_DATA"
		local extra=()
		[[ $MODE == test ]] && extra=(--no-sync)
		as_daemon "$PG_BIN/initdb" -D "$PG_DATA" --auth=trust -U "$PG_USER" --encoding=UTF8 \
			--locale=C "${extra[@]}" >"$DAEMON_BASE/pg/initdb.log" 2>&1 ||
			die "initdb failed, see $DAEMON_BASE/pg/initdb.log"
	fi
}

pg_is_running() { as_daemon "$PG_BIN/pg_ctl" -D "$PG_DATA" status >/dev/null 2>&1; }

pg_start() {
	local listen="$1"   # '' (unix socket only) or 127.0.0.1
	if pg_is_running; then
		die "a PostgreSQL is already running on $PG_DATA (another dev.sh? try: scripts/dev.sh stop)"
	fi
	PG_OPTS="-k $SOCK_DIR -p $PG_PORT -c listen_addresses='$listen' -c max_connections=300"
	PG_OPTS+=" -c synchronous_commit=off"
	if [[ $MODE == test ]]; then
		PG_OPTS+=" -c fsync=off -c full_page_writes=off"
	fi
	if [[ -f $PG_EXT_DIR/pg_stat_statements.control && -f /usr/lib/postgresql/15/lib/pg_stat_statements.so ]]; then
		PG_OPTS+=" -c shared_preload_libraries=pg_stat_statements"
	fi
	log "starting PostgreSQL (socket $SOCK_DIR, port $PG_PORT${listen:+, tcp $listen:$PG_PORT})"
	PG_STARTED=1
	if ! as_daemon "$PG_BIN/pg_ctl" -w -t 60 -D "$PG_DATA" -l "$PG_LOG" -o "$PG_OPTS" start >/dev/null; then
		tail -n 20 "$PG_LOG" >&2 2>/dev/null || true
		die "PostgreSQL did not start, see $PG_LOG"
	fi
}

pg_stop() {
	[[ -n $PG_DATA && -f $PG_DATA/postmaster.pid ]] || return 0
	as_daemon "$PG_BIN/pg_ctl" -D "$PG_DATA" -m fast -w -t 30 stop >/dev/null 2>&1 ||
		as_daemon "$PG_BIN/pg_ctl" -D "$PG_DATA" -m immediate -w -t 30 stop >/dev/null 2>&1 || true
}

pg_url() { printf 'postgresql://%s@/%s?host=%s&port=%s' "$PG_USER" "$1" "$SOCK_DIR" "$PG_PORT"; }

pg_psql() {
	local db="$1"
	shift
	psql -X -q -v ON_ERROR_STOP=1 "host=$SOCK_DIR port=$PG_PORT user=$PG_USER dbname=$db" "$@"
}

# ---------------------------------------------------------------------------------------------
# Redis

redis_start() {
	mkdir -p "$DAEMON_BASE/redis"
	give_to_daemon "$DAEMON_BASE/redis"
	REDIS_PORT="$(free_port)"
	REDIS_PIDFILE="$DAEMON_BASE/redis/redis.pid"
	log "starting Redis (127.0.0.1:$REDIS_PORT)"
	REDIS_STARTED=1
	as_daemon redis-server --port "$REDIS_PORT" --bind 127.0.0.1 \
		--unixsocket "$SOCK_DIR/redis.sock" --unixsocketperm 777 \
		--save '' --appendonly no --daemonize yes \
		--pidfile "$REDIS_PIDFILE" --logfile "$DAEMON_BASE/redis/redis.log" \
		--dir "$DAEMON_BASE/redis" >/dev/null
	local i
	for ((i = 0; i < 100; i++)); do
		[[ $(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null) == PONG ]] && return 0
		sleep 0.1
	done
	die "Redis did not answer, see $DAEMON_BASE/redis/redis.log"
}

redis_stop() {
	[[ $REDIS_STARTED == 1 ]] || return 0
	REDIS_STARTED=0
	local pid=""
	[[ -f $REDIS_PIDFILE ]] && pid="$(cat "$REDIS_PIDFILE" 2>/dev/null || true)"
	redis-cli -h 127.0.0.1 -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true
	if [[ -n $pid ]]; then
		local i
		for ((i = 0; i < 50; i++)); do
			kill -0 "$pid" 2>/dev/null || return 0
			sleep 0.1
		done
		kill -KILL "$pid" 2>/dev/null || true
	fi
}

# ---------------------------------------------------------------------------------------------
# cleanup

server_stop() {
	[[ -n $SERVER_PID ]] || return 0
	if kill -0 "$SERVER_PID" 2>/dev/null; then
		kill -TERM "$SERVER_PID" 2>/dev/null || true
		local i
		for ((i = 0; i < 150; i++)); do
			kill -0 "$SERVER_PID" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$SERVER_PID" 2>/dev/null || true
	fi
	wait "$SERVER_PID" 2>/dev/null || true
	SERVER_PID=""
}

cleanup() {
	server_stop
	redis_stop
	[[ $PG_STARTED == 1 ]] && pg_stop
	PG_STARTED=0
	[[ -n $SOCK_DIR ]] && rm -rf "$SOCK_DIR"
	SOCK_DIR=""
	case "$MODE" in
	run) rm -f "$DEV_DIR/run.env" ;;
	test | psql-temp) ;;
	esac
	if [[ $MODE == test ]]; then
		[[ -n $PG_DATA ]] && rm -rf "$PG_DATA"
		[[ $REMOVE_DAEMON_BASE == 1 && -n $DAEMON_BASE ]] && rm -rf "$DAEMON_BASE"
		if [[ -n $SCRATCH ]]; then
			if [[ $KEEP_LOGS == 1 ]]; then
				rm -rf "$SCRATCH/tmp" "$SCRATCH/daemons/pg/data"
			else
				rm -rf "$SCRATCH"
			fi
		fi
	fi
}

on_exit() {
	local rc=$?
	trap - EXIT INT TERM
	if [[ $MODE == test ]]; then
		cleanup >/dev/null 2>&1 || true
		if [[ $FINAL_PRINTED == 0 ]]; then
			# setup failed before any test ran: still end with the summary line
			printf '0 passed, 1 failed\n'
			[[ $rc -eq 0 ]] && rc=1
		fi
	else
		[[ $MODE == run ]] && log "stopping"
		cleanup || true
	fi
	exit "$rc"
}

on_signal() {
	local sig="$1"
	if [[ $IN_WAIT == 1 && -n $SERVER_PID ]]; then
		kill -TERM "$SERVER_PID" 2>/dev/null || true
		return 0
	fi
	if [[ -n ${TEST_CHILD:-} ]]; then kill -TERM "$TEST_CHILD" 2>/dev/null || true; fi
	[[ $sig == INT ]] && exit 130
	exit 143
}

install_traps() {
	trap on_exit EXIT
	trap 'on_signal INT' INT
	trap 'on_signal TERM' TERM
}

# ---------------------------------------------------------------------------------------------
# shared setup

setup_common() {
	ensure_packages
	build_selected
	ensure_daemon_user
}

# ---------------------------------------------------------------------------------------------
# run

json_get() {   # json_get FILE a.b.0.c   → value, empty when missing
	python3 - "$1" "$2" <<'EOF'
import json, sys
try:
    d = json.load(open(sys.argv[1]))
    for k in sys.argv[2].split("."):
        d = d[int(k)] if isinstance(d, list) else d[k]
    print(d if not isinstance(d, (dict, list)) else json.dumps(d))
except Exception:
    pass
EOF
}

default_aid() {   # GET /user/accounts body → aid of the default account, else the first
	python3 - "$1" <<'EOF'
import json, sys
try:
    a = json.load(open(sys.argv[1]))["accounts"]
    print(next((x for x in a if x.get("isDefault")), a[0])["aid"])
except Exception:
    pass
EOF
}

# api METHOD PATH TOKEN BODY → sets HTTP_STATUS, body in $RESP
api() {
	local method="$1" path="$2" token="$3" body="${4:-}"
	local args=(-sS -o "$RESP" -w '%{http_code}' -X "$method" -H 'Accept: application/json')
	[[ -n $token ]] && args+=(-H "Authorization: Bearer $token")
	[[ -n $body ]] && args+=(-H 'Content-Type: application/json' --data-binary "$body")
	HTTP_STATUS="$(curl "${args[@]}" "$API_URL$path" || echo 000)"
}

demo_setup() {
	local email=demo@runos.local password=demo-password-123
	RESP="$DEV_DIR/.resp.json"
	local session="" aid="" pat=""

	api POST /auth/signup "" \
		"{\"email\":\"$email\",\"password\":\"$password\",\"name\":\"Demo User\",\"companyName\":\"Demo Co\"}"
	case "$HTTP_STATUS" in
	201)
		session="$(json_get "$RESP" token)"
		aid="$(json_get "$RESP" account.aid)"
		;;
	409)
		api POST /auth/login "" "{\"email\":\"$email\",\"password\":\"$password\"}"
		[[ $HTTP_STATUS == 200 ]] || {
			warn "POST /auth/login → $HTTP_STATUS $(cat "$RESP" 2>/dev/null)"
			return 1
		}
		session="$(json_get "$RESP" token)"
		api GET /user/accounts "$session"
		[[ $HTTP_STATUS == 200 ]] || {
			warn "GET /user/accounts → $HTTP_STATUS $(cat "$RESP" 2>/dev/null)"
			return 1
		}
		aid="$(default_aid "$RESP")"
		;;
	*)
		warn "POST /auth/signup → $HTTP_STATUS $(cat "$RESP" 2>/dev/null)"
		return 1
		;;
	esac
	[[ -n $session && -n $aid ]] || {
		warn "could not read the session token / aid from: $(cat "$RESP")"
		return 1
	}

	# Reuse the PAT of an earlier run while it still works (keeps the key list short).
	if [[ -f $DEV_DIR/demo.env ]]; then
		local old_pat old_aid
		old_pat="$(sed -n 's/^RUNOS_API_KEY=//p' "$DEV_DIR/demo.env" | tr -d "'")"
		old_aid="$(sed -n 's/^RUNOS_ACCOUNT_ID=//p' "$DEV_DIR/demo.env" | tr -d "'")"
		if [[ -n $old_pat && $old_aid == "$aid" ]]; then
			api GET "/$aid/account/profile" "$old_pat"
			[[ $HTTP_STATUS == 200 ]] && pat="$old_pat"
		fi
	fi
	if [[ -z $pat ]]; then
		api POST "/$aid/api-keys" "$session" '{"name":"demo key"}'
		[[ $HTTP_STATUS == 201 ]] || {
			warn "POST /$aid/api-keys → $HTTP_STATUS $(cat "$RESP" 2>/dev/null)"
			return 1
		}
		pat="$(json_get "$RESP" token)"
	fi
	rm -f "$RESP"

	local c1="curl -sS -H 'Authorization: Bearer $pat' $API_URL/user"
	local c2="curl -sS -H 'Authorization: Bearer $pat' $API_URL/$aid/account/profile"
	local c3="curl -sS -H 'Authorization: Bearer $pat' $API_URL/$aid/api-keys"
	local c4="curl -sS $API_URL/healthz"

	(
		umask 077
		cat >"$DEV_DIR/demo.env" <<EOF
# written by scripts/dev.sh run — source it: . .dev/demo.env
RUNOS_API_URL=$(user_sq "$API_URL")
RUNOS_ACCOUNT_ID=$(user_sq "$aid")
RUNOS_API_KEY=$(user_sq "$pat")
DEMO_EMAIL=$(user_sq "$email")
DEMO_PASSWORD=$(user_sq "$password")
DEMO_SESSION_TOKEN=$(user_sq "$session")
AID=$(user_sq "$aid")
TOKEN=$(user_sq "$pat")
# $c1
# $c2
# $c3
# $c4
EOF
	)

	cat <<EOF

------------------------------------------------------------------------------------------
 runosd dev server   $API_URL
   email      $email
   password   $password
   account    $aid
   PAT        $pat
   database   psql 'host=$SOCK_DIR port=$PG_PORT user=$PG_USER dbname=runosd'
              (or scripts/dev.sh psql; TCP 127.0.0.1:$PG_PORT)
   redis      redis://127.0.0.1:$REDIS_PORT/0

 try:
   $c1
   $c2
   $c3
   $c4

 saved to .dev/demo.env ('. .dev/demo.env' sets AID, TOKEN, RUNOS_API_URL, RUNOS_API_KEY,
 RUNOS_ACCOUNT_ID).   Ctrl-C stops the server, PostgreSQL and Redis.
------------------------------------------------------------------------------------------

EOF
}

cmd_run() {
	MODE="run"
	install_traps
	setup_common
	mkdir -p "$DEV_DIR"
	if [[ -f $DEV_DIR/run.env ]]; then
		local other
		other="$(sed -n 's/^RUN_PID=//p' "$DEV_DIR/run.env")"
		if [[ -n $other ]] && kill -0 "$other" 2>/dev/null; then
			MODE=""   # not ours to clean up
			die "scripts/dev.sh run is already running (pid $other); stop it with scripts/dev.sh stop"
		fi
	fi
	choose_daemon_base "$DEV_DIR" persistent
	pg_init
	make_sock_dir
	PG_PORT="${RUNOS_DEV_PG_PORT:-55432}"
	if ! port_is_free "$PG_PORT"; then
		local p="$PG_PORT"
		PG_PORT="$(free_port)"
		warn "port $p is in use; PostgreSQL listens on 127.0.0.1:$PG_PORT instead"
	fi
	pg_start 127.0.0.1
	if [[ -z $(pg_psql postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'runosd'") ]]; then
		pg_psql postgres -c 'CREATE DATABASE runosd'
	fi
	redis_start

	local http_addr="${RUNOS_HTTP_ADDR:-127.0.0.1:8080}"
	local host="${http_addr%:*}" port="${http_addr##*:}"
	case "$host" in "" | 0.0.0.0 | "*") host=127.0.0.1 ;; "[::]") host="[::1]" ;; esac
	API_URL="http://$host:$port"

	export RUNOS_DATABASE_URL RUNOS_REDIS_URL RUNOS_HTTP_ADDR RUNOS_AGENT_ADDR RUNOS_STATE_DIR \
		RUNOS_LOG_FORMAT
	RUNOS_DATABASE_URL="$(pg_url runosd)"
	RUNOS_REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0"
	RUNOS_HTTP_ADDR="$http_addr"
	RUNOS_AGENT_ADDR="${RUNOS_AGENT_ADDR:-127.0.0.1:8443}"
	RUNOS_STATE_DIR="${RUNOS_STATE_DIR:-$DEV_DIR/var}"
	RUNOS_LOG_FORMAT="${RUNOS_LOG_FORMAT:-text}"
	mkdir -p "$RUNOS_STATE_DIR"

	log "runosd migrate"
	"$BUILD_DIR/server/runosd" migrate || die "runosd migrate failed (exit $?)"

	if ! port_is_free "$port" && [[ $host == 127.0.0.1 ]]; then
		die "port $port is in use (set RUNOS_HTTP_ADDR=127.0.0.1:<port>)"
	fi
	log "runosd serve on $http_addr (agents: $RUNOS_AGENT_ADDR)"
	"$BUILD_DIR/server/runosd" serve &
	SERVER_PID=$!
	cat >"$DEV_DIR/run.env" <<EOF
RUN_PID=$$
SERVER_PID=$SERVER_PID
SOCK_DIR=$SOCK_DIR
PG_DATA=$PG_DATA
PG_PORT=$PG_PORT
REDIS_PORT=$REDIS_PORT
REDIS_PIDFILE=$REDIS_PIDFILE
EOF

	local i ok=0
	for ((i = 0; i < 600; i++)); do
		if ! kill -0 "$SERVER_PID" 2>/dev/null; then
			local rc=0
			wait "$SERVER_PID" || rc=$?
			SERVER_PID=""
			die "runosd exited during start (exit $rc)"
		fi
		if curl -fsS -o /dev/null "$API_URL/healthz" 2>/dev/null; then
			ok=1
			break
		fi
		sleep 0.1
	done
	[[ $ok == 1 ]] || die "runosd did not answer GET /healthz within 60 s"

	demo_setup || warn "demo user/account/PAT not created (see above); the server keeps running"

	IN_WAIT=1
	local rc=0
	while :; do
		rc=0
		wait "$SERVER_PID" || rc=$?
		# >128: wait was interrupted by a trapped signal (already forwarded); wait again.
		if [[ $rc -gt 128 ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
			continue
		fi
		break
	done
	IN_WAIT=0
	SERVER_PID=""
	log "runosd exited ($rc)"
	exit "$rc"
}

# ---------------------------------------------------------------------------------------------
# test

TEST_CHILD=""

# run_program PROG LOG → sets PROG_RC; output to the terminal and to LOG.
run_program() {
	local prog="$1" logf="$2" fifo="$SCRATCH/.fifo"
	rm -f "$fifo"
	mkfifo "$fifo"
	tee "$logf" <"$fifo" &
	local tee_pid=$!
	timeout -k 10 "${RUNOS_TEST_TIMEOUT:-300}" "$prog" </dev/null >"$fifo" 2>&1 &
	TEST_CHILD=$!
	PROG_RC=0
	wait "$TEST_CHILD" || PROG_RC=$?
	# timeout(1) leads its own process group: anything the test started and left running (a
	# server it forgot to stop) is still in that group.
	if kill -0 -- "-$TEST_CHILD" 2>/dev/null; then
		printf 'dev.sh: %s left processes running; stopping them\n' "$(basename "$prog")" >&2
		kill -TERM -- "-$TEST_CHILD" 2>/dev/null || true
		sleep 1
		kill -KILL -- "-$TEST_CHILD" 2>/dev/null || true
	fi
	TEST_CHILD=""
	# A daemon the test left behind may still hold the pipe: do not wait for it forever.
	local i
	for ((i = 0; i < 50; i++)); do
		kill -0 "$tee_pid" 2>/dev/null || break
		sleep 0.1
	done
	kill "$tee_pid" 2>/dev/null || true
	wait "$tee_pid" 2>/dev/null || true
	rm -f "$fifo"
}

# list_programs DIR PREFIX → executables DIR/PREFIX*, sorted (not meson's *.p directories)
list_programs() {
	local f
	for f in "$1/$2"*; do
		if [[ -f $f && -x $f ]]; then printf '%s\n' "$f"; fi
	done | LC_ALL=C sort
}

cmd_test() {
	local filter="${1:-}"
	MODE="test"
	install_traps
	setup_common
	mkdir -p "$DEV_DIR"
	SCRATCH="$DEV_DIR/test-$$"
	rm -rf "$SCRATCH"
	mkdir -p "$SCRATCH/logs" "$SCRATCH/tmp"
	chmod 755 "$SCRATCH" "$SCRATCH/tmp"
	choose_daemon_base "$SCRATCH/daemons" temp
	pg_init
	make_sock_dir
	PG_PORT="$(free_port)"
	pg_start ''
	pg_psql postgres -c 'SET client_min_messages = warning' \
		-c 'DROP DATABASE IF EXISTS runosd_test WITH (FORCE)' -c 'CREATE DATABASE runosd_test'
	redis_start
	cat >"$SCRATCH/env" <<EOF
RUN_PID=$$
SOCK_DIR=$SOCK_DIR
PG_DATA=$PG_DATA
REDIS_PORT=$REDIS_PORT
REDIS_PIDFILE=$REDIS_PIDFILE
DAEMON_BASE=$DAEMON_BASE
EOF

	export RUNOS_TEST_BIN="$BUILD_DIR/server/runosd"
	export RUNOS_TEST_DATABASE_URL RUNOS_TEST_ADMIN_DATABASE_URL
	RUNOS_TEST_DATABASE_URL="$(pg_url runosd_test)"
	RUNOS_TEST_ADMIN_DATABASE_URL="$(pg_url postgres)"
	export RUNOS_TEST_REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0"
	export RUNOS_TEST_PG_STOP RUNOS_TEST_PG_START
	RUNOS_TEST_PG_STOP="$(as_daemon_str "$PG_BIN/pg_ctl" -D "$PG_DATA" -m fast -w -t 60 stop)"
	RUNOS_TEST_PG_START="$(as_daemon_str "$PG_BIN/pg_ctl" -w -t 60 -D "$PG_DATA" -l "$PG_LOG" -o "$PG_OPTS" start)"
	export RUNOS_TEST_PG_HOST="$SOCK_DIR" RUNOS_TEST_PG_PORT="$PG_PORT" RUNOS_TEST_PG_USER="$PG_USER"
	export RUNOS_TEST_SOURCE_ROOT="$ROOT"
	export RUNOS_TEST_TMPDIR="$SCRATCH/tmp"
	# The test database is new each run, so is the master key its agent CA is sealed with.
	RUNOS_TEST_MASTER_KEY="$(head -c 32 /dev/urandom | base64)"
	export RUNOS_TEST_MASTER_KEY
	export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
	# The Kubernetes object validator (tests/k8s, npm ci from its lockfile on first use) for
	# tests/k8s/selftest.sh and the integration tests' it_k8s_validate_dir: they fail without it.
	export RUNOS_TEST_K8S_NODE
	RUNOS_TEST_K8S_NODE="$("$ROOT/tests/k8s/install.sh")" ||
		warn "tests/k8s/install.sh failed: the tests that validate Kubernetes objects will fail"

	# The OpenAPI checkers (tests/openapi, npm ci from its lockfile on first use), and where the
	# integration harness records every answer for tests/openapi/check.sh to validate.
	"$ROOT/tests/openapi/install.sh" >/dev/null ||
		warn "tests/openapi/install.sh failed: tests/openapi/check.sh will fail"
	export RUNOS_TEST_RECORD_RESPONSES="$SCRATCH/tmp/responses"
	mkdir -p "$RUNOS_TEST_RECORD_RESPONSES"

	local progs=() f
	while IFS= read -r f; do
		[[ -z $filter || ${f#"$BUILD_DIR"/} == *"$filter"* ]] && progs+=("$f")
	done < <(list_programs "$BUILD_DIR/tests/unit" test_ && list_programs "$BUILD_DIR/tests/fuzz" fuzz_ \
		&& list_programs "$BUILD_DIR/tests/integration" it_ \
		&& printf '%s\n' "$ROOT/tests/openapi/check.sh" "$ROOT/tests/k8s/selftest.sh" "$ROOT/tests/bench/smoke.sh" \
			"$ROOT/tests/format_check.sh" "$ROOT/tests/layering_check.sh" "$ROOT/tests/readme_check.sh")

	local passed=0 failed=0 broken=()
	if [[ ${#progs[@]} -eq 0 ]]; then
		warn "no test programs${filter:+ matching \"$filter\"} in $BUILD_DIR/tests"
	fi
	local name logf summary p n
	for f in "${progs[@]}"; do
		name="$(basename "$f")"
		logf="$SCRATCH/logs/$name.log"
		printf '\n==> %s\n' "${f#"$ROOT"/}"
		# A test may have stopped PostgreSQL (RUNOS_TEST_PG_STOP) and not started it again.
		pg_is_running || sh -c "$RUNOS_TEST_PG_START" >/dev/null 2>&1 || true
		run_program "$f" "$logf"
		summary="$(tr -d '\r' <"$logf" | grep -E '^[^ ].*: [0-9]+ passed, [0-9]+ failed$' | tail -n 1 || true)"
		if [[ -n $summary ]]; then
			p="$(sed -E 's/.*: ([0-9]+) passed, ([0-9]+) failed$/\1/' <<<"$summary")"
			n="$(sed -E 's/.*: ([0-9]+) passed, ([0-9]+) failed$/\2/' <<<"$summary")"
			passed=$((passed + p))
			failed=$((failed + n))
			if [[ $PROG_RC -ne 0 && $n -eq 0 ]]; then
				failed=$((failed + 1))
				broken+=("$name: exit $PROG_RC after reporting 0 failed")
			elif [[ $n -gt 0 ]]; then
				broken+=("$name: $n failed")
			fi
		else
			failed=$((failed + 1))
			case "$PROG_RC" in
			124 | 137) broken+=("$name: timed out after ${RUNOS_TEST_TIMEOUT:-300} s (exit $PROG_RC), no summary line") ;;
			*) broken+=("$name: exit $PROG_RC, no summary line") ;;
			esac
		fi
	done

	printf '\n'
	if [[ ${#broken[@]} -gt 0 ]]; then
		KEEP_LOGS=1
		printf 'failures:\n'
		printf '  %s\n' "${broken[@]}"
		printf 'logs kept in %s\n' "${SCRATCH#"$ROOT"/}/logs"
	fi
	cleanup >/dev/null 2>&1 || true
	FINAL_PRINTED=1
	printf '%d passed, %d failed\n' "$passed" "$failed"
	[[ $failed -eq 0 && $passed -gt 0 ]] && exit 0
	exit 1
}

# ---------------------------------------------------------------------------------------------
# stop, psql, bench, build

# Stop daemons listed in an env file written by run/test ($1), if their owner is gone.
stop_from_env() {
	local envf="$1" RUN_PID="" SERVER_PID_F="" SOCK_DIR_F="" PG_DATA_F="" REDIS_PORT_F="" REDIS_PIDFILE_F=""
	RUN_PID="$(sed -n 's/^RUN_PID=//p' "$envf")"
	SERVER_PID_F="$(sed -n 's/^SERVER_PID=//p' "$envf")"
	SOCK_DIR_F="$(sed -n 's/^SOCK_DIR=//p' "$envf")"
	PG_DATA_F="$(sed -n 's/^PG_DATA=//p' "$envf")"
	REDIS_PORT_F="$(sed -n 's/^REDIS_PORT=//p' "$envf")"
	REDIS_PIDFILE_F="$(sed -n 's/^REDIS_PIDFILE=//p' "$envf")"
	if [[ -n $RUN_PID ]] && kill -0 "$RUN_PID" 2>/dev/null; then
		log "stopping dev.sh (pid $RUN_PID)"
		kill -TERM "$RUN_PID" 2>/dev/null || true
		local i
		for ((i = 0; i < 300; i++)); do
			kill -0 "$RUN_PID" 2>/dev/null || return 0
			sleep 0.1
		done
		warn "pid $RUN_PID did not stop; stopping its daemons directly"
	fi
	if [[ -n $SERVER_PID_F ]] && kill -0 "$SERVER_PID_F" 2>/dev/null; then
		log "stopping runosd (pid $SERVER_PID_F)"
		kill -TERM "$SERVER_PID_F" 2>/dev/null || true
	fi
	if [[ -n $REDIS_PORT_F ]]; then
		REDIS_PORT="$REDIS_PORT_F" REDIS_PIDFILE="$REDIS_PIDFILE_F" REDIS_STARTED=1
		redis_stop
	fi
	if [[ -n $PG_DATA_F && -f $PG_DATA_F/postmaster.pid ]]; then
		log "stopping PostgreSQL ($PG_DATA_F)"
		PG_DATA="$PG_DATA_F"
		pg_stop
	fi
	[[ -n $SOCK_DIR_F && $SOCK_DIR_F == /tmp/runosd-* ]] && rm -rf "$SOCK_DIR_F"
	return 0
}

cmd_stop() {
	local f d base
	# The background agents of scripts/dev.sh node.
	# shellcheck source=scripts/node_join.sh
	. "$ROOT/scripts/node_join.sh" && node_agents_stop "$DEV_DIR"
	if [[ -f $DEV_DIR/run.env ]]; then
		stop_from_env "$DEV_DIR/run.env"
		rm -f "$DEV_DIR/run.env"
	fi
	# A run killed with SIGKILL before writing run.env: its PostgreSQL may still be up.
	for d in "$DEV_DIR/pg/data" /var/tmp/runosd-dev-"$(printf '%s' "$ROOT" | cksum | cut -d' ' -f1)"/pg/data; do
		if [[ -f $d/postmaster.pid ]]; then
			PG_DATA="$d"
			log "stopping PostgreSQL ($d)"
			pg_stop
		fi
	done
	for f in "$DEV_DIR"/test-*/env; do
		[[ -f $f ]] || continue
		local pid
		pid="$(sed -n 's/^RUN_PID=//p' "$f")"
		if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then
			log "dev.sh test (pid $pid) is still running; leaving it alone"
			continue
		fi
		stop_from_env "$f"
		base="$(sed -n 's/^DAEMON_BASE=//p' "$f")"
		[[ $base == /tmp/runosd-test-* ]] && rm -rf "$base"
		rm -rf "$(dirname "$f")"
	done
	log "stopped"
}

cmd_psql() {
	if [[ -f $DEV_DIR/run.env ]]; then
		local sock port
		sock="$(sed -n 's/^SOCK_DIR=//p' "$DEV_DIR/run.env")"
		port="$(sed -n 's/^PG_PORT=//p' "$DEV_DIR/run.env")"
		if [[ -S $sock/.s.PGSQL.$port ]]; then
			exec psql "host=$sock port=$port user=$PG_USER dbname=runosd" "$@"
		fi
	fi
	# No dev server running: start the dev PostgreSQL just for this session.
	MODE="psql-temp"
	install_traps
	ensure_packages
	ensure_daemon_user
	mkdir -p "$DEV_DIR"
	choose_daemon_base "$DEV_DIR" persistent
	pg_init
	make_sock_dir
	PG_PORT="$(free_port)"
	pg_start ''
	if [[ -z $(pg_psql postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'runosd'") ]]; then
		pg_psql postgres -c 'CREATE DATABASE runosd'
	fi
	local rc=0
	psql "host=$SOCK_DIR port=$PG_PORT user=$PG_USER dbname=runosd" "$@" || rc=$?
	exit "$rc"
}

cmd_bench() {
	if [[ -f $ROOT/tests/bench/run.sh ]]; then
		exec bash "$ROOT/tests/bench/run.sh" "$@"
	fi
	die "tests/bench/run.sh does not exist yet"
}

# node: a simulated node joins a cluster of the running dev server's demo account, the way
# tests/readme_check.sh does it (both source scripts/node_join.sh).
node_usage() {
	cat <<'EOF'
usage: scripts/dev.sh node [--cluster CID] [--name NAME] [--role controlplane|worker|hybrid]

Against the server of `scripts/dev.sh run` (another terminal), with the demo account and API key
of .dev/demo.env: creates a cluster (NAME, default "demo"; --cluster CID uses that one instead),
makes a join token, checks the agent CA that /install.sh carries against its pin, registers a
simulated agent (build/tests/agent-sim/agent-sim) over mutual TLS, waits for its node.join job,
reports the cluster's credentials from a control-plane node, and waits until the cluster is
active and the node online. The agent keeps beating and answering instructions in the background
until `scripts/dev.sh stop` or the end of `run`. The role defaults to controlplane for a new
cluster and worker for --cluster. Writes .dev/node.env (API, AID, TOKEN, CID, NID, JOB).
EOF
}

cmd_node() {
	local cid="" name="demo" role=""
	while [[ $# -gt 0 ]]; do
		case "$1" in
		--cluster | --name | --role)
			[[ $# -ge 2 ]] || die "$1 needs a value"
			case "$1" in --cluster) cid="$2" ;; --name) name="$2" ;; --role) role="$2" ;; esac
			shift 2
			;;
		-h | --help)
			node_usage
			return 0
			;;
		*)
			node_usage >&2
			exit 2
			;;
		esac
	done
	case "$role" in "" | controlplane | worker | hybrid) ;; *) die "--role: controlplane, worker or hybrid" ;; esac
	local run_pid="" server_pid=""
	if [[ -f $DEV_DIR/run.env ]]; then
		run_pid="$(sed -n 's/^RUN_PID=//p' "$DEV_DIR/run.env")"
		server_pid="$(sed -n 's/^SERVER_PID=//p' "$DEV_DIR/run.env")"
	fi
	if [[ -z $run_pid || -z $server_pid ]] || ! kill -0 "$run_pid" 2>/dev/null ||
		! kill -0 "$server_pid" 2>/dev/null; then
		die "no dev server is running: start one with scripts/dev.sh run (in another terminal)"
	fi
	[[ -f $DEV_DIR/demo.env ]] || die "no .dev/demo.env: scripts/dev.sh run has not made the demo account"
	local RUNOS_API_URL="" AID="" TOKEN=""
	# shellcheck source=/dev/null
	. "$DEV_DIR/demo.env"
	[[ -n $RUNOS_API_URL && -n $AID && -n $TOKEN ]] || die ".dev/demo.env lacks RUNOS_API_URL, AID or TOKEN"
	# shellcheck source=scripts/node_join.sh
	. "$ROOT/scripts/node_join.sh"
	NJ_API="$RUNOS_API_URL" NJ_AID="$AID" NJ_TOKEN="$TOKEN" NJ_SIM="$ROOT/build/tests/agent-sim/agent-sim" \
		NJ_DIR="$DEV_DIR" NJ_WATCH_PID="$run_pid" NJ_CID="$cid" NJ_NAME="$name" NJ_ROLE="$role" \
		node_join || die "the node did not join (see above)"
}

# Fuzzing: clang with libFuzzer, ASan and UBSan in build-fuzz/; each harness starts from a copy
# of its checked-in corpus (tests/fuzz/corpus/<name>) in .dev/fuzz/<name>. A crash leaves its
# input in .dev/fuzz/ and fails the command; add that input to the corpus with the fix.
cmd_fuzz() {
	local seconds="${1:-60}" dir="$ROOT/build-fuzz" name failed=0
	[[ $seconds =~ ^[0-9]+$ ]] || die "fuzz: seconds must be a number"
	MODE="build"
	# libFuzzer and the sanitizer runtimes are only recommended by clang (apt runs without them)
	PACKAGES+=(clang libclang-rt-14-dev)
	ensure_packages
	if [[ ! -f $dir/meson-private/coredata.dat ]]; then
		CC=clang meson setup "$dir" -Dfuzz=true -Db_sanitize=address,undefined -Db_lundef=false
	fi
	meson compile -C "$dir"
	for name in body router values; do
		mkdir -p "$DEV_DIR/fuzz/$name"
		cp -n "$ROOT/tests/fuzz/corpus/$name/"* "$DEV_DIR/fuzz/$name/" 2>/dev/null || true
		log "fuzz_$name for $seconds s"
		(cd "$DEV_DIR/fuzz" && "$dir/tests/fuzz/fuzz_$name" -max_total_time="$seconds" \
			-artifact_prefix="$DEV_DIR/fuzz/crash-$name-" "$DEV_DIR/fuzz/$name") || failed=1
	done
	[[ $failed -eq 0 ]] || die "a fuzzer found a crash: see $DEV_DIR/fuzz/crash-*"
	log "no crashes"
}

cmd_packages() {
	MODE="build"
	ensure_packages
}

cmd_build() {
	MODE="build"
	ensure_packages
	build_selected
	log "built $BUILD_DIR/server/runosd"
}

usage() {
	awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "${BASH_SOURCE[0]}"
	cat <<'EOF'

Environment:
  RUNOS_HTTP_ADDR, RUNOS_AGENT_ADDR, RUNOS_STATE_DIR, RUNOS_LOG_FORMAT   (run) override the defaults
                                   127.0.0.1:8080, 127.0.0.1:8443, .dev/var, text
  RUNOS_DEV_PG_PORT                (run) PostgreSQL TCP port on 127.0.0.1, default 55432
  RUNOS_TEST_SANITIZE=1            (test) build in build-asan with ASan + UBSan
  RUNOS_TEST_SANITIZE=thread       (test) build in build-tsan with ThreadSanitizer
  RUNOS_TEST_TIMEOUT               (test) seconds per test program, default 300
EOF
}

main() {
	local cmd="${1:-help}"
	[[ $# -gt 0 ]] && shift
	case "$cmd" in
	run) cmd_run "$@" ;;
	test) cmd_test "$@" ;;
	node) cmd_node "$@" ;;
	bench) cmd_bench "$@" ;;
	fuzz) cmd_fuzz "$@" ;;
	build) cmd_build "$@" ;;
	packages) cmd_packages "$@" ;;
	stop) cmd_stop "$@" ;;
	psql) cmd_psql "$@" ;;
	help | -h | --help) usage ;;
	*)
		usage >&2
		exit 2
		;;
	esac
}

main "$@"
