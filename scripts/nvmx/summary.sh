#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Sum up every result file of a make run/check: TAP files (*.tap) from the
# unit tests, static checks and the faithful-build check, and the emulated
# host's "VERDICT NAME DETAIL" lines (*.results).  Prints what failed, then
# the closing line "N passed, N failed, N skipped"; exits 1 on any failure.
# An expected step whose results file is missing counts as failed.
#
# Usage: summary.sh RESULTS_DIR [STEP...]
set -uo pipefail

dir=$1
shift
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT

# A step without a results file, or whose file holds no result (it died
# before its first test), failed.
for step in "$@"; do
	grep -qE '^(ok|not ok) |^[A-Z]+ ' "$dir/$step".* 2>/dev/null ||
		echo "FAIL $step produced no results (see its output above)" >>"$tmp"
done
for f in "$dir"/*.tap; do
	[ -e "$f" ] || continue
	awk -v step="$(basename "$f" .tap)" '
		/^not ok / { sub(/^not ok [0-9]+ (- )?/, ""); print "FAIL", step ":", $0; next }
		/^ok .*# SKIP/ { sub(/^ok [0-9]+ (- )?/, ""); print "SKIP", step ":", $0; next }
		/^ok / { sub(/^ok [0-9]+ (- )?/, ""); print "PASS", step ":", $0 }
	' "$f" >>"$tmp"
done
for f in "$dir"/*.results; do
	[ -e "$f" ] && sed "s/^\([A-Z]*\) /\1 $(basename "$f" .results): /" "$f" >>"$tmp"
done

count() { grep -c "^$1 " "$tmp"; }
echo
echo "== summary =="
if [ -e "$dir/../abi.conf" ]; then
	(. "$dir/../abi.conf" && echo "kernel ABI: Debian $KREL ($KDEBVER)")
fi
for v in FAIL XPASS XFAIL SKIP; do
	grep "^$v " "$tmp"
done
pass=$(count PASS)
fail=$(($(count FAIL) + $(count XPASS)))
skip=$(count SKIP)
xfail=$(count XFAIL)
echo "PASS $pass, FAIL $(count FAIL), XPASS $(count XPASS), XFAIL $xfail, SKIP $skip"
echo "$pass passed, $fail failed, $skip skipped"
if [ "$pass" -eq 0 ] && [ "$fail" -eq 0 ]; then
	echo "error: no test ran" >&2
	exit 1
fi
[ "$fail" -eq 0 ]
