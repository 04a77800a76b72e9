import { createHash } from 'node:crypto';
import type { ModuleContext } from '../module.js';
import type { SessionRecord } from '../../router/session.js';
import { Element, x } from '../../xmpp/xml/element.js';
import { NS } from '../../xmpp/ns.js';
import { JID, parseJID, JIDError } from '../../xmpp/jid.js';
import { accountOf, bareOf, jidOf, type AccountRef } from '../../xmpp/account.js';
import { StanzaError } from '../../xmpp/stanza.js';
import { badArgument, forbidden, notFound } from '../../errors.js';
import type { RosterItem, RosterScanFilter, RosterStore, Subscription } from './store.js';

/** A contact as a bulk change sets it: prepared bare JID, name and groups. */
export interface ContactEntry {
  jid: string;
  name: string;
  groups: readonly string[];
}

/** Which items of every roster a bulk operation selects: stored fields in storage, JIDs by predicate. */
export interface RosterItemFilter extends RosterScanFilter {
  /** Tested on the owner's bare JID. */
  owner?: (bare: string) => boolean;
  /** Tested on the contact's JID as stored (bare, prepared; a server JID has no localpart). */
  contact?: (jid: string) => boolean;
}

/** Items a scan reads per query: the memory of a scan of any roster table stays one page. */
const SCAN_PAGE = 1000;

/** The account of a stored owner key (its bare JID, prepared when it was written). */
function accountOfBare(bare: string): AccountRef {
  const at = bare.indexOf('@');
  return { user: bare.slice(0, at), host: bare.slice(at + 1) };
}

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

const SUBSCRIPTIONS: ReadonlySet<string> = new Set(['none', 'to', 'from', 'both']);

/** Whether a text is a roster subscription state (RFC 6121: none, to, from, both). */
export function isSubscription(text: string | undefined): text is Subscription {
  return text !== undefined && SUBSCRIPTIONS.has(text);
}

/**
 * Contacts another feature shows in accounts' rosters without storing them (shared roster groups,
 * like ejabberd's `roster_get` hook). A provided contact appears with subscription `both` and its
 * provided groups added to those of the owner's own item, if any; the owner cannot remove it.
 */
export interface RosterProvider {
  /** Every contact provided to the owner: bare JID → the roster groups it is shown in (not empty). */
  contacts(owner: AccountRef): Promise<Map<string, string[]>>;
  /** The roster groups one contact (a bare JID) is provided in; empty when it is not provided. */
  groupsOf(owner: AccountRef, contact: string): Promise<string[]>;
}

/** A stored item (undefined: none, or one clients do not see) as shown with its provided groups. */
function merged(jid: string, stored: RosterItem | undefined, groups: string[]): RosterItem {
  const own = stored?.visible ? stored.groups : [];
  return { ...newItem(jid), name: stored?.visible ? stored.name : '', subscription: 'both', groups: [...new Set([...own, ...groups])] };
}

/** Rosters (RFC 6121 §2): read and changed by clients, admin commands and presence subscriptions. */
export class RosterService {
  private pushId = 0;
  private readonly providers: RosterProvider[] = [];
  /** Pushes waiting to be delivered, per owner: they leave in the order they were made. */
  private readonly pushing = new Map<string, Promise<void>>();

  constructor(private readonly ctx: ModuleContext<never, RosterStore>) {
    ctx.iq.register({ xmlns: NS.roster, target: 'bare', get: (c) => this.iqGet(c.from, c.to, c.payload, c.origin), set: (c) => this.iqSet(c.from, c.to, c.payload) });
    ctx.hooks.on('account-removing', ({ tx, ...account }) => tx.roster.deleteAll(bareOf(account)));
    // A renamed account keeps its roster (contacts' rosters still name the old JID, as in Openfire).
    ctx.hooks.on('account-renaming', async ({ from, to }) => {
      if (!(await this.importItems(to, await this.list(from)))) ctx.log.warn({ from: bareOf(from), to: bareOf(to) }, 'rename: the roster did not fit the new account');
    });
  }

  private get store() {
    return this.ctx.store;
  }

  /** limits.maxRosterItems: items per account, visible or not. */
  get maxItems(): number {
    return this.ctx.config.limits.maxRosterItems;
  }

  /** Why a new item was refused. */
  fullText(owner: AccountRef): string {
    return `Roster of ${bareOf(owner)} is full (limits.maxRosterItems: ${this.maxItems})`;
  }

  list(owner: AccountRef): Promise<RosterItem[]> {
    return this.store.list(bareOf(owner));
  }

  get(owner: AccountRef, jid: string): Promise<RosterItem | undefined> {
    return this.store.get(bareOf(owner), jid);
  }

  /** Adds a provider of contacts shown in rosters without being stored (see RosterProvider). */
  addProvider(provider: RosterProvider): void {
    this.providers.push(provider);
  }

  /** Every provided contact of the owner, with the groups of all providers. */
  private async provided(owner: AccountRef): Promise<Map<string, string[]>> {
    const all = new Map<string, string[]>();
    for (const p of this.providers) {
      for (const [jid, groups] of await p.contacts(owner)) all.set(jid, [...new Set([...(all.get(jid) ?? []), ...groups])]);
    }
    return all;
  }

  private async providedGroups(owner: AccountRef, jid: string): Promise<string[]> {
    const groups: string[] = [];
    for (const p of this.providers) groups.push(...(await p.groupsOf(owner, jid)));
    return [...new Set(groups)];
  }

  /** Whether a contact is provided to the owner (then subscriptions with it change nothing). */
  async isProvided(owner: AccountRef, jid: string): Promise<boolean> {
    return (await this.providedGroups(owner, jid)).length > 0;
  }

  /** The roster as the owner's clients see it: the visible stored items merged with the provided contacts. */
  async view(owner: AccountRef): Promise<RosterItem[]> {
    return (await this.viewWithVersion(owner)).items;
  }

  private async viewWithVersion(owner: AccountRef): Promise<{ items: RosterItem[]; ver: string }> {
    // The version is read before the items: the list is at least as new as the version it carries.
    const counter = await this.store.version(bareOf(owner));
    const all = await this.provided(owner);
    const provided = new Map(all);
    const items: RosterItem[] = [];
    for (const i of await this.list(owner)) {
      const groups = provided.get(i.jid);
      if (groups) {
        items.push(merged(i.jid, i, groups));
        provided.delete(i.jid);
      } else if (i.visible) items.push(i);
    }
    for (const [jid, groups] of provided) items.push(merged(jid, undefined, groups));
    return { items, ver: versionString(counter, all) };
  }

  /**
   * Every item presence (and `get_roster`) works from: the stored ones, those clients do not see
   * included, with the provided contacts merged in as subscription `both`.
   */
  async contacts(owner: AccountRef): Promise<RosterItem[]> {
    const provided = await this.provided(owner);
    const items = (await this.list(owner)).map((i) => {
      const groups = provided.get(i.jid);
      if (!groups) return i;
      provided.delete(i.jid);
      return merged(i.jid, i, groups);
    });
    for (const [jid, groups] of provided) items.push(merged(jid, undefined, groups));
    return items;
  }

  /** One contact as presence sees it: the stored item, or the provided one merged with it. */
  async contact(owner: AccountRef, jid: string): Promise<RosterItem | undefined> {
    const stored = await this.get(owner, jid);
    const groups = await this.providedGroups(owner, jid);
    return groups.length ? merged(jid, stored, groups) : stored;
  }

  /**
   * Pushes the current state of these contacts to the owner's interested resources (removals for
   * those no longer in the roster): a provider calls it when what it provides changed.
   */
  async refresh(owner: AccountRef, jids: readonly string[]): Promise<void> {
    if (!this.interested(owner).length || jids.length === 0) return;
    await this.enqueuePush(owner, async () => {
      const { items, ver } = await this.viewWithVersion(owner);
      const byJid = new Map(items.map((i) => [i.jid, i]));
      return jids.map((jid) => {
        const i = byJid.get(jid);
        return { el: i ? itemElement(i) : itemElement(newItem(jid), true), ver };
      });
    });
  }

  /**
   * Stores an item and pushes it to the owner's interested resources when visible.
   * Returns false, and stores nothing, when the item is new and the roster is full
   * (limits.maxRosterItems); changes to items already in the roster are always stored.
   */
  async save(account: AccountRef, item: RosterItem): Promise<boolean> {
    const owner = bareOf(account);
    if (!item.visible && item.subscription === 'none' && !item.pendingIn && !item.askOut && !item.approved) {
      await this.store.delete(owner, item.jid);
      return true;
    }
    const r = await this.store.put(owner, item, this.maxItems);
    if (!r.stored) return false;
    if (item.visible) await this.push(account, item, r.version);
    return true;
  }

  /**
   * Writes imported items (distinct contacts, any subscription and pending state) in one step, or
   * none when they would take the roster past limits.maxRosterItems (false). No pushes: the account
   * is being imported, its clients fetch the roster at login.
   */
  async importItems(owner: AccountRef, items: readonly RosterItem[]): Promise<boolean> {
    if (items.length === 0) return true;
    return (await this.store.putMany(bareOf(owner), items, this.maxItems)).stored;
  }

  /**
   * Records an inbound subscription request (RFC 6121 §3.1.3) on the contact's item, or, for a
   * contact not in the roster, on an item clients do not see (no roster push, no new version).
   * Returns false when that item would be new and the roster is full: the request is not stored.
   */
  async recordPendingIn(owner: AccountRef, contact: string, existing?: RosterItem): Promise<boolean> {
    const item = existing ?? newItem(contact, false);
    item.pendingIn = true;
    return (await this.store.put(bareOf(owner), item, this.maxItems)).stored;
  }

  /**
   * Roster version (RFC 6121 §2.6): a per-account counter the store increments with every change a
   * client sees, in the same transaction; read without listing the roster.
   */
  async version(owner: AccountRef): Promise<string> {
    return versionString(await this.store.version(bareOf(owner)), await this.provided(owner));
  }

  private interested(owner: AccountRef): SessionRecord[] {
    return this.ctx.sessions.resources(bareOf(owner)).filter((s) => s.flags.rosterRequested);
  }

  /**
   * Sends a roster push (RFC 6121 §2.1.6) of a stored item (or its removal) to every resource of
   * the owner that requested the roster, carrying the version the change produced (§2.6.3). A
   * provided contact is pushed as the roster shows it: merged, and never removed.
   */
  async push(owner: AccountRef, item: RosterItem, version: number, removed = false): Promise<void> {
    if (this.interested(owner).length === 0) return;
    await this.enqueuePush(owner, async () => {
      const provided = await this.provided(owner);
      const groups = provided.get(item.jid);
      const el = groups ? itemElement(merged(item.jid, removed ? undefined : item, groups)) : itemElement(item, removed);
      return [{ el, ver: versionString(version, provided) }];
    });
  }

  /** Delivers what `make` builds after the pushes of the owner already queued. */
  private enqueuePush(owner: AccountRef, make: () => Promise<{ el: Element; ver: string }[]>): Promise<void> {
    const key = bareOf(owner);
    const previous = this.pushing.get(key) ?? Promise.resolve();
    const mine = previous.then(async () => {
      const pushes = await make();
      for (const s of this.interested(owner)) {
        for (const { el, ver } of pushes) {
          this.ctx.sessions.deliver(s, x('iq', { type: 'set', id: `push${++this.pushId}`, to: s.jid.full }, x('query', { xmlns: NS.roster, ver }, el.clone())));
        }
      }
    });
    const settled = mine.catch(() => undefined);
    this.pushing.set(key, settled);
    void settled.then(() => {
      if (this.pushing.get(key) === settled) this.pushing.delete(key);
    });
    return mine;
  }

  private checkOwn(from: JID, to: JID): void {
    if (from.bare !== to.bare) throw new StanzaError('forbidden', 'a roster belongs to its account only');
  }

  private async iqGet(from: JID, to: JID, payload: Element, origin?: import('../../router/session.js').SessionRecord): Promise<Element | undefined> {
    this.checkOwn(from, to);
    // Interested from now on: a change made while this get is answered still reaches it as a push.
    if (origin) this.ctx.sessions.setFlag(origin, 'rosterRequested', true);
    const { items, ver } = await this.viewWithVersion(accountOf(from));
    // The client's copy is current: an empty result, and changes arrive as pushes (§2.6.3).
    if (payload.attrs.ver === ver) return undefined;
    const q = x('query', { xmlns: NS.roster, ver });
    for (const i of items) q.append(itemElement(i));
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
    const owner = accountOf(from);
    if (el.attrs.subscription === 'remove') {
      if (await this.remove(owner, jid)) return;
      // A provided contact cannot be removed (ejabberd's mod_shared_roster): the client is told it is still there.
      if (!(await this.isProvided(owner, jid))) throw new StanzaError('item-not-found');
      await this.refresh(owner, [jid]);
      return;
    }
    const groups = el.getChildren('group').map((g) => g.text());
    if (new Set(groups).size !== groups.length) throw new StanzaError('bad-request', 'duplicate group');
    if (groups.some((g) => g === '')) throw new StanzaError('not-acceptable', 'empty group name');
    if ((el.attrs.name ?? '').length > 1024 || groups.some((g) => g.length > 1024)) throw new StanzaError('not-acceptable', 'name too long');
    const item = (await this.get(owner, jid)) ?? newItem(jid);
    item.name = el.attrs.name ?? '';
    // The provided groups of a provided contact are not the owner's own: they are not stored.
    const provided = new Set(await this.providedGroups(owner, jid));
    item.groups = groups.filter((g) => !provided.has(g));
    item.visible = true;
    // RFC 6121 prescribes no condition for a roster size limit; §2.3.3 names <not-allowed/> among
    // the "other stanza errors" a roster set can get, and RFC 6120 §8.3.3.9 defines it as an action
    // the server does not allow (type cancel: retrying will not help until an item is removed).
    if (!(await this.save(owner, item))) throw new StanzaError('not-allowed', this.fullText(owner));
    return;
  }

  /**
   * Removes an item, cancelling subscriptions both ways first (RFC 6121 §2.5.2).
   * Returns false when there was no such item.
   */
  async remove(account: AccountRef, jid: string): Promise<boolean> {
    const owner = bareOf(account);
    const item = await this.store.get(owner, jid);
    if (!item) return false;
    const ownerJID = jidOf(account);
    const contact = parseJID(jid);
    if (item.subscription === 'to' || item.subscription === 'both' || item.askOut) {
      await this.ctx.send(x('presence', { type: 'unsubscribe' }), ownerJID, contact);
    }
    if (item.subscription === 'from' || item.subscription === 'both' || item.pendingIn) {
      await this.ctx.send(x('presence', { type: 'unsubscribed' }), ownerJID, contact);
      // The contact no longer sees the owner: it learns that the owner's resources are gone (RFC 6121 §3.2.2).
      if (item.subscription === 'from' || item.subscription === 'both') {
        for (const s of this.ctx.sessions.available(owner)) await this.ctx.send(x('presence', { type: 'unavailable' }), s.jid, contact);
      }
    }
    const r = await this.store.delete(owner, jid);
    if (r.deleted && item.visible) await this.push(account, item, r.version, true);
    return true;
  }

  // ---- admin operations (add_rosteritem, delete_rosteritem, get_roster) --------------------

  /** Sets an item as given, without presence traffic, and pushes it to the owner's resources. */
  async adminSet(account: AccountRef, contact: string, name: string, groups: string[], subscription: string): Promise<void> {
    if (!isSubscription(subscription)) throw badArgument(`Invalid subscription: ${subscription}`);
    let jid: string;
    try {
      jid = parseJID(contact).bare;
    } catch (err) {
      throw badArgument(`Invalid contact JID: ${(err as Error).message}`);
    }
    const owner = bareOf(account);
    const item = (await this.store.get(owner, jid)) ?? newItem(jid);
    item.name = name;
    item.groups = [...new Set(groups.filter((g) => g !== ''))];
    item.subscription = subscription as Subscription;
    item.visible = true;
    if (subscription === 'to' || subscription === 'both') item.askOut = false;
    if (subscription === 'from' || subscription === 'both') item.pendingIn = false;
    const r = await this.store.put(owner, item, this.maxItems);
    if (!r.stored) throw forbidden(this.fullText(account));
    await this.push(account, item, r.version);
  }

  /** Deletes an item without presence traffic and pushes the removal. */
  async adminDelete(account: AccountRef, contact: string): Promise<void> {
    const owner = bareOf(account);
    const item = await this.store.get(owner, contact);
    if (!item) throw notFound(`${contact} is not in the roster of ${owner}`);
    const r = await this.store.delete(owner, contact);
    if (r.deleted && item.visible) await this.push(account, item, r.version, true);
  }

  // ---- bulk operations (process_rosteritems, push_roster, push_roster_all, push_alltoall) -------

  /**
   * Every roster item of every account that the filter selects, in storage order. Subscription and
   * pending state are selected by the store; the JID predicates run on each page it returns.
   */
  async findItems(filter: RosterItemFilter): Promise<{ owner: AccountRef; item: RosterItem }[]> {
    const found: { owner: AccountRef; item: RosterItem }[] = [];
    const scan: RosterScanFilter = { subscriptions: filter.subscriptions, pending: filter.pending };
    let after: { owner: string; jid: string } | undefined;
    for (;;) {
      const page = await this.store.scan(scan, after, SCAN_PAGE);
      for (const { owner, item } of page) {
        if (filter.owner && !filter.owner(owner)) continue;
        if (filter.contact && !filter.contact(item.jid)) continue;
        found.push({ owner: accountOfBare(owner), item });
      }
      if (page.length < SCAN_PAGE) return found;
      const last = page[page.length - 1]!;
      after = { owner: last.owner, jid: last.item.jid };
    }
  }

  /**
   * Removes an item as a client's roster remove does (RFC 6121 §2.5.2): subscriptions cancelled
   * both ways, the removal pushed. Returns false when there was no such item.
   */
  removeItem(owner: AccountRef, jid: string): Promise<boolean> {
    return this.remove(owner, jid);
  }

  /**
   * Sets contacts in the rosters of several accounts, with the given subscription and no presence
   * traffic (as `adminSet`), pushing every item to its owner's interested resources. A contact
   * already in a roster is updated (name, groups, subscription; pending flags the subscription
   * settles are cleared); an account is never its own contact; for a JID given twice, the last wins.
   *
   * Limits: when any roster would exceed limits.maxRosterItems, the whole call is refused before
   * anything is written (forbidden, naming the accounts). Each account's items are then written in
   * one transaction, all or none (a concurrent change could still fill a roster in between: that
   * account is left unchanged and named in the error, the others keep their items).
   *
   * Memory stays one roster at a time, not all of them: batches that share one contacts array
   * (every account of a host getting every other) share its prepared form, and each account's
   * items are built only when they are written.
   */
  async setContacts(batches: readonly { owner: AccountRef; contacts: readonly ContactEntry[] }[], subscription: Subscription): Promise<void> {
    if (!isSubscription(subscription)) throw badArgument(`Invalid subscription: ${subscription}`);
    const prepared = new Map<readonly ContactEntry[], Map<string, ContactEntry>>();
    const prepare = (contacts: readonly ContactEntry[]): Map<string, ContactEntry> => {
      let m = prepared.get(contacts);
      if (m) return m;
      prepared.set(contacts, (m = new Map()));
      for (const c of contacts) {
        let jid: string;
        try {
          jid = parseJID(c.jid).bare;
        } catch (err) {
          throw badArgument(`Invalid contact JID: ${(err as Error).message}`);
        }
        m.delete(jid); // the last given wins, in its place
        m.set(jid, { ...c, jid });
      }
      return m;
    };
    const owners = new Map<string, { account: AccountRef; lists: Map<string, ContactEntry>[] }>();
    for (const { owner, contacts } of batches) {
      const bare = bareOf(owner);
      const o = owners.get(bare) ?? { account: owner, lists: [] };
      owners.set(bare, o);
      o.lists.push(prepare(contacts));
    }
    /** The contacts an owner gets: its lists in order (the last entry of a JID wins), never itself. */
    const contactsOf = (bare: string, lists: Map<string, ContactEntry>[]): Map<string, ContactEntry> => {
      const merged = new Map(lists[0]);
      for (const l of lists.slice(1)) {
        for (const [jid, c] of l) {
          merged.delete(jid);
          merged.set(jid, c);
        }
      }
      merged.delete(bare);
      return merged;
    };
    // First every roster is checked against the limit, reading only its JIDs; nothing is kept.
    const full: string[] = [];
    for (const [bare, { lists }] of owners) {
      const contacts = contactsOf(bare, lists);
      // More contacts than the limit fill any roster: known without reading it.
      if (contacts.size > this.maxItems) {
        full.push(`${bare} (${contacts.size}+)`);
        continue;
      }
      const current = new Set((await this.store.list(bare)).map((i) => i.jid));
      let total = current.size;
      for (const jid of contacts.keys()) if (!current.has(jid)) total++;
      if (total > this.maxItems) full.push(`${bare} (${total})`);
    }
    if (full.length) {
      const named = full.length > 10 ? `${full.slice(0, 10).join(', ')} and ${full.length - 10} more` : full.join(', ');
      throw forbidden(`Rosters would exceed limits.maxRosterItems (${this.maxItems}): ${named}; nothing was changed`);
    }
    const refused: string[] = [];
    for (const [bare, { account, lists }] of owners) {
      const contacts = contactsOf(bare, lists);
      if (contacts.size === 0) continue;
      const current = new Map((await this.store.list(bare)).map((i) => [i.jid, i]));
      const items = [...contacts.values()].map((c) => {
        const item = current.get(c.jid) ?? newItem(c.jid);
        item.name = c.name;
        item.groups = [...new Set(c.groups.filter((g) => g !== ''))];
        item.subscription = subscription;
        item.visible = true;
        if (subscription === 'to' || subscription === 'both') item.askOut = false;
        if (subscription === 'from' || subscription === 'both') item.pendingIn = false;
        return item;
      });
      const r = await this.store.putMany(bare, items, this.maxItems);
      if (!r.stored) {
        refused.push(bare);
        continue;
      }
      for (const [i, item] of items.entries()) await this.push(account, item, r.versions[i]!);
    }
    if (refused.length) throw forbidden(`Rosters filled up meanwhile (limits.maxRosterItems: ${this.maxItems}), left unchanged: ${refused.join(', ')}`);
  }
}

/**
 * The roster version a client is given (RFC 6121 §2.6): the stored counter, and when contacts are
 * provided a digest of them, so that a change of what is provided changes the version too.
 */
function versionString(counter: number, provided: Map<string, string[]>): string {
  if (provided.size === 0) return String(counter);
  const entries = [...provided].map(([jid, groups]) => [jid, [...groups].sort()] as const).sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return `${counter}-${createHash('sha256').update(JSON.stringify(entries)).digest('base64url').slice(0, 16)}`;
}
