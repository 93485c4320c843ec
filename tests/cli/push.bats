#!/usr/bin/env bats
# sm-push-hub end to end: the payload, and pushes through a real lighttpd hub
# on loopback — signatures, replays, the spool when the hub is down or
# refuses, agents sharing a host name, and the agents checker.

# shellcheck disable=SC2154 # bats sets $output, $status and $stderr
bats_require_minimum_version 1.5.0
load helpers

setup_file() {
	: "${SM_BIN:?}" "${SM_FIXTURES:?}"
	need_peer "lighttpd is not installed" command -v lighttpd
	export HUB_DIR
	HUB_DIR=$(mktemp -d "${BATS_TMPDIR:-/tmp}/sm-hub.XXXXXX")
	export HUB_PORT
	HUB_PORT=$(free_port)
	printf 'CLUSTER_ENABLED=1\nWEBHOOK_SECRET_CLUSTER=hub-secret\n' >"$HUB_DIR/hub.env"
	SM_DB="$HUB_DIR/hub.db" SM_ENV_FILE=/dev/null "$SM_BIN/sm-ingest" incidents >/dev/null # create it
	start_hub
}

# The hub: sm-ingest under lighttpd with its own store and settings.
start_hub() {
	SM_DB="$HUB_DIR/hub.db" SM_ENV_FILE="$HUB_DIR/hub.env" SM_SERVE_DIR="$HUB_DIR/serve" \
		SM_INGEST="$SM_BIN/sm-ingest" \
		"$BATS_TEST_DIRNAME/../../scripts/serve" "$HUB_PORT" >>"$HUB_DIR/serve.log" 2>&1 &
	echo $! >"$HUB_DIR/serve.pid"
	wait_port "$HUB_PORT"
}

stop_hub() {
	kill "$(cat "$HUB_DIR/serve.pid")" 2>/dev/null || true
	for _ in $(seq 50); do
		/usr/bin/python3 -c "import socket; socket.create_connection(('127.0.0.1',$HUB_PORT),0.2)" 2>/dev/null || return 0
		sleep 0.1
	done
}

teardown_file() {
	stop_hub
	rm -rf "$HUB_DIR"
}

setup() {
	export PATH="$SM_BIN:$PATH" SM_ENV_FILE=/dev/null SM_LOG_LEVEL=warn
	TEST_DIR=$(mktemp -d "$HUB_DIR/agent.XXXXXX")
	export SM_DB="$TEST_DIR/agent.db" HUB_URL="http://127.0.0.1:$HUB_PORT"
	export WEBHOOK_SECRET_CLUSTER=hub-secret INSTANCE_ID=agent-1
	unset SM_HOST_ROOT
}

hub() { SM_DB="$HUB_DIR/hub.db" sql "$1"; }

# A check envelope with the given "checker:status" results.
checks() {
	/usr/bin/python3 -c '
import json, sys
checks = [{"checker": c.split(":")[0], "status": c.split(":")[1], "message": c.split(":")[0] + " is " + c.split(":")[1],
           "metrics": {"value": 1}} for c in sys.argv[1:]]
print(json.dumps({"v": 1, "source": "local", "host": "h", "checks": checks}))' "$@"
}

@test "usage: --help, unknown checker, HUB_URL missing or not http(s)" {
	run sm-push-hub --help
	[ "$status" -eq 0 ]
	[[ "$output" == *"HUB_URL"* ]]
	run sm-push-hub --checkers cpu,nope </dev/null
	[ "$status" -eq 64 ]
	[[ "$output" == "sm-push-hub: unknown checker 'nope' (available: cpu, "* ]]
	HUB_URL='' run sm-push-hub </dev/null
	[ "$status" -eq 64 ]
	[[ "$output" == "sm-push-hub: HUB_URL is not set"* ]]
	HUB_URL=ftp://hub/ run sm-push-hub </dev/null
	[ "$status" -eq 64 ]
	HUB_URL='http://hub/?token=x' run sm-push-hub </dev/null
	[ "$status" -eq 64 ]
	[[ "$output" != *token=x* ]]
	for args in "--dry-run --spool" "--spool --retry-refused" "--dry-run --retry-refused"; do
		# shellcheck disable=SC2086
		run sm-push-hub $args </dev/null
		[ "$status" -eq 64 ]
	done
	SM_SPOOL_MAX=2.5 run sm-push-hub --spool
	[ "$status" -eq 64 ]
	# A malformed envelope on stdin: 65 naming the line, nothing sent or spooled.
	before=$(hub "SELECT count(*) FROM agents")
	printf '%s\n%s\n' "$(checks cpu:ok)" '{"v":1,"checks":' >"$TEST_DIR/bad"
	run sm-push-hub <"$TEST_DIR/bad"
	[ "$status" -eq 65 ]
	[[ "$output" == "sm-push-hub: stdin:2: malformed JSON"* ]]
	[ "$(hub "SELECT count(*) FROM agents")" = "$before" ]
	[ "$(sql "SELECT count(*) FROM hub_spool")" = 0 ]
}

@test "--dry-run --json: the seed's payload, each status mapped" {
	run sm-push-hub --dry-run --json <<<"$(checks cpu:ok memory:warning disk:critical raid:unknown)"
	[ "$status" -eq 0 ]
	echo "$output" | /usr/bin/python3 -c '
import json, sys
d = json.loads(sys.stdin.read())
assert list(d) == ["source", "instance_id", "hostname", "version", "alerts"], list(d)
assert d["source"] == "cluster" and d["instance_id"] == "agent-1" and d["version"] == "1.0"
a = d["alerts"]
assert list(a[0]) == ["fingerprint", "name", "status", "severity", "started_at", "ended_at",
                      "description", "labels", "annotations", "metrics"], list(a[0])
want = [("resolved", "info"), ("firing", "warning"), ("firing", "critical"), ("firing", "warning")]
assert [(x["status"], x["severity"]) for x in a] == want, a
assert a[0]["fingerprint"] == "cpu-agent-1" and a[1]["name"] == "memory: memory is warning"
assert a[0]["ended_at"] == a[0]["started_at"] and a[1]["ended_at"] is None
assert a[2]["labels"] == {"checker": "disk", "hostname": d["hostname"], "instance_id": "agent-1"}
assert a[2]["annotations"] == {"message": "disk is critical"} and a[2]["metrics"] == {"value": 1}
'
	[ ! -e "$SM_DB" ] # a dry run opens no store
}

@test "a push lands on the hub as alerts with instance_id and hostname, and records the agent" {
	before=$(hub "SELECT count(*) FROM alerts")
	run sm-push-hub <<<"$(checks memory:warning cpu:ok)"
	[ "$status" -eq 0 ]
	[[ "$output" == "sm-push-hub: push OK hub=http://127.0.0.1:$HUB_PORT/alerts/webhook/cluster/ ok=1 warning=1 critical=0 alerts=2 HTTP 202"* ]]
	[[ "$output" != *hub-secret* ]]
	[ "$(hub "SELECT count(*) FROM alerts")" = $((before + 2)) ]
	[ "$(hub "SELECT json_extract(labels, '$.instance_id'), source FROM alerts WHERE fingerprint = 'memory-agent-1'")" = "agent-1	cluster" ]
	[ "$(hub "SELECT instance_id, pushes, last_address FROM agents WHERE instance_id = 'agent-1'")" = "agent-1	1	127.0.0.1" ]
	# Pushing the checkers it runs itself when nothing comes on stdin.
	run sm-push-hub --checkers load,swap </dev/null
	[ "$status" -eq 0 ]
	[ "$(hub "SELECT count(*) FROM alerts WHERE fingerprint IN ('load-agent-1', 'swap-agent-1')")" -ge 1 ]
}

@test "a wrong secret: exit 1 naming HTTP 401, nothing stored, set aside until --retry-refused" {
	before=$(hub "SELECT count(*) FROM alerts")
	WEBHOOK_SECRET_CLUSTER=wrong run sm-push-hub <<<"$(checks disk:critical)"
	[ "$status" -eq 1 ]
	[[ "$output" == *"the hub refused the push: HTTP 401"* ]]
	[ "$(hub "SELECT count(*) FROM alerts")" = "$before" ]
	run sm-push-hub --spool --json
	[ "$(echo "${lines[0]}" | json_get 'd["state"], d["http_status"]')" = '["refused", 401]' ]
	# Refused pushes never block the others.
	run sm-push-hub <<<"$(checks swap:ok)"
	[ "$status" -eq 0 ]
	run sm-push-hub --retry-refused
	[ "$status" -eq 0 ]
	[ "$(hub "SELECT count(*) FROM alerts WHERE fingerprint = 'disk-agent-1'")" = 1 ]
	[ "$(sql "SELECT count(*) FROM hub_spool")" = 0 ]
}

# post_cluster BODY_FILE [HEADER ...]: a raw push to the hub; prints its status line.
post_cluster() {
	local f=$1
	shift
	/usr/bin/python3 "$BATS_TEST_DIRNAME/request.py" POST "$HUB_URL/alerts/webhook/cluster/" "$f" \
		"Content-Type: application/json" "$@"
}

sign() { /usr/bin/python3 -c 'import hashlib, hmac, sys
print(hmac.new(b"hub-secret", sys.argv[1].encode(), hashlib.sha256).hexdigest())' "$1"; }

@test "replays: an old timestamp is refused; the seed's unstamped form is refused by default" {
	body='{"source":"cluster","instance_id":"replayer","hostname":"r","version":"1.0","alerts":[{"fingerprint":"x-replayer","name":"x: bad","status":"firing","severity":"critical"}]}'
	old=$(( $(date +%s) - 1000 ))
	printf '%s' "$body" >"$TEST_DIR/body"
	out=$(post_cluster "$TEST_DIR/body" "X-SM-Timestamp: $old" "X-SM-Signature: sha256=$(sign "$old.$body")")
	[ "$(echo "$out" | head -1)" = 401 ]
	[[ "$out" == *"outside the allowed window"* ]]
	[ "$(hub "SELECT count(*) FROM alerts WHERE fingerprint = 'x-replayer'")" = 0 ]
	# The seed's form (body signature only) never expires: refused ...
	out=$(post_cluster "$TEST_DIR/body" "X-Cluster-Signature: $(sign "$body")")
	[ "$(echo "$out" | head -1)" = 401 ]
	[[ "$out" == *"X-SM-Timestamp required"* ]]
	[ "$(hub "SELECT count(*) FROM alerts WHERE fingerprint = 'x-replayer'")" = 0 ]
	# ... unless the hub is told to take it (seed agents), and then only
	# when the body signature is right.
	echo CLUSTER_ACCEPT_UNSTAMPED=1 >>"$HUB_DIR/hub.env"
	out=$(post_cluster "$TEST_DIR/body" "X-Cluster-Signature: $(sign "$body")")
	[ "$(echo "$out" | head -1)" = 202 ]
	out=$(post_cluster "$TEST_DIR/body" "X-Cluster-Signature: $(sign "other")")
	sed -i '/CLUSTER_ACCEPT_UNSTAMPED/d' "$HUB_DIR/hub.env"
	[ "$(echo "$out" | head -1)" = 401 ]
	run sm-push-hub <<<"$(checks cpu:ok)" # the agent always stamps
	[ "$status" -eq 0 ]
}

@test "a second delivery of the same timestamped push is refused (409), nothing stored twice" {
	body='{"source":"cluster","instance_id":"twice","hostname":"t","version":"1.0","alerts":[{"fingerprint":"x-twice","name":"x: bad","status":"firing","severity":"critical"}]}'
	now=$(date +%s)
	printf '%s' "$body" >"$TEST_DIR/body"
	headers=("X-SM-Timestamp: $now" "X-SM-Signature: sha256=$(sign "$now.$body")")
	out=$(post_cluster "$TEST_DIR/body" "${headers[@]}")
	[ "$(echo "$out" | head -1)" = 202 ]
	pushes=$(hub "SELECT pushes FROM agents WHERE instance_id = 'twice'")
	out=$(post_cluster "$TEST_DIR/body" "${headers[@]}")
	[ "$(echo "$out" | head -1)" = 409 ]
	[[ "$out" == *"replayed request"* ]]
	[ "$(hub "SELECT pushes FROM agents WHERE instance_id = 'twice'")" = "$pushes" ]
	[ "$(hub "SELECT count(*) FROM alert_history h JOIN alerts a ON a.id = h.alert_id WHERE a.fingerprint = 'x-twice'")" = 1 ]
	# Signatures are kept only while their timestamp is in the window.
	[ "$(hub "SELECT count(*) FROM seen_signatures WHERE expires_at > $((now + 300))")" = 0 ]
}

@test "a hub without WEBHOOK_SECRET_CLUSTER refuses pushes unless CLUSTER_ACCEPT_UNSTAMPED=1" {
	cp "$HUB_DIR/hub.env" "$HUB_DIR/hub.env.saved"
	echo CLUSTER_ENABLED=1 >"$HUB_DIR/hub.env"
	export INSTANCE_ID=unsigned-agent
	before=$(hub "SELECT count(*) FROM alerts")
	run sm-push-hub <<<"$(checks disk:critical)"
	[ "$status" -eq 1 ]
	[[ "$output" == *"HTTP 401"* ]]
	[ "$(hub "SELECT count(*) FROM alerts")" = "$before" ]
	echo CLUSTER_ACCEPT_UNSTAMPED=1 >>"$HUB_DIR/hub.env"
	unset WEBHOOK_SECRET_CLUSTER
	run sm-push-hub --retry-refused
	mv "$HUB_DIR/hub.env.saved" "$HUB_DIR/hub.env"
	[ "$status" -eq 0 ]
	[ "$(hub "SELECT count(*) FROM alerts")" = $((before + 1)) ]
}

@test "HUB_API_KEY: a hub that requires API keys takes the agent's, and only with it" {
	key=agent-key-123
	{
		echo "# agents"
		echo
		printf 'agents %s\n' "$(printf '%s' "$key" | sha256sum | cut -d' ' -f1)"
	} >"$HUB_DIR/keys"
	cp "$HUB_DIR/hub.env" "$HUB_DIR/hub.env.saved"
	echo "SM_API_KEYS_FILE=$HUB_DIR/keys" >>"$HUB_DIR/hub.env"
	run sm-push-hub <<<"$(checks load:ok)"
	status_without=$status
	HUB_API_KEY=$key run sm-push-hub --retry-refused
	mv "$HUB_DIR/hub.env.saved" "$HUB_DIR/hub.env"
	[ "$status_without" -eq 1 ]
	[ "$status" -eq 0 ]
	[[ "$output" != *"$key"* ]]
	run grep -q "$key" -r "$HUB_DIR/serve"
	[ "$status" -eq 1 ]
}

@test "--json, --dry-run and --spool check their writes: exit 1 'write error'" {
	run --separate-stderr bash -c 'exec sm-push-hub --dry-run --json >/dev/full' <<<"$(checks cpu:ok)"
	[ "$status" -eq 1 ]
	[ "$stderr" = "sm-push-hub: write error: No space left on device" ]
	run --separate-stderr bash -c 'exec sm-push-hub --json >&-' <<<"$(checks cpu:ok)"
	[ "$status" -eq 1 ]
	[[ "$stderr" == "sm-push-hub: write error: "* ]]
	# Not shown, not sent: nothing reached the hub or the spool.
	[ "$(sql "SELECT count(*) FROM hub_spool")" = 0 ]
	WEBHOOK_SECRET_CLUSTER=wrong run sm-push-hub <<<"$(checks cpu:ok)" # one set aside
	run --separate-stderr bash -c 'exec sm-push-hub --spool --json >/dev/full'
	[ "$status" -eq 1 ]
}

@test "bad cluster payloads on the hub: 400/413, nothing stored" {
	before=$(hub "SELECT count(*) FROM alerts")
	for body in '{"source":"cluster","alerts":[]}' '{"source":"cluster","instance_id":7,"alerts":[]}' \
		'{"source":"cluster","instance_id":"a","alerts":{"x":1}}' '{"source":"cluster","instance_id":"a","alerts":[1,2]}'; do
		printf '%s' "$body" >"$TEST_DIR/body"
		now=$(date +%s)
		code=$(post_cluster "$TEST_DIR/body" "X-SM-Timestamp: $now" "X-SM-Signature: $(sign "$now.$body")" | head -1)
		[ "$code" = 400 ] || { echo "$body -> $code"; false; }
	done
	/usr/bin/python3 -c '
import json
alerts = [{"name": "n%d" % i, "status": "firing", "labels": {"checker": "c%d" % i}} for i in range(30000)]
print(json.dumps({"source": "cluster", "instance_id": "big", "alerts": alerts}))' >"$TEST_DIR/big"
	code=$(/usr/bin/python3 "$BATS_TEST_DIRNAME/request.py" POST "$HUB_URL/alerts/webhook/cluster/" "$TEST_DIR/big" \
		"Content-Type: application/json" | head -1)
	[ "$code" = 413 ]
	[ "$(hub "SELECT count(*) FROM alerts")" = "$before" ]
}

@test "the hub down: exit 75 and spooled; back: the spool goes first, in order" {
	stop_hub
	run sm-push-hub <<<"$(checks memory:critical)"
	[ "$status" -eq 75 ]
	[[ "$output" == *"push kept in the spool"* ]]
	run sm-push-hub <<<"$(checks load:warning)"
	[ "$status" -eq 75 ]
	[ "$(sql "SELECT count(*), min(state), max(state) FROM hub_spool")" = "2	pending	pending" ]
	start_hub
	run sm-push-hub <<<"$(checks swap:critical)"
	[ "$status" -eq 0 ]
	[ "$(sql "SELECT count(*) FROM hub_spool")" = 0 ]
	# Delivered oldest first: memory, then load, then the new swap push.
	[ "$(hub "SELECT group_concat(json_extract(labels, '$.checker'), ' ') FROM (SELECT labels FROM alerts
		WHERE fingerprint IN ('memory-agent-1', 'load-agent-1', 'swap-agent-1') ORDER BY updated_at)")" = "memory load swap" ]
}

@test "two agents with the same host name and different INSTANCE_IDs do not overwrite each other" {
	INSTANCE_ID=twin-a run sm-push-hub <<<"$(checks disk:warning)"
	[ "$status" -eq 0 ]
	INSTANCE_ID=twin-b run sm-push-hub <<<"$(checks disk:critical)"
	[ "$status" -eq 0 ]
	[ "$(hub "SELECT fingerprint, severity FROM alerts WHERE fingerprint LIKE 'disk-twin-%' ORDER BY fingerprint" | tr '\n' ' ')" = "disk-twin-a	warning disk-twin-b	critical " ]
	[ "$(hub "SELECT count(*) FROM agents WHERE instance_id LIKE 'twin-%'")" = 2 ]
	[ "$(hub "SELECT count(DISTINCT incident_id) FROM alerts WHERE fingerprint LIKE 'disk-twin-%'")" = 2 ]
}

@test "the agents checker on the hub reports a silent agent" {
	sm-push-hub <<<"$(checks cpu:ok)" 2>/dev/null
	hub "UPDATE agents SET last_push_at = '2000-01-01T00:00:00.000Z' WHERE instance_id = 'agent-1'"
	SM_DB="$HUB_DIR/hub.db" run sm-check agents
	[ "$status" -eq 2 ]
	[[ "$(echo "$output" | json_get 'd["checks"][0]["message"]')" == *agent-1* ]]
}
