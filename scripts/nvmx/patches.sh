#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make patches: nvmx as a git format-patch series against the upstream tree
# it is built for (Debian's linux-source-6.1 tarball of the ABI, that is
# v6.1.y with Debian's patches), one logical step per patch as
# scripts/nvmx/series defines them (scripts/nvmx/series.py cuts our files
# into the steps).  The tarball goes into a scratch git repository under
# BUILD_DIR/patches/linux (made once per Debian version; never into ours).
# Each patch is committed there with a Signed-off-by of our git author, then
# proven: kvm-intel.ko builds (the series tree's arch/x86/kvm through
# scripts/nvmx/series.Kbuild, against the ABI's headers, -Werror) and
# checkpatch.pl --strict of that tree passes on the patch.  Then
# git format-patch writes the series with a cover letter (the design, the
# latest test results and benchmark table of BUILD_DIR/results), and
# git am applies it to a clean checkout of the base, which must end at the
# same tree.  Re-running it redoes the series from the base.
#
# Usage: patches.sh BUILD_DIR KDIR
set -euo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
build=$(realpath "${1:?usage: patches.sh BUILD_DIR KDIR}")
kdir=${2:?usage: patches.sh BUILD_DIR KDIR}
. "$build/abi.conf"
series=$top/scripts/nvmx/series
cut=$top/scripts/nvmx/series.py
work=$build/patches
tree=$work/linux
kmod=$work/kmod
out=$work/out
tarball=/usr/src/linux-source-$KSERIES.tar.xz
jobs=$(nproc)

say() { printf '[patches] %s\n' "$*"; }
die() { printf '[patches] error: %s\n' "$*" >&2; exit 1; }

mkdir -p "$work"
"$cut" check "$top" "$series" >"$work/check.log" ||
	{ cat "$work/check.log" >&2; die "scripts/nvmx/series does not hold together"; }
n=$("$cut" list "$top" "$series" | wc -l)
say "$n patches in scripts/nvmx/series; every step closed ($(tail -n 1 "$work/check.log"))"

# Our git identity signs the series; its dates are our HEAD's, so the same
# tree gives the same commits.
name=$(git -C "$top" config user.name) || die "no git user.name in $top"
email=$(git -C "$top" config user.email) || die "no git user.email in $top"
date=$(git -C "$top" log -1 --format=%cI 2>/dev/null || date -R)
export GIT_AUTHOR_NAME=$name GIT_AUTHOR_EMAIL=$email GIT_AUTHOR_DATE=$date
export GIT_COMMITTER_NAME=$name GIT_COMMITTER_EMAIL=$email GIT_COMMITTER_DATE=$date
g() { git -C "$tree" "$@"; }

# The base: the whole tarball, committed as it is (ignored files too).
stamp=$tree/.git/nvmx-base-$KDEBVER
if [ ! -e "$stamp" ]; then
	[ -r "$tarball" ] || die "$tarball missing (make deps)"
	say "extracting all of $(basename "$tarball") ($KDEBVER) into $tree"
	s=$SECONDS
	rm -rf "$tree"
	mkdir -p "$tree"
	tar -xJf "$tarball" -C "$tree" --strip-components=1
	sub=$(awk '$1 == "SUBLEVEL" { print $3 }' "$tree/Makefile")
	case "$KDEBVER" in
	"$KSERIES.$sub"-*) ;;
	*) die "tarball is $KSERIES.$sub, the ABI is $KDEBVER" ;;
	esac
	say "committing the base ($((SECONDS - s))s so far)"
	g init -q
	g add -f -A .
	g commit -q -m "Linux $KSERIES.$sub as Debian's linux-source-$KSERIES $KDEBVER"
	g tag -f base >/dev/null
	touch "$stamp"
	say "base ready in $((SECONDS - s))s: $(g rev-parse --short base)"
fi
base_ver=$(g log -1 --format=%s base)
sub=$(awk '$1 == "SUBLEVEL" { print $3 }' "$tree/Makefile")

# kvm-intel-y of the base, with the objects a step adds after
# vmx/posted_intr.o (continuation lines, at most three objects a line).
makefile() {
	g show base:arch/x86/kvm/Makefile | awk -v objs="$1" '
		{ print_line = $0 }
		/^[[:space:]].*vmx\/posted_intr\.o$/ && objs != "" {
			n = split(objs, o, " ")
			line = print_line " \\"
			for (i = 1; i <= n; i += 3) {
				print line
				line = "\t\t\t  "
				for (j = i; j < i + 3 && j <= n; j++)
					line = line " " o[j]
				if (i + 3 <= n)
					line = line " \\"
			}
			print line
			next
		}
		{ print }'
}

say "applying and proving each patch on $(g rev-parse --short base) ($base_ver)"
g checkout -q -f -B nvmx base
g clean -q -fdx -- arch/x86/kvm
rm -f "$work/series.log"
prev=
for k in $(seq "$n"); do
	slug=$("$cut" list "$top" "$series" | awk -v k="$k" '$1 == k { print $2 }')
	s=$SECONDS
	step=$work/step
	rm -rf "$step"
	"$cut" emit "$top" "$series" "$k" "$step"
	# files of the previous step that this one no longer has
	for f in $prev; do
		grep -qxF "$f" "$step/.files" || g rm -q -- "$f"
	done
	while read -r f; do
		[ -z "$f" ] || [ ! -e "$tree/$f" ] || g rm -q -- "$f"
	done <"$step/.deleted"
	while read -r f; do
		mkdir -p "$(dirname "$tree/$f")"
		cp "$step/$f" "$tree/$f"
	done <"$step/.files"
	makefile "$(cat "$step/.objs")" >"$tree/arch/x86/kvm/Makefile"
	g add -f -A -- arch/x86/kvm
	"$cut" message "$top" "$series" "$k" >"$work/msg"
	g commit -q -s -F "$work/msg"
	prev=$(cat "$step/.files")

	# builds on its own
	"$top/scripts/nvmx/kmod-tree.sh" "$tree" "$kmod" "$top/scripts/nvmx/series.Kbuild"
	if ! make -s -C "$kdir" M="$kmod" -j"$jobs" modules >"$work/build-$k.log" 2>&1; then
		grep -v '^Skipping BTF generation' "$work/build-$k.log" | tail -n 40 >&2
		die "patch $k ($slug) does not build (log: $work/build-$k.log)"
	fi
	grep -v '^Skipping BTF generation' "$work/build-$k.log" >&2 || true
	[ "$kmod/kvm-intel.ko" -nt "$work/msg" ] ||
		die "patch $k ($slug): kvm-intel.ko was not relinked"
	# checkpatch --strict clean (FILE_PATH_CHANGES: the MAINTAINERS reminder
	# for added and deleted files; KVM's entry covers them)
	g format-patch -q -1 --stdout >"$work/one.patch"
	# (Debian's python3 first: spdxcheck.py needs its ply and git modules)
	if ! (cd "$tree" && PATH=/usr/bin:/bin:$PATH perl scripts/checkpatch.pl --strict --quiet \
			--ignore FILE_PATH_CHANGES "$work/one.patch") >"$work/checkpatch-$k.log" 2>&1; then
		cat "$work/checkpatch-$k.log" >&2
		die "patch $k ($slug): checkpatch --strict"
	fi
	stat=$(g diff --shortstat HEAD~1 | sed 's/^ *//')
	say "[$k/$n] $slug: $(head -n 1 "$work/msg")"
	say "       $stat; kvm-intel.ko built, checkpatch --strict clean ($((SECONDS - s))s)"
	echo "$k $slug $(g rev-parse --short HEAD) built checkpatch-clean" >>"$work/series.log"
done

# The final step is our tree: nothing stubbed, nothing missing.
for f in $prev; do
	case $f in
	arch/x86/kvm/vmx/nvmx/*) ours=include/nvmx/${f#arch/x86/kvm/vmx/nvmx/} ;;
	*) ours=$f ;;
	esac
	[ -e "$top/$ours" ] || die "the series' $f is not a file of ours ($ours)"
done

# The cover letter: the series file's summary, then what the tests and the
# benchmark last said in this build directory.
results=$build/results
cover_body() {
	tail -n +3 "$work/cover"
	echo
	echo "Base: $base_ver"
	echo "(v$KSERIES.$sub with Debian's patches).  The patches apply to it with git"
	echo "am, and kvm-intel.ko builds after each of them.  Made from nvmx"
	echo "$(git -C "$top" describe --always --dirty --abbrev=12)."
	echo
	echo "Test results"
	echo "------------"
	if [ -s "$build/vmxhost/table" ]; then
		echo "The selftests in the emulated VMX host (Bochs 2.7, corei7_skylake_x),"
		echo "stock kvm-intel.ko and this series side by side, as make run prints"
		echo "them ($(date -r "$build/vmxhost/table" -u '+%Y-%m-%d %H:%M UTC')):"
		echo
		sed 's/^/  /' "$build/vmxhost/table"
	else
		echo "(no emulated-host run in this build directory: make run)"
	fi
	if [ -n "$(find "$results" -maxdepth 1 \( -name '*.tap' -o -name '*.results' \) 2>/dev/null)" ]; then
		echo
		echo "All results of the last make run/check here:"
		"$top/scripts/nvmx/summary.sh" "$results" 2>&1 | sed -n '/== summary ==/,$p' |
			grep -v '^== summary' | sed 's/^/  /' || true
	fi
	echo
	echo "Benchmark"
	echo "---------"
	if [ -s "$results/bench.table" ]; then
		echo "make bench ($(date -r "$results/bench.table" -u '+%Y-%m-%d %H:%M UTC')):"
		echo
		sed 's/^/  /' "$results/bench.table"
	else
		echo "(no make bench in this build directory)"
	fi
}

say "writing the series with git format-patch"
rm -rf "$out"
g format-patch -q --cover-letter --thread=shallow -o "$out" base..nvmx
cover=$(ls "$out"/0000-*.patch)
"$cut" cover "$top" "$series" >"$work/cover"
cover_body >"$work/blurb"
head -n 1 "$work/cover" >"$work/subject"
python3 - "$cover" "$work/subject" "$work/blurb" <<'PY'
import sys
path, subject, blurb = sys.argv[1:]
text = open(path).read()
text = text.replace('*** SUBJECT HERE ***', open(subject).read().strip())
text = text.replace('*** BLURB HERE ***', open(blurb).read().rstrip('\n'))
open(path, 'w').write(text)
PY
grep -q '\*\*\* .* HERE \*\*\*' "$cover" && die "cover letter not filled in"

# git am on a clean checkout of the base must give the same tree.
say "git am of the series on a clean checkout of the base"
am=$work/am
s=$SECONDS
g worktree remove -f "$am" 2>/dev/null || true
rm -rf "$am"
g worktree prune
g worktree add -q --detach "$am" base
mapfile -t list < <(find "$out" -name '[0-9]*.patch' ! -name '0000-*' | sort)
git -C "$am" am -q "${list[@]}"
want=$(g rev-parse 'nvmx^{tree}')
got=$(git -C "$am" rev-parse 'HEAD^{tree}')
[ "$want" = "$got" ] || die "git am gave tree $got, the series is $want"
applied=$(git -C "$am" rev-list --count base..HEAD)
g worktree remove -f "$am"
say "git am applied $applied patches cleanly; same tree as the series ($((SECONDS - s))s)"
say "series: $out (cover letter and ${#list[@]} patches)"
