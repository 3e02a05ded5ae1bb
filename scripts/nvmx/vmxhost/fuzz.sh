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

# With -o (FUZZ_ARGS=-o): every iteration where stock and ours both ran the
# same profile and their outcomes differ, counted per pair of outcomes and
# profile, with the first iterations of each pair (-v FIRST:LAST lists
# them with their mutations).  The block of 1024, the 64 iterations of a
# profile slot and the profiles' order are nvmx_fuzz_vmcs12_test's
# (FUZZ_BLOCK, FUZZ_CLEAN_EVERY, the P_* profiles); a code keeps 3 bits of
# a VM-entry failure's qualification (an exit-34 entry number above 7
# aliases).
if [ "$(lines stock | grep -c '^fuzz-oc ')" != 0 ] &&
   [ "$(lines ours | grep -c '^fuzz-oc ')" != 0 ]; then
	pairs=$(mktemp)
	{
		lines stock | awk '/^fuzz-digest/ { print "P", "stock", $3 } /^fuzz-oc/ { print "S", $2, $3 }'
		lines ours | awk '/^fuzz-digest/ { print "P", "ours", $3 } /^fuzz-oc/ { print "O", $2, $3 }'
	} | awk '
		function name(c,   k, q, n) {
			k = int(c / 2048); q = int(c / 256) % 8; n = c % 256
			if (k == 1) return "exit " n
			if (k == 2) return "VMfailValid " n
			if (k == 3) return "VMfailInvalid"
			if (k == 4) return "exit 0x8000" sprintf("%04x", n) " qual " q
			return "VMfail, RFLAGS " n
		}
		# "block/slot-name" per module, as the digest lines give them
		function hex(h,   i, v) {
			v = 0
			for (i = 1; i <= length(h); i++)
				v = v * 16 + index("0123456789abcdef", substr(h, i, 1)) - 1
			return v
		}
		# the profile each module ran in each slot of a block
		$1 == "P" { split($3, a, "/"); ran[$2, a[1], a[2]] = 1; next }
		# a line the console damaged (another line inside it) is left out
		function ok(codes) { return codes ~ /^[0-9a-f]+$/ && length(codes) % 4 == 0 }
		$1 == "S" && !ok($3) { bad++; next }
		$1 == "O" && !ok($3) { bad++; next }
		$1 == "S" { s[$2] = $3; if ($2 + 0 > nb) nb = $2 + 0; next }
		$1 == "O" { o[$2] = $3; next }
		END {
			np = split("plain ept apicv posted timer hlt shutdown", names, " ")
			for (b = 0; b <= nb; b++) {
				if (!(b in s) || !(b in o)) continue
				n = length(s[b]) / 4
				if (length(o[b]) / 4 < n) n = length(o[b]) / 4
				for (i = 0; i < n; i++) {
					it = b * 1024 + i
					slot = int(it / 64) % np
					p = names[slot + 1]
					if (!((("stock", b, p) in ran) && (("ours", b, p) in ran))) continue
					cs = hex(substr(s[b], 4 * i + 1, 4))
					co = hex(substr(o[b], 4 * i + 1, 4))
					total++
					if (cs == co) continue
					k = p SUBSEP name(cs) SUBSEP name(co)
					cnt[k]++; ndiff++
					if (cnt[k] <= 3) first[k] = first[k] " " it
				}
			}
			printf "iterations compared (same profile): %d; outcomes differ in %d", total, ndiff
			printf "; fuzz-oc lines left out (damaged): %d\n", bad
			for (k in cnt) {
				split(k, f, SUBSEP)
				printf "%7d  %-9s stock: %-28s ours: %-28s e.g.%s\n", cnt[k], f[1], f[2], f[3], first[k]
			}
		}' >"$pairs"
	head -n 1 "$pairs"
	tail -n +2 "$pairs" | sort -k1,1nr
	rm -f "$pairs"
fi
