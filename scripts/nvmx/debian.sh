# SPDX-License-Identifier: GPL-2.0
#
# Sourced by the scripts that deal with Debian's archive (abi.sh, deps.sh,
# apt-check.sh): the one list of packages nvmx installs, and small queries.
# The caller sets $build (the build directory) and defines say and die.

# The packages a fresh machine installs for ABI $1 at Debian version $2: the
# ABI's headers (they pull their -common and a linux-kbuild >= their
# version) and the series' source are pinned; everything else is whatever
# the archive has.  python3-ply and python3-git are for checkpatch's SPDX
# check (scripts/spdxcheck.py) in make patches.  The image is downloaded,
# not installed (deps.sh).
nvmx_packages() {
	echo "linux-headers-$1-$KFLAVOUR=$2" "linux-source-$KSERIES=$2" \
		gcc libc6-dev make bc flex bison perl binutils kmod xz-utils cpio sparse \
		bochs bochs-term bochsbios vgabios busybox-static xorriso \
		isolinux syslinux-common procps util-linux gdb qemu-system-x86 \
		dkms python3-docutils python3-ply python3-git
}

# The package lists, refreshed at most once per make run, and only when
# something must come from the archive.
apt_update() {
	[ -n "$(find "$build/.apt-updated" -mmin -30 2>/dev/null)" ] && return 0
	if [ "$(id -u)" != 0 ]; then
		say "not root: using the package lists as they are"
		return 0
	fi
	say "apt-get update"
	apt-get update -qq >"$build/apt-update.log" 2>&1 ||
		{ cat "$build/apt-update.log" >&2; die "apt-get update failed"; }
	touch "$build/.apt-updated"
}

installed() {	# installed PKG: its installed version, or nothing
	dpkg-query -W -f='${db:Status-Abbrev} ${Version}\n' "$1" 2>/dev/null |
		awk '$1 == "ii" { print $2 }' || true
}

offered() {	# offered PKG: the versions the archive has, one a line
	apt-cache madison "$1" 2>/dev/null |
		awk -F'|' '{ gsub(/ /, "", $2); print $2 }' || true
}
