#!/usr/bin/env bats
# Silences over HTTP (/notify/silences/) under a real lighttpd on loopback:
# create (201), list, show, expire (DELETE, or POST .../expire/), the same
# refusals as the command line (400, nothing stored), 404 for an unknown
# id, 401 without the API key, 405 for a wrong method. A silence made over
# HTTP holds back a notification like one made with `silence add`.
# shellcheck disable=SC2154 # call sets $code, $headers and $body

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
	sql "DELETE FROM silences"
}

teardown() {
	api_teardown
}

@test "POST creates (201), GET lists and shows, DELETE expires; the command line sees the same" {
	call POST /notify/silences/ '{"matchers":["alertname=DiskFull","instance=~db-.*"],"duration":"2h","comment":"new disk","author":"ops"}'
	[ "$code" = 201 ]
	[ "$(get '[d["status"], d["silence"]["matchers"], d["silence"]["state"], d["silence"]["comment"], d["silence"]["author"]]')" = '["ok", ["alertname=\"DiskFull\"", "instance=~\"db-.*\""], "active", "new disk", "ops"]' ]
	id=$(get 'd["silence"]["id"]')
	[ ${#id} -eq 36 ]
	run sm-notify silence list --json
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | json_get 'd["id"]')" = "$id" ] # one line a silence
	call GET /notify/silences/
	[ "$code" = 200 ]
	[ "$(get '[s["id"] for s in d["silences"]]')" = "[\"$id\"]" ]
	call GET "/notify/silences/$id/"
	[ "$code" = 200 ]
	[ "$(get 'd["silence"]["id"]')" = "$id" ]
	call DELETE "/notify/silences/$id/"
	[ "$code" = 200 ]
	[ "$(get 'd["silence"]["state"]')" = expired ]
	# Expired: gone from the default listing, still in ?all=1.
	call GET /notify/silences/
	[ "$(get 'len(d["silences"])')" = 0 ]
	call GET '/notify/silences/?all=1'
	[ "$(get '[s["state"] for s in d["silences"]]')" = '["expired"]' ]
	# Expiring it again is refused like on the command line.
	call POST "/notify/silences/$id/expire/" '{}'
	[ "$code" = 400 ]
	[ "$(get 'd["status"]')" = error ]
}

@test "a silence made over HTTP holds back the notification it matches" {
	call POST /notify/silences/ '{"matchers":["alertname=DiskFull"]}'
	[ "$code" = 201 ]
	id=$(get 'd["silence"]["id"]')
	sm-notify channel add out stdout >/dev/null
	env='{"v":1,"source":"alertmanager","incident":null,"alerts":[{"name":"DiskFull","severity":"critical","status":"firing","change":"created","labels":{"alertname":"DiskFull"}}]}'
	run --separate-stderr sm-notify <<<"$env"
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | json_get '[(n["status"], n["reason"]) for n in d["notifications"]]')" = "[[\"skipped\", \"silenced by $id\"]]" ]
}

@test "refusals: 400 for a bad matcher, regex, duration or end, 404 unknown id; nothing stored" {
	for body in '{"matchers":["alertname"]}' '{"matchers":["job=~(a"]}' \
		'{"matchers":["job=x"],"duration":"soon"}' '{"matchers":[]}' '{"matchers":"job=x"}' \
		'{"matchers":["job=x"],"starts_at":"2026-12-06T10:00:00Z","ends_at":"2026-12-06T09:00:00Z"}' \
		'{"matchers":["job=x"],"duration":"1h","ends_at":"2030-01-01T00:00:00Z"}' '[1]' '{"matchers":['; do
		call POST /notify/silences/ "$body"
		[ "$code" = 400 ] || { echo "$body -> $code $body"; false; }
		[ "$(get 'd["status"]')" = error ]
	done
	[ "$(sql "SELECT count(*) FROM silences")" = 0 ]
	call GET /notify/silences/00000000-0000-4000-8000-000000000000/
	[ "$code" = 404 ]
	call DELETE /notify/silences/00000000-0000-4000-8000-000000000000/
	[ "$code" = 404 ]
	call GET '/notify/silences/?all=maybe'
	[ "$code" = 400 ]
}

@test "the handler's rules: 401 without the API key, 405 with Allow" {
	call PUT /notify/silences/ '{}'
	[ "$code" = 405 ]
	[[ "$headers" == *"Allow: GET, POST"* ]]
	api_env "$(keys_file)"
	call POST /notify/silences/ '{"matchers":["alertname=X"]}'
	[ "$code" = 401 ]
	call GET /notify/silences/
	[ "$code" = 401 ]
	[ "$(sql "SELECT count(*) FROM silences")" = 0 ]
	call POST /notify/silences/ '{"matchers":["alertname=X"]}' "X-API-Key: $API_KEY"
	[ "$code" = 201 ]
}
