#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Judge the Linux-as-L1 run (l1-run.sh, one boot per L0 module): each L2
# workload's result with ours as L0 against its result with stock as L0 and
# against the expectations; L1's boot and kvm_intel parameters with each;
# the emulators' status; L0's and L1's kernel logs.
#
# Usage: l1-judge.sh RUN_DIR PLAN EXPECTATIONS
#   RUN_DIR holds stock/ and ours/, each with console.log and
#   emulator.status.  EXPECTATIONS lists the workloads that fail with both
#   L0 modules, each with its reason: they are XFAIL, never a pass.
# Prints a table for people, and writes RUN_DIR/results: one line per check,
# "VERDICT NAME DETAIL" with VERDICT one of PASS FAIL SKIP XFAIL XPASS.
set -euo pipefail

run=$1
plan=$2
expect=$3
res=$run/results
: >"$res"
. "$(dirname "$0")/judge-lib.sh"

emit() { printf '%s %s %s\n' "$1" "$2" "${3:-}" >>"$res"; }
phases="ours stock"

# Each console as text, split into L0's lines and L1's (l1-host-init prefixes
# L1's with "L1| ").
for p in $phases; do
	d=$run/$p
	tr -d '\r' <"$d/console.log" >"$d/console.txt" 2>/dev/null || : >"$d/console.txt"
	sed -n 's/^L1| //p' "$d/console.txt" >"$d/l1.txt"
	grep -av '^L1| ' "$d/console.txt" >"$d/l0.txt" || true
done

# field FILE TAG N: the Nth word of the last "# TAG" line of FILE.
field() {
	awk -v tag="$2" -v n="$3" '$1 == "#" && $2 == tag { v = $n } END { print v }' "$1"
}

# params FILE TAG: kvm_intel's ept/vpid/unrestricted_guest on TAG's line.
params() {
	awk -v tag="$2" '$1 == "#" && $2 == tag {
		v = ""
		for (i = 3; i <= NF; i++)
			if ($i ~ /^(ept|vpid|unrestricted_guest)=/) {
				sub(/^[a-z_]*=/, "", $i)
				v = v (v == "" ? "" : "/") $i
			}
		} END { print v }' "$1"
}

ran=$(awk '/^# nvmx-kernel / { print $3 " (" $4 ")"; exit }' "$run/ours/console.txt")
echo "kernel: Debian ${ran:-unknown}, as L0 (emulated host) and as L1 (QEMU -cpu max,+vmx)"
fmt='%-36s %-10s %-10s\n'
printf "$fmt" "" OURS STOCK
row() {	# row LABEL FUNCTION l0|l1 ARGS...: FUNCTION's value with ours and with stock
	local label=$1 f=$2 level=$3
	shift 3
	printf "$fmt" "$label" "$($f "$run/ours/$level.txt" "$@")" \
		"$($f "$run/stock/$level.txt" "$@")"
}
row "L0 kvm_intel ept/vpid/ug" params l0 nvmx-l0
row "L1 boot (s, QEMU start to /init)" field l0 nvmx-l1-boot 4
row "L1 kernel uptime at /init (s)" field l1 nvmx-l1-uptime 3
row "L1 kvm_intel ept/vpid/ug" params l1 nvmx-l1-kvm-intel
for p in $phases; do
	b=$(field "$run/$p/l0.txt" nvmx-l1-boot 4)
	k=$(params "$run/$p/l1.txt" nvmx-l1-kvm-intel)
	if [ -n "$b" ] && [ -n "$k" ]; then
		emit PASS "l1-boot/$p" "L1 reached /init ${b}s after QEMU started; its kvm_intel ept/vpid/unrestricted_guest $k"
	elif [ -n "$b" ]; then
		emit FAIL "l1-boot/$p" "L1 reached /init but could not load its KVM modules"
	else
		emit FAIL "l1-boot/$p" "L1 never reached its /init"
	fi
done

expected_failure() {	# the reason EXPECTATIONS gives for workload $1
	awk -v t="$1" '!/^[[:space:]]*(#|$)/ && $1 == t { $1 = ""; sub(/^ +/, ""); print }' "$expect"
}

echo
fmt='%-36s %-8s %-8s %8s %8s %6s\n'
printf "$fmt" WORKLOAD OURS STOCK "T(OURS)" "T(STOCK)" RATIO
for t in $(awk '!/^[[:space:]]*(#|$)/ { print $1 }' "$plan"); do
	log=$run/ours/l1.txt
	o=$(result ours "$t")
	to=$(seconds ours "$t")
	log=$run/stock/l1.txt
	s=$(result stock "$t")
	ts=$(seconds stock "$t")
	printf "$fmt" "$t" "${o%%:*}" "${s%%:*}" "$to" "$ts" "$(ratio "$to" "$ts")"
	why=$(expected_failure "$t")
	if [ "${o%%:*}" != "${s%%:*}" ]; then
		emit FAIL "l1/$t" "ours as L0: $o; stock as L0: $s"
		printf '    differs: ours as L0: %s; stock as L0: %s\n' "$o" "$s"
	elif [ -n "$why" ]; then
		case $o in
		pass)	emit XPASS "l1/$t" "passes with both now: take it off $expect"
			printf '    XPASS: passes with both, take it off %s\n' "$expect" ;;
		*)	emit XFAIL "l1/$t" "$o with both ($why)"
			printf '    expected with both: %s\n' "$why" ;;
		esac
	else
		case $o in
		pass)	emit PASS "l1/$t" ;;
		skip:*)	emit SKIP "l1/$t" "${o#skip:}" ;;
		*)	emit FAIL "l1/$t" "$o with both L0 modules, and not in $expect"
			printf '    both: %s (not in %s)\n' "$o" "$expect" ;;
		esac
	fi
done
echo

for p in $phases; do
	read -r status secs <"$run/$p/emulator.status" || status=missing
	q=$(field "$run/$p/l0.txt" nvmx-qemu-exit 3)
	if [ "$status" != done ]; then
		emit FAIL "emulator/$p" "$status after ${secs:-?}s"
		echo "emulated host with $p: $status after ${secs:-?}s"
	elif [ "$q" != 0 ] || ! grep -aqx '# nvmx-l1-end' "$run/$p/l1.txt"; then
		emit FAIL "emulator/$p" "L1 did not finish: QEMU exit status ${q:-none}"
		echo "L1 on $p: did not finish, QEMU exit status ${q:-none}"
		grep -a '^# qemu: ' "$run/$p/console.txt" | head -n 5 || true
	else
		emit PASS "emulator/$p" "powered off after ${secs}s, L1 finished"
	fi
done

# L0's kernel log from its module load on, and L1's whole kernel log (it
# boots on L0's module), must show no WARN, BUG, Oops, general protection
# fault, lockup or RCU stall.
for p in $phases; do
	for level in l0 l1; do
		if [ $level = l0 ]; then
			first=$(sed -n '/nvmx-phase: /,$p' "$run/$p/l0.txt" | grep -aE -m1 "$bad" || true)
		else
			first=$(grep -aE -m1 "$bad" "$run/$p/l1.txt" || true)
		fi
		name=kernel-log/${level^^}-$p
		if [ -n "$first" ]; then
			emit FAIL "$name" "$first"
			printf '*** %s kernel log with %s as L0: %s\n' "${level^^}" "$p" "$first"
		else
			emit PASS "$name" "no WARN/BUG/Oops/lockup/stall"
		fi
	done
done
