#!/usr/bin/env bats
# sm-analyze end to end: stored providers, each of the seven AI providers
# against a loopback stand-in (tests/fixtures/bin/receiver.py) — request,
# auth, model, redacted prompt, parsed answer, recorded run — answers in
# odd shapes, outages and the fallback to the local rules, bad input, and
# the local rules standalone against fixture hosts and scratch trees.

bats_require_minimum_version 1.5.0
load helpers

ENVELOPE="$BATS_TEST_DIRNAME/../fixtures/ai/envelope.json"
# Secrets of the fixture envelope that must never leave the host.
SECRETS=(hunter2-secret tok-9f8e7d6c5b4a abcdef0123456789secret pw-s3cret AKIAIOSFODNN7EXAMPLE)
KEY=sk-test-abcdefghijklmnopqrstuvwxyz0123

setup() {
	setup_sm
	host rec-mem
	unset ORCHESTRATION_INTELLIGENCE_FALLBACK_ENABLED OPENAI_API_KEY ANTHROPIC_API_KEY \
		GEMINI_API_KEY MISTRAL_API_KEY XAI_API_KEY GITHUB_TOKEN
	RX_PID=
}

teardown() {
	[ -n "$RX_PID" ] && kill "$RX_PID" 2>/dev/null
	[ -n "$RX_PID" ] && wait "$RX_PID" 2>/dev/null
	teardown_sm
}

# Start the stand-in with the given receiver.py flags; sets RX_PORT.
start_rx() {
	rm -f "$TEST_DIR/rx.out" # a second stand-in's port is not read from the first's file
	/usr/bin/python3 "$SM_FIXTURES/bin/receiver.py" --log "$TEST_DIR/rx.log" "$@" \
		>"$TEST_DIR/rx.out" 2>&1 &
	RX_PID=$!
	RX_PORT=$(server_port "$TEST_DIR/rx.out" "$RX_PID")
}

# Start the stand-in answering with fixture ai/FILE.
answer() { start_rx --body "$(cat "$SM_FIXTURES/ai/$1")" "${@:2}"; }

# The Nth (0-based) request the stand-in got, as JSON.
request() { sed -n "$(($1 + 1))p" "$TEST_DIR/rx.log"; }

# What sm-analyze added to an envelope: its analysis and stages (the rest
# passes through as it came, secrets of earlier stages included).
added() { echo "$1" | json_get '[d.get("analysis"), d.get("stages")]'; }

# Fail if any secret of the fixture envelope (or the API key) is in $1.
no_secrets() {
	local s
	for s in "${SECRETS[@]}" "$KEY"; do
		if [[ "$1" == *"$s"* ]]; then
			echo "secret $s leaked: $1" >&2
			return 1
		fi
	done
}

# One provider end to end: NAME PROVIDER ANSWER PATH MODEL, then the
# expected auth header checks as Python expressions over the request r.
vendor_case() {
	local provider=$1 fixture=$2 path=$3 model=$4 auth=$5
	answer "$fixture"
	local base="http://127.0.0.1:$RX_PORT"
	[ "$provider" = openai ] || [ "$provider" = grok ] || [ "$provider" = mistral ] && base="$base/v1"
	run sm-analyze provider add p1 "$provider" api_key="$KEY" base_url="$base" timeout_s=5
	[ "$status" -eq 0 ]
	run sm-analyze provider activate p1
	[ "$status" -eq 0 ]
	run --separate-stderr sm-analyze <"$ENVELOPE"
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | wc -l)" -eq 1 ]
	env_out=$output
	# The request: path, auth, model, the prompt with the incident, no secret.
	request 0 | /usr/bin/python3 -c '
import json, sys
r = json.loads(sys.stdin.readline())
h = {k.lower(): v for k, v in r["headers"].items()}
body = json.loads(r["body"])
path, model, auth, key = sys.argv[1:5]
assert r["method"] == "POST", r["method"]
assert r["path"] == path, r["path"]
assert eval(auth), (auth, h)
assert h["content-type"] == "application/json"
text = json.dumps(body)
assert "DiskSpaceLow on db-01" in text and "Disk usage: / at 87.0%" in text, text
assert "[REDACTED]" in text
assert body.get("model", model) == model, body
' "$path" "$model" "$auth" "$KEY"
	no_secrets "$(request 0 | /usr/bin/python3 -c 'import json,sys; print(json.loads(sys.stdin.readline())["body"])')"
	# The answer, parsed; the model recorded is the one that answered, as
	# the vendor names it (the one asked for when the answer names none).
	local answered
	answered=$(json_get 'd.get("model") or d.get("modelVersion") or ""' <"$SM_FIXTURES/ai/$fixture")
	[ -n "$answered" ] || answered=$model
	[ "$(echo "$env_out" | json_get '[d["analysis"][k] for k in ("provider","model","status","fallback","summary","error")]')" = "[\"$provider\", \"$answered\", \"ok\", false, \"Trim the systemd journal\", null]" ]
	[ "$(echo "$env_out" | json_get '[(r["type"], r["priority"], r["title"], r["actions"]) for r in d["analysis"]["recommendations"]]')" = '[["disk", "high", "Trim the systemd journal", ["journalctl --vacuum-size=100M", "Check logrotate"]], ["general", "low", "Watch the trend", ["Add a forecast alert"]]]' ]
	[ "$(echo "$env_out" | json_get '[s["stage"] + ":" + s["status"] for s in d["stages"]]')" = '["ingest:ok", "analyze:ok"]' ]
	no_secrets "$(added "$env_out")"
	no_secrets "$stderr"
	# The run, with the vendor's token counts.
	[ "$(sql 'SELECT provider, model, status, fallback, prompt_tokens, completion_tokens, trace_id, error FROM analysis_runs')" = "$(printf '%s\t%s\tok\t0\t321\t54\t5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a\t' "$provider" "$answered")" ]
}

@test "openai: chat completions with a Bearer key" {
	vendor_case openai openai.json /v1/chat/completions gpt-4o-mini \
		'h["authorization"] == "Bearer " + key and body["messages"][0]["role"] == "system" and body["messages"][1]["role"] == "user" and body["max_tokens"] == 1024'
}

@test "mistral: chat completions, stream off" {
	vendor_case mistral openai.json /v1/chat/completions mistral-small-latest \
		'h["authorization"] == "Bearer " + key and body["stream"] is False'
}

@test "grok: chat completions under /v1" {
	vendor_case grok openai.json /v1/chat/completions grok-3-mini \
		'h["authorization"] == "Bearer " + key and len(body["messages"]) == 2'
}

@test "copilot: chat completions at the API root" {
	vendor_case copilot openai.json /chat/completions gpt-4o \
		'h["authorization"] == "Bearer " + key'
}

@test "claude: the Messages API with x-api-key and anthropic-version" {
	vendor_case claude claude.json /v1/messages claude-sonnet-4-20250514 \
		'h["x-api-key"] == key and h["anthropic-version"] == "2023-06-01" and "authorization" not in h and body["system"].startswith("You are an expert") and body["messages"][0]["role"] == "user"'
}

@test "gemini: generateContent with the key in x-goog-api-key, not the URL" {
	vendor_case gemini gemini.json /v1beta/models/gemini-2.0-flash:generateContent gemini-2.0-flash \
		'h["x-goog-api-key"] == key and key not in r["path"] and body["systemInstruction"]["parts"][0]["text"].startswith("You are") and body["generationConfig"]["maxOutputTokens"] == 1024'
}

@test "ollama: /api/chat, stream false, no key needed" {
	answer ollama.json
	run sm-analyze provider add local-llm ollama base_url="http://127.0.0.1:$RX_PORT" model=llama3.1
	[ "$status" -eq 0 ]
	run --separate-stderr sm-analyze --provider local-llm <"$ENVELOPE"
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | json_get 'd["analysis"]["status"], len(d["analysis"]["recommendations"])')" = '["ok", 2]' ]
	request 0 | /usr/bin/python3 -c '
import json, sys
r = json.loads(sys.stdin.readline())
b = json.loads(r["body"])
assert r["path"] == "/api/chat", r["path"]
assert "Authorization" not in r["headers"]
assert b["stream"] is False and b["model"] == "llama3.1" and b["options"]["num_predict"] == 1024
assert [m["role"] for m in b["messages"]] == ["system", "user"]'
	no_secrets "$(request 0)"
	[ "$(sql 'SELECT provider, prompt_tokens, completion_tokens FROM analysis_runs')" = "$(printf 'ollama\t321\t54')" ]
}

# Analyze the fixture envelope with an openai stand-in started with the
# given receiver flags (or none: no stand-in, a refused connection).
analyze_with() {
	local port
	if [ $# -gt 0 ]; then
		start_rx "$@"
		port=$RX_PORT
	else
		port=$(free_port)
	fi
	sm-analyze provider add ai openai api_key="$KEY" base_url="http://127.0.0.1:$port/v1" timeout_s=1 2>/dev/null
	sm-analyze provider activate ai 2>/dev/null
	run --separate-stderr sm-analyze "$ENVELOPE"
}

@test "answers: a fenced block, a single object, an empty array" {
	analyze_with --body "$(cat "$SM_FIXTURES/ai/openai-fenced.json")"
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | json_get '[(r["title"], r["actions"]) for r in d["analysis"]["recommendations"]]')" = '[["Trim the systemd journal", ["journalctl --vacuum-size=100M", "Check logrotate"]]]' ]
	kill "$RX_PID"
	analyze_with --body "$(cat "$SM_FIXTURES/ai/openai-object.json")"
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | json_get 'd["analysis"]["status"], [r["type"] for r in d["analysis"]["recommendations"]]')" = '["ok", ["disk"]]' ]
	kill "$RX_PID"
	analyze_with --body "$(cat "$SM_FIXTURES/ai/openai-empty.json")"
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | json_get 'd["analysis"]["status"], d["analysis"]["recommendations"], d["analysis"]["summary"]')" = '["ok", [], "No recommendations at this time."]' ]
}

# The fallback after an AI failure: local recommendations, the error in the
# envelope, the row and one log line, never the key.
assert_fallback() { # ERROR-PATTERN
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | json_get '[d["analysis"][k] for k in ("provider","status","fallback","summary")]')" = '["openai", "fallback", true, "AI analysis unavailable"]' ]
	# The local rules answered the disk incident (the fixture host is small).
	[ "$(echo "$output" | json_get '[r["title"] for r in d["analysis"]["recommendations"]]')" = '["Disk Health Check"]' ]
	[[ "$(echo "$output" | json_get 'd["analysis"]["error"]')" == openai:*$1* ]]
	[ "$(echo "$output" | json_get 'd["stages"][-1]["status"]')" = ok ]
	[ "$(sql 'SELECT status, fallback FROM analysis_runs')" = "$(printf 'fallback\t1')" ]
	[[ "$(sql 'SELECT error FROM analysis_runs')" == openai:*$1* ]]
	[[ "$stderr" == *"level=warn"*"AI analysis failed: using the local rules"*"provider=ai"* ]]
	no_secrets "$(added "$output")"
	no_secrets "$stderr"
	no_secrets "$(sql 'SELECT error || recommendations FROM analysis_runs')"
}

@test "outage: connection refused falls back to the local rules" {
	analyze_with
	assert_fallback "127.0.0.1"
}

@test "outage: HTTP 500 falls back, with the vendor's reason" {
	analyze_with --status 500 --body "$(cat "$SM_FIXTURES/ai/error-500.json")"
	assert_fallback "HTTP 500: The server is overloaded"
}

@test "outage: an answer slower than timeout_s falls back" {
	# The stand-in answers after 10 s; timeout_s=1 makes libcurl give up first,
	# so the error says it timed out (a run without the timeout would get the
	# answer and no fallback). No wall-clock limit: a busy machine is not a bug.
	analyze_with --delay 10
	assert_fallback "timed out"
}

@test "outage: a body that is not JSON falls back" {
	analyze_with --body "$(cat "$SM_FIXTURES/ai/not-json.txt")"
	assert_fallback "the answer is not a JSON object"
}

@test "outage: junk text from the model falls back" {
	analyze_with --body "$(cat "$SM_FIXTURES/ai/openai-junk.json")"
	assert_fallback "the answer is not JSON"
}

@test "fallback disabled: a failed stage, exit 1, the envelope still goes on" {
	ORCHESTRATION_INTELLIGENCE_FALLBACK_ENABLED=0 analyze_with --status 503
	[ "$status" -eq 1 ]
	[ "$(echo "$output" | json_get '[d["analysis"][k] for k in ("status","fallback","recommendations")]')" = '["failed", false, []]' ]
	[ "$(echo "$output" | json_get 'd["stages"][-1]["status"], d["stages"][-1]["error"]')" = '["failed", "openai: HTTP 503"]' ]
	[ "$(sql 'SELECT status, fallback, error FROM analysis_runs')" = "$(printf 'failed\t0\topenai: HTTP 503')" ]
	# From the dotenv file too; a value that is no boolean is a usage error.
	echo ORCHESTRATION_INTELLIGENCE_FALLBACK_ENABLED=maybe >"$TEST_DIR/env"
	SM_ENV_FILE="$TEST_DIR/env" run sm-analyze "$ENVELOPE"
	[ "$status" -eq 64 ]
}

@test "no provider stored: the local rules, one run per envelope" {
	run --separate-stderr sm-analyze < <(cat "$ENVELOPE" "$ENVELOPE")
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 2 ]
	[ "$(echo "${lines[1]}" | json_get '[d["analysis"][k] for k in ("provider","model","status","fallback")]')" = '["local", null, "ok", false]' ]
	[ "$(sql 'SELECT count(*), min(provider), max(status) FROM analysis_runs')" = "$(printf '2\tlocal\tok')" ]
	# Unknown members and earlier sections pass through untouched.
	[ "$(echo "${lines[0]}" | json_get 'd["alerts"][0]["labels"]["db_password"], d["host"]')" = '["hunter2-secret", "db-01"]' ]
}

@test "provider add/list/show/activate/rm; keys masked, @FILE read" {
	printf '%s\n' "$KEY" >"$TEST_DIR/key"
	run sm-analyze provider add work openai api_key=@"$TEST_DIR/key" model=gpt-4o max_tokens=500
	[ "$status" -eq 0 ]
	[[ "$output" == *"provider work added (openai)"* ]]
	[ "$(sql "SELECT json_extract(config, '\$.api_key'), is_active FROM intelligence_providers")" = "$(printf '%s\t0' "$KEY")" ]
	run sm-analyze provider add home ollama
	[ "$status" -eq 0 ]
	run sm-analyze provider add home ollama model=llama3.1
	[[ "$output" == *"provider home updated (ollama)"* ]]
	run sm-analyze provider activate work
	[ "$status" -eq 0 ]
	run sm-analyze provider list
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 2 ]
	[ "$(echo "${lines[1]}" | json_get 'd["name"], d["active"], d["model"], d["config"]["api_key"], d["config"]["max_tokens"]')" = '["work", true, "gpt-4o", "********", 500]' ]
	[ "$(echo "${lines[0]}" | json_get 'd["base_url"], d["model"]')" = '["http://localhost:11434", "llama3.1"]' ]
	no_secrets "$output"
	run sm-analyze provider show work
	[ "$status" -eq 0 ]
	no_secrets "$output"
	# On a terminal: a table, and show as lines.
	run script -qec "sm-analyze provider list" /dev/null
	[[ "$output" == *NAME*PROVIDER*ACTIVE*MODEL* ]]
	[[ "$output" == *work*openai*yes*gpt-4o* ]]
	run script -qec "sm-analyze provider show work" /dev/null
	[[ "$output" == *"config:    api_key=********"* ]]
	no_secrets "$output"
	run sm-analyze provider activate home
	[ "$(sql 'SELECT group_concat(name) FROM intelligence_providers WHERE is_active')" = home ]
	run sm-analyze provider rm home
	[ "$status" -eq 0 ]
	[ "$(sql 'SELECT count(*) FROM intelligence_providers WHERE is_active')" = 0 ]
	run sm-analyze provider rm home
	[ "$status" -eq 64 ]
}

@test "provider test: ok against the stand-in, an error against a dead port" {
	answer openai-empty.json
	sm-analyze provider add t openai api_key="$KEY" base_url="http://127.0.0.1:$RX_PORT/v1" 2>/dev/null
	run sm-analyze provider test t
	[ "$status" -eq 0 ]
	[[ "$output" == "t: ok (openai, gpt-4o-mini, "*" ms)" ]]
	[ "$(request 0 | json_get 'd["path"]')" = /v1/chat/completions ]
	sm-analyze provider add dead claude api_key="$KEY" base_url="http://127.0.0.1:$(free_port)" 2>/dev/null
	run sm-analyze provider test dead
	[ "$status" -eq 1 ]
	[[ "$output" == "sm-analyze: dead: test failed: claude: "* ]]
	no_secrets "$output"
	run sm-analyze provider test nope
	[ "$status" -eq 64 ]
}

@test "bad input: unknown provider, name or key is 64; a key is never echoed" {
	run sm-analyze provider add x gpt5000
	[ "$status" -eq 64 ]
	[ "$output" = "sm-analyze: unknown provider 'gpt5000' (available: local, openai, claude, gemini, copilot, grok, ollama, mistral)" ]
	run sm-analyze provider add x openai api_key="$KEY" colour=blue
	[ "$status" -eq 64 ]
	[ "$output" = "sm-analyze: unknown key 'colour' for openai (keys: api_key, model, base_url, max_tokens, timeout_s)" ]
	run sm-analyze provider add x openai timeout_s=soon
	[ "$status" -eq 64 ]
	run sm-analyze provider add x openai "base_url=http://u:$KEY@h/"
	[ "$status" -eq 64 ]
	no_secrets "$output"
	run sm-analyze provider add x openai api_key=@"$TEST_DIR/missing"
	[ "$status" -eq 64 ]
	run sm-analyze --provider nope "$ENVELOPE"
	[ "$status" -eq 64 ]
	[ "$output" = "sm-analyze: unknown provider 'nope' (see: sm-analyze provider list)" ]
	run sm-analyze provider frobnicate
	[ "$status" -eq 64 ]
	run sm-analyze --bogus
	[ "$status" -eq 64 ]
	run sm-analyze --memory --cpu
	[ "$status" -eq 64 ]
	[ "$(sql 'SELECT count(*) FROM intelligence_providers')" = 0 ]
	[ "$(sql 'SELECT count(*) FROM analysis_runs')" = 0 ]
}

@test "bad input: a malformed envelope is 65 naming its line; the others go on" {
	{ cat "$ENVELOPE"; echo '{"v":1,"incident":'; echo '{"no":"version"}'; cat "$ENVELOPE"; } >"$TEST_DIR/in"
	run --separate-stderr sm-analyze <"$TEST_DIR/in"
	[ "$status" -eq 65 ]
	[ "${#lines[@]}" -eq 2 ]
	[[ "$stderr" == *"sm-analyze: stdin:2: malformed JSON"* ]]
	[[ "$stderr" == *"sm-analyze: stdin:3: not an sm envelope"* ]]
	[ "$(sql 'SELECT count(*) FROM analysis_runs')" = 2 ]
	run sm-analyze "$TEST_DIR/nonexistent"
	[ "$status" -eq 1 ]
}

@test "--help, --version" {
	run sm-analyze --help
	[ "$status" -eq 0 ]
	[[ "$output" == *"provider add NAME PROVIDER"* ]]
	[[ "$output" == *"--disk [PATH]"* ]]
	run sm-analyze --version
	[ "$status" -eq 0 ]
	[[ "$output" == "sm-analyze "[0-9]* ]]
}

@test "--memory: the top processes of a fixture host, JSON on a pipe" {
	run --separate-stderr sm-analyze --memory
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | json_get 'd["provider"], d["count"]')" = '["local", 1]' ]
	[ "$(echo "$output" | json_get '[d["recommendations"][0][k] for k in ("type", "priority", "title")]')" = '["memory", "high", "High Memory Usage Detected"]' ]
	[ "$(echo "$output" | json_get 'd["recommendations"][0]["actions"][0]')" = "Review process 'postgres' (PID: 100) - using 30.0% memory" ]
	[ -z "$stderr" ] # no progress on a pipe
	[ "$(sql 'SELECT provider, status, count(*) FROM analysis_runs')" = "$(printf 'local\tok\t1')" ]
	# On a terminal: the listing, with progress.
	run script -qec "sm-analyze --memory --top-n 2" /dev/null
	[ "$status" -eq 0 ]
	[[ "$output" == *"Found 1 recommendation(s):"* ]]
	[[ "$output" == *"[HIGH]"*"High Memory Usage Detected"* ]]
	[[ "$output" == *"Top Memory Processes:"*"postgres (PID: 100) - 30.0% (293.0 MB)"* ]]
	[[ "$output" != *"nginx"* ]]
	[[ "$output" == *"Suggested Actions:"* ]]
	# Progress on the terminal's standard error: an update, then a done line.
	[[ "$output" == *"Analyzing memory..."*"✓ Analyzed "*" processes"* ]]
	run script -qec "sm-analyze --memory --json" /dev/null
	[ "$(echo "$output" | tr -d '\r' | json_get 'd["count"]')" = 1 ]
}

@test "--cpu: two identical samples find nothing; the general scan finds memory" {
	host rec-cpu-a
	run --separate-stderr sm-analyze --cpu --json
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | json_get 'd["count"]')" = 0 ]
	host rec-mem
	run --separate-stderr sm-analyze --json </dev/null
	[ "$status" -eq 0 ]
	# A pipe on stdin (here /dev/null) means envelopes: nothing in, nothing out.
	[ -z "$output" ]
	run script -qec "sm-analyze --json" /dev/null
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | tr -d '\r' | json_get '[r["title"] for r in d["recommendations"]]')" = '["High Memory Usage Detected"]' ]
	# No /proc/mounts (a container): the memory part, and a warning that
	# the disk part was left out; the run is recorded ok, with the note.
	host rec-mem-75
	run script -qec "sm-analyze --json 2>'$TEST_DIR/err'" /dev/null
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | tr -d '\r' | json_get '[r["type"] for r in d["recommendations"]]')" = '["memory"]' ]
	[[ "$(cat "$TEST_DIR/err")" == "sm-analyze: warning: general scan: disk part left out: "*"/proc/mounts: No such file or directory"* ]]
	[[ "$(sql 'SELECT status, error FROM analysis_runs ORDER BY id DESC LIMIT 1')" == "ok	general scan: disk part left out: "* ]]
}

# A scratch tree: large files, old files, a symlink loop, a link out.
make_tree() {
	T="$TEST_DIR/tree"
	mkdir -p "$T/data/deep/er" "$T/logs" "$TEST_DIR/outside"
	truncate -s 150M "$T/data/big.bin"
	truncate -s 120M "$T/data/deep/er/huge.img"
	truncate -s 2M "$T/logs/app.log.1"
	touch -d '40 days ago' "$T/logs/app.log.1"
	truncate -s 500M "$TEST_DIR/outside/elsewhere.bin"
	ln -s .. "$T/data/loop"
	ln -s "$TEST_DIR/outside" "$T/data/link-out"
}

@test "--disk PATH: large and old files; symlinks never followed" {
	make_tree
	unset SM_HOST_ROOT
	run --separate-stderr sm-analyze --disk "$T" --json
	[ "$status" -eq 0 ]
	echo "$output" | /usr/bin/python3 -c '
import json, sys
d = json.loads(sys.stdin.readline())
recs = d["recommendations"]
assert [r["title"] for r in recs] == ["Large Files and Directories Found", "Old Logs and Temporary Files Found"], recs
large = [(i["path"].split("/tree")[1], i["is_directory"]) for i in recs[0]["details"]["large_items"]]
assert ("/data/big.bin", False) in large and ("/data/deep/er/huge.img", False) in large, large
assert ("/data", True) in large, large
assert not any("elsewhere" in p or "loop" in p or "outside" in p for p, _ in large), large
assert recs[0]["actions"][0].startswith("Review largest item: ") and "(270.0 MB)" in recs[0]["actions"][0], recs[0]["actions"]
assert recs[0]["details"]["scan_complete"] is True
old = recs[1]["details"]["old_files"]
assert [o["path"].split("/tree")[1] for o in old] == ["/logs/app.log.1"], old
assert old[0]["days_old"] >= 39
assert recs[1]["priority"] == "medium"
assert recs[1]["actions"][3] == "Run: find /var/log -mtime +30 -type f -name '"'"'*.log*'"'"' -ls"
'
	# Thresholds from the command line.
	run --separate-stderr sm-analyze --disk "$T/logs" --threshold-mb 1 --old-days 50 --json
	[ "$(echo "$output" | json_get '[r["title"] for r in d["recommendations"]]')" = '["Large Files and Directories Found"]' ]
	# Nothing to report.
	mkdir "$T/empty"
	run --separate-stderr sm-analyze --disk "$T/empty" --json
	[ "$(echo "$output" | json_get '[d["recommendations"][0][k] for k in ("title", "priority", "description")]')" = '["Disk Health Check", "low", "No immediate disk space concerns found."]' ]
	# Under a host root, paths are host paths.
	SM_HOST_ROOT="$T" run --separate-stderr sm-analyze --disk /data --json
	[ "$(echo "$output" | json_get 'd["recommendations"][0]["description"]')" = "Found 4 large items totaling 270.0 MB on /data" ]
	SM_HOST_ROOT="$T" run --separate-stderr sm-analyze --disk /logs --json
	[ "$(echo "$output" | json_get '[(o["path"], o["file_type"], o["size_mb"]) for o in d["recommendations"][0]["details"]["old_files"]]')" = '[["/logs/app.log.1", "log", 2.0]]' ]
	# A path that is no directory is an error, recorded.
	run --separate-stderr sm-analyze --disk "$T/data/big.bin" --json
	[ "$status" -eq 1 ]
	[ "$stderr" = "sm-analyze: $T/data/big.bin: Not a directory" ]
	[ "$(sql "SELECT status FROM analysis_runs ORDER BY id DESC LIMIT 1")" = failed ]
}

@test "--disk: an unreadable directory is skipped, not fatal" {
	make_tree
	unset SM_HOST_ROOT
	mkdir -p "$T/data/locked"
	truncate -s 300M "$T/data/locked/secret.bin"
	chmod 000 "$T/data/locked"
	chmod 777 "$TEST_DIR"
	# root reads everything: run as nobody where that works.
	if [ "$(id -u)" -eq 0 ]; then
		chmod -R a+rX "$T/data/big.bin" "$T/data/deep" "$T" 2>/dev/null || true
		chmod 000 "$T/data/locked"
		run --separate-stderr setpriv --reuid=65534 --regid=65534 --clear-groups \
			env SM_DB="$TEST_DIR/nobody.db" "$SM_BIN/sm-analyze" --disk "$T/data" --json
	else
		run --separate-stderr sm-analyze --disk "$T/data" --json
	fi
	chmod 755 "$T/data/locked"
	[ "$status" -eq 0 ]
	[[ "$output" != *secret.bin* ]]
	[ "$(echo "$output" | json_get 'd["recommendations"][0]["title"]')" = "Large Files and Directories Found" ]
	[[ "$(echo "$output" | json_get '[i["path"] for i in d["recommendations"][0]["details"]["large_items"]]')" == *big.bin* ]]
}

@test "redaction: process command lines with passwords are not printed" {
	mkdir -p "$TEST_DIR/host/proc/4242"
	cp -r "$SM_FIXTURES/hosts/rec-mem/proc/meminfo" "$TEST_DIR/host/proc/"
	printf 'Name:\tmysqld\nState:\tS (sleeping)\nVmRSS:\t 500000 kB\n' >"$TEST_DIR/host/proc/4242/status"
	printf 'mysqld\0--password\0hunter2-secret\0--user=mysql\0' >"$TEST_DIR/host/proc/4242/cmdline"
	printf 'mysqld\n' >"$TEST_DIR/host/proc/4242/comm"
	SM_HOST_ROOT="$TEST_DIR/host" run --separate-stderr sm-analyze --memory --json
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | json_get 'd["recommendations"][0]["details"]["top_processes"][0]["cmdline"]')" = "mysqld --password [REDACTED] --user=mysql" ]
	no_secrets "$output"
	no_secrets "$(sql 'SELECT recommendations FROM analysis_runs')"
}

@test "--list-providers: the family with default base URL, model and key variable" {
	run sm-analyze --list-providers
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 8 ]
	[ "$(printf '%s\n' "${lines[@]}" | json_get 'd["name"], d["base_url"], d["model"]')" = '["local", null, null]' ]
	names=$(for l in "${lines[@]}"; do echo "$l" | json_get 'd["name"]'; done | tr '\n' ' ')
	[ "$names" = "local openai claude gemini copilot grok ollama mistral " ]
	[ "$(echo "${lines[3]}" | json_get 'd["base_url"], d["model"], d["key_env"]')" = '["https://generativelanguage.googleapis.com", "gemini-2.0-flash", "GEMINI_API_KEY"]' ]
	[ "$(echo "${lines[6]}" | json_get 'd["key_env"]')" = null ]
	run script -qec "sm-analyze --list-providers" /dev/null
	[[ "$output" == *"PROVIDER"*"openai"*"https://api.openai.com/v1"*"gpt-4o-mini"* ]]
	[ ! -e "$SM_DB" ]
}

@test "--incident-id N: the stored incident, its alerts and checks, analyzed and linked" {
	host cli-warn
	sm-check --alerts memory >/dev/null
	host rec-mem
	run --separate-stderr sm-analyze --incident-id 1
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 1 ]
	[ "$(echo "$output" | json_get 'd["incident"]["id"], d["incident"]["title"], d["host"], [a["fingerprint"] for a in d["alerts"]], [c["checker"] for c in d["checks"]]')" = '[1, "memory on cli-warn", "cli-warn", ["memory-cli-warn"], ["memory"]]' ]
	[ "$(echo "$output" | json_get 'd["checks"][0]["metrics"]["memory_percent"], d["analysis"]["provider"], d["analysis"]["status"], [r["type"] for r in d["analysis"]["recommendations"]]')" = '[75.0, "local", "ok", ["memory"]]' ]
	[ "$(echo "$output" | json_get '[s["stage"] for s in d["stages"]]')" = '["analyze"]' ]
	[ "$(sql 'SELECT incident_id, provider, status FROM analysis_runs')" = "1	local	ok" ]
	run script -qec "sm-analyze --incident-id 1" /dev/null
	[ "$status" -eq 0 ]
	[[ "$output" == "Incident 1: memory on cli-warn (local)"*"High Memory Usage Detected"* ]]
	# No such incident, or no number: 64, one line, nothing stored.
	run sm-analyze --incident-id 99
	[ "$status" -eq 64 ]
	[ "$output" = "sm-analyze: no incident 99" ]
	for args in "--incident-id 0" "--incident-id x" "--incident-id 1 --memory" "--incident-id 1 extra" "--list-providers --cpu"; do
		# shellcheck disable=SC2086
		run sm-analyze $args
		[ "$status" -eq 64 ] || { echo "$args -> $status"; false; }
		[ "${#lines[@]}" -eq 1 ]
	done
	[ "$(sql 'SELECT count(*) FROM analysis_runs')" = 2 ]
}

@test "sm(7) names sm-analyze and sm-notify among the tools available now" {
	command -v mandoc >/dev/null || skip "mandoc is not installed"
	text=$(mandoc -Tascii "$SM_FIXTURES/../../man/sm.7" | col -b | tr -s ' \n' '  ')
	[[ "$text" == *"sm-analyze(1), sm-notify(1) and sm-push-hub(1) are available now;"* ]]
}

@test "--help names the providers and the keys of their configs from their lists" {
	run sm-analyze --help
	[ "$status" -eq 0 ]
	[[ "$output" == *$'\n'"Providers: local, openai, claude, gemini, copilot, grok, ollama, mistral."$'\n'* ]]
	# Wrapped to 80 columns: compare the text with its line breaks as spaces.
	flat=$(printf '%s\n' "$output" | tr '\n' ' ' | tr -s ' ')
	[[ "$flat" == *" Keys: api_key, model, base_url, max_tokens, timeout_s (KEY=@FILE reads the value from FILE); local: top_n_processes, large_file_threshold_mb, old_file_days. "* ]]
	[[ "$output" == *"--incident-id N"*"--list-providers"* ]]
}

@test "stream: a bad line is skipped (65), the envelopes after it are analyzed; a directory on stdin is 65" {
	printf '%s\n%s\n' '{"v":1,"source":' "$(cat "$ENVELOPE")" >"$TEST_DIR/in"
	run --separate-stderr sm-analyze <"$TEST_DIR/in"
	[ "$status" -eq 65 ]
	[ "${#lines[@]}" -eq 1 ]
	[ "$(echo "${lines[0]}" | json_get 'd["analysis"]["provider"]')" = local ]
	[[ "$stderr" == "sm-analyze: stdin:1: malformed JSON"* ]]
	run --separate-stderr sm-analyze </
	[ "$status" -eq 65 ]
	[[ "$stderr" == *"read error: Is a directory"* ]]
}

@test "listings check their writes: provider list to a full disk is exit 1 'write error'" {
	sm-analyze provider add p openai api_key=x 2>/dev/null
	for cmd in "provider list" "provider list --json" "--list-providers"; do
		run --separate-stderr bash -c "sm-analyze $cmd >/dev/full"
		[ "$status" -eq 1 ]
		[[ "$stderr" == "sm-analyze: standard output: write error: No space left on device" ]]
	done
}
