/**
 * The module contract (guide principle 5), after Prosody's `module:` API: a feature declares its
 * name, the modules whose services it uses, its stores, a setup that hooks what it serves and
 * returns its service, and its admin commands as data. It sees the small context below, never
 * the server, and reaches another feature only through that feature's service or a hook.
 *
 * Adding a feature: a folder `src/modules/<name>/` whose `index.ts` declares the module,
 *
 *     declare module '../module.js' { interface ServiceMap { last: LastService } }
 *     export const lastModule = defineModule({
 *       name: 'last',
 *       dependencies: ['accounts'],
 *       stores: ({ storage }) => ...,
 *       setup: (ctx) => new LastService(ctx),   // ctx.iq.register(...), ctx.hooks.on(...)
 *       commands: lastCommands,                 // declared with commandsIn<CommandContext<LastService, 'accounts'>>()
 *     });
 *
 * its store implementations, and one line in the module list (`MODULES` in server.ts). Other
 * modules import only its `index.ts` (test/architecture.test.ts checks it).
 */
import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import type { Hooks } from '../hooks.js';
import type { Router } from '../router/router.js';
import type { IqHandlers } from '../router/iq.js';
import type { SessionDirectory as RouterSessionDirectory } from '../router/directory.js';
import type { Storage } from '../storage/types.js';
import type { Transaction } from '../storage/kinds.js';
import type { Element } from '../xmpp/xml/element.js';
import type { JID } from '../xmpp/jid.js';
import type { AccountRef } from '../xmpp/account.js';
import type { ArgSpec, Caller, CommandDef, ResultSpec } from '../admin/registry.js';
import type { Dialect } from '../http/layer.js';

/**
 * The service each module provides, by module name. A module adds its entry from its `index.ts`:
 * `declare module '../module.js' { interface ServiceMap { roster: RosterService } }`.
 */
export interface ServiceMap {}

export type ServiceName = keyof ServiceMap;

/** The service a module of this name provides: its ServiceMap entry, or none. */
export type ServiceOf<N extends string> = N extends ServiceName ? ServiceMap[N] : void;

/** The session directory modules look sessions up in (the router's). */
export type SessionDirectory = RouterSessionDirectory;

/** What a module's `stores` factory builds its stores from. */
export interface StoreEnv {
  storage: Storage;
  /** The server's data directory (where an embedded backend keeps its files). */
  dataDir: string;
  config: Config;
}

/** What a module sees. */
export interface ModuleContext<D extends ServiceName = never, St = undefined> {
  /** The module's name (also on every line it logs). */
  readonly name: string;
  /** Served hosts, prepared (nameprep). */
  readonly hosts: readonly string[];
  isLocalHost(domain: string): boolean;
  /** The served host a (possibly unprepared) name refers to, or undefined. */
  prepareHost(host: string): string | undefined;
  readonly config: Config;
  /**
   * The server's data directory, absolute (`config.dataDir` resolved against the configuration
   * file's directory): where files that commands read by path must lie.
   */
  readonly dataDir: string;
  readonly log: Logger;
  /** Stanza handlers: `router.on('message/bare', fn, priority)`. */
  readonly router: Router;
  /** IQ handlers by payload namespace: `iq.register({ xmlns, target, get, set })`. */
  readonly iq: IqHandlers;
  readonly hooks: Hooks;
  readonly sessions: SessionDirectory;
  /** The module's own stores, as its `stores` declaration built them. */
  readonly store: St;
  /**
   * Runs `fn` in one storage transaction: what it writes through `tx` is committed together or
   * not at all (writes that span features, like removing an account through `account-removing`).
   */
  transaction<T>(fn: (tx: Transaction) => Promise<T>): Promise<T>;
  /** The services of the modules it declared as dependencies, and only those. */
  readonly services: Pick<ServiceMap, D>;
  /**
   * The service of a module this one works with when it runs but does not need (rooms archive
   * their messages when the archive module runs): looked up at each call, so it does not order
   * set-up; undefined when that module is not running. Call it while serving, not in `setup`.
   */
  optional<N extends ServiceName>(name: N): ServiceMap[N] | undefined;
  /** Routes a stanza from a trusted origin (server code, admin commands). */
  send(stanza: Element, from: JID, to: JID): Promise<void>;
  randomId(bytes?: number): string;
  /** This node's name, as ejabberd reports it (`parley@<first host>`). */
  readonly nodeName: string;
  uptimeSeconds(): number;
  /** Whether the account is one of the configured `admins` (delete_old_users spares them). */
  isAdmin(account: AccountRef): boolean;
  /**
   * The per-address limiter of failed logins (`limits.authFailuresPerMinute`, every way of logging
   * in): `clear` forgets the failures of the addresses matching, and returns how many had some.
   */
  readonly authFailures: { clear(match: (ip: string) => boolean): number };
  /** This node as a whole: stop, restart, its modules, logging and configuration (operations commands). */
  readonly node: NodeControl;
  /** HTTP endpoints of the module (file upload), on the node's HTTP listeners. */
  readonly http: ModuleHttp;
}

/** Where a module serves HTTP: a dialect of its own, beside the admin dialects. */
export interface ModuleHttp {
  /**
   * Serves the dialect on the http and https listeners, and on the public upload listener
   * (`upload.listen`) when there is one. Call it in `setup`: the listeners start after the modules.
   */
  mount(dialect: Dialect): void;
  /** The address a listener is bound to, once the node has started; undefined before, or when it is off. */
  address(listener: 'http' | 'https' | 'upload'): { readonly address: string; readonly port: number } | undefined;
}

/** A module as the operations commands list it. */
export interface ModuleInfo {
  readonly name: string;
  readonly summary: string;
}

/** What reloading the configuration file did. */
export interface ReloadOutcome {
  /** Keys whose new values are in effect (`limits.maxRosterItems`, `logLevel`, ...). */
  readonly applied: readonly string[];
  /** Keys that changed but take effect only at the next start (listeners, storage, hosts, ...). */
  readonly needRestart: readonly string[];
}

/**
 * The node itself, for the operations commands: what ejabberd does to its Erlang node, Parley does
 * to its process and server here. `stop` and `restart` act after the command has answered.
 */
export interface NodeControl {
  /** Stops the node (`parley start` then exits); the caller's answer is written first. */
  stop(): void;
  /** Stops the node and starts it again with its configuration file read again. */
  restart(): void;
  /** The modules this node runs, in set-up order. */
  modules(): readonly ModuleInfo[];
  /** The modules Parley ships (a node may run fewer, as tests do). */
  modulesAvailable(): readonly ModuleInfo[];
  /** The log level in effect (pino's names). */
  logLevel(): string;
  setLogLevel(level: string): void;
  /** Opens the log file again (after an outside rotation); false when logging goes to standard output. */
  reopenLog(): boolean;
  /** Renames the log file with a time stamp and opens a new one; its new name, or undefined without a log file. */
  rotateLog(): Promise<string | undefined>;
  /** Reads the configuration file again and applies what can change while running. */
  reloadConfig(): Promise<ReloadOutcome>;
  /** The configuration file the node was started with, if any. */
  configFile(): string | undefined;
  /** Drops the in-memory caches of every module, or of one. */
  clearCaches(module?: string): Promise<void>;
  /** Every admin command the node serves (the documentation commands). */
  commands(): readonly CommandDef<readonly ArgSpec[], ResultSpec, unknown>[];
}

/**
 * What a module's commands receive: the module's context without its stores (a command goes
 * through the service, like every other caller), its own service, and the caller.
 */
export type CommandContext<S = void, D extends ServiceName = never> = Omit<ModuleContext<D>, 'store'> & {
  readonly service: S;
  readonly caller: Caller;
};

export interface ModuleDeclaration<N extends string = string, D extends ServiceName = never, St = undefined> {
  readonly name: N;
  /** One line on what the module serves (`modules_installed`, `modules_available`). */
  readonly summary: string;
  /** Modules whose services this one uses; they are set up first. */
  readonly dependencies?: readonly D[];
  /** Builds the module's own stores from the storage backend. */
  readonly stores?: (env: StoreEnv) => St;
  /** Registers handlers and hooks; returns the module's service (its ServiceMap entry), if it has one. */
  readonly setup?: (ctx: ModuleContext<D, St>) => ServiceOf<N>;
  /** The module's admin commands, as data: documentation reads them without starting a server. */
  readonly commands?: readonly CommandDef<any, any, CommandContext<ServiceOf<N>, NoInfer<D>>>[];
}

/** A declaration with its types erased, as the module list holds it. */
export type AnyModule = ModuleDeclaration<string, any, any>;

/**
 * Declares a module with its types checked: `setup` sees exactly the declared dependencies and
 * its own stores and returns the module's service; its commands see that service.
 */
export function defineModule<const N extends string, const D extends ServiceName = never, St = undefined>(
  decl: ModuleDeclaration<N, D, St>,
): ModuleDeclaration<N, D, St> {
  return decl;
}

/** The order modules are set up in: each after its dependencies, otherwise in list order. */
export function setupOrder(modules: readonly AnyModule[]): AnyModule[] {
  const byName = new Map<string, AnyModule>();
  for (const m of modules) {
    if (byName.has(m.name)) throw new Error(`module ${m.name} is listed twice`);
    byName.set(m.name, m);
  }
  const order: AnyModule[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (m: AnyModule, path: string[]): void => {
    const s = state.get(m.name);
    if (s === 'done') return;
    if (s === 'visiting') throw new Error(`modules depend on each other in a cycle: ${[...path, m.name].join(' -> ')}`);
    state.set(m.name, 'visiting');
    for (const d of m.dependencies ?? []) {
      const dep = byName.get(d);
      if (!dep) throw new Error(`module ${m.name} depends on ${String(d)}, which is not in the module list`);
      visit(dep, [...path, m.name]);
    }
    state.set(m.name, 'done');
    order.push(m);
  };
  for (const m of modules) visit(m, []);
  return order;
}

/** Every command the modules declare, without starting anything (for documentation). */
export function commandsOf(modules: readonly AnyModule[]): CommandDef<readonly ArgSpec[], ResultSpec, unknown>[] {
  return modules.flatMap((m) => [...(m.commands ?? [])]).sort((a, b) => a.name.localeCompare(b.name));
}
