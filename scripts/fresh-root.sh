#!/usr/bin/env bash
# Runs the README's test command on a fresh machine: a minimal Debian 12 root (debootstrap
# --variant=minbase bookworm) where none of the project's system users, data directories, npm
# caches or build directories exist yet. .ci/run calls it; a developer can too (as root).
#
#   scripts/fresh-root.sh               git clone of this checkout's HEAD (commit first: the
#                                       work tree's changes are not in it) into a fresh copy of
#                                       the cached root, then `scripts/dev.sh test` in it as root
#                                       with a clean environment; the last line of output is the
#                                       inner run's "N passed, N failed", the exit status its own
#   scripts/fresh-root.sh -- CMD ARG…   the same root and clone, CMD instead (cwd: the clone),
#                                       e.g. `-- bash` for a shell on a fresh machine
#   scripts/fresh-root.sh --create      only make the cached root (when missing) and exit
#   scripts/fresh-root.sh --refresh     make the cached root again first (newer packages)
#
# The root is made once, in RUNOS_FRESH_ROOT_CACHE (default /var/cache/runosd-ci, outside the
# clone: about 200 MB), from the mirror of /etc/apt/sources.list.d/debian.sources (about 2 minutes
# here). Each run mounts an overlay on it (the cached root is the lower directory, never written)
# and throws the overlay away at the end, so nothing a run leaves (users, packages, PostgreSQL
# data, npm caches, build/) reaches the next. The run happens in its own mount and PID
# namespaces: its mounts (overlay, /proc, /sys and /dev bound from the host, a tmpfs /dev/shm) are
# unmounted on exit and the kernel stops whatever it left running, also when it fails or is
# interrupted. What a real machine would have comes from the host: the apt sources and apt's
# Acquire settings (proxy, Valid-Until), /etc/resolv.conf, and the extra CA certificates of
# /usr/local/share/ca-certificates (a TLS proxy's CA; NODE_EXTRA_CA_CERTS points npm at them).
# The environment inside is PATH, HOME, LANG, CI=true and NODE_EXTRA_CA_CERTS, nothing else.
# When a test fails, the inner run's logs are copied to RUNOS_FRESH_ROOT_CACHE/logs/.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
CACHE="${RUNOS_FRESH_ROOT_CACHE:-/var/cache/runosd-ci}"
BASE="$CACHE/bookworm"      # the cached root, complete when $BASE.done exists
SUITE=bookworm
CLONE_IN_ROOT=/root/runosd  # where the clone lives inside the root
CA_IN_ROOT=/usr/local/share/ca-certificates
CA_BUNDLE_IN_ROOT=/etc/ssl/runosd-extra-ca.pem
SUMMARY_RE='^[0-9]+ passed, [0-9]+ failed$'

log() { printf '==> fresh-root: %s\n' "$*" >&2; }
die() {
	printf 'fresh-root: error: %s\n' "$*" >&2
	exit 1
}

# The mirror of the host's Debian sources: the first URI of the deb822 stanza whose Suites has
# bookworm (not bookworm-security), else deb.debian.org.
debian_mirror() {
	local f=/etc/apt/sources.list.d/debian.sources m=""
	if [[ -f $f ]]; then
		m="$(awk -v RS='' -v suite="$SUITE" '
			{ uris = ""; ok = 0
			  n = split($0, line, "\n")
			  for (i = 1; i <= n; i++) {
				if (line[i] ~ /^URIs:/) { split(line[i], w, /[ \t]+/); uris = w[2] }
				if (line[i] ~ /^Suites:/) { k = split(line[i], s, /[ \t]+/)
					for (j = 2; j <= k; j++) if (s[j] == suite) ok = 1 }
			  }
			  if (ok && uris != "") { print uris; exit } }' "$f")"
	fi
	printf '%s\n' "${m:-http://deb.debian.org/debian}"
}

# create_base: debootstrap the cached root when it is missing (or --refresh), under an exclusive
# lock (runs hold a shared one: --refresh waits for them).
create_base() {
	local refresh="$1" mirror start
	mkdir -p "$CACHE"
	exec 9>"$CACHE/.lock"
	flock -s 9
	if [[ $refresh == 0 && -f $BASE.done && -d $BASE ]]; then
		flock -u 9
		return 0
	fi
	flock -x 9
	if [[ $refresh == 0 && -f $BASE.done && -d $BASE ]]; then   # made meanwhile
		flock -u 9
		return 0
	fi
	if ! command -v debootstrap >/dev/null 2>&1; then
		log "installing debootstrap"
		apt-get update -qq
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null
	fi
	mirror="$(debian_mirror)"
	start=$SECONDS
	log "debootstrap --variant=minbase $SUITE from $mirror into $BASE"
	rm -rf "$BASE" "$BASE.done" "$BASE.new"
	if ! debootstrap --variant=minbase "$SUITE" "$BASE.new" "$mirror" >"$CACHE/debootstrap.log" 2>&1; then
		tail -n 20 "$CACHE/debootstrap.log" >&2
		die "debootstrap failed (log: $CACHE/debootstrap.log)"
	fi
	# what debootstrap leaves that a run replaces from the host
	rm -f "$BASE.new/etc/apt/sources.list"
	mv "$BASE.new" "$BASE"
	printf 'made %s from %s by debootstrap --variant=minbase %s\n' "$(date -u +%FT%TZ)" "$mirror" "$SUITE" >"$BASE.done"
	log "cached root ready in $((SECONDS - start)) s"
	flock -u 9
}

# ---------------------------------------------------------------------------------------------
# inner: PID 1 of fresh mount and PID namespaces (unshare), RUN is the run's directory

INNER_ROOT=""
INNER_LOGS=""

inner_cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	if [[ -n $INNER_ROOT ]]; then
		# the inner run keeps its logs only when a test failed: take them out of the overlay
		local d
		for d in "$INNER_ROOT$CLONE_IN_ROOT"/.dev/test-*/logs; do
			[[ -d $d ]] || continue
			mkdir -p "$INNER_LOGS"
			cp -a "$d/." "$INNER_LOGS/" 2>/dev/null || true
		done
		umount -R "$INNER_ROOT" 2>/dev/null || umount -R -l "$INNER_ROOT" 2>/dev/null ||
			printf 'fresh-root: warning: could not unmount %s\n' "$INNER_ROOT" >&2
	fi
	exit "$rc"
}

inner() {
	local run="$1"
	shift
	local r="$run/root"
	INNER_LOGS="$run/logs"
	trap inner_cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	# A shared lock on the cached root: --refresh waits until no run uses it.
	exec 9>"$CACHE/.lock"
	flock -s 9
	[[ -f $BASE.done ]] || die "the cached root $BASE is incomplete"

	mkdir -p "$run/upper" "$run/work" "$r"
	mount -t overlay overlay -o "lowerdir=$BASE,upperdir=$run/upper,workdir=$run/work" "$r"
	INNER_ROOT="$r"
	mount -t proc proc "$r/proc"
	mount --bind /sys "$r/sys"
	mount --bind /dev "$r/dev"
	mount --bind /dev/pts "$r/dev/pts"
	mkdir -p "$r/dev/shm"
	mount -t tmpfs -o mode=1777,nosuid,nodev shm "$r/dev/shm"

	# apt: the host's Debian sources, and its files of the Acquire settings that reach the archive
	# (a proxy, CA, Valid-Until of a snapshot mirror)
	if [[ -f /etc/apt/sources.list.d/debian.sources ]]; then
		install -m 644 /etc/apt/sources.list.d/debian.sources "$r/etc/apt/sources.list.d/debian.sources"
	else
		local m
		m="$(debian_mirror)"
		printf 'deb %s %s main\ndeb %s %s-updates main\ndeb http://deb.debian.org/debian-security %s-security main\n' \
			"$m" "$SUITE" "$m" "$SUITE" "$SUITE" >"$r/etc/apt/sources.list"
	fi
	local f
	for f in /etc/apt/apt.conf.d/*; do
		[[ -f $f ]] || continue
		if grep -Eiq '^[[:space:]]*Acquire::(https?::)?([^ ]*::)?(Proxy|Check-Valid-Until|Check-Date|CaInfo|Verify-Peer)' "$f" &&
			! grep -q 'Invoke' "$f"; then
			install -m 644 "$f" "$r/etc/apt/apt.conf.d/$(basename "$f")"
		fi
	done
	# name resolution as on the host; localhost as on any machine
	cp -L /etc/resolv.conf "$r/etc/resolv.conf"
	printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n' >"$r/etc/hosts"
	# extra CA certificates: ca-certificates (a dependency of Debian's npm) adds them to the system
	# store when dev.sh installs it; Node reads them from NODE_EXTRA_CA_CERTS
	local env_ca=()
	if compgen -G '/usr/local/share/ca-certificates/*.crt' >/dev/null; then
		mkdir -p "$r$CA_IN_ROOT" "$(dirname "$r$CA_BUNDLE_IN_ROOT")"
		cp /usr/local/share/ca-certificates/*.crt "$r$CA_IN_ROOT/"
		cat /usr/local/share/ca-certificates/*.crt >"$r$CA_BUNDLE_IN_ROOT"
		env_ca=("NODE_EXTRA_CA_CERTS=$CA_BUNDLE_IN_ROOT")
	fi

	local head
	# As root on a checkout of another user's, git refuses it without safe.directory.
	head="$(git -c safe.directory="$ROOT" -C "$ROOT" rev-parse HEAD)"
	git -c safe.directory="$ROOT" -c safe.directory="$ROOT/.git" clone -q --no-hardlinks \
		--no-checkout "$ROOT" "$r$CLONE_IN_ROOT"
	git -C "$r$CLONE_IN_ROOT" checkout -q --detach "$head"
	log "clone of ${head:0:12} in $CLONE_IN_ROOT; running: $*"
	# In the background: bash runs a trap only after a foreground command returns, and the trap
	# (our exit) is what stops the run. Interactive commands (a shell) stay in the foreground.
	local rc=0 pid
	set -- chroot "$r" /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		HOME=/root LANG=C.UTF-8 CI=true "${env_ca[@]}" \
		/bin/sh -c 'cd "$1" && shift && exec "$@"' sh "$CLONE_IN_ROOT" "$@"
	if [[ -t 0 ]]; then
		"$@" || rc=$?
	else
		"$@" </dev/null &
		pid=$!
		wait "$pid" || rc=$?
	fi
	exit "$rc"
}

# ---------------------------------------------------------------------------------------------
# outer

RUN=""
UNSHARE_PID=""

# The run's directory goes once nothing uses it: RUN/lock is held by this script and, inherited,
# by every process of the run (namespaces are invisible from here; the lock is not).
outer_cleanup() {
	[[ -n $RUN && -d $RUN ]] || return 0
	exec 8>&-
	if ! flock -n -x "$RUN/lock" true; then
		printf 'fresh-root: warning: %s is still in use; left in place\n' "$RUN" >&2
		return 0
	fi
	rm -rf "$RUN"
}

# Runs of an earlier fresh-root.sh that was killed (SIGKILL) leave their directory behind.
remove_stale_runs() {
	local d
	for d in "$CACHE"/run.*; do
		[[ -d $d ]] || continue
		flock -n -x "$d/lock" true 2>/dev/null && rm -rf "$d"
	done
}

# A signal for this script alone (a CI timeout): pass it to the run's PID 1 (unshare ignores
# it), whose exit stops the rest of the run; then wait for it as before.
forward_signal() {
	local child
	[[ -n $UNSHARE_PID ]] || exit 143
	# shellcheck disable=SC2013 # a list of pids
	for child in $(cat "/proc/$UNSHARE_PID/task/$UNSHARE_PID/children" 2>/dev/null); do
		kill -TERM "$child" 2>/dev/null || true
	done
}

main() {
	if [[ ${1:-} == --inner ]]; then
		shift
		inner "$@"
	fi
	local refresh=0 create_only=0 cmd=()
	while [[ $# -gt 0 ]]; do
		case "$1" in
		--create) create_only=1 ;;
		--refresh) refresh=1 ;;
		--)
			shift
			cmd=("$@")
			break
			;;
		-h | --help)
			sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'
			exit 0
			;;
		*)
			echo "fresh-root: unknown argument: $1 (see --help)" >&2
			exit 2
			;;
		esac
		shift
	done
	[[ $(id -u) -eq 0 ]] || die "needs root (debootstrap, mount, chroot): sudo $0 $*"
	for tool in unshare chroot mount flock git; do
		command -v "$tool" >/dev/null 2>&1 || die "$tool is not installed"
	done

	local start=$SECONDS
	create_base "$refresh"
	[[ $create_only == 1 ]] && exit 0

	remove_stale_runs
	RUN="$(mktemp -d "$CACHE/run.XXXXXX")"
	exec 8>"$RUN/lock"
	flock -s 8
	trap outer_cleanup EXIT

	if [[ ${#cmd[@]} -gt 0 ]]; then
		local rc=0
		unshare --mount --pid --fork --propagation private bash "$ROOT/scripts/fresh-root.sh" --inner "$RUN" "${cmd[@]}" || rc=$?
		exit "$rc"
	fi

	# The test run: its output as it comes, but its last line (the summary) held back and printed
	# after the cleanup, so that it stays the last line.
	local out="$RUN/output" fifo="$RUN/fifo" rc=0 summary show_pid
	mkfifo "$fifo"
	tee "$out" <"$fifo" | sed -u '$d' &
	show_pid=$!
	unshare --mount --pid --fork --propagation private bash "$ROOT/scripts/fresh-root.sh" --inner "$RUN" scripts/dev.sh test </dev/null >"$fifo" 2>&1 &
	UNSHARE_PID=$!
	trap forward_signal INT TERM
	while :; do
		rc=0
		wait "$UNSHARE_PID" || rc=$?
		kill -0 "$UNSHARE_PID" 2>/dev/null || break   # else a signal interrupted the wait
	done
	trap - INT TERM
	UNSHARE_PID=""
	wait "$show_pid" || true
	summary="$(tail -n 1 "$out" | tr -d '\r')"
	if [[ -d $RUN/logs ]]; then
		local keep
		keep="$CACHE/logs/$(date -u +%Y%m%dT%H%M%SZ)"
		mkdir -p "$CACHE/logs"
		mv "$RUN/logs" "$keep"
		cp "$out" "$keep/output.log"
		# the newest 5 are enough
		find "$CACHE/logs" -mindepth 1 -maxdepth 1 -type d | sort | head -n -5 | xargs -r rm -rf
		log "the inner run's logs: $keep"
	fi
	outer_cleanup
	RUN=""
	log "$((SECONDS - start)) s in all"
	if [[ ! $summary =~ $SUMMARY_RE ]]; then
		[[ -n $summary ]] && printf '%s\n' "$summary"
		summary="0 passed, 1 failed"
		[[ $rc -eq 0 ]] && rc=1
	fi
	printf '%s\n' "$summary"
	exit "$rc"
}

main "$@"
