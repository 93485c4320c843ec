#!/usr/bin/env bats
# Flapping and acknowledged incidents end to end: webhooks through the real
# sm-ingest into sm-notify, delivered to a loopback receiver standing in for
# a generic endpoint; what was held back is recorded with its reason.
# shellcheck disable=SC2154 # bats sets $stderr for run --separate-stderr

bats_require_minimum_version 1.5.0
load helpers

setup() {
	setup_sm
	: >"$TEST_DIR/pids"
}

teardown() {
	while read -r pid; do
		kill "$pid" 2>/dev/null || true
	done <"$TEST_DIR/pids"
	teardown_sm
}

# A receiver logging to $TEST_DIR/hook.log, and a generic channel "hook"
# posting to it with the given keys.
hook_channel() { # KEY=VALUE...
	local port
	/usr/bin/python3 "$SM_FIXTURES/bin/receiver.py" --log "$TEST_DIR/hook.log" --body ok \
		>"$TEST_DIR/hook.port" 2>/dev/null &
	echo $! >>"$TEST_DIR/pids"
	port=$(server_port "$TEST_DIR/hook.port" $!)
	: >>"$TEST_DIR/hook.log"
	sm-notify channel add hook generic "webhook_url=http://127.0.0.1:$port/hook" "$@" >/dev/null
}

# The events of the messages the receiver got, one a line.
events() {
	/usr/bin/python3 -c '
import json, sys
for line in open(sys.argv[1]):
    print(json.loads(json.loads(line)["body"])["event"])' "$TEST_DIR/hook.log"
}

# One result of DiskFull on db-01 (F firing, R resolved) through sm-ingest
# and sm-notify; the envelope sm-notify wrote is kept in $TEST_DIR/out.json.
result() { # F|R [SEVERITY]
	local state=firing
	[ "$1" = F ] || state=resolved
	am_payload DiskFull db-01 "$state" "${2:-warning}" | sm-ingest | sm-notify >"$TEST_DIR/out.json"
}

ingest_notify() { sm-ingest <"$1" | sm-notify; }

results() { # a string of F and R
	local s=$1 i
	for ((i = 0; i < ${#s}; i++)); do
		result "${s:i:1}"
	done
}

@test "flapping: one message when it starts, none while it flaps, one when it stops" {
	hook_channel
	# Four changes in five results: it starts flapping with the fifth.
	results FRFRF
	[ "$(events)" = "$(printf '%s\n' 'incident created' 'incident resolved' 'incident reopened' \
		'incident resolved' 'flapping started')" ]
	[ "$(json_get 'd["alerts"][0]["flapping"], d["alerts"][0]["flapping_change"]' <"$TEST_DIR/out.json")" = \
		'[true, "started"]' ]
	# While it flaps, neither its changes nor its repeats are sent.
	results RFRF
	[ "$(json_get 'd["alerts"][0]["flapping"], "flapping_change" in d["alerts"][0]' <"$TEST_DIR/out.json")" = \
		'[true, false]' ]
	[ "$(json_get 'd["notifications"][0]["status"], d["notifications"][0]["reason"]' <"$TEST_DIR/out.json")" = \
		'["skipped", "flapping"]' ]
	results FFFFFFFFFFFFFFFFFF
	[ "$(events | wc -l)" = 5 ]
	[ "$(sql "SELECT flapping FROM alerts")" = 1 ]
	# The 19th steady result after the last change: it stops.
	result F
	[ "$(sql "SELECT flapping FROM alerts")" = 0 ]
	[ "$(events | tail -n 2)" = "$(printf '%s\n' 'flapping started' 'flapping stopped')" ]
	[ "$(json_get 'd["alerts"][0]["flapping_change"], d["alerts"][0]["status"], d["notifications"][0]["status"]' \
		<"$TEST_DIR/out.json")" = '["stopped", "firing", "sent"]' ]
	# Then the usual rules again: an unchanged repeat within repeat_interval.
	result F
	[ "$(events | wc -l)" = 6 ]
	[ "$(json_get 'd["notifications"][0]["reason"]' <"$TEST_DIR/out.json")" = \
		'unchanged within repeat_interval' ]
	# Every envelope held back is a skipped row with its reason.
	[ "$(sql "SELECT count(*) FROM notification_deliveries WHERE status = 'skipped' AND reason = 'flapping'")" = 22 ]
	[ "$(sql "SELECT group_concat(reason, '|') FROM notification_deliveries WHERE status = 'sent'")" = \
		'incident created|incident resolved|incident reopened|incident resolved|flapping started|flapping stopped' ]
	[ "$(sql "SELECT change FROM alert_history WHERE change LIKE 'flapping%' ORDER BY id")" = \
		"$(printf 'flapping-started\nflapping-stopped')" ]
}

@test "flapping: it can stop resolved, and start again" {
	hook_channel
	results FRFRFRRRRRRRRRRRRRRRRRRRR
	[ "$(events | tail -n 2)" = "$(printf '%s\n' 'flapping started' 'flapping stopped')" ]
	[ "$(json_get 'd["alerts"][0]["status"], d["incident"]["status"]' <"$TEST_DIR/out.json")" = \
		'["resolved", "resolved"]' ]
	results FRFR
	[ "$(events | tail -n 1)" = 'flapping started' ]
}

@test "flapping: a quiet spell starts the window over (SM_FLAP_QUIET_S)" {
	hook_channel
	results FRFRFR
	[ "$(sql "SELECT flapping FROM alerts")" = 1 ]
	# Within the spell the window holds; past it, the next result stops it.
	export SM_FLAP_QUIET_S=600
	sql "UPDATE alerts SET flap_at = flap_at - 500"
	result F
	[ "$(sql "SELECT flapping FROM alerts")" = 1 ]
	sql "UPDATE alerts SET flap_at = flap_at - 700"
	result R
	[ "$(sql "SELECT flapping, flap_states FROM alerts")" = "$(printf '0\tR')" ]
	[ "$(events | tail -n 1)" = 'flapping stopped' ]
}

@test "flapping: the thresholds are settable; bad ones are a usage error that stores nothing" {
	hook_channel
	# 100% can never be exceeded: flap detection is off.
	SM_FLAP_START=100 results FRFRFRFR
	[ "$(events | wc -l)" = 8 ]
	[ "$(sql "SELECT flapping FROM alerts")" = 0 ]
	# A lower start threshold: FRF is 11.8% of changes.
	sql "DELETE FROM alerts"
	sql "DELETE FROM incidents"
	SM_FLAP_START=10 SM_FLAP_STOP=2 results FRF
	[ "$(events | tail -n 1)" = 'flapping started' ]
	for bad in "SM_FLAP_START=5 SM_FLAP_STOP=10" "SM_FLAP_START=101" "SM_FLAP_STOP=-1" \
		"SM_FLAP_START=lots" "SM_FLAP_QUIET_S=-5"; do
		before=$(sql "SELECT count(*) FROM alert_history")
		# shellcheck disable=SC2086 # $bad is several assignments
		run --separate-stderr env $bad sm-ingest <<<"$(am_payload Other db-02 firing)"
		[ "$status" -eq 64 ]
		[ "$output" = "" ]
		[[ "$stderr" == "sm-ingest: SM_FLAP_"* ]]
		[ "${#stderr_lines[@]}" -eq 1 ]
		[ "$(sql "SELECT count(*) FROM alert_history")" = "$before" ]
		[ "$(sql "SELECT count(*) FROM alerts WHERE name = 'Other'")" = 0 ]
	done
}

@test "acknowledged: no repeats until the severity rises" {
	hook_channel repeat_interval=0
	result F
	result F
	[ "$(events)" = "$(printf '%s\n' 'incident created' 'repeat_interval 0')" ]
	sm-ingest incident ack 1 >/dev/null
	# Repeats, and a second alert joining, are held back.
	result F
	[ "$(json_get 'd["incident"]["status"], d["notifications"][0]["status"], d["notifications"][0]["reason"]' \
		<"$TEST_DIR/out.json")" = '["acknowledged", "skipped", "acknowledged"]' ]
	printf '{"status":"firing","alerts":[{"status":"firing","labels":{"alertname":"DiskFull","instance":"db-01","mount":"/var"},"startsAt":"2026-11-22T01:00:00Z"}]}\n' |
		sm-ingest | sm-notify >"$TEST_DIR/out.json"
	[ "$(json_get 'd["alerts"][0]["change"], d["notifications"][0]["reason"]' <"$TEST_DIR/out.json")" = \
		'["created", "acknowledged"]' ]
	result F
	[ "$(events | wc -l)" = 2 ]
	[ "$(sql "SELECT count(*) FROM notification_deliveries WHERE status = 'skipped' AND reason = 'acknowledged'")" = 3 ]
	# The severity rises: sent, and the incident is open again, so its
	# repeats are sent too until someone acknowledges it anew.
	result F critical
	[ "$(json_get 'd["incident"]["status"], d["incident"]["severity"], d["notifications"][0]["reason"]' \
		<"$TEST_DIR/out.json")" = '["open", "critical", "severity rose"]' ]
	result F critical
	[ "$(events | tail -n 2)" = "$(printf '%s\n' 'severity rose' 'repeat_interval 0')" ]
	sm-ingest incident ack 1 >/dev/null
	result F critical
	[ "$(events | wc -l)" = 4 ]
}

@test "acknowledged: its resolution is sent" {
	hook_channel repeat_interval=0
	result F
	sm-ingest incident ack 1 >/dev/null
	result F
	result R
	[ "$(events)" = "$(printf '%s\n' 'incident created' 'incident resolved')" ]
	[ "$(sql "SELECT group_concat(status || ':' || reason, ' ') FROM notification_deliveries")" = \
		'sent:incident created skipped:acknowledged sent:incident resolved' ]
}

@test "flapping: the text message says so" {
	# No channel stored: the stdout driver writes text to stderr on a pipe.
	for s in firing resolved firing resolved; do
		am_payload DiskFull db-01 "$s" | sm-ingest | sm-notify >/dev/null 2>&1
	done
	am_payload DiskFull db-01 firing >"$TEST_DIR/firing.json"
	am_payload DiskFull db-01 resolved >"$TEST_DIR/resolved.json"
	run --separate-stderr ingest_notify "$TEST_DIR/firing.json"
	[ "$status" -eq 0 ]
	[[ "$stderr" == *"Event: flapping started"* ]]
	[[ "$stderr" == *"- DiskFull [firing, warning, flapping]"* ]]
	# While it flaps, nothing.
	run --separate-stderr ingest_notify "$TEST_DIR/resolved.json"
	[ "$status" -eq 0 ]
	[ "$stderr" = "" ]
}

@test "flapping: a group's steady alerts beside the flapping one do not make it news" {
	hook_channel
	# One Alertmanager group, two alerts of one incident: / flaps, /var fires on.
	group() { # STATE of /
		printf '{"receiver":"sm","status":"firing","groupKey":"{}:{alertname=\\"DiskFull\\"}","alerts":[%s,%s]}\n' \
			"{\"status\":\"$1\",\"labels\":{\"alertname\":\"DiskFull\",\"instance\":\"db-01\",\"mount\":\"/\"},\"startsAt\":\"2026-11-22T01:00:00Z\"}" \
			'{"status":"firing","labels":{"alertname":"DiskFull","instance":"db-01","mount":"/var"},"startsAt":"2026-11-22T01:00:00Z"}' |
			sm-ingest | sm-notify >"$TEST_DIR/out.json"
	}
	for s in firing resolved firing resolved firing; do group "$s"; done
	[ "$(events)" = "$(printf '%s\n' 'incident created' 'alert resolved' 'alert refired' \
		'alert resolved' 'flapping started')" ]
	group resolved
	group firing
	[ "$(events | wc -l)" = 5 ]
	[ "$(json_get '[a["flapping"] for a in d["alerts"]], d["notifications"][0]["reason"]' <"$TEST_DIR/out.json")" = \
		'[[true, false], "flapping"]' ]
}
