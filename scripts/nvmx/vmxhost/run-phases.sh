#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# One boot of the emulated VMX host per module, stock and ours, side by side
# on the two cores (each Bochs is single-threaded).  Bochs 2.7 lets
# "blocking by NMI" leak from one VM into every later VM of the same boot
# (measured: after smm_test's path without nested VMX, both modules save 0x8
# in every L2 exit's interruptibility state), so each module gets an emulated
# CPU of its own.  With clock sync=none the emulated clock follows the
# instruction count, so running the two at once changes no result and no
# emulated time.  The consoles are concatenated into OUT/console.log and the
# statuses combined into OUT/emulator.status, which judge.sh reads as it
# would for one boot.
#
# One pair of emulators at a time on the machine: a lock serialises runs
# from every tree.  NVMX_SERIAL=1 boots the two one after the other.
#
# Usage: run-phases.sh RUNNER BUILD_DIR OURS_KMOD_DIR SELFTEST_DIR PLAN OUT_DIR
#   RUNNER boots one module (NVMX_PHASES): run.sh (the selftests) or
#   l1-run.sh (Linux as L1), with the arguments that follow it.
set -euo pipefail

runner=$1
shift
out=$5
phases="stock ours"
mkdir -p "$out"
: >"$out/console.log"

exec 9>/tmp/nvmx-emulator.lock
if ! flock -n 9; then
	echo "[$(basename "$runner" .sh)] waiting for another emulator run to finish"
	flock 9
fi

# One start time for both boots (lib.sh): a run repeats with
# NVMX_EMU_TIME0 set to the time0 it printed.
export NVMX_EMU_TIME0=${NVMX_EMU_TIME0:-$(date +%s)}
echo "[$(basename "$runner" .sh)] time0 $NVMX_EMU_TIME0 (NVMX_EMU_TIME0=$NVMX_EMU_TIME0 repeats this run)"
pids=
for phase in $phases; do
	NVMX_PHASES=$phase "$runner" "$1" "$2" "$3" "$4" "$out/$phase" &
	pids="$pids $!"
	[ -n "${NVMX_SERIAL:-}" ] && wait $!
done
rc=0
for pid in $pids; do
	wait "$pid" || rc=1
done

status=done
longest=0
for phase in $phases; do
	cat "$out/$phase/console.log" >>"$out/console.log" 2>/dev/null || true
	read -r s secs <"$out/$phase/emulator.status" || { s=missing; secs=0; }
	[ "$s" = done ] || status=$s-$phase
	[ "$secs" -gt "$longest" ] && longest=$secs
done
echo "$status $longest" >"$out/emulator.status"
exit $rc
