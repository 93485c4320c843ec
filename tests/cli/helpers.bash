# helpers.bash - shared set-up for the bats suites: a private store per test,
# the built binaries first on PATH, and a JSON/SQLite query helper.
# shellcheck shell=bash

setup_sm() {
	: "${SM_BIN:?SM_BIN must point at build/bin}"
	: "${SM_FIXTURES:?SM_FIXTURES must point at tests/fixtures}"
	TEST_DIR=$(mktemp -d "${BATS_TMPDIR:-/tmp}/sm-cli.XXXXXX")
	export SM_DB="$TEST_DIR/sm.db"
	export SM_ENV_FILE=/dev/null
	export SM_LOG_LEVEL=warn
	export PATH="$SM_BIN:$PATH"
	unset SM_HOST_ROOT SM_PROC_ROOT SM_SYS_ROOT SM_PING_HOSTS NO_COLOR COLUMNS
}

# Skip the test (or file) when a real peer it needs is missing, unless
# SM_REQUIRE_PEERS=1 (scripts/test sets it, having installed them all):
# then a missing peer is a failure, not a quiet skip.
#   need_peer "lighttpd is not installed" command -v lighttpd
need_peer() {
	local why=$1
	shift
	"$@" >/dev/null 2>&1 && return 0
	if [ "${SM_REQUIRE_PEERS:-0}" = 1 ]; then
		echo "$why (SM_REQUIRE_PEERS=1: scripts/deps test installs it)" >&2
		return 1
	fi
	skip "$why (scripts/deps test)"
}

teardown_sm() {
	rm -rf "$TEST_DIR"
}

# stop_pids FILE [SIGNAL]: send SIGNAL (default TERM) to each pid listed in
# FILE, then wait (up to 5 s each) until it is gone or a zombie, so that no
# server still writes under $TEST_DIR when teardown_sm removes it.
stop_pids() {
	local pid
	[ -f "$1" ] || return 0
	while read -r pid; do
		kill "-${2:-TERM}" "$pid" 2>/dev/null || true
	done <"$1"
	while read -r pid; do
		for _ in $(seq 100); do
			[ -r "/proc/$pid/stat" ] || break
			[ "$(cut -d' ' -f3 "/proc/$pid/stat" 2>/dev/null)" = Z ] && break
			sleep 0.05
		done
	done <"$1"
}

host() {
	export SM_HOST_ROOT="$SM_FIXTURES/hosts/$1"
}

# jq-like access with Python's standard library: `json_get EXPR < file`
# where EXPR is a Python expression over `d` (the parsed object).
json_get() {
	/usr/bin/python3 -c 'import json,sys
d=json.loads(sys.stdin.readline())
v=eval(sys.argv[1])
print(json.dumps(v) if isinstance(v,(dict,list,tuple,bool)) or v is None else v)' "$1"
}

# Run SQL against the test store and print rows as tab-separated lines.
sql() {
	/usr/bin/python3 -c 'import sqlite3,sys
c=sqlite3.connect(sys.argv[1])
for r in c.execute(sys.argv[2]): print("\t".join("" if x is None else str(x) for x in r))
c.commit()' "$SM_DB" "$1"
}

# A free TCP port on 127.0.0.1.
free_port() {
	/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# The port a server started in the background as PID prints ("PORT n")
# into FILE. No deadline: it waits while the server lives, since a busy
# machine is slow, not wrong.
server_port() { # FILE PID
	local port=
	while :; do
		port=$(sed -n 's/^PORT //p' "$1" 2>/dev/null) || true
		[ -z "$port" ] || break
		kill -0 "$2" 2>/dev/null || return 1
		sleep 0.05
	done
	echo "$port"
}

# Wait until 127.0.0.1:$1 accepts connections (up to a minute: a server
# that has not started by then is broken, not slow).
wait_port() {
	for _ in $(seq 600); do
		/usr/bin/python3 -c "import socket,sys; socket.create_connection(('127.0.0.1',$1),0.2)" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# An Alertmanager webhook body with one alert.
# wait_for COMMAND...: until it succeeds, at most 20 s (a bound, not a measure).
wait_for() {
	for _ in $(seq 400); do
		"$@" && return 0
		sleep 0.05
	done
	return 1
}

am_payload() { # NAME INSTANCE STATUS [SEVERITY]
	printf '{"receiver":"sm","status":"%s","groupKey":"{}:{alertname=\\"%s\\"}","alerts":[{"status":"%s","labels":{"alertname":"%s","instance":"%s","severity":"%s"},"annotations":{"summary":"%s on %s"},"startsAt":"2026-11-22T01:00:00Z","endsAt":"0001-01-01T00:00:00Z"}]}\n' \
		"$3" "$1" "$3" "$1" "$2" "${4:-warning}" "$1" "$2"
}

# serve_start DIR [VAR=VALUE ...]: scripts/serve (a real lighttpd) on $PORT
# in mode $SERVE_MODE with these variables, its pid in DIR/serve.pid and its
# output in DIR/serve.log; returns once the port answers.
serve_start() {
	local dir=$1
	shift
	env SM_SERVE_MODE="$SERVE_MODE" "$@" "$BATS_TEST_DIRNAME/../../scripts/serve" "${PORT:?}" \
		>>"$dir/serve.log" 2>&1 &
	echo $! >"$dir/serve.pid"
	wait_port "$PORT"
}

# serve_stop DIR: stop what serve_start started (lighttpd stops its FastCGI
# processes) and wait until it is gone, or a zombie nobody reaps: either way
# it has let go of the port.
serve_stop() {
	local pid
	[ -f "$1/serve.pid" ] || return 0
	pid=$(cat "$1/serve.pid")
	rm -f "$1/serve.pid"
	kill "$pid" 2>/dev/null || return 0
	for _ in $(seq 100); do
		[ -r "/proc/$pid/stat" ] || return 0
		[ "$(cut -d' ' -f3 "/proc/$pid/stat")" = Z ] && return 0
		sleep 0.05
	done
}

# receiver_start DIR NAME URLPATH [receiver.py flags]: a loopback HTTP
# receiver (tests/fixtures/bin/receiver.py) logging each request to
# DIR/NAME.log, its pid added to DIR/pids; prints its URL,
# http://127.0.0.1:PORT/URLPATH.
receiver_start() {
	local dir=$1 name=$2 path=$3 port=
	shift 3
	: >"$dir/$name.log"
	/usr/bin/python3 "$SM_FIXTURES/bin/receiver.py" --log "$dir/$name.log" "$@" \
		>"$dir/$name.port" 2>/dev/null &
	echo $! >>"$dir/pids"
	port=$(server_port "$dir/$name.port" $!)
	echo "http://127.0.0.1:$port/$path"
}
