#!/usr/bin/env bats
# The same rules in every tool: the plugin contract of --nagios, unique
# perfdata labels, a directory given as FILE, errors that name the option,
# --help and --version beside a broken env file, SM_LOG_LEVEL, durations
# wherever seconds are asked, --help in 80 columns.

# shellcheck disable=SC2154 # bats sets $output, $status and $stderr
bats_require_minimum_version 1.5.0
load helpers

setup() { setup_sm; }
teardown() { teardown_sm; }

TOOLS=(sm-check sm-ingest sm-analyze sm-notify sm-pipeline sm-push-hub)

@test "--nagios: a usage error is UNKNOWN (3) with one line on stdout saying why" {
	run --separate-stderr sm-check --nagios --bogus
	[ "$status" -eq 3 ]
	[ "$output" = "SM UNKNOWN - unknown option '--bogus' (see sm-check --help)" ]
	[ "$stderr" = "sm-check: unknown option '--bogus' (see sm-check --help)" ]
	# Before --nagios is read, too, and for every kind of usage error.
	run --separate-stderr sm-check --bogus --nagios
	[ "$status" -eq 3 ]
	[[ "$output" == "SM UNKNOWN - unknown option '--bogus'"* ]]
	run --separate-stderr sm-check --nagios nosuch
	[ "$status" -eq 3 ]
	[[ "$output" == "SM UNKNOWN - unknown checker 'nosuch' (available: "* ]]
	run --separate-stderr sm-check --nagios -w junk memory
	[ "$status" -eq 3 ]
	[[ "$output" == "SM UNKNOWN - "* ]]
	run --separate-stderr sm-check --nagios --fail-on-warning memory
	[ "$status" -eq 3 ]
	[ "$output" = "SM UNKNOWN - --nagios has its own exit statuses; drop --fail-on-*" ]
	run --separate-stderr sm-check --nagios --interval 2x cpu
	[ "$status" -eq 3 ]
	[[ "$output" == "SM UNKNOWN - --interval: "* ]]
	# A broken env file too.
	echo "not a line" >"$TEST_DIR/sm.env"
	run --separate-stderr env SM_ENV_FILE="$TEST_DIR/sm.env" sm-check --nagios memory
	[ "$status" -eq 3 ]
	[ "$output" = "SM UNKNOWN - SM_ENV_FILE: $TEST_DIR/sm.env:1: expected KEY=VALUE" ]
	# Without --nagios a usage error stays 64 with nothing on stdout.
	run --separate-stderr sm-check --bogus
	[ "$status" -eq 64 ]
	[ -z "$output" ]
}

@test "--nagios: every perfdata label is unique across all the checkers" {
	export SM_WALK_TIMEOUT=2s
	run --separate-stderr sm-check --nagios --interval 0.05 --samples 2 --hosts 127.0.0.1
	[ "$status" -le 3 ]
	echo "${lines[0]}" | /usr/bin/python3 -c '
import shlex, sys
line = sys.stdin.readline()
perf = line.split(" | ", 1)[1]
labels = [item.rsplit("=", 1)[0] for item in shlex.split(perf)]
dups = sorted({l for l in labels if labels.count(l) > 1})
assert not dups, "repeated labels: %s" % dups
assert "disk_common_recoverable" in labels and "disk_linux_recoverable" in labels, labels
print(len(labels), "labels")'
}

@test "a directory given as FILE is a read error, as in every tool that reads a stream" {
	mkdir "$TEST_DIR/dir"
	for tool in sm-ingest sm-notify sm-analyze; do
		run --separate-stderr "$tool" "$TEST_DIR/dir"
		[ "$status" -eq 65 ] || { echo "$tool: $status"; false; }
		[ "$stderr" = "$tool: $TEST_DIR/dir: read error: Is a directory" ]
	done
	run --separate-stderr sm-ingest --dry-run "$TEST_DIR/dir"
	[ "$status" -eq 65 ]
	run --separate-stderr sm-ingest <"$TEST_DIR/dir"
	[ "$status" -eq 65 ]
	[ "$stderr" = "sm-ingest: stdin: read error: Is a directory" ]
	run --separate-stderr sm-check - <"$TEST_DIR/dir"
	[ "$status" -eq 65 ]
	[ "$stderr" = "sm-check: stdin: read error: Is a directory" ]
	run --separate-stderr sm-pipeline run --payload "$TEST_DIR/dir"
	[ "$status" -eq 1 ]
	[ "$stderr" = "sm-pipeline: $TEST_DIR/dir: read error: Is a directory" ]
	[ "$(sql "SELECT count(*) FROM alerts")" = 0 ]
}

@test "an unknown option is named as written, in every tool" {
	for tool in "${TOOLS[@]}"; do
		run --separate-stderr "$tool" -Z
		[ "$status" -eq 64 ]
		[ "$stderr" = "$tool: unknown option '-Z' (see $tool --help)" ] || { echo "$stderr"; false; }
		run --separate-stderr "$tool" --json -hZ
		[ "$status" -eq 0 ] # -h comes first in the cluster
		run --separate-stderr "$tool" -Zh
		[ "$stderr" = "$tool: unknown option '-Z' (see $tool --help)" ] || { echo "$stderr"; false; }
		run --separate-stderr "$tool" --no-such=1
		[ "$stderr" = "$tool: unknown option '--no-such' (see $tool --help)" ]
		run --separate-stderr "$tool" --version=2
		[ "$stderr" = "$tool: option '--version' takes no value (see $tool --help)" ]
	done
	run --separate-stderr sm-ingest --limit
	[ "$stderr" = "sm-ingest: option '--limit' needs a value (see sm-ingest --help)" ]
	run --separate-stderr sm-ingest -d
	[ "$stderr" = "sm-ingest: option '-d' needs a value (see sm-ingest --help)" ]
}

@test "--help and --version answer beside a broken env file, whose errors name SM_ENV_FILE" {
	echo "not a line" >"$TEST_DIR/sm.env"
	export SM_ENV_FILE="$TEST_DIR/sm.env"
	for tool in "${TOOLS[@]}"; do
		run --separate-stderr "$tool" --help
		[ "$status" -eq 0 ] || { echo "$tool --help: $status $stderr"; false; }
		[[ "${lines[0]}" == "usage: "*"$tool"* ]]
		run --separate-stderr "$tool" --version
		[ "$status" -eq 0 ] || { echo "$tool --version: $status"; false; }
		[[ "$output" == "$tool 0.1.0 "* ]]
	done
	for cmd in "sm-ingest alerts" "sm-notify channel list" "sm-analyze provider list" \
		"sm-pipeline runs" "sm-push-hub --dry-run"; do
		# shellcheck disable=SC2086 # a command line, split into its words
		run --separate-stderr $cmd
		[ "$status" -eq 1 ] || { echo "$cmd: $status"; false; }
		[ "$stderr" = "${cmd%% *}: SM_ENV_FILE: $TEST_DIR/sm.env:1: expected KEY=VALUE" ]
	done
	export SM_ENV_FILE="$TEST_DIR/missing.env"
	run --separate-stderr sm-ingest alerts
	[ "$stderr" = "sm-ingest: SM_ENV_FILE: $TEST_DIR/missing.env: No such file or directory" ]
}

@test "an unknown SM_LOG_LEVEL is an error, in the environment or the env file" {
	for tool in "${TOOLS[@]}"; do
		run --separate-stderr env SM_LOG_LEVEL=verbose "$tool" --help
		[ "$status" -eq 0 ]
	done
	run --separate-stderr env SM_LOG_LEVEL=verbose sm-ingest alerts
	[ "$status" -eq 1 ]
	[ "$stderr" = "sm-ingest: SM_LOG_LEVEL: unknown level 'verbose' (debug, info, warn, error, off)" ]
	run --separate-stderr env SM_LOG_LEVEL=verbose sm-check memory
	[ "$status" -eq 3 ]
	echo "SM_LOG_LEVEL=loud" >"$TEST_DIR/sm.env"
	run --separate-stderr env -u SM_LOG_LEVEL SM_ENV_FILE="$TEST_DIR/sm.env" sm-pipeline runs
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"SM_LOG_LEVEL: unknown level 'loud'"* ]]
	run --separate-stderr env SM_LOG_LEVEL=DEBUG sm-ingest alerts
	[ "$status" -eq 0 ]
}

@test "durations wherever seconds are asked: flags, settings, channel keys" {
	host cli-ok
	run --separate-stderr sm-check cpu --interval 0.05s --samples 2 --json
	[ "$status" -eq 0 ]
	run --separate-stderr sm-check cpu --interval 5x --json
	[ "$status" -eq 64 ]
	run --separate-stderr sm-check agents --push-interval 5m --json
	[ "$status" -eq 0 ]
	run --separate-stderr sm-notify channel add hook generic \
		webhook_url=http://127.0.0.1:9/x timeout_s=2m repeat_interval=4h
	[ "$status" -eq 0 ]
	[ "$(sql "SELECT json_extract(config, '\$.timeout_s'), json_extract(config, '\$.repeat_interval') FROM notification_channels")" = "120	14400" ]
	run --separate-stderr sm-notify channel add hook2 generic webhook_url=http://127.0.0.1:9/x timeout_s=soon
	[ "$status" -eq 64 ]
	[[ "$stderr" == *"timeout_s: expected seconds from 0 to 1e7 or a duration such as 90s"* ]]
	echo '{}' >"$TEST_DIR/env.json"
	SM_NOTIFY_BACKOFF_S=2m run --separate-stderr sm-notify "$TEST_DIR/env.json"
	[ "$status" -eq 64 ]
	SM_NOTIFY_BACKOFF_S=30s run --separate-stderr sm-notify --channel none "$TEST_DIR/env.json"
	[[ "$stderr" != *"SM_NOTIFY_BACKOFF_S"* ]]
	unset SM_HOST_ROOT
	SM_PING_TIMEOUT=2s run --separate-stderr sm-check network --hosts 127.0.0.1 --json
	[ "$(echo "$output" | json_get 'd["checks"][0]["status"]')" = ok ]
	SM_PING_TIMEOUT=2x run --separate-stderr sm-check network --hosts 127.0.0.1 --json
	[[ "$(echo "$output" | json_get 'd["checks"][0]["message"]')" == *"SM_PING_TIMEOUT"* ]]
	SM_RETENTION=check_runs=1.5d run --separate-stderr sm-pipeline prune --dry-run --json
	[ "$status" -eq 0 ]
}

@test "a channel missing several required keys names them all" {
	run --separate-stderr sm-notify channel add mail email
	[ "$status" -eq 64 ]
	[ "$stderr" = "sm-notify: driver email needs smtp_host, from_address, to_addresses" ]
	run --separate-stderr sm-notify channel add mail email smtp_host=mx
	[ "$stderr" = "sm-notify: driver email needs from_address, to_addresses" ]
	[ "$(sm-notify channel list --json)" = "" ]
}

@test "--help fits 80 columns in every tool" {
	for tool in "${TOOLS[@]}"; do
		run "$tool" --help
		[ "$status" -eq 0 ]
		long=$(printf '%s\n' "$output" | awk 'length > 80')
		[ -z "$long" ] || { echo "$tool: $long"; false; }
	done
}
