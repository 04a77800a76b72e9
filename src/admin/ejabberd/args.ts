import { ArgumentProblemError, bindArgs, type ArgSource, type ArgumentProblem } from '../args.js';
import type { AnyCommand, Args } from '../registry.js';

/** A request whose arguments do not fit the command; the message is ejabberd's wording. */
export class ArgumentError extends Error {}

/** Erlang term notation, as ejabberd prints a rejected value ("Arg <<49>> is not in format integer"). */
export function erlangTerm(v: unknown): string {
  if (typeof v === 'string') {
    const bytes = [...Buffer.from(v, 'utf8')];
    return `<<${bytes.join(',')}>>`;
  }
  if (v === null) return 'null';
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return `[${v.map(erlangTerm).join(',')}]`;
  if (typeof v === 'object') {
    return `{[${Object.entries(v as Record<string, unknown>).map(([k, x]) => `{${erlangTerm(k)},${erlangTerm(x)}}`).join(',')}]}`;
  }
  return String(v);
}

/** ejabberd's words for an argument problem (its format names: a string is a `binary`). */
export function ejabberdWording(p: ArgumentProblem): string {
  switch (p.kind) {
    case 'duplicate': return `Request have duplicate argument: ${p.name}`;
    case 'missing': return `Request have missing argument: ${p.name}`;
    case 'unknown': return `Request have unknown arguments: [${p.names.join(',')}]`;
    case 'type': return `Arg ${erlangTerm(p.value)} is not in format ${p.expected === 'string' ? 'binary' : p.expected}`;
    case 'xml-char': return `Arg ${p.name} holds a character that XML does not allow (U+${p.codePoint.toString(16).toUpperCase().padStart(4, '0')})`;
  }
}

/**
 * Argument names of the older ejabberd reference (001) that scripts still send: command → old
 * name → current name. An old name is only taken when the command has no argument of that name.
 */
const ARG_ALIASES: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  add_rosteritem: { localserver: 'localhost', server: 'host' },
  delete_rosteritem: { localserver: 'localhost', server: 'host' },
  get_roster: { host: 'server' },
  get_offline_count: { host: 'server' },
  get_presence: { server: 'host' },
  srg_create: { label: 'name' }, // ejabberd 21.07 renamed it
};

/** The entries with the older argument names of ARG_ALIASES replaced by the current ones (ejabberd's rename_old_args). */
export function renameOldArgs<V>(def: Pick<AnyCommand, 'name' | 'args'>, entries: [string, V][]): [string, V][] {
  const aliases = ARG_ALIASES[def.name];
  if (!aliases) return entries;
  const known = new Set(def.args.map((a) => a.name));
  return entries.map(([k, v]) => [Object.hasOwn(aliases, k) && !known.has(k) ? aliases[k]! : k, v]);
}

/** Binds named arguments as ejabberd does, accepting the older names; throws ArgumentError in ejabberd's words. */
export function bindNamedArgs(def: Pick<AnyCommand, 'name' | 'args'>, entries: [string, unknown][], source: ArgSource): Args {
  entries = renameOldArgs(def, entries);
  try {
    return bindArgs(def, entries, source);
  } catch (err) {
    if (err instanceof ArgumentProblemError) throw new ArgumentError(ejabberdWording(err.problem));
    throw err;
  }
}

/**
 * Binds positional arguments (command line); the caller has checked the count. A list of strings or
 * integers is one word of comma-separated elements, trimmed, empty ones dropped (ejabberd_ctl's
 * `string:tokens(Arg, ",")`): `set_vcard2_multi user host ORG ORGUNIT 'Sales,Marketing'`. A tuple,
 * or a list of tuples, is one word of JSON, as ejabberd 23.01's ctl reads them:
 * `create_room_with_opts room1 conference.localhost localhost '[{"name":"members_only","value":"true"}]'`.
 */
export function bindPositionalArgs(def: Pick<AnyCommand, 'name' | 'args'>, values: string[]): Args {
  const word = (a: AnyCommand['args'][number], v: string | undefined): unknown => {
    const t = a.type;
    if (v === undefined || typeof t !== 'object') return v;
    if ('tuple' in t || typeof t.list.type === 'object') {
      try {
        return JSON.parse(v) as unknown;
      } catch {
        return v; // reported as a value of the wrong type
      }
    }
    return v.split(',').map((e) => e.trim()).filter((e) => e !== '');
  };
  return bindNamedArgs(def, def.args.map((a, i) => [a.name, word(a, values[i])]), 'text');
}
