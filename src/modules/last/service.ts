import type { ModuleContext } from '../module.js';
import type { ValueStore } from '../../storage/kinds.js';
import type { RouteContext } from '../../router/router.js';
import type { SessionRecord } from '../../router/session.js';
import { x, type Element } from '../../xmpp/xml/element.js';
import { StanzaError } from '../../xmpp/stanza.js';
import { accountOf, bareOf, type AccountRef } from '../../xmpp/account.js';
import type { JID } from '../../xmpp/jid.js';
import { badArgument } from '../../errors.js';

export const NS_LAST = 'jabber:iq:last';

declare module '../../router/session.js' {
  interface SessionFlags {
    /**
     * The status text of the last unavailable presence the session broadcast (cut to
     * limits.maxLastStatusLength), '' once it is available again: what it leaves with.
     */
    leavingStatus: string;
  }
}

/** What is kept per account: when its last session ended (ms since the epoch) and the status it left with. */
export interface LastActivity {
  at: number;
  status: string;
}

/** The status ejabberd records for an account that was created and never logged in. */
export const REGISTERED_STATUS = "Registered but didn't login";

/** The latest instant XEP-0082 can write with a four-digit year, in seconds since the epoch. */
const MAX_TIMESTAMP = 253_402_300_799;

/**
 * Last activity (XEP-0012). An account's value is written when its last session ends (the time, and
 * the status text of the unavailable presence that session sent last, if any), when it is created
 * (ejabberd's "Registered but didn't login"), and by set_last. It goes away with the account (a kind
 * store). Queries: to the server, its uptime; to an account's bare JID, for a requester the account
 * shares its presence with (subscription from or both, or the account itself), 0 seconds while it has
 * a session, else the seconds since its last session ended; to a full JID, delivered to that client,
 * only for such a requester (XEP-0012 §3, §4: <forbidden/> otherwise).
 */
export class LastService {
  constructor(private readonly ctx: ModuleContext<'accounts' | 'roster' | 'disco', ValueStore<LastActivity>>) {
    ctx.iq.register({
      xmlns: NS_LAST,
      target: 'both',
      get: ({ from, to }) => (to.local === '' ? this.uptime() : this.ofAccount(from, to)),
      set: () => {
        throw new StanzaError('not-allowed', "Value 'set' of 'type' attribute is not allowed");
      },
    });
    ctx.router.on('iq/full', (c) => this.guardFull(c), 50);
    ctx.router.on('presence/out', (c) => this.observePresence(c), 50);
    ctx.hooks.on('session-closed', ({ session }) => this.sessionClosed(session));
    ctx.hooks.on('account-created', (account) => this.store.set(account, { at: Date.now(), status: REGISTERED_STATUS }));
    ctx.services.disco.hostFeatures.add(NS_LAST);
    ctx.services.disco.accountFeatures.add(NS_LAST);
  }

  private get store() {
    return this.ctx.store;
  }

  /** The stored last activity of an account (undefined: none recorded). */
  get(account: AccountRef): Promise<LastActivity | undefined> {
    return this.store.get(account);
  }

  /** Whether the account has a session (ejabberd counts any session as online, available or not). */
  online(account: AccountRef): boolean {
    return this.ctx.sessions.hasSessions(bareOf(account));
  }

  /**
   * What get_last reports: `ONLINE` now while the account has a session, else the stored value, else
   * ejabberd's `NOT FOUND` now. An unknown account is an error.
   */
  async report(account: AccountRef): Promise<{ at: number; status: string }> {
    await this.mustExist(account);
    if (this.online(account)) return { at: Date.now(), status: 'ONLINE' };
    return (await this.store.get(account)) ?? { at: Date.now(), status: 'NOT FOUND' };
  }

  /** set_last: the account's last activity at `seconds` since the epoch, with a status text. */
  async set(account: AccountRef, seconds: number, status: string): Promise<void> {
    if (!Number.isSafeInteger(seconds) || seconds < 0 || seconds > MAX_TIMESTAMP) {
      throw badArgument(`Invalid timestamp: ${seconds} (seconds since 1970-01-01 00:00:00 UTC, at most ${MAX_TIMESTAMP})`);
    }
    const max = this.ctx.config.limits.maxLastStatusLength;
    if ([...status].length > max) throw badArgument(`Status too long: more than ${max} characters (limits.maxLastStatusLength)`);
    await this.mustExist(account);
    await this.store.set(account, { at: seconds * 1000, status });
  }

  /**
   * The accounts of a host with no session whose last activity is at or before `before` (ms since
   * the epoch): those never logged in count from their creation (no value: the account's creation
   * time). Admins (`admins`) are never listed, as with ejabberd's protect_old_users rule.
   */
  async idleAccounts(host: string, before: number): Promise<AccountRef[]> {
    const { accounts } = this.ctx.services;
    const found: AccountRef[] = [];
    for (const user of await accounts.list(host)) {
      const account = accounts.prepare(user, host);
      if (this.ctx.isAdmin(account) || this.online(account)) continue;
      const at = (await this.store.get(account))?.at ?? (await accounts.createdAt(account));
      if (at !== undefined && at <= before) found.push(account);
    }
    return found;
  }

  /**
   * How many accounts of a host were active at or after `since` (ms since the epoch): connected now,
   * or their last activity (their last session's end, or their registration) is since then.
   */
  async activeCount(host: string, since: number): Promise<number> {
    const { accounts } = this.ctx.services;
    let n = 0;
    for (const user of await accounts.list(host)) {
      const account = accounts.prepare(user, host);
      if (this.online(account)) n++;
      else if (((await this.store.get(account))?.at ?? -Infinity) >= since) n++;
    }
    return n;
  }

  private async mustExist(account: AccountRef): Promise<void> {
    await this.ctx.services.accounts.mustExist(account);
  }

  // ---- XMPP ------------------------------------------------------------------------------

  private uptime(): Element {
    return x('query', { xmlns: NS_LAST, seconds: String(this.ctx.uptimeSeconds()) });
  }

  /** Whether `from` may learn the presence of the account of `to`: itself, or a contact it shares presence with. */
  private async mayKnow(from: JID, to: JID): Promise<boolean> {
    if (from.bare === to.bare) return true;
    const item = await this.ctx.services.roster.get(accountOf(to), from.bare);
    return item?.subscription === 'from' || item?.subscription === 'both';
  }

  private async ofAccount(from: JID, to: JID): Promise<Element> {
    // XEP-0012 §4 (ejabberd answers <subscription-required/> here; the XEP asks for <forbidden/>).
    if (!(await this.mayKnow(from, to))) throw new StanzaError('forbidden', 'Not subscribed');
    const account = accountOf(to);
    if (this.online(account)) return x('query', { xmlns: NS_LAST, seconds: '0' });
    const last = await this.store.get(account);
    if (!last) throw new StanzaError('service-unavailable', 'No info about last activity found');
    const seconds = Math.max(0, Math.floor((Date.now() - last.at) / 1000));
    return x('query', { xmlns: NS_LAST, seconds: String(seconds) }, ...(last.status ? [last.status] : []));
  }

  /** A query to a full JID reaches the client only from a requester allowed to know its presence (XEP-0012 §3). */
  private async guardFull(c: RouteContext): Promise<boolean> {
    const type = c.stanza.attrs.type;
    if (type !== 'get' && type !== 'set') return false;
    const [payload, ...more] = c.stanza.elements();
    if (!payload || more.length || payload.name !== 'query' || payload.attrs.xmlns !== NS_LAST) return false;
    if (await this.mayKnow(c.from, c.to)) return false;
    await this.ctx.router.bounce(c, 'forbidden', 'Not subscribed');
    return true;
  }

  /** Remembers the status a session leaves with (its broadcast unavailable presence); becoming available forgets it. */
  private observePresence(c: RouteContext): false {
    const session = c.origin;
    if (!session || c.stanza.attrs.to !== undefined) return false;
    const type = c.stanza.attrs.type;
    if (type === 'unavailable') {
      const max = this.ctx.config.limits.maxLastStatusLength;
      const status = [...(c.stanza.getChildText('status') ?? '')].slice(0, max).join('');
      this.ctx.sessions.setFlag(session, 'leavingStatus', status);
    } else if (type === undefined && session.flags.leavingStatus) this.ctx.sessions.setFlag(session, 'leavingStatus', '');
    return false;
  }

  private async sessionClosed(session: SessionRecord): Promise<void> {
    const status = session.flags.leavingStatus ?? '';
    const account = accountOf(session.jid);
    if (this.online(account)) return; // not its last session
    // An account removed meanwhile keeps nothing: the value would outlive it.
    if (!(await this.ctx.services.accounts.exists(account))) return;
    await this.store.set(account, { at: Date.now(), status });
  }
}
