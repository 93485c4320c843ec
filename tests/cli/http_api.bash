# http_api.bash - a real lighttpd on loopback (scripts/serve) serving every
# prefix, for the suites of the tools' HTTP APIs (sm-notify-http.bats,
# sm-analyze-http.bats, http-fastcgi.bats). SERVE_MODE is cgi (a process
# per request) or fastcgi (long-running processes that read the dotenv file
# once: api_env restarts the server then). The tools run from a private
# bin, so a suite can put a wrapper in front of one.
# shellcheck shell=bash
# shellcheck disable=SC2034 # call sets code, headers and body for the tests

api_start() {
	serve_start "$API_DIR" SM_SERVE_DIR="$API_DIR/serve" SM_INGEST="$API_DIR/bin/sm-ingest"
}
api_stop() { serve_stop "$API_DIR"; }

api_setup_file() {
	: "${SM_BIN:?}" "${SM_FIXTURES:?}" "${SERVE_MODE:?}"
	need_peer "lighttpd is not installed" command -v lighttpd
	export API_DIR PORT
	API_DIR=$(mktemp -d "${BATS_TMPDIR:-/tmp}/sm-api.XXXXXX")
	mkdir -p "$API_DIR/bin"
	ln -s "$(cd "$SM_BIN/../lib" && pwd)" "$API_DIR/lib"
	for t in sm-ingest sm-check sm-analyze sm-notify sm-pipeline; do
		[ -e "$API_DIR/bin/$t" ] || cp "$SM_BIN/$t" "$API_DIR/bin/$t"
	done
	export SM_DB="$API_DIR/hub.db" SM_ENV_FILE="$API_DIR/sm.env"
	: >"$SM_ENV_FILE"
	"$SM_BIN/sm-ingest" incidents >/dev/null # create the store
	PORT=$(free_port)
	api_start
}

api_teardown_file() {
	api_stop
	rm -rf "$API_DIR"
}

api_setup() {
	export PATH="$SM_BIN:$PATH" SM_LOG_LEVEL=warn TEST_DIR=$API_DIR
	export SM_DB="$API_DIR/hub.db" SM_ENV_FILE="$API_DIR/sm.env"
	# shellcheck disable=SC2119 # no lines: an empty dotenv file
	[ -s "$SM_ENV_FILE" ] && api_env
	: >"$API_DIR/pids"
	return 0
}

api_teardown() {
	local pid
	while read -r pid; do
		kill "$pid" 2>/dev/null || true
	done <"$API_DIR/pids"
}

# api_env [LINE ...]: the dotenv file holds these lines from the next
# request on (a restart in FastCGI mode).
# shellcheck disable=SC2120 # the suites pass lines
api_env() {
	if [ $# -gt 0 ]; then printf '%s\n' "$@" >"$SM_ENV_FILE"; else : >"$SM_ENV_FILE"; fi
	if [ "$SERVE_MODE" = fastcgi ]; then
		api_stop
		api_start
	fi
}

# call METHOD PATH [BODY [Header: value ...]]: sets $code, $headers, $body.
call() {
	local method=$1 path=$2 out
	shift 2
	if [ $# -gt 0 ]; then
		printf '%s' "$1" >"$API_DIR/body"
		shift
		out=$(/usr/bin/python3 "$BATS_TEST_DIRNAME/request.py" "$method" "http://127.0.0.1:$PORT$path" \
			"$API_DIR/body" "Content-Type: application/json" "$@")
	else
		out=$(/usr/bin/python3 "$BATS_TEST_DIRNAME/request.py" "$method" "http://127.0.0.1:$PORT$path")
	fi
	code=$(echo "$out" | head -1)
	headers=$(echo "$out" | sed -n '2,/^$/p')
	body=$(echo "$out" | sed '1,/^$/d')
}

# A Python expression over the answer's JSON body d.
get() { echo "$body" | json_get "$1"; }

# The API keys file (name, SHA-256 of the key) with the key $API_KEY.
API_KEY=secret-key-1234567890abcdef
keys_file() {
	printf 'ops\t%s\n' "$(printf %s "$API_KEY" | sha256sum | cut -d' ' -f1)" >"$API_DIR/keys"
	chmod 600 "$API_DIR/keys"
	echo "SM_API_KEYS_FILE=$API_DIR/keys"
}

# start_receiver NAME [receiver.py flags]: a loopback receiver logging to
# $API_DIR/NAME.log; prints its URL.
start_receiver() { receiver_start "$API_DIR" "$1" "$1/hook" "${@:2}"; }

# The number of requests a receiver got.
requests() { wc -l <"$API_DIR/$1.log" | tr -d ' '; }

# A Python expression over request N (from 0) of receiver NAME: `req` the
# logged request, `body` its parsed JSON body.
req() { # NAME N EXPR
	/usr/bin/python3 -c '
import json, sys
req = json.loads(open(sys.argv[1]).read().splitlines()[int(sys.argv[2])])
body = json.loads(req["body"]) if req["body"] else None
v = eval(sys.argv[3])
print(json.dumps(v) if isinstance(v, (dict, list, tuple, bool)) or v is None else v)' \
		"$API_DIR/$1.log" "$2" "$3"
}
