# SPDX-License-Identifier: GPL-2.0
#
# Sourced by the emulated VMX host's runners (run.sh: the selftests;
# l1-run.sh: Linux as L1): packing an initramfs and booting Debian's kernel
# on it in Bochs 2.7 with a host-side timeout, printing progress.  The caller
# sets $tag, the prefix of its progress lines.

say() { printf '[%s] %s\n' "$tag" "$*"; }

# runner_args BUILD_DIR OURS_KMOD_DIR SELFTEST_DIR PLAN OUT_DIR: the
# runners' arguments as absolute paths in build, ours, tests, plan and out;
# the ABI's variables; work, OUT_DIR/work made anew; img, the unpacked
# Debian image.
runner_args() {
	build=$(realpath "$1")
	. "$build/abi.conf"
	ours=$(realpath "$2")
	tests=$(realpath "$3")
	plan=$(realpath "$4")
	mkdir -p "$5"
	out=$(realpath "$5")
	work=$out/work
	rm -rf "$work"
	mkdir -p "$work"
	img=$build/image
}

# kvm_modules DIR PHASE...: the stock irqbypass, kvm and kvm-intel in
# DIR/stock, and for PHASE "ours" our kvm-intel.ko in DIR/ours, with our
# kvm.ko if it was built (KVM=1; else ours pairs with the stock kvm.ko).
# Debug info is dropped: the emulated BIOS loads every byte of the
# initramfs.
kvm_modules() {
	local dir=$1 m k=$img/lib/modules/$KREL/kernel

	mkdir -p "$dir/stock"
	cp "$k/virt/lib/irqbypass.ko" "$k/arch/x86/kvm/kvm.ko" \
	   "$k/arch/x86/kvm/kvm-intel.ko" "$dir/stock/"
	case " $* " in
	*" ours "*)
		mkdir -p "$dir/ours"
		for m in kvm-intel.ko kvm.ko; do
			[ ! -e "$ours/$m" ] ||
				strip --strip-debug -o "$dir/ours/$m" "$ours/$m"
		done ;;
	esac
}

# The emulated machine is deterministic (clock sync=none: time follows the
# instruction count) only if its inputs are: the same bytes on the ISO and
# the same start time.  Host inode numbers and mtimes in a cpio archive, and
# the ISO's own dates, differ from run to run: measured, two runs of the
# same build with the same time0 but such archives diverged (L0's clock
# 19 us apart at its /init, L1's boot then 49.3 s against 25.3 s).  So the
# archives are packed in name order with renumbered inodes and every date
# set to $emu_epoch, and the only input left that changes is the CMOS
# clock's start, time0 (Bochs also seeds its RDRAND with it): the host's
# clock unless NVMX_EMU_TIME0 gives it (run-phases.sh sets one for both
# boots).  The "booting" line prints it and the ISO's SHA-1: the same build
# with NVMX_EMU_TIME0 set to that time0 repeats the run exactly, while runs
# left to the clock go on sampling different timings.
emu_epoch=0
emu_time0=${NVMX_EMU_TIME0:-$(date +%s)}

# initramfs ROOT FILE: pack ROOT into FILE as an uncompressed newc archive
# (the emulated CPU is slow at decompressing), with busybox, /dev/console
# and the shell functions the /init scripts share added; the same ROOT
# gives the same bytes.
initramfs() {
	mkdir -p "$1"/{bin,dev,proc,sys,nvmx}
	cp /bin/busybox "$1/bin/busybox"
	cp "$(dirname "${BASH_SOURCE[0]}")/init-lib" "$1/nvmx/init-lib"
	[ -e "$1/dev/console" ] || mknod -m 600 "$1/dev/console" c 5 1
	find "$1" -exec touch -h -d "@$emu_epoch" {} +
	(cd "$1" && find . | LC_ALL=C sort |
	 cpio -o -H newc --quiet --reproducible) >"$2"
}

# boot_emulator WORK INITRD MEMORY_MB LIMIT OUT: boot Debian's kernel of
# $img with INITRD in Bochs (MEMORY_MB of RAM) and wait for it, printing the
# last phase, step or test the console names.  The console is saved to
# OUT/console.log; OUT/emulator.status says "done|panic|timeout SECONDS".
# A machine that prints no "nvmx-done" within LIMIT seconds (wall) is killed.
boot_emulator() {
	local work=$1 initrd=$2 mem=$3 limit=$4 out=$5
	local pid status shown kstart said now cur line start rc attempt
	local log=$5/console.log

	rm -rf "$work/iso"
	mkdir -p "$work/iso/isolinux" "$work/iso/boot"
	cp /usr/lib/ISOLINUX/isolinux.bin /usr/lib/syslinux/modules/bios/ldlinux.c32 \
	   "$work/iso/isolinux/"
	cp "$img/boot/vmlinuz-$KREL" "$work/iso/boot/vmlinuz"
	cp "$initrd" "$work/iso/boot/initrd"
	cat >"$work/iso/isolinux/isolinux.cfg" <<CFG
DEFAULT nvmx
PROMPT 0
TIMEOUT 0
LABEL nvmx
  KERNEL /boot/vmlinuz
  INITRD /boot/initrd
  APPEND console=ttyS0,115200 quiet mitigations=off nokaslr clocksource=hpet no_timer_check panic=-1 rdinit=/init
CFG
	find "$work/iso" -exec touch -h -d "@$emu_epoch" {} +
	SOURCE_DATE_EPOCH=$emu_epoch xorriso -as mkisofs -quiet -o "$work/host.iso" -b isolinux/isolinux.bin \
		-c isolinux/boot.cat -no-emul-boot -boot-load-size 4 -boot-info-table \
		"$work/iso" 2>"$work/xorriso.log" ||
		{ cat "$work/xorriso.log" >&2; return 1; }

	cat >"$work/bochsrc" <<CFG
memory: guest=$mem, host=$mem
romimage: file=/usr/share/bochs/BIOS-bochs-latest
vgaromimage: file=/usr/share/bochs/VGABIOS-lgpl-latest
cpu: model=corei7_skylake_x, count=1, ips=100000000, reset_on_triple_fault=0, ignore_bad_msrs=1
clock: sync=none, time0=$emu_time0
ata0-master: type=cdrom, path=$work/host.iso, status=inserted
boot: cdrom
com1: enabled=1, mode=file, dev=$log
display_library: rfb, options="timeout=0"
log: $work/bochs.log
CFG
	echo c >"$work/bochs.rc"

	for attempt in 1 2; do
		rm -f "$log" "$out/emulator.status"
		say "booting Debian $KREL in Bochs ($(du -h "$work/host.iso" | cut -f1) ISO, ${mem} MB, time0 $emu_time0, ISO sha1 $(sha1sum <"$work/host.iso" | cut -c1-12), timeout ${limit}s)"
		start=$(date +%s)
		now=0
		bochs -q -f "$work/bochsrc" -rc "$work/bochs.rc" </dev/null >"$work/bochs.out" 2>&1 &
		pid=$!
		trap "kill -9 $pid 2>/dev/null || true" EXIT
		status=timeout
		shown=
		kstart=
		said=0
		while kill -0 "$pid" 2>/dev/null; do
			sleep 2
			now=$(($(date +%s) - start))
			# Progress: the last phase, step and test the console names.
			cur=$(grep -ao 'nvmx-\(begin\|phase:\|step:\) [^ ]*' "$log" 2>/dev/null |
			      tail -n 1 || true)
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
			# A panic of the emulated host's kernel (not of a guest's: see
			# l1-host-init) ends the machine at once.
			if grep -a 'Kernel panic' "$log" 2>/dev/null | grep -qv '^L1| '; then
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
		rc=0
		wait "$pid" 2>/dev/null || rc=$?
		# Bochs dying of a signal before the kernel printed anything is the
		# emulator's own crash (seen once: SIGSEGV 2 s after start), before
		# anything under test ran: start it once more, and say so.
		if [ "$attempt" = 1 ] && [ -z "$kstart" ] && [ "$status" = timeout ] &&
		   [ "$rc" -gt 128 ] && [ "$now" -lt "$limit" ]; then
			say "Bochs died of signal $((rc - 128)) before the kernel started (output: $work/bochs.out); starting it once more"
			continue
		fi
		break
	done
	grep -aq 'nvmx-done' "$log" 2>/dev/null && status=done
	echo "$status $(($(date +%s) - start))" >"$out/emulator.status"
	say "emulator $status after $(($(date +%s) - start))s (console: $log)"
}
