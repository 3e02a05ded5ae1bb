# SPDX-License-Identifier: GPL-2.0
#
# Sourced by the shell unit tests here (test-*.sh).  The caller sets n=0,
# failed=0 and what, the prefix of its tests' names.

# expect NAME 'GREP-E PATTERN' FILE: one TAP line, ok when FILE has a match.
expect() {
	n=$((n + 1))
	if grep -qE "$2" "$3"; then
		echo "ok $n - $what: $1"
	else
		echo "not ok $n - $what: $1 (no line matching '$2')"
		sed 's/^/# /' "$3"
		failed=1
	fi
}

# expect_none NAME 'GREP-E PATTERN' FILE: one TAP line, ok when FILE has no
# match.
expect_none() {
	n=$((n + 1))
	if ! grep -qE "$2" "$3"; then
		echo "ok $n - $what: $1"
	else
		echo "not ok $n - $what: $1 (a line matches '$2')"
		sed 's/^/# /' "$3"
		failed=1
	fi
}
