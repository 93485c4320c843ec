#!/usr/bin/env bats
# sm-pipeline end to end: definitions, and runs of the real sibling binaries
# delivering to a loopback receiver (a generic webhook channel): retries,
# failures for good, resume, transform filters, metrics and bad input.
# shellcheck disable=SC2154 # bats sets $stderr for run --separate-stderr

bats_require_minimum_version 1.5.0
load helpers

setup() {
	setup_sm
	export ORCHESTRATION_BACKOFF_FACTOR=0.01 # retries sleep 10 ms, then 0.1 ms
	export ORCHESTRATION_MAX_RETRIES_PER_STAGE=2
	export ORCHESTRATION_METRICS_BACKEND=none
	export SM_NOTIFY_RETRIES=0 # sm-pipeline does the retrying here
	: >"$TEST_DIR/pids"
	DEFS="$SM_FIXTURES/pipeline"
}

teardown() {
	while read -r pid; do
		kill "$pid" 2>/dev/null || true
	done <"$TEST_DIR/pids"
	teardown_sm
}

# receiver PORT NAME [flags]: a loopback webhook logging to $TEST_DIR/NAME.log.
receiver() {
	local port=$1 name=$2
	shift 2
	/usr/bin/python3 "$SM_FIXTURES/bin/receiver.py" "$port" --log "$TEST_DIR/$name.log" "$@" \
		>"$TEST_DIR/$name.port" 2>/dev/null &
	echo $! >>"$TEST_DIR/pids"
	wait_port "$port"
	: >>"$TEST_DIR/$name.log"
}

requests() { wc -l <"$TEST_DIR/$1.log" | tr -d ' '; }

# A generic channel "hook" to 127.0.0.1:PORT, without sm-notify's own retries.
hook_channel() {
	sm-notify channel add hook generic "webhook_url=http://127.0.0.1:$1/hook" retries=0 \
		repeat_interval=0
}

payload() { # NAME SEVERITY
	am_payload "$1" db-01 firing "${2:-warning}" >"$TEST_DIR/payload.json"
}

# sm-pipeline alone in a bin directory (libsm beside it) with links to the
# real siblings, so a test can replace one with a fake or take it away.
private_bin() {
	mkdir -p "$TEST_DIR/bin"
	cp "$SM_BIN/sm-pipeline" "$TEST_DIR/bin/"
	ln -s "$(cd "$SM_BIN/../lib" && pwd)" "$TEST_DIR/lib"
	for t in sm-ingest sm-check sm-analyze sm-notify; do
		ln -s "$SM_BIN/$t" "$TEST_DIR/bin/$t"
	done
	export PATH="$TEST_DIR/bin:/usr/bin:/bin"
}

fake() { # PROGRAM SCRIPT-BODY
	rm -f "$TEST_DIR/bin/$1"
	printf '#!/bin/sh\n%s\n' "$2" >"$TEST_DIR/bin/$1"
	chmod +x "$TEST_DIR/bin/$1"
}

# Rows of a table; 0 when the store was never made.
count() { if [ -e "$SM_DB" ]; then sql "SELECT count(*) FROM $1"; else echo 0; fi; }
runs_count() { count pipeline_runs; }
last_run() { sql 'SELECT run_id FROM pipeline_runs ORDER BY id DESC LIMIT 1'; }

# --- definitions --------------------------------------------------------------

@test "definition list: the six presets, built in, as JSON on a pipe" {
	run sm-pipeline definition list --json
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 6 ]
	[ "$(echo "${lines[0]}" | json_get '[d["name"], d["builtin"], d["flow"]]')" = '["local-monitor", true, ["check", "notify"]]' ]
	names=$(sm-pipeline definition list | /usr/bin/python3 -c 'import json,sys; print(" ".join(json.loads(l)["name"] for l in sys.stdin))')
	[ "$names" = "local-monitor local-smart direct health-checked ai-analyzed full" ]
	[ "$(sm-pipeline definition list | sed -n 6p | json_get 'd["flow"]')" = '["ingest", "check", "analyze", "notify"]' ]
}

@test "definition add, show, list, validate and rm a stored definition" {
	sm-pipeline definition add crit "$DEFS/critical-only.json"
	run sm-pipeline definition show crit
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | json_get 'd["nodes"][1]["config"]["filter_priority"]')" = critical ]
	[ "$(sm-pipeline definition list | tail -1 | json_get '[d["name"], d["builtin"], d["description"]]')" = '["crit", false, "Only critical alerts reach the channels"]' ]
	run sm-pipeline definition validate crit
	[ "$status" -eq 0 ]
	[ "$output" = "crit: valid (3 nodes)" ]
	sm-pipeline definition add crit - <"$DEFS/checks.json" # replaces it
	[ "$(sm-pipeline definition show crit | json_get 'd["nodes"][0]["type"]')" = context ]
	sm-pipeline definition rm crit
	run sm-pipeline definition show crit
	[ "$status" -eq 64 ]
	[ "$output" = "sm-pipeline: unknown definition 'crit' (see sm-pipeline definition list)" ]
}

@test "built-in definitions cannot be removed or replaced" {
	run sm-pipeline definition rm full
	[ "$status" -eq 64 ]
	[ "$output" = "sm-pipeline: 'full' is a built-in definition and cannot be removed" ]
	run sm-pipeline definition add direct "$DEFS/checks.json"
	[ "$status" -eq 64 ]
	[ "$(count pipeline_definitions)" = 0 ]
	run sm-pipeline definition rm nothing-here
	[ "$status" -eq 64 ]
}

@test "an invalid definition: every problem at once, each naming its node, 65, nothing stored" {
	run sm-pipeline definition add bad "$DEFS/invalid.json"
	[ "$status" -eq 65 ]
	f="$DEFS/invalid.json"
	[ "${lines[0]}" = "sm-pipeline: $f: missing \"version\"" ]
	[ "${lines[1]}" = "sm-pipeline: $f: node \"#1\": missing \"id\"" ]
	[ "${lines[2]}" = "sm-pipeline: $f: node \"a\": unknown driver \"fax\"" ]
	[ "${lines[3]}" = "sm-pipeline: $f: node \"a\": duplicate id" ]
	[ "${lines[4]}" = "sm-pipeline: $f: node \"b\": unknown type \"oracle\" (available: ingest, context, intelligence, notify, transform)" ]
	[ "${lines[5]}" = "sm-pipeline: $f: node \"c\": config \"checker_names\" must be a list of strings" ]
	[ "${lines[6]}" = "sm-pipeline: $f: node \"d\": config \"source_node\" is required" ]
	[ "${lines[7]}" = "sm-pipeline: $f: node \"d\": next names no node: nowhere" ]
	[ "${lines[8]}" = "sm-pipeline: $f: node \"e\": \"config\" must be an object" ]
	[ "${lines[9]}" = "sm-pipeline: $f: node \"b\": \"next\" leads back to this node (a cycle)" ]
	[ "${lines[10]}" = "sm-pipeline: $f: node \"c\": \"next\" leads back to this node (a cycle)" ]
	[ "${#lines[@]}" -eq 11 ]
	[ "$(count pipeline_definitions)" = 0 ]
	run sm-pipeline definition validate "$f"
	[ "$status" -eq 65 ]
	[ "${#lines[@]}" -eq 11 ]
}

@test "no nodes; malformed JSON; a missing file; bad usage" {
	echo '{"version":"1","nodes":[]}' >"$TEST_DIR/empty.json"
	run sm-pipeline definition validate "$TEST_DIR/empty.json"
	[ "$status" -eq 65 ]
	[ "$output" = "sm-pipeline: $TEST_DIR/empty.json: no nodes: \"nodes\" must be a non-empty list" ]
	run sm-pipeline definition add m "$DEFS/malformed.json"
	[ "$status" -eq 65 ]
	[[ "$output" == "sm-pipeline: $DEFS/malformed.json: line "* ]]
	[ "${#lines[@]}" -eq 1 ]
	run sm-pipeline definition add m "$TEST_DIR/nope.json"
	[ "$status" -eq 1 ]
	[ "$output" = "sm-pipeline: $TEST_DIR/nope.json: No such file or directory" ]
	run sm-pipeline definition frobnicate
	[ "$status" -eq 64 ]
	run sm-pipeline frobnicate
	[ "$status" -eq 64 ]
	[ "$output" = "sm-pipeline: unknown command 'frobnicate' (see sm-pipeline --help)" ]
	run sm-pipeline --bogus
	[ "$status" -eq 64 ]
	[ "$(count pipeline_definitions)" = 0 ]
}

@test "skip conditions and transform configs are checked" {
	cat >"$TEST_DIR/d.json" <<-'JSON'
		{"version":"1","nodes":[
		 {"id":"a","type":"ingest","skip_if_errors":["zz"]},
		 {"id":"b","type":"notify","skip_if_condition":"a.x || 1","required":"yes"},
		 {"id":"t","type":"transform","config":{"source_node":"t","mapping":{"k":3}}}]}
	JSON
	run sm-pipeline definition validate "$TEST_DIR/d.json"
	[ "$status" -eq 65 ]
	[ "${lines[0]}" = "sm-pipeline: $TEST_DIR/d.json: node \"a\": skip_if_errors names no node: zz" ]
	[ "${lines[1]}" = "sm-pipeline: $TEST_DIR/d.json: node \"b\": \"required\" must be true or false" ]
	[ "${lines[2]}" = "sm-pipeline: $TEST_DIR/d.json: node \"b\": \"skip_if_condition\" must be \"NODE.has_errors\"" ]
	[ "${lines[3]}" = "sm-pipeline: $TEST_DIR/d.json: node \"t\": source_node names the node itself" ]
	[ "${lines[4]}" = "sm-pipeline: $TEST_DIR/d.json: node \"t\": mapping \"k\" must be a dotted path (a string)" ]
}

# --- runs ----------------------------------------------------------------------

@test "run direct: delivered, envelopes carry run_id beside trace_id, run and stages recorded" {
	port=$(free_port)
	receiver "$port" hook
	hook_channel "$port"
	payload DiskFull critical
	trace=0123456789abcdef0123456789abcdef
	run --separate-stderr sm-pipeline run --definition direct --payload "$TEST_DIR/payload.json" --trace-id $trace
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 1 ]
	id=$(last_run)
	[ "$(echo "$output" | /usr/bin/python3 -c 'import json,sys; print(list(json.loads(sys.stdin.readline()))[:3])')" = "['v', 'trace_id', 'run_id']" ]
	[ "$(echo "$output" | json_get '[d["trace_id"], d["run_id"], d["notifications"][0]["status"]]')" = "[\"$trace\", \"$id\", \"sent\"]" ]
	[ "$(requests hook)" = 1 ]
	[ "$(sql 'SELECT definition, status, trace_id, source, incident_id IS NOT NULL FROM pipeline_runs')" = "direct	notified	$trace	cli	1" ]
	[ "$(sql 'SELECT node_id, stage, status, attempt FROM stage_executions ORDER BY id')" = "ingest	ingest	succeeded	1
notify	notify	succeeded	1" ]
	run sm-pipeline show "$id"
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | json_get '[d["status"], d["definition"], [(s["node"], s["type"], s["status"], s["attempts"]) for s in d["stages"]]]')" = '["notified", "direct", [["ingest", "ingest", "succeeded", 1], ["notify", "notify", "succeeded", 1]]]' ]
	# The snapshots: the payload into ingest, its envelope out and into notify.
	[ "$(echo "$output" | json_get '[d["stages"][0]["input"][0]["alerts"][0]["labels"]["alertname"], d["stages"][0]["output"][0]["incident"]["title"], d["stages"][1]["input"] == d["stages"][0]["output"]]')" = '["DiskFull", "DiskFull on db-01", true]' ]
	[ "$(echo "$output" | json_get 'sorted(d)')" = '["attempts", "current_stage", "definition", "duration_ms", "error", "finished_at", "incident_id", "run_id", "source", "stages", "started_at", "status", "trace_id"]' ]
}

@test "run without --definition: full with a payload; local-monitor without; --dry-run runs nothing" {
	payload HighLoad
	run sm-pipeline run --payload "$TEST_DIR/payload.json" --dry-run
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "definition full: 4 nodes (dry run: nothing is run)" ]
	[[ "${lines[1]}" == "  1. ingest         ingest        "*"/sm-ingest" ]]
	[[ "${lines[2]}" == *"/sm-check -" ]]
	[[ "${lines[3]}" == *"/sm-analyze --provider local" ]]
	[[ "${lines[4]}" == *"/sm-notify" ]]
	run sm-pipeline run --dry-run
	[ "${lines[0]}" = "definition local-monitor: 2 nodes (dry run: nothing is run)" ]
	[[ "${lines[1]}" == *"/sm-check --alerts" ]]
	run sm-pipeline run --dry-run --json --sample
	[ "$(echo "${lines[0]}" | json_get '[d["node"], d["type"], d["next"]]')" = '["ingest", "ingest", "check"]' ]
	[ "$(runs_count)" = 0 ]
	[ "$(count incidents)" = 0 ]
}

@test "a stage that fails for a reason that may pass is retried, fails, and a resume delivers once" {
	port=$(free_port)
	hook_channel "$port" # nothing listens yet: sm-notify exits 75
	payload DiskFull critical
	run --separate-stderr sm-pipeline run --definition direct --payload "$TEST_DIR/payload.json"
	[ "$status" -eq 75 ]
	id=$(last_run)
	[[ "$stderr" == *"sm-pipeline: run $id failed: node \"notify\": sm-notify exited 75"* ]]
	[ "$(sql 'SELECT status, attempts, temporary FROM pipeline_runs')" = "failed	1	1" ]
	# 1 + ORCHESTRATION_MAX_RETRIES_PER_STAGE attempts, each its own row.
	[ "$(sql "SELECT node_id, attempt, status, exit_status FROM stage_executions ORDER BY id")" = "ingest	1	succeeded	0
notify	1	failed	75
notify	2	failed	75
notify	3	failed	75" ]
	trace=$(sql 'SELECT trace_id FROM pipeline_runs')
	receiver "$port" hook
	run --separate-stderr sm-pipeline resume "$id"
	[ "$status" -eq 0 ]
	[ "$(requests hook)" = 1 ]
	[ "$(echo "$output" | json_get '[d["run_id"], d["trace_id"]]')" = "[\"$id\", \"$trace\"]" ]
	# Same run, a second attempt of the run; ingest was not run again.
	[ "$(sql 'SELECT run_id, trace_id, status, attempts, error FROM pipeline_runs')" = "$id	$trace	notified	2	" ]
	[ "$(sql "SELECT node_id, attempt, status FROM stage_executions ORDER BY id")" = "ingest	1	succeeded
notify	1	failed
notify	2	failed
notify	3	failed
notify	4	succeeded" ]
	[ "$(sql 'SELECT count(*) FROM alerts')" = 1 ]
	run sm-pipeline show "$id" --attempts
	[ "$(echo "$output" | json_get '[(s["node"], s["attempts"], [h["status"] for h in s["history"]]) for s in d["stages"]]')" = '[["ingest", 1, ["succeeded"]], ["notify", 4, ["failed", "failed", "failed", "succeeded"]]]' ]
	# A run that is not failed is not resumed.
	run sm-pipeline resume "$id"
	[ "$status" -eq 1 ]
	[ "$output" = "sm-pipeline: run $id is notified: only a failed run can be resumed" ]
	[ "$(requests hook)" = 1 ]
	run sm-pipeline resume no-such-run
	[ "$status" -eq 64 ]
	[ "$output" = "sm-pipeline: unknown run 'no-such-run' (see sm-pipeline runs)" ]
}

@test "a run whose process was killed -9 is resumable; a run still running is not resumed" {
	port=$(free_port)
	hook_channel "$port" >/dev/null
	receiver "$port" hook
	private_bin
	# The first analysis hangs (the run is killed meanwhile); later ones
	# pass the envelopes on.
	fake sm-analyze "if [ ! -e '$TEST_DIR/hung' ]; then : >'$TEST_DIR/hung'; echo \$\$ >>'$TEST_DIR/pids'; exec sleep 60; fi; exec cat"
	payload DiskFull critical
	sm-pipeline run --definition ai-analyzed --payload "$TEST_DIR/payload.json" >/dev/null 2>&1 &
	pid=$!
	echo "$pid" >>"$TEST_DIR/pids"
	for _ in $(seq 400); do [ -e "$TEST_DIR/hung" ] && break; sleep 0.05; done
	[ -e "$TEST_DIR/hung" ]
	id=$(last_run)
	[ "$(sql 'SELECT status FROM pipeline_runs')" = ingested ]
	# Its process is alive: the run is not taken from it.
	run --separate-stderr sm-pipeline resume "$id"
	[ "$status" -eq 1 ]
	[ "$stderr" = "sm-pipeline: run $id is ingested and its process is still running it" ]
	kill -9 "$pid"
	wait "$pid" || true
	[ "$(sql 'SELECT status FROM pipeline_runs')" = ingested ]
	# Its process is gone: the run ends failed and resumes from the node it
	# was in; ingest is not run again, the alert delivered once.
	run --separate-stderr sm-pipeline resume "$id"
	[ "$status" -eq 0 ]
	[[ "$stderr" == *'msg="run left by a process that ended: resuming it"'* ]]
	[ "$(requests hook)" = 1 ]
	[ "$(sql 'SELECT run_id, status, attempts FROM pipeline_runs')" = "$id	notified	2" ]
	[ "$(sql "SELECT node_id, attempt, status, error FROM stage_executions ORDER BY id")" = "ingest	1	succeeded	
analyze	1	failed	its process ended during the stage
analyze	2	succeeded	
notify	1	succeeded	" ]
	[ "$(sql 'SELECT count(*) FROM alerts')" = 1 ]
}

@test "retries and a resume deliver only to the channels that failed: each gets it once" {
	good=$(free_port)
	bad=$(free_port)
	receiver "$good" good
	sm-notify channel add a-good generic "webhook_url=http://127.0.0.1:$good/hook" retries=0
	sm-notify channel add b-bad generic "webhook_url=http://127.0.0.1:$bad/hook" retries=0
	am_payload DiskFull db-01 firing critical >"$TEST_DIR/p1.json"
	am_payload CPUHot web-01 firing warning >>"$TEST_DIR/p1.json"
	run --separate-stderr sm-pipeline run --definition direct --payload "$TEST_DIR/p1.json"
	[ "$status" -eq 75 ]
	id=$(last_run)
	[ "$(requests good)" = 2 ] # one per incident, not one per attempt
	[ "$(sql "SELECT count(*) FROM stage_executions WHERE node_id = 'notify'")" = 3 ]
	receiver "$bad" bad
	run --separate-stderr sm-pipeline resume "$id"
	[ "$status" -eq 0 ]
	[ "$(requests good)" = 2 ]
	[ "$(requests bad)" = 2 ]
	# Each envelope lists each channel once, as delivered.
	[ "$(echo "${lines[0]}" | json_get '[(n["channel"], n["status"]) for n in d["notifications"]]')" = '[["a-good", "sent"], ["b-bad", "sent"]]' ]
	[ "$(echo "${lines[1]}" | json_get '[(n["channel"], n["status"]) for n in d["notifications"]]')" = '[["a-good", "sent"], ["b-bad", "sent"]]' ]
}

@test "a stage that fails for good is not retried: exit 1" {
	cat >"$TEST_DIR/d.json" <<-'JSON'
		{"version":"1","nodes":[{"id":"in","type":"ingest","next":"out"},
		 {"id":"out","type":"notify","config":{"channel":"no-such-channel"}}]}
	JSON
	payload DiskFull
	run --separate-stderr sm-pipeline run --config "$TEST_DIR/d.json" --payload "$TEST_DIR/payload.json"
	[ "$status" -eq 1 ]
	[ "$(sql "SELECT node_id, attempt, status, exit_status FROM stage_executions WHERE node_id = 'out'")" = "out	1	failed	64" ]
	[ "$(sql 'SELECT definition, status, temporary FROM pipeline_runs')" = "$TEST_DIR/d.json	failed	0" ]
	[[ "$(sql 'SELECT error FROM pipeline_runs')" == "node \"out\": sm-notify exited 64: sm-notify: "*"no-such-channel"* ]]
}

@test "a crash and a timeout are failed attempts, retried; the orchestrator lives on" {
	private_bin
	fake sm-analyze 'kill -SEGV $$'
	payload HighLoad
	run --separate-stderr sm-pipeline run --definition ai-analyzed --payload "$TEST_DIR/payload.json"
	[ "$status" -eq 75 ]
	[ "$(sql "SELECT attempt, status FROM stage_executions WHERE node_id = 'analyze'")" = "1	failed
2	failed
3	failed" ]
	[[ "$(sql 'SELECT error FROM pipeline_runs')" == 'node "analyze": sm-analyze was killed by signal 11'* ]]
	fake sm-analyze 'sleep 30'
	cat >"$TEST_DIR/d.json" <<-'JSON'
		{"version":"1","defaults":{"max_retries":1,"timeout_seconds":1},
		 "nodes":[{"id":"in","type":"ingest"},{"id":"analyze","type":"intelligence"}]}
	JSON
	run --separate-stderr sm-pipeline run --config "$TEST_DIR/d.json" --payload "$TEST_DIR/payload.json"
	[ "$status" -eq 75 ]
	id=$(last_run)
	[ "$(sql "SELECT count(*) FROM stage_executions s JOIN pipeline_runs r ON s.run = r.id WHERE r.run_id = '$id' AND s.node_id = 'analyze' AND s.status = 'failed'")" = 2 ]
	[[ "$(sql "SELECT error FROM pipeline_runs WHERE run_id = '$id'")" == 'node "analyze": sm-analyze timed out after 1s' ]]
	# The cause fixed (the real sm-analyze back), the resume carries on.
	ln -sf "$SM_BIN/sm-analyze" "$TEST_DIR/bin/sm-analyze"
	run --separate-stderr sm-pipeline resume "$id"
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | json_get 'd["analysis"]["provider"]')" = local ]
}

@test "a missing or non-executable sibling: one line, exit 1, nothing stored" {
	private_bin
	rm "$TEST_DIR/bin/sm-notify"
	payload HighLoad
	run sm-pipeline run --definition direct --payload "$TEST_DIR/payload.json"
	[ "$status" -eq 1 ]
	[ "$output" = "sm-pipeline: sm-notify: not found next to sm-pipeline nor on PATH" ]
	printf '#!/bin/sh\n' >"$TEST_DIR/bin/sm-notify"
	run sm-pipeline run --definition direct --payload "$TEST_DIR/payload.json"
	[ "$status" -eq 1 ]
	[ "$output" = "sm-pipeline: $TEST_DIR/bin/sm-notify: not executable" ]
	[ "$(runs_count)" = 0 ]
	[ "$(count alerts)" = 0 ]
}

@test "bad input: a payload no driver reads, bad JSON, unknown definition, no payload for ingest" {
	echo '[1, 2]' >"$TEST_DIR/array.json"
	run sm-pipeline run --payload "$TEST_DIR/array.json"
	[ "$status" -eq 65 ]
	[ "$output" = "sm-pipeline: $TEST_DIR/array.json:1: expected a JSON object" ]
	printf '{"a": 1}\n{"b": \n' >"$TEST_DIR/broken.json"
	run sm-pipeline run --payload "$TEST_DIR/broken.json"
	[ "$status" -eq 65 ]
	[[ "$output" == "sm-pipeline: $TEST_DIR/broken.json:"* ]]
	echo '{"hello": "world"}' >"$TEST_DIR/odd.json"
	run --separate-stderr sm-pipeline run --definition direct --payload "$TEST_DIR/odd.json"
	[ "$status" -eq 65 ]
	[[ "$stderr" == "sm-pipeline: input refused: sm-ingest exited 65: sm-ingest: "* ]]
	[ "${#stderr_lines[@]}" -eq 1 ]
	run sm-pipeline run --definition nope --sample
	[ "$status" -eq 64 ]
	[ "$output" = "sm-pipeline: unknown definition 'nope' (see sm-pipeline definition list)" ]
	run sm-pipeline run --definition direct
	[ "$status" -eq 64 ]
	[ "$output" = "sm-pipeline: direct starts with an ingest node: give --payload FILE or --sample" ]
	run sm-pipeline run --sample --trace-id xyz
	[ "$status" -eq 64 ]
	run sm-pipeline run --definition direct --config "$DEFS/checks.json"
	[ "$status" -eq 64 ]
	[ "$(runs_count)" = 0 ]
	[ "$(count alerts)" = 0 ]
}

@test "transform filter_priority: only critical alerts reach the channel" {
	port=$(free_port)
	receiver "$port" hook
	hook_channel "$port"
	payload DiskFull warning
	run --separate-stderr sm-pipeline run --config "$DEFS/critical-only.json" --payload "$TEST_DIR/payload.json"
	[ "$status" -eq 0 ]
	[ "$output" = "" ]
	[ "$(requests hook)" = 0 ]
	[ "$(sql "SELECT node_id, status FROM stage_executions ORDER BY id")" = "in	succeeded
pick	succeeded
out	succeeded" ]
	payload CPUHot critical
	run --separate-stderr sm-pipeline run --config "$DEFS/critical-only.json" --payload "$TEST_DIR/payload.json"
	[ "$status" -eq 0 ]
	[ "$(requests hook)" = 1 ]
	[ "$(echo "$output" | json_get '[a["severity"] for a in d["alerts"]]')" = '["critical"]' ]
}

@test "transform mapping and extract copy values; a node not required may fail; skip_if_errors" {
	private_bin
	fake sm-analyze 'exit 1'
	cat >"$TEST_DIR/d.json" <<-'JSON'
		{"version":"1","nodes":[
		 {"id":"in","type":"ingest"},
		 {"id":"ai","type":"intelligence","required":false},
		 {"id":"shape","type":"transform","skip_if_errors":["ai"],"config":{"source_node":"in"}},
		 {"id":"map","type":"transform","config":{"source_node":"in","extract":"incident.title",
		  "mapping":{"who":"alerts","sev":"incident.severity","none":"no.such"}}}]}
	JSON
	payload DiskFull critical
	run --separate-stderr sm-pipeline run --config "$TEST_DIR/d.json" --payload "$TEST_DIR/payload.json"
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | json_get '[d["transformed"], d["sev"], d["none"], d["who"][0]["name"]]')" = '["DiskFull on db-01", "critical", null, "DiskFull"]' ]
	[ "$(sql "SELECT node_id, status FROM stage_executions ORDER BY id")" = "in	succeeded
ai	failed
shape	skipped
map	succeeded" ]
	[ "$(sql 'SELECT status FROM pipeline_runs')" = notified ]
}

@test "context first: sm-check --alerts starts the stream; --checks-only ends checked" {
	host cli-crit
	port=$(free_port)
	receiver "$port" hook
	hook_channel "$port"
	run --separate-stderr sm-pipeline run --config "$DEFS/checks.json"
	[ "$status" -eq 0 ]
	[ "$(requests hook)" -ge 1 ]
	[ "$(sql 'SELECT status FROM pipeline_runs')" = notified ]
	[ "$(sql "SELECT count(*) FROM alerts WHERE source = 'local'")" -ge 1 ]
	n=$(requests hook)
	run --separate-stderr sm-pipeline run --config "$DEFS/checks.json" --checks-only
	[ "$status" -eq 0 ]
	[ "$(requests hook)" = "$n" ]
	id=$(last_run)
	[ "$(sql "SELECT r.status, group_concat(s.node_id) FROM pipeline_runs r JOIN stage_executions s ON s.run = r.id WHERE r.run_id = '$id'")" = "checked	check" ]
	run sm-pipeline run --definition direct --checks-only
	[ "$status" -eq 64 ]
	[ "$output" = "sm-pipeline: nothing to run: the definition has no context node" ]
	run sm-pipeline run --checks-only --sample
	[ "$status" -eq 64 ]
	[ "$output" = "sm-pipeline: --checks-only runs the checks alone: no payload" ]
}

@test "runs: newest first, --status, --limit (0 = all); show of an unknown run is 64" {
	payload A
	for _ in 1 2 3; do
		sm-pipeline run --definition direct --payload "$TEST_DIR/payload.json" >/dev/null 2>&1
	done
	sm-pipeline run --definition direct --payload "$TEST_DIR/payload.json" --source grafana >/dev/null 2>&1
	run sm-pipeline runs --limit 2
	[ "${#lines[@]}" -eq 2 ]
	[ "$(echo "${lines[0]}" | json_get '[d["source"], d["status"]]')" = '["grafana", "notified"]' ]
	run sm-pipeline runs --limit 0
	[ "${#lines[@]}" -eq 4 ]
	run sm-pipeline runs --status failed
	[ "$output" = "" ]
	run sm-pipeline runs --status notified
	[ "${#lines[@]}" -eq 4 ]
	[ "$(echo "${lines[0]}" | json_get 'sorted(d)')" = '["attempts", "current_stage", "definition", "duration_ms", "error", "finished_at", "incident_id", "run_id", "source", "started_at", "status", "trace_id"]' ]
	run sm-pipeline runs --limit x
	[ "$status" -eq 64 ]
	run sm-pipeline show 00000000-0000-4000-8000-000000000000
	[ "$status" -eq 64 ]
}

@test "every log line of a run carries its run_id and trace_id" {
	payload A
	trace=fedcba9876543210fedcba9876543210
	run --separate-stderr env SM_LOG_LEVEL=info sm-pipeline run --definition direct --payload "$TEST_DIR/payload.json" --trace-id $trace
	[ "$status" -eq 0 ]
	id=$(last_run)
	mine=$(echo "$stderr" | grep 'tool=sm-pipeline')
	[ "$(echo "$mine" | wc -l)" -ge 5 ]
	[ "$(echo "$mine" | grep -vc "trace_id=$trace .*run_id=$id")" = 0 ]
	# The stages' own lines come with the run's id added.
	[ "$(echo "$stderr" | grep -c 'tool=sm-notify')" -ge 1 ]
	[ "$(echo "$stderr" | grep '^ts=' | grep -vc "run_id=$id")" = 0 ]
}

@test "on a terminal: run, runs and show print the run and its stages as tables" {
	tty() { /usr/bin/python3 "$DEFS/pty_answer.py" -- env NO_COLOR=1 sm-pipeline "$@"; }
	payload A
	run tty run --definition direct --payload "$TEST_DIR/payload.json"
	[ "$status" -eq 0 ]
	id=$(last_run)
	[[ "$output" == *"run $id: notified"* ]]
	[[ "$output" == *"  definition direct, trace "*", source cli, attempts 1"* ]]
	[[ "$output" == *$'\n'"node    type    status     attempts  duration_ms  error"$'\n'* ]]
	[[ "$output" == *$'\n'"notify  notify  succeeded  1 "* ]]
	run tty runs
	[[ "$output" == *"run_id"*"definition"*"status"* ]]
	[[ "$output" == *"$id  direct      notified"* ]]
	run tty show "$id" --attempts
	[[ "$output" == *$'\n'"ingest  ingest  succeeded  #1 "* ]]
	run tty definition list
	[[ "$output" == *$'\n'"full            yes      ingest -> check -> analyze -> notify"* ]]
}

# --- metrics -------------------------------------------------------------------

@test "metrics: logging lines, statsd datagrams counted, a prometheus textfile" {
	payload A
	run --separate-stderr env SM_LOG_LEVEL=info ORCHESTRATION_METRICS_BACKEND=logging \
		sm-pipeline run --definition direct --payload "$TEST_DIR/payload.json"
	[ "$status" -eq 0 ]
	id=$(last_run)
	[ "$(echo "$stderr" | grep -c "msg=metric run_id=$id signal=pipeline.stage.succeeded")" = 2 ]
	[ "$(echo "$stderr" | grep -c "msg=metric run_id=$id signal=pipeline.started stage=pipeline source=cli")" = 1 ]

	port=$(free_port)
	/usr/bin/python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.settimeout(5)
with open(sys.argv[2], "a") as f:
    while True:
        try:
            f.write(s.recv(2048).decode() + "\n"); f.flush()
        except socket.timeout:
            break' "$port" "$TEST_DIR/udp.log" &
	echo $! >>"$TEST_DIR/pids"
	sleep 0.2
	STATSD_HOST=127.0.0.1 STATSD_PORT=$port ORCHESTRATION_METRICS_BACKEND=statsd \
		sm-pipeline run --definition direct --payload "$TEST_DIR/payload.json" --source grafana >/dev/null 2>&1
	for _ in $(seq 50); do
		grep -q 'sm.pipeline.duration.pipeline.grafana' "$TEST_DIR/udp.log" 2>/dev/null && break
		sleep 0.1
	done
	grep -qx 'sm.pipeline.started.pipeline.grafana:1|c' "$TEST_DIR/udp.log"
	grep -qx 'sm.pipeline.notified.pipeline.grafana:1|c' "$TEST_DIR/udp.log"
	[ "$(grep -c '^sm.pipeline.stage.succeeded.ingest.grafana:1|c$' "$TEST_DIR/udp.log")" = 1 ]
	grep -q '^sm.pipeline.stage.duration.notify.grafana:[0-9.]*|ms$' "$TEST_DIR/udp.log"

	prom="$TEST_DIR/sm_pipeline.prom"
	SM_METRICS_TEXTFILE=$prom ORCHESTRATION_METRICS_BACKEND=prometheus \
		sm-pipeline run --definition direct --payload "$TEST_DIR/payload.json" >/dev/null 2>&1
	grep -qx 'sm_pipeline_runs_total{status="notified"} 3' "$prom"
	grep -qx 'sm_pipeline_stage_attempts_total{stage="notify",status="succeeded"} 3' "$prom"
	grep -qx 'sm_pipeline_run_duration_seconds_count 3' "$prom"
	grep -qx 'sm_pipeline_stage_duration_seconds_bucket{stage="ingest",le="+Inf"} 3' "$prom"
	[ -z "$(find "$TEST_DIR" -maxdepth 1 -name '*.tmp')" ]
	run sm-pipeline runs
	[ "$status" -eq 0 ]
	run env ORCHESTRATION_METRICS_BACKEND=carrier-pigeon sm-pipeline run --sample
	[ "$status" -eq 64 ]
	run env ORCHESTRATION_METRICS_BACKEND=prometheus sm-pipeline resume x
	[ "$status" -eq 64 ]
	[ "$output" = "sm-pipeline: ORCHESTRATION_METRICS_BACKEND prometheus needs SM_METRICS_TEXTFILE" ]
}

# --- setup ---------------------------------------------------------------------

@test "setup on a terminal: asks, keeps the secret off the screen, stores; run again, shows it" {
	# shellcheck disable=SC2317 # run by bats's run
	ask() { /usr/bin/python3 "$DEFS/pty_answer.py" "$@" -- sm-pipeline setup; }
	run ask 2 memory,load "" generic "webhook_url=http://127.0.0.1:9/SECRET-PATH retries=0" "" "" mine ""
	[ "$status" -eq 0 ]
	[[ "$output" == *"Preset (number or name) [1]: 2"* ]]
	[[ "$output" == *"generic settings as KEY=VALUE words (not echoed): "* ]]
	[[ "$output" != *"SECRET-PATH"* ]]
	[[ "$output" == *"stored as mine: run it with sm-pipeline run --definition mine"* ]]
	[ "$(sm-pipeline definition show mine | json_get '[d["description"], [n.get("config") for n in d["nodes"]]]')" = '["Setup wizard: local-smart", [{"checker_names": ["memory", "load"]}, {"provider": "local"}, {"channels": ["ops-generic"]}]]' ]
	[ "$(sql "SELECT driver FROM notification_channels WHERE name = 'ops-generic'")" = generic ]
	run ask ""
	[ "$status" -eq 0 ]
	[[ "$output" == *"  mine (local-smart): check -> analyze -> notify"* ]]
	[[ "$output" == *"    check checker_names: [\"memory\",\"load\"]"* ]]
	[[ "$output" == *"Nothing changed."* ]]
	# Changing it: the preset direct, the existing channel, the same name.
	run ask y direct "" ops-generic "" ""
	[ "$status" -eq 0 ]
	[ "$(sm-pipeline definition show mine | json_get '[d["description"], [n["type"] for n in d["nodes"]]]')" = '["Setup wizard: direct", ["ingest", "notify"]]' ]
}

@test "setup with options asks nothing; bad answers are 64 and store nothing" {
	sm-notify channel add hook generic "webhook_url=http://127.0.0.1:9/x"
	run sm-pipeline setup --preset local-monitor --name cron --checker memory --checker swap --channel hook
	[ "$status" -eq 0 ]
	[[ "${lines[-1]}" == "stored as cron: run it with sm-pipeline run --definition cron" ]]
	[ "$(sm-pipeline definition show cron | json_get '[n.get("config") for n in d["nodes"]]')" = '[{"checker_names": ["memory", "swap"]}, {"channels": ["hook"]}]' ]
	run sm-pipeline setup --preset nope
	[ "$status" -eq 64 ]
	[ "$output" = "sm-pipeline: unknown preset 'nope' (see sm-pipeline definition list)" ]
	run sm-pipeline setup --preset full --checker nope --name other
	[ "$status" -eq 64 ]
	run sm-pipeline setup --preset full --channel nope --name other
	[ "$status" -eq 64 ]
	[ "$output" = "sm-pipeline: unknown channel 'nope' (see sm-notify channel list)" ]
	run sm-pipeline setup --preset full --name full
	[ "$status" -eq 64 ]
	run sm-pipeline setup </dev/null
	[ "$status" -eq 64 ]
	[ "$output" = "sm-pipeline: setup: give --preset NAME, or run it on a terminal to be asked" ]
	[ "$(sql 'SELECT name FROM pipeline_definitions')" = cron ]
}

@test "setup adds its channel through sm-notify: a bad setting is 64 with its message, nothing stored" {
	ask() { /usr/bin/python3 "$DEFS/pty_answer.py" "$@" -- sm-pipeline setup; }
	run ask 3 generic "webhook_url=http://127.0.0.1:9/SECRET-PATH colour=red" ""
	[ "$status" -eq 64 ]
	[[ "$output" == *"sm-pipeline: unknown key 'colour' for driver generic (keys: "* ]]
	[[ "$output" != *"SECRET-PATH"* ]]
	[ "$(sql 'SELECT count(*) FROM notification_channels')" = 0 ]
	[ "$(sql 'SELECT count(*) FROM pipeline_definitions')" = 0 ]
	# Settings are split at blanks only: a value may be a comma-separated list.
	run ask 3 email "smtp_host=mx.example from_address=sm@example.org to_addresses=a@example.org,b@example.org" mail "" "" ""
	[ "$status" -eq 0 ]
	[ "$(sql "SELECT config FROM notification_channels WHERE name = 'mail'" | json_get 'd["to_addresses"]')" = '["a@example.org", "b@example.org"]' ]
}

@test "a notify node's drivers: every enabled channel of those drivers" {
	sm-notify channel add g1 generic webhook_url=http://127.0.0.1:9/a
	sm-notify channel add g2 generic webhook_url=http://127.0.0.1:9/b
	sm-notify channel disable g2
	sm-notify channel add s1 slack webhook_url=https://h.example/x
	sm-notify channel add s2 slack webhook_url=https://h.example/y
	printf '%s' '{"version":"1","nodes":[{"id":"in","type":"ingest","next":"n"},{"id":"n","type":"notify","config":{"drivers":["generic","slack"],"channel":"g2"}}]}' >"$TEST_DIR/d.json"
	run sm-pipeline run --config "$TEST_DIR/d.json" --sample --dry-run
	[ "$status" -eq 0 ]
	[[ "${lines[2]}" == *"/sm-notify --channel g2 --channel g1 --channel s1 --channel s2" ]]
}

# No tool links libcurl: one loads it when it first sends, so that none of
# sm-pipeline's commands, and no run of a tool that sends nothing, pays for
# its 30 libraries.
@test "no tool links libcurl; sm-notify loads it to send, not to list its channels" {
	for tool in sm-pipeline sm-check sm-ingest sm-notify sm-analyze sm-push-hub; do
		run readelf -d "$SM_BIN/$tool"
		[ "$status" -eq 0 ]
		[[ "$output" != *libcurl* ]]
	done
	# Port 9 on loopback: nothing listens, the delivery fails at once.
	sm-notify channel add h generic webhook_url=http://127.0.0.1:9/h >/dev/null
	LD_DEBUG=files sm-notify channel list >/dev/null 2>"$TEST_DIR/ld"
	run grep -c 'file=libcurl' "$TEST_DIR/ld"
	[ "$output" = 0 ]
	run --separate-stderr env LD_DEBUG=files sm-notify channel test h
	[ "$status" -eq 75 ]
	[[ "$output" == *'"error":"connect to 127.0.0.1 port 9:'* ]]
	[[ "$stderr" == *"file=libcurl"*"dynamically loaded by"* ]]
}

@test "a libcurl that cannot be loaded: the delivery fails saying so, nothing else does" {
	sm-notify channel add h generic webhook_url=http://127.0.0.1:9/h >/dev/null
	SM_CURL_LIBRARY=libsm-no-such-curl.so.4 run sm-notify channel test h
	[ "$status" -eq 75 ]
	[[ "$output" == *'"error":"cannot load libcurl: libsm-no-such-curl.so.4: cannot open shared object file'* ]]
	SM_CURL_LIBRARY=libsm-no-such-curl.so.4 run sm-notify channel list
	[ "$status" -eq 0 ]
	[[ "$output" == *h*generic* ]]
}

@test "listings check their writes: a full disk exits 1 'write error'" {
	for cmd in "definition list" "definition list --json" "definition show full"; do
		run --separate-stderr bash -c "sm-pipeline $cmd >/dev/full"
		[ "$status" -eq 1 ]
		[[ "$stderr" == "sm-pipeline: standard output: write error: No space left on device" ]]
	done
}
