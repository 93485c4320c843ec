#!/usr/bin/env bats
# sm-pipeline's HTTP API (/orchestration/) as a CGI program behind a real
# lighttpd on loopback (scripts/serve): each endpoint's success, and the
# failures (400 malformed JSON or a bad number, 401 API key, 404 unknown run
# or definition, 405 method, 413 body) with nothing stored. sm-pipeline runs
# from a private bin whose sm-notify records its environment first, so the
# tests see that a stage does not inherit the request's CGI variables.
# shellcheck disable=SC2154 # bats sets $output

bats_require_minimum_version 1.5.0
load helpers
load http_api # call and get

setup_file() {
	: "${SM_BIN:?}" "${SM_FIXTURES:?}"
	need_peer "lighttpd is not installed" command -v lighttpd
	export API_DIR PORT
	API_DIR=$(mktemp -d "${BATS_TMPDIR:-/tmp}/sm-api.XXXXXX")
	mkdir -p "$API_DIR/bin"
	cp "$SM_BIN/sm-pipeline" "$API_DIR/bin/"
	ln -s "$(cd "$SM_BIN/../lib" && pwd)" "$API_DIR/lib"
	for t in sm-ingest sm-check sm-analyze; do
		ln -s "$SM_BIN/$t" "$API_DIR/bin/$t"
	done
	printf '#!/bin/sh\nenv >"%s/notify.env"\nexec "%s/sm-notify" "$@"\n' "$API_DIR" "$SM_BIN" \
		>"$API_DIR/bin/sm-notify"
	chmod +x "$API_DIR/bin/sm-notify"
	export SM_DB="$API_DIR/hub.db" SM_ENV_FILE="$API_DIR/sm.env"
	: >"$SM_ENV_FILE"
	"$SM_BIN/sm-ingest" incidents >/dev/null # create the store
	PORT=$(free_port)
	SM_SERVE_DIR="$API_DIR/serve" SM_INGEST="$SM_BIN/sm-ingest" SM_PIPELINE="$API_DIR/bin/sm-pipeline" \
		"$BATS_TEST_DIRNAME/../../scripts/serve" "$PORT" >>"$API_DIR/serve.log" 2>&1 &
	echo $! >"$API_DIR/serve.pid"
	wait_port "$PORT"
}

teardown_file() {
	kill "$(cat "$API_DIR/serve.pid")" 2>/dev/null || true
	rm -rf "$API_DIR"
}

setup() {
	export PATH="$SM_BIN:$PATH" SM_LOG_LEVEL=warn
	export SM_DB="$API_DIR/hub.db" SM_ENV_FILE="$API_DIR/sm.env"
	# A CGI program reads its dotenv file for each request.
	printf 'ORCHESTRATION_MAX_RETRIES_PER_STAGE=0\nORCHESTRATION_METRICS_BACKEND=none\nSM_NOTIFY_RETRIES=0\n' \
		>"$SM_ENV_FILE"
	wipe
	rm -f "$API_DIR/notify.env"
}

# Each test starts from an empty store.
wipe() {
	for t in stage_executions pipeline_runs inbox alert_history alerts incidents \
		notification_deliveries notification_channels; do
		sql "DELETE FROM $t"
	done
}

stored() {
	sql "SELECT (SELECT count(*) FROM alerts) + (SELECT count(*) FROM inbox)
		+ (SELECT count(*) FROM pipeline_runs) + (SELECT count(*) FROM stage_executions)"
}

# The API keys file (name, SHA-256 of the key) with the key secret-key-1234567890abcdef.
keys_file() {
	printf 'ops\t%s\n' "$(printf %s secret-key-1234567890abcdef | sha256sum | cut -d' ' -f1)" \
		>"$API_DIR/keys"
	chmod 600 "$API_DIR/keys"
}

alert='{"name":"DiskFull","status":"firing","severity":"critical","labels":{"instance":"db-01"}}'

@test "definitions: list, detail, validate; an unknown one is 404" {
	call GET /orchestration/definitions/
	[ "$code" = 200 ]
	[ "$(get 'd["count"] == len(d["definitions"]) and "direct" in [x["name"] for x in d["definitions"]]')" = true ]
	call GET /orchestration/definitions/direct/
	[ "$code" = 200 ]
	[ "$(get '[d["name"], d["builtin"], [n["id"] for n in d["definition"]["nodes"]]]')" = '["direct", true, ["ingest", "notify"]]' ]
	call POST /orchestration/definitions/direct/validate/ ''
	[ "$code" = 200 ]
	[ "$body" = '{"name":"direct","valid":true,"errors":[]}' ]
	for path in definitions/nope/ definitions/nope/validate/ definitions/nope/execute/; do
		if [ "$path" = definitions/nope/ ]; then call GET "/orchestration/$path"; else call POST "/orchestration/$path" '{}'; fi
		[ "$code" = 404 ]
		[ "$body" = '{"status":"error","message":"pipeline definition not found: nope"}' ]
	done
	call GET /orchestration/no-such-endpoint/
	[ "$code" = 404 ]
	[ "$(stored)" = 0 ]
}

@test "execute and pipeline/sync run at once and answer 200 with the run; runs list and detail find it" {
	call POST /orchestration/definitions/direct/execute/ "{\"payload\":$alert,\"source\":\"grafana\"}"
	[ "$code" = 200 ]
	[ "$(get '[d["definition"], d["status"], d["source"], [s["node"] for s in d["stages"]]]')" = '["direct", "notified", "grafana", ["ingest", "notify"]]' ]
	first=$(get 'd["run_id"]')
	trace=0123456789abcdef0123456789abcdef
	call POST /orchestration/pipeline/sync/ "{\"payload\":$alert,\"definition\":\"direct\",\"trace_id\":\"$trace\"}"
	[ "$code" = 200 ]
	[ "$(get '[d["status"], d["trace_id"], d["source"]]')" = "[\"notified\", \"$trace\", \"webhook\"]" ]
	second=$(get 'd["run_id"]')
	[ "$(sql 'SELECT count(*) FROM pipeline_runs')" = 2 ]
	call GET /orchestration/pipelines/
	[ "$code" = 200 ]
	[ "$(get '[d["count"]] + [r["run_id"] for r in d["runs"]]')" = "[2, \"$second\", \"$first\"]" ]
	call GET '/orchestration/pipelines/?limit=1&status=notifie%64'
	[ "$(get '[d["count"], d["runs"][0]["run_id"]]')" = "[1, \"$second\"]" ]
	call GET '/orchestration/pipelines/?source=grafana'
	[ "$(get '[r["run_id"] for r in d["runs"]]')" = "[\"$first\"]" ]
	call GET "/orchestration/pipeline/$first/"
	[ "$code" = 200 ]
	[ "$(get '[d["run_id"], d["status"], d["stages"][1]["status"]]')" = "[\"$first\", \"notified\", \"succeeded\"]" ]
	call GET /orchestration/pipeline/no-such-run/
	[ "$code" = 404 ]
	[ "$body" = '{"status":"error","message":"pipeline run not found: no-such-run"}' ]
}

@test "a trigger without a definition is routed: pipeline/sync takes the routed definition" {
	printf '{"version":"1","match":[{"field":"source","value":"grafana"}],"priority":1,"nodes":[{"id":"in","type":"ingest"}]}' \
		>"$API_DIR/def.json"
	sm-pipeline definition add graf "$API_DIR/def.json"
	call POST /orchestration/pipeline/sync/ "{\"payload\":$alert,\"source\":\"grafana\"}"
	[ "$code" = 200 ]
	[ "$(get '[d["definition"], d["status"]]')" = '["graf", "notified"]' ]
	sm-pipeline definition rm graf
}

@test "the async trigger answers 202 with the run id a worker then records" {
	call POST /orchestration/pipeline/ "{\"payload\":$alert,\"definition\":\"direct\"}"
	[ "$code" = 202 ]
	id=$(get 'd["run_id"]')
	[ "$(get '[d["status"], d["run_ids"]]')" = "[\"accepted\", [\"$id\"]]" ]
	[ "$(sql 'SELECT state, run_id, definition FROM inbox')" = "pending	$id	direct" ]
	[ "$(sql 'SELECT count(*) FROM alerts')" = 1 ]
	ORCHESTRATION_METRICS_BACKEND=none sm-pipeline work --once 2>/dev/null
	[ "$(sql 'SELECT state FROM inbox')" = "done" ]
	call GET "/orchestration/pipeline/$id/"
	[ "$code" = 200 ]
	[ "$(get '[d["run_id"], d["definition"], d["status"]]')" = "[\"$id\", \"direct\", \"notified\"]" ]
	# An unknown definition, or a payload no driver reads: nothing stored.
	wipe
	call POST /orchestration/pipeline/ "{\"payload\":$alert,\"definition\":\"nope\"}"
	[ "$code" = 404 ]
	call POST /orchestration/pipeline/ '{}'
	[ "$code" = 400 ]
	[ "$(stored)" = 0 ]
}

@test "resume: a failed run continues and answers 200; an unknown run 404, a run not failed 400" {
	port=$(free_port)
	sm-notify channel add hook generic "webhook_url=http://127.0.0.1:$port/hook" retries=0 repeat_interval=0
	call POST /orchestration/pipeline/sync/ "{\"payload\":$alert,\"definition\":\"direct\"}"
	[ "$code" = 200 ] # the run failed, and says so
	[ "$(get 'd["status"]')" = failed ]
	id=$(get 'd["run_id"]')
	/usr/bin/python3 "$SM_FIXTURES/bin/receiver.py" "$port" --log "$API_DIR/hook.log" >/dev/null 2>&1 &
	recv=$!
	wait_port "$port"
	call POST "/orchestration/pipeline/$id/resume/" ''
	kill "$recv"
	[ "$code" = 200 ]
	[ "$(get '[d["run_id"], d["status"]]')" = "[\"$id\", \"notified\"]" ]
	[ "$(wc -l <"$API_DIR/hook.log")" -eq 1 ]
	call POST "/orchestration/pipeline/$id/resume/" ''
	[ "$code" = 400 ]
	[ "$(get 'd["message"]')" = "run $id is notified: only a failed run can be resumed" ]
	call POST /orchestration/pipeline/no-such-run/resume/ ''
	[ "$code" = 404 ]
}

@test "a stage started for a request does not inherit the CGI variables nor the API key" {
	echo "SM_API_KEYS_FILE=$API_DIR/keys" >>"$SM_ENV_FILE"
	keys_file
	call POST /orchestration/definitions/direct/execute/ "{\"payload\":$alert}" "X-API-Key: secret-key-1234567890abcdef"
	[ "$code" = 200 ]
	[ -s "$API_DIR/notify.env" ]
	grep -q "^SM_DB=$SM_DB\$" "$API_DIR/notify.env"
	run grep -E '^(GATEWAY_INTERFACE|REQUEST_METHOD|CONTENT_LENGTH|PATH_INFO|QUERY_STRING|HTTP_[A-Z_]*)=' "$API_DIR/notify.env"
	[ "$status" -eq 1 ]
	run grep -c secret-key "$API_DIR/notify.env"
	[ "$output" = 0 ]
}

@test "API keys: missing or wrong is 401 on every endpoint, nothing stored" {
	echo "SM_API_KEYS_FILE=$API_DIR/keys" >>"$SM_ENV_FILE"
	keys_file
	call GET /orchestration/definitions/
	[ "$code" = 401 ]
	[ "$(get 'd["status"]')" = error ]
	call POST /orchestration/pipeline/ "{\"payload\":$alert}" "X-API-Key: wrong-key-1234567890abcdef"
	[ "$code" = 401 ]
	call POST /orchestration/pipeline/sync/ "{\"payload\":$alert,\"definition\":\"direct\"}" "Authorization: Bearer nope"
	[ "$code" = 401 ]
	[ "$(stored)" = 0 ]
	call GET /orchestration/definitions/ "" "Authorization: Bearer secret-key-1234567890abcdef"
	[ "$code" = 200 ]
}

@test "bad requests: malformed JSON 400, bad numbers 400, wrong method 405, oversize 413; nothing stored" {
	call POST /orchestration/pipeline/ '{"payload":'
	[ "$code" = 400 ]
	[[ "$(get 'd["message"]')" == "malformed JSON: "* ]]
	call POST /orchestration/pipeline/sync/ '[1]'
	[ "$code" = 400 ]
	[ "$(get 'd["message"]')" = "body must be a JSON object" ]
	call POST /orchestration/pipeline/sync/ '{"payload":"x"}'
	[ "$code" = 400 ]
	call POST /orchestration/pipeline/sync/ '{"definition":"direct","trace_id":"not a trace"}'
	[ "$code" = 400 ]
	for q in limit=x limit=-1 limit=1.5 limit=99999999999999999999 limit=%2x1 status=%00; do
		call GET "/orchestration/pipelines/?$q"
		[ "$code" = 400 ]
	done
	call GET /orchestration/pipeline/sync/
	[ "$code" = 405 ]
	grep -qx 'Allow: POST' <<<"$headers"
	call DELETE /orchestration/definitions/ '{}'
	[ "$code" = 405 ]
	grep -qx 'Allow: GET' <<<"$headers"
	call GET /orchestration/definitions/direct/execute/
	[ "$code" = 405 ]
	echo 'SM_MAX_BODY=64' >>"$SM_ENV_FILE"
	call POST /orchestration/pipeline/sync/ "{\"payload\":$alert,\"definition\":\"direct\",\"source\":\"x\"}"
	[ "$code" = 413 ]
	[ "$(get 'd["message"]')" = "body larger than the limit (SM_MAX_BODY)" ]
	[ "$(stored)" = 0 ]
}

@test "the async trigger: the store's write lock held past the busy timeout is a 503 to retry, nothing stored" {
	/usr/bin/python3 -c 'import sqlite3, sys, os, time
c = sqlite3.connect(sys.argv[1], isolation_level=None)
c.execute("BEGIN IMMEDIATE")
open(sys.argv[2] + ".held", "w").close()
while not os.path.exists(sys.argv[2] + ".free"):
    time.sleep(0.05)
c.execute("ROLLBACK")' "$SM_DB" "$API_DIR/lock" &
	holder=$!
	while [ ! -e "$API_DIR/lock.held" ]; do sleep 0.05; done
	call POST /orchestration/pipeline/ "{\"payload\":$alert}"
	touch "$API_DIR/lock.free"
	wait "$holder"
	rm -f "$API_DIR/lock.held" "$API_DIR/lock.free"
	[ "$code" = 503 ]
	grep -qx 'Retry-After: 1' <<<"$headers"
	[ "$(stored)" = 0 ]
}
