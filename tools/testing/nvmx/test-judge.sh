#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Unit tests of scripts/nvmx/vmxhost/judge.sh on made-up console logs: the
# harness must catch what it exists to catch (a regression against stock, a
# hang, a kernel WARN while our module is loaded, an XPASS, a changed
# baseline), and must not charge the boot-time XSAVE warning to a module.
set -uo pipefail

top=$(cd "$(dirname "$0")/../../.." && pwd)
judge=$top/scripts/nvmx/vmxhost/judge.sh
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0
failed=0
what=judge
. "$top/tools/testing/nvmx/tap-lib.sh"

cat >"$tmp/expect" <<'X'
# test where stock reason
t_pass   emu    pass
t_skip   emu    skip   needs something
t_native native -      hangs the emulator
X

# console LOG_BODY: a run where both phases print what is given (stock also
# prints $stock_more, if set).
stock_more=
console() {
	{
		echo '[    0.1] WARNING: CPU: 0 PID: 0 at arch/x86/kernel/fpu/xstate.c:1 XSAVE consistency problem'
		echo '[    0.1] Call Trace:'
		echo 'nvmx-phase: stock'
		echo '# nvmx-begin stock/t_pass'
		echo '# nvmx-time stock/t_pass 0.20'
		echo 'ok 1 stock/t_pass'
		echo '# nvmx-begin stock/t_skip'
		echo 'ok 2 stock/t_skip # SKIP Requirement not met'
		[ -z "$stock_more" ] || echo "$stock_more"
		echo 'nvmx-phase-end: stock'
		echo 'nvmx-phase: ours'
		cat
		echo 'nvmx-phase-end: ours'
		echo 'nvmx-done'
	} >"$tmp/run/console.log"
}

# expect NAME KNOWN_FAILURES STATUS 'GREP-E PATTERN FOR results' <<< ours-log
check() {
	local name=$1 known=$2 status=$3 want=$4
	rm -rf "$tmp/run"
	mkdir -p "$tmp/run"
	printf '%s\n' "$known" >"$tmp/known"
	console
	echo "$status" >"$tmp/run/emulator.status"
	"$judge" "$tmp/run" "$tmp/expect" "$tmp/known" >"$tmp/out" 2>&1
	expect "$name" "$want" "$tmp/run/results"
}

echo "TAP version 13"
check "ours matches stock" "" "done 90" '^PASS ours/t_pass $' <<'L'
ok 1 ours/t_pass
ok 2 ours/t_skip # SKIP Requirement not met
L
check "skip with stock and ours is SKIP, never PASS" "" "done 90" '^SKIP ours/t_skip Requirement not met' <<'L'
ok 1 ours/t_pass
ok 2 ours/t_skip # SKIP Requirement not met
L
check "boot-time XSAVE warning is nobody's" "" "done 90" '^PASS kernel-log/stock ' <<'L'
ok 1 ours/t_pass
L
check "fails with ours, passes with stock" "" "done 90" '^FAIL ours/t_pass ours: fail:exit status 1, stock: pass' <<'L'
not ok 1 ours/t_pass # exit status 1
L
check "hang while a test ran" "" "timeout 400" '^FAIL ours/t_pass ours: hang' <<'L'
# nvmx-begin ours/t_pass
L
check "emulator timeout fails the run" "" "timeout 400" '^FAIL emulator timeout after 400s' <<'L'
# nvmx-begin ours/t_pass
L
check "test never started" "" "done 90" '^FAIL ours/t_pass ours: notrun' <<'L'
L
check "WARN while ours is loaded" "" "done 90" '^FAIL kernel-log/ours .*WARNING: CPU: 0 PID: 7 at .*nested' <<'L'
[    9.1] WARNING: CPU: 0 PID: 7 at arch/x86/kvm/vmx/nested.c:42 nested_vmx_vmexit+0x1
ok 1 ours/t_pass
L
check "general protection fault while ours is loaded" "" "done 90" '^FAIL kernel-log/ours .*general protection fault' <<'L'
[    9.1] general protection fault, probably for non-canonical address 0xdead: 0000 [#1] SMP
L
# With one boot per module, the next boot's early messages follow the end
# marker of the previous phase: they belong to neither module.
check "messages after a phase ended are nobody's" "" "done 90" '^PASS kernel-log/ours ' <<'L'
ok 1 ours/t_pass
L
sed -i 's|^nvmx-phase-end: stock$|&\n[    0.1] WARNING: CPU: 0 PID: 0 at arch/x86/kernel/fpu/xstate.c:1 XSAVE consistency problem|' "$tmp/run/console.log"
"$judge" "$tmp/run" "$tmp/expect" "$tmp/known" >/dev/null 2>&1
expect "a new boot's warning is not charged to the previous phase" \
	'^PASS kernel-log/stock ' "$tmp/run/results"
check "soft lockup" "" "done 90" '^FAIL kernel-log/ours .*soft lockup' <<'L'
[   30.1] watchdog: BUG: soft lockup - CPU#0 stuck for 22s! [vmx_test:77]
L
check "known failure that fails is XFAIL" "t_pass  not implemented yet" "done 90" '^XFAIL ours/t_pass fail:' <<'L'
not ok 1 ours/t_pass # exit status 1
L
check "known failure that passes is XPASS" "t_pass  not implemented yet" "done 90" '^XPASS ours/t_pass ' <<'L'
ok 1 ours/t_pass
L
check "known failure that skips (feature not advertised yet) is XFAIL" "t_pass  no nested EPT yet" "done 90" '^XFAIL ours/t_pass skip:Requirement not met: EPT' <<'L'
ok 1 ours/t_pass # SKIP Requirement not met: EPT
L
check "native-only test is reported, not passed" "" "done 90" '^SKIP emu/t_native not run in the emulated host: hangs the emulator' <<'L'
ok 1 ours/t_pass
L
# The benchmark's cost is ours over stock, each taken from its own phase.
check "benchmark line is read per phase" "" "done 90" '^PASS ours/t_pass $' <<'L'
# nvmx-begin ours/t_pass
# # nvmx-bench t_cycles 3000
ok 1 ours/t_pass
L
sed -i 's|^ok 1 stock/t_pass$|# # nvmx-bench t_cycles 2000\n&|' "$tmp/run/console.log"
"$judge" "$tmp/run" "$tmp/expect" "$tmp/known" >"$tmp/out" 2>&1
expect "benchmark ratio ours/stock" \
	'^bench t_cycles: ours 3000, stock 2000, ratio 1\.50$' "$tmp/out"

# A variant of nvmx_exit_bench_test is one line, with its L0 exits per round
# trip; its other figures have no line of their own, but go into the record.
check "benchmark variant line" "" "done 90" '^PASS ours/t_pass $' <<'L'
# nvmx-begin ours/t_pass
# # nvmx-bench cpuid 3000
# # nvmx-bench cpuid_l0_exits_per_rt 6.00
# # nvmx-bench cpuid_tlb_flush_per_1k 0
ok 1 ours/t_pass
L
sed -i 's|^ok 1 stock/t_pass$|# # nvmx-bench cpuid 2000\n# # nvmx-bench cpuid_l0_exits_per_rt 2.00\n# # nvmx-bench cpuid_tlb_flush_per_1k 0\n&|' \
	"$tmp/run/console.log"
"$judge" "$tmp/run" "$tmp/expect" "$tmp/known" >"$tmp/out" 2>&1
expect "benchmark variant: cycles, ratio and L0 exits on one line" \
	'^bench cpuid: ours 3000, stock 2000, ratio 1\.50, L0 exits/rt ours 6\.00, stock 2\.00$' "$tmp/out"
expect_none "benchmark variant: no line for its other figures" '^bench cpuid_' "$tmp/out"
expect "benchmark variant: every figure in the record" \
	'^bench cpuid_tlb_flush_per_1k 0 0 $' "$tmp/run/bench"

# A test run again with other module parameters ("t_pass[ept=0]") is judged
# on its own: its name is no pattern, and the plain run does not answer for it.
cat >>"$tmp/expect" <<'X'
t_pass[ept=0] emu pass
X
stock_more='ok 3 stock/t_pass[ept=0]'
check "run with other module parameters passes on its own line" "" "done 90" '^PASS ours/t_pass\[ept=0\] $' <<'L'
ok 1 ours/t_pass
ok 1 ours/t_pass[ept=0]
L
check "run with other module parameters failing with ours fails" "" "done 90" '^FAIL ours/t_pass\[ept=0\] ours: fail:exit status 1, stock: pass' <<'L'
ok 1 ours/t_pass
not ok 1 ours/t_pass[ept=0] # exit status 1
L
check "plain run does not stand in for the one with other parameters" "" "done 90" '^FAIL ours/t_pass\[ept=0\] ours: notrun' <<'L'
ok 1 ours/t_pass
ok 2 ours/t_passe
L
sed -i '/^t_pass\[ept=0\]/d' "$tmp/expect"
stock_more=

# A test that passes but says it skipped part of itself ("will skip ...",
# state_test and smm_test without KVM_CAP_NESTED_STATE) is not a full pass.
check "part skipped with ours, all run with stock" "" "done 90" '^FAIL ours/t_pass ours: part:will skip nested state checks, stock: pass' <<'L'
# nvmx-begin ours/t_pass
# will skip nested state checks
ok 1 ours/t_pass
L
expect "the table says ours skipped part" \
	'^t_pass +part +pass ' "$tmp/out"
expect "the table says which part" \
	'^    ours skipped part: will skip nested state checks$' "$tmp/out"
check "all run with both is a pass with no part line" "" "done 90" '^PASS ours/t_pass $' <<'L'
# nvmx-begin ours/t_pass
# nvmx: state saved and restored
ok 1 ours/t_pass
L
expect_none "no part line for a test that ran all of itself" 'skipped part' "$tmp/out"
check "a skip line of the next test is not this one's" "" "done 90" '^PASS ours/t_pass $' <<'L'
# nvmx-begin ours/t_pass
ok 1 ours/t_pass
# nvmx-begin ours/t_skip
# will skip SMM test with VMX enabled
ok 2 ours/t_skip # SKIP Requirement not met
L
check "stock ran all of itself: baseline met" "" "done 90" '^PASS stock/t_pass baseline pass' <<'L'
ok 1 ours/t_pass
L
sed -i 's|^ok 1 stock/t_pass$|# will skip SMM test with VMX enabled\n&|' "$tmp/run/console.log"
"$judge" "$tmp/run" "$tmp/expect" "$tmp/known" >"$tmp/out" 2>&1
expect "stock skipping part of itself fails against its baseline" \
	'^FAIL stock/t_pass baseline says pass, stock gave part:will skip SMM test with VMX enabled' "$tmp/run/results"

# nvmx's own tests skip cases one at a time, "ok N # SKIP CASE: WHY" in
# their output: a part too, and ours may skip only what stock skipped.
echo 't_part   emu    part   stock lacks a feature' >>"$tmp/expect"
stock_more='# nvmx-begin stock/t_part
# ok 1 # SKIP c_feat: not offered
# ok 2 c_base
ok 3 stock/t_part'
check "stock skipped a case: its baseline part is met" "" "done 90" '^PASS stock/t_part baseline part' <<'L'
ok 1 ours/t_pass
# nvmx-begin ours/t_part
# ok 1 c_feat
# ok 2 c_base
ok 3 ours/t_part
L
expect "a case stock skipped that ours ran" \
	'^PASS ours/t_part stock skipped part: c_feat: not offered$' "$tmp/run/results"
expect "the table says which case stock skipped" \
	'^    stock skipped part: c_feat: not offered$' "$tmp/out"
check "the same case skipped by both" "" "done 90" '^PASS ours/t_part both skipped part: c_feat: not offered$' <<'L'
ok 1 ours/t_pass
# nvmx-begin ours/t_part
# ok 1 # SKIP c_feat: not offered
# ok 2 c_base
ok 3 ours/t_part
L
check "a case ours skipped that stock ran fails" "" "done 90" '^FAIL ours/t_part ours skipped what stock ran: c_base$' <<'L'
ok 1 ours/t_pass
# nvmx-begin ours/t_part
# ok 1 # SKIP c_feat: not offered
# ok 2 # SKIP c_base: not offered here
ok 3 ours/t_part
L
check "a case skipped by ours where stock ran all fails" "" "done 90" '^FAIL ours/t_pass ours: part:c_one: not offered, stock: pass' <<'L'
# nvmx-begin ours/t_pass
# ok 1 # SKIP c_one: not offered
ok 2 ours/t_pass
L
sed -i '/^t_part /d' "$tmp/expect"
stock_more=

# A stock result that differs from the recorded baseline fails the run.
check "stock baseline changed" "" "done 90" '^PASS stock/t_pass baseline pass' <<'L'
L
sed -i 's|^ok 1 stock/t_pass|not ok 1 stock/t_pass # exit status 1|' "$tmp/run/console.log"
"$judge" "$tmp/run" "$tmp/expect" "$tmp/known" >/dev/null 2>&1
expect "stock result differing from the baseline fails" \
	'^FAIL stock/t_pass baseline says pass, stock gave fail' "$tmp/run/results"
echo "1..$n"
exit $failed
