#!/usr/bin/env bats
# static.bats - the tools linked static-pie (SM_STATIC_TOOLS, from CMake):
# self-contained, never reaching for a shared object or NSS at run time (a
# static program can load neither safely), and still digesting and signing
# through OpenSSL (libcrypto.a).

load helpers

setup() {
	setup_sm
	[ -n "${SM_STATIC_TOOLS:-}" ] ||
		skip "no tool is linked statically in this build (sanitizers, or SM_STATIC_TOOLS empty)"
}
teardown() { teardown_sm; }

is_static() { [[ " $SM_STATIC_TOOLS " == *" $1 "* ]] || skip "$1 is linked dynamically in this build"; }

# traced FILE CMD...: run CMD under strace, its file opens in FILE.
traced() {
	local out=$1
	shift
	need_peer "strace is not installed" command -v strace
	strace -f -qq -e trace=open,openat -o "$out" "$@"
}

# What a static program must never open: a shared object (dlopen, NSS
# modules, gconv), the loader's cache, NSS's configuration.
no_dynamic_opens() {
	! grep -E '\.so([."]|$)|ld\.so\.cache|nsswitch\.conf|gconv' "$1"
}

@test "each static tool has no program interpreter and needs no shared library" {
	for tool in $SM_STATIC_TOOLS; do
		run readelf -lW "$SM_BIN/$tool"
		[ "$status" -eq 0 ]
		[[ "$output" == *LOAD* ]]
		[[ "$output" != *INTERP* ]]
		run readelf -dW "$SM_BIN/$tool"
		[ "$status" -eq 0 ]
		[[ "$output" != *NEEDED* ]]
	done
}

@test "static sm-check: the instant checkers and --alerts open no shared object" {
	is_static sm-check
	traced "$TEST_DIR/trace" sm-check --alerts --json memory swap load disk disk_inodes raid \
		reboot_debian listening_ports process >"$TEST_DIR/out" || true
	[ "$(json_get 'd["v"]' <"$TEST_DIR/out")" = 1 ]
	grep -q '/proc/meminfo' "$TEST_DIR/trace"
	no_dynamic_opens "$TEST_DIR/trace"
}

@test "static sm-check: ~ without \$HOME comes from the host's /etc/passwd, not NSS" {
	is_static sm-check
	mkdir -p "$TEST_DIR/host/etc" "$TEST_DIR/host/srv/me"
	printf 'me:x:%s:0::/srv/me:/bin/sh\n' "$(id -u)" >"$TEST_DIR/host/etc/passwd"
	head -c 120M /dev/zero >"$TEST_DIR/host/srv/me/disk.img"
	unset HOME
	SM_HOST_ROOT="$TEST_DIR/host" traced "$TEST_DIR/trace" sm-check --json disk_common \
		>"$TEST_DIR/out" || true
	[ "$(json_get 'd["checks"][0]["metrics"]["large_files"][0]["path"]' <"$TEST_DIR/out")" = /srv/me/disk.img ]
	no_dynamic_opens "$TEST_DIR/trace"
}

@test "static sm-ingest: fingerprints are OpenSSL's SHA-256 of name and sorted labels" {
	is_static sm-ingest
	run sm-ingest -d generic --dry-run <<<'{"alertname":"DiskFull","labels":{"team":"db","env":"prod"}}'
	[ "$status" -eq 0 ]
	want=$(printf 'DiskFull\nenv=prod\nteam=db\n' | sha256sum | cut -c1-16)
	[ "$(echo "$output" | json_get 'd["alerts"][0]["fingerprint"]')" = "$want" ]
}

@test "static sm-ingest: a CGI request's API key and HMAC signature are checked, nothing dynamic opened" {
	is_static sm-ingest
	local body key=k-123 secret=s3cr3t sig
	body='{"receiver":"sm","status":"firing","alerts":[{"status":"firing","labels":{"alertname":"Signed","instance":"db-1"},"startsAt":"2026-11-22T01:20:29Z"}]}'
	printf 'ops\t%s\n' "$(printf %s "$key" | sha256sum | cut -d' ' -f1)" >"$TEST_DIR/keys"
	printf 'SM_API_KEYS_FILE=%s\nWEBHOOK_SECRET_ALERTMANAGER=%s\n' "$TEST_DIR/keys" "$secret" >"$TEST_DIR/env"
	sig=$(printf %s "$body" | openssl dgst -sha256 -hmac "$secret" -r | cut -d' ' -f1)
	request() { # KEY SIGNATURE
		printf %s "$body" | env GATEWAY_INTERFACE=CGI/1.1 REQUEST_METHOD=POST \
			CONTENT_TYPE=application/json CONTENT_LENGTH=${#body} PATH_INFO=/alertmanager \
			SM_ENV_FILE="$TEST_DIR/env" HTTP_X_API_KEY="$1" HTTP_X_SM_SIGNATURE="sha256=$2" \
			strace -f -qq -e trace=open,openat -o "$TEST_DIR/trace" "$SM_BIN/sm-ingest" 2>/dev/null
	}
	need_peer "strace is not installed" command -v strace
	run request "$key" "$sig"
	[[ "${lines[0]}" == "Status: 202"* ]]
	no_dynamic_opens "$TEST_DIR/trace"
	run request "$key" "$(printf x | openssl dgst -sha256 -hmac "$secret" -r | cut -d' ' -f1)"
	[[ "${lines[0]}" == "Status: 401"* ]]
	run request wrong-key "$sig"
	[[ "${lines[0]}" == "Status: 401"* ]]
	[ "$(sql "SELECT count(*) FROM alerts")" = 1 ]
}

@test "static sm-ingest: --fastcgi HOST:PORT, by number or from /etc/hosts, loads no NSS module" {
	is_static sm-ingest
	need_peer "strace is not installed" command -v strace
	grep -qE '^[^#]*[[:space:]]localhost([[:space:]]|$)' /etc/hosts || skip "no localhost in /etc/hosts"
	for host in 127.0.0.1 localhost; do
		port=$(free_port)
		: >"$TEST_DIR/trace"
		strace -f -qq -e trace=open,openat,listen -o "$TEST_DIR/trace" \
			"$SM_BIN/sm-ingest" --fastcgi "$host:$port" 2>/dev/null 3>&- &
		tracer=$!
		# No deadline: the trace shows listen() once the socket is ready.
		until grep -q 'listen(' "$TEST_DIR/trace"; do
			kill -0 "$tracer"
			sleep 0.05
		done
		kill -TERM "$(pgrep -P "$tracer")"
		wait "$tracer"
		grep -q 'listen(.*= 0$' "$TEST_DIR/trace"
		# glibc reads nsswitch.conf for a name; its files and dns sources
		# are built in, nothing is loaded.
		! grep -E '\.so([."]|$)|ld\.so\.cache' "$TEST_DIR/trace"
	done
}
