#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Prove the out-of-tree build is faithful: a kvm-intel.ko built with an empty
# overlay must equal Debian's in vermagic, modversions CRC table (__versions)
# and .text bytes.  Differences that are expected (signature, BTF, intree
# flag, relocations against our own build paths) are not compared.
#
# Usage: faithful.sh BUILT.ko DEBIAN.ko
set -euo pipefail

built=$1
debian=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
n=0

check() {	# check WHAT: compare $tmp/WHAT.built with $tmp/WHAT.debian
	n=$((n + 1))
	if cmp -s "$tmp/$1.built" "$tmp/$1.debian"; then
		echo "ok $n - faithful build: $1 identical ($(wc -c <"$tmp/$1.built") bytes)"
	else
		echo "not ok $n - faithful build: $1 differs from Debian's kvm-intel.ko"
		diff <(od -An -tx1 -v "$tmp/$1.built") <(od -An -tx1 -v "$tmp/$1.debian") |
			head -5 | sed 's/^/# /'
		fail=1
	fi
}

echo "TAP version 13"
for w in built debian; do
	ko=${!w}
	modinfo -F vermagic "$ko" >"$tmp/vermagic.$w"
	objcopy -O binary --only-section=__versions "$ko" "$tmp/__versions.$w"
	objcopy -O binary --only-section=.text "$ko" "$tmp/.text.$w"
done
check vermagic
check __versions
check .text
echo "1..$n"
exit $fail
