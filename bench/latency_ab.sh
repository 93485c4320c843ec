#!/usr/bin/env bash
# bench/latency_ab.sh [N] BIN_A BIN_B - alert to notification for two builds
# side by side, paired: each build gets its own stack (lighttpd and the
# sm-ingest FastCGI responder, a store, a running `sm-pipeline work`), and
# bench/latency.py posts N alerts (default 100) to each stack and to
# Prometheus Alertmanager in turn, one at a time, all notifying the same
# loopback receiver. On a machine whose speed drifts between runs, two
# builds compare only within one run: two stacks of the same build land
# within a few hundredths of a millisecond of each other here.
# SM_STORE_SYNC applies to both handlers. Prints "a|b|am median p90 min max
# accepted" in milliseconds, a being BIN_A's stack.
set -euo pipefail
cd "$(dirname "$0")/.."
n=100
case ${1:-} in '' | *[!0-9]*) ;; *) n=$1; shift ;; esac
[ $# = 2 ] || { echo "usage: bench/latency_ab.sh [N] BIN_A BIN_B" >&2; exit 64; }
for tool in prometheus-alertmanager lighttpd; do
	command -v "$tool" >/dev/null || { echo "bench/latency_ab.sh: $tool missing (scripts/deps bench)" >&2; exit 1; }
done
tmp=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT
export SM_ENV_FILE=$tmp/sm.env SM_LOG_LEVEL=off SM_DEFAULT_DEFINITION=direct
export ORCHESTRATION_METRICS_BACKEND=none
: >"$SM_ENV_FILE"
port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done; return 1; }

recv=$(port)
am=$(port)
urls=()
for row in "a:$1" "b:$2"; do
	name=${row%%:*}
	bin=$(cd "${row#*:}" && pwd)
	web=$(port)
	mkdir -p "$tmp/$name"
	SM_DB=$tmp/$name/sm.db "$bin/sm-notify" channel add hook generic "webhook_url=http://127.0.0.1:$recv/hook" >/dev/null
	SM_DB=$tmp/$name/sm.db SM_INGEST=$bin/sm-ingest SM_SERVE_MODE=fastcgi SM_SERVE_DIR=$tmp/$name/serve \
		scripts/serve "$web" >/dev/null 2>&1 &
	pids+=($!)
	SM_DB=$tmp/$name/sm.db "$bin/sm-pipeline" work 2>"$tmp/$name/work.log" &
	pids+=($!)
	wait_port "$web"
	urls+=("$name=http://127.0.0.1:$web/alerts/webhook/alertmanager/")
done
mkdir -p "$tmp/am"
cat >"$tmp/am/am.yml" <<EOT
route: {receiver: hook, group_by: [alertname], group_wait: 0s, group_interval: 1m, repeat_interval: 1h}
receivers: [{name: hook, webhook_configs: [{url: "http://127.0.0.1:$recv/am", send_resolved: false}]}]
EOT
prometheus-alertmanager --config.file="$tmp/am/am.yml" --storage.path="$tmp/am" \
	--web.listen-address="127.0.0.1:$am" --cluster.listen-address= >"$tmp/am/log" 2>&1 &
pids+=($!)
wait_port "$am"
/usr/bin/python3 bench/latency.py "$n" "$am" "$recv" "${urls[@]}"
