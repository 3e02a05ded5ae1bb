#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
#
# The patch series of nvmx against upstream (make patches): which of our
# files and which of their top-level definitions each patch brings, read
# from scripts/nvmx/series, and the kernel tree files of each step.
#
# A C file of ours is cut into paragraphs: top-level text between blank
# lines (a blank line inside braces, a comment or a #if does not cut).  A
# paragraph is named by what it defines (function, variable, macro, type,
# enumerators).  The series file assigns every paragraph to a patch: by
# default the patch that brings its file, or a later one that "take"s it by
# name (a name wins over a shell pattern, a pattern over "*", and between
# two alike the later patch).  A paragraph of prototypes comes with the first of its functions
# that is defined; a paragraph of comments alone comes with the paragraph
# after it.  A "stub" is the interim text of a function until the patch
# that brings the real one.  The final step is our tree, except for what the
# series file "drop"s (out-of-tree only), with our plain-C headers moved
# from include/nvmx/ to arch/x86/kvm/vmx/nvmx/ and included by quoted path.
#
# Usage:
#   series.py chunks TOP FILE          the paragraphs of FILE and their names
#   series.py check TOP SERIES         every step closed: each name a present
#                                      paragraph uses is present at that step
#   series.py list TOP SERIES          one line per patch: NUMBER SLUG
#   series.py emit TOP SERIES N DIR    the files of step N under DIR, their
#                                      kernel paths in DIR/.files, the files
#                                      upstream loses in DIR/.deleted,
#                                      kvm-intel's extra objects in DIR/.objs
#   series.py message TOP SERIES N     the commit message of patch N
#   series.py cover TOP SERIES         subject and blurb of the cover letter

import fnmatch
import os
import re
import sys

IDENT = re.compile(r'[A-Za-z_][A-Za-z0-9_]*')
KEYWORDS = set('''auto break case char const continue default do double else
enum extern float for goto if inline int long register restrict return short
signed sizeof static struct switch typedef union unsigned void volatile while
bool true false'''.split())


def fail(msg):
    sys.exit('series: error: ' + msg)


def strip_code(line, state):
    """The code of LINE without comments, strings and char constants; STATE
    carries 'in a block comment' across lines."""
    out = []
    i = 0
    n = len(line)
    while i < n:
        if state['comment']:
            j = line.find('*/', i)
            if j < 0:
                return ''.join(out)
            state['comment'] = False
            i = j + 2
            out.append(' ')
            continue
        c = line[i]
        if line.startswith('/*', i):
            state['comment'] = True
            i += 2
            continue
        if line.startswith('//', i):
            break
        if c in '"\'':
            j = i + 1
            while j < n and line[j] != c:
                j += 2 if line[j] == '\\' else 1
            out.append(' ')
            i = j + 1
            continue
        out.append(c)
        i += 1
    return ''.join(out)


class Chunk:
    def __init__(self, path, index, lines, code):
        self.path = path
        self.index = index
        self.lines = lines
        self.code = code		# the code lines, comments stripped
        self.defs = []			# names this paragraph defines
        self.decls = []			# names it only declares (prototypes)
        self.refs = set()
        self.kind = 'code'
        self.analyse()

    @property
    def name(self):
        if self.defs:
            return self.defs[0]
        if self.decls:
            return self.decls[0]
        m = IDENT.search(' '.join(self.code))
        return m.group(0) if m else '@' + str(self.index)

    def analyse(self):
        text = '\n'.join(self.code)
        if not text.strip():
            self.kind = 'comment'
            return
        if all(l.startswith('#include') or not l.strip() for l in self.code):
            self.kind = 'include'
            return
        # an include guard's #ifndef/#define or #endif: always there
        if all(re.match(r'#(ifndef\s+\w+|define\s+\w+|endif\b.*)\s*$', l)
               for l in self.code):
            self.kind = 'include'
            return
        for m in re.finditer(r'^#\s*define\s+(\w+)', text, re.M):
            self.defs.append(m.group(1))
        body = re.sub(r'^#.*(\\\n.*)*$', '', text, flags=re.M)
        # top-level statements: up to ';' or a '}' at depth 0
        depth = 0
        stmt = []
        stmts = []
        for c in body:
            stmt.append(c)
            if c in '{([':
                depth += 1
            elif c in '})]':
                depth -= 1
                if depth == 0 and c == '}':
                    rest = ''.join(stmt)
                    if re.match(r'\s*(static\s+|const\s+)*(struct|enum|union)(\s+\w+)?\s*\{', rest) or '=' in rest.split('{')[0]:
                        continue	# a type or an initialiser: ends at ';'
                    stmts.append(rest)
                    stmt = []
            elif c == ';' and depth == 0:
                stmts.append(''.join(stmt))
                stmt = []
        for s in stmts:
            self.statement(s.strip())
        for tok in IDENT.findall(text):
            if tok not in KEYWORDS:
                self.refs.add(tok)
        self.refs -= set(self.defs) | set(self.decls)

    def statement(self, s):
        if not s or s == ';':
            return
        head = s.split('{')[0]
        if s.startswith('typedef'):
            m = re.search(r'\(\s*\*\s*(\w+)\s*\)', s) or \
                re.search(r'(\w+)\s*;\s*$', s)
            if m:
                self.defs.append(m.group(1))
            return
        m = re.match(r'(?:static\s+|const\s+)*(struct|enum|union)\s+(\w+)?\s*\{', s)
        if m:
            # the identifier after the type's closing brace, if any
            depth, end = 0, len(s)
            for i in range(s.index('{'), len(s)):
                depth += {'{': 1, '}': -1}.get(s[i], 0)
                if depth == 0:
                    end = i + 1
                    break
            after = IDENT.match(s[end:].strip())
            if after:
                self.defs.append(after.group(0))
            if m.group(2):
                self.defs.append(m.group(2))
            if m.group(1) == 'enum':
                inner = s[s.index('{') + 1:s.rindex('}')]
                for e in inner.split(','):
                    e = e.strip()
                    if e:
                        self.defs.append(IDENT.match(e).group(0))
            return
        if '(' in head and '=' not in head.split('(')[0]:
            name = IDENT.findall(head.split('(')[0])
            if len(name) < 2:
                return		# no type before the name: a macro invocation
            name = name[-1]
            if name.isupper() or name.startswith('module_param') or \
               name.startswith('MODULE_') or name.startswith('EXPORT_'):
                return		# a macro invocation
            if s.endswith(';') and '{' not in s:
                self.decls.append(name)
            else:
                self.defs.append(name)
            return
        # a variable: the identifier before '=', '[' or ';'
        decl = re.split(r'[=;]', s)[0]
        decl = decl.split('[')[0]
        names = IDENT.findall(decl)
        if names and names[-1] not in KEYWORDS:
            if s.startswith('extern'):
                self.decls.append(names[-1])
            else:
                self.defs.append(names[-1])


def paragraphs(path, text):
    """Cut TEXT into Chunks; the include guard of a header does not count
    as a #if."""
    lines = text.split('\n')
    if lines and lines[-1] == '':
        lines.pop()
    guard = None
    if path.endswith('.h'):
        for i, l in enumerate(lines):
            m = re.match(r'#ifndef\s+(\w+)', l)
            if m:
                guard = i
                break
            if l.startswith('#'):
                break
    state = {'comment': False}
    depth = 0
    ifdepth = 0
    chunks = []
    cur = []
    code = []
    last_endif = max((i for i, l in enumerate(lines) if l.startswith('#endif')),
                     default=-1)
    for i, l in enumerate(lines):
        blank = not l.strip()
        if blank and depth == 0 and ifdepth == 0 and not state['comment']:
            if cur:
                chunks.append(Chunk(path, len(chunks), cur, code))
            cur, code = [], []
            continue
        c = strip_code(l, dict(state))
        was_comment = state['comment']
        strip_code(l, state)
        if not was_comment or c.strip():
            pass
        if l.startswith('#if') and i != guard:
            ifdepth += 1
        elif l.startswith('#endif') and not (guard is not None and i == last_endif):
            ifdepth -= 1
        depth += c.count('{') + c.count('(') - c.count('}') - c.count(')')
        cur.append(l)
        if c.strip():
            code.append(c.rstrip())
    if cur:
        chunks.append(Chunk(path, len(chunks), cur, code))
    return chunks


# Our files and where they go in the kernel tree.
def kernel_path(path):
    if path.startswith('include/nvmx/'):
        return 'arch/x86/kvm/vmx/nvmx/' + path[len('include/nvmx/'):]
    return path


def rewrite_includes(kpath, text):
    """<nvmx/X> becomes a quoted path from the including file's directory."""
    here = os.path.dirname(kpath)

    def sub(m):
        target = 'arch/x86/kvm/vmx/nvmx/' + m.group(1)
        return '#include "%s"' % os.path.relpath(target, here)
    return re.sub(r'#include <nvmx/([^>]+)>', sub, text)


def our_path(name):
    """A file as the series file names it: X for arch/x86/kvm/vmx/X,
    nvmx/X for include/nvmx/X, else a path in our tree."""
    if name.startswith('nvmx/'):
        return 'include/' + name
    if '/' not in name:
        return 'arch/x86/kvm/vmx/' + name
    return name


class Patch:
    def __init__(self, number, slug):
        self.number = number
        self.slug = slug
        self.subject = None
        self.body = []
        self.files = []
        self.skeletons = []	# files brought with none of their code yet
        self.deletes = []
        self.objs = []
        self.takes = []		# (file, name)
        self.stubs = []		# (file, name, text)


class Series:
    def __init__(self, top, spec):
        self.top = top
        self.patches = []
        self.drops = []		# (file, name)
        self.cover_subject = None
        self.cover = []
        self.unassigned = []
        self.parse(spec)
        self.load()

    def parse(self, spec):
        p = None
        block = None
        with open(spec) as f:
            lines = f.read().split('\n')
        i = 0
        while i < len(lines):
            l = lines[i]
            i += 1
            if block is not None:
                if l == '.':
                    block = None
                    continue
                block.append(l)
                continue
            if not l.strip() or l.startswith('#'):
                continue
            word, _, rest = l.partition(' ')
            rest = rest.strip()
            if word == 'cover':
                self.cover_subject = rest
                block = self.cover
            elif word == 'patch':
                p = Patch(len(self.patches) + 1, rest)
                self.patches.append(p)
            elif p is None and word == 'drop':
                f_, n = rest.split()
                self.drops.append((our_path(f_), n))
            elif p is None:
                fail('%s outside a patch' % word)
            elif word == 'subject':
                p.subject = rest
            elif word == 'body':
                block = p.body
            elif word == 'file':
                p.files += [our_path(x) for x in rest.split()]
            elif word == 'skeleton':
                p.files += [our_path(x) for x in rest.split()]
                p.skeletons += [our_path(x) for x in rest.split()]
            elif word == 'delete':
                p.deletes += rest.split()
            elif word == 'obj':
                p.objs += rest.split()
            elif word == 'take':
                f_, names = rest.split(None, 1)
                p.takes += [(our_path(f_), n) for n in names.split()]
            elif word == 'stub':
                f_, n = rest.split()
                text = []
                p.stubs.append((our_path(f_), n, text))
                block = text
            else:
                fail('unknown line: ' + l)

    def load(self):
        self.chunks = {}	# file -> [Chunk]
        self.intro = {}		# file -> patch number
        for p in self.patches:
            for f in p.files:
                if f in self.intro:
                    fail('%s brought twice' % f)
                self.intro[f] = p.number
                with open(os.path.join(self.top, f)) as fh:
                    self.chunks[f] = paragraphs(f, fh.read())
        ours = set()
        for d in ('arch', 'include'):
            for root, _, files in os.walk(os.path.join(self.top, d)):
                for n in files:
                    ours.add(os.path.relpath(os.path.join(root, n), self.top))
        missing = ours - set(self.intro)
        if missing:
            fail('files no patch brings: ' + ' '.join(sorted(missing)))
        # the step of each paragraph
        self.step = {}
        byname = {}
        self.never = 10**6
        skeletons = set(f for p in self.patches for f in p.skeletons)
        for f, cs in self.chunks.items():
            for c in cs:
                held = f in skeletons and c.kind == 'code'
                self.step[(f, c.index)] = self.never if held else self.intro[f]
                for n in c.defs + c.decls + [c.name]:
                    byname.setdefault((f, n), c)
        self.byname = byname
        # The more specific "take" wins: a name over a pattern, a pattern
        # over "*"; between two as specific, the later patch's.
        rank = {}
        for p in self.patches:
            for f, pat in p.takes:
                if f not in self.chunks:
                    fail('patch %d takes from %s, which no patch brings' % (p.number, f))
                if self.intro[f] > p.number:
                    fail('patch %d takes %s:%s before its file' % (p.number, f, pat))
                hit = [c for c in self.chunks[f]
                       if c.kind == 'code' and
                       any(fnmatch.fnmatchcase(n, pat) for n in c.defs + c.decls + [c.name])]
                if not hit:
                    fail('patch %d takes %s:%s, which is not there' % (p.number, f, pat))
                r = 0 if pat == '*' else 1 if any(x in pat for x in '*?[') else 2
                for c in hit:
                    if r >= rank.get((f, c.index), -1):
                        rank[(f, c.index)] = r
                        self.step[(f, c.index)] = p.number
        for f, cs in self.chunks.items():
            for c in cs:
                if self.step[(f, c.index)] == self.never and \
                   (c.defs or not c.decls) and (f, c.index) not in set():
                    self.unassigned.append('%s:%s' % (f, c.name))
        self.dropped = set()
        for f, n in self.drops:
            c = byname.get((f, n))
            if c is None:
                fail('drop %s:%s: not there' % (f, n))
            self.dropped.add((f, c.index))
        # where each name is defined for real, and since when
        self.defined_at = {}
        for f, cs in self.chunks.items():
            if f == 'include/nvmx/types.h':
                continue	# the kernel's own type names, for host builds
            for c in cs:
                for n in c.defs:
                    s = self.step[(f, c.index)]
                    if n not in self.defined_at or s < self.defined_at[n]:
                        self.defined_at[n] = s

    def stubs_at(self, k):
        """Stubs in force at step K: from their patch until the real one."""
        out = {}
        for p in self.patches:
            if p.number > k:
                break
            for f, n, text in p.stubs:
                if self.defined_at.get(n, 10**6) > k:
                    out[n] = (f, text)
                else:
                    out.pop(n, None)
        return out

    def pieces(self, k):
        """The text of each file at step K as a list of (lines, defines,
        uses): its paragraphs of that step, with the stubs in force at the
        place of the paragraph they stand for."""
        stubs = self.stubs_at(k)
        defined = set(n for n, s in self.defined_at.items() if s <= k)
        defined |= set(stubs)
        present_files = set(g for g in self.intro if self.intro[g] <= k)
        out = {}
        for f, cs in self.chunks.items():
            if self.intro[f] > k:
                continue
            keep = []
            for c in cs:
                if (f, c.index) in self.dropped:
                    continue
                if c.kind == 'code' and not c.defs and c.decls:
                    if any(n in defined for n in c.decls):
                        keep.append(c)
                    continue
                if self.step[(f, c.index)] <= k:
                    keep.append(c)
                    continue
                stub = [n for n in c.defs if n in stubs and stubs[n][0] == f]
                if stub:
                    keep.append((stub[0], stubs[stub[0]][1]))
            res = []
            for i, c in enumerate(keep):
                if isinstance(c, tuple):
                    text = c[1]
                    refs = set()
                    for sl in text:
                        refs |= set(IDENT.findall(strip_code(sl, {'comment': False})))
                    res.append((text, [c[0]], refs - {c[0]}))
                    continue
                # a comment paragraph goes with the paragraph after it
                if c.kind == 'comment' and c.index != 0:
                    nxt = keep[i + 1] if i + 1 < len(keep) else None
                    if not isinstance(nxt, Chunk) or nxt.index != c.index + 1:
                        if not (isinstance(nxt, tuple) and
                                cs[c.index + 1].defs and nxt[0] in cs[c.index + 1].defs):
                            continue
                lines = c.lines
                if c.kind == 'include':
                    def ours_absent(l):
                        m = re.match(r'#include <(nvmx/[^>]+)>', l)
                        return m and 'include/' + m.group(1) not in present_files
                    lines = [l for l in lines if not ours_absent(l)]
                    if not lines:
                        continue
                res.append((lines, c.defs, c.refs))
            # stubs whose paragraph is in no file of this step's: at the end,
            # before a header's closing #endif
            placed = set(n for c in keep if isinstance(c, tuple) for n in [c[0]])
            here = set(n for c in cs for n in c.defs)
            tail = []
            for n, (sf, text) in sorted(stubs.items()):
                if sf == f and n not in placed and n not in here:
                    refs = set()
                    for sl in text:
                        refs |= set(IDENT.findall(strip_code(sl, {'comment': False})))
                    tail.append((text, [n], refs - {n}))
            if tail and f.endswith('.h') and res and res[-1][0][0].startswith('#endif'):
                res[-1:-1] = tail
            else:
                res += tail
            out[f] = res
        return out, stubs

    def text(self, pieces):
        return '\n\n'.join('\n'.join(lines) for lines, _, _ in pieces) + '\n'

    def check(self):
        bad = 0
        for u in self.unassigned:
            if u.split(':')[1] in [n for f, n in self.drops]:
                continue
            print('%s: no patch takes it' % u)
            bad += 1
        last = len(self.patches)
        for n in sorted(self.stubs_at(last)):
            print('%s: still a stub after the last patch' % n)
            bad += 1
        all_defs = set(self.defined_at)
        for p in self.patches:
            k = p.number
            files, stubs = self.pieces(k)
            have = set(stubs)
            for f, ps in files.items():
                for _, defs, _ in ps:
                    have |= set(defs)
            for f, ps in files.items():
                if f.endswith('.c'):
                    bad += self.unused_statics(p, f, ps)
                for lines, defs, refs in ps:
                    for r in sorted(refs & all_defs - have):
                        print('patch %d (%s): %s:%s uses %s, which comes in patch %d'
                              % (k, p.slug, f, defs[0] if defs else '?', r,
                                 self.defined_at[r]))
                        bad += 1
        return bad

    def unused_statics(self, p, f, ps):
        """-Wunused-function: a static function of F (not inline) that no
        other paragraph of F uses at this step."""
        bad = 0
        for i, (lines, defs, refs) in enumerate(ps):
            code = [strip_code(l, {'comment': False}) for l in lines
                    if not l.startswith((' *', '/*', '//'))]
            head = ' '.join(code).split('(')[0]
            if not re.match(r'\s*(__init\s+|static\s+)*static\b', head) or \
               'inline' in head or '=' in head or not defs:
                continue
            used = any(defs[0] in r for j, (_, _, r) in enumerate(ps) if j != i)
            if not used:
                print('patch %d (%s): %s:%s is static and unused at this step'
                      % (p.number, p.slug, f, defs[0]))
                bad += 1
        return bad

    def emit(self, k, out):
        files, _ = self.pieces(k)
        kpaths = []
        for f in sorted(files):
            kp = kernel_path(f)
            text = rewrite_includes(kp, self.text(files[f]))
            dst = os.path.join(out, kp)
            os.makedirs(os.path.dirname(dst), exist_ok=True)
            with open(dst, 'w') as fh:
                fh.write(text)
            kpaths.append(kp)
        with open(os.path.join(out, '.files'), 'w') as fh:
            fh.write(''.join(p + '\n' for p in kpaths))
        deleted = []
        objs = []
        for p in self.patches:
            if p.number <= k:
                deleted += p.deletes
                objs += p.objs
        with open(os.path.join(out, '.deleted'), 'w') as fh:
            fh.write(''.join(p + '\n' for p in deleted))
        with open(os.path.join(out, '.objs'), 'w') as fh:
            fh.write(' '.join(objs) + '\n')


def main(argv):
    if len(argv) < 3:
        fail('usage: see the header of ' + argv[0])
    cmd, top = argv[1], argv[2]
    if cmd == 'chunks':
        with open(os.path.join(top, argv[3])) as fh:
            for c in paragraphs(argv[3], fh.read()):
                print('%3d %-7s %-40s lines %d defs=%s decls=%s' %
                      (c.index, c.kind, c.name, len(c.lines),
                       ','.join(c.defs), ','.join(c.decls)))
        return 0
    s = Series(top, argv[3])
    if cmd == 'check':
        bad = s.check()
        print('series: %d patches, %d problems' % (len(s.patches), bad))
        return 1 if bad else 0
    if cmd == 'list':
        for p in s.patches:
            print(p.number, p.slug)
        return 0
    if cmd == 'emit':
        s.emit(int(argv[4]), argv[5])
        return 0
    if cmd == 'message':
        p = s.patches[int(argv[4]) - 1]
        print(p.subject)
        print()
        print('\n'.join(p.body).strip('\n'))
        return 0
    if cmd == 'cover':
        print(s.cover_subject)
        print()
        print('\n'.join(s.cover).strip('\n'))
        return 0
    fail('unknown command ' + cmd)


if __name__ == '__main__':
    sys.exit(main(sys.argv))
