/**
 * One room of a group chat service (XEP-0045): its configuration, affiliations, occupants, history,
 * subject and MUC/Sub subscribers in memory, and what each stanza addressed to it does. The service
 * routes stanzas here; the admin surfaces reach the same operations through the service, so a change
 * made by a command is broadcast exactly as a client's change.
 */
import { Element, x } from '../../xmpp/xml/element.js';
import { escapeAttr } from '../../xmpp/xml/escape.js';
import { JID, tryParseJID } from '../../xmpp/jid.js';
import { StanzaError, errorReply } from '../../xmpp/stanza.js';
import type { AffiliationEntry, Affiliation, OccupantInfo, Role, RoomConfig, RoomInfo } from './api.js';
import type { StoredRoomState, StoredSubscriber } from './store.js';
import type { Config } from '../../config/schema.js';
import type { RoomArchive } from '../mam/index.js';
import { MUC_NS, MUCSUB_NODES, ALL_MUCSUB_NODES } from './ns.js';
import { NS_DATA, configForm, formBoolean, formType, parseConfigForm, readForm, roomInfoForm, voiceRequestForm } from './forms.js';


export type MucLimits = Config['muc'];

/** What a room asks of its service: delivery, storage, the archive and the limits across rooms. */
export interface RoomHost {
  readonly limits: MucLimits;
  randomId(): string;
  /** The occupant id (XEP-0421) of an account in a room: stable, and not its real JID. */
  occupantId(room: string, bare: string): string;
  /** A configured server admin: an owner of every room, as in ejabberd. */
  isServiceAdmin(bare: string): boolean;
  /** Delivers a stanza (its `to` set) to a full JID now, without routing: the fan-out path. */
  deliver(to: JID, el: Element): void;
  /** Routes a stanza (offline storage, privacy lists apply): invitations, MUC/Sub events. */
  sendTo(el: Element, from: JID, to: JID): void;
  sendToBare(el: Element, from: JID, to: string): void;
  archive(): RoomArchive | undefined;
  nickOwner(service: string, nick: string): Promise<string | undefined>;
  mayJoinAnother(bare: string, room: Room): boolean;
  mayPersist(room: Room, by: string | undefined): boolean;
  joined(full: string, room: Room): void;
  left(full: string, room: Room): void;
  /** The last occupant left: a room that does not persist goes. */
  emptied(room: Room): void;
  saveRoom(room: Room): Promise<void>;
  saveAffiliation(room: Room, bare: string, affiliation: Affiliation, reason: string): Promise<void>;
  saveSubscriber(room: Room, jid: string, sub: StoredSubscriber | undefined): Promise<void>;
  /** The room's options changed (from `before`): what is stored follows. */
  configured(room: Room, before: RoomConfig): Promise<void>;
  destroy(room: Room, reason: string, alternate: string, password: string): Promise<void>;
}

export interface Occupant {
  nick: string;
  /** The real bare JID. */
  bare: string;
  /** Its joined resources (full JID text → JID). */
  jids: Map<string, JID>;
  role: Role;
  /** What the occupant's presence carries (show, status, priority, caps...), without the MUC parts. */
  presence: Element;
  lastVoiceRequest: number;
}

interface HistoryEntry {
  /** As occupants got it, with its delay, without `to`. */
  el: Element;
  at: number;
  chars: number;
  stanzaId?: string;
}

interface PresenceOptions {
  unavailable?: boolean;
  /** Status codes every recipient sees. */
  codes?: readonly string[];
  /** Status codes only the occupant itself sees (110 is added). */
  selfCodes?: readonly string[];
  /** A nick change (303): the new nick. */
  newNick?: string;
  actor?: string;
  reason?: string;
  /** The affiliation and role shown, when they differ from the occupant's (removal). */
  affiliation?: Affiliation;
  role?: Role;
}

const NS_OCCUPANT_ID = 'urn:xmpp:occupant-id:0';

/** One message asks the room to send this many invitations at most. */
const MAX_INVITES_PER_MESSAGE = 20;

const RANK: Record<Affiliation, number> = { outcast: -1, none: 0, member: 1, admin: 2, owner: 3 };

/**
 * A stanza addressed to one of many recipients: it shares its children with the one built for all,
 * and serializes as that one's text (made once, see `addressed`) with its own `to` in front.
 */
class Addressed extends Element {
  constructor(source: Element, to: string, private readonly rest: string) {
    super(source.name, { ...source.attrs, to });
    this.children = source.children;
  }

  override toString(): string {
    const to = this.attrs.to;
    return to === undefined ? `<${this.name}${this.rest}` : `<${this.name} to="${escapeAttr(to)}"${this.rest}`;
  }
}

/** What follows the name in each broadcast stanza's text without `to`, made once per stanza. */
const serialized = new WeakMap<Element, string>();

/** The stanza for one recipient of a broadcast: no copy of the tree, no second serialization. */
function addressed(el: Element, to: string): Element {
  let rest = serialized.get(el);
  if (rest === undefined) {
    const { to: _to, ...attrs } = el.attrs;
    const bare = new Element(el.name, attrs);
    bare.children = el.children;
    rest = bare.toString().slice(el.name.length + 1);
    serialized.set(el, rest);
  }
  return new Addressed(el, to, rest);
}

function delayed(el: Element, from: string, at: number): Element {
  const copy = el.clone();
  delete copy.attrs.to;
  copy.c('delay', { xmlns: MUC_NS.delay, from, stamp: new Date(at).toISOString() });
  return copy;
}

export function defaultConfig(host: RoomHost): RoomConfig {
  return {
    title: '',
    description: '',
    persistent: false,
    public: true,
    publicList: true,
    membersOnly: false,
    moderated: true,
    membersByDefault: true,
    password: '',
    maxUsers: 0,
    whois: 'moderators',
    historyLength: Math.min(host.limits.defaultHistory, host.limits.maxHistory),
    logging: false,
    mam: false,
    allowChangeSubject: true,
    allowPrivateMessages: 'anyone',
    allowPrivateMessagesFromVisitors: 'anyone',
    allowInvites: false,
    allowQueryUsers: true,
    allowVisitorStatus: true,
    allowVisitorNickchange: true,
    allowVoiceRequests: true,
    voiceRequestMinInterval: 1800,
    allowSubscription: false,
    presenceBroadcast: ['moderator', 'participant', 'visitor'],
    lang: '',
  };
}

export class Room {
  readonly jid: JID;
  config: RoomConfig;
  readonly affiliations = new Map<string, { affiliation: Exclude<Affiliation, 'none'>; reason: string }>();
  readonly occupants = new Map<string, Occupant>();
  /** Occupants by the full JID of each of their resources. */
  readonly byJid = new Map<string, Occupant>();
  readonly subscribers = new Map<string, StoredSubscriber>();
  private history: HistoryEntry[] = [];
  private historyChars = 0;
  subject = '';
  subjectBy = '';
  locked = false;
  createdAt: number;
  lastMessageAt: number;
  /** Gone (destroyed, or emptied while not persistent): stanzas no longer reach it. */
  gone = false;
  /** Operations on the room run one after another. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly host: RoomHost,
    jid: JID,
    config: RoomConfig,
    createdAt = Date.now(),
  ) {
    this.jid = jid;
    this.config = config;
    this.createdAt = createdAt;
    this.lastMessageAt = createdAt;
  }

  static fromStored(host: RoomHost, s: StoredRoomState): Room {
    const room = new Room(host, new JID(s.name, s.service), { ...defaultConfig(host), ...s.config }, s.createdAt);
    room.subject = s.subject;
    room.subjectBy = s.subjectBy;
    for (const a of s.affiliations) room.affiliations.set(a.jid, { affiliation: a.affiliation, reason: a.reason });
    for (const sub of s.subscribers) room.subscribers.set(sub.jid, sub);
    return room;
  }

  /** Runs `fn` after the room's earlier operations (its state changes one stanza at a time). */
  run<T>(fn: () => Promise<T> | T): Promise<T> {
    const p = this.queue.then(fn);
    this.queue = p.catch(() => undefined);
    return p;
  }

  get bare(): string {
    return this.jid.bare;
  }

  stored(): StoredRoomState {
    return {
      service: this.jid.domain,
      name: this.jid.local,
      config: this.config,
      subject: this.subject,
      subjectBy: this.subjectBy,
      createdAt: this.createdAt,
      affiliations: this.affiliationList(),
      subscribers: [...this.subscribers.values()],
    };
  }

  info(): RoomInfo {
    return {
      jid: this.bare,
      config: { ...this.config, presenceBroadcast: [...this.config.presenceBroadcast] },
      subject: this.subject,
      subjectBy: this.subjectBy,
      createdAt: this.createdAt,
      lastMessageAt: this.lastMessageAt,
      occupants: this.occupants.size,
      locked: this.locked,
    };
  }

  occupantInfos(): OccupantInfo[] {
    const out: OccupantInfo[] = [];
    for (const o of this.occupants.values()) for (const j of o.jids.values()) out.push({ nick: o.nick, jid: j.full, role: o.role, affiliation: this.affiliationOf(o.bare) });
    return out;
  }

  affiliationList(): AffiliationEntry[] {
    return [...this.affiliations].map(([jid, a]) => ({ jid, affiliation: a.affiliation, reason: a.reason }));
  }

  /** The stored affiliation of a bare JID (or of its server, for a server-wide ban). */
  affiliationOf(bare: string): Affiliation {
    const a = this.affiliations.get(bare);
    if (a) return a.affiliation;
    const at = bare.indexOf('@');
    if (at >= 0) {
      const d = this.affiliations.get(bare.slice(at + 1));
      if (d) return d.affiliation;
    }
    return 'none';
  }

  /** The affiliation rights count with: service admins act as owners (as in ejabberd). */
  effectiveAffiliation(bare: string): Affiliation {
    return this.host.isServiceAdmin(bare) ? 'owner' : this.affiliationOf(bare);
  }

  /**
   * The role an affiliation enters with. A moderated room gives newcomers voice unless it was
   * configured otherwise (ejabberd's members_by_default): then only members speak.
   */
  private defaultRole(aff: Affiliation): Role {
    if (aff === 'owner' || aff === 'admin') return 'moderator';
    if (aff === 'member') return 'participant';
    if (aff === 'outcast') return 'none';
    return this.config.moderated && !this.config.membersByDefault ? 'visitor' : 'participant';
  }

  private canSeeJids(o: Occupant | undefined): boolean {
    return this.config.whois === 'anyone' || o?.role === 'moderator';
  }

  private occupantJid(nick: string): string {
    return `${this.bare}/${nick}`;
  }

  // ---- delivery -------------------------------------------------------------------------

  private deliverTo(o: Occupant, el: Element): void {
    for (const j of o.jids.values()) this.host.deliver(j, addressed(el, j.full));
  }

  /** The presence of an occupant as one recipient sees it (with or without the real JID). */
  private presenceOf(o: Occupant, opts: PresenceOptions, withJid: boolean, self: boolean): Element {
    const p = x('presence', { from: this.occupantJid(o.nick) });
    if (opts.unavailable) {
      p.attrs.type = 'unavailable';
      const status = o.presence.getChild('status');
      if (status && (opts.codes === undefined || opts.codes.length === 0)) p.append(status.clone());
    } else for (const c of o.presence.children) p.append(typeof c === 'string' ? c : c.clone());
    p.c('occupant-id', { xmlns: NS_OCCUPANT_ID, id: this.host.occupantId(this.bare, o.bare) });
    const xe = p.c('x', { xmlns: MUC_NS.user });
    const item = xe.c('item', { affiliation: opts.affiliation ?? this.affiliationOf(o.bare), role: opts.role ?? o.role });
    if (withJid) {
      const first = o.jids.values().next().value as JID | undefined;
      if (first) item.attrs.jid = first.full;
    }
    if (opts.newNick !== undefined) item.attrs.nick = opts.newNick;
    if (opts.actor !== undefined) item.c('actor', { nick: opts.actor });
    if (opts.reason) item.c('reason').t(opts.reason);
    const codes = [...(opts.codes ?? [])];
    if (self) codes.push('110', ...(opts.selfCodes ?? []));
    for (const code of [...new Set(codes)].sort()) xe.c('status', { code });
    return p;
  }

  /** Sends an occupant's presence to everyone in the room (and to presence subscribers), one variant per kind of recipient. */
  private broadcastPresence(o: Occupant, opts: PresenceOptions = {}): void {
    const role = opts.role && opts.role !== 'none' ? opts.role : o.role;
    const toOthers = this.config.presenceBroadcast.includes(role);
    let plain: Element | undefined;
    let withJid: Element | undefined;
    if (toOthers) {
      for (const r of this.occupants.values()) {
        if (r === o) continue;
        const el = this.canSeeJids(r) ? (withJid ??= this.presenceOf(o, opts, true, false)) : (plain ??= this.presenceOf(o, opts, false, false));
        this.deliverTo(r, el);
      }
      const event = this.config.whois === 'anyone' ? (withJid ??= this.presenceOf(o, opts, true, false)) : (plain ??= this.presenceOf(o, opts, false, false));
      this.notifySubscribers(MUCSUB_NODES.presence, event, o.bare);
    }
    this.deliverTo(o, this.presenceOf(o, opts, true, true));
  }

  /** Sends a message from the room to every occupant (status codes, retraction). */
  private broadcastMessage(el: Element): void {
    for (const r of this.occupants.values()) this.deliverTo(r, el);
  }

  /** Wraps an event for the MUC/Sub subscribers of `node` who are not in the room (as ejabberd does). */
  private notifySubscribers(node: string, el: Element, exceptBare?: string): void {
    if (this.subscribers.size === 0) return;
    const present = new Set<string>();
    for (const o of this.occupants.values()) present.add(o.bare);
    for (const sub of this.subscribers.values()) {
      if (sub.jid === exceptBare || present.has(sub.jid) || !sub.nodes.includes(node)) continue;
      const id = this.host.randomId();
      const inner = addressed(el, sub.jid);
      const wrapper = x(
        'message',
        { from: this.bare, to: sub.jid, id },
        x('event', { xmlns: MUC_NS.pubsubEvent }, x('items', { node }, x('item', { id }, inner))),
      );
      // A subscriber who is offline gets the room's messages later; presence changes are not worth keeping.
      if (node !== MUCSUB_NODES.presence) wrapper.c('store', { xmlns: 'urn:xmpp:hints' });
      this.host.sendToBare(wrapper, this.jid, sub.jid);
    }
  }

  private statusMessage(codes: string[]): void {
    const m = x('message', { type: 'groupchat', from: this.bare, id: this.host.randomId() });
    const xe = m.c('x', { xmlns: MUC_NS.user });
    for (const code of codes) xe.c('status', { code });
    this.broadcastMessage(m);
    this.notifySubscribers(MUCSUB_NODES.config, m);
  }

  // ---- presence -------------------------------------------------------------------------

  /** A presence from `from` to `room/nick` (`created`: the service made the room for this join). */
  async presence(stanza: Element, from: JID, nick: string, created: boolean): Promise<void> {
    const type = stanza.attrs.type;
    const occupant = this.byJid.get(from.full);
    if (type === 'unavailable' || type === 'error') {
      if (occupant) this.leave(occupant, from, type === 'error' ? undefined : stanza);
      return;
    }
    if (type !== undefined) return; // subscription traffic means nothing to a room
    if (!occupant) {
      await this.join(stanza, from, nick, created);
      return;
    }
    if (occupant.nick === nick) {
      this.updatePresence(occupant, stanza);
      return;
    }
    await this.changeNick(occupant, stanza, from, nick);
  }

  private presenceError(stanza: Element, from: JID, nick: string, condition: string, text?: string): void {
    const reply = errorReply(stanza, condition, text);
    reply.attrs.from = this.occupantJid(nick);
    reply.attrs.to = from.full;
    this.host.deliver(from, reply);
  }

  private payloadOf(stanza: Element, role: Role): Element {
    const p = x('presence');
    for (const c of stanza.children) {
      if (typeof c === 'string') continue;
      if (c.name === 'x' && (c.attrs.xmlns === MUC_NS.muc || c.attrs.xmlns === MUC_NS.user)) continue;
      if (c.name === 'occupant-id' && c.attrs.xmlns === NS_OCCUPANT_ID) continue; // only the room says who is who
      if (role === 'visitor' && !this.config.allowVisitorStatus && c.name === 'status') continue;
      p.append(c.clone());
    }
    return p;
  }

  private async join(stanza: Element, from: JID, nick: string, created: boolean): Promise<void> {
    const refuse = (condition: string, text?: string) => this.presenceError(stanza, from, nick, condition, text);
    const limits = this.host.limits;
    if ([...nick].length > limits.maxNickLength) return refuse('not-acceptable', `nicks are at most ${limits.maxNickLength} characters`);
    const mucX = stanza.getChild('x', MUC_NS.muc);
    const aff = this.effectiveAffiliation(from.bare);
    const ownerLike = aff === 'owner' || aff === 'admin';
    if (this.locked && aff !== 'owner') return refuse('item-not-found', 'the room is locked until its owner configures it');
    if (aff === 'outcast') return refuse('forbidden', 'you are banned from this room');
    const existing = this.occupants.get(nick);
    if (existing && existing.bare !== from.bare) return refuse('conflict', 'that nickname is already in use');
    const nickOwner = await this.host.nickOwner(this.jid.domain, nick);
    if (nickOwner !== undefined && nickOwner !== from.bare) return refuse('conflict', 'that nickname is registered by another person');
    const sub = [...this.subscribers.values()].find((s) => s.nick === nick && s.jid !== from.bare);
    if (sub) return refuse('conflict', 'that nickname is used by a subscriber');
    if (this.config.membersOnly && RANK[aff] < RANK.member) return refuse('registration-required', 'the room is members-only');
    if (this.config.password !== '' && !ownerLike) {
      const given = mucX?.getChildText('password');
      if (given !== this.config.password) return refuse('not-authorized', 'a password is required to enter this room');
    }
    const max = this.config.maxUsers > 0 ? Math.min(this.config.maxUsers, limits.maxOccupantsPerRoom) : limits.maxOccupantsPerRoom;
    if (!existing && this.occupants.size >= max && !ownerLike) return refuse('service-unavailable', 'the room is full');
    if (!this.host.mayJoinAnother(from.bare, this)) return refuse('resource-constraint', `one account may be in at most ${limits.maxJoinedRoomsPerAccount} rooms`);
    // Checks are done; the room may have changed while the nick was looked up.
    const again = this.occupants.get(nick);
    if (again && again.bare !== from.bare) return refuse('conflict', 'that nickname is already in use');

    let o = again;
    if (o) {
      o.jids.set(from.full, from);
      o.presence = this.payloadOf(stanza, o.role);
    } else {
      const role = this.defaultRole(aff);
      o = { nick, bare: from.bare, jids: new Map([[from.full, from]]), role, presence: x('presence'), lastVoiceRequest: 0 };
      o.presence = this.payloadOf(stanza, role);
      this.occupants.set(nick, o);
    }
    this.byJid.set(from.full, o);
    this.host.joined(from.full, this);
    // The newcomer learns who is here, then is announced, then gets the history and the subject.
    for (const other of this.occupants.values()) {
      if (other === o || !this.config.presenceBroadcast.includes(other.role)) continue;
      this.host.deliver(from, addressed(this.presenceOf(other, {}, this.canSeeJids(o), false), from.full));
    }
    const selfCodes: string[] = [];
    if (this.config.whois === 'anyone') selfCodes.push('100');
    if (this.config.logging) selfCodes.push('170');
    if (created && this.locked) selfCodes.push('201');
    this.broadcastPresence(o, { selfCodes });
    this.sendHistory(from, mucX?.getChild('history'));
    const subject = x('message', { type: 'groupchat', from: this.subjectBy ? this.occupantJid(this.subjectBy) : this.bare, id: this.host.randomId(), to: from.full });
    subject.c('subject').t(this.subject);
    this.host.deliver(from, subject);
  }

  private sendHistory(to: JID, spec: Element | undefined): void {
    let entries = this.history;
    const limit = Math.min(this.config.historyLength, this.host.limits.maxHistory);
    if (entries.length > limit) entries = entries.slice(entries.length - limit);
    if (spec) {
      const maxStanzas = spec.attrs.maxstanzas !== undefined ? Number(spec.attrs.maxstanzas) : undefined;
      const maxChars = spec.attrs.maxchars !== undefined ? Number(spec.attrs.maxchars) : undefined;
      const seconds = spec.attrs.seconds !== undefined ? Number(spec.attrs.seconds) : undefined;
      const since = spec.attrs.since !== undefined ? Date.parse(spec.attrs.since) : undefined;
      if (seconds !== undefined && Number.isFinite(seconds)) {
        const cut = Date.now() - seconds * 1000;
        entries = entries.filter((e) => e.at >= cut);
      }
      if (since !== undefined && Number.isFinite(since)) entries = entries.filter((e) => e.at >= since);
      if (maxStanzas !== undefined && Number.isFinite(maxStanzas)) entries = maxStanzas <= 0 ? [] : entries.slice(Math.max(0, entries.length - maxStanzas));
      if (maxChars !== undefined && Number.isFinite(maxChars)) {
        let total = 0;
        let start = entries.length;
        while (start > 0 && total + entries[start - 1]!.chars <= maxChars) total += entries[--start]!.chars;
        entries = entries.slice(start);
      }
    }
    for (const e of entries) this.host.deliver(to, addressed(e.el, to.full));
  }

  private updatePresence(o: Occupant, stanza: Element): void {
    o.presence = this.payloadOf(stanza, o.role);
    this.broadcastPresence(o);
  }

  private async changeNick(o: Occupant, stanza: Element, from: JID, nick: string): Promise<void> {
    const refuse = (condition: string, text?: string) => this.presenceError(stanza, from, nick, condition, text);
    if ([...nick].length > this.host.limits.maxNickLength) return refuse('not-acceptable', `nicks are at most ${this.host.limits.maxNickLength} characters`);
    if (o.role === 'visitor' && !this.config.allowVisitorNickchange) return refuse('not-allowed', 'visitors may not change their nickname');
    if (this.occupants.has(nick)) return refuse('conflict', 'that nickname is already in use');
    const owner = await this.host.nickOwner(this.jid.domain, nick);
    if (owner !== undefined && owner !== o.bare) return refuse('conflict', 'that nickname is registered by another person');
    if (this.occupants.has(nick) || this.occupants.get(o.nick) !== o) return refuse('conflict', 'that nickname is already in use');
    this.broadcastPresence(o, { unavailable: true, codes: ['303'], newNick: nick });
    this.occupants.delete(o.nick);
    o.nick = nick;
    this.occupants.set(nick, o);
    o.presence = this.payloadOf(stanza, o.role);
    this.broadcastPresence(o);
  }

  /** A resource leaves (unavailable presence, session closed). */
  leave(o: Occupant, from: JID, stanza?: Element): void {
    if (!o.jids.has(from.full)) return;
    if (stanza) {
      const status = stanza.getChild('status');
      o.presence = x('presence');
      if (status) o.presence.append(status.clone());
    }
    if (o.jids.size > 1) {
      // Another resource of the occupant stays: only this one is told it left.
      const p = this.presenceOf(o, { unavailable: true }, true, true);
      this.host.deliver(from, addressed(p, from.full));
      o.jids.delete(from.full);
      this.byJid.delete(from.full);
      this.host.left(from.full, this);
      return;
    }
    this.broadcastPresence(o, { unavailable: true, role: 'none' });
    this.removeOccupant(o);
  }

  private removeOccupant(o: Occupant): void {
    for (const full of o.jids.keys()) {
      this.byJid.delete(full);
      this.host.left(full, this);
    }
    if (this.occupants.get(o.nick) === o) this.occupants.delete(o.nick);
    if (this.occupants.size === 0) this.host.emptied(this);
  }

  /** Removes an occupant with an unavailable presence carrying why (307 kick, 301 ban, 321/322 affiliation, 332 shutdown). */
  private expel(o: Occupant, codes: string[], actor: string | undefined, reason: string | undefined, affiliation?: Affiliation): void {
    this.broadcastPresence(o, { unavailable: true, codes, actor, reason, role: 'none', affiliation });
    this.removeOccupant(o);
  }

  // ---- messages -------------------------------------------------------------------------

  private messageError(stanza: Element, from: JID, to: string, condition: string, text?: string): void {
    if (stanza.attrs.type === 'error') return;
    const reply = errorReply(stanza, condition, text);
    reply.attrs.from = to;
    reply.attrs.to = from.full;
    this.host.deliver(from, reply);
  }

  /** A message to the room's bare JID. */
  async message(stanza: Element, from: JID): Promise<void> {
    const type = stanza.attrs.type ?? 'normal';
    if (type === 'error') return;
    if (type === 'groupchat') return this.groupchat(stanza, from);
    const userX = stanza.getChild('x', MUC_NS.user);
    if (userX?.getChild('invite')) return this.invite(stanza, from, userX);
    if (userX?.getChild('decline')) return this.decline(from, userX);
    const form = stanza.getChild('x', NS_DATA);
    if (form && formType(form) === MUC_NS.request) return this.voiceRequest(stanza, from, form);
    this.messageError(stanza, from, this.bare, 'bad-request', 'messages to the room are of type groupchat');
  }

  private async groupchat(stanza: Element, from: JID): Promise<void> {
    const o = this.byJid.get(from.full);
    if (!o) {
      // A MUC/Sub subscriber speaks without being present (as in ejabberd), under its nick, if its affiliation gives it voice.
      const sub = this.subscribers.get(from.bare);
      if (!sub) return this.messageError(stanza, from, this.bare, 'not-acceptable', 'only occupants may send messages to the room');
      if (this.defaultRole(this.effectiveAffiliation(from.bare)) === 'visitor') return this.messageError(stanza, from, this.bare, 'forbidden', 'visitors may not speak in a moderated room');
      if (stanza.getChild('subject') && !stanza.getChild('body')) return this.messageError(stanza, from, this.bare, 'forbidden', 'only occupants change the subject');
      await this.post(stanza, sub.nick, from.bare);
      return;
    }
    if (o.role === 'visitor') return this.messageError(stanza, from, this.bare, 'forbidden', 'visitors may not speak in a moderated room');
    const subject = stanza.getChild('subject');
    const body = stanza.getChild('body');
    if (subject && !body) {
      if (!this.config.allowChangeSubject && o.role !== 'moderator') return this.messageError(stanza, from, this.bare, 'forbidden', 'only moderators may change the subject');
      const text = subject.text();
      if ([...text].length > this.host.limits.maxSubjectLength) return this.messageError(stanza, from, this.bare, 'not-acceptable', 'the subject is too long');
      await this.changeSubject(text, o.nick, stanza);
      return;
    }
    await this.post(stanza, o.nick, o.bare);
  }

  /** Broadcasts a groupchat message from `nick` (archived, kept in the history, sent to subscribers). */
  async post(stanza: Element, nick: string, senderBare: string): Promise<void> {
    const m = new Element('message', { ...stanza.attrs, type: 'groupchat', from: this.occupantJid(nick) });
    delete m.attrs.to;
    delete m.attrs.xmlns;
    m.attrs.id ??= this.host.randomId();
    for (const c of stanza.children) {
      if (typeof c !== 'string' && c.name === 'stanza-id' && c.attrs.xmlns === MUC_NS.sid && c.attrs.by === this.bare) continue; // only the room says which id it gave
      if (typeof c !== 'string' && c.name === 'delay') continue;
      if (typeof c !== 'string' && c.name === 'occupant-id' && c.attrs.xmlns === NS_OCCUPANT_ID) continue;
      m.append(typeof c === 'string' ? c : c.clone());
    }
    m.c('occupant-id', { xmlns: NS_OCCUPANT_ID, id: this.host.occupantId(this.bare, senderBare) });
    let stanzaId: string | undefined;
    const archive = this.config.mam ? this.host.archive() : undefined;
    if (archive) {
      stanzaId = await archive.archiveRoomMessage(this.bare, m, senderBare);
      if (stanzaId !== undefined) m.c('stanza-id', { xmlns: MUC_NS.sid, by: this.bare, id: stanzaId });
    }
    this.lastMessageAt = Date.now();
    this.broadcastMessage(m);
    this.notifySubscribers(MUCSUB_NODES.messages, m);
    if (m.getChild('body')) this.remember(m, stanzaId);
  }

  private remember(m: Element, stanzaId: string | undefined): void {
    const limit = Math.min(this.config.historyLength, this.host.limits.maxHistory);
    if (limit <= 0) return;
    const at = Date.now();
    const el = delayed(m, this.bare, at);
    const chars = el.toString().length;
    this.history.push({ el, at, chars, stanzaId });
    this.historyChars += chars;
    while (this.history.length > 0 && (this.history.length > limit || this.historyChars > this.host.limits.maxHistoryChars)) this.historyChars -= this.history.shift()!.chars;
  }

  async changeSubject(text: string, nick: string, stanza?: Element): Promise<void> {
    this.subject = text;
    this.subjectBy = nick;
    const m = x('message', { type: 'groupchat', from: nick ? this.occupantJid(nick) : this.bare, id: stanza?.attrs.id ?? this.host.randomId() });
    m.c('subject').t(text);
    this.broadcastMessage(m);
    this.notifySubscribers(MUCSUB_NODES.subject, m);
    await this.host.saveRoom(this);
  }

  /** A message to `room/nick`: a private message between occupants. */
  async privateMessage(stanza: Element, from: JID, nick: string): Promise<void> {
    const type = stanza.attrs.type ?? 'normal';
    if (type === 'error') return;
    const to = this.occupantJid(nick);
    if (type === 'groupchat') return this.messageError(stanza, from, to, 'bad-request', 'groupchat messages go to the room, not to an occupant');
    const o = this.byJid.get(from.full);
    if (!o) return this.messageError(stanza, from, to, 'not-acceptable', 'only occupants may send private messages');
    const policy = o.role === 'visitor' ? this.config.allowPrivateMessagesFromVisitors : this.config.allowPrivateMessages;
    const allowed = policy === 'anyone' || (policy === 'participants' && o.role !== 'visitor') || (policy === 'moderators' && o.role === 'moderator');
    const target = this.occupants.get(nick);
    if (!allowed) {
      // Visitors' 'moderators' policy lets them write to moderators, not be one.
      if (!(o.role === 'visitor' && policy === 'moderators' && target?.role === 'moderator')) return this.messageError(stanza, from, to, 'forbidden', 'private messages are not allowed in this room');
    }
    if (!target) return this.messageError(stanza, from, to, 'item-not-found', 'no such occupant');
    const m = new Element('message', { ...stanza.attrs, from: this.occupantJid(o.nick) });
    delete m.attrs.to;
    delete m.attrs.xmlns;
    for (const c of stanza.children) {
      if (typeof c !== 'string' && c.name === 'x' && c.attrs.xmlns === MUC_NS.user) continue;
      m.append(typeof c === 'string' ? c : c.clone());
    }
    m.removeChildren('occupant-id', NS_OCCUPANT_ID);
    m.c('occupant-id', { xmlns: NS_OCCUPANT_ID, id: this.host.occupantId(this.bare, o.bare) });
    m.c('x', { xmlns: MUC_NS.user });
    this.deliverTo(target, m);
  }

  // ---- invitations and voice -------------------------------------------------------------

  private async invite(stanza: Element, from: JID, userX: Element): Promise<void> {
    const o = this.byJid.get(from.full);
    const aff = this.effectiveAffiliation(from.bare);
    if (!o && RANK[aff] < RANK.admin) return this.messageError(stanza, from, this.bare, 'not-acceptable', 'only occupants may invite');
    const admin = RANK[aff] >= RANK.admin;
    if (!admin && !this.config.allowInvites && o?.role !== 'moderator') return this.messageError(stanza, from, this.bare, 'forbidden', 'invitations are not allowed in this room');
    if (this.config.membersOnly && !admin && !this.config.allowInvites) return this.messageError(stanza, from, this.bare, 'forbidden', 'only admins may invite to this members-only room');
    const invites = userX.getChildren('invite');
    if (invites.length > MAX_INVITES_PER_MESSAGE) return this.messageError(stanza, from, this.bare, 'policy-violation', `at most ${MAX_INVITES_PER_MESSAGE} invitations per message`);
    for (const inv of invites) {
      const to = tryParseJID(inv.attrs.to ?? '');
      if (!to) return this.messageError(stanza, from, this.bare, 'jid-malformed', 'bad invitee');
      const reason = inv.getChildText('reason') ?? '';
      if (this.config.membersOnly && this.affiliationOf(to.bare) === 'none') await this.changeAffiliation(to.bare, 'member', o?.nick, '', undefined);
      const m = x('message', { from: this.bare, id: this.host.randomId() });
      const ux = m.c('x', { xmlns: MUC_NS.user });
      const i = ux.c('invite', { from: from.bare });
      if (reason) i.c('reason').t(reason);
      if (this.config.password) ux.c('password').t(this.config.password);
      m.c('x', { xmlns: MUC_NS.conference, jid: this.bare, ...(reason ? { reason } : {}), ...(this.config.password ? { password: this.config.password } : {}) });
      m.c('body').t(`${from.bare} invites you to the room ${this.bare}${reason ? ` (${reason})` : ''}`);
      this.host.sendTo(m, this.jid, to);
    }
  }

  private async decline(from: JID, userX: Element): Promise<void> {
    const d = userX.getChild('decline')!;
    const to = tryParseJID(d.attrs.to ?? '');
    if (!to) return;
    const m = x('message', { from: this.bare, id: this.host.randomId() });
    const dx = m.c('x', { xmlns: MUC_NS.user }).c('decline', { from: from.bare });
    const reason = d.getChildText('reason');
    if (reason) dx.c('reason').t(reason);
    this.host.sendTo(m, this.jid, to);
  }

  private async voiceRequest(stanza: Element, from: JID, form: Element): Promise<void> {
    const o = this.byJid.get(from.full);
    if (!o) return this.messageError(stanza, from, this.bare, 'not-acceptable', 'only occupants may ask for voice');
    const fields = readForm(form);
    if (o.role === 'moderator' && fields.has('muc#request_allow')) {
      // A moderator's answer to a voice request.
      const allow = formBoolean(fields.get('muc#request_allow') ?? ['0'], 'muc#request_allow');
      const nick = fields.get('muc#roomnick')?.[0];
      const target = nick !== undefined ? this.occupants.get(nick) : undefined;
      if (allow && target && target.role === 'visitor') this.setRole(target, 'participant', o.nick, '');
      return;
    }
    if (o.role !== 'visitor') return; // it has voice already
    if (!this.config.allowVoiceRequests) return this.messageError(stanza, from, this.bare, 'forbidden', 'voice requests are not allowed in this room');
    const now = Date.now();
    if (o.lastVoiceRequest && now - o.lastVoiceRequest < this.config.voiceRequestMinInterval * 1000) {
      return this.messageError(stanza, from, this.bare, 'resource-constraint', 'please wait before asking for voice again');
    }
    o.lastVoiceRequest = now;
    const m = x('message', { from: this.bare, id: this.host.randomId() }, voiceRequestForm(from.full, o.nick));
    for (const r of this.occupants.values()) if (r.role === 'moderator') this.deliverTo(r, m);
  }

  // ---- roles and affiliations -----------------------------------------------------------

  private setRole(o: Occupant, role: Role, actor: string | undefined, reason: string): void {
    if (role === 'none') {
      this.expel(o, ['307'], actor, reason);
      return;
    }
    o.role = role;
    this.broadcastPresence(o, { actor, reason });
  }

  /** Sets an affiliation and acts on the occupants it concerns, as an owner's change would. */
  async changeAffiliation(bare: string, affiliation: Affiliation, actor: string | undefined, reason: string, actorBare: string | undefined): Promise<void> {
    const before = this.affiliationOf(bare);
    if (affiliation !== 'none' && !this.affiliations.has(bare) && this.affiliations.size >= this.host.limits.maxAffiliationsPerRoom) {
      throw new StanzaError('not-allowed', `a room has at most ${this.host.limits.maxAffiliationsPerRoom} affiliations`);
    }
    if (affiliation === 'none') this.affiliations.delete(bare);
    else this.affiliations.set(bare, { affiliation, reason });
    await this.host.saveAffiliation(this, bare, affiliation, reason);
    void actorBare;
    const concerned = [...this.occupants.values()].filter((o) => o.bare === bare || (!bare.includes('@') && o.bare.endsWith(`@${bare}`)));
    for (const o of concerned) {
      if (affiliation === 'outcast') this.expel(o, ['301'], actor, reason, 'outcast');
      else if (this.config.membersOnly && RANK[affiliation] < RANK.member) this.expel(o, ['321'], actor, reason, affiliation);
      else {
        const role = this.defaultRole(affiliation);
        o.role = affiliation === 'none' && before !== 'none' && o.role !== 'moderator' ? o.role : role;
        this.broadcastPresence(o, { actor, reason });
      }
    }
    const event = x('message', { from: this.bare, id: this.host.randomId() });
    event.c('x', { xmlns: MUC_NS.user }).c('item', { jid: bare, affiliation });
    this.notifySubscribers(MUCSUB_NODES.affiliations, event);
  }

  private requireOccupantOrAdmin(from: JID): { o: Occupant | undefined; aff: Affiliation } {
    return { o: this.byJid.get(from.full), aff: this.effectiveAffiliation(from.bare) };
  }

  /** muc#admin get: an affiliation list (admins and owners) or a role list (moderators). */
  adminGet(from: JID, payload: Element): Element {
    const item = payload.getChild('item');
    if (!item) throw new StanzaError('bad-request', 'an item names the list');
    const { o, aff } = this.requireOccupantOrAdmin(from);
    const q = x('query', { xmlns: MUC_NS.admin });
    if (item.attrs.affiliation !== undefined) {
      const wanted = item.attrs.affiliation;
      if (!['owner', 'admin', 'member', 'outcast'].includes(wanted)) throw new StanzaError('bad-request', 'unknown affiliation');
      const membersMayRead = wanted === 'member' && this.config.membersOnly && RANK[aff] >= RANK.member;
      if (RANK[aff] < RANK.admin && !membersMayRead) throw new StanzaError('forbidden', 'only admins and owners see affiliation lists');
      for (const [jid, a] of this.affiliations) {
        if (a.affiliation !== wanted) continue;
        const it = q.c('item', { affiliation: a.affiliation, jid });
        const nick = [...this.occupants.values()].find((occ) => occ.bare === jid)?.nick;
        if (nick) it.attrs.nick = nick;
        if (a.reason) it.c('reason').t(a.reason);
      }
      return q;
    }
    if (item.attrs.role !== undefined) {
      if (o?.role !== 'moderator' && RANK[aff] < RANK.admin) throw new StanzaError('forbidden', 'only moderators see role lists');
      for (const occ of this.occupants.values()) {
        if (occ.role !== item.attrs.role) continue;
        const first = occ.jids.values().next().value as JID;
        q.c('item', { role: occ.role, nick: occ.nick, affiliation: this.affiliationOf(occ.bare), jid: first.full });
      }
      return q;
    }
    throw new StanzaError('bad-request', 'an item names an affiliation or a role');
  }

  /** muc#admin set: role and affiliation changes, all checked before any is made. */
  async adminSet(from: JID | undefined, payload: Element): Promise<void> {
    const items = payload.getChildren('item');
    if (items.length === 0) throw new StanzaError('bad-request', 'no item to change');
    const actorOcc = from ? this.byJid.get(from.full) : undefined;
    const actorAff: Affiliation = from ? this.effectiveAffiliation(from.bare) : 'owner';
    const actorRole: Role = from ? (actorOcc?.role ?? (RANK[actorAff] >= RANK.admin ? 'moderator' : 'none')) : 'moderator';
    const actorNick = actorOcc?.nick;
    const plan: (() => Promise<void> | void)[] = [];
    let owners = [...this.affiliations.values()].filter((a) => a.affiliation === 'owner').length;
    for (const item of items) {
      const reason = item.getChildText('reason') ?? '';
      if (item.attrs.role !== undefined && item.attrs.affiliation === undefined) {
        const role = item.attrs.role as Role;
        if (!['moderator', 'participant', 'visitor', 'none'].includes(role)) throw new StanzaError('bad-request', 'unknown role');
        const target = item.attrs.nick !== undefined ? this.occupants.get(item.attrs.nick) : undefined;
        if (!target) throw new StanzaError('item-not-found', 'no occupant with that nick');
        const targetAff = this.effectiveAffiliation(target.bare);
        if (actorRole !== 'moderator') throw new StanzaError('forbidden', 'only moderators change roles');
        if (role === 'moderator' || target.role === 'moderator') {
          if (RANK[actorAff] < RANK.admin) throw new StanzaError('not-allowed', 'only admins grant or revoke moderation');
        }
        if (role !== 'moderator' && RANK[targetAff] >= RANK.admin) throw new StanzaError('not-allowed', 'admins and owners cannot lose their role');
        if (role === 'none' && RANK[targetAff] >= RANK[actorAff] && RANK[targetAff] > RANK.member) throw new StanzaError('not-allowed', 'you cannot kick this occupant');
        plan.push(() => this.setRole(target, role, actorNick, reason));
        continue;
      }
      const affiliation = item.attrs.affiliation as Affiliation | undefined;
      if (affiliation === undefined || !['owner', 'admin', 'member', 'outcast', 'none'].includes(affiliation)) throw new StanzaError('bad-request', 'unknown affiliation');
      let bare: string | undefined;
      if (item.attrs.jid !== undefined) {
        const j = tryParseJID(item.attrs.jid);
        if (!j) throw new StanzaError('jid-malformed', 'bad jid');
        bare = j.bare;
      } else if (item.attrs.nick !== undefined) bare = this.occupants.get(item.attrs.nick)?.bare;
      if (bare === undefined) throw new StanzaError('bad-request', 'an affiliation change names a jid');
      const current = this.affiliationOf(bare);
      const needsOwner = affiliation === 'owner' || affiliation === 'admin' || current === 'owner' || current === 'admin';
      if (RANK[actorAff] < RANK.admin) throw new StanzaError('forbidden', 'only admins and owners change affiliations');
      if (needsOwner && actorAff !== 'owner') throw new StanzaError('not-allowed', 'only owners grant or revoke admin and owner');
      if (current === 'owner' && affiliation !== 'owner') {
        if (owners <= 1) throw new StanzaError('conflict', 'a room keeps at least one owner');
        owners--;
      }
      if (affiliation === 'owner' && current !== 'owner') owners++;
      plan.push(() => this.changeAffiliation(bare, affiliation, actorNick, reason, from?.bare));
    }
    for (const step of plan) await step();
  }

  // ---- owner ----------------------------------------------------------------------------

  ownerGet(from: JID): Element {
    if (this.effectiveAffiliation(from.bare) !== 'owner') throw new StanzaError('forbidden', 'only owners configure the room');
    return x('query', { xmlns: MUC_NS.owner }, configForm(this.config, this.host.limits.maxOccupantsPerRoom, this.bare));
  }

  /** muc#owner set: a submitted or cancelled form, or destruction. */
  async ownerSet(from: JID, payload: Element): Promise<void> {
    if (this.effectiveAffiliation(from.bare) !== 'owner') throw new StanzaError('forbidden', 'only owners configure the room');
    const destroy = payload.getChild('destroy');
    if (destroy) {
      await this.host.destroy(this, destroy.getChildText('reason') ?? '', destroy.attrs.jid ?? '', destroy.getChildText('password') ?? '');
      return;
    }
    const form = payload.getChild('x', NS_DATA);
    if (!form) {
      if (this.locked) this.locked = false; // an instant room: the defaults are accepted
      return;
    }
    if (form.attrs.type === 'cancel') {
      // Cancelling the first configuration of a new room destroys it (XEP-0045 §10.1.3).
      if (this.locked) await this.host.destroy(this, '', '', '');
      return;
    }
    if (form.attrs.type !== 'submit') throw new StanzaError('bad-request', 'a submitted form is expected');
    await this.configure(parseConfigForm(form, this.config), from.bare);
  }

  /** Applies new options, checked as the form is; occupants learn of it (104 and 170-173), non-members leave a room that became members-only (322). */
  async configure(patch: Partial<RoomConfig>, by: string | undefined): Promise<void> {
    const limits = this.host.limits;
    const next: RoomConfig = { ...this.config, ...patch };
    if ([...next.title].length > limits.maxTitleLength) throw new StanzaError('not-acceptable', `the title is at most ${limits.maxTitleLength} characters`);
    if ([...next.description].length > limits.maxDescriptionLength) throw new StanzaError('not-acceptable', `the description is at most ${limits.maxDescriptionLength} characters`);
    if (next.maxUsers < 0 || next.historyLength < 0 || next.voiceRequestMinInterval < 0) throw new StanzaError('bad-request', 'negative number');
    next.historyLength = Math.min(next.historyLength, limits.maxHistory);
    if (next.maxUsers > limits.maxOccupantsPerRoom) next.maxUsers = limits.maxOccupantsPerRoom;
    if (next.persistent && !this.config.persistent && !this.host.mayPersist(this, by)) {
      throw new StanzaError('not-acceptable', `an account owns at most ${limits.maxPersistentRoomsPerAccount} persistent rooms`);
    }
    const before = this.config;
    const wasLocked = this.locked;
    this.config = next;
    this.locked = false;
    await this.host.configured(this, before);
    if (!wasLocked) {
      const codes = ['104'];
      if (next.logging !== before.logging) codes.push(next.logging ? '170' : '171');
      if (next.whois !== before.whois) codes.push(next.whois === 'anyone' ? '172' : '173');
      this.statusMessage(codes);
    }
    if (next.membersOnly && !before.membersOnly) {
      for (const o of [...this.occupants.values()]) if (RANK[this.effectiveAffiliation(o.bare)] < RANK.member) this.expel(o, ['322'], undefined, undefined);
    }
    // A room no longer persistent and empty goes, as when its last occupant leaves.
    if (before.persistent && !next.persistent && this.occupants.size === 0) this.host.emptied(this);
  }

  /** Every occupant leaves with the destruction notice (reason, alternate venue). */
  destroyed(reason: string, alternate: string, password: string): void {
    for (const o of [...this.occupants.values()]) {
      const p = x('presence', { type: 'unavailable', from: this.occupantJid(o.nick) });
      const xe = p.c('x', { xmlns: MUC_NS.user });
      xe.c('item', { affiliation: 'none', role: 'none' });
      const d = xe.c('destroy', alternate ? { jid: alternate } : {});
      if (reason) d.c('reason').t(reason);
      if (password) d.c('password').t(password);
      xe.c('status', { code: '110' });
      this.deliverTo(o, p);
      for (const full of o.jids.keys()) this.host.left(full, this);
    }
    this.occupants.clear();
    this.byJid.clear();
    this.gone = true;
  }

  /** The service shuts down or the room is removed: occupants are told (332). */
  shutdown(): void {
    for (const o of [...this.occupants.values()]) this.expel(o, ['332'], undefined, 'The service is shutting down');
  }

  // ---- MUC/Sub --------------------------------------------------------------------------

  async subscribe(requester: JID, target: string, nick: string, nodes: readonly string[], password: string | undefined): Promise<string[]> {
    const limits = this.host.limits;
    if (!this.config.allowSubscription) throw new StanzaError('not-allowed', 'subscriptions are not allowed in this room');
    const requesterAff = this.effectiveAffiliation(requester.bare);
    if (target !== requester.bare && RANK[requesterAff] < RANK.admin) throw new StanzaError('forbidden', 'only moderators subscribe others');
    const aff = this.effectiveAffiliation(target);
    if (aff === 'outcast') throw new StanzaError('forbidden', 'you are banned from this room');
    if (this.config.membersOnly && RANK[aff] < RANK.member) throw new StanzaError('registration-required', 'the room is members-only');
    if (this.config.password && RANK[aff] < RANK.admin && target === requester.bare && password !== this.config.password) throw new StanzaError('not-authorized', 'a password is required');
    if (!nick) throw new StanzaError('bad-request', 'a nick is required');
    if ([...nick].length > limits.maxNickLength) throw new StanzaError('not-acceptable', 'the nick is too long');
    const occ = this.occupants.get(nick);
    if (occ && occ.bare !== target) throw new StanzaError('conflict', 'that nickname is already in use');
    for (const s of this.subscribers.values()) if (s.nick === nick && s.jid !== target) throw new StanzaError('conflict', 'that nickname is already in use');
    const owner = await this.host.nickOwner(this.jid.domain, nick);
    if (owner !== undefined && owner !== target) throw new StanzaError('conflict', 'that nickname is registered by another person');
    if (!this.subscribers.has(target) && this.subscribers.size >= limits.maxSubscribersPerRoom) throw new StanzaError('not-allowed', 'the room has too many subscribers');
    const chosen = [...new Set(nodes.filter((n) => ALL_MUCSUB_NODES.includes(n)))];
    const sub: StoredSubscriber = { jid: target, nick, nodes: chosen };
    const isNew = !this.subscribers.has(target);
    this.subscribers.set(target, sub);
    await this.host.saveSubscriber(this, target, sub);
    if (isNew) this.notifySubscriberChange('subscribe', target, nick);
    return chosen;
  }

  async unsubscribe(target: string): Promise<boolean> {
    const sub = this.subscribers.get(target);
    if (!sub) return false;
    this.subscribers.delete(target);
    await this.host.saveSubscriber(this, target, undefined);
    this.notifySubscriberChange('unsubscribe', target, sub.nick);
    return true;
  }

  private notifySubscriberChange(kind: 'subscribe' | 'unsubscribe', jid: string, nick: string): void {
    const ev = x(kind, { xmlns: MUC_NS.mucsub, jid, nick });
    for (const s of this.subscribers.values()) {
      if (s.jid === jid || !s.nodes.includes(MUCSUB_NODES.subscribers) || RANK[this.effectiveAffiliation(s.jid)] < RANK.admin) continue;
      const id = this.host.randomId();
      const m = x('message', { from: this.bare, to: s.jid, id }, x('event', { xmlns: MUC_NS.pubsubEvent }, x('items', { node: MUCSUB_NODES.subscribers }, x('item', { id }, ev.clone()))));
      this.host.sendToBare(m, this.jid, s.jid);
    }
  }

  // ---- disco, registration, moderation, self-ping -----------------------------------------

  discoInfo(from: JID, node: string | undefined, archiving: boolean): Element {
    const q = x('query', { xmlns: MUC_NS.discoInfo });
    if (node === 'x-roomuser-item') {
      q.attrs.node = node;
      return q; // the reserved nick is added by the service, which knows the registrations
    }
    if (node !== undefined) throw new StanzaError('item-not-found');
    if (this.locked && this.effectiveAffiliation(from.bare) !== 'owner') throw new StanzaError('item-not-found');
    const c = this.config;
    q.c('identity', { category: 'conference', type: 'text', name: c.title || this.jid.local });
    const features = [
      MUC_NS.muc,
      MUC_NS.discoInfo,
      MUC_NS.discoItems,
      MUC_NS.register,
      MUC_NS.sid,
      'urn:xmpp:ping',
      'http://jabber.org/protocol/muc#self-ping-optimization',
      'http://jabber.org/protocol/muc#request',
      MUC_NS.moderate,
      NS_OCCUPANT_ID,
      c.public ? 'muc_public' : 'muc_hidden',
      c.persistent ? 'muc_persistent' : 'muc_temporary',
      c.membersOnly ? 'muc_membersonly' : 'muc_open',
      c.moderated ? 'muc_moderated' : 'muc_unmoderated',
      c.password ? 'muc_passwordprotected' : 'muc_unsecured',
      c.whois === 'anyone' ? 'muc_nonanonymous' : 'muc_semianonymous',
    ];
    if (c.allowSubscription) features.push(MUC_NS.mucsub);
    if (archiving && c.mam) features.push(MUC_NS.mam);
    for (const f of features.sort()) q.c('feature', { var: f });
    q.append(roomInfoForm(c, this.occupants.size, this.subject));
    return q;
  }

  discoItems(from: JID): Element {
    const q = x('query', { xmlns: MUC_NS.discoItems });
    if (this.locked && this.effectiveAffiliation(from.bare) !== 'owner') throw new StanzaError('item-not-found');
    const isOccupant = this.byJid.has(from.full);
    if (this.config.publicList || isOccupant || RANK[this.effectiveAffiliation(from.bare)] >= RANK.admin) {
      for (const o of this.occupants.values()) q.c('item', { jid: this.occupantJid(o.nick) });
    }
    return q;
  }

  mayReadArchive(from: JID): boolean {
    const aff = this.effectiveAffiliation(from.bare);
    if (aff === 'outcast') return false;
    if (this.config.membersOnly) return RANK[aff] >= RANK.member;
    return true;
  }

  /** XEP-0425: a moderator retracts a message; occupants get the retraction. */
  async moderate(from: JID, payload: Element): Promise<void> {
    const o = this.byJid.get(from.full);
    const aff = this.effectiveAffiliation(from.bare);
    if (o?.role !== 'moderator' && RANK[aff] < RANK.admin) throw new StanzaError('forbidden', 'only moderators retract messages');
    const id = payload.attrs.id;
    if (!id) throw new StanzaError('bad-request', 'the message id is missing');
    const reason = payload.getChildText('reason') ?? '';
    const inHistory = this.history.findIndex((e) => e.stanzaId === id);
    const archive = this.host.archive();
    const archived = archive ? await archive.moderateRoomMessage(this.bare, id, o ? this.occupantJid(o.nick) : from.bare, reason || undefined) : false;
    if (!archived && inHistory < 0) throw new StanzaError('item-not-found', 'no such message in this room');
    if (inHistory >= 0) this.historyChars -= this.history.splice(inHistory, 1)[0]!.chars;
    const m = x('message', { type: 'groupchat', from: this.bare, id: this.host.randomId() });
    const r = m.c('retract', { xmlns: MUC_NS.retract, id });
    r.c('moderated', { xmlns: MUC_NS.moderate, by: o ? this.occupantJid(o.nick) : this.bare });
    if (reason) r.c('reason').t(reason);
    this.broadcastMessage(m);
    this.notifySubscribers(MUCSUB_NODES.messages, m);
  }
}

export { RANK as AFFILIATION_RANK };
