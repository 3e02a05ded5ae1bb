#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Judge one emulated-host run: compare each test's result with ours against
# the result with stock in the same boot and against the checked-in
# expectations, and scan the kernel log from the first module load on.
#
# Usage: judge.sh RUN_DIR EXPECTATIONS KNOWN_FAILURES [PLAN]
#   RUN_DIR holds console.log and emulator.status from run.sh.  With PLAN,
#   only the emulator tests it names are judged (a run restricted by TESTS=).
# Prints a table for people, and writes RUN_DIR/results: one line per check,
# "VERDICT NAME DETAIL" with VERDICT one of PASS FAIL SKIP XFAIL XPASS.
set -euo pipefail

run=$1
expect=$2
known=$3
plan=${4:-}
res=$run/results
: >"$res"
rm -f "$run/bench"
# The serial console ends lines with CR LF.
log=$run/console.txt
tr -d '\r' <"$run/console.log" >"$log" 2>/dev/null || : >"$log"

. "$(dirname "$0")/judge-lib.sh"

emit() { printf '%s %s %s\n' "$1" "$2" "${3:-}" >>"$res"; }

is_known_failure() { grep -v '^#' "$known" | awk '{ print $1 }' | grep -qxF "$1"; }

# The kernel that ran, and the one the expectations were measured with: a
# new ABI is a normal event (abi.sh), but the table says so.
ran=$(awk '/^# nvmx-kernel / { print $3 " (" $4 ")"; exit }' "$log")
measured=$(awk '/^# measured-with: / { print $3 " (" $4 ")"; exit }' "$expect")
echo "kernel: Debian ${ran:-unknown}; expectations measured with ${measured:-unknown}"
echo "pass: all of the test ran; part: it passed, skipping part of itself (said below it)"
fmt='%-42s %-8s %-8s %8s %8s %6s\n'
printf "$fmt" TEST OURS STOCK "T(OURS)" "T(STOCK)" RATIO
grep -v '^[[:space:]]*\(#\|$\)' "$expect" | while read -r t where base why; do
	if [ -n "$plan" ] && ! awk '{ print $1 }' "$plan" | grep -qxF "$t"; then
		[ "$where" = emu ] && continue
	fi
	if [ "$where" != emu ]; then
		printf "$fmt" "$t" "-" "-" "" "" ""
		printf '    not run here: %s\n' "$why"
		emit SKIP "emu/$t" "not run in the emulated host: $why"
		continue
	fi
	s=$(result stock "$t")
	o=$(result ours "$t")
	ts=$(seconds stock "$t")
	to=$(seconds ours "$t")
	printf "$fmt" "$t" "${o%%:*}" "${s%%:*}" "$to" "$ts" "$(ratio "$to" "$ts")"
	[ "${o%%:*}" != part ] || printf '    ours skipped part: %s\n' "${o#part:}"
	[ "${s%%:*}" != part ] || printf '    stock skipped part: %s\n' "${s#part:}"

	# The stock result must still be the recorded baseline.
	if [ "${s%%:*}" = "$base" ]; then
		emit PASS "stock/$t" "baseline $base"
	else
		emit FAIL "stock/$t" "baseline says $base, stock gave $s"
		printf '    stock: expected %s, got %s\n' "$base" "$s"
	fi

	# Ours must do what stock did, unless it is a known failure.
	if is_known_failure "$t"; then
		case $o in
		pass)	emit XPASS "ours/$t" "passes now: remove it from known-failures"
			printf '    XPASS: passes with ours, remove it from known-failures\n' ;;
		*)	emit XFAIL "ours/$t" "$o" ;;
		esac
		continue
	fi
	# Ours may leave out of a test only what stock left out too: a case
	# stock ran and ours skipped is one ours failed to offer.
	case ${s%%:*}:$o in
	pass:pass)	emit PASS "ours/$t" ;;
	part:part*)	more=$(comm -23 <(skipped_names "${o#part:}") \
				       <(skipped_names "${s#part:}") | paste -sd, -)
			if [ -z "$more" ]; then
				emit PASS "ours/$t" "both skipped part: ${o#part:}"
			else
				emit FAIL "ours/$t" "ours skipped what stock ran: $more"
				printf '    ours skipped what stock ran: %s\n' "$more"
			fi ;;
	part:pass)	emit PASS "ours/$t" "stock skipped part: ${s#part:}" ;;
	skip:skip*)	emit SKIP "ours/$t" "${o#skip:}" ;;
	skip:pass)	emit PASS "ours/$t" "stock skipped (${s#skip:})" ;;
	skip:part*)	emit PASS "ours/$t" "stock skipped (${s#skip:}); ours skipped part: ${o#part:}" ;;
	*)		emit FAIL "ours/$t" "ours: $o, stock: $s"
			printf '    ours: %s\n' "$o" ;;
	esac
done

# Benchmarks print "# nvmx-bench NAME VALUE" (emulated cycles, repeatable);
# the cost of ours is reported as a ratio to stock measured in the same boot.
bench() {	# bench PHASE NAME: the value the test printed in that phase
	awk -v p="$1/" -v n="$2" '
		/^# nvmx-begin / { cur = $3 }
		/^# # nvmx-bench / && index(cur, p) == 1 && $4 == n { v = $5 }
		END { print v }' "$log"
}
# A variant of nvmx_exit_bench_test (VARIANT, VARIANT_floor) also prints
# VARIANT_l0_exits_per_rt and more: one line for it, the cycles with the L0
# exits per round trip beside them; every value goes into $run/bench.
names=$(awk '/^# # nvmx-bench / { print $4 }' "$log" | sort -u)
has() { printf '%s\n' "$names" | grep -qxF "$1"; }
for name in $names; do
	s=$(bench stock "$name")
	o=$(bench ours "$name")
	[ -n "$s" ] && [ -n "$o" ] || continue
	r=$(ratio "$o" "$s")
	echo "bench $name $o $s $r" >>"$run/bench"
	base=${name%_l0_exits_per_rt}
	base=${base%_tlb_flush_per_1k}
	base=${base%_req_event_per_1k}
	if [ "$base" != "$name" ] && has "$base"; then
		continue
	fi
	if has "${name}_l0_exits_per_rt"; then
		printf 'bench %s: ours %s, stock %s, ratio %s, L0 exits/rt ours %s, stock %s\n' \
			"$name" "$o" "$s" "$r" "$(bench ours "${name}_l0_exits_per_rt")" \
			"$(bench stock "${name}_l0_exits_per_rt")"
	else
		printf 'bench %s: ours %s, stock %s, ratio %s\n' "$name" "$o" "$s" "$r"
	fi
done

read -r status secs <"$run/emulator.status" || status=missing
if [ "$status" = done ]; then
	emit PASS emulator "powered off after ${secs}s, Debian ${ran:-unknown}"
else
	emit FAIL emulator "$status after ${secs:-?}s"
	echo "emulated host: $status after ${secs:-?}s"
fi

# The kernel log from the first module load on must show no WARN, BUG, Oops,
# general protection fault, lockup or RCU stall.  Each is charged to the phase
# (module) that was loaded when it appeared.
awk -v bad="$bad" '
	/nvmx-phase-end: / { phase = "" }
	/nvmx-phase: [a-z]+/ { match($0, /nvmx-phase: [a-z]+/); phase = substr($0, RSTART + 12, RLENGTH - 12) }
	phase != "" && $0 ~ bad && !(phase in seen) { seen[phase] = $0 }
	phase != "" { phases[phase] = 1 }
	END { for (p in phases) print p, (p in seen ? seen[p] : "") }
' "$log" | sort | while read -r p first; do
	if [ -n "$first" ]; then
		emit FAIL "kernel-log/$p" "$first"
		printf 'kernel log with %s: %s\n' "$p" "$first"
	else
		emit PASS "kernel-log/$p" "no WARN/BUG/Oops/lockup/stall"
	fi
done
