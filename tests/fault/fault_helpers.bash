# fault_helpers.bash - shared by the fault suites: the cli helpers, a
# budget of rounds (SM_FAULT_ROUNDS: a few under scripts/test, more for a
# long run), and the store checks every fault must leave true.
# shellcheck shell=bash

# shellcheck source=../cli/helpers.bash
source "$BATS_TEST_DIRNAME/../cli/helpers.bash"

rounds() { echo "${SM_FAULT_ROUNDS:-${1:-4}}"; }

# A stream of N Alertmanager payloads over M instances, some resolving.
am_stream() { # N M
	/usr/bin/python3 - "$1" "$2" <<'PY'
import json, sys
n, m = int(sys.argv[1]), int(sys.argv[2])
for i in range(n):
    status = "resolved" if i % 7 == 6 else "firing"
    alert = {"status": status, "labels": {"alertname": "Fault%d" % (i % 50), "instance": "host-%d" % (i % m),
             "severity": "critical" if i % 3 == 0 else "warning"},
             "annotations": {"summary": "payload %d" % i}, "startsAt": "2026-11-22T01:00:00Z",
             "endsAt": "2026-11-22T02:00:00Z" if status == "resolved" else "0001-01-01T00:00:00Z"}
    print(json.dumps({"receiver": "sm", "status": status, "groupKey": "g%d" % (i % m), "alerts": [alert]}))
PY
}

# The store is sound and its tables agree: integrity, foreign keys, every
# alert in an existing incident with at least one history row, one
# "created" row per alert. (An incident may be left without alerts: an
# alert that fires again after its incident closed moves to a new one.)
store_consistent() {
	[ "$(sql 'PRAGMA integrity_check')" = ok ] || { echo "integrity: $(sql 'PRAGMA integrity_check')"; return 1; }
	# Killed while the first open created the schema: its transaction was
	# rolled back, an empty store is sound (the next open creates it).
	[ "$(sql 'PRAGMA user_version')" != 0 ] || return 0
	[ "$(sql 'PRAGMA foreign_key_check' | wc -l)" -eq 0 ] || { echo "foreign keys"; return 1; }
	[ "$(sql "SELECT count(*) FROM alerts WHERE incident_id IS NULL OR incident_id NOT IN (SELECT id FROM incidents)")" = 0 ] ||
		{ echo "alerts without incident"; return 1; }
	[ "$(sql "SELECT count(*) FROM alerts WHERE id NOT IN (SELECT alert_id FROM alert_history)")" = 0 ] ||
		{ echo "alerts without history"; return 1; }
	[ "$(sql "SELECT count(*) FROM alert_history WHERE change = 'created'")" = "$(sql 'SELECT count(*) FROM alerts')" ] ||
		{ echo "created rows != alerts"; return 1; }
}

# Every alert in the complete envelope lines of FILE is in the store, with
# its id: what was printed (acknowledged) was committed.
printed_stored() { # FILE
	/usr/bin/python3 - "$1" "$SM_DB" <<'PY'
import json, sqlite3, sys
db = sqlite3.connect(sys.argv[2])
missing = seen = 0
with open(sys.argv[1], "rb") as f:
    for line in f:
        if not line.endswith(b"\n"):
            break  # cut by the kill: never acknowledged
        env = json.loads(line)
        for a in env["alerts"]:
            seen += 1
            row = db.execute("SELECT fingerprint FROM alerts WHERE id = ?", (a["id"],)).fetchone()
            if not row or row[0] != a["fingerprint"]:
                missing += 1
print(seen, missing)
sys.exit(1 if missing else 0)
PY
}
