import { randomBytes } from 'node:crypto';
import type { ModuleContext } from '../module.js';
import { DomainError } from '../../errors.js';
import { nodeprep } from '../../xmpp/jid.js';
import { bareOf, type AccountRef } from '../../xmpp/account.js';
import type { ChangeAction, HostingQueueStore, PendingChange } from './store.js';
import type { StoredCredentials } from '../accounts/index.js';

/** The error codes of the hosting API (seed 004), each a failure the panel can act on. */
export type HostingErrorCode =
  | 'no_username'
  | 'no_domain'
  | 'no_password'
  | 'invalid_username'
  | 'invalid_domain'
  | 'invalid_password'
  | 'user_exists'
  | 'user_does_not_exist'
  | 'user_already_active'
  | 'user_already_inactive'
  | 'change_already_pending'
  | 'slow_down_bucko';

export class HostingError extends Error {
  constructor(
    readonly code: HostingErrorCode,
    /** Extra words after the code (what limit was reached). */
    readonly detail?: string,
  ) {
    super(code);
    this.name = 'HostingError';
  }
}

export type UserStatus = 'active' | 'inactive' | 'pending-active' | 'pending-inactive' | 'pending-delete';

export interface HostedUser {
  username: string;
  domain: string;
  /** The cleartext password where it is stored (auth.passwordFormat: plain), else undefined. */
  password: string | undefined;
  status: UserStatus;
}

/** The status a queued change gives its account until it is applied. */
const PENDING_STATUS: Record<ChangeAction, UserStatus> = {
  add: 'pending-active',
  reactivate: 'pending-active',
  deactivate: 'pending-inactive',
  remove: 'pending-delete',
};

/** Longest username (bytes, RFC 7622's localpart) and password (characters) a change may carry. */
const MAX_USERNAME_BYTES = 1023;
const MAX_PASSWORD_CHARS = 1024;

/** A token is this many of these (like the seed's `gcnaBcD12eFgH34iJkL`). */
const TOKEN_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const TOKEN_LENGTH = 19;

/** A node that claimed a token this long ago without finishing it is taken to be dead. */
const STALE_CLAIM_MS = 10 * 60_000;

function newToken(): string {
  let out = '';
  while (out.length < TOKEN_LENGTH) {
    for (const b of randomBytes(32)) {
      // 248 = 4 × 62: the bytes above it are dropped so that every character is as likely.
      if (b < 248 && out.length < TOKEN_LENGTH) out += TOKEN_CHARS[b % 62];
    }
  }
  return out;
}

/**
 * The hosting API's state and operations: account changes asked for by a hosting panel wait in a
 * durable queue under service tokens and are applied, a token's changes together, once the token
 * is due (`hosting.applyDelay` after its first change). Changes go through the accounts service
 * like any other surface's; this module keeps only the queue.
 */
export class HostingService {
  private timer: NodeJS.Timeout | undefined;
  /** The tick applying due tokens, if one runs (a stop waits for it). */
  private running: Promise<void> | undefined;
  private stopped = false;

  constructor(private readonly ctx: ModuleContext<'accounts', HostingQueueStore>) {
    const cfg = ctx.config.hosting;
    if (!cfg.enabled) return;
    // Tokens this node held when it stopped: it applies none of them now, so they are due again
    // (application is idempotent: a change half-applied before the stop completes, once).
    const ready = ctx.store.release(ctx.nodeName).catch((err: unknown) => ctx.log.error({ err }, 'hosting: releasing claimed tokens failed'));
    const period = Math.min(1000, Math.max(50, (cfg.applyDelay * 1000) / 4));
    void ready.then(() => {
      if (this.stopped) return;
      this.timer = setInterval(() => this.tick(), period);
      this.timer.unref();
      this.tick();
    });
    ctx.hooks.on('node-stopping', async () => {
      this.stopped = true;
      clearInterval(this.timer);
      await ready;
      await this.running;
    });
  }

  private get accounts() {
    return this.ctx.services.accounts;
  }

  /** The served hosts among these names (prepared), in the given order, once each. */
  validDomains(domains: readonly string[] | undefined): string[] {
    const out = new Set<string>();
    for (const d of domains ?? this.ctx.hosts) {
      const h = this.ctx.prepareHost(d);
      if (h !== undefined) out.add(h);
    }
    return [...out];
  }

  /** Every account of these hosts and every queued one, with its status; passwords only where stored in cleartext. */
  async listUsers(hosts: readonly string[], withPasswords: boolean): Promise<HostedUser[]> {
    const max = this.ctx.config.hosting.maxListedUsers;
    const pending = new Map<string, PendingChange>();
    for (const c of await this.ctx.store.pending(hosts)) pending.set(`${c.user}@${c.host}`, c);
    const rows: HostedUser[] = [];
    const tooMany = () => new HostingError('slow_down_bucko', `more than ${max} users (hosting.maxListedUsers)`);
    for (const host of hosts) {
      if ((await this.accounts.count(host)) + rows.length > max) throw tooMany();
      for (const user of await this.accounts.list(host)) {
        const p: AccountRef = { user, host };
        const change = pending.get(bareOf(p));
        pending.delete(bareOf(p));
        const disabled = (await this.accounts.disabledMark(p)) !== undefined;
        const status = change && change.action !== 'add' ? PENDING_STATUS[change.action] : disabled ? 'inactive' : 'active';
        const password = withPasswords ? (await this.accounts.storedCredentials(p))?.plain : undefined;
        rows.push({ username: user, domain: host, password, status });
      }
    }
    // Accounts still to be created.
    for (const c of pending.values()) {
      if (c.action === 'add') rows.push({ username: c.user, domain: c.host, password: withPasswords ? c.credentials?.plain : undefined, status: 'pending-active' });
    }
    if (rows.length > max) throw tooMany();
    return rows;
  }

  /**
   * Queues a change asked for by key `keyName`, allowed on `hosts`; returns its service token.
   * Errors are checked in the seed's order: presence, form, then the account's state.
   */
  async queue(keyName: string, hosts: readonly string[], action: ChangeAction, args: { username?: string; domain?: string; password?: string }): Promise<string> {
    const { username, domain, password } = args;
    if (username === undefined || username === '') throw new HostingError('no_username');
    if (domain === undefined || domain === '') throw new HostingError('no_domain');
    if (action === 'add' && (password === undefined || password === '')) throw new HostingError('no_password');
    let user: string | undefined;
    try {
      user = nodeprep(username);
    } catch {
      user = undefined;
    }
    if (user === '' || (user !== undefined && Buffer.byteLength(user) > MAX_USERNAME_BYTES)) user = undefined;
    if (action === 'add' && user === undefined) throw new HostingError('invalid_username');
    const host = this.ctx.prepareHost(domain);
    if (host === undefined || !hosts.includes(host)) throw new HostingError('invalid_domain');
    // A name that cannot be an account names none.
    if (user === undefined) throw new HostingError('user_does_not_exist');
    const p: AccountRef = { user, host };

    let credentials;
    if (action === 'add') {
      // Tabs and line ends would break the tab-separated listing; SASLprep refuses the rest.
      if (password!.length > MAX_PASSWORD_CHARS || /[\u0000-\u001f\u007f]/.test(password!)) throw new HostingError('invalid_password');
      if (await this.accounts.exists(p)) throw new HostingError('user_exists');
      try {
        credentials = await this.accounts.credentials(password!);
      } catch (err) {
        if (err instanceof DomainError && err.kind === 'bad-argument') throw new HostingError('invalid_password');
        throw err;
      }
    } else {
      if (await this.ctx.store.pendingFor(host, user)) throw new HostingError('change_already_pending');
      if (!(await this.accounts.exists(p))) throw new HostingError('user_does_not_exist');
      const disabled = (await this.accounts.disabledMark(p)) !== undefined;
      if (action === 'reactivate' && !disabled) throw new HostingError('user_already_active');
      if (action === 'deactivate' && disabled) throw new HostingError('user_already_inactive');
    }

    const cfg = this.ctx.config.hosting;
    const now = Date.now();
    const outcome = await this.ctx.store.enqueue(
      { keyName, host, user, action, ...(credentials ? { credentials } : {}) },
      { now, maxPendingPerKey: cfg.maxPendingPerKey, maxChangesPerToken: cfg.maxChangesPerToken, newToken },
    );
    if (!outcome.ok) {
      if (outcome.reason === 'key-full') throw new HostingError('slow_down_bucko', `${cfg.maxPendingPerKey} changes are waiting already (hosting.maxPendingPerKey)`);
      throw new HostingError(action === 'add' ? 'user_exists' : 'change_already_pending');
    }
    this.ctx.log.info({ key: keyName, account: bareOf(p), action, token: outcome.token }, 'hosting change queued');
    return outcome.token;
  }

  /** Applies the due tokens now (tests and the timer); resolves when they are applied. */
  applyDue(): Promise<void> {
    this.tick();
    return this.running ?? Promise.resolve();
  }

  private tick(): void {
    if (this.running || this.stopped) return;
    this.running = this.applyDueTokens()
      .catch((err: unknown) => this.ctx.log.error({ err }, 'hosting: applying due changes failed'))
      .finally(() => {
        this.running = undefined;
      });
  }

  private async applyDueTokens(): Promise<void> {
    const now = Date.now();
    const staleBefore = now - STALE_CLAIM_MS;
    for (const token of await this.ctx.store.due(now - this.ctx.config.hosting.applyDelay * 1000, now, staleBefore)) {
      if (this.stopped) return;
      if (!(await this.ctx.store.claim(token, this.ctx.nodeName, Date.now(), staleBefore))) continue;
      try {
        for (const change of await this.ctx.store.changes(token)) {
          await this.apply(change);
          await this.ctx.store.done(change);
        }
        this.ctx.log.info({ token }, 'hosting token applied');
      } catch (err) {
        this.ctx.log.error({ err, token }, 'hosting: a change failed; its token is retried');
        await this.ctx.store.retry(token, Date.now() + Math.max(1000, this.ctx.config.hosting.applyDelay * 1000));
      }
    }
  }

  /**
   * One change, idempotently: a change applied before a crash but not yet marked done is applied
   * again after the restart, and must then change nothing (the account is there, or gone, or
   * disabled already).
   */
  private async apply(c: PendingChange): Promise<void> {
    const p: AccountRef = { user: c.user, host: c.host };
    const gone = (err: unknown) => {
      if (err instanceof DomainError && err.kind === 'not-found') {
        this.ctx.log.warn({ account: bareOf(p), action: c.action }, 'hosting change: the account is gone');
        return;
      }
      throw err;
    };
    switch (c.action) {
      case 'add':
        if (!c.credentials || !(await this.accounts.createImported(p, c.credentials as StoredCredentials, c.createdAt))) {
          this.ctx.log.warn({ account: bareOf(p) }, 'hosting change: the account exists already');
        }
        return;
      case 'remove':
        return this.accounts.unregister(p).catch(gone);
      case 'deactivate':
        return this.accounts.disable(p, 'Account deactivated').catch(gone);
      case 'reactivate':
        return this.accounts.enable(p).catch(gone);
    }
  }
}
