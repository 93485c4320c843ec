#!/usr/bin/env bats
# Shell completion (dist/completion/sm.bash) and the sample env file
# (dist/sm.env.example), both installed by cmake --install: the words
# completed come from the tools' own tables and the store; the sample
# names every setting the code reads.

# shellcheck disable=SC2154 # bats sets $output, $status and $stderr
bats_require_minimum_version 1.5.0
load helpers

setup() {
	setup_sm
	SRC=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
	BUILD_DIR=$(cd "$SM_BIN/.." && pwd)
}
teardown() { teardown_sm; }

# complete LINE: the sorted completions of LINE in a bash that sourced the
# script ($SCRIPT, default the source); a trailing space completes a new word.
complete_line() {
	bash -c '
		source "$1"
		read -ra COMP_WORDS <<<"$2"
		[[ $2 == *" " ]] && COMP_WORDS+=("")
		COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
		_sm
		printf "%s\n" "${COMPREPLY[@]}" | sort' _ "${SCRIPT:-$SRC/dist/completion/sm.bash}" "$1"
}

@test "options come from each tool's --help" {
	[ "$(complete_line "sm-ingest --sev")" = --severity ]
	[ "$(complete_line "sm-push-hub --qu")" = --quiet ]
	[ "$(complete_line "sm-check --push")" = --push-interval ] # a checker's option
	for tool in sm-check sm-ingest sm-analyze sm-notify sm-pipeline sm-push-hub; do
		[ "$(complete_line "$tool --vers")" = --version ]
		[ "$(complete_line "$tool --" | wc -l)" -ge 3 ]
	done
}

@test "checkers, drivers and providers: exactly the tools' lists" {
	[ "$(complete_line "sm-check " | grep -v '^-$')" = "$(sm-check --list | awk '{print $1}' | sort)" ]
	[ "$(complete_line "sm-check --interval 1 disk_l")" = disk_linux ]
	[ "$(complete_line "sm-ingest -d ")" = "$(sm-ingest --list-drivers | awk '{print $1}' | sort)" ]
	[ "$(complete_line "sm-ingest --driver al")" = alertmanager ]
	[ "$(complete_line "sm-push-hub --checkers cpu,mem")" = cpu,memory ]
	[ "$(complete_line "sm-analyze provider add ai ")" = "$(sm-analyze --list-providers --json |
		while read -r l; do echo "$l" | json_get 'd["name"]'; done | sort)" ]
	[ "$(complete_line "sm-notify channel add ops ")" = "$(complete_line "sm-notify test ")" ]
	[[ "$(complete_line "sm-notify channel add ops ")" == *slack* ]]
	[ "$(complete_line "sm-notify channel add ops email smtp")" = "smtp_host=
smtp_port=" ]
	[ "$(complete_line "sm-ingest --severity ")" = "critical
info
warning" ]
}

@test "subcommands come from the usage lines of --help" {
	[[ "$(complete_line "sm-pipeline " | tr '\n' ' ')" == *"definition "*"prune queue resume route run runs setup show status work "* ]]
	[ "$(complete_line "sm-pipeline definition ")" = "add
list
rm
show
validate" ]
	[ "$(complete_line "sm-ingest incident ")" = "ack
close
resolve
show" ]
	[ "$(complete_line "sm-ingest --status open incident ")" = "$(complete_line "sm-ingest incident ")" ]
	[[ "$(complete_line "sm-ingest ")" == *alerts*incident*incidents* ]]
	[[ "$(complete_line "sm-notify channel ")" == *add*disable*enable*list*rm*show*test* ]]
	[[ "$(complete_line "sm-analyze provider ")" == *activate*add*list*rm*show*test* ]]
}

@test "what the store holds: definitions, channels, providers" {
	[[ "$(complete_line "sm-pipeline run --definition ")" == *full*local-monitor* ]]
	sm-notify channel add ops-hook generic webhook_url=http://127.0.0.1:9/x >/dev/null
	[ "$(complete_line "sm-notify --channel ops")" = ops-hook ]
	[ "$(complete_line "sm-notify channel show o")" = ops-hook ]
	sm-analyze provider add brain ollama >/dev/null
	[ "$(complete_line "sm-analyze --provider ")" = "brain
local" ]
	sm-pipeline definition add nightly "$SM_FIXTURES/pipeline/checks.json" >/dev/null
	[ "$(complete_line "sm-pipeline definition show n")" = nightly ]
	[[ "$(complete_line "sm-pipeline run -d ")" == *nightly* ]]
}

@test "cmake --install: the completion for each tool, the sample env file" {
	run cmake --install "$BUILD_DIR" --prefix "$TEST_DIR/p"
	[ "$status" -eq 0 ]
	for tool in sm-check sm-ingest sm-analyze sm-notify sm-pipeline sm-push-hub; do
		[ -f "$TEST_DIR/p/share/bash-completion/completions/$tool" ]
	done
	SCRIPT="$TEST_DIR/p/share/bash-completion/completions/sm-ingest"
	[ "$(complete_line "sm-ingest --sev")" = --severity ]
	[ "$(bash -c "source '$SCRIPT'; complete -p sm-push-hub")" = "complete -F _sm sm-push-hub" ]
	cmp "$TEST_DIR/p/share/doc/sm/sm.env.example" "$SRC/dist/sm.env.example"
}

# Names in the code's string literals that are not settings of the tools:
# the CGI and FastCGI protocols, the environment the exec driver gives its
# program, what sm-pipeline work passes to the stage filters it starts
# (sm-pipeline(1): the status descriptor, the C library's malloc tunables),
# os-release keys, and the XDG base directory.
NOT_SETTINGS=" AUTH_TYPE CONTENT_LENGTH CONTENT_TYPE DOCUMENT_ROOT GATEWAY_INTERFACE
	HTTP_AUTHORIZATION PATH_INFO PATH_TRANSLATED QUERY_STRING REDIRECT_STATUS REDIRECT_URI
	REMOTE_ADDR REMOTE_HOST REMOTE_IDENT REMOTE_PORT REMOTE_USER REQUEST_METHOD REQUEST_SCHEME
	REQUEST_URI SCRIPT_FILENAME SCRIPT_NAME SERVER_ADDR SERVER_NAME SERVER_PORT SERVER_PROTOCOL
	SERVER_SOFTWARE FCGI_MAX_CONNS FCGI_MAX_REQS FCGI_MPXS_CONNS
	SM_CHANNEL SM_EVENT SM_INCIDENT_ID SM_SEVERITY SM_SOURCE SM_STATUS SM_TITLE SM_TRACE_ID
	SM_STAGE_STATUS_FD GLIBC_TUNABLES
	ID_LIKE XDG_STATE_HOME NO_COLOR "

@test "the sample env file lists every setting the code reads" {
	sample=$SRC/dist/sm.env.example
	missing=()
	while read -r name; do
		# shellcheck disable=SC2086,SC2116 # word splitting joins the list with spaces
		[[ " $(echo $NOT_SETTINGS) " == *" $name "* ]] && continue
		grep -qE "^#?$name=" "$sample" || missing+=("$name")
	done < <(grep -rhoE '"[A-Z][A-Z0-9]*_[A-Z0-9_]+"' "$SRC/lib" "$SRC/cmd" | tr -d '"' | sort -u)
	# The signing secrets are named at run time, one per driver with a signature.
	while read -r driver; do
		name=WEBHOOK_SECRET_$(echo "$driver" | tr '[:lower:]' '[:upper:]')
		grep -qE "^#?$name=" "$sample" || missing+=("$name")
	done < <(sm-ingest --list-drivers --json | json_get 'd["name"]')
	[ ${#missing[@]} -eq 0 ] || { echo "not in dist/sm.env.example: ${missing[*]}"; false; }
	# And the check can fail: a setting read in code but missing is caught.
	run ! grep -qE '^#?SM_NO_SUCH_SETTING=' "$sample"
}

@test "the sample env file parses, and every value in it is the default a tool accepts" {
	sed -n 's/^#\([A-Z][A-Z0-9_]*=\)/\1/p' "$SRC/dist/sm.env.example" |
		grep -v -e '^HUB_URL=' -e '^SM_ENV_FILE=' -e '^SM_DB=' >"$TEST_DIR/sm.env"
	SM_ENV_FILE="$TEST_DIR/sm.env" run --separate-stderr env -u SM_LOG_LEVEL sm-pipeline runs
	[ "$status" -eq 0 ] || { echo "$stderr"; false; }
	SM_ENV_FILE="$TEST_DIR/sm.env" run --separate-stderr sm-ingest alerts
	[ "$status" -eq 0 ]
}
