#!/usr/bin/env bats
# sm-ingest's listings people can filter: --severity, --source, --since, the
# "N of M shown" footer on a terminal, columns fitted to its width, local
# times; and `incident show ID` with everything stored about an incident.

# shellcheck disable=SC2154 # bats sets $output, $status and $stderr
bats_require_minimum_version 1.5.0
load helpers

setup() {
	setup_sm
	# Twelve incidents: every third critical, one info; then an old one.
	for i in $(seq 1 12); do
		sev=warning
		[ $((i % 3)) = 0 ] && sev=critical
		[ "$i" = 12 ] && sev=info
		am_payload "Disk$i" "db-$i" firing "$sev"
	done >"$TEST_DIR/stream"
	sm-ingest -d alertmanager "$TEST_DIR/stream" >/dev/null
	printf '%s\n' '{"title":"Queue stuck","severity":"critical","source":"cron"}' |
		sm-ingest -d generic >/dev/null
	sql "UPDATE incidents SET updated_at = '2026-01-01T00:00:00.000Z' WHERE id = 1"
	sql "UPDATE alerts SET updated_at = '2026-01-01T00:00:00.000Z' WHERE id = 1"
}
teardown() { teardown_sm; }

# Run a listing as on a terminal (script(1) gives it a pseudo-terminal),
# without colour unless the test asks.
on_terminal() {
	run script -qec "NO_COLOR=${NO_COLOR-1} $*" /dev/null
	output=${output//$'\r'/}
	mapfile -t lines <<<"$output"
}

@test "--severity keeps that severity or worse; --source and --since filter; they combine" {
	[ "$(sm-ingest incidents --limit 0 | wc -l)" = 13 ]
	[ "$(sm-ingest incidents --severity critical | wc -l)" = 4 ]
	[ "$(sm-ingest incidents --severity warning | wc -l)" = 12 ]
	[ "$(sm-ingest incidents --severity info | wc -l)" = 13 ]
	[ "$(sm-ingest incidents --source cron | json_get 'd["title"]')" = "Queue stuck" ]
	[ "$(sm-ingest alerts --source alertmanager | wc -l)" = 12 ]
	[ "$(sm-ingest incidents --since 1h | wc -l)" = 12 ]  # incident 1 changed long ago
	[ "$(sm-ingest alerts --since 90s | wc -l)" = 12 ]
	[ "$(sm-ingest incidents --since 36500d | wc -l)" = 13 ]
	[ "$(sm-ingest incidents --severity critical --source alertmanager --since 1h | wc -l)" = 3 ]
	[ "$(sm-ingest incidents --status open --severity info --source cron | wc -l)" = 1 ]
	[ "$(sm-ingest incidents --source nope | wc -l)" = 0 ]
	# A listing that passes nothing says so on a terminal.
	on_terminal "$SM_BIN/sm-ingest incidents --source nope"
	[ "$output" = "no incidents" ]
}

@test "bad filter values are usage errors that name the flag" {
	run sm-ingest incidents --severity high
	[ "$status" -eq 64 ]
	[ "$output" = "sm-ingest: --severity: expected info, warning or critical, got 'high'" ]
	for bad in 5x -1h 1y "" "1 h"; do
		run sm-ingest alerts --since "$bad"
		[ "$status" -eq 64 ]
		[[ "$output" == "sm-ingest: --since: expected a duration such as 90s, 15m, 4h, 7d, got '$bad'" ]]
	done
}

@test "on a terminal: the footer says how many more exist; not in JSON or a pipe" {
	on_terminal "$SM_BIN/sm-ingest incidents --limit 5"
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 7 ] # header, five rows, footer
	[ "${lines[6]}" = "5 of 13 shown (--limit 0 for all)" ]
	on_terminal "$SM_BIN/sm-ingest incidents"
	[[ "$output" != *"shown"* ]] # all 13 shown
	on_terminal "$SM_BIN/sm-ingest incidents --limit 5 --json"
	[ "${#lines[@]}" -eq 5 ]
	[[ "$output" != *"shown"* ]]
	run sm-ingest incidents --limit 5
	[ "${#lines[@]}" -eq 5 ]
	# Thousands are grouped.
	sql "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2332)
	     INSERT INTO incidents (title, severity, group_key, created_at, updated_at)
	     SELECT 'bulk', 'info', 'bulk' || i, '2026-12-01T00:00:00.000Z',
	            '2026-12-01T00:00:00.000Z' FROM n"
	on_terminal "$SM_BIN/sm-ingest incidents"
	[ "${lines[-1]}" = "100 of 2,345 shown (--limit 0 for all)" ]
}

@test "on a terminal: local times, whole; narrow terminals drop columns instead" {
	on_terminal "TZ=XST-9 COLUMNS=120 $SM_BIN/sm-ingest incidents --source cron"
	[[ "${lines[0]}" == "ID"*"SEVERITY"*"STATUS"*"SOURCE"*"UPDATED"*"TITLE" ]]
	# Stored in UTC, shown in the local zone (here nine hours ahead).
	stored=$(sql "SELECT updated_at FROM incidents WHERE source = 'cron'")
	local_time=$(TZ=XST-9 date -d "$stored" '+%Y-%m-%d %H:%M:%S')
	[[ "${lines[1]}" == *"cron"*"$local_time  Queue stuck" ]]
	on_terminal "TZ=XST-9 COLUMNS=120 $SM_BIN/sm-ingest alerts"
	[[ "${lines[0]}" == "ID"*"SEVERITY"*"STATUS"*"SOURCE"*"INCIDENT"*"UPDATED"*"NAME" ]]
	for cols in 80 60 40; do
		on_terminal "COLUMNS=$cols $SM_BIN/sm-ingest alerts --limit 3"
		[ "$status" -eq 0 ]
		[ "${lines[4]}" = "3 of 13 shown (--limit 0 for all)" ]
		for line in "${lines[@]:1:3}"; do
			# Every row keeps a whole timestamp and fits the width.
			[[ "$line" =~ [0-9]{4}-[0-9]{2}-[0-9]{2}\ [0-9]{2}:[0-9]{2}:[0-9]{2} ]]
			[ "$(printf '%s' "$line" | sed 's/\x1b\[[0-9;]*m//g' | wc -m)" -le "$cols" ]
		done
	done
	on_terminal "COLUMNS=60 $SM_BIN/sm-ingest alerts --limit 3"
	[[ "${lines[0]}" != *"SOURCE"* && "${lines[0]}" != *"INCIDENT"* ]]
	[[ "${lines[0]}" == *"UPDATED"*"NAME" ]]
}

@test "incident show ID: the incident, its alerts, history, deliveries and analyses" {
	sm-ingest incident ack 3 >/dev/null
	sql "INSERT INTO notification_deliveries (channel, incident_id, status, attempt,
	     http_status, error, created_at) VALUES ('ops-slack', 3, 'failed', 1, 500,
	     'HTTP 500', '2026-12-06T10:00:00.000Z'), ('ops-slack', 3, 'sent', 2, 200, '',
	     '2026-12-06T10:00:05.000Z'), ('other', 4, 'sent', 1, 200, '', '2026-12-06T10:00:00.000Z')"
	sql "INSERT INTO analysis_runs (incident_id, provider, model, status, recommendations,
	     created_at) VALUES (3, 'local', '', 'ok',
	     '[{\"title\":\"Free space on /var\",\"priority\":\"high\"}]', '2026-12-06T10:01:00.000Z')"
	run sm-ingest incident show 3
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 1 ]
	[ "$(echo "$output" | json_get 'd["incident"]["id"], d["incident"]["status"], d["incident"]["acknowledged_at"][-1]')" = '[3, "acknowledged", "Z"]' ]
	[ "$(echo "$output" | json_get '[a["name"] for a in d["alerts"]], d["alerts"][0]["labels"]["instance"]')" = '[["Disk3"], "db-3"]' ]
	[ "$(echo "$output" | json_get '[h["change"] for h in d["history"]]')" = '["created"]' ]
	[ "$(echo "$output" | json_get '[(x["status"], x["http_status"]) for x in d["deliveries"]]')" = '[["failed", 500], ["sent", 200]]' ]
	[ "$(echo "$output" | json_get 'd["analysis"][0]["recommendations"][0]["title"]')" = "Free space on /var" ]
	on_terminal "COLUMNS=100 $SM_BIN/sm-ingest incident show 3"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "incident 3: Disk3 on db-3" ]
	[[ "$output" == *"status        acknowledged"* ]]
	[[ "$output" == *"acknowledged  20"*" ago)"* ]]
	[[ "$output" == *"alerts: 1"*"Disk3"*"history: 1"*"created"*"deliveries: 2"*"HTTP 500"*"analysis: 1"*"local"*"- Free space on /var [high]"* ]]
	on_terminal "$SM_BIN/sm-ingest incident show 3 --json"
	[ "$(echo "$output" | json_get 'len(d["deliveries"])')" = 2 ]
	# An incident with nothing but itself.
	run sm-ingest incident show 13
	[ "$(echo "$output" | json_get 'len(d["history"]), d["deliveries"], d["analysis"]')" = '[1, [], []]' ]
}

@test "incident show: a missing or malformed id is a usage error; the store stays unwritten" {
	run --separate-stderr sm-ingest incident show 999
	[ "$status" -eq 64 ]
	[ "$stderr" = "sm-ingest: no incident 999" ]
	[ -z "$output" ]
	run sm-ingest incident show x
	[ "$status" -eq 64 ]
	run sm-ingest incident show
	[ "$status" -eq 64 ]
	run sm-ingest incident frob 1
	[ "$status" -eq 64 ]
	[[ "$output" == *"(show, ack, resolve, close)"* ]]
}

@test "incident show only reads: a user who cannot write the store can show" {
	command -v setpriv >/dev/null || skip "setpriv is not installed"
	[ "$(id -u)" -eq 0 ] || skip "needs root to become another user"
	sm-ingest incident ack 2 >/dev/null # the last writer leaves the WAL files
	chmod 755 "$TEST_DIR"
	chmod 444 "$SM_DB" "$SM_DB-wal" "$SM_DB-shm"
	sum=$(sha256sum <"$SM_DB")
	run --separate-stderr setpriv --reuid=nobody --regid=nogroup --clear-groups \
		sm-ingest incident show 2
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | json_get 'd["incident"]["title"]')" = "Disk2 on db-2" ]
	[ "$(sha256sum <"$SM_DB")" = "$sum" ]
}
