#!/usr/bin/env bats
# sm-ingest end to end: streams, store rules through the binary, dry runs,
# listings, incident management, and hostile input.

# shellcheck disable=SC2154 # bats sets $output, $status and $stderr
bats_require_minimum_version 1.5.0
load helpers

setup() { setup_sm; }
teardown() { teardown_sm; }

count() { sql "SELECT count(*) FROM $1"; }

@test "--help, --version, --list-drivers" {
	run sm-ingest --help
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == "usage: sm-ingest"* ]]
	run sm-ingest --version
	[[ "$output" == "sm-ingest 0.1.0 (jansson "* ]]
	run sm-ingest --list-drivers
	[ "$status" -eq 0 ]
	names=$(printf '%s\n' "${lines[@]}" | awk '{print $1}' | sort | tr '\n' ' ')
	[ "$names" = "alertmanager cluster datadog generic grafana newrelic opsgenie pagerduty zabbix " ]
	[[ "$output" == *"cluster"*"[disabled]"* ]]
	CLUSTER_ENABLED=1 run sm-ingest --list-drivers --json
	[ "$(printf '%s\n' "${lines[@]}" | grep '"cluster"' | json_get 'd["enabled"], d["signature_header"]')" = '[true, "X-Cluster-Signature"]' ]
}

@test "usage errors exit 64 with one line" {
	for args in "-d nope" "--bogus" "--limit x alerts" "incident explode 1" "incident ack x" \
		"alerts --status weird" "a b"; do
		# shellcheck disable=SC2086
		run sm-ingest $args </dev/null
		[ "$status" -eq 64 ] || { echo "$args -> $status: $output"; false; }
		[ "${#lines[@]}" -eq 1 ]
	done
	run sm-ingest -d nope
	[[ "$output" == "sm-ingest: unknown driver 'nope' (available: grafana, alertmanager,"* ]]
}

@test "a stream: one envelope per incident touched, stored once, acknowledged after commit" {
	{
		am_payload DiskFull db-01 firing
		am_payload DiskFull db-01 firing # a repeat: NDJSON
		printf '%s' "$(am_payload HighLoad web-01 firing critical)" # concatenated, no newline
		am_payload HighLoad web-02 firing
	} >"$TEST_DIR/stream"
	run sm-ingest -d alertmanager "$TEST_DIR/stream"
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 4 ]
	[ "$(echo "${lines[0]}" | json_get 'd["incident"]["title"], d["incident"]["change"], d["alerts"][0]["change"]')" = '["DiskFull on db-01", "created", "created"]' ]
	[ "$(echo "${lines[1]}" | json_get 'd["alerts"][0]["change"]')" = unchanged ]
	[ "$(count alerts)" = 3 ]
	[ "$(count incidents)" = 3 ]
	[ "$(sql "SELECT count(DISTINCT trace_id) FROM alert_history")" = 3 ]
	[ "$(count inbox)" = 0 ]
	# --queue also queues each envelope.
	queued=$(am_payload DiskFull db-01 resolved | sm-ingest --queue)
	[ "$(sql "SELECT count(*), max(state) FROM inbox")" = "1	pending" ]
	[ "$(sql "SELECT envelope FROM inbox")" = "$queued" ] # the very envelope printed
	[ "$(sql "SELECT trace_id FROM inbox")" = "$(echo "$queued" | json_get 'd["trace_id"]')" ]
	[ "$(sql "SELECT status FROM incidents WHERE title = 'DiskFull on db-01'")" = resolved ]
}

@test "listings and incident management" {
	am_payload DiskFull db-01 firing | sm-ingest >/dev/null
	am_payload Backup nas firing info | sm-ingest >/dev/null
	run sm-ingest incidents
	[ "${#lines[@]}" -eq 2 ]
	[ "$(echo "${lines[0]}" | json_get 'd["title"], d["status"]')" = '["Backup on nas", "open"]' ]
	run sm-ingest alerts --status firing --limit 1
	[ "${#lines[@]}" -eq 1 ]
	# Stored labels and annotations come back as JSON objects, not text.
	[ "$(echo "${lines[0]}" | json_get 'd["labels"]["instance"], d["annotations"]["summary"]')" = '["nas", "Backup on nas"]' ]
	id=$(sm-ingest incidents --limit 1 | json_get 'd["id"]')
	run sm-ingest incident ack "$id"
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | json_get 'd["status"], d["change"]')" = '["acknowledged", "ack"]' ]
	run sm-ingest incident ack "$id"
	[ "$(echo "$output" | json_get 'd["change"]')" = unchanged ]
	run sm-ingest incident close "$id"
	[ "$(echo "$output" | json_get 'd["status"]')" = closed ]
	run sm-ingest incident resolve 4242
	[ "$status" -eq 64 ]
	[ "$output" = "sm-ingest: no incident 4242" ]
	run sm-ingest incidents --status closed
	[ "${#lines[@]}" -eq 1 ]
	run script -qec "$SM_BIN/sm-ingest incidents" /dev/null
	[[ "$output" == *"ID"*"SEVERITY"*"STATUS"*"UPDATED"*"TITLE"* ]]
}

@test "--dry-run prints one envelope per payload and stores nothing" {
	{ am_payload A x firing; am_payload B y firing; } >"$TEST_DIR/two"
	SM_DB=/proc/sm-no-store/sm.db run sm-ingest --dry-run "$TEST_DIR/two"
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 2 ]
	[ "$(echo "${lines[0]}" | json_get 'd["driver"], d["incident"], d["alerts"][0]["name"]')" = '["alertmanager", null, "A"]' ]
}

@test "hostile input: exit 65 with a message, nothing stored, the store intact" {
	am_payload Keep x firing | sm-ingest >/dev/null
	before=$(count alerts)
	printf '{"receiver":"x","status":"firing","alerts":[' >"$TEST_DIR/truncated"
	head -c 4096 /dev/urandom >"$TEST_DIR/random"
	/usr/bin/python3 -c 'print("[" * 200000 + "]" * 200000)' >"$TEST_DIR/deep"
	/usr/bin/python3 -c 'print("{\"a\":" * 200000 + "1" + "}" * 200000)' >"$TEST_DIR/deep-object"
	printf '{"name":"bad \xff utf8"}\n' >"$TEST_DIR/utf8"
	printf '[1,2,3]\n' >"$TEST_DIR/array"
	printf 'null\n' >"$TEST_DIR/null"
	printf '{"a":1,"a":2}\n' >"$TEST_DIR/dupes"
	for f in truncated random deep deep-object utf8 array null dupes; do
		run --separate-stderr sm-ingest "$TEST_DIR/$f"
		[ "$status" -eq 65 ] || { echo "$f -> $status: $stderr"; false; }
		[ -z "$output" ]
		[ "$(echo "$stderr" | wc -l)" -eq 1 ]
		[[ "$stderr" == "sm-ingest: $TEST_DIR/$f: payload 1"* ]]
	done
	# A driver that cannot read the payload, and nulls where objects belong.
	for p in '{"alerts":null,"status":"firing","receiver":"x"}' '{"event":null}' '{"labels":null}' '{}'; do
		run sm-ingest -d alertmanager <<<"$p"
		[ "$status" -eq 65 ] || { echo "$p -> $status"; false; }
	done
	[ "$(count alerts)" = "$before" ]
	[ "$(sql 'PRAGMA integrity_check')" = ok ]
	# An oversize payload is refused by SM_MAX_BODY.
	SM_MAX_BODY=64 run sm-ingest <<<"$(am_payload Big x firing)"
	[ "$status" -eq 65 ]
	[[ "$output" == *"larger than 64 bytes"* ]]
}

@test "a bad payload in a stream: the good ones are stored, exit 65" {
	{ am_payload One x firing; echo '{"receiver": 1, "status": "firing", "alerts": "no"}'; am_payload Two y firing; } >"$TEST_DIR/mixed"
	run --separate-stderr sm-ingest -d alertmanager "$TEST_DIR/mixed"
	[ "$status" -eq 65 ]
	[ "${#lines[@]}" -eq 2 ]
	[[ "$stderr" == *"payload 2"* ]]
	[ "$(count alerts)" = 2 ]
}

@test "a slow producer: each payload is stored and printed as soon as it arrives" {
	mkfifo "$TEST_DIR/in"
	# (fd 3 is bats's own: the writer gets another one)
	sm-ingest -d alertmanager <"$TEST_DIR/in" >"$TEST_DIR/out" 3>&- &
	pid=$!
	exec 7>"$TEST_DIR/in"
	lines_out() { wc -l <"$TEST_DIR/out"; }
	am_payload One a firing >&7
	for _ in $(seq 100); do [ "$(lines_out)" -ge 1 ] && break; sleep 0.05; done
	[ "$(lines_out)" -eq 1 ] # printed while the input is still open
	[ "$(count alerts)" = 1 ] # and committed: another connection sees it
	am_payload Two b firing >&7
	for _ in $(seq 100); do [ "$(lines_out)" -ge 2 ] && break; sleep 0.05; done
	[ "$(lines_out)" -eq 2 ]
	[ "$(count alerts)" = 2 ]
	exec 7>&-
	wait "$pid"
}

@test "a store failure mid-stream: the open transaction is rolled back, nothing acknowledged, exit 1" {
	am_payload Before x firing | sm-ingest >/dev/null # committed before the failing run
	sql "CREATE TRIGGER boom BEFORE INSERT ON alerts WHEN NEW.name = 'Boom' BEGIN SELECT RAISE(ABORT, 'boom'); END"
	{ am_payload One x firing; am_payload Boom y firing; am_payload Two z firing; } >"$TEST_DIR/stream"
	run --separate-stderr sm-ingest -d alertmanager "$TEST_DIR/stream"
	[ "$status" -eq 1 ]
	[ "${#lines[@]}" -eq 0 ] # nothing printed: nothing of it was committed
	[ "$stderr" = "sm-ingest: $TEST_DIR/stream: payload 2: cannot store: $SM_DB: boom (2 payload(s) since the last commit not stored)" ]
	[ "$(sql "SELECT group_concat(name) FROM alerts")" = Before ]
	[ "$(count incidents)" = 1 ]
	[ "$(count alert_history)" = 1 ]
	# The same input once the cause is gone: everything stored.
	sql "DROP TRIGGER boom"
	run sm-ingest -d alertmanager "$TEST_DIR/stream"
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 3 ]
	[ "$(count alerts)" = 4 ]
}

@test "sm-check --alerts: results become local alerts; OK resolves" {
	host cli-warn
	run sm-check --alerts memory load
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 2 ]
	[ "$(echo "${lines[0]}" | json_get 'd["incident"]["title"], d["alerts"][0]["fingerprint"], d["alerts"][0]["change"], d["checks"][0]["checker"]')" = '["memory on cli-warn", "memory-cli-warn", "created", "memory"]' ]
	[ "$(sql "SELECT source, status FROM alerts ORDER BY id" | tr '\n' ' ')" = "local	firing local	firing " ]
	run sm-check --alerts memory load
	[ "$(echo "${lines[0]}" | json_get 'd["alerts"][0]["change"]')" = unchanged ]
	# The same host recovers: memory back to 50 %, load still high.
	cp -r "$SM_FIXTURES/hosts/cli-warn" "$TEST_DIR/host"
	cp "$SM_FIXTURES/hosts/cli-ok/proc/meminfo" "$TEST_DIR/host/proc/meminfo"
	SM_HOST_ROOT="$TEST_DIR/host" run sm-check --alerts memory load
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 2 ]
	[ "$(echo "${lines[0]}" | json_get 'd["incident"]["status"], d["incident"]["change"], d["alerts"][0]["change"]')" = '["resolved", "resolved", "resolved"]' ]
	[ "$(echo "${lines[1]}" | json_get 'd["alerts"][0]["change"]')" = unchanged ]
	# Fine again: the resolved alert and its incident are unchanged.
	SM_HOST_ROOT="$TEST_DIR/host" run sm-check --alerts memory
	[ "$(echo "$output" | json_get 'd["incident"]["change"], d["alerts"][0]["change"], d["checks"][0]["status"]')" = '["unchanged", "unchanged", "ok"]' ]
	# A checker that never fired and is fine: nothing stored, the check envelope.
	SM_HOST_ROOT="$TEST_DIR/host" run sm-check --alerts swap
	[ "$(echo "$output" | json_get 'd["incident"], d["alerts"], d["checks"][0]["checker"]')" = '[null, [], "swap"]' ]
	[ "$(sql 'SELECT count(*) FROM check_runs')" = 8 ]
	[ "$(sql "SELECT count(*) FROM alerts WHERE name = 'swap'")" = 0 ]
	run sm-check --alerts - memory </dev/null
	[ "$status" -eq 64 ]
}

@test "an unreadable FILE: exit 1 naming it" {
	run sm-ingest "$TEST_DIR/missing.json"
	[ "$status" -eq 1 ]
	[ "$output" = "sm-ingest: $TEST_DIR/missing.json: No such file or directory" ]
}

@test "cluster pushes need CLUSTER_ENABLED=1; an sm envelope keeps its trace id" {
	push='{"source":"cluster","instance_id":"web-01","hostname":"web","version":"1.0","alerts":[{"name":"cpu: high","fingerprint":"cpu-web-01","status":"firing","severity":"critical","labels":{"checker":"cpu"}}]}'
	run sm-ingest <<<"$push"
	[ "$status" -eq 65 ]
	[[ "$output" == *"a cluster push, but this host is not a hub (set CLUSTER_ENABLED=1)" ]]
	run sm-ingest -d cluster <<<"$push"
	[ "$status" -eq 64 ]
	CLUSTER_ENABLED=1 run sm-ingest <<<"$push"
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | json_get 'd["source"], d["agent"]["instance_id"], d["incident"]["title"]')" = '["cluster", "web-01", "cpu: high on web-01"]' ]
	[ "$(count alerts)" = 1 ]
	# sm-check's envelope through the local driver keeps its trace.
	host cli-warn
	env=$(sm-check --json memory)
	trace=$(echo "$env" | json_get 'd["trace_id"]')
	run sm-ingest -d local <<<"$env"
	[ "$(echo "$output" | json_get 'd["trace_id"], d["alerts"][0]["fingerprint"]')" = "[\"$trace\", \"memory-cli-warn\"]" ]
	run sm-ingest alerts --status open
	[ "$status" -eq 64 ]
	[ "$output" = "sm-ingest: --status: alerts have no status 'open'" ]
}

@test "CGI without a web server: a short body or no Content-Length is 400, nothing stored" {
	cgi() { # LENGTH BODY
		env GATEWAY_INTERFACE=CGI/1.1 REQUEST_METHOD=POST CONTENT_TYPE=application/json \
			CONTENT_LENGTH="$1" PATH_INFO=/alertmanager/ sm-ingest <<<"$2"
	}
	run --separate-stderr cgi 1000 '{"a":1}'
	[[ "${lines[0]}" == "Status: 400 Bad Request"* ]]
	[[ "$output" == *'"message":"body shorter than Content-Length"'* ]]
	run --separate-stderr cgi "" '{"a":1}'
	[[ "${lines[0]}" == "Status: 400 Bad Request"* ]]
	run --separate-stderr cgi -5 '{"a":1}'
	[[ "${lines[0]}" == "Status: 400 Bad Request"* ]]
	body=$(am_payload Direct x firing)
	run --separate-stderr cgi "${#body}" "$body"
	[[ "${lines[0]}" == "Status: 202 Accepted"* ]]
	[ "$(count alerts)" = 1 ]
	[ "$(count inbox)" = 1 ]
}

# --- issue 12: no silent loss, listings that say when they fail ---------------

@test "a read error is no end of input: a directory, a closed stdin exit 65 'read error'" {
	run --separate-stderr sm-ingest "$TEST_DIR"
	[ "$status" -eq 65 ]
	[ "$stderr" = "sm-ingest: $TEST_DIR: read error: Is a directory" ]
	# (in a shell of its own: bats's run would put its output pipe in the gap)
	run --separate-stderr bash -c 'exec sm-ingest -d alertmanager <&-'
	[ "$status" -eq 65 ]
	[ "$stderr" = "sm-ingest: stdin: read error: Bad file descriptor" ]
	[ "$(count alerts)" = 0 ]
}

@test "a non-blocking stdin pipe: every payload stored, exit 0" {
	run /usr/bin/python3 - "$SM_BIN/sm-ingest" <<'PY'
import fcntl, os, subprocess, sys, time
r, w = os.pipe()
fcntl.fcntl(r, fcntl.F_SETFL, fcntl.fcntl(r, fcntl.F_GETFL) | os.O_NONBLOCK)
p = subprocess.Popen([sys.argv[1], "-d", "generic"], stdin=r, stdout=subprocess.PIPE)
os.close(r)
for i in range(3):
    os.write(w, b'{"title":"slow %d","status":"firing"}\n' % i)
    time.sleep(0.2)
os.close(w)
out, _ = p.communicate()
print(p.returncode, out.count(b"\n"))
PY
	[ "$output" = "0 3" ]
	[ "$(count alerts)" = 3 ]
}

@test "listings check their writes: a full disk or a closed stdout exit 1 'write error'" {
	am_payload One x firing | sm-ingest >/dev/null
	for what in alerts incidents "incidents --json" --list-drivers; do
		run --separate-stderr bash -c "exec sm-ingest $what >/dev/full"
		[ "$status" -eq 1 ] || { echo "$what >/dev/full -> $status"; false; }
		[ "$stderr" = "sm-ingest: write error: No space left on device" ]
		run --separate-stderr bash -c "exec sm-ingest $what >&-"
		[ "$status" -eq 1 ] || { echo "$what >&- -> $status"; false; }
		[[ "$stderr" == "sm-ingest: write error: "* ]]
	done
	run --separate-stderr bash -c "exec sm-ingest incident ack 1 >/dev/full"
	[ "$status" -eq 1 ]
}

@test "--limit '' is a usage error, not 0" {
	run --separate-stderr sm-ingest alerts --limit ''
	[ "$status" -eq 64 ]
	[ "$stderr" = "sm-ingest: --limit: expected a whole number >= 0" ]
}

@test "a read-only store can be listed, by a user who cannot write it or its directory" {
	command -v setpriv >/dev/null || skip "setpriv is not installed"
	[ "$(id -u)" -eq 0 ] || skip "needs root to become another user"
	mkdir "$TEST_DIR/ro"
	export SM_DB="$TEST_DIR/ro/sm.db"
	am_payload One x firing | sm-ingest >/dev/null
	chmod 755 "$TEST_DIR"
	# The store is three files (sm(7) STORE): a reader needs all of them.
	chmod 444 "$SM_DB" "$SM_DB-wal" "$SM_DB-shm"
	chmod 555 "$TEST_DIR/ro"
	sum=$(sha256sum <"$SM_DB")
	as_nobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"; }
	run --separate-stderr as_nobody sm-ingest alerts --json
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | json_get 'd["name"]')" = One ]
	run --separate-stderr as_nobody sm-ingest incident ack 1
	[ "$status" -eq 1 ]
	[ "$stderr" = "sm-ingest: $SM_DB: Permission denied" ]
	[ "$(sha256sum <"$SM_DB")" = "$sum" ]
	chmod 755 "$TEST_DIR/ro"
}

# hold_lock SECONDS COMMIT|ROLLBACK: another process holds the store's write
# lock for SECONDS (in the background; the test's wait ends with it), then
# ends its transaction so.
hold_lock() {
	/usr/bin/python3 - "$SM_DB" "$TEST_DIR/locked" "$1" "$2" <<'PY' &
import sqlite3, sys, time
c = sqlite3.connect(sys.argv[1], isolation_level=None)
c.execute("BEGIN IMMEDIATE")
c.execute("UPDATE incidents SET updated_at = updated_at")
open(sys.argv[2], "w").close()
time.sleep(float(sys.argv[3]))
c.execute(sys.argv[4])
PY
	for _ in $(seq 100); do [ -e "$TEST_DIR/locked" ] && break; sleep 0.05; done
}

@test "incident ack waits for another writer instead of failing 'database is locked'" {
	am_payload One x firing | sm-ingest >/dev/null
	# Another process holds the write lock for a moment (as a streaming
	# ingest does between its commits).
	hold_lock 1.5 COMMIT
	run --separate-stderr sm-ingest incident ack 1
	wait
	[ "$status" -eq 0 ] || { echo "$stderr"; false; }
	[ "$(sql "SELECT status FROM incidents WHERE id = 1")" = acknowledged ]
}

@test "a writer waiting for the lock tries again every 10 us for 2 ms, then at doubling naps up to 1.28 ms" {
	need_peer "strace is not installed" command -v strace
	am_payload One x firing | sm-ingest >/dev/null
	hold_lock 1 COMMIT
	# (LeakSanitizer cannot run under ptrace: off for the traced process.)
	ASAN_OPTIONS="${ASAN_OPTIONS:-}:detect_leaks=0" \
		strace -qq -e trace=clock_nanosleep,nanosleep -o "$TEST_DIR/trace" sm-ingest incident ack 1
	wait
	[ "$(sql "SELECT status FROM incidents WHERE id = 1")" = acknowledged ]
	# The naps in nanoseconds, in order: 200 of 10 us, then 20, 40, ... 1280
	# us, which stays.
	naps=$(grep -o 'tv_nsec=[0-9]*' "$TEST_DIR/trace" | cut -d= -f2 | uniq -c | awk '{print $2 "x" $1}')
	[ "$(echo "$naps" | head -7 | tr '\n' ' ')" = \
		"10000x200 20000x1 40000x1 80000x1 160000x1 320000x1 640000x1 " ] || { echo "$naps"; false; }
	[ "$(echo "$naps" | wc -l)" = 8 ]
	[[ "$(echo "$naps" | tail -1)" == 1280000x* ]]
}

@test "error texts: a driver's refusal names the line; a transaction that cannot begin counts its payload" {
	{ am_payload One x firing; echo '{"receiver": 1, "status": "firing", "alerts": "no"}'; } >"$TEST_DIR/mixed"
	run --separate-stderr sm-ingest -d alertmanager "$TEST_DIR/mixed"
	[ "$status" -eq 65 ]
	[[ "$stderr" == "sm-ingest: $TEST_DIR/mixed: payload 2 (line 2): "* ]]
	# The write lock held past the busy timeout (10 s): payload 1 is the one
	# not stored.
	hold_lock 12 ROLLBACK
	run --separate-stderr sm-ingest -d alertmanager <<<"$(am_payload Two y firing)"
	wait
	[ "$status" -eq 1 ]
	[ "$stderr" = "sm-ingest: stdin: payload 1: cannot store: $SM_DB: database is locked (1 payload(s) since the last commit not stored)" ]
}

@test "a full disk at the commit names the payload and the count not stored" {
	/usr/bin/python3 -c 'import json
for i in range(3000): print(json.dumps({"title": "t%d %s" % (i, "x" * 300), "status": "firing"}))' >"$TEST_DIR/big"
	sm-ingest incidents >/dev/null # the store exists, at its size
	# A file size limit stands in for a full disk (SIGXFSZ ignored: write fails).
	# shellcheck disable=SC2016 # bash -c's own $1
	run --separate-stderr bash -c 'trap "" XFSZ; ulimit -f 300; exec sm-ingest -d generic "$1"' _ "$TEST_DIR/big"
	[ "$status" -eq 1 ]
	[ -z "$output" ]
	[[ "$stderr" == "sm-ingest: $TEST_DIR/big: payload 3000: cannot store: $SM_DB: "*" (3000 payload(s) since the last commit not stored)" ]]
	[ "$(count alerts)" = 0 ]
	[ "$(sql 'PRAGMA integrity_check')" = ok ]
}

@test "CGI: a body that stops coming is answered 408 after SM_READ_TIMEOUT, nothing stored" {
	body=$(am_payload Stalled x firing)
	sm-ingest incidents >/dev/null # the store exists
	# The web server's pipe stays open with half the body in it.
	# shellcheck disable=SC2016 # bash -c's own $1
	run --separate-stderr bash -c '{ printf "%s" "${1:0:40}"; sleep 5; } |
		SM_READ_TIMEOUT=0.5 GATEWAY_INTERFACE=CGI/1.1 REQUEST_METHOD=POST \
		CONTENT_TYPE=application/json CONTENT_LENGTH=${#1} PATH_INFO=/alertmanager/ sm-ingest' _ "$body"
	[[ "${lines[0]}" == "Status: 408 Request Timeout"* ]]
	[[ "$output" == *'"message":"body not received in time (SM_READ_TIMEOUT)"'* ]]
	[ "$(count alerts)" = 0 ]
	# A bad SM_READ_TIMEOUT is a misconfigured server: 500.
	run --separate-stderr bash -c 'SM_READ_TIMEOUT=soon GATEWAY_INTERFACE=CGI/1.1 REQUEST_METHOD=POST \
		CONTENT_LENGTH=2 sm-ingest <<<"{}"'
	[[ "${lines[0]}" == "Status: 500 Internal Server Error"* ]]
}

@test "an incident's title names the instance once: 'Disk full on db-01', not '... on db-01 on db-01'" {
	am_payload "Disk full on db-01" db-01 firing | sm-ingest >/dev/null
	am_payload DiskSpaceLow db-01 firing | sm-ingest >/dev/null
	am_payload "db-01a down" db-01 firing | sm-ingest >/dev/null
	[ "$(sql 'SELECT title FROM incidents ORDER BY id')" = "Disk full on db-01
DiskSpaceLow on db-01
db-01a down on db-01" ]
}

# cgi_request MODE: one webhook to sm-ingest run as a CGI program under
# strace, its fsync/fdatasync calls, the queue's wake-up (utimensat) and
# its opens in $TEST_DIR/syncs.MODE; prints the status line.
cgi_request() {
	local body
	body=$(am_payload "Sync$1" db-01 firing)
	printf %s "$body" | env SM_STORE_SYNC="$1" GATEWAY_INTERFACE=CGI/1.1 REQUEST_METHOD=POST \
		SCRIPT_NAME=/alerts/webhook PATH_INFO=/alertmanager/ CONTENT_TYPE=application/json \
		CONTENT_LENGTH=${#body} strace -f -qq -e trace=fsync,fdatasync,utimensat,openat \
		-o "$TEST_DIR/syncs.$1" "$SM_BIN/sm-ingest" | head -1
}

@test "the webhook's 202 waits for the disk, unless SM_STORE_SYNC=normal" {
	need_peer "strace is not installed" command -v strace
	cgi_request first >/dev/null # the store made and migrated
	[[ "$(cgi_request full)" == "Status: 202 Accepted"* ]]
	[ "$(grep -cE 'fsync\(|fdatasync\(' "$TEST_DIR/syncs.full")" -ge 1 ]
	[[ "$(cgi_request normal)" == "Status: 202 Accepted"* ]]
	[ "$(grep -cE 'fsync\(|fdatasync\(' "$TEST_DIR/syncs.normal")" -eq 0 ]
	# Both accepted and queued.
	[ "$(sql "SELECT count(*) FROM inbox")" -eq 3 ]
	# UTC only: the local time zone is never loaded (lib/core/rfc3339.c).
	# shellcheck disable=SC2143 # a `! grep` would not fail a bats test here
	[ -z "$(grep -l localtime "$TEST_DIR/syncs.full" "$TEST_DIR/syncs.normal")" ]
}

@test "a webhook's commit reaches the WAL in one write, not two a page" {
	need_peer "strace is not installed" command -v strace
	cgi_request first >/dev/null # the store made and migrated
	body=$(am_payload Gathered db-01 firing)
	printf %s "$body" | env GATEWAY_INTERFACE=CGI/1.1 REQUEST_METHOD=POST \
		SCRIPT_NAME=/alerts/webhook PATH_INFO=/alertmanager/ CONTENT_TYPE=application/json \
		CONTENT_LENGTH=${#body} ASAN_OPTIONS="${ASAN_OPTIONS:-}:detect_leaks=0" \
		strace -f -qq -y -e trace=pwrite64,pwritev,write -o "$TEST_DIR/writes" \
		"$SM_BIN/sm-ingest" >/dev/null
	[ "$(sql "SELECT count(*) FROM inbox")" -eq 2 ]
	# The alert, its incident, their history and the queue item: pages of
	# several tables and indexes (SQLite writes each as a 24-byte frame
	# header and the page), in one write.
	[ "$(grep -c -- '-wal>' "$TEST_DIR/writes")" = 1 ]
	bytes=$(sed -n 's/.*-wal>, .*, \([0-9]*\), [0-9]*) = [0-9]*$/\1/p' "$TEST_DIR/writes")
	[ "$bytes" -ge $((4 * (24 + 4096))) ]
	[ $((bytes % (24 + 4096))) = 0 ]
}

@test "the webhook wakes the queue's workers after the commit, before its sync of the WAL" {
	need_peer "strace is not installed" command -v strace
	cgi_request first >/dev/null # the store made and migrated
	[[ "$(cgi_request full)" == "Status: 202 Accepted"* ]]
	# The first call is the wake-up of the store's -wake file; the WAL's
	# sync follows it, and the 202 waits for that.
	first=$(grep -m1 -E 'utimensat|sync\(' "$TEST_DIR/syncs.full")
	[[ "$first" == *"utimensat(AT_FDCWD, \"$SM_DB-wake\""* ]]
	grep -A100 utimensat "$TEST_DIR/syncs.full" | grep -q fdatasync
}

@test "the webhook's first sync of the WAL in a process also syncs the store's directory" {
	need_peer "strace is not installed" command -v strace
	cgi_request first >/dev/null # the store made and migrated
	[[ "$(cgi_request full)" == "Status: 202 Accepted"* ]]
	# The log's name is on disk too, whoever made the file.
	dirfd=$(sed -n "s|.*openat(AT_FDCWD, \"$(dirname "$SM_DB")\", O_RDONLY.*) = \([0-9]*\)\$|\1|p" \
		"$TEST_DIR/syncs.full")
	[ -n "$dirfd" ]
	grep -q "fdatasync($dirfd)" "$TEST_DIR/syncs.full"
}
