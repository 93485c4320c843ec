#!/usr/bin/env bats
# sm-pipeline work, queue and route end to end: webhooks POSTed to the real
# CGI handler under lighttpd (or queued by sm-ingest --queue), drained by
# the worker through the routed definition into a generic channel on a
# loopback receiver; a running worker woken by the handler; workers side by
# side; a worker killed -9 mid-run; retries, dead letters and queue retry;
# routing.
# shellcheck disable=SC2154 # bats sets $stderr for run --separate-stderr

bats_require_minimum_version 1.5.0
load helpers
load cgi_tests

setup() {
	setup_sm
	# A small host tree: sm-analyze's disk rule walks it, not this machine's
	# root filesystem (seconds a run, up to its 30 s bound on a big one).
	host rec-mem
	export ORCHESTRATION_METRICS_BACKEND=none
	export ORCHESTRATION_BACKOFF_FACTOR=0
	export ORCHESTRATION_MAX_RETRIES_PER_STAGE=0 # item retries, not stage retries, here
	export ORCHESTRATION_QUEUE_RETRY_SECONDS=0
	export SM_NOTIFY_RETRIES=0
	export SM_DEFAULT_DEFINITION=direct
	: >"$TEST_DIR/pids"
}

teardown() {
	stop_server
	while read -r pid; do
		kill "$pid" 2>/dev/null || true
	done <"$TEST_DIR/pids"
	teardown_sm
}

# The CGI (or, serve fastcgi, the FastCGI) handler under lighttpd, writing
# the test's store.
serve() {
	command -v lighttpd >/dev/null || skip "lighttpd is not installed (scripts/deps test)"
	export CGI_DIR=$TEST_DIR SERVE_MODE=${1:-cgi} SM_SERVE_DIR=$TEST_DIR/serve
	export SM_INGEST=$SM_BIN/sm-ingest PORT
	PORT=$(free_port)
	start_server
}

# receiver NAME [flags]: a loopback webhook logging to $TEST_DIR/NAME.log,
# and the generic channel $CHANNEL (default "hook") pointing at it.
receiver() {
	local name=$1 port channel=${CHANNEL:-hook}
	shift
	port=$(free_port)
	/usr/bin/python3 "$SM_FIXTURES/bin/receiver.py" "$port" --log "$TEST_DIR/$name.log" "$@" \
		>/dev/null 2>&1 &
	echo $! >>"$TEST_DIR/pids"
	wait_port "$port"
	: >>"$TEST_DIR/$name.log"
	sm-notify channel add "$channel" generic "webhook_url=http://127.0.0.1:$port/$channel" \
		retries=0 repeat_interval=0 >/dev/null
}

# on_tty COMMAND-STRING: its output as on a terminal, in $output and $lines.
on_tty() {
	output=$(NO_COLOR=1 COLUMNS=200 script -qec "$1" /dev/null | tr -d '\r')
	mapfile -t lines <<<"$output"
}

requests() { wc -l <"$TEST_DIR/$1.log" | tr -d ' '; }

at_least() { [ "$(requests "$1")" -ge "$2" ]; }

# The trace ids of the deliveries, sorted.
delivered_traces() {
	/usr/bin/python3 -c 'import json,sys
for l in open(sys.argv[1]): print(json.loads(json.loads(l)["body"])["trace_id"])' "$TEST_DIR/$1.log" |
		LC_ALL=C sort
}

queued() { am_payload "$1" "${2:-db-01}" firing "${3:-warning}" | sm-ingest --queue >/dev/null; }
states() { sql "SELECT group_concat(state, ' ') FROM (SELECT state FROM inbox ORDER BY id)"; }
states_are() { [ "$(states)" = "$1" ]; }

# exited PID: $rc is its exit status once it has ended (a child of this shell).
exited() {
	rc=0
	wait "$1" || rc=$?
}

# sm-pipeline alone in a bin directory with links to the real siblings, so
# a test can replace one with a fake.
private_bin() {
	mkdir -p "$TEST_DIR/bin"
	cp "$SM_BIN/sm-pipeline" "$TEST_DIR/bin/"
	ln -s "$(cd "$SM_BIN/../lib" && pwd)" "$TEST_DIR/lib"
	for t in sm-ingest sm-check sm-analyze sm-notify; do
		ln -s "$SM_BIN/$t" "$TEST_DIR/bin/$t"
	done
	export PATH="$TEST_DIR/bin:/usr/bin:/bin"
}

# start_worker: a running worker woken only by the writers (no poll),
# logging at debug level to $TEST_DIR/work.err; $worker is its pid.
start_worker() {
	ORCHESTRATION_QUEUE_POLL_SECONDS=3600 SM_LOG_LEVEL=debug sm-pipeline work 2>"$TEST_DIR/work.err" &
	worker=$!
	echo "$worker" >>"$TEST_DIR/pids"
	wait_for test -e "$SM_DB-wake"
}

# sm-notify as a filter of its own, not run in the worker (SM_NOTIFY_IN_WORKER):
# for the cases about the filters, which sm-notify stands for.
filter_notify() { export SM_NOTIFY_IN_WORKER=no; }

fake() { # PROGRAM SCRIPT-BODY
	rm -f "$TEST_DIR/bin/$1"
	printf '#!/bin/sh\n%s\n' "$2" >"$TEST_DIR/bin/$1"
	chmod +x "$TEST_DIR/bin/$1"
}

# timed_definition NAME SECONDS: a definition NAME (ingest -> notify) whose
# stages time out after SECONDS.
timed_definition() {
	printf '{"version": "1", "match": [], "defaults": {"timeout_seconds": %s}, "nodes": [%s, %s]}\n' \
		"$2" '{"id": "ingest", "type": "ingest", "next": "notify"}' '{"id": "notify", "type": "notify"}' \
		>"$TEST_DIR/$1.json"
	sm-pipeline definition add "$1" "$TEST_DIR/$1.json"
}

# A definition "analyzed" (ingest -> analyze -> notify) every item matches.
analyzed_definition() {
	cat >"$TEST_DIR/analyzed.json" <<-'EOF'
		{"version": "1", "match": [], "nodes": [
		 {"id": "ingest", "type": "ingest", "next": "analyze"},
		 {"id": "analyze", "type": "intelligence", "next": "notify"},
		 {"id": "notify", "type": "notify"}]}
	EOF
	sm-pipeline definition add analyzed "$TEST_DIR/analyzed.json"
}

@test "webhooks through the CGI handler, drained by work --once: one delivery per alert, runs recorded" {
	receiver hook
	serve
	for host in web-01 web-02 web-03; do
		post /alerts/webhook/alertmanager/ "$(am_payload DiskFull "$host" firing critical)"
		[ "$code" = 202 ]
	done
	[ "$(states)" = "pending pending pending" ]
	[ "$(requests hook)" = 0 ] # nothing drains the queue by itself
	unset SM_DEFAULT_DEFINITION # the default is ai-analyzed
	run sm-pipeline work --once
	[ "$status" -eq 0 ]
	[ "$output" = "3 done, 0 failed, 0 to retry later" ]
	[ "$(states)" = "done done done" ]
	[ "$(requests hook)" = 3 ]
	for host in web-01 web-02 web-03; do
		[ "$(grep -c "DiskFull on $host" "$TEST_DIR/hook.log")" = 1 ]
	done
	# Each item has its run: the routed definition from the node after
	# ingest, with the webhook's trace id; delivered with that trace id.
	[ "$(sql "SELECT count(*) FROM inbox i JOIN pipeline_runs r ON r.run_id = i.run_id
		WHERE r.trace_id = i.trace_id AND r.status = 'notified' AND r.definition = 'ai-analyzed'
		AND i.definition = 'ai-analyzed' AND i.attempts = 1")" = 3 ]
	run_id=$(sql "SELECT run_id FROM inbox ORDER BY id LIMIT 1")
	[ "$(sm-pipeline show "$run_id" --json | json_get '[s["node"] for s in d["stages"]]')" = '["analyze", "notify"]' ]
	[ "$(delivered_traces hook)" = "$(sql "SELECT trace_id FROM inbox ORDER BY trace_id")" ]
	# A second --once finds nothing and delivers nothing more.
	run sm-pipeline work --once
	[ "$output" = "0 done, 0 failed, 0 to retry later" ]
	[ "$(requests hook)" = 3 ]
}

# nothing_lost N: once the queue is drained, it holds the N alerts accepted
# (Kill1 on host-1 ...), each delivered, only the one in flight at a kill
# maybe twice, each run once to the end.
queue_drained() { [ "$(sql "SELECT count(*) FROM inbox WHERE state <> 'done'")" = 0 ]; }
nothing_lost() {
	local i n
	wait_for queue_drained
	[ "$(sql "SELECT count(*) FROM inbox")" = "$1" ]
	for i in $(seq "$1"); do
		n=$(grep -c "\"Kill$i on host-$i" "$TEST_DIR/hook.log")
		[ "$n" -ge 1 ] && [ "$n" -le 2 ]
	done
	[ "$(requests hook)" -le $(($1 + 1)) ]
	[ "$(sql "SELECT count(*) FROM pipeline_runs WHERE status = 'notified'")" = "$1" ]
}

@test "FastCGI under lighttpd, two workers, one killed -9 mid-run: every accepted alert delivered, at most one twice, the queue empty" {
	# Each delivery takes a second, so a worker is nearly always in flight.
	receiver hook --delay 1
	serve fastcgi
	export ORCHESTRATION_QUEUE_STALE_SECONDS=2 ORCHESTRATION_QUEUE_POLL_SECONDS=0.2
	accepted=0
	accept() {
		post /alerts/webhook/alertmanager/ "$(am_payload "Kill$1" "host-$1" firing)"
		[ "$code" = 202 ]
		accepted=$((accepted + 1))
	}
	for i in $(seq 8); do accept "$i"; done
	sm-pipeline work 2>"$TEST_DIR/a.err" &
	a=$!
	echo "$a" >>"$TEST_DIR/pids"
	sm-pipeline work 2>"$TEST_DIR/b.err" &
	b=$!
	echo "$b" >>"$TEST_DIR/pids"
	# Worker a, in the middle of an item: claimed (with others due), its
	# run under way.
	in_flight() { [ "$(sql "SELECT count(*) FROM inbox WHERE state = 'claimed' AND claimed_by LIKE '%:$a'")" -ge 1 ]; }
	wait_for in_flight
	kill -9 "$a"
	exited "$a"
	[ "$rc" = 137 ]
	# More webhooks while b drains.
	for i in $(seq 9 12); do accept "$i"; done
	nothing_lost "$accepted"
	grep -q 'msg="queue item taken over from a stopped worker"' "$TEST_DIR/b.err"
	kill -TERM "$b"
	exited "$b"
	[ "$rc" = 0 ]
}

# claimed_by PID: how many items worker PID holds claimed.
claimed_by() { sql "SELECT count(*) FROM inbox WHERE state = 'claimed' AND claimed_by LIKE '%:$1'"; }

@test "a worker claims the due items together; killed -9 mid-batch, the rest are taken once stale, delivered once, only the one in flight maybe twice" {
	# The first delivery takes three seconds: the worker is killed in it.
	echo "200 3" >"$TEST_DIR/script"
	receiver hook --script "$TEST_DIR/script"
	for i in $(seq 5); do queued "Batch$i" "host-$i"; done
	sm-pipeline work 2>"$TEST_DIR/a.err" &
	a=$!
	echo "$a" >>"$TEST_DIR/pids"
	wait_for at_least hook 1
	# One claim took the five due items; the first is in flight.
	[ "$(claimed_by "$a")" = 5 ]
	kill -9 "$a"
	exited "$a"
	[ "$rc" = 137 ]
	[ "$(states)" = "claimed claimed claimed claimed claimed" ]
	# The run ids were promised to the five with their claims; a batch's
	# runs are recorded once they end, so none is yet.
	[ "$(sql "SELECT count(*) FROM inbox WHERE run_id IS NOT NULL")" = 5 ]
	[ "$(sql "SELECT count(*) FROM pipeline_runs")" = 0 ]
	ORCHESTRATION_QUEUE_STALE_SECONDS=0.001 run --separate-stderr sm-pipeline work --once
	[ "$status" -eq 0 ]
	[ "$output" = "5 done, 0 failed, 0 to retry later" ]
	[ "$(states)" = "done done done done done" ]
	[ "$(sql "SELECT count(*) FROM pipeline_runs WHERE status = 'notified'")" = 5 ]
	n=$(grep -c '"Batch1 on host-1' "$TEST_DIR/hook.log")
	[ "$n" -ge 1 ] && [ "$n" -le 2 ]
	for i in 2 3 4 5; do
		[ "$(grep -c "\"Batch$i on host-$i" "$TEST_DIR/hook.log")" = 1 ]
	done
}

@test "a worker stopped mid-batch finishes the item in hand and gives the other claims back, not counted as attempts" {
	echo "200 3" >"$TEST_DIR/script"
	receiver hook --script "$TEST_DIR/script"
	for i in $(seq 4); do queued "Stop$i" "host-$i"; done
	sm-pipeline work 2>"$TEST_DIR/work.err" &
	worker=$!
	echo "$worker" >>"$TEST_DIR/pids"
	wait_for at_least hook 1
	[ "$(claimed_by "$worker")" = 4 ]
	kill -TERM "$worker"
	exited "$worker"
	[ "$rc" = 0 ]
	[ "$(states)" = "done pending pending pending" ]
	[ "$(sql "SELECT sum(attempts), count(claimed_by) FROM inbox WHERE state = 'pending'")" = "0	0" ]
	[ "$(requests hook)" = 1 ]
	run --separate-stderr sm-pipeline work --once
	[ "$output" = "3 done, 0 failed, 0 to retry later" ]
	[ "$(sql "SELECT group_concat(attempts, ' ') FROM (SELECT attempts FROM inbox ORDER BY id)")" = "1 1 1 1" ]
	for i in 1 2 3 4; do
		[ "$(grep -c "\"Stop$i on host-$i" "$TEST_DIR/hook.log")" = 1 ]
	done
}

@test "an item of a batch whose claim went stale while the first one ran is left to the worker that took it: delivered once" {
	echo "200 3" >"$TEST_DIR/script"
	receiver hook --script "$TEST_DIR/script"
	queued Slow1 host-1
	queued Slow2 host-2
	export ORCHESTRATION_QUEUE_STALE_SECONDS=1
	sm-pipeline work 2>"$TEST_DIR/a.err" &
	a=$!
	echo "$a" >>"$TEST_DIR/pids"
	wait_for at_least hook 1
	[ "$(claimed_by "$a")" = 2 ]
	# The heartbeat renews the item in hand only: the second claim goes
	# stale, and another worker takes that item and delivers it.
	took_it() {
		sm-pipeline work --once >/dev/null 2>&1
		grep -q '"Slow2 on host-2' "$TEST_DIR/hook.log"
	}
	wait_for took_it
	# The first worker, done with its item, finds the claim gone.
	wait_for grep -q 'msg="queue item claimed with others was taken over meanwhile"' "$TEST_DIR/a.err"
	kill -TERM "$a"
	exited "$a"
	[ "$rc" = 0 ]
	[ "$(states)" = "done done" ]
	[ "$(grep -c '"Slow1 on host-1' "$TEST_DIR/hook.log")" = 1 ]
	[ "$(grep -c '"Slow2 on host-2' "$TEST_DIR/hook.log")" = 1 ]
	[ "$(sql "SELECT count(*) FROM pipeline_runs")" = 2 ]
}

@test "the worker keeps sm-notify running across items, restarts it when the channels change or it dies" {
	filter_notify
	receiver hook
	start_worker
	for i in 1 2 3; do queued "Keep$i"; done
	wait_for at_least hook 3
	wait_for states_are "done done done"
	# One filter for the three items, in its own process group.
	[ "$(grep -c 'msg="stage filter started"' "$TEST_DIR/work.err")" = 1 ]
	filter=$(pgrep -P "$worker" -x sm-notify)
	[ "$(ps -o pgid= -p "$filter" | tr -d ' ')" = "$filter" ]
	# A channel added: the next item goes to both, through a new filter.
	port=$(free_port)
	/usr/bin/python3 "$SM_FIXTURES/bin/receiver.py" "$port" --log "$TEST_DIR/second.log" >/dev/null 2>&1 &
	echo $! >>"$TEST_DIR/pids"
	wait_port "$port"
	: >>"$TEST_DIR/second.log"
	sm-notify channel add second generic "webhook_url=http://127.0.0.1:$port/x" retries=0 >/dev/null
	queued Keep4
	wait_for at_least second 1
	wait_for at_least hook 4
	grep -q 'msg="configuration changed: restarting the stage filters"' "$TEST_DIR/work.err"
	[ "$(grep -c 'msg="stage filter started"' "$TEST_DIR/work.err")" = 2 ]
	# The filter killed between items: the next item starts another.
	wait_for states_are "done done done done"
	kill -9 "$(pgrep -P "$worker" -x sm-notify)"
	queued Keep5
	wait_for at_least hook 5
	wait_for states_are "done done done done done"
	[ "$(grep -c 'msg="stage filter started"' "$TEST_DIR/work.err")" = 3 ]
	[ "$(requests hook)" = 5 ]
	[ "$(requests second)" = 2 ]
	kill -TERM "$worker"
	exited "$worker"
	[ "$rc" = 0 ]
	# Its filters end with it.
	[ -z "$(pgrep -P "$worker")" ]
}

@test "sm-notify in the worker's own process: none started, alerts delivered and recorded, its lines as sm-notify's with the run's id; a channel added is seen" {
	receiver hook
	start_worker
	for i in 1 2 3; do queued "Local$i"; done
	wait_for at_least hook 3
	wait_for states_are "done done done"
	[ -z "$(pgrep -P "$worker" -x sm-notify)" ]
	run grep -c 'msg="stage filter started"' "$TEST_DIR/work.err"
	[ "$output" = 0 ]
	[ "$(sql "SELECT group_concat(status, ' ') FROM pipeline_runs")" = "notified notified notified" ]
	[ "$(sql "SELECT count(*) FROM notification_deliveries d JOIN inbox i ON i.run_id = d.run_id WHERE d.status = 'sent'")" = 3 ]
	run_id=$(sql "SELECT run_id FROM inbox WHERE id = 2")
	grep -q "level=info tool=sm-notify trace_id=[0-9a-f]* msg=delivered channel=hook driver=generic run_id=$run_id\$" "$TEST_DIR/work.err"
	# A channel added: the next item goes to both.
	CHANNEL=second receiver second
	queued Local4
	wait_for at_least second 1
	wait_for states_are "done done done done"
	[ "$(requests hook)" = 4 ]
	[ "$(requests second)" = 1 ]
	kill -TERM "$worker"
	exited "$worker"
	[ "$rc" = 0 ]
}

@test "sm-notify in the worker: a failed delivery ends the run as the filter's would, the same error" {
	sm-notify channel add dead generic webhook_url=http://127.0.0.1:9/x retries=0 >/dev/null
	export ORCHESTRATION_QUEUE_MAX_RETRIES=0
	for mode in yes no; do
		queued "Dead$mode"
		SM_NOTIFY_IN_WORKER=$mode run --separate-stderr sm-pipeline work --once
		[ "$status" -eq 0 ]
		[ "$output" = "0 done, 1 failed, 0 to retry later" ]
		[[ "$stderr" == *'msg="queue item failed"'*'error="node \"notify\": sm-notify exited 75: ts='* ]]
	done
	# The same error in both, but for the time and the trace id.
	run bash -c "sed -E 's/ts=[^ ]+/ts=T/; s/trace_id=[0-9a-f]+/trace_id=X/' <<<'$(sql "SELECT error FROM inbox ORDER BY id")' | uniq"
	[ "${#lines[@]}" -eq 1 ]
	[[ "$(sql "SELECT error FROM inbox WHERE id = 1")" == 'node "notify": sm-notify exited 75: ts='*' level=error tool=sm-notify trace_id='*' msg="delivery failed" channel=dead driver=generic error="connect to 127.0.0.1 port 9:'* ]]
}

@test "sm-notify in the worker: a store that refuses its records fails the run as the filter's would, with sm-notify's own line" {
	receiver hook
	sql "CREATE TRIGGER refuse BEFORE INSERT ON notification_deliveries
		BEGIN SELECT RAISE(ABORT, 'deliveries refused here'); END"
	export ORCHESTRATION_QUEUE_MAX_RETRIES=0
	for mode in yes no; do
		queued "Refused$mode" "host-$mode"
		SM_LOG_LEVEL=debug SM_NOTIFY_IN_WORKER=$mode run --separate-stderr \
			sm-pipeline work --once
		[ "$status" -eq 0 ]
		[ "$output" = "0 done, 1 failed, 0 to retry later" ]
		if [ "$mode" = yes ]; then
			[[ "$stderr" != *'stage filter started'* ]]
		else
			[[ "$stderr" == *'stage filter started'* ]]
		fi
	done
	# Sent, then refused: the same stored error both ways, sm-notify's own
	# line for the store that failed.
	[ "$(requests hook)" = 2 ]
	[ "$(sql "SELECT DISTINCT error FROM inbox")" = \
		'node "notify": sm-notify exited 1: sm-notify: cannot record deliveries: deliveries refused here' ]
	[ "$(sql "SELECT count(*) FROM notification_deliveries")" = 0 ]
}

@test "sm-notify runs as a filter when a delivery could outlast the node's timeout, when it is a link or a script, or SM_NOTIFY_IN_WORKER=no" {
	receiver hook # each try within 10 s, no retry: at most 10 s
	# A node timeout of 8 s: the worker could not stop it in time.
	timed_definition short 8
	queued Short
	SM_LOG_LEVEL=debug run --separate-stderr sm-pipeline work --once --definition short
	[ "$output" = "1 done, 0 failed, 0 to retry later" ]
	[[ "$stderr" == *'msg="stage filter started"'* ]]
	# 12 s: it runs in the worker.
	timed_definition long 12
	queued Long
	SM_LOG_LEVEL=debug run --separate-stderr sm-pipeline work --once --definition long
	[ "$output" = "1 done, 0 failed, 0 to retry later" ]
	[[ "$stderr" != *'msg="stage filter started"'* ]]
	[[ "$stderr" == *"tool=sm-notify"*"msg=delivered channel=hook"* ]]
	# Asked not to.
	queued Asked
	SM_NOTIFY_IN_WORKER=no SM_LOG_LEVEL=debug run --separate-stderr sm-pipeline work --once
	[[ "$stderr" == *'msg="stage filter started"'* ]]
	SM_NOTIFY_IN_WORKER=maybe run --separate-stderr sm-pipeline work --once
	[ "$status" -eq 64 ]
	[ "$stderr" = "sm-pipeline: SM_NOTIFY_IN_WORKER: expected yes or no" ]
	# sm-notify beside sm-pipeline a link to another file, then a script.
	private_bin
	queued Linked
	SM_LOG_LEVEL=debug run --separate-stderr sm-pipeline work --once
	[ "$output" = "1 done, 0 failed, 0 to retry later" ]
	[[ "$stderr" == *'msg="stage filter started"'* ]]
	# (Tried as a filter first, which it does not speak, then as a process
	# per run: it may have run once or twice, never in the worker.)
	fake sm-notify 'cat; echo "{\"script\": 1}" >>'"'$TEST_DIR/script.log'"
	queued Scripted
	run --separate-stderr sm-pipeline work --once
	[ "$(wc -l <"$TEST_DIR/script.log")" -ge 1 ]
	[ "$(requests hook)" = 4 ]
}

@test "sm-notify's program file replaced (an upgrade): the next item a second later goes to a new filter" {
	filter_notify
	private_bin
	receiver hook
	start_worker
	queued Swap1
	wait_for at_least hook 1
	wait_for states_are "done"
	first=$(pgrep -P "$worker" -x sm-notify)
	# A new file in its place, as a package upgrade leaves it.
	cp "$SM_BIN/sm-notify" "$TEST_DIR/bin/sm-notify.new"
	mv -f "$TEST_DIR/bin/sm-notify.new" "$TEST_DIR/bin/sm-notify"
	sleep 1.1 # the file is looked at once a second
	queued Swap2
	wait_for at_least hook 2
	wait_for states_are "done done"
	[ "$(grep -c 'msg="stage filter started"' "$TEST_DIR/work.err")" = 2 ]
	[ "$(pgrep -P "$worker" -x sm-notify)" != "$first" ]
	kill -0 "$first" 2>/dev/null && false
	kill -TERM "$worker"
	exited "$worker"
	[ "$rc" = 0 ]
}

# A run under strace: LeakSanitizer off (the sanitized build), as a process
# has one tracer and LeakSanitizer needs to be it.
no_leak_check() { ASAN_OPTIONS="${ASAN_OPTIONS:-}:detect_leaks=0" "$@"; }

# calls TRACE: the worker's calls in an strace file, one letter each: E an
# envelope written to the filter, W a WAL write (not the one-byte growths of
# the -shm file), L readlink, P a poll on three descriptors that may wait
# (waiting for work; not the look at a filter's pipes after its status).
calls() {
	awk '/^write\(.*"\{\\"v\\":1/ {printf "E"} /^pwrite64\(/ && !/, 1, [0-9]+\)/ {printf "W"}
		/^readlink\(/ {printf "L"} /^poll\(.*\], 3, [1-9-]/ {printf "P"}' "$1"
}

@test "a backlog's envelopes go to the filter with nothing written between them; the program is looked up once" {
	filter_notify
	need_peer "strace is not installed" command -v strace
	receiver hook
	for i in 1 2 3; do queued "Handed$i"; done
	no_leak_check strace -qq -e trace=write,pwrite64,readlink -s 12 -o "$TEST_DIR/trace" \
		sm-pipeline work --once >/dev/null 2>&1
	[ "$(requests hook)" = 3 ]
	[ "$(states)" = "done done done" ]
	[ "$(sql "SELECT count(*) FROM pipeline_runs WHERE status = 'notified'")" = 3 ]
	# (No -f: sm-notify is not traced.) The claims and the run ids promised
	# to the items commit, the three envelopes go out, and the three runs
	# are recorded in one commit.
	calls=$(calls "$TEST_DIR/trace")
	[ "$(echo "$calls" | tr -d L | tr -s W)" = "WEEEW" ]
	# sm-notify's path was found for the first item and kept (the
	# sanitizers' runtime reads /proc/self/exe once more at start).
	[[ "${calls#*E}" != *L* ]]
}

@test "a backlog: the next envelope goes to the filter as soon as the one before is done, before that run is judged" {
	filter_notify
	need_peer "strace is not installed" command -v strace
	receiver hook
	for i in 1 2 3; do queued "Ahead$i" "host-$i"; done
	no_leak_check strace -qq -e trace=write,read,newfstatat,stat,wait4 -s 12 -o "$TEST_DIR/trace" \
		sm-pipeline work --once >/dev/null 2>&1
	[ "$(requests hook)" = 3 ]
	[ "$(sql "SELECT count(*) FROM pipeline_runs WHERE status = 'notified'")" = 3 ]
	# E an envelope written to sm-notify, S its status read ("0\n"), F the
	# filter looked up (its program's stat, its wait4). Each status but the
	# last is followed by the next envelope at once; the lookup for that
	# run comes after.
	calls=$(awk '/^write\(.*"\{\\"v\\":1/ {printf "E"} /^read\(.*"0\\n", [0-9]+\) += 2$/ {printf "S"}
		/^(newfstatat|stat)\(.*sm-notify"/ || /^wait4\(/ {printf "F"}' "$TEST_DIR/trace" | tr -s F)
	[[ "$calls" == *ESEFSEFS* ]]
}

@test "a backlog: each pipe read once an envelope, none read again to find it empty; the program file looked at once a second" {
	filter_notify
	need_peer "strace is not installed" command -v strace
	receiver hook
	for i in 1 2 3 4 5 6; do queued "Reads$i" "host-$i"; done
	start=$SECONDS
	no_leak_check strace -qq -e trace=read,newfstatat,stat -o "$TEST_DIR/trace" \
		sm-pipeline work --once >/dev/null 2>&1
	seconds=$((SECONDS - start + 1))
	[ "$(requests hook)" = 6 ]
	[ "$(sql "SELECT count(*) FROM pipeline_runs WHERE status = 'notified'")" = 6 ]
	# Six statuses read ("0\n"); a read that finds a pipe empty at most once
	# an envelope (sm-notify's stderr, looked at between two envelopes).
	[ "$(grep -c '^read(.*"0\\n", [0-9]*) *= 2$' "$TEST_DIR/trace")" = 6 ]
	[ "$(grep -c '^read(.*EAGAIN' "$TEST_DIR/trace")" -le 6 ]
	# sm-notify's file: found when the run is planned and its filter
	# started, then looked at again once a second at most, not once an
	# envelope.
	[ "$(grep -cE '^(newfstatat|stat)\(.*/sm-notify"' "$TEST_DIR/trace")" -le $((2 + seconds)) ]
}

@test "a run failing on a good status: the next run, handed already, is neither lost nor handed twice; filters get malloc tuned" {
	private_bin
	# A filter that garbles its first envelope's output (with status 0: the
	# run fails on it once judged, after the next envelope was handed), logs
	# the runs it is handed and its GLIBC_TUNABLES.
	rm -f "$TEST_DIR/bin/sm-notify"
	cat >"$TEST_DIR/bin/sm-notify" <<-EOF
		#!/usr/bin/python3
		import json, os, sys
		status = int(os.environ["SM_STAGE_STATUS_FD"])
		with open("$TEST_DIR/tunables", "a") as f:
		    f.write(os.environ.get("GLIBC_TUNABLES", "-") + "\n")
		os.write(status, b"ready\n")
		for line in sys.stdin.buffer:
		    with open("$TEST_DIR/seen", "a") as f:
		        f.write(json.loads(line)["run_id"] + "\n")
		    if not os.path.exists("$TEST_DIR/garbled"):
		        open("$TEST_DIR/garbled", "w").close()
		        line = b"not json\n"
		    sys.stdout.buffer.write(line)
		    sys.stdout.flush()
		    os.write(status, b"0\n")
	EOF
	chmod +x "$TEST_DIR/bin/sm-notify"
	for i in 1 2 3; do queued "Good$i" "host-$i"; done
	GLIBC_TUNABLES=glibc.malloc.perturb=0 ORCHESTRATION_QUEUE_MAX_RETRIES=0 \
		sm-pipeline work --once >/dev/null 2>&1 || true
	[ "$(states)" = "failed done done" ]
	[[ "$(sql "SELECT error FROM inbox WHERE id = 1")" == *"output line 1 is not a JSON object"* ]]
	[ "$(sql "SELECT count(*) FROM pipeline_runs WHERE status = 'notified'")" = 2 ]
	# Each run's envelope went to the one filter once.
	[ "$(wc -l <"$TEST_DIR/seen")" = 3 ]
	[ "$(sort -u "$TEST_DIR/seen" | wc -l)" = 3 ]
	[ "$(sql "SELECT group_concat(run_id, ' ') FROM (SELECT run_id FROM inbox ORDER BY id)")" = \
		"$(tr '\n' ' ' <"$TEST_DIR/seen" | sed 's/ $//')" ]
	# malloc tuned for a long stream, the caller's own tunables after (so they win).
	[ "$(cat "$TEST_DIR/tunables")" = "glibc.malloc.tcache_count=200:glibc.malloc.perturb=0" ]
}

@test "a backlog of ten: the worker commits once a batch of eight, the runs with the next claims" {
	filter_notify
	need_peer "strace is not installed" command -v strace
	receiver hook
	for i in $(seq 10); do queued "Ten$i" "host-$i"; done
	no_leak_check strace -qq -y -e trace=pwrite64 -s 0 -o "$TEST_DIR/trace" \
		sm-pipeline work --once >/dev/null 2>&1
	[ "$(requests hook)" = 10 ]
	[ "$(sql "SELECT count(*) FROM pipeline_runs WHERE status = 'notified'")" = 10 ]
	# The store writes a commit's WAL frames (a 24-byte header and a page
	# each) in one write: one a commit. The first batch's claims; the
	# second's with the first's runs; the second's runs when no claim is
	# left.
	commits=$(sed -n 's/^pwrite64([0-9]*<[^>]*-wal>, .*, \([0-9]*\), [0-9]*) = [0-9]*$/\1/p' \
		"$TEST_DIR/trace" | awk '$1 % (24 + 4096) == 0' | wc -l)
	[ "$commits" = 3 ]
}

@test "a backlog looks at the filters' configuration once a batch, not once an item" {
	need_peer "strace is not installed" command -v strace
	receiver hook
	for i in $(seq 10); do queued "Conf$i" "host-$i"; done
	export SM_ENV_FILE=$TEST_DIR/sm.env
	: >"$SM_ENV_FILE"
	no_leak_check strace -qq -e trace=stat,newfstatat,statx -o "$TEST_DIR/trace" \
		sm-pipeline work --once >/dev/null 2>&1
	[ "$(requests hook)" = 10 ]
	# Ten items, two batches: the environment file's stamp taken twice.
	[ "$(grep -c "\"$SM_ENV_FILE\"" "$TEST_DIR/trace")" = 2 ]
}

@test "a batch behind a slow delivery: the runs that ended are recorded before the next one starts" {
	printf '200\n200 2\n200 2\n' >"$TEST_DIR/script"
	receiver hook --script "$TEST_DIR/script"
	for i in 1 2 3; do queued "Slow$i" "host-$i"; done
	sm-pipeline work --once >/dev/null 2>&1 &
	worker=$!
	echo "$worker" >>"$TEST_DIR/pids"
	# The third delivery under way (the receiver logs a request as it
	# comes): the two runs before it are in the store already.
	wait_for at_least hook 3
	[ "$(sql "SELECT count(*) FROM pipeline_runs WHERE status = 'notified'")" = 2 ]
	[ "$(states)" = "done done claimed" ]
	exited "$worker"
	[ "$rc" = 0 ]
	[ "$(states)" = "done done done" ]
}

@test "channels changed mid-batch while an envelope is handed ahead: that one goes out once, the filter restarts after it" {
	printf '200 1.5\n200\n200\n' >"$TEST_DIR/script"
	receiver hook --script "$TEST_DIR/script"
	for i in 1 2 3; do queued "Changed$i" "host-$i"; done
	SM_LOG_LEVEL=info sm-pipeline work --once >/dev/null 2>"$TEST_DIR/work.err" &
	worker=$!
	echo "$worker" >>"$TEST_DIR/pids"
	# A channel added while the first delivery is held: the batch has run
	# past a second when the second item comes, its envelope handed already.
	wait_for at_least hook 1
	CHANNEL=other receiver other
	exited "$worker"
	[ "$rc" = 0 ]
	[ "$(states)" = "done done done" ]
	[ "$(requests hook)" = 3 ]
	# No run of the batch skipped a channel as "already delivered": the
	# handed envelope was not handed again to a new filter.
	[ "$(sql "SELECT count(*) FROM notification_deliveries WHERE status <> 'sent'")" = 0 ]
	[ "$(sql "SELECT count(*) FROM notification_deliveries WHERE channel = 'hook'")" = 3 ]
	# The change is acted on once no envelope is pending (the batch's end).
	[ "$(grep -c 'configuration changed: restarting the stage filters' "$TEST_DIR/work.err")" -le 1 ]
}

@test "an alert alone goes to the running filter before its records commit" {
	filter_notify
	need_peer "strace is not installed" command -v strace
	receiver hook
	ASAN_OPTIONS="${ASAN_OPTIONS:-}:detect_leaks=0" strace -qq -e trace=write,pwrite64,poll -s 12 \
		-o "$TEST_DIR/trace" sm-pipeline work >/dev/null 2>&1 &
	tracer=$!
	echo "$tracer" >>"$TEST_DIR/pids"
	queued One
	wait_for at_least hook 1
	queued Two
	wait_for at_least hook 2
	worker=$(pgrep -P "$tracer")
	kill -TERM "$worker"
	exited "$tracer"
	[ "$(states)" = "done done" ]
	# The second item, to a filter already running: after the worker's wait
	# for work, the envelope first, then the commits (its start, its end).
	calls=$(calls "$TEST_DIR/trace")
	while [[ "$calls" == *P ]]; do calls=${calls%P}; done
	[ "$(echo "${calls##*P}" | tr -s W)" = "EW" ]
}

@test "a running filter that stops reading mid-envelope does not hold the store: the records commit after the first write" {
	private_bin
	# A filter that passes its first envelope on, then never reads again:
	# the worker's write of a second envelope bigger than a pipe stops
	# part way. (The link to the real one removed first: not written through.)
	rm -f "$TEST_DIR/bin/sm-notify"
	cat >"$TEST_DIR/bin/sm-notify" <<-EOF
		#!/usr/bin/python3
		import os, sys, time
		status = int(os.environ["SM_STAGE_STATUS_FD"])
		os.write(status, b"ready\n")
		sys.stdout.buffer.write(sys.stdin.buffer.readline())
		sys.stdout.flush()
		os.write(status, b"0\n")
		open("$TEST_DIR/hung", "w").close()
		time.sleep(30)
	EOF
	chmod +x "$TEST_DIR/bin/sm-notify"
	timed_definition slow 4
	queued Small
	ORCHESTRATION_QUEUE_MAX_RETRIES=0 sm-pipeline work --definition slow >/dev/null 2>&1 &
	worker=$!
	echo "$worker" >>"$TEST_DIR/pids"
	wait_for test -e "$TEST_DIR/hung"
	small_done() { [ "$(sql "SELECT state FROM inbox WHERE id = 1")" = 'done' ]; }
	wait_for small_done
	# The second item alone (not a batch), bigger than a pipe.
	/usr/bin/python3 -c 'import json; print(json.dumps({"receiver": "sm", "status": "firing", "alerts": [{"status": "firing",
	    "labels": {"alertname": "Big", "instance": "db-01"}, "annotations": {"description": "x" * 200000},
	    "startsAt": "2026-11-22T01:00:00Z"}]}))' | sm-ingest --queue >/dev/null
	# While the filter hangs, another writer gets the lock at once (no
	# busy wait), and sees the second item claimed and its run recorded.
	cat >"$TEST_DIR/probe.py" <<-'EOF'
		import sqlite3, sys, time
		for _ in range(60):
		    try:
		        c = sqlite3.connect(sys.argv[1], timeout=0, isolation_level=None)
		        c.execute("BEGIN IMMEDIATE")
		        row = c.execute("SELECT i.state, r.status FROM inbox i JOIN pipeline_runs r"
		                        " ON r.run_id = i.run_id WHERE i.id = 2").fetchone()
		        c.execute("COMMIT")
		        if row:
		            print(*row)
		            sys.exit(0)
		    except sqlite3.OperationalError:
		        pass
		    time.sleep(0.05)
		sys.exit(1)
	EOF
	run /usr/bin/python3 "$TEST_DIR/probe.py" "$SM_DB"
	[ "$status" -eq 0 ]
	[ "$output" = "claimed pending" ]
	# The worker was still waiting for the filter: the probe came first.
	[ "$(sql "SELECT state FROM inbox WHERE id = 2")" = claimed ]
	failed2() { [ "$(sql "SELECT state FROM inbox WHERE id = 2")" = failed ]; }
	wait_for failed2
	kill -TERM "$worker"
	exited "$worker"
	[ "$rc" = 0 ]
	[[ "$(sql "SELECT state, error FROM inbox WHERE id = 2")" == "failed	"*"timed out after 4s"* ]]
}

@test "a filter past the node's timeout is killed, the attempt fails as a timeout; the next item gets a new filter" {
	echo "200 3" >"$TEST_DIR/script"
	receiver hook --script "$TEST_DIR/script"
	timed_definition quick 1
	queued Slow
	queued Fast
	ORCHESTRATION_QUEUE_MAX_RETRIES=0 SM_LOG_LEVEL=debug run --separate-stderr sm-pipeline work --once
	[ "$status" -eq 0 ]
	[ "$output" = "1 done, 1 failed, 0 to retry later" ]
	[[ "$(sql "SELECT error FROM inbox WHERE id = 1")" == 'node "notify": sm-notify timed out after 1s'* ]]
	[ "$(sql "SELECT state FROM inbox WHERE id = 2")" = "done" ]
	[ "$(grep -c 'msg="stage filter started"' <<<"$stderr")" = 2 ]
	grep -q '"Fast on db-01' "$TEST_DIR/hook.log"
	# The two came as a batch: the one that failed is recorded on the route
	# it was tried on, not routed again.
	[ "$(grep -c 'msg="queue item routed"' <<<"$stderr")" = 2 ]
}

@test "a filter's stderr between two envelopes is passed on under no run's id, not the next run's" {
	receiver hook
	private_bin
	analyzed_definition
	# A stand-in sm-analyze speaking the filter protocol: a line during each
	# envelope; once its item is done, a line between envelopes, then a mark.
	cat >"$TEST_DIR/done.py" <<-'EOF'
		import sqlite3, sys, time
		for _ in range(400):
		    c = sqlite3.connect(sys.argv[1])
		    if c.execute("SELECT state FROM inbox WHERE id = ?", (sys.argv[2],)).fetchone()[0] == "done":
		        break
		    c.close()
		    time.sleep(0.05)
	EOF
	fake sm-analyze "echo ready >&3
n=0
while IFS= read -r line; do
	n=\$((n + 1))
	echo 'ts=2026-01-01T00:00:00.000Z level=warn tool=sm-analyze msg=during' >&2
	printf '%s\\n' \"\$line\"
	echo 0 >&3
	/usr/bin/python3 '$TEST_DIR/done.py' '$SM_DB' \$n
	echo 'ts=2026-01-01T00:00:00.000Z level=warn tool=sm-analyze msg=between' >&2
	: >'$TEST_DIR/between.'\$n
done"
	ORCHESTRATION_QUEUE_POLL_SECONDS=3600 sm-pipeline work 2>"$TEST_DIR/work.err" &
	worker=$!
	echo "$worker" >>"$TEST_DIR/pids"
	wait_for test -e "$SM_DB-wake"
	queued Between1
	wait_for states_are 'done'
	# The line after the first envelope is in its pipe before the next item.
	wait_for test -e "$TEST_DIR/between.1"
	queued Between2
	wait_for states_are "done done"
	wait_for test -e "$TEST_DIR/between.2"
	kill -TERM "$worker"
	exited "$worker"
	[ "$rc" = 0 ]
	[ "$(requests hook)" = 2 ]
	# During an envelope: under its run. Between them (and the last one,
	# at the filter's stop): passed on as written.
	first=$(sql "SELECT run_id FROM inbox WHERE id = 1")
	second=$(sql "SELECT run_id FROM inbox WHERE id = 2")
	[ "$(grep 'msg=during' "$TEST_DIR/work.err" | grep -o 'run_id=[-0-9a-f]*')" = "run_id=$first
run_id=$second" ]
	[ "$(grep -c 'msg=between$' "$TEST_DIR/work.err")" = 2 ]
}

@test "a stage run as a filter reports each line on SM_STAGE_STATUS_FD: ready, then one status per line" {
	sm-notify channel add out stdout >/dev/null
	{
		am_payload A db-01 firing | sm-ingest
		echo 'not json'
		am_payload B db-01 firing | sm-ingest
	} >"$TEST_DIR/in"
	SM_STAGE_STATUS_FD=3 sm-notify <"$TEST_DIR/in" >"$TEST_DIR/out" 2>/dev/null 3>"$TEST_DIR/status" || true
	[ "$(cat "$TEST_DIR/status")" = "ready
0
65
0" ]
	[ "$(grep -c '"notifications"' "$TEST_DIR/out")" = 2 ]
	# Without the variable, nothing is written on descriptor 3.
	sm-notify <"$TEST_DIR/in" >/dev/null 2>&1 3>"$TEST_DIR/status2" || true
	[ ! -s "$TEST_DIR/status2" ]
}

@test "a running worker is woken by the handler's commit (no poll), and SIGTERM lets it finish the item in hand" {
	receiver hook --script "$TEST_DIR/script"
	serve
	# The fallback poll is an hour: only the wake-up can bring the item in.
	ORCHESTRATION_QUEUE_POLL_SECONDS=3600 sm-pipeline work 2>"$TEST_DIR/work.err" &
	worker=$!
	echo "$worker" >>"$TEST_DIR/pids"
	wait_for test -e "$SM_DB-wake"
	post /alerts/webhook/ "$(am_payload HighLoad web-01 firing)"
	[ "$code" = 202 ]
	wait_for at_least hook 1
	wait_for states_are "done"
	# A CGI process hands nothing over (handoff.h): the worker claimed it.
	[ "$(sql "SELECT count(*) FROM inbox WHERE claimed_by LIKE '%:$worker'")" = 1 ]
	# The next delivery takes a second; the worker is told to stop while
	# it is in flight, finishes the item, and exits 0.
	echo "200 1" >"$TEST_DIR/script"
	post /alerts/webhook/ "$(am_payload HighLoad web-02 firing)"
	[ "$code" = 202 ]
	wait_for at_least hook 2
	kill -TERM "$worker"
	exited "$worker"
	[ "$rc" = 0 ]
	[ "$(states)" = "done done" ]
	[ "$(requests hook)" = 2 ]
}

# store_rss PID: the resident KiB of the process's mappings of the store's
# database and WAL (/proc/PID/smaps).
store_rss() {
	awk -v db="$SM_DB" '
		/^[0-9a-f]+-[0-9a-f]+ / { ours = ($NF == db || $NF == db "-wal") }
		ours && $1 == "Rss:" { kib += $2 }
		END { print kib + 0 }' "/proc/$1/smaps"
}
store_unmapped() { [ "$(store_rss "$1")" = 0 ]; }

@test "a worker reads a backlog through a mapping of the store, and lets go of its pages once it waited a poll period for nothing" {
	receiver hook
	for i in 1 2 3 4 5 6 7 8 9 10; do queued "Mapped$i" "host-$i"; done
	ORCHESTRATION_QUEUE_POLL_SECONDS=5 sm-pipeline work 2>"$TEST_DIR/work.err" &
	worker=$!
	echo "$worker" >>"$TEST_DIR/pids"
	wait_for at_least hook 10
	wait_for states_are "done done done done done done done done done done"
	# The store's pages it read are mapped (its resident size) until it
	# has waited the poll period for nothing; then they are let go.
	[ "$(store_rss "$worker")" -gt 0 ]
	wait_for store_unmapped "$worker"
	queued Mapped11 host-11
	wait_for at_least hook 11
	[ "$(sql "SELECT count(*) FROM inbox WHERE state = 'done'")" = 11 ]
}

@test "after a batch that was not full, no claim that finds nothing: an alert queued meanwhile is taken once the first is done" {
	need_peer "strace is not installed" command -v strace
	receiver hook --script "$TEST_DIR/script"
	echo "200 1" >"$TEST_DIR/script" # the first delivery takes a second
	queued Lone1 host-1
	ORCHESTRATION_QUEUE_POLL_SECONDS=3600 no_leak_check strace -qq -e trace=fcntl \
		-o "$TEST_DIR/trace" sm-pipeline work --once >/dev/null 2>&1 &
	worker=$!
	echo "$worker" >>"$TEST_DIR/pids"
	wait_for states_are "claimed"
	queued Lone2 host-2 # while the first is delivered
	exited "$worker"
	[ "$rc" = 0 ]
	[ "$(requests hook)" = 2 ]
	[ "$(states)" = "done done" ]
	# The WAL's write lock (byte 120 of the -shm file) taken three times an
	# item: its claim with its run's first records, sm-notify's delivery,
	# its run's end. The second item was pending when the first was done
	# (next_due), so it was claimed then; no claim went looking after it.
	# (Not counting the recovery of the WAL index at the first open, which
	# takes it with the locks after it, 121 and 122, at once.)
	locks=$(awk '/F_WRLCK, l_whence=SEEK_SET, l_start=121, l_len=2}/ {n--}
		/F_WRLCK, l_whence=SEEK_SET, l_start=120, l_len=1}\) = 0$/ {n++} END {print n + 0}' \
		"$TEST_DIR/trace")
	[ "$locks" = 6 ]
}

# wake_mtime: the wake-up file's modification time, to the nanosecond.
wake_mtime() { stat -c %y "$SM_DB-wake"; }

# waiting: the worker holding the hand-over socket waits for items (no
# lock on the wake-up file's first byte, handoff.h), as a handler sees it.
waiting() {
	/usr/bin/python3 -c 'import fcntl, os, struct, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
got = fcntl.fcntl(fd, 36, struct.pack("@hhqqi", fcntl.F_WRLCK, os.SEEK_SET, 0, 1, 0))  # F_OFD_GETLK
sys.exit(struct.unpack("@hhqqi", got)[0] != fcntl.F_UNLCK)' "$SM_DB-wake"
}

# A running worker and the FastCGI handler in front of the store: the
# worker has bound the hand-over socket beside the store and waits.
handing() {
	serve fastcgi
	start_worker
	wait_for test -S "$SM_DB-handoff"
	wait_for waiting
}

@test "FastCGI: an alert is handed straight to the waiting worker, claimed in the handler's commit with its run id; no wake-up, no claim of the worker's" {
	receiver hook
	handing
	touched=$(wake_mtime)
	post /alerts/webhook/alertmanager/ "$(am_payload Handed web-01 firing)"
	[ "$code" = 202 ]
	wait_for at_least hook 1
	wait_for states_are "done"
	[ "$(requests hook)" = 1 ]
	# Claimed by the handler (the worker's claims are HOST:PID), one
	# attempt, and the run the handler promised is the one recorded.
	[[ "$(sql "SELECT claimed_by FROM inbox")" = handoff:*:* ]]
	[ "$(sql "SELECT attempts || ' ' || definition FROM inbox")" = "1 direct" ]
	[ "$(sql "SELECT count(*) FROM inbox JOIN pipeline_runs USING (run_id) WHERE status = 'notified'")" = 1 ]
	# Nothing went through the wake-up file.
	[ "$(wake_mtime)" = "$touched" ]
	# A second alert goes the same way once the worker waits again (the
	# first was read: the socket's queue is empty again).
	wait_for waiting
	post /alerts/webhook/alertmanager/ "$(am_payload Handed web-02 firing)"
	[ "$code" = 202 ]
	wait_for states_are "done done"
	[ "$(sql "SELECT count(*) FROM inbox WHERE claimed_by LIKE 'handoff:%'")" = 2 ]
	[ "$(wake_mtime)" = "$touched" ]
	kill -TERM "$worker"
	exited "$worker"
	[ "$rc" = 0 ]
	# A worker stopped takes no more: the socket is gone.
	[ ! -e "$SM_DB-handoff" ]
}

@test "a handed item routed to a definition of several stages runs as a claimed one would, under the run id its handler promised" {
	receiver hook
	analyzed_definition
	handing
	post /alerts/webhook/alertmanager/ "$(am_payload Analyzed web-01 firing)"
	[ "$code" = 202 ]
	promised=$(sql "SELECT run_id FROM inbox")
	[ "${#promised}" = 36 ]
	wait_for at_least hook 1
	wait_for states_are "done"
	[[ "$(sql "SELECT claimed_by FROM inbox")" = handoff:*:* ]]
	[ "$(sql "SELECT run_id || ' ' || definition FROM inbox")" = "$promised analyzed" ]
	[ "$(sql "SELECT definition || ' ' || status FROM pipeline_runs")" = "analyzed notified" ]
	[ "$(sql "SELECT run_id FROM pipeline_runs")" = "$promised" ]
	[ "$(sql "SELECT count(*) FROM analysis_runs")" = 1 ]
	[ "$(requests hook)" = 1 ]
}

# crit_definition CHANNEL: the definition "crit", which takes critical
# alerts to CHANNEL alone, stored (again).
crit_definition() {
	printf '{"version": "1", "match": [{"field": "severity", "op": "is", "value": "critical"}], "nodes": [%s, %s]}\n' \
		'{"id": "ingest", "type": "ingest", "next": "notify"}' \
		"{\"id\": \"notify\", \"type\": \"notify\", \"config\": {\"channel\": \"$1\"}}" \
		>"$TEST_DIR/crit.json"
	sm-pipeline definition add crit "$TEST_DIR/crit.json"
}

# handed NAME STATES: an alert NAME (critical) posted, handed over and done,
# the queue's states STATES after it; its definition in $routed.
handed() {
	wait_for waiting
	post /alerts/webhook/alertmanager/ "$(am_payload "$1" web-01 firing critical)"
	[ "$code" = 202 ]
	wait_for states_are "$2"
	routed=$(sql "SELECT definition FROM inbox ORDER BY id DESC LIMIT 1")
	[[ "$(sql "SELECT claimed_by FROM inbox ORDER BY id DESC LIMIT 1")" = handoff:* ]]
}

@test "a waiting worker routes each handed alert by the definitions as they stand: one added, changed, then removed while it runs" {
	receiver hook
	CHANNEL=second receiver second
	handing
	handed First "done"
	[ "$routed" = direct ]
	[ "$(requests hook) $(requests second)" = "1 1" ]
	# Added: the next critical alert takes it, to the second channel alone.
	crit_definition second
	handed Added "done done"
	[ "$routed" = crit ]
	[ "$(requests hook) $(requests second)" = "1 2" ]
	# Changed under the same name: its new nodes, to the first channel.
	crit_definition hook
	handed Changed "done done done"
	[ "$routed" = crit ]
	[ "$(requests hook) $(requests second)" = "2 2" ]
	# Removed: the default again.
	sm-pipeline definition rm crit
	handed Removed "done done done done"
	[ "$routed" = direct ]
	[ "$(requests hook) $(requests second)" = "3 3" ]
	# A channel disabled while the worker waits is passed over at once.
	sm-notify channel disable second >/dev/null
	handed Disabled "done done done done done"
	[ "$(requests hook) $(requests second)" = "4 3" ]
	kill -TERM "$worker"
	exited "$worker"
	[ "$rc" = 0 ]
}

@test "the socket of a worker killed -9 is not used: the handler queues the alert pending and wakes; the next worker takes the socket over" {
	receiver hook
	handing
	kill -9 "$worker"
	exited "$worker"
	[ -S "$SM_DB-handoff" ] # left behind
	touched=$(wake_mtime)
	post /alerts/webhook/alertmanager/ "$(am_payload Orphan web-01 firing)"
	[ "$code" = 202 ]
	[ "$(states)" = "pending" ]
	[ -z "$(sql "SELECT claimed_by FROM inbox")" ]
	[ "$(wake_mtime)" != "$touched" ]
	start_worker
	wait_for states_are "done"
	[ "$(sql "SELECT count(*) FROM inbox WHERE claimed_by LIKE '%:$worker'")" = 1 ]
	# The new worker bound the socket: the next alert is handed to it.
	wait_for test -S "$SM_DB-handoff"
	wait_for waiting
	post /alerts/webhook/alertmanager/ "$(am_payload Orphan web-02 firing)"
	[ "$code" = 202 ]
	wait_for states_are "done done"
	[[ "$(sql "SELECT claimed_by FROM inbox WHERE id = 2")" = handoff:* ]]
	[ "$(requests hook)" = 2 ]
}

@test "a busy worker is handed nothing: an alert posted while it delivers is queued pending; stopped, it gives back a hand-over it did not read" {
	receiver hook --script "$TEST_DIR/script"
	# The first delivery takes six seconds: what follows, up to the stop
	# request, happens while it is in flight, even on a loaded machine
	# (two seconds were not always enough under ctest -j).
	echo "200 6" >"$TEST_DIR/script"
	handing
	post /alerts/webhook/alertmanager/ "$(am_payload Busy web-01 firing)"
	[ "$code" = 202 ]
	[[ "$(sql "SELECT claimed_by FROM inbox WHERE id = 1")" = handoff:* ]]
	wait_for at_least hook 1 # in flight
	# Busy: the handler sees its lock and queues the next one as pending,
	# for any worker.
	post /alerts/webhook/alertmanager/ "$(am_payload Busy web-02 firing)"
	[ "$code" = 202 ]
	[ "$(sql "SELECT state || ' ' || (claimed_by IS NULL) FROM inbox WHERE id = 2")" = "pending 1" ]
	# A handler that looked just before the worker became busy: its item,
	# claimed in its commit, waits unread in the socket (made by hand here).
	sql "INSERT INTO inbox (envelope, created_at, state, attempts, claimed_by, claimed_at, run_id)
		SELECT envelope, created_at, 'claimed', 1, 'handoff:elsewhere:1', '2026-12-07T00:00:00.000Z',
		'01a25000-0000-7000-8000-000000000003' FROM inbox WHERE id = 2"
	/usr/bin/python3 -c 'import socket,sqlite3,sys
env = sqlite3.connect(sys.argv[1]).execute("SELECT envelope FROM inbox WHERE id = 3").fetchone()[0]
head = "3 2026-12-07T00:00:00.000Z 01a25000-0000-7000-8000-000000000003 handoff:elsewhere:1\n"
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); s.sendto((head + env).encode(), sys.argv[1] + "-handoff")' "$SM_DB"
	[ "$(requests hook)" = 1 ]
	[ "$(sql "SELECT state FROM inbox WHERE id = 1")" = claimed ] # still in flight
	kill -TERM "$worker"
	exited "$worker"
	[ "$rc" = 0 ]
	[ "$(states)" = "done pending pending" ]
	[ "$(sql "SELECT attempts || ' ' || (claimed_by IS NULL) || ' ' || run_id FROM inbox WHERE id = 3")" = "0 1 01a25000-0000-7000-8000-000000000003" ]
	grep -q 'msg="hand-over given back to the queue"' "$TEST_DIR/work.err"
	sm-pipeline work --once
	[ "$(states)" = "done done done" ]
	[ "$(requests hook)" = 3 ]
	# The run id the handler promised is the run's.
	[ "$(sql "SELECT status FROM pipeline_runs WHERE run_id = '01a25000-0000-7000-8000-000000000003'")" = notified ]
}

@test "a hand-over the worker's socket refuses is given back at once: pending, the workers woken" {
	receiver hook
	serve fastcgi
	# A socket bound at the path that takes nothing (shut for reading), as
	# a worker's would be between its last read and its exit.
	/usr/bin/python3 -c 'import socket,sys,time
s=socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); s.bind(sys.argv[1]); s.shutdown(socket.SHUT_RD)
print("ready", flush=True); time.sleep(60)' "$SM_DB-handoff" >"$TEST_DIR/refuser.out" &
	echo $! >>"$TEST_DIR/pids"
	wait_for grep -q ready "$TEST_DIR/refuser.out"
	: >"$SM_DB-wake"
	touched=$(wake_mtime)
	post /alerts/webhook/alertmanager/ "$(am_payload Refused web-01 firing)"
	[ "$code" = 202 ]
	[ "$(sql "SELECT state || ' ' || attempts || ' ' || (claimed_by IS NULL) || ' ' || length(run_id) FROM inbox")" = "pending 0 1 36" ]
	[ "$(wake_mtime)" != "$touched" ]
	sm-pipeline work --once
	[ "$(states)" = "done" ]
	[ "$(requests hook)" = 1 ]
}

@test "an envelope too large to hand over is queued pending and wakes the worker" {
	receiver hook
	handing
	touched=$(wake_mtime)
	big=$(head -c 70000 /dev/zero | tr '\0' x)
	post /alerts/webhook/alertmanager/ "$(am_payload Large web-01 firing | sed "s/\"summary\":\"/\"summary\":\"$big/")"
	[ "$code" = 202 ]
	wait_for states_are "done"
	[ "$(sql "SELECT count(*) FROM inbox WHERE claimed_by LIKE '%:$worker'")" = 1 ]
	[ "$(wake_mtime)" != "$touched" ]
	[ "$(requests hook)" = 1 ]
}

@test "sm-ingest --queue wakes a running worker too; the wake-up file is beside the store" {
	receiver hook
	ORCHESTRATION_QUEUE_POLL_SECONDS=3600 sm-pipeline work &
	worker=$!
	echo "$worker" >>"$TEST_DIR/pids"
	wait_for test -e "$SM_DB-wake"
	queued CpuHigh
	wait_for at_least hook 1
	kill -INT "$worker"
	exited "$worker"
	[ "$rc" = 0 ]
	[ "$(states)" = "done" ]
}

# serve_worker [WORK FLAGS]: `sm-pipeline work --webhook` on $TEST_DIR/wh.sock
# (its pid $worker, its log $TEST_DIR/work.err) with lighttpd in front.
serve_worker() {
	command -v lighttpd >/dev/null || skip "lighttpd is not installed (scripts/deps test)"
	sm-pipeline work --webhook "$TEST_DIR/wh.sock" "$@" 2>"$TEST_DIR/work.err" &
	worker=$!
	echo "$worker" >>"$TEST_DIR/pids"
	wait_for test -S "$TEST_DIR/wh.sock"
	export CGI_DIR=$TEST_DIR SERVE_MODE=fastcgi SM_SERVE_DIR=$TEST_DIR/serve
	export SM_INGEST=$SM_BIN/sm-ingest PORT
	PORT=$(free_port)
	serve_start "$TEST_DIR" SM_SERVE_WEBHOOK="$TEST_DIR/wh.sock"
}

@test "work --webhook: each alert run by the worker that answered it, on its own claim, not through the hand-over socket nor the wake-up file; queued items drained too" {
	receiver hook
	serve_worker
	touched=$(wake_mtime)
	for i in 1 2 3; do
		post /alerts/webhook/alertmanager/ "$(am_payload Answered "web-$i" firing)"
		[ "$code" = 202 ]
	done
	wait_for states_are "done done done"
	[ "$(requests hook)" = 3 ]
	# Claimed in the answering commit for this very worker, each run the one
	# promised there, notified.
	[ "$(sql "SELECT count(DISTINCT claimed_by), min(claimed_by) FROM inbox")" = "1	handoff:$(hostname):$worker" ]
	[ "$(sql "SELECT count(*) FROM inbox JOIN pipeline_runs USING (run_id) WHERE status = 'notified' AND inbox.attempts = 1")" = 3 ]
	[ "$(wake_mtime)" = "$touched" ]
	# What another handler queues wakes it as any worker.
	queued Queued db-09
	wait_for states_are "done done done done"
	[ "$(requests hook)" = 4 ]
	[ "$(sql "SELECT claimed_by FROM inbox WHERE id = 4")" = "$(hostname):$worker" ]
	kill -TERM "$worker"
	exited "$worker"
	[ "$rc" = 0 ]
	[ ! -e "$TEST_DIR/wh.sock" ]
}

@test "work --webhook: the 202 goes once the commit is on disk, not after the delivery the worker runs" {
	receiver hook --delay 60
	serve_worker
	post /alerts/webhook/alertmanager/ "$(am_payload Slow web-01 firing)"
	[ "$code" = 202 ]
	# Answered while the receiver still holds the first delivery: the
	# item is still under its first claim, from the answering commit (not
	# the worker's own, which a retry after the channel's timeout has).
	first() { [ "$(sql "SELECT state, attempts, claimed_by LIKE 'handoff:%' FROM inbox")" = "claimed	1	1" ]; }
	first
	wait_for at_least hook 1
	first
	[ "$(requests hook)" = 1 ]
	# The receiver gone, the delivery fails at once and the worker stops:
	# nothing writes in the test's directory as it is removed.
	stop_pids "$TEST_DIR/pids"
}

@test "work --webhook --workers 2, one killed -9 mid-run: every accepted alert delivered, at most the one in flight twice, the queue empty" {
	receiver hook --delay 1
	export ORCHESTRATION_QUEUE_STALE_SECONDS=2 ORCHESTRATION_QUEUE_POLL_SECONDS=0.2
	serve_worker --workers 2
	accepted=0
	for i in $(seq 6); do
		post /alerts/webhook/alertmanager/ "$(am_payload "Kill$i" "host-$i" firing)"
		[ "$code" = 202 ]
		accepted=$((accepted + 1))
	done
	# A worker with an item in hand (its own claim, from its commit).
	in_hand() {
		victim=$(sql "SELECT substr(claimed_by, length(rtrim(claimed_by, '0123456789')) + 1) FROM inbox WHERE state = 'claimed' LIMIT 1")
		[ -n "$victim" ]
	}
	wait_for in_hand
	kill -9 "$victim"
	for i in $(seq 7 9); do
		post /alerts/webhook/alertmanager/ "$(am_payload "Kill$i" "host-$i" firing)"
		[ "$code" = 202 ]
		accepted=$((accepted + 1))
	done
	nothing_lost "$accepted"
	grep -q 'msg="worker killed, starting another" signal=9' "$TEST_DIR/work.err"
	kill -TERM "$worker"
	exited "$worker"
	[ "$rc" = 0 ]
	[ ! -e "$TEST_DIR/wh.sock" ]
}

@test "work --webhook: with --once, an empty address, no socket on standard input, or a file in the way: 64 or 1, nothing made" {
	run --separate-stderr sm-pipeline work --once --webhook "$TEST_DIR/wh.sock"
	[ "$status" -eq 64 ]
	[ "$stderr" = "sm-pipeline: --webhook: a worker that answers the webhook does not stop when the queue is empty (no --once)" ]
	run --separate-stderr sm-pipeline work --webhook ''
	[ "$status" -eq 64 ]
	[ "$stderr" = "sm-pipeline: --webhook: empty address" ]
	run --separate-stderr sm-pipeline work --webhook - </dev/null
	[ "$status" -eq 64 ]
	[ "$stderr" = "sm-pipeline: --webhook -: standard input is not a listening socket" ]
	: >"$TEST_DIR/file"
	run --separate-stderr sm-pipeline work --webhook "$TEST_DIR/file"
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"exists and is not a socket"* ]]
	[ -f "$TEST_DIR/file" ]
	[ ! -e "$TEST_DIR/wh.sock" ]
}

@test "workers side by side (two processes, one with --workers 2): each item processed once" {
	receiver hook
	for i in $(seq 12); do queued "Alert$i" "host-$i"; done
	sm-pipeline work --once --workers 2 >/dev/null &
	a=$!
	sm-pipeline work --once >/dev/null &
	b=$!
	exited "$a"
	[ "$rc" = 0 ]
	exited "$b"
	[ "$rc" = 0 ]
	[ "$(sql "SELECT count(*), sum(attempts) FROM inbox WHERE state = 'done'")" = "12	12" ]
	[ "$(requests hook)" = 12 ]
	[ "$(sql "SELECT count(*), count(DISTINCT trace_id) FROM pipeline_runs")" = "12	12" ]
	for i in $(seq 12); do
		[ "$(grep -c "\"Alert$i on host-$i" "$TEST_DIR/hook.log")" = 1 ]
	done
}

@test "--workers 2 without --once: a worker killed is replaced; SIGTERM stops them all, exit 0" {
	receiver hook
	ORCHESTRATION_QUEUE_POLL_SECONDS=3600 sm-pipeline work --workers 2 2>"$TEST_DIR/work.err" &
	pool=$!
	echo "$pool" >>"$TEST_DIR/pids"
	workers() { [ "$(pgrep -P "$pool" | wc -l)" = "$1" ]; }
	wait_for workers 2
	first=$(pgrep -P "$pool" | head -1)
	kill -9 "$first"
	# Two workers again, the killed one (a zombie until reaped) not among them.
	replaced() {
		local pids
		pids=" $(pgrep -P "$pool" | tr '\n' ' ')"
		workers 2 && [[ "$pids" != *" $first "* ]]
	}
	wait_for replaced
	grep -q 'msg="worker killed, starting another" signal=9' "$TEST_DIR/work.err"
	queued CpuHigh
	wait_for at_least hook 1
	wait_for states_are "done"
	kill -TERM "$pool"
	exited "$pool"
	[ "$rc" = 0 ]
	[ "$(requests hook)" = 1 ]
}

@test "a worker killed -9 mid-run: its claim is taken again once stale, the run resumed, delivered once" {
	receiver hook
	private_bin
	analyzed_definition
	# The first analysis hangs (the worker is killed meanwhile); later ones
	# pass the envelopes on.
	fake sm-analyze "if [ ! -e '$TEST_DIR/hung' ]; then : >'$TEST_DIR/hung'; echo \$\$ >>'$TEST_DIR/pids'; exec sleep 60; fi; exec cat"
	queued DiskFull
	sm-pipeline work 2>/dev/null &
	worker=$!
	echo "$worker" >>"$TEST_DIR/pids"
	wait_for test -e "$TEST_DIR/hung"
	# The claim commits once the stage has the envelope, a moment after the
	# stage started: killed before that, the item would still be pending.
	wait_for states_are claimed
	kill -9 "$worker"
	exited "$worker"
	[ "$rc" = 137 ]
	[ "$(states)" = claimed ]
	run_id=$(sql "SELECT run_id FROM inbox")
	[ -n "$run_id" ]
	# Not stale yet under the default (900 s): another worker leaves it.
	run --separate-stderr sm-pipeline work --once
	[ "$output" = "0 done, 0 failed, 0 to retry later" ]
	[ "$(states)" = claimed ]
	ORCHESTRATION_QUEUE_STALE_SECONDS=0.001 run --separate-stderr sm-pipeline work --once
	[ "$status" -eq 0 ]
	[ "$output" = "1 done, 0 failed, 0 to retry later" ]
	[ "$(sql "SELECT state, attempts, run_id FROM inbox")" = "done	2	$run_id" ]
	[ "$(requests hook)" = 1 ]
	# One run, resumed: the analysis tried twice, the delivery once.
	[ "$(sql "SELECT count(*), max(status), max(attempts) FROM pipeline_runs")" = "1	notified	2" ]
	[ "$(sm-pipeline show "$run_id" --json | json_get '[(s["node"], s["attempts"]) for s in d["stages"]]')" = '[["analyze", 2], ["notify", 1]]' ]
}

@test "a worker killed -9 while sm-notify delivers: the run resumed skips the channels that took the alert" {
	filter_notify
	receiver hook
	# A second channel whose receiver answers after a while: the worker is
	# killed while sm-notify waits for it, after the first channel took it.
	CHANNEL=slow receiver slow --delay 1
	queued DiskFull
	sm-pipeline work 2>/dev/null &
	worker=$!
	echo "$worker" >>"$TEST_DIR/pids"
	wait_for at_least slow 1
	wait_for states_are claimed
	kill -9 "$worker"
	exited "$worker"
	[ "$rc" = 137 ]
	# sm-notify, on its own, ends the envelope in hand: both deliveries recorded.
	recorded() { [ "$(sql "SELECT count(*) FROM notification_deliveries WHERE status = 'sent'")" = 2 ]; }
	wait_for recorded
	[ "$(states)" = claimed ]
	run_id=$(sql "SELECT run_id FROM inbox")
	ORCHESTRATION_QUEUE_STALE_SECONDS=0.001 run --separate-stderr sm-pipeline work --once
	[ "$status" -eq 0 ]
	[ "$output" = "1 done, 0 failed, 0 to retry later" ]
	[ "$(requests hook)$(requests slow)" = 11 ]
	[ "$(sql "SELECT channel, status, reason FROM notification_deliveries WHERE run_id = '$run_id' ORDER BY id")" = \
		"$(printf 'hook\tsent\tincident created\nslow\tsent\tincident created\nhook\tskipped\talready delivered in this run\nslow\tskipped\talready delivered in this run')" ]
	[ "$(sql "SELECT status, attempts FROM pipeline_runs")" = "notified	2" ]
}

@test "a stage sees its item claimed and its run recorded, and writes the store at once: no lock held across it" {
	receiver hook
	private_bin
	analyzed_definition
	# The stage (a stand-in for sm-analyze) notes what the store says while
	# it runs, and writes it without waiting for the write lock.
	cat >"$TEST_DIR/probe.py" <<-'EOF'
		import sqlite3, sys
		c = sqlite3.connect(sys.argv[1], timeout=0)
		row = c.execute("SELECT i.state, r.status, s.node_id, s.status FROM inbox i"
		                " JOIN pipeline_runs r ON r.run_id = i.run_id"
		                " JOIN stage_executions s ON s.run = r.id ORDER BY s.id DESC LIMIT 1").fetchone()
		c.execute("CREATE TABLE IF NOT EXISTS probe (x)")
		c.execute("INSERT INTO probe VALUES (1)")
		c.commit()
		print(" ".join(map(str, row)))
	EOF
	fake sm-analyze "/usr/bin/python3 '$TEST_DIR/probe.py' '$SM_DB' >>'$TEST_DIR/seen' || exit 1; exec cat"
	queued DiskFull
	run --separate-stderr sm-pipeline work --once
	[ "$status" -eq 0 ]
	[ "$output" = "1 done, 0 failed, 0 to retry later" ]
	# (Twice: tried as a filter first, then as a process per run.)
	[ "$(sort -u "$TEST_DIR/seen")" = "claimed pending analyze running" ]
	[ "$(sql "SELECT count(*) FROM probe")" = "$(wc -l <"$TEST_DIR/seen")" ]
	[ "$(requests hook)" = 1 ]
	[ "$(sql "SELECT state FROM inbox")" = 'done' ]
}

@test "a run failing for a reason that may pass: retried, then failed (dead letter); queue retry delivers once" {
	printf '500\n500\n500\n' >"$TEST_DIR/script"
	receiver hook --script "$TEST_DIR/script"
	export ORCHESTRATION_QUEUE_MAX_RETRIES=2
	queued DiskFull
	run --separate-stderr sm-pipeline work --once
	[ "$status" -eq 0 ]
	[ "$output" = "0 done, 1 failed, 2 to retry later" ]
	[ "$(requests hook)" = 3 ]
	run sm-pipeline queue --status failed --json
	[ "${#lines[@]}" -eq 1 ]
	[ "$(echo "${lines[0]}" | json_get '[d["status"], d["attempts"], d["definition"]]')" = '["failed", 3, "direct"]' ]
	[[ "$(echo "${lines[0]}" | json_get 'd["error"]')" == 'node "notify": '*"(gave up after 3 attempts)" ]]
	# The failed run was resumed on each retry: one run, three attempts.
	[ "$(sql "SELECT count(*), max(status), max(attempts) FROM pipeline_runs")" = "1	failed	3" ]
	# A worker leaves a dead letter alone.
	run sm-pipeline work --once
	[ "$output" = "0 done, 0 failed, 0 to retry later" ]
	# The receiver answers 200 now: back in the queue, delivered once.
	run sm-pipeline queue retry --failed
	[ "$status" -eq 0 ]
	[ "$output" = "1 item back in the queue" ]
	[ "$(states)" = pending ]
	run sm-pipeline work --once
	[ "$output" = "1 done, 0 failed, 0 to retry later" ]
	[ "$(requests hook)" = 4 ]
	[ "$(sql "SELECT state, attempts FROM inbox")" = "done	1" ]
	[ "$(sql "SELECT count(*) FROM pipeline_runs WHERE status = 'notified'")" = 1 ]
}

@test "a stage refusing an item fails it at once (no retry) and does not block the queue" {
	receiver hook
	private_bin
	analyzed_definition
	# shellcheck disable=SC2016 # the fake's own variables
	fake sm-analyze 'in=$(cat); case $in in *Poison*) echo "sm-analyze: bad envelope" >&2; exit 1;; *Refused*) echo "sm-analyze: not an envelope" >&2; exit 65;; esac; printf "%s\n" "$in"'
	queued Poison
	queued Refused
	queued Fine
	run --separate-stderr sm-pipeline work --once
	[ "$status" -eq 0 ]
	[ "$output" = "1 done, 2 failed, 0 to retry later" ]
	[ "$(sql "SELECT group_concat(state || ':' || attempts || ':' || (run_id IS NULL), ' ') FROM inbox")" = "failed:1:0 failed:1:1 done:1:0" ]
	[[ "$(sql "SELECT error FROM inbox WHERE id = 1")" == *"sm-analyze: bad envelope"* ]]
	# The first node run refusing its input keeps no run (as sm-pipeline run).
	[[ "$(sql "SELECT error FROM inbox WHERE id = 2")" == "input refused: "*"sm-analyze: not an envelope"* ]]
	[ "$(sql "SELECT count(*) FROM pipeline_runs")" = 2 ]
	[ "$(requests hook)" = 1 ]
	grep -q '"Fine on db-01' "$TEST_DIR/hook.log"
}

@test "queue: listing, --status, text and JSON; retry and usage errors change nothing" {
	receiver hook
	queued A
	queued B
	run sm-pipeline queue --json
	[ "${#lines[@]}" -eq 2 ]
	[ "$(echo "${lines[0]}" | json_get 'sorted(d)')" = '["attempts", "claimed_at", "claimed_by", "created_at", "definition", "error", "id", "next_attempt_at", "run_id", "status", "trace_id"]' ]
	[ "$(echo "${lines[0]}" | json_get '[d["id"], d["status"], d["run_id"]]')" = '[2, "pending", null]' ]
	sm-pipeline work --once >/dev/null
	run sm-pipeline queue --status pending --json
	[ -z "$output" ]
	run sm-pipeline queue --status "done" --limit 1 --json
	[ "${#lines[@]}" -eq 1 ]
	on_tty "sm-pipeline queue"
	[[ "${lines[0]}" == *id*status*attempts*definition*run_id*trace_id*created_at*error* ]]
	[[ "$output" == *done*direct* ]]
	run --separate-stderr sm-pipeline queue --status weird
	[ "$status" -eq 64 ]
	[ "$stderr" = "sm-pipeline: --status: expected pending, claimed, done or failed, got 'weird'" ]
	run --separate-stderr sm-pipeline queue retry 99
	[ "$status" -eq 64 ]
	[ "$stderr" = "sm-pipeline: unknown queue item 99 (see sm-pipeline queue)" ]
	run --separate-stderr sm-pipeline queue retry 1
	[ "$status" -eq 1 ]
	[ "$stderr" = "sm-pipeline: queue item 1 is done: only a failed item can be retried" ]
	run sm-pipeline queue retry x
	[ "$status" -eq 64 ]
	run sm-pipeline queue retry
	[ "$status" -eq 64 ]
	run sm-pipeline queue retry 1 --failed
	[ "$status" -eq 64 ]
	[ "$(states)" = "done done" ]
}

@test "work: bad settings, options and an unknown --definition are 64 and claim nothing" {
	queued A
	ORCHESTRATION_QUEUE_STALE_SECONDS=soon run --separate-stderr sm-pipeline work --once
	[ "$status" -eq 64 ]
	[[ "$stderr" == "sm-pipeline: ORCHESTRATION_QUEUE_STALE_SECONDS"* ]]
	INBOX_DEPTH_WARN=-1 run sm-pipeline work --once
	[ "$status" -eq 64 ]
	run --separate-stderr sm-pipeline work --once --workers 0
	[ "$status" -eq 64 ]
	[ "$stderr" = "sm-pipeline: --workers: expected a whole number from 1 to 64, got '0'" ]
	run --separate-stderr sm-pipeline work --once --definition nope
	[ "$status" -eq 64 ]
	[ "$stderr" = "sm-pipeline: unknown definition 'nope' (see sm-pipeline definition list)" ]
	run sm-pipeline work extra
	[ "$status" -eq 64 ]
	[ "$(sql "SELECT state, attempts FROM inbox")" = "pending	0" ]
}

@test "a queue deeper than INBOX_DEPTH_WARN is a warning in the log" {
	receiver hook
	queued A
	queued B
	INBOX_DEPTH_WARN=1 run --separate-stderr sm-pipeline work --once
	[ "$status" -eq 0 ]
	[[ "$stderr" == *'level=warn'*'msg="queue is deep: the workers do not keep up" depth=2 INBOX_DEPTH_WARN=1'* ]]
	run --separate-stderr sm-pipeline work --once
	[[ "$stderr" != *"queue is deep"* ]]
}

@test "routing: match and priority pick the definition; --definition forces one; route says why" {
	receiver hook
	cat >"$TEST_DIR/critical.json" <<-'EOF'
		{"version": "1", "priority": 10,
		 "match": [{"field": "severity", "op": "is", "value": "critical"},
		           {"field": "label:instance", "op": "not-in", "value": ["lab-1"]}],
		 "nodes": [{"id": "ingest", "type": "ingest", "next": "notify"},
		           {"id": "notify", "type": "notify"}]}
	EOF
	cat >"$TEST_DIR/record-only.json" <<-'EOF'
		{"version": "1", "priority": 5, "match": [{"field": "status", "value": "resolved"}],
		 "nodes": [{"id": "ingest", "type": "ingest"}]}
	EOF
	sm-pipeline definition add critical "$TEST_DIR/critical.json"
	sm-pipeline definition add record-only "$TEST_DIR/record-only.json"
	# Envelopes made in another store, so the queue test below starts afresh.
	am_payload DiskFull db-01 firing critical | SM_DB=$TEST_DIR/other.db sm-ingest >"$TEST_DIR/critical.env"
	am_payload DiskFull lab-1 firing critical | SM_DB=$TEST_DIR/other.db sm-ingest >"$TEST_DIR/lab.env"
	am_payload DiskFull db-01 resolved critical | SM_DB=$TEST_DIR/other.db sm-ingest >"$TEST_DIR/resolved.env"
	on_tty "sm-pipeline route '$TEST_DIR/critical.env'"
	[ "${lines[0]}" = "alertmanager: DiskFull on db-01 -> critical (priority 10): matched severity is critical, label:instance not-in [lab-1]" ]
	[ "${lines[1]}" = '  not record-only (priority 5): status is resolved (it is "firing")' ]
	on_tty "sm-pipeline route - <'$TEST_DIR/lab.env'"
	[ "${lines[0]}" = "alertmanager: DiskFull on lab-1 -> direct: no definition matched: SM_DEFAULT_DEFINITION" ]
	[ "${lines[1]}" = '  not record-only (priority 5): status is resolved (it is "firing")' ]
	[ "${lines[2]}" = '  not critical (priority 10): label:instance not-in [lab-1] (it is "lab-1")' ]
	run sm-pipeline route --json "$TEST_DIR/resolved.env"
	[ "$(echo "$output" | json_get '[d["definition"], d["by"], d["priority"], d["known"], d["facts"]["status"]]')" = '["record-only", "match", 5, true, "resolved"]' ]
	run sm-pipeline route --definition full --json "$TEST_DIR/lab.env"
	[ "$(echo "$output" | json_get '[d["definition"], d["by"]]')" = '["full", "forced"]' ]
	on_tty "SM_DEFAULT_DEFINITION=gone sm-pipeline route '$TEST_DIR/lab.env'"
	[[ "${lines[0]}" == *"-> gone: no definition matched: SM_DEFAULT_DEFINITION [no such definition: the item would fail]" ]]
	run sm-pipeline route "$TEST_DIR/missing.env"
	[ "$status" -eq 1 ]
	echo '{"v":' >"$TEST_DIR/bad.env"
	run sm-pipeline route - <"$TEST_DIR/bad.env"
	[ "$status" -eq 65 ]
	# The worker routes the same way: critical notifies, lab-1 takes the
	# default, resolved is only recorded (nothing after its ingest node).
	queued DiskFull db-01 critical
	queued DiskFull lab-1 critical
	am_payload DiskFull db-01 resolved critical | sm-ingest --queue >/dev/null
	sm-pipeline work --once >/dev/null
	[ "$(sql "SELECT group_concat(state || ':' || definition || ':' || (run_id IS NULL), ' ') FROM (SELECT * FROM inbox ORDER BY id)")" = "done:critical:0 done:direct:0 done:record-only:1" ]
	[ "$(requests hook)" = 2 ]
	# --definition sends everything one way.
	queued Other web-9 info
	sm-pipeline work --once --definition critical >/dev/null
	[ "$(sql "SELECT definition FROM inbox ORDER BY id DESC LIMIT 1")" = critical ]
}

@test "match and priority are validated with the definition: 65, nothing stored" {
	cat >"$TEST_DIR/bad.json" <<-'EOF'
		{"version": "1", "priority": "high",
		 "match": [{"field": "colour", "value": "red"}, {"field": "source", "op": "in", "value": "x"}],
		 "nodes": [{"id": "notify", "type": "notify"}]}
	EOF
	run --separate-stderr sm-pipeline definition add bad "$TEST_DIR/bad.json"
	[ "$status" -eq 65 ]
	[[ "$stderr" == *'"priority" must be a whole number'* ]]
	[[ "$stderr" == *'match #1: "field" must be source, severity, status, instance or label:KEY'* ]]
	[[ "$stderr" == *'match #2: "value" must be a non-empty list of strings for in and not-in'* ]]
	[ ! -e "$SM_DB" ] || [ "$(sql "SELECT count(*) FROM pipeline_definitions")" = 0 ]
}
