#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make native-test: on a VMX host with a kvm_intel loaded (make load puts
# ours there), run the selftests of the expectations file (all of them,
# those the emulator cannot run included; the runs with other module
# parameters, "TEST[PARAMS]", are left to a load with those parameters)
# with run-tests.sh, as TAP, and judge them: a test that fails is a
# failure unless the known-failures file gives its reason (XFAIL).  Ends
# with "N passed, N failed, N skipped"; exits 1 on a failure.
#
# Usage: native-test.sh EXPECTATIONS KNOWN_FAILURES SELFTEST_DIR [TEST...]
#   TEST...: only these tests (default: every test of EXPECTATIONS).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
expect=$1
known=$2
dir=$3
shift 3
say() { printf '[native-test] %s\n' "$*"; }
die() { printf '[native-test] error: %s\n' "$*" >&2; exit 1; }

[ -d /sys/module/kvm_intel ] || die "kvm_intel is not loaded (make load)"
[ -r /dev/kvm ] && [ -w /dev/kvm ] || die "cannot open /dev/kvm for reading and writing (run as root)"
version=$(cat /sys/module/kvm_intel/version 2>/dev/null || echo 'none (the stock module)')
say "kernel $(uname -r); kvm_intel version '$version', nested=$(cat /sys/module/kvm_intel/parameters/nested)"
case $version in
nvmx*) ;;
*) say "warning: the loaded kvm_intel is not nvmx's (make load): testing it all the same" ;;
esac

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
awk -v only="$*" 'BEGIN { n = split(only, o); for (i = 1; i <= n; i++) want[o[i]] = 1 }
	!/^[[:space:]]*(#|$)/ && $1 !~ /\[/ && (only == "" || $1 in want) { print $1, 60 }' \
	"$expect" >"$tmp/plan"
for t in "$@"; do
	grep -q "^$t " "$tmp/plan" || die "$t is not a test of $expect"
done
[ -s "$tmp/plan" ] || die "no test to run"
for t in $(awk '{ print $1 }' "$tmp/plan"); do
	[ -x "$dir/$t" ] || die "$dir/$t is not built (make selftests)"
done
say "$(wc -l <"$tmp/plan") tests from $dir"

sh "$here/run-tests.sh" native "$tmp/plan" "$dir" | tee "$tmp/tap"

# Judge: FAIL unless known-failures lists the test (XFAIL).
awk -v known="$known" '
	BEGIN {
		while ((getline l < known) > 0)
			if (l !~ /^[[:space:]]*(#|$)/) {
				split(l, f)
				reason[f[1]] = substr(l, index(l, f[2]))
			}
	}
	/^(ok|not ok) / {
		t = $0; sub(/^(not )?ok [0-9]+ native\//, "", t); sub(/ .*/, "", t)
		if (/^ok .*# SKIP/) { skip++; print "SKIP", t }
		else if (/^ok /) { pass++; print "PASS", t }
		else if (t in reason) { xfail++; print "XFAIL", t ":", reason[t] }
		else { fail++; print "FAIL", t }
	}
	END {
		printf "native-test: %d xfail (known failures)\n", xfail
		printf "%d passed, %d failed, %d skipped\n", pass, fail, skip
		exit fail > 0
	}' "$tmp/tap"
