#!/usr/bin/env bash
# bench/latency.sh [N] - alert to notification, one alert at a time, median
# of N (default 40), sm against Prometheus Alertmanager in the same run on
# this machine (loopback only):
#   - sm: a webhook POSTed to lighttpd + the sm-ingest FastCGI responder,
#     queued, drained by a running `sm-pipeline work` through the `direct`
#     definition into a generic webhook channel;
#   - Alertmanager: the same alert on /api/v2/alerts, routed with
#     group_wait 0s to a webhook receiver.
# Both notify the same receiver (bench/latency.py), which timestamps the
# arrival. Then the drain rate: 2000 queued envelopes drained by
# `sm-pipeline work --once --workers 2` into a channel of the stdout driver,
# against the FastCGI handler's accept rate (wrk, 10 s).
# Prints markdown for bench/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-40}
bin=$(cd "${SM_BIN:-build/bin}" && pwd)
for tool in prometheus-alertmanager lighttpd wrk; do
	command -v "$tool" >/dev/null || { echo "bench/latency.sh: $tool missing (scripts/deps bench)" >&2; exit 1; }
done
tmp=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	[ -n "${KEEP:-}" ] && echo "kept $tmp" >&2 && return
	rm -rf "$tmp"
}
trap cleanup EXIT
export SM_ENV_FILE=$tmp/sm.env SM_LOG_LEVEL=${SM_LOG_LEVEL:-off} SM_DB=$tmp/sm.db
export SM_DEFAULT_DEFINITION=direct ORCHESTRATION_METRICS_BACKEND=none PATH="$bin:$PATH"
: >"$SM_ENV_FILE"
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done; return 1; }

recv=$(port)
web=$(port)
am=$(port)
"$bin/sm-notify" channel add hook generic "webhook_url=http://127.0.0.1:$recv/hook" >/dev/null
SM_INGEST=$bin/sm-ingest SM_SERVE_MODE=fastcgi SM_SERVE_DIR=$tmp/serve scripts/serve "$web" >/dev/null 2>&1 &
pids+=($!)
mkdir -p "$tmp/am"
cat >"$tmp/am/am.yml" <<EOT
route: {receiver: hook, group_by: [alertname], group_wait: 0s, group_interval: 1m, repeat_interval: 1h}
receivers: [{name: hook, webhook_configs: [{url: "http://127.0.0.1:$recv/am", send_resolved: false}]}]
EOT
prometheus-alertmanager --config.file="$tmp/am/am.yml" --storage.path="$tmp/am" \
	--web.listen-address="127.0.0.1:$am" --cluster.listen-address= >"$tmp/am/log" 2>&1 &
pids+=($!)
"$bin/sm-pipeline" work 2>"$tmp/work.log" &
pids+=($!)
wait_port "$web"
wait_port "$am"

echo "$(nproc) CPUs; $(uname -r); load $(cut -d' ' -f1-3 /proc/loadavg); $(prometheus-alertmanager --version 2>&1 | head -1)"
echo
echo "| alert to notification, $n one at a time | median ms | p90 ms | min ms | max ms | POST answered, median ms |"
echo "| --- | ---: | ---: | ---: | ---: | ---: |"
python3 bench/latency.py "$n" "http://127.0.0.1:$web/alerts/webhook/alertmanager/" "$am" "$recv" >"$tmp/lat"
read -r _ smm smp smn smx sma < <(grep '^sm ' "$tmp/lat")
read -r _ amm amp amn amx ama < <(grep '^am ' "$tmp/lat")
echo "| sm: FastCGI, queue, sm-pipeline work, generic channel | $smm | $smp | $smn | $smx | $sma |"
echo "| Alertmanager, group_wait 0s, webhook | $amm | $amp | $amn | $amx | $ama |"
echo
echo "- sm vs Alertmanager: $(python3 -c "print(round($smm / $amm, 2))")× its median (goal ≤ 1.0)"
echo
# Drain rate: wrk fills the queue through the FastCGI handler (no worker
# running), then two workers drain it into a generic channel on a loopback
# sink (bench/sink.py).
secs=${DRAIN_SECONDS:-5}
for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
wait 2>/dev/null || true
pids=()
export SM_DB=$tmp/drain.db
sink=$(port)
web=$(port)
python3 bench/sink.py "$sink" "$tmp/sink.count" &
pids+=($!)
"$bin/sm-notify" channel add sink generic "webhook_url=http://127.0.0.1:$sink/hook" >/dev/null
SM_INGEST=$bin/sm-ingest SM_SERVE_MODE=fastcgi SM_SERVE_DIR=$tmp/serve2 scripts/serve "$web" >/dev/null 2>&1 &
pids+=($!)
wait_port "$sink"
wait_port "$web"
out=$(wrk -t2 -c8 -d"${secs}s" -s bench/post.lua "http://127.0.0.1:$web/alerts/webhook/alertmanager/")
accept=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
queued=$(python3 -c "import sqlite3; print(sqlite3.connect('$SM_DB').execute(\"select count(*) from inbox where state = 'pending'\").fetchone()[0])")
t0=$(date +%s.%N)
"$bin/sm-pipeline" work --once --workers 2 >"$tmp/drain.out" 2>/dev/null
t1=$(date +%s.%N)
kill "${pids[0]}"
wait "${pids[0]}" 2>/dev/null || true
drain=$(python3 -c "print(round($queued / ($t1 - $t0)))")
echo "| drain, direct definition, generic channel | items | seconds | items/s |"
echo "| --- | ---: | ---: | ---: |"
echo "| FastCGI handler accepting (wrk -t2 -c8 -d${secs}s), queued | $queued | $secs | $accept |"
echo "| sm-pipeline work --once --workers 2 (the sink got $(cat "$tmp/sink.count")) | $queued | $(python3 -c "print(round($t1 - $t0, 2))") | $drain |"
echo
echo "- drain vs accept: $(python3 -c "print(round($drain / $accept, 2))")× (goal ≥ 1.0)"
