#!/usr/bin/env bats
# sm-ingest as a CGI webhook handler behind a real lighttpd on loopback:
# every status code, API keys, signatures, nothing stored for a rejected
# request, concurrency; and a real Prometheus Alertmanager delivering a
# firing alert and its resolve. The bodies are shared with fastcgi.bats.

# shellcheck disable=SC2154 # bats sets $output and $status, post $code and $body
bats_require_minimum_version 1.5.0
load helpers
load cgi_tests

setup_file() {
	export SERVE_MODE=cgi
	cgi_setup_file
}

teardown_file() {
	cgi_teardown_file
}

setup() {
	cgi_setup
}

@test "202: stored, queued, answered with the alerts, incidents and trace id" {
	t_accepted
}

@test "rejections: 400 404 405 413 415 422, each with a JSON message, nothing stored" {
	t_rejections
}

@test "API keys: missing or wrong 401, right key (X-API-Key or Bearer) 202" {
	t_api_keys
}

@test "signatures: WEBHOOK_SECRET_<DRIVER> makes an unsigned or badly signed request 401" {
	t_signatures
}

@test "a broken env file: a JSON 500, details only in the log" {
	t_broken_env
}

@test "a store that refuses the request's writes: a JSON 500, nothing of it stored; the next one stored" {
	t_store_refuses
}

@test "8 parallel clients x 500 requests (50 sanitized): every alert stored once, no 5xx" {
	t_parallel
}

@test "a real Alertmanager delivers a firing alert, then its resolve" {
	t_alertmanager
}

@test "SM_LOG_LEVEL from the dotenv file: info logs each accepted payload" {
	set_env SM_LOG_LEVEL=info
	post /alerts/webhook/alertmanager/ "$(am_payload LogLevel db-01 firing)"
	[ "$code" = 202 ]
	trace=$(echo "$body" | json_get 'd["trace_id"]')
	grep -q "trace_id=$trace msg=\"payload accepted\" driver=alertmanager" "$SM_SERVE_DIR/cgi.log"
}
