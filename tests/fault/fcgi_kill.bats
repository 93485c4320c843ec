#!/usr/bin/env bats
# The FastCGI responder killed (-9) under load: every request it answered
# 202 is stored, and the store is sound for the next responder.

bats_require_minimum_version 1.5.0
load fault_helpers

setup() { setup_sm; }
teardown() { teardown_sm; }

@test "the FastCGI responder killed under load: every 202 stored" {
	sm-ingest incidents >/dev/null # the store exists
	total=0
	for round in $(seq "$(rounds 3)"); do
		sock="$TEST_DIR/sock.$round"
		sm-ingest --fastcgi "$sock" 2>/dev/null 3>&- &
		pid=$!
		for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.05; done
		/usr/bin/python3 "$BATS_TEST_DIRNAME/fcgi_load.py" "$sock" 8 "$TEST_DIR/accepted.$round" 3>&- &
		load=$!
		# Killed once it has answered some, at a random moment after.
		for _ in $(seq 200); do
			[ "$(sql "SELECT count(*) FROM alerts WHERE name LIKE 'Load%'")" -gt "$total" ] && break
			sleep 0.05
		done
		sleep "0.$((RANDOM % 5))$((RANDOM % 10))"
		kill -9 "$pid"
		wait "$pid" || true
		wait "$load"
		n=$(wc -l <"$TEST_DIR/accepted.$round")
		[ "$n" -gt 0 ] || { echo "round $round: nothing answered"; false; }
		missing=$(/usr/bin/python3 - "$SM_DB" "$TEST_DIR/accepted.$round" <<'PY'
import sqlite3, sys
stored = {r[0] for r in sqlite3.connect(sys.argv[1]).execute("SELECT name FROM alerts")}
print(" ".join(n for n in open(sys.argv[2]).read().split() if n not in stored))
PY
)
		[ -z "$missing" ] || { echo "round $round: answered 202, not stored: $missing"; false; }
		total=$(sql "SELECT count(*) FROM alerts WHERE name LIKE 'Load%'")
		run store_consistent
		[ "$status" -eq 0 ] || { echo "round $round: $output"; false; }
	done
}
