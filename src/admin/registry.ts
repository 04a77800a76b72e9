/**
 * The command registry: every admin command, declared once as data by the module that owns it,
 * typed from its declaration. Dialect-neutral: no surface's wording lives here. The ejabberd API
 * (`admin/ejabberd/`), `parley ctl` (`admin/ctl/`) and the documentation read these declarations;
 * each renders results and maps domain errors its own way.
 */

/** Argument types, as in ejabberd's command records (which our registry mirrors). */
export type ArgType = 'string' | 'integer' | { readonly list: ArgSpec } | { readonly tuple: readonly ArgSpec[] };

export interface ArgSpec<N extends string = string, T extends ArgType = ArgType> {
  readonly name: N;
  readonly type: T;
  readonly desc?: string;
  readonly example?: unknown;
}

/** The value an argument of a type holds once bound. */
export type ArgValue<T> = T extends 'string'
  ? string
  : T extends 'integer'
    ? number
    : T extends { readonly list: infer E extends ArgSpec }
      ? ArgValue<E['type']>[]
      : T extends { readonly tuple: infer F extends readonly ArgSpec[] }
        ? ArgsOf<F>
        : never;

/** The arguments object a command receives, inferred from its declared specs. */
export type ArgsOf<A extends readonly ArgSpec[]> = { [S in A[number] as S['name']]: ArgValue<S['type']> };

/**
 * Result types. `rescode` is success or failure (the command returns a boolean), `restuple` an
 * outcome a dialect shows as a message (the command returns a domain value, typed by `outcome<V>()`,
 * or a string; failure is a thrown DomainError), scalars a named value, lists and tuples their
 * elements. How each is shown is the surface's business (ejabberd's texts: `ejabberd/wording.ts`).
 */
export type ResultSpec =
  | { readonly name: string; readonly type: 'rescode' }
  | { readonly name: string; readonly type: 'restuple'; /** Type only: the domain value. */ readonly __value?: unknown }
  | { readonly name: string; readonly type: 'string' | 'integer' }
  | {
      readonly name: string;
      readonly type: 'list';
      readonly of: ResultSpec;
      /** A list of two-field tuples that ejabberd shows as one object, first field to second (modules_installed, H4). */
      readonly keyed?: boolean;
    }
  | { readonly name: string; readonly type: 'tuple'; readonly fields: readonly ResultSpec[] };

/** The value a command returns for a result spec. */
export type ResultValue<R> = R extends { readonly type: 'rescode' }
  ? boolean
  : R extends { readonly type: 'restuple'; readonly __value?: infer V }
    ? unknown extends V
      ? string
      : V
    : R extends { readonly type: 'string' }
    ? string
    : R extends { readonly type: 'integer' }
      ? number
      : R extends { readonly type: 'list'; readonly of: infer O }
        ? ResultValue<O>[]
        : R extends { readonly type: 'tuple'; readonly fields: infer F extends readonly ResultSpec[] }
          ? { [S in F[number] as S['name']]: ResultValue<S> }
          : never;

/** Who is calling, from where: permission checks and caller-scoped commands use it. */
export interface Caller {
  surface: 'http' | 'ctl' | 'xmlrpc';
  /** Authenticated account (bare JID), when there is one. */
  jid?: string;
  admin: boolean;
  ip?: string;
  /**
   * An OAuth bearer caller's scopes: only what they allow may run (`ejabberd:admin`: anything the
   * rules allow the account; `ejabberd:user`: the account's own user-policy commands; a command name:
   * that command). Undefined for callers with a password or on the console.
   */
  scopes?: readonly string[];
  /** Where a long command reports progress as it goes (`parley ctl` prints it on stderr); absent elsewhere. */
  progress?: (message: string) => void;
  /**
   * The surface the audit log names for the call (default: `api`, `xmlrpc` or `ctl` from `surface`);
   * null: the caller records the action itself (a dialect that runs several commands for one request).
   */
  auditAs?: import('./audit.js').AuditSurface | null;
}

/** Bound arguments of a command whose declaration is not known statically (surfaces, permissions). */
export type Args = { readonly [name: string]: unknown };

export interface CommandDef<A extends readonly ArgSpec[] = readonly ArgSpec[], R extends ResultSpec = ResultSpec, C = never> {
  readonly name: string;
  readonly tags: readonly string[];
  readonly desc: string;
  readonly longdesc?: string;
  /** Arguments in positional order (the order `parley ctl` and XML-RPC use). */
  readonly args: A;
  readonly result: R;
  /** Example result value as the command returns it (before any surface renders it), for docs. */
  readonly resultExample?: ResultValue<R>;
  readonly resultDesc?: string;
  /** `admin`: admins only; `user`: any authenticated user, for himself; `open`: anyone allowed by api permissions. */
  readonly policy: 'admin' | 'user' | 'open';
  /**
   * The two arguments (user, host) that name the account the command acts on. A `user` policy
   * command declares them: an account may run it only when they name itself.
   */
  readonly account?: readonly [A[number]['name'], A[number]['name']];
  /** Command only makes sense from the server's own machine (like ejabberdctl-only commands). */
  readonly ctlOnly?: boolean;
  /**
   * Runs the command with its typed arguments and the context of the module that owns it.
   * Returns a domain value in the shape of `result`; fails by throwing a DomainError.
   */
  exec(args: ArgsOf<A>, ctx: C): ResultValue<R> | Promise<ResultValue<R>>;
}

/** A declared command with its types erased, as the registry and the surfaces hold it. */
export type AnyCommand = CommandDef<readonly ArgSpec[], ResultSpec, any>;

export class CommandRegistry {
  private commands = new Map<string, { def: AnyCommand; context: (caller: Caller) => unknown }>();

  /** Adds a command; `context` gives what its `exec` receives (the owning module's context and the caller). */
  add(def: AnyCommand, context: (caller: Caller) => unknown): void {
    if (this.commands.has(def.name)) throw new Error(`command ${def.name} declared twice`);
    if (def.policy === 'user' && !def.account) throw new Error(`command ${def.name} has the user policy but does not say which arguments name the account`);
    this.commands.set(def.name, { def, context });
  }

  get(name: string): AnyCommand | undefined {
    return this.commands.get(name)?.def;
  }

  list(): AnyCommand[] {
    return [...this.commands.values()].map((c) => c.def).sort((a, b) => a.name.localeCompare(b.name));
  }

  /** Runs a registered command with arguments bound to its declaration. */
  async run(def: AnyCommand, args: Args, caller: Caller): Promise<unknown> {
    const entry = this.commands.get(def.name);
    if (!entry || entry.def !== def) throw new Error(`command ${def.name} is not registered`);
    return def.exec(args as never, entry.context(caller));
  }
}

/** ejabberd's api_permissions `what` matching: names, '*', '[tag:x]', and '!name' exclusions. */
export function matchesWhat(def: AnyCommand, what: string[]): boolean {
  let included = false;
  for (const w of what) {
    if (w.startsWith('!')) {
      if (matchOne(def, w.slice(1))) return false;
    } else if (matchOne(def, w)) included = true;
  }
  return included;
}

function matchOne(def: AnyCommand, w: string): boolean {
  if (w === '*') return true;
  const tag = /^\[tag:(.+)\]$/.exec(w);
  if (tag) return def.tags.includes(tag[1]!);
  return w === def.name;
}
