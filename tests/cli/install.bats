#!/usr/bin/env bats
# The build as installed: `cmake --install` to a temporary prefix gives
# tools that run from PREFIX/bin anywhere (libsm is linked into each tool,
# so they need no RUNPATH) and pages that man finds under PREFIX/share/man.
# No binary, installed or in the build tree, carries an empty or relative
# RUNPATH entry: ld.so takes those relative to the working directory, where
# anyone may have planted a library.

bats_require_minimum_version 1.5.0
load helpers

setup() {
	setup_sm
	BUILD_DIR=$(cd "$SM_BIN/.." && pwd)
}

teardown() {
	teardown_sm
}

# The RUNPATH and RPATH entries of ELF file $1 that are neither absolute
# nor under $ORIGIN, one a line (an empty entry is an empty line).
bad_runpath() {
	# shellcheck disable=SC2016 # a literal $ORIGIN
	readelf -d "$1" | sed -n 's/.*(\(RUNPATH\|RPATH\)).*\[\(.*\)\]$/\2/p' | tr ':' '\n' |
		grep -v -e '^/' -e '^\$ORIGIN\(/\|$\)' || true
}

@test "cmake --install: the tools run from the prefix, man finds every page" {
	command -v man # the pages are checked with man itself
	run cmake --install "$BUILD_DIR" --prefix "$TEST_DIR/p"
	[ "$status" -eq 0 ]
	# The tools, their pages and the service units, nothing else: libsm is
	# linked into each tool.
	[ "$(cd "$TEST_DIR/p" && find . -type f | grep -cv -e '^\./bin/sm-' -e '^\./share/man/man[157]/' \
		-e '^\./lib/systemd/system/sm-' -e '^\./lib/sysusers\.d/sm\.conf$' \
		-e '^\./share/bash-completion/completions/sm-' \
		-e '^\./share/doc/sm/sm\.env\.example$')" = 0 ]
	[ -x "$TEST_DIR/p/bin/sm-check" ] && [ -f "$TEST_DIR/p/share/man/man7/sm.7" ]
	# A copy elsewhere runs too: nothing points back at the build tree.
	mv "$TEST_DIR/p" "$TEST_DIR/moved"
	cd "$TEST_DIR"
	n=0
	for tool in "$SM_BIN"/sm-*; do
		run env -u LD_LIBRARY_PATH "$TEST_DIR/moved/bin/${tool##*/}" --version
		[ "$status" -eq 0 ]
		[[ "$output" == *"${tool##*/}"* ]]
		n=$((n + 1))
	done
	[ "$n" -ge 5 ]
	run "$TEST_DIR/moved/bin/sm-check" memory
	[ "$status" -le 2 ]
	[ "$(sql 'SELECT count(*) FROM check_runs')" = 1 ]
	for page in 1:sm-check 1:sm-ingest 1:sm-notify 1:sm-analyze 1:sm-push-hub 5:sm-envelope 7:sm; do
		run man -M "$TEST_DIR/moved/share/man" -w "${page%%:*}" "${page#*:}"
		[ "$status" -eq 0 ]
		[ "$output" = "$TEST_DIR/moved/share/man/man${page%%:*}/${page#*:}.${page%%:*}" ]
	done
	run man -M "$TEST_DIR/moved/share/man" -w sm-check
	[ "$output" = "$TEST_DIR/moved/share/man/man1/sm-check.1" ]
}

@test "no empty or relative RUNPATH entry in any binary, built or installed" {
	run cmake --install "$BUILD_DIR" --prefix "$TEST_DIR/p"
	[ "$status" -eq 0 ]
	n=0
	for f in "$SM_BIN"/* "$TEST_DIR"/p/bin/* "$BUILD_DIR"/tests/*; do
		[ -f "$f" ] && [ -x "$f" ] || continue
		[ "$(bad_runpath "$f" | wc -l)" = 0 ]
		n=$((n + 1))
	done
	[ "$n" -ge 10 ]
	# The check itself catches both kinds.
	printf 'int main(void){return 0;}\n' >"$TEST_DIR/t.c"
	# shellcheck disable=SC2016 # a literal $ORIGIN
	cc -o "$TEST_DIR/t" "$TEST_DIR/t.c" -Wl,--enable-new-dtags,-rpath,'$ORIGIN/../lib::lib'
	[ "$(bad_runpath "$TEST_DIR/t" | wc -l)" = 2 ]
}
