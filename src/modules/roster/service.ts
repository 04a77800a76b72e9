import { createHash } from 'node:crypto';
import type { Server } from '../../server.js';
import { Element, x } from '../../xmpp/xml/element.js';
import { NS } from '../../xmpp/ns.js';
import { JID, parseJID, JIDError } from '../../xmpp/jid.js';
import { StanzaError } from '../../xmpp/stanza.js';
import { badArgument, notFound } from '../../errors.js';
import type { RosterItem, Subscription } from './store.js';

export function newItem(jid: string, visible = true): RosterItem {
  return { jid, name: '', subscription: 'none', askOut: false, pendingIn: false, approved: false, groups: [], visible };
}

export function itemElement(item: RosterItem, removed = false): Element {
  const attrs: Record<string, string> = { jid: item.jid, subscription: removed ? 'remove' : item.subscription };
  if (item.name) attrs.name = item.name;
  if (!removed && item.askOut) attrs.ask = 'subscribe';
  if (!removed && item.approved) attrs.approved = 'true';
  const el = x('item', attrs);
  if (!removed) for (const g of item.groups) el.c('group').t(g);
  return el;
}

const SUBSCRIPTIONS = new Set(['none', 'to', 'from', 'both']);

/** Rosters (RFC 6121 §2): read and changed by clients, admin commands and presence subscriptions. */
export class RosterService {
  private pushId = 0;

  constructor(private readonly server: Server) {
    server.iq.register({ xmlns: NS.roster, target: 'bare', get: (c) => this.iqGet(c.from, c.to, c.payload, c.origin), set: (c) => this.iqSet(c.from, c.to, c.payload) });
    server.hooks.on('account-removed', ({ user, host }) => this.store.deleteAll(`${user}@${host}`));
  }

  private get store() {
    return this.server.storage.roster;
  }

  list(owner: string): Promise<RosterItem[]> {
    return this.store.list(owner);
  }

  get(owner: string, jid: string): Promise<RosterItem | undefined> {
    return this.store.get(owner, jid);
  }

  /** Stores an item and pushes it to the owner's interested resources when visible. */
  async save(owner: string, item: RosterItem): Promise<void> {
    if (!item.visible && item.subscription === 'none' && !item.pendingIn && !item.askOut && !item.approved) {
      await this.store.delete(owner, item.jid);
      return;
    }
    await this.store.put(owner, item);
    if (item.visible) this.push(owner, itemElement(item));
  }

  /**
   * Roster version (RFC 6121 §2.6): a digest of the visible roster, so it changes exactly when
   * what the client would see changes, and needs no counter in storage.
   */
  async version(owner: string, items?: RosterItem[]): Promise<string> {
    const list = items ?? (await this.store.list(owner));
    const h = createHash('sha1');
    for (const i of list) if (i.visible) h.update(itemElement(i).toString()).update('\n');
    return h.digest('base64url').slice(0, 20);
  }

  /** Sends a roster push (RFC 6121 §2.1.6) to every resource of the owner that requested the roster. */
  push(owner: string, item: Element): void {
    const targets = this.server.sessions.resources(owner).filter((s) => s.rosterRequested);
    if (targets.length === 0) return;
    void this.version(owner)
      .then((ver) => {
        for (const s of targets) {
          s.send(x('iq', { type: 'set', id: `push${++this.pushId}`, to: s.jid.full }, x('query', { xmlns: NS.roster, ver }, item.clone())));
        }
      })
      .catch((err) => this.server.log.error({ err, owner }, 'roster push failed'));
  }

  private checkOwn(from: JID, to: JID): void {
    if (from.bare !== to.bare) throw new StanzaError('forbidden', 'a roster belongs to its account only');
  }

  private async iqGet(from: JID, to: JID, payload: Element, origin?: import('../../router/session.js').Session): Promise<Element | undefined> {
    this.checkOwn(from, to);
    const items = await this.store.list(from.bare);
    if (origin) origin.rosterRequested = true;
    const requested = payload.attrs.ver;
    const ver = requested !== undefined ? await this.version(from.bare, items) : undefined;
    // The client's copy is current: an empty result, and changes arrive as pushes (§2.6.3).
    if (ver !== undefined && ver === requested) return undefined;
    const q = x('query', ver !== undefined ? { xmlns: NS.roster, ver } : { xmlns: NS.roster });
    for (const i of items) if (i.visible) q.append(itemElement(i));
    return q;
  }

  private async iqSet(from: JID, to: JID, query: Element): Promise<undefined> {
    this.checkOwn(from, to);
    const items = query.getChildren('item');
    if (items.length !== 1 || query.elements().length !== 1) throw new StanzaError('bad-request', 'a roster set carries exactly one item');
    const el = items[0]!;
    let contact: JID;
    try {
      contact = parseJID(el.attrs.jid ?? '');
    } catch (err) {
      throw new StanzaError('jid-malformed', (err as JIDError).message);
    }
    const jid = contact.bare;
    if (el.attrs.subscription === 'remove') {
      if (!(await this.remove(from.bare, jid))) throw new StanzaError('item-not-found');
      return;
    }
    const groups = el.getChildren('group').map((g) => g.text());
    if (new Set(groups).size !== groups.length) throw new StanzaError('bad-request', 'duplicate group');
    if (groups.some((g) => g === '')) throw new StanzaError('not-acceptable', 'empty group name');
    if ((el.attrs.name ?? '').length > 1024 || groups.some((g) => g.length > 1024)) throw new StanzaError('not-acceptable', 'name too long');
    const item = (await this.store.get(from.bare, jid)) ?? newItem(jid);
    item.name = el.attrs.name ?? '';
    item.groups = groups;
    item.visible = true;
    await this.save(from.bare, item);
    return;
  }

  /**
   * Removes an item, cancelling subscriptions both ways first (RFC 6121 §2.5.2).
   * Returns false when there was no such item.
   */
  async remove(owner: string, jid: string): Promise<boolean> {
    const item = await this.store.get(owner, jid);
    if (!item) return false;
    const ownerJID = parseJID(owner);
    const contact = parseJID(jid);
    if (item.subscription === 'to' || item.subscription === 'both' || item.askOut) {
      await this.server.send(x('presence', { type: 'unsubscribe' }), ownerJID, contact);
    }
    if (item.subscription === 'from' || item.subscription === 'both' || item.pendingIn) {
      await this.server.send(x('presence', { type: 'unsubscribed' }), ownerJID, contact);
      // The contact no longer sees the owner: it learns that the owner's resources are gone (RFC 6121 §3.2.2).
      if (item.subscription === 'from' || item.subscription === 'both') {
        for (const s of this.server.sessions.available(owner)) await this.server.send(x('presence', { type: 'unavailable' }), s.jid, contact);
      }
    }
    await this.store.delete(owner, jid);
    if (item.visible) this.push(owner, itemElement(item, true));
    return true;
  }

  // ---- admin operations (add_rosteritem, delete_rosteritem, get_roster) --------------------

  /** Sets an item as given, without presence traffic, and pushes it to the owner's resources. */
  async adminSet(owner: string, contact: string, name: string, groups: string[], subscription: string): Promise<void> {
    if (!SUBSCRIPTIONS.has(subscription)) throw badArgument(`Invalid subscription: ${subscription}`);
    let jid: string;
    try {
      jid = parseJID(contact).bare;
    } catch (err) {
      throw badArgument(`Invalid contact JID: ${(err as Error).message}`);
    }
    const item = (await this.store.get(owner, jid)) ?? newItem(jid);
    item.name = name;
    item.groups = [...new Set(groups.filter((g) => g !== ''))];
    item.subscription = subscription as Subscription;
    item.visible = true;
    if (subscription === 'to' || subscription === 'both') item.askOut = false;
    if (subscription === 'from' || subscription === 'both') item.pendingIn = false;
    await this.store.put(owner, item);
    this.push(owner, itemElement(item));
  }

  /** Deletes an item without presence traffic and pushes the removal. */
  async adminDelete(owner: string, contact: string): Promise<void> {
    const item = await this.store.get(owner, contact);
    if (!item) throw notFound(`${contact} is not in the roster of ${owner}`);
    await this.store.delete(owner, contact);
    this.push(owner, itemElement(item, true));
  }
}
