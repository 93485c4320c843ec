# shellcheck shell=bash
# sm.bash - bash completion for the sm tools (sm-check, sm-ingest,
# sm-analyze, sm-notify, sm-pipeline, sm-push-hub).
#
# Nothing here lists a checker, a driver or a subcommand: every word comes
# from the tools at completion time, so the completion follows their
# tables and the store. Options and subcommands are read from --help (its
# usage lines name the subcommands); checkers from `sm-check --list`,
# ingest drivers from `sm-ingest --list-drivers`, notify drivers and their
# keys from `sm-notify --help`, AI providers from `sm-analyze
# --list-providers`, and what the store holds (definitions, channels,
# providers) from the listing commands.
#
# Installed once per tool under share/bash-completion/completions, where
# bash-completion loads it on first use; or source it from ~/.bashrc.

# The sibling tool NAME: next to the one being completed when that was
# typed with a directory, else from PATH.
_sm_tool() {
	local first=${COMP_WORDS[0]}
	if [[ $first == */* ]]; then
		printf '%s/%s\n' "${first%/*}" "$1"
	else
		printf '%s\n' "$1"
	fi
}

# The first column of a listing's lines.
_sm_first_column() {
	"$@" 2>/dev/null | awk 'NF { print $1 }'
}

# The "name" members of a JSON-lines listing (the first on each line: the
# row's own, before any nested object).
_sm_names() {
	"$@" 2>/dev/null |
		awk 'match($0, /"name":"[^"]*"/) { print substr($0, RSTART + 8, RLENGTH - 9) }'
}

# The long options a tool's --help names.
_sm_options() {
	"$1" --help 2>/dev/null | grep -o -- '--[a-z][a-z0-9-]*' | sort -u
}

# Subcommands from the usage lines of --help ("sm-x word ..." lines):
# with no FIRST, the literal words right after the tool's name; with FIRST,
# the literal words that follow FIRST. A literal is a lowercase word; the
# alternatives of a|b are split; placeholders (NAME) and [options] are not.
_sm_commands() {
	local tool=$1 first=${2-}
	"$tool" --help 2>/dev/null | awk -v tool="${tool##*/}" -v first="$first" '
		function literals(token, out,    n, parts, i) {
			n = split(token, parts, "|")
			for (i = 1; i <= n; i++)
				if (parts[i] ~ /^[a-z][a-z-]*$/)
					out[parts[i]] = 1
		}
		{
			sub(/^usage: /, "")
			if ($1 != tool || NF < 2)
				next
			delete here
			literals($2, here)
			if (first == "") {
				for (w in here)
					words[w] = 1
			} else if (first in here) {
				for (i = 3; i <= NF; i++)
					literals($i, words)
			}
		}
		END { for (w in words) print w }'
}

# The notify drivers, and the keys of one (with "every driver takes"),
# from the Drivers section of sm-notify --help.
_sm_notify_drivers() {
	"$(_sm_tool sm-notify)" --help 2>/dev/null |
		awk '/^Drivers/ { on = 1; next } on && /^  [a-z_]+  / { print $1 }'
}
_sm_notify_keys() {
	"$(_sm_tool sm-notify)" --help 2>/dev/null | awk -v driver="$1" '
		/^Drivers/ { on = 1; next }
		!on { next }
		/^  [a-z_]+  / { mine = ($1 == driver); next }
		/every driver takes:/ { mine = 1; sub(/.*takes:/, "") }
		/keys:/ { sub(/.*keys:/, "") }
		mine {
			gsub(/\(required\)|,/, " ")
			for (i = 1; i <= NF; i++)
				if ($i ~ /^[a-z_]+$/)
					print $i "="
		}'
}

_sm_checkers() { _sm_first_column "$(_sm_tool sm-check)" --list; }
_sm_definitions() { _sm_names "$(_sm_tool sm-pipeline)" definition list --json; }
_sm_channels() { _sm_names "$(_sm_tool sm-notify)" channel list --json; }
_sm_providers() {
	echo local
	_sm_names "$(_sm_tool sm-analyze)" provider list --json
}

# COMPREPLY from words matching the current word; a word ending in "="
# takes its value without a space.
_sm_reply() {
	local cur=$1 w
	shift
	COMPREPLY=()
	while IFS= read -r w; do
		[[ -n $w && $w == "$cur"* ]] && COMPREPLY+=("$w")
	done < <(printf '%s\n' "$@")
	if [[ ${#COMPREPLY[@]} -eq 1 && ${COMPREPLY[0]} == *= ]]; then
		compopt -o nospace 2>/dev/null
	fi
	return 0
}

# A comma-separated list (--checkers a,b,): complete its last item.
_sm_reply_list() {
	local cur=$1 head=
	shift
	[[ $cur == *,* ]] && head=${cur%,*},
	_sm_reply "${cur##*,}" "$@"
	COMPREPLY=("${COMPREPLY[@]/#/$head}")
}

# File names added to COMPREPLY (or, from _sm_files, the only replies).
_sm_add_files() {
	local f
	while IFS= read -r f; do COMPREPLY+=("$f"); done < <(compgen -f -- "$1")
	compopt -o filenames 2>/dev/null
	return 0
}
_sm_files() {
	COMPREPLY=()
	_sm_add_files "$1"
}

# The options of a tool that take a value, from --help ("--limit N",
# "-d, --driver NAME"): their values are not operands.
_sm_valued_options() {
	"$1" --help 2>/dev/null |
		grep -oE -- '(-[a-zA-Z], )?--[a-z][a-z0-9-]* [A-Z]' |
		sed 's/ [A-Z]$//; s/, /\n/' | sort -u
}

_sm() {
	local cur=${COMP_WORDS[COMP_CWORD]} prev=
	local tool=${COMP_WORDS[0]##*/} self=${COMP_WORDS[0]}
	local -a args=()
	local i valued

	((COMP_CWORD > 0)) && prev=${COMP_WORDS[COMP_CWORD - 1]}

	# The value of the option before the current word.
	case $tool:$prev in
	sm-ingest:-d | sm-ingest:--driver)
		_sm_reply "$cur" "$(_sm_first_column "$self" --list-drivers)"
		return ;;
	*:--severity)
		_sm_reply "$cur" info warning critical
		return ;;
	sm-push-hub:--checkers)
		_sm_reply_list "$cur" "$(_sm_checkers)"
		return ;;
	*:--checker)
		_sm_reply "$cur" "$(_sm_checkers)"
		return ;;
	sm-pipeline:-d | sm-pipeline:--definition | *:--preset)
		_sm_reply "$cur" "$(_sm_definitions)"
		return ;;
	sm-notify:-c | *:--channel)
		_sm_reply "$cur" "$(_sm_channels)"
		return ;;
	*:--provider)
		_sm_reply "$cur" "$(_sm_providers)"
		return ;;
	*:--payload | *:--config)
		_sm_files "$cur"
		return ;;
	esac

	if [[ $cur == -* ]]; then
		_sm_reply "$cur" "$(_sm_options "$self")"
		return
	fi

	# The operands before the current word: options and their values left out.
	valued=$'\n'$(_sm_valued_options "$self")$'\n'
	for ((i = 1; i < COMP_CWORD; i++)); do
		case ${COMP_WORDS[i]} in
		-*) ;;
		*) [[ $valued == *$'\n'"${COMP_WORDS[i - 1]}"$'\n'* ]] || args+=("${COMP_WORDS[i]}") ;;
		esac
	done

	case $tool in
	sm-check)
		_sm_reply "$cur" "$(_sm_checkers)" -
		;;
	sm-ingest)
		case ${args[0]-}:${#args[@]} in
		:0) _sm_reply "$cur" "$(_sm_commands "$self")"
			_sm_add_files "$cur" ;;
		incident:1) _sm_reply "$cur" "$(_sm_commands "$self" incident)" ;;
		esac
		;;
	sm-notify)
		case ${args[0]-}:${args[1]-}:${#args[@]} in
		::0) _sm_reply "$cur" "$(_sm_commands "$self")"
			_sm_add_files "$cur" ;;
		channel::1) _sm_reply "$cur" "$(_sm_commands "$self" channel)" ;;
		channel:add:3 | test::1) _sm_reply "$cur" "$(_sm_notify_drivers)" ;;
		channel:add:*) _sm_reply "$cur" "$(_sm_notify_keys "${args[3]}")" ;;
		test:*) _sm_reply "$cur" "$(_sm_notify_keys "${args[1]}")" ;;
		channel:*:2) _sm_reply "$cur" "$(_sm_channels)" ;;
		esac
		;;
	sm-analyze)
		case ${args[0]-}:${args[1]-}:${#args[@]} in
		::0) _sm_reply "$cur" "$(_sm_commands "$self")"
			_sm_add_files "$cur" ;;
		provider::1) _sm_reply "$cur" "$(_sm_commands "$self" provider)" ;;
		provider:add:3) _sm_reply "$cur" "$(_sm_names "$self" --list-providers)" ;;
		provider:add:*) ;;
		provider:*:2) _sm_reply "$cur" "$(_sm_providers)" ;;
		esac
		;;
	sm-pipeline)
		case ${args[0]-}:${#args[@]} in
		:0) _sm_reply "$cur" "$(_sm_commands "$self")" ;;
		definition:1 | queue:1) _sm_reply "$cur" "$(_sm_commands "$self" "${args[0]}")" ;;
		definition:2)
			case ${args[1]} in
			show | rm) _sm_reply "$cur" "$(_sm_definitions)" ;;
			validate) _sm_reply "$cur" "$(_sm_definitions)"
				_sm_add_files "$cur" ;;
			esac ;;
		definition:3 | route:1) _sm_files "$cur" ;;
		esac
		;;
	esac
	return 0
}

complete -F _sm sm-check sm-ingest sm-analyze sm-notify sm-pipeline sm-push-hub
