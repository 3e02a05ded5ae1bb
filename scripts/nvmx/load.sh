#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# On a real VMX host: replace the running kvm-intel with ours (nested=1), or
# put the stock one back.  Refuses when the running kernel is not the ABI the
# module was built for.
#
# Usage: load.sh load KREL KMOD_DIR | load.sh unload KREL
set -euo pipefail

what=$1
krel=$2
die() { echo "[load] error: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "must be root"
[ "$(uname -r)" = "$krel" ] ||
	die "running kernel is $(uname -r), nvmx was built for $krel (make ABI=... or a rebuild on this host)"
grep -qw vmx /proc/cpuinfo || die "this CPU has no VMX (use make run for the emulated VMX host)"

unload_kvm_intel() {
	if [ -d /sys/module/kvm_intel ]; then
		modprobe -r kvm_intel ||
			die "cannot unload kvm_intel: is a VM running? ($(cat /sys/module/kvm_intel/refcnt) users)"
	fi
}

case $what in
load)
	ko=$3/kvm-intel.ko
	[ -e "$ko" ] || die "$ko not built (make modules)"
	unload_kvm_intel
	modprobe kvm
	insmod "$ko" nested=1
	echo "[load] nvmx kvm-intel.ko loaded: nested=$(cat /sys/module/kvm_intel/parameters/nested)"
	;;
unload)
	unload_kvm_intel
	modprobe kvm_intel
	echo "[load] stock kvm_intel restored"
	;;
*)	die "usage: load.sh load KREL KMOD_DIR | load.sh unload KREL" ;;
esac
