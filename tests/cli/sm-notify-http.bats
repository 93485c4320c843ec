#!/usr/bin/env bats
# sm-notify's HTTP API (/notify/) as a CGI program behind a real lighttpd
# on loopback (scripts/serve): send (to a driver configured by the request
# or a stored channel), batch, drivers; the failures (400 malformed JSON or
# fields, 401 API key, 404 unknown driver, 405 method, 413 body, 502 a
# delivery that failed) deliver and store nothing. A stored exec channel's
# program records its environment: no CGI variable reaches it.
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

setup() {
	api_setup
	api_env
	sql "DELETE FROM notification_channels"
	sql "DELETE FROM notification_deliveries"
}

teardown() {
	api_teardown
}

msg() { # URL [EXTRA JSON MEMBERS]
	printf '{"title":"Disk full on db-01","message":"/var is 97%% full","severity":"critical","config":{"webhook_url":"%s"}%s}' "$1" "${2:-}"
}

@test "GET send, send/DRIVER, batch: ready, with the drivers a request may configure" {
	call GET /notify/send/
	[ "$code" = 200 ]
	[ "$body" = '{"status":"ok","message":"Notify endpoint is ready","available_drivers":["alertmanager","email","generic","pagerduty","slack"]}' ]
	call GET /notify/send/slack/
	[ "$code" = 200 ]
	[ "$body" = '{"status":"ok","driver":"slack","message":"Notify endpoint ready for slack driver"}' ]
	call GET /notify/batch/
	[ "$code" = 200 ]
	[ "$(get 'd["message"]')" = "Batch notify endpoint is ready" ]
	call GET /notify/send/nope/
	[ "$code" = 404 ]
	[ "$(get '[d["status"], d["message"], "generic" in d["available_drivers"]]')" = '["error", "Unknown driver: nope", true]' ]
}

@test "POST send/generic: the message delivered to a loopback receiver, 200" {
	url=$(start_receiver hook)
	call POST /notify/send/generic/ "$(msg "$url" ',"channel":"ops","tags":{"team":"db"}')"
	[ "$code" = 200 ]
	[ "$body" = '{"status":"success","driver":"generic","channel":"ops","attempts":1}' ]
	[ "$(requests hook)" = 1 ]
	[ "$(req hook 0 '[req["path"], body["title"], body["message"], body["severity"], body["channel"]]')" = '["/hook/hook", "Disk full on db-01", "/var is 97% full", "critical", "ops"]' ]
	# The body's driver names it as well as the URL does; the URL wins.
	call POST /notify/send/ "$(msg "$url" ',"driver":"generic"')"
	[ "$code" = 200 ]
	[ "$(get 'd["channel"]')" = generic ]
	call POST /notify/send/generic/ "$(msg "$url" ',"driver":"slack"')"
	[ "$(get 'd["driver"]')" = generic ]
	[ "$(requests hook)" = 3 ]
	# Sending records nothing.
	[ "$(sql 'SELECT count(*) FROM notification_deliveries')" = 0 ]
}

@test "POST send to a stored channel: its driver and configuration" {
	url=$(start_receiver stored)
	sm-notify channel add ops generic "webhook_url=$url"
	call POST /notify/send/ops/ '{"title":"t","message":"m"}'
	[ "$code" = 200 ]
	[ "$body" = '{"status":"success","driver":"generic","channel":"ops","attempts":1}' ]
	[ "$(req stored 0 'body["message"]')" = m ]
	call POST /notify/send/ '{"title":"t","message":"m","channel":"ops"}'
	[ "$code" = 200 ]
	[ "$(requests stored)" = 2 ]
	# A stored channel's configuration is not the request's to change.
	call POST /notify/send/ops/ "$(msg "$url")"
	[ "$code" = 400 ]
	sm-notify channel disable ops
	call POST /notify/send/ops/ '{"title":"t","message":"m"}'
	[ "$code" = 409 ]
	[ "$body" = '{"status":"error","message":"channel ops is disabled"}' ]
	[ "$(requests stored)" = 2 ]
}

@test "a stored exec channel runs its program without the request's CGI variables" {
	printf '#!/bin/sh\nenv >"%s/exec.env"\ncat >/dev/null\n' "$API_DIR" >"$API_DIR/record-env"
	chmod +x "$API_DIR/record-env"
	sm-notify channel add run exec "command=$API_DIR/record-env"
	api_env "$(keys_file)"
	call POST /notify/send/run/ '{"title":"t","message":"m"}' "X-API-Key: $API_KEY"
	[ "$code" = 200 ]
	[ -s "$API_DIR/exec.env" ]
	run grep -E '^(GATEWAY_INTERFACE|REQUEST_METHOD|CONTENT_LENGTH|CONTENT_TYPE|PATH_INFO|QUERY_STRING|SCRIPT_NAME|SERVER_PROTOCOL|HTTP_[A-Z_]*)=' "$API_DIR/exec.env"
	[ "$status" -eq 1 ]
	run grep -c "$API_KEY" "$API_DIR/exec.env"
	[ "$output" = 0 ]
	# A request may not configure exec (nor stdout) itself.
	call POST /notify/send/exec/ "{\"title\":\"t\",\"message\":\"m\",\"config\":{\"command\":\"/bin/true\"}}" "X-API-Key: $API_KEY"
	[ "$code" = 400 ]
	[ "$body" = '{"status":"error","message":"driver exec takes a stored channel only (sm-notify channel add)"}' ]
}

@test "POST send failures: 400 fields or config, 404 driver, 502 delivery; nothing sent" {
	url=$(start_receiver hook)
	call POST /notify/send/generic/ '{"title":"t",'
	[ "$code" = 400 ]
	[[ "$(get 'd["message"]')" == "malformed JSON: "* ]]
	call POST /notify/send/generic/ "{\"title\":\"t\",\"config\":{\"webhook_url\":\"$url\"}}"
	[ "$code" = 400 ]
	[ "$body" = '{"status":"error","message":"Missing required fields: title, message"}' ]
	call POST /notify/send/generic/ "$(msg "$url" ',"severity":"loud"')"
	[ "$code" = 400 ]
	call POST /notify/send/generic/ '{"title":"t","message":"m","config":{"webhook_url":"ftp://x/"}}'
	[ "$code" = 400 ]
	[[ "$(get 'd["message"]')" == "Invalid configuration for generic driver: webhook_url: not an http(s) URL"* ]]
	call POST /notify/send/generic/ "$(msg "$url" ',"tags":[1]')"
	[ "$code" = 400 ]
	call POST /notify/send/generic/ '{"title":"t","message":"m","config":{"webhook_url":"@/etc/passwd"}}'
	[ "$code" = 400 ]
	[ "$(get 'd["message"]')" = "Invalid configuration for generic driver: webhook_url: @FILE is not read for a request" ]
	call POST /notify/send/email/ '{"title":"t","message":"m","config":{"smtp_host":"127.0.0.1","from_address":"a@b.c","to_addresses":"d@e.f","ca_file":"/etc/passwd"}}'
	[ "$code" = 400 ]
	[[ "$(get 'd["message"]')" == *"ca_file: not accepted in a request"* ]]
	call POST /notify/send/ '{"title":"t","message":"m"}'
	[ "$code" = 400 ]
	[ "$body" = '{"status":"error","message":"a driver or channel is required"}' ]
	call POST /notify/send/nope/ '{"title":"t","message":"m"}'
	[ "$code" = 404 ]
	[ "$(get '[d["message"], d["available_drivers"][0]]')" = '["Unknown driver/provider: nope", "alertmanager"]' ]
	[ "$(requests hook)" = 0 ]
	# The receiver refuses: 502 with the driver's error.
	bad=$(start_receiver refuses --status 500)
	call POST /notify/send/generic/ "$(msg "$bad")"
	[ "$code" = 502 ]
	[ "$(get '[d["status"], d["driver"], d["channel"], "500" in d["message"]]')" = '["error", "generic", "generic", true]' ]
	[ "$(sql 'SELECT count(*) FROM notification_deliveries')" = 0 ]
}

@test "POST batch: each item sent or refused on its own, 200 with the counts" {
	url=$(start_receiver hook)
	call POST /notify/batch/ "{\"notifications\":[$(msg "$url" ',"driver":"generic"'),{\"driver\":\"generic\",\"title\":\"t\"},{\"driver\":\"nope\",\"title\":\"t\",\"message\":\"m\"},3]}"
	[ "$code" = 200 ]
	[ "$(get '[d["status"], d["total"], d["success_count"], d["error_count"]]')" = '["partial", 4, 1, 3]' ]
	[ "$(get '[r["success"] for r in d["results"]]')" = '[true, false, false, false]' ]
	[ "$(get 'd["results"][1]["error"]')" = "Missing required fields: title, message" ]
	[ "$(get 'd["results"][2]["error"]')" = "Unknown driver/provider: nope" ]
	[ "$(requests hook)" = 1 ]
	call POST /notify/batch/ "{\"notifications\":[$(msg "$url" ',"driver":"generic"'),$(msg "$url" ',"driver":"generic"')]}"
	[ "$(get '[d["status"], d["success_count"]]')" = '["success", 2]' ]
	call POST /notify/batch/ '{"notifications":[{"driver":"nope","title":"t","message":"m"}]}'
	[ "$(get 'd["status"]')" = error ]
	for b in '{}' '{"notifications":[]}' '{"notifications":{}}'; do
		call POST /notify/batch/ "$b"
		[ "$code" = 400 ]
		[ "$body" = '{"status":"error","message":"No notifications provided"}' ]
	done
	call POST /notify/batch/ 'nope'
	[ "$code" = 400 ]
	[ "$(requests hook)" = 3 ]
}

@test "GET drivers and drivers/DRIVER: keys required and optional; 404 for an unknown one" {
	call GET /notify/drivers/
	[ "$code" = 200 ]
	[ "$(get '[x["name"] for x in d["drivers"]]')" = '["alertmanager", "email", "exec", "generic", "pagerduty", "slack", "stdout"]' ]
	call GET /notify/drivers/generic/
	[ "$code" = 200 ]
	[ "$(get '[d["status"], d["driver"]["required_config"], "timeout_s" in d["driver"]["optional_config"], d["driver"]["stored_channel_only"]]')" = '["ok", ["webhook_url"], true, false]' ]
	call GET /notify/drivers/exec/
	[ "$(get 'd["driver"]["stored_channel_only"]')" = true ]
	call GET /notify/drivers/nope/
	[ "$code" = 404 ]
	[ "$(get 'd["message"]')" = "Unknown driver: nope" ]
}

@test "the webhook handler's rules: 405 with Allow, 404, 401 without the key, 413, nothing sent" {
	url=$(start_receiver hook)
	call DELETE /notify/send/
	[ "$code" = 405 ]
	[[ "$headers" == *"Allow: GET, POST"* ]]
	call POST /notify/drivers/ '{}'
	[ "$code" = 405 ]
	call GET /notify/nope/
	[ "$code" = 404 ]
	[ "$body" = '{"status":"error","message":"no such endpoint under /notify/"}' ]
	api_env "$(keys_file)" SM_MAX_BODY=200
	call GET /notify/drivers/
	[ "$code" = 401 ]
	[ "$(get 'd["status"]')" = error ]
	call POST /notify/send/generic/ "$(msg "$url")"
	[ "$code" = 401 ]
	call POST /notify/send/generic/ "$(msg "$url")" "X-API-Key: wrong"
	[ "$code" = 401 ]
	call POST /notify/send/generic/ "$(msg "$url" ",\"tags\":{\"pad\":\"$(printf '%0300d' 0)\"}")" "X-API-Key: $API_KEY"
	[ "$code" = 413 ]
	[ "$body" = '{"status":"error","message":"body larger than the limit (SM_MAX_BODY)"}' ]
	[ "$(requests hook)" = 0 ]
	call POST /notify/send/generic/ "$(msg "$url")" "Authorization: Bearer $API_KEY"
	[ "$code" = 200 ]
	[ "$(requests hook)" = 1 ]
}
