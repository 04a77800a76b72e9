import type { ModuleContext } from '../module.js';
import { Element, x } from '../../xmpp/xml/element.js';
import { JID, parseJID, tryParseJID } from '../../xmpp/jid.js';
import type { RouteContext } from '../../router/router.js';
import { presenceOf, type SessionRecord } from '../../router/session.js';
import { newItem, type RosterItem } from '../roster/index.js';
import { errorReply } from '../../xmpp/stanza.js';
import { parseElement } from '../../xmpp/xml/parse.js';
import type { MapStore } from '../../storage/kinds.js';
import { transition } from './subscription.js';
import { accountOf, bareOf, type AccountRef } from '../../xmpp/account.js';

/**
 * Inbound subscription requests awaiting the user's answer, as they arrived (RFC 6121 §3.1.3):
 * per account, keyed by the contact's bare JID, the complete stanza with its extended content
 * (a XEP-0172 nick, a XEP-0379 preauth ...). The roster item's pendingIn says a request is pending;
 * this says what it was.
 */
export type PendingRequestStore = MapStore<string>;

const SUBSCRIPTION_TYPES = new Set(['subscribe', 'subscribed', 'unsubscribe', 'unsubscribed']);

const hasFrom = (i: RosterItem | undefined) => i !== undefined && (i.subscription === 'from' || i.subscription === 'both');
const hasTo = (i: RosterItem | undefined) => i !== undefined && (i.subscription === 'to' || i.subscription === 'both');

/** `show` of a session as ejabberd reports it: the presence show, 'available', or 'unavailable'. */
export function showOf(s: SessionRecord): string {
  const presence = presenceOf(s);
  if (!presence) return 'unavailable';
  return presence.getChildText('show')?.trim() || 'available';
}

export function statusTextOf(s: SessionRecord): string {
  return presenceOf(s)?.getChildText('status') ?? '';
}

export function parsePriority(presence: Element): number {
  const text = presence.getChildText('priority');
  if (text === undefined) return 0;
  const n = Number(text.trim());
  return Number.isInteger(n) ? Math.max(-128, Math.min(127, n)) : 0;
}

/** Presence broadcast, probes and the subscription state machine (RFC 6121 §3, §4). */
export class PresenceService {
  constructor(private readonly ctx: ModuleContext<'accounts' | 'roster', PendingRequestStore>) {
    const r = ctx.router;
    r.on('presence/out', (ctx) => this.outbound(ctx), 0);
    r.on('presence/bare', (ctx) => this.inbound(ctx), 0);
    r.on('presence/full', (ctx) => this.inboundFull(ctx), 0);
    ctx.hooks.on('session-closed', ({ session }) => this.sessionClosed(session));
  }

  private roster() {
    return this.ctx.services.roster;
  }

  private deliver(session: SessionRecord, stanza: Element): void {
    this.ctx.sessions.deliver(session, stanza);
  }

  // ---- what local clients send --------------------------------------------------------

  private async outbound(ctx: RouteContext): Promise<boolean> {
    const { stanza } = ctx;
    const type = stanza.attrs.type;
    const session = ctx.origin;
    if (stanza.attrs.to === undefined) {
      if (!session) return true;
      if (type === undefined) await this.available(session, stanza);
      else if (type === 'unavailable') await this.unavailable(session, stanza);
      return true; // other types without a 'to' mean nothing
    }
    if (type && SUBSCRIPTION_TYPES.has(type)) {
      await this.outboundSubscription(ctx, type);
      return true;
    }
    if (session && (type === undefined || type === 'unavailable') && ctx.to.bare !== ctx.from.bare) {
      const item = await this.roster().contact(accountOf(ctx.from), ctx.to.bare);
      if (!hasFrom(item)) {
        this.ctx.sessions.setDirectedPresence(session, ctx.to.full, type === undefined);
      }
    }
    return false; // route as addressed
  }

  /**
   * Sets a session's presence as if it had sent it (the admin set_presence command uses this too);
   * `resent`: it is the session's stored presence, broadcast again (see rebroadcast).
   */
  async available(session: SessionRecord, stanza: Element, resent = false): Promise<void> {
    const initial = session.presence === undefined;
    const presence = x('presence', { from: session.jid.full });
    for (const c of stanza.children) presence.append(typeof c === 'string' ? c : c.clone());
    // Available at once, as before any handler runs: a stanza another session sends meanwhile finds it.
    const priority = parsePriority(stanza);
    const sent = presence.toString();
    this.ctx.sessions.setPresence(session, presence.clone(), priority);
    await this.ctx.hooks.emit('presence-available-out', { session, presence, resent });
    if (presence.toString() !== sent) this.ctx.sessions.setPresence(session, presence, priority);
    // Contacts provided by other features (shared roster groups) count as subscribed both ways.
    const items = await this.roster().contacts(accountOf(session.jid));
    // What is broadcast keeps the id the client gave it (its own other resources match their echo by it).
    await this.broadcast(session, withId(presence, stanza.attrs.id), items);
    if (initial) {
      for (const i of items) {
        if (hasTo(i)) await this.ctx.send(x('presence', { type: 'probe' }), session.jid, parseJID(i.jid));
      }
      // Other resources of the same account are known without a probe.
      for (const other of this.ctx.sessions.available(session.jid.bare)) {
        if (other.id !== session.id) this.deliver(session, withTo(this.ctx.sessions.presenceOf(other)!, session.jid.full));
      }
      await this.deliverPendingRequests(session, items);
      await this.ctx.hooks.emit('session-available', { session });
    }
  }

  /**
   * Broadcasts the current presence of each available resource of the account again, through the
   * same path as a presence the client sends (so `presence-available-out` handlers run again):
   * what ejabberd's `force_update_presence` does after a vCard change (XEP-0153).
   */
  async rebroadcast(account: AccountRef): Promise<void> {
    for (const s of this.ctx.sessions.available(bareOf(account))) {
      const current = this.ctx.sessions.presenceOf(s);
      if (current) await this.available(s, current, true);
    }
  }

  async unavailable(session: SessionRecord, stanza?: Element): Promise<void> {
    const wasAvailable = session.presence !== undefined;
    const directed = session.directedPresence;
    this.ctx.sessions.setPresence(session, undefined);
    this.ctx.sessions.clearDirectedPresence(session);
    const presence = x('presence', { type: 'unavailable', from: session.jid.full });
    if (stanza?.attrs.id !== undefined) presence.attrs.id = stanza.attrs.id;
    if (stanza) for (const c of stanza.children) presence.append(typeof c === 'string' ? c : c.clone());
    if (wasAvailable) await this.broadcast(session, presence, await this.roster().contacts(accountOf(session.jid)));
    for (const full of directed) {
      const to = tryParseJID(full);
      if (to) await this.ctx.send(presence.clone(), session.jid, to);
    }
  }

  private async sessionClosed(session: SessionRecord): Promise<void> {
    if (session.presence !== undefined || session.directedPresence.length) await this.unavailable(session);
  }

  /** To contacts with a 'from' subscription and to the account's own available resources. */
  private async broadcast(session: SessionRecord, presence: Element, items: RosterItem[]): Promise<void> {
    for (const i of items) {
      if (!hasFrom(i)) continue;
      await this.ctx.send(presence.clone(), session.jid, parseJID(i.jid));
    }
    for (const s of this.ctx.sessions.available(session.jid.bare)) this.deliver(s, withTo(presence, s.jid.full));
    if (presence.attrs.type === 'unavailable') this.deliver(session, withTo(presence, session.jid.full));
  }

  // ---- subscriptions ------------------------------------------------------------------

  private async outboundSubscription(ctx: RouteContext, type: string): Promise<void> {
    const user = ctx.from.bareJID();
    const contact = ctx.to.bareJID();
    const original = ctx.stanza;
    const owner = accountOf(user);
    const item = await this.roster().get(owner, contact.bare);
    // The request goes out complete: extended content (a XEP-0172 nick, a XEP-0379 preauth ...) and id.
    const out = x('presence', { type });
    if (original.attrs.id !== undefined) out.attrs.id = original.attrs.id;
    for (const c of original.children) if (typeof c !== 'string') out.append(c.clone());
    // A provided contact (shared roster group) is subscribed both ways already: the request changes
    // nothing here and goes on as sent (ejabberd's mod_shared_roster stops roster_out_subscription).
    if (await this.roster().isProvided(owner, contact.bare)) {
      await this.ctx.send(out, user, contact);
      return;
    }
    switch (type) {
      case 'subscribe': {
        const i = item ?? newItem(contact.bare);
        i.visible = true;
        transition(i, 'outbound', 'subscribe');
        if (!(await this.roster().save(owner, i))) return this.refuseRosterFull(ctx, owner);
        await this.ctx.send(out, user, contact);
        return;
      }
      case 'subscribed': {
        if (item && transition(item, 'outbound', 'subscribed')) {
          item.visible = true;
          await this.roster().save(owner, item);
          await this.forgetRequest(owner, contact.bare);
          await this.ctx.send(out, user, contact);
          await this.sendCurrentPresence(user.bare, contact);
        } else if (!hasFrom(item)) {
          const i = item ?? newItem(contact.bare);
          i.approved = true; // pre-approval (RFC 6121 §3.4)
          i.visible = true;
          if (!(await this.roster().save(owner, i))) return this.refuseRosterFull(ctx, owner);
        }
        return;
      }
      case 'unsubscribe': {
        if (item && transition(item, 'outbound', 'unsubscribe')) {
          await this.roster().save(owner, item);
          await this.ctx.send(out, user, contact);
        }
        return;
      }
      case 'unsubscribed': {
        if (item && transition(item, 'outbound', 'unsubscribed')) {
          item.approved = false;
          await this.roster().save(owner, item);
          await this.forgetRequest(owner, contact.bare);
          await this.ctx.send(out, user, contact);
          for (const s of this.ctx.sessions.available(user.bare)) {
            await this.ctx.send(x('presence', { type: 'unavailable' }), s.jid, contact);
          }
        } else if (item?.approved) {
          item.approved = false;
          await this.roster().save(owner, item);
        }
        return;
      }
    }
  }

  /**
   * A subscription change that would add an item to a full roster: nothing is stored or sent to
   * the contact, and the client gets a presence error (as for a roster set, RFC 6121 §2.3.3 lets
   * the server answer <not-allowed/>).
   */
  private async refuseRosterFull(ctx: RouteContext, owner: AccountRef): Promise<void> {
    const reply = errorReply(ctx.stanza, 'not-allowed', this.roster().fullText(owner));
    if (ctx.origin) {
      reply.attrs.to = ctx.origin.jid.full;
      this.deliver(ctx.origin, reply);
    } else {
      await this.ctx.send(reply, ctx.to.bareJID(), ctx.from);
    }
  }

  private async inboundSubscription(ctx: RouteContext, type: string): Promise<void> {
    const owner = ctx.to.bare;
    const account = accountOf(ctx.to);
    const contact = ctx.from.bareJID();
    const userJID = ctx.to.bareJID();
    if (!(await this.ctx.services.accounts.exists(accountOf(ctx.to)))) {
      if (type === 'subscribe') await this.ctx.send(x('presence', { type: 'unsubscribed' }), userJID, contact);
      return;
    }
    // From a provided contact (shared roster group) a subscription stanza changes nothing and is
    // not delivered (ejabberd's mod_shared_roster stops roster_in_subscription).
    if (await this.roster().isProvided(account, contact.bare)) return;
    const item = await this.roster().get(account, contact.bare);
    const stanza = ctx.stanza;
    stanza.attrs.from = contact.bare;
    stanza.attrs.to = owner;
    switch (type) {
      case 'subscribe': {
        if (hasFrom(item)) {
          await this.ctx.send(x('presence', { type: 'subscribed' }), userJID, contact);
          return;
        }
        if (item?.approved) {
          // A pre-approved request (RFC 6121 §3.4) is answered as if the user approved it on arrival.
          transition(item, 'inbound', 'subscribe');
          transition(item, 'outbound', 'subscribed');
          item.approved = false;
          await this.roster().save(account, item);
          await this.ctx.send(x('presence', { type: 'subscribed' }), userJID, contact);
          await this.sendCurrentPresence(owner, contact);
          return;
        }
        // Kept complete until answered, for every later login (RFC 6121 §3.1.3); within limits.
        const text = stanza.toString();
        const max = this.ctx.config.limits.maxSubscriptionRequestSize;
        if (Buffer.byteLength(text) > max) {
          const reply = errorReply(stanza, 'policy-violation', `a subscription request is kept up to ${max} bytes (limits.maxSubscriptionRequestSize)`);
          await this.ctx.send(reply, userJID, contact);
          return;
        }
        const full = async () => {
          // RFC 6121 §3.1.3 (security warning) asks for limits on the inbound requests a server
          // stores; a full roster stores none and the requester learns why (RFC 6120 §8.3.3.18).
          const reply = errorReply(stanza, 'resource-constraint', `the roster of ${owner} is full`);
          await this.ctx.send(reply, userJID, contact);
        };
        if (!(await this.keepRequest(account, contact.bare, text))) return full();
        if (!(await this.roster().recordPendingIn(account, contact.bare, item))) {
          await this.forgetRequest(account, contact.bare);
          return full();
        }
        this.deliverToAvailable(owner, stanza);
        return;
      }
      case 'subscribed': {
        if (item && transition(item, 'inbound', 'subscribed')) {
          await this.roster().save(account, item);
          this.deliverToAvailable(owner, stanza);
        }
        return;
      }
      case 'unsubscribe': {
        if (item && transition(item, 'inbound', 'unsubscribe')) {
          await this.roster().save(account, item);
          await this.forgetRequest(account, contact.bare);
          this.deliverToAvailable(owner, stanza);
          for (const s of this.ctx.sessions.available(owner)) {
            await this.ctx.send(x('presence', { type: 'unavailable' }), s.jid, contact);
          }
        }
        return;
      }
      case 'unsubscribed': {
        if (item && transition(item, 'inbound', 'unsubscribed')) {
          await this.roster().save(account, item);
          this.deliverToAvailable(owner, stanza);
        }
        return;
      }
    }
  }

  private deliverToAvailable(owner: string, stanza: Element): void {
    for (const s of this.ctx.sessions.available(owner)) this.deliver(s, stanza);
  }

  /** After granting a subscription: the contact learns the user's current presence. */
  private async sendCurrentPresence(owner: string, contact: JID): Promise<void> {
    for (const s of this.ctx.sessions.available(owner)) {
      await this.ctx.send(this.ctx.sessions.presenceOf(s)!, s.jid, contact);
    }
  }

  /**
   * Subscription requests not answered yet (RFC 6121 §3.1.3), on every available presence until
   * answered: each as it arrived, extended content included. Kept stanzas whose request is no
   * longer pending (the item was removed or changed without an answer passing here) are dropped.
   */
  private async deliverPendingRequests(session: SessionRecord, items: RosterItem[]): Promise<void> {
    // Most logins have none pending: no read. (Stale kept stanzas wait for a login with one, or a full store.)
    if (!items.some((i) => i.pendingIn)) return;
    const account = accountOf(session.jid);
    const kept = new Map((await this.ctx.store.list(account)).map((e) => [e.key, e.value]));
    for (const i of items) {
      if (!i.pendingIn) continue;
      const text = kept.get(i.jid);
      kept.delete(i.jid);
      let request: Element | undefined;
      if (text !== undefined) {
        try {
          request = parseElement(text, Infinity);
        } catch (err) {
          this.ctx.log.warn({ err, contact: i.jid }, 'an unreadable kept subscription request');
        }
      }
      request ??= x('presence', { type: 'subscribe', from: i.jid });
      request.attrs.to = session.jid.bare;
      this.deliver(session, request);
    }
    for (const stale of kept.keys()) await this.ctx.store.delete(account, stale);
  }

  /**
   * Keeps a request's stanza; false when the account keeps as many requests as its roster may hold
   * items, even after dropping those no longer pending.
   */
  private async keepRequest(account: AccountRef, contact: string, text: string): Promise<boolean> {
    const max = this.roster().maxItems;
    if (await this.ctx.store.set(account, contact, text, max)) return true;
    const pending = new Set((await this.roster().list(account)).filter((i) => i.pendingIn).map((i) => i.jid));
    for (const e of await this.ctx.store.list(account)) if (!pending.has(e.key)) await this.ctx.store.delete(account, e.key);
    return this.ctx.store.set(account, contact, text, max);
  }

  private async forgetRequest(account: AccountRef, contact: string): Promise<void> {
    await this.ctx.store.delete(account, contact);
  }


  // ---- what arrives for local users ----------------------------------------------------

  private async inbound(ctx: RouteContext): Promise<boolean> {
    const type = ctx.stanza.attrs.type;
    if (type && SUBSCRIPTION_TYPES.has(type)) {
      await this.inboundSubscription(ctx, type);
      return true;
    }
    if (type === 'probe') {
      await this.answerProbe(ctx, this.ctx.sessions.available(ctx.to.bare));
      return true;
    }
    return false;
  }

  private async inboundFull(ctx: RouteContext): Promise<boolean> {
    const type = ctx.stanza.attrs.type;
    if (type && SUBSCRIPTION_TYPES.has(type)) {
      await this.inboundSubscription({ ...ctx, to: ctx.to.bareJID() }, type);
      return true;
    }
    if (type === 'probe') {
      const s = this.ctx.sessions.get(ctx.to.bare, ctx.to.resource);
      await this.answerProbe(ctx, s && s.presence ? [s] : []);
      return true;
    }
    return false;
  }

  /** Only contacts with a subscription learn presence (RFC 6121 §4.3.2). */
  private async answerProbe(ctx: RouteContext, sessions: SessionRecord[]): Promise<void> {
    if (ctx.from.bare !== ctx.to.bare) {
      const item = await this.roster().contact(accountOf(ctx.to), ctx.from.bare);
      if (!hasFrom(item)) return;
    }
    for (const s of sessions) await this.ctx.send(this.ctx.sessions.presenceOf(s)!, s.jid, ctx.from);
  }
}

/** The presence as broadcast: with the client's id when it gave one. */
function withId(presence: Element, id: string | undefined): Element {
  if (id === undefined) return presence;
  const p = presence.clone();
  p.attrs.id = id;
  return p;
}

function withTo(presence: Element, to: string): Element {
  const p = presence.clone();
  p.attrs.to = to;
  return p;
}
