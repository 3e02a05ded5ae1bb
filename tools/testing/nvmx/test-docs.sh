#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The documentation builds: every reST file of ours under Documentation/
# parses with docutils with no warning (python3-docutils; make deps installs
# it), and Documentation/virt/kvm/x86/nested-vmx.rst builds with Sphinx, on
# its own (no kernel conf.py: it uses no kernel extension), with warnings
# as errors, where python3-sphinx is installed; where it is not, that test
# is a SKIP that says so.
set -uo pipefail

top=$(cd "$(dirname "$0")/../../.." && pwd)
doc=Documentation/virt/kvm/x86/nested-vmx.rst
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0
failed=0
# Debian's python3-docutils and python3-sphinx are /usr/bin/python3's,
# whatever python3 comes first in PATH.
py=/usr/bin/python3
[ -x "$py" ] || py=python3

echo "TAP version 13"
if ! "$py" -c 'import docutils' 2>/dev/null; then
	n=$((n + 1))
	echo "not ok $n - docs: python3-docutils is not installed (make deps installs it)"
	echo "1..$n"
	exit 1
fi

[ -e "$top/$doc" ] || { n=$((n + 1)); echo "not ok $n - docs: $doc is missing"; failed=1; }
for f in $(cd "$top" && git ls-files 'Documentation/*.rst' 2>/dev/null || ls Documentation/*/*.rst); do
	n=$((n + 1))
	# halt_level 2: a warning (or worse) stops the parse with an error.
	if out=$("$py" - "$top/$f" 2>&1 <<'PY'
import sys
import docutils.core
with open(sys.argv[1], encoding='utf-8') as src:
    text = src.read()
docutils.core.publish_doctree(text, source_path=sys.argv[1], settings_overrides={
    'halt_level': 2, 'report_level': 2, 'traceback': False})
PY
	); then
		echo "ok $n - docs: $f parses with docutils"
	else
		echo "not ok $n - docs: $f does not parse with docutils"
		echo "$out" | tail -n 5 | sed 's/^/# /'
		failed=1
	fi
done

n=$((n + 1))
if ! "$py" -c 'import sphinx' 2>/dev/null; then
	echo "ok $n - docs: $doc builds with Sphinx # SKIP python3-sphinx is not installed"
else
	mkdir -p "$tmp/src"
	cp "$top/$doc" "$tmp/src/"
	name=$(basename "$doc" .rst)
	if out=$("$py" -m sphinx -b html -C -W -q -D root_doc="$name" \
			-D html_theme=basic "$tmp/src" "$tmp/out" 2>&1) &&
	   [ -s "$tmp/out/$name.html" ]; then
		echo "ok $n - docs: $doc builds with Sphinx $("$py" -c 'import sphinx; print(sphinx.__version__)')"
	else
		echo "not ok $n - docs: $doc does not build with Sphinx"
		echo "$out" | tail -n 5 | sed 's/^/# /'
		failed=1
	fi
fi
echo "1..$n"
exit $failed
