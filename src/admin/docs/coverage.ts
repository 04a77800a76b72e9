/**
 * Which commands of ejabberd 20.07's API reference the registry implements (`npm run commands:coverage`),
 * computed from the command declarations: nothing is started and nothing is listed by hand.
 */
import type { AnyCommand, ResultSpec } from '../registry.js';
import { argTypeText, resultTypeText } from './describe.js';
import { EJABBERD_001_EXTRA, EJABBERD_COMMANDS, type ReferenceCommand } from './ejabberd-commands.js';

export type CoverageStatus = 'implemented' | 'missing' | 'placeholder';

export interface CoverageLine {
  name: string;
  status: CoverageStatus;
  /** How the declaration differs from the reference (argument names, order, types; result): empty when it matches. */
  differences: string[];
}

export interface Coverage {
  /** One line per command of the reference, in its order. */
  lines: CoverageLine[];
  /** Registered commands the reference does not have (ejabberd's later ones, Parley's own). */
  extra: string[];
}

/**
 * What a command that only pretends to run looks like in its `exec`: a "not implemented" error, a
 * to-do mark, or the reference's own placeholder values (`aaaaa`, `bbbbb`) as an answer.
 */
const PLACEHOLDER = /not[\s_-]*(yet[\s_-]*)?implemented|unimplemented|placeholder|\bTODO\b|\bFIXME\b|\b(aaaaa|bbbbb)\b/i;

/** Whether a declared command is a placeholder rather than an implementation. */
export function isPlaceholder(def: AnyCommand): boolean {
  if (PLACEHOLDER.test(def.exec.toString())) return true;
  return def.resultExample !== undefined && /\b(aaaaa|bbbbb)\b/.test(JSON.stringify(def.resultExample));
}

/** A type as the reference writes it: a list of tuples names no element (`[{a::string}]`). */
const normalType = (t: string) => t.replace(/\w+::(?=\{)/g, '');

function resultKind(spec: ResultSpec): string {
  return spec.type === 'rescode' || spec.type === 'restuple' ? spec.type : resultTypeText(spec);
}

/** Where a declaration's signature departs from the reference's. */
export function differences(def: AnyCommand, ref: ReferenceCommand): string[] {
  const out: string[] = [];
  const args = def.args.map((a) => [a.name, normalType(argTypeText(a.type))] as const);
  const names = (l: readonly (readonly [string, string])[]) => l.map(([n, t]) => `${n} :: ${t}`).join(', ');
  if (names(args) !== names(ref.args.map(([n, t]) => [n, normalType(t)] as const))) {
    out.push(`arguments (${names(args)}), the reference has (${names(ref.args)})`);
  }
  const result = [def.result.name, normalType(resultKind(def.result))];
  if (result[0] !== ref.result[0] || result[1] !== normalType(ref.result[1])) {
    out.push(`result ${result[0]} :: ${result[1]}, the reference has ${ref.result[0]} :: ${ref.result[1]}`);
  }
  return out;
}

/** The registry's commands against the reference's. */
export function coverage(commands: readonly AnyCommand[], reference: readonly ReferenceCommand[] = EJABBERD_COMMANDS): Coverage {
  const byName = new Map(commands.map((c) => [c.name, c]));
  const lines = reference.map((ref): CoverageLine => {
    const def = byName.get(ref.name);
    if (!def) return { name: ref.name, status: 'missing', differences: [] };
    return { name: ref.name, status: isPlaceholder(def) ? 'placeholder' : 'implemented', differences: differences(def, ref) };
  });
  const known = new Set(reference.map((r) => r.name));
  return { lines, extra: commands.map((c) => c.name).filter((n) => !known.has(n)).sort() };
}

/** The listing: one line per reference command, then the totals and the registry's other commands. */
/** Seed 001's commands that seed 000 dropped, each implemented or missing. */
export function olderCoverage(commands: readonly AnyCommand[]): CoverageLine[] {
  const byName = new Map(commands.map((c) => [c.name, c]));
  return EJABBERD_001_EXTRA.map(({ name }) => {
    const def = byName.get(name);
    return { name, status: !def ? 'missing' : isPlaceholder(def) ? 'placeholder' : 'implemented', differences: [] };
  });
}

export function coverageText(c: Coverage, older: readonly CoverageLine[] = []): string {
  const width = Math.max(...c.lines.map((l) => l.name.length));
  const out = c.lines.map((l) => `${l.status.padEnd(12)}${l.name.padEnd(width)}${l.differences.length ? `  (differs: ${l.differences.join('; ')})` : ''}`.trimEnd());
  const count = (s: CoverageStatus) => c.lines.filter((l) => l.status === s).length;
  out.push('');
  out.push(`${c.lines.length} commands in ejabberd 20.07's API reference: ${count('implemented')} implemented, ${count('missing')} missing, ${count('placeholder')} placeholders`);
  const olderNames = new Set(older.map((l) => l.name));
  if (older.length > 0) {
    out.push('', "Commands of ejabberd's older API reference (seed 001) that the 20.07 reference dropped:");
    for (const l of older) out.push(`${l.status.padEnd(12)}${l.name}`);
    const n = (s: CoverageStatus) => older.filter((l) => l.status === s).length;
    out.push('', `${older.length} commands of the older reference: ${n('implemented')} implemented, ${n('missing')} missing, ${n('placeholder')} placeholders`);
  }
  const extra = c.extra.filter((e) => !olderNames.has(e));
  if (extra.length) out.push(`${extra.length} more in the registry: ${extra.join(', ')}`);
  return out.join('\n') + '\n';
}
