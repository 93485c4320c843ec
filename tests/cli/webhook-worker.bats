#!/usr/bin/env bats
# The webhook answered by the queue's worker itself (sm-pipeline work
# --webhook): the CGI suite's tests (cgi_tests.bash) against lighttpd
# passing /alerts/webhook/ on to a running worker's socket, which stores
# each request as sm-ingest does and runs what it accepted. What is
# particular to the worker (deliveries, the answer before the delivery, a
# worker killed, stopping) is in sm-pipeline-work.bats.

# shellcheck disable=SC2154 # bats sets $output and $status, post $code and $body
bats_require_minimum_version 1.5.0
load helpers
load cgi_tests

# The worker first, then lighttpd in front of its socket; the worker's
# lines go where the handler's would (cgi.log). It reads the dotenv file
# when it starts, as a FastCGI responder does: set_env restarts both.
start_server() {
	mkdir -p "$SM_SERVE_DIR"
	SM_DEFAULT_DEFINITION=direct SM_LOG_LEVEL=info \
		sm-pipeline work --webhook "$CGI_DIR/webhook.sock" 2>>"$SM_SERVE_DIR/cgi.log" &
	echo $! >"$CGI_DIR/worker.pid"
	wait_for test -S "$CGI_DIR/webhook.sock"
	serve_start "$CGI_DIR" SM_SERVE_WEBHOOK="$CGI_DIR/webhook.sock"
}

stop_server() {
	serve_stop "$CGI_DIR"
	stop_pids "$CGI_DIR/worker.pid"
	rm -f "$CGI_DIR/worker.pid"
}

# Every queued item run.
all_run() { [ "$(sql "SELECT count(*) FROM inbox WHERE state <> 'done'")" = 0 ]; }

setup_file() {
	export SERVE_MODE=fastcgi
	export PATH="$SM_BIN:$PATH"
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
	# ... and run by the worker that answered, under the claim of its
	# commit (no channel: the direct definition delivers nothing).
	wait_for all_run
	[ "$(sql "SELECT count(DISTINCT claimed_by) FROM inbox")" = 1 ]
	[ "$(sql "SELECT claimed_by FROM inbox LIMIT 1")" = "handoff:$(hostname):$(cat "$CGI_DIR/worker.pid")" ]
	[ "$(sql "SELECT count(*) FROM pipeline_runs")" = "$(sql "SELECT count(*) FROM inbox")" ]
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

@test "a store that refuses the request's writes: a JSON 500, nothing of it stored; the next one stored" {
	t_store_refuses
}

@test "8 parallel clients x 500 requests: every alert stored once, no 5xx, every item run" {
	t_parallel
	wait_for all_run
}

@test "a broken env file: the worker does not start, and says why" {
	printf 'this is not a setting\n' >"$CGI_DIR/broken.env"
	SM_ENV_FILE=$CGI_DIR/broken.env run --separate-stderr sm-pipeline work --webhook "$CGI_DIR/other.sock"
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"expected KEY=VALUE"* ]]
	[ ! -e "$CGI_DIR/other.sock" ]
}

@test "SIGTERM: the worker stops, exit 0, its socket removed, nothing said by the sanitizers" {
	pid=$(cat "$CGI_DIR/worker.pid")
	kill -TERM "$pid"
	# Not a child of this shell: its end is seen in /proc, its status in
	# its last words (a sanitizer's report, a failure line).
	gone() { [ ! -r "/proc/$pid/stat" ] || [ "$(cut -d' ' -f3 "/proc/$pid/stat")" = Z ]; }
	wait_for gone
	rm -f "$CGI_DIR/worker.pid"
	[ ! -e "$CGI_DIR/webhook.sock" ]
	grep -q 'msg="worker stopped"' "$SM_SERVE_DIR/cgi.log"
	run ! grep -E 'Sanitizer|runtime error' "$SM_SERVE_DIR/cgi.log"
}
