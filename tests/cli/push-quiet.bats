#!/usr/bin/env bats
# sm-push-hub for cron: --quiet prints only failures; a refusal for bad
# credentials (401, 403) names the setting to check. The hub is a loopback
# receiver answering with a fixed status.

bats_require_minimum_version 1.5.0
load helpers

setup() {
	setup_sm
	: >"$TEST_DIR/pids"
	export INSTANCE_ID=agent-q
	unset HUB_API_KEY WEBHOOK_SECRET_CLUSTER
}

teardown() {
	while read -r pid; do
		kill "$pid" 2>/dev/null || true
	done <"$TEST_DIR/pids"
	teardown_sm
}

# hub STATUS: a receiver answering STATUS to every push; sets HUB_URL.
hub() {
	local port
	/usr/bin/python3 "$SM_FIXTURES/bin/receiver.py" --log "$TEST_DIR/hub.log" --status "$1" \
		>"$TEST_DIR/hub.port" 2>/dev/null &
	echo $! >>"$TEST_DIR/pids"
	port=$(server_port "$TEST_DIR/hub.port" $!)
	export HUB_URL="http://127.0.0.1:$port"
}

checks() { echo '{"v":1,"source":"local","host":"h","checks":[{"checker":"disk","status":"ok","message":"fine","metrics":{}}]}'; }

@test "--quiet: a delivered push prints nothing; a failed one still says why" {
	hub 202
	run --separate-stderr sm-push-hub <<<"$(checks)"
	[ "$status" -eq 0 ]
	[[ "$stderr" == "sm-push-hub: push OK hub="* ]]
	run --separate-stderr sm-push-hub --quiet <<<"$(checks)"
	[ "$status" -eq 0 ]
	[ -z "$output" ] && [ -z "$stderr" ]
	run --separate-stderr sm-push-hub -q <<<"$(checks)"
	[ -z "$stderr" ]
	[ "$(wc -l <"$TEST_DIR/hub.log")" -eq 3 ]
	kill "$(tail -1 "$TEST_DIR/pids")"
	hub 500
	run --separate-stderr sm-push-hub --quiet <<<"$(checks)"
	[ "$status" -eq 75 ]
	[[ "$stderr" == *"push FAILED"*"HTTP 500"* ]]
	[[ "$stderr" == *"push kept in the spool"* ]]
}

@test "a 401 from the hub names the secret to check" {
	hub 401
	WEBHOOK_SECRET_CLUSTER=s3cret run --separate-stderr sm-push-hub -q <<<"$(checks)"
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"the hub refused the push: HTTP 401; check WEBHOOK_SECRET_CLUSTER against the hub's (set aside"* ]]
	[[ "$stderr" != *s3cret* ]]
	HUB_API_KEY=k3y run --separate-stderr sm-push-hub <<<"$(checks)"
	[[ "$stderr" == *"HTTP 401; check HUB_API_KEY against the hub's API keys"* ]]
	HUB_API_KEY=k3y WEBHOOK_SECRET_CLUSTER=s3cret run --separate-stderr sm-push-hub --retry-refused
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"refused again: HTTP 401; check HUB_API_KEY and WEBHOOK_SECRET_CLUSTER against the hub's"* ]]
	[[ "$stderr" != *k3y* ]]
	run --separate-stderr sm-push-hub <<<"$(checks)"
	[[ "$stderr" == *"HTTP 401; the hub wants credentials: set HUB_API_KEY or WEBHOOK_SECRET_CLUSTER"* ]]
}

@test "other refusals carry no credential hint" {
	hub 400
	WEBHOOK_SECRET_CLUSTER=s3cret run --separate-stderr sm-push-hub <<<"$(checks)"
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"the hub refused the push: HTTP 400 (set aside"* ]]
}
