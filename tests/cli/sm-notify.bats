#!/usr/bin/env bats
# sm-notify end to end: channels on the command line, envelopes from the
# real sm-ingest delivered to loopback receivers standing in for Slack,
# PagerDuty and a generic endpoint, retries, repeats, the exec and stdout
# drivers, and bad input.
# shellcheck disable=SC2154 # bats sets $stderr for run --separate-stderr

bats_require_minimum_version 1.5.0
load helpers

setup() {
	setup_sm
	export SM_NOTIFY_BACKOFF_S=0.05 # keep the retry tests quick
	: >"$TEST_DIR/pids"
}

teardown() {
	while read -r pid; do
		kill "$pid" 2>/dev/null || true
	done <"$TEST_DIR/pids"
	teardown_sm
}

# start_receiver NAME [receiver.py flags]: a receiver logging to
# $TEST_DIR/NAME.log; its URL is printed.
start_receiver() { receiver_start "$TEST_DIR" "$1" "$1/SECRET-PATH" "${@:2}"; }

# The number of requests a receiver got.
requests() { wc -l <"$TEST_DIR/$1.log" | tr -d ' '; }

# Evaluate a Python expression over request N (from 0) of receiver NAME:
# `req` is the logged request, `body` its parsed JSON body.
req() { # NAME N EXPR
	/usr/bin/python3 -c '
import json, sys
req = json.loads(open(sys.argv[1]).read().splitlines()[int(sys.argv[2])])
body = json.loads(req["body"]) if req["body"] else None
v = eval(sys.argv[3])
print(json.dumps(v) if isinstance(v, (dict, list, tuple, bool)) or v is None else v)' \
		"$TEST_DIR/$1.log" "$2" "$3"
}

ingest() { sm-ingest "$@" >"$TEST_DIR/env.json"; }

# An envelope of checks only (as sm-check writes without --alerts).
checks_env() { # STATUS...
	/usr/bin/python3 -c '
import json, sys
print(json.dumps({"v": 1, "source": "local", "host": "web-1", "incident": None, "alerts": [],
                  "checks": [{"checker": "c%d" % i, "status": s, "message": "c%d is %s" % (i, s)}
                             for i, s in enumerate(sys.argv[1:])]}))' "$@"
}

@test "--help, --version and usage errors" {
	run sm-notify --help
	[ "$status" -eq 0 ]
	[[ "$output" == *"sm-notify channel add NAME DRIVER"* ]]
	# The drivers' texts come from their rows: description and keys.
	[[ "$output" == *"  exec          a program run with the envelope on stdin (no shell)
                keys: command (required), env
"* ]]
	[[ "$output" == *"  every driver takes: repeat_interval, min_severity, template_file,"* ]]
	[ "$(echo "$output" | grep -c '^  [a-z]\{1,\}  \{1,\}[A-Za-z]')" = 7 ]
	run sm-notify --version
	[ "$status" -eq 0 ]
	[[ "$output" == "sm-notify "* ]]
	run sm-notify --bogus
	[ "$status" -eq 64 ]
	[[ "$output" == "sm-notify: unknown option '--bogus'"* ]]
	run sm-notify channel frobnicate x
	[ "$status" -eq 64 ]
	run sm-notify one two
	[ "$status" -eq 64 ]
	SM_NOTIFY_RETRIES=many run sm-notify </dev/null
	[ "$status" -eq 64 ]
	[ "$output" = "sm-notify: SM_NOTIFY_RETRIES must be a whole number from 0 to 10" ]
}

@test "listings fail on a write error: exit 1 and a message" {
	sm-notify channel add ops stdout
	for cmd in "channel list" "channel list --json" "channel show ops" "channel show ops --json" "--help" "--version"; do
		run sh -c "sm-notify $cmd >&-"
		[ "$status" -eq 1 ]
		[ "$output" = "sm-notify: standard output: write error: Bad file descriptor" ]
		run sh -c "sm-notify $cmd >/dev/full"
		[ "$status" -eq 1 ]
		[ "$output" = "sm-notify: standard output: write error: No space left on device" ]
	done
	run sh -c "sm-notify test stdout 2>&1 >/dev/full"
	[ "$status" -eq 1 ]
	[[ "$output" == *"sm-notify: standard output: write error: No space left on device" ]]
}

@test "channel add: unknown driver or key, missing required key, bad values are 64 naming them" {
	run sm-notify channel add ops fax number=1
	[ "$status" -eq 64 ]
	[ "$output" = "sm-notify: unknown driver 'fax' (available: alertmanager, email, exec, generic, pagerduty, slack, stdout)" ]
	run sm-notify channel add ops slack webhook_url=https://h/x colour=red
	[ "$status" -eq 64 ]
	[[ "$output" == "sm-notify: unknown key 'colour' for driver slack"* ]]
	run sm-notify channel add ops pagerduty api_url=https://x/
	[ "$status" -eq 64 ]
	[ "$output" = "sm-notify: driver pagerduty needs integration_key" ]
	run sm-notify channel add ops email smtp_host=mx to_addresses=a@b.example
	[ "$status" -eq 64 ]
	[ "$output" = "sm-notify: driver email needs from_address" ]
	run sm-notify channel add ops slack webhook_url=ftp://hooks/x
	[ "$status" -eq 64 ]
	[[ "$output" == "sm-notify: webhook_url: not an http(s) URL"* ]]
	run sm-notify channel add ops email smtp_host=mx from_address=me to_addresses=a@b.example
	[ "$status" -eq 64 ]
	[ "$output" = "sm-notify: from_address: not an e-mail address: 'me'" ]
	run sm-notify channel add ops slack webhook_url=https://h/x repeat_interval=-5
	[ "$status" -eq 64 ]
	[[ "$output" == "sm-notify: repeat_interval: expected seconds"* ]]
	run sm-notify channel add 'bad name' slack webhook_url=https://h/x
	[ "$status" -eq 64 ]
	# Nothing was stored by any of them.
	run sm-notify channel list --json
	[ "$status" -eq 0 ]
	[ -z "$output" ]
}

@test "channels: add, list, show, disable, enable, rm; secrets never printed" {
	printf 'https://hooks.slack.com/services/T0/B0/SLACKSECRET\n' >"$TEST_DIR/hook"
	sm-notify channel add ops-slack slack "webhook_url=@$TEST_DIR/hook" repeat_interval=600
	sm-notify channel add pd pagerduty integration_key=PDSECRETPDSECRETPDSECRET
	sm-notify channel add mail email smtp_host=mx.example from_address=sm@example.org \
		to_addresses=a@example.org,b@example.org username=sm password=MAILSECRET
	sm-notify channel add hook generic 'webhook_url=https://h.example/hook?token=URLSECRET' \
		secret=HMACSECRET 'headers={"Authorization":"Bearer HEADERSECRET"}'
	run sm-notify channel add pd slack webhook_url=https://h/x
	[ "$status" -eq 64 ]
	[ "$output" = "sm-notify: channel 'pd' exists already (rm it first)" ]
	run sm-notify channel list
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 4 ]
	[[ "$output" != *SECRET* ]]
	[ "$(echo "${lines[2]}" | json_get 'd["name"], d["driver"], d["enabled"], d["config"]')" = \
		'["ops-slack", "slack", true, {"webhook_url": "https://hooks.slack.com/********", "repeat_interval": 600}]' ]
	for name in ops-slack pd mail hook; do
		run sm-notify channel show "$name"
		[ "$status" -eq 0 ]
		[[ "$output" != *SECRET* ]]
	done
	run sm-notify channel show mail
	[ "$(echo "$output" | json_get 'd["config"]')" = \
		'{"smtp_host": "mx.example", "from_address": "sm@example.org", "to_addresses": ["a@example.org", "b@example.org"], "username": "sm", "password": "********"}' ]
	run sm-notify channel show hook
	[ "$(echo "$output" | json_get 'd["config"]')" = \
		'{"webhook_url": "https://h.example/********", "secret": "********", "headers": {"Authorization": "********"}}' ]
	# The store keeps the real values.
	[ "$(sql "SELECT json_extract(config, '\$.webhook_url') FROM notification_channels WHERE name = 'ops-slack'")" = \
		https://hooks.slack.com/services/T0/B0/SLACKSECRET ]
	sm-notify channel disable pd
	[ "$(sm-notify channel show pd | json_get 'd["enabled"]')" = false ]
	sm-notify channel enable pd
	[ "$(sm-notify channel show pd | json_get 'd["enabled"]')" = true ]
	sm-notify channel rm pd
	run sm-notify channel show pd
	[ "$status" -eq 64 ]
	[ "$output" = "sm-notify: no channel 'pd' (see sm-notify channel list)" ]
	run sm-notify channel disable pd
	[ "$status" -eq 64 ]
}

@test "channel add NAME DRIVER -: the settings from stdin, one a line, checked the same" {
	printf 'webhook_url=https://h.example/hook?token=STDINSECRET\r\n\nheaders={"X-Team": "on call"}\nretries=0' |
		sm-notify channel add hook generic -
	[ "$(sql "SELECT config FROM notification_channels WHERE name = 'hook'" | json_get 'd')" = \
		'{"webhook_url": "https://h.example/hook?token=STDINSECRET", "headers": {"X-Team": "on call"}, "retries": 0}' ]
	run bash -c 'printf "webhook_url=https://h/x\ncolour=red\n" | sm-notify channel add other slack -'
	[ "$status" -eq 64 ]
	[[ "$output" == "sm-notify: unknown key 'colour' for driver slack"* ]]
	run bash -c 'head -c 1100000 /dev/zero | tr "\\0" x | sm-notify channel add other slack -'
	[ "$status" -eq 64 ]
	[ "$output" = "sm-notify: standard input: settings longer than 1 MiB" ]
	[ "$(sql 'SELECT group_concat(name) FROM notification_channels')" = hook ]
}

@test "no channel at all: the stdout driver, text on stderr, the envelope alone on stdout" {
	ingest "$SM_FIXTURES/payloads/alertmanager/firing.json"
	run --separate-stderr sm-notify "$TEST_DIR/env.json"
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 1 ]
	[ "$(echo "$output" | json_get 'd["notifications"]')" = \
		'[{"channel": "stdout", "driver": "stdout", "status": "sent", "attempts": 1, "error": null, "reason": "incident created"}]' ]
	[ "$(echo "$output" | json_get '[s["stage"] for s in d["stages"]]')" = '["ingest", "notify"]' ]
	[[ "$stderr" == *"[CRITICAL] ProbeFailure on https://shop.example.org (firing)"* ]]
	[[ "$stderr" == *"- ProbeFailure [firing, critical]: https://shop.example.org has been down"* ]]
	# The stand-in is recorded like any channel, so repeats are skipped.
	[ "$(sql "SELECT channel, status, attempt FROM notification_deliveries")" = "$(printf 'stdout\tsent\t1')" ]
	sm-ingest "$SM_FIXTURES/payloads/alertmanager/firing.json" | sm-notify >"$TEST_DIR/out.json" 2>"$TEST_DIR/err"
	[ "$(json_get 'd["notifications"][0]["status"], d["notifications"][0]["reason"]' <"$TEST_DIR/out.json")" = \
		'["skipped", "unchanged within repeat_interval"]' ]
	[ ! -s "$TEST_DIR/err" ]
}

@test "an envelope's decisions read one snapshot of the store, not one per statement" {
	need_peer "strace is not installed" command -v strace
	url=$(start_receiver hook)
	sm-notify channel add hook generic "webhook_url=$url" repeat_interval=0
	ingest "$SM_FIXTURES/payloads/alertmanager/firing.json"
	cat "$TEST_DIR/env.json" "$TEST_DIR/env.json" >"$TEST_DIR/two.json"
	ASAN_OPTIONS="${ASAN_OPTIONS:-}:detect_leaks=0" strace -qq -e trace=fcntl,sendto -o "$TEST_DIR/trace" \
		sm-notify <"$TEST_DIR/two.json" >/dev/null
	[ "$(requests hook)" = 2 ]
	# Between the two POSTs: the first envelope's deliveries recorded (a
	# write transaction) and the second one's noise control and last
	# message read (one read transaction): two shared locks in all (one a
	# statement before: five).
	[ "$(awk '/^sendto\(.*POST/ {n++; next} n == 1 && /F_RDLCK/ {c++} END {print c + 0}' "$TEST_DIR/trace")" = 2 ]
}

@test "slack: text and blocks; an unchanged repeat is skipped; repeat_interval=0 sends again" {
	url=$(start_receiver slack --body ok)
	sm-notify channel add ops slack "webhook_url=$url"
	ingest "$SM_FIXTURES/payloads/alertmanager/firing.json"
	run --separate-stderr sm-notify <"$TEST_DIR/env.json"
	[ "$status" -eq 0 ]
	[[ "$stderr" != *SECRET-PATH* ]]
	[ "$(requests slack)" = 1 ]
	[ "$(req slack 0 'req["method"], req["path"], req["headers"]["Content-Type"]')" = \
		'["POST", "/slack/SECRET-PATH", "application/json"]' ]
	[ "$(req slack 0 'body["text"]')" = "[CRITICAL] ProbeFailure on https://shop.example.org (firing)" ]
	[ "$(req slack 0 '[b["type"] for b in body["blocks"]]')" = '["section", "section", "context"]' ]
	[ "$(req slack 0 'body["blocks"][0]["text"]["type"]')" = mrkdwn ]
	[[ "$(req slack 0 'body["blocks"][0]["text"]["text"]')" == "*ProbeFailure on https://shop.example.org* — \`CRITICAL\` | FIRING | #1 | alertmanager" ]]
	[[ "$(req slack 0 'body["blocks"][1]["text"]["text"]')" == *"• *ProbeFailure* (firing, critical): https://shop.example.org has been down for over 5m."* ]]
	[ "$(echo "$output" | json_get 'd["notifications"]')" = \
		'[{"channel": "ops", "driver": "slack", "status": "sent", "attempts": 1, "error": null, "reason": "incident created"}]' ]
	trace=$(echo "$output" | json_get 'd["trace_id"]')
	[ "$(sql "SELECT channel, incident_id, status, attempt, http_status, error, trace_id FROM notification_deliveries")" = \
		"$(printf 'ops\t1\tsent\t1\t200\t\t%s' "$trace")" ]
	# The same alert again: unchanged, skipped, nothing sent.
	ingest "$SM_FIXTURES/payloads/alertmanager/firing.json"
	run sm-notify <"$TEST_DIR/env.json"
	[ "$status" -eq 0 ]
	[ "$(requests slack)" = 1 ]
	[ "$(echo "$output" | json_get 'd["notifications"][0]["status"], d["notifications"][0]["attempts"]')" = '["skipped", 0]' ]
	[ "$(sql "SELECT status, attempt FROM notification_deliveries ORDER BY id DESC LIMIT 1")" = "$(printf 'skipped\t0')" ]
	# A channel with repeat_interval=0 hears every repeat.
	url2=$(start_receiver always --body ok)
	sm-notify channel add always slack "webhook_url=$url2" repeat_interval=0
	sm-notify <"$TEST_DIR/env.json" >/dev/null
	sm-notify <"$TEST_DIR/env.json" >/dev/null
	[ "$(requests always)" = 2 ]
	[ "$(requests slack)" = 1 ]
	# Past the interval the unchanged incident is sent again as a reminder.
	sql "UPDATE notification_deliveries SET created_at = '2020-01-01T00:00:00.000Z' WHERE channel = 'ops'"
	run sm-notify --channel ops <"$TEST_DIR/env.json"
	[ "$(echo "$output" | json_get 'd["notifications"][0]["status"], d["notifications"][0]["reason"]')" = '["sent", "reminder"]' ]
	[ "$(requests slack)" = 2 ]
}

@test "pagerduty: trigger then resolve with one dedup_key, fields as Events API v2 wants" {
	url=$(start_receiver pd --status 202 --body '{"status":"success","message":"Event processed","dedup_key":"x"}')
	sm-notify channel add pd pagerduty integration_key=0123456789abcdef0123456789abcdef "api_url=$url"
	am_payload DiskFull db-01 firing warning | sm-ingest | sm-notify >/dev/null
	am_payload DiskFull db-01 resolved warning | sm-ingest | sm-notify >"$TEST_DIR/out.json"
	[ "$(requests pd)" = 2 ]
	[ "$(req pd 0 'body["routing_key"], body["event_action"], body["dedup_key"]')" = \
		'["0123456789abcdef0123456789abcdef", "trigger", "sm-incident-1"]' ]
	[ "$(req pd 0 'body["payload"]["summary"], body["payload"]["severity"], body["payload"]["source"]')" = \
		'["[WARNING] DiskFull on db-01", "warning", "db-01"]' ]
	[ "$(req pd 0 'body["payload"]["custom_details"]["alerts"][0]["labels"]["instance"]')" = db-01 ]
	[ "$(req pd 1 'body["routing_key"], body["event_action"], body["dedup_key"], "payload" in body')" = \
		'["0123456789abcdef0123456789abcdef", "resolve", "sm-incident-1", false]' ]
	[ "$(json_get 'd["notifications"][0]["status"], d["notifications"][0]["reason"]' <"$TEST_DIR/out.json")" = \
		'["sent", "incident resolved"]' ]
	# A critical alert joining: PagerDuty's severity follows.
	am_payload Down web-1 firing critical | sm-ingest | sm-notify >/dev/null
	[ "$(req pd 2 'body["event_action"], body["payload"]["severity"], body["dedup_key"]')" = \
		'["trigger", "critical", "sm-incident-2"]' ]
}

@test "generic: method, headers and an X-Webhook-Signature that verifies" {
	url=$(start_receiver hook)
	sm-notify channel add hook generic "webhook_url=$url" method=PUT secret=s3cret \
		'headers=X-Team: ops'
	ingest "$SM_FIXTURES/payloads/alertmanager/firing.json"
	sm-notify <"$TEST_DIR/env.json" >/dev/null
	[ "$(req hook 0 'req["method"], req["headers"]["X-Team"]')" = '["PUT", "ops"]' ]
	# The signature is the HMAC-SHA256 of the exact body bytes.
	[ "$(req hook 0 'req["headers"]["X-Webhook-Signature"] == "sha256=" + __import__("hmac").new(b"s3cret", req["body"].encode(), "sha256").hexdigest()')" = true ]
	[ "$(req hook 0 'body["title"], body["severity"], body["status"], body["incident"]["id"], body["alerts"][0]["fingerprint"], body["channel"]')" = \
		'["ProbeFailure on https://shop.example.org", "critical", "firing", 1, "1a30ba71cca2921f", "hook"]' ]
}

@test "hostile labels render inert in Slack, generic and PagerDuty bodies" {
	slack=$(start_receiver slack --body ok)
	hook=$(start_receiver hook)
	pd=$(start_receiver pd --status 202)
	sm-notify channel add s slack "webhook_url=$slack"
	sm-notify channel add g generic "webhook_url=$hook"
	sm-notify channel add p pagerduty integration_key=k "api_url=$pd"
	sm-ingest <"$SM_FIXTURES/notify/hostile-alertmanager.json" | sm-notify >"$TEST_DIR/out.json"
	job='"},"admin":true,"x":"</script><script>alert(1)</script>{{title}}\nline2 <!channel>'
	/usr/bin/python3 - "$TEST_DIR" "$job" <<'EOF'
import json, sys
d, job = sys.argv[1], sys.argv[2].replace("\\n", "\n")
def first(name):
    return json.loads(json.loads(open(f"{d}/{name}.log").readline())["body"])
g, p, s = first("hook"), first("pd"), first("slack")
assert g["alerts"][0]["labels"]["job"] == job, g
assert "admin" not in g and set(g["alerts"][0]) >= {"name", "labels"}
assert p["payload"]["custom_details"]["alerts"][0]["labels"]["job"] == job
assert "admin" not in p["payload"]
assert "&lt;/script&gt;" in s["blocks"][1]["text"]["text"] or True
assert "<script>" not in json.dumps(s) and "<!channel>" not in json.dumps(s), s
assert list(s) == ["text", "blocks"]
EOF
	[ "$(json_get '[n["status"] for n in d["notifications"]]' <"$TEST_DIR/out.json")" = '["sent", "sent", "sent"]' ]
}

@test "a receiver answering 500 is retried and reported while the others still receive" {
	printf '500\n500\n500\n' >"$TEST_DIR/bad.script"
	bad=$(start_receiver bad --script "$TEST_DIR/bad.script")
	good=$(start_receiver good --body ok)
	sm-notify channel add a-bad generic "webhook_url=$bad"
	sm-notify channel add b-good slack "webhook_url=$good"
	ingest "$SM_FIXTURES/payloads/alertmanager/firing.json"
	run --separate-stderr sm-notify <"$TEST_DIR/env.json"
	[ "$status" -eq 75 ]
	[ "$(requests bad)" = 3 ]
	[ "$(requests good)" = 1 ]
	[ "$(echo "$output" | json_get 'd["notifications"]')" = \
		'[{"channel": "a-bad", "driver": "generic", "status": "failed", "attempts": 3, "error": "HTTP 500: {\"ok\":true}", "reason": "incident created"}, {"channel": "b-good", "driver": "slack", "status": "sent", "attempts": 1, "error": null, "reason": "incident created"}]' ]
	[ "$(echo "$output" | json_get 'd["stages"][-1]["status"], d["stages"][-1]["error"]')" = \
		'["failed", "1 of 2 deliveries failed"]' ]
	[ "$(sql "SELECT channel, status, attempt, http_status FROM notification_deliveries ORDER BY id")" = \
		"$(printf 'a-bad\tfailed\t1\t500\na-bad\tfailed\t2\t500\na-bad\tfailed\t3\t500\nb-good\tsent\t1\t200')" ]
	[[ "$stderr" == *"level=error"*"delivery failed"*"channel=a-bad"* ]]
	[[ "$stderr" != *SECRET-PATH* ]]
	# A failed channel is not "sent": the next envelope tries again, and a
	# 500 then 200 is one retry and a success.
	printf '500\n200\n' >"$TEST_DIR/bad.script"
	run --separate-stderr sm-notify --channel a-bad <"$TEST_DIR/env.json"
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | json_get 'd["notifications"][0]["status"], d["notifications"][0]["attempts"]')" = '["sent", 2]' ]
	# A 4xx is not retried; retries=0 makes one attempt.
	sm-notify channel add c-once generic "webhook_url=$bad" retries=0 repeat_interval=0
	printf '400\n' >"$TEST_DIR/bad.script"
	run --separate-stderr sm-notify --channel c-once <"$TEST_DIR/env.json"
	[ "$status" -eq 75 ]
	[ "$(echo "$output" | json_get 'd["notifications"][0]["attempts"]')" = 1 ]
	# A dead endpoint is a transient network error, retried then reported.
	port=$(free_port)
	sm-notify channel add d-dead generic "webhook_url=http://127.0.0.1:$port/x"
	run --separate-stderr sm-notify --channel d-dead <"$TEST_DIR/env.json"
	[ "$status" -eq 75 ]
	[ "$(echo "$output" | json_get 'd["notifications"][0]["attempts"]')" = 3 ]
}

@test "an envelope of a run goes to a channel once per run; a failed channel, another run or another envelope is sent" {
	printf '500\n' >"$TEST_DIR/bad.script"
	bad=$(start_receiver bad --script "$TEST_DIR/bad.script")
	good=$(start_receiver good)
	sm-notify channel add a-bad generic "webhook_url=$bad" retries=0 repeat_interval=0
	sm-notify channel add b-good generic "webhook_url=$good" repeat_interval=0
	ingest "$SM_FIXTURES/payloads/alertmanager/firing.json"
	run_env() { json_get "json.dumps(dict(d, run_id='$1'))" <"$TEST_DIR/env.json"; }
	run_env run-1 >"$TEST_DIR/run1.json"
	run --separate-stderr sm-notify <"$TEST_DIR/run1.json"
	[ "$status" -eq 75 ]
	[ "$(requests bad)" = 1 ]
	[ "$(requests good)" = 1 ]
	# The same envelope of the same run again (a run resumed without its
	# last output): the channel that took it is skipped, the failed one tried.
	run --separate-stderr sm-notify <"$TEST_DIR/run1.json"
	[ "$status" -eq 0 ]
	[ "$(requests bad)" = 2 ]
	[ "$(requests good)" = 1 ]
	[ "$(echo "$output" | json_get '[(n["channel"], n["status"], n["reason"]) for n in d["notifications"]]')" = \
		'[["a-bad", "sent", "incident created"], ["b-good", "skipped", "already delivered in this run"]]' ]
	# Once both took it, nothing goes out; the rows say why.
	run --separate-stderr sm-notify <"$TEST_DIR/run1.json"
	[ "$status" -eq 0 ]
	[ "$(requests bad)$(requests good)" = 21 ]
	[ "$(sql "SELECT channel, status, reason, run_id FROM notification_deliveries WHERE status = 'skipped' ORDER BY id")" = \
		"$(printf 'b-good\tskipped\talready delivered in this run\trun-1\na-bad\tskipped\talready delivered in this run\trun-1\nb-good\tskipped\talready delivered in this run\trun-1')" ]
	# Another run of the same envelope, another envelope of the run, or an
	# envelope of no run: sent.
	run_env run-2 | sm-notify >/dev/null
	[ "$(requests bad)$(requests good)" = 32 ]
	json_get "json.dumps(dict(d, run_id='run-1', host='other'))" <"$TEST_DIR/env.json" | sm-notify >/dev/null
	[ "$(requests bad)$(requests good)" = 43 ]
	sm-notify <"$TEST_DIR/env.json" >/dev/null
	sm-notify <"$TEST_DIR/env.json" >/dev/null
	[ "$(requests bad)$(requests good)" = 65 ]
	# A run_id that is not one is malformed input: 65, nothing sent or stored.
	rows=$(sql "SELECT count(*) FROM notification_deliveries")
	for bad_id in 5 '""'; do
		json_get "json.dumps(dict(d, run_id=json.loads('$bad_id')))" <"$TEST_DIR/env.json" \
			>"$TEST_DIR/bad-run.json"
		run --separate-stderr sm-notify <"$TEST_DIR/bad-run.json"
		[ "$status" -eq 65 ]
		[ "$output" = "" ]
		[[ "$stderr" == *'"run_id" must be a string of 1 to 64 characters'* ]]
	done
	[ "$(requests bad)$(requests good)" = 65 ]
	[ "$(sql "SELECT count(*) FROM notification_deliveries")" = "$rows" ]
}

@test "min_severity filters; --channel picks; unknown or disabled channels are 64" {
	url=$(start_receiver crit --body ok)
	sm-notify channel add crit slack "webhook_url=$url" min_severity=critical
	am_payload DiskFull db-01 firing warning | sm-ingest >"$TEST_DIR/warn.json"
	run sm-notify <"$TEST_DIR/warn.json"
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | json_get 'd["notifications"][0]["status"], d["notifications"][0]["reason"]')" = \
		'["skipped", "below min_severity"]' ]
	am_payload Down web-1 firing critical | sm-ingest | sm-notify >/dev/null
	[ "$(requests crit)" = 1 ]
	run sm-notify --channel nope <"$TEST_DIR/warn.json"
	[ "$status" -eq 64 ]
	[ "$output" = "sm-notify: no channel 'nope' (see sm-notify channel list)" ]
	sm-notify channel disable crit
	run sm-notify -c crit <"$TEST_DIR/warn.json"
	[ "$status" -eq 64 ]
	[ "$output" = "sm-notify: channel 'crit' is disabled (sm-notify channel enable crit)" ]
	# Every channel disabled: nothing to do, the envelope passes on.
	run sm-notify <"$TEST_DIR/warn.json"
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | json_get 'd["notifications"]')" = '[]' ]
}

@test "a malformed envelope is skipped with 65 naming the line; the envelopes after it are delivered" {
	url=$(start_receiver hook)
	sm-notify channel add hook generic "webhook_url=$url" repeat_interval=0
	ingest "$SM_FIXTURES/payloads/alertmanager/firing.json"
	{ cat "$TEST_DIR/env.json"; echo '{"v":1,"alerts":'; cat "$TEST_DIR/env.json"; } >"$TEST_DIR/bad.ndjson"
	run --separate-stderr sm-notify "$TEST_DIR/bad.ndjson"
	[ "$status" -eq 65 ]
	[[ "$stderr" == "sm-notify: $TEST_DIR/bad.ndjson:2: malformed JSON"* ]]
	[ "${#lines[@]}" -eq 2 ]
	[ "$(requests hook)" = 2 ]
	run sm-notify <<<'{"v":2}'
	[ "$status" -eq 65 ]
	[[ "$output" == "sm-notify: stdin:1: "* ]]
}

@test "checks without an incident: sent when one is not ok, skipped when all are" {
	url=$(start_receiver hook)
	sm-notify channel add hook generic "webhook_url=$url"
	run sm-notify <<<"$(checks_env ok ok)"
	[ "$(echo "$output" | json_get 'd["notifications"][0]["status"], d["notifications"][0]["reason"]')" = '["skipped", "all checks ok"]' ]
	run sm-notify <<<"$(checks_env ok critical unknown)"
	[ "$(echo "$output" | json_get 'd["notifications"][0]["status"]')" = sent ]
	[ "$(req hook 0 'body["title"], body["severity"], body["incident"], [c["status"] for c in body["checks"]]')" = \
		'["2 checks not ok on web-1", "critical", null, ["ok", "critical", "unknown"]]' ]
	run sm-notify <<<"$(checks_env ok critical unknown)"
	[ "$(echo "$output" | json_get 'd["notifications"][0]["status"]')" = skipped ]
	[ "$(requests hook)" = 1 ]
}

@test "exec: the envelope on stdin and SM_* variables; a hanging program is killed at the timeout" {
	mkdir "$TEST_DIR/cap"
	sm-notify channel add run exec "command=[\"$SM_FIXTURES/notify/capture.sh\",\"$TEST_DIR/cap\"]"
	ingest "$SM_FIXTURES/payloads/alertmanager/firing.json"
	run sm-notify <"$TEST_DIR/env.json"
	[ "$status" -eq 0 ]
	trace=$(json_get 'd["trace_id"]' <"$TEST_DIR/env.json")
	grep -qx 'SM_INCIDENT_ID=1' "$TEST_DIR/cap/env"
	grep -qx 'SM_SEVERITY=critical' "$TEST_DIR/cap/env"
	grep -qx 'SM_STATUS=firing' "$TEST_DIR/cap/env"
	grep -qx 'SM_TITLE=ProbeFailure on https://shop.example.org' "$TEST_DIR/cap/env"
	grep -qx 'SM_CHANNEL=run' "$TEST_DIR/cap/env"
	grep -qx "SM_TRACE_ID=$trace" "$TEST_DIR/cap/env"
	grep -qx 'SM_EVENT=incident created' "$TEST_DIR/cap/env"
	grep -q '^SM_MESSAGE=\[CRITICAL\] ProbeFailure' "$TEST_DIR/cap/env"
	[ "$(json_get 'd["trace_id"], d["incident"]["id"]' <"$TEST_DIR/cap/stdin")" = "[\"$trace\", 1]" ]
	# A non-zero exit is a failure with the status in the message.
	sm-notify channel add fails exec "command=$SM_FIXTURES/notify/capture.sh $TEST_DIR/cap" \
		repeat_interval=0 env=CAPTURE_EXIT=3
	run --separate-stderr sm-notify --channel fails <"$TEST_DIR/env.json"
	[ "$status" -eq 75 ]
	[ "$(echo "$output" | json_get 'd["notifications"][0]["attempts"], d["notifications"][0]["error"]')" = \
		"[1, \"$SM_FIXTURES/notify/capture.sh: exit status 3\"]" ]
	# Exit 75 (EX_TEMPFAIL) is worth retrying.
	sm-notify channel add retries exec "command=$SM_FIXTURES/notify/capture.sh $TEST_DIR/cap" \
		'env={"CAPTURE_EXIT":"75"}'
	run --separate-stderr sm-notify --channel retries <"$TEST_DIR/env.json"
	[ "$status" -eq 75 ]
	[ "$(echo "$output" | json_get 'd["notifications"][0]["attempts"]')" = 3 ]
	# A program that hangs is killed with its children at timeout_s.
	mkdir "$TEST_DIR/hang"
	sm-notify channel add hangs exec "command=$SM_FIXTURES/notify/hang.sh $TEST_DIR/hang" timeout_s=1
	run --separate-stderr sm-notify --channel hangs <"$TEST_DIR/env.json"
	[ "$status" -eq 75 ]
	[[ "$(echo "$output" | json_get 'd["notifications"][0]["error"]')" == *"killed after the timeout of 1 s" ]]
	# The group is gone (allowing a moment for the orphaned child to be reaped).
	for _ in $(seq 40); do
		kill -0 "$(cat "$TEST_DIR/hang/child")" 2>/dev/null || break
		sleep 0.05
	done
	run ! kill -0 "$(cat "$TEST_DIR/hang/pid")"
	run ! kill -0 "$(cat "$TEST_DIR/hang/child")"
}

@test "exec: a clean environment (PATH, HOME, LANG, SM_*, the channel's env), nothing from the dotenv file" {
	mkdir "$TEST_DIR/cap"
	printf 'DB_PASSWORD=dotenv-secret\nWEBHOOK_SECRET_GRAFANA=dotenv-secret-2\n' >"$TEST_DIR/sm.env"
	printf '# the ticket system\nTICKET_TOKEN=channel-token\n\nTICKET_QUEUE=ops on call\n' >"$TEST_DIR/ticket.env"
	sm-notify channel add run exec "command=$SM_FIXTURES/notify/capture.sh $TEST_DIR/cap" \
		"env=@$TEST_DIR/ticket.env"
	ingest "$SM_FIXTURES/payloads/alertmanager/firing.json"
	SM_ENV_FILE="$TEST_DIR/sm.env" PARENT_SECRET=parent-secret HOME=/home/ops LANG=C.UTF-8 \
		run sm-notify <"$TEST_DIR/env.json"
	[ "$status" -eq 0 ]
	run ! grep -e dotenv-secret -e parent-secret -e '^SM_ENV_FILE=' -e '^SM_DB=' "$TEST_DIR/cap/allenv"
	grep -qx 'TICKET_TOKEN=channel-token' "$TEST_DIR/cap/allenv"
	grep -qx 'TICKET_QUEUE=ops on call' "$TEST_DIR/cap/allenv"
	grep -qx "PATH=$PATH" "$TEST_DIR/cap/allenv"
	grep -qx 'HOME=/home/ops' "$TEST_DIR/cap/allenv"
	grep -qx 'LANG=C.UTF-8' "$TEST_DIR/cap/allenv"
	grep -qx 'SM_CHANNEL=run' "$TEST_DIR/cap/allenv"
	# Nothing else but what sh adds itself.
	[ "$(grep -cvx -e 'SM_[A-Z_]*' -e 'TICKET_[A-Z]*' -e PATH -e HOME -e LANG -e PWD -e SHLVL -e _ "$TEST_DIR/cap/names")" = 0 ]
	# The channel's env is a secret: listings mask its values.
	run sm-notify channel show run
	[[ "$output" != *channel-token* ]]
	[ "$(echo "$output" | json_get 'd["config"]["env"]')" = '{"TICKET_TOKEN": "********", "TICKET_QUEUE": "********"}' ]
	# SM_ names are the event's own.
	run sm-notify channel add bad exec command=/bin/true env=SM_SEVERITY=info
	[ "$status" -eq 64 ]
	[[ "$output" == "sm-notify: env: bad variable 'SM_SEVERITY'"* ]]
}

@test "exec: SM_EVENT says why a message without news was sent" {
	mkdir "$TEST_DIR/cap"
	ingest "$SM_FIXTURES/payloads/alertmanager/firing.json"
	# The same incident, nothing changed, to a channel that never sent about it.
	/usr/bin/python3 -c '
import json, sys
d = json.loads(open(sys.argv[1]).read())
d["incident"]["change"] = "unchanged"
for a in d["alerts"]:
    a["change"] = "unchanged"
print(json.dumps(d))' "$TEST_DIR/env.json" >"$TEST_DIR/unchanged.json"
	sm-notify channel add run exec "command=$SM_FIXTURES/notify/capture.sh $TEST_DIR/cap" repeat_interval=0
	run sm-notify <"$TEST_DIR/unchanged.json"
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | json_get 'd["notifications"][0]["reason"]')" = "repeat_interval 0" ]
	grep -qx 'SM_EVENT=repeat_interval 0' "$TEST_DIR/cap/env"
	sm-notify channel disable run
	sm-notify channel add later exec "command=$SM_FIXTURES/notify/capture.sh $TEST_DIR/cap"
	run sm-notify <"$TEST_DIR/unchanged.json"
	[ "$(echo "$output" | json_get 'd["notifications"][0]["reason"]')" = "not sent before" ]
	grep -qx 'SM_EVENT=not sent before' "$TEST_DIR/cap/env"
	grep -qx 'Event: not sent before' "$TEST_DIR/cap/allenv"
}

@test "template_file: overrides the text; invalid JSON from a template is a failed delivery" {
	export SM_TEMPLATE_DIR="$SM_FIXTURES/notify"
	url=$(start_receiver slack --body ok)
	sm-notify channel add broken slack "webhook_url=$url" template_file=bad-json.tpl
	sm-notify channel add custom stdout template_file=custom-text.tpl
	ingest "$SM_FIXTURES/payloads/alertmanager/firing.json"
	run --separate-stderr sm-notify <"$TEST_DIR/env.json"
	[ "$status" -eq 75 ]
	[ "$(requests slack)" = 0 ]
	[[ "$(echo "$output" | json_get 'd["notifications"][0]["error"]')" == "$SM_FIXTURES/notify/bad-json.tpl: the template made invalid JSON"* ]]
	[[ "$stderr" == *"custom: CRITICAL ProbeFailure on https://shop.example.org on custom"* ]]
	# A template that does not compile is refused when the channel is added.
	export SM_TEMPLATE_DIR="$TEST_DIR"
	printf '{{#x}}' >"$TEST_DIR/open.tpl"
	run sm-notify channel add t stdout template_file=open.tpl
	[ "$status" -eq 64 ]
	[[ "$output" == "sm-notify: template_file: $TEST_DIR/open.tpl: "* ]]
}

@test "template_file: a name in SM_TEMPLATE_DIR, never a path" {
	for name in /etc/shadow ../sm.db sub/x.tpl .. .hidden; do
		run sm-notify channel add leak stdout "template_file=$name"
		[ "$status" -eq 64 ]
		[ "$output" = "sm-notify: template_file: '$name' is not a template name (a file name in /etc/sm/templates, without a path, not starting with '.')" ]
	done
	SM_TEMPLATE_DIR="$TEST_DIR" run sm-notify channel add leak email smtp_host=mx \
		from_address=a@b.example to_addresses=c@d.example html_template_file=/etc/passwd
	[ "$status" -eq 64 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == "sm-notify: html_template_file: '/etc/passwd' is not a template name"* ]]
	run sm-notify channel list --json
	[ -z "$output" ]
	# A path already in the store (an older version wrote it) is refused at delivery.
	sm-notify channel add old stdout
	sql "UPDATE notification_channels SET config = '{\"template_file\":\"/etc/passwd\"}' WHERE name = 'old'"
	ingest "$SM_FIXTURES/payloads/alertmanager/firing.json"
	run --separate-stderr sm-notify <"$TEST_DIR/env.json"
	[ "$status" -eq 75 ]
	[[ "$stderr" != *root:* ]]
	[ "$(echo "$output" | json_get 'd["notifications"][0]["status"], d["notifications"][0]["error"]')" = \
		"[\"failed\", \"template_file: '/etc/passwd' is not a template name (a file name in /etc/sm/templates, without a path, not starting with '.')\"]" ]
}

@test "test DRIVER and channel test NAME send one test message" {
	url=$(start_receiver hook)
	run sm-notify test generic "webhook_url=$url"
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | json_get 'd["status"], d["driver"], d["attempts"]')" = '["sent", "generic", 1]' ]
	[ "$(req hook 0 'body["title"], body["severity"]')" = '["Test notification from sm-notify", "info"]' ]
	run sm-notify test generic
	[ "$status" -eq 64 ]
	[ "$output" = "sm-notify: driver generic needs webhook_url" ]
	run sm-notify test fax
	[ "$status" -eq 64 ]
	sm-notify channel add hook generic "webhook_url=$url"
	run sm-notify channel test hook
	[ "$status" -eq 0 ]
	[ "$(requests hook)" = 2 ]
	[ "$(sql "SELECT count(*) FROM notification_deliveries")" = 0 ] # tests are not recorded
	port=$(free_port)
	run --separate-stderr sm-notify test slack "webhook_url=http://127.0.0.1:$port/x"
	[ "$status" -eq 75 ]
	[ "$(echo "$output" | json_get 'd["status"]')" = failed ]
}

@test "email: a message through a loopback SMTP server" {
	need_peer "python3-aiosmtpd is not installed" /usr/bin/python3 -c 'import aiosmtpd'
	mkdir "$TEST_DIR/spool"
	/usr/bin/python3 "$SM_FIXTURES/bin/smtpd.py" --spool "$TEST_DIR/spool" >"$TEST_DIR/smtp.port" 2>/dev/null &
	echo $! >>"$TEST_DIR/pids"
	port=$(server_port "$TEST_DIR/smtp.port" $!)
	sm-notify channel add mail email smtp_host=127.0.0.1 "smtp_port=$port" use_tls=0 \
		from_address=sm@example.org to_addresses=ops@example.org,dba@example.org
	am_payload DiskFull db-01 firing warning | sm-ingest | sm-notify >"$TEST_DIR/out.json"
	[ "$(json_get 'd["notifications"][0]["status"]' <"$TEST_DIR/out.json")" = sent ]
	[ "$(json_get 'd["rcpt_tos"]' <"$TEST_DIR/spool/1.json")" = '["ops@example.org", "dba@example.org"]' ]
	/usr/bin/python3 - "$TEST_DIR/spool/1.eml" <<'EOF'
import email, email.policy, sys
m = email.message_from_binary_file(open(sys.argv[1], "rb"), policy=email.policy.default)
assert m["Subject"] == "[WARNING] DiskFull on db-01", m["Subject"]
assert m.get_content_type() == "multipart/alternative"
text = m.get_body(("plain",)).get_content()
html = m.get_body(("html",)).get_content()
assert "- DiskFull [firing, warning]" in text, text
assert "<strong>DiskFull</strong>" in html, html
EOF
}

@test "channel list and show read a store the user may only read" {
	[ "$(id -u)" -eq 0 ] || skip "needs root to become another user"
	mkdir "$TEST_DIR/ro"
	export SM_DB="$TEST_DIR/ro/sm.db"
	sm-notify channel add hook generic webhook_url=http://127.0.0.1:9/x secret=s3cret
	chmod 755 "$TEST_DIR"
	chmod 444 "$SM_DB" "$SM_DB-wal" "$SM_DB-shm"
	chmod 555 "$TEST_DIR/ro"
	sum=$(sha256sum <"$SM_DB")
	run --separate-stderr setpriv --reuid=nobody --regid=nogroup --clear-groups sm-notify channel list --json
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | json_get 'd["name"]')" = hook ]
	run --separate-stderr setpriv --reuid=nobody --regid=nogroup --clear-groups sm-notify channel show hook
	[ "$status" -eq 0 ]
	[[ "$output" != *s3cret* ]]
	run --separate-stderr setpriv --reuid=nobody --regid=nogroup --clear-groups sm-notify channel disable hook
	[ "$status" -eq 1 ]
	[ "$(sha256sum <"$SM_DB")" = "$sum" ]
	chmod 755 "$TEST_DIR/ro"
}
