#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# One boot of the emulated VMX host per module: stock first, then ours.
# Bochs 2.7 lets "blocking by NMI" leak from one VM into every later VM of
# the same boot (measured: after smm_test's path without nested VMX, both
# modules save 0x8 in every L2 exit's interruptibility state), so each
# module gets an emulated CPU of its own.  The consoles are concatenated
# into OUT/console.log and the statuses combined into OUT/emulator.status,
# which judge.sh reads as it would for one boot.
#
# Usage: run-phases.sh BUILD_DIR OURS_KMOD_DIR SELFTEST_DIR PLAN OUT_DIR
set -euo pipefail

here=$(dirname "$0")
out=$5
mkdir -p "$out"
: >"$out/console.log"
status=done
total=0
for phase in stock ours; do
	NVMX_PHASES=$phase "$here/run.sh" "$1" "$2" "$3" "$4" "$out/$phase"
	cat "$out/$phase/console.log" >>"$out/console.log" 2>/dev/null || true
	read -r s secs <"$out/$phase/emulator.status" || { s=missing; secs=0; }
	[ "$s" = done ] || status=$s-$phase
	total=$((total + secs))
done
echo "$status $total" >"$out/emulator.status"
