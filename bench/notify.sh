#!/usr/bin/env bash
# bench/notify.sh [N] - sm-notify's cost per envelope as `sm-pipeline work`
# runs it: one sm-notify process kept running (SM_STAGE_STATUS_FD,
# SM_STORE_SYNC=normal), handed N envelopes (default 500) one at a time,
# each a new incident made by sm-ingest from an Alertmanager payload, into
# a `generic` channel on a loopback receiver (bench/notify.py). Then where
# the time goes: the system calls of a run (strace -c), one envelope's
# system calls with their times (strace -r -T), and the instructions per
# envelope by function (callgrind, on a smaller run).
# SM_BIN=DIR measures another build (before/after); BREAKDOWN=0 prints the
# table alone. Prints markdown.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-500}
small=${CALLGRIND_N:-50}
bin=$(cd "${SM_BIN:-build/bin}" && pwd)
[ -x "$bin/sm-notify" ] || { echo "bench/notify.sh: build first (scripts/build)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export SM_ENV_FILE=$tmp/sm.env SM_LOG_LEVEL=${SM_LOG_LEVEL:-off}
: >"$SM_ENV_FILE"
port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
recv=$(port)

# One store with the channel and the n incidents, not yet notified; each run
# starts from a copy of it (a second run would find every incident notified
# already and skip it).
export SM_DB=$tmp/ingested.db
"$bin/sm-notify" channel add hook generic "webhook_url=http://127.0.0.1:$recv/hook" >/dev/null
/usr/bin/python3 bench/gen_am.py "$n" 0 "$tmp/payloads" "$tmp/am" >/dev/null
"$bin/sm-ingest" -d alertmanager "$tmp/payloads" >"$tmp/envelopes"
head -n "$small" "$tmp/envelopes" >"$tmp/small"
/usr/bin/python3 -c "import sqlite3, sys; s = sqlite3.connect(sys.argv[1]); s.execute('PRAGMA wal_checkpoint(TRUNCATE)')" "$SM_DB"
fresh() { rm -f "$tmp/run.db"*; cp "$tmp/ingested.db" "$tmp/run.db"; export SM_DB=$tmp/run.db; }

echo "$(nproc) CPUs; $(uname -r); load $(cut -d' ' -f1-3 /proc/loadavg); $bin; $(date -u +%FT%TZ)"
echo
echo "| sm-notify, $n envelopes one at a time | TCP connections | to arrival median ms | p90 | to status median ms | p90 | mean | CPU ms/envelope | peak RSS KiB |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
fresh
read -r got conns reqs am ap dm dp dmean cpu rss < <(/usr/bin/python3 bench/notify.py "$tmp/envelopes" "$recv" "$bin/sm-notify")
if [ "$got" != "$n" ] || [ "$reqs" != "$n" ]; then
	echo "bench/notify.sh: $reqs deliveries for $n envelopes" >&2
	exit 1
fi
echo "| generic channel, loopback | $conns | $am | $ap | $dm | $dp | $dmean | $cpu | $rss |"
echo
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
[ "${BREAKDOWN:-1}" != 0 ] || exit 0

# System calls: the whole run, then one envelope (the 20th) in order.
fresh
/usr/bin/python3 bench/notify.py "$tmp/envelopes" "$recv" strace -f -c -o "$tmp/strace.c" "$bin/sm-notify" >/dev/null
echo "System calls of the $n envelopes (strace -c, the process start included):"
echo
echo '```'
sed -n '1,/^-.*total/p' "$tmp/strace.c" | grep -v '^$' | head -n 22
tail -n 1 "$tmp/strace.c"
echo '```'
echo
fresh
head -n 25 "$tmp/envelopes" >"$tmp/25"
/usr/bin/python3 bench/notify.py "$tmp/25" "$recv" strace -r -T -e 'trace=!futex' -o "$tmp/strace.t" "$bin/sm-notify" >/dev/null
echo "One envelope, the 20th (strace -r -T: seconds since the previous call, <time in the call>):"
echo
echo '```'
awk '/read\(0,/ { k++ } k == 20' "$tmp/strace.t" | cut -c1-150
echo '```'
echo

# Instructions per envelope by function (callgrind, the envelope loop only).
if command -v valgrind >/dev/null; then
	fresh
	/usr/bin/python3 bench/notify.py "$tmp/small" "$recv" valgrind --tool=callgrind --toggle-collect=sm_stage_run \
		--callgrind-out-file="$tmp/cg.out" "$bin/sm-notify" >/dev/null 2>"$tmp/cg.log"
	total=$(callgrind_annotate "$tmp/cg.out" 2>/dev/null | awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1 }')
	echo "Instructions in the envelope loop (callgrind, $small envelopes): $total, $((total / small)) per envelope; the largest inclusive shares:"
	echo
	echo '```'
	# sm's own functions and the libraries' entry points, each once.
	callgrind_annotate --inclusive=yes "$tmp/cg.out" 2>/dev/null |
		grep -E '^ *[0-9,]+ \(' | grep -v -e '???:0x' -e "'2 " -e 'below main' -e 'libc-start' |
		grep -E '(sm-notify\]|:(sqlite3_(prepare_v[23]|step|finalize|reset)|curl_easy_(perform|init|cleanup|reset)|json_(loads|deep_copy|delete|dumps)|malloc|free) \[)' |
		sed -e 's/ \[.*\]$//' -e 's|/work/[^ ]*/\(lib\|cmd\)/|\1/|' | awk '!seen[$NF]++' | head -n 32
	echo '```'
fi
