import type { Element } from '../xmpp/xml/element.js';
import type { DeliveryReceipt, SessionFlags, SessionHandle, SessionRecord } from './session.js';
import type { NewSession, SessionDirectory } from './directory.js';

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

interface LocalRecord extends Mutable<Omit<SessionRecord, 'flags' | 'directedPresence'>> {
  flags: Partial<SessionFlags>;
  directedPresence: readonly string[];
}

interface Entry {
  record: LocalRecord;
  handle: SessionHandle;
}

/** The session directory of a single node: every session is bound here, with its live handle. */
export class LocalSessionDirectory implements SessionDirectory {
  /** Registered sessions by bare JID then resource. */
  private byBare = new Map<string, Map<string, Entry>>();
  /** Every session with a live handle, registered or replaced but not yet removed. */
  private byId = new Map<string, Entry>();
  private perHost = new Map<string, number>();
  private total = 0;

  constructor(private readonly node: string) {}

  add(init: NewSession, handle: SessionHandle): { record: SessionRecord; replaced: SessionRecord | undefined } {
    const record: LocalRecord = {
      id: init.id, jid: init.jid, node: this.node, connection: init.connection, ip: init.ip, port: init.port, startedAt: init.startedAt,
      presence: undefined, priority: 0, flags: {}, directedPresence: [],
    };
    const entry = { record, handle };
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
    resources.set(init.jid.resource, entry);
    this.byId.set(init.id, entry);
    return { record, replaced: old?.record };
  }

  remove(session: SessionRecord): boolean {
    this.byId.delete(session.id);
    const { bare, resource, domain } = session.jid;
    const resources = this.byBare.get(bare);
    if (!resources || resources.get(resource)?.record.id !== session.id) return false;
    resources.delete(resource);
    if (resources.size === 0) this.byBare.delete(bare);
    this.total--;
    const n = this.perHost.get(domain)! - 1;
    if (n === 0) this.perHost.delete(domain);
    else this.perHost.set(domain, n);
    return true;
  }

  get(bare: string, resource: string): SessionRecord | undefined {
    return this.byBare.get(bare)?.get(resource)?.record;
  }

  resources(bare: string): SessionRecord[] {
    const r = this.byBare.get(bare);
    if (!r) return [];
    const out: SessionRecord[] = [];
    for (const e of r.values()) out.push(e.record);
    return out;
  }

  hasSessions(bare: string): boolean {
    return this.byBare.has(bare);
  }

  available(bare: string): SessionRecord[] {
    const r = this.byBare.get(bare);
    if (!r) return [];
    const out: SessionRecord[] = [];
    for (const { record } of r.values()) if (record.presence !== undefined) out.push(record);
    return out;
  }

  messageTargets(bare: string): SessionRecord[] {
    const r = this.byBare.get(bare);
    if (!r) return [];
    let best = -1;
    let out: SessionRecord[] = [];
    for (const { record: s } of r.values()) {
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
    for (const r of this.byBare.values()) for (const e of r.values()) yield e.record;
  }

  *forHost(host: string): Iterable<SessionRecord> {
    for (const r of this.byBare.values()) for (const e of r.values()) if (e.record.jid.domain === host) yield e.record;
  }

  setPresence(session: SessionRecord, presence: Element | undefined, priority?: number): void {
    const r = this.byId.get(session.id)?.record;
    if (!r) return;
    r.presence = presence?.toString();
    if (priority !== undefined) r.priority = priority;
  }

  setFlag<K extends keyof SessionFlags>(session: SessionRecord, flag: K, value: SessionFlags[K]): void {
    const r = this.byId.get(session.id)?.record;
    if (r) r.flags[flag] = value;
  }

  setDirectedPresence(session: SessionRecord, to: string, sent: boolean): void {
    const r = this.byId.get(session.id)?.record;
    if (!r || r.directedPresence.includes(to) === sent) return;
    // A new array each time: a reader iterating the previous one is not disturbed.
    r.directedPresence = sent ? [...r.directedPresence, to] : r.directedPresence.filter((j) => j !== to);
  }

  clearDirectedPresence(session: SessionRecord): void {
    const r = this.byId.get(session.id)?.record;
    if (r && r.directedPresence.length) r.directedPresence = [];
  }

  /** The live object of a session of this node (diagnostics and white-box tests). */
  handleOf(session: SessionRecord): SessionHandle | undefined {
    return this.byId.get(session.id)?.handle;
  }

  deliver(session: SessionRecord, stanza: Element, receipt?: DeliveryReceipt): void {
    const entry = this.byId.get(session.id);
    if (entry) entry.handle.send(stanza, receipt);
    else receipt?.failed();
  }

  drained(session: SessionRecord): Promise<boolean> {
    const entry = this.byId.get(session.id);
    return entry ? entry.handle.drained() : Promise.resolve(false);
  }

  async inject(session: SessionRecord, stanza: Element): Promise<boolean> {
    const entry = this.byId.get(session.id);
    if (!entry) return false;
    await entry.handle.inject(stanza);
    return true;
  }

  close(session: SessionRecord, condition?: string, text?: string): void {
    this.byId.get(session.id)?.handle.close(condition, text);
  }
}
