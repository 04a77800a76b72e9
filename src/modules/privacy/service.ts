import type { ModuleContext } from '../module.js';
import type { ValueStore } from '../../storage/kinds.js';
import { accountOf, bareOf, type AccountRef } from '../../xmpp/account.js';
import type { SessionRecord } from '../../router/session.js';
import type { RouteContext } from '../../router/router.js';
import { x, type Element } from '../../xmpp/xml/element.js';
import { JID, parseJID, tryParseJID } from '../../xmpp/jid.js';
import { StanzaError, errorReply } from '../../xmpp/stanza.js';
import {
  BLOCK_LIST_NAME, MAX_NAME_LENGTH, NS_BLOCKING, NS_BLOCKING_ERRORS, NS_PRIVACY,
  compile, evaluate, isBlockItem, listElement, parseItems,
  type CheckedKind, type CompiledItem, type PrivacyData, type PrivacyItem, type RosterFacts,
} from './lists.js';

export type PrivacyStore = ValueStore<PrivacyData>;

/** An account's lists as the enforcement reads them: compiled once per change. */
interface State {
  readonly data: PrivacyData;
  readonly compiled: ReadonlyMap<string, CompiledItem[]>;
}

/**
 * Accounts whose state is kept in memory. Accounts without lists are kept as `null`, so a stanza
 * for them costs a map lookup and no storage read; past this many the oldest entries are dropped
 * (and read again when needed).
 */
const CACHE_MAX = 100_000;

/** Priority of the enforcement on the routing path: before every feature (they use 0..100). */
export const PRIVACY_PRIORITY = 1000;

/** Presence that announces availability (what `presence-in` / `presence-out` items are about). */
function isBroadcastPresence(el: Element): boolean {
  const t = el.attrs.type;
  return t === undefined || t === 'unavailable';
}

/**
 * Privacy lists (XEP-0016) and blocking (XEP-0191), kept as one value per account and enforced by
 * one function on the routing path (`denial`), for what arrives for an account and what its
 * clients send. The block list is the set of block items of the default list (ejabberd's
 * mod_blocking does the same), so blocking is privacy-list editing, not a second filter.
 */
export class PrivacyService {
  private readonly cache = new Map<string, State | null>();
  /** Moves with every change: a read that overlapped a change does not fill the cache. */
  private generation = 0;
  private pushId = 0;

  constructor(private readonly ctx: ModuleContext<'roster' | 'disco', PrivacyStore>) {
    const r = ctx.router;
    for (const e of ['message/bare', 'message/full', 'presence/bare', 'presence/full', 'iq/bare', 'iq/full'] as const) {
      r.on(e, this.inbound, PRIVACY_PRIORITY);
    }
    for (const e of ['message/out', 'presence/out', 'iq/out'] as const) r.on(e, this.outbound, PRIVACY_PRIORITY);
    ctx.iq.register({ xmlns: NS_PRIVACY, target: 'bare', get: (c) => this.iqGet(c.from, c.to, c.payload), set: (c) => this.iqSet(c.from, c.to, c.payload, c.origin) });
    ctx.iq.register({ xmlns: NS_BLOCKING, target: 'bare', get: (c) => this.blockingGet(c.from, c.to, c.payload, c.origin), set: (c) => this.blockingSet(c.from, c.to, c.payload) });
    ctx.services.disco.hostFeatures.add(NS_PRIVACY);
    ctx.services.disco.hostFeatures.add(NS_BLOCKING);
    ctx.hooks.on('account-removed', (a) => this.forget(bareOf(a)));
    ctx.hooks.on('storage-replaced', () => {
      this.generation++;
      this.cache.clear();
    });
  }

  private get maxLists(): number {
    return this.ctx.config.limits.maxPrivacyLists;
  }

  private get maxItems(): number {
    return this.ctx.config.limits.maxPrivacyListItems;
  }

  // ---- state and its cache -------------------------------------------------------------------

  private forget(bare: string): void {
    this.generation++;
    this.cache.delete(bare);
  }

  private remember(bare: string, state: State | null): void {
    this.cache.delete(bare);
    if (this.cache.size >= CACHE_MAX) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(bare, state);
  }

  /** The account's state: from memory, else read once and kept. */
  private async state(a: AccountRef): Promise<State | null> {
    const bare = bareOf(a);
    const cached = this.cache.get(bare);
    if (cached !== undefined) return cached;
    const generation = this.generation;
    const data = await this.ctx.store.get(a);
    const state = data && Object.keys(data.lists).length > 0 ? { data, compiled: new Map(Object.entries(data.lists).map(([n, items]) => [n, compile(items)])) } : null;
    // A read that overlapped a change may hold what the change replaced: used once, not kept.
    if (generation === this.generation) this.remember(bare, state);
    return state;
  }

  /**
   * Read-modify-write of an account's lists in one transaction (concurrent changes of the same
   * account take turns). `fn` changes `data` in place and may refuse with a StanzaError; nothing is
   * written then. `beforeEnforced` runs once the change is committed and before the enforcement
   * sees it (blocking sends its last presence to the newly blocked contacts there).
   */
  private async modify<T>(a: AccountRef, fn: (data: PrivacyData) => T, beforeEnforced?: (result: T) => Promise<void>): Promise<T> {
    const bare = bareOf(a);
    const previous = beforeEnforced ? await this.state(a) : undefined;
    const result = await this.ctx.transaction(async (tx) => {
      await tx.lock(`privacy:${bare}`);
      const store = this.ctx.store.in(tx);
      const data: PrivacyData = (await store.get(a)) ?? { lists: {} };
      const r = fn(data);
      if (Object.keys(data.lists).length === 0 && data.default === undefined) await store.delete(a);
      else await store.set(a, data);
      return r;
    });
    try {
      if (beforeEnforced) {
        this.generation++;
        this.cache.set(bare, previous ?? null);
        await beforeEnforced(result);
      }
    } finally {
      // Read again on next use: a change committed by a concurrent call is never hidden by this one's copy.
      this.forget(bare);
    }
    return result;
  }

  // ---- the enforcement -------------------------------------------------------------------------

  /** The list that applies to a session: its active list, else the default list (also for no session). */
  private listFor(state: State, session: SessionRecord | undefined): CompiledItem[] | undefined {
    const active = session?.flags.privacyActive;
    if (active !== undefined) {
      const items = state.compiled.get(active);
      if (items) return items;
    }
    return state.data.default === undefined ? undefined : state.compiled.get(state.data.default);
  }

  /**
   * The one check of privacy lists and blocking: the item of `list` (the owner's) that denies a
   * stanza of `kind` exchanged with `peer`, or undefined when the stanza may pass.
   */
  private async denial(owner: AccountRef, list: CompiledItem[] | undefined, kind: CheckedKind, peer: JID): Promise<PrivacyItem | undefined> {
    if (!list || list.length === 0) return undefined;
    const item = await evaluate(list, kind, peer, () => this.rosterFacts(owner, peer));
    return item?.action === 'deny' ? item : undefined;
  }

  private async rosterFacts(owner: AccountRef, peer: JID): Promise<RosterFacts> {
    const i = await this.ctx.services.roster.get(owner, peer.bare);
    return i && i.visible ? { subscription: i.subscription, groups: i.groups } : { subscription: 'none', groups: [] };
  }

  /** What arrives for a local account (and, for presence broadcasts, what its resources send). */
  private readonly inbound = (ctx: RouteContext): boolean | Promise<boolean> => {
    const { from, to, stanza } = ctx;
    if (from.bare === to.bare) return false;
    if (from.local === '' && this.ctx.isLocalHost(from.domain)) return false; // the server itself
    // Presence broadcasts a local user's resources send are routed by the server (no `/out`
    // event): their presence-out check is made here.
    const fromLocal = stanza.name === 'presence' && from.local !== '' && this.ctx.isLocalHost(from.domain) && isBroadcastPresence(stanza);
    if (this.cache.get(to.bare) === null && (!fromLocal || this.cache.get(from.bare) === null)) return false;
    return this.inboundChecked(ctx, fromLocal);
  };

  private async inboundChecked(ctx: RouteContext, fromLocal: boolean): Promise<boolean> {
    const { from, to, stanza } = ctx;
    if (fromLocal) {
      const sender = accountOf(from);
      const st = await this.state(sender);
      if (st) {
        const session = from.resource ? this.ctx.sessions.get(from.bare, from.resource) : undefined;
        if (await this.denial(sender, this.listFor(st, session), 'presence-out', to)) return true; // not sent, silently
      }
    }
    const owner = accountOf(to);
    const st = await this.state(owner);
    if (!st) return false;
    const kind: CheckedKind = stanza.name === 'message' ? 'message' : stanza.name === 'iq' ? 'iq' : isBroadcastPresence(stanza) ? 'presence-in' : 'other';
    if (to.resource !== '') {
      const session = this.ctx.sessions.get(to.bare, to.resource);
      if (!(await this.denial(owner, this.listFor(st, session), kind, from))) return false;
      return this.refuse(ctx);
    }
    // To the account: each resource's own list decides for it; a message for an account with no
    // available resource goes to offline storage, which the default list guards.
    const sessions = this.ctx.sessions.resources(to.bare);
    if (sessions.length === 0 || (stanza.name === 'message' && !sessions.some((s) => s.presence !== undefined))) {
      if (!(await this.denial(owner, this.listFor(st, undefined), kind, from))) return false;
      return this.refuse(ctx);
    }
    const byList = new Map<CompiledItem[] | undefined, boolean>();
    const excluded = new Set<string>();
    for (const s of sessions) {
      const list = this.listFor(st, s);
      let denied = byList.get(list);
      if (denied === undefined) byList.set(list, (denied = (await this.denial(owner, list, kind, from)) !== undefined));
      if (denied) excluded.add(s.id);
    }
    if (excluded.size === 0) return false;
    if (excluded.size === sessions.length) return this.refuse(ctx);
    ctx.excluded = excluded; // some resources' lists deny it: the others still get it
    return false;
  }

  /** A denied incoming stanza: messages and IQs are answered service-unavailable (XEP-0016 §2.13, XEP-0191 §3.3.1), the rest dropped. */
  private async refuse(ctx: RouteContext): Promise<true> {
    const { stanza } = ctx;
    const type = stanza.attrs.type;
    if ((stanza.name === 'message' && type !== 'groupchat' && type !== 'headline') || stanza.name === 'iq') {
      await this.ctx.router.bounce(ctx, 'service-unavailable');
    }
    return true;
  }

  /** What a local client sends (XEP-0016 §2.13, XEP-0191 §3.3.2: refused with not-acceptable). */
  private readonly outbound = (ctx: RouteContext): boolean | Promise<boolean> => {
    const { origin, from, to } = ctx;
    if (!origin || to.bare === from.bare) return false;
    if (to.local === '' && this.ctx.isLocalHost(to.domain)) return false; // to the server itself
    if (this.cache.get(from.bare) === null) return false;
    return this.outboundChecked(ctx, origin);
  };

  private async outboundChecked(ctx: RouteContext, origin: SessionRecord): Promise<boolean> {
    const { stanza, from, to } = ctx;
    const sender = accountOf(from);
    const st = await this.state(sender);
    if (!st) return false;
    const kind: CheckedKind = stanza.name === 'presence' && isBroadcastPresence(stanza) ? 'presence-out' : 'other';
    const item = await this.denial(sender, this.listFor(st, origin), kind, to);
    if (!item) return false;
    const type = stanza.attrs.type;
    if (type !== 'error' && type !== 'result') {
      const reply = errorReply(stanza, 'not-acceptable', 'Your active privacy list has denied the routing of this stanza.');
      if (isBlockItem(item)) reply.getChild('error')!.append(x('blocked', { xmlns: NS_BLOCKING_ERRORS }));
      reply.attrs.to = origin.jid.full;
      this.ctx.sessions.deliver(origin, reply);
    }
    return true;
  }

  // ---- jabber:iq:privacy ---------------------------------------------------------------------

  private checkOwn(from: JID, to: JID): AccountRef {
    if (from.bare !== to.bare) throw new StanzaError('forbidden', 'privacy lists belong to their account only');
    return accountOf(from);
  }

  private async iqGet(from: JID, to: JID, query: Element): Promise<Element> {
    const a = this.checkOwn(from, to);
    const els = query.elements();
    const st = await this.state(a);
    if (els.length === 0) return this.summary(st, from.resource ? this.ctx.sessions.get(from.bare, from.resource) : undefined);
    if (els.length !== 1 || els[0]!.name !== 'list' || !els[0]!.attrs.name) throw new StanzaError('bad-request', 'ask for the names, or for one list by name');
    const name = els[0]!.attrs.name;
    const items = st?.data.lists[name];
    if (!items) throw new StanzaError('item-not-found', `no privacy list named ${name}`);
    return x('query', { xmlns: NS_PRIVACY }, listElement(name, items));
  }

  private summary(st: State | null, session: SessionRecord | undefined): Element {
    const q = x('query', { xmlns: NS_PRIVACY });
    const active = session?.flags.privacyActive;
    if (active !== undefined && st?.data.lists[active]) q.c('active', { name: active });
    if (st?.data.default !== undefined) q.c('default', { name: st.data.default });
    for (const name of Object.keys(st?.data.lists ?? {}).sort()) q.c('list', { name });
    return q;
  }

  private async iqSet(from: JID, to: JID, query: Element, origin?: SessionRecord): Promise<undefined> {
    const a = this.checkOwn(from, to);
    await this.apply(a, query, origin);
    return undefined;
  }

  /**
   * Applies a `<query xmlns='jabber:iq:privacy'/>` set as the account (or one of its sessions,
   * `origin`) would: set the active or default list, create, replace or remove a list. Refuses
   * with the StanzaError XEP-0016 names (bad-request, item-not-found, conflict) or not-allowed
   * beyond `limits.maxPrivacyLists` / `limits.maxPrivacyListItems`.
   */
  async apply(a: AccountRef, query: Element, origin?: SessionRecord): Promise<void> {
    const els = query.elements();
    if (els.length !== 1) throw new StanzaError('bad-request', 'a privacy set carries exactly one of <active/>, <default/>, <list/>');
    const el = els[0]!;
    const name = el.attrs.name;
    if (name !== undefined && (name === '' || name.length > MAX_NAME_LENGTH)) throw new StanzaError('bad-request', 'a list name is 1 to 1023 characters');
    switch (el.name) {
      case 'active':
        return this.setActive(a, origin, name);
      case 'default':
        return this.setDefault(a, origin, name);
      case 'list': {
        if (name === undefined) throw new StanzaError('bad-request', 'a list has a name');
        const items = parseItems(el);
        if (items.length === 0) return this.removeList(a, origin, name);
        return this.putList(a, name, items);
      }
      default:
        throw new StanzaError('bad-request', `unexpected <${el.name}/> in a privacy set`);
    }
  }

  private async setActive(a: AccountRef, origin: SessionRecord | undefined, name: string | undefined): Promise<void> {
    if (!origin) throw new StanzaError('bad-request', 'an active list belongs to a session: set it from a client');
    if (name !== undefined) {
      const st = await this.state(a);
      if (!st?.data.lists[name]) throw new StanzaError('item-not-found', `no privacy list named ${name}`);
    }
    this.ctx.sessions.setFlag(origin, 'privacyActive', name);
  }

  /** Whether another session than `origin` applies the default list (it has no active list of its own). */
  private defaultInUse(a: AccountRef, data: PrivacyData, origin: SessionRecord | undefined): boolean {
    if (data.default === undefined) return false;
    return this.ctx.sessions.resources(bareOf(a)).some((s) => s.id !== origin?.id && (s.flags.privacyActive === undefined || !data.lists[s.flags.privacyActive]));
  }

  private async setDefault(a: AccountRef, origin: SessionRecord | undefined, name: string | undefined): Promise<void> {
    await this.modify(a, (data) => {
      if (name !== undefined && !data.lists[name]) throw new StanzaError('item-not-found', `no privacy list named ${name}`);
      if (data.default === name) return;
      if (this.defaultInUse(a, data, origin)) throw new StanzaError('conflict', 'the default list is in use by another resource');
      if (name === undefined) delete data.default;
      else data.default = name;
    });
  }

  private async removeList(a: AccountRef, origin: SessionRecord | undefined, name: string): Promise<void> {
    await this.modify(a, (data) => {
      if (!data.lists[name]) throw new StanzaError('item-not-found', `no privacy list named ${name}`);
      const activeElsewhere = this.ctx.sessions.resources(bareOf(a)).some((s) => s.id !== origin?.id && s.flags.privacyActive === name);
      if (activeElsewhere || (data.default === name && this.defaultInUse(a, data, origin))) {
        throw new StanzaError('conflict', `the list ${name} is in use by another resource`);
      }
      delete data.lists[name];
      if (data.default === name) delete data.default;
    });
    this.pushList(a, name);
  }

  private async putList(a: AccountRef, name: string, items: PrivacyItem[]): Promise<void> {
    if (items.length > this.maxItems) throw new StanzaError('not-allowed', `a privacy list holds at most ${this.maxItems} items (limits.maxPrivacyListItems)`);
    await this.modify(a, (data) => {
      if (!data.lists[name] && Object.keys(data.lists).length >= this.maxLists) {
        throw new StanzaError('not-allowed', `an account holds at most ${this.maxLists} privacy lists (limits.maxPrivacyLists)`);
      }
      data.lists[name] = items;
    });
    this.pushList(a, name);
  }

  /** A privacy list push (XEP-0016 §2.6) to every resource of the account. */
  private pushList(a: AccountRef, name: string): void {
    for (const s of this.ctx.sessions.resources(bareOf(a))) {
      this.ctx.sessions.deliver(s, x('iq', { type: 'set', id: `privacy-push-${++this.pushId}`, to: s.jid.full }, x('query', { xmlns: NS_PRIVACY }, x('list', { name }))));
    }
  }

  // ---- urn:xmpp:blocking -------------------------------------------------------------------------

  /** The JIDs the account blocks: the block items of its default list. */
  async blocklist(a: AccountRef): Promise<string[]> {
    const st = await this.state(a);
    const name = st?.data.default;
    if (!st || name === undefined) return [];
    return (st.data.lists[name] ?? []).filter(isBlockItem).map((i) => i.value!);
  }

  /**
   * Blocks JIDs (XEP-0191 §3.3): a deny-everything item for each, first in the default list (made
   * as "Blocked contacts" when the account has none). The account's available resources send
   * unavailable presence to each newly blocked JID before the block takes effect.
   */
  async block(a: AccountRef, jids: JID[]): Promise<void> {
    const { name, added } = await this.modify(
      a,
      (data) => {
        let name = data.default;
        if (name === undefined || !data.lists[name]) {
          name = BLOCK_LIST_NAME;
          if (!data.lists[name] && Object.keys(data.lists).length >= this.maxLists) {
            throw new StanzaError('not-allowed', `an account holds at most ${this.maxLists} privacy lists (limits.maxPrivacyLists)`);
          }
          data.lists[name] ??= [];
          data.default = name;
        }
        const items = data.lists[name]!;
        const have = new Set(items.filter(isBlockItem).map((i) => i.value));
        const added: string[] = [];
        for (const j of jids) if (!have.has(j.full) && !added.includes(j.full)) added.push(j.full);
        if (items.length + added.length > this.maxItems) {
          throw new StanzaError('not-allowed', `a privacy list holds at most ${this.maxItems} items (limits.maxPrivacyListItems)`);
        }
        const blocks: PrivacyItem[] = added.map((value) => ({ type: 'jid', value, action: 'deny', order: 0, kinds: [] }));
        data.lists[name] = [...blocks, ...items].map((i, n) => ({ ...i, order: n + 1 }));
        return { name, added };
      },
      async ({ added }) => {
        // XEP-0191 §3.3: only a contact that could see the account's presence is told it is gone.
        const bare = bareOf(a);
        const sessions = this.ctx.sessions.available(bare);
        if (sessions.length === 0) return;
        for (const value of added) {
          const contact = parseJID(value);
          const item = await this.ctx.services.roster.get(a, contact.bare);
          const subscribed = item?.subscription === 'from' || item?.subscription === 'both';
          for (const s of sessions) {
            if (subscribed || s.directedPresence.some((d) => parseJID(d).bare === contact.bare)) {
              await this.ctx.send(x('presence', { type: 'unavailable' }), s.jid, contact);
            }
          }
        }
      },
    );
    if (added.length === 0) return;
    this.pushBlocking(a, x('block', { xmlns: NS_BLOCKING }, ...added.map((jid) => x('item', { jid }))));
    this.pushList(a, name);
  }

  /** Unblocks JIDs, or every blocked JID (XEP-0191 §3.4, §3.5); contacts that may see the account's presence get it again. */
  async unblock(a: AccountRef, jids?: JID[]): Promise<void> {
    const { name, removed } = await this.modify(a, (data) => {
      const name = data.default;
      const items = name === undefined ? undefined : data.lists[name];
      if (!items) return { name, removed: [] as string[] };
      const wanted = jids && new Set(jids.map((j) => j.full));
      const removed: string[] = [];
      data.lists[name!] = items.filter((i) => {
        const drop = isBlockItem(i) && (!wanted || wanted.has(i.value!));
        if (drop) removed.push(i.value!);
        return !drop;
      });
      return { name, removed };
    });
    if (name !== undefined && removed.length > 0) this.pushList(a, name);
    this.pushBlocking(a, x('unblock', { xmlns: NS_BLOCKING }, ...(jids ? jids.map((j) => x('item', { jid: j.full })) : [])));
    const bare = bareOf(a);
    for (const value of removed) {
      const contact = parseJID(value);
      const item = await this.ctx.services.roster.get(a, contact.bare);
      if (!item || (item.subscription !== 'from' && item.subscription !== 'both')) continue;
      for (const s of this.ctx.sessions.available(bare)) {
        const p = this.ctx.sessions.presenceOf(s);
        if (p) await this.ctx.send(p, s.jid, contact);
      }
    }
  }

  private pushBlocking(a: AccountRef, payload: Element): void {
    for (const s of this.ctx.sessions.resources(bareOf(a))) {
      if (!s.flags.blocklistRequested) continue;
      this.ctx.sessions.deliver(s, x('iq', { type: 'set', id: `block-push-${++this.pushId}`, to: s.jid.full }, payload.clone()));
    }
  }

  private async blockingGet(from: JID, to: JID, payload: Element, origin?: SessionRecord): Promise<Element> {
    const a = this.checkOwn(from, to);
    if (payload.name !== 'blocklist') throw new StanzaError('bad-request', 'get <blocklist/>');
    // Interested from now on: a change made while this get is answered still reaches it as a push.
    if (origin) this.ctx.sessions.setFlag(origin, 'blocklistRequested', true);
    return x('blocklist', { xmlns: NS_BLOCKING }, ...(await this.blocklist(a)).map((jid) => x('item', { jid })));
  }

  private async blockingSet(from: JID, to: JID, payload: Element): Promise<undefined> {
    const a = this.checkOwn(from, to);
    if (payload.name !== 'block' && payload.name !== 'unblock') throw new StanzaError('bad-request', 'set <block/> or <unblock/>');
    const jids: JID[] = [];
    for (const el of payload.elements()) {
      if (el.name !== 'item') throw new StanzaError('bad-request', `unexpected <${el.name}/>`);
      const j = tryParseJID(el.attrs.jid ?? '');
      if (!j) throw new StanzaError('jid-malformed', `not a JID: ${el.attrs.jid ?? ''}`);
      jids.push(j);
    }
    if (jids.length > this.maxItems) throw new StanzaError('not-allowed', `a privacy list holds at most ${this.maxItems} items (limits.maxPrivacyListItems)`);
    if (payload.name === 'block') {
      if (jids.length === 0) throw new StanzaError('bad-request', 'block at least one JID');
      await this.block(a, jids);
    } else await this.unblock(a, jids.length ? jids : undefined);
    return undefined;
  }
}
