import type { Server } from '../../server.js';
import { Element, x } from '../../xmpp/xml/element.js';
import { JID, parseJID, tryParseJID } from '../../xmpp/jid.js';
import type { RouteContext } from '../../router/router.js';
import type { SessionRecord } from '../../router/session.js';
import { newItem } from '../roster/service.js';
import type { RosterItem } from '../roster/store.js';
import { errorReply } from '../../xmpp/stanza.js';

const SUBSCRIPTION_TYPES = new Set(['subscribe', 'subscribed', 'unsubscribe', 'unsubscribed']);

const hasFrom = (i: RosterItem | undefined) => i !== undefined && (i.subscription === 'from' || i.subscription === 'both');
const hasTo = (i: RosterItem | undefined) => i !== undefined && (i.subscription === 'to' || i.subscription === 'both');

export function parsePriority(presence: Element): number {
  const text = presence.getChildText('priority');
  if (text === undefined) return 0;
  const n = Number(text.trim());
  return Number.isInteger(n) ? Math.max(-128, Math.min(127, n)) : 0;
}

/** Presence broadcast, probes and the subscription state machine (RFC 6121 §3, §4). */
export class PresenceService {
  constructor(private readonly server: Server) {
    const r = server.router;
    r.on('presence/out', (ctx) => this.outbound(ctx), 0);
    r.on('presence/bare', (ctx) => this.inbound(ctx), 0);
    r.on('presence/full', (ctx) => this.inboundFull(ctx), 0);
    server.hooks.on('session-closed', ({ session }) => this.sessionClosed(session));
  }

  private roster() {
    return this.server.roster;
  }

  private deliver(session: SessionRecord, stanza: Element): void {
    this.server.sessions.deliver(session, stanza);
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
      const item = await this.roster().get(ctx.from.bare, ctx.to.bare);
      if (!hasFrom(item)) {
        this.server.sessions.setDirectedPresence(session, ctx.to.full, type === undefined);
      }
    }
    return false; // route as addressed
  }

  /** Sets a session's presence as if it had sent it (the admin set_presence command uses this too). */
  async available(session: SessionRecord, stanza: Element): Promise<void> {
    const initial = session.presence === undefined;
    const presence = x('presence', { from: session.jid.full });
    for (const c of stanza.children) presence.append(typeof c === 'string' ? c : c.clone());
    this.server.sessions.setPresence(session, presence, parsePriority(stanza));
    const items = await this.roster().list(session.jid.bare);
    await this.broadcast(session, presence, items);
    if (initial) {
      for (const i of items) {
        if (hasTo(i)) await this.server.send(x('presence', { type: 'probe' }), session.jid, parseJID(i.jid));
      }
      // Other resources of the same account are known without a probe.
      for (const other of this.server.sessions.available(session.jid.bare)) {
        if (other.id !== session.id) this.deliver(session, withTo(this.server.sessions.presenceOf(other)!, session.jid.full));
      }
      this.deliverPendingRequests(session, items);
      await this.server.hooks.emit('session-available', { session });
    }
  }

  async unavailable(session: SessionRecord, stanza?: Element): Promise<void> {
    const wasAvailable = session.presence !== undefined;
    const directed = session.directedPresence;
    this.server.sessions.setPresence(session, undefined);
    this.server.sessions.clearDirectedPresence(session);
    const presence = x('presence', { type: 'unavailable', from: session.jid.full });
    if (stanza) for (const c of stanza.children) presence.append(typeof c === 'string' ? c : c.clone());
    if (wasAvailable) await this.broadcast(session, presence, await this.roster().list(session.jid.bare));
    for (const full of directed) {
      const to = tryParseJID(full);
      if (to) await this.server.send(presence.clone(), session.jid, to);
    }
  }

  private async sessionClosed(session: SessionRecord): Promise<void> {
    if (session.presence !== undefined || session.directedPresence.length) await this.unavailable(session);
  }

  /** To contacts with a 'from' subscription and to the account's own available resources. */
  private async broadcast(session: SessionRecord, presence: Element, items: RosterItem[]): Promise<void> {
    for (const i of items) {
      if (!hasFrom(i)) continue;
      await this.server.send(presence.clone(), session.jid, parseJID(i.jid));
    }
    for (const s of this.server.sessions.available(session.jid.bare)) this.deliver(s, withTo(presence, s.jid.full));
    if (presence.attrs.type === 'unavailable') this.deliver(session, withTo(presence, session.jid.full));
  }

  // ---- subscriptions ------------------------------------------------------------------

  private async outboundSubscription(ctx: RouteContext, type: string): Promise<void> {
    const user = ctx.from.bareJID();
    const contact = ctx.to.bareJID();
    const original = ctx.stanza;
    const owner = user.bare;
    const item = await this.roster().get(owner, contact.bare);
    const out = x('presence', { type });
    for (const c of original.children) if (typeof c !== 'string' && (c.name === 'status' || c.name === 'nick')) out.append(c.clone());
    switch (type) {
      case 'subscribe': {
        const i = item ?? newItem(contact.bare);
        i.visible = true;
        if (!hasTo(i)) i.askOut = true;
        if (!(await this.roster().save(owner, i))) return this.refuseRosterFull(ctx, owner);
        await this.server.send(out, user, contact);
        return;
      }
      case 'subscribed': {
        if (item?.pendingIn) {
          item.subscription = item.subscription === 'to' ? 'both' : item.subscription === 'none' ? 'from' : item.subscription;
          item.pendingIn = false;
          item.visible = true;
          await this.roster().save(owner, item);
          await this.server.send(out, user, contact);
          await this.sendCurrentPresence(owner, contact);
        } else if (!hasFrom(item)) {
          const i = item ?? newItem(contact.bare);
          i.approved = true; // pre-approval (RFC 6121 §3.4)
          i.visible = true;
          if (!(await this.roster().save(owner, i))) return this.refuseRosterFull(ctx, owner);
        }
        return;
      }
      case 'unsubscribe': {
        if (item && (hasTo(item) || item.askOut)) {
          item.subscription = item.subscription === 'both' ? 'from' : item.subscription === 'to' ? 'none' : item.subscription;
          item.askOut = false;
          await this.roster().save(owner, item);
          await this.server.send(out, user, contact);
        }
        return;
      }
      case 'unsubscribed': {
        if (item && (hasFrom(item) || item.pendingIn)) {
          item.subscription = item.subscription === 'both' ? 'to' : item.subscription === 'from' ? 'none' : item.subscription;
          item.pendingIn = false;
          item.approved = false;
          await this.roster().save(owner, item);
          await this.server.send(out, user, contact);
          for (const s of this.server.sessions.available(owner)) {
            await this.server.send(x('presence', { type: 'unavailable' }), s.jid, contact);
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
  private async refuseRosterFull(ctx: RouteContext, owner: string): Promise<void> {
    const reply = errorReply(ctx.stanza, 'not-allowed', this.roster().fullText(owner));
    if (ctx.origin) {
      reply.attrs.to = ctx.origin.jid.full;
      this.deliver(ctx.origin, reply);
    } else {
      await this.server.send(reply, ctx.to.bareJID(), ctx.from);
    }
  }

  private async inboundSubscription(ctx: RouteContext, type: string): Promise<void> {
    const owner = ctx.to.bare;
    const contact = ctx.from.bareJID();
    const userJID = ctx.to.bareJID();
    if (!(await this.server.accounts.exists(ctx.to.local, ctx.to.domain))) {
      if (type === 'subscribe') await this.server.send(x('presence', { type: 'unsubscribed' }), userJID, contact);
      return;
    }
    const item = await this.roster().get(owner, contact.bare);
    const stanza = ctx.stanza;
    stanza.attrs.from = contact.bare;
    stanza.attrs.to = owner;
    switch (type) {
      case 'subscribe': {
        if (hasFrom(item)) {
          await this.server.send(x('presence', { type: 'subscribed' }), userJID, contact);
          return;
        }
        if (item?.approved) {
          item.subscription = item.subscription === 'to' ? 'both' : 'from';
          item.approved = false;
          await this.roster().save(owner, item);
          await this.server.send(x('presence', { type: 'subscribed' }), userJID, contact);
          await this.sendCurrentPresence(owner, contact);
          return;
        }
        if (!(await this.roster().recordPendingIn(owner, contact.bare, item))) {
          // RFC 6121 §3.1.3 (security warning) asks for limits on the inbound requests a server
          // stores; a full roster stores none and the requester learns why (RFC 6120 §8.3.3.18).
          const reply = errorReply(stanza, 'resource-constraint', `the roster of ${owner} is full`);
          await this.server.send(reply, userJID, contact);
          return;
        }
        this.deliverToAvailable(owner, stanza);
        return;
      }
      case 'subscribed': {
        if (item?.askOut) {
          item.subscription = item.subscription === 'from' ? 'both' : 'to';
          item.askOut = false;
          await this.roster().save(owner, item);
          this.deliverToAvailable(owner, stanza);
        }
        return;
      }
      case 'unsubscribe': {
        if (item && (hasFrom(item) || item.pendingIn)) {
          item.subscription = item.subscription === 'both' ? 'to' : item.subscription === 'from' ? 'none' : item.subscription;
          item.pendingIn = false;
          await this.roster().save(owner, item);
          this.deliverToAvailable(owner, stanza);
          for (const s of this.server.sessions.available(owner)) {
            await this.server.send(x('presence', { type: 'unavailable' }), s.jid, contact);
          }
        }
        return;
      }
      case 'unsubscribed': {
        if (item && (hasTo(item) || item.askOut)) {
          item.subscription = item.subscription === 'both' ? 'from' : item.subscription === 'to' ? 'none' : item.subscription;
          item.askOut = false;
          await this.roster().save(owner, item);
          this.deliverToAvailable(owner, stanza);
        }
        return;
      }
    }
  }

  private deliverToAvailable(owner: string, stanza: Element): void {
    for (const s of this.server.sessions.available(owner)) this.deliver(s, stanza);
  }

  /** After granting a subscription: the contact learns the user's current presence. */
  private async sendCurrentPresence(owner: string, contact: JID): Promise<void> {
    for (const s of this.server.sessions.available(owner)) {
      await this.server.send(this.server.sessions.presenceOf(s)!, s.jid, contact);
    }
  }

  /** Subscription requests that arrived while the account was offline (RFC 6121 §3.1.3). */
  private deliverPendingRequests(session: SessionRecord, items: RosterItem[]): void {
    for (const i of items) {
      if (i.pendingIn) this.deliver(session, x('presence', { type: 'subscribe', from: i.jid, to: session.jid.bare }));
    }
  }


  // ---- what arrives for local users ----------------------------------------------------

  private async inbound(ctx: RouteContext): Promise<boolean> {
    const type = ctx.stanza.attrs.type;
    if (type && SUBSCRIPTION_TYPES.has(type)) {
      await this.inboundSubscription(ctx, type);
      return true;
    }
    if (type === 'probe') {
      await this.answerProbe(ctx, this.server.sessions.available(ctx.to.bare));
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
      const s = this.server.sessions.get(ctx.to.bare, ctx.to.resource);
      await this.answerProbe(ctx, s && s.presence ? [s] : []);
      return true;
    }
    return false;
  }

  /** Only contacts with a subscription learn presence (RFC 6121 §4.3.2). */
  private async answerProbe(ctx: RouteContext, sessions: SessionRecord[]): Promise<void> {
    if (ctx.from.bare !== ctx.to.bare) {
      const item = await this.roster().get(ctx.to.bare, ctx.from.bare);
      if (!hasFrom(item)) return;
    }
    for (const s of sessions) await this.server.send(this.server.sessions.presenceOf(s)!, s.jid, ctx.from);
  }
}

function withTo(presence: Element, to: string): Element {
  const p = presence.clone();
  p.attrs.to = to;
  return p;
}
