#!/usr/bin/env bash
# bench/status.sh [RUNS] - sm-pipeline status, status --html and prune
# --dry-run on a big store: 1,000,000 check_runs (a hub of 10 hosts running
# the 17 checkers every five minutes for 20 days, with the metrics the
# charts read) and 100,000 incidents (a tenth open), with silences,
# maintenance windows and 100,000 deliveries. Then the page in a
# headless Chromium: the CPU of all its processes once the page has loaded,
# against that of a blank page, and the page's own main-thread task time.
# Prints markdown tables for bench/README.md (goals: status within 50 ms of
# CPU and 8 MiB peak RSS; the page rendered in under a second of CPU).
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-20}
bin=${SM_BIN:-build/bin}
[ -x "$bin/sm-pipeline" ] || { echo "bench/status.sh: build first (scripts/build)" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export SM_DB="$tmp/sm.db" SM_ENV_FILE=/dev/null SM_LOG_LEVEL=off
SM_HOST_ROOT=tests/fixtures/hosts/cli-ok "$bin/sm-check" memory >/dev/null # the schema
/usr/bin/python3 - "$SM_DB" <<'PY'
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
c.executescript("""
CREATE TEMP TABLE names (k INTEGER PRIMARY KEY, name TEXT);
INSERT INTO names (k, name) VALUES (0, 'cpu'), (1, 'cpu_temp'), (2, 'memory'), (3, 'swap'),
  (4, 'load'), (5, 'disk'), (6, 'disk_inodes'), (7, 'disk_common'), (8, 'disk_linux'),
  (9, 'disk_temp'), (10, 'io_strain'), (11, 'listening_ports'), (12, 'network'),
  (13, 'process'), (14, 'raid'), (15, 'reboot_debian'), (16, 'agents');
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 999999)
INSERT INTO check_runs (checker, hostname, status, message, metrics, executed_at)
SELECT (SELECT name FROM names WHERE k = i % 17), 'host' || (i / 17 % 10),
       CASE WHEN i % 97 = 0 THEN 'warning' ELSE 'ok' END, 'message ' || i,
       CASE i % 17
         WHEN 0 THEN json_object('cpu_percent', abs(random() % 1000) / 10.0, 'cpu_count', 4)
         WHEN 2 THEN json_object('memory_percent', 40 + abs(random() % 400) / 10.0)
         WHEN 4 THEN json_object('load1', abs(random() % 800) / 100.0,
                                 'load1_per_cpu', abs(random() % 200) / 100.0)
         WHEN 5 THEN json_object('worst_percent', 60 + (i % 5000) / 250.0, 'worst_path', '/')
         ELSE '{}' END,
       strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-' || (i / 170 * 300 + 10) || ' seconds') FROM n;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100000)
INSERT INTO incidents (title, status, severity, group_key, created_at, updated_at)
SELECT 'incident ' || i, CASE WHEN i % 10 = 0 THEN 'open' ELSE 'closed' END,
       CASE WHEN i % 7 = 0 THEN 'critical' ELSE 'warning' END, 'k' || i,
       strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-' || (i + 90) || ' minutes'),
       strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-' || i || ' minutes')
FROM n;
-- What holds notifications back: 10 active silences, 5 pending, 5 expired,
-- 3 maintenance windows (one always open), and 100,000 deliveries of which
-- a tenth were held back by the active silences.
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20)
INSERT INTO silences (id, matchers, starts_at, ends_at, comment, author, created_at, updated_at)
SELECT 's' || i, json_array('alertname="A' || i || '"'),
       strftime('%Y-%m-%dT%H:%M:%SZ', 'now', CASE WHEN i <= 15 AND i > 10 THEN '+1 days' ELSE '-1 days' END),
       strftime('%Y-%m-%dT%H:%M:%SZ', 'now', CASE WHEN i > 15 THEN '-1 hours' ELSE '+2 days' END),
       'maintenance of rack ' || i, 'ops', strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-1 days'),
       strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-1 days') FROM n;
INSERT INTO maintenance_windows (id, matchers, schedule, tz, comment, created_at) VALUES
  ('w1', '["instance=~\\"db-.*\\""]', 'daily 00:00-24:00', '', 'always', 'x'),
  ('w2', '["job=\\"backup\\""]', 'Sun 02:00-04:00', 'Europe/Berlin', '', 'x'),
  ('w3', '["job=\\"x\\""]', 'Mon-Fri 22:00-23:30', 'UTC', '', 'x');
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100000)
INSERT INTO notification_deliveries (channel, incident_id, status, reason, created_at)
SELECT 'ops', i, CASE WHEN i % 10 = 0 THEN 'skipped' ELSE 'sent' END,
       CASE WHEN i % 10 = 0 THEN 'silenced by s' || (i / 10 % 10 + 1) ELSE '' END,
       strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-' || i || ' minutes') FROM n;
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
for cmd in "status" "status --json" "status --html" "prune --dry-run" "--version"; do
	# shellcheck disable=SC2086
	read -r cpu wall rss < <("$tmp/runstat" "$runs" "$bin/sm-pipeline" $cmd)
	row "sm-pipeline $cmd" "$cpu" "$wall" "$rss"
done

command -v chromium >/dev/null || { echo; echo "(no chromium: the page is not measured in a browser)"; exit 0; }
"$bin/sm-pipeline" status --html >"$tmp/status.html" || true
echo '<!DOCTYPE html><title>blank</title>' >"$tmp/blank.html"
echo
echo "the page: $(($(stat -c %s "$tmp/status.html") / 1024)) KiB, $(grep -o '<svg' "$tmp/status.html" | wc -l) SVG elements; chromium $(chromium --version 2>/dev/null | awk '{print $2}'), 5 loads each (tests/fixtures/bin/browser.py)"
echo
row "page in headless chromium" "CPU ms, all processes" "page main-thread task ms" "console errors"
row "---" "---:" "---:" "---:"
for page in blank status; do
	for _ in 1 2 3 4 5; do
		/usr/bin/python3 tests/fixtures/bin/browser.py "file://$tmp/$page.html"
	done | /usr/bin/python3 -c '
import json, sys
runs = [json.loads(line) for line in sys.stdin]
print("%.0f %.0f %d" % (sum(r["cpu_ms"] for r in runs) / len(runs),
                        sum(r["task_ms"] for r in runs) / len(runs),
                        sum(len(r["errors"]) for r in runs)))' | {
		read -r cpu task errors
		row "$page.html" "$cpu" "$task" "$errors"
	}
done
