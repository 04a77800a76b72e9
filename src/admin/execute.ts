import { BlockList, isIP } from 'node:net';
import type { Server } from '../server.js';
import type { PermissionRule } from '../config/schema.js';
import { DomainError } from '../errors.js';
import { tryParseJID } from '../xmpp/jid.js';
import { matchesWhat, type ArgSpec, type Args, type Caller, type CommandDef } from './registry.js';

/** A request whose arguments do not fit the command; the message is ejabberd's wording. */
export class ArgumentError extends Error {}

/** Where argument values come from: JSON keeps types; query strings and the command line carry text. */
export type ArgSource = 'json' | 'text';

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
  if (m) {
    const cp = m[0].codePointAt(0)!;
    throw new ArgumentError(`Arg ${name} holds a character that XML does not allow (U+${cp.toString(16).toUpperCase().padStart(4, '0')})`);
  }
  return s;
}

function coerce(spec: ArgSpec, value: unknown, source: ArgSource, name = spec.name): unknown {
  const t = spec.type;
  if (t === 'string') {
    if (typeof value === 'string') return checkXmlText(name, value);
    // ejabberd takes a list of strings as an iolist and concatenates it.
    if (Array.isArray(value) && value.length > 0 && value.every((s) => typeof s === 'string')) return checkXmlText(name, value.join(''));
    throw new ArgumentError(`Arg ${erlangTerm(value)} is not in format binary`);
  }
  if (t === 'integer') {
    if (typeof value === 'number' && Number.isSafeInteger(value)) return value;
    // Text sources have no types: a decimal string is the only way to say an integer there.
    if (source === 'text' && typeof value === 'string' && /^-?\d{1,15}$/.test(value)) return Number(value);
    throw new ArgumentError(`Arg ${erlangTerm(value)} is not in format integer`);
  }
  if ('list' in t) {
    if (!Array.isArray(value)) throw new ArgumentError(`Arg ${erlangTerm(value)} is not in format list`);
    // A list element is reported under the list's name (its element spec's name is internal).
    return value.map((v) => coerce(t.list, v, source, name));
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ArgumentError(`Arg ${erlangTerm(value)} is not in format tuple`);
  }
  const obj = value as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const f of t.tuple) out[f.name] = coerce(f, obj[f.name] ?? '', source);
  return out;
}

const isList = (a: ArgSpec) => typeof a.type === 'object' && 'list' in a.type;

/**
 * Binds named arguments, checking in ejabberd's order: duplicates, missing (declared order),
 * types (declared order), then unknown names. Legacy names are accepted as aliases.
 */
export function bindNamedArgs(def: CommandDef, entries: [string, unknown][], source: ArgSource): Args {
  const seen = new Map<string, unknown>();
  const unknown: string[] = [];
  const known = new Set(def.args.map((a) => a.name));
  for (const [rawKey, value] of entries) {
    const key = def.argAliases?.[rawKey] && !known.has(rawKey) ? def.argAliases[rawKey]! : rawKey;
    if (!known.has(key)) {
      unknown.push(rawKey);
      continue;
    }
    if (seen.has(key)) throw new ArgumentError(`Request have duplicate argument: ${key}`);
    seen.set(key, value);
  }
  for (const a of def.args) {
    if (!seen.has(a.name) && !isList(a)) throw new ArgumentError(`Request have missing argument: ${a.name}`);
  }
  const args: Args = {};
  for (const a of def.args) args[a.name] = seen.has(a.name) ? coerce(a, seen.get(a.name), source) : [];
  if (unknown.length) throw new ArgumentError(`Request have unknown arguments: [${unknown.join(',')}]`);
  return args;
}

/** Binds positional arguments (command line); the caller has checked the count. */
export function bindPositionalArgs(def: CommandDef, values: string[]): Args {
  return bindNamedArgs(def, def.args.map((a, i) => [a.name, values[i]]), 'text');
}

/** ejabberd's usual three rules, used when `apiPermissions` is not configured. */
const DEFAULT_RULES: Record<string, PermissionRule> = {
  'console commands': { from: ['ctl'], who: 'all', what: ['*'] },
  'admin access': { from: ['http', 'xmlrpc'], who: 'admin', what: ['*', '!stop', '!start'] },
  'public commands': { from: ['http'], who: { ip: ['127.0.0.1/8', '::1/128'] }, what: ['status', 'connected_users_number'] },
};

/** The rules in force: configured `apiPermissions`, or ejabberd's usual three. */
export function permissionRules(server: Server): Record<string, PermissionRule> {
  return server.config.apiPermissions ?? DEFAULT_RULES;
}

/** Address lists of the rules, built once per list (the configuration does not change while running). */
const blockLists = new WeakMap<string[], BlockList>();

function blockListOf(cidrs: string[]): BlockList {
  let list = blockLists.get(cidrs);
  if (list) return list;
  list = new BlockList();
  for (const c of cidrs) {
    const [addr, bits] = c.split('/');
    const version = isIP(addr ?? '');
    if (!version) continue;
    const family = version === 6 ? 'ipv6' : 'ipv4';
    if (bits === undefined) list.addAddress(addr!, family);
    else list.addSubnet(addr!, Number(bits), family);
  }
  blockLists.set(cidrs, list);
  return list;
}

function ipMatches(ip: string | undefined, cidrs: string[]): boolean {
  const version = ip ? isIP(ip) : 0;
  return version !== 0 && blockListOf(cidrs).check(ip!, version === 6 ? 'ipv6' : 'ipv4');
}

/** `who: {user: [...]}` lists as prepared bare JIDs (callers' JIDs are prepared), built once per list. */
const userSets = new WeakMap<string[], Set<string>>();

function userSetOf(users: string[]): Set<string> {
  let set = userSets.get(users);
  if (set) return set;
  // An entry that is not a JID matches nobody, as before.
  set = new Set(users.map((u) => tryParseJID(u)?.bare ?? u));
  userSets.set(users, set);
  return set;
}

function whoMatches(rule: PermissionRule, caller: Caller): boolean {
  const who = rule.who;
  if (who === 'all') return true;
  if (who === 'admin') return caller.admin;
  if (who.user && caller.jid && userSetOf(who.user).has(caller.jid)) return true;
  if (who.ip && ipMatches(caller.ip, who.ip)) return true;
  return false;
}

/**
 * Whether the caller may run the command. Beyond the rules, a command with policy `user`
 * may be run by any authenticated account on itself (ejabberd's user policy).
 */
export function isAllowed(server: Server, def: CommandDef, caller: Caller, args: Args): boolean {
  for (const rule of Object.values(permissionRules(server))) {
    if (rule.from && !rule.from.includes(caller.surface)) continue;
    if (whoMatches(rule, caller) && matchesWhat(def, rule.what)) return true;
  }
  if (def.policy === 'user' && caller.jid) {
    const host = args.host ?? args.server;
    if (typeof args.user !== 'string' || typeof host !== 'string') return false;
    const p = server.accounts.tryPrepare(args.user, host);
    return p !== undefined && `${p.user}@${p.host}` === caller.jid;
  }
  return false;
}

export type Outcome = { ok: true; value: unknown } | { ok: false; error: DomainError } | { ok: false; error: 'internal' };

/** Runs a command; domain errors are results, anything else is logged and reported as internal. */
export async function runCommand(server: Server, def: CommandDef, args: Args, caller: Caller): Promise<Outcome> {
  try {
    const value = await def.exec(args, { server, caller });
    return { ok: true, value };
  } catch (err) {
    if (err instanceof DomainError) return { ok: false, error: err };
    server.log.error({ err, command: def.name }, 'admin command failed');
    return { ok: false, error: 'internal' };
  }
}

/** Rescode results: true/ok/0 are success. */
export function rescodeOk(value: unknown): boolean {
  return value === true || value === 0 || value === 'ok' || value === undefined;
}
