import { mkdirSync } from 'node:fs';
import { rename } from 'node:fs/promises';
import { dirname } from 'node:path';
import { randomBytes } from 'node:crypto';
import { pino, type Logger } from 'pino';
import type { Config } from './config/schema.js';
import { loadConfigFile, resolveIn } from './config/load.js';
import { applyReload, planReload } from './config/reload.js';
import { Hooks } from './hooks.js';
import { Router } from './router/router.js';
import { IqHandlers } from './router/iq.js';
import { LocalSessionDirectory } from './router/local-directory.js';
import type { SessionDirectory } from './router/directory.js';
import type { C2SSession } from './c2s/session.js';
import { openStorage, type Storage } from './storage/index.js';
import type { Element } from './xmpp/xml/element.js';
import { JID, nameprep } from './xmpp/jid.js';
import { bareOf } from './xmpp/account.js';
import { loadTls, type TlsMaterial } from './transports/tls-material.js';
import { CommandRegistry } from './admin/registry.js';
import { setupDelivery } from './router/delivery.js';
import { setupOrder, type AnyModule, type ModuleContext, type ModuleInfo, type NodeControl, type ServiceMap, type ServiceName, type StoreEnv } from './modules/module.js';
import { accountsModule, type AccountService } from './modules/accounts/index.js';
import { rosterModule } from './modules/roster/index.js';
import { presenceModule } from './modules/presence/index.js';
import { offlineModule, type OfflineService } from './modules/offline/index.js';
import { discoModule } from './modules/disco/index.js';
import { pingModule } from './modules/ping/index.js';
import { carbonsModule } from './modules/carbons/index.js';
import { registerModule } from './modules/register/index.js';
import { sessionsModule } from './modules/sessions/index.js';
import { statsModule } from './modules/stats/index.js';
import { privacyModule } from './modules/privacy/index.js';
import { vcardModule } from './modules/vcard/index.js';
import { s2sModule } from './modules/s2s/index.js';
import { lastModule } from './modules/last/index.js';
import { sharedRosterModule } from './modules/sharedroster/index.js';
import { privateModule } from './modules/private/index.js';
import { pepModule } from './modules/pep/index.js';
import { operationsModule } from './modules/operations/index.js';
import { oauthModule, type OAuthService } from './modules/oauth/index.js';
import { portabilityModule } from './modules/portability/index.js';
import { compatModule } from './modules/compat/index.js';
import { docsModule } from './modules/docs/index.js';
import { backupModule } from './modules/backup/index.js';
import { mamModule } from './modules/mam/index.js';
import { mucModule } from './modules/muc/index.js';
import { pushModule } from './modules/push/index.js';
import { uploadModule } from './modules/upload/index.js';
import { hostingModule, type HostingService } from './modules/hosting/index.js';
import { AuthLimiter } from './c2s/auth-limiter.js';
import { Listeners, type BoundAddresses, type ListenerStats } from './transports/listeners.js';
import { ensureAdminAccount } from './admin/bootstrap.js';
import { prepareAdmins } from './admin/auth.js';
import type { Dialect } from './http/layer.js';
import { AuditRecorder, auditFilePath } from './admin/audit-log.js';

/** The features of the server. Adding one is its folder, its stores, and a line here. */
export const MODULES: readonly AnyModule[] = [
  accountsModule,
  rosterModule,
  presenceModule,
  offlineModule,
  discoModule,
  pingModule,
  carbonsModule,
  registerModule,
  sessionsModule,
  statsModule,
  privacyModule,
  vcardModule,
  s2sModule,
  lastModule,
  sharedRosterModule,
  privateModule,
  operationsModule,
  oauthModule,
  portabilityModule,
  compatModule,
  docsModule,
  backupModule,
  mamModule,
  mucModule,
  pushModule,
  uploadModule,
  hostingModule,
  pepModule,
];

export interface ServerOptions {
  config: Config;
  /** Directory relative paths of the config (dataDir) are resolved against. */
  baseDir?: string;
  logger?: Logger;
  /** Print the generated admin password on first start (the CLI does; tests don't). */
  announceAdmin?: (jid: string, password: string, file: string) => void;
  /** Modules to run besides MODULES (set up after them, unless they are dependencies of them). */
  modules?: readonly AnyModule[];
  /** The configuration file the config came from: `reload_config` reads it again. */
  configFile?: string;
  /**
   * What `stop` and `restart` do to the process (`parley start`: exit; build a new server from the
   * file). Without it, `stop` stops this server and `restart` is refused.
   */
  control?: { stop(): void; restart?(): void };
}

/** A log destination that can be opened again (pino's SonicBoom). */
interface ReopenableDestination {
  reopen(file?: string): void;
  flushSync?(): void;
}

export { VERSION } from './version.js';

/** The configured admin accounts, prepared (default: admin@<first host>); a bad entry is a ConfigError. */
function adminsOf(config: Config): Set<string> {
  return prepareAdmins(config.admins ?? [`admin@${config.hosts[0]}`]);
}

/** One Parley node: storage, router, features and listeners, wired together. */
export class Server {
  readonly config: Config;
  readonly dataDir: string;
  readonly log: Logger;
  readonly hooks = new Hooks((err, hook) => this.log.error({ err, hook }, 'hook handler failed'));
  readonly sessions: SessionDirectory;
  readonly router: Router;
  readonly iq: IqHandlers;
  readonly commands = new CommandRegistry();
  readonly nodeName: string;
  readonly authLimiter: AuthLimiter;
  /** Sessions that enabled XEP-0198 resumption, by stream-management id. */
  readonly resumable = new Map<string, C2SSession>();
  storage!: Storage;
  /** The admin audit log (AdminHost.audit), open from start() on. */
  audit!: AuditRecorder;
  tls!: TlsMaterial;
  /** The HTTP dialects modules mount (ModuleContext.http), served by the listeners. */
  readonly moduleDialects: Dialect[] = [];
  /** The services of the running modules, by module name. */
  private readonly services = new Map<string, unknown>();
  startedAt = 0;
  addresses: BoundAddresses = {};
  private listeners?: Listeners;
  /** Open sockets and connections per address of the listeners (for tests and diagnostics). */
  get listenerStats(): ListenerStats | undefined {
    return this.listeners?.stats();
  }
  private readonly hostSet: Set<string>;
  private readonly options: ServerOptions;
  /** The log file's stream, when `logFile` is set and no logger was given. */
  private readonly logDestination?: ReopenableDestination;
  private readonly logFilePath?: string;
  /** The loggers made for modules: a level change reaches them too (pino children keep their own). */
  private readonly moduleLogs: Logger[] = [];
  private readonly running: ModuleInfo[] = [];
  private stopping?: Promise<void>;

  constructor(options: ServerOptions) {
    this.options = options;
    this.config = options.config;
    this.dataDir = resolveIn(options.baseDir ?? process.cwd(), this.config.dataDir);
    if (options.logger) {
      this.log = options.logger;
    } else if (this.config.logFile !== undefined) {
      this.logFilePath = resolveIn(this.dataDir, this.config.logFile);
      mkdirSync(dirname(this.logFilePath), { recursive: true, mode: 0o750 });
      const dest = pino.destination({ dest: this.logFilePath, sync: false });
      this.logDestination = dest;
      this.log = pino({ level: this.config.logLevel }, dest);
    } else {
      this.log = pino({ level: this.config.logLevel });
    }
    this.hostSet = new Set(this.config.hosts.map((h) => nameprep(h)));
    this.nodeName = `parley@${this.config.hosts[0]}`;
    this.sessions = new LocalSessionDirectory(this.nodeName);
    this.router = new Router({ isLocalHost: (d) => this.hostSet.has(d) });
    this.iq = new IqHandlers(this.router, (el, from, to) => this.router.route(el, from, to));
    this.authLimiter = new AuthLimiter(this.config.limits.authFailuresPerMinute);
    this.admins(); // a bad `admins` entry stops the start, naming it
  }

  /** The service of a running module. */
  service<N extends ServiceName>(name: N): ServiceMap[N] {
    const service = this.services.get(name);
    if (service === undefined) throw new Error(`module ${name} is not running`);
    return service as ServiceMap[N];
  }

  /** The service of a module when it runs (admin dialects adapting feature services). */
  optionalService<N extends ServiceName>(name: N): ServiceMap[N] | undefined {
    return this.services.get(name) as ServiceMap[N] | undefined;
  }

  /** Accounts, for the streams' SASL and the admin surfaces' authentication. */
  get accounts(): AccountService {
    return this.service('accounts');
  }

  /** OAuth tokens, when the module runs (bearer credentials of the admin API, /oauth). */
  get oauth(): OAuthService | undefined {
    return this.services.get('oauth') as OAuthService | undefined;
  }

  /** The hosting API's queue (the jabber-* dialect's service). */
  get hosting(): HostingService | undefined {
    return this.services.get('hosting') as HostingService | undefined;
  }

  get offline(): OfflineService {
    return this.service('offline');
  }

  get hosts(): string[] {
    return [...this.hostSet];
  }

  isLocalHost(domain: string): boolean {
    return this.hostSet.has(domain);
  }

  /** The served host a (possibly unprepared) name refers to, or undefined. */
  prepareHost(host: string): string | undefined {
    if (this.hostSet.has(host)) return host;
    try {
      const h = nameprep(host);
      return this.hostSet.has(h) ? h : undefined;
    } catch {
      return undefined;
    }
  }

  /** Admin accounts as bare, prepared JIDs (prepared once; an invalid entry is a ConfigError). */
  admins(): Set<string> {
    return (this.adminSet ??= adminsOf(this.config));
  }
  private adminSet: Set<string> | undefined;

  /** Routes a stanza from a trusted origin (server code, admin commands). */
  send(stanza: Element, from: JID, to: JID): Promise<void> {
    stanza.attrs.from = from.toString();
    stanza.attrs.to = to.toString();
    return this.router.route(stanza, from, to);
  }

  async start(): Promise<void> {
    mkdirSync(this.dataDir, { recursive: true, mode: 0o750 });
    // A file outside dataDir stops the start before anything is opened.
    const auditFile = this.config.audit.file === undefined ? undefined : auditFilePath(this.dataDir, this.config.audit.file);
    this.storage = await openStorage(this.config, this.dataDir);
    this.audit = new AuditRecorder(this.storage.audit, this.config.audit, this.log.child({ module: 'audit' }), auditFile);
    this.tls = await loadTls(this.config, this.dataDir, this.hosts[0]!);
    setupDelivery(this);
    this.setupModules([...MODULES, ...(this.options.modules ?? [])]);
    await ensureAdminAccount(this, this.options.announceAdmin);
    this.startedAt = Date.now();
    this.listeners = new Listeners(this);
    this.addresses = await this.listeners.start();
    this.log.info({ addresses: this.addresses, hosts: this.hosts, dataDir: this.dataDir }, 'parley started');
  }

  /** Sets up each module with its context, in dependency order, and registers its commands. */
  private setupModules(modules: readonly AnyModule[]): void {
    const env: StoreEnv = { storage: this.storage, dataDir: this.dataDir, config: this.config };
    const hosts = Object.freeze(this.hosts);
    for (const m of setupOrder(modules)) {
      const ctx: ModuleContext<ServiceName, unknown> = {
        name: m.name,
        hosts,
        isLocalHost: (domain) => this.isLocalHost(domain),
        prepareHost: (host) => this.prepareHost(host),
        config: this.config,
        dataDir: this.dataDir,
        log: this.moduleLog(m.name),
        router: this.router,
        iq: this.iq,
        hooks: this.hooks,
        sessions: this.sessions,
        store: m.stores?.(env),
        transaction: (fn) => this.storage.transaction(fn),
        services: Object.fromEntries((m.dependencies ?? []).map((d: string) => [d, this.services.get(d)])) as unknown as ServiceMap,
        optional: (name) => this.services.get(name) as never,
        send: (stanza, from, to) => this.send(stanza, from, to),
        randomId: (bytes) => this.randomId(bytes),
        nodeName: this.nodeName,
        uptimeSeconds: () => this.uptimeSeconds(),
        isAdmin: (account) => this.admins().has(bareOf(account)),
        authFailures: this.authLimiter,
        node: this.node,
        http: {
          mount: (dialect) => {
            this.moduleDialects.push(dialect);
          },
          address: (listener) => this.addresses[listener],
        },
      };
      const service: unknown = m.setup?.(ctx);
      this.running.push({ name: m.name, summary: m.summary });
      if (service !== undefined) this.services.set(m.name, service);
      // Commands get the module's context without its stores: they go through the service.
      const { store: _, ...commandContext } = ctx;
      for (const def of m.commands ?? []) this.commands.add(def, (caller) => ({ ...commandContext, service, caller }));
    }
  }

  /** Stops the node; a second call waits for the first. */
  stop(): Promise<void> {
    return (this.stopping ??= (async () => {
      await this.hooks.emit('node-closing-sessions', {});
      // Clients learn why the connection ends before the listeners drop the sockets.
      for (const s of [...this.sessions.all()]) this.sessions.close(s, 'system-shutdown');
      await new Promise((r) => setImmediate(r));
      if (this.listeners) await this.listeners.stop();
      await this.hooks.emit('node-stopping', {});
      // What was recorded until now is written before the database closes.
      if (this.audit) await this.audit.close();
      if (this.storage) await this.storage.close();
      this.logDestination?.flushSync?.();
    })());
  }

  private moduleLog(name: string): Logger {
    const log = this.log.child({ module: name });
    this.moduleLogs.push(log);
    return log;
  }

  /** The node as the operations commands see it. */
  readonly node: NodeControl = {
    stop: () => {
      // After the command's answer is on its way: the caller learns the node is stopping.
      setTimeout(() => {
        if (this.options.control) this.options.control.stop();
        else void this.stop();
      }, 50).unref();
    },
    restart: () => {
      const restart = this.options.control?.restart;
      if (!restart) throw new Error('restart needs a node started by `parley start`');
      setTimeout(() => restart(), 50).unref();
    },
    modules: () => [...this.running],
    modulesAvailable: () => [...MODULES, ...(this.options.modules ?? [])].map((m) => ({ name: m.name, summary: m.summary })),
    logLevel: () => this.log.level,
    setLogLevel: (level) => {
      this.log.level = level;
      for (const l of this.moduleLogs) l.level = level;
    },
    reopenLog: () => {
      if (!this.logDestination) return false;
      this.logDestination.reopen();
      return true;
    },
    rotateLog: async () => {
      if (!this.logDestination || !this.logFilePath) return undefined;
      const stamp = new Date().toISOString().replace(/[:.]/g, '-');
      const rotated = `${this.logFilePath}.${stamp}`;
      this.logDestination.flushSync?.();
      await rename(this.logFilePath, rotated);
      this.logDestination.reopen();
      return rotated;
    },
    reloadConfig: async () => {
      const file = this.options.configFile;
      if (file === undefined) throw new Error('this node was started without a configuration file');
      const next = loadConfigFile(file).config; // a ConfigError names the bad key; nothing is applied
      const { apply, needRestart } = planReload(this.config, next);
      // Checked before anything changes: a bad admin entry leaves the old configuration whole.
      const admins = apply.includes('admins') ? adminsOf(next) : undefined;
      applyReload(this.config, next, apply);
      if (admins) this.adminSet = admins;
      if (apply.includes('logLevel')) this.node.setLogLevel(this.config.logLevel);
      this.log.info({ applied: apply, needRestart }, 'configuration reloaded');
      return { applied: apply, needRestart };
    },
    configFile: () => this.options.configFile,
    clearCaches: (module) => this.hooks.emit('caches-clear', module === undefined ? {} : { module }),
    commands: () => this.commands.list(),
  };

  uptimeSeconds(): number {
    return Math.floor((Date.now() - this.startedAt) / 1000);
  }

  randomId(bytes = 8): string {
    return randomBytes(bytes).toString('hex');
  }
}
