#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Choose the Debian kernel ABI this build is for, say which and why in one
# line on stderr, and record it in BUILD_DIR/abi.conf (NAME=value lines that
# make and the scripts read).  In order:
#
#  1. ABI=6.1.0-N given (make ABI=...): that one, or an error naming the ABIs
#     the archive offers.
#  2. A real VMX host running a Debian 6.1 kernel: the running kernel's ABI
#     (make modules / make load build for the kernel that will load them).
#  3. The ABI pinned in scripts/nvmx/abi.conf, while its image, headers and
#     source can still be had (installed, already downloaded, or in the
#     archive).
#  4. Otherwise the newest ABI for which the archive has all three at one
#     Debian version: the security archive drops old versions every few
#     weeks, and the baseline is stock of the same ABI in the same run.
#
# A build directory made for another ABI is emptied of what depends on it.
#
# Usage: abi.sh BUILD_DIR [ABI]
#   NVMX_PIN=KABI:KDEBVER overrides the pin (tests use it to pretend the
#   pinned version has left the archive).  NVMX_ABI_FRESH=1 answers for a
#   fresh machine: nothing installed or downloaded counts, only the archive
#   (and no VMX host); abi.conf is then printed, not recorded.
set -euo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/scripts/nvmx/abi.conf"
build=${1:?usage: abi.sh BUILD_DIR [ABI]}
want=${2:-}
if [ -n "${NVMX_PIN:-}" ]; then
	KABI=${NVMX_PIN%%:*}
	KDEBVER=${NVMX_PIN#*:}
fi
pin_abi=$KABI
pin_ver=$KDEBVER

say() { printf '[abi] %s\n' "$*" >&2; }
die() { printf '[abi] error: %s\n' "$*" >&2; exit 1; }
. "$top/scripts/nvmx/debian.sh"
fresh=${NVMX_ABI_FRESH:-}
if [ -n "$fresh" ]; then
	installed() { :; }
fi

mkdir -p "$build"

# have_local ABI VER: image, headers and source all here already.
have_local() {
	local krel=$1-$KFLAVOUR
	[ -z "$fresh" ] &&
	[ "$(installed "linux-headers-$krel")" = "$2" ] &&
	[ "$(installed "linux-source-$KSERIES")" = "$2" ] &&
	{ [ -e "$build/image/.done-$2" ] ||
	  ls "$build"/deb/linux-image-"$krel"_"$2"_*.deb >/dev/null 2>&1; }
}

# missing ABI VER: which of image, headers and source neither is here nor
# can be had from the archive (empty when all three can).
missing() {
	local krel=$1-$KFLAVOUR m=
	[ "$(installed "linux-headers-$krel")" = "$2" ] ||
		offered "linux-headers-$krel" | grep -qxF "$2" ||
		m="$m linux-headers-$krel=$2"
	[ "$(installed "linux-source-$KSERIES")" = "$2" ] ||
		offered "linux-source-$KSERIES" | grep -qxF "$2" ||
		m="$m linux-source-$KSERIES=$2"
	{ [ -z "$fresh" ] && { [ -e "$build/image/.done-$2" ] ||
		ls "$build"/deb/linux-image-"$krel"_"$2"_*.deb >/dev/null 2>&1; }; } ||
		offered "linux-image-$krel" | grep -qxF "$2" ||
		m="$m linux-image-$krel=$2"
	echo "${m# }"
}

# The ABIs of this series the archive has headers for, newest first.
archive_abis() {
	apt-cache pkgnames "linux-headers-$KSERIES.0-" 2>/dev/null |
		sed -n "s/^linux-headers-\\($KSERIES\\.0-[0-9]*\\)-$KFLAVOUR\$/\\1/p" |
		sort -t- -k2,2nr -u
}

# newest_complete: "ABI VER" of the newest ABI with all three in the archive.
newest_complete() {
	local abi ver
	for abi in $(archive_abis); do
		for ver in $(offered "linux-image-$abi-$KFLAVOUR"); do
			[ -z "$(missing "$abi" "$ver")" ] && { echo "$abi $ver"; return; }
		done
	done
}

offered_list() {
	archive_abis | while read -r abi; do
		printf '%s(%s) ' "$abi" "$(offered "linux-image-$abi-$KFLAVOUR" | head -n 1)"
	done
}

abi= ver= why=
if [ -n "$want" ]; then
	abi=${want%-"$KFLAVOUR"}
	[[ $abi =~ ^$KSERIES\.0-[0-9]+$ ]] ||
		die "ABI=$want is not a Debian $KSERIES ABI such as $pin_abi"
	ver=$(installed "linux-headers-$abi-$KFLAVOUR")
	if [ -z "$ver" ]; then
		apt_update
		ver=$(offered "linux-image-$abi-$KFLAVOUR" | head -n 1)
	fi
	[ -n "$ver" ] || die "the archive has no linux-image-$abi-$KFLAVOUR; it offers: $(offered_list)"
	m=$(missing "$abi" "$ver")
	[ -z "$m" ] || die "ABI=$want: the archive lacks $m"
	why="asked for with ABI=$want"
elif [ -z "$fresh" ] && grep -qw vmx /proc/cpuinfo 2>/dev/null &&
     [[ $(uname -r) =~ ^($KSERIES\.0-[0-9]+)-$KFLAVOUR$ ]] &&
     grep -q 'Debian' /proc/version; then
	abi=${BASH_REMATCH[1]}
	ver=$(sed -n 's/.* Debian \([^ ]*\) .*/\1/p' /proc/version)
	[ -n "$ver" ] || die "cannot read the Debian version of the running kernel from /proc/version"
	why="the running kernel of this VMX host"
elif have_local "$pin_abi" "$pin_ver"; then
	abi=$pin_abi ver=$pin_ver
	why="pinned in scripts/nvmx/abi.conf"
else
	apt_update
	m=$(missing "$pin_abi" "$pin_ver")
	if [ -z "$m" ]; then
		abi=$pin_abi ver=$pin_ver
		why="pinned in scripts/nvmx/abi.conf"
	else
		read -r abi ver <<<"$(newest_complete)" || true
		[ -n "$abi" ] ||
			die "the pinned $pin_abi ($pin_ver) has left the archive (no$(printf ' %s' $m)) and no other $KSERIES ABI has image, headers and source; offered: $(offered_list)"
		why="the pinned $pin_abi ($pin_ver) has left the archive (no $m): the newest ABI with image, headers and source"
	fi
fi

conf="KABI=$abi
KFLAVOUR=$KFLAVOUR
KDEBVER=$ver
KSERIES=$KSERIES
KREL=$abi-$KFLAVOUR"

if [ -n "$fresh" ]; then
	say "a fresh machine would use Debian $abi-$KFLAVOUR ($ver): $why"
	echo "$conf"
	exit 0
fi

# What was built for another ABI must not be mixed with this one.
if [ -e "$build/abi.conf" ] && [ "$(cat "$build/abi.conf")" != "$conf" ]; then
	old=$(. "$build/abi.conf" && echo "$KREL ($KDEBVER)")
	say "the build directory was for $old: removing what depends on the ABI"
	rm -rf "$build"/{upstream,kmod,kmod-stock,selftests,image,abi,unit,vmxhost,results}
fi
[ -e "$build/abi.conf" ] && [ "$(cat "$build/abi.conf")" = "$conf" ] ||
	echo "$conf" >"$build/abi.conf"
say "Debian $abi-$KFLAVOUR ($ver): $why"
