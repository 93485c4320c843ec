#!/usr/bin/env bash
# bench/retention.sh [DAYS] - the size of the store of one host checked
# every five minutes for DAYS days (default 365) and pruned daily with the
# default retention (sm-pipeline prune, no --vacuum), as the service
# units' timer does. Each round is the 17 rows a real `sm-check --alerts`
# stored on this machine (so the metrics are as capped when stored), all
# made OK as on a healthy host, copied with its own trace id and time; the memory alert refires and resolves
# four times a day (its history rows). Day by day, oldest first: the rows of a
# day are inserted, then prune runs, whose cutoffs are taken from the
# real clock, so what it keeps is what a store of that age would keep.
# Goal: under 50 MB after a year. Prints a markdown table for bench/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."
days=${1:-365}
bin=${SM_BIN:-build/bin}
[ -x "$bin/sm-pipeline" ] || { echo "bench/retention.sh: build first (scripts/build)" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export SM_DB="$tmp/sm.db" SM_ENV_FILE=/dev/null SM_LOG_LEVEL=off
unset SM_RETENTION
"$bin/sm-check" --alerts >/dev/null || true # one real round: the template
/usr/bin/python3 - "$SM_DB" <<'PY'
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
c.executescript("""
CREATE TABLE template AS SELECT checker, hostname, status, message, metrics, error,
  warning_threshold, critical_threshold, duration_ms FROM check_runs;
-- A healthy host: every result OK (this machine's round may have had
-- problems; a result that is not OK is kept in full for check_runs'
-- 30 days, 8,640 rows per checker, which the README's figures note).
UPDATE template SET status = 'ok';
DELETE FROM check_runs; DELETE FROM alert_history; DELETE FROM alerts; DELETE FROM incidents;
DELETE FROM inbox;
""")
PY
size() { echo $(($(stat -c %s "$SM_DB") + $(stat -c %s "$SM_DB-wal" 2>/dev/null || echo 0))); }
mib() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1048576 }'; }
echo "one host, $(sql() { /usr/bin/python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute(sys.argv[2]).fetchone()[0])' "$SM_DB" "$1"; }; sql "SELECT count(*) FROM template") checkers every 5 minutes,"\
	"template row $(/usr/bin/python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("SELECT CAST(avg(length(metrics) + length(message)) AS INT) || \" B of metrics and message on average, the largest \" || max(length(metrics)) || \" B (\" || (SELECT checker FROM template ORDER BY length(metrics) DESC LIMIT 1) || \")\" FROM template").fetchone()[0])' "$SM_DB"); $(uname -r)"
echo
printf '| %s | %s | %s | %s |\n' "day" "check_runs rows" "store MiB (file + WAL)" "free pages"
printf '| %s | %s | %s | %s |\n' "---" "---:" "---:" "---:"
for ((d = days; d >= 1; d--)); do
	/usr/bin/python3 - "$SM_DB" "$d" <<'PY'
import sqlite3, sys
c = sqlite3.connect(sys.argv[1], timeout=30)
d = int(sys.argv[2])
c.executescript(f"""
BEGIN;
WITH RECURSIVE r(k) AS (SELECT 0 UNION ALL SELECT k + 1 FROM r WHERE k < 287)
INSERT INTO check_runs (checker, hostname, status, message, metrics, error, warning_threshold,
  critical_threshold, duration_ms, executed_at, trace_id)
SELECT t.checker, t.hostname, t.status, t.message, t.metrics, t.error, t.warning_threshold,
  t.critical_threshold, t.duration_ms,
  strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-{d} days', '+' || (k * 300) || ' seconds'),
  lower(hex(randomblob(16)))
FROM r, template t;
-- The memory alert refires and resolves four times a day: one alert, one
-- incident reopened each time, two history rows per cycle.
INSERT OR IGNORE INTO incidents (id, title, status, severity, group_key, created_at,
  updated_at, trace_id)
VALUES (1, 'memory on host', 'resolved', 'warning', 'memory|host',
  strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-{d} days'),
  strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-{d} days'), '');
INSERT OR IGNORE INTO alerts (id, incident_id, source, fingerprint, name, status, severity,
  description, labels, created_at, updated_at)
VALUES (1, 1, 'local', 'memory-host', 'memory', 'resolved', 'warning', 'Memory usage: 91.0%',
  '{{"checker":"memory","hostname":"host"}}', strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-{d} days'),
  strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-{d} days'));
WITH RECURSIVE r(k) AS (SELECT 0 UNION ALL SELECT k + 1 FROM r WHERE k < 7)
INSERT INTO alert_history (alert_id, change, old_status, new_status, old_severity, new_severity,
  at, trace_id)
SELECT 1, CASE k % 2 WHEN 0 THEN 'refired' ELSE 'resolved' END,
  CASE k % 2 WHEN 0 THEN 'resolved' ELSE 'firing' END,
  CASE k % 2 WHEN 0 THEN 'firing' ELSE 'resolved' END, 'warning', 'warning',
  strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-{d} days', '+' || (k * 3) || ' hours'),
  lower(hex(randomblob(16))) FROM r;
UPDATE incidents SET updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-{d} days', '+22 hours'),
  resolved_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-{d} days', '+22 hours') WHERE id = 1;
COMMIT;
""")
PY
	"$bin/sm-pipeline" prune >/dev/null
	if ((d % 30 == 0 || d == 1)); then
		rows=$(/usr/bin/python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("SELECT count(*) FROM check_runs").fetchone()[0])' "$SM_DB")
		free=$(/usr/bin/python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("PRAGMA freelist_count").fetchone()[0])' "$SM_DB")
		printf '| %s | %s | %s | %s |\n' "$((days - d + 1))" "$rows" "$(mib "$(size)")" "$free"
	fi
done
