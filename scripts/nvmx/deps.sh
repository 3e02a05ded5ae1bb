#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Install what building and testing nvmx needs, Debian packages only, and fetch
# the Debian kernel image (not installed: it is booted inside the emulated VMX
# host).  Only the ABI's headers, image and source are pinned, to the ABI
# that abi.sh chose (BUILD_DIR/abi.conf); everything else is whatever the
# archive has (scripts/nvmx/debian.sh).
#
# Usage: deps.sh BUILD_DIR
set -euo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:?usage: deps.sh BUILD_DIR}
. "$build/abi.conf"

say() { printf '[deps] %s\n' "$*"; }
die() { printf '[deps] error: %s\n' "$*" >&2; exit 1; }
. "$top/scripts/nvmx/debian.sh"

want=()
for p in $(nvmx_packages "$KABI" "$KDEBVER"); do
	case $p in
	*=*)	[ "$(installed "${p%=*}")" = "${p#*=}" ] || want+=("$p") ;;
	*)	[ -n "$(installed "$p")" ] || want+=("$p") ;;
	esac
done

# linux-source-6.1 is one package for every ABI of the series: going back to
# an older ABI (ABI=..., or the pin after a fallback) is a downgrade.
if [ ${#want[@]} -gt 0 ]; then
	[ "$(id -u)" = 0 ] || die "missing packages (${want[*]}) and not root: install them or run as root"
	apt_update
	say "installing ${#want[@]} packages: ${want[*]}"
	s=$SECONDS
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends --allow-downgrades \
		"${want[@]}" >"$build/deps-apt.log" 2>&1 ||
		{ tail -20 "$build/deps-apt.log" >&2; die "apt-get install failed (log: $build/deps-apt.log)"; }
	say "installed in $((SECONDS - s))s"
fi

# The kernel the emulated VMX host boots, and the stock modules we compare
# against, come from Debian's image package, unpacked (never installed here).
img=$build/image
if [ ! -e "$img/.done-$KDEBVER" ]; then
	mkdir -p "$build/deb"
	deb=$(ls "$build"/deb/linux-image-"$KREL"_"$KDEBVER"_*.deb 2>/dev/null | head -n 1 || true)
	if [ -z "$deb" ]; then
		say "downloading linux-image-$KREL $KDEBVER"
		(cd "$build/deb" && apt-get download -qq "linux-image-$KREL=$KDEBVER" 2>/dev/null) || {
			apt_update
			(cd "$build/deb" && apt-get download -qq "linux-image-$KREL=$KDEBVER") ||
				die "cannot download linux-image-$KREL=$KDEBVER"
		}
		deb=$(ls "$build"/deb/linux-image-"$KREL"_"$KDEBVER"_*.deb)
	fi
	say "unpacking $(basename "$deb")"
	rm -rf "$img"
	dpkg-deb -x "$deb" "$img"
	touch "$img/.done-$KDEBVER"
fi
