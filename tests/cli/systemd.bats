#!/usr/bin/env bats
# The systemd units of dist/systemd: installed by cmake --install (with the
# sysusers.d file for their user), pointing at the installed programs, and
# passing systemd-analyze verify.

bats_require_minimum_version 1.5.0
load helpers

setup() {
	setup_sm
	command -v systemd-analyze >/dev/null || skip "systemd-analyze is not installed"
	# The man pages the units' Documentation= names, where man(1) finds them.
	mkdir -p "$TEST_DIR/man/man1" "$TEST_DIR/man/man5" "$TEST_DIR/man/man7"
	for page in "$BATS_TEST_DIRNAME"/../../man/*.[157]; do
		ln -s "$page" "$TEST_DIR/man/man${page##*.}/"
	done
	export MANPATH=$TEST_DIR/man
}

teardown() {
	teardown_sm
}

units=(sm-pipeline-work.service sm-check.service sm-check.timer sm-ingest.socket sm-ingest.service
	sm-prune.service sm-prune.timer sm-notify-resend.service sm-notify-resend.timer)

@test "cmake --install puts the units and the sysusers.d file in place, for the installed programs" {
	DESTDIR=$TEST_DIR/root cmake --install "$SM_BIN/.." >/dev/null
	dir=$(find "$TEST_DIR/root" -type d -path '*/lib/systemd/system')
	[ -n "$dir" ]
	for unit in "${units[@]}"; do
		[ -f "$dir/$unit" ]
		[ "$(grep -c '@bindir@' "$dir/$unit")" = 0 ]
	done
	grep -q '^u sm ' "$dir/../../sysusers.d/sm.conf"
	# ExecStart names the programs where they were installed.
	for unit in "$dir"/*.service; do
		program=$(sed -n 's/^ExecStart=\([^ ]*\).*/\1/p' "$unit")
		[ -x "$TEST_DIR/root$program" ]
	done
	grep -q '^ExecStart=.*/sm-pipeline work ' "$dir/sm-pipeline-work.service"
	grep -q '^ExecStart=.*/sm-pipeline run --definition local-monitor$' "$dir/sm-check.service"
	grep -q '^StandardInput=socket$' "$dir/sm-ingest.service"
	grep -q '^ExecStart=.*/sm-pipeline prune$' "$dir/sm-prune.service"
	grep -q '^ExecStart=.*/sm-notify resend$' "$dir/sm-notify-resend.service"
}

@test "the units pass systemd-analyze verify, with the service settings the worker needs" {
	DESTDIR=$TEST_DIR/root cmake --install "$SM_BIN/.." >/dev/null
	dir=$(find "$TEST_DIR/root" -type d -path '*/lib/systemd/system')
	mkdir "$TEST_DIR/units"
	# The programs are not installed on this machine: the built ones stand in.
	for unit in "${units[@]}"; do
		sed -E "s|^ExecStart=[^ ]*/(sm-[a-z-]+)|ExecStart=$SM_BIN/\\1|" "$dir/$unit" >"$TEST_DIR/units/$unit"
	done
	cd "$TEST_DIR/units"
	run systemd-analyze verify "${units[@]}"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	for setting in Restart=always EnvironmentFile=-/etc/sm/sm.env User=sm StateDirectory=sm \
		ProtectSystem=strict NoNewPrivileges=yes PrivateTmp=yes KillMode=mixed; do
		grep -qx "$setting" sm-pipeline-work.service
	done
	grep -qx "OnUnitActiveSec=5min" sm-check.timer
	grep -qx "OnCalendar=daily" sm-prune.timer
	grep -qx "OnUnitActiveSec=1min" sm-notify-resend.timer
	for setting in EnvironmentFile=-/etc/sm/sm.env User=sm StateDirectory=sm Type=oneshot \
		ProtectSystem=strict NoNewPrivileges=yes PrivateTmp=yes; do
		grep -qx "$setting" sm-notify-resend.service
	done
	grep -qx "ListenStream=/run/sm/sm-ingest.sock" sm-ingest.socket
	# A unit naming a program that is not there fails the check.
	sed 's|^ExecStart=[^ ]*|ExecStart=/nonexistent/sm-pipeline|' sm-pipeline-work.service >broken.service
	run systemd-analyze verify broken.service
	[ "$status" -ne 0 ]
}
