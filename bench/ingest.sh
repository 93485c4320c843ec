#!/usr/bin/env bash
# bench/ingest.sh [SECONDS] - sm-ingest against Prometheus Alertmanager and a
# bare CGI, side by side in one run on this machine (loopback only):
#   - batch: 50k single-alert Alertmanager payloads from NDJSON, committed to
#     SQLite, vs Alertmanager accepting the same alerts on /api/v2/alerts
#     (500 per request); then a second 50k into the populated store;
#   - CGI: wrk POSTing single-alert payloads to lighttpd + sm-ingest, as a
#     CGI and as a FastCGI responder, vs lighttpd + a bare C CGI that only
#     reads the body and answers 202.
# Prints a markdown table for bench/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
bin=$(cd "${SM_BIN:-build/bin}" && pwd) # absolute: lighttpd runs the CGI from elsewhere
for tool in prometheus-alertmanager lighttpd wrk; do
	command -v "$tool" >/dev/null || { echo "bench/ingest.sh: $tool missing (scripts/deps bench)" >&2; exit 1; }
done
tmp=$(mktemp -d)
pids=()
# serve() runs in a command substitution: its servers are listed in $tmp/pids.
cleanup() {
	[ -f "$tmp/pids" ] && while read -r p; do pids+=("$p"); done <"$tmp/pids"
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	rm -rf "$tmp"
}
trap cleanup EXIT
export SM_ENV_FILE=/dev/null SM_LOG_LEVEL=off
port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done; return 1; }
secs_of() { local t0 t1; t0=$(date +%s.%N); "$@" >/dev/null; t1=$(date +%s.%N); /usr/bin/python3 -c "print(round($t1 - $t0, 3))"; }
rate() { /usr/bin/python3 -c "print(round($1 / $2))"; }

/usr/bin/python3 bench/gen_am.py 50000 0 "$tmp/b1.ndjson" "$tmp/b1.am"
/usr/bin/python3 bench/gen_am.py 50000 50000 "$tmp/b2.ndjson" "$tmp/b2.am"

echo "$(nproc) CPUs; $(uname -r); $(prometheus-alertmanager --version 2>&1 | head -1); load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| run | alerts | seconds | alerts/s |"
echo "| --- | ---: | ---: | ---: |"
export SM_DB="$tmp/batch.db"
t1=$(secs_of "$bin/sm-ingest" -d alertmanager "$tmp/b1.ndjson")
echo "| sm-ingest, 50k into an empty store (committed) | 50000 | $t1 | $(rate 50000 "$t1") |"
t2=$(secs_of "$bin/sm-ingest" -d alertmanager "$tmp/b2.ndjson")
echo "| sm-ingest, 50k more into the populated store | 50000 | $t2 | $(rate 50000 "$t2") |"
[ "$(/usr/bin/python3 -c "import sqlite3; print(sqlite3.connect('$SM_DB').execute('select count(*) from alerts').fetchone()[0])")" = 100000 ]

am_port=$(port)
mkdir -p "$tmp/am"
printf 'route: {receiver: blackhole}\nreceivers: [{name: blackhole}]\n' >"$tmp/am/am.yml"
prometheus-alertmanager --config.file="$tmp/am/am.yml" --storage.path="$tmp/am" \
	--web.listen-address="127.0.0.1:$am_port" --cluster.listen-address= >"$tmp/am/log" 2>&1 &
pids+=($!)
wait_port "$am_port"
ta=$(/usr/bin/python3 bench/am_post.py "$am_port" "$tmp/b1.am")
echo "| Alertmanager 0.25, /api/v2/alerts, 100 × 500 (in memory) | 50000 | $ta | $(rate 50000 "$ta") |"
echo
echo "- sm-ingest vs Alertmanager: $(/usr/bin/python3 -c "print(round($ta / $t1, 2))")× its alerts/s (goal ≥ 1.0)"
echo "- second batch vs first: $(/usr/bin/python3 -c "print(round($t2 / $t1, 2))")× the time (goal ≤ 1.3)"
echo

cc -O2 -o "$tmp/bare-cgi" bench/bare_cgi.c
cc -O2 -o "$tmp/runstat" bench/runstat.c

# One CGI request run directly, 300 times in a row against one store: CPU
# (bench/runstat.c), and the system calls of one more (strace -f -c).
/usr/bin/python3 - "$tmp/request.json" <<'PY'
import json, sys
alert = {"status": "firing", "labels": {"alertname": "Direct", "instance": "d1", "severity": "warning"},
         "annotations": {"summary": "direct"}, "startsAt": "2026-11-22T01:20:29Z"}
open(sys.argv[1], "w").write(json.dumps({"receiver": "sm", "status": "firing", "alerts": [alert]}))
PY
cgi_env=(GATEWAY_INTERFACE=CGI/1.1 REQUEST_METHOD=POST CONTENT_TYPE=application/json
	"CONTENT_LENGTH=$(stat -c %s "$tmp/request.json")" PATH_INFO=/alertmanager
	SM_DB="$tmp/direct.db" SM_ENV_FILE="$tmp/cgi.env" RUNSTAT_STDIN="$tmp/request.json")
: >"$tmp/cgi.env"
read -r ccpu cwall _ < <(env "${cgi_env[@]}" "$tmp/runstat" 300 "$bin/sm-ingest")
read -r bcpu bwall _ < <(env "${cgi_env[@]}" "$tmp/runstat" 300 "$tmp/bare-cgi")
echo "| one request, run directly (300 in a row) | CPU ms | wall ms | fdatasync | openat (failed) |"
echo "| --- | ---: | ---: | ---: | ---: |"
if command -v strace >/dev/null; then
	env "${cgi_env[@]}" strace -f -c -o "$tmp/strace" "$bin/sm-ingest" <"$tmp/request.json" >/dev/null
	syncs=$(awk '$NF == "fdatasync" {print $4}' "$tmp/strace")
	opens=$(awk '$NF == "openat" {print $4 " (" ($5 ~ /^[0-9]+$/ ? $5 : 0) ")"}' "$tmp/strace")
else
	syncs="(no strace)" opens=""
fi
echo "| sm-ingest | $ccpu | $cwall | ${syncs:-0} | $opens |"
echo "| bare CGI | $bcpu | $bwall | | |"
echo
serve() { # BINARY MODE -> port
	local p
	p=$(port)
	SM_INGEST=$1 SM_SERVE_MODE=$2 SM_DB="$tmp/$2.db" SM_SERVE_DIR="$tmp/serve-$p" \
		SM_ENV_FILE="$tmp/cgi.env" scripts/serve "$p" >/dev/null 2>&1 &
	echo $! >>"$tmp/pids"
	wait_port "$p"
	echo "$p"
}
: >"$tmp/cgi.env"
echo "| behind lighttpd, wrk -t2 -c8 -d${secs}s | requests/s | non-2xx | alerts stored |"
echo "| --- | ---: | ---: | ---: |"
for what in bare cgi fastcgi; do
	case $what in
	bare) p=$(serve "$tmp/bare-cgi" cgi) ;;
	*) p=$(serve "$bin/sm-ingest" "$what") ;;
	esac
	out=$(wrk -t2 -c8 -d"${secs}s" -s bench/post.lua "http://127.0.0.1:$p/alerts/webhook/alertmanager/")
	rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
	bad=$(echo "$out" | awk "/Non-2xx/ {print \$NF}")
	stored=-
	[ "$what" = bare ] || stored=$(/usr/bin/python3 -c "import sqlite3; print(sqlite3.connect('$tmp/$what.db').execute(\"select count(*) from alerts where name='WrkLoad'\").fetchone()[0])")
	case $what in
	bare) echo "| bare CGI (bench/bare_cgi.c) | $rps | ${bad:-0} | $stored |"; rps_bare=$rps ;;
	cgi) echo "| sm-ingest, CGI | $rps | ${bad:-0} | $stored |"; rps_cgi=$rps ;;
	fastcgi) echo "| sm-ingest, FastCGI (1 process) | $rps | ${bad:-0} | $stored |"; rps_fcgi=$rps ;;
	esac
done
echo
echo "- sm-ingest CGI vs bare CGI: $(/usr/bin/python3 -c "print(round($rps_cgi / $rps_bare, 2))")× its requests/s (goal ≥ 0.8)"
echo "- sm-ingest FastCGI vs bare CGI: $(/usr/bin/python3 -c "print(round($rps_fcgi / $rps_bare, 2))")× its requests/s (goal: no slower than before)"
echo "- load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
