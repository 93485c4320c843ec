# cgi_tests.bash - the webhook handler's end-to-end tests behind a real
# lighttpd on loopback, shared by cgi.bats (SERVE_MODE=cgi: a process per
# request) and fastcgi.bats (SERVE_MODE=fastcgi: one long-running
# sm-ingest). Every status code, API keys, signatures, nothing stored for a
# rejected request, concurrency. A FastCGI handler reads its dotenv file
# once, so set_env restarts the server in that mode.
# shellcheck shell=bash

start_server() { serve_start "$CGI_DIR"; }
stop_server() { serve_stop "$CGI_DIR"; }

cgi_setup_file() {
	: "${SM_BIN:?}" "${SM_FIXTURES:?}" "${SERVE_MODE:?}"
	need_peer "lighttpd is not installed" command -v lighttpd
	export CGI_DIR
	CGI_DIR=$(mktemp -d "${BATS_TMPDIR:-/tmp}/sm-$SERVE_MODE.XXXXXX")
	export SM_DB="$CGI_DIR/hub.db" SM_ENV_FILE="$CGI_DIR/sm.env" SM_SERVE_DIR="$CGI_DIR/serve"
	export SM_INGEST="$SM_BIN/sm-ingest" PORT
	: >"$SM_ENV_FILE"
	PORT=$(free_port)
	start_server
}

cgi_teardown_file() {
	stop_server
	[ -f "$CGI_DIR/am.pid" ] && kill "$(cat "$CGI_DIR/am.pid")" 2>/dev/null
	rm -rf "$CGI_DIR"
}

cgi_setup() {
	export PATH="$SM_BIN:$PATH"
	export TEST_DIR=$CGI_DIR
	[ -s "$SM_ENV_FILE" ] && set_env
	return 0
}

# set_env [LINE ...]: the handler's dotenv file holds these lines from the
# next request on (a restart in FastCGI mode).
set_env() {
	if [ $# -gt 0 ]; then printf '%s\n' "$@" >"$SM_ENV_FILE"; else : >"$SM_ENV_FILE"; fi
	if [ "$SERVE_MODE" = fastcgi ]; then
		stop_server
		start_server
	fi
}

# post PATH BODY [Header: value ...]: sets $code and $body (and $headers).
post() {
	local path=$1 payload=$2 out
	shift 2
	printf '%s' "$payload" >"$CGI_DIR/body"
	out=$(/usr/bin/python3 "$BATS_TEST_DIRNAME/request.py" POST "http://127.0.0.1:$PORT$path" "$CGI_DIR/body" \
		"Content-Type: application/json" "$@")
	code=$(echo "$out" | head -1)
	# shellcheck disable=SC2034 # for the tests
	headers=$(echo "$out" | sed -n '2,/^$/p')
	body=$(echo "$out" | sed '1,/^$/d')
}

stored() { sql "SELECT (SELECT count(*) FROM alerts) + (SELECT count(*) FROM inbox)"; }

# 202: stored, queued, answered with the alerts, incidents and trace id
t_accepted() {
	post /alerts/webhook/alertmanager/ "$(am_payload DiskFull db-01 firing)"
	[ "$code" = 202 ]
	[ "$(echo "$body" | json_get 'd["status"], d["driver"], d["alerts"], len(d["incidents"])')" = '["accepted", "alertmanager", 1, 1]' ]
	trace=$(echo "$body" | json_get 'd["trace_id"]')
	[[ "$trace" =~ ^[0-9a-f]{32}$ ]]
	[ "$(sql "SELECT count(*) FROM inbox WHERE trace_id = '$trace'")" = 1 ]
	[ "$(sql "SELECT title, status FROM incidents ORDER BY id DESC LIMIT 1")" = "DiskFull on db-01	open" ]
	# Auto-detection, and the trailing slash is optional.
	post /alerts/webhook/ "$(am_payload HighLoad web-01 firing)"
	[ "$code" = 202 ]
	post /alerts/webhook/alertmanager "$(am_payload HighLoad web-02 firing)"
	[ "$code" = 202 ]
	[ "$(echo "$body" | json_get 'd["driver"]')" = alertmanager ]
}

# rejections: 400 404 405 413 415 422, each with a JSON message, nothing stored
t_rejections() {
	before=$(stored)
	post /alerts/webhook/ '{"receiver": "x", "alerts": [' # malformed
	[ "$code" = 400 ]
	[[ "$(echo "$body" | json_get 'd["message"]')" == "malformed JSON:"* ]]
	post /alerts/webhook/ '[1,2]'
	[ "$code" = 400 ]
	post /alerts/webhook/ $'{"name":"bad \xff"}'
	[ "$code" = 400 ]
	post /alerts/webhook/nope/ "$(am_payload A x firing)"
	[ "$code" = 404 ]
	post /alerts/webhook/local/ '{"v":1,"host":"h","checks":[]}'
	[ "$code" = 404 ]
	post /alerts/webhook/cluster/ '{"source":"cluster","instance_id":"a","alerts":[]}'
	[ "$code" = 404 ] # CLUSTER_ENABLED is not set
	post /alerts/webhook/alertmanager/extra/ "$(am_payload A x firing)"
	[ "$code" = 404 ]
	out=$(/usr/bin/python3 "$BATS_TEST_DIRNAME/request.py" GET "http://127.0.0.1:$PORT/alerts/webhook/")
	[ "$(echo "$out" | head -1)" = 405 ]
	[[ "$out" == *"Allow: POST"* ]]
	post /alerts/webhook/ "$(am_payload A x firing)" "Content-Type: application/x-www-form-urlencoded"
	[ "$code" = 415 ]
	set_env SM_MAX_BODY=100
	post /alerts/webhook/ "$(am_payload A x firing)"
	[ "$code" = 413 ]
	set_env
	post /alerts/webhook/ '{"nothing":"alert-like"}'
	[ "$code" = 422 ]
	[[ "$(echo "$body" | json_get 'd["status"]')" == error ]]
	post /alerts/webhook/grafana/ "$(am_payload A x firing)" # Alertmanager's shape, forced Grafana
	[ "$code" = 400 ]
	[[ "$(echo "$body" | json_get 'd["message"]')" == "invalid Grafana payload"* ]]
	[ "$(stored)" = "$before" ]
	[ "$(sql 'PRAGMA integrity_check')" = ok ]
}

# API keys: missing or wrong 401, right key (X-API-Key or Bearer) 202
t_api_keys() {
	key=0123456789abcdef0123456789abcdef01234567
	printf 'ops\t%s\n' "$(printf %s "$key" | sha256sum | cut -d' ' -f1)" >"$CGI_DIR/keys"
	set_env "SM_API_KEYS_FILE=$CGI_DIR/keys"
	before=$(stored)
	post /alerts/webhook/ "$(am_payload K1 x firing)"
	[ "$code" = 401 ]
	post /alerts/webhook/ "$(am_payload K1 x firing)" "X-API-Key: wrong"
	[ "$code" = 401 ]
	[ "$(stored)" = "$before" ]
	post /alerts/webhook/ "$(am_payload K1 x firing)" "X-API-Key: $key"
	[ "$code" = 202 ]
	post /alerts/webhook/ "$(am_payload K2 x firing)" "Authorization: Bearer $key"
	[ "$code" = 202 ]
	# The key never reaches the server's error log.
	! grep -q "$key" "$SM_SERVE_DIR"/*.log
	# A key revoked by commenting its line out, or a digest without a
	# name, grants nothing; the file may have comments and blank lines.
	revoked=fedcba9876543210fedcba9876543210fedcba98
	{
		echo "# senders"
		echo
		printf 'ops\t%s\n' "$(printf %s "$key" | sha256sum | cut -d' ' -f1)"
		printf '# revoked %s\n' "$(printf %s "$revoked" | sha256sum | cut -d' ' -f1)"
		printf '%s\n' "$(printf %s "lonely-key" | sha256sum | cut -d' ' -f1)"
	} >"$CGI_DIR/keys"
	post /alerts/webhook/ "$(am_payload K3 x firing)" "X-API-Key: $revoked"
	[ "$code" = 401 ]
	post /alerts/webhook/ "$(am_payload K3 x firing)" "X-API-Key: lonely-key"
	[ "$code" = 401 ]
	post /alerts/webhook/ "$(am_payload K3 x firing)" "X-API-Key: $key"
	[ "$code" = 202 ]
}

# signatures: WEBHOOK_SECRET_<DRIVER> makes an unsigned or badly signed request 401
t_signatures() {
	secret=s3cr3t-value
	set_env "WEBHOOK_SECRET_ALERTMANAGER=$secret"
	payload=$(am_payload Signed db-09 firing)	sig=$(printf '%s' "$payload" | /usr/bin/python3 -c 'import hashlib, hmac, sys
print(hmac.new(sys.argv[1].encode(), sys.stdin.buffer.read(), hashlib.sha256).hexdigest())' "$secret")
	before=$(stored)
	post /alerts/webhook/alertmanager/ "$payload"
	[ "$code" = 401 ]
	post /alerts/webhook/alertmanager/ "$payload" "X-SM-Signature: sha256=$(printf 0%.0s {1..64})"
	[ "$code" = 401 ]
	post /alerts/webhook/ "$payload" "X-SM-Signature: $sig" "Content-Type: application/json"
	[ "$code" = 202 ] # auto-detected, then verified
	[ "$(sql "SELECT count(*) FROM alerts WHERE name = 'Signed'")" = 1 ]
	post /alerts/webhook/alertmanager/ "${payload/db-09/db-10}" "X-SM-Signature: sha256=$sig"
	[ "$code" = 401 ] # the body changed
	[ "$(sql "SELECT count(*) FROM alerts WHERE name = 'Signed'")" = 1 ]
	! grep -q "$secret" "$SM_SERVE_DIR"/*.log
	# Grafana's own header name is accepted too; PagerDuty's "v1=" form.
	set_env "WEBHOOK_SECRET_GRAFANA=$secret"
	g=$(cat "$SM_FIXTURES/payloads/grafana/unified-firing.json")
	gsig=$(printf '%s' "$g" | /usr/bin/python3 -c 'import hashlib, hmac, sys
print(hmac.new(sys.argv[1].encode(), sys.stdin.buffer.read(), hashlib.sha256).hexdigest())' "$secret")
	post /alerts/webhook/grafana/ "$g" "X-Grafana-Alerting-Signature: $gsig"
	[ "$code" = 202 ]
	post /alerts/webhook/grafana/ "$g" "X-Grafana-Signature: v1=0000,v1=$gsig"
	[ "$code" = 202 ]
}

# a broken env file: a JSON 500, details only in the log
t_broken_env() {
	set_env "this is not a setting"
	post /alerts/webhook/ "$(am_payload A x firing)"
	[ "$code" = 500 ]
	[ "$(echo "$body" | json_get 'd["status"], d["message"]')" = '["error", "server misconfigured"]' ]
	grep -q 'expected KEY=VALUE' "$SM_SERVE_DIR/cgi.log"
}

# a store that refuses the request's writes (a trigger on the queue, after
# the alert's rows): a JSON 500, nothing of it stored; the next request,
# the trigger gone, stored whole (the files' tests share one store: counts
# are taken before)
t_store_refuses() {
	local alerts incidents queued
	post /alerts/webhook/ "$(am_payload Warmup x firing)" # the store made
	[ "$code" = 202 ]
	alerts=$(sql "SELECT count(*) FROM alerts")
	incidents=$(sql "SELECT count(*) FROM incidents")
	queued=$(sql "SELECT count(*) FROM inbox")
	sql "CREATE TRIGGER refuse BEFORE INSERT ON inbox BEGIN SELECT RAISE(ABORT, 'queue refused here'); END"
	post /alerts/webhook/ "$(am_payload Refused x firing)"
	sql "DROP TRIGGER refuse" # first: the next tests share the store
	[ "$code" = 500 ]
	[ "$(echo "$body" | json_get 'd["status"], d["message"]')" = '["error", "cannot store the alerts"]' ]
	[ "$(sql "SELECT count(*) FROM alerts")" = "$alerts" ]
	[ "$(sql "SELECT count(*) FROM incidents")" = "$incidents" ]
	[ "$(sql "SELECT count(*) FROM inbox")" = "$queued" ]
	post /alerts/webhook/ "$(am_payload Refused x firing)"
	[ "$code" = 202 ]
	[ "$(sql "SELECT count(*) FROM alerts WHERE name = 'Refused'")" = 1 ]
	[ "$(sql "SELECT count(*) FROM inbox")" = $((queued + 1)) ]
}

# 8 parallel clients x 500 requests (the issue's figure): every alert stored
# once, no 5xx. A CGI handler of the sanitized build (SM_SANITIZED=1) gets
# 50 a client: each of its processes (one a request) costs ten times as
# much to start, and runs the same code.
t_parallel() {
	local per=500
	[ "${SM_SANITIZED:-0}" != 1 ] || [ "$SERVE_MODE" != cgi ] || per=50
	/usr/bin/python3 - "$PORT" "$per" <<'PY'
import json, sys, threading, urllib.request
port, per = int(sys.argv[1]), int(sys.argv[2])
codes, lock = {}, threading.Lock()
def client(c):
    for i in range(per):
        body = {"receiver": "sm", "status": "firing", "groupKey": "k", "alerts": [{
            "status": "firing", "labels": {"alertname": "Par", "instance": f"c{c}-{i}"}}]}
        req = urllib.request.Request(f"http://127.0.0.1:{port}/alerts/webhook/alertmanager/",
            data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
        try:
            code = urllib.request.urlopen(req, timeout=60).status
        except urllib.error.HTTPError as e:
            code = e.code
        with lock:
            codes[code] = codes.get(code, 0) + 1
threads = [threading.Thread(target=client, args=(c,)) for c in range(8)]
[t.start() for t in threads]
[t.join() for t in threads]
assert codes == {202: 8 * per}, codes
PY
	[ "$(sql "SELECT count(*), count(DISTINCT fingerprint) FROM alerts WHERE name = 'Par'")" = "$((8 * per))	$((8 * per))" ]
	[ "$(sql "SELECT count(*) FROM incidents WHERE title LIKE 'Par on %'")" = $((8 * per)) ]
}

# a real Alertmanager delivers a firing alert, then its resolve
t_alertmanager() {
	need_peer "prometheus-alertmanager is not installed" command -v prometheus-alertmanager
	am_port=$(free_port)
	mkdir -p "$CGI_DIR/am"
	cat >"$CGI_DIR/am/am.yml" <<YML
route:
  receiver: sm
  group_by: [alertname, instance]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: sm
    webhook_configs:
      - url: http://127.0.0.1:$PORT/alerts/webhook/alertmanager/
        send_resolved: true
YML
	prometheus-alertmanager --config.file="$CGI_DIR/am/am.yml" --storage.path="$CGI_DIR/am" \
		--web.listen-address="127.0.0.1:$am_port" --cluster.listen-address= \
		>"$CGI_DIR/am/log" 2>&1 &
	echo $! >"$CGI_DIR/am.pid"
	wait_port "$am_port"
	now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
	later=$(date -u -d '+1 hour' +%Y-%m-%dT%H:%M:%SZ)
	alert='{"labels":{"alertname":"AMDiskFull","instance":"am-01","severity":"critical"},"annotations":{"summary":"disk full"}'
	echo "[$alert,\"startsAt\":\"$now\",\"endsAt\":\"$later\"}]" >"$CGI_DIR/am/fire"
	/usr/bin/python3 "$BATS_TEST_DIRNAME/request.py" POST "http://127.0.0.1:$am_port/api/v2/alerts" \
		"$CGI_DIR/am/fire" "Content-Type: application/json" | head -1 | grep -q 200
	for _ in $(seq 100); do
		[ "$(sql "SELECT status FROM incidents WHERE title = 'AMDiskFull on am-01'")" = open ] && break
		sleep 0.2
	done
	[ "$(sql "SELECT status, severity FROM incidents WHERE title = 'AMDiskFull on am-01'")" = "open	critical" ]
	# The fingerprint is Alertmanager's own.
	am_fp=$(/usr/bin/python3 "$BATS_TEST_DIRNAME/request.py" GET "http://127.0.0.1:$am_port/api/v2/alerts" |
		sed '1,/^$/d' | json_get 'd[0]["fingerprint"]' 2>/dev/null || true)
	[ -z "$am_fp" ] || [ "$(sql "SELECT fingerprint FROM alerts WHERE name = 'AMDiskFull'")" = "$am_fp" ]
	echo "[$alert,\"startsAt\":\"$now\",\"endsAt\":\"$(date -u +%Y-%m-%dT%H:%M:%SZ)\"}]" >"$CGI_DIR/am/resolve"
	/usr/bin/python3 "$BATS_TEST_DIRNAME/request.py" POST "http://127.0.0.1:$am_port/api/v2/alerts" \
		"$CGI_DIR/am/resolve" "Content-Type: application/json" | head -1 | grep -q 200
	for _ in $(seq 150); do
		[ "$(sql "SELECT status FROM incidents WHERE title = 'AMDiskFull on am-01'")" = resolved ] && break
		sleep 0.2
	done
	[ "$(sql "SELECT status FROM incidents WHERE title = 'AMDiskFull on am-01'")" = resolved ]
	[ "$(sql "SELECT status FROM alerts WHERE name = 'AMDiskFull'")" = resolved ]
}
