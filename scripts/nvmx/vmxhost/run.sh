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
build=$(realpath "$1")
. "$build/abi.conf"
ours=$(realpath "$2")
tests=$(realpath "$3")
plan=$(realpath "$4")
out=$5
krel=$KREL
img=$build/image
stockmod=$img/lib/modules/$krel/kernel
# Boot (~45 s, mostly decompressing the kernel) plus the tests, with margin.
limit=${NVMX_EMU_TIMEOUT:-$((150 + 2 * $(grep -cv '^[[:space:]]*\(#\|$\)' "$plan") * 10))}

tag=vmxhost${NVMX_PHASES:+ $NVMX_PHASES}
say() { printf '[%s] %s\n' "$tag" "$*"; }

mkdir -p "$out"
out=$(realpath "$out")
work=$out/work
rm -rf "$work"
mkdir -p "$work/root"/{bin,dev,proc,sys,nvmx/tests,nvmx/modules/stock,nvmx/modules/ours} \
	 "$work/iso/isolinux" "$work/iso/boot"

# initramfs: busybox, the modules of both phases, the tests, the plan.
r=$work/root
cp /bin/busybox "$r/bin/busybox"
cp "$top/scripts/nvmx/vmxhost/init" "$r/init"
cp "$top/scripts/nvmx/run-tests.sh" "$r/nvmx/run-tests.sh"
chmod +x "$r/init"
mknod -m 600 "$r/dev/console" c 5 1
cp "$stockmod/virt/lib/irqbypass.ko" "$stockmod/arch/x86/kvm/kvm.ko" \
   "$stockmod/arch/x86/kvm/kvm-intel.ko" "$r/nvmx/modules/stock/"
# Ours pairs with the stock kvm.ko unless kvm.ko was built too.  Debug info
# is dropped: the emulated BIOS loads every byte of the initramfs.
for m in kvm-intel.ko kvm.ko; do
	[ -e "$ours/$m" ] && strip --strip-debug -o "$r/nvmx/modules/ours/$m" "$ours/$m"
done
cp "$plan" "$r/nvmx/plan"
echo "${NVMX_PHASES:-stock ours}" >"$r/nvmx/phases"
# A test run again with other module parameters ("TEST[PARAMS]") is the
# same program.
grep -v '^[[:space:]]*\(#\|$\)' "$plan" | while read -r t _; do
	t=${t%%\[*}
	[ -x "$tests/$t" ] || { echo "[vmxhost] error: test $t not built in $tests" >&2; exit 1; }
	[ -e "$r/nvmx/tests/$t" ] || strip -o "$r/nvmx/tests/$t" "$tests/$t"
done
(cd "$r" && find . | cpio -o -H newc --quiet) >"$work/iso/boot/initrd"

cp /usr/lib/ISOLINUX/isolinux.bin /usr/lib/syslinux/modules/bios/ldlinux.c32 \
   "$work/iso/isolinux/"
cp "$img/boot/vmlinuz-$krel" "$work/iso/boot/vmlinuz"
cat >"$work/iso/isolinux/isolinux.cfg" <<CFG
DEFAULT nvmx
PROMPT 0
TIMEOUT 0
LABEL nvmx
  KERNEL /boot/vmlinuz
  INITRD /boot/initrd
  APPEND console=ttyS0,115200 quiet mitigations=off nokaslr clocksource=hpet no_timer_check panic=-1 rdinit=/init
CFG
xorriso -as mkisofs -quiet -o "$work/host.iso" -b isolinux/isolinux.bin \
	-c isolinux/boot.cat -no-emul-boot -boot-load-size 4 -boot-info-table \
	"$work/iso" 2>"$work/xorriso.log" ||
	{ cat "$work/xorriso.log" >&2; exit 1; }

cat >"$work/bochsrc" <<CFG
memory: guest=512, host=512
romimage: file=/usr/share/bochs/BIOS-bochs-latest
vgaromimage: file=/usr/share/bochs/VGABIOS-lgpl-latest
cpu: model=corei7_skylake_x, count=1, ips=100000000, reset_on_triple_fault=0, ignore_bad_msrs=1
clock: sync=none, time0=local
ata0-master: type=cdrom, path=$work/host.iso, status=inserted
boot: cdrom
com1: enabled=1, mode=file, dev=$out/console.log
display_library: rfb, options="timeout=0"
log: $work/bochs.log
CFG
echo c >"$work/bochs.rc"
rm -f "$out/console.log" "$out/emulator.status"

say "booting Debian $krel in Bochs ($(du -h "$work/host.iso" | cut -f1) ISO, timeout ${limit}s)"
start=$(date +%s)
bochs -q -f "$work/bochsrc" -rc "$work/bochs.rc" </dev/null >"$work/bochs.out" 2>&1 &
pid=$!
trap 'kill -9 $pid 2>/dev/null || true' EXIT
status=timeout
shown=
kstart=
said=0
while kill -0 "$pid" 2>/dev/null; do
	sleep 2
	now=$(($(date +%s) - start))
	log=$out/console.log
	# Progress: the last phase and test the emulated host started.
	cur=$(grep -ao 'nvmx-begin [^ ]*\|nvmx-phase: [a-z]*' "$log" 2>/dev/null | tail -n 1 || true)
	if [ -z "$kstart" ] && [ -s "$log" ]; then
		kstart=$now
		say "${now}s kernel started"
	fi
	line="${now}s ${cur:-booting}"
	if [ "$cur" != "$shown" ] || [ $((now - said)) -ge 15 ]; then
		say "$line"
		shown=$cur
		said=$now
	fi
	if grep -aq 'Kernel panic' "$log" 2>/dev/null; then
		status=panic
		break
	fi
	if grep -aq 'nvmx-done' "$log" 2>/dev/null; then
		status=done
	fi
	if [ "$now" -ge "$limit" ]; then
		break
	fi
done
if kill -0 "$pid" 2>/dev/null; then
	# Let a finished run power off by itself; kill a hung or panicked one.
	[ "$status" = done ] && sleep 3
	kill "$pid" 2>/dev/null || true
	sleep 1
	kill -9 "$pid" 2>/dev/null || true
fi
wait "$pid" 2>/dev/null || true
grep -aq 'nvmx-done' "$out/console.log" 2>/dev/null && status=done
echo "$status $(($(date +%s) - start))" >"$out/emulator.status"
say "emulator $status after $(($(date +%s) - start))s (console: $out/console.log)"
