#!/usr/bin/env bats
# The alertmanager driver end to end: envelopes from the real sm-ingest,
# sent by sm-notify to every replica of a real 3-replica Prometheus
# Alertmanager cluster on loopback, whose route notifies a webhook receiver
# (receiver.py). One replica is killed between the firing alert and its
# resolve; the receiver must get each exactly once. Then the whole topology
# of sm(7): an agent pushing to two hubs (lighttpd and sm-ingest, each with
# its store and worker), both notifying the cluster, a hub and a replica
# down. Also: bad URL lists at channel add, and the resend interval.
# shellcheck disable=SC2154 # bats sets $stderr for run --separate-stderr

bats_require_minimum_version 1.5.0
load helpers

setup() {
	setup_sm
	: >"$TEST_DIR/pids"
}

teardown() {
	# KILL: a replica told to stop waits for the mesh it leaves.
	stop_pids "$TEST_DIR/pids" KILL
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
	/usr/bin/python3 "$BATS_TEST_DIRNAME/request.py" GET "http://127.0.0.1:$1/api/v2/status" 2>/dev/null |
		sed '1,/^$/d' | json_get 'len(d["cluster"]["peers"])' 2>/dev/null || echo 0
}

# The alerts with STATUS (and ALERTNAME, default AMDiskFull) the webhook
# receiver got, over all its requests.
got() { # STATUS [ALERTNAME]
	/usr/bin/python3 -c '
import json, sys
n = 0
for line in open(sys.argv[1]):
    body = json.loads(json.loads(line)["body"])
    n += sum(1 for a in body["alerts"]
             if a["status"] == sys.argv[2] and a["labels"].get("alertname") == sys.argv[3])
print(n)' "$TEST_DIR/hook.log" "$1" "${2:-AMDiskFull}"
}

# wait_got N STATUS [ALERTNAME]: until the receiver has N such alerts (or 30 s).
wait_got() {
	for _ in $(seq 300); do
		[ "$(got "$2" "${3:-}")" -ge "$1" ] && return 0
		sleep 0.1
	done
}

# The webhook receiver and three replicas in one cluster, formed; their web
# ports in web[1..3].
start_cluster() {
	need_peer "prometheus-alertmanager is not installed" command -v prometheus-alertmanager
	/usr/bin/python3 "$SM_FIXTURES/bin/receiver.py" --log "$TEST_DIR/hook.log" >"$TEST_DIR/hook.port" 2>/dev/null &
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
}

@test "a 3-replica Alertmanager cluster notifies the firing alert and its resolve once each, one replica down" {
	start_cluster
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
		/usr/bin/python3 "$BATS_TEST_DIRNAME/request.py" GET "http://127.0.0.1:${web[i]}/api/v2/alerts" |
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
	/usr/bin/python3 "$SM_FIXTURES/bin/receiver.py" --log "$TEST_DIR/am.log" >"$TEST_DIR/am.port" 2>/dev/null &
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

# start_hub NAME: a hub (sm-ingest under lighttpd, its own store, the cluster
# driver on) in $TEST_DIR/NAME, with the alertmanager channel to every
# replica; its URL in $TEST_DIR/NAME/url.
start_hub() {
	local dir="$TEST_DIR/$1" port
	mkdir -p "$dir"
	[ -f "$dir/port" ] || free_port >"$dir/port"
	port=$(cat "$dir/port")
	if [ ! -f "$dir/hub.db" ]; then
		printf 'CLUSTER_ENABLED=1\nWEBHOOK_SECRET_CLUSTER=hub-secret\n' >"$dir/hub.env"
		SM_DB="$dir/hub.db" sm-notify channel add am alertmanager \
			"urls=http://127.0.0.1:${web[1]},http://127.0.0.1:${web[2]},http://127.0.0.1:${web[3]}" >/dev/null
	fi
	SM_DB="$dir/hub.db" SM_ENV_FILE="$dir/hub.env" SM_SERVE_DIR="$dir/serve" SM_INGEST="$SM_BIN/sm-ingest" \
		"$BATS_TEST_DIRNAME/../../scripts/serve" "$port" >>"$dir/serve.log" 2>&1 &
	echo $! >>"$TEST_DIR/pids"
	echo $! >"$dir/serve.pid"
	wait_port "$port"
	echo "http://127.0.0.1:$port" >"$dir/url"
}

stop_hub() {
	local pid
	pid=$(cat "$TEST_DIR/$1/serve.pid")
	kill "$pid"
	wait "$pid" 2>/dev/null || true
}

# work NAME: the hub's worker drains its queue once; prints its summary.
work() { SM_DB="$TEST_DIR/$1/hub.db" SM_DEFAULT_DEFINITION=direct sm-pipeline work --once 2>/dev/null; }

# push STATUS: the agent pushes its disk check with STATUS to both hubs.
push() {
	printf '{"v":1,"checks":[{"checker":"disk","status":"%s","message":"/ is %s"}]}\n' "$1" "$1" |
		SM_DB="$TEST_DIR/agent.db" HUB_URL="$(cat "$TEST_DIR/hub1/url"),$(cat "$TEST_DIR/hub2/url")" \
			WEBHOOK_SECRET_CLUSTER=hub-secret INSTANCE_ID=web-01 sm-push-hub 2>/dev/null
}

@test "agents to two hubs to the cluster: each alert and its resolve notified once, a hub and a replica down" {
	need_peer "lighttpd is not installed" command -v lighttpd
	start_cluster
	start_hub hub1
	start_hub hub2

	push critical
	[ "$(work hub1)" = "1 done, 0 failed, 0 to retry later" ]
	[ "$(work hub2)" = "1 done, 0 failed, 0 to retry later" ]
	for h in hub1 hub2; do
		[ "$(SM_DB="$TEST_DIR/$h/hub.db" sql "SELECT count(*) FROM notification_deliveries WHERE status = 'sent'")" = 1 ]
	done
	wait_got 1 firing disk
	sleep "$QUIET"
	[ "$(got firing disk)" = 1 ]

	# A replica and a hub go down; the agent keeps hub2's copy and exits 75.
	kill "$(cat "$TEST_DIR/am1.pid")"
	wait "$(cat "$TEST_DIR/am1.pid")" 2>/dev/null || true
	stop_hub hub2
	run push ok
	[ "$status" -eq 75 ]
	[ "$(SM_DB="$TEST_DIR/agent.db" sql "SELECT count(*) FROM hub_spool")" = 1 ]
	[ "$(work hub1)" = "1 done, 0 failed, 0 to retry later" ]
	wait_got 1 resolved disk
	[ "$(got resolved disk)" = 1 ]

	# hub2 back: the agent's next run gives it the resolve it missed, in
	# order; hub2 tells the cluster, which has it already: nothing more.
	start_hub hub2
	run push ok
	[ "$status" -eq 0 ]
	[ "$(SM_DB="$TEST_DIR/agent.db" sql "SELECT count(*) FROM hub_spool")" = 0 ]
	[ "$(work hub2)" = "2 done, 0 failed, 0 to retry later" ]
	[ "$(SM_DB="$TEST_DIR/hub2/hub.db" sql "SELECT status FROM incidents")" = resolved ]
	sleep "$QUIET"
	[ "$(got firing disk)" = 1 ]
	[ "$(got resolved disk)" = 1 ]
}

@test "sm-notify resend: a firing alert its source never sends again goes to the cluster every resend_interval, and stops once resolved" {
	/usr/bin/python3 "$SM_FIXTURES/bin/receiver.py" --log "$TEST_DIR/am.log" >"$TEST_DIR/am.port" 2>/dev/null &
	echo $! >>"$TEST_DIR/pids"
	port=$(server_port "$TEST_DIR/am.port" $!)
	: >>"$TEST_DIR/am.log"
	# Nothing to keep alive without an alertmanager channel.
	sm-notify channel add hook generic "webhook_url=http://127.0.0.1:$port/hook"
	run --separate-stderr sm-notify resend
	[ "$status" -eq 0 ]
	[ "$output" = "" ]
	sm-notify channel add am alertmanager "urls=http://127.0.0.1:$port"
	am_payload AMDiskFull db-01 firing critical | sm-ingest | sm-notify >/dev/null
	[ "$(grep -c '/api/v2/alerts' "$TEST_DIR/am.log")" = 1 ]
	# Within resend_interval: nothing sent.
	run --separate-stderr sm-notify resend
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | json_get '[(n["channel"], n["status"], n["reason"]) for n in d["notifications"]]')" = \
		'[["am", "skipped", "unchanged within repeat_interval"]]' ]
	[ "$(grep -c '/api/v2/alerts' "$TEST_DIR/am.log")" = 1 ]
	# Two minutes later, with no new envelope: the firing alert again, to
	# the alertmanager channel only, made from the store.
	sql "UPDATE notification_deliveries SET created_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-120 seconds')"
	run --separate-stderr sm-notify resend
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | json_get '[(n["channel"], n["status"], n["reason"]) for n in d["notifications"]]')" = \
		'[["am", "sent", "reminder"]]' ]
	[ "$(grep -c '/api/v2/alerts' "$TEST_DIR/am.log")" = 2 ]
	[ "$(grep -c '/hook' "$TEST_DIR/am.log")" = 1 ]
	tail -1 "$TEST_DIR/am.log" | json_get 'json.loads(d["body"])' >"$TEST_DIR/resent"
	[ "$(json_get '[[a["labels"]["alertname"], "endsAt" in a] for a in d]' <"$TEST_DIR/resent")" = '[["AMDiskFull", false]]' ]
	# Resolved: nothing more to keep alive.
	am_payload AMDiskFull db-01 resolved critical | sm-ingest | sm-notify >/dev/null
	sql "UPDATE notification_deliveries SET created_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-120 seconds')"
	before=$(grep -c '/api/v2/alerts' "$TEST_DIR/am.log")
	run --separate-stderr sm-notify resend
	[ "$status" -eq 0 ]
	[ "$output" = "" ]
	[ "$(grep -c '/api/v2/alerts' "$TEST_DIR/am.log")" = "$before" ]
	# Every replica down: 75, as any delivery.
	sm-notify channel disable hook
	am_payload AMOther db-02 firing warning | sm-ingest >/dev/null
	kill "$(tail -1 "$TEST_DIR/pids")"
	SM_NOTIFY_RETRIES=0 run --separate-stderr sm-notify resend
	[ "$status" -eq 75 ]
}
