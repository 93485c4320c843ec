#!/usr/bin/env bash
# bench/coldread.sh [N] - what the first read after another process's
# commit costs a connection (bench/coldread.c): SQLite's page cache one
# malloc a page against an arena (sm_store_long_running), malloc giving
# freed memory back to the kernel or not, and the reader idle between two
# commits or not. Prints markdown for bench/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-500}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cc -O2 -o "$tmp/coldread" bench/coldread.c -lsqlite3
keep=glibc.malloc.trim_threshold=67108864
echo "$(nproc) CPUs; $(uname -r); load $(cut -d' ' -f1-3 /proc/loadavg); SQLite $(sqlite3 --version 2>/dev/null | cut -d' ' -f1)"
echo
echo "| rows the reader commits between reads | page cache | malloc gives back | idle before each commit | cold read, median µs | warm read, median µs |"
echo "| ---: | --- | --- | ---: | ---: | ---: |"
for row in "20 0 yes 0" "100 0 yes 0" "100 0 no 0" "100 256 yes 0" "100 256 no 0" \
	"20 0 yes 50000" "20 256 no 50000"; do
	read -r rows arena back idle <<<"$row"
	if [ "$back" = yes ]; then
		out=$("$tmp/coldread" "$tmp/c.db" "$n" "$rows" "$arena" "$idle")
	else
		out=$(GLIBC_TUNABLES=$keep "$tmp/coldread" "$tmp/c.db" "$n" "$rows" "$arena" "$idle")
	fi
	rm -f "$tmp"/c.db*
	read -r c w <<<"$out"
	echo "| $rows | $([ "$arena" = 0 ] && echo "a malloc a page" || echo "arena of $arena") | $back | $((idle / 1000)) ms | $c | $w |"
done
