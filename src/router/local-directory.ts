import type { Element } from '../xmpp/xml/element.js';
import { presenceOf, type DeliveryReceipt, type SessionFlags, type SessionHandle, type SessionRecord } from './session.js';
import type { NewSession, SessionDirectory } from './directory.js';


const NO_FLAGS: Readonly<Partial<SessionFlags>> = Object.freeze({});
const NO_JIDS: readonly string[] = Object.freeze([]);

/**
 * A record as this directory keeps it: changed in place by the directory only. The live handle is
 * a private field, so that the record itself stays plain data (JSON and spreads do not see it).
 */
class LocalRecord implements SessionRecord {
  readonly id: string;
  readonly jid: SessionRecord['jid'];
  readonly node: string;
  readonly connection: SessionRecord['connection'];
  readonly ip: string;
  readonly port: number;
  readonly startedAt: number;
  presence: string | undefined = undefined;
  priority = 0;
  /** Replaced, never changed: a reader keeps the value it read (copy on write). */
  flags = NO_FLAGS;
  directedPresence = NO_JIDS;
  /** `presence` as an element, so that routing does not parse it again. */
  #presence: Element | undefined;
  #handle: SessionHandle | undefined;

  constructor(init: NewSession, node: string, handle: SessionHandle) {
    this.id = init.id;
    this.jid = init.jid;
    this.node = node;
    this.connection = init.connection;
    this.ip = init.ip;
    this.port = init.port;
    this.startedAt = init.startedAt;
    this.#handle = handle;
  }

  static handle(r: LocalRecord): SessionHandle | undefined {
    return r.#handle;
  }

  static release(r: LocalRecord): void {
    r.#handle = undefined;
  }

  static setPresence(r: LocalRecord, presence: Element | undefined): void {
    r.#presence = presence;
    r.presence = presence?.toString();
  }

  static presenceElement(r: LocalRecord): Element | undefined {
    return r.#presence;
  }
}

/** The session directory of a single node: every session is bound here, with its live handle. */
export class LocalSessionDirectory implements SessionDirectory {
  /** Registered sessions by bare JID then resource. */
  private byBare = new Map<string, Map<string, LocalRecord>>();
  /** Every session with a live handle, registered or replaced but not yet removed. */
  private byId = new Map<string, LocalRecord>();
  private perHost = new Map<string, number>();
  private total = 0;

  constructor(private readonly node: string) {}

  add(init: NewSession, handle: SessionHandle): { record: SessionRecord; replaced: SessionRecord | undefined } {
    const record = new LocalRecord(init, this.node, handle);
    const bare = init.jid.bare;
    let resources = this.byBare.get(bare);
    if (!resources) {
      resources = new Map();
      this.byBare.set(bare, resources);
    }
    const old = resources.get(init.jid.resource);
    if (!old) {
      this.total++;
      this.perHost.set(init.jid.domain, (this.perHost.get(init.jid.domain) ?? 0) + 1);
    }
    resources.set(init.jid.resource, record);
    this.byId.set(init.id, record);
    return { record, replaced: old };
  }

  remove(session: SessionRecord): boolean {
    const own = this.byId.get(session.id);
    if (own) {
      LocalRecord.release(own);
      this.byId.delete(session.id);
    }
    const { bare, resource, domain } = session.jid;
    const resources = this.byBare.get(bare);
    if (!resources || resources.get(resource)?.id !== session.id) return false;
    resources.delete(resource);
    if (resources.size === 0) this.byBare.delete(bare);
    this.total--;
    const n = this.perHost.get(domain)! - 1;
    if (n === 0) this.perHost.delete(domain);
    else this.perHost.set(domain, n);
    return true;
  }

  get(bare: string, resource: string): SessionRecord | undefined {
    return this.byBare.get(bare)?.get(resource);
  }

  resources(bare: string): SessionRecord[] {
    const r = this.byBare.get(bare);
    if (!r) return [];
    return [...r.values()];
  }

  hasSessions(bare: string): boolean {
    return this.byBare.has(bare);
  }

  available(bare: string): SessionRecord[] {
    const r = this.byBare.get(bare);
    if (!r) return [];
    const out: SessionRecord[] = [];
    for (const s of r.values()) if (s.presence !== undefined) out.push(s);
    return out;
  }

  messageTargets(bare: string): SessionRecord[] {
    const r = this.byBare.get(bare);
    if (!r) return [];
    let best = -1;
    let out: SessionRecord[] = [];
    for (const s of r.values()) {
      if (s.presence === undefined || s.priority < 0) continue;
      if (s.priority > best) {
        best = s.priority;
        out = [s];
      } else if (s.priority === best) out.push(s);
    }
    return out;
  }

  count(): number {
    return this.total;
  }

  countForHost(host: string): number {
    return this.perHost.get(host) ?? 0;
  }

  *all(): Iterable<SessionRecord> {
    for (const r of this.byBare.values()) yield* r.values();
  }

  *forHost(host: string): Iterable<SessionRecord> {
    for (const r of this.byBare.values()) for (const s of r.values()) if (s.jid.domain === host) yield s;
  }

  presenceOf(session: SessionRecord): Element | undefined {
    if (session instanceof LocalRecord) return LocalRecord.presenceElement(session)?.clone();
    return presenceOf(session);
  }

  setPresence(session: SessionRecord, presence: Element | undefined, priority?: number): void {
    const r = this.byId.get(session.id);
    if (!r) return;
    LocalRecord.setPresence(r, presence);
    if (priority !== undefined) r.priority = priority;
  }

  setFlag<K extends keyof SessionFlags>(session: SessionRecord, flag: K, value: SessionFlags[K]): void {
    const r = this.byId.get(session.id);
    if (r) r.flags = { ...r.flags, [flag]: value };
  }

  setDirectedPresence(session: SessionRecord, to: string, sent: boolean): void {
    const r = this.byId.get(session.id);
    if (!r || r.directedPresence.includes(to) === sent) return;
    // A new array each time: a reader iterating the previous one is not disturbed.
    r.directedPresence = sent ? [...r.directedPresence, to] : r.directedPresence.filter((j) => j !== to);
  }

  clearDirectedPresence(session: SessionRecord): void {
    const r = this.byId.get(session.id);
    if (r && r.directedPresence.length) r.directedPresence = NO_JIDS;
  }

  /** The live object of a session of this node (diagnostics and white-box tests). */
  handleOf(session: SessionRecord): SessionHandle | undefined {
    const r = this.byId.get(session.id);
    return r && LocalRecord.handle(r);
  }

  deliver(session: SessionRecord, stanza: Element, receipt?: DeliveryReceipt): void {
    const handle = this.handleOf(session);
    if (handle) handle.send(stanza, receipt);
    else receipt?.failed();
  }

  drained(session: SessionRecord): Promise<boolean> {
    const handle = this.handleOf(session);
    return handle ? handle.drained() : Promise.resolve(false);
  }

  async inject(session: SessionRecord, stanza: Element): Promise<boolean> {
    const handle = this.handleOf(session);
    if (!handle) return false;
    await handle.inject(stanza);
    return true;
  }

  close(session: SessionRecord, condition?: string, text?: string): void {
    this.handleOf(session)?.close(condition, text);
  }
}
