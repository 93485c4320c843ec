#!/usr/bin/env bash
# bench/latency_ab.sh [N] BIN_A BIN_B - alert to notification for two builds
# side by side, paired: each build gets its own stack (lighttpd and the
# sm-ingest FastCGI responder, a store, a running `sm-pipeline work`), and
# bench/latency.py posts N alerts (default 100) to each stack and to
# Prometheus Alertmanager in turn, one at a time, all notifying the same
# loopback receiver. On a machine whose speed drifts between runs, two
# builds compare only within one run: two stacks of the same build land
# within a few hundredths of a millisecond of each other here.
# SM_STORE_SYNC applies to both handlers; STACK=webhook makes both stacks
# a `sm-pipeline work --webhook` answering behind lighttpd. Prints "a|b|am median p90 min max
# accepted" in milliseconds, a being BIN_A's stack.
set -euo pipefail
cd "$(dirname "$0")/.."
n=100
case ${1:-} in '' | *[!0-9]*) ;; *) n=$1; shift ;; esac
[ $# = 2 ] || { echo "usage: bench/latency_ab.sh [N] BIN_A BIN_B" >&2; exit 64; }
# shellcheck source=bench/stacks.bash
. bench/stacks.bash
stacks_begin bench/latency_ab.sh prometheus-alertmanager lighttpd
export SM_ENV_FILE=$tmp/sm.env SM_LOG_LEVEL=off SM_DEFAULT_DEFINITION=direct
export ORCHESTRATION_METRICS_BACKEND=none
: >"$SM_ENV_FILE"
recv=$(port)
am=$(port)
urls=()
for row in "a:$1" "b:$2"; do
	if [ "${STACK:-}" = webhook ]; then
		sm_webhook_stack "${row%%:*}" "$(cd "${row#*:}" && pwd)" "${SM_STORE_SYNC:-}"
	else
		sm_stack "${row%%:*}" "$(cd "${row#*:}" && pwd)" "${SM_STORE_SYNC:-}"
	fi
	urls+=("${row%%:*}=$stack_url")
done
am_stack "$am"
/usr/bin/python3 bench/latency.py "$n" "$am" "$recv" "${urls[@]}"
