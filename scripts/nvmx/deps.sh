#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Install what building and testing nvmx needs, Debian packages only, and fetch
# the Debian kernel image (not installed: it is booted inside the emulated VMX
# host).  Everything is pinned to scripts/nvmx/abi.conf.
#
# Usage: deps.sh BUILD_DIR
set -euo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/scripts/nvmx/abi.conf"
build=${1:?usage: deps.sh BUILD_DIR}
krel=$KABI-$KFLAVOUR

say() { printf '[deps] %s\n' "$*"; }
die() { printf '[deps] error: %s\n' "$*" >&2; exit 1; }

# Packages pinned to the kernel ABI (the headers pull their -common), then
# everything else at whatever version the archive has: linux-kbuild only
# needs to satisfy the headers' ">=" dependency.
pinned=(linux-source-$KSERIES linux-headers-$krel)
tools=(linux-kbuild-$KSERIES linux-libc-dev gcc make bc flex bison perl binutils kmod xz-utils cpio sparse
	bochs bochs-term bochsbios vgabios busybox-static xorriso isolinux
	syslinux-common procps util-linux gdb)

installed_version() {
	dpkg-query -W -f='${db:Status-Abbrev} ${Version}\n' "$1" 2>/dev/null |
		awk '$1 == "ii" { print $2 }'
}

want=()
for p in "${pinned[@]}"; do
	[ "$(installed_version "$p")" = "$KDEBVER" ] || want+=("$p=$KDEBVER")
done
for p in "${tools[@]}"; do
	[ -n "$(installed_version "$p")" ] || want+=("$p")
done

updated=
apt_update() {
	[ -n "$updated" ] && return
	say "apt-get update"
	apt-get update -qq || die "apt-get update failed"
	updated=1
}

# A pinned version that has left the archive must say so, not fail obscurely.
check_pinned_available() {
	local p
	for p in "linux-source-$KSERIES" "linux-headers-$krel"; do
		apt-cache madison "$p" | awk '{ print $3 }' | grep -qx "$KDEBVER" &&
			continue
		printf '[deps] error: %s=%s is not in the archive any more.\n' \
			"$p" "$KDEBVER" >&2
		printf '[deps] linux-source-%s versions offered:\n' "$KSERIES" >&2
		apt-cache madison "linux-source-$KSERIES" |
			awk '{ print "[deps]   " $3 }' >&2
		printf '[deps] kernel ABIs offered (linux-headers-*-%s):\n' "$KFLAVOUR" >&2
		apt-cache search --names-only "^linux-headers-[0-9.]+-[0-9]+-$KFLAVOUR\$" |
			awk '{ print "[deps]   " $1 }' >&2
		printf '[deps] Pin one in scripts/nvmx/abi.conf (KABI and KDEBVER) and run make again.\n' >&2
		exit 1
	done
}

if [ ${#want[@]} -gt 0 ]; then
	[ "$(id -u)" = 0 ] || die "missing packages (${want[*]}) and not root: install them or run as root"
	apt_update
	check_pinned_available
	say "installing: ${want[*]}"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
		"${want[@]}" >"$build/deps-apt.log" 2>&1 ||
		{ tail -20 "$build/deps-apt.log" >&2; die "apt-get install failed (log: $build/deps-apt.log)"; }
fi

# The kernel the emulated VMX host boots, and the stock modules we compare
# against, come from Debian's image package, unpacked (never installed here).
img=$build/image
if [ ! -e "$img/.done-$KDEBVER" ]; then
	mkdir -p "$build/deb"
	deb=$(ls "$build"/deb/linux-image-"$krel"_"$KDEBVER"_*.deb 2>/dev/null | head -n 1 || true)
	if [ -z "$deb" ]; then
		say "downloading linux-image-$krel $KDEBVER"
		if ! (cd "$build/deb" && apt-get download -qq "linux-image-$krel=$KDEBVER" 2>/dev/null); then
			apt_update
			check_pinned_available
			(cd "$build/deb" && apt-get download -qq "linux-image-$krel=$KDEBVER") ||
				die "cannot download linux-image-$krel=$KDEBVER"
		fi
		deb=$(ls "$build"/deb/linux-image-"$krel"_"$KDEBVER"_*.deb)
	fi
	say "unpacking $(basename "$deb")"
	rm -rf "$img"
	dpkg-deb -x "$deb" "$img"
	touch "$img/.done-$KDEBVER"
fi
