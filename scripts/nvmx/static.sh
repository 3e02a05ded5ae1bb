#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Static checks on nvmx's own C files, as TAP: checkpatch.pl --strict (from
# the same linux-source) on each file, and sparse (make C=2) over the module
# build, where only warnings located in files of ours count: upstream's own
# headers and files carry sparse warnings that are not ours to fix.
#
# Usage: static.sh BUILD_DIR KDIR FILE...
set -uo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
build=$1
kdir=$2
shift 2
checkpatch=$build/upstream/scripts/checkpatch.pl
n=0

echo "TAP version 13"
for f in "$@"; do
	n=$((n + 1))
	if out=$(perl "$checkpatch" --strict --no-tree --quiet --terse \
			--ignore SPDX_LICENSE_TAG,FILE_PATH_CHANGES -f "$top/$f" 2>&1); then
		echo "ok $n - checkpatch --strict $f"
	else
		echo "not ok $n - checkpatch --strict $f"
		echo "$out" | sed "s|$top/||; s/^/# /"
	fi
done

# sparse: a clean rebuild of the module under C=2 checks every file.
n=$((n + 1))
log=$build/sparse.log
if ! make -s -C "$kdir" M="$build/kmod" C=2 -j"$(nproc)" modules >"$log" 2>&1; then
	echo "not ok $n - sparse: the module does not build (see $log)"
	exit 0
fi
# A warning is ours when the file it is located in resolves into this tree.
ours=$(grep -E '^[^ :]+:[0-9]+:[0-9]+: (warning|error):' "$log" |
	while IFS=: read -r file rest; do
		real=$(realpath -m "$build/kmod/$file" 2>/dev/null)
		[ -e "$file" ] && real=$(realpath "$file")
		case $real in
		"$build"/*) ;;
		"$top"/*) echo "${real#"$top"/}:$rest" ;;
		esac
	done | sort -u)
total=$(grep -cE ': (warning|error):' "$log")
if [ -z "$ours" ]; then
	echo "ok $n - sparse: no warning in files of ours ($total in upstream files)"
else
	echo "not ok $n - sparse: warnings in files of ours"
	echo "$ours" | sed 's/^/# /'
fi
echo "1..$n"
