#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Prove our struct vmcs12 is 6.1's nested-state ABI, as TAP.  KVM_GET/
# SET_NESTED_STATE carries vmcs12 as a 4 KiB blob, so the layout must equal
# 6.1's byte for byte, and VMREAD/VMWRITE must reach the same bytes for the
# same encodings (a migrated L1 reads its fields back by encoding).
#
#  1. every member, in order, at 6.1's offset with 6.1's size: ours printed
#     by tools/testing/nvmx/vmcs12_layout.c, 6.1's from the DWARF of the
#     stock build (gdb's ptype /o);
#  2. sizeof(struct vmcs12);
#  3. the encodings VMREAD/VMWRITE accept and the offset each reaches: ours
#     from nvmx_vmcs12_field(), 6.1's from the offsets table compiled into
#     the stock vmcs12.o (vmcs12_field_offsets[], indexed by the encoding
#     rotated left by 6 bits; high halves included).
#
# Usage: vmcs12-abi.sh KMOD_STOCK_DIR WORK_DIR (exits 1 on a difference)
set -euo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
stock=$1/arch/x86/kvm/vmx
work=$2
n=0
fail=0

ok() {		# ok DESCRIPTION
	n=$((n + 1))
	echo "ok $n - vmcs12 ABI: $1"
}

not_ok() {	# not_ok DESCRIPTION: details on stdin, as TAP comments
	n=$((n + 1))
	echo "not ok $n - vmcs12 ABI: $1"
	sed 's/^/# /'
	fail=1
}

# Compare two files of lines position by position; on a difference print
# the first few as "what: ours ..., 6.1 ...".
compare() {	# compare OURS STOCK DESCRIPTION
	local diffs
	diffs=$(paste -d '|' "$1" "$2" |
		awk -F'|' '$1 != $2 { if (++d <= 8) printf "line %d: ours \"%s\", 6.1 \"%s\"\n", NR, $1, $2 }
			   END { if (d > 8) printf "... %d differences in all\n", d }')
	if [ -z "$diffs" ]; then
		ok "$3"
	else
		not_ok "$3" <<<"$diffs"
	fi
}

echo "TAP version 13"
mkdir -p "$work"

if ! out=$(${CC:-cc} -O2 -Wall -Wextra -Werror -std=gnu11 -I"$top/include" \
		-o "$work/vmcs12_layout" "$top/tools/testing/nvmx/vmcs12_layout.c" 2>&1); then
	not_ok "tools/testing/nvmx/vmcs12_layout.c does not build" <<<"$out"
	echo "1..$n"
	exit 1
fi
"$work/vmcs12_layout" >"$work/ours.layout"
"$work/vmcs12_layout" encodings >"$work/ours.encodings"

# 6.1's layout: the top-level members of gdb's "ptype /o struct vmcs12" (a
# nested struct's name is on its closing line), then the total size.
obj=
for o in vmcs12.o nested.o vmx.o; do
	if gdb -batch -ex 'ptype /o struct vmcs12' "$stock/$o" >"$work/stock.ptype" 2>&1 &&
	   grep -q 'type = struct vmcs12 {' "$work/stock.ptype"; then
		obj=$o
		break
	fi
done
if [ -z "$obj" ]; then
	not_ok "6.1's layout not found" \
		<<<"no DWARF for struct vmcs12 in $stock/{vmcs12,nested,vmx}.o"
	echo "1..$n"
	exit 1
fi
perl -ne '
	if (m{^/\*\s+(\d+)(?::\s*\d+)?\s+\|\s+(\d+)\s+\*/\s+(.*?)\s*$}) {
		my ($off, $size, $decl) = ($1, $2, $3);
		if ($depth == 0 && $decl =~ /\{$/) {
			($noff, $nsize) = ($off, $size);
		} elsif ($depth == 0 && $decl =~ /(\w+)(?:\[\d+\])*;$/) {
			print "$1 $off $size\n";
		}
		$depth++ if $decl =~ /\{$/;
	} elsif (m{^\s+\}\s*(\w+);}) {
		print "$1 $noff $nsize\n" if --$depth == 0;
	} elsif ($depth == 0 && m{total size \(bytes\):\s*(\d+)}) {
		print "sizeof $1\n";
	}' "$work/stock.ptype" >"$work/stock.layout"

grep -v '^sizeof ' "$work/ours.layout" >"$work/ours.members"
grep -v '^sizeof ' "$work/stock.layout" >"$work/stock.members"
compare "$work/ours.members" "$work/stock.members" \
	"$(wc -l <"$work/stock.members") members at 6.1's offsets and sizes (DWARF of $obj)"
compare <(grep '^sizeof ' "$work/ours.layout") <(grep '^sizeof ' "$work/stock.layout") \
	"sizeof(struct vmcs12) $(grep '^sizeof ' "$work/stock.layout" | cut -d' ' -f2) as in 6.1"

# 6.1's encodings: vmcs12_field_offsets[] out of the stock vmcs12.o's
# read-only data; slot i holds the offset for the encoding whose 16 bits
# rotated left by 6 give i, 0 where L1 has no field.
read -r value size ndx < <(readelf -sW "$stock/vmcs12.o" |
	awk '$8 == "vmcs12_field_offsets" { print $2, $3, $7 }')
section=$(readelf -SW "$stock/vmcs12.o" |
	sed -n "s/^ *\[ *$ndx\] \([^ ]*\) .*/\1/p")
objcopy -O binary --only-section="$section" "$stock/vmcs12.o" "$work/stock.rodata"
perl -e '
	my ($file, $start, $len) = @ARGV;
	open(my $f, "<:raw", $file) or die "$file: $!";
	local $/;
	my @off = unpack("v*", substr(<$f>, hex($start), $len));
	for my $i (0 .. $#off) {
		next unless $off[$i];
		printf "0x%04x %d\n", (($i >> 6) | ($i << 10)) & 0xffff, $off[$i];
	}' "$work/stock.rodata" "$value" "$size" | sort >"$work/stock.encodings"
sort "$work/ours.encodings" >"$work/ours.encodings.sorted"
compare "$work/ours.encodings.sorted" "$work/stock.encodings" \
	"$(wc -l <"$work/stock.encodings") encodings reach 6.1's offsets (vmcs12_field_offsets[] of vmcs12.o)"

echo "1..$n"
exit $fail
