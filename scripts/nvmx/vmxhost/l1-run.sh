#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The Linux-as-L1 run: boot the emulated VMX host (lib.sh) with the L0
# kvm-intel.ko that NVMX_PHASES names (stock or ours; run-phases.sh boots
# once per module), nested=1, and run Debian's qemu-system-x86 with KVM in
# it, booting Debian's same kernel as L1 with the stock KVM modules; L1 runs
# the planned selftests as L2 workloads (l1-host-init, l1-init).  QEMU runs
# from the initramfs through the dynamic loader, with the libraries ldd
# names and the firmware it opens for -kernel.  The serial console is saved
# to OUT/console.log; l1-judge.sh turns it into results.
#
# Usage: l1-run.sh BUILD_DIR OURS_KMOD_DIR SELFTEST_DIR PLAN OUT_DIR
#   PLAN: lines "TEST TIMEOUT_SECONDS [ARGS...]" (run-tests.sh); TEST is
#   found in SELFTEST_DIR or SELFTEST_DIR/x86_64.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../../.." && pwd)
phase=${NVMX_PHASES:?NVMX_PHASES must name one module: stock or ours}
tag="l1-linux $phase"
. "$here/lib.sh"
runner_args "$@"
die() { printf '[%s] error: %s\n' "$tag" "$*" >&2; exit 1; }

# L1: 1 CPU (NVMX_L1_SMP=2 gives it two: the workloads with several vCPUs
# then run them side by side), 512 MB.  Two L1 CPUs share the emulated
# host's one, and L1 then sometimes spins for tens of seconds waiting for
# an IPI to the other (smp_call_function_many_cond(): soft lockups and RCU
# stalls in L1, with either module as L0; measured in 6 of 28 boots, see
# Documentation/nvmx/testing.rst), which fails the run.  Its time limit,
# in L0's clock: the boot and the workloads' own limits.
smp=${NVMX_L1_SMP:-1}
mem=512
budget=$(awk '!/^[[:space:]]*(#|$)/ { s += $2 } END { print s + 0 }' "$plan")
l1limit=$((60 + budget))
# NVMX_L1_BOOTS=N boots L1 N times in the one L0 (each with the plan) and
# NVMX_L1_DIAG=1 prints L0's and L1's counters at L1's /init, after each
# workload and at its end (l1-host-init): for finding out why a run is
# slow, not for make l1-linux, whose judge expects one boot.
boots=${NVMX_L1_BOOTS:-1}
diag=${NVMX_L1_DIAG:-0}
# Wall time for the whole machine: L0's boot (~2 min with the QEMU payload)
# and L1's limit for each boot, with margin.
limit=${NVMX_EMU_TIMEOUT:-$((240 + 2 * boots * l1limit))}

# L1's initramfs: the stock modules, the tests, the plan.
l1=$work/l1
mkdir -p "$l1/nvmx/tests"
cp "$here/l1-init" "$l1/init"
cp "$top/scripts/nvmx/run-tests.sh" "$l1/nvmx/run-tests.sh"
cp "$plan" "$l1/nvmx/plan"
kvm_modules "$l1/nvmx/modules" stock
for t in $(awk '!/^[[:space:]]*(#|$)/ { print $1 }' "$plan"); do
	bin=$tests/$t
	[ -x "$bin" ] || bin=$tests/x86_64/$t
	[ -x "$bin" ] || die "test $t not built in $tests"
	strip -o "$l1/nvmx/tests/$t" "$bin"
done

# L0's initramfs: the modules of this phase, QEMU, L1's kernel and initramfs.
r=$work/root
mkdir -p "$r/nvmx/l1" "$r/nvmx/qemu/lib" "$r/nvmx/qemu/firmware" "$r/nvmx/qemu/modules"
cp "$here/l1-host-init" "$r/init"
echo "$phase" >"$r/nvmx/phases"
echo "$smp $mem $l1limit $boots $diag" >"$r/nvmx/l1/config"
kvm_modules "$r/nvmx/modules" "$phase"
# L1 boots Debian's kernel uncompressed, through its PVH entry point
# (CONFIG_PVH): decompressing the xz image would take L1 about 45 s of wall
# time, as it takes the emulated host.  The payload of the bzImage is the
# first xz stream in it.
z=$img/boot/vmlinuz-$KREL
off=$(LC_ALL=C grep -obUaP '\xfd7zXZ\x00' "$z" | head -n 1 | cut -d: -f1)
[ -n "$off" ] || die "no xz payload in $z"
xz -dcq --single-stream <(tail -c +$((off + 1)) "$z") >"$r/nvmx/l1/vmlinux" ||
	die "cannot decompress the payload of $z"
initramfs "$l1" "$r/nvmx/l1/initrd"

qemu=$(command -v qemu-system-x86_64) || die "no qemu-system-x86_64: make deps"
cp "$qemu" "$r/nvmx/qemu/"
ldd "$qemu" | awk '$2 == "=>" && $3 ~ /^\// { print $3 }' | while read -r lib; do
	cp -L "$lib" "$r/nvmx/qemu/lib/"
done
cp -L /lib64/ld-linux-x86-64.so.2 "$r/nvmx/qemu/"
# What QEMU opens for a PVH -kernel with -nodefaults (strace -e openat on a
# TCG run): SeaBIOS, the option ROM that boots PVH, the TPR patching ROM;
# and the accelerator modules it probes.
for f in /usr/share/seabios/bios-256k.bin /usr/share/qemu/pvh.bin \
	 /usr/share/qemu/kvmvapic.bin; do
	cp -L "$f" "$r/nvmx/qemu/firmware/"
done
cp /usr/lib/x86_64-linux-gnu/qemu/accel-*.so "$r/nvmx/qemu/modules/"

initramfs "$r" "$work/initrd"
boot_emulator "$work" "$work/initrd" 1536 "$limit" "$out"
