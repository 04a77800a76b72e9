import { BlockList, isIP } from 'node:net';
import type { AdminHost } from './host.js';
import type { PermissionRule } from '../config/schema.js';
import { DomainError } from '../errors.js';
import { parseJID, tryParseJID } from '../xmpp/jid.js';
import { matchesWhat, type AnyCommand, type Args, type Caller, type ResultSpec } from './registry.js';
import { accountOf, bareOf } from '../xmpp/account.js';
import type { AuditSurface } from './audit.js';
import { auditDetails } from './audit-log.js';

/** ejabberd's usual three rules, used when `apiPermissions` is not configured. */
const DEFAULT_RULES: Record<string, PermissionRule> = {
  'console commands': { from: ['ctl'], who: 'all', what: ['*'] },
  'admin access': { from: ['http', 'xmlrpc'], who: 'admin', what: ['*', '!stop', '!start'] },
  'public commands': { from: ['http'], who: { ip: ['127.0.0.1/8', '::1/128'] }, what: ['status', 'connected_users_number'] },
};

/** The rules in force: configured `apiPermissions`, or ejabberd's usual three. */
export function permissionRules(server: AdminHost): Record<string, PermissionRule> {
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
  if (who.oauth && caller.scopes) {
    const wanted = typeof who.oauth.scope === 'string' ? [who.oauth.scope] : who.oauth.scope;
    if (wanted.some((s) => caller.scopes!.includes(s))) return true;
  }
  return false;
}

/**
 * Whether an authenticated account calls `def` with admin rights: a configured admin, and, when it
 * calls with an OAuth token, only if the token holds `ejabberd:admin` or the command's own scope.
 */
export function hasAdminRights(server: AdminHost, jid: string, def: AnyCommand, scopes?: readonly string[]): boolean {
  return server.admins().has(jid) && (!scopes || scopes.includes('ejabberd:admin') || scopes.includes(def.name));
}

/** Whether an OAuth token's scopes cover the command (then the rules decide, as for any caller). */
export function scopeAllows(def: AnyCommand, scopes: readonly string[]): boolean {
  return scopes.includes(def.name) || scopes.includes('ejabberd:admin') || (scopes.includes('ejabberd:user') && def.policy === 'user');
}

/**
 * Whether the caller may run the command. Beyond the rules, a command with policy `user`
 * may be run by any authenticated account on itself (ejabberd's user policy).
 */
export function isAllowed(server: AdminHost, def: AnyCommand, caller: Caller, args: Args): boolean {
  if (caller.scopes && !scopeAllows(def, caller.scopes)) return false;
  for (const rule of Object.values(permissionRules(server))) {
    if (rule.from && !rule.from.includes(caller.surface)) continue;
    if (whoMatches(rule, caller) && matchesWhat(def, rule.what)) return true;
  }
  if (def.policy === 'user' && caller.jid && def.account) {
    const [user, host] = [args[def.account[0]], args[def.account[1]]];
    if (typeof user !== 'string' || typeof host !== 'string') return false;
    // Compared as prepared names (nodeprep, nameprep), as the caller's JID is.
    const p = server.accounts.tryPrepare(user, host);
    return p !== undefined && bareOf(p) === caller.jid;
  }
  return false;
}

export type Outcome = { ok: true; value: unknown } | { ok: false; error: DomainError } | { ok: false; error: 'internal' };

/**
 * Seed 001's argument-less forms of user commands (H8): `get_roster`, `get_offline_count` and
 * `user_resources` called with no arguments by an authenticated account act on that account.
 * Returns the entries to bind: the caller's own account when the call gave none, else as given.
 */
const CALLER_SCOPED = new Set(['get_roster', 'get_offline_count', 'user_resources']);

export function callerScopedEntries<V>(def: AnyCommand, entries: [string, V | string][], caller: Caller): [string, V | string][] {
  if (entries.length > 0 || !caller.jid || !def.account || !CALLER_SCOPED.has(def.name)) return entries;
  const { user, host } = accountOf(parseJID(caller.jid));
  return [
    [def.account[0], user],
    [def.account[1], host],
  ];
}

/**
 * Where a command's value breaks its declared result (a list that is no array, a tuple that is no
 * object, an integer that is no number), or undefined when it conforms. Lenient where every surface
 * renders the value the same anyway (a number for a string, a missing optional string).
 */
export function nonConforming(spec: ResultSpec, value: unknown, path = spec.name): string | undefined {
  switch (spec.type) {
    case 'integer':
      return typeof value === 'number' && Number.isFinite(value) ? undefined : `${path}: ${JSON.stringify(value) ?? 'undefined'} is not an integer`;
    case 'list':
      if (!Array.isArray(value)) return `${path}: not a list`;
      for (const [i, v] of value.entries()) {
        const w = nonConforming(spec.of, v, `${path}[${i}]`);
        if (w) return w;
      }
      return undefined;
    case 'tuple':
      if (value === null || typeof value !== 'object' || Array.isArray(value)) return `${path}: not a tuple`;
      for (const f of spec.fields) {
        const w = nonConforming(f, (value as Record<string, unknown>)[f.name], `${path}.${f.name}`);
        if (w) return w;
      }
      return undefined;
    default:
      return undefined;
  }
}

/** Runs a command; domain errors are results, anything else is logged and reported as internal. */
export async function runCommand(server: AdminHost, def: AnyCommand, args: Args, caller: Caller): Promise<Outcome> {
  const outcome = await execute(server, def, args, caller);
  auditCommand(server, def, args, caller, outcome.ok ? 'ok' : outcome.error === 'internal' ? 'internal' : outcome.error.kind);
  return outcome;
}

async function execute(server: AdminHost, def: AnyCommand, args: Args, caller: Caller): Promise<Outcome> {
  try {
    const value = await server.commands.run(def, args, caller);
    const wrong = nonConforming(def.result, value);
    if (wrong !== undefined) {
      // A command's bug, not the caller's: an internal error rather than a malformed answer.
      server.log.error({ command: def.name, problem: wrong }, 'admin command returned a value its declaration does not allow');
      return { ok: false, error: 'internal' };
    }
    return { ok: true, value };
  } catch (err) {
    if (err instanceof DomainError) return { ok: false, error: err };
    server.log.error({ err, command: def.name }, 'admin command failed');
    return { ok: false, error: 'internal' };
  }
}

const AUDIT_SURFACE: Record<Caller['surface'], AuditSurface> = { http: 'api', xmlrpc: 'xmlrpc', ctl: 'ctl' };

/**
 * Records a command call in the audit log: who (the caller's JID, `ctl` on the console), from
 * where, the command, its arguments with secrets left out, and how it ended (`ok`, the error's
 * kind, `forbidden` when the rules refused it). Used by runCommand and by the surfaces for the
 * calls they refuse before running.
 */
export function auditCommand(server: AdminHost, def: AnyCommand, args: Args | readonly (readonly [string, unknown])[], caller: Caller, result: string): void {
  const surface = caller.auditAs === undefined ? AUDIT_SURFACE[caller.surface] : caller.auditAs;
  if (surface === null) return;
  server.audit.record({
    surface,
    who: caller.jid ?? (caller.surface === 'ctl' ? 'ctl' : 'anonymous'),
    from: caller.ip ?? 'local',
    action: def.name,
    details: auditDetails(args),
    result,
  });
}
