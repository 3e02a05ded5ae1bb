#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The vmcs12 fuzzer's results from one emulated-host run (make fuzz, or any
# run that had nvmx_fuzz_vmcs12_test in its plan): per module, the seed and
# iterations, the outcomes the SDM does not allow and the outcome counts;
# then the blocks of 1024 iterations whose outcome digests differ between
# stock and ours (same seed, same mutations: a difference is a difference of
# outcome; -v FIRST:LAST lists the iterations of a block), per profile slot
# that both ran ("N/PROFILE"; "N/PROFILE-as-plain" where one was not offered
# the profile and ran the plain one: compared only with the same).
#
# Usage: fuzz.sh RUN_DIR   (RUN_DIR/console.txt as judge.sh leaves it)
set -euo pipefail

log=$1/console.txt
[ -e "$log" ] || tr -d '\r' <"$1/console.log" >"$log"

# The fuzzer's lines of PHASE, without the TAP prefixes.
lines() {
	awk -v p="$1/nvmx_fuzz_vmcs12_test" '
		/^# nvmx-begin / { cur = $3 }
		/^# nvmx-time / { cur = "" }
		cur == p && /^# # / { sub(/^# # /, ""); print }' "$log"
}

for p in stock ours; do
	echo "== $p"
	lines "$p" | grep -E '^(fuzz seed|fuzz-summary|  |fuzz-cost|fuzz-profiles|DISALLOWED|iter |fuzz-disallowed)' || echo "(no fuzzer output)"
	lines "$p" | awk '/^fuzz-digest/ { t = $5 } END { if (t != "") print "emulated time at the last digest: " t " s" }'
done

diffs=$(join -j1 -o 1.1,1.2,2.2 \
	<(lines stock | awk '/^fuzz-digest/ { print $3, $4 }' | sort) \
	<(lines ours | awk '/^fuzz-digest/ { print $3, $4 }' | sort) |
	awk '$2 != $3 { print $1 }' | sort -n | tr '\n' ' ')
if [ -n "$diffs" ]; then
	echo "outcomes differ between stock and ours in blocks (of 1024 iterations)/profile slots: $diffs"
else
	echo "stock and ours: the same outcome digests in every block both reported"
fi
