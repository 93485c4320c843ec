#!/usr/bin/env bats
# sm-notify kept running as `sm-pipeline work` keeps it (a filter handed one
# envelope at a time, tests/fixtures/bin/stage_filter.py): what it keeps
# between envelopes (its connection to a receiver, its parsed templates and
# noise rules, its prepared statements) never hides what changed in between.
# shellcheck disable=SC2154 # bats sets $output

bats_require_minimum_version 1.5.0
load helpers

setup() {
	setup_sm
	export SM_NOTIFY_BACKOFF_S=0.05
	: >"$TEST_DIR/pids"
}

teardown() {
	stop_pids "$TEST_DIR/pids"
	teardown_sm
}

# start_receiver NAME [receiver.py flags]: a receiver logging to
# $TEST_DIR/NAME.log; its URL is printed.
start_receiver() { receiver_start "$TEST_DIR" "$1" "$1" "${@:2}"; }

# A Python expression over each request a receiver logged (`req`, `body`
# its parsed JSON), one line each.
each_req() { # NAME EXPR
	/usr/bin/python3 -c '
import json, sys
for line in open(sys.argv[1]).read().splitlines():
    req = json.loads(line)
    body = json.loads(req["body"]) if req["body"] else None
    v = eval(sys.argv[2])
    print(json.dumps(v) if isinstance(v, (dict, list, tuple, bool)) or v is None else v)' \
		"$TEST_DIR/$1.log" "$2"
}

# envelope NAME ALERTNAME [INSTANCE]: an envelope of sm-ingest into
# $TEST_DIR/NAME.json (a new incident for each alert name and instance).
envelope() {
	am_payload "$2" "${3:-web-1}" firing | sm-ingest -d alertmanager >"$TEST_DIR/$1.json"
}

# filter STEP...: sm-notify as a filter through the steps; its lines of
# "STATUS<TAB>ENVELOPE" and "exit N" in $output.
filter() {
	printf '%s\n' "$@" >"$TEST_DIR/steps"
	run --separate-stderr /usr/bin/python3 "$SM_FIXTURES/bin/stage_filter.py" sm-notify \
		<"$TEST_DIR/steps"
}

# The notification entries of envelope line N (from 1) of $output.
entries() { # N EXPR
	echo "$output" | sed -n "${1}p" | cut -f2- | json_get "$2"
}

@test "filter: envelope after envelope over one TCP connection to a receiver that keeps it" {
	url=$(start_receiver hook --keep-alive)
	sm-notify channel add hook generic "webhook_url=$url"
	envelope one AlphaDown
	envelope two BetaDown
	envelope three GammaDown
	filter "envelope $TEST_DIR/one.json" "envelope $TEST_DIR/two.json" "envelope $TEST_DIR/three.json"
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | cut -f1)" = "$(printf '0\n0\n0\nexit 0')" ]
	[ "$(each_req hook 'req["connection"], body["alerts"][0]["labels"]["alertname"]')" = \
		"$(printf '[1, "AlphaDown"]\n[1, "BetaDown"]\n[1, "GammaDown"]')" ]
	[ "$(sql "SELECT status, http_status FROM notification_deliveries ORDER BY id")" = \
		"$(printf 'sent\t200\nsent\t200\nsent\t200')" ]
}

@test "filter: a 500 on a kept connection is retried, each try recorded" {
	printf '500 - {"busy":true}\n200\n' >"$TEST_DIR/script"
	url=$(start_receiver hook --keep-alive --script "$TEST_DIR/script")
	sm-notify channel add hook generic "webhook_url=$url"
	envelope one AlphaDown
	envelope two BetaDown
	filter "envelope $TEST_DIR/one.json" "envelope $TEST_DIR/two.json"
	[ "$status" -eq 0 ]
	[ "$(entries 1 'd["notifications"][0]["status"], d["notifications"][0]["attempts"]')" = '["sent", 2]' ]
	[ "$(entries 2 'd["notifications"][0]["status"], d["notifications"][0]["attempts"]')" = '["sent", 1]' ]
	[ "$(each_req hook 'req["connection"]')" = "$(printf '1\n1\n1')" ]
	[ "$(sql "SELECT status, attempt, http_status, reason FROM notification_deliveries ORDER BY id")" = \
		"$(printf 'failed\t1\t500\tincident created\nsent\t2\t200\tincident created\nsent\t1\t200\tincident created')" ]
}

@test "filter: a silence added between two envelopes holds the second back; expired, the third goes" {
	url=$(start_receiver hook)
	sm-notify channel add hook generic "webhook_url=$url"
	envelope one DiskFull web-1
	envelope two DiskFull web-2
	envelope three DiskFull web-3
	filter "envelope $TEST_DIR/one.json" \
		"run sm-notify silence add alertname=DiskFull --duration 1h >'$TEST_DIR/silence'" \
		"envelope $TEST_DIR/two.json" \
		"run sm-notify silence expire \$(cat '$TEST_DIR/silence')" \
		"envelope $TEST_DIR/three.json"
	[ "$status" -eq 0 ]
	id=$(cat "$TEST_DIR/silence")
	[ -n "$id" ]
	[ "$(entries 1 'd["notifications"][0]["status"]')" = sent ]
	[ "$(entries 2 'd["notifications"][0]["status"], d["notifications"][0]["reason"]')" = \
		"[\"skipped\", \"silenced by $id\"]" ]
	[ "$(entries 3 'd["notifications"][0]["status"]')" = sent ]
	[ "$(each_req hook 'body["alerts"][0]["labels"]["instance"]')" = "$(printf 'web-1\nweb-3')" ]
}

@test "filter: an inhibit rule or maintenance window added between envelopes applies to the next" {
	url=$(start_receiver hook)
	sm-notify channel add hook generic "webhook_url=$url"
	envelope src NodeDown db-1
	envelope one Load db-1
	envelope two Load db-2
	filter "envelope $TEST_DIR/src.json" \
		"run sm-notify inhibit add --source alertname=NodeDown --target alertname=Load --equal instance" \
		"envelope $TEST_DIR/one.json" \
		"run sm-notify maintenance add instance=db-2 --schedule 'daily 00:00-24:00'" \
		"envelope $TEST_DIR/two.json"
	[ "$status" -eq 0 ]
	[ "$(entries 2 'd["notifications"][0]["reason"]')" = "inhibited by NodeDown on db-1" ]
	[[ "$(entries 3 'd["notifications"][0]["reason"]')" == "maintenance "* ]]
	[ "$(each_req hook 'body["alerts"][0]["labels"]["alertname"]')" = NodeDown ]
}

@test "filter: repeat_interval sees the deliveries this process recorded and those changed since" {
	url=$(start_receiver hook)
	url2=$(start_receiver always)
	sm-notify channel add hook generic "webhook_url=$url"
	sm-notify channel add always generic "webhook_url=$url2" repeat_interval=0
	am_payload ProbeFailure web-1 firing >"$TEST_DIR/payload"
	sm-ingest -d alertmanager <"$TEST_DIR/payload" >"$TEST_DIR/one.json"
	sm-ingest -d alertmanager <"$TEST_DIR/payload" >"$TEST_DIR/again.json"
	filter "envelope $TEST_DIR/one.json" "envelope $TEST_DIR/again.json" \
		"run /usr/bin/python3 -c \"import sqlite3; c = sqlite3.connect('$SM_DB'); c.execute(\\\"UPDATE notification_deliveries SET created_at = '2020-01-01T00:00:00.000Z' WHERE channel = 'hook'\\\"); c.commit()\"" \
		"envelope $TEST_DIR/again.json"
	[ "$status" -eq 0 ]
	[ "$(entries 1 '[(n["channel"], n["status"], n["reason"]) for n in d["notifications"]]')" = \
		'[["always", "sent", "incident created"], ["hook", "sent", "incident created"]]' ]
	[ "$(entries 2 '[(n["channel"], n["status"], n["reason"]) for n in d["notifications"]]')" = \
		'[["always", "sent", "repeat_interval 0"], ["hook", "skipped", "unchanged within repeat_interval"]]' ]
	[ "$(entries 3 '[(n["channel"], n["status"], n["reason"]) for n in d["notifications"]]')" = \
		'[["always", "sent", "repeat_interval 0"], ["hook", "sent", "reminder"]]' ]
	[ "$(wc -l <"$TEST_DIR/hook.log")" -eq 2 ]
	[ "$(wc -l <"$TEST_DIR/always.log")" -eq 3 ]
}

@test "filter: a template file edited between envelopes is read again; broken, the delivery fails" {
	export SM_TEMPLATE_DIR=$TEST_DIR/templates
	mkdir -p "$SM_TEMPLATE_DIR"
	echo '{"v": 1, "title": "{{title}}"}' >"$SM_TEMPLATE_DIR/body.json"
	url=$(start_receiver hook)
	sm-notify channel add hook generic "webhook_url=$url" template_file=body.json
	for e in one two three four; do envelope "$e" "Alert$e"; done
	filter "envelope $TEST_DIR/one.json" "envelope $TEST_DIR/two.json" \
		"run echo '{\"version\": 2, \"alert\": \"{{alerts.0.name}}\"}' >'$SM_TEMPLATE_DIR/body.json'" \
		"envelope $TEST_DIR/three.json" \
		"run echo '{\"version\": {{' >'$SM_TEMPLATE_DIR/body.json'" \
		"envelope $TEST_DIR/four.json"
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | cut -f1)" = "$(printf '0\n0\n0\n75\nexit 75')" ]
	[ "$(each_req hook 'body')" = "$(printf '%s\n' '{"v": 1, "title": "Alertone on web-1"}' \
		'{"v": 1, "title": "Alerttwo on web-1"}' '{"version": 2, "alert": "Alertthree"}')" ]
	[[ "$(entries 4 'd["notifications"][0]["status"], d["notifications"][0]["error"]')" == '["failed", "'*body.json* ]]
}
