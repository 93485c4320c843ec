#!/usr/bin/env bats
# Noise control end to end: sm-notify silence, inhibit and maintenance,
# their refusals, and the goal: with the same silences (made with amtool)
# and the same inhibit rule, a real Prometheus Alertmanager and sm hold back
# exactly the same alerts of a mixed set.
# shellcheck disable=SC2154 # bats sets $stderr for run --separate-stderr

bats_require_minimum_version 1.5.0
load helpers

setup() {
	setup_sm
	: >"$TEST_DIR/pids"
}

teardown() {
	stop_pids "$TEST_DIR/pids"
	teardown_sm
}

# The alerts of the comparison, one label set a line (JSON), each with a
# severity label so that neither side falls back on a default. Cases:
# anchoring (Anch), a negative regex (Neg), missing labels (Miss, Miss2),
# an expired silence (Old), inhibition by an equal label (NodeDown, Load,
# with and without the instance label), a backslash in a regex (Dot).
ALERTS='{"alertname":"Anch","instance":"web","severity":"info"}
{"alertname":"Anch","instance":"web-1","severity":"info"}
{"alertname":"Anch","instance":"xweb","severity":"info"}
{"alertname":"Neg","env":"dev","severity":"info"}
{"alertname":"Neg","env":"prod","severity":"info"}
{"alertname":"Neg","severity":"info"}
{"alertname":"Miss","severity":"info"}
{"alertname":"Miss","team":"db","severity":"info"}
{"alertname":"Miss2","severity":"info"}
{"alertname":"Miss2","team":"web","severity":"info"}
{"alertname":"Old","severity":"info"}
{"alertname":"NodeDown","instance":"db-1","severity":"critical"}
{"alertname":"Load","instance":"db-1","severity":"warning"}
{"alertname":"Load","instance":"db-2","severity":"warning"}
{"alertname":"Crit","severity":"critical"}
{"alertname":"Load","severity":"warning"}
{"alertname":"Dot","instance":"db.example","severity":"info"}
{"alertname":"Dot","instance":"dbxexample","severity":"info"}'

# The silences of both sides: matchers as each command line takes them.
SILENCES=(
	"alertname=Anch instance=~web"
	"alertname=Neg env!~prod|stage"
	"alertname=Miss team="
	"alertname=Miss2 team!=web"
	"alertname=Old"
	"alertname=Dot instance=~db\.example"
)

# What both must find held back: the label sets, sorted, one a line.
EXPECTED_HELD='alertname=Anch,instance=web,severity=info
alertname=Dot,instance=db.example,severity=info
alertname=Load,instance=db-1,severity=warning
alertname=Load,severity=warning
alertname=Miss,severity=info
alertname=Miss2,severity=info
alertname=Neg,env=dev,severity=info
alertname=Neg,severity=info'

# A label set as its sorted key=value list.
key_of() {
	/usr/bin/python3 -c 'import json,sys
for line in sys.stdin:
    d = json.loads(line)
    print(",".join(f"{k}={v}" for k, v in sorted(d.items())))'
}

@test "sm holds back exactly the alerts a real Alertmanager leaves suppressed (same silences, same inhibit rule)" {
	need_peer "prometheus-alertmanager is not installed" command -v prometheus-alertmanager
	need_peer "amtool is not installed" command -v amtool
	web=$(free_port)
	cat >"$TEST_DIR/am.yml" <<'YML'
route:
  receiver: none
receivers:
  - name: none
inhibit_rules:
  - source_matchers: ['severity="critical"']
    target_matchers: ['severity="warning"']
    equal: [instance]
YML
	mkdir "$TEST_DIR/am"
	prometheus-alertmanager --config.file="$TEST_DIR/am.yml" --storage.path="$TEST_DIR/am" \
		--web.listen-address="127.0.0.1:$web" --cluster.listen-address= >"$TEST_DIR/am/log" 2>&1 &
	echo $! >>"$TEST_DIR/pids"
	wait_port "$web"
	am="--alertmanager.url=http://127.0.0.1:$web"

	# The same silences and rule on both sides; the last silence expired.
	for s in "${SILENCES[@]}"; do
		# shellcheck disable=SC2086 # the matchers are separate words
		am_id=$(amtool "$am" silence add --comment=goal --duration=1h $s)
		# shellcheck disable=SC2086
		sm_id=$(sm-notify silence add --comment=goal --duration=1h $s)
		if [ "$s" = alertname=Old ]; then
			old_am=$am_id
			old_sm=$sm_id
		fi
		[[ "$sm_id" =~ ^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$ ]]
	done
	amtool "$am" silence expire "$old_am"
	sm-notify silence expire "$old_sm"
	sm-notify inhibit add --source 'severity="critical"' --target 'severity="warning"' --equal instance >/dev/null

	# The alerts: to Alertmanager's API, and as webhook payloads to sm-ingest.
	echo "$ALERTS" | /usr/bin/python3 -c '
import json, sys, urllib.request, datetime
now = datetime.datetime.now(datetime.timezone.utc)
fmt = lambda t: t.strftime("%Y-%m-%dT%H:%M:%SZ")
alerts = [{"labels": json.loads(l), "annotations": {}, "startsAt": fmt(now),
           "endsAt": fmt(now + datetime.timedelta(hours=1))} for l in sys.stdin if l.strip()]
req = urllib.request.Request(sys.argv[1] + "/api/v2/alerts", json.dumps(alerts).encode(),
                             {"Content-Type": "application/json"})
urllib.request.urlopen(req, timeout=30).read()
with open(sys.argv[2], "w") as out:
    for a in alerts:
        out.write(json.dumps({"receiver": "sm", "status": "firing", "alerts": [dict(a, status="firing")]}) + "\n")
' "http://127.0.0.1:$web" "$TEST_DIR/payloads"
	sm-ingest <"$TEST_DIR/payloads" >"$TEST_DIR/envelopes"
	[ "$(wc -l <"$TEST_DIR/envelopes")" = 18 ]
	run --separate-stderr sm-notify <"$TEST_DIR/envelopes"
	[ "$status" -eq 0 ]
	echo "$output" | /usr/bin/python3 -c '
import json, sys
for line in sys.stdin:
    d = json.loads(line)
    n = d["notifications"][0]
    if n["status"] == "skipped":
        labels = d["alerts"][0]["labels"]
        print(",".join(f"{k}={v}" for k, v in sorted(labels.items())), n["reason"], sep="\t")
' | LC_ALL=C sort >"$TEST_DIR/sm-held"

	# Alertmanager's view, once it has all 18 and its answer has settled
	# (the inhibitor learns of new alerts asynchronously).
	prev=
	for _ in $(seq 300); do
		now=$(/usr/bin/python3 -c '
import json, sys, urllib.request
alerts = json.load(urllib.request.urlopen(sys.argv[1] + "/api/v2/alerts", timeout=30))
if len(alerts) == 18:
    for a in alerts:
        if a["status"]["state"] != "active":
            print(",".join(f"{k}={v}" for k, v in sorted(a["labels"].items())))
else:
    print("incomplete")
' "http://127.0.0.1:$web" | LC_ALL=C sort)
		[ "$now" != incomplete ] && [ -n "$now" ] && [ "$now" = "$prev" ] && break
		prev=$now
		sleep 0.5
	done
	echo "alertmanager held back:"
	echo "$now"
	echo "sm held back:"
	cat "$TEST_DIR/sm-held"
	[ "$now" = "$EXPECTED_HELD" ]
	[ "$(cut -f1 "$TEST_DIR/sm-held")" = "$EXPECTED_HELD" ]
	# Each with its reason.
	grep -q $'^alertname=Anch,instance=web,severity=info\tsilenced by ' "$TEST_DIR/sm-held"
	grep -q $'^alertname=Load,instance=db-1,severity=warning\tinhibited by NodeDown on db-1$' "$TEST_DIR/sm-held"
	grep -q $'^alertname=Load,severity=warning\tinhibited by Crit$' "$TEST_DIR/sm-held"
	# The silences count what they held back; the expired one nothing.
	run sm-notify silence list --all --json
	[ "$(echo "$output" | /usr/bin/python3 -c '
import json, sys
rows = [json.loads(l) for l in sys.stdin]
print(sorted((r["matchers"][0], r["state"], r["held_back"]) for r in rows))')" = \
		"[('alertname=\"Anch\"', 'active', 1), ('alertname=\"Dot\"', 'active', 1), ('alertname=\"Miss\"', 'active', 1), ('alertname=\"Miss2\"', 'active', 1), ('alertname=\"Neg\"', 'active', 2), ('alertname=\"Old\"', 'expired', 0)]" ]
}

@test "silence add prints the id alone; list shows it with what it held back; expire ends it" {
	run --separate-stderr sm-notify silence add alertname=DiskFull 'instance=~"db-[0-9]+"' --duration 4h --comment "disk swap" --author ann
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" = 1 ]
	id=$output
	[ ${#id} = 36 ]
	[ -z "$stderr" ]
	am_payload DiskFull db-01 firing | sm-ingest | sm-notify >"$TEST_DIR/out" 2>/dev/null
	[ "$(json_get 'd["notifications"][0]["status"]' <"$TEST_DIR/out")" = skipped ]
	[ "$(json_get 'd["notifications"][0]["reason"]' <"$TEST_DIR/out")" = "silenced by $id" ]
	[ "$(sql "SELECT status, reason FROM notification_deliveries")" = "skipped	silenced by $id" ]
	# Anchored: db-01x is not silenced.
	am_payload DiskFull db-01x firing | sm-ingest | sm-notify >"$TEST_DIR/out" 2>/dev/null
	[ "$(json_get 'd["notifications"][0]["status"]' <"$TEST_DIR/out")" = sent ]

	run sm-notify silence list --json
	[ "$(echo "$output" | json_get '[d["id"], d["matchers"], d["state"], d["held_back"], d["author"], d["comment"]]')" = \
		"[\"$id\", [\"alertname=\\\"DiskFull\\\"\", \"instance=~\\\"db-[0-9]+\\\"\"], \"active\", 1, \"ann\", \"disk swap\"]" ]
	# On a terminal: a table.
	run script -qec "sm-notify silence list" /dev/null
	[[ "$output" == *id*matchers*state*held_back* ]]
	[[ "$output" == *"$id"*active*1*ann* ]]

	run sm-notify silence expire "$id"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	run sm-notify silence list --json
	[ -z "$output" ]
	run sm-notify silence list --all --json
	[ "$(echo "$output" | json_get 'd["state"]')" = expired ]
	# Expired, it silences nothing.
	am_payload DiskFull db-02 firing | sm-ingest | sm-notify >"$TEST_DIR/out" 2>/dev/null
	[ "$(json_get 'd["notifications"][0]["status"]' <"$TEST_DIR/out")" = sent ]
	run sm-notify silence expire "$id"
	[ "$status" -eq 64 ]
	[ "$output" = "sm-notify: silence '$id' has expired already" ]
	# With --json, add prints the whole silence.
	run sm-notify silence add alertname=X --duration 90s --author bob --json
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | json_get '[d["matchers"], d["state"], d["author"], len(d["id"])]')" = \
		'[["alertname=\"X\""], "active", "bob", 36]' ]
}

@test "a silence from --start to --end; a pending one silences nothing yet" {
	id=$(sm-notify silence add alertname=Later --start 2099-01-01T00:00:00Z --end 2099-01-01T02:00:00Z)
	run sm-notify silence list --json
	[ "$(echo "$output" | json_get '[d["state"], d["starts_at"], d["ends_at"]]')" = \
		'["pending", "2099-01-01T00:00:00Z", "2099-01-01T02:00:00Z"]' ]
	am_payload Later db-01 firing | sm-ingest | sm-notify >"$TEST_DIR/out" 2>/dev/null
	[ "$(json_get 'd["notifications"][0]["status"]' <"$TEST_DIR/out")" = sent ]
	[ -n "$id" ]
}

lines_out() { [ "$(wc -l <"$TEST_DIR/out")" -ge "$1" ]; }
until_past() { while [ "$(date -u +%s)" -le "$(date -u -d "$1" +%s)" ]; do sleep 0.1; done; }

@test "one sm-notify running: a silence that starts and ends meanwhile holds back exactly the envelope between, with no change to the store; one added holds at once" {
	start=$(date -u -d '+2 seconds' +%Y-%m-%dT%H:%M:%SZ)
	end=$(date -u -d "$start + 3 seconds" +%Y-%m-%dT%H:%M:%SZ)
	id=$(sm-notify silence add 'alertname=~"Timed.*"' --start "$start" --end "$end")
	mkfifo "$TEST_DIR/in"
	sm-notify <"$TEST_DIR/in" >"$TEST_DIR/out" 2>"$TEST_DIR/err" &
	notify=$!
	echo "$notify" >>"$TEST_DIR/pids"
	exec 7>"$TEST_DIR/in"
	am_payload TimedBefore db-01 firing | sm-ingest >&7
	wait_for lines_out 1
	until_past "$start"
	am_payload TimedDuring db-01 firing | sm-ingest >&7
	wait_for lines_out 2
	until_past "$end"
	am_payload TimedAfter db-01 firing | sm-ingest >&7
	wait_for lines_out 3
	# One added meanwhile holds from the next envelope on.
	added=$(sm-notify silence add alertname=TimedAdded --duration 1h)
	am_payload TimedAdded db-01 firing | sm-ingest >&7
	wait_for lines_out 4
	exec 7>&-
	wait "$notify"
	said=()
	while read -r line; do
		said+=("$(json_get 'd["notifications"][0]["status"] + " " + d["notifications"][0]["reason"]' <<<"$line")")
	done <"$TEST_DIR/out"
	[ "${#said[@]}" = 4 ]
	[ "${said[0]%% *}" = sent ]
	[ "${said[1]}" = "skipped silenced by $id" ]
	[ "${said[2]%% *}" = sent ]
	[ "${said[3]}" = "skipped silenced by $added" ]
}

@test "bad input: one line, exit 64, nothing stored" {
	run_bad() { # EXPECTED-START ARGS...
		local want=$1
		shift
		run --separate-stderr sm-notify "$@"
		[ "$status" -eq 64 ] || { echo "status $status for $*"; return 1; }
		[ -z "$output" ]
		[ "$(echo "$stderr" | wc -l)" = 1 ]
		[[ "$stderr" == "sm-notify: $want"* ]] || { echo "stderr: $stderr"; return 1; }
	}
	run_bad "matcher 'instance': no operator" silence add instance
	run_bad "matcher '9x=y': a matcher is" silence add 9x=y
	run_bad "matcher 'job=\"open': no closing quote" silence add 'job="open'
	run_bad "matcher 'instance=~(': invalid regex" silence add 'instance=~('
	run_bad "matcher 'job=~(a?){,300}': invalid regex: too complex" silence add 'job=~(a?){,300}'
	run_bad "the end is not after the start" silence add a=b --start 2099-01-02T00:00:00Z --end 2099-01-01T00:00:00Z
	run_bad "the end is in the past" silence add a=b --start 2020-01-01T00:00:00Z --end 2020-01-02T00:00:00Z
	run_bad "ends_at: 'tomorrow' is not an RFC 3339 time" silence add a=b --end tomorrow
	run_bad "duration: '4y' is not a duration" silence add a=b --duration 4y
	run_bad "give an end or a duration, not both" silence add a=b --duration 4h --end 2099-01-01T00:00:00Z
	run_bad "matchers: at least one matcher must not match the empty string" silence add 'team='
	run_bad "matchers: at least one matcher is needed" silence add --duration 1h
	run_bad "silence add: unknown option '--schedule'" silence add a=b --schedule x
	run_bad "silence add: option '--duration' needs a value" silence add a=b --duration
	run_bad "no silence 'nope'" silence expire nope
	run_bad "usage: sm-notify silence expire ID" silence expire
	run_bad "usage: sm-notify silence add|list|expire" silence mute a=b
	run_bad "target: at least one matcher is needed" inhibit add --source a=b
	run_bad "matcher 'c=~[': invalid regex" inhibit add --source a=b --target 'c=~['
	run_bad "equal: 'in-stance' is not a label name" inhibit add --source a=b --target c=d --equal in-stance
	run_bad "usage: sm-notify inhibit add" inhibit add a=b --source c=d --target e=f
	run_bad "no inhibit rule 'nope'" inhibit rm nope
	run_bad "schedule: 'Sun 02:00' is not DAYS HH:MM-HH:MM" maintenance add a=b --schedule 'Sun 02:00'
	run_bad "schedule: 'Funday 02:00-03:00' is not DAYS HH:MM-HH:MM" maintenance add a=b --schedule 'Funday 02:00-03:00'
	run_bad "a maintenance window needs a schedule" maintenance add a=b
	run_bad "tz: 'Mars/Olympus' is not a time zone" maintenance add a=b --schedule 'Sun 02:00-04:00' --tz Mars/Olympus
	run_bad "no maintenance window 'nope'" maintenance rm nope
	[ "$(sql "SELECT (SELECT count(*) FROM silences) + (SELECT count(*) FROM inhibit_rules) + (SELECT count(*) FROM maintenance_windows)")" = 0 ]
}

@test "inhibit add, list and rm; the rule holds back the target while the source fires" {
	run sm-notify inhibit add --source alertname=NodeDown --target 'severity=~"warning|info"' --equal instance,cluster
	[ "$status" -eq 0 ]
	id=$output
	run sm-notify inhibit list --json
	[ "$(echo "$output" | json_get '[d["id"], d["source"], d["target"], d["equal"]]')" = \
		"[\"$id\", [\"alertname=\\\"NodeDown\\\"\"], [\"severity=~\\\"warning|info\\\"\"], [\"instance\", \"cluster\"]]" ]
	am_payload NodeDown db-01 firing critical | sm-ingest >/dev/null
	am_payload Load db-01 firing warning | sm-ingest | sm-notify >"$TEST_DIR/out" 2>/dev/null
	[ "$(json_get 'd["notifications"][0]["reason"]' <"$TEST_DIR/out")" = "inhibited by NodeDown on db-01" ]
	# Once the source resolves, the target is notified.
	am_payload NodeDown db-01 resolved critical | sm-ingest >/dev/null
	am_payload Load db-01 firing warning | sm-ingest | sm-notify >"$TEST_DIR/out" 2>/dev/null
	[ "$(json_get 'd["notifications"][0]["status"]' <"$TEST_DIR/out")" = sent ]
	run sm-notify inhibit rm "$id"
	[ "$status" -eq 0 ]
	run sm-notify inhibit list --json
	[ -z "$output" ]
}

@test "maintenance add, list and rm; inside its window matching alerts are held back" {
	run sm-notify maintenance add instance=db-01 --schedule 'daily 00:00-24:00' --tz UTC --comment always
	[ "$status" -eq 0 ]
	always=$output
	# A window the day after tomorrow (in UTC) is not open now, even if
	# the test runs over midnight.
	other=$(/usr/bin/python3 -c 'import datetime; print(["Wed","Thu","Fri","Sat","Sun","Mon","Tue"][datetime.datetime.now(datetime.timezone.utc).weekday()])')
	run sm-notify maintenance add instance=db-02 --schedule "$other 00:00-24:00" --tz UTC
	[ "$status" -eq 0 ]
	run sm-notify maintenance list --json
	[ "$(echo "$output" | json_get '[d["schedule"], d["tz"], d["active"], d["comment"]]' | head -1)" = \
		'["daily 00:00-24:00", "UTC", true, "always"]' ]
	[ "$(echo "$output" | sed -n 2p | json_get 'd["active"]')" = false ]
	am_payload Cpu db-01 firing | sm-ingest | sm-notify >"$TEST_DIR/out" 2>/dev/null
	[ "$(json_get 'd["notifications"][0]["reason"]' <"$TEST_DIR/out")" = "maintenance $always" ]
	am_payload Cpu db-02 firing | sm-ingest | sm-notify >"$TEST_DIR/out" 2>/dev/null
	[ "$(json_get 'd["notifications"][0]["status"]' <"$TEST_DIR/out")" = sent ]
	run sm-notify maintenance list --json
	[ "$(echo "$output" | head -1 | json_get 'd["held_back"]')" = 1 ]
	run sm-notify maintenance rm "$always"
	[ "$status" -eq 0 ]
	am_payload Cpu db-01 firing critical | sm-ingest | sm-notify >"$TEST_DIR/out" 2>/dev/null
	[ "$(json_get 'd["notifications"][0]["status"]' <"$TEST_DIR/out")" = sent ]
}
