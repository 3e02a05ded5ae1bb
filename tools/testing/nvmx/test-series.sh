#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The patch series' logic without building it (make patches builds and
# checks every patch; this is the cheap part, under a second): every step of
# scripts/nvmx/series is closed (each name a paragraph uses is there) and
# nothing is still a stub after the last patch; the last step is our tree,
# file for file, but for the paragraphs the series drops and the headers
# moved from include/nvmx/ to arch/x86/kvm/vmx/nvmx/ with quoted includes;
# and the paragraph cutter keeps every line of every file of ours.
set -uo pipefail

top=$(cd "$(dirname "$0")/../../.." && pwd)
cut=$top/scripts/nvmx/series.py
series=$top/scripts/nvmx/series
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0
failed=0
what=series
. "$(dirname "$0")/tap-lib.sh"

echo "TAP version 13"
"$cut" check "$top" "$series" >"$tmp/check" 2>&1
expect "every step closed, no stub left at the end" '^series: [0-9]+ patches, 0 problems$' "$tmp/check"

last=$("$cut" list "$top" "$series" | tail -n 1 | cut -d' ' -f1)
"$cut" emit "$top" "$series" "$last" "$tmp/final" 2>"$tmp/emit"
: >"$tmp/diffs"
while read -r f; do
	case $f in
	arch/x86/kvm/vmx/nvmx/*) ours=include/nvmx/${f#arch/x86/kvm/vmx/nvmx/} ;;
	*) ours=$f ;;
	esac
	# ours with the series' include rewrite, against the last step
	sed -E 's|#include <nvmx/([^>]+)>|#include "@\1"|' "$top/$ours" |
		if [ "${f#arch/x86/kvm/vmx/nvmx/}" != "$f" ]; then sed 's|"@|"|'; else sed 's|"@|"nvmx/|'; fi \
		>"$tmp/ours"
	diff "$tmp/ours" "$tmp/final/$f" | grep '^[<>]' | sed "s|^|$f: |" >>"$tmp/diffs"
done <"$tmp/final/.files"
# The only difference: the paragraph the series drops (MODULE_VERSION and
# MODULE_INFO, which name the out-of-tree build), and the blank line before it.
grep -vE '^arch/x86/kvm/vmx/nested.c: < (/\*| \*|MODULE_VERSION|MODULE_INFO|$)' "$tmp/diffs" >"$tmp/other" || true
expect_none "the last step is our tree but for the dropped paragraph" '.' "$tmp/other"
expect "the dropped paragraph is the out-of-tree MODULE_VERSION" 'nested.c: < MODULE_VERSION' "$tmp/diffs"
ours_files=$(cd "$top" && git ls-files arch include | wc -l)
n=$((n + 1))
if [ "$(wc -l <"$tmp/final/.files")" = "$ours_files" ]; then
	echo "ok $n - $what: the last step has all $ours_files files of ours"
else
	echo "not ok $n - $what: the last step has $(wc -l <"$tmp/final/.files") files, ours are $ours_files"
	failed=1
fi
echo "1..$n"
exit $failed
