#!/usr/bin/env bash
# bench/check.sh [RUNS] - sm-check against the C monitoring plugins, side by
# side in one run on this machine. Prints a markdown table for bench/README.md.
#   - CPU time of `sm-check memory swap load disk disk_inodes raid
#     reboot_debian listening_ports process` vs check_load + check_disk +
#     check_swap + check_procs added up (bar: sm-check <= 0.25 x the sum);
#   - peak RSS of that sm-check run (bar: <= 3 MiB);
#   - wall time of a full default run, samplers included (bar: <= 1.3 s);
#   - the system calls of one more subset run (strace -c), if strace is there.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-200}
bin=${SM_BIN:-build/bin}
plugins=/usr/lib/nagios/plugins
[ -x "$plugins/check_load" ] || { echo "bench/check.sh: run scripts/deps bench first" >&2; exit 1; }
[ -x "$bin/sm-check" ] || { echo "bench/check.sh: build first (scripts/build)" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export SM_DB="$tmp/sm.db" SM_ENV_FILE=/dev/null SM_LOG_LEVEL=off
"$bin/sm-check" memory >/dev/null || true # create the store outside the measurement

cc -O2 -o "$tmp/runstat" bench/runstat.c
measure() { "$tmp/runstat" "$runs" "$@"; }
row() { printf '| %s | %s | %s | %s |\n' "$1" "$2" "$3" "$4"; }

echo "runs per command: $runs; $(nproc) CPUs; $(uname -r)"
echo
row "command" "CPU ms/run" "wall ms/run" "peak RSS KiB"
row "---" "---:" "---:" "---:"
total=0
for p in "check_load -w 5,4,3 -c 10,8,6" "check_disk -w 20% -c 10% -p /" \
	"check_swap -w 20% -c 10%" "check_procs -w 500 -c 1000"; do
	# shellcheck disable=SC2086
	read -r cpu wall rss < <(measure $plugins/$p)
	row "$p" "$cpu" "$wall" "$rss"
	total=$(/usr/bin/python3 -c "print(round($total + $cpu, 2))")
done
row "**four plugins added up**" "**$total**" "" ""
subset="memory swap load disk disk_inodes raid reboot_debian listening_ports process"
# shellcheck disable=SC2086
read -r cpu wall rss < <(measure "$bin/sm-check" $subset)
row "sm-check $subset" "$cpu" "$wall" "$rss"
read -r fcpu fwall frss < <("$tmp/runstat" 5 "$bin/sm-check")
row "sm-check (full default run, 5 runs)" "$fcpu" "$fwall" "$frss"
echo
# One more subset run under strace: its system calls, steadier than time on
# a shared machine (listening_ports' share grows with the host's processes
# and open files, counted beside it).
if command -v strace >/dev/null; then
	# shellcheck disable=SC2086
	strace -f -c -o "$tmp/calls" "$bin/sm-check" $subset >/dev/null || true
	calls() {
		awk -v s="$1" '$NF == s { n = NF == 6 ? $4 " (" $5 " failed)" : $4 }
			END { print n ? n : 0 }' "$tmp/calls"
	}
	echo "one subset run: $(calls total) system calls; fdatasync $(calls fdatasync);" \
		"readlinkat $(calls readlinkat), getdents64 $(calls getdents64)," \
		"openat $(calls openat), newfstatat $(calls newfstatat);" \
		"$(find /proc -maxdepth 1 -name '[0-9]*' | wc -l) processes," \
		"$(find /proc/[0-9]*/fd -mindepth 1 -maxdepth 1 2>/dev/null | wc -l) open files"
	echo
fi
/usr/bin/python3 - "$cpu" "$total" "$rss" "$fwall" <<'PY'
import sys
cpu, total, rss, wall = map(float, sys.argv[1:])
checks = [("CPU <= 0.25 x plugins' sum", cpu <= 0.25 * total,
           f"{cpu} ms = {cpu / total:.2f} x {total} ms"),
          ("peak RSS <= 3 MiB", rss <= 3072, f"{rss:.0f} KiB, bar 3072 KiB"),
          ("full run <= 1.3 s", wall <= 1300, f"{wall:.0f} ms, bar 1300 ms")]
for name, ok, detail in checks:
    print(f"- {name}: {'yes' if ok else 'NO'} ({detail})")
PY
