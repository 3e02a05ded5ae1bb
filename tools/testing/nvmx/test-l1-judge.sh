#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Unit tests of scripts/nvmx/vmxhost/l1-judge.sh on made-up consoles of the
# Linux-as-L1 run: a workload whose result differs between the two L0
# modules fails, one that fails with both is XFAIL only when the
# expectations give its reason, a WARN in L0's or L1's kernel log fails, and
# an L1 that never reached its /init fails.
set -uo pipefail

top=$(cd "$(dirname "$0")/../../.." && pwd)
judge=$top/scripts/nvmx/vmxhost/l1-judge.sh
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0
failed=0
what=l1-judge
. "$top/tools/testing/nvmx/tap-lib.sh"

printf '%s\n' 'w_pass 30' 'w_known 30 -x 1' >"$tmp/plan"
printf '%s\n' '# workload reason' 'w_known  the emulated CPU' >"$tmp/expect"

# console PHASE: the console of one boot; L1's results for PHASE on stdin,
# L0's own extra lines in $l0_more.
l0_more=
console() {
	mkdir -p "$tmp/run/$1"
	{
		echo '[    0.1] WARNING: CPU: 0 PID: 0 at arch/x86/kernel/fpu/xstate.c:1 XSAVE consistency problem'
		echo "[    9.6] nvmx-phase: $1"
		echo "# nvmx-l0 $1 version 'x' taint '' nested=Y ept=Y vpid=Y unrestricted_guest=Y"
		echo "# nvmx-l1-boot $1 20.50"
		echo 'L1| # nvmx-l1-init'
		echo 'L1| # nvmx-l1-uptime 2.20'
		echo "L1| # nvmx-l1-kvm-intel $1 ept=Y vpid=Y unrestricted_guest=Y nested=Y"
		sed 's/^/L1| /'
		echo 'L1| # nvmx-l1-end'
		echo '# nvmx-qemu-exit 0'
		[ -z "$l0_more" ] || echo "$l0_more"
		echo "[   40.0] nvmx-phase-end: $1"
		echo '[   40.0] nvmx-done'
	} | sed 's/$/\r/' >"$tmp/run/$1/console.log"
	echo 'done 200' >"$tmp/run/$1/emulator.status"
}

# check NAME 'GREP-E PATTERN FOR results' OURS_L1_LOG STOCK_L1_LOG
check() {
	rm -rf "$tmp/run"
	printf '%s\n' "$3" | console ours
	printf '%s\n' "$4" | console stock
	"$judge" "$tmp/run" "$tmp/plan" "$tmp/expect" >"$tmp/out" 2>&1
	expect "$1" "$2" "$tmp/run/results"
}


both_ok='ok 1 P/w_pass
not ok 2 P/w_known # exit status 254'
ours=${both_ok//P/ours}
stock=${both_ok//P/stock}

echo "TAP version 13"
check "passes with both" '^PASS l1/w_pass $' "$ours" "$stock"
check "fails with both, with a reason: XFAIL" \
	'^XFAIL l1/w_known fail:exit status 254 with both \(the emulated CPU\)' "$ours" "$stock"
check "L1's boot and parameters" \
	'^PASS l1-boot/ours L1 reached /init 20.50s .* ept/vpid/unrestricted_guest Y/Y/Y' "$ours" "$stock"
check "boot-time XSAVE warning of L0 is nobody's" '^PASS kernel-log/L0-ours ' "$ours" "$stock"
check "fails with ours, passes with stock" \
	'^FAIL l1/w_pass ours as L0: fail:exit status 1; stock as L0: pass' \
	"not ok 1 ours/w_pass # exit status 1" "$stock"
check "fails with both, without a reason" \
	'^FAIL l1/w_pass fail:exit status 1 with both L0 modules' \
	"not ok 1 ours/w_pass # exit status 1" "not ok 1 stock/w_pass # exit status 1"
check "an expected failure that passes with both is XPASS" '^XPASS l1/w_known ' \
	"ok 2 ours/w_known" "ok 2 stock/w_known"
check "a hang with ours differs from a failure with stock" '^FAIL l1/w_known ours as L0: hang' \
	"# nvmx-begin ours/w_known" "$stock"
check "WARN in L1's kernel log" '^FAIL kernel-log/L1-ours .*WARNING: CPU: 1 PID: 9 at arch/x86/kvm/mmu' \
	"$ours
[    3.1] WARNING: CPU: 1 PID: 9 at arch/x86/kvm/mmu/mmu.c:1 kvm_mmu_page_fault+0x1" "$stock"
l0_more='[   30.1] watchdog: BUG: soft lockup - CPU#0 stuck for 22s! [qemu-system-x86:77]'
check "soft lockup in L0's kernel log" '^FAIL kernel-log/L0-ours .*soft lockup' "$ours" "$stock"
l0_more=
rm -rf "$tmp/run"
printf '%s\n' "$ours" | console ours
printf '%s\n' "$stock" | console stock
sed -i '/nvmx-l1-boot\|^L1| /d' "$tmp/run/ours/console.log"
"$judge" "$tmp/run" "$tmp/plan" "$tmp/expect" >"$tmp/out" 2>&1
expect "L1 that never reached /init" '^FAIL l1-boot/ours L1 never reached its /init' "$tmp/run/results"
expect "... and did not finish" '^FAIL emulator/ours L1 did not finish' "$tmp/run/results"
echo "1..$n"
exit $failed
