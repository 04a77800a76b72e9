import type { Server } from '../server.js';

/** Argument types, as in ejabberd's command records. */
export type ArgType = 'string' | 'integer' | { list: ArgSpec } | { tuple: ArgSpec[] };

export interface ArgSpec {
  name: string;
  type: ArgType;
  desc?: string;
  example?: unknown;
}

/**
 * Result types. `rescode` renders as 0/1, `restuple` as a bare string (or an error status),
 * scalars as `{name: value}`, lists as arrays and tuples as objects.
 */
export type ResultSpec =
  | { name: string; type: 'rescode' }
  | { name: string; type: 'restuple' }
  | { name: string; type: 'string' | 'integer' }
  | { name: string; type: 'list'; of: ResultSpec }
  | { name: string; type: 'tuple'; fields: ResultSpec[] };

/** Who is calling, from where: permission checks and caller-scoped commands use it. */
export interface Caller {
  surface: 'http' | 'ctl' | 'xmlrpc';
  /** Authenticated account (bare JID), when there is one. */
  jid?: string;
  admin: boolean;
  ip?: string;
}

export interface CommandContext {
  server: Server;
  caller: Caller;
}

/** Typed command arguments after coercion: strings and integers keyed by argument name. */
export type Args = Record<string, any>;

export interface CommandDef {
  name: string;
  tags: string[];
  desc: string;
  longdesc?: string;
  /** Arguments in positional order (the order `parley ctl` and XML-RPC use). */
  args: ArgSpec[];
  /** Older argument names still accepted (001 reference): old name → current name. */
  argAliases?: Record<string, string>;
  result: ResultSpec;
  /** Example result value as the command returns it (before rendering), for docs. */
  resultExample?: unknown;
  resultDesc?: string;
  /** `admin`: admins only; `user`: any authenticated user, for himself; `open`: anyone allowed by api permissions. */
  policy: 'admin' | 'user' | 'open';
  /** Command only makes sense from the server's own machine (like ejabberdctl-only commands). */
  ctlOnly?: boolean;
  /**
   * Runs the command. For `rescode` return true/false (or throw); for `restuple` return the text
   * (throw a DomainError to fail); otherwise return the value in the shape of `result`.
   */
  exec(args: Args, ctx: CommandContext): Promise<unknown> | unknown;
}

export class CommandRegistry {
  private commands = new Map<string, CommandDef>();

  add(def: CommandDef): void {
    if (this.commands.has(def.name)) throw new Error(`command ${def.name} declared twice`);
    this.commands.set(def.name, def);
  }

  get(name: string): CommandDef | undefined {
    return this.commands.get(name);
  }

  list(): CommandDef[] {
    return [...this.commands.values()].sort((a, b) => a.name.localeCompare(b.name));
  }
}

/** ejabberd's api_permissions `what` matching: names, '*', '[tag:x]', and '!name' exclusions. */
export function matchesWhat(def: CommandDef, what: string[]): boolean {
  let included = false;
  for (const w of what) {
    if (w.startsWith('!')) {
      if (matchOne(def, w.slice(1))) return false;
    } else if (matchOne(def, w)) included = true;
  }
  return included;
}

function matchOne(def: CommandDef, w: string): boolean {
  if (w === '*') return true;
  const tag = /^\[tag:(.+)\]$/.exec(w);
  if (tag) return def.tags.includes(tag[1]!);
  return w === def.name;
}
