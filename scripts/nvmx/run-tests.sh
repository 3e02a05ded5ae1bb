#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Run KVM selftests from a plan and print TAP, one result per test.  The same
# script runs inside the emulated VMX host (busybox sh, from /init) and
# natively on a real VMX host (make native-test), so both report alike.
#
# Usage: run-tests.sh PHASE PLAN TESTDIR
#   PLAN: lines "TEST TIMEOUT_SECONDS [ARGS...]"; '#' starts a comment.
#   TEST runs with ARGS as its command line (split at blanks).  A TEST
#   "NAME[PARAMS]" runs the program NAME (the emulated host's /init has
#   loaded kvm-intel with PARAMS) and is reported under the whole name.
#   Besides TAP it prints "# nvmx-begin PHASE/TEST" before a test starts (so
#   the host can name a test that hung the whole machine) and
#   "# nvmx-time PHASE/TEST SECONDS" after it ends.

phase=$1
plan=$2
dir=$3
out=${TMPDIR:-/tmp}/nvmx-test.out

uptime_cs() {	# centiseconds since boot
	awk '{ sub(/\./, "", $1); print $1 + 0 }' /proc/uptime
}

# With the coverage build of kvm-intel loaded (make coverage), the sites of
# our code reached since the module's load or the last listing, which
# empties the collector's table: once for the load (with where the module's
# code sections are), then once per test.  An address is listed without its
# upper 32 bits, all ones in the kernel's module area.  Nothing without the
# coverage build.
cov=/sys/kernel/debug/nvmx_coverage
cov_dump() {	# cov_dump NAME
	[ -e "$cov" ] || return 0
	awk -v p="# nvmx-cov $1" '/^#/ { print p, $0; next }
		{ sub(/^ffffffff/, ""); l = l " " $1 } ++n % 16 == 0 { print p l; l = "" }
		END { if (l != "") print p l }' "$cov"
	echo >"$cov"
}
if [ -e "$cov" ]; then
	for s in /sys/module/kvm_intel/sections/.*text*; do
		echo "# nvmx-cov-section $phase ${s##*/} $(cat "$s")"
	done
	cov_dump "$phase/(load)"
fi

n=0
total=$(grep -cv '^[[:space:]]*\(#\|$\)' "$plan")
echo "TAP version 13"
echo "1..$total"
grep -v '^[[:space:]]*\(#\|$\)' "$plan" | while read -r t limit args; do
	n=$((n + 1))
	echo "# nvmx-begin $phase/$t"
	t0=$(uptime_cs)
	timeout -s KILL "$limit" "$dir/${t%%\[*}" $args >"$out" 2>&1 </dev/null
	rc=$?
	t1=$(uptime_cs)
	sed 's/^/# /' "$out"
	cov_dump "$phase/$t"
	cs=$((t1 - t0))
	echo "# nvmx-time $phase/$t $((cs / 100)).$(printf '%02d' $((cs % 100)))"
	case $rc in
	0)	echo "ok $n $phase/$t" ;;
	4)	why=$(grep -v '^[[:space:]]*$' "$out" | tail -n 1 | tr -d '#')
		echo "ok $n $phase/$t # SKIP ${why:-no reason printed}" ;;
	137)	echo "not ok $n $phase/$t # TIMEOUT after ${limit}s" ;;
	*)	echo "not ok $n $phase/$t # exit status $rc" ;;
	esac
done
rm -f "$out"
