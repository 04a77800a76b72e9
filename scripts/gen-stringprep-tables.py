#!/usr/bin/env python3
"""Generate src/xmpp/stringprep-tables.ts from the text of RFC 3454.

Usage:
    python3 scripts/gen-stringprep-tables.py path/to/rfc3454.txt [out.ts]

The input may be the full RFC text (page headers/footers inside tables are
skipped) or any extract that keeps the "----- Start Table X -----" /
"----- End Table X -----" blocks.  The output defaults to
src/xmpp/stringprep-tables.ts relative to the repository root.

Only the tables used by Nameprep, Nodeprep and Resourceprep are emitted:
A.1, B.1, B.2, C.1.1 ... C.9, D.1, D.2 (B.3 is not used by any of them).
"""

import os
import re
import sys

START_RE = re.compile(r'^\s*-----\s+Start Table\s+([A-D](?:\.\d+)+)\s+-----\s*$')
END_RE = re.compile(r'^\s*-----\s+End Table\s+([A-D](?:\.\d+)+)\s+-----\s*$')
# Range/point tables: "0221", "0234-024F", "0000-001F; [CONTROL CHARACTERS]".
RANGE_RE = re.compile(r'^\s*([0-9A-F]{4,6})(?:-([0-9A-F]{4,6}))?\s*(?:;.*)?$')
# Mapping tables: "00DF; 0073 0073; Case map", "00AD; ; Map to nothing".
MAP_RE = re.compile(r'^\s*([0-9A-F]{4,6});\s*((?:[0-9A-F]{4,6}\s*)*);.*$')

RANGE_TABLES = ['A.1', 'C.1.1', 'C.1.2', 'C.2.1', 'C.2.2', 'C.3', 'C.4', 'C.5',
                'C.6', 'C.7', 'C.8', 'C.9', 'D.1', 'D.2']
WANTED = set(RANGE_TABLES) | {'B.1', 'B.2'}

DESCRIPTIONS = {
    'A.1': 'Unassigned code points in Unicode 3.2',
    'B.1': 'Commonly mapped to nothing',
    'B.2': 'Mapping for case-folding used with NFKC',
    'C.1.1': 'ASCII space characters',
    'C.1.2': 'Non-ASCII space characters',
    'C.2.1': 'ASCII control characters',
    'C.2.2': 'Non-ASCII control characters',
    'C.3': 'Private use',
    'C.4': 'Non-character code points',
    'C.5': 'Surrogate codes',
    'C.6': 'Inappropriate for plain text',
    'C.7': 'Inappropriate for canonical representation',
    'C.8': 'Change display properties or are deprecated',
    'C.9': 'Tagging characters',
    'D.1': 'Characters with bidirectional property "R" or "AL"',
    'D.2': 'Characters with bidirectional property "L"',
}


def read_tables(path):
    """Return {table name: [raw entry lines]} for every table in the file."""
    tables = {}
    current = None
    with open(path, encoding='utf-8', errors='replace') as f:
        for line in f:
            line = line.rstrip('\n').replace('\f', '')
            m = START_RE.match(line)
            if m:
                if current is not None:
                    sys.exit('table %s starts inside table %s' % (m.group(1), current))
                current = m.group(1)
                if current in tables:
                    sys.exit('table %s appears twice' % current)
                tables[current] = []
                continue
            m = END_RE.match(line)
            if m:
                if m.group(1) != current:
                    sys.exit('table %s ends while in %s' % (m.group(1), current))
                current = None
                continue
            if current is not None:
                tables[current].append(line)
    if current is not None:
        sys.exit('table %s is not terminated' % current)
    missing = WANTED - set(tables)
    if missing:
        sys.exit('tables missing from input: %s' % ', '.join(sorted(missing)))
    return tables


def parse_ranges(name, lines):
    ranges = []
    for line in lines:
        m = RANGE_RE.match(line)
        if not m:
            continue  # blank lines, page headers and footers of the RFC
        lo = int(m.group(1), 16)
        hi = int(m.group(2), 16) if m.group(2) else lo
        if hi < lo:
            sys.exit('bad range in %s: %r' % (name, line))
        ranges.append((lo, hi))
    if not ranges:
        sys.exit('table %s is empty' % name)
    ranges.sort()
    merged = []
    for lo, hi in ranges:
        if merged and lo <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], hi))
        else:
            merged.append((lo, hi))
    return merged


def parse_map(name, lines):
    entries = {}
    for line in lines:
        m = MAP_RE.match(line)
        if not m:
            continue
        src = int(m.group(1), 16)
        dst = [int(x, 16) for x in m.group(2).split()]
        if src in entries:
            sys.exit('duplicate entry %04X in %s' % (src, name))
        entries[src] = dst
    if not entries:
        sys.exit('table %s is empty' % name)
    return sorted(entries.items())


def ident(name):
    return name.replace('.', '_')


def hexcp(cp):
    return '0x%04X' % cp


def js_string(cps):
    out = []
    for cp in cps:
        ch = chr(cp)
        if 0x20 <= cp < 0x7F and ch not in "'\\":
            out.append(ch)
        elif cp <= 0xFFFF:
            out.append('\\u%04X' % cp)
        else:
            out.append('\\u{%X}' % cp)
    return "'" + ''.join(out) + "'"


def wrap(items, indent='  ', width=100):
    lines = []
    cur = indent
    for item in items:
        piece = item + ','
        if len(cur) + len(piece) + 1 > width and cur.strip():
            lines.append(cur.rstrip())
            cur = indent
        cur += piece + ' '
    if cur.strip():
        lines.append(cur.rstrip())
    return '\n'.join(lines)


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    src = sys.argv[1]
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out = sys.argv[2] if len(sys.argv) == 3 else os.path.join(root, 'src', 'xmpp', 'stringprep-tables.ts')

    tables = read_tables(src)
    parts = [
        '// GENERATED FILE - DO NOT EDIT.',
        '// Generated by scripts/gen-stringprep-tables.py from the tables of RFC 3454',
        '// (Preparation of Internationalized Strings, "stringprep"), Unicode 3.2.',
        '// Regenerate with: python3 scripts/gen-stringprep-tables.py rfc3454.txt',
        '//',
        '// Range tables are flat arrays of inclusive [start, end] pairs, sorted and',
        '// merged: [start0, end0, start1, end1, ...]. Query them with inRanges().',
        '',
        '/** True when code point `cp` lies in one of the [start, end] pairs of `ranges`. */',
        'export function inRanges(ranges: readonly number[], cp: number): boolean {',
        '  let lo = 0;',
        '  let hi = (ranges.length >> 1) - 1;',
        '  while (lo <= hi) {',
        '    const mid = (lo + hi) >> 1;',
        '    if (cp < ranges[mid * 2]) hi = mid - 1;',
        '    else if (cp > ranges[mid * 2 + 1]) lo = mid + 1;',
        '    else return true;',
        '  }',
        '  return false;',
        '}',
        '',
        '/** Merge several range tables (and optional single code points) into one. */',
        'export function mergeRanges(tables: readonly (readonly number[])[], points: readonly number[] = []): number[] {',
        '  const pairs: [number, number][] = [];',
        '  for (const t of tables) for (let i = 0; i < t.length; i += 2) pairs.push([t[i], t[i + 1]]);',
        '  for (const p of points) pairs.push([p, p]);',
        '  pairs.sort((a, b) => a[0] - b[0]);',
        '  const out: number[] = [];',
        '  for (const [lo, hi] of pairs) {',
        '    const n = out.length;',
        '    if (n > 0 && lo <= out[n - 1] + 1) {',
        '      if (hi > out[n - 1]) out[n - 1] = hi;',
        '    } else {',
        '      out.push(lo, hi);',
        '    }',
        '  }',
        '  return out;',
        '}',
        '',
    ]

    b1 = parse_map('B.1', tables['B.1'])
    for cp, dst in b1:
        if dst:
            sys.exit('B.1 entry %04X maps to something' % cp)
    parts.append('/** B.1 %s (code points, sorted). */' % DESCRIPTIONS['B.1'])
    parts.append('export const B_1: readonly number[] = [')
    parts.append(wrap([hexcp(cp) for cp, _ in b1]))
    parts.append('];')
    parts.append('')

    b2 = parse_map('B.2', tables['B.2'])
    parts.append('/** B.2 %s: [code point, mapped string] entries, ready for `new Map(B_2)`. */' % DESCRIPTIONS['B.2'])
    parts.append('export const B_2: readonly (readonly [number, string])[] = [')
    parts.append(wrap(['[%s, %s]' % (hexcp(cp), js_string(dst)) for cp, dst in b2]))
    parts.append('];')
    parts.append('')

    for name in RANGE_TABLES:
        ranges = parse_ranges(name, tables[name])
        parts.append('/** %s %s. */' % (name, DESCRIPTIONS[name]))
        parts.append('export const %s: readonly number[] = [' % ident(name))
        parts.append(wrap(['%s, %s' % (hexcp(lo), hexcp(hi)) for lo, hi in ranges]))
        parts.append('];')
        parts.append('')

    with open(out, 'w', encoding='utf-8', newline='\n') as f:
        f.write('\n'.join(parts))
    print('wrote %s (B.1: %d, B.2: %d entries)' % (out, len(b1), len(b2)))


if __name__ == '__main__':
    main()
