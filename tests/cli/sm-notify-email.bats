#!/usr/bin/env bats
# sm-notify's email channels end to end: envelopes from the real sm-ingest,
# delivered through the real sm-notify to a real SMTP server on loopback
# (tests/fixtures/bin/smtpd.py), and the message the server kept parsed
# back: headers, both parts, recipients; STARTTLS and SMTPS against a
# throwaway CA; a wrong ca_file; AUTH with a password that never shows.
# shellcheck disable=SC2154 # $stderr is set by bats's run --separate-stderr

bats_require_minimum_version 1.5.0
load helpers

setup_file() {
	: "${SM_BIN:?}" "${SM_FIXTURES:?}"
	need_peer "python3-aiosmtpd is not installed" /usr/bin/python3 -c 'import aiosmtpd'
	need_peer "openssl is not installed" command -v openssl
	# A CA, a server certificate it signs for 127.0.0.1, and a second CA
	# that signed nothing: made here, never committed.
	export CERTS
	CERTS=$(mktemp -d "${BATS_TMPDIR:-/tmp}/sm-mail-certs.XXXXXX")
	(
		cd "$CERTS" || exit 1
		for ca in ca other; do
			openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
				-keyout "$ca.key" -out "$ca.pem" -days 1 -subj "/CN=sm-test-$ca" \
				-addext basicConstraints=critical,CA:TRUE \
				-addext keyUsage=critical,keyCertSign,cRLSign || exit 1
		done
		openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
			-keyout server.key -out server.csr -subj /CN=127.0.0.1 || exit 1
		printf 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n' >ext
		openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
			-out server.pem -days 1 -extfile ext
	) >/dev/null 2>&1
}

teardown_file() {
	rm -rf "$CERTS"
}

setup() {
	setup_sm
	export SM_NOTIFY_RETRIES=0 SM_NOTIFY_BACKOFF_S=0
	mkdir "$TEST_DIR/spool"
	sm-ingest <"$SM_FIXTURES/payloads/alertmanager/firing.json" >"$TEST_DIR/firing.ndjson"
}

teardown() {
	[ -z "${SMTPD_PID:-}" ] || kill "$SMTPD_PID" 2>/dev/null || true
	teardown_sm
}

# Start smtpd.py with ARGS, spooling into $TEST_DIR/spool; sets SMTPD_PORT.
start_smtpd() {
	# A second server must not be taken for the first: its port line is
	# read from a file the first one wrote, which the redirection below
	# empties only once the subshell runs.
	rm -f "$TEST_DIR/smtpd.out"
	(cd "$CERTS" && exec /usr/bin/python3 "$SM_FIXTURES/bin/smtpd.py" --spool "$TEST_DIR/spool" "$@") \
		>"$TEST_DIR/smtpd.out" 2>"$TEST_DIR/smtpd.err" &
	SMTPD_PID=$!
	SMTPD_PORT=$(server_port "$TEST_DIR/smtpd.out" "$SMTPD_PID")
}

# An email channel NAME on the running server, with more KEY=VALUEs.
add_channel() {
	local name=$1
	shift
	sm-notify channel add "$name" email smtp_host=127.0.0.1 smtp_port="$SMTPD_PORT" \
		from_address=sm@example.test to_addresses=ops@example.test,dba@example.test \
		timeout_s=60 "$@"
}

# The message number N the server kept, as JSON: its envelope, its
# headers and its parts, decoded by Python's email module.
spooled() { # N
	/usr/bin/python3 - "$TEST_DIR/spool/$1" <<'EOF'
import email, email.policy, email.utils, json, sys
base = sys.argv[1]
with open(base + ".eml", "rb") as f:
    raw = f.read()
msg = email.message_from_bytes(raw, policy=email.policy.default)
date = email.utils.parsedate_to_datetime(msg["Date"])
print(json.dumps({
    "envelope": json.load(open(base + ".json")),
    "crlf_only": raw.count(b"\n") == raw.count(b"\r\n"),
    "from": msg["From"], "to": msg["To"], "subject": msg["Subject"],
    "message_id": msg["Message-ID"], "date_utc": date.utcoffset().total_seconds() == 0,
    "content_type": msg.get_content_type(),
    "parts": [[p.get_content_type(), p.get_content_charset(), p.get_content()]
              for p in msg.iter_parts()],
}))
EOF
}

@test "a firing alert is mailed: From, To, Date, Message-ID, subject, text and HTML, recipients" {
	start_smtpd
	add_channel ops use_tls=0
	run --separate-stderr sm-notify <"$TEST_DIR/firing.ndjson"
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | json_get '[(n["channel"], n["driver"], n["status"], n["attempts"], n["error"]) for n in d["notifications"]]')" = '[["ops", "email", "sent", 1, null]]' ]
	spooled 1 >"$TEST_DIR/mail.json"
	m() { json_get "$1" <"$TEST_DIR/mail.json"; }
	[ "$(m 'd["envelope"]["mail_from"]')" = sm@example.test ]
	[ "$(m 'd["envelope"]["rcpt_tos"]')" = '["ops@example.test", "dba@example.test"]' ]
	[ "$(m 'd["envelope"]["tls"]')" = false ]
	[ "$(m 'd["crlf_only"]')" = true ]
	[ "$(m 'd["from"]')" = sm@example.test ]
	[ "$(m 'd["to"]')" = "ops@example.test, dba@example.test" ]
	[ "$(m 'd["date_utc"]')" = true ]
	[[ "$(m 'd["message_id"]')" =~ ^\<[0-9a-f]{32}@example\.test\>$ ]]
	# The subject names the alert and its severity.
	[[ "$(m 'd["subject"]')" == *ProbeFailure* ]]
	[[ "$(m 'd["subject"]')" == *CRITICAL* ]]
	[ "$(m 'd["content_type"]')" = multipart/alternative ]
	[ "$(m '[(p[0], p[1]) for p in d["parts"]]')" = '[["text/plain", "utf-8"], ["text/html", "utf-8"]]' ]
	[[ "$(m 'd["parts"][0][2]')" == *"ProbeFailure"*"https://shop.example.org has been down for over 5m."* ]]
	[[ "$(m 'd["parts"][1][2]')" == *"<html"*"ProbeFailure"*"</html>"* ]]
	# The delivery is recorded.
	[ "$(sql "SELECT status FROM notification_deliveries")" = sent ]
}

@test "STARTTLS with ca_file, and SMTPS with use_ssl: delivered over TLS" {
	start_smtpd --starttls server.pem server.key
	add_channel tls use_tls=1 ca_file="$CERTS/ca.pem"
	run --separate-stderr sm-notify <"$TEST_DIR/firing.ndjson"
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | json_get '[(n["channel"], n["status"]) for n in d["notifications"]]')" = '[["tls", "sent"]]' ]
	[ "$(spooled 1 | json_get 'd["envelope"]["tls"]')" = true ]
	kill "$SMTPD_PID"
	rm -f "$TEST_DIR"/spool/*

	start_smtpd --smtps server.pem server.key
	run sm-notify test email smtp_host=127.0.0.1 smtp_port="$SMTPD_PORT" use_ssl=1 timeout_s=60 \
		ca_file="$CERTS/ca.pem" from_address=sm@example.test to_addresses=ops@example.test
	[ "$status" -eq 0 ]
	[ "$(spooled 1 | json_get 'd["envelope"]["tls"], d["envelope"]["rcpt_tos"]')" = '[true, ["ops@example.test"]]' ]
}

@test "a wrong ca_file fails verification: nothing delivered, the envelope says failed" {
	start_smtpd --starttls server.pem server.key
	add_channel tls use_tls=1 ca_file="$CERTS/other.pem"
	run --separate-stderr sm-notify <"$TEST_DIR/firing.ndjson"
	# A certificate that does not verify will not pass by itself: still a
	# failed delivery, which sm-notify reports as 75 like every failure.
	[ "$status" -eq 75 ]
	[ "$(echo "$output" | json_get '[(n["channel"], n["status"]) for n in d["notifications"]]')" = '[["tls", "failed"]]' ]
	err=$(echo "$output" | json_get 'd["notifications"][0]["error"]')
	[[ "$err" == "SMTP 127.0.0.1:$SMTPD_PORT: SSL certificate problem"* ]]
	[[ "$stderr" == *"SSL certificate problem"* ]]
	# Not retried: one attempt, even with retries allowed.
	SM_NOTIFY_RETRIES=2 run --separate-stderr sm-notify --channel tls <"$TEST_DIR/firing.ndjson"
	[ "$status" -eq 75 ]
	[ "$(echo "$output" | json_get 'd["notifications"][0]["attempts"]')" = 1 ]
	[ -z "$(ls "$TEST_DIR/spool")" ]
	# Without any ca_file the system's CAs do not know the test CA either.
	run sm-notify test email smtp_host=127.0.0.1 smtp_port="$SMTPD_PORT" \
		from_address=sm@example.test to_addresses=ops@example.test
	[ "$status" -ne 0 ]
	[ -z "$(ls "$TEST_DIR/spool")" ]
}

@test "AUTH with a password from a file: delivered, and the password is never shown" {
	secret='S3cret-pass-for-mail-7'
	start_smtpd --starttls server.pem server.key --auth "alerts:$secret"
	printf '%s\n' "$secret" >"$TEST_DIR/password"
	run add_channel auth use_tls=1 ca_file="$CERTS/ca.pem" username=alerts password=@"$TEST_DIR/password"
	[ "$status" -eq 0 ]
	[[ "$output" != *"$secret"* ]]
	run sm-notify channel show auth
	[ "$status" -eq 0 ]
	[[ "$output" != *"$secret"* ]]
	run sm-notify channel list
	[[ "$output" != *"$secret"* ]]
	run --separate-stderr sm-notify <"$TEST_DIR/firing.ndjson"
	[ "$status" -eq 0 ]
	[[ "$output$stderr" != *"$secret"* ]]
	[ "$(echo "$output" | json_get '[(n["channel"], n["status"]) for n in d["notifications"]]')" = '[["auth", "sent"]]' ]
	[ "$(spooled 1 | json_get 'd["envelope"]["auth"]["login"]')" = alerts ]

	# A wrong password: refused, for good, and not quoted anywhere.
	wrong='Wrong-pass-for-mail-9'
	sm-notify channel rm auth
	add_channel auth use_tls=1 ca_file="$CERTS/ca.pem" username=alerts password="$wrong" >/dev/null
	SM_LOG_LEVEL=debug run --separate-stderr sm-notify <"$TEST_DIR/firing.ndjson"
	[ "$status" -eq 75 ]
	[ "$(echo "$output" | json_get 'd["notifications"][0]["status"]')" = failed ]
	[[ "$(echo "$output" | json_get 'd["notifications"][0]["error"]')" == *"authentication refused"* ]]
	[[ "$output$stderr" != *"$wrong"* ]]
	[[ "$output$stderr" != *"$secret"* ]]
	[ "$(sql "SELECT count(*) FROM notification_deliveries WHERE error LIKE '%$wrong%'")" = 0 ]
}

@test "sm-notify test email: one test message through the given server" {
	start_smtpd
	run --separate-stderr sm-notify test email smtp_host=127.0.0.1 smtp_port="$SMTPD_PORT" use_tls=0 \
		from_address=sm@example.test to_addresses=ops@example.test,dba@example.test
	[ "$status" -eq 0 ]
	spooled 1 >"$TEST_DIR/mail.json"
	m() { json_get "$1" <"$TEST_DIR/mail.json"; }
	[ "$(m 'd["envelope"]["rcpt_tos"]')" = '["ops@example.test", "dba@example.test"]' ]
	[ "$(m 'd["content_type"]')" = multipart/alternative ]
	[ "$(m '[p[0] for p in d["parts"]]')" = '["text/plain", "text/html"]' ]
	[ -n "$(m 'd["subject"]')" ]
	# Nothing was stored: no channel, no delivery rows.
	[ "$(sql "SELECT count(*) FROM notification_channels")" = 0 ]
}

@test "the server's 4xx is transient (retried, 75), its 5xx is not (one attempt)" {
	start_smtpd --fail 451
	add_channel ops use_tls=0 >/dev/null
	SM_NOTIFY_RETRIES=1 run --separate-stderr sm-notify <"$TEST_DIR/firing.ndjson"
	[ "$status" -eq 75 ]
	[ "$(echo "$output" | json_get 'd["notifications"][0]["status"], d["notifications"][0]["attempts"]')" = '["failed", 2]' ]
	[[ "$(echo "$output" | json_get 'd["notifications"][0]["error"]')" == *"451 failure requested by the test"* ]]
	kill "$SMTPD_PID"

	start_smtpd --fail 554
	sm-notify channel rm ops
	add_channel ops use_tls=0 >/dev/null
	SM_NOTIFY_RETRIES=1 run --separate-stderr sm-notify <"$TEST_DIR/firing.ndjson"
	[ "$status" -eq 75 ]
	[ "$(echo "$output" | json_get 'd["notifications"][0]["status"], d["notifications"][0]["attempts"]')" = '["failed", 1]' ]
	[[ "$(echo "$output" | json_get 'd["notifications"][0]["error"]')" == *"554 failure requested by the test"* ]]
}

@test "no server listening: a transient failure, exit 75" {
	port=$(free_port)
	run --separate-stderr sm-notify test email smtp_host=127.0.0.1 smtp_port="$port" use_tls=0 \
		from_address=sm@example.test to_addresses=ops@example.test
	[ "$status" -eq 75 ]
	[ "$(echo "$output" | json_get 'd["status"], d["error"]')" = "[\"failed\", \"SMTP 127.0.0.1:$port: Connection refused\"]" ]
}
