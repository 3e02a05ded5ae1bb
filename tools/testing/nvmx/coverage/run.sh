#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make coverage's emulator run: two boots of the emulated VMX host side by
# side, each with one module as "ours" and the same plan: our normal
# kvm-intel.ko in OUT_DIR/normal, the coverage build in OUT_DIR/coverage.
# The first boot is the baseline the coverage build must match (report.py
# compares them); in the second, run-tests.sh lists the sites of our code
# each test reached.  One pair of emulators at a time on the machine, as for
# run-phases.sh.
#
# Usage: run.sh BUILD_DIR NORMAL_KMOD_DIR COVERAGE_KMOD_DIR SELFTEST_DIR PLAN OUT_DIR
set -euo pipefail

top=$(cd "$(dirname "$0")/../../../.." && pwd)
build=$1 normal=$2 cov=$3 tests=$4 plan=$5 out=$6
mkdir -p "$out"

exec 9>/tmp/nvmx-emulator.lock
if ! flock -n 9; then
	echo "[coverage] waiting for another emulator run to finish"
	s=$SECONDS
	flock 9
	echo "[coverage] waited $((SECONDS - s))s"
fi

pids=
for m in normal cov; do
	kmod=$normal name=normal
	[ "$m" = cov ] && kmod=$cov name=coverage
	(NVMX_PHASES=ours "$top/scripts/nvmx/vmxhost/run.sh" "$build" "$kmod" "$tests" \
		"$plan" "$out/$name" 2>&1 | sed -u "s/^\[vmxhost ours\]/[coverage $name]/") &
	pids="$pids $!"
done
rc=0
for pid in $pids; do
	wait "$pid" || rc=1
done
exit $rc
