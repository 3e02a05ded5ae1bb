#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Judge a make bench run: nvmx_exit_bench_test run in the emulated host with
# the stock kvm-intel.ko and with ours (one boot each), several times with
# -n N and once with -n 2N.  Prints, per variant of the test, each module's
# cycles per round trip (median of the runs with N, and their spread), the
# ratio ours/stock, L0 exits, TLB flushes and KVM_REQ_EVENTs per round trip
# and the single-level floor; then issue 10's targets, met or not, and the
# linearity check (cycles per round trip with 2N over those with N, within
# 2%).  Exits 1 when a run of the test did not pass with either module, the
# emulator did not finish, or the kernel log has a WARN, BUG, Oops, lockup or
# stall; a missed target fails nothing.
#
# Usage: bench.sh RUN_DIR PLAN N
#   RUN_DIR holds console.log and emulator.status from run-phases.sh, which
#   ran PLAN; N is the round trips of the runs with -n N.
set -euo pipefail

run=$1
plan=$2
n=$3
test=nvmx_exit_bench_test
log=$run/console.txt
tr -d '\r' <"$run/console.log" >"$log" 2>/dev/null || : >"$log"

. "$(dirname "$0")/judge-lib.sh"

# Every figure the test printed, as "PHASE N NAME VALUE", and each variant's
# TAP result, as "PHASE N result VARIANT pass|skip|fail".
vals=$run/values
awk -v t="$test" '
	/^# nvmx-begin / { split($3, a, "/"); phase = a[1]; cur = a[2]; nn = "" }
	cur != t { next }
	/^# # nvmx-bench-config / { sub(/^n=/, "", $4); nn = $4 }
	/^# # nvmx-bench / { print phase, nn, $4, $5 }
	/^# ok [0-9]+ # SKIP / { v = $6; sub(/:$/, "", v); print phase, nn, "result", v, "skip" }
	/^# ok [0-9]+ [a-z0-9_]+:/ { v = $4; sub(/:$/, "", v); print phase, nn, "result", v, "pass" }
	/^# not ok [0-9]+ [a-z0-9_]+:/ { v = $5; sub(/:$/, "", v); print phase, nn, "result", v, "fail" }
' "$log" >"$vals"

echo "bench: $test, emulated TSC cycles per round trip (L2 exit, L1's handler, VMRESUME)"
echo "runs with N=$n: median (min-max); ratio ours/stock of the medians; per round trip:"
echo "L0 exits (KVM's \"exits\" less \"irq_exits\"); per 1000 round trips: TLB flushes, KVM_REQ_EVENT"
awk -v n="$n" -v n2=$((2 * n)) '
	function sorted(s, a,   k, i, j, x) {
		k = split(s, a, " ")
		for (i = 2; i <= k; i++)
			for (j = i; j > 1 && a[j - 1] + 0 > a[j] + 0; j--) {
				x = a[j]; a[j] = a[j - 1]; a[j - 1] = x
			}
		return k
	}
	function med(s,   a, k) {
		k = sorted(s, a)
		return k ? a[int((k + 1) / 2)] : ""
	}
	function spread(s,   a, k) {
		k = sorted(s, a)
		return k ? "(" a[1] "-" a[k] ")" : ""
	}
	function val(p, nn, name) { return med(all[p, nn, name]) }
	function dash(x) { return x == "" ? "-" : x }
	function pair(name) { return dash(val("ours", n, name)) "/" dash(val("stock", n, name)) }
	function ratio(a, b) { return a == "" || b == "" || b <= 0 ? "" : sprintf("%.2f", a / b) }
	function ratio3(a, b) { return a == "" || b == "" || b <= 0 ? "" : sprintf("%.3f", a / b) }
	function met(ok) { return ok ? "met" : "NOT MET" }
	$3 == "result" { res[$1, $4] = $5; if (!($4 in seen)) { seen[$4] = 1; order[++nv] = $4 }; next }
	{ all[$1, $2, $3] = all[$1, $2, $3] " " $4 }
	END {
		f = "%-12s %-21s %-21s %5s  %-11s %-11s %-11s %s\n"
		printf f, "VARIANT", "OURS", "STOCK", "RATIO", "EXITS/RT", "TLB/1K", "REQ/1K", "FLOOR"
		for (i = 1; i <= nv; i++) {
			x = order[i]
			o = val("ours", n, x); s = val("stock", n, x)
			printf f, x,
				o == "" ? dash(res["ours", x]) : o " " spread(all["ours", n, x]),
				s == "" ? dash(res["stock", x]) : s " " spread(all["stock", n, x]),
				dash(ratio(o, s)), pair(x "_l0_exits_per_rt"),
				pair(x "_tlb_flush_per_1k"), pair(x "_req_event_per_1k"),
				pair(x "_floor")
		}
		print "(EXITS/RT, TLB/1K, REQ/1K, FLOOR: ours/stock)"
		print ""
		print "targets (issue 10): cycles per round trip <= 0.60x stock; L0 exits per round trip <= stock,"
		print "and == 2 with the minimal handler (all but *_lib); linear: cycles/rt with N=" n2 " over N=" n ", within 2%"
		g = "%-12s %-16s %-24s %-16s %s\n"
		printf g, "VARIANT", "CYCLES <= 0.60x", "L0 EXITS <= STOCK", "L0 EXITS == 2", "LINEAR (OURS STOCK)"
		for (i = 1; i <= nv; i++) {
			x = order[i]
			o = val("ours", n, x); s = val("stock", n, x)
			eo = val("ours", n, x "_l0_exits_per_rt"); es = val("stock", n, x "_l0_exits_per_rt")
			if (o == "" || s == "") {
				printf g, x, "-", "-", "-", "- (ours " dash(res["ours", x]) ", stock " dash(res["stock", x]) ")"
				continue
			}
			r = ratio(o, s)
			t1 = met(r <= 0.60) " (" r ")"
			t2 = met(eo + 0 <= es + 0) " (" eo (eo + 0 <= es + 0 ? " <= " : " > ") es ")"
			t3 = x ~ /_lib$/ ? "- (C handler)" : met(eo + 0 == 2) " (" eo ")"
			lo = ratio3(val("ours", n2, x), o); ls = ratio3(val("stock", n2, x), s)
			if (lo == "" || ls == "")
				t4 = "- (no run with N=" n2 ")"
			else
				t4 = (lo >= 0.98 && lo <= 1.02 && ls >= 0.98 && ls <= 1.02 ? "ok" : "NOT LINEAR") " (" lo " " ls ")"
			printf g, x, t1, t2, t3, t4
		}
	}
' "$vals"

# Whether the runs passed: each of the plan's runs of the test, with each
# module; the emulator; the kernel log.
rc=0
echo
for phase in stock ours; do
	runs=$(grep -c "^# nvmx-begin $phase/$test\$" "$log" || true)
	ok=$(grep -cx "ok [0-9]* $phase/$test" "$log" || true)
	want=$(grep -c "^$test " "$plan" || true)
	if [ "$ok" = "$want" ]; then
		echo "bench $phase: $ok of $want runs of $test passed"
	else
		echo "bench $phase: FAIL: $ok of $want runs of $test passed ($runs started; see $run/$phase/console.log)"
		rc=1
	fi
done
read -r status secs <"$run/emulator.status" || status=missing
if [ "$status" != done ]; then
	echo "bench: FAIL: emulated host $status after ${secs:-?}s"
	rc=1
fi
# From each module's load to its unload (the boot-time XSAVE warning of this
# CPU model is nobody's, as in judge.sh).
first=$(awk -v bad="$bad" '
	/nvmx-phase-end: / { on = 0 }
	/nvmx-phase: [a-z]+/ { on = 1 }
	on && $0 ~ bad { print; exit }' "$log")
if [ -n "$first" ]; then
	echo "bench: FAIL: kernel log: $first"
	rc=1
fi
exit $rc
