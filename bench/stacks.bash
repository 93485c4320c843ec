# bench/stacks.bash - sourced by bench/latency.sh and bench/latency_ab.sh:
# the systems an alert goes through, each notifying the loopback receiver
# on port $recv. The caller has cd'd to the top of the tree and called
# stacks_begin.
# shellcheck shell=bash disable=SC2154,SC2034 # recv is the caller's; tmp, pids and stack_url are for it

# stacks_begin SCRIPT TOOL...: exit 1 unless each TOOL is installed; a
# scratch directory in tmp, removed at the end (KEEP=1 keeps it), when
# every process in pids is stopped.
stacks_begin() {
	local script=$1 t
	shift
	for t in "$@"; do
		command -v "$t" >/dev/null || { echo "$script: $t missing (scripts/deps bench)" >&2; exit 1; }
	done
	tmp=$(mktemp -d)
	pids=()
	trap stacks_end EXIT
}
stacks_end() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	[ -n "${KEEP:-}" ] && echo "kept $tmp" >&2 && return
	rm -rf "$tmp"
}

port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done; return 1; }
wait_socket() { for _ in $(seq 100); do [ -S "$1" ] && return 0; sleep 0.05; done; return 1; }

# sm_stack NAME BIN SYNC: a store of its own with a generic channel to the
# receiver, lighttpd and the sm-ingest FastCGI responder of BIN in front
# of it (SM_STORE_SYNC=SYNC, "" for the default), and a running
# `sm-pipeline work`; sets stack_url to its webhook.
sm_stack() {
	local name=$1 bin=$2 sync=$3 web
	web=$(port)
	mkdir -p "$tmp/$name"
	SM_DB=$tmp/$name/sm.db "$bin/sm-notify" channel add hook generic "webhook_url=http://127.0.0.1:$recv/hook" >/dev/null
	SM_DB=$tmp/$name/sm.db SM_STORE_SYNC=$sync SM_INGEST=$bin/sm-ingest SM_SERVE_MODE=fastcgi \
		SM_SERVE_DIR=$tmp/$name/serve scripts/serve "$web" >/dev/null 2>&1 &
	pids+=($!)
	SM_DB=$tmp/$name/sm.db "$bin/sm-pipeline" work 2>"$tmp/$name/work.log" &
	pids+=($!)
	wait_port "$web"
	stack_url="http://127.0.0.1:$web/alerts/webhook/alertmanager/"
}

# sm_webhook_stack NAME BIN SYNC: the same, but the webhook answered by the
# running `sm-pipeline work --webhook` itself (lighttpd passes the requests
# on to its socket), which runs what it accepted.
sm_webhook_stack() {
	local name=$1 bin=$2 sync=$3 web
	web=$(port)
	mkdir -p "$tmp/$name"
	SM_DB=$tmp/$name/sm.db "$bin/sm-notify" channel add hook generic "webhook_url=http://127.0.0.1:$recv/hook" >/dev/null
	SM_DB=$tmp/$name/sm.db SM_STORE_SYNC=$sync "$bin/sm-pipeline" work --webhook "$tmp/$name/webhook.sock" \
		2>"$tmp/$name/work.log" &
	pids+=($!)
	wait_socket "$tmp/$name/webhook.sock"
	SM_DB=$tmp/$name/sm.db SM_SERVE_WEBHOOK=$tmp/$name/webhook.sock SM_INGEST=$bin/sm-ingest \
		SM_SERVE_MODE=fastcgi SM_SERVE_DIR=$tmp/$name/serve scripts/serve "$web" >/dev/null 2>&1 &
	pids+=($!)
	wait_port "$web"
	stack_url="http://127.0.0.1:$web/alerts/webhook/alertmanager/"
}

# am_stack PORT: Prometheus Alertmanager on PORT, routing each alert at
# once (group_wait 0s) to the receiver's /am.
am_stack() {
	mkdir -p "$tmp/am"
	cat >"$tmp/am/am.yml" <<EOT
route: {receiver: hook, group_by: [alertname], group_wait: 0s, group_interval: 1m, repeat_interval: 1h}
receivers: [{name: hook, webhook_configs: [{url: "http://127.0.0.1:$recv/am", send_resolved: false}]}]
EOT
	prometheus-alertmanager --config.file="$tmp/am/am.yml" --storage.path="$tmp/am" \
		--web.listen-address="127.0.0.1:$1" --cluster.listen-address= >"$tmp/am/log" 2>&1 &
	pids+=($!)
	wait_port "$1"
}
