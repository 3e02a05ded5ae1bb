#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make fresh-test: the README's promise on a machine where nothing was
# installed.  Bootstraps a minimal Debian 12 root with debootstrap, from the
# same archive this machine's apt uses, clones this repository into it,
# installs what a user needs to clone and type make (git, make), and runs
# `make run` there as root.  Prints each step with its time; exits non-zero
# when make run fails.
#
# Usage: fresh-test.sh BUILD_DIR [GOAL...]   (default goal: run)
set -euo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:?usage: fresh-test.sh BUILD_DIR [GOAL...]}
shift
goals=${*:-run}
root=$build/fresh-root
t0=$SECONDS

say() { printf '[fresh] %4ss %s\n' "$((SECONDS - t0))" "$*"; }
die() { printf '[fresh] error: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "must be root (debootstrap, chroot)"
mkdir -p "$build"

# The archive this machine's apt uses for bookworm, not a name of ours.
mirror=$(grep -hs -A2 '^URIs:' /etc/apt/sources.list.d/*.sources |
	 awk '/^URIs:/ { u = $2 } /^Suites:.*bookworm( |$)/ { print u; exit }')
[ -n "$mirror" ] || mirror=$(awk '$1 == "deb" && $3 == "bookworm" { print $2; exit }' \
	/etc/apt/sources.list 2>/dev/null)
[ -n "$mirror" ] || die "no bookworm archive in this machine's apt sources"

if ! command -v debootstrap >/dev/null; then
	say "installing debootstrap"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
fi

cleanup() {
	for m in dev/pts dev proc sys; do
		mountpoint -q "$root/$m" && umount -l "$root/$m"
	done
	return 0
}
trap cleanup EXIT
cleanup
rm -rf "$root"

say "debootstrap bookworm (minbase)"
debootstrap --variant=minbase bookworm "$root" "$mirror" >"$build/fresh-debootstrap.log" 2>&1 ||
	{ tail -20 "$build/fresh-debootstrap.log" >&2; die "debootstrap failed"; }

# Debian's own sources of this machine (main and security), nothing else.
rm -f "$root/etc/apt/sources.list"
for f in /etc/apt/sources.list.d/*.sources; do
	grep -q 'bookworm' "$f" && cp "$f" "$root/etc/apt/sources.list.d/"
done
for m in proc sys dev dev/pts; do
	mkdir -p "$root/$m"
	mount --bind "/$m" "$root/$m"
done

say "apt-get install git make (what cloning and typing make need)"
chroot "$root" /bin/sh -c 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends git make ca-certificates' \
	>"$build/fresh-apt.log" 2>&1 ||
	{ tail -20 "$build/fresh-apt.log" >&2; die "installing git and make failed"; }

say "git clone"
git clone -q "$top" "$root/root/nvmx"

say "make $goals (in the fresh root)"
s=$SECONDS
rc=0
# A clean environment, as a user's login shell would have: nothing of the
# make that called us (MAKEFLAGS, MAKELEVEL, the jobserver) leaks in.
env -i HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
	LANG=C.UTF-8 chroot "$root" /bin/sh -c "cd /root/nvmx && make $goals </dev/null" || rc=$?
say "make $goals exited $rc after $((SECONDS - s))s; whole fresh test $((SECONDS - t0))s"
exit $rc
