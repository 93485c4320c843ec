#!/usr/bin/env bats
# sm-push-hub with several hubs in HUB_URL: two real hubs (sm-ingest under
# lighttpd, each with its own store) on loopback. Each hub gets every push;
# one that is down, refuses or hangs keeps its copies in its own spool and
# neither loses nor holds up the other's.
# shellcheck disable=SC2154 # bats sets $stderr for run --separate-stderr

bats_require_minimum_version 1.5.0
load helpers

setup_file() {
	: "${SM_BIN:?}" "${SM_FIXTURES:?}"
	need_peer "lighttpd is not installed" command -v lighttpd
	export HUBS_DIR
	HUBS_DIR=$(mktemp -d "${BATS_TMPDIR:-/tmp}/sm-hubs.XXXXXX")
	for h in a b; do
		mkdir -p "$HUBS_DIR/$h"
		free_port >"$HUBS_DIR/$h/port"
		printf 'CLUSTER_ENABLED=1\nWEBHOOK_SECRET_CLUSTER=hub-secret\n' >"$HUBS_DIR/$h/hub.env"
		SM_DB="$HUBS_DIR/$h/hub.db" SM_ENV_FILE=/dev/null "$SM_BIN/sm-ingest" incidents >/dev/null
		start_hub "$h"
	done
}

port_of() { cat "$HUBS_DIR/$1/port"; }

# start_hub a|b: that hub's sm-ingest under lighttpd, its own store and settings.
start_hub() {
	SM_DB="$HUBS_DIR/$1/hub.db" SM_ENV_FILE="$HUBS_DIR/$1/hub.env" SM_SERVE_DIR="$HUBS_DIR/$1/serve" \
		SM_INGEST="$SM_BIN/sm-ingest" \
		"$BATS_TEST_DIRNAME/../../scripts/serve" "$(port_of "$1")" >>"$HUBS_DIR/$1/serve.log" 2>&1 &
	echo $! >"$HUBS_DIR/$1/serve.pid"
	wait_port "$(port_of "$1")"
}

stop_hub() {
	kill "$(cat "$HUBS_DIR/$1/serve.pid")" 2>/dev/null || true
	for _ in $(seq 50); do
		/usr/bin/python3 -c "import socket; socket.create_connection(('127.0.0.1',$(port_of "$1")),0.2)" 2>/dev/null || return 0
		sleep 0.1
	done
}

teardown_file() {
	stop_hub a
	stop_hub b
	rm -rf "$HUBS_DIR"
}

setup() {
	export PATH="$SM_BIN:$PATH" SM_ENV_FILE=/dev/null SM_LOG_LEVEL=warn
	TEST_DIR=$(mktemp -d "$HUBS_DIR/agent.XXXXXX")
	A="http://127.0.0.1:$(port_of a)"
	B="http://127.0.0.1:$(port_of b)"
	export SM_DB="$TEST_DIR/agent.db" HUB_URL="$A,$B"
	export WEBHOOK_SECRET_CLUSTER=hub-secret INSTANCE_ID="agent-$BATS_TEST_NUMBER"
	unset SM_HOST_ROOT
}

teardown() {
	if [ -f "$TEST_DIR/hung.pid" ]; then
		kill "$(cat "$TEST_DIR/hung.pid")" 2>/dev/null || true
	fi
}

hub() { SM_DB="$HUBS_DIR/$1/hub.db" sql "$2"; }

# The checkers of this agent's alerts on hub a|b, in the order they last changed.
checkers_on() {
	hub "$1" "SELECT group_concat(c, ' ') FROM (SELECT json_extract(labels, '$.checker') AS c FROM alerts
		WHERE json_extract(labels, '$.instance_id') = '$INSTANCE_ID' ORDER BY updated_at, id)"
}

# A check envelope with the given "checker:status" results.
checks() {
	/usr/bin/python3 -c '
import json, sys
checks = [{"checker": c.split(":")[0], "status": c.split(":")[1], "message": c.split(":")[0] + " is " + c.split(":")[1]}
          for c in sys.argv[1:]]
print(json.dumps({"v": 1, "source": "local", "host": "h", "checks": checks}))' "$@"
}

@test "a HUB_URL list with a bad entry is refused naming the entry; nothing is sent or kept" {
	HUB_URL="$A,ftp://hub-b" run sm-push-hub <<<"$(checks cpu:critical)"
	[ "$status" -eq 64 ]
	[ "$output" = "sm-push-hub: HUB_URL: entry 2 'ftp://hub-b': URL scheme must be http:// or https://" ]
	HUB_URL="$A,,$B" run sm-push-hub <<<"$(checks cpu:critical)"
	[ "$status" -eq 64 ]
	[ "$output" = "sm-push-hub: HUB_URL: entry 2 '': empty" ]
	HUB_URL="$A/,$A" run sm-push-hub <<<"$(checks cpu:critical)"
	[ "$status" -eq 64 ]
	[ "$output" = "sm-push-hub: HUB_URL: entry 2 '$A': given twice" ]
	# An entry that may hold a secret is named by its number alone.
	HUB_URL="$A,http://u:pw-s3cret@127.0.0.1:1" run sm-push-hub <<<"$(checks cpu:critical)"
	[ "$status" -eq 64 ]
	[[ "$output" == "sm-push-hub: HUB_URL: entry 2: "* ]]
	[[ "$output" != *s3cret* ]]
	[ "$(hub a "SELECT count(*) FROM agents WHERE instance_id = '$INSTANCE_ID'")" = 0 ]
	[ ! -e "$SM_DB" ] || [ "$(sql "SELECT count(*) FROM hub_spool")" = 0 ]
}

@test "both hubs up: each stores every push; one line per hub; --spool shows both queues empty" {
	run --separate-stderr sm-push-hub <<<"$(checks disk:critical load:ok)"
	[ "$status" -eq 0 ]
	[[ "$stderr" == *"push OK hub=$A/alerts/webhook/cluster/ ok=1 warning=0 critical=1 alerts=2 HTTP 202"* ]]
	[[ "$stderr" == *"push OK hub=$B/alerts/webhook/cluster/ ok=1 warning=0 critical=1 alerts=2 HTTP 202"* ]]
	[ "$(checkers_on a)" = "disk load" ]
	[ "$(checkers_on b)" = "disk load" ]
	[ "$(sql "SELECT count(*) FROM hub_spool")" = 0 ]
	run script -qec "$SM_BIN/sm-push-hub --spool" /dev/null
	[ "$status" -eq 0 ]
	[[ "$output" == *"$A: empty"* ]]
	[[ "$output" == *"$B: empty"* ]]
	# --dry-run names both.
	run sm-push-hub --dry-run <<<"$(checks disk:critical)"
	[ "${lines[0]}" = "Dry run: payload for $A/alerts/webhook/cluster/, $B/alerts/webhook/cluster/" ]
}

@test "one hub down: the other gets every push at once; 75; the down hub's spool drains in order when it is back" {
	stop_hub b
	run --separate-stderr sm-push-hub <<<"$(checks memory:critical)"
	[ "$status" -eq 75 ]
	[ "$stderr" != "${stderr/push OK hub=$A/}" ]
	[[ "$stderr" == *"sm-push-hub: hub $B: unreachable: "*": push kept in the spool"* ]]
	[ "$(checkers_on a)" = memory ]
	run sm-push-hub <<<"$(checks load:warning)"
	[ "$status" -eq 75 ]
	[ "$(checkers_on a)" = "memory load" ]
	# The down hub's queue holds both; the other's is empty.
	[ "$(sql "SELECT hub, count(*), min(state), max(state) FROM hub_spool GROUP BY hub")" = "$B	2	pending	pending" ]
	run sm-push-hub --spool --json
	[ "${#lines[@]}" -eq 2 ]
	# The older one was tried again; the newer waits behind it, not tried.
	[ "$(echo "${lines[0]}" | json_get '[d["hub"], d["state"], d["attempts"]]')" = "[\"$B\", \"pending\", 2]" ]
	[ "$(echo "${lines[1]}" | json_get '[d["hub"], d["state"], d["attempts"], d["last_error"]]')" = "[\"$B\", \"pending\", 0, \"not sent yet\"]" ]
	run script -qec "$SM_BIN/sm-push-hub --spool" /dev/null
	[[ "$output" == *"$A: empty"* ]]
	[[ "$output" == *"$B:"*"pending  attempts=2"*"pending  attempts=0"*"not sent yet"* ]]
	start_hub b
	run sm-push-hub <<<"$(checks swap:critical)"
	[ "$status" -eq 0 ]
	[ "$(sql "SELECT count(*) FROM hub_spool")" = 0 ]
	# The hub that was away got them oldest first; the other each once, at once.
	[ "$(checkers_on b)" = "memory load swap" ]
	[ "$(checkers_on a)" = "memory load swap" ]
	[ "$(hub a "SELECT pushes FROM agents WHERE instance_id = '$INSTANCE_ID'")" = 3 ]
	[ "$(hub b "SELECT pushes FROM agents WHERE instance_id = '$INSTANCE_ID'")" = 3 ]
}

@test "a hub that hangs does not hold up the other: it has the push while the agent still waits" {
	/usr/bin/python3 "$SM_FIXTURES/bin/receiver.py" --delay 600 >"$TEST_DIR/hung.port" 2>/dev/null &
	echo $! >"$TEST_DIR/hung.pid"
	hung="http://127.0.0.1:$(server_port "$TEST_DIR/hung.port" "$(cat "$TEST_DIR/hung.pid")")"
	HUB_URL="$hung,$A" sm-push-hub <<<"$(checks raid:critical)" >"$TEST_DIR/out" 2>&1 &
	agent=$!
	for _ in $(seq 300); do
		[ "$(checkers_on a)" = raid ] && break
		sleep 0.1
	done
	[ "$(checkers_on a)" = raid ]
	# The first hub listed has not answered: the agent is still waiting for it.
	kill -0 "$agent"
	kill "$(cat "$TEST_DIR/hung.pid")"
	rc=0
	wait "$agent" || rc=$?
	[ "$rc" -eq 75 ]
	[ "$(sql "SELECT hub, state FROM hub_spool")" = "$hung	pending" ]
	grep -q "push OK hub=$A/" "$TEST_DIR/out"
}

@test "a hub that refuses: set aside for it alone, the others keep getting pushes; 1 outranks 75" {
	printf 'CLUSTER_ENABLED=1\nWEBHOOK_SECRET_CLUSTER=other-secret\n' >"$HUBS_DIR/b/hub.env"
	run sm-push-hub <<<"$(checks cpu:critical)"
	[ "$status" -eq 1 ]
	[[ "$output" == *"sm-push-hub: hub $B: the hub refused the push: HTTP 401"* ]]
	run sm-push-hub <<<"$(checks swap:warning)"
	[ "$status" -eq 1 ]
	[ "$(checkers_on a)" = "cpu swap" ]
	[ "$(checkers_on b)" = "" ]
	[ "$(sql "SELECT hub, state, http_status FROM hub_spool" | sort -u)" = "$B	refused	401" ]
	# A refusal and a hub down in one run: the refusal's 1 wins over 75.
	HUB_URL="$A,$B,http://127.0.0.1:1" run sm-push-hub <<<"$(checks load:ok)"
	[ "$status" -eq 1 ]
	[[ "$output" == *"hub http://127.0.0.1:1: unreachable: "*"push kept in the spool"* ]]
	[[ "$output" == *"hub $B: the hub refused the push: HTTP 401"* ]]
	[ "$(checkers_on a)" = "cpu swap load" ]
	# Fixed: --retry-refused sends the set-aside ones to that hub, in order.
	printf 'CLUSTER_ENABLED=1\nWEBHOOK_SECRET_CLUSTER=hub-secret\n' >"$HUBS_DIR/b/hub.env"
	run sm-push-hub --retry-refused
	[ "$status" -eq 0 ]
	[ "$(checkers_on b)" = "cpu swap load" ]
	[ "$(sql "SELECT count(*) FROM hub_spool WHERE hub = '$B'")" = 0 ]
	# The hub no longer listed keeps its queue, shown as such.
	run script -qec "$SM_BIN/sm-push-hub --spool" /dev/null
	[[ "$output" == *"http://127.0.0.1:1: (not in HUB_URL)"* ]]
}

@test "pushes spooled before HUB_URL listed several hubs go to the first one" {
	HUB_URL=http://127.0.0.1:1 run sm-push-hub <<<"$(checks disk:warning)"
	[ "$status" -eq 75 ]
	# As a store of the single-hub version kept it.
	sql "UPDATE hub_spool SET hub = ''"
	run sm-push-hub <<<"$(checks disk:critical)"
	[ "$status" -eq 0 ]
	[ "$(sql "SELECT count(*) FROM hub_spool")" = 0 ]
	[ "$(hub a "SELECT count(*) FROM alert_history h JOIN alerts x ON x.id = h.alert_id
		WHERE json_extract(x.labels, '$.instance_id') = '$INSTANCE_ID'")" = 2 ]
	[ "$(hub b "SELECT count(*) FROM alert_history h JOIN alerts x ON x.id = h.alert_id
		WHERE json_extract(x.labels, '$.instance_id') = '$INSTANCE_ID'")" = 1 ]
}
