# SPDX-License-Identifier: GPL-2.0
#
# Sourced by the judges of the emulated VMX host's runs (judge.sh,
# l1-judge.sh): run-tests.sh's TAP read back from a console log ($log, CR
# stripped), and the kernel messages that fail a run.

# A WARN, BUG, Oops, general protection fault, lockup or RCU stall.
bad='WARNING:|BUG:|kernel BUG|Oops|general protection fault|soft lockup|hard LOCKUP|rcu.*stall|Kernel panic|Call Trace:'

# Test names are matched as plain strings: a name like "t[ept=0]" (a test
# run again with other module parameters, see init) is no pattern.

# skipped_part PHASE TEST: what a test that passed says it left out of
# itself, from its own output (run-tests.sh prefixes it "# "): upstream's
# state_test and smm_test print "will skip ..." when KVM lacks what their
# nested part needs (KVM_CAP_NESTED_STATE), and pass without it; nvmx's own
# tests print a TAP line "ok N # SKIP CASE: WHY" for each case they skip
# (nvmx_host_result()).  Joined with "; ", empty when the test ran all of
# itself.
skipped_part() {
	awk -v name="$1/$2" '
		function add(s) { what = what (what == "" ? "" : "; ") s }
		$0 == "# nvmx-begin " name { on = 1; what = ""; next }
		/^# nvmx-begin / || /^(not )?ok / { on = 0 }
		on && /^# .*[Ww]ill skip / { sub(/^# /, ""); add($0) }
		on && /^# ok [0-9]+ # SKIP / { sub(/^# ok [0-9]+ # SKIP /, ""); add($0) }
		END { print what }' "$log"
}

# skipped_names PART: the names of what a part: result skipped, one a line:
# a case's name (before its ":"), or the whole "will skip" sentence.
skipped_names() {
	printf '%s\n' "$1" | awk 'BEGIN { RS = "; " } NF { sub(/\n$/, ""); sub(/: .*/, ""); print }' | sort -u
}

# result PHASE TEST: pass (all of the test ran), part:WHAT (it passed but
# skipped WHAT of itself), skip:REASON, fail:DETAIL, hang or notrun.
result() {
	local line part
	line=$(awk -v name="$1/$2" '
		$1 == "ok" && $3 == name { line = $0 }
		$1 == "not" && $2 == "ok" && $4 == name { line = $0 }
		END { print line }' "$log")
	case $line in
	"not ok "*) echo "fail:${line#*# }" ;;
	*"# SKIP"*) echo "skip:${line#*# SKIP }" ;;
	ok*)	part=$(skipped_part "$1" "$2")
		if [ -n "$part" ]; then echo "part:$part"; else echo pass; fi ;;
	*)	if grep -aqxF "# nvmx-begin $1/$2" "$log"; then echo hang; else echo notrun; fi ;;
	esac
}

seconds() {	# seconds PHASE TEST: emulated seconds the test took
	awk -v name="$1/$2" '$1 == "#" && $2 == "nvmx-time" && $3 == name { t = $4 }
		END { print t }' "$log"
}

ratio() {	# ratio A B: A / B with two decimals, nothing when either is missing
	[ -n "$1" ] && [ -n "$2" ] || return 0
	awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b }'
}
