#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make realhost-test: the README's real-host commands (make load, make
# unload, make native-test: scripts/nvmx/load.sh and native-test.sh) run in
# the emulated VMX host, which is a VMX host to them.  One boot (lib.sh) of
# Debian's kernel with an initramfs laid out as a Debian VMX host has it:
# the stock modules under /lib/modules with depmod's index, Debian's bash
# and kmod with their libraries, our tree's scripts and test lists at their
# paths, our kvm-intel.ko where make modules puts it and the selftests.
# realhost-init runs the commands and prints TAP; this script collects it
# into OUT/realhost.tap and adds the kernel log's verdict.
#
# Usage: realhost-run.sh BUILD_DIR OURS_KMOD_DIR SELFTEST_DIR OUT_DIR TEST...
#   TEST...: the selftests native-test runs (short ones the emulator can run).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../../.." && pwd)
tag=realhost
. "$here/lib.sh"
die() { printf '[%s] error: %s\n' "$tag" "$*" >&2; exit 1; }
[ $# -ge 5 ] || die "usage: realhost-run.sh BUILD_DIR OURS_KMOD_DIR SELFTEST_DIR OUT_DIR TEST..."
runner_args "$1" "$2" "$3" "$top/tools/testing/nvmx/expectations" "$4"
shift 4

r=$work/root
# The tree's scripts and lists, at their paths.
mkdir -p "$r/nvmx/tree/scripts/nvmx" "$r/nvmx/tree/tools/testing/nvmx" \
	 "$r/nvmx/kmod" "$r/nvmx/selftests"
cp "$top/scripts/nvmx/load.sh" "$top/scripts/nvmx/native-test.sh" \
   "$top/scripts/nvmx/run-tests.sh" "$r/nvmx/tree/scripts/nvmx/"
cp "$top/tools/testing/nvmx/expectations" "$top/tools/testing/nvmx/known-failures" \
   "$r/nvmx/tree/tools/testing/nvmx/"
cp "$here/realhost-init" "$r/init"
chmod +x "$r/init"
[ -e "$ours/kvm-intel.ko" ] || die "$ours/kvm-intel.ko not built (make modules)"
strip --strip-debug -o "$r/nvmx/kmod/kvm-intel.ko" "$ours/kvm-intel.ko"
echo "$*" >"$r/nvmx/tests"
for t in "$@"; do
	[ -x "$tests/$t" ] || die "test $t not built in $tests"
	strip -o "$r/nvmx/selftests/$t" "$tests/$t"
done

# The stock modules as Debian installs them, and depmod's index of them.
k=$img/lib/modules/$KREL
m=$r/lib/modules/$KREL
mkdir -p "$m/kernel/arch/x86/kvm" "$m/kernel/virt/lib"
cp "$k/kernel/arch/x86/kvm/kvm.ko" "$k/kernel/arch/x86/kvm/kvm-intel.ko" "$m/kernel/arch/x86/kvm/"
cp "$k/kernel/virt/lib/irqbypass.ko" "$m/kernel/virt/lib/"
cp "$k/modules.builtin" "$k/modules.builtin.modinfo" "$k/modules.order" "$m/"
depmod -b "$r" "$KREL"

# Debian's bash and kmod (modprobe, insmod, rmmod, lsmod), with the
# libraries ldd names and the dynamic loader at their usual paths.
mkdir -p "$r/bin" "$r/usr/bin" "$r/usr/sbin" "$r/lib64"
cp /bin/bash "$r/bin/bash"
cp /usr/bin/kmod "$r/usr/bin/kmod"
for t in modprobe insmod rmmod lsmod; do
	ln -sf ../bin/kmod "$r/usr/sbin/$t"
done
for bin in /bin/bash /usr/bin/kmod; do
	ldd "$bin" | awk '$2 == "=>" && $3 ~ /^\// { print $3 }'
done | sort -u | while read -r lib; do
	mkdir -p "$r$(dirname "$lib")"
	cp -L "$lib" "$r$lib"
done
cp -L /lib64/ld-linux-x86-64.so.2 "$r/lib64/"

initramfs "$r" "$work/initrd"
# One emulator run at a time on the machine (run-phases.sh's lock).
exec 9>/tmp/nvmx-emulator.lock
if ! flock -n 9; then
	say "waiting for another emulator run to finish"
	flock 9
fi
boot_emulator "$work" "$work/initrd" 512 "${NVMX_EMU_TIMEOUT:-400}" "$out"

# The verdict: the TAP of realhost-init, and the kernel log.
log=$out/console.log
tap=$out/realhost.tap
{
	echo "TAP version 13"
	sed -n 's/^.*\[[ 0-9.]*\] realhost: \(\(not \)\?ok .*\)$/\1/p' "$log"
} >"$tap"
n=$(grep -c '^\(not \)\?ok ' "$tap" || true)
read -r status _ <"$out/emulator.status"
n=$((n + 1))
if [ "$status" = "done" ] && grep -q '\[[ 0-9.]*\] realhost: 1\.\.' "$log"; then
	echo "ok $n - the emulated host ran every step and powered off" >>"$tap"
else
	echo "not ok $n - the emulated host ended with '$status' before the last step" >>"$tap"
fi
n=$((n + 1))
# A WARN, BUG, Oops, GPF, lockup or RCU stall from the first module load on.
bad=$(sed -n '/nvmx-phase: ours/,$p' "$log" |
      grep -aE 'WARNING:|BUG:|Oops|general protection|soft lockup|hard LOCKUP|rcu.*stall' || true)
if [ -z "$bad" ]; then
	echo "ok $n - no WARN, BUG, Oops, lockup or RCU stall in the kernel log" >>"$tap"
else
	echo "not ok $n - the kernel log has a WARN, BUG, Oops, lockup or RCU stall" >>"$tap"
	echo "$bad" | sed 's/^/# /' >>"$tap"
fi
echo "1..$n" >>"$tap"
cat "$tap"
! grep -q '^not ok' "$tap"
