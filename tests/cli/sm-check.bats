#!/usr/bin/env bats
# sm-check end to end: flags, outputs, exit statuses, the store, stdin mode.

# shellcheck disable=SC2154 # bats sets $output, $status and $stderr
bats_require_minimum_version 1.5.0
load helpers

setup() { setup_sm; }
teardown() { teardown_sm; }

@test "--help prints usage on stdout and exits 0" {
	run sm-check --help
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == "usage: sm-check"* ]]
	[[ "$output" == *"--nagios"* ]]
}

@test "--version names the tool" {
	run sm-check --version
	[ "$status" -eq 0 ]
	[[ "$output" == "sm-check 0.1.0"* ]]
}

@test "--list prints every checker in run order with a description" {
	run sm-check --list
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 18 ]
	[[ "${lines[0]}" == "cpu "* ]]
	[[ "${lines[2]}" == "memory "* ]]
	[[ "${lines[15]}" == "reboot_debian "* ]]
	[[ "${lines[16]}" == "agents "*"(hub only)." ]]
	[[ "${lines[17]}" == "queue "*"(hub only)." ]]
	names=$(printf '%s\n' "${lines[@]}" | awk '{print $1}' | tr '\n' ' ')
	[ "$names" = "cpu cpu_temp memory swap load disk disk_inodes disk_common disk_linux disk_temp io_strain listening_ports network process raid reboot_debian agents queue " ]
}

@test "--list --json prints one object per checker" {
	run sm-check --list --json
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 18 ]
	[ "$(echo "${lines[2]}" | json_get 'd["name"], d["warning"], d["critical"]')" = '["memory", 70.0, 90.0]' ]
	[ "$(echo "${lines[14]}" | json_get '"warning" in d')" = "false" ]
	[ "$(echo "${lines[16]}" | json_get 'd["name"], d["warning"], d["critical"]')" = '["agents", 900.0, 1800.0]' ]
}

@test "unknown checker: exit 64, one line naming it and the choices, nothing stored" {
	run sm-check memory nope
	[ "$status" -eq 64 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == "sm-check: unknown checker 'nope' (available: cpu, "* ]]
	[ ! -e "$SM_DB" ]
}

@test "usage errors exit 64 with one line" {
	for args in "--bogus" "-w" "--warning abc memory" "--critical 20:10 memory" \
		"--samples 0 cpu" "--samples 1.5 cpu" "--interval -1 cpu" "--interval x cpu" \
		"--paths relative/dir disk" "--hosts -oProxyCommand=x network" "--hosts a;b network" \
		"--push-interval 0 agents" \
		"--push-interval 1.5 agents" "--push-interval 86401 agents" "--push-interval x agents"; do
		# shellcheck disable=SC2086
		run sm-check $args
		[ "$status" -eq 64 ] || { echo "args: $args -> $status"; false; }
		[ "${#lines[@]}" -eq 1 ] || { echo "args: $args: $output"; false; }
		[[ "$output" == sm-check:* || "$output" == usage:* ]]
	done
	[ ! -e "$SM_DB" ]
}

@test "on a pipe: one envelope with the named checks, recorded in check_runs" {
	host cli-ok
	run sm-check memory load
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 1 ]
	env="${lines[0]}"
	[ "$(echo "$env" | json_get 'd["v"], d["source"], d["host"], d["incident"], d["alerts"]')" = '[1, "local", "cli-ok", null, []]' ]
	[ "$(echo "$env" | json_get '[c["checker"] for c in d["checks"]]')" = '["memory", "load"]' ]
	[ "$(echo "$env" | json_get 'd["checks"][0]["status"], d["checks"][0]["metrics"]["memory_percent"]')" = '["ok", 50.0]' ]
	[ "$(echo "$env" | json_get 'd["checks"][0]["thresholds"]')" = '{"warning": "70", "critical": "90"}' ]
	[ "$(echo "$env" | json_get 'd["stages"][0]["stage"], d["stages"][0]["status"]')" = '["check", "ok"]' ]
	trace=$(echo "$env" | json_get 'd["trace_id"]')
	[[ "$trace" =~ ^[0-9a-f]{32}$ ]]
	run sql "SELECT checker, hostname, status, trace_id, warning_threshold, critical_threshold FROM check_runs ORDER BY id"
	[ "${lines[0]}" = "memory	cli-ok	ok	$trace	70	90" ]
	[ "${lines[1]}" = "load	cli-ok	ok	$trace	1.5	3" ]
	[ "$(stat -c %a "$SM_DB")" = 600 ]
	# The WAL stays between runs and is emptied once past 128 frames: it
	# never grows from run to run (each run re-reads it at open).
	for _ in 1 2 3; do sm-check memory >/dev/null; done
	[ "$(stat -c %s "$SM_DB-wal")" -le $((32 + 136 * (4096 + 24))) ]
	[ "$(sql 'SELECT count(*) FROM check_runs')" = 5 ]
}

@test "exit status: WARNING alone is 0, --fail-on-warning makes it 1" {
	host cli-warn
	run sm-check memory
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | json_get 'd["checks"][0]["status"]')" = warning ]
	run sm-check --fail-on-warning memory
	[ "$status" -eq 1 ]
	run sm-check --fail-on-critical memory
	[ "$status" -eq 0 ]
}

@test "exit status: CRITICAL is 2 in every mode" {
	host cli-crit
	for flag in "" --fail-on-warning --fail-on-critical --nagios; do
		# shellcheck disable=SC2086
		run sm-check $flag memory load
		[ "$status" -eq 2 ] || { echo "$flag -> $status"; false; }
	done
}

@test "a malformed /proc file makes that checker UNKNOWN (exit 3), others unaffected" {
	host cli-bad
	run sm-check memory load
	[ "$status" -eq 3 ]
	[ "$(echo "$output" | json_get 'd["checks"][0]["status"], d["checks"][1]["status"]')" = '["unknown", "ok"]' ]
	[[ "$(echo "$output" | json_get 'd["checks"][0]["message"]')" == "Check failed: "*meminfo* ]]
	run sm-check --fail-on-critical memory
	[ "$status" -eq 0 ]
	run sm-check --fail-on-warning memory load
	[ "$status" -eq 3 ]
}

@test "threshold overrides: plain numbers and plugin ranges" {
	host cli-ok
	run sm-check -w 40 -c 60 memory
	[ "$(echo "$output" | json_get 'd["checks"][0]["status"]')" = warning ]
	run sm-check --warning 40 --critical 45 memory
	[ "$status" -eq 2 ]
	# Ranges: outside 0:60 is not the case at 50 %, inside @40:60 is.
	run sm-check -w 0:60 -c 0:90 memory
	[ "$(echo "$output" | json_get 'd["checks"][0]["status"]')" = ok ]
	run sm-check -w @40:60 memory
	[ "$(echo "$output" | json_get 'd["checks"][0]["status"], d["checks"][0]["thresholds"]')" = '["warning", {"warning": "@40:60", "critical": "90"}]' ]
	run sql "SELECT warning_threshold FROM check_runs ORDER BY id DESC LIMIT 1"
	[ "$output" = "@40:60" ]
}

@test "--nagios: summary, perfdata and the plugin exit status" {
	host cli-warn
	run sm-check --nagios memory load
	[ "$status" -eq 1 ]
	[[ "${lines[0]}" == "SM WARNING - 2 of 2 checks not OK: memory: Memory usage: 75.0% "* ]]
	[[ "${lines[0]}" == *" | "*"memory=75%;70;90;0;100"* ]]
	[ "${lines[1]}" = "[WARNING] memory: ${lines[1]#\[WARNING\] memory: }" ]
	[[ "${lines[2]}" == "[WARNING] load: Load average: 4.00, 0.40, 0.30"* ]]
	host cli-ok
	run sm-check --nagios memory
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == "SM OK - 1 checks OK | memory=50%;70;90;0;100" ]]
	host cli-bad
	run sm-check --nagios memory load
	[ "$status" -eq 3 ]
	[[ "${lines[0]}" == "SM UNKNOWN - 1 of 2 checks not OK: memory: Check failed: "* ]]
}

@test "sm-check - enriches each envelope on stdin and keeps its trace id" {
	host cli-ok
	t1=0123456789abcdef0123456789abcdef
	t2=fedcba9876543210fedcba9876543210
	printf '%s\n\n%s\n' \
		"{\"v\":1,\"trace_id\":\"$t1\",\"source\":\"grafana\",\"extra\":{\"kept\":true},\"checks\":[{\"checker\":\"earlier\"}]}" \
		"{\"v\":1,\"trace_id\":\"$t2\",\"source\":\"alertmanager\"}" >"$TEST_DIR/in"
	run sm-check memory - <"$TEST_DIR/in"
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 2 ]
	[ "$(echo "${lines[1]}" | json_get 'd["host"]')" = cli-ok ]
	[ "$(echo "${lines[0]}" | json_get 'd["trace_id"], d["extra"], [c["checker"] for c in d["checks"]], d["stages"][-1]["stage"]')" = "[\"$t1\", {\"kept\": true}, [\"earlier\", \"memory\"], \"check\"]" ]
	[ "$(echo "${lines[1]}" | json_get 'd["trace_id"], d["source"]')" = "[\"$t2\", \"alertmanager\"]" ]
	run sql "SELECT trace_id FROM check_runs ORDER BY id"
	[ "$output" = "$t1
$t2" ]
}

@test "sm-check - : a malformed line is skipped with 65 naming it; the lines after it go on" {
	host cli-ok
	printf '%s\n%s\n%s\n' '{"v":1,"source":"a"}' '{"v":1,"source":' '{"v":1,"source":"c"}' >"$TEST_DIR/in"
	run --separate-stderr sm-check - memory <"$TEST_DIR/in"
	[ "$status" -eq 65 ]
	[ "${#lines[@]}" -eq 2 ]
	[ "$(echo "${lines[0]}" | json_get 'd["source"]')" = a ]
	[ "$(echo "${lines[1]}" | json_get 'd["source"]')" = c ]
	[[ "$stderr" == "sm-check: stdin:2: malformed JSON"* ]]
	[ "$(sql 'SELECT count(*) FROM check_runs')" = 2 ]
	for bad in '[1]' '{"source":"no v"}' '{"v":1,"trace_id":"short"}'; do
		run sm-check - memory <<<"$bad"
		[ "$status" -eq 65 ]
		[[ "$output" == "sm-check: stdin:1: "* ]]
	done
	printf '{"v":1,"s":"\xff"}\n' >"$TEST_DIR/bad-utf8"
	run sm-check - memory <"$TEST_DIR/bad-utf8"
	[ "$status" -eq 65 ]
	[[ "$output" == *"invalid UTF-8"* ]]
	[ "$(sql 'SELECT count(*) FROM check_runs')" = 2 ]
}

@test "an unwritable store: exit 3 naming it; results still shown, marked unrecorded" {
	host cli-ok
	SM_DB=/proc/sm-no-such-dir/sm.db run --separate-stderr sm-check memory
	[ "$status" -eq 3 ]
	[[ "$stderr" == "sm-check: cannot open the store: "*"/proc/sm-no-such-dir"* ]]
	[ "$(echo "$output" | json_get 'd["checks"][0]["status"], d["stages"][0]["status"], d["stages"][0]["error"]')" = '["ok", "failed", "cannot record check runs"]' ]
	# In a pipeline the envelopes still go on, each with a failed stage.
	printf '{"v":1}\n{"v":1}\n' >"$TEST_DIR/in"
	SM_DB=/proc/sm-no-such-dir/sm.db run --separate-stderr sm-check - memory <"$TEST_DIR/in"
	[ "$status" -eq 3 ]
	[ "${#lines[@]}" -eq 2 ]
	[ "$(echo "${lines[1]}" | json_get 'd["stages"][-1]["status"]')" = failed ]
	# A read-only store file: same story, nothing half-written.
	sm-check memory >/dev/null
	chmod 0400 "$SM_DB"
	if [ "$(id -u)" -ne 0 ]; then
		run --separate-stderr sm-check memory
		[ "$status" -eq 3 ]
		[[ "$stderr" == *"readonly"* || "$stderr" == *"read-only"* || "$stderr" == *"Permission denied"* ]]
	fi
}

@test "a bad dotenv file is reported with its line" {
	printf 'GOOD=1\nnot a setting\n' >"$TEST_DIR/sm.env"
	SM_ENV_FILE="$TEST_DIR/sm.env" run sm-check memory
	[ "$status" -eq 3 ]
	[ "$output" = "sm-check: SM_ENV_FILE: $TEST_DIR/sm.env:2: expected KEY=VALUE" ]
}

@test "real run: memory agrees with /proc/meminfo" {
	run sm-check memory
	[ "$status" -ne 64 ]
	total_kb=$(awk '/^MemTotal:/ {print $2}' /proc/meminfo)
	want=$(/usr/bin/python3 -c "print(round($total_kb*1024/1024**3, 2))")
	[ "$(echo "$output" | json_get 'd["checks"][0]["metrics"]["memory_total_gb"]')" = "$want" ]
	pct=$(echo "$output" | json_get 'd["checks"][0]["metrics"]["memory_percent"]')
	/usr/bin/python3 - "$pct" <<'PY'
import sys
m = {l.split(':')[0]: int(l.split()[1]) for l in open('/proc/meminfo')}
want = (m['MemTotal'] - m['MemAvailable']) / m['MemTotal'] * 100
got = float(sys.argv[1])
assert abs(got - want) < 2.0, (got, want)
PY
}

@test "real run: disk agrees with statvfs" {
	run sm-check disk --paths /,/tmp
	[ "$status" -ne 64 ]
	echo "$output" | /usr/bin/python3 -c '
import json, os, sys
d = json.loads(sys.stdin.readline())
disks = d["checks"][0]["metrics"]["disks"]
for path in ("/", "/tmp"):
    s = os.statvfs(path)
    used = (s.f_blocks - s.f_bfree) * s.f_frsize
    avail = s.f_bavail * s.f_frsize
    want = used / (used + avail) * 100
    assert abs(disks[path]["percent"] - want) < 0.5, (path, disks[path], want)
    assert abs(disks[path]["total_gb"] - s.f_blocks * s.f_frsize / 1024**3) < 0.01
'
}

@test "samplers run concurrently and honour --samples/--interval" {
	run sm-check --samples 2 --interval 0.1 cpu io_strain load
	[ "$status" -ne 64 ]
	[ "$(echo "$output" | json_get 'd["checks"][0]["metrics"]["samples"]')" = 2 ]
	[ "$(echo "$output" | json_get '[c["checker"] for c in d["checks"]]')" = '["cpu", "io_strain", "load"]' ]
}

@test "on a terminal: an aligned table, colour unless NO_COLOR" {
	host cli-warn
	run script -qec "$SM_BIN/sm-check memory load" /dev/null
	[[ "$output" == *"CHECKER"*"STATUS"*"MESSAGE"* ]]
	[[ "$output" == *$'\e[33mWARNING'* ]]
	[[ "$output" == *"2 checks: 0 ok, 2 warning, 0 critical, 0 unknown"* ]]
	[[ "$output" == *"memory_percent: 75.0%"* ]]
	[[ "$output" == *"memory_total_gb: "*" GB"* ]]
	[[ "$output" == *"what to do: see what holds memory: ps -eo pid,rss,comm --sort=-rss | head"* ]]
	NO_COLOR=1 run script -qec "$SM_BIN/sm-check memory" /dev/null
	[[ "$output" != *$'\e['* ]]
	[[ "$output" == *"memory   WARNING  Memory usage: 75.0%"* ]]
	COLUMNS=30 NO_COLOR=1 run script -qec "$SM_BIN/sm-check memory" /dev/null
	[[ "$output" == *"memory   WARNING  Memory usag…"* ]]
	# --json wins over the terminal.
	run script -qec "$SM_BIN/sm-check --json memory" /dev/null
	[[ "$output" == '{"v":1,'* ]]
}

# A host tree for disk_linux: seven package archives (3 MB down to 1 MB,
# 13 MB in all), a journal and a large file under /opt.
disk_host() {
	local root=$TEST_DIR/host
	mkdir -p "$root/var/cache/apt/archives" "$root/var/log/journal/x" "$root/opt/data"
	for i in 1 2 3 4 5 6 7; do
		truncate -s "$(((i < 3 ? 3 : i < 5 ? 2 : 1) * 1048576))" "$root/var/cache/apt/archives/p$i.deb"
	done
	truncate -s 2M "$root/var/log/journal/x/system.journal"
	truncate -s 150M "$root/opt/data/disk.img"
	# An old file whose name would recolour a terminal.
	mkdir -p "$root/tmp"
	touch -d '10 days ago' "$root/tmp/evil"$'\e'"[31mname"
	export SM_HOST_ROOT=$root
}

@test "on a terminal: the disk analysis by directory with what to do, the largest items, -v for all" {
	disk_host
	NO_COLOR=1 run script -qec "$SM_BIN/sm-check -w 1 disk_linux" /dev/null
	[[ "$output" == *"disk_linux  WARNING  Disk analysis: 165.0 MB recoverable"* ]]
	# Largest directory first, each with its advice on the same line.
	[[ "$output" == *"WARNING disk_linux"*"    /opt  150.0 MB in 1 large file - Review and remove large files in /srv and /opt"*"    /var/cache/apt/archives  13.0 MB in 7 items - Clear APT package cache: sudo apt clean"*"    /var/log/journal  2.0 MB in 1 item - Trim systemd journal logs: sudo journalctl --vacuum-size=100M"* ]]
	[[ "$output" == *"    largest:"*"       150.0 MB  /opt/data/disk.img"*"         3.0 MB  /var/cache/apt/archives/p1.deb"* ]]
	[[ "$output" == *"    /tmp  0 B in 1 old item - Remove old temporary files from /tmp"* ]]
	# Five items by default, the rest behind -v.
	[ "$(echo "$output" | grep -c '^ *[0-9.]* MB  /')" -eq 5 ]
	[[ "$output" == *"      ... 5 more (-v)"* ]]
	NO_COLOR=1 run script -qec "$SM_BIN/sm-check -v -w 1 disk_linux" /dev/null
	[ "$(echo "$output" | grep -c '^ *[0-9.]* MB  /')" -eq 9 ]
	[[ "$output" == *"         1.0 MB  /var/cache/apt/archives/p7.deb"* ]]
	[[ "$output" != *"more (-v)"* ]]
	# Names from the host print without their control characters.
	[[ "$output" == *"          0 B  /tmp/evil?[31mname (10 days old)"* ]]
	[[ "$output" != *$'\e'* ]]
	# The envelope carries the same groups, advice included.
	run sm-check -w 1 disk_linux
	[ "$(echo "$output" | json_get '[(g["path"], g["kind"], g["size_mb"], g["count"], g["advice"]) for g in d["checks"][0]["metrics"]["by_directory"]]')" = '[["/opt", "large_files", 150.0, 1, ["Review and remove large files in /srv and /opt"]], ["/var/cache/apt/archives", "space_hogs", 13.0, 7, ["Clear APT package cache: sudo apt clean"]], ["/var/log/journal", "space_hogs", 2.0, 1, ["Trim systemd journal logs: sudo journalctl --vacuum-size=100M"]], ["/tmp", "old_files", 0.0, 1, ["Remove old temporary files from /tmp"]]]' ]
}

@test "on a terminal: disk --paths, one row per path with the free space beside the percentage" {
	disk_host
	NO_COLOR=1 run script -qec "$SM_BIN/sm-check -w 0 --paths /,/opt,/missing disk" /dev/null
	[[ "$output" == *"UNKNOWN disk"* ]]
	echo "$output" | grep -Eq '^    /  [0-9]+\.[0-9]% used, [0-9.]+ [KMGTP]?B free of [0-9.]+ [KMGTP]?B'
	echo "$output" | grep -Eq '^    /opt  [0-9]+\.[0-9]% used, [0-9.]+ [KMGTP]?B free of [0-9.]+ [KMGTP]?B'
	[[ "$output" == *"    /missing  error: No such file or directory"* ]]
	# No raw JSON in the details, and the error is not said twice.
	[[ "$output" != *'{"percent"'* ]]
	[[ "$output" == *"    Disk check error: path '/missing' not accessible"* ]]
	[[ "$output" != *"    error: Disk check error"* ]]
	# The advice names the path the result is about.
	NO_COLOR=1 run script -qec "$SM_BIN/sm-check -w 0 --paths /opt disk" /dev/null
	[[ "$output" == *"what to do: see what fills it: sudo du -xh --max-depth=2 /opt | sort -h | tail"* ]]
	NO_COLOR=1 run script -qec "$SM_BIN/sm-check -w 0 --paths /opt disk_inodes" /dev/null
	echo "$output" | grep -Eq '^    /opt  [0-9]+\.[0-9]% of inodes used, [0-9]+ free of [0-9]+'
}

@test "on a terminal: -v shows the details of OK results too; lists are cut at five otherwise" {
	host cli-ok
	NO_COLOR=1 run script -qec "$SM_BIN/sm-check memory" /dev/null
	[[ "$output" != *"OK memory"* ]]
	NO_COLOR=1 run script -qec "$SM_BIN/sm-check --verbose memory" /dev/null
	[[ "$output" == *"OK memory"*"memory_percent: "*"%"* ]]
	# No advice for a result that needs none.
	[[ "$output" != *"what to do"* ]]
	run sm-check -v memory
	[ "$status" -eq 0 ]
	[[ "$output" == '{"v":1,'* ]] # -v changes nothing off a terminal
}

@test "real run: listening_ports sees real listeners, netlink and /proc agree" {
	/usr/bin/python3 -c '
import socket, sys, time
a = socket.socket(); a.bind(("127.0.0.1", 0)); a.listen()
b = socket.socket(); b.bind(("0.0.0.0", 0)); b.listen()
print(a.getsockname()[1], b.getsockname()[1], flush=True)
time.sleep(30)' >"$TEST_DIR/ports" &
	pid=$!
	for _ in $(seq 50); do [ -s "$TEST_DIR/ports" ] && break; sleep 0.1; done
	read -r loop exposed <"$TEST_DIR/ports"
	run sm-check listening_ports
	live=$output
	run env SM_PROC_ROOT=/proc/. sm-check listening_ports
	files=$output
	kill "$pid"
	for out in "$live" "$files"; do
		echo "$out" | /usr/bin/python3 -c "
import json, sys
d = json.loads(sys.stdin.readline())['checks'][0]
ports = {(l['port'], l['address']): l for l in d['metrics']['listening']}
assert ($loop, '127.0.0.1') in ports, ports
assert ports[($loop, '127.0.0.1')]['exposed'] is False
assert ports[($exposed, '0.0.0.0')]['exposed'] is True
assert $exposed in d['metrics']['unexpected_ports'] and $loop not in d['metrics']['unexpected_ports']
assert d['status'] == 'warning', d
"
	done
	# The two runs are a moment apart while other suites open and close
	# loopback servers on ephemeral ports: compare this test's two sockets
	# and the stable listeners below the ephemeral range.
	local keep="sorted((l['port'], l['address'], l['exposed']) for l in d['checks'][0]['metrics']['listening'] if l['port'] < 32768 or l['port'] in ($loop, $exposed))"
	[ "$(echo "$live" | json_get "$keep")" = "$(echo "$files" | json_get "$keep")" ]
	LISTENING_PORTS_ALLOWLIST="$exposed,$loop" run sm-check listening_ports
	[ "$(echo "$output" | json_get "$exposed in d['checks'][0]['metrics']['unexpected_ports']")" = false ]
}

# no_leak_check CMD...: CMD with LeakSanitizer off (in the sanitized build), for
# a run under strace: a process has one tracer, and LeakSanitizer needs to
# be it. Every other run checks for leaks.
no_leak_check() { ASAN_OPTIONS="${ASAN_OPTIONS:-}:detect_leaks=0" "$@"; }

# Two listeners on 127.0.0.1: HELD, held by this helper, and ORPHAN, whose
# only descriptor is in flight in a unix socket, so no process holds it and
# listening_ports looks at every process for it. Writes "PID HELD ORPHAN" to
# $TEST_DIR/listeners.
start_listeners() {
	/usr/bin/python3 -c '
import array, os, socket, time
os.closerange(3, 65536)  # a few fds: one read of its fd directory
held = socket.socket(); held.bind(("127.0.0.1", 0)); held.listen()
orphan = socket.socket(); orphan.bind(("127.0.0.1", 0)); orphan.listen()
a, b = socket.socketpair()
a.sendmsg([b"x"], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", [orphan.fileno()]))])
port = orphan.getsockname()[1]
orphan.close()
print(os.getpid(), held.getsockname()[1], port, flush=True)
time.sleep(30)' >"$TEST_DIR/listeners" 3>&- &
	for _ in $(seq 50); do [ -s "$TEST_DIR/listeners" ] && break; sleep 0.1; done
	read -r helper held orphan <"$TEST_DIR/listeners"
}

# fd_dir_calls TRACE PID: "OPENS READS LINKS FIRST", how often strace's
# TRACE opened PID's fd directory, read it (getdents64) and read a link in
# it, and how many bytes the first read asked for (0: none).
fd_dir_calls() {
	/usr/bin/python3 - "$1" "$2" <<'PY'
import re, sys
opens = reads = links = first = 0
fd = None
for line in open(sys.argv[1]):
    m = re.search(r'openat\(\d+, "%s/fd", .*\) = (\d+)' % sys.argv[2], line)
    if m:
        opens, fd = opens + 1, m.group(1)
        continue
    m = fd is not None and re.search(r'getdents64\(%s, .*, (\d+)\)' % fd, line)
    if m:
        reads += 1
        first = first or int(m.group(1))
    elif fd is not None and re.search(r'readlinkat\(%s,' % fd, line):
        links += 1
    elif fd is not None and re.search(r'close\(%s\)' % fd, line):
        fd = None
print(opens, reads, links, first)
PY
}

@test "real run: listening_ports names owners, reading each fd directory once and skipping processes without fds" {
	need_peer "strace is not installed" command -v strace
	start_listeners
	/usr/bin/python3 -c '
import os, sys, time
os.closerange(0, 65536)
with open(sys.argv[1], "w") as f:
    f.write("closed")
time.sleep(30)' "$TEST_DIR/nofds" 3>&- &
	nofds=$!
	for _ in $(seq 50); do [ -s "$TEST_DIR/nofds" ] && break; sleep 0.1; done
	fds=$(stat -c %s "/proc/$nofds/fd")
	# A listener behind 40 other fds: read past the first read's few.
	/usr/bin/python3 -c '
import socket, sys, time
files = [open("/dev/null") for _ in range(40)]
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen()
open(sys.argv[1], "w").write(str(s.getsockname()[1]))
time.sleep(30)' "$TEST_DIR/many" 3>&- &
	many=$!
	for _ in $(seq 50); do [ -s "$TEST_DIR/many" ] && break; sleep 0.1; done
	run no_leak_check strace -f -qq -e trace=openat,getdents64,readlinkat,newfstatat,close \
		-o "$TEST_DIR/trace" "$SM_BIN/sm-check" listening_ports
	kill "$helper" "$nofds" "$many"
	check=$(echo "$output" | json_get "[[(l['pid'], l['process']) for l in d['checks'][0]['metrics']['listening'] if l['port'] == p] for p in ($held, $orphan, $(cat "$TEST_DIR/many"))]")
	[ "$check" = "[[[$helper, \"python3\"]], [[null, null]], [[$many, \"python3\"]]]" ]
	# /proc is opened once, for the listing and each fd directory.
	[ "$(grep -c 'openat(AT_FDCWD, "/proc",' "$TEST_DIR/trace")" -eq 1 ]
	# The orphan made it look at the helper, whose few fds one read
	# returns: procfs's directory ends where a read leaves room.
	read -r opens reads links first < <(fd_dir_calls "$TEST_DIR/trace" "$helper")
	[ "$opens" -eq 1 ]
	[ "$reads" -eq 1 ]
	[ "$links" -ge 3 ]
	# A process with no fds is not opened where the kernel counts them
	# (Linux 6.2 and later: the size of /proc/PID/fd).
	if [ "$(stat -c %s /proc/self/fd)" -gt 0 ]; then
		[ "$fds" -eq 0 ]
		read -r opens reads links first < <(fd_dir_calls "$TEST_DIR/trace" "$nofds")
		[ "$opens" -eq 0 ]
		grep -q "\"$nofds/fd\"" "$TEST_DIR/trace" # looked at, by its size
	fi
}

@test "real run: listening_ports reads one link of a process whose links are refused" {
	need_peer "strace is not installed" command -v strace
	[ "$(id -u)" -eq 0 ] || skip "dropping a capability from root's set needs root"
	start_listeners
	/usr/bin/python3 -c '
import sys, time
files = [open("/dev/null") for _ in range(40)]
open(sys.argv[1], "w").write("open")
time.sleep(30)' "$TEST_DIR/many" 3>&- &
	many=$!
	for _ in $(seq 50); do [ -s "$TEST_DIR/many" ] && break; sleep 0.1; done
	# Without CAP_SYS_PTRACE root may list another process's fds (root
	# here holds more capabilities than sm-check) but not read its links.
	run no_leak_check setpriv --bounding-set=-sys_ptrace strace -f -qq \
		-e trace=openat,getdents64,readlinkat,close -o "$TEST_DIR/trace" \
		"$SM_BIN/sm-check" listening_ports
	kill "$helper" "$many"
	[ "$(echo "$output" | json_get "[l['pid'] for l in d['checks'][0]['metrics']['listening'] if l['port'] == $held]")" = "[null]" ]
	read -r opens reads links first < <(fd_dir_calls "$TEST_DIR/trace" "$helper")
	[ "$opens" -eq 1 ]
	[ "$links" -eq 1 ]
	grep -q 'readlinkat(.*EACCES' "$TEST_DIR/trace"
	# A process with many fds is not listed past its refused first link,
	# where the kernel counts fds.
	if [ "$(stat -c %s /proc/self/fd)" -gt 0 ]; then
		read -r opens reads links first < <(fd_dir_calls "$TEST_DIR/trace" "$many")
		[ "$opens" -eq 1 ]
		[ "$reads" -eq 1 ]
		[ "$links" -eq 1 ]
		[ "$first" -le 128 ]
	fi
}

@test "a run's commit waits for the disk only with --alerts" {
	need_peer "strace is not installed" command -v strace
	host cli-ok
	sm-check memory >/dev/null # the store made and migrated
	no_leak_check strace -f -qq -e trace=fsync,fdatasync -o "$TEST_DIR/syncs.plain" \
		"$SM_BIN/sm-check" memory >/dev/null
	[ "$(grep -c sync "$TEST_DIR/syncs.plain")" -eq 0 ]
	no_leak_check strace -f -qq -e trace=fsync,fdatasync -o "$TEST_DIR/syncs.alerts" \
		"$SM_BIN/sm-check" --alerts memory >/dev/null
	[ "$(grep -c sync "$TEST_DIR/syncs.alerts")" -ge 1 ]
	[ "$(sql "SELECT count(*) FROM check_runs WHERE checker = 'memory'")" -eq 3 ]
}

# Set the agents table of the test store: agent INSTANCE_ID pushed SECONDS ago.
agent_pushed() { # INSTANCE_ID HOSTNAME SECONDS
	/usr/bin/python3 - "$SM_DB" "$@" <<'PY'
import datetime, sqlite3, sys
db, iid, host, ago = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
t = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(seconds=ago)
t = t.strftime("%Y-%m-%dT%H:%M:%SZ")
with sqlite3.connect(db) as c:
    c.execute("INSERT INTO agents (instance_id, hostname, first_push_at, last_push_at,"
              " last_address, pushes) VALUES (?, ?, ?, ?, '192.0.2.7', 1)"
              " ON CONFLICT (instance_id) DO UPDATE SET last_push_at = excluded.last_push_at",
              (iid, host, t, t))
PY
}

@test "agents: skipped off a hub; a silent agent is WARNING/CRITICAL and an incident with --alerts" {
	host cli-ok
	# Not a hub (no agent ever pushed): OK, skipped, so a full run stays quiet.
	run sm-check agents
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | json_get 'd["checks"][0]["status"], d["checks"][0]["message"]')" = '["ok", "Skipped: no agents have pushed to this hub"]' ]
	agent_pushed web-01 web-01 60
	agent_pushed db-01 db-01 2400
	run sm-check agents
	[ "$status" -eq 2 ]
	[ "$(echo "$output" | json_get 'd["checks"][0]["status"], d["checks"][0]["message"], d["checks"][0]["thresholds"]')" = '["critical", "1 of 2 agents silent: db-01 (40 min)", {"warning": "900", "critical": "1800"}]' ]
	[ "$(echo "$output" | json_get '[(a["instance_id"], a["status"]) for a in d["checks"][0]["metrics"]["agents"]]')" = '[["db-01", "critical"], ["web-01", "ok"]]' ]
	# Pushes every 10 min: 40 min of silence is only a warning.
	run sm-check --push-interval 600 agents
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | json_get 'd["checks"][0]["status"], d["checks"][0]["thresholds"], d["checks"][0]["metrics"]["expected_interval_s"]')" = '["warning", {"warning": "1800", "critical": "3600"}, 600.0]' ]
	run sm-check --nagios agents
	[ "$status" -eq 2 ]
	[[ "${lines[0]}" =~ ^"SM CRITICAL - 1 of 1 checks not OK: agents: 1 of 2 agents silent: db-01 (40 min) | silent=1;;;0 oldest_silence=240"[0-9]"s;900;1800;0"$ ]]
	# --alerts: the dead agent becomes an incident; its next push resolves it.
	run sm-check --alerts agents
	[ "$status" -eq 2 ]
	[ "$(echo "$output" | json_get 'd["incident"]["title"], d["alerts"][0]["fingerprint"], d["alerts"][0]["change"], d["alerts"][0]["severity"]')" = '["agents on cli-ok", "agents-cli-ok", "created", "critical"]' ]
	[ "$(sql "SELECT name, status FROM alerts")" = "agents	firing" ]
	agent_pushed db-01 db-01 5
	run sm-check --alerts agents
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | json_get 'd["checks"][0]["message"], d["alerts"][0]["change"], d["incident"]["status"]')" = '["2 agents pushing (last silence 1 min)", "resolved", "resolved"]' ]
	# A store that cannot be opened: UNKNOWN with the reason.
	SM_DB=/proc/sm-no-such-dir/sm.db run --separate-stderr sm-check agents
	[ "$status" -eq 3 ]
	[[ "$(echo "$output" | json_get 'd["checks"][0]["message"]')" == "Check failed: cannot open the store: /proc/sm-no-such-dir"* ]]
}

@test "--alerts: each check_runs row names the alert it became or resolved" {
	host cli-warn
	run sm-check --alerts memory swap
	[ "$status" -eq 0 ]
	# memory fired (alert 1); swap is fine and has no alert.
	[ "$(sql "SELECT c.checker, a.fingerprint, a.status FROM check_runs c LEFT JOIN alerts a ON a.id = c.alert_id ORDER BY c.id" | tr '\n' ' ')" = "memory	memory-cli-warn	firing swap		 " ]
	cp -r "$SM_FIXTURES/hosts/cli-warn" "$TEST_DIR/host"
	cp "$SM_FIXTURES/hosts/cli-ok/proc/meminfo" "$TEST_DIR/host/proc/meminfo"
	# The OK result resolves the alert: its row names it.
	SM_HOST_ROOT="$TEST_DIR/host" run sm-check --alerts memory
	[ "$(sql "SELECT c.status, a.status FROM check_runs c JOIN alerts a ON a.id = c.alert_id WHERE c.id = 3")" = "ok	resolved" ]
	# Fine again: nothing resolved, nothing named.
	SM_HOST_ROOT="$TEST_DIR/host" run sm-check --alerts memory
	[ "$(sql "SELECT status, alert_id IS NULL FROM check_runs WHERE id = 4")" = "ok	1" ]
	# Without --alerts no row names an alert.
	run sm-check memory
	[ "$(sql "SELECT alert_id IS NULL FROM check_runs WHERE id = 5")" = 1 ]
}

@test "--alerts --hostname NAME --label KEY=VALUE: the name and labels of the alerts" {
	host cli-warn
	run sm-check --alerts --hostname web-07 --label team=db --label note=a=b --label hostname=web-07.example.org memory
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | json_get 'd["host"], d["incident"]["title"], d["alerts"][0]["fingerprint"], d["alerts"][0]["labels"]')" = '["web-07", "memory on web-07.example.org", "memory-web-07", {"checker": "memory", "hostname": "web-07.example.org", "team": "db", "note": "a=b"}]' ]
	[ "$(sql "SELECT hostname FROM check_runs")" = web-07 ]
	[ "$(sql "SELECT fingerprint, json_extract(labels, '\$.team') FROM alerts")" = "memory-web-07	db" ]
	# --hostname alone names the host of the check envelope.
	run sm-check --hostname web-08 memory
	[ "$(echo "$output" | json_get 'd["host"]')" = web-08 ]
	for args in "--alerts --label team memory" "--alerts --label =x memory" "--label team=db memory" \
		"--hostname -x memory" "--alerts --hostname a;b memory"; do
		# shellcheck disable=SC2086
		run sm-check $args
		[ "$status" -eq 64 ] || { echo "args: $args -> $status"; false; }
		[ "${#lines[@]}" -eq 1 ]
		[[ "$output" == "sm-check: --"* ]]
	done
	run sm-check --hostname "a b" memory
	[ "$status" -eq 64 ]
}

@test "queue: skipped off a hub; a queue deeper than INBOX_DEPTH_WARN is WARNING, -c CRITICAL" {
	host cli-ok
	# No store: nothing is created for the check's sake beyond sm-check's own.
	run sm-check queue
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | json_get 'd["checks"][0]["status"], d["checks"][0]["message"]')" = '["ok", "Skipped: nothing was ever queued in this store"]' ]
	for name in A B C; do am_payload "$name" db-01 firing | sm-ingest --queue >/dev/null; done
	run sm-check queue
	[ "$(echo "$output" | json_get 'd["checks"][0]["status"], d["checks"][0]["message"], d["checks"][0]["metrics"], d["checks"][0]["thresholds"]')" = '["ok", "3 items waiting in the webhook queue", {"depth": 3, "failed": 0}, {"warning": "500", "critical": "5000"}]' ]
	INBOX_DEPTH_WARN=2 run sm-check queue
	[ "$(echo "$output" | json_get 'd["checks"][0]["status"], d["checks"][0]["message"], d["checks"][0]["thresholds"]')" = '["warning", "3 items waiting in the webhook queue: the workers do not keep up (sm-pipeline work)", {"warning": "2", "critical": "20"}]' ]
	run sm-check --nagios -c 2 queue
	[ "$status" -eq 2 ]
	[[ "${lines[0]}" == *"queue: 3 items waiting in the webhook queue: the workers do not keep up (sm-pipeline work) | depth=3;500;2;0"* ]]
	# Drained items no longer count; a dead letter is named.
	sql "UPDATE inbox SET state = 'done' WHERE id < 3"
	sql "UPDATE inbox SET state = 'failed' WHERE id = 3"
	run sm-check queue
	[ "$(echo "$output" | json_get 'd["checks"][0]["status"], d["checks"][0]["message"]')" = '["ok", "0 items waiting in the webhook queue; 1 failed (sm-pipeline queue --status failed)"]' ]
	INBOX_DEPTH_WARN=x run --separate-stderr sm-check queue
	[ "$(echo "$output" | json_get 'd["checks"][0]["status"], d["checks"][0]["message"]')" = '["unknown", "Check failed: INBOX_DEPTH_WARN: expected a number from 0"]' ]
}

@test "checker options come from the checkers: --help and --list --json name them" {
	run sm-check --help
	[ "$status" -eq 0 ]
	[[ "$output" == *$'\n'"checker options:"$'\n'* ]]
	[[ "$output" == *"  --paths P,...        disk, disk_inodes: paths to check (default /)"* ]]
	[[ "$output" == *"  --samples N          cpu, io_strain: "* ]]
	[[ "$output" == *"  --push-interval S    agents: "* ]]
	run sm-check --list --json
	[ "$(echo "${lines[0]}" | json_get 'd["options"]')" = '["per-cpu", "samples", "interval"]' ]
	[ "$(echo "${lines[2]}" | json_get 'd["options"]')" = '[]' ]
	# Lists add up over repeated flags; the last number counts.
	host cli-ok
	run sm-check --paths / --paths /proc --samples 3 --samples 1 --interval 0.01 disk cpu
	[ "$(echo "$output" | json_get 'sorted(d["checks"][0]["metrics"]["disks"]), d["checks"][1]["metrics"]["samples"]')" = '[["/", "/proc"], 1]' ]
}

@test "sm-check - : unreadable input (a directory) is 65, not the end of input" {
	host cli-ok
	run --separate-stderr sm-check - memory </
	[ "$status" -eq 65 ]
	[[ "$stderr" == "sm-check: stdin: read error: Is a directory" ]]
	[ "$(sql 'SELECT count(*) FROM check_runs')" = 0 ]
}

@test "every tool's --help and --version to a full disk exit 1 'write error'" {
	for tool in sm-check sm-ingest sm-analyze sm-notify sm-pipeline sm-push-hub; do
		for opt in --help --version; do
			run --separate-stderr bash -c "$tool $opt >/dev/full"
			[ "$status" -eq 1 ]
			[[ "$stderr" == "$tool: standard output: write error: No space left on device" ]]
		done
	done
}
