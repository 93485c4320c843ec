#!/usr/bin/env bats
# kill -9 at random points of a batch ingest: the store stays sound, every
# alert printed before the kill is stored, alerts, incidents and history
# agree, and the same input run again completes.

bats_require_minimum_version 1.5.0
load fault_helpers

setup() { setup_sm; }
teardown() { teardown_sm; }

@test "kill -9 mid-batch, at random points: sound store, every printed alert stored" {
	am_stream 20000 400 >"$TEST_DIR/stream"
	for round in $(seq "$(rounds 6)"); do
		sm-ingest -d alertmanager "$TEST_DIR/stream" >"$TEST_DIR/out.$round" 2>/dev/null 3>&- &
		pid=$!
		# Odd rounds: 0 to 0.7 s in (before the store opens, in the first
		# transaction, in its commit); even rounds: soon after a first
		# commit was acknowledged, so printed alerts are there to check.
		if [ $((round % 2)) -eq 0 ]; then
			for _ in $(seq 600); do [ -s "$TEST_DIR/out.$round" ] && break; sleep 0.05; done
			sleep "0.0$((RANDOM % 10))"
		else
			sleep "0.$((RANDOM % 7))$((RANDOM % 10))"
		fi
		kill -9 "$pid" 2>/dev/null || true
		wait "$pid" || true
		run printed_stored "$TEST_DIR/out.$round"
		[ "$status" -eq 0 ] || { echo "round $round: printed but not stored (seen, missing): $output"; false; }
		run store_consistent
		[ "$status" -eq 0 ] || { echo "round $round: $output"; false; }
	done
	# The whole input once more, to the end: all of it is there.
	run --separate-stderr sm-ingest -d alertmanager "$TEST_DIR/stream"
	[ "$status" -eq 0 ]
	# As many alerts as the same input stored into a fresh store.
	SM_DB="$TEST_DIR/reference.db" sm-ingest -d alertmanager "$TEST_DIR/stream" >/dev/null
	[ "$(sql "SELECT count(*) FROM alerts")" = "$(SM_DB="$TEST_DIR/reference.db" sql "SELECT count(*) FROM alerts")" ]
	run store_consistent
	[ "$status" -eq 0 ] || { echo "$output"; false; }
}
