#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Would a fresh machine install today?  As TAP, against the archive's current
# package lists (refreshed first when root):
#
#  1. the ABI a fresh machine would choose (abi.sh with NVMX_ABI_FRESH=1:
#     nothing installed or downloaded counts);
#  2. apt-get install --simulate of exactly the packages deps.sh would
#     install for it, resolved as on a machine with nothing installed (an
#     empty dpkg status file), failing with the offending package named;
#  3. the image that deps.sh downloads can be had;
#  4. the pinned ABI leaving the archive is survived: with the pin pointed at
#     a version the archive does not have, abi.sh takes the newest ABI whose
#     image, headers and source the archive has, says why, and that ABI's
#     packages resolve too.
#
# Usage: apt-check.sh BUILD_DIR
set -uo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:?usage: apt-check.sh BUILD_DIR}
mkdir -p "$build"
build=$(realpath "$build")
. "$top/scripts/nvmx/abi.conf"

say() { printf '# %s\n' "$*"; }
die() { printf 'not ok - %s\n' "$*"; exit 1; }
. "$top/scripts/nvmx/debian.sh"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
: >"$tmp/status"
n=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
not_ok() { n=$((n + 1)); echo "not ok $n - $1"; shift; printf '# %s\n' "$@"; }

echo "TAP version 13"
apt_update

# fresh_abi [PIN]: the conf a fresh machine would record; the [abi] line
# goes to $tmp/why.
fresh_abi() {
	NVMX_ABI_FRESH=1 NVMX_PIN=${1:-} "$top/scripts/nvmx/abi.sh" "$build" 2>"$tmp/why"
}

# simulate KABI KDEBVER WHAT: the fresh install of that ABI's package set.
simulate() {
	local pkgs
	pkgs=$(nvmx_packages "$1" "$2")
	if apt-get install --simulate -o Dir::State::status="$tmp/status" \
		--no-install-recommends $pkgs >"$tmp/sim" 2>&1; then
		ok "$3: a fresh machine installs $(grep -c '^Inst ' "$tmp/sim") packages for Debian $1-$KFLAVOUR ($2)"
	else
		not_ok "$3: a fresh machine cannot install the packages for Debian $1-$KFLAVOUR ($2)" \
			"$(grep -E '^E:|is not going to be installed|Depends:' "$tmp/sim" | head -n 5)" \
			"packages: $pkgs"
	fi
	if apt-get download --print-uris "linux-image-$1-$KFLAVOUR=$2" >"$tmp/uri" 2>&1 &&
	   grep -q "linux-image-$1-$KFLAVOUR" "$tmp/uri"; then
		ok "$3: linux-image-$1-$KFLAVOUR=$2 can be downloaded"
	else
		not_ok "$3: linux-image-$1-$KFLAVOUR=$2 cannot be downloaded" "$(head -n 3 "$tmp/uri")"
	fi
}

if conf=$(fresh_abi); then
	eval "$conf"
	ok "a fresh machine chooses an ABI: $(sed 's/^\[abi\] a fresh machine would use //' "$tmp/why")"
	simulate "$KABI" "$KDEBVER" "today"
else
	not_ok "a fresh machine finds no usable ABI" "$(cat "$tmp/why")"
fi

# The pin leaves the archive: point it at a Debian version that never was.
. "$top/scripts/nvmx/abi.conf"
gone="$KABI:$KSERIES.0-0"
if conf=$(fresh_abi "$gone"); then
	eval "$conf"
	if [ "$KABI:$KDEBVER" != "$gone" ] && grep -q 'has left the archive' "$tmp/why"; then
		ok "pin $gone gone from the archive: $(sed 's/^\[abi\] a fresh machine would use //' "$tmp/why")"
	else
		not_ok "pin $gone gone from the archive: abi.sh did not say so" "$(cat "$tmp/why")"
	fi
	# No newer ABI of the series has all three at one version.
	newer=
	for h in $(apt-cache pkgnames "linux-headers-$KSERIES.0-" | grep -E -- "-$KFLAVOUR\$"); do
		a=${h#linux-headers-}
		a=${a%-"$KFLAVOUR"}
		[ "${a##*-}" -gt "${KABI##*-}" ] 2>/dev/null || continue
		for v in $(offered "$h"); do
			offered "linux-image-$a-$KFLAVOUR" | grep -qxF "$v" &&
			offered "linux-source-$KSERIES" | grep -qxF "$v" && newer="$newer $a($v)"
		done
	done
	if [ -z "$newer" ]; then
		ok "the fallback $KABI ($KDEBVER) is the newest complete ABI in the archive"
	else
		not_ok "the fallback $KABI ($KDEBVER) is not the newest complete ABI: also$newer"
	fi
	simulate "$KABI" "$KDEBVER" "fallback"
else
	not_ok "pin $gone gone from the archive: no fallback ABI" "$(cat "$tmp/why")"
fi
echo "1..$n"
