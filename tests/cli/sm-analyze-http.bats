#!/usr/bin/env bats
# sm-analyze's HTTP API (/intelligence/) as a CGI program behind a real
# lighttpd on loopback (scripts/serve): health, providers, recommendations
# (the local rules on a fixture host, or a loopback stand-in for an AI
# vendor), memory and disk; the failures (400 malformed JSON, a bad number
# or path, 401 API key, 404 unknown provider or incident, 405 method, 413
# body) record no analysis run.
# shellcheck disable=SC2154 # bats sets $output; call sets $code and $body

bats_require_minimum_version 1.5.0
load helpers
load http_api

setup_file() {
	export SERVE_MODE=cgi
	api_setup_file
}

teardown_file() {
	api_teardown_file
}

# The dotenv file: the fixture host (memory analyses read its /proc), then
# any LINE given.
host_env() {
	api_env "SM_HOST_ROOT=$SM_FIXTURES/hosts/rec-mem" "$@"
}

setup() {
	api_setup
	host_env
	for t in analysis_runs intelligence_providers alert_history alerts incidents inbox; do
		sql "DELETE FROM $t"
	done
}

teardown() {
	api_teardown
}

runs() { sql 'SELECT count(*) FROM analysis_runs'; }

# One stored disk incident (its id is printed).
disk_incident() {
	am_payload DiskFull db-01 firing critical | sm-ingest --driver alertmanager >/dev/null
	sql 'SELECT id FROM incidents'
}

@test "health and providers" {
	call GET /intelligence/health/
	[ "$code" = 200 ]
	[ "$(get '[d["status"], d["app"], d["providers"][0], "openai" in d["providers"]]')" = '["healthy", "intelligence", "local", true]' ]
	sm-analyze provider add ai openai api_key=sk-secret-key-123456789 2>/dev/null
	call GET /intelligence/providers/
	[ "$code" = 200 ]
	[ "$(get '[d["count"] == len(d["providers"]), d["providers"][0]["name"], [s["name"] for s in d["stored"]]]')" = '[true, "local", ["ai"]]' ]
	[[ "$body" != *sk-secret-key-123456789* ]]
	[ "$(runs)" = 0 ]
}

@test "memory: the fixture host's top processes, recorded; a bad top_n is 400" {
	call GET '/intelligence/memory/?top_n=2'
	[ "$code" = 200 ]
	[ "$(get '[d["type"], d["count"], d["recommendations"][0]["title"], len(d["recommendations"][0]["details"]["top_processes"])]')" = '["memory", 1, "High Memory Usage Detected", 2]' ]
	[ "$(runs)" = 1 ]
	for q in top_n=abc top_n=0 top_n=1.5 top_n= top_n=%zz; do
		call GET "/intelligence/memory/?$q"
		[ "$code" = 400 ]
		[ "$(get 'd["status"]')" = error ]
	done
	call GET '/intelligence/memory/?top_n=abc'
	[ "$body" = '{"status":"error","message":"top_n: expected a whole number from 1 to 1000"}' ]
	[ "$(runs)" = 1 ]
}

@test "disk: large files under an absolute path; relative, .. or not a directory is 400" {
	tree=$API_DIR/tree
	mkdir -p "$tree/data"
	truncate -s 3M "$tree/data/big.bin"
	api_env # the real host: the tree is a host path
	call GET "/intelligence/disk/?path=$tree&threshold_mb=1&old_days=7"
	[ "$code" = 200 ]
	[ "$(get '[d["type"], d["path"], d["threshold_mb"], d["old_days"], d["recommendations"][0]["title"]]')" = "[\"disk\", \"$tree\", 1.0, 7, \"Large Files and Directories Found\"]" ]
	[ "$(runs)" = 1 ]
	for p in data "$tree/../tree" "$tree/.." "/.." "$tree/data/big.bin" "$tree/nope"; do
		call GET "/intelligence/disk/?path=$p"
		[ "$code" = 400 ]
	done
	call GET "/intelligence/disk/?path=$tree/../tree"
	[ "$body" = '{"status":"error","message":"path: expected an absolute path without .. components"}' ]
	for q in threshold_mb=x threshold_mb=0 old_days=-1 old_days=2.5 old_days=1e9; do
		call GET "/intelligence/disk/?path=$tree&$q"
		[ "$code" = 400 ]
	done
	# A name with dots in it is no .. component.
	mkdir -p "$tree/..x"
	call GET "/intelligence/disk/?path=$tree/..x"
	[ "$code" = 200 ]
	[ "$(runs)" = 2 ]
}

@test "recommendations: the general scan; a stored incident by the local rules" {
	call GET /intelligence/recommendations/
	[ "$code" = 200 ]
	[ "$(get '[d["provider"], d["incident_id"], d["count"] == len(d["recommendations"])]')" = '["local", null, true]' ]
	id=$(disk_incident)
	call GET "/intelligence/recommendations/?incident_id=$id&provider=local"
	[ "$code" = 200 ]
	[ "$(get '[d["provider"], d["incident_id"], d["status"], [r["title"] for r in d["recommendations"]]]')" = "[\"local\", $id, \"ok\", [\"Disk Health Check\"]]" ]
	call POST /intelligence/recommendations/ "{\"incident_id\":$id,\"config\":{\"top_n_processes\":3}}"
	[ "$code" = 200 ]
	[ "$(get 'd["incident_id"]')" = "$id" ]
	[ "$(runs)" = 3 ]
}

@test "recommendations by an AI provider: a loopback stand-in answers" {
	id=$(disk_incident)
	url=$(start_receiver ai --body "$(cat "$SM_FIXTURES/ai/openai-object.json")")
	sm-analyze provider add ai openai api_key=sk-secret-key-123456789 "base_url=${url%/ai/hook}/v1" timeout_s=5 2>/dev/null
	call POST /intelligence/recommendations/ "{\"incident_id\":$id,\"provider\":\"ai\"}"
	[ "$code" = 200 ]
	[ "$(get '[d["provider"], d["name"], d["status"], [r["type"] for r in d["recommendations"]]]')" = '["openai", "ai", "ok", ["disk"]]' ]
	[ "$(requests ai)" = 1 ]
	[ "$(req ai 0 'req["path"]')" = /v1/chat/completions ]
	[[ "$body" != *sk-secret-key-123456789* ]]
	# Without an incident an AI provider has nothing to read.
	call GET /intelligence/recommendations/?provider=ai
	[ "$code" = 400 ]
	[ "$(runs)" = 1 ]
}

@test "recommendations failures: 404 provider or incident, 400 JSON, numbers, config; nothing recorded" {
	id=$(disk_incident)
	call GET '/intelligence/recommendations/?provider=nope'
	[ "$code" = 404 ]
	[ "$body" = '{"status":"error","message":"Unknown provider: nope"}' ]
	call GET '/intelligence/recommendations/?incident_id=999'
	[ "$code" = 404 ]
	[ "$body" = '{"status":"error","message":"Incident with id 999 not found"}' ]
	for q in incident_id=abc incident_id=0 incident_id=1.5 incident_id=-3; do
		call GET "/intelligence/recommendations/?$q"
		[ "$code" = 400 ]
	done
	call POST /intelligence/recommendations/ '{"incident_id":'
	[ "$code" = 400 ]
	[[ "$(get 'd["message"]')" == "malformed JSON: "* ]]
	for b in '[1]' '{"incident_id":"x"}' '{"incident_id":true}' '{"provider":7}' '{"config":[]}' '{"config":{"api_key":"x"}}' '{"config":{"top_n_processes":0}}'; do
		call POST /intelligence/recommendations/ "$b"
		[ "$code" = 400 ]
	done
	call POST /intelligence/recommendations/ "{\"incident_id\":$id,\"provider\":\"nope\"}"
	[ "$code" = 404 ]
	[ "$(runs)" = 0 ]
}

@test "the webhook handler's rules: 405, 404, 401 (health needs no key), 413" {
	call POST /intelligence/memory/ '{}'
	[ "$code" = 405 ]
	[[ "$headers" == *"Allow: GET"* ]]
	call DELETE /intelligence/recommendations/
	[ "$code" = 405 ]
	[[ "$headers" == *"Allow: GET, POST"* ]]
	call GET /intelligence/nope/
	[ "$code" = 404 ]
	[ "$body" = '{"status":"error","message":"no such endpoint under /intelligence/"}' ]
	host_env "$(keys_file)" SM_MAX_BODY=50
	call GET /intelligence/health/
	[ "$code" = 200 ]
	call GET /intelligence/memory/
	[ "$code" = 401 ]
	call GET /intelligence/providers/
	[ "$code" = 401 ]
	call POST /intelligence/recommendations/ '{}' "X-API-Key: wrong"
	[ "$code" = 401 ]
	call POST /intelligence/recommendations/ "{\"config\":{\"top_n_processes\":3},\"pad\":\"$(printf '%060d' 0)\"}" "X-API-Key: $API_KEY"
	[ "$code" = 413 ]
	[ "$(runs)" = 0 ]
	call GET /intelligence/memory/ "" "X-API-Key: $API_KEY"
	[ "$code" = 200 ]
	[ "$(runs)" = 1 ]
}
