#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Extract from Debian's linux-source tarball the parts nvmx builds against:
# KVM (arch/x86/kvm, virt/kvm), the selftests and their tools/ headers, and
# checkpatch.  They go to BUILD_DIR/upstream, never into the git tree.
#
# Usage: upstream.sh BUILD_DIR
set -euo pipefail

build=${1:?usage: upstream.sh BUILD_DIR}
. "$build/abi.conf"
tarball=/usr/src/linux-source-$KSERIES.tar.xz
dst=$build/upstream
stamp=$dst/.done-$KDEBVER

[ -e "$stamp" ] && exit 0
[ -r "$tarball" ] || { echo "[upstream] error: $tarball missing (run make deps)" >&2; exit 1; }

echo "[upstream] extracting KVM, selftests and checkpatch from $(basename "$tarball") ($KDEBVER)"
s=$SECONDS
rm -rf "$dst" "$dst.tmp"
mkdir -p "$dst.tmp"
tar -xJf "$tarball" -C "$dst.tmp" --strip-components=1 \
	"linux-source-$KSERIES/Makefile" \
	"linux-source-$KSERIES/arch/x86/kvm" \
	"linux-source-$KSERIES/virt/kvm" \
	"linux-source-$KSERIES/tools" \
	"linux-source-$KSERIES/scripts/subarch.include" \
	"linux-source-$KSERIES/scripts/checkpatch.pl" \
	"linux-source-$KSERIES/scripts/spelling.txt" \
	"linux-source-$KSERIES/scripts/const_structs.checkpatch"

# The tarball must be the version the headers were built from.
sub=$(awk '$1 == "SUBLEVEL" { print $3 }' "$dst.tmp/Makefile")
case "$KDEBVER" in
"$KSERIES.$sub"-*) ;;
*) echo "[upstream] error: tarball is $KSERIES.$sub, the ABI is $KDEBVER" >&2; exit 1 ;;
esac
mv "$dst.tmp" "$dst"
touch "$stamp"
echo "[upstream] extracted in $((SECONDS - s))s"
