#!/usr/bin/env bash
# bench/latency.sh [N] - alert to notification, one alert at a time, median
# of N (default 40), sm against Prometheus Alertmanager in the same run on
# this machine (loopback only):
#   - sm: a webhook POSTed to lighttpd + the sm-ingest FastCGI responder,
#     queued, drained by a running `sm-pipeline work` through the `direct`
#     definition into a generic webhook channel; twice, each with its own
#     store and worker: the handler as shipped (its commit waits for the
#     disk before the 202), and the handler under SM_STORE_SYNC=normal (its
#     commit survives the process being killed, not a power loss);
#   - sm-pipeline work --webhook: lighttpd passes the webhook on to the
#     running worker, which stores it as the handler does and runs it on
#     the connection that wrote it, its 202 going once the disk has it;
#   - Alertmanager: the same alert on /api/v2/alerts, routed with
#     group_wait 0s to a webhook receiver.
# All notify the same receiver (bench/latency.py), which timestamps the
# arrival. Then the drain rate: the FastCGI handler's accept rate (wrk,
# DRAIN_SECONDS, default 5; 0 skips the drain) fills a queue that `sm-pipeline work --once
# --workers 2` then drains into a generic channel on a loopback sink
# (bench/sink.c, compiled here; SINK=py uses the older bench/sink.py).
# Prints markdown for bench/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-40}
bin=$(cd "${SM_BIN:-build/bin}" && pwd)
# shellcheck source=bench/stacks.bash
. bench/stacks.bash
stacks_begin bench/latency.sh prometheus-alertmanager lighttpd wrk
export SM_ENV_FILE=$tmp/sm.env SM_LOG_LEVEL=${SM_LOG_LEVEL:-off} SM_DB=$tmp/sm.db
export SM_DEFAULT_DEFINITION=direct ORCHESTRATION_METRICS_BACKEND=none PATH="$bin:$PATH"
: >"$SM_ENV_FILE"
recv=$(port)
am=$(port)
# One sm per row: NAME, SM_STORE_SYNC for its handler ("" for the default);
# then the worker answering the webhook itself (sm-pipeline work --webhook).
sms=("sm:" "smnormal:normal")
urls=()
for row in "${sms[@]}"; do
	sm_stack "${row%%:*}" "$bin" "${row#*:}"
	urls+=("${row%%:*}=$stack_url")
done
sm_webhook_stack smwork "$bin" ""
urls+=("smwork=$stack_url")
am_stack "$am"

echo "$(nproc) CPUs; $(uname -r); load $(cut -d' ' -f1-3 /proc/loadavg); $(prometheus-alertmanager --version 2>&1 | head -1)"
echo
echo "| alert to notification, $n one at a time | median ms | p90 ms | min ms | max ms | POST answered, median ms |"
echo "| --- | ---: | ---: | ---: | ---: | ---: |"
/usr/bin/python3 bench/latency.py "$n" "$am" "$recv" "${urls[@]}" >"$tmp/lat"
read -r _ smm smp smn smx sma < <(grep '^sm ' "$tmp/lat")
read -r _ snm snp snn snx sna < <(grep '^smnormal ' "$tmp/lat")
read -r _ swm swp swn swx swa < <(grep '^smwork ' "$tmp/lat")
read -r _ amm amp amn amx ama < <(grep '^am ' "$tmp/lat")
echo "| sm: FastCGI, queue, sm-pipeline work, generic channel | $smm | $smp | $smn | $smx | $sma |"
echo "| the same, handler under SM_STORE_SYNC=normal | $snm | $snp | $snn | $snx | $sna |"
echo "| sm-pipeline work --webhook: the worker answers and runs it, queue, generic channel | $swm | $swp | $swn | $swx | $swa |"
echo "| Alertmanager, group_wait 0s, webhook | $amm | $amp | $amn | $amx | $ama |"
echo
echo "- sm vs Alertmanager: $(/usr/bin/python3 -c "print(round($smm / $amm, 2))")× its median, $(/usr/bin/python3 -c "print(round($snm / $amm, 2))")× with SM_STORE_SYNC=normal, $(/usr/bin/python3 -c "print(round($swm / $amm, 2))")× with the worker answering (goal ≤ 1.0)"
echo
# Drain rate: wrk fills the queue through the FastCGI handler (no worker
# running), then two workers drain it into a generic channel on a loopback
# sink (bench/sink.c: keep-alive, answers at once, as cheap as a real
# receiver; the Python sink's 0.4 ms per request capped the drain).
secs=${DRAIN_SECONDS:-5}
[ "$secs" = 0 ] && exit 0 # latency only
for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
wait 2>/dev/null || true
pids=()
sink=$(port)
web=$(port)
[ "${SINK:-c}" = py ] || cc -O2 -o "$tmp/sink" bench/sink.c
# start_sink COUNT-FILE: the sink on $sink, first in pids, counting into
# COUNT-FILE as it stops, and the store's channel to it.
start_sink() {
	if [ "${SINK:-c}" = py ]; then
		/usr/bin/python3 bench/sink.py "$sink" "$1" &
	else
		"$tmp/sink" "$sink" "$1" &
	fi
	pids+=($!)
	"$bin/sm-notify" channel add sink generic "webhook_url=http://127.0.0.1:$sink/hook" >/dev/null
}
# count SQL: one number from the store.
count() { /usr/bin/python3 -c "import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute(sys.argv[2]).fetchone()[0])" "$SM_DB" "$1"; }
export SM_DB=$tmp/drain.db
start_sink "$tmp/sink.count"
SM_INGEST=$bin/sm-ingest SM_SERVE_MODE=fastcgi SM_SERVE_DIR=$tmp/serve2 scripts/serve "$web" >/dev/null 2>&1 &
pids+=($!)
wait_port "$sink"
wait_port "$web"
out=$(wrk -t2 -c8 -d"${secs}s" -s bench/post.lua "http://127.0.0.1:$web/alerts/webhook/alertmanager/")
accept=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
queued=$(count "select count(*) from inbox where state = 'pending'")
t0=$(date +%s.%N)
"$bin/sm-pipeline" work --once --workers 2 >"$tmp/drain.out" 2>/dev/null
t1=$(date +%s.%N)
kill "${pids[0]}"
wait "${pids[0]}" 2>/dev/null || true
load=$(cut -d' ' -f1-3 /proc/loadavg)
drain=$(/usr/bin/python3 -c "print(round($queued / ($t1 - $t0)))")
echo "| drain, direct definition, generic channel | items | seconds | items/s |"
echo "| --- | ---: | ---: | ---: |"
echo "| FastCGI handler accepting (wrk -t2 -c8 -d${secs}s), queued | $queued | $secs | $accept |"
echo "| sm-pipeline work --once --workers 2 (the sink got $(cat "$tmp/sink.count")) | $queued | $(/usr/bin/python3 -c "print(round($t1 - $t0, 2))") | $drain |"
echo
echo "- drain vs accept: $(/usr/bin/python3 -c "print(round($drain / $accept, 2))")× (goal ≥ 1.0); sink ${SINK:-c}; load $load after the drain"
# The same load on `sm-pipeline work --webhook --workers 2`: the workers
# answer and run what they accepted, so the queue cannot grow; what the
# load gets is their accept rate, which is also their drain rate.
for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
wait 2>/dev/null || true
pids=()
export SM_DB=$tmp/webhook.db
start_sink "$tmp/sink2.count"
"$bin/sm-pipeline" work --webhook "$tmp/webhook2.sock" --workers 2 2>/dev/null &
pids+=($!)
wait_socket "$tmp/webhook2.sock"
SM_SERVE_WEBHOOK=$tmp/webhook2.sock SM_SERVE_DIR=$tmp/serve3 scripts/serve "$web" >/dev/null 2>&1 &
pids+=($!)
wait_port "$sink"
wait_port "$web"
out=$(wrk -t2 -c8 -d"${secs}s" -s bench/post.lua "http://127.0.0.1:$web/alerts/webhook/")
accept2=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
left=$(count "select count(*) from inbox where state <> 'done'")
total=$(count "select count(*) from inbox")
kill "${pids[0]}" # the sink writes its count as it stops
wait "${pids[0]}" 2>/dev/null || true
echo
echo "| the same load on sm-pipeline work --webhook --workers 2 | accepted | not yet run at the end | req/s |"
echo "| --- | ---: | ---: | ---: |"
echo "| answered and run by the workers (the sink got $(cat "$tmp/sink2.count")) | $total | $left | $accept2 |"
echo
echo "- the workers' accept (and drain) rate vs sm-ingest's: $(/usr/bin/python3 -c "print(round($accept2 / $accept, 2))")×"
