#!/usr/bin/env bash
# bench/groups.sh [N...] - a hub's memory against the number of alert groups
# it holds (default: 50 and 10000), beside Prometheus Alertmanager's. For
# each N, on loopback, a fresh store and a fresh Alertmanager (group_by
# alertname and instance: alerts of distinct instances are groups there, as
# they are incidents in sm):
#   1. N single-alert Alertmanager payloads ingested by one sm-ingest (a
#      batch from NDJSON), and their N envelopes notified by one sm-notify
#      reading them as a stream, through an `alertmanager` channel posting
#      to that Alertmanager: the N groups;
#   2. 50 more as a hub gets them: each a webhook request to sm-ingest run
#      as a CGI program (queued), then sm-pipeline work --once drains them
#      through the default definition (analyze, notify) to the same
#      channel - the hub's processes while it holds the N groups;
#   3. Alertmanager's peak RSS, holding the N + 50 groups.
# Peak RSS is exact: bench/runstat.c reads it from wait4(2), which for
# sm-pipeline work is the largest of the worker and the stage processes it
# ran; the worker's own is its VmHWM, read while it runs. Prints a markdown
# table for bench/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -gt 0 ] || set -- 50 10000
bin=$(cd "${SM_BIN:-build/bin}" && pwd)
command -v prometheus-alertmanager >/dev/null ||
	{ echo "bench/groups.sh: prometheus-alertmanager missing (scripts/deps bench)" >&2; exit 1; }
tmp=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	rm -rf "$tmp"
}
trap cleanup EXIT
export SM_ENV_FILE=/dev/null SM_LOG_LEVEL=off
port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done; return 1; }
hwm() { awk '/^VmHWM/ {print $2}' "/proc/$1/status" 2>/dev/null || true; }
count() { /usr/bin/python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute(sys.argv[2]).fetchone()[0])" "$@"; }
max() { [ "$1" -gt "$2" ] && echo "$1" || echo "$2"; }
cc -O2 -o "$tmp/runstat" bench/runstat.c
last=50

echo "$(nproc) CPUs; $(uname -r); $(prometheus-alertmanager --version 2>&1 | head -1)"
echo
echo "| groups N | sm-ingest, batch of N | sm-notify, stream of N | sm-ingest CGI, each of $last more | sm-pipeline work: worker | work: largest stage | Alertmanager, N + $last |"
echo "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
for n in "$@"; do
	d="$tmp/$n"
	mkdir -p "$d/am" "$d/req"
	export SM_DB="$d/hub.db"
	/usr/bin/python3 bench/gen_am.py $((n + last)) 0 "$d/all.ndjson" "$d/all.am"
	head -n "$n" "$d/all.ndjson" >"$d/batch.ndjson"
	tail -n "$last" "$d/all.ndjson" | split -l 1 - "$d/req/"
	am_port=$(port)
	cat >"$d/am/am.yml" <<YML
route:
  receiver: blackhole
  group_by: [alertname, instance]
  group_wait: 1h
receivers:
  - name: blackhole
YML
	prometheus-alertmanager --config.file="$d/am/am.yml" --storage.path="$d/am" \
		--web.listen-address="127.0.0.1:$am_port" --cluster.listen-address= >"$d/am/log" 2>&1 &
	am=$!
	pids+=("$am")
	wait_port "$am_port"
	"$bin/sm-notify" channel add am alertmanager "urls=http://127.0.0.1:$am_port" >/dev/null

	# 1. The N groups.
	read -r _ _ batch_kib < <("$tmp/runstat" 1 sh -c "exec '$bin/sm-ingest' -d alertmanager \
		'$d/batch.ndjson' >'$d/envelopes'")
	read -r _ _ stream_kib < <(RUNSTAT_STDIN="$d/envelopes" "$tmp/runstat" 1 \
		"$bin/sm-notify" --channel am)
	[ "$(count "$SM_DB" "SELECT count(*) FROM notification_deliveries WHERE status = 'sent'")" = "$n" ]

	# 2. 50 more, one webhook request each, then the worker.
	cgi_kib=0
	for f in "$d"/req/*; do
		read -r _ _ k < <(GATEWAY_INTERFACE=CGI/1.1 REQUEST_METHOD=POST CONTENT_TYPE=application/json \
			CONTENT_LENGTH="$(stat -c %s "$f")" PATH_INFO=/alertmanager RUNSTAT_STDIN="$f" \
			"$tmp/runstat" 1 "$bin/sm-ingest")
		cgi_kib=$(max "$k" "$cgi_kib")
	done
	[ "$(count "$SM_DB" "SELECT count(*) FROM incidents")" = $((n + last)) ]
	[ "$(count "$SM_DB" "SELECT count(*) FROM inbox WHERE state = 'pending'")" = "$last" ]
	"$tmp/runstat" 1 "$bin/sm-pipeline" work --once >"$d/work.out" &
	runner=$!
	worker_kib=0
	while kill -0 "$runner" 2>/dev/null; do
		w=$(pgrep -P "$runner" || true)
		k=
		if [ -n "$w" ]; then k=$(hwm "$w"); fi
		if [ -n "$k" ]; then worker_kib=$(max "$k" "$worker_kib"); fi
		sleep 0.2
	done
	wait "$runner"
	read -r _ _ work_kib <"$d/work.out"
	[ "$(count "$SM_DB" "SELECT count(*) FROM notification_deliveries WHERE status = 'sent'")" = $((n + last)) ]

	# 3. Alertmanager, holding the N groups the driver sent it.
	am_groups=$(/usr/bin/python3 -c "import json,sys,urllib.request
print(len(json.load(urllib.request.urlopen(sys.argv[1]))))" "http://127.0.0.1:$am_port/api/v2/alerts/groups")
	[ "$am_groups" = $((n + last)) ]
	am_kib=$(hwm "$am")
	kill "$am"
	echo "| $n | $batch_kib KiB | $stream_kib KiB | $cgi_kib KiB | $worker_kib KiB | $work_kib KiB | $am_kib KiB |"
done
