#!/usr/bin/env bash
# bench/status.sh [RUNS] - sm-pipeline status and prune --dry-run on a big
# store: 1,000,000 check_runs (10 hosts x 17 checkers, a year of rows) and
# 100,000 incidents (a tenth open). Prints a markdown table for
# bench/README.md (goal: status within 50 ms of CPU and 8 MiB peak RSS).
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-20}
bin=${SM_BIN:-build/bin}
[ -x "$bin/sm-pipeline" ] || { echo "bench/status.sh: build first (scripts/build)" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export SM_DB="$tmp/sm.db" SM_ENV_FILE=/dev/null SM_LOG_LEVEL=off
SM_HOST_ROOT=tests/fixtures/hosts/cli-ok "$bin/sm-check" memory >/dev/null # the schema
python3 - "$SM_DB" <<'PY'
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
c.executescript("""
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000000)
INSERT INTO check_runs (checker, hostname, status, message, metrics, executed_at)
SELECT 'checker' || (i % 17), 'host' || (i % 10),
       CASE WHEN i % 97 = 0 THEN 'warning' ELSE 'ok' END, 'message ' || i, '{}',
       strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-' || (i * 31) || ' seconds') FROM n;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100000)
INSERT INTO incidents (title, status, severity, group_key, created_at, updated_at)
SELECT 'incident ' || i, CASE WHEN i % 10 = 0 THEN 'open' ELSE 'closed' END,
       CASE WHEN i % 7 = 0 THEN 'critical' ELSE 'warning' END, 'k' || i,
       '2026-01-01T00:00:00Z', strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-' || i || ' minutes')
FROM n;
""")
c.commit()
PY
"$bin/sm-pipeline" status >/dev/null || true # warm the page cache

cc -O2 -o "$tmp/runstat" bench/runstat.c
row() { printf '| %s | %s | %s | %s |\n' "$1" "$2" "$3" "$4"; }
echo "runs per command: $runs; $(nproc) CPUs; $(uname -r); store $(($(stat -c %s "$SM_DB") / 1048576)) MiB"
echo
row "command" "CPU ms/run" "wall ms/run" "peak RSS KiB"
row "---" "---:" "---:" "---:"
for cmd in "status" "status --json" "prune --dry-run" "--version"; do
	# shellcheck disable=SC2086
	read -r cpu wall rss < <("$tmp/runstat" "$runs" "$bin/sm-pipeline" $cmd)
	row "sm-pipeline $cmd" "$cpu" "$wall" "$rss"
done
