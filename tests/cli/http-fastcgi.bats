#!/usr/bin/env bats
# The tools' HTTP APIs as FastCGI responders: lighttpd (scripts/serve,
# SM_SERVE_MODE=fastcgi) spawns one long-running sm-pipeline, sm-notify
# and sm-analyze beside sm-ingest, each answering its prefix with the same
# rules as under CGI (sm-notify-http.bats, sm-analyze-http.bats and
# sm-pipeline-http.bats cover each endpoint); --fastcgi ADDRESS, and a
# clean stop on SIGTERM.
# shellcheck disable=SC2154 # bats sets $output; call sets $code and $body

bats_require_minimum_version 1.5.0
load helpers
load http_api

setup_file() {
	export SERVE_MODE=fastcgi
	api_setup_file
}

teardown_file() {
	api_teardown_file
}

setup() {
	api_setup
	sql "DELETE FROM analysis_runs"
	sql "DELETE FROM notification_channels"
}

teardown() {
	api_teardown
}

@test "every prefix answers, request after request, from one process each" {
	url=$(start_receiver hook)
	for _ in 1 2 3; do
		call POST /notify/send/generic/ "{\"title\":\"t\",\"message\":\"m\",\"config\":{\"webhook_url\":\"$url\"}}"
		[ "$code" = 200 ]
		call GET /intelligence/health/
		[ "$code" = 200 ]
		call GET /orchestration/definitions/direct/
		[ "$code" = 200 ]
		call POST /alerts/webhook/ "$(am_payload DiskFull db-01 firing)"
		[ "$code" = 202 ]
	done
	[ "$(requests hook)" = 3 ]
	[ "$(req hook 2 'body["message"]')" = m ]
	# One process per prefix served them all.
	for t in sm-notify sm-analyze sm-pipeline sm-ingest; do
		[ "$(pgrep -c -f "^$API_DIR/bin/$t\$" || true)" = 1 ]
	done
}

@test "the rules under FastCGI: 400, 404, 405, 401, 413; nothing stored" {
	call POST /notify/send/generic/ '{"title":'
	[ "$code" = 400 ]
	call GET /notify/drivers/nope/
	[ "$code" = 404 ]
	call POST /intelligence/memory/ '{}'
	[ "$code" = 405 ]
	call GET '/intelligence/disk/?path=tmp'
	[ "$code" = 400 ]
	call GET '/intelligence/memory/?top_n=x'
	[ "$code" = 400 ]
	call GET /orchestration/pipeline/nope/
	[ "$code" = 404 ]
	api_env "$(keys_file)" SM_MAX_BODY=100
	call GET /notify/drivers/
	[ "$code" = 401 ]
	call GET /intelligence/providers/
	[ "$code" = 401 ]
	call GET /orchestration/definitions/
	[ "$code" = 401 ]
	call GET /intelligence/health/
	[ "$code" = 200 ]
	call POST /notify/batch/ "{\"notifications\":[],\"pad\":\"$(printf '%0200d' 0)\"}" "X-API-Key: $API_KEY"
	[ "$code" = 413 ]
	call GET /notify/drivers/ "" "X-API-Key: $API_KEY"
	[ "$code" = 200 ]
	[ "$(sql 'SELECT count(*) FROM analysis_runs')" = 0 ]
	api_env
}

@test "--fastcgi ADDRESS: sm-notify listens there and stops cleanly on SIGTERM" {
	sock=$API_DIR/notify.sock
	"$SM_BIN/sm-notify" --fastcgi "$sock" 2>"$API_DIR/fcgi.err" &
	pid=$!
	for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.05; done
	[ -S "$sock" ]
	run /usr/bin/python3 - "$sock" <<'PY'
import socket, struct, sys
def rec(t, rid, content=b""):
    return struct.pack(">BBHHBB", 1, t, rid, len(content), 0, 0) + content
def pair(n, v):
    return bytes([len(n), len(v)]) + n + v
params = b"".join(pair(k.encode(), v.encode()) for k, v in
                  {"REQUEST_METHOD": "GET", "PATH_INFO": "/drivers/generic/"}.items())
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall(rec(1, 1, struct.pack(">HB5x", 1, 0)) + rec(4, 1, params) + rec(4, 1) + rec(5, 1))
out = b""
while True:
    h = s.recv(8, socket.MSG_WAITALL)
    if len(h) < 8:
        break
    _, t, _, n, p, _ = struct.unpack(">BBHHBB", h)
    data = s.recv(n + p, socket.MSG_WAITALL)[:n] if n + p else b""
    if t == 6:
        out += data
    if t == 3:
        break
print(out.decode())
PY
	[ "$status" -eq 0 ]
	[[ "$output" == "Status: 200 OK"* ]]
	[[ "$output" == *'"required_config":["webhook_url"]'* ]]
	kill -TERM "$pid"
	wait "$pid"
	[ ! -e "$sock" ]
	run "$SM_BIN/sm-analyze" --fastcgi a b c
	[ "$status" -eq 64 ]
	[ "$output" = "sm-analyze: usage: sm-analyze --fastcgi [ADDRESS]" ]
}
