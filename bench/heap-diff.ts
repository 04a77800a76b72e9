/**
 * Compares two V8 heap snapshots (`.heapsnapshot`, as written by `npm run soak -- --heap-snapshots`) and prints
 * the kinds of object whose count or size grew most between them.
 *
 *   node dist/bench/heap-diff.js BEFORE.heapsnapshot AFTER.heapsnapshot [--top N]
 *
 * Objects are grouped by V8 node type and constructor name; strings and code are grouped by type alone (their
 * "name" is their content), with the most repeated new string contents listed apart.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] }; node_count: number };
  nodes: number[];
  strings: string[];
}

interface Group {
  count: number;
  bytes: number;
}

const BY_TYPE_ONLY = new Set(['string', 'concatenated string', 'sliced string', 'code', 'number', 'hidden', 'array']);

function load(file: string): { groups: Map<string, Group>; strings: Map<string, number>; total: Group } {
  const s = JSON.parse(readFileSync(file, 'utf8')) as Snapshot;
  const fields = s.snapshot.meta.node_fields;
  const types = s.snapshot.meta.node_types[0];
  const width = fields.length;
  const iType = fields.indexOf('type');
  const iName = fields.indexOf('name');
  const iSize = fields.indexOf('self_size');
  const groups = new Map<string, Group>();
  const strings = new Map<string, number>();
  const total = { count: 0, bytes: 0 };
  for (let i = 0; i < s.nodes.length; i += width) {
    const type = types[s.nodes[i + iType]] ?? '?';
    const name = s.strings[s.nodes[i + iName]] ?? '?';
    const size = s.nodes[i + iSize];
    const key = BY_TYPE_ONLY.has(type) ? `(${type})` : `${type} ${name.length > 80 ? name.slice(0, 80) + '…' : name}`;
    const g = groups.get(key) ?? { count: 0, bytes: 0 };
    g.count++;
    g.bytes += size;
    groups.set(key, g);
    total.count++;
    total.bytes += size;
    if (type === 'string') {
      const k = name.length > 60 ? name.slice(0, 60) + '…' : name;
      strings.set(k, (strings.get(k) ?? 0) + 1);
    }
  }
  return { groups, strings, total };
}

function main(): void {
  const { values, positionals } = parseArgs({ options: { top: { type: 'string', default: '25' } }, allowPositionals: true });
  if (positionals.length !== 2) {
    process.stderr.write('usage: node dist/bench/heap-diff.js BEFORE.heapsnapshot AFTER.heapsnapshot [--top N]\n');
    process.exit(2);
  }
  const top = Number(values.top);
  const a = load(positionals[0]);
  const b = load(positionals[1]);
  const out = (s = '') => process.stdout.write(s + '\n');
  out(`before: ${a.total.count} objects, ${(a.total.bytes / 1048576).toFixed(2)} MB`);
  out(`after:  ${b.total.count} objects, ${(b.total.bytes / 1048576).toFixed(2)} MB`);
  out(`delta:  ${b.total.count - a.total.count} objects, ${((b.total.bytes - a.total.bytes) / 1048576).toFixed(2)} MB`);
  const keys = new Set([...a.groups.keys(), ...b.groups.keys()]);
  const rows = [...keys].map((k) => {
    const x = a.groups.get(k) ?? { count: 0, bytes: 0 };
    const y = b.groups.get(k) ?? { count: 0, bytes: 0 };
    return { k, dc: y.count - x.count, db: y.bytes - x.bytes, count: y.count };
  });
  out('\ngrowth by bytes:');
  for (const r of rows.sort((p, q) => q.db - p.db).slice(0, top)) out(`  ${String(r.db).padStart(10)} B ${String(r.dc).padStart(8)} obj  ${r.k}`);
  out('\ngrowth by count:');
  for (const r of rows.sort((p, q) => q.dc - p.dc).slice(0, top)) out(`  ${String(r.dc).padStart(8)} obj ${String(r.db).padStart(10)} B  ${r.k}`);
  const strRows = [...b.strings].map(([k, n]) => ({ k, d: n - (a.strings.get(k) ?? 0) })).filter((r) => r.d > 0);
  out('\nstrings that grew most in number:');
  for (const r of strRows.sort((p, q) => q.d - p.d).slice(0, top)) out(`  ${String(r.d).padStart(8)}  ${JSON.stringify(r.k)}`);
}

main();
