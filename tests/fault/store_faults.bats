#!/usr/bin/env bats
# Stores that cannot be written or read as ours: a full disk (a file size
# limit, and a small file system when it can be mounted), a read-only
# store, a store from a newer sm, a file that is not SQLite. Each is one
# clear line, the documented exit status (1: the store cannot be opened or
# written; a CGI request is answered 500), and the file is unchanged.

# shellcheck disable=SC2154 # bats sets $output, $status and $stderr
bats_require_minimum_version 1.5.0
load fault_helpers

setup() { setup_sm; }
teardown() {
	[ -n "${MOUNTED:-}" ] && umount "$MOUNTED"
	teardown_sm
}

sum() { sha256sum <"$SM_DB"; }

# The store's writers all fail with one line and exit 1, the file unchanged.
writers_refused() { # EXPECTED-MESSAGE-PART
	local before
	before=$(sum)
	run --separate-stderr sm-ingest -d alertmanager <<<"$(am_payload Refused x firing)"
	[ "$status" -eq 1 ] || { echo "ingest: $status $stderr"; return 1; }
	[ -z "$output" ] || { echo "ingest printed: $output"; return 1; }
	if [ "$(echo "$stderr" | wc -l)" -ne 1 ] || [[ "$stderr" != "sm-ingest: "*"$1"* ]]; then
		echo "ingest: $stderr"
		return 1
	fi
	run --separate-stderr sm-ingest incident ack 1
	if [ "$status" -ne 1 ] || [[ "$stderr" != "sm-ingest: "*"$1"* ]]; then
		echo "ack: $status $stderr"
		return 1
	fi
	body=$(am_payload Refused x firing)
	run --separate-stderr env GATEWAY_INTERFACE=CGI/1.1 REQUEST_METHOD=POST CONTENT_TYPE=application/json \
		CONTENT_LENGTH=${#body} PATH_INFO=/alertmanager/ sm-ingest <<<"$body"
	[[ "${lines[0]}" == "Status: 500 Internal Server Error"* ]] || { echo "cgi: $output"; return 1; }
	[ "$(sum)" = "$before" ] || { echo "the file changed"; return 1; }
}

@test "a full disk (file size limit): exit 1 naming the payload, nothing half-written" {
	am_payload Before x firing | sm-ingest >/dev/null
	am_stream 3000 300 >"$TEST_DIR/stream"
	before=$(sum)
	# shellcheck disable=SC2016 # bash -c's own $1
	run --separate-stderr bash -c 'trap "" XFSZ; ulimit -f 400; exec sm-ingest -d alertmanager "$1"' _ "$TEST_DIR/stream"
	[ "$status" -eq 1 ]
	[[ "$stderr" == "sm-ingest: $TEST_DIR/stream: payload "*": cannot store: $SM_DB: "*"not stored)" ]]
	[ -z "$output" ]
	[ "$(sum)" = "$before" ]
	[ "$(sql "SELECT group_concat(name) FROM alerts")" = Before ]
	run store_consistent
	[ "$status" -eq 0 ] || { echo "$output"; false; }
}

@test "a full file system: exit 1 'database or disk is full', the store as it was" {
	[ "$(id -u)" -eq 0 ] || skip "mounting a small file system needs root"
	mkdir "$TEST_DIR/small"
	mount -t tmpfs -o size=400k tmpfs "$TEST_DIR/small" 2>/dev/null || skip "cannot mount tmpfs here"
	MOUNTED="$TEST_DIR/small"
	export SM_DB="$TEST_DIR/small/sm.db"
	am_payload Before x firing | sm-ingest >/dev/null
	am_stream 3000 300 >"$TEST_DIR/stream"
	before=$(sum)
	run --separate-stderr sm-ingest -d alertmanager "$TEST_DIR/stream"
	[ "$status" -eq 1 ]
	[[ "$stderr" == "sm-ingest: $TEST_DIR/stream: payload "*": cannot store: $SM_DB: database or disk is full ("*" payload(s) since the last commit not stored)" ]]
	[ -z "$output" ]
	[ "$(sum)" = "$before" ]
	run sm-ingest alerts --json
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 1 ]
	run store_consistent
	[ "$status" -eq 0 ] || { echo "$output"; false; }
}

@test "a read-only store: listed; writes exit 1 'Permission denied', the file unchanged" {
	command -v setpriv >/dev/null || skip "setpriv is not installed"
	[ "$(id -u)" -eq 0 ] || skip "needs root to become another user"
	mkdir "$TEST_DIR/ro"
	export SM_DB="$TEST_DIR/ro/sm.db"
	am_payload Kept x firing | sm-ingest >/dev/null
	chmod 755 "$TEST_DIR"
	# The store is three files (sm(7) STORE): a reader needs all of them.
	chmod 444 "$SM_DB" "$SM_DB-wal" "$SM_DB-shm"
	chmod 555 "$TEST_DIR/ro"
	nobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"; }
	run --separate-stderr nobody sm-ingest incidents --json
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 1 ]
	before=$(sum)
	run --separate-stderr nobody sm-ingest -d alertmanager <<<"$(am_payload Refused x firing)"
	[ "$status" -eq 1 ]
	[ "$stderr" = "sm-ingest: $SM_DB: Permission denied" ]
	run --separate-stderr nobody sm-push-hub --spool
	[ "$status" -eq 1 ]
	[ "$(sum)" = "$before" ]
	chmod 755 "$TEST_DIR/ro"
}

@test "a store from a newer sm: every tool refuses it, listings too; the file unchanged" {
	am_payload Kept x firing | sm-ingest >/dev/null
	sql "PRAGMA user_version = 99"
	writers_refused "schema version 99 is newer than this sm"
	run --separate-stderr sm-ingest alerts
	[ "$status" -eq 1 ]
	[[ "$stderr" == "sm-ingest: $SM_DB: schema version 99 is newer than this sm ("*")" ]]
}

@test "a file that is not SQLite: exit 1 naming it, the file unchanged" {
	head -c 65536 /dev/urandom >"$SM_DB"
	writers_refused "$SM_DB: "
	run --separate-stderr sm-ingest alerts
	[ "$status" -eq 1 ]
	[[ "$stderr" == "sm-ingest: $SM_DB: "*"not a database"* ]]
	printf 'plain text, not a store\n' >"$SM_DB"
	writers_refused "$SM_DB: "
}
