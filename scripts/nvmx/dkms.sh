#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# nvmx under DKMS (dkms.conf at the top of the tree).
#
#   dkms.sh source SOURCE_TREE
#	Make SOURCE_TREE/nvmx-VERSION (VERSION from dkms.conf) for "dkms
#	add": the files git tracks, as they are in this working tree, and
#	REVISION, the git revision they are (DKMS's copy has no .git).
#	make dkms-add does this for /usr/src and runs dkms add.
#
#   dkms.sh build KERNELRELEASE [KERNEL_SOURCE_DIR]
#	What dkms.conf's MAKE runs in DKMS's copy of the tree: kvm-intel.ko
#	for KERNELRELEASE (a Debian 6.1.0-N-amd64 kernel) into build/kmod,
#	from the pieces make modules uses (upstream.sh, kmod-tree.sh, Kbuild)
#	but without deps.sh and abi.sh: nothing is installed or downloaded.
#	The kernel's Debian version is its installed headers package's, and
#	Debian's linux-source-6.1 must be installed at that same version:
#	Debian's kernel upgrades move both together, so the newest kernel
#	builds; an older kernel still installed gets a clear error instead of
#	a module built from another kernel's KVM.
#
#   dkms.sh check BUILD_DIR
#	The test in make check, as TAP: dkms add and dkms build against the
#	ABI's headers (BUILD_DIR/abi.conf) in a throwaway DKMS tree
#	(--sourcetree, --dkmstree, signing key and certificate under
#	BUILD_DIR/dkms), so nothing of the machine's DKMS state changes; the
#	module must carry the ABI's vermagic and nvmx's version.
set -euo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/scripts/nvmx/abi.conf"	# KFLAVOUR and KSERIES; the ABI comes from the caller
pkg_version=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"$/\1/p' "$top/dkms.conf")

die() { printf '[dkms] error: %s\n' "$*" >&2; exit 1; }

do_source() {
	local dst=$1/nvmx-$pkg_version

	rm -rf "$dst"
	mkdir -p "$dst"
	(cd "$top" && git ls-files -z | tar -c --null --no-recursion -T - -f -) |
		tar -x -C "$dst"
	git -C "$top" describe --always --dirty --abbrev=12 >"$dst/REVISION"
	echo "[dkms] $dst: nvmx $(cat "$dst/REVISION")"
}

do_build() {
	local krel=$1 kdir=${2:-/lib/modules/$1/build} abi ver src_ver rev
	local build=$top/build tarball=/usr/src/linux-source-$KSERIES.tar.xz

	[[ $krel =~ ^($KSERIES\.0-[0-9]+)-$KFLAVOUR$ ]] ||
		die "$krel is not a Debian $KSERIES kernel ($KSERIES.0-N-$KFLAVOUR): nvmx builds for those only"
	abi=${BASH_REMATCH[1]}
	ver=$(dpkg-query -W -f='${Version}' "linux-headers-$krel" 2>/dev/null) ||
		die "linux-headers-$krel is not installed: apt-get install linux-headers-$krel"
	[ -e "$kdir/Makefile" ] || die "no kernel headers at $kdir"
	[ -r "$tarball" ] ||
		die "$tarball is missing: apt-get install linux-source-$KSERIES=$ver"
	src_ver=$(dpkg-query -W -f='${Version}' "linux-source-$KSERIES" 2>/dev/null || true)
	[ -z "$src_ver" ] || [ "$src_ver" = "$ver" ] ||
		die "linux-source-$KSERIES is $src_ver but $krel is $ver: apt-get install linux-source-$KSERIES=$ver (if the archive still has it)"

	mkdir -p "$build"
	printf 'KABI=%s\nKFLAVOUR=%s\nKDEBVER=%s\nKSERIES=%s\nKREL=%s\n' \
		"$abi" "$KFLAVOUR" "$ver" "$KSERIES" "$krel" >"$build/abi.conf"
	echo "[dkms] kvm-intel.ko for Debian $krel ($ver), headers $kdir"
	"$top/scripts/nvmx/upstream.sh" "$build"
	"$top/scripts/nvmx/kmod-tree.sh" "$build/upstream" "$build/kmod" "$top/Kbuild" "$top"

	rev=$(git -C "$top" describe --always --dirty --abbrev=12 2>/dev/null ||
	      cat "$top/REVISION" 2>/dev/null || echo unknown)
	NVMX_REVISION=$rev NVMX_KREL=$krel NVMX_KDEBVER=$ver \
		make -s -C "$kdir" M="$build/kmod" NVMX_BUILD_KVM=0 -j"$(nproc)" modules
	echo "[dkms] $build/kmod/kvm-intel.ko: nvmx $rev"
}

do_check() {
	local build dir n=0 s t krel log mod vermagic version
	build=$(realpath "$1")
	. "$build/abi.conf"
	krel=$KREL
	dir=$build/dkms
	log=$dir/dkms.log

	echo "TAP version 13"
	if ! command -v dkms >/dev/null; then
		echo "not ok 1 - dkms: no dkms command (make deps installs Debian's dkms)"
		echo "1..1"
		return
	fi
	rm -rf "$dir"
	mkdir -p "$dir/src" "$dir/tree"
	do_source "$dir/src" >"$log"
	# dkms signs what it builds, with a key it makes when there is none:
	# keep that key in the throwaway tree too.
	s=$SECONDS
	local opts=(--sourcetree "$dir/src" --dkmstree "$dir/tree")
	if mok_signing_key=$dir/mok.key mok_certificate=$dir/mok.pub \
	   dkms add -m nvmx -v "$pkg_version" "${opts[@]}" >>"$log" 2>&1 &&
	   mok_signing_key=$dir/mok.key mok_certificate=$dir/mok.pub \
	   dkms build -m nvmx -v "$pkg_version" -k "$krel" "${opts[@]}" >>"$log" 2>&1; then
		t=$((SECONDS - s))
		n=$((n + 1))
		echo "ok $n - dkms add and dkms build nvmx/$pkg_version for $krel (${t}s)"
	else
		n=$((n + 1))
		echo "not ok $n - dkms add and dkms build nvmx/$pkg_version for $krel (log: $log)"
		tail -n 20 "$log" | sed 's/^/# /'
		find "$dir/tree" -name make.log -exec tail -n 20 {} \; 2>/dev/null | sed 's/^/# /'
		echo "1..$n"
		return
	fi
	mod=$(find "$dir/tree/nvmx/$pkg_version/$krel" -name 'kvm-intel.ko*' | head -n 1)
	vermagic=$(modinfo -F vermagic "$mod" 2>/dev/null || true)
	version=$(modinfo -F version "$mod" 2>/dev/null || true)
	n=$((n + 1))
	if [ "${vermagic%% *}" = "$krel" ] && [[ $version == "nvmx $(cat "$dir/src/nvmx-$pkg_version/REVISION")" ]]; then
		echo "ok $n - the module DKMS keeps is for $krel and is nvmx's ($version)"
	else
		echo "not ok $n - the module DKMS keeps: vermagic '$vermagic', version '$version' (${mod:-none})"
	fi
	n=$((n + 1))
	if mok_signing_key=$dir/mok.key mok_certificate=$dir/mok.pub \
	   dkms status -m nvmx "${opts[@]}" 2>>"$log" | grep -q "nvmx/$pkg_version, $krel, .*: built"; then
		echo "ok $n - dkms status: nvmx/$pkg_version built for $krel, in the throwaway tree only"
	else
		echo "not ok $n - dkms status does not say built"
		dkms status -m nvmx "${opts[@]}" 2>&1 | sed 's/^/# /'
	fi
	echo "1..$n"
}

case ${1:-} in
source)	do_source "${2:?usage: dkms.sh source SOURCE_TREE}" ;;
build)	do_build "${2:?usage: dkms.sh build KERNELRELEASE [KERNEL_SOURCE_DIR]}" "${3:-}" ;;
check)	do_check "${2:?usage: dkms.sh check BUILD_DIR}" ;;
*)	echo "usage: dkms.sh source SOURCE_TREE | build KERNELRELEASE [KERNEL_SOURCE_DIR] | check BUILD_DIR" >&2
	exit 2 ;;
esac
