import { mkdirSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { pino, type Logger } from 'pino';
import type { Config } from './config/schema.js';
import { resolveIn } from './config/load.js';
import { Hooks } from './hooks.js';
import { Router } from './router/router.js';
import { IqHandlers } from './router/iq.js';
import { LocalSessionDirectory } from './router/local-directory.js';
import type { SessionDirectory } from './router/directory.js';
import type { C2SSession } from './c2s/session.js';
import { openStorage, type Storage } from './storage/index.js';
import type { Element } from './xmpp/xml/element.js';
import { JID, nameprep } from './xmpp/jid.js';
import { loadTls, type TlsMaterial } from './transports/tls-material.js';
import { CommandRegistry } from './admin/registry.js';
import { AccountService } from './modules/accounts/service.js';
import { setupDelivery } from './router/delivery.js';
import { RosterService } from './modules/roster/service.js';
import { PresenceService } from './modules/presence/service.js';
import { OfflineService } from './modules/offline/service.js';
import { DiscoService } from './modules/disco/service.js';
import { setupBasicIq } from './modules/ping/index.js';
import { setupCarbons } from './modules/carbons/index.js';
import { setupRegister } from './modules/register/index.js';
import { registerCoreCommands } from './admin/commands.js';
import { AuthLimiter } from './c2s/auth-limiter.js';
import { Listeners, type BoundAddresses, type ListenerStats } from './transports/listeners.js';
import { ensureAdminAccount } from './admin/bootstrap.js';
import { prepareAdmins } from './admin/auth.js';

export interface ServerOptions {
  config: Config;
  /** Directory relative paths of the config (dataDir) are resolved against. */
  baseDir?: string;
  logger?: Logger;
  /** Print the generated admin password on first start (the CLI does; tests don't). */
  announceAdmin?: (jid: string, password: string, file: string) => void;
}

export { VERSION } from './version.js';

/** One Parley node: storage, router, features and listeners, wired together. */
export class Server {
  readonly config: Config;
  readonly dataDir: string;
  readonly log: Logger;
  readonly hooks = new Hooks();
  readonly sessions: SessionDirectory;
  readonly router: Router;
  readonly iq: IqHandlers;
  readonly commands = new CommandRegistry();
  readonly nodeName: string;
  readonly authLimiter: AuthLimiter;
  /** Sessions that enabled XEP-0198 resumption, by stream-management id. */
  readonly resumable = new Map<string, C2SSession>();
  storage!: Storage;
  tls!: TlsMaterial;
  accounts!: AccountService;
  roster!: RosterService;
  presence!: PresenceService;
  offline!: OfflineService;
  disco!: DiscoService;
  startedAt = 0;
  addresses: BoundAddresses = {};
  private listeners?: Listeners;
  /** Open sockets and connections per address of the listeners (for tests and diagnostics). */
  get listenerStats(): ListenerStats | undefined {
    return this.listeners?.stats();
  }
  private readonly hostSet: Set<string>;
  private readonly options: ServerOptions;

  constructor(options: ServerOptions) {
    this.options = options;
    this.config = options.config;
    this.dataDir = resolveIn(options.baseDir ?? process.cwd(), this.config.dataDir);
    this.log = options.logger ?? pino({ level: this.config.logLevel });
    this.hostSet = new Set(this.config.hosts.map((h) => nameprep(h)));
    this.nodeName = `parley@${this.config.hosts[0]}`;
    this.sessions = new LocalSessionDirectory(this.nodeName);
    this.router = new Router({ isLocalHost: (d) => this.hostSet.has(d) });
    this.iq = new IqHandlers(this.router, (el, from, to) => this.router.route(el, from, to));
    this.authLimiter = new AuthLimiter(this.config.limits.authFailuresPerMinute);
    this.admins(); // a bad `admins` entry stops the start, naming it
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
    return (this.adminSet ??= prepareAdmins(this.config.admins ?? [`admin@${this.config.hosts[0]}`]));
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
    this.storage = await openStorage(this.config, this.dataDir);
    this.tls = await loadTls(this.config, this.dataDir, this.hosts[0]!);
    this.accounts = new AccountService(this);
    setupDelivery(this);
    this.roster = new RosterService(this);
    this.presence = new PresenceService(this);
    this.offline = new OfflineService(this);
    this.disco = new DiscoService(this);
    setupBasicIq(this);
    setupCarbons(this);
    setupRegister(this);
    registerCoreCommands(this);
    await ensureAdminAccount(this, this.options.announceAdmin);
    this.startedAt = Date.now();
    this.listeners = new Listeners(this);
    this.addresses = await this.listeners.start();
    this.log.info({ addresses: this.addresses, hosts: this.hosts, dataDir: this.dataDir }, 'parley started');
  }

  async stop(): Promise<void> {
    // Clients learn why the connection ends before the listeners drop the sockets.
    for (const s of [...this.sessions.all()]) this.sessions.close(s, 'system-shutdown');
    await new Promise((r) => setImmediate(r));
    if (this.listeners) await this.listeners.stop();
    if (this.storage) await this.storage.close();
  }

  uptimeSeconds(): number {
    return Math.floor((Date.now() - this.startedAt) / 1000);
  }

  randomId(bytes = 8): string {
    return randomBytes(bytes).toString('hex');
  }
}
