#!/usr/bin/env bats
# Eleven concurrent writers of every kind on one store: batch streams (one
# queueing), CGI requests, incident commands, sm-check --alerts. None
# fails, none says "database is locked", nothing is lost.

bats_require_minimum_version 1.5.0
load fault_helpers

setup() { setup_sm; }
teardown() { teardown_sm; }

# cgi_loop N TAG: N CGI requests, one new alert each.
cgi_loop() {
	for i in $(seq "$1"); do
		body=$(am_payload "Cgi$2_$i" "cgi-$2" firing)
		GATEWAY_INTERFACE=CGI/1.1 REQUEST_METHOD=POST CONTENT_TYPE=application/json \
			CONTENT_LENGTH=${#body} PATH_INFO=/alertmanager/ sm-ingest <<<"$body" | head -1
	done
}

# incident_loop N: ack, resolve and close incidents 1..20 in turn.
incident_loop() {
	local actions=(ack resolve close)
	for i in $(seq "$1"); do
		sm-ingest incident "${actions[i % 3]}" $((1 + (i * 7 + $2) % 20)) >/dev/null || echo "incident command failed"
	done
}

@test "eleven concurrent writers: no failure, no 'database is locked', nothing lost" {
	n=$((2000 * $(rounds 1)))
	for k in 1 2 3 4; do am_stream "$n" 100 | sed "s/Fault/W${k}_/g" >"$TEST_DIR/stream.$k"; done
	for k in $(seq 20); do am_payload "Seed$k" "seed-$k" firing; done | sm-ingest -d alertmanager >/dev/null
	host cli-warn
	pids=()
	for k in 1 2 3; do
		sm-ingest -d alertmanager "$TEST_DIR/stream.$k" >"$TEST_DIR/out.$k" 2>"$TEST_DIR/err.$k" 3>&- &
		pids+=($!)
	done
	sm-ingest --queue -d alertmanager "$TEST_DIR/stream.4" >"$TEST_DIR/out.4" 2>"$TEST_DIR/err.4" 3>&- &
	pids+=($!)
	for k in 5 6 7; do
		cgi_loop 40 "$k" >"$TEST_DIR/out.$k" 2>"$TEST_DIR/err.$k" 3>&- &
		pids+=($!)
	done
	for k in 8 9 10; do
		incident_loop 60 "$k" >"$TEST_DIR/out.$k" 2>"$TEST_DIR/err.$k" 3>&- &
		pids+=($!)
	done
	for _ in $(seq 10); do sm-check --alerts memory load >/dev/null; [ $? -le 3 ] || echo "sm-check failed"; done \
		>"$TEST_DIR/out.11" 2>"$TEST_DIR/err.11" 3>&- &
	pids+=($!)
	failed=0
	for pid in "${pids[@]}"; do wait "$pid" || failed=$((failed + 1)); done
	cat "$TEST_DIR"/err.* >&2
	[ "$failed" -eq 0 ]
	run grep -i "locked\|busy\|failed" "$TEST_DIR"/err.* "$TEST_DIR"/out.{8,9,10,11}
	[ "$status" -eq 1 ] || { echo "$output"; false; }
	# Every CGI request answered 202, every stream line printed.
	[ "$(cat "$TEST_DIR"/out.{5,6,7} | grep -c '^Status: 202')" -eq 120 ]
	for k in 1 2 3 4; do [ "$(wc -l <"$TEST_DIR/out.$k")" -eq "$n" ]; done
	# Nothing lost: each stream's alerts, each CGI alert, the queue.
	for k in 1 2 3 4; do
		SM_DB="$TEST_DIR/ref.$k.db" sm-ingest -d alertmanager "$TEST_DIR/stream.$k" >/dev/null
		[ "$(sql "SELECT count(*) FROM alerts WHERE name LIKE 'W${k}_%'")" = "$(SM_DB="$TEST_DIR/ref.$k.db" sql "SELECT count(*) FROM alerts")" ]
	done
	[ "$(sql "SELECT count(*) FROM alerts WHERE name LIKE 'Cgi%'")" = 120 ]
	[ "$(sql "SELECT count(*) FROM inbox")" -eq $((n + 120)) ]
	[ "$(sql "SELECT count(*) FROM alerts WHERE source = 'local'")" -ge 2 ]
	run store_consistent
	[ "$status" -eq 0 ] || { echo "$output"; false; }
}
