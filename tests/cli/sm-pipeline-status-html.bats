#!/usr/bin/env bats
# The status page: sm-pipeline status --html and GET /status/ behind a real
# lighttpd (scripts/serve). Its charts from real sm-check rows, fixed
# numbers of points however many rows, every stored string escaped (a
# hostile hostname, checker message, incident title and run error), and a
# real headless Chromium loading it: no console error, no external
# resource, charts drawn with a size, a screenshot under the build
# directory.
# shellcheck disable=SC2154 # bats sets $output, $stderr

bats_require_minimum_version 1.5.0
load helpers

setup() {
	setup_sm
	export TZ=UTC
	BROWSER="python3 $SM_FIXTURES/bin/browser.py"
}

teardown() {
	if [ -f "$TEST_DIR/serve.pid" ]; then
		kill "$(cat "$TEST_DIR/serve.pid")" 2>/dev/null || true
	fi
	teardown_sm
}

evil='<script>alert("x")</script>'"'"

# Rows of checker CHECKER for HOST, one every STEP seconds back to SPAN
# seconds ago, with metrics from the JSON expression METRICS over i.
rows() { # HOST CHECKER METRICS STEP SPAN
	sql "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < $5 / $4)
	     INSERT INTO check_runs (checker, hostname, status, message, metrics, executed_at)
	     SELECT '$2', '$1', 'ok', 'fine', $3,
	            strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-' || (i * $4 + 30) || ' seconds') FROM n"
}

# A store with one real host (sm-check's own rows), a hostile one, and
# incidents, runs and an agent whose stored strings are hostile too.
hostile_store() {
	host cli-ok
	sm-check --hostname web-1 --interval 0.1 cpu memory load >/dev/null
	sm-check --hostname web-1 disk >/dev/null || true
	rows web-1 memory "json_object('memory_percent', 40 + 20 * (i % 7))" 300 86400
	sql "INSERT INTO check_runs (checker, hostname, status, message, metrics, executed_at)
	     VALUES ('cpu', '$(printf %s "$evil" | sed "s/'/''/g")', 'critical',
	             '$(printf %s "$evil" | sed "s/'/''/g")', '{\"cpu_percent\":99}',
	             strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-1 minutes')),
	            ('memory', 'web-1', 'ok', 'not json', 'not json',
	             strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-2 hours'))"
	sql "INSERT INTO incidents (title, status, severity, group_key, created_at, updated_at)
	     VALUES ('$(printf %s "$evil" | sed "s/'/''/g")', 'open', 'critical', 'k1',
	             strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-2 days'),
	             strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-1 hours')),
	            ('memory on web-1', 'resolved', 'warning', 'k2',
	             strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-5 days'),
	             strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-4 days'))"
	sql "UPDATE incidents SET resolved_at = updated_at WHERE status = 'resolved'"
	sql "INSERT INTO pipeline_runs (run_id, trace_id, definition, status, error, created_at)
	     VALUES ('run-1', 't', 'full', 'failed', '$(printf %s "$evil" | sed "s/'/''/g")',
	             strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-3 minutes'))"
	# A silence and a maintenance window in force, hostile in every string.
	sql "INSERT INTO silences (id, matchers, starts_at, ends_at, comment, author, created_at,
	                           updated_at)
	     VALUES ('$(printf %s "$evil" | sed "s/'/''/g")',
	             json_array('alertname=' || '$(printf %s "$evil" | sed "s/'/''/g")'),
	             strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-1 hours'),
	             strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '+2 hours', '+30 minutes'),
	             '$(printf %s "$evil" | sed "s/'/''/g")', '$(printf %s "$evil" | sed "s/'/''/g")',
	             strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-1 hours'),
	             strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-1 hours'))"
	sm-notify maintenance add host=db1 --schedule 'daily 00:00-24:00' --comment "$evil" >/dev/null
	sql "INSERT INTO agents (instance_id, hostname, first_push_at, last_push_at, pushes)
	     VALUES ('$(printf %s "$evil" | sed "s/'/''/g")', 'agent-host',
	             strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-1 hours'),
	             strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-1 minutes'), 3)"
}

# The number of lines of the page matching a regular expression.
count() { grep -c -- "$1" "$TEST_DIR/page.html" || true; }

# The points with results of the chart captioned CAPTION (its figure is
# one line; data-points has one entry per interval, empty without results).
points() { grep "<figcaption>$1" "$TEST_DIR/page.html" | grep -o 'data-points="[^"]*"' | tr ';' '\n' | grep -c '[0-9]' || true; }

# The SVG elements of class CLASS.
svgs() { grep -o "<svg class=\"$1\"" "$TEST_DIR/page.html" | wc -l; }

@test "status --html: one self-contained page; every stored string escaped; exit status as status's" {
	hostile_store
	run sm-pipeline status --html
	[ "$status" -eq 2 ] # the critical incident and check
	printf '%s\n' "$output" >"$TEST_DIR/page.html"
	[[ "${lines[0]}" = "<!DOCTYPE html>" ]]
	[ "${lines[-1]}" = "</body></html>" ]
	# Only the page's own script; no hostile text unescaped anywhere.
	[ "$(grep -o '<script' "$TEST_DIR/page.html" | wc -l)" -eq 1 ]
	[ "$(count 'alert("x")')" -eq 0 ]
	[ "$(count "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&#39;")" -ge 5 ]
	# No external asset: no src= or href= leaving the page.
	[ "$(grep -Eo '(src|href)="[^"]*"' "$TEST_DIR/page.html" | grep -Evc '="(#|data:)')" -eq 0 ]
	# Readable without the script: times in UTC, ages in words.
	grep -q 'UTC</time> <span class="age">(1 min ago)</span>' "$TEST_DIR/page.html"
	grep -q '<title>sm status: critical</title>' "$TEST_DIR/page.html"
	# The sections.
	for id in hosts incidents silences agents queue runs; do
		grep -q "<h2 id=\"$id\">" "$TEST_DIR/page.html"
	done
	# The silence in force: its id, matchers, end and time left, author and
	# comment; the open maintenance window with its schedule.
	grep -q '<p>1 active, 0 pending: ' "$TEST_DIR/page.html"
	grep -q '<table class="silences">' "$TEST_DIR/page.html"
	grep -q 'UTC</time> <span class="age">(2 h left)</span></td><td>0</td>' "$TEST_DIR/page.html"
	grep -q '<td><code>alertname=&lt;script&gt;alert(&quot;x&quot;)' "$TEST_DIR/page.html"
	grep -q '<p>1 open now.</p>' "$TEST_DIR/page.html"
	grep -q '<td>daily 00:00-24:00</td><td>0</td><td>&lt;script&gt;' "$TEST_DIR/page.html"
	grep -q '<td><code>run-1</code></td><td>full</td><td><span class="b failed">failed</span>' \
		"$TEST_DIR/page.html"
	grep -q '<td>agent-host</td>' "$TEST_DIR/page.html"
}

@test "status --html: each host's cpu, memory, disk and load over 24 hours and 7 days, from sm-check's rows" {
	hostile_store
	sm-pipeline status --html >"$TEST_DIR/page.html" || true
	# web-1: four charts in two windows; the hostile host: cpu in two.
	[ "$(svgs chart)" -eq 10 ]
	for title in "cpu, 24 hours" "memory, 24 hours" "disk (fullest), 24 hours" \
		"load per CPU (1 min), 24 hours" "cpu, 7 days" "load per CPU (1 min), 7 days"; do
		grep -q "<figcaption>$title: <b>" "$TEST_DIR/page.html"
	done
	grep -q 'load per CPU (1 min), 24 hours: <b>0.25</b> now' "$TEST_DIR/page.html"
	# A day of memory every 5 minutes: 96 points of a quarter of an hour,
	# 25 hourly points over the week; the row that is not JSON left out.
	[ "$(points 'memory, 24 hours')" -eq 96 ]
	[ "$(points 'memory, 7 days')" -le 26 ]
	# The hostile host's one result shows as a dot.
	[ "$(count '<circle class="dot"')" -ge 1 ]
	# The timeline: the open incident and the one resolved four days ago.
	[ "$(svgs timeline)" -eq 1 ]
	grep -q '<rect class="bar critical"' "$TEST_DIR/page.html"
	grep -q '<rect class="bar warning ended"' "$TEST_DIR/page.html"
	grep -q '#2 memory on web-1</text>' "$TEST_DIR/page.html"
}

@test "status --html: a chart has a fixed number of points however many rows (a week every 10 seconds)" {
	sm-ingest incidents >/dev/null # the store
	rows big cpu "json_object('cpu_percent', i % 100)" 10 604800
	[ "$(sql "SELECT count(*) FROM check_runs")" -gt 60000 ]
	sm-pipeline status --html >"$TEST_DIR/page.html"
	[ "$(points 'cpu, 24 hours')" -eq 96 ]
	[ "$(points 'cpu, 7 days')" -eq 168 ]
	# Each point: the average and the range of its interval; the chart's
	# title sums the window up.
	grep -Eq 'data-points="[0-9]+\.[0-9]{2},0\.00,99\.00;' "$TEST_DIR/page.html"
	grep -Eq '<title>cpu, 7 days: average [0-9.]+%, lowest 0\.00%, highest 99\.00%</title>' "$TEST_DIR/page.html"
	# Without a hover target per point, the page stays small.
	[ "$(wc -c <"$TEST_DIR/page.html")" -lt 30000 ]
}

@test "status --html on an empty store: this host without results, nothing drawn, OK" {
	host cli-ok
	run sm-pipeline status --html
	[ "$status" -eq 0 ]
	printf '%s\n' "$output" >"$TEST_DIR/page.html"
	grep -q '<h3>cli-ok <span class="mute">(this host)</span></h3>' "$TEST_DIR/page.html"
	grep -q 'no check results' "$TEST_DIR/page.html"
	grep -q 'no incidents in the last 7 days' "$TEST_DIR/page.html"
	[ "$(count '<svg')" -eq 0 ]
}

@test "status: --html with --json is a usage error; a store that cannot be read is UNKNOWN 3" {
	run --separate-stderr sm-pipeline status --html --json
	[ "$status" -eq 64 ]
	[ "$stderr" = "sm-pipeline: usage: sm-pipeline status [--json | --html]" ]
	mkdir "$TEST_DIR/dir.db"
	SM_DB=$TEST_DIR/dir.db run --separate-stderr sm-pipeline status --html
	[ "$status" -eq 3 ]
	[ -z "$output" ]
	[[ "$stderr" = "sm-pipeline: "* ]]
}

# --- in a real browser ------------------------------------------------------------

@test "browser: the page loads in Chromium without a console error or an outside request; charts drawn with a size; screenshot" {
	need_peer "chromium is not installed" command -v chromium
	hostile_store
	sm-pipeline status --html >"$TEST_DIR/page.html" || true
	shots="$SM_BIN/../screenshots"
	mkdir -p "$shots"
	rm -f "$shots/status.png"
	$BROWSER "file://$TEST_DIR/page.html" --screenshot "$shots/status.png" >"$TEST_DIR/report.json"
	report() { json_get "$1" <"$TEST_DIR/report.json"; }
	[ "$(report 'd["errors"]')" = "[]" ]
	[ "$(report 'd["external"]')" = "[]" ]
	[ "$(report 'd["title"]')" = "sm status: critical" ]
	[ "$(report 'd["script_ran"]')" = true ]
	[ "$(report 'len([s for s in d["svgs"] if s["class"] == "chart"])')" -eq 10 ]
	[ "$(report 'all(s["width"] > 100 and s["height"] > 20 for s in d["svgs"])')" = true ]
	[ "$(report 'min(s["paths"] for s in d["svgs"] if s["class"] == "chart")')" -ge 2 ]
	[ "$(report '[s["rects"] for s in d["svgs"] if s["class"] == "timeline"][0]')" -eq 2 ]
	# The silences and maintenance windows in force, their stored strings
	# shown as text.
	[ "$(report 'd["sections"]')" = '["hosts", "incidents", "silences", "agents", "queue", "runs"]' ]
	[ "$(report 'len(d["tables"]["silences"])')" -eq 1 ]
	[ "$(report 'd["tables"]["silences"][0][4]')" = "$evil" ] # by
	[ "$(report 'd["tables"]["silences"][0][5]')" = "$evil" ] # comment
	[ "$(report '[r[2] for r in d["tables"]["maintenance"]]')" = '["daily 00:00-24:00"]' ]
	# The script's tooltip: the time of the point and its figures.
	[[ "$(report 'd["tooltip"]')" =~ ^[0-9].*": "[0-9.]+"% ("[0-9.]+" to "[0-9.]+")"$ ]]
	# A PNG image.
	[ "$(head -c 8 "$shots/status.png" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ]
}

@test "browser: the harness sees console errors, exceptions and outside requests (so a clean page is clean)" {
	need_peer "chromium is not installed" command -v chromium
	printf '<!DOCTYPE html><title>t</title><script>console.error("boom");nope();</script><img src="http://127.0.0.1:9/x.png">' \
		>"$TEST_DIR/bad.html"
	$BROWSER "file://$TEST_DIR/bad.html" >"$TEST_DIR/report.json"
	report() { json_get "$1" <"$TEST_DIR/report.json"; }
	[ "$(report 'any(e == "console: boom" for e in d["errors"])')" = true ]
	[ "$(report 'any("ReferenceError" in e for e in d["errors"])')" = true ]
	[ "$(report 'd["external"]')" = '["http://127.0.0.1:9/x.png"]' ]
}

# --- GET /status/ -------------------------------------------------------------------

serve() {
	need_peer "lighttpd is not installed" command -v lighttpd
	export SM_ENV_FILE="$TEST_DIR/sm.env"
	: >"$SM_ENV_FILE"
	PORT=$(free_port)
	SM_SERVE_DIR="$TEST_DIR/serve" SM_INGEST="$SM_BIN/sm-ingest" \
		"$BATS_TEST_DIRNAME/../../scripts/serve" "$PORT" >>"$TEST_DIR/serve.log" 2>&1 &
	echo $! >"$TEST_DIR/serve.pid"
	wait_port "$PORT"
}

# call METHOD PATH [Header: value ...]: sets $code, $headers, $body.
call() {
	local method=$1 path=$2 out
	shift 2
	out=$(/usr/bin/python3 "$BATS_TEST_DIRNAME/request.py" "$method" "http://127.0.0.1:$PORT$path" "$@")
	code=$(echo "$out" | head -1)
	headers=$(echo "$out" | sed -n '2,/^$/p')
	body=$(echo "$out" | sed '1,/^$/d')
}

@test "GET /status/: the same page over CGI; API keys as the other endpoints, or as a Basic password" {
	hostile_store
	serve
	call GET /status/
	[ "$code" = 200 ]
	echo "$headers" | grep -qi '^Content-Type: text/html; charset=utf-8'
	[[ "$body" = "<!DOCTYPE html>"* ]]
	[ "$(printf '%s\n' "$body" | grep -c 'alert("x")')" -eq 0 ]
	[ "$(printf '%s\n' "$body" | grep -o '<svg class="chart"' | wc -l)" -eq 10 ]
	call GET /status
	[ "$code" = 200 ]
	# The API still answers beside it.
	call GET /orchestration/definitions/
	[ "$code" = 200 ]
	# Keys.
	printf 'ops\t%s\n' "$(printf %s secret-key-1234567890abcdef | sha256sum | cut -d' ' -f1)" \
		>"$TEST_DIR/keys"
	chmod 600 "$TEST_DIR/keys"
	echo "SM_API_KEYS_FILE=$TEST_DIR/keys" >>"$SM_ENV_FILE"
	call GET /status/
	[ "$code" = 401 ]
	echo "$headers" | grep -qi '^WWW-Authenticate: Basic realm="sm status"'
	[[ "$body" = '{"status":"error","message":"API key required'* ]]
	call GET /status/ "X-API-Key: wrong-key-1234567890abcdef"
	[ "$code" = 401 ]
	call GET /status/ "X-API-Key: secret-key-1234567890abcdef"
	[ "$code" = 200 ]
	call GET /status/ "Authorization: Bearer secret-key-1234567890abcdef"
	[ "$code" = 200 ]
	call GET /status/ "Authorization: Basic $(printf %s 'me:secret-key-1234567890abcdef' | base64 -w0)"
	[ "$code" = 200 ]
	call GET /status/ "Authorization: Basic $(printf %s 'me:wrong-key' | base64 -w0)"
	[ "$code" = 401 ]
	call GET /status/ "Authorization: Basic !!notbase64"
	[ "$code" = 401 ]
	# The key never reaches a log.
	run grep -rc secret-key "$TEST_DIR/serve"
	[[ "$output" != *:[1-9]* ]]
}

@test "GET /status/: other methods 405, other paths 404, a store that cannot be read 500" {
	serve
	call POST /status/
	[ "$code" = 405 ]
	echo "$headers" | grep -qi '^Allow: GET, HEAD'
	call GET /status/other
	[ "$code" = 404 ]
	call HEAD /status/
	[ "$code" = 200 ]
	[ -z "$body" ]
	chmod 000 "$SM_DB" 2>/dev/null || true
	rm -f "$SM_DB"
	mkdir "$SM_DB"
	call GET /status/
	[ "$code" = 500 ]
	[ "$body" = '{"status":"error","message":"cannot open the store"}' ]
}

@test "browser: the page served at /status/ loads without errors" {
	need_peer "chromium is not installed" command -v chromium
	hostile_store
	serve
	$BROWSER "http://127.0.0.1:$PORT/status/" >"$TEST_DIR/report.json"
	report() { json_get "$1" <"$TEST_DIR/report.json"; }
	[ "$(report 'd["errors"]')" = "[]" ]
	[ "$(report 'd["external"]')" = "[]" ]
	[ "$(report 'len([s for s in d["svgs"] if s["class"] == "chart"])')" -eq 10 ]
}
