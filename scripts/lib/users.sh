# shellcheck shell=bash
# The system users the project's scripts run daemons as, sourced (not run) by scripts/dev.sh
# (runos-dev) and tests/bench/lib.sh (runos-bench). PostgreSQL refuses to run as root, so as root
# the scripts run PostgreSQL and Redis as such a user; as anyone else they run them as
# themselves. Every chown to and every command as one of these users goes through the functions
# below, which create the user first when it is missing: no path can chown to a user that does
# not exist yet (the bug of issue 13: only one of two paths created it).
#
#   user_ensure NAME           creates the system user NAME (no home, no login shell) when root
#                              and it does not exist; exits 1 when it cannot
#   user_give NAME PATH…       as root: chown NAME: PATH… (after user_ensure); else nothing
#   user_run NAME CMD [ARG…]   as root: CMD as NAME (runuser, after user_ensure); else CMD as
#                              ourselves; both with cwd / (a repository NAME cannot read does
#                              not matter)
#   user_run_str NAME CMD…     the same as one string for sh -c (the user is ensured now)

# Quote one word for POSIX sh.
user_sq() { printf "'%s'" "${1//\'/\'\\\'\'}"; }

user_is_root() { [[ $(id -u) -eq 0 ]]; }

user_ensure() {
	local name="$1"
	user_is_root || return 0
	getent passwd "$name" >/dev/null && return 0
	printf '==> creating system user %s (PostgreSQL does not run as root)\n' "$name" >&2
	# a script running at the same time may create it first
	useradd --system --no-create-home --shell /usr/sbin/nologin "$name" 2>/dev/null ||
		getent passwd "$name" >/dev/null || {
		printf 'error: cannot create the system user %s (useradd failed)\n' "$name" >&2
		exit 1
	}
}

user_give() {
	local name="$1"
	shift
	user_is_root || return 0
	user_ensure "$name"
	chown "$name:" "$@"
}

user_run() {
	local name="$1"
	shift
	if user_is_root; then
		user_ensure "$name"
		(cd / && runuser -u "$name" -- "$@")
	else
		(cd / && "$@")
	fi
}

user_run_str() {
	local name="$1" s="cd / &&" a
	shift
	if user_is_root; then
		user_ensure "$name"
		s+=" runuser -u $(user_sq "$name") --"
	fi
	for a in "$@"; do s+=" $(user_sq "$a")"; done
	printf '%s' "$s"
}
