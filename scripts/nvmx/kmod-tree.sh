#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Lay out an out-of-tree module directory: upstream's arch/x86/kvm and
# virt/kvm as symlinks, with every file of OVERLAY (our arch/ tree) linked over
# its upstream namesake, file for file, and our Kbuild on top.  Re-running it
# keeps object files and only moves links, so a rebuild stays incremental.
#
# Usage: kmod-tree.sh UPSTREAM_DIR DEST_DIR KBUILD_FILE [OVERLAY_DIR]
set -euo pipefail

up=$(realpath "$1")
dst=$2
kbuild=$(realpath "$3")
overlay=${4:+$(realpath "$4")}

link() {	# link TARGET NAME: point NAME at TARGET unless it already does
	[ "$(readlink "$2" 2>/dev/null)" = "$1" ] && return
	mkdir -p "$(dirname "$2")"
	ln -sfn "$1" "$2"
}

mkdir -p "$dst"
link "$kbuild" "$dst/Kbuild"
for d in arch/x86/kvm virt/kvm; do
	(cd "$up" && find "$d" -type f) | while read -r f; do
		link "$up/$f" "$dst/$f"
	done
done
# Links into an overlay file that no longer exists fall back to upstream
# (or disappear when upstream has no such file).
find "$dst/arch" "$dst/virt" $(ls -d "$dst/include" 2>/dev/null) -type l | while read -r l; do
	t=$(readlink "$l")
	[ -e "$t" ] && continue
	f=${l#"$dst"/}
	if [ -e "$up/$f" ]; then link "$up/$f" "$l"; else rm -f "$l"; fi
done
dirs=
[ -n "$overlay" ] && dirs=$(cd "$overlay" && ls -d arch include 2>/dev/null || true)
if [ -n "$dirs" ]; then
	(cd "$overlay" && find $dirs -type f -name '*.[chS]') | while read -r f; do
		link "$overlay/$f" "$dst/$f"
	done
fi
