/**
 * The group chat service: serves `conference.<host>` for every host, keeps the active and
 * persistent rooms in memory, routes each stanza to its room, answers what the service itself is
 * asked (disco, nick registration, MUC/Sub subscriptions), and offers the same operations to the
 * admin surfaces (RoomService).
 */
import { createHmac, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ModuleContext } from '../module.js';
import type { RouteContext } from '../../router/router.js';
import type { Element } from '../../xmpp/xml/element.js';
import { x } from '../../xmpp/xml/element.js';
import { JID, nameprep, parseJID, tryParseJID } from '../../xmpp/jid.js';
import { StanzaError, errorReply, iqResult, isErrorStanza } from '../../xmpp/stanza.js';
import { DomainError, badArgument, conflict, forbidden, fromStanzaCondition, notFound } from '../../errors.js';
import type { AffiliationEntry, Affiliation, OccupantInfo, RoomConfig, RoomInfo, RoomService } from './api.js';
import type { MucStore, StoredSubscriber } from './store.js';
import type { RoomArchive } from '../mam/index.js';
import { Room, defaultConfig, AFFILIATION_RANK, type MucLimits, type RoomHost } from './room.js';
import { MUC_NS, ALL_MUCSUB_NODES } from './ns.js';
import { NS_DATA, field, readForm } from './forms.js';

/** The search fields of a room's archive (XEP-0313 §5.1). */
function mamFields(): Element {
  const form = x('x', { xmlns: NS_DATA, type: 'form' });
  field(form, 'FORM_TYPE', 'hidden', MUC_NS.mam);
  for (const v of ['with', 'start', 'end']) form.c('field', { var: v, type: v === 'with' ? 'jid-single' : 'text-single' });
  return x('query', { xmlns: MUC_NS.mam }, form);
}

/** The occupant-id key in `file`, made (random, owner-only) on first use. */
function loadSecret(file: string): Buffer {
  try {
    const key = readFileSync(file);
    if (key.length >= 32) return key;
  } catch {
    // made below
  }
  const key = randomBytes(32);
  writeFileSync(file, key, { mode: 0o600 });
  return key;
}

/** Public rooms in one answer of the room directory at most. */
const DIRECTORY_PAGE = 500;
const NS_RSM = 'http://jabber.org/protocol/rsm';

/** Queries between occupants waiting for an answer, across rooms (each forgotten after a minute). */
const MAX_FORWARDED_IQS = 10_000;

type Ctx = ModuleContext<'accounts' | 'disco', MucStore>;

interface ForwardedIq {
  requester: JID;
  id: string;
  /** The nick the answer comes from. */
  targetNick: string;
  room: Room;
}

/** A StanzaError as the admin surfaces see it (a room refuses what it does not allow: forbidden). */
function domainError(err: unknown): unknown {
  return err instanceof StanzaError ? fromStanzaCondition(err.condition, err.text ?? err.condition, 'forbidden') : err;
}

export class MucService implements RoomService, RoomHost {
  readonly limits: MucLimits;
  private readonly active = new Map<string, Room>();
  /** Service domain → host. */
  private readonly domains = new Map<string, string>();
  /** Rooms each full JID is in. */
  private readonly roomsOfJid = new Map<string, Set<Room>>();
  /** Rooms each bare JID is in, with how many of its resources. */
  private readonly roomsOfBare = new Map<string, Map<Room, number>>();
  private readonly forwarded = new Map<string, ForwardedIq>();
  private readonly ready: Promise<void>;
  /**
   * The key occupant ids (XEP-0421) are made with: kept in the data directory, so an account keeps its id
   * in a room across restarts while nobody can compute it from a real JID.
   */
  private readonly occupantSecret: Buffer;

  constructor(private readonly ctx: Ctx) {
    this.limits = ctx.config.muc;
    this.occupantSecret = loadSecret(join(ctx.dataDir, 'muc-occupant-id.key'));
    if (this.limits.enabled) {
      for (const host of ctx.hosts) {
        const domain = nameprep(this.limits.domain.replaceAll('{host}', host));
        this.domains.set(domain, host);
        ctx.router.addDomain(domain, (rc) => this.handle(rc));
        ctx.services.disco.addHostItem(host, domain, 'Chatrooms');
      }
    }
    ctx.hooks.on('session-closed', ({ session }) => this.sessionGone(session.jid));
    ctx.hooks.on('account-removing', ({ tx, user, host }) => tx.muc.removeAccount(`${user}@${host}`));
    ctx.hooks.on('account-removed', ({ user, host }) => this.forgetAccount(`${user}@${host}`));
    ctx.hooks.on('node-closing-sessions', () => this.shutdown());
    ctx.hooks.on('caches-clear', ({ module, tables }) => {
      if (module !== undefined && module !== 'muc') return;
      if (tables !== undefined && !tables.some((t) => t.startsWith('muc_'))) return;
      return this.reload();
    });
    this.ready = this.load();
  }

  /**
   * Reads the stored rooms again (a restore replaced them): rooms with occupants keep their
   * occupants and take the stored options and affiliations; persistent rooms no longer stored go.
   */
  private async reload(): Promise<void> {
    await this.ready;
    const stored = await this.ctx.store.loadRooms([...this.domains.keys()]);
    const seen = new Set<string>();
    for (const s of stored) {
      const fresh = Room.fromStored(this, s);
      seen.add(fresh.bare);
      const current = this.active.get(fresh.bare);
      if (!current || current.occupants.size === 0) {
        if (current) current.gone = true;
        this.active.set(fresh.bare, fresh);
        continue;
      }
      await current.run(() => {
        current.config = fresh.config;
        current.subject = fresh.subject;
        current.subjectBy = fresh.subjectBy;
        current.affiliations.clear();
        for (const [k, v] of fresh.affiliations) current.affiliations.set(k, v);
        current.subscribers.clear();
        for (const [k, v] of fresh.subscribers) current.subscribers.set(k, v);
      });
    }
    for (const room of [...this.active.values()]) {
      if (room.config.persistent && !seen.has(room.bare) && room.occupants.size === 0) {
        room.gone = true;
        this.active.delete(room.bare);
      }
    }
  }

  private async load(): Promise<void> {
    try {
      for (const s of await this.ctx.store.loadRooms([...this.domains.keys()])) {
        const room = Room.fromStored(this, s);
        this.active.set(room.bare, room);
      }
    } catch (err) {
      this.ctx.log.error({ err }, 'loading the persistent rooms failed');
    }
  }

  // ---- RoomHost --------------------------------------------------------------------------

  randomId(): string {
    return this.ctx.randomId();
  }

  occupantId(room: string, bare: string): string {
    return createHmac('sha256', this.occupantSecret).update(room).update('\u0000').update(bare).digest('base64url').slice(0, 22);
  }

  isServiceAdmin(bare: string): boolean {
    const j = tryParseJID(bare);
    return j !== undefined && j.local !== '' && this.ctx.isLocalHost(j.domain) && this.ctx.isAdmin({ user: j.local, host: j.domain });
  }

  deliver(to: JID, el: Element): void {
    const s = this.ctx.sessions.get(to.bare, to.resource);
    if (s) {
      el.attrs.to = to.full;
      this.ctx.sessions.deliver(s, el);
    } else if (!this.ctx.isLocalHost(to.domain) && el.attrs.from) {
      const from = tryParseJID(el.attrs.from);
      if (from) void this.ctx.send(el.clone(), from, to).catch((err) => this.ctx.log.warn({ err }, 'routing from a room failed'));
    }
  }

  sendTo(el: Element, from: JID, to: JID): void {
    void this.ctx.send(el, from, to).catch((err) => this.ctx.log.warn({ err }, 'routing from a room failed'));
  }

  sendToBare(el: Element, from: JID, to: string): void {
    const j = tryParseJID(to);
    if (j) this.sendTo(el, from, j);
  }

  archive(): RoomArchive | undefined {
    return this.ctx.optional('mam');
  }

  nickOwner(service: string, nick: string): Promise<string | undefined> {
    return this.ctx.store.nickOwner(service, nick);
  }

  mayJoinAnother(bare: string, room: Room): boolean {
    const mine = this.roomsOfBare.get(bare);
    if (!mine || mine.has(room)) return true;
    return mine.size < this.limits.maxJoinedRoomsPerAccount;
  }

  mayPersist(room: Room, by: string | undefined): boolean {
    if (by === undefined || this.isServiceAdmin(by)) return true;
    let n = 0;
    for (const r of this.active.values()) if (r !== room && r.config.persistent && r.affiliationOf(by) === 'owner') n++;
    return n < this.limits.maxPersistentRoomsPerAccount;
  }

  joined(full: string, room: Room): void {
    let set = this.roomsOfJid.get(full);
    if (!set) this.roomsOfJid.set(full, (set = new Set()));
    if (set.has(room)) return;
    set.add(room);
    const bare = full.includes('/') ? full.slice(0, full.indexOf('/')) : full;
    let per = this.roomsOfBare.get(bare);
    if (!per) this.roomsOfBare.set(bare, (per = new Map()));
    per.set(room, (per.get(room) ?? 0) + 1);
  }

  left(full: string, room: Room): void {
    const set = this.roomsOfJid.get(full);
    if (!set?.delete(room)) return;
    if (set.size === 0) this.roomsOfJid.delete(full);
    const bare = full.includes('/') ? full.slice(0, full.indexOf('/')) : full;
    const per = this.roomsOfBare.get(bare);
    if (!per) return;
    const n = (per.get(room) ?? 1) - 1;
    if (n <= 0) per.delete(room);
    else per.set(room, n);
    if (per.size === 0) this.roomsOfBare.delete(bare);
  }

  emptied(room: Room): void {
    if (room.occupants.size > 0 || room.config.persistent || room.subscribers.size > 0) return;
    room.gone = true;
    if (this.active.get(room.bare) === room) this.active.delete(room.bare);
  }

  async saveRoom(room: Room): Promise<void> {
    if (room.config.persistent && !room.gone) await this.ctx.store.updateRoom(room.stored());
  }

  async saveAffiliation(room: Room, bare: string, affiliation: Affiliation, reason: string): Promise<void> {
    if (!room.config.persistent) return;
    await this.ctx.store.setAffiliation(room.jid.domain, room.jid.local, affiliation === 'none' ? { jid: bare, affiliation } : { jid: bare, affiliation, reason });
  }

  async saveSubscriber(room: Room, jid: string, sub: StoredSubscriber | undefined): Promise<void> {
    if (room.config.persistent) await this.ctx.store.setSubscriber(room.jid.domain, room.jid.local, jid, sub);
  }

  async configured(room: Room, before: RoomConfig): Promise<void> {
    if (room.config.persistent && !before.persistent) await this.ctx.store.putRoom(room.stored());
    else if (room.config.persistent) await this.ctx.store.updateRoom(room.stored());
    else if (before.persistent) await this.ctx.store.deleteRoom(room.jid.domain, room.jid.local);
  }

  async destroy(room: Room, reason: string, alternate: string, password: string): Promise<void> {
    const persistent = room.config.persistent;
    room.destroyed(reason, alternate, password);
    if (this.active.get(room.bare) === room) this.active.delete(room.bare);
    if (persistent) await this.ctx.store.deleteRoom(room.jid.domain, room.jid.local);
    const archive = this.archive();
    if (archive) await archive.removeRoomArchive(room.bare).catch((err) => this.ctx.log.warn({ err, room: room.bare }, 'removing the archive of a destroyed room failed'));
  }

  /** The node stops: everyone in a room is told (332) while the sessions are still open. */
  private async shutdown(): Promise<void> {
    for (const room of [...this.active.values()]) if (room.occupants.size > 0) await room.run(() => room.shutdown());
  }

  // ---- hooks -----------------------------------------------------------------------------

  private async sessionGone(jid: JID): Promise<void> {
    const rooms = this.roomsOfJid.get(jid.full);
    if (!rooms) return;
    for (const room of [...rooms]) {
      await room.run(() => {
        const o = room.byJid.get(jid.full);
        if (o) room.leave(o, jid);
      });
    }
  }

  private async forgetAccount(bare: string): Promise<void> {
    await this.ready;
    for (const room of this.active.values()) {
      room.affiliations.delete(bare);
      room.subscribers.delete(bare);
    }
  }

  // ---- routing ---------------------------------------------------------------------------

  private async handle(rc: RouteContext): Promise<void> {
    await this.ready;
    const { stanza, from, to } = rc;
    try {
      if (to.local === '') await this.serviceStanza(rc);
      else if (stanza.name === 'iq') await this.roomIq(rc);
      else if (stanza.name === 'presence') await this.roomPresence(rc);
      else if (stanza.name === 'message') await this.roomMessage(rc);
    } catch (err) {
      if (!(err instanceof StanzaError)) this.ctx.log.error({ err, to: to.full }, 'a room failed to handle a stanza');
      if (isErrorStanza(stanza)) return;
      if (stanza.name === 'iq' && stanza.attrs.type !== 'get' && stanza.attrs.type !== 'set') return;
      const e = err instanceof StanzaError ? err : new StanzaError('internal-server-error');
      const reply = errorReply(stanza, e.condition, e.text, e.type);
      reply.attrs.from = to.full;
      reply.attrs.to = from.full;
      this.deliverOrRoute(reply, to, from);
    }
  }

  private deliverOrRoute(el: Element, from: JID, to: JID): void {
    if (to.resource && this.ctx.sessions.get(to.bare, to.resource)) this.deliver(to, el);
    else this.sendTo(el, from, to);
  }

  private reply(iq: Element, from: JID, to: JID, payload: Element | undefined): void {
    const r = iqResult(iq, payload);
    r.attrs.from = to.full;
    r.attrs.to = from.full;
    this.deliverOrRoute(r, to, from);
  }

  /** The single payload of an IQ get or set; bad-request otherwise. */
  private payloadOf(iq: Element): Element {
    const children = iq.elements();
    if (children.length !== 1 || iq.attrs.id === undefined) throw new StanzaError('bad-request', 'an IQ get or set carries exactly one payload and an id');
    return children[0]!;
  }

  private async serviceStanza(rc: RouteContext): Promise<void> {
    const { stanza, from, to } = rc;
    if (stanza.name !== 'iq') return; // presence and messages to the service itself mean nothing
    const type = stanza.attrs.type;
    if (type !== 'get' && type !== 'set') return;
    const payload = this.payloadOf(stanza);
    const ns = payload.attrs.xmlns;
    let result: Element | undefined;
    if (ns === MUC_NS.discoInfo && type === 'get') {
      if (payload.attrs.node) throw new StanzaError('item-not-found');
      result = x('query', { xmlns: MUC_NS.discoInfo });
      result.c('identity', { category: 'conference', type: 'text', name: 'Chatrooms' });
      const features = [MUC_NS.muc, MUC_NS.discoInfo, MUC_NS.discoItems, MUC_NS.register, MUC_NS.mucsub, 'urn:xmpp:ping', MUC_NS.moderate, 'http://jabber.org/protocol/muc#self-ping-optimization'];
      if (this.archive()) features.push(MUC_NS.mam);
      for (const f of features.sort()) result.c('feature', { var: f });
    } else if (ns === MUC_NS.discoItems && type === 'get') {
      if (payload.attrs.node) throw new StanzaError('item-not-found');
      result = this.directory(to.domain, payload.getChild('set', NS_RSM));
    } else if (ns === MUC_NS.register) {
      result = await this.registerIq(stanza, payload, from, to.domain, undefined);
    } else if (ns === MUC_NS.mucsub && type === 'get' && payload.name === 'subscriptions') {
      result = x('subscriptions', { xmlns: MUC_NS.mucsub });
      for (const room of this.active.values()) {
        if (room.jid.domain !== to.domain) continue;
        const sub = room.subscribers.get(from.bare);
        if (!sub) continue;
        const s = result.c('subscription', { jid: room.bare });
        for (const n of sub.nodes) s.c('event', { node: n });
      }
    } else if (ns === MUC_NS.ping && type === 'get') {
      result = undefined;
    } else {
      throw new StanzaError('service-unavailable');
    }
    this.reply(stanza, from, to, result);
  }

  /**
   * The public rooms of a service (disco#items), in pages (XEP-0059): at most DIRECTORY_PAGE items
   * per answer, the rest through `<set><after/>` like ejabberd's max_rooms_discoitems.
   */
  private directory(service: string, rsm: Element | undefined): Element {
    const rooms = [...this.active.values()].filter((r) => r.jid.domain === service && r.config.public && !r.locked && !r.gone).sort((a, b) => (a.bare < b.bare ? -1 : a.bare > b.bare ? 1 : 0));
    let start = 0;
    let end = rooms.length;
    let max = DIRECTORY_PAGE;
    if (rsm) {
      const m = rsm.getChildText('max');
      if (m !== undefined) {
        const n = Number(m);
        if (!Number.isInteger(n) || n < 0) throw new StanzaError('bad-request', 'bad RSM max');
        max = Math.min(n, DIRECTORY_PAGE);
      }
      const after = rsm.getChildText('after');
      const before = rsm.getChild('before');
      const index = rsm.getChildText('index');
      if (after !== undefined) start = rooms.findIndex((r) => r.bare > after);
      if (start < 0) start = rooms.length;
      if (index !== undefined && Number.isInteger(Number(index))) start = Math.max(0, Number(index));
      if (before !== undefined) {
        const b = before.text();
        end = b === '' ? rooms.length : rooms.findIndex((r) => r.bare >= b);
        if (end < 0) end = rooms.length;
        start = Math.max(0, end - max);
      }
    }
    const page = rooms.slice(start, Math.min(end, start + max));
    const q = x('query', { xmlns: MUC_NS.discoItems });
    for (const room of page) q.c('item', { jid: room.bare, name: `${room.config.title || room.jid.local} (${room.occupants.size})` });
    if (rsm || rooms.length > page.length) {
      const set = q.c('set', { xmlns: NS_RSM });
      if (page.length > 0) {
        set.c('first', { index: String(start) }).t(page[0]!.bare);
        set.c('last').t(page[page.length - 1]!.bare);
      }
      set.c('count').t(String(rooms.length));
    }
    return q;
  }

  /** jabber:iq:register on the service (a service-wide nick, as ejabberd) or on a room (XEP-0045 §7.10: the nick, and membership). */
  private async registerIq(iq: Element, payload: Element, from: JID, service: string, room: Room | undefined): Promise<Element | undefined> {
    if (!this.ctx.isLocalHost(from.domain)) throw new StanzaError('not-allowed', 'only accounts of this server register nicks');
    const nickField = room ? 'muc#register_roomnick' : 'nick';
    if (iq.attrs.type === 'get') {
      const nick = await this.ctx.store.nickOf(service, from.bare);
      const q = x('query', { xmlns: MUC_NS.register });
      if (nick !== undefined && (!room || AFFILIATION_RANK[room.affiliationOf(from.bare)] >= AFFILIATION_RANK.member)) {
        q.c('registered');
        q.c('username').t(nick);
        return q;
      }
      q.c('instructions').t('Enter the nickname you want to register');
      const form = q.c('x', { xmlns: NS_DATA, type: 'form' });
      form.c('title').t(`Nickname registration at ${room?.bare ?? service}`);
      field(form, 'FORM_TYPE', 'hidden', room ? 'http://jabber.org/protocol/muc#register' : MUC_NS.register);
      field(form, nickField, 'text-single', nick ?? '', 'Nickname').c('required');
      return q;
    }
    if (payload.getChild('remove')) {
      if (!(await this.ctx.store.unregisterNick(service, from.bare))) throw new StanzaError('item-not-found', 'no nickname is registered');
      return undefined;
    }
    const form = payload.getChild('x', NS_DATA);
    let nick: string | undefined;
    if (form) {
      if (form.attrs.type === 'cancel') return undefined;
      const f = readForm(form);
      nick = f.get(nickField)?.[0] ?? f.get('nick')?.[0] ?? f.get('muc#register_roomnick')?.[0];
    } else nick = payload.getChildText('nick') ?? payload.getChildText('username');
    nick = nick?.trim();
    if (!nick) throw new StanzaError('not-acceptable', 'a nickname is required');
    await this.registerNickChecked(service, from.bare, nick);
    return undefined;
  }

  private async registerNickChecked(service: string, account: string, nick: string): Promise<void> {
    let prepared: string;
    try {
      prepared = parseJID(`x@${service}/${nick}`).resource;
    } catch {
      throw new StanzaError('jid-malformed', 'that nickname cannot be used');
    }
    if ([...prepared].length > this.limits.maxNickLength) throw new StanzaError('not-acceptable', `nicks are at most ${this.limits.maxNickLength} characters`);
    if ((await this.ctx.store.registerNick(service, account, prepared)) === 'taken') throw new StanzaError('conflict', 'that nickname is registered by another person');
  }

  private roomOf(to: JID): Room | undefined {
    const room = this.active.get(to.bare);
    return room && !room.gone ? room : undefined;
  }

  private async roomPresence(rc: RouteContext): Promise<void> {
    const { stanza, from, to } = rc;
    const type = stanza.attrs.type;
    if (to.resource === '') {
      if (type === undefined) throw new StanzaError('jid-malformed', 'a nickname is required to enter a room');
      return;
    }
    let room = this.roomOf(to);
    let created = false;
    if (!room) {
      if (type !== undefined) return;
      room = this.createForJoin(to, from, stanza.getChild('x', MUC_NS.muc) !== undefined);
      created = true;
    }
    const r = room;
    await r.run(async () => {
      if (r.gone) {
        if (created) return;
        await this.handle(rc); // it went while the stanza waited: as to a room that does not exist
        return;
      }
      await r.presence(stanza, from, to.resource, created);
      if (created && r.occupants.size === 0) r.locked = false;
      if (created) this.emptied(r);
    });
  }

  /** A new room for the first to enter it: its owner, locked until configured when the client speaks MUC (XEP-0045 §10.1). */
  private createForJoin(to: JID, from: JID, mucAware: boolean): Room {
    if (!this.ctx.isLocalHost(from.domain)) throw new StanzaError('not-allowed', 'only accounts of this server create rooms');
    this.checkCreation(to.domain, from.bare);
    const room = new Room(this, to.bareJID(), defaultConfig(this));
    room.locked = mucAware;
    room.affiliations.set(from.bare, { affiliation: 'owner', reason: '' });
    this.active.set(room.bare, room);
    return room;
  }

  private checkCreation(service: string, owner: string | undefined): void {
    let inService = 0;
    let owned = 0;
    for (const r of this.active.values()) {
      if (r.jid.domain === service) inService++;
      if (owner !== undefined && r.affiliationOf(owner) === 'owner') owned++;
    }
    if (inService >= this.limits.maxRoomsPerService) throw new StanzaError('not-allowed', `the service holds at most ${this.limits.maxRoomsPerService} rooms`);
    if (owner !== undefined && !this.isServiceAdmin(owner) && owned >= this.limits.maxRoomsPerAccount) throw new StanzaError('not-allowed', `an account owns at most ${this.limits.maxRoomsPerAccount} rooms`);
  }

  private async roomMessage(rc: RouteContext): Promise<void> {
    const { stanza, from, to } = rc;
    if (stanza.attrs.type === 'error') return;
    const room = this.roomOf(to);
    if (!room) throw new StanzaError('item-not-found', 'no such room');
    await room.run(() => (to.resource ? room.privateMessage(stanza, from, to.resource) : room.message(stanza, from)));
  }

  private async roomIq(rc: RouteContext): Promise<void> {
    const { stanza, from, to } = rc;
    const type = stanza.attrs.type;
    if (type === 'result' || type === 'error') {
      this.forwardAnswer(stanza, to);
      return;
    }
    if (type !== 'get' && type !== 'set') return;
    const payload = this.payloadOf(stanza);
    const room = this.roomOf(to);
    if (!room) {
      if (payload.attrs.xmlns === MUC_NS.ping && to.resource) throw new StanzaError('not-acceptable', 'you are not in this room');
      throw new StanzaError('item-not-found', 'no such room');
    }
    if (to.resource) {
      await this.occupantIq(room, stanza, payload, from, to);
      return;
    }
    const result = await room.run(() => this.roomIqPayload(room, stanza, payload, from));
    this.reply(stanza, from, to, result);
  }

  private async roomIqPayload(room: Room, iq: Element, payload: Element, from: JID): Promise<Element | undefined> {
    const ns = payload.attrs.xmlns;
    const get = iq.attrs.type === 'get';
    switch (ns) {
      case MUC_NS.discoInfo: {
        if (!get) break;
        const q = room.discoInfo(from, payload.attrs.node, this.archive() !== undefined);
        if (payload.attrs.node === 'x-roomuser-item') {
          const nick = await this.ctx.store.nickOf(room.jid.domain, from.bare);
          if (nick !== undefined) q.c('identity', { category: 'conference', type: 'text', name: nick });
        }
        return q;
      }
      case MUC_NS.discoItems:
        if (!get) break;
        return room.discoItems(from);
      case MUC_NS.admin:
        if (get) return room.adminGet(from, payload);
        await room.adminSet(from, payload);
        return undefined;
      case MUC_NS.owner:
        if (get) return room.ownerGet(from);
        await room.ownerSet(from, payload);
        return undefined;
      case MUC_NS.register:
        return this.roomRegisterIq(iq, payload, from, room);
      case MUC_NS.mucsub:
        return this.mucsubIq(room, iq, payload, from);
      case MUC_NS.mam: {
        const archive = this.archive();
        if (!archive || !room.config.mam) throw new StanzaError('service-unavailable', 'this room keeps no archive');
        if (!room.mayReadArchive(from)) throw new StanzaError('forbidden', 'only members read the archive of this room');
        if (get) return mamFields();
        return archive.queryRoom(room.bare, from, iq, payload);
      }
      case MUC_NS.moderate:
        if (get) break;
        await room.moderate(from, payload);
        return undefined;
      case MUC_NS.ping:
        if (get) return undefined;
        break;
      default:
        break;
    }
    throw new StanzaError('service-unavailable');
  }

  /**
   * Registering with a room (XEP-0045 §7.10) reserves the nick on the service and makes the account
   * a member. It runs in the room's turn, so the affiliation changes here, not through the queue.
   */
  private async roomRegisterIq(iq: Element, payload: Element, from: JID, room: Room): Promise<Element | undefined> {
    if (iq.attrs.type === 'get') return this.registerIq(iq, payload, from, room.jid.domain, room);
    const before = room.affiliationOf(from.bare);
    if (before === 'outcast') throw new StanzaError('forbidden', 'you are banned from this room');
    const result = await this.registerIq(iq, payload, from, room.jid.domain, room);
    if (!payload.getChild('remove') && AFFILIATION_RANK[before] < AFFILIATION_RANK.member) await room.changeAffiliation(from.bare, 'member', undefined, '', undefined);
    return result;
  }

  private async mucsubIq(room: Room, iq: Element, payload: Element, from: JID): Promise<Element | undefined> {
    if (iq.attrs.type === 'get') {
      if (payload.name !== 'subscriptions') throw new StanzaError('bad-request');
      if (AFFILIATION_RANK[room.effectiveAffiliation(from.bare)] < AFFILIATION_RANK.admin && room.byJid.get(from.full)?.role !== 'moderator') {
        throw new StanzaError('forbidden', 'only moderators list the subscribers');
      }
      const q = x('subscriptions', { xmlns: MUC_NS.mucsub });
      for (const s of room.subscribers.values()) {
        const e = q.c('subscription', { jid: s.jid, nick: s.nick });
        for (const n of s.nodes) e.c('event', { node: n });
      }
      return q;
    }
    if (payload.name === 'subscribe') {
      let target = from.bare;
      if (payload.attrs.jid !== undefined) {
        const j = tryParseJID(payload.attrs.jid);
        if (!j) throw new StanzaError('jid-malformed');
        target = j.bare;
      }
      const nodes = payload.getChildren('event').map((e) => e.attrs.node ?? '');
      const chosen = await room.subscribe(from, target, payload.attrs.nick ?? '', nodes, payload.attrs.password);
      const q = x('subscribe', { xmlns: MUC_NS.mucsub, nick: payload.attrs.nick ?? '' });
      for (const n of chosen) q.c('event', { node: n });
      return q;
    }
    if (payload.name === 'unsubscribe') {
      let target = from.bare;
      if (payload.attrs.jid !== undefined) {
        const j = tryParseJID(payload.attrs.jid);
        if (!j) throw new StanzaError('jid-malformed');
        target = j.bare;
        if (target !== from.bare && AFFILIATION_RANK[room.effectiveAffiliation(from.bare)] < AFFILIATION_RANK.admin) throw new StanzaError('forbidden', 'only moderators unsubscribe others');
      }
      await room.unsubscribe(target);
      return undefined;
    }
    throw new StanzaError('bad-request');
  }

  /** An IQ to `room/nick`: self-ping (XEP-0410) is answered by the room; others go to the occupant (allowQueryUsers). */
  private async occupantIq(room: Room, iq: Element, payload: Element, from: JID, to: JID): Promise<void> {
    const sender = room.byJid.get(from.full);
    if (payload.attrs.xmlns === MUC_NS.ping) {
      if (!sender) throw new StanzaError('not-acceptable', 'you are not in this room');
      if (sender.nick === to.resource) {
        this.reply(iq, from, to, undefined);
        return;
      }
    }
    const target = room.occupants.get(to.resource);
    if (!target) throw new StanzaError('item-not-found', 'no such occupant');
    if (!sender) throw new StanzaError('not-acceptable', 'only occupants query occupants');
    if (!room.config.allowQueryUsers) throw new StanzaError('not-allowed', 'occupants may not query each other in this room');
    if (this.forwarded.size >= MAX_FORWARDED_IQS) throw new StanzaError('resource-constraint', 'too many queries between occupants are waiting for answers');
    const targetJid = target.jids.values().next().value as JID;
    const id = this.randomId();
    this.forwarded.set(id, { requester: from, id: iq.attrs.id!, targetNick: target.nick, room });
    // Forgotten after a while, answered or not.
    setTimeout(() => this.forwarded.delete(id), 60_000).unref();
    const out = x('iq', { type: iq.attrs.type!, id, from: `${room.bare}/${sender.nick}` }, payload.clone());
    this.deliver(targetJid, out);
  }

  private forwardAnswer(answer: Element, to: JID): void {
    const id = answer.attrs.id;
    const f = id !== undefined ? this.forwarded.get(id) : undefined;
    if (!f || f.room.bare !== to.bare) return;
    this.forwarded.delete(id!);
    const reply = new (answer.constructor as typeof Element)('iq', { ...answer.attrs, id: f.id, from: `${f.room.bare}/${f.targetNick}` });
    reply.children = answer.children;
    this.deliverOrRoute(reply, parseJID(`${f.room.bare}/${f.targetNick}`), f.requester);
  }

  // ---- RoomService -------------------------------------------------------------------------

  serviceDomains(): readonly string[] {
    return [...this.domains.keys()];
  }

  /** The room a bare JID text names, on a service of this node; badArgument or notFound otherwise. */
  private roomJid(room: string): JID {
    const j = tryParseJID(room);
    if (!j || j.local === '' || j.resource !== '') throw badArgument(`${room} is not a room's JID`);
    if (!this.domains.has(j.domain)) throw notFound(`${j.domain} is not a group chat service of this server`);
    return j;
  }

  private async existing(room: string): Promise<Room> {
    await this.ready;
    const r = this.roomOf(this.roomJid(room));
    if (!r) throw notFound(`room ${room} does not exist`);
    return r;
  }

  private async asDomain<T>(fn: () => Promise<T> | T): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw domainError(err);
    }
  }

  private bareOfArg(jid: string): string {
    const j = tryParseJID(jid);
    if (!j) throw badArgument(`${jid} is not a JID`);
    return j.bare;
  }

  async createRoom(room: string, owner: string | undefined, config: Partial<RoomConfig> = {}): Promise<RoomInfo> {
    await this.ready;
    const j = this.roomJid(room);
    if (this.roomOf(j)) throw conflict(`room ${j.bare} already exists`);
    const ownerBare = owner !== undefined ? this.bareOfArg(owner) : undefined;
    return this.asDomain(async () => {
      this.checkCreation(j.domain, ownerBare);
      const r = new Room(this, j, defaultConfig(this));
      if (ownerBare) r.affiliations.set(ownerBare, { affiliation: 'owner', reason: '' });
      this.active.set(r.bare, r);
      try {
        await r.run(() => r.configure(config, ownerBare));
      } catch (err) {
        this.active.delete(r.bare);
        throw err;
      }
      // A temporary room nobody entered stays until someone leaves it empty, or it is destroyed.
      return r.info();
    });
  }

  async destroyRoom(room: string, reason = '', alternate = ''): Promise<void> {
    const r = await this.existing(room);
    if (alternate && !tryParseJID(alternate)) throw badArgument(`${alternate} is not a JID`);
    await r.run(() => this.destroy(r, reason, alternate, ''));
  }

  async room(room: string): Promise<RoomInfo | undefined> {
    await this.ready;
    return this.roomOf(this.roomJid(room))?.info();
  }

  async rooms(service?: string): Promise<RoomInfo[]> {
    await this.ready;
    if (service !== undefined && !this.domains.has(service)) throw notFound(`${service} is not a group chat service of this server`);
    return [...this.active.values()].filter((r) => !r.gone && (service === undefined || r.jid.domain === service)).map((r) => r.info());
  }

  async configure(room: string, patch: Partial<RoomConfig>): Promise<RoomInfo> {
    const r = await this.existing(room);
    return this.asDomain(() =>
      r.run(async () => {
        await r.configure(patch, undefined);
        return r.info();
      }),
    );
  }

  async setSubject(room: string, subject: string, by = ''): Promise<void> {
    const r = await this.existing(room);
    if ([...subject].length > this.limits.maxSubjectLength) throw badArgument(`a subject is at most ${this.limits.maxSubjectLength} characters`);
    await r.run(() => r.changeSubject(subject, by));
  }

  async affiliations(room: string): Promise<AffiliationEntry[]> {
    return (await this.existing(room)).affiliationList();
  }

  async affiliationOf(room: string, jid: string): Promise<Affiliation> {
    const r = await this.existing(room);
    return r.affiliationOf(this.bareOfArg(jid));
  }

  async setAffiliation(room: string, jid: string, affiliation: Affiliation, reason = ''): Promise<void> {
    const r = await this.existing(room);
    if (!['owner', 'admin', 'member', 'outcast', 'none'].includes(affiliation)) throw badArgument(`unknown affiliation ${affiliation}`);
    const bare = this.bareOfArg(jid);
    await this.asDomain(() => r.run(() => r.changeAffiliation(bare, affiliation, undefined, reason, undefined)));
  }

  async occupants(room: string): Promise<OccupantInfo[]> {
    return (await this.existing(room)).occupantInfos();
  }

  async roomsOf(account: string): Promise<string[]> {
    await this.ready;
    const bare = this.bareOfArg(account);
    return [...(this.roomsOfBare.get(bare)?.keys() ?? [])].map((r) => r.bare);
  }

  private serviceArg(service: string): string {
    if (!this.domains.has(service)) throw notFound(`${service} is not a group chat service of this server`);
    return service;
  }

  async registerNick(service: string, account: string, nick: string): Promise<void> {
    const s = this.serviceArg(service);
    const bare = this.bareOfArg(account);
    if (!nick) throw badArgument('a nick is required');
    await this.asDomain(() => this.registerNickChecked(s, bare, nick));
  }

  async unregisterNick(service: string, account: string): Promise<void> {
    const s = this.serviceArg(service);
    if (!(await this.ctx.store.unregisterNick(s, this.bareOfArg(account)))) throw notFound(`${account} has no nick registered on ${service}`);
  }

  async registeredNick(service: string, account: string): Promise<string | undefined> {
    return this.ctx.store.nickOf(this.serviceArg(service), this.bareOfArg(account));
  }

  async subscribe(room: string, jid: string, nick: string, nodes: readonly string[], password?: string): Promise<string[]> {
    const r = await this.existing(room);
    const j = tryParseJID(jid);
    if (!j) throw badArgument(`${jid} is not a JID`);
    const wanted = nodes.length > 0 ? nodes : ALL_MUCSUB_NODES;
    return this.asDomain(() => r.run(() => r.subscribe(j, j.bare, nick, wanted, password)));
  }

  async unsubscribe(room: string, jid: string): Promise<void> {
    const r = await this.existing(room);
    const bare = this.bareOfArg(jid);
    if (!(await r.run(() => r.unsubscribe(bare)))) throw notFound(`${jid} is not subscribed to ${room}`);
  }

  async subscribers(room: string): Promise<string[]> {
    return [...(await this.existing(room)).subscribers.keys()];
  }

  async inviteDirect(room: string, from: string, to: readonly string[], reason?: string, password?: string): Promise<void> {
    const r = await this.existing(room);
    const sender = tryParseJID(from);
    if (!sender) throw badArgument(`${from} is not a JID`);
    const targets = to.map((t) => {
      const j = tryParseJID(t);
      if (!j) throw badArgument(`${t} is not a JID`);
      return j;
    });
    for (const target of targets) {
      const attrs: Record<string, string> = { jid: r.bare };
      if (reason) attrs.reason = reason;
      const pw = password ?? r.config.password;
      if (pw) attrs.password = pw;
      const m = x('message', { id: this.randomId() }, x('x', { xmlns: MUC_NS.conference, ...attrs }));
      await this.ctx.send(m, sender, target);
    }
  }

  async postMessage(room: string, from: string, body: string, subject?: string): Promise<void> {
    const r = await this.existing(room);
    const sender = tryParseJID(from);
    if (!sender) throw badArgument(`${from} is not a JID`);
    await r.run(async () => {
      let nick: string | undefined;
      const occ = sender.resource ? r.byJid.get(sender.full) : [...r.occupants.values()].find((o) => o.bare === sender.bare);
      if (occ) {
        if (occ.role === 'visitor') throw forbidden('visitors may not speak in a moderated room');
        nick = occ.nick;
      } else if (r.subscribers.has(sender.bare)) nick = r.subscribers.get(sender.bare)!.nick;
      else if (this.isServiceAdmin(sender.bare)) nick = sender.local;
      if (nick === undefined) throw forbidden(`${from} is neither an occupant nor a subscriber of ${room}`);
      if (subject !== undefined) {
        if ([...subject].length > this.limits.maxSubjectLength) throw badArgument('the subject is too long');
        await r.changeSubject(subject, nick);
      }
      if (body !== '') await r.post(x('message', { type: 'groupchat' }, x('body', null, body)), nick, sender.bare);
    });
  }
}

export { DomainError };
