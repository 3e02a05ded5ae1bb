#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Boot the emulated VMX host (Bochs 2.7, corei7_skylake_x) with Debian's own
# kernel and run the planned selftests with each module set NVMX_PHASES names
# ("stock ours" by default; run-phases.sh boots once per module).  The serial
# console is saved to OUT/console.log; judge.sh turns it into results.  A
# host-side timeout ends a machine that hangs (see Documentation/nvmx/
# testing.rst); run-phases.sh keeps other trees' emulators off the cores.
#
# Usage: run.sh BUILD_DIR OURS_KMOD_DIR SELFTEST_DIR PLAN OUT_DIR
set -euo pipefail

top=$(cd "$(dirname "$0")/../../.." && pwd)
tag=vmxhost${NVMX_PHASES:+ $NVMX_PHASES}
. "$top/scripts/nvmx/vmxhost/lib.sh"
runner_args "$@"
# Boot (~45 s, mostly decompressing the kernel) plus the tests, with margin.
limit=${NVMX_EMU_TIMEOUT:-$((150 + 2 * $(grep -cv '^[[:space:]]*\(#\|$\)' "$plan") * 10))}

# initramfs: the modules of both phases, the tests, the plan.
r=$work/root
mkdir -p "$r/nvmx/tests"
cp "$top/scripts/nvmx/vmxhost/init" "$r/init"
cp "$top/scripts/nvmx/run-tests.sh" "$r/nvmx/run-tests.sh"
chmod +x "$r/init"
kvm_modules "$r/nvmx/modules" stock ours
cp "$plan" "$r/nvmx/plan"
echo "${NVMX_KVM_INTEL_PARAMS:-}" >"$r/nvmx/params"
echo "${NVMX_PHASES:-stock ours}" >"$r/nvmx/phases"
# A test run again with other module parameters ("TEST[PARAMS]") is the
# same program.
grep -v '^[[:space:]]*\(#\|$\)' "$plan" | while read -r t _; do
	t=${t%%\[*}
	[ -x "$tests/$t" ] || { echo "[vmxhost] error: test $t not built in $tests" >&2; exit 1; }
	[ -e "$r/nvmx/tests/$t" ] || strip -o "$r/nvmx/tests/$t" "$tests/$t"
done
initramfs "$r" "$work/initrd"
boot_emulator "$work" "$work/initrd" 512 "$limit" "$out"
