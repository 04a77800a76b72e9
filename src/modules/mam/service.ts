import type { ModuleContext } from '../module.js';
import type { RouteContext } from '../../router/router.js';
import type { SessionRecord } from '../../router/session.js';
import type { ValueStore } from '../../storage/kinds.js';
import { x, type Element } from '../../xmpp/xml/element.js';
import { parseElement } from '../../xmpp/xml/parse.js';
import { JID, tryParseJID } from '../../xmpp/jid.js';
import { NS } from '../../xmpp/ns.js';
import { StanzaError } from '../../xmpp/stanza.js';
import { accountOf, bareOf, type AccountRef } from '../../xmpp/account.js';
import { badArgument } from '../../errors.js';
import type { RoomArchive } from './contract.js';
import type { MamFilter, MamKind, MamRow, MamStore } from './store.js';
import { ArchiveWriter } from './writer.js';
import { NS_MAM, NS_MAM1, NS_MAM_EXTENDED, NS_MODERATE, NS_RETRACT, NS_RSM, NS_SID, parseId, parseQuery, queryForm } from './query.js';

export type Policy = 'always' | 'roster' | 'never';

/** An account's archiving preferences (XEP-0313 §5). */
export interface Prefs {
  default: Policy;
  always: string[];
  never: string[];
}

export interface MamStores {
  archive: MamStore;
  prefs: ValueStore<Prefs>;
}

const POLICIES: readonly string[] = ['always', 'roster', 'never'];
const PREFS_CACHE_MAX = 50_000;
const DAY_MS = 86_400_000;

/** A message of a one-to-one conversation (rooms archive their own). */
function oneToOne(s: Element): boolean {
  const type = s.attrs.type ?? 'normal';
  return type === 'chat' || type === 'normal';
}

/** Whether a message is one of a one-to-one conversation worth keeping (XEP-0313 §7, XEP-0334). */
function archivable(s: Element): boolean {
  if (!oneToOne(s)) return false;
  if (s.getChild('no-store', NS.hints) || s.getChild('no-permanent-store', NS.hints)) return false;
  return s.getChild('body') !== undefined || s.getChild('store', NS.hints) !== undefined;
}

/**
 * The sender's archived text of a message, by element, while it is routed: the recipient's copy is
 * the same text (nothing changes a message between its sender's archive and its recipient's), so
 * it is serialized once. Kept with the child count it was made at, as a check.
 */
const sentText = new WeakMap<Element, { text: string; children: number }>();

/** The message as archived: in the client namespace, so it reads right inside <forwarded/>. */
function serialize(s: Element): string {
  const sent = sentText.get(s);
  if (sent !== undefined && sent.children === s.children.length) return sent.text;
  const had = s.attrs.xmlns;
  s.attrs.xmlns = NS.client;
  const text = s.toString();
  if (had === undefined) delete s.attrs.xmlns;
  else s.attrs.xmlns = had;
  return text;
}

function remember(s: Element, text: string): string {
  sentText.set(s, { text, children: s.children.length });
  return text;
}

/** The sender's id of a message (XEP-0359 origin-id, else its id attribute): what a retraction names. */
function originOf(s: Element): string | null {
  return s.getChild('origin-id', NS_SID)?.attrs.id ?? s.attrs.id ?? null;
}

/** A message with its content gone, as XEP-0424 and XEP-0425 keep it in archives: addressing and ids stay. */
function tombstone(stored: string, marker: Element): string {
  const original = parseElement(stored);
  const kept = original.elements().filter((c) => (c.name === 'origin-id' && c.attrs.xmlns === NS_SID) || c.attrs.xmlns === 'urn:xmpp:occupant-id:0');
  const el = x('message', { ...original.attrs }, ...kept, marker);
  return el.toString();
}

/**
 * The message archive (XEP-0313) of accounts, and of rooms for the group chat module
 * (`RoomArchive`). Messages are archived on the routing path and written in batches (`ArchiveWriter`);
 * queries read after the queued writes.
 */
export class MamService implements RoomArchive {
  private readonly writer: ArchiveWriter;
  /** Archive sizes known in memory: an unfiltered query's count without walking the archive's index. */
  private readonly sizes = new ArchiveSizes(10_000);
  private readonly prefsCache = new Map<string, Prefs | null>();
  /** Moves with every change of preferences: a read that overlapped one does not fill the cache. */
  private prefsGeneration = 0;

  constructor(private readonly ctx: ModuleContext<'accounts' | 'roster' | 'disco', MamStores>) {
    const cfg = () => ctx.config.mam;
    this.writer = new ArchiveWriter(
      ctx.store.archive,
      ctx.log,
      () => cfg().writeQueue,
      () => cfg().flushInterval,
      () => cfg().commitInterval,
      (_owner, kind) => Math.max(1, Math.floor(this.limitOf(kind) / 100)),
      (owner, kind) => this.trim(owner, kind),
      (owner, rows) => this.sizes.added(owner, rows),
    );
    ctx.hooks.on('node-stopping', () => this.writer.flush());
    ctx.hooks.on('caches-clear', async ({ module, tables }) => {
      if (module === undefined || module === ctx.name) {
        this.prefsGeneration++;
        this.prefsCache.clear();
      }
      // A restored archive may hold ids above the ones this node gives next.
      if (tables?.includes('mam_messages')) await this.writer.resync();
      if (module === undefined || module === ctx.name || tables?.includes('mam_messages')) this.sizes.clear();
    });
    ctx.hooks.on('account-removing', async ({ tx, ...account }) => {
      const owner = bareOf(account);
      this.writer.drop(owner);
      this.prefsGeneration++;
      this.prefsCache.delete(owner);
      this.sizes.forget(owner);
      await tx.mam.removeOwner(owner);
    });
    // Rows of the account queued while its removal ran would outlive it.
    ctx.hooks.on('account-removed', async (account) => {
      const owner = bareOf(account);
      this.writer.drop(owner);
      this.prefsGeneration++;
      this.prefsCache.delete(owner);
      await this.writer.flush();
      await this.archive.removeOwner(owner);
      this.sizes.forget(owner);
    });
    if (!cfg().enabled) return;

    // Below privacy lists (what they block is not archived), above carbons and offline storage
    // (their copies carry the stanza id), and delivery.
    ctx.router.on('message/bare', (c) => this.incoming(c), 100);
    ctx.router.on('message/full', (c) => this.incoming(c), 100);
    ctx.router.on('message/out', (c) => this.outgoing(c), 50);
    for (const ns of [NS_MAM, NS_MAM1]) {
      ctx.iq.register({
        xmlns: ns,
        target: 'bare',
        get: (c) => this.iqGet(c.from, c.to, c.payload, ns),
        set: (c) => this.iqSet(c.from, c.to, c.iq, c.payload, ns, c.origin),
      });
    }
    for (const f of [NS_MAM, NS_MAM1, NS_MAM_EXTENDED]) ctx.services.disco.accountFeatures.add(f);
  }

  private get archive(): MamStore {
    return this.ctx.store.archive;
  }

  /** How many messages the archive holds (stored ones: callers flush the writer first when it matters). */
  private async size(owner: string): Promise<number> {
    const known = this.sizes.get(owner);
    if (known !== undefined) return known;
    // Kept only when no row of this archive was on its way to the store meanwhile.
    const settled = this.writer.settled(owner);
    const mark = this.sizes.mark();
    const n = await this.archive.count(owner, {});
    if (settled && this.writer.settled(owner)) this.sizes.set(owner, n, mark);
    return n;
  }

  private limitOf(kind: MamKind): number {
    return kind === 'groupchat' ? this.ctx.config.mam.maxMessagesPerRoom : this.ctx.config.mam.maxMessagesPerAccount;
  }

  private async trim(owner: string, kind: MamKind): Promise<void> {
    const limit = this.limitOf(kind);
    if ((await this.size(owner)) > limit) {
      await this.archive.trim(owner, limit);
      this.sizes.forget(owner);
    }
  }

  // ---- archiving ------------------------------------------------------------------------------

  /** A message for a local account: its copy in the recipient's archive, and the stanza id on what is delivered. */
  private async incoming(c: RouteContext): Promise<boolean> {
    const s = c.stanza;
    if (s.name !== 'message') return false;
    const owner = c.to.bare;
    // Clients' stanza ids are stripped as they send (outgoing): one by this archive was given here,
    // and the message is routed again (to the bare JID after an unavailable resource, or after a
    // session ended before its client acknowledged it).
    if (s.getChildren('stanza-id', NS_SID).some((n) => n.attrs.by === owner)) return false;
    const retract = oneToOne(s) ? s.getChild('retract', NS_RETRACT) : undefined;
    if (retract?.attrs.id) await this.retract(owner, c.from.bare, 'in', retract.attrs.id);
    if (!archivable(s)) return false;
    const account = accountOf(c.to);
    if (!this.ctx.sessions.hasSessions(owner) && !(await this.ctx.services.accounts.exists(account))) return false;
    if (!(await this.wanted(account, c.from.bare))) return false;
    await this.writer.ready;
    const id = this.writer.nextId();
    const row: MamRow = {
      owner,
      id,
      peer: c.from.bare,
      peerResource: c.from.resource,
      kind: 'in',
      originId: originOf(s),
      createdAt: Math.floor(id / 1000),
      stanza: serialize(s),
      state: 0,
    };
    s.append(x('stanza-id', { xmlns: NS_SID, by: owner, id: String(id) }));
    await this.writer.add(row);
    return false;
  }

  /** A message a local client sends: its copy in the sender's archive. */
  private async outgoing(c: RouteContext): Promise<boolean> {
    const s = c.stanza;
    if (!c.origin || s.name !== 'message') return false;
    // XEP-0359 §3.1: stanza ids are given by the archives they name; a client's are forgeries
    // (clients name their messages with origin-id).
    if (s.getChild('stanza-id', NS_SID)) s.removeChildren('stanza-id', NS_SID);
    const owner = c.from.bare;
    const retract = oneToOne(s) ? s.getChild('retract', NS_RETRACT) : undefined;
    if (retract?.attrs.id) await this.retract(owner, c.to.bare, 'out', retract.attrs.id);
    // A note to oneself is archived once, as it arrives.
    if (!archivable(s) || c.to.bare === owner) return false;
    const account = accountOf(c.from);
    if (!(await this.wanted(account, c.to.bare))) return false;
    await this.writer.ready;
    const id = this.writer.nextId();
    await this.writer.add({
      owner,
      id,
      peer: c.to.bare,
      peerResource: c.to.resource,
      kind: 'out',
      originId: originOf(s),
      createdAt: Math.floor(id / 1000),
      stanza: remember(s, serialize(s)),
      state: 0,
    });
    return false;
  }

  /** XEP-0424: the sender retracts a message; its copy in this archive becomes a tombstone. */
  private async retract(owner: string, peer: string, kind: 'in' | 'out', ref: string): Promise<void> {
    await this.writer.flush();
    let row = await this.archive.findByOrigin(owner, peer, kind, ref);
    if (!row) {
      const id = parseId(ref);
      const byId = id !== undefined ? await this.archive.get(owner, id) : undefined;
      if (byId && byId.peer === peer && byId.kind === kind) row = byId;
    }
    if (!row || row.state !== 0) return;
    const marker = x('retracted', { xmlns: NS_RETRACT, stamp: new Date().toISOString() });
    await this.archive.replace(owner, row.id, tombstone(row.stanza, marker), 1);
  }

  /** Whether the account archives its conversation with `peer` (its preferences, XEP-0313 §5). */
  private async wanted(account: AccountRef, peer: string): Promise<boolean> {
    const prefs = await this.prefsOf(account);
    if (prefs.never.includes(peer)) return false;
    if (prefs.always.includes(peer)) return true;
    if (prefs.default === 'always') return true;
    if (prefs.default === 'never') return false;
    return (await this.ctx.services.roster.contact(account, peer)) !== undefined;
  }

  async prefsOf(account: AccountRef): Promise<Prefs> {
    const bare = bareOf(account);
    let p = this.prefsCache.get(bare);
    if (p === undefined) {
      const generation = this.prefsGeneration;
      p = (await this.ctx.store.prefs.get(account)) ?? null;
      if (generation === this.prefsGeneration) {
        if (this.prefsCache.size >= PREFS_CACHE_MAX) this.prefsCache.delete(this.prefsCache.keys().next().value!);
        this.prefsCache.set(bare, p);
      }
    }
    return p ?? { default: this.ctx.config.mam.defaultPolicy, always: [], never: [] };
  }

  async setPrefs(account: AccountRef, prefs: Prefs): Promise<void> {
    const bare = bareOf(account);
    this.prefsGeneration++;
    this.prefsCache.delete(bare);
    await this.ctx.store.prefs.set(account, prefs);
    this.prefsGeneration++;
    this.prefsCache.delete(bare);
  }

  // ---- XMPP ------------------------------------------------------------------------------------

  private checkOwn(from: JID, to: JID): void {
    // XEP-0313 §4: an account's archive is its own.
    if (from.bare !== to.bare) throw new StanzaError('forbidden', 'this archive is not yours');
  }

  private async iqGet(from: JID, to: JID, payload: Element, ns: string): Promise<Element | undefined> {
    this.checkOwn(from, to);
    if (payload.name === 'prefs') return prefsElement(await this.prefsOf(accountOf(to)), ns);
    if (payload.name === 'query') return queryForm(ns);
    if (payload.name === 'metadata' && ns === NS_MAM) return this.metadata(to.bare);
    throw new StanzaError('feature-not-implemented');
  }

  private async iqSet(from: JID, to: JID, iq: Element, payload: Element, ns: string, origin?: SessionRecord): Promise<Element | undefined> {
    this.checkOwn(from, to);
    if (payload.name === 'prefs') {
      const prefs = this.readPrefs(payload);
      await this.setPrefs(accountOf(to), prefs);
      return prefsElement(prefs, ns);
    }
    if (payload.name !== 'query') throw new StanzaError('feature-not-implemented');
    return this.query(to.bare, payload, ns, (msg) => {
      msg.attrs.from = to.bare;
      msg.attrs.to = from.full;
      // The requester's own session: straight to it, in order before the IQ result.
      if (origin) this.ctx.sessions.deliver(origin, msg);
      else return this.ctx.send(msg, to.bareJID(), from);
    });
  }

  private readPrefs(payload: Element): Prefs {
    const def = payload.attrs.default ?? 'always';
    if (!POLICIES.includes(def)) throw new StanzaError('bad-request', `default must be always, roster or never`);
    const list = (name: string): string[] => {
      const out = new Set<string>();
      for (const j of payload.getChild(name)?.getChildren('jid') ?? []) {
        const jid = tryParseJID(j.text().trim());
        if (!jid) throw new StanzaError('jid-malformed', `${j.text()} is not a valid JID`);
        out.add(jid.bare);
      }
      return [...out];
    };
    const always = list('always');
    const never = list('never');
    if (always.length + never.length > this.ctx.config.mam.maxPrefsJids) {
      throw new StanzaError('not-acceptable', `at most ${this.ctx.config.mam.maxPrefsJids} JIDs in the always and never lists (mam.maxPrefsJids)`);
    }
    return { default: def as Policy, always, never: never.filter((j) => !always.includes(j)) };
  }

  private async metadata(owner: string): Promise<Element> {
    await this.writer.flush();
    const b = await this.archive.bounds(owner);
    const el = x('metadata', { xmlns: NS_MAM });
    if (b) {
      el.append(x('start', { id: String(b.first.id), timestamp: stamp(b.first.createdAt) }));
      el.append(x('end', { id: String(b.last.id), timestamp: stamp(b.last.createdAt) }));
    }
    return el;
  }

  /**
   * Runs a query on one archive: sends each result with `send` (in order) and returns the `<fin/>`.
   * Pages are keyset pages on (owner, id) or (owner, peer, id); the count is exact, and bounded by
   * the archive's size limit.
   */
  private async query(owner: string, payload: Element, ns: string, send: (msg: Element) => void | Promise<void>): Promise<Element> {
    const q = parseQuery(payload, ns);
    const cfg = this.ctx.config.mam;
    const max = Math.min(q.max ?? cfg.defaultPageSize, cfg.maxPageSize);
    await this.writer.flush();
    for (const id of q.mustExist) if (!(await this.archive.get(owner, id))) throw new StanzaError('item-not-found', `no message ${id} in this archive`);
    const set: MamFilter = q.filter;
    const pageFilter: MamFilter = { ...set };
    const backwards = q.before !== undefined;
    const ref = q.after ?? q.before;
    if (ref) {
      const id = parseId(ref);
      if (id === undefined || !(await this.archive.get(owner, id))) throw new StanzaError('item-not-found', `no message ${ref} in this archive`);
      if (backwards) pageFilter.beforeId = Math.min(pageFilter.beforeId ?? Number.MAX_SAFE_INTEGER, id);
      else pageFilter.afterId = Math.max(pageFilter.afterId ?? 0, id);
    }
    // Exact up to mam.maxCount (by default the archive's size limit, so exact); past it a lower bound,
    // as XEP-0059 §2.6 lets an expensive count be approximate.
    const count = isWholeArchive(set) ? Math.min(await this.size(owner), cfg.maxCount) : await this.archive.count(owner, set, cfg.maxCount);
    let rows: MamRow[] = [];
    let complete = true;
    if (max > 0) {
      rows = await this.archive.page(owner, pageFilter, max + 1, backwards ? 'desc' : 'asc');
      complete = rows.length <= max;
      rows = rows.slice(0, max);
      if (backwards) rows.reverse();
    } else {
      complete = count === 0;
    }
    if (q.flip) rows.reverse();
    for (const r of rows) {
      const result = x('result', { xmlns: ns, id: String(r.id), ...(q.queryId !== undefined ? { queryid: q.queryId } : {}) });
      result.append(x('forwarded', { xmlns: NS.forward }, x('delay', { xmlns: NS.delay, stamp: stamp(r.createdAt) }), parseElement(r.stanza)));
      await send(x('message', { id: this.ctx.randomId() }, result));
    }
    const rsm = x('set', { xmlns: NS_RSM });
    if (rows.length > 0) {
      rsm.append(x('first', {}, String(rows[0]!.id)));
      rsm.append(x('last', {}, String(rows[rows.length - 1]!.id)));
    }
    rsm.append(x('count', {}, String(count)));
    const fin = x('fin', { xmlns: ns, ...(complete ? { complete: 'true' } : {}) }, rsm);
    if (q.queryId !== undefined && ns === NS_MAM1) fin.attrs.queryid = q.queryId;
    return fin;
  }

  // ---- rooms (RoomArchive) -----------------------------------------------------------------------

  async archiveRoomMessage(room: string, stanza: Element, senderJid: string): Promise<string | undefined> {
    if (!this.ctx.config.mam.enabled) return undefined;
    const sender = tryParseJID(senderJid);
    const from = tryParseJID(stanza.attrs.from ?? '');
    await this.writer.ready;
    const id = this.writer.nextId();
    await this.writer.add({
      owner: room,
      id,
      peer: sender?.bare ?? senderJid,
      peerResource: from?.resource ?? '',
      kind: 'groupchat',
      originId: originOf(stanza),
      createdAt: Math.floor(id / 1000),
      stanza: serialize(stanza),
      state: 0,
    });
    return String(id);
  }

  async queryRoom(room: string, requester: JID, _iq: Element, payload: Element): Promise<Element | undefined> {
    if (!this.ctx.config.mam.enabled) throw new StanzaError('feature-not-implemented', 'the archive is off');
    const ns = payload.attrs.xmlns === NS_MAM1 ? NS_MAM1 : NS_MAM;
    const roomJid = tryParseJID(room);
    if (!roomJid) throw new StanzaError('item-not-found');
    return this.query(room, payload, ns, (msg) => this.ctx.send(msg, roomJid, requester));
  }

  async moderateRoomMessage(room: string, stanzaId: string, moderator: string, reason?: string): Promise<boolean> {
    const id = parseId(stanzaId);
    if (id === undefined) return false;
    await this.writer.flush();
    const row = await this.archive.get(room, id);
    if (!row) return false;
    const marker = x(
      'retracted',
      { xmlns: NS_RETRACT, stamp: new Date().toISOString() },
      x('moderated', { xmlns: NS_MODERATE, by: moderator }),
      reason ? x('reason', {}, reason) : undefined,
    );
    return this.archive.replace(room, id, tombstone(row.stanza, marker), 2);
  }

  /**
   * The newest `limit` messages of a room's archive, oldest first, as stored (the admin surfaces'
   * view of a room's history: Openfire's chathistory).
   */
  async roomHistory(room: string, limit: number): Promise<{ stanza: string; createdAt: number }[]> {
    await this.writer.flush();
    const rows = await this.archive.page(room, {}, limit, 'desc');
    return rows.reverse().map((r) => ({ stanza: r.stanza, createdAt: r.createdAt }));
  }

  async removeRoomArchive(room: string): Promise<number> {
    this.writer.drop(room);
    await this.writer.flush();
    try {
      return await this.archive.removeOwner(room);
    } finally {
      this.sizes.forget(room);
    }
  }

  // ---- admin ------------------------------------------------------------------------------------

  /** Removes messages older than `days` days, of one-to-one chats, rooms, or both. */
  async deleteOlderThan(type: 'chat' | 'groupchat' | 'all', days: number): Promise<number> {
    if (days < 0) throw badArgument(`Invalid number of days: ${days}`);
    await this.writer.flush();
    const kinds: MamKind[] = type === 'chat' ? ['in', 'out'] : type === 'groupchat' ? ['groupchat'] : ['in', 'out', 'groupchat'];
    try {
      return await this.archive.removeOlderThan(Date.now() - days * DAY_MS, kinds);
    } finally {
      this.sizes.clear();
    }
  }

  /** Removes an account's archive, or its conversation with one peer. */
  async removeFor(account: AccountRef, peer?: JID): Promise<number> {
    const owner = bareOf(account);
    await this.writer.flush();
    try {
      return await this.archive.removeOwner(owner, peer?.bare);
    } finally {
      this.sizes.forget(owner);
    }
  }

  /** Writes what is queued (tests, benchmarks, and before reading around the service). */
  flush(): Promise<void> {
    return this.writer.flush();
  }
}

function stamp(ms: number): string {
  return new Date(ms).toISOString();
}

function prefsElement(p: Prefs, ns: string): Element {
  const list = (name: string, jids: string[]) => x(name, {}, ...jids.map((j) => x('jid', {}, j)));
  return x('prefs', { xmlns: ns, default: p.default }, list('always', p.always), list('never', p.never));
}

/** Whether a query's filter selects the whole archive (its count is the archive's size). */
function isWholeArchive(f: MamFilter): boolean {
  return Object.values(f).every((v) => v === undefined);
}

/**
 * Archive sizes by owner, moved by the writer as rows are stored and forgotten on removals, so a
 * query counts a large archive once rather than on every page (XEP-0059 `<count/>` is exact either
 * way). A size read from storage is kept only when nothing changed any archive while it was read.
 */
class ArchiveSizes {
  private readonly known = new Map<string, number>();
  private changes = 0;

  constructor(private readonly capacity: number) {}

  get(owner: string): number | undefined {
    return this.known.get(owner);
  }

  /** A mark to pass to `set`: the count read after it is kept only if no archive changed meanwhile. */
  mark(): number {
    return this.changes;
  }

  set(owner: string, n: number, mark: number): void {
    if (mark !== this.changes) return;
    if (this.known.size >= this.capacity && !this.known.has(owner)) this.known.delete(this.known.keys().next().value!);
    this.known.set(owner, n);
  }

  added(owner: string, rows: number): void {
    this.changes++;
    const n = this.known.get(owner);
    if (n !== undefined) this.known.set(owner, n + rows);
  }

  forget(owner: string): void {
    this.changes++;
    this.known.delete(owner);
  }

  clear(): void {
    this.changes++;
    this.known.clear();
  }
}
