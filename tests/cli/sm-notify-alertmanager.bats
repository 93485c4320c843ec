#!/usr/bin/env bats
# The alertmanager driver end to end: envelopes from the real sm-ingest,
# sent by sm-notify to every replica of a real 3-replica Prometheus
# Alertmanager cluster on loopback, whose route notifies a webhook receiver
# (receiver.py). One replica is killed between the firing alert and its
# resolve; the receiver must get each exactly once. Also: bad URL lists at
# channel add, and the resend interval.
# shellcheck disable=SC2154 # bats sets $stderr for run --separate-stderr

bats_require_minimum_version 1.5.0
load helpers

setup() {
	setup_sm
	: >"$TEST_DIR/pids"
}

teardown() {
	# KILL: a replica told to stop waits for the mesh it leaves.
	while read -r pid; do
		kill -KILL "$pid" 2>/dev/null || true
	done <"$TEST_DIR/pids"
	teardown_sm
}

# Alertmanager's peer timeout, in milliseconds: a replica at position N of
# the cluster waits N times this for an earlier one to notify before it
# does, with the alerts as they were when its group_interval tick took
# them. Kept well under group_interval (1 s) times: a replica whose tick
# came just before the resolve would otherwise still hold the alert as
# firing when the resolve notified by another reaches it, and send the
# firing alert again (the cluster's own race, not the driver's).
PEER_TIMEOUT=250
# How long after a notification a duplicate from another replica could
# still come: the last position's wait and a group_interval, with room.
QUIET=3

# start_am I WEB CLUSTER PEER...: replica I of the cluster.
start_am() {
	local i=$1 web=$2 cluster=$3 peers=() p
	shift 3
	for p in "$@"; do
		peers+=("--cluster.peer=127.0.0.1:$p")
	done
	mkdir -p "$TEST_DIR/am$i"
	prometheus-alertmanager --config.file="$TEST_DIR/am.yml" --storage.path="$TEST_DIR/am$i" \
		--web.listen-address="127.0.0.1:$web" --cluster.listen-address="127.0.0.1:$cluster" \
		--cluster.advertise-address="127.0.0.1:$cluster" "${peers[@]}" \
		--cluster.peer-timeout="${PEER_TIMEOUT}ms" --cluster.gossip-interval=50ms \
		--cluster.settle-timeout=5s >"$TEST_DIR/am$i/log" 2>&1 &
	echo $! >>"$TEST_DIR/pids"
	echo $! >"$TEST_DIR/am$i.pid"
}

# The number of peers replica WEB sees in its cluster.
am_peers() {
	python3 "$BATS_TEST_DIRNAME/request.py" GET "http://127.0.0.1:$1/api/v2/status" 2>/dev/null |
		sed '1,/^$/d' | json_get 'len(d["cluster"]["peers"])' 2>/dev/null || echo 0
}

# The alerts with STATUS the webhook receiver got, over all its requests.
got() { # STATUS
	python3 -c '
import json, sys
n = 0
for line in open(sys.argv[1]):
    body = json.loads(json.loads(line)["body"])
    n += sum(1 for a in body["alerts"]
             if a["status"] == sys.argv[2] and a["labels"].get("alertname") == "AMDiskFull")
print(n)' "$TEST_DIR/hook.log" "$1"
}

@test "a 3-replica Alertmanager cluster notifies the firing alert and its resolve once each, one replica down" {
	need_peer "prometheus-alertmanager is not installed" command -v prometheus-alertmanager
	python3 "$SM_FIXTURES/bin/receiver.py" --log "$TEST_DIR/hook.log" >"$TEST_DIR/hook.port" 2>/dev/null &
	echo $! >>"$TEST_DIR/pids"
	hook=$(server_port "$TEST_DIR/hook.port" $!)
	: >>"$TEST_DIR/hook.log"
	cat >"$TEST_DIR/am.yml" <<YML
route:
  receiver: hook
  group_by: [alertname, instance]
  group_wait: 0s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: hook
    webhook_configs:
      - url: http://127.0.0.1:$hook/hook
        send_resolved: true
YML
	for i in 1 2 3; do
		web[i]=$(free_port)
		cl[i]=$(free_port)
	done
	start_am 1 "${web[1]}" "${cl[1]}" "${cl[2]}" "${cl[3]}"
	start_am 2 "${web[2]}" "${cl[2]}" "${cl[1]}" "${cl[3]}"
	start_am 3 "${web[3]}" "${cl[3]}" "${cl[1]}" "${cl[2]}"
	for i in 1 2 3; do
		wait_port "${web[i]}"
	done
	# The cluster has formed when every replica sees all three.
	for i in 1 2 3; do
		for _ in $(seq 300); do
			[ "$(am_peers "${web[i]}")" = 3 ] && break
			sleep 0.1
		done
		[ "$(am_peers "${web[i]}")" = 3 ]
	done
	run sm-notify channel add am alertmanager \
		"urls=http://127.0.0.1:${web[1]},http://127.0.0.1:${web[2]}/,http://127.0.0.1:${web[3]}" \
		api_key=am-s3cr3t
	[ "$status" -eq 0 ]

	am_payload AMDiskFull db-01 firing critical | sm-ingest >"$TEST_DIR/fire.json"
	run --separate-stderr sm-notify --channel am <"$TEST_DIR/fire.json"
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | json_get 'd["notifications"][0]["status"]')" = sent ]
	for _ in $(seq 300); do
		[ "$(got firing)" -ge 1 ] && break
		sleep 0.1
	done
	[ "$(got firing)" = 1 ]
	# Every replica has it; the ones later in the cluster's order would
	# notify after their wait unless the first's notification reached them.
	for i in 1 2 3; do
		python3 "$BATS_TEST_DIRNAME/request.py" GET "http://127.0.0.1:${web[i]}/api/v2/alerts" |
			sed '1,/^$/d' | json_get 'd[0]["labels"]["sm_source"]' | grep -qx alertmanager
	done
	sleep "$QUIET"
	[ "$(got firing)" = 1 ]

	kill "$(cat "$TEST_DIR/am1.pid")"
	wait "$(cat "$TEST_DIR/am1.pid")" 2>/dev/null || true
	am_payload AMDiskFull db-01 resolved critical | sm-ingest >"$TEST_DIR/resolve.json"
	run --separate-stderr sm-notify --channel am <"$TEST_DIR/resolve.json"
	[ "$status" -eq 0 ]
	# Delivered, the replica that was down named; the key is nowhere.
	[ "$(echo "$output" | json_get 'd["notifications"][0]["status"]')" = sent ]
	[[ "$(echo "$output" | json_get 'd["notifications"][0]["error"]')" == "1 of 3 replicas did not take it; http://127.0.0.1:${web[1]}/api/v2/alerts: "* ]]
	[[ "$stderr" == *"delivered in part"*"127.0.0.1:${web[1]}"* ]]
	[[ "$output$stderr" != *am-s3cr3t* ]]
	for _ in $(seq 300); do
		[ "$(got resolved)" -ge 1 ] && break
		sleep 0.1
	done
	[ "$(got resolved)" = 1 ]
	sleep "$QUIET"
	[ "$(got resolved)" = 1 ]
	[ "$(got firing)" = 1 ]
}

@test "every replica down is temporary (75); a bad URL list is refused naming the entry" {
	port=$(free_port)
	run sm-notify channel add am alertmanager "urls=http://127.0.0.1:$port,127.0.0.1:9093"
	[ "$status" -eq 64 ]
	[[ "$output" == "sm-notify: urls: entry 2 '127.0.0.1:9093': "* ]]
	run sm-notify channel list
	[[ "$output" != *am* ]]
	run sm-notify channel add am alertmanager "urls=http://127.0.0.1:$port" api_key=am-s3cr3t retries=0
	[ "$status" -eq 0 ]
	run sm-notify channel show am
	[[ "$output" != *am-s3cr3t* ]]
	am_payload AMDiskFull db-01 firing critical | sm-ingest >"$TEST_DIR/fire.json"
	run --separate-stderr sm-notify --channel am <"$TEST_DIR/fire.json"
	[ "$status" -eq 75 ]
	[ "$(echo "$output" | json_get 'd["notifications"][0]["status"]')" = failed ]
	[[ "$output$stderr" != *am-s3cr3t* ]]
}

@test "an unchanged firing alert is sent again after resend_interval, not after 4 hours" {
	python3 "$SM_FIXTURES/bin/receiver.py" --log "$TEST_DIR/am.log" >"$TEST_DIR/am.port" 2>/dev/null &
	echo $! >>"$TEST_DIR/pids"
	port=$(server_port "$TEST_DIR/am.port" $!)
	: >>"$TEST_DIR/am.log"
	sm-notify channel add am alertmanager "urls=http://127.0.0.1:$port"
	sm-notify channel add am2 alertmanager "urls=http://127.0.0.1:$port" resend_interval=600
	sm-notify channel add hook generic "webhook_url=http://127.0.0.1:$port/hook"
	am_payload AMDiskFull db-01 firing critical | sm-ingest >"$TEST_DIR/fire.json"
	sm-notify <"$TEST_DIR/fire.json" >/dev/null
	[ "$(wc -l <"$TEST_DIR/am.log")" = 3 ]
	# The same alert again, unchanged, with the last messages 2 minutes old.
	am_payload AMDiskFull db-01 firing critical | sm-ingest >"$TEST_DIR/again.json"
	sql "UPDATE notification_deliveries SET created_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-120 seconds')"
	run --separate-stderr sm-notify <"$TEST_DIR/again.json"
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | json_get '[(n["channel"], n["status"], n["reason"]) for n in d["notifications"]]')" = \
		'[["am", "sent", "reminder"], ["am2", "skipped", "unchanged within repeat_interval"], ["hook", "skipped", "unchanged within repeat_interval"]]' ]
	[ "$(wc -l <"$TEST_DIR/am.log")" = 4 ]
}
