#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Unit tests of scripts/nvmx/vmxhost/bench.sh (make bench's judge) on made-up
# consoles: medians and spread of the runs with N, the ratio, the targets
# and the linearity check as the figures say, and a run that fails (not a
# missed target) failing make bench.
set -uo pipefail

top=$(cd "$(dirname "$0")/../../.." && pwd)
bench=$top/scripts/nvmx/vmxhost/bench.sh
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0
failed=0
what=bench
. "$top/tools/testing/nvmx/tap-lib.sh"

t=nvmx_exit_bench_test
printf '%s\n' "$t 600 -n 100 -r 3" "$t 600 -n 200" 'trailer 60' >"$tmp/plan"

# run PHASE N CPUID... : one run of the test in PHASE with -n N, printing
# the cycles of variant cpuid (one figure per run) and fixed other figures
# ($exits: cpuid's L0 exits per round trip in this phase).
run() {
	local phase=$1 nn=$2 c
	shift 2
	echo "# nvmx-begin $phase/$t"
	echo "# # nvmx-bench-config n=$nn r=$#"
	echo '# # nvmx-bench cpuid_floor 1000'
	for c in "$@"; do
		echo "# # nvmx-bench cpuid $c"
		echo "# # nvmx-bench cpuid_l0_exits_per_rt $exits"
		echo '# # nvmx-bench cpuid_tlb_flush_per_1k 0'
		echo '# # nvmx-bench cpuid_req_event_per_1k 0'
		echo "# # nvmx-bench cpuid_lib $((c + 3000))"
		echo "# # nvmx-bench cpuid_lib_l0_exits_per_rt 4.00"
	done
	echo '# ok 1 cpuid: 3 x 100 exits, reason 10'
	echo '# ok 4 cr0: 3 x 100 exits, reason 28'
	echo '# ok 2 cpuid_lib: 3 x 100 exits, reason 10'
	echo '# ok 3 # SKIP io: L1 is not offered VPID'
	echo "# nvmx-time $phase/$t 1.00"
}

# judge NAME STATUS: bench.sh on $tmp/run (console from stdin), output in
# $tmp/out; one TAP line on its exit status (0 or 1, as STATUS says).  Not
# in a pipeline: it counts the TAP lines in $n.
judge() {
	local rc
	rm -rf "$tmp/run"
	mkdir -p "$tmp/run"
	cat >"$tmp/run/console.log"
	echo 'done 100' >"$tmp/run/emulator.status"
	"$bench" "$tmp/run" "$tmp/plan" 100 >"$tmp/out" 2>&1
	rc=$?
	n=$((n + 1))
	if [ "$rc" = "$2" ]; then
		echo "ok $n - $what: $1: exit status $rc"
	else
		echo "not ok $n - $what: $1: exit status $rc, expected $2"
		sed 's/^/# /' "$tmp/out"
		failed=1
	fi
}

echo "TAP version 13"
{
	echo 'nvmx-phase: stock'
	exits=2.00 run stock 100 14000 14100 14050
	echo 'ok 1 stock/nvmx_exit_bench_test'
	exits=2.00 run stock 200 14060
	echo 'ok 2 stock/nvmx_exit_bench_test'
	echo 'nvmx-phase-end: stock'
	echo '[    0.1] WARNING: CPU: 0 PID: 0 at arch/x86/kernel/fpu/xstate.c:1 XSAVE consistency problem'
	echo 'nvmx-phase: ours'
	exits=6.00 run ours 100 22000 22300 22200
	echo 'ok 1 ours/nvmx_exit_bench_test'
	exits=6.00 run ours 200 22250
	echo 'ok 2 ours/nvmx_exit_bench_test'
	echo 'nvmx-phase-end: ours'
} >"$tmp/console"
judge "missed targets fail nothing" 0 <"$tmp/console"
expect "median and spread of the runs with N, ratio, L0 exits and floor" \
	'^cpuid +22200 \(22000-22300\) +14050 \(14000-14100\) +1\.58 +6\.00/2\.00 +0/0 +0/0 +1000/1000$' "$tmp/out"
expect "missed targets are marked" \
	'^cpuid +NOT MET \(1\.58\) +NOT MET \(6\.00 > 2\.00\) +NOT MET \(6\.00\) +ok \(1\.002 1\.001\)$' "$tmp/out"
expect "the library handler is held to no exit count of 2" \
	'^cpuid_lib .* +- \(C handler\) ' "$tmp/out"
expect "a variant skipped with both modules is shown as such" \
	'^io +skip +skip ' "$tmp/out"
expect "a variant whose name has a digit has its line" '^cr0 ' "$tmp/out"
expect "every run of the test passed" '^bench ours: 2 of 2 runs of nvmx_exit_bench_test passed$' "$tmp/out"

sed 's|cpuid 22000$|cpuid 8000|; s|cpuid 22300$|cpuid 8100|; s|cpuid 22200$|cpuid 8000|
     s|cpuid 22250$|cpuid 8800|; s|cpuid_l0_exits_per_rt 6.00|cpuid_l0_exits_per_rt 2.00|' \
	"$tmp/console" >"$tmp/c2"
judge "targets met" 0 <"$tmp/c2"
expect "met targets are marked, a nonlinear figure is not" \
	'^cpuid +met \(0\.57\) +met \(2\.00 <= 2\.00\) +met \(2\.00\) +NOT LINEAR \(1\.100 1\.001\)$' "$tmp/out"

sed 's|^ok 2 ours/nvmx_exit_bench_test$|not ok 2 ours/nvmx_exit_bench_test # exit status 1|' \
	"$tmp/console" >"$tmp/c2"
judge "a run that fails fails make bench" 1 <"$tmp/c2"
expect "the failed run is named" '^bench ours: FAIL: 1 of 2 runs' "$tmp/out"

grep -v '^ok 2 stock/' "$tmp/console" >"$tmp/c2"
judge "a run that hangs fails make bench" 1 <"$tmp/c2"
expect "the hung run is named" '^bench stock: FAIL: 1 of 2 runs .*2 started' "$tmp/out"

sed 's|^ok 1 ours/nvmx_exit_bench_test$|[   9.0] BUG: kernel NULL pointer dereference\n&|' \
	"$tmp/console" >"$tmp/c2"
judge "a BUG while a module is loaded fails make bench" 1 <"$tmp/c2"
expect "the BUG is named" '^bench: FAIL: kernel log: .*BUG: kernel NULL' "$tmp/out"
echo "1..$n"
exit $failed
