#!/usr/bin/env bats
# sm-pipeline status and prune end to end: a store filled by the real tools
# (sm-check against fixture hosts, sm-ingest payloads, sm-notify deliveries,
# sm-pipeline work on queued items), rows aged by moving their timestamps
# back; the summary, its exit status, and what retention removes and keeps.
# shellcheck disable=SC2154 # bats sets $stderr for run --separate-stderr

bats_require_minimum_version 1.5.0
load helpers

setup() {
	setup_sm
	export TZ=UTC ORCHESTRATION_METRICS_BACKEND=none ORCHESTRATION_MAX_RETRIES_PER_STAGE=0
	export ORCHESTRATION_BACKOFF_FACTOR=0 SM_NOTIFY_RETRIES=0
	unset SM_RETENTION
}

teardown() { teardown_sm; }

# age TABLE COLUMN MODIFIER [WHERE]: move a timestamp back ('-5 minutes').
age() {
	sql "UPDATE $1 SET $2 = strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '$3') WHERE ${4:-1}"
}

# An agent as a hub records its push, SECONDS ago.
agent_pushed() { # INSTANCE_ID HOSTNAME MODIFIER
	sql "INSERT INTO agents (instance_id, hostname, first_push_at, last_push_at, pushes)
	     VALUES ('$1', '$2', strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '$3'),
	             strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '$3'), 4)"
}

# Two hosts' checks: cli-ok all OK (its older critical memory row is not
# the newest), cli-warn with two warnings and their incidents.
two_hosts() {
	SM_HOST_ROOT=$SM_FIXTURES/hosts/cli-crit sm-check --hostname cli-ok memory >/dev/null || true
	age check_runs executed_at '-3 days'
	host cli-ok
	sm-check --alerts memory swap >/dev/null
	age check_runs executed_at '-330 seconds' "hostname = 'cli-ok' AND executed_at > strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-1 day')"
	host cli-warn
	sm-check --alerts memory load >/dev/null || true
	age check_runs executed_at '-150 minutes' "hostname = 'cli-warn'"
	age incidents updated_at '-150 minutes' "title = 'memory on cli-warn'"
	age incidents updated_at '-20 minutes' "title = 'load on cli-warn'"
}

# Definitions for sm-pipeline work: one that passes (the local analysis),
# one that fails for good (a channel that does not exist).
definitions() {
	echo '{"version":"1","nodes":[{"id":"a","type":"intelligence"}]}' >"$TEST_DIR/pass.json"
	echo '{"version":"1","nodes":[{"id":"out","type":"notify","config":{"channel":"nope"}}]}' \
		>"$TEST_DIR/broken.json"
	sm-pipeline definition add pass "$TEST_DIR/pass.json"
	sm-pipeline definition add broken "$TEST_DIR/broken.json"
}

queued() { am_payload "$1" db-01 firing "${2:-warning}" | sm-ingest --queue >/dev/null; }

# The summary without its first line (the time it was made).
body() { printf '%s\n' "${lines[@]:1}"; }

# --- status -----------------------------------------------------------------------

@test "status of an empty store: this host, nothing open, OK and 0" {
	host cli-ok
	run --separate-stderr sm-pipeline status
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" =~ ^"sm status OK at "[0-9]{4}-[0-9]{2}-[0-9]{2}" "[0-9]{2}:[0-9]{2}:[0-9]{2}" UTC"$ ]]
	[ "$(body)" = "host cli-ok (this host)
  no check results
incidents: 0 open (0 critical, 0 warning, 0 info)
silences: 0 active, 0 pending; maintenance windows: 0 open
queue: 0 pending, 0 claimed, 0 failed
runs: 0 failed in the last day" ]
	[ -z "$stderr" ]
}

@test "status: the newest result per host and checker with its age, open incidents; WARNING 1, then CRITICAL 2" {
	two_hosts
	host cli-warn
	rows=$(sql "SELECT count(*) FROM check_runs")
	run --separate-stderr sm-pipeline status
	[ "$status" -eq 1 ]
	[[ "${lines[0]}" == "sm status WARNING at "*" UTC" ]]
	[ "$(body)" = "host cli-warn (this host)
  load             WARNING  2 h ago      Load average: 4.00, 0.40, 0.30 (2.00 per CPU, 2 CPUs)
  memory           WARNING  2 h ago      Memory usage: 75.0% (11.7/15.6 GB)
host cli-ok
  memory           OK       5 min ago    Memory usage: 50.0% (7.8/15.6 GB)
  swap             OK       5 min ago    Skipped: no swap configured
incidents: 2 open (0 critical, 2 warning, 0 info)
  #2       WARNING  open          20 min ago   load on cli-warn
  #1       WARNING  open          2 h ago      memory on cli-warn
silences: 0 active, 0 pending; maintenance windows: 0 open
queue: 0 pending, 0 claimed, 0 failed
runs: 0 failed in the last day" ]
	# Nothing was run or written.
	[ "$(sql "SELECT count(*) FROM check_runs")" = "$rows" ]
	# A critical alert from outside: the worst open problem is critical.
	am_payload DiskFull db-01 firing critical | sm-ingest >/dev/null
	age incidents updated_at '-3 days' "title = 'DiskFull on db-01'"
	run --separate-stderr sm-pipeline status
	[ "$status" -eq 2 ]
	[[ "${lines[0]}" == "sm status CRITICAL at "* ]]
	[ "${lines[7]}" = "incidents: 3 open (1 critical, 2 warning, 0 info)" ]
	[ "${lines[8]}" = "  #3       CRITICAL open          3 d ago      DiskFull on db-01" ]
	# Resolved, it is no longer a problem; an acknowledged one still is.
	am_payload DiskFull db-01 resolved critical | sm-ingest >/dev/null
	sql "UPDATE incidents SET status = 'acknowledged' WHERE id = 2"
	run --separate-stderr sm-pipeline status
	[ "$status" -eq 1 ]
	[ "${lines[7]}" = "incidents: 2 open (0 critical, 2 warning, 0 info)" ]
	[ "${lines[8]}" = "  #2       WARNING  acknowledged  20 min ago   load on cli-warn" ]
}

@test "status: a critical check alone is CRITICAL; agents are hosts with their last push" {
	SM_HOST_ROOT=$SM_FIXTURES/hosts/cli-crit sm-check --hostname web-01 memory >/dev/null || true
	age check_runs executed_at '-90 seconds'
	agent_pushed 7f3a web-01 '-200 seconds'
	agent_pushed 9c1e '' '-3 hours'
	host cli-ok
	run --separate-stderr sm-pipeline status
	[ "$status" -eq 2 ]
	[ "$(body)" = "host cli-ok (this host)
  no check results
host 9c1e (agent 9c1e, last push 3 h ago)
  no check results
host web-01 (agent 7f3a, last push 3 min ago)
  memory           CRITICAL 1 min ago    Memory usage: 95.0% (14.8/15.6 GB)
incidents: 0 open (0 critical, 0 warning, 0 info)
silences: 0 active, 0 pending; maintenance windows: 0 open
queue: 0 pending, 0 claimed, 0 failed
runs: 0 failed in the last day" ]
}

@test "status: the queue depth and runs; failed items and a run failed in the last day are WARNING" {
	host cli-ok
	definitions
	queued A info
	sm-pipeline work --once --definition pass >/dev/null
	queued B info
	sm-pipeline work --once --definition broken >/dev/null 2>&1
	queued C info
	age pipeline_runs created_at '-10 minutes'
	age incidents updated_at '-25 minutes'
	run --separate-stderr sm-pipeline status
	[ "$status" -eq 1 ]
	failed=$(sql "SELECT run_id FROM pipeline_runs WHERE status = 'failed'")
	passed=$(sql "SELECT run_id FROM pipeline_runs WHERE status = 'notified'")
	[ "$(body)" = "host cli-ok (this host)
  no check results
incidents: 3 open (0 critical, 0 warning, 3 info)
  #3       INFO     open          25 min ago   C on db-01
  #2       INFO     open          25 min ago   B on db-01
  #1       INFO     open          25 min ago   A on db-01
silences: 0 active, 0 pending; maintenance windows: 0 open
queue: 1 pending, 0 claimed, 1 failed
runs: 1 failed in the last day
  $failed broken           FAILED   10 min ago   node \"out\": sm-notify exited 64: sm-notify: no channel 'nope' (see sm-notify channel list)
  $passed pass             NOTIFIED 10 min ago" ]
	# A failure older than a day is history; the failed item still counts.
	age pipeline_runs created_at '-2 days'
	run --separate-stderr sm-pipeline status
	[ "$status" -eq 1 ]
	[ "${lines[9]}" = "runs: 0 failed in the last day" ]
	sql "UPDATE inbox SET state = 'done' WHERE state = 'failed'"
	run --separate-stderr sm-pipeline status
	[ "$status" -eq 0 ]
	[ "${lines[8]}" = "queue: 1 pending, 0 claimed, 0 failed" ]
}

@test "status: the silences and maintenance windows in force, with what they held back; pending and expired ones counted or left out" {
	host cli-ok
	sm-notify channel add hook generic webhook_url=http://127.0.0.1:9/hook retries=0 >/dev/null
	id=$(sm-notify silence add alertname=DiskFull --end "$(date -u -d '+150 minutes' +%Y-%m-%dT%H:%M:%SZ)" \
		--author alice --comment 'disk swap on db-01')
	sm-notify silence add alertname=Later --start "$(date -u -d '+1 day' +%Y-%m-%dT%H:%M:%SZ)" >/dev/null
	gone=$(sm-notify silence add alertname=Gone)
	sm-notify silence expire "$gone" >/dev/null
	win=$(sm-notify maintenance add alertname=Backup --schedule 'daily 00:00-24:00' --comment backups)
	sm-notify maintenance add alertname=Backup --schedule "$(date -u -d '+2 days' +%a) 00:00-00:01" >/dev/null
	am_payload DiskFull db-01 firing info | sm-ingest | sm-notify >/dev/null
	am_payload Backup db-02 firing info | sm-ingest | sm-notify >/dev/null
	[ "$(sql "SELECT count(*) FROM notification_deliveries WHERE status = 'skipped'")" = 2 ]
	run --separate-stderr sm-pipeline status
	[ "$status" -eq 0 ] # they hold notifications back, they are no problem
	[ "${lines[6]}" = "silences: 1 active, 1 pending; maintenance windows: 1 open" ]
	[ "${lines[7]}" = "  silence $id, held back 1" ]
	[[ "${lines[8]}" =~ ^"    until "[0-9-]{10}" "[0-9:]{5}" (2 h left): {alertname=\"DiskFull\"} by alice: disk swap on db-01"$ ]]
	[ "${lines[9]}" = "  window $win, held back 1" ]
	[ "${lines[10]}" = "    daily 00:00-24:00: {alertname=\"Backup\"}: backups" ]
	[ "${lines[11]}" = "queue: 0 pending, 0 claimed, 0 failed" ]
	run --separate-stderr sm-pipeline status --json
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | json_get '[d["silences"][k] for k in ("active", "pending")], [(s["id"], s["matchers"], s["author"], s["comment"], s["held_back"], s["remaining_seconds"] // 3600) for s in d["silences"]["latest"]]')" = "[[1, 1], [[\"$id\", [\"alertname=\\\"DiskFull\\\"\"], \"alice\", \"disk swap on db-01\", 1, 2]]]" ]
	[[ "$(echo "$output" | json_get 'd["silences"]["latest"][0]["ends_at"]')" =~ ^[0-9-]{10}T[0-9:]{8}Z$ ]]
	[ "$(echo "$output" | json_get 'd["maintenance"]["open"], [(w["id"], w["schedule"], w["comment"], w["held_back"]) for w in d["maintenance"]["windows"]]')" = "[1, [[\"$win\", \"daily 00:00-24:00\", \"backups\", 1]]]" ]
	# Many at once: the 10 that end first, and how many more.
	for i in $(seq 1 11); do sm-notify silence add "alertname=Many$i" --duration "$((4 + i))h" >/dev/null; done
	run --separate-stderr sm-pipeline status
	[ "${lines[6]}" = "silences: 12 active, 1 pending; maintenance windows: 1 open" ]
	[ "${lines[7]}" = "  silence $id, held back 1" ]
	[ "${lines[27]}" = "  (2 more silences: sm-notify silence list)" ]
}

@test "status --json: one object, RFC 3339 UTC times and ages in seconds" {
	two_hosts
	agent_pushed 7f3a cli-ok '-60 seconds'
	host cli-warn
	run --separate-stderr sm-pipeline status --json
	[ "$status" -eq 1 ]
	[ "${#lines[@]}" -eq 1 ]
	[ "$(echo "$output" | json_get 'd["status"], d["exit_status"], [h["hostname"] for h in d["hosts"]], d["hosts"][0]["this_host"]')" = '["warning", 1, ["cli-warn", "cli-ok"], true]' ]
	[[ "$(echo "$output" | json_get 'd["generated_at"]')" =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$ ]]
	check=$(echo "$output" | json_get 'd["hosts"][1]["checks"][0]')
	[ "$(echo "$check" | json_get 'd["checker"], d["status"], d["age_seconds"] // 60')" = '["memory", "ok", 5]' ]
	[[ "$(echo "$check" | json_get 'd["executed_at"]')" =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z$ ]]
	[ "$(echo "$output" | json_get 'd["hosts"][1]["agent"]["instance_id"], d["hosts"][1]["agent"]["pushes"]')" = '["7f3a", 4]' ]
	[ "$(echo "$output" | json_get 'd["incidents"]["open"], d["incidents"]["warning"], [i["id"] for i in d["incidents"]["latest"]], d["incidents"]["latest"][1]["age_seconds"] // 60')" = '[2, 2, [2, 1], 150]' ]
	[ "$(echo "$output" | json_get 'd["queue"], d["runs"]')" = '[{"pending": 0, "claimed": 0, "failed": 0}, {"latest": [], "failed_last_day": 0}]' ]
	[ "$(echo "$output" | json_get 'd["silences"], d["maintenance"]')" = '[{"active": 0, "pending": 0, "latest": []}, {"open": 0, "windows": []}]' ]
}

@test "status: a store that cannot be read is UNKNOWN 3 with a plugin line; usage errors are 64" {
	echo "not a database, not at all, not a single page of one" >"$SM_DB"
	run --separate-stderr sm-pipeline status
	[ "$status" -eq 3 ]
	[[ "$output" == "SM UNKNOWN - $SM_DB: "* ]]
	[[ "$stderr" == "sm-pipeline: $SM_DB: "* ]]
	run --separate-stderr sm-pipeline status --json
	[ "$status" -eq 3 ]
	[ -z "$output" ]
	rm -f "$SM_DB"
	run --separate-stderr sm-pipeline status now
	[ "$status" -eq 64 ]
	[ "$stderr" = "sm-pipeline: usage: sm-pipeline status [--json | --html]" ]
}

@test "status on a terminal: messages cut to the width" {
	two_hosts
	host cli-warn
	output=$(NO_COLOR=1 COLUMNS=60 script -qec "sm-pipeline status" /dev/null | tr -d '\r')
	mapfile -t lines <<<"$output"
	[ "${lines[2]}" = "  load             WARNING  2 h ago      Load average: 4.00" ]
	[ "${#lines[2]}" -eq 59 ]
}

# --- prune --------------------------------------------------------------------------

# Every table prune looks at, with its row count.
counts() {
	for t in check_runs stage_executions pipeline_runs alert_history notification_deliveries \
		inbox incidents alerts; do
		printf '%s=%s ' "$t" "$(sql "SELECT count(*) FROM $t")"
	done
}

# A store with something old of every kind, and as much that must stay.
old_store() {
	host cli-warn
	sm-check memory load >/dev/null || true
	sm-check memory load >/dev/null || true
	age check_runs executed_at '-40 days'
	host cli-ok
	sm-check memory >/dev/null
	# Queue items: one done and one failed, both with their runs; one pending.
	definitions
	queued A
	sm-pipeline work --once --definition pass >/dev/null
	queued B
	sm-pipeline work --once --definition broken >/dev/null 2>&1
	queued C
	age pipeline_runs created_at '-40 days'
	age inbox created_at '-10 days'
	# An incident notified (a failed delivery), then resolved: all old.
	sm-notify channel add hook generic webhook_url=http://127.0.0.1:9/hook retries=0 \
		repeat_interval=0 >/dev/null
	am_payload DiskFull db-02 firing critical | sm-ingest | sm-notify >/dev/null 2>&1 || true
	am_payload DiskFull db-02 resolved critical | sm-ingest >/dev/null
	age alert_history at '-200 days'
	age incidents updated_at '-200 days'
	age notification_deliveries created_at '-100 days'
	# A delivery of an open incident, as old: it stays.
	am_payload A db-01 firing warning | sm-ingest | sm-notify >/dev/null 2>&1 || true
	age notification_deliveries created_at '-100 days'
}

@test "prune with the default retention: old rows of every kind go, the newest checks, open incidents and waiting work stay" {
	old_store
	before=$(counts)
	[ "$before" = "check_runs=5 stage_executions=2 pipeline_runs=2 alert_history=5 notification_deliveries=2 inbox=3 incidents=4 alerts=4 " ]
	run --separate-stderr sm-pipeline prune --dry-run
	[ "$status" -eq 0 ]
	[ "$output" = "check_runs                        2 to remove (dry run)
stage_executions                  1 to remove (dry run)
pipeline_runs                     1 to remove (dry run)
alert_history                     2 to remove (dry run)
notification_deliveries           1 to remove (dry run)
inbox                             1 to remove (dry run)" ]
	[ "$(counts)" = "$before" ]
	run --separate-stderr sm-pipeline prune
	[ "$status" -eq 0 ]
	[ "$output" = "check_runs                        2 removed
stage_executions                  1 removed
pipeline_runs                     1 removed
alert_history                     2 removed
notification_deliveries           1 removed
inbox                             1 removed" ]
	[ -z "$stderr" ]
	# The newest result of each (host, checker) stays, however old.
	[ "$(sql "SELECT id, hostname, checker FROM check_runs ORDER BY id")" = "3	cli-warn	memory
4	cli-warn	load
5	cli-ok	memory" ]
	# The failed run stays with its failed queue item; the pending item too.
	[ "$(sql "SELECT status FROM pipeline_runs")" = failed ]
	[ "$(sql "SELECT count(*) FROM stage_executions s JOIN pipeline_runs r ON r.id = s.run")" = 1 ]
	[ "$(sql "SELECT group_concat(state, ' ') FROM inbox ORDER BY id")" = "failed pending" ]
	# History and deliveries of the resolved incident go; the open ones' stay.
	[ "$(sql "SELECT DISTINCT i.status FROM alert_history h JOIN alerts a ON a.id = h.alert_id JOIN incidents i ON i.id = a.incident_id")" = open ]
	[ "$(sql "SELECT i.title, i.status FROM notification_deliveries d JOIN incidents i ON i.id = d.incident_id")" = "A on db-01	open" ]
	[ "$(sql "SELECT count(*) FROM incidents")" = 4 ]
	# Nothing more to remove.
	run --separate-stderr sm-pipeline prune --json
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | json_get 'd["dry_run"], sorted(set(d["removed"].values())), sorted(d["before"])')" = '[false, [0], ["check_detail", "check_runs", "deliveries", "history", "queue", "runs"]]' ]
}

@test "prune: SM_RETENTION overrides some kinds, --older-than all of them; --json reports the cutoffs" {
	old_store
	# Only check results kept for less than the default.
	SM_RETENTION=check_runs=1h,queue=30d run --separate-stderr sm-pipeline prune --dry-run --json
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | json_get 'd["dry_run"], d["removed"]')" = '[true, {"check_runs": 2, "stage_executions": 1, "pipeline_runs": 1, "alert_history": 2, "notification_deliveries": 1, "inbox": 0}]' ]
	day=$(date -u -d '-30 days' +%Y-%m-%d)
	[[ "$(echo "$output" | json_get 'd["before"]["queue"]')" =~ ^${day}T[0-9:]{8}Z$ ]]
	SM_RETENTION=runs=41d,history=201d,deliveries=101d run --separate-stderr sm-pipeline prune --json
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | json_get 'd["removed"]')" = '{"check_runs": 2, "stage_executions": 0, "pipeline_runs": 0, "alert_history": 0, "notification_deliveries": 0, "inbox": 1}' ]
	# Everything older than a minute: still the newest checks and open work stay.
	sm-check memory >/dev/null
	age check_runs executed_at '-2 minutes' "id = (SELECT max(id) FROM check_runs)"
	run --separate-stderr sm-pipeline prune --older-than 60s
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "check_runs                        1 removed" ]
	[ "$(sql "SELECT count(*) FROM check_runs")" = 3 ]
	[ "$(sql "SELECT group_concat(state, ' ') FROM inbox ORDER BY id")" = "failed pending" ]
	[ "$(sql "SELECT count(*) FROM pipeline_runs")" = 1 ]
}

@test "prune: a malformed SM_RETENTION or --older-than is one line, 64, and removes nothing" {
	old_store
	before=$(counts)
	while IFS='|' read -r retention older message; do
		if [ -n "$older" ]; then
			SM_RETENTION=$retention run --separate-stderr sm-pipeline prune --older-than "$older"
		else
			SM_RETENTION=$retention run --separate-stderr sm-pipeline prune
		fi
		[ "$status" -eq 64 ]
		[ -z "$output" ]
		[ "$stderr" = "sm-pipeline: $message" ]
	done <<-'CASES'
		check_runs=30 days||SM_RETENTION: check_runs: expected a duration such as 90s, 15m, 4h or 7d, got '30 days'
		checks=30d||SM_RETENTION: unknown kind 'checks' (expected check_runs, check_detail, runs, history, deliveries or queue)
		check_runs||SM_RETENTION: expected KIND=DURATION, got 'check_runs'
		runs=-1d||SM_RETENTION: runs: expected a duration such as 90s, 15m, 4h or 7d, got '-1d'
		|7y|--older-than: expected a duration such as 90s, 15m, 4h or 7d, got '7y'
		|1dd|--older-than: expected a duration such as 90s, 15m, 4h or 7d, got '1dd'
		|99999999999d|--older-than: expected a duration such as 90s, 15m, 4h or 7d, got '99999999999d'
		queue=1x|1d|SM_RETENTION: queue: expected a duration such as 90s, 15m, 4h or 7d, got '1x'
	CASES
	run --separate-stderr sm-pipeline prune now
	[ "$status" -eq 64 ]
	[ "$stderr" = "sm-pipeline: usage: sm-pipeline prune [--older-than DURATION] [--dry-run] [--vacuum] [--json]" ]
	[ "$(counts)" = "$before" ]
}

@test "prune --vacuum gives the freed space back: the file shrinks" {
	host cli-ok
	sm-check memory >/dev/null
	# Many old results (copies of the real one), as months of a cron job.
	sql "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000)
	     INSERT INTO check_runs (checker, hostname, status, message, metrics, executed_at)
	     SELECT checker, hostname, status, message, printf('%.*c', 2000, 'x'),
	            strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-60 days')
	     FROM check_runs, n"
	run --separate-stderr sm-pipeline prune --vacuum --json
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | json_get 'd["removed"]["check_runs"]')" = 3000 ]
	before=$(echo "$output" | json_get 'd["size_before"]')
	after=$(echo "$output" | json_get 'd["size_after"]')
	[ "$before" -gt 6000000 ]
	[ "$after" -lt 1000000 ]
	[ "$after" -eq "$(stat -c %s "$SM_DB")" ]
	# Without --vacuum the file keeps its size (the pages are reused).
	run --separate-stderr sm-pipeline prune --older-than 1s
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "check_runs                        0 removed" ]
	[ "${#lines[@]}" -eq 6 ]
}
