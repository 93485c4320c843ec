#!/usr/bin/env bats
# sm-ingest as a FastCGI responder: the CGI suite's tests (cgi_tests.bash)
# against lighttpd spawning one long-running sm-ingest, then the protocol
# itself spoken on its socket (FCGI_GET_VALUES, multiplexing refused,
# keep-conn, garbage, a web server that vanishes mid-request), --fastcgi
# ADDRESS, and a clean stop on SIGTERM.

# shellcheck disable=SC2154 # bats sets $output and $status, post $code and $body
bats_require_minimum_version 1.5.0
load helpers
load cgi_tests

setup_file() {
	export SERVE_MODE=fastcgi
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

@test "8 parallel clients x 500 requests: every alert stored once, no 5xx" {
	t_parallel
}

# fcgi SOCKET SCRIPT: run a raw FastCGI conversation; SCRIPT is Python with
# rec(type, id, content), begin(id, keep), params(id, dict), stdin(id, bytes),
# read_records() and request(...) in scope (standard library only).
fcgi() {
	/usr/bin/python3 - "$1" "$2" <<'PY'
import socket, struct, sys

def rec(t, rid, content=b"", padding=0):
    return struct.pack(">BBHHBB", 1, t, rid, len(content), padding, 0) + content + b"\0" * padding

def pair(n, v):
    def ln(x):
        return bytes([len(x)]) if len(x) < 128 else struct.pack(">I", len(x) | 0x80000000)
    return ln(n) + ln(v) + n + v

def begin(rid, keep=False, role=1):
    return rec(1, rid, struct.pack(">HB5x", role, 1 if keep else 0))

def params(rid, d):
    body = b"".join(pair(k.encode(), v.encode()) for k, v in d.items())
    return rec(4, rid, body) + rec(4, rid)

def stdin(rid, data):
    return (rec(5, rid, data) if data else b"") + rec(5, rid)

def request(rid, body, keep=False, path="/alertmanager/"):
    return begin(rid, keep) + params(rid, {"REQUEST_METHOD": "POST", "PATH_INFO": path,
        "CONTENT_TYPE": "application/json", "CONTENT_LENGTH": str(len(body))}) + stdin(rid, body)

def connect(addr):
    if addr.startswith("/"):
        s = socket.socket(socket.AF_UNIX)
        s.connect(addr)
    else:
        host, port = addr.rsplit(":", 1)
        s = socket.create_connection((host, int(port)))
    s.settimeout(10)
    return s

def read_records(s, until_end=1):
    """Records until `until_end` END_REQUESTs (or EOF): [(type, id, content)]."""
    out, buf, ends = [], b"", 0
    while ends < until_end:
        while len(buf) < 8 or len(buf) < 8 + struct.unpack(">H", buf[4:6])[0] + buf[6]:
            chunk = s.recv(65536)
            if not chunk:
                return out
            buf += chunk
        _, t, rid, clen, pad, _ = struct.unpack(">BBHHBB", buf[:8])
        out.append((t, rid, buf[8:8 + clen]))
        buf = buf[8 + clen + pad:]
        ends += t in (3, 10, 11)
    return out

def stdout_of(records, rid):
    return b"".join(c for t, r, c in records if t == 6 and r == rid).decode()

def closed(s):
    try:
        return s.recv(1) == b""
    except ConnectionResetError:
        return True

addr = sys.argv[1]
exec(sys.argv[2])
PY
}

am() { # NAME INSTANCE: a one-alert Alertmanager body, as a Python bytes literal
	printf 'b"""%s"""' "$(am_payload "$1" "$2" firing | sed 's/\\/\\\\/g')"
}

sock() { echo "$SM_SERVE_DIR/sm-ingest.sock-0"; }
# The FastCGI process of our lighttpd (scripts/serve execs it).
handler_pid() { pgrep -P "$(cat "$CGI_DIR/serve.pid")" -f -x "$SM_INGEST"; }

@test "one long-running process answers request after request, store kept open" {
	pid=$(handler_pid)
	[ -n "$pid" ]
	for i in 1 2 3; do
		post /alerts/webhook/alertmanager/ "$(am_payload Long "h$i" firing)"
		[ "$code" = 202 ]
	done
	[ "$(handler_pid)" = "$pid" ]
	[ "$(sql "SELECT count(*) FROM alerts WHERE name = 'Long'")" = 3 ]
	# Another process writes between two requests: the responder's next
	# transaction waits for nothing stale (no 503).
	id=$(sql "SELECT id FROM incidents WHERE title = 'Long on h1'")
	sm-ingest incident ack "$id" >/dev/null
	post /alerts/webhook/alertmanager/ "$(am_payload Long h4 firing)"
	[ "$code" = 202 ]
	# The store stays open: its file is among the process's descriptors.
	readlink "/proc/$pid"/fd/* | grep -qx "$SM_DB"
}

@test "the dotenv file is read once: a change needs a restart" {
	echo SM_MAX_BODY=10 >"$SM_ENV_FILE" # no set_env: no restart
	post /alerts/webhook/alertmanager/ "$(am_payload Once a firing)"
	[ "$code" = 202 ]
	set_env SM_MAX_BODY=10
	post /alerts/webhook/alertmanager/ "$(am_payload Once b firing)"
	[ "$code" = 413 ]
}

@test "protocol: GET_VALUES answered, unknown management type, a second request refused (CANT_MPX_CONN)" {
	run fcgi "$(sock)" '
s = connect(addr)
s.sendall(rec(9, 0, pair(b"FCGI_MAX_CONNS", b"") + pair(b"FCGI_MPXS_CONNS", b"") + pair(b"OTHER", b"")))
r = read_records(s)
assert r == [(10, 0, pair(b"FCGI_MAX_CONNS", b"32") + pair(b"FCGI_MPXS_CONNS", b"0"))], r
s.sendall(rec(42, 0, b"x"))
r = read_records(s)
assert r == [(11, 0, bytes([42]) + bytes(7))], r
# Request 1 open (params only), then request 2 begins on the same connection.
s.sendall(begin(1, keep=True) + rec(4, 1, pair(b"REQUEST_METHOD", b"POST")) + begin(2))
r = read_records(s)
assert r == [(3, 2, struct.pack(">IB3x", 0, 1))], r
print("ok")
'
	[ "$status" -eq 0 ] && [ "$output" = ok ]
}

@test "protocol: a whole request, keep-conn honoured, 4-byte lengths and padding, another role refused" {
	before=$(stored)
	run fcgi "$(sock)" "
s = connect(addr)
body = $(am KeepA k1)
s.sendall(request(7, body, keep=True))
r = read_records(s)
out = stdout_of(r, 7)
assert out.startswith('Status: 202 Accepted'), out
assert r[-1] == (3, 7, struct.pack('>IB3x', 0, 0)), r[-1]
# The same connection again, the params with a long (4-byte) value, padded records.
big = 'x' * 300
p = pair(b'REQUEST_METHOD', b'POST') + pair(b'PATH_INFO', b'/alertmanager/') + pair(b'HTTP_X_LONG', big.encode()) + pair(b'CONTENT_LENGTH', str(len($(am KeepB k2))).encode())
s.sendall(begin(8, keep=False) + rec(4, 8, p, padding=5) + rec(4, 8) + rec(5, 8, $(am KeepB k2), padding=3) + rec(5, 8))
r = read_records(s)
assert stdout_of(r, 8).startswith('Status: 202'), r
assert closed(s)  # no FCGI_KEEP_CONN: closed after the answer
s = connect(addr)
s.sendall(begin(3, keep=True, role=2))
assert read_records(s) == [(3, 3, struct.pack('>IB3x', 0, 3))]
print('ok')
"
	[ "$status" -eq 0 ] && [ "$output" = ok ]
	[ "$(stored)" = $((before + 4)) ]
}

@test "protocol: garbage, an oversized or truncated record, a vanished web server: that connection only" {
	pid=$(handler_pid)
	before=$(stored)
	run fcgi "$(sock)" "
s = connect(addr)
s.sendall(b'GET / HTTP/1.0\r\n\r\n')       # not FastCGI at all
assert closed(s)
s = connect(addr)
s.sendall(rec(1, 1, b'\0\1'))               # BEGIN_REQUEST of 2 bytes
assert closed(s)
s = connect(addr)
s.sendall(begin(1) + rec(4, 1, b'\x7f\x00abc') + rec(4, 1))  # a pair longer than its record
assert closed(s)
s = connect(addr)
s.sendall(begin(1) + rec(4, 1, b'\x80\x00\x00\x05\x01' + b'abcdex') + rec(4, 1))  # params, then gone
s.close()
s = connect(addr)
s.sendall(request(5, $(am Gone g1))[:-20])  # cut off mid-request, then gone
s.close()
s = connect(addr)
s.sendall(begin(9) + rec(4, 9, b'\x01\x01ab') + rec(4, 9) + rec(2, 9))  # aborted by the server
r = read_records(s)
assert r == [(3, 9, struct.pack('>IB3x', 0, 0))], r
print('ok')
"
	[ "$status" -eq 0 ] && [ "$output" = ok ]
	# Params larger than the limit (128 KiB).
	run fcgi "$(sock)" "
s = connect(addr)
s.sendall(begin(1))
for _ in range(3):
    s.sendall(rec(4, 1, pair(b'HTTP_X_BIG', b'y' * 65000)))
assert closed(s)
print('ok')
"
	[ "$status" -eq 0 ] && [ "$output" = ok ]
	grep -q 'FastCGI connection closed.*not a FastCGI version 1 record' "$SM_SERVE_DIR/cgi.log"
	grep -q 'FCGI_PARAMS larger than the limit' "$SM_SERVE_DIR/cgi.log"
	[ "$(stored)" = "$before" ]
	[ "$(handler_pid)" = "$pid" ]
	post /alerts/webhook/alertmanager/ "$(am_payload After x firing)"
	[ "$code" = 202 ]
}

@test "an HTTP client that disconnects mid-body: nothing stored, the responder carries on" {
	pid=$(handler_pid)
	before=$(stored)
	# shellcheck disable=SC2153 # PORT is setup_file's
	/usr/bin/python3 - "$PORT" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"POST /alerts/webhook/alertmanager/ HTTP/1.1\r\nHost: x\r\n"
          b"Content-Type: application/json\r\nContent-Length: 5000\r\n\r\n{\"receiver\":")
s.close()
PY
	post /alerts/webhook/alertmanager/ "$(am_payload AfterCut x firing)"
	[ "$code" = 202 ]
	[ "$(stored)" = $((before + 2)) ]
	[ "$(handler_pid)" = "$pid" ]
}

@test "a body beyond SM_MAX_BODY is dropped as it arrives and answered 413" {
	set_env SM_MAX_BODY=1000
	before=$(stored)
	run fcgi "$(sock)" "
s = connect(addr)
body = b'{\"a\":\"' + b'z' * 200000 + b'\"}'
s.sendall(request(1, body, keep=True))
r = read_records(s)
assert stdout_of(r, 1).startswith('Status: 413'), r
# Content-Length says 10 but 2000 bytes come: only the first 10 are read (400 on them).
s.sendall(begin(2) + params(2, {'REQUEST_METHOD': 'POST', 'CONTENT_LENGTH': '10'}) + stdin(2, b'{' * 2000))
r = read_records(s)
assert stdout_of(r, 2).startswith('Status: 400'), r
print('ok')
"
	[ "$status" -eq 0 ] && [ "$output" = ok ]
	[ "$(stored)" = "$before" ]
}

@test "--fastcgi ADDRESS: a unix socket or 127.0.0.1:PORT; SIGTERM stops it cleanly between requests" {
	dir=$(mktemp -d "$CGI_DIR/own.XXXXXX")
	export SM_DB="$dir/own.db"
	sm-ingest --fastcgi "$dir/sock" 2>"$dir/log" &
	pid=$!
	for _ in $(seq 50); do [ -S "$dir/sock" ] && break; sleep 0.05; done
	run fcgi "$dir/sock" "
s = connect(addr)
s.sendall(request(1, $(am Own o1), path='/'))
assert stdout_of(read_records(s), 1).startswith('Status: 202'), 'not accepted'
print('ok')
"
	[ "$output" = ok ]
	kill -TERM "$pid"
	wait "$pid" # exit status 0
	[ ! -e "$dir/sock" ]
	[ "$(sql "SELECT count(*) FROM alerts WHERE name = 'Own'")" = 1 ]
	[ "$(sql 'PRAGMA integrity_check')" = ok ]
	port=$(free_port)
	sm-ingest --fastcgi="127.0.0.1:$port" 2>"$dir/log" &
	pid=$!
	wait_port "$port"
	run fcgi "127.0.0.1:$port" "
s = connect(addr)
s.sendall(request(1, $(am Own o2)))
assert stdout_of(read_records(s), 1).startswith('Status: 202'), 'not accepted'
print('ok')
"
	[ "$output" = ok ]
	kill -INT "$pid"
	wait "$pid"
	[ "$(sql "SELECT count(*) FROM alerts WHERE name = 'Own'")" = 2 ]
}

@test "--fastcgi: usage errors and a path that is not a socket" {
	run sm-ingest --fastcgi </dev/null
	[ "$status" -eq 64 ]
	[[ "$output" == "sm-ingest: --fastcgi: no ADDRESS and standard input is not a listening socket" ]]
	run sm-ingest --fastcgi a b
	[ "$status" -eq 64 ]
	echo keep >"$CGI_DIR/plain"
	run sm-ingest --fastcgi "$CGI_DIR/plain"
	[ "$status" -eq 1 ]
	[[ "$output" == *"plain: exists and is not a socket" ]]
	[ "$(cat "$CGI_DIR/plain")" = keep ]
	run sm-ingest --fastcgi 127.0.0.1:notaport
	[ "$status" -eq 1 ]
}

@test "SM_READ_TIMEOUT: a client trickling a request is closed after it; 32 of them hold no other request" {
	dir=$(mktemp -d "$CGI_DIR/slow.XXXXXX")
	export SM_DB="$dir/slow.db"
	SM_READ_TIMEOUT=1 sm-ingest --fastcgi "$dir/sock" 2>"$dir/log" &
	pid=$!
	for _ in $(seq 50); do [ -S "$dir/sock" ] && break; sleep 0.05; done
	# Every slot taken by a connection that sends a byte of its request
	# every 0.2 s (never silent long enough for a time-since-last-byte
	# rule), then an honest request: it is answered once the read timeout
	# has closed the trickling ones, while they still trickle.
	run fcgi "$dir/sock" "
import time
slow = [connect(addr) for _ in range(32)]
req = request(1, $(am Slow s1))
t0 = time.monotonic()
s = connect(addr)
s.sendall(request(2, $(am Honest h1)))
s.settimeout(0.2)
answered, closed_slow, i = False, 0, 0
while time.monotonic() - t0 < 20 and not answered:
    for c in slow:
        try:
            c.sendall(req[i:i + 1])
        except OSError:
            pass
    i += 1
    try:
        answered = stdout_of(read_records(s), 2).startswith('Status: 202')
    except socket.timeout:
        pass
for c in slow:
    c.settimeout(2)
    closed_slow += closed(c)
print(answered, closed_slow, i < len(req))
"
	kill -TERM "$pid"
	wait "$pid"
	[ "$output" = "True 32 True" ]
	[ "$(sql "SELECT count(*) FROM alerts WHERE name = 'Honest'")" = 1 ]
	[ "$(sql "SELECT count(*) FROM alerts WHERE name = 'Slow'")" = 0 ]
}
