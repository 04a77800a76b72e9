import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import type { Hooks } from '../hooks.js';
import type { Router } from '../router/router.js';
import type { SessionDirectory } from '../router/directory.js';
import type { Element } from '../xmpp/xml/element.js';
import { NS } from '../xmpp/ns.js';
import { tryParseJID, type JID } from '../xmpp/jid.js';
import { errorReply, iqResult } from '../xmpp/stanza.js';
import { parseElement } from '../xmpp/xml/parse.js';
import type { DeliveryReceipt, SessionHandle, SessionRecord } from '../router/session.js';
import type { NewSession } from '../router/directory.js';
import type { RouteEvent } from '../router/router.js';

/** What a session needs of the node it runs on (the server, in `server.ts`, is one). */
export interface SessionHost {
  readonly config: Config;
  readonly log: Logger;
  readonly hooks: Hooks;
  readonly router: Router;
  readonly sessions: SessionDirectory;
  /** Sessions that can be resumed (XEP-0198), by resumption id. */
  readonly resumable: Map<string, C2SSession>;
}

/** What a session needs of the stream that carries it for now. */
export interface SessionStream {
  /** The connection is open. */
  readonly connected: boolean;
  /** Bytes written but not yet handed to the operating system. */
  readonly buffered: number;
  onDrain(cb: () => void): void;
  write(data: string): void;
  writeStanza(stanza: Element): void;
  /** Writes a stanza kept serialized; `hasNs`: its root declares its own namespace. */
  writeSerialized(xml: string, hasNs: boolean): void;
  /** Closes the stream, with a stream error when a condition is given; the session ends. */
  close(condition?: string, text?: string): void;
  /**
   * Stops carrying the session (it was resumed on another stream) and closes the connection if it is
   * still open. Resolves once what the stream had already received is handled.
   */
  detach(): Promise<void>;
  /** Handles what arrives from now on only after `work` (what the previous stream received). */
  continueAfter(work: Promise<void>): void;
}

/** A stanza sent under XEP-0198, kept serialized until the client acknowledges it. */
interface Queued {
  seq: number;
  xml: string;
  /** The root element declares its own namespace (no jabber:client to add over WebSocket). */
  hasNs: boolean;
  /** A message to send again to the account (other resources or offline storage) if never acknowledged. */
  reroute: boolean;
  receipt: DeliveryReceipt | undefined;
}

/** Messages that would be lost if the session ended before the client acknowledged them. */
function reroutable(el: Element): boolean {
  if (el.name !== 'message') return false;
  const type = el.attrs.type;
  return type !== 'error' && type !== 'groupchat' && type !== 'headline';
}

/**
 * A bound client resource on this node: its record in the session directory, what its client sends
 * as it, and the XEP-0198 state that outlives a connection (counters, the queue of unacknowledged
 * stanzas, hibernation). A stream carries it; after a dropped connection it waits `c2s.resumeTimeout`
 * seconds for another stream to resume it (`attach`).
 */
export class C2SSession implements SessionHandle {
  readonly record: SessionRecord;
  private stream: SessionStream;
  private ended = false;
  // XEP-0198 state
  private smEnabled = false;
  private smResumable = false;
  private smId: string | undefined;
  /** Stanzas handled from the client. */
  private inbound = 0;
  private outbound = 0;
  private unacked: Queued[] = [];
  /** Characters held in `unacked`. */
  private unackedSize = 0;
  private ackRequested = false;
  /** Producers waiting for room (see drained()). */
  private drainWaiters: ((ok: boolean) => void)[] = [];
  private hibernateTimer: NodeJS.Timeout | undefined;

  /** Registers the session in the directory; a session bound to the same full JID before is replaced. */
  constructor(private readonly server: SessionHost, stream: SessionStream, init: NewSession) {
    this.stream = stream;
    const { record, replaced } = server.sessions.add(init, this);
    this.record = record;
    if (replaced) server.sessions.close(replaced, 'conflict', 'Replaced by new connection');
  }

  get jid(): JID {
    return this.record.jid;
  }

  get isEnded(): boolean {
    return this.ended;
  }

  /** The stream, when its connection is open. */
  private get live(): SessionStream | undefined {
    return this.stream.connected ? this.stream : undefined;
  }

  // ---- what the client sends -------------------------------------------------------------

  /** Counts a stanza received under XEP-0198 and handles it. */
  received(el: Element): Promise<void> {
    if (this.smEnabled) this.inbound++;
    return this.handleStanza(el);
  }

  private async handleStanza(el: Element): Promise<void> {
    const jid = this.jid;
    const kind = el.name;
    const fromAttr = el.attrs.from;
    if (fromAttr !== undefined && fromAttr !== jid.full && fromAttr !== jid.bare) {
      const parsed = tryParseJID(fromAttr);
      if (!parsed || !(parsed.bare === jid.bare && (parsed.resource === '' || parsed.resource === jid.resource))) {
        return this.close('invalid-from', `you are ${jid.full}`);
      }
    }
    delete el.attrs.xmlns;
    el.attrs.from = jid.full;
    let to: JID;
    const toAttr = el.attrs.to;
    if (toAttr === undefined || toAttr === '') {
      if (kind === 'presence') {
        await this.server.router.fire('presence/out', { stanza: el, from: jid, to: jid.bareJID(), origin: this.record });
        return;
      }
      if (kind === 'iq' && el.getChild('session', NS.session)) {
        const reply = iqResult(el);
        delete reply.attrs.to;
        this.send(reply);
        return;
      }
      to = jid.bareJID();
    } else {
      const parsed = tryParseJID(toAttr);
      if (!parsed) {
        if (el.attrs.type !== 'error') {
          const reply = errorReply(el, 'jid-malformed', `${toAttr} is not a valid JID`);
          reply.attrs.to = jid.full;
          delete reply.attrs.from;
          this.send(reply);
        }
        return;
      }
      to = parsed;
      el.attrs.to = to.full;
    }
    const ctx = { stanza: el, from: jid, to, origin: this.record };
    if (await this.server.router.fire(`${kind}/out` as RouteEvent, ctx)) return;
    await this.server.router.route(el, jid, to, this.record);
  }

  async inject(stanza: Element): Promise<void> {
    if (this.ended) return;
    delete stanza.attrs.from; // it is sent as this session, whatever the caller wrote
    await this.handleStanza(stanza);
  }

  // ---- delivery to the client ----------------------------------------------------------

  send(stanza: Element, receipt?: DeliveryReceipt): void {
    if (this.ended) {
      receipt?.failed();
      return;
    }
    if (!this.smEnabled) {
      const stream = this.live;
      if (!stream) {
        receipt?.failed();
        return;
      }
      stream.writeStanza(stanza);
      if (receipt) {
        if (stream.connected) receipt.acked();
        else receipt.failed(); // the write overflowed the output buffer and closed the stream
      }
      return;
    }
    // XEP-0198: kept until acknowledged, within c2s.maxUnackedStanzas and c2s.maxUnackedBytes.
    const xml = stanza.toString();
    const q: Queued = { seq: ++this.outbound, xml, hasNs: stanza.attrs.xmlns !== undefined, reroute: receipt === undefined && reroutable(stanza), receipt };
    this.unacked.push(q);
    this.unackedSize += xml.length;
    const c2s = this.server.config.c2s;
    if (this.unacked.length > c2s.maxUnackedStanzas || this.unackedSize > c2s.maxUnackedBytes) {
      const live = this.live;
      if (live) live.close('policy-violation', 'too many unacknowledged stanzas');
      else this.end('the queue of the hibernating session is full');
      return;
    }
    const stream = this.live;
    if (!stream) return;
    stream.writeSerialized(q.xml, q.hasNs);
    if (!this.ackRequested && stream.connected) {
      this.ackRequested = true;
      setImmediate(() => this.live?.write(`<r xmlns="${NS.sm}"/>`));
    }
  }

  drained(): Promise<boolean> {
    if (this.ended) return Promise.resolve(false);
    if (this.hasRoom()) return Promise.resolve(true);
    return new Promise((resolve) => {
      this.drainWaiters.push(resolve);
      if (this.drainWaiters.length === 1) this.live?.onDrain(() => this.wakeDrainWaiters());
    });
  }

  /** Under half of every output bound: producers may go on. */
  private hasRoom(): boolean {
    const stream = this.live;
    if (!stream || stream.buffered > this.server.config.limits.maxOutputBuffer / 2) return false;
    if (!this.smEnabled) return true;
    const c2s = this.server.config.c2s;
    return this.unacked.length <= c2s.maxUnackedStanzas / 2 && this.unackedSize <= c2s.maxUnackedBytes / 2;
  }

  wakeDrainWaiters(): void {
    if (this.drainWaiters.length === 0) return;
    if (this.ended || this.hasRoom()) {
      const ok = !this.ended;
      for (const w of this.drainWaiters.splice(0)) w(ok);
      return;
    }
    // Still full: wait for the connection again when it is the output buffer that is full.
    const stream = this.live;
    if (stream && stream.buffered > this.server.config.limits.maxOutputBuffer / 2) stream.onDrain(() => this.wakeDrainWaiters());
  }

  // ---- stream management (XEP-0198) ----------------------------------------------------

  get streamManagement(): boolean {
    return this.smEnabled;
  }

  get resumable(): boolean {
    return this.smResumable && this.server.config.c2s.resumeTimeout > 0;
  }

  /** The count of handled stanzas, for `<a h=.../>`. */
  get handled(): number {
    return this.inbound >>> 0;
  }

  /** Turns stream management on; returns the attributes of `<enabled/>`, or undefined if it was on already. */
  enableStreamManagement(resume: boolean): Record<string, string> | undefined {
    if (this.smEnabled) return undefined;
    this.smEnabled = true;
    const attrs: Record<string, string> = { xmlns: NS.sm };
    if (resume && this.server.config.c2s.resumeTimeout > 0) {
      this.smResumable = true;
      this.smId = randomBytes(16).toString('base64url');
      this.server.resumable.set(this.smId, this);
      attrs.id = this.smId;
      attrs.resume = 'true';
      attrs.max = String(this.server.config.c2s.resumeTimeout);
    }
    return attrs;
  }

  /** The client acknowledged `h` stanzas. */
  acknowledged(h: number): void {
    this.ackRequested = false;
    this.acknowledge(h);
  }

  private acknowledge(h: number): void {
    let i = 0;
    while (i < this.unacked.length && this.unacked[i]!.seq <= h) i++;
    if (i === 0) return;
    const done = this.unacked.splice(0, i);
    for (const q of done) {
      this.unackedSize -= q.xml.length;
      q.receipt?.acked();
    }
    this.wakeDrainWaiters();
  }

  /** The connection of `stream` closed (the stream may still be handling what it received). */
  disconnected(stream: SessionStream): void {
    if (!this.ended && stream === this.stream) this.server.sessions.setFlag(this.record, 'hibernating', true);
  }

  /** `stream` handled everything it received before its connection closed: hibernate, or end. */
  streamGone(stream: SessionStream): void {
    // A resumption may have taken over meanwhile.
    if (this.ended || stream !== this.stream || stream.connected) return;
    if (this.resumable) this.hibernate();
    else this.end('connection lost');
  }

  private hibernate(): void {
    this.server.log.debug({ jid: this.jid.full }, 'session hibernating for resumption');
    this.hibernateTimer = setTimeout(() => this.end('resumption timeout'), this.server.config.c2s.resumeTimeout * 1000);
    this.hibernateTimer.unref?.();
    const messages = this.unacked.filter((q) => q.xml.startsWith('<message'));
    const last = messages[messages.length - 1];
    let lastMessage: Element | undefined;
    try {
      lastMessage = last && parseElement(last.xml, Infinity);
    } catch {
      lastMessage = undefined;
    }
    void this.server.hooks.emit('session-hibernating', { session: this.record, unackedMessages: messages.length, lastMessage });
  }

  /**
   * XEP-0198 resumption: `stream` carries the session from now on, the previous stream lets go (its
   * connection is closed if the server had not noticed it dropped), and what the client did not
   * acknowledge is sent again.
   */
  attach(stream: SessionStream, h: number): void {
    if (this.hibernateTimer) clearTimeout(this.hibernateTimer);
    this.hibernateTimer = undefined;
    const previous = this.stream;
    this.stream = stream;
    stream.continueAfter(previous.detach());
    this.server.sessions.setFlag(this.record, 'hibernating', false);
    this.acknowledge(h);
    stream.write(`<resumed xmlns="${NS.sm}" previd="${this.smId}" h="${this.handled}"/>`);
    for (const q of this.unacked) stream.writeSerialized(q.xml, q.hasNs);
    this.ackRequested = false;
    if (this.unacked.length) {
      this.ackRequested = true;
      stream.write(`<r xmlns="${NS.sm}"/>`);
    }
    this.wakeDrainWaiters();
  }

  // ---- end of the session --------------------------------------------------------------

  close(condition?: string, text?: string): void {
    if (this.ended) return;
    const live = this.live;
    if (live) live.close(condition, text);
    else this.end(condition ? `stream error: ${condition}` : 'closed by server');
  }

  /** Ends the session in the background; failures are logged, never thrown at the event loop. */
  end(reason: string): void {
    this.terminate(reason).catch((err) => this.server.log.error({ err, jid: this.jid.full }, 'error while ending a session'));
  }

  /** Whether `stream` is the one carrying this session (a detached one no longer ends it). */
  carriedBy(stream: SessionStream): boolean {
    return this.stream === stream;
  }

  private async terminate(reason: string): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    if (this.hibernateTimer) clearTimeout(this.hibernateTimer);
    if (this.smId) this.server.resumable.delete(this.smId);
    this.wakeDrainWaiters();
    const removed = this.server.sessions.remove(this.record);
    const pending = this.unacked;
    this.unacked = [];
    this.unackedSize = 0;
    if (removed) await this.server.hooks.emit('session-closed', { session: this.record, reason });
    // Messages the client never acknowledged are delivered again: to other resources or offline
    // storage, or by their sender (a receipt: offline storage still holds them).
    for (const q of pending) {
      if (q.receipt) {
        q.receipt.failed();
        continue;
      }
      if (!q.reroute) continue;
      let el: Element;
      try {
        el = parseElement(q.xml, Infinity);
      } catch {
        continue;
      }
      const from = tryParseJID(el.attrs.from ?? '');
      if (!from) continue;
      await this.server.router.route(el, from, this.jid.bareJID());
    }
  }
}

/** The session to replace when an account has too many: the oldest hibernating one, else the oldest. */
export function oldestSession(sessions: SessionRecord[]): SessionRecord {
  let best: SessionRecord | undefined;
  for (const s of sessions) {
    const h = s.flags.hibernating === true;
    const bh = best?.flags.hibernating === true;
    if (!best || (h && !bh) || (h === bh && s.startedAt < best.startedAt)) best = s;
  }
  return best!;
}
