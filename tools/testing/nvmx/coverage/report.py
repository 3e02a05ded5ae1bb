#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""make coverage's report: which share of our nested code the tests reach.

The sites are the calls to __sanitizer_cov_trace_pc that GCC put into the
coverage build's nested objects, one per basic block: the relocations
against it in kvm-intel.ko.  Each is mapped to its object (nested*.c: the
file), to the function of ours it is in (addr2line's inline chain: the
innermost function from our tree, so a helper inlined into several callers
is one function; an upstream helper emitted into our object stands for
itself) and to its source line.  A site is reached when the collector
(nvmx_cov.c) recorded its return address: the coverage boot's console has,
per module load, where the code sections were loaded and the addresses
recorded during the load and during each test (run-tests.sh).

Two figures: the fuzzers (their runs and the load of the module they ran
on) and the whole plan (every load and test of the run).  Writes the table
(per file and function: reached/total and %; per test: sites reached and
sites no other test reaches; the functions with no site reached, with the
reason UNREACHED gives where it lists one) and the list of sites.  Checks
that the coverage build behaved as our normal module did in the other boot
of the same run: the same result for every test, the same output from every
fuzzer (emulated times and cycle counts aside), no WARN, BUG or Oops in
either kernel log, no recorded address that is not a site, no site lost to
a full table, no site reached of a function UNREACHED lists.  Exits 1 when
a check fails.

Usage: report.py KO OBJ_DIR NORMAL_RUN COVERAGE_RUN PLAN KNOWN_FAILURES FUZZERS
                 UNREACHED TABLE SITES
  KO: the coverage build's kvm-intel.ko (with debug info); OBJ_DIR: its
  arch/x86/kvm/vmx; *_RUN: run.sh's OUT_DIR/normal and OUT_DIR/coverage;
  FUZZERS: the fuzzers' test names, blank-separated.
"""
import collections
import os
import re
import subprocess
import sys

HOOK = '__sanitizer_cov_trace_pc'
# A call is e8 and a 32-bit displacement: the relocation is 1 byte into the
# call, the return address (what the collector records) 4 bytes after it.
RET_AFTER_RELOC = 4
# A kernel message on the console: it can break into a line of the tests'.
KMSG = re.compile(r'\[\s*\d+\.\d+\] ')
LOAD = '(load)'


def run(*cmd):
    return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout


def sections(elf):
    """Section index -> (name, size)."""
    out = {}
    for line in run('readelf', '-S', '-W', elf).splitlines():
        m = re.match(r'\s*\[\s*(\d+)\]\s+(\S+)\s+\S+\s+[0-9a-f]+\s+[0-9a-f]+\s+([0-9a-f]+)',
                     line)
        if m:
            out[int(m.group(1))] = (m.group(2), int(m.group(3), 16))
    return out


def functions(elf):
    """FUNC symbols: (section index, value, size, name)."""
    out = []
    for line in run('readelf', '-s', '-W', elf).splitlines():
        f = line.split()
        if len(f) >= 8 and f[3] == 'FUNC' and f[6].isdigit():
            out.append((int(f[6]), int(f[1], 16), int(f[2]), f[7]))
    return out


def hook_relocs(ko):
    """Section name -> the offsets of the hook's relocations."""
    out = collections.defaultdict(list)
    sec = None
    for line in run('readelf', '-r', '-W', ko).splitlines():
        m = re.match(r"Relocation section '\.rela(\S+)'", line)
        if m:
            sec = m.group(1)
            continue
        f = line.split()
        if sec and len(f) >= 5 and f[4] == HOOK:
            out[sec].append(int(f[0], 16))
    return out


def inline_chains(ko, sec, offsets):
    """Offset -> addr2line -i's chain of (function, path, line), innermost
    first."""
    text = '\n'.join('0x%x' % o for o in offsets) + '\n'
    out = subprocess.run(['addr2line', '-a', '-f', '-i', '-e', ko, '-j', sec],
                         input=text, check=True, capture_output=True,
                         text=True).stdout.splitlines()
    res = collections.defaultdict(list)
    # After each address, pairs of lines: the function, then path:line.
    cur, func = None, None
    for line in out:
        if re.fullmatch(r'0x[0-9a-f]+', line):
            cur, func = int(line, 16), None
        elif func is None:
            func = line
        else:
            path, _, num = line.split(' (')[0].rpartition(':')
            res[cur].append((func, path, num))
            func = None
    return res


def object_ranges(ko, objdir, ko_funcs, sec_index):
    """Where each nested object's code sections are in the module: a
    function whose name is unique in both anchors its section.  Returns
    (section, start, end, file) tuples."""
    count = collections.Counter((i, n) for i, _, _, n in ko_funcs)
    value = {(i, n): v for i, v, _, n in ko_funcs}
    ranges = []
    for o in sorted(os.listdir(objdir)):
        if not (o.startswith('nested') and o.endswith('.o')):
            continue
        path = os.path.join(objdir, o)
        osecs = sections(path)
        ofuncs = functions(path)
        ocount = collections.Counter((i, n) for i, _, _, n in ofuncs)
        done = set()
        for i, v, _, name in ofuncs:
            sec, size = osecs[i]
            key = (sec_index.get(sec), name)
            if sec not in done and ocount[(i, name)] == 1 and count.get(key) == 1:
                start = value[key] - v
                ranges.append((sec, start, start + size, o[:-2] + '.c'))
                done.add(sec)
    return ranges


def sites_of(ko, objdir, top):
    """(section, relocation offset) -> (file, function, where, ours): the
    object, the function the site's source line is in (headers named in
    brackets), the line (with the line of ours it was inlined into when the
    innermost is an upstream helper's), and whether that innermost line is
    in our tree.  Also the code sections' sizes."""
    secs = sections(ko)
    sec_index = {name: i for i, (name, _) in secs.items()}
    ranges = object_ranges(ko, objdir, functions(ko), sec_index)

    def ours(path):
        real = os.path.realpath(path)
        return real.startswith(top + '/') and not real.startswith(top + '/build/')

    kmod = os.path.dirname(os.path.abspath(ko))

    def rel(path):
        """A path of ours from the top of the tree, an upstream one from the
        top of the kernel tree."""
        if ours(path):
            return os.path.relpath(os.path.realpath(path), top)
        if path.startswith(kmod + '/'):
            return os.path.normpath(os.path.relpath(path, kmod))
        return re.sub(r'^/usr/src/linux-headers-[^/]*/', '', path)

    site = {}
    for sec, offs in hook_relocs(ko).items():
        chains = inline_chains(ko, sec, [o - 1 for o in offs])
        for off in offs:
            obj = [r[3] for r in ranges if r[0] == sec and r[1] <= off < r[2]]
            obj = obj[0] if len(obj) == 1 else '?'
            chain = chains.get(off - 1) or [('?', '?', '?')]
            func, path, num = chain[0]
            mine = ours(path)
            if mine and os.path.basename(path) != obj:
                func += ' [%s]' % os.path.basename(path)
            where = '%s:%s' % (rel(path), num)
            caller = [c for c in chain if ours(c[1])]
            if not mine and caller:
                where += ' (in %s, %s:%s)' % (caller[0][0], rel(caller[0][1]), caller[0][2])
            site[(sec, off)] = (obj, func, where, mine)
    return site, {secs[i][0]: secs[i][1] for i in secs}


def console(run_dir):
    """The console's lines with each line of the tests' whole again: the
    kernel writes to the serial port past the tty, so a kernel message can
    break into one ("abc[ 7.123456] msg", then "def" on the next line)."""
    try:
        with open(os.path.join(run_dir, 'console.log'), 'rb') as f:
            raw = f.read().decode('utf-8', 'replace').replace('\r', '').splitlines()
    except FileNotFoundError:
        return []
    out, part = [], ''
    for line in raw:
        m = KMSG.search(line)
        if m and m.start() > 0:
            part += line[:m.start()]
            out.append(line[m.start():])
        elif m and part:
            out.append(line)
        else:
            out.append(part + line)
            part = ''
    return out


def hits_of(lines, site, sec_size, problems):
    """Test -> the sites it reached, and test -> the load it ran on; loads
    are named "(load)#N"."""
    hits = collections.defaultdict(set)
    load_of = {}
    base = {}
    load = None
    nload = 0
    unmapped = garbled = 0
    in_sections = False
    for line in lines:
        m = re.match(r'# nvmx-cov-section \S+ (\S+) (0x[0-9a-f]+)$', line)
        if m:
            if not in_sections:
                base = {}
            in_sections = True
            base[m.group(1)] = int(m.group(2), 16)
            continue
        in_sections = False
        m = re.match(r'# nvmx-cov ours/(\S+) (.*)$', line)
        if not m:
            continue
        test, rest = m.group(1), m.group(2)
        if test == LOAD:
            if rest.startswith('#'):
                nload += 1
            test = load = '%s#%d' % (LOAD, nload)
        else:
            load_of[test] = load
        if rest.startswith('#'):
            lost = re.search(r'lost (\d+)', rest)
            if not lost:
                garbled += 1
            elif int(lost.group(1)):
                problems.append('%s: %s sites lost: the table was full' %
                                (test, lost.group(1)))
            continue
        for a in rest.split():
            if not re.fullmatch(r'[0-9a-f]{8}', a):
                garbled += 1
                continue
            pc = int('ffffffff' + a, 16)
            key = None
            for sec, b in base.items():
                if 0 <= pc - b < sec_size.get(sec, 0):
                    key = (sec, pc - b - RET_AFTER_RELOC)
            if key in site:
                hits[test].add(key)
            else:
                unmapped += 1
    if unmapped:
        problems.append('%d recorded addresses are no site of the hook' % unmapped)
    if garbled:
        problems.append('%d listed addresses garbled on the console' % garbled)
    if not hits:
        problems.append('the coverage boot listed no site reached')
    return hits, load_of


def tap_results(lines):
    """ours/TEST -> its TAP verdict, without the test number."""
    res = {}
    for line in lines:
        m = re.match(r'(not ok|ok) \d+ ours/(\S+)(.*)', line)
        if m:
            res[m.group(2)] = (m.group(1) + m.group(3)).strip()
    return res


def test_output(lines, test):
    """What TEST printed ("# # " lines) but what it measured: emulated
    times (" t=1.23", "1.23 s") and the lines of cycle counts, which the
    coverage build's extra instructions change."""
    out, on = [], False
    for line in lines:
        if line == '# nvmx-begin ours/' + test:
            on = True
        elif line.startswith('# nvmx-time ours/' + test + ' '):
            on = False
        elif on and line.startswith('# # ') and 'cycles' not in line:
            line = re.sub(r' t=[0-9.]+', '', line)
            out.append(re.sub(r'\b[0-9]+\.[0-9]+ s\b', 'TIME s', line))
    return out


def kernel_log_problems(lines, top):
    """The WARN, BUG, Oops ... lines (judge-lib.sh's pattern) while the
    module was loaded."""
    with open(os.path.join(top, 'scripts/nvmx/vmxhost/judge-lib.sh')) as f:
        bad = re.compile(re.search(r"^bad='(.*)'$", f.read(), re.M).group(1))
    out, on = [], False
    for line in lines:
        if 'nvmx-phase: ours' in line:
            on = True
        elif 'nvmx-phase-end: ours' in line:
            on = False
        elif on and bad.search(line):
            out.append(line)
    return out


def compare(normal, cov, planned, known, is_fuzzer, top, problems):
    """The coverage build against the normal module; the number of tests
    with the same result.  A test of the known failures may fail, alike."""
    rn, rc = tap_results(normal), tap_results(cov)
    same = 0
    for t in planned:
        a, b = rn.get(t, 'not run'), rc.get(t, 'not run')
        if a != b:
            problems.append('%s: normal module "%s", coverage build "%s"' % (t, a, b))
        elif a == 'not run' or (a.startswith('not ok') and t not in known):
            problems.append('%s: %s with both' % (t, a))
        else:
            same += 1
        if is_fuzzer(t) and test_output(normal, t) != test_output(cov, t):
            problems.append('%s: its output differs between the normal module and '
                            'the coverage build' % t)
    for which, lines in (('normal', normal), ('coverage', cov)):
        for p in kernel_log_problems(lines, top)[:1]:
            problems.append('kernel log with the %s module: %s' % (which, p))
    return same


def emulator_status(run_dir, which, problems):
    try:
        with open(os.path.join(run_dir, 'emulator.status')) as f:
            status = f.read().split()
    except FileNotFoundError:
        status = []
    status += ['missing', '?'][len(status):]
    if status[0] != 'done':
        problems.append('the %s boot: emulator %s' % (which, ' '.join(status)))
    return status[1]


def frac(reached, total):
    return '%5d/%-5d %5.1f%%' % (reached, total, 100.0 * reached / total if total else 0)


def read_list(path):
    """NAME REST lines of a list file ('#' comments): NAME -> REST."""
    out = {}
    with open(path) as f:
        for line in f:
            if line.strip() and not line.lstrip().startswith('#'):
                name, _, rest = line.strip().partition(' ')
                out[name] = rest.strip()
    return out


def main():
    (ko, objdir, normal_run, cov_run, plan, known, fuzzers, unreached,
     table_path, sites_path) = sys.argv[1:11]
    top = os.path.realpath(os.path.join(os.path.dirname(__file__), '../../../..'))
    fuzzers = set(fuzzers.split())
    problems = []

    def is_fuzzer(test):
        return test.split('[')[0] in fuzzers

    site, sec_size = sites_of(ko, objdir, top)
    if any(v[0] == '?' for v in site.values()):
        problems.append('%d sites outside every nested object' %
                        sum(v[0] == '?' for v in site.values()))
    cov = console(cov_run)
    hits, load_of = hits_of(cov, site, sec_size, problems)
    tests = [t for t in hits if not t.startswith(LOAD)]
    fuzz_set, plan_set = set(), set()
    for t, s in hits.items():
        plan_set |= s
        if is_fuzzer(t):
            fuzz_set |= s | hits.get(load_of.get(t), set())

    planned = list(read_list(plan))
    same = compare(console(normal_run), cov, planned, read_list(known), is_fuzzer,
                   top, problems)
    secs = {which: emulator_status(d, which, problems)
            for which, d in (('normal', normal_run), ('coverage', cov_run))}
    reasons = read_list(unreached)

    # Our code: rows per file and function, in the order of the code; the
    # upstream helpers inlined into it: rows per header.
    order = sorted(site, key=lambda k: (site[k][0], k[0] != '.text', k))
    fn = collections.OrderedDict()
    helpers = collections.defaultdict(list)
    for key in order:
        obj, name, where, mine = site[key]
        if mine:
            fn.setdefault((obj, name), []).append(key)
        else:
            helpers[where.split(':')[0]].append(key)
    mine = [k for k in site if site[k][3]]

    def row(f, name, keys):
        return fmt % (f, name, frac(sum(k in fuzz_set for k in keys), len(keys)),
                      frac(sum(k in plan_set for k in keys), len(keys)))

    fmt = '%-18s %-50s %18s %18s'
    head = fmt % ('FILE', 'FUNCTION', 'FUZZERS     ', 'PLAN      ')
    out = ['nvmx coverage: the sites of -fsanitize-coverage=trace-pc (one per basic block)',
           'in our nested objects (the calls GCC put there), reached in the emulated VMX host',
           'fuzzers: %s, with the module load' % ' '.join(
               t for t in planned if is_fuzzer(t)),
           'plan:    %d tests (every emulated-host line of the expectations), '
           'with each module load' % len(planned),
           'emulator: %s s with the coverage build, %s s with the normal module '
           '(wall, side by side)' % (secs['coverage'], secs['normal']),
           '',
           'Our code: the sites whose source line is in our tree (functions of headers',
           'of ours in brackets; a function inlined into several callers is one row)',
           head]
    per_file = collections.OrderedDict()
    for (f, name), keys in fn.items():
        out.append(row(f, name, keys))
        per_file.setdefault(f, []).extend(keys)
    out.append('')
    for f, keys in per_file.items():
        out.append(row(f, '(file)', keys))
    out.append(row('all', '(our code)', mine))

    out += ['',
            'Upstream helpers inlined into our code (their source line is upstream\'s):',
            'mostly paths this host never takes: the enlightened VMCS of a KVM that',
            'itself runs on Hyper-V (evmcs.h), VMREAD/VMWRITE failing (vmx_ops.h), a',
            'tracepoint enabled (trace.h, preempt.h)',
            fmt % ('', 'HEADER', 'FUZZERS     ', 'PLAN      ')]
    for h in sorted(helpers, key=lambda h: -len(helpers[h])):
        out.append(row('', h, helpers[h]))
    out.append(row('all', '(upstream helpers)', [k for k in site if not site[k][3]]))
    out.append(row('all', '(every site of our objects)', list(site)))

    # Per test: what it reaches, and what no other test reaches.
    out.append('')
    out.append('%-46s %8s %8s' % ('TEST (and each module load)', 'SITES', 'ONLY IT'))
    for t in sorted(hits, key=lambda t: (t.startswith(LOAD), t)):
        others = set().union(*(hits[u] for u in tests if u != t))
        out.append('%-46s %8d %8d' % (t, len(hits[t]), len(hits[t] - others)
                                      if not t.startswith(LOAD) else 0))

    for title, s in (('the fuzzers', fuzz_set), ('the whole plan', plan_set)):
        zero = [(f, name) for (f, name), keys in fn.items() if not any(k in s for k in keys)]
        out.append('')
        out.append('functions of ours with no site reached by %s (%d):' % (title, len(zero)))
        for f, name in zero:
            out.append(('  %-18s %-50s %s' % (f, name, reasons.get(name, ''))).rstrip())
    for name in reasons:
        if any(k in plan_set for (f, n), keys in fn.items() if n == name for k in keys):
            problems.append('%s is listed in %s, but the plan reaches it' %
                            (name, os.path.basename(unreached)))

    out.append('')
    out.append('the coverage build against the normal module: %d of %d tests with the '
               'same result (a known failure failing alike)' % (same, len(planned)))
    out += ['PROBLEM ' + p for p in problems]
    with open(table_path, 'w') as f:
        f.write('\n'.join(out) + '\n')
    with open(sites_path, 'w') as f:
        f.write('# SECTION+OFFSET, FILE, FUNCTION, LINE, FUZZERS, PLAN (1: reached),'
                ' tab-separated; FUNCTION "-": an upstream helper\'s line, inlined into'
                ' ours where LINE says\n')
        for key in order:
            obj, name, where, mine = site[key]
            f.write('%s+0x%x\t%s\t%s\t%s\t%d\t%d\n' % (
                key[0], key[1], obj, name if mine else '-', where,
                key in fuzz_set, key in plan_set))
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main())
