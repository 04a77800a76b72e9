import { DomainError } from '../errors.js';
import type { Args, ArgSpec, AnyCommand } from './registry.js';

/**
 * Binding request arguments to a command's declaration, for every surface. What is wrong with
 * a request is reported as data (an ArgumentProblem); each dialect words it its own way
 * (ejabberd's wording is in `admin/ejabberd/args.ts`).
 */
export type ArgumentProblem =
  | { kind: 'duplicate'; name: string }
  | { kind: 'missing'; name: string }
  | { kind: 'unknown'; names: string[] }
  /** A value that is not of the declared type (`value` as received). */
  | { kind: 'type'; expected: 'string' | 'integer' | 'list' | 'tuple'; value: unknown }
  /** A string holding a character XML does not allow, under the argument or tuple field name. */
  | { kind: 'xml-char'; name: string; codePoint: number };

export class ArgumentProblemError extends DomainError {
  constructor(readonly problem: ArgumentProblem) {
    super('bad-argument', describe(problem));
  }
}

function describe(p: ArgumentProblem): string {
  switch (p.kind) {
    case 'duplicate': return `argument ${p.name} given twice`;
    case 'missing': return `argument ${p.name} is missing`;
    case 'unknown': return `unknown arguments: ${p.names.join(', ')}`;
    case 'type': return `a value is not of type ${p.expected}`;
    case 'xml-char': return `argument ${p.name} holds a character that XML does not allow`;
  }
}

/** Where argument values come from: JSON keeps types; query strings and the command line carry text. */
export type ArgSource = 'json' | 'text';

/**
 * Anything outside XML 1.0's Char production (#x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] |
 * [#x10000-#x10FFFF]). With the `u` flag a lone surrogate is a code point of its own, so it matches too.
 */
const NOT_XML_CHAR = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;

/**
 * Every string argument ends up in a stanza or in storage, and one character that XML does not
 * allow breaks the recipient's stream or every later read of the stored item: refused here, once.
 */
function checkXmlText(name: string, s: string): string {
  const m = NOT_XML_CHAR.exec(s);
  if (m) throw new ArgumentProblemError({ kind: 'xml-char', name, codePoint: m[0].codePointAt(0)! });
  return s;
}

function coerce(spec: ArgSpec, value: unknown, source: ArgSource, name = spec.name): unknown {
  const t = spec.type;
  if (t === 'string') {
    if (typeof value === 'string') return checkXmlText(name, value);
    // ejabberd takes a list of strings as an iolist and concatenates it.
    if (Array.isArray(value) && value.length > 0 && value.every((s) => typeof s === 'string')) return checkXmlText(name, value.join(''));
    throw new ArgumentProblemError({ kind: 'type', expected: 'string', value });
  }
  if (t === 'integer') {
    if (typeof value === 'number' && Number.isSafeInteger(value)) return value;
    // Text sources have no types: a decimal string is the only way to say an integer there.
    if (source === 'text' && typeof value === 'string' && /^-?\d{1,15}$/.test(value)) return Number(value);
    throw new ArgumentProblemError({ kind: 'type', expected: 'integer', value });
  }
  if ('list' in t) {
    if (!Array.isArray(value)) throw new ArgumentProblemError({ kind: 'type', expected: 'list', value });
    // A list element is reported under the list's name (its element spec's name is internal).
    return value.map((v) => coerce(t.list, v, source, name));
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ArgumentProblemError({ kind: 'type', expected: 'tuple', value });
  }
  const obj = value as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const f of t.tuple) out[f.name] = coerce(f, obj[f.name] ?? '', source);
  return out;
}

const isList = (a: ArgSpec) => typeof a.type === 'object' && 'list' in a.type;

/**
 * Binds named arguments to the declaration, checking in this order: duplicates, missing
 * (declared order), types (declared order), then unknown names. A list argument may be left out
 * (it is then empty). Throws ArgumentProblemError.
 */
export function bindArgs(def: Pick<AnyCommand, 'args'>, entries: readonly (readonly [string, unknown])[], source: ArgSource): Args {
  const seen = new Map<string, unknown>();
  const unknown: string[] = [];
  const known = new Set(def.args.map((a) => a.name));
  for (const [key, value] of entries) {
    if (!known.has(key)) {
      unknown.push(key);
      continue;
    }
    if (seen.has(key)) throw new ArgumentProblemError({ kind: 'duplicate', name: key });
    seen.set(key, value);
  }
  for (const a of def.args) {
    if (!seen.has(a.name) && !isList(a)) throw new ArgumentProblemError({ kind: 'missing', name: a.name });
  }
  const args: Record<string, unknown> = {};
  for (const a of def.args) args[a.name] = seen.has(a.name) ? coerce(a, seen.get(a.name), source) : [];
  if (unknown.length) throw new ArgumentProblemError({ kind: 'unknown', names: unknown });
  return args;
}
