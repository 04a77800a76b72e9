import { randomBytes } from 'node:crypto';
import type { Server } from '../server.js';
import { Element, x } from '../xmpp/xml/element.js';
import { StreamParser, type StreamErrorCondition } from '../xmpp/xml/parser.js';
import { NS } from '../xmpp/ns.js';
import { JID, JIDError, nodeprep, resourceprep, tryParseJID } from '../xmpp/jid.js';
import { errorReply, iqResult, streamError } from '../xmpp/stanza.js';
import { createMechanism, SaslError, SUPPORTED_MECHANISMS, type SaslMechanism, type SaslStep } from './sasl.js';
import type { ConnectionKind, DeliveryReceipt, Session } from '../router/session.js';
import { parseElement } from '../xmpp/xml/parse.js';
import type { RouteEvent } from '../router/router.js';
import { handlePreAuthRegistration } from '../modules/register/index.js';
import { isLoopback } from '../transports/address.js';

/** Bytes in and out for one client connection, whatever carries it. */
export interface Transport {
  readonly kind: ConnectionKind;
  /** RFC 7395 framing: one element per message, `<open/>` and `<close/>`. */
  readonly framed: boolean;
  readonly ip: string;
  readonly port: number;
  secure: boolean;
  write(data: string): void;
  /** Bytes written but not yet handed to the operating system (socket.writableLength, ws.bufferedAmount). */
  readonly buffered: number;
  /** Calls back once, the next time everything buffered has been handed to the operating system. */
  onDrain(cb: () => void): void;
  /** Closes after flushing what was written. */
  end(): void;
  /** Closes at once, dropping whatever is still buffered. */
  destroy(): void;
  /** The client authenticated: the transport may switch to the limits for authenticated connections (shaper). */
  authenticated?(): void;
  /** Stops or restarts reading from the client (the stream's own backlog; the shaper pauses on its own too). */
  setReadPaused?(paused: boolean): void;
  /** Upgrades to TLS in place (TCP only); calls back once the handshake completed. */
  startTls?(onSecure: () => void, onError: (err: Error) => void): void;
}

/** Lets a resumed session take over the connection of the stream that resumed it. */
export interface ConnectionSlot {
  handler: { receive(data: string): void; transportClosed(): void; invalidData(reason: string): void };
}

const BASE64_RE = /^[A-Za-z0-9+/]*={0,2}$/;
const STANZA_KINDS = new Set(['message', 'presence', 'iq']);

/** Elements waiting to be handled at which reading from the client pauses, and resumes. */
const QUEUE_HIGH = 256;
const QUEUE_LOW = 32;
/** Elements handled in a row before the stream lets other connections run. */
const BURST_YIELD = 32;

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

function tooManyFailures(): SaslError {
  return new SaslError('temporary-auth-failure', 'too many failed logins from your address; try again later');
}

/** The session to replace when an account has too many: the oldest hibernating one, else the oldest. */
function oldestSession(sessions: Session[]): Session {
  let best: Session | undefined;
  for (const s of sessions) {
    const h = s.hibernating === true;
    const bh = best?.hibernating === true;
    if (!best || (h && !bh) || (h === bh && s.startedAt < best.startedAt)) best = s;
  }
  return best!;
}

/** Messages that would be lost if the session ended before the client acknowledged them. */
function reroutable(el: Element): boolean {
  if (el.name !== 'message') return false;
  const type = el.attrs.type;
  return type !== 'error' && type !== 'groupchat' && type !== 'headline';
}

/**
 * One client-to-server stream (RFC 6120): negotiation, then a bound session that the router
 * delivers to. With stream management (XEP-0198) the session outlives its transport for
 * `c2s.resumeTimeout` seconds and can be resumed from another connection.
 */
export class C2SStream implements Session {
  /** Stream id: a new one with every stream header until the session is bound, then fixed. */
  id = '';
  jid!: JID;
  readonly startedAt = Date.now();
  presence: Element | undefined;
  priority = 0;
  rosterRequested = false;
  carbons = false;
  directedPresence = new Set<string>();

  private transport: Transport | undefined;
  private parser: StreamParser;
  private host = '';
  private headerSent = false;
  private suppressHeader = false;
  private user: string | undefined;
  private sasl: SaslMechanism | undefined;
  private saslBusy = false;
  private authFailures = 0;
  private bound = false;
  private closed = false;
  // XEP-0198 state
  private smEnabled = false;
  private smResumable = false;
  private smId: string | undefined;
  private inbound = 0;
  private outbound = 0;
  private unacked: Queued[] = [];
  /** Characters held in `unacked`. */
  private unackedSize = 0;
  private ackRequested = false;
  /** Producers waiting for room (see drained()). */
  private drainWaiters: ((ok: boolean) => void)[] = [];
  private hibernateTimer: NodeJS.Timeout | undefined;
  /** Work on stanzas is serialized so that a client's stanzas are handled in order. */
  private chain: Promise<void> = Promise.resolve();
  /** Elements parsed and waiting in `chain`. */
  private queued = 0;
  private readPaused = false;
  /** Elements handled since the stream last yielded to the event loop. */
  private handledInBurst = 0;

  constructor(private readonly server: Server, transport: Transport, private slot: ConnectionSlot) {
    this.transport = transport;
    this.connection = transport.kind;
    this.ip = transport.ip;
    this.port = transport.port;
    this.parser = this.newParser(transport);
    slot.handler = this;
    // A connection that has not bound a resource in time is dropped (slow or idle attackers).
    this.negotiationTimer = setTimeout(() => {
      if (!this.bound && !this.closed) this.streamFail('connection-timeout', 'negotiation took too long');
    }, server.config.c2s.negotiationTimeout * 1000);
    this.negotiationTimer.unref?.();
  }

  private negotiationTimer: NodeJS.Timeout | undefined;

  readonly connection: ConnectionKind;
  readonly ip: string;
  readonly port: number;

  private newParser(t: Transport): StreamParser {
    return new StreamParser(
      {
        onStreamStart: (name, attrs) => this.onStreamStart(name, attrs),
        onStanza: (el) => this.onElement(el),
        onStreamEnd: () => this.onStreamEnd(),
        onError: (cond, text) => this.onParseError(cond, text),
      },
      { maxStanzaSize: this.server.config.limits.maxStanzaSize, mode: t.framed ? 'framed' : 'stream' },
    );
  }

  // ---- transport side ------------------------------------------------------------------

  receive(data: string): void {
    if (this.closed) return;
    this.parser.write(data);
  }

  invalidData(reason: string): void {
    this.streamFail('not-well-formed', reason);
  }

  transportClosed(): void {
    if (!this.transport) return;
    this.transport = undefined;
    this.connectionLost();
  }

  /** The transport is gone without a stream close: hibernate (XEP-0198 resumption) or end. */
  private connectionLost(): void {
    if (this.closed) return;
    // What arrived before the connection dropped is handled first; a resumption may have taken over meanwhile.
    this.chain = this.chain.then(() => {
      if (this.closed || this.transport) return;
      if (this.bound && this.smResumable && this.server.config.c2s.resumeTimeout > 0) this.hibernate();
      else this.end('connection lost');
    });
  }

  /**
   * Writes to the client, unless that would buffer more than `limits.maxOutputBuffer` for this
   * connection: a client that does not read what it is sent is disconnected instead.
   */
  private write(data: string): void {
    const t = this.transport;
    if (!t) return;
    const limit = this.server.config.limits.maxOutputBuffer;
    const buffered = t.buffered;
    // Characters bound bytes from below; count exactly only when the bound could be crossed.
    if (buffered + data.length > limit || (buffered + data.length * 3 > limit && buffered + Buffer.byteLength(data) > limit)) {
      this.outputOverflow(t);
      return;
    }
    t.write(data);
  }

  private outputOverflow(t: Transport): void {
    this.server.log.info({ jid: this.jid?.full, ip: this.ip, buffered: t.buffered }, 'output buffer limit reached: disconnecting a client that does not read');
    // The error is written past the limit (it is small) and the connection closes after a short grace.
    const err = streamError('policy-violation', 'output buffer limit reached: the client does not read what it is sent');
    if (this.framed) err.attrs['xmlns:stream'] = NS.stream;
    t.write(err.toString() + (t.framed ? `<close xmlns="${NS.framing}"/>` : '</stream:stream>'));
    this.transport = undefined;
    t.end();
    this.wakeDrainWaiters();
    // With resumption, what was not acknowledged waits in the hibernating session, within its own bounds.
    if (!this.bound || !this.smResumable) this.end('output buffer limit reached');
    else this.connectionLost();
  }

  private get framed(): boolean {
    return this.transport?.framed ?? false;
  }

  // ---- stream header and errors --------------------------------------------------------

  private sendHeader(): void {
    this.headerSent = true;
    this.id = this.bound ? this.id : randomBytes(8).toString('hex');
    const from = this.host || this.server.hosts[0]!;
    if (this.framed) {
      this.write(`<open xmlns="${NS.framing}" id="${this.id}" from="${from}" version="1.0" xml:lang="en"/>`);
    } else {
      this.write(
        `<?xml version='1.0'?><stream:stream xmlns="${NS.client}" xmlns:stream="${NS.stream}" id="${this.id}" from="${from}" version="1.0" xml:lang="en">`,
      );
    }
  }

  /** Sends a stream error and closes the stream (RFC 6120 §4.9). */
  streamFail(condition: string, text?: string): void {
    if (this.closed) return;
    if (!this.headerSent && this.transport) this.sendHeader();
    const err = streamError(condition, text);
    if (this.framed) err.attrs['xmlns:stream'] = NS.stream;
    this.write(err.toString());
    this.closeTransport();
    this.end(`stream error: ${condition}`);
  }

  private closeTransport(): void {
    const t = this.transport;
    if (!t) return;
    this.write(this.framed ? `<close xmlns="${NS.framing}"/>` : '</stream:stream>');
    this.transport = undefined;
    t.end();
  }

  close(condition?: string, text?: string): void {
    if (condition) this.streamFail(condition, text);
    else {
      this.closeTransport();
      this.end('closed by server');
    }
  }

  private onParseError(cond: StreamErrorCondition, text: string): void {
    this.streamFail(cond, text);
  }

  private onStreamStart(name: string, attrs: Record<string, string>): void {
    if (this.suppressHeader) {
      this.suppressHeader = false;
      return;
    }
    if (this.framed) {
      if (name !== 'open' || attrs.xmlns !== NS.framing) return this.streamFail('invalid-namespace');
    } else {
      if (name !== 'stream:stream' || attrs['xmlns:stream'] !== NS.stream) {
        return this.streamFail('invalid-namespace', 'the stream element must be stream:stream in ' + NS.stream);
      }
      if (attrs.xmlns !== NS.client) return this.streamFail('invalid-namespace', `unsupported stream namespace ${attrs.xmlns ?? '(none)'}`);
    }
    const host = attrs.to !== undefined ? this.server.prepareHost(attrs.to) : undefined;
    if (host === undefined) return this.streamFail('host-unknown', attrs.to ? `${attrs.to} is not served here` : 'the stream has no to address');
    if (this.user !== undefined && host !== this.host) return this.streamFail('host-unknown');
    this.host = host;
    const version = attrs.version ?? '0.9';
    if (!/^1\.\d+$/.test(version)) {
      this.sendHeader();
      return this.streamFail('unsupported-version', 'this server speaks XMPP 1.0');
    }
    this.sendHeader();
    this.sendFeatures();
  }

  private mayAuthenticate(): boolean {
    const t = this.transport!;
    return t.secure || !this.server.config.c2s.requireTls || isLoopback(t.ip) || !t.startTls;
  }

  private sendFeatures(): void {
    const f = x('stream:features');
    if (this.framed) f.attrs['xmlns:stream'] = NS.stream; // RFC 7395 §3.3.3: each frame is a standalone document
    const t = this.transport!;
    if (this.user === undefined) {
      if (!t.secure && t.startTls) {
        const tls = f.c('starttls', { xmlns: NS.tls });
        if (this.server.config.c2s.requireTls && !isLoopback(t.ip)) tls.c('required');
      }
      if (this.mayAuthenticate()) {
        const mechs = f.c('mechanisms', { xmlns: NS.sasl });
        for (const m of SUPPORTED_MECHANISMS) if (m !== 'PLAIN' || this.plainAllowed()) mechs.c('mechanism').t(m);
        if (this.server.config.c2s.inBandRegistration) f.c('register', { xmlns: NS.registerFeature });
      }
    } else {
      f.c('bind', { xmlns: NS.bind });
      f.c('session', { xmlns: NS.session }).c('optional');
      f.c('sm', { xmlns: NS.sm });
      f.c('ver', { xmlns: NS.rosterver });
      f.c('sub', { xmlns: NS.preApproval });
    }
    this.write(f.toString());
  }

  private plainAllowed(): boolean {
    const t = this.transport!;
    return t.secure || (this.server.config.c2s.allowPlainWithoutTlsOnLoopback && isLoopback(t.ip));
  }

  private onStreamEnd(): void {
    // Elements sent before the closing tag (a last message, XEP-0198 <a/>) are handled before the session ends.
    this.chain = this.chain.then(() => {
      this.closeTransport();
      this.end('closed by client');
    });
  }

  // ---- elements ------------------------------------------------------------------------

  private onElement(el: Element): void {
    if (this.closed) return;
    // A client that sends faster than its stanzas are handled is not read until the queue drains.
    if (++this.queued === QUEUE_HIGH && this.transport?.setReadPaused) {
      this.readPaused = true;
      this.transport.setReadPaused(true);
    }
    this.chain = this.chain
      .then(() => {
        if (--this.queued === QUEUE_LOW && this.readPaused) {
          this.readPaused = false;
          this.transport?.setReadPaused?.(false);
        }
        // Stanzas whose handling completes at once (synchronous storage) would otherwise run back to
        // back without giving other connections a turn: a burst yields to the event loop now and then.
        if (this.queued === 0) this.handledInBurst = 0; // the last of a burst
        else if (++this.handledInBurst >= BURST_YIELD) {
          this.handledInBurst = 0;
          return new Promise<void>((r) => setImmediate(r)).then(() => this.handleElement(el));
        }
        return this.handleElement(el);
      })
      .catch((err) => this.internalError(err));
  }

  private async handleElement(el: Element): Promise<void> {
    if (this.closed) return;
    // Negotiation (SASL, bind, resumption) needs the connection: what was queued behind a slow step
    // of a connection that has closed meanwhile is dropped. A bound session's stanzas are still handled.
    if (!this.transport && !this.bound) return;
    const ns = el.attrs.xmlns;
    // Over WebSocket an element can arrive before <open/>: nothing is accepted before the stream is opened.
    if (!this.host) return this.streamFail('not-authorized', 'open the stream first');
    if (this.user === undefined) return this.handlePreAuth(el, ns);
    if (ns === NS.sm) return this.handleSm(el);
    if (!this.bound) {
      if (el.name === 'iq' && el.getChild('bind', NS.bind) && el.attrs.type === 'set') return this.bind(el);
      return this.streamFail('not-authorized', 'bind a resource first');
    }
    if (!STANZA_KINDS.has(el.name) || (ns !== undefined && ns !== NS.client)) {
      return this.streamFail('unsupported-stanza-type', `<${el.name}/> is not a stanza this server handles`);
    }
    if (this.smEnabled) this.inbound++;
    await this.handleStanza(el);
  }

  private async handlePreAuth(el: Element, ns: string | undefined): Promise<void> {
    if (el.name === 'starttls' && ns === NS.tls) return this.startTls();
    if (ns === NS.sasl) {
      if (el.name === 'auth') return this.auth(el);
      if (el.name === 'response') return this.saslResponse(el);
      if (el.name === 'abort') {
        this.sasl = undefined;
        return this.saslFailure(new SaslError('aborted'), false);
      }
    }
    if (el.name === 'iq' && el.getChild('query', NS.register) && this.server.config.c2s.inBandRegistration && this.mayAuthenticate()) {
      const reply = await handlePreAuthRegistration(this.server, el, this.host, this.ip);
      this.writeStanza(reply);
      return;
    }
    this.streamFail('not-authorized', 'authenticate first');
  }

  private startTls(): void {
    const t = this.transport!;
    if (t.secure || !t.startTls) {
      this.write(`<failure xmlns="${NS.tls}"/>`);
      this.closeTransport();
      this.end('starttls refused');
      return;
    }
    this.write(`<proceed xmlns="${NS.tls}"/>`);
    this.parser.reset(); // RFC 6120 §5.4.3.3: a new stream over TLS
    this.headerSent = false;
    t.startTls(
      () => {
        t.secure = true;
      },
      (err) => {
        this.server.log.debug({ err: err.message }, 'TLS handshake failed');
        this.transport = undefined;
        this.end('tls failure');
      },
    );
  }

  // ---- SASL ----------------------------------------------------------------------------

  private decode(el: Element): Buffer | undefined {
    const text = el.text().replace(/\s+/g, '');
    if (text === '=' || text === '') return Buffer.alloc(0);
    if (!BASE64_RE.test(text) || text.length % 4 !== 0) return undefined;
    return Buffer.from(text, 'base64');
  }

  private async auth(el: Element): Promise<void> {
    if (this.saslBusy) return;
    if (!this.mayAuthenticate()) return this.saslFailure(new SaslError('encryption-required', 'use STARTTLS first'), false);
    const name = el.attrs.mechanism ?? '';
    if (this.server.authLimiter.blocked(this.ip)) return this.saslFailure(tooManyFailures(), false);
    if (name === 'PLAIN' && !this.plainAllowed()) return this.saslFailure(new SaslError('encryption-required', 'PLAIN needs TLS'), false);
    const mech = SUPPORTED_MECHANISMS.includes(name) ? createMechanism(name, this.server.accounts.saslBackend(this.host)) : undefined;
    if (!mech) return this.saslFailure(new SaslError('invalid-mechanism'), false);
    const data = this.decode(el);
    if (!data) return this.saslFailure(new SaslError('incorrect-encoding'), false);
    this.sasl = mech;
    await this.saslRun(() => mech.start(data));
  }

  private async saslResponse(el: Element): Promise<void> {
    const mech = this.sasl;
    if (!mech || this.saslBusy) return this.saslFailure(new SaslError('malformed-request', 'no authentication in progress'), false);
    const data = this.decode(el);
    if (!data) return this.saslFailure(new SaslError('incorrect-encoding'), false);
    await this.saslRun(() => mech.step(data));
  }

  /**
   * Runs one SASL step under the failed-login limit: every step of every mechanism holds a ticket
   * of the address's limiter while it runs, so concurrent guesses cannot outrun the limit.
   */
  private async saslRun(run: () => Promise<SaslStep>): Promise<void> {
    this.saslBusy = true;
    const ticket = await this.server.authLimiter.acquire(this.ip);
    if (this.closed || !this.transport) {
      ticket?.release();
      this.saslBusy = false;
      return;
    }
    if (!ticket) {
      this.saslBusy = false;
      this.sasl = undefined;
      return this.saslFailure(tooManyFailures(), false);
    }
    let step: SaslStep;
    try {
      step = await run();
    } catch (err) {
      this.saslBusy = false;
      this.sasl = undefined;
      if (err instanceof SaslError && err.condition === 'not-authorized') ticket.failed();
      else ticket.release();
      if (err instanceof SaslError) return this.saslFailure(err, err.condition === 'not-authorized');
      throw err;
    }
    ticket.release();
    this.saslBusy = false;
    if (step.kind === 'challenge') {
      this.write(`<challenge xmlns="${NS.sasl}">${step.data.toString('base64')}</challenge>`);
      return;
    }
    let user: string;
    try {
      user = nodeprep(step.username);
    } catch {
      return this.saslFailure(new SaslError('not-authorized'), true);
    }
    if (step.authzid && step.authzid !== `${user}@${this.host}` && step.authzid !== user) {
      return this.saslFailure(new SaslError('invalid-authzid'), false);
    }
    this.sasl = undefined;
    this.user = user;
    this.transport?.authenticated?.();
    this.write(`<success xmlns="${NS.sasl}">${step.data ? step.data.toString('base64') : ''}</success>`);
    // RFC 6120 §6.4.6: the stream restarts; the next thing the client sends is a new header.
    this.parser.reset();
    this.headerSent = false;
  }

  private saslFailure(err: SaslError, countsAsFailedLogin: boolean): void {
    const f = x('failure', { xmlns: NS.sasl }, x(err.condition));
    if (err.condition !== 'not-authorized' && err.message && err.message !== err.condition) f.c('text', { 'xml:lang': 'en' }).t(err.message);
    this.write(f.toString());
    if (!countsAsFailedLogin) return; // the limiter counted it through the step's ticket
    this.server.log.info({ ip: this.ip, host: this.host }, 'failed login');
    if (++this.authFailures >= this.server.config.limits.maxAuthAttempts) {
      this.streamFail('policy-violation', 'too many failed authentication attempts');
    }
  }

  // ---- resource binding ----------------------------------------------------------------

  private async bind(iq: Element): Promise<void> {
    const requested = iq.getChild('bind', NS.bind)!.getChildText('resource');
    let resource: string;
    try {
      resource = requested ? resourceprep(requested) : '';
    } catch (err) {
      this.writeStanza(errorReply(iq, 'bad-request', (err as JIDError).message));
      return;
    }
    if (resource === '') resource = `parley-${randomBytes(6).toString('hex')}`;
    const jid = new JID(this.user!, this.host, resource);
    if (!this.makeRoomForSession(jid)) {
      const max = this.server.config.c2s.maxSessionsPerAccount;
      this.writeStanza(errorReply(iq, 'resource-constraint', `Resource limit reached; only ${max} resources allowed`));
      return;
    }
    this.jid = jid;
    const replaced = this.server.sessions.add(this);
    if (replaced && replaced !== this) replaced.close('conflict', 'Replaced by new connection');
    this.bound = true;
    clearTimeout(this.negotiationTimer);
    this.negotiationTimer = undefined;
    const reply = iqResult(iq, x('bind', { xmlns: NS.bind }, x('jid', null, this.jid.full)));
    delete reply.attrs.from;
    delete reply.attrs.to;
    this.writeStanza(reply);
    await this.server.hooks.emit('session-opened', { session: this });
  }

  /**
   * Applies `c2s.maxSessionsPerAccount` (ejabberd's max_user_sessions) before binding `jid`: with
   * the `replace-oldest` policy the oldest session goes (a hibernating one first), with `refuse`
   * the bind fails. Binding a resource that is bound already replaces it and needs no room.
   * Synchronous up to the registry insert, so concurrent binds cannot exceed the limit.
   */
  private makeRoomForSession(jid: JID): boolean {
    const sessions = this.server.sessions;
    if (sessions.get(jid.bare, jid.resource)) return true;
    const max = this.server.config.c2s.maxSessionsPerAccount;
    let current = sessions.resources(jid.bare);
    if (current.length < max) return true;
    if (this.server.config.c2s.sessionLimitPolicy === 'refuse') return false;
    while (current.length >= max) {
      const victim = oldestSession(current);
      this.server.log.info({ jid: victim.jid.full }, 'session limit of the account reached: replacing its oldest session');
      victim.close('conflict', 'Replaced by new connection: too many sessions for this account');
      const after = sessions.resources(jid.bare);
      if (after.length === current.length) return false; // the victim would not go: refuse rather than exceed
      current = after;
    }
    return true;
  }

  /** Without a transport: waiting for XEP-0198 resumption. */
  get hibernating(): boolean {
    return this.bound && !this.closed && this.transport === undefined;
  }

  // ---- stanzas from the client ---------------------------------------------------------

  private async handleStanza(el: Element): Promise<void> {
    const kind = el.name;
    const fromAttr = el.attrs.from;
    if (fromAttr !== undefined && fromAttr !== this.jid.full && fromAttr !== this.jid.bare) {
      const parsed = tryParseJID(fromAttr);
      if (!parsed || !(parsed.bare === this.jid.bare && (parsed.resource === '' || parsed.resource === this.jid.resource))) {
        return this.streamFail('invalid-from', `you are ${this.jid.full}`);
      }
    }
    delete el.attrs.xmlns;
    el.attrs.from = this.jid.full;
    let to: JID;
    const toAttr = el.attrs.to;
    if (toAttr === undefined || toAttr === '') {
      if (kind === 'presence') {
        await this.server.router.fire('presence/out', { stanza: el, from: this.jid, to: this.jid.bareJID(), origin: this });
        return;
      }
      if (kind === 'iq' && el.getChild('session', NS.session)) {
        const reply = iqResult(el);
        delete reply.attrs.to;
        this.send(reply);
        return;
      }
      to = this.jid.bareJID();
    } else {
      const parsed = tryParseJID(toAttr);
      if (!parsed) {
        if (el.attrs.type !== 'error') {
          const reply = errorReply(el, 'jid-malformed', `${toAttr} is not a valid JID`);
          reply.attrs.to = this.jid.full;
          delete reply.attrs.from;
          this.send(reply);
        }
        return;
      }
      to = parsed;
      el.attrs.to = to.full;
    }
    const ctx = { stanza: el, from: this.jid, to, origin: this as Session };
    if (await this.server.router.fire(`${kind}/out` as RouteEvent, ctx)) return;
    await this.server.router.route(el, this.jid, to, this);
  }

  async inject(stanza: Element): Promise<void> {
    if (!this.bound || this.closed) return;
    delete stanza.attrs.from; // it is sent as this session, whatever the caller wrote
    await this.handleStanza(stanza);
  }

  // ---- delivery to the client ----------------------------------------------------------

  send(stanza: Element, receipt?: DeliveryReceipt): void {
    if (this.closed) {
      receipt?.failed();
      return;
    }
    if (!this.smEnabled) {
      if (!this.transport) {
        receipt?.failed();
        return;
      }
      this.writeStanza(stanza);
      if (receipt) {
        if (this.transport) receipt.acked();
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
      if (this.transport) this.streamFail('policy-violation', 'too many unacknowledged stanzas');
      else this.end('the queue of the hibernating session is full');
      return;
    }
    if (!this.transport) return;
    this.writeQueued(q);
    if (!this.ackRequested && this.transport) {
      this.ackRequested = true;
      setImmediate(() => this.write(`<r xmlns="${NS.sm}"/>`));
    }
  }

  private writeStanza(stanza: Element): void {
    let s = stanza.toString();
    if (this.framed && stanza.attrs.xmlns === undefined) s = `<${stanza.name} xmlns="${NS.client}"${s.slice(stanza.name.length + 1)}`;
    this.write(s);
  }

  private writeQueued(q: Queued): void {
    if (this.framed && !q.hasNs) {
      const name = q.xml.slice(1, q.xml.search(/[\s/>]/));
      this.write(`<${name} xmlns="${NS.client}"${q.xml.slice(name.length + 1)}`);
    } else this.write(q.xml);
  }

  drained(): Promise<boolean> {
    if (this.closed) return Promise.resolve(false);
    if (this.hasRoom()) return Promise.resolve(true);
    return new Promise((resolve) => {
      this.drainWaiters.push(resolve);
      if (this.drainWaiters.length === 1) this.transport?.onDrain(() => this.wakeDrainWaiters());
    });
  }

  /** Under half of every output bound: producers may go on. */
  private hasRoom(): boolean {
    const t = this.transport;
    if (!t || t.buffered > this.server.config.limits.maxOutputBuffer / 2) return false;
    if (!this.smEnabled) return true;
    const c2s = this.server.config.c2s;
    return this.unacked.length <= c2s.maxUnackedStanzas / 2 && this.unackedSize <= c2s.maxUnackedBytes / 2;
  }

  private wakeDrainWaiters(): void {
    if (this.drainWaiters.length === 0) return;
    if (this.closed || this.hasRoom()) {
      const ok = !this.closed;
      for (const w of this.drainWaiters.splice(0)) w(ok);
      return;
    }
    // Still full: wait for the transport again when it is the output buffer that is full.
    const t = this.transport;
    if (t && t.buffered > this.server.config.limits.maxOutputBuffer / 2) t.onDrain(() => this.wakeDrainWaiters());
  }

  // ---- stream management (XEP-0198) ----------------------------------------------------

  private handleSm(el: Element): void {
    switch (el.name) {
      case 'enable': {
        if (!this.bound || this.smEnabled) {
          this.write(`<failed xmlns="${NS.sm}"><unexpected-request xmlns="${NS.stanzas}"/></failed>`);
          return;
        }
        this.smEnabled = true;
        const resume = el.attrs.resume === 'true' || el.attrs.resume === '1';
        const attrs: Record<string, string> = { xmlns: NS.sm };
        if (resume && this.server.config.c2s.resumeTimeout > 0) {
          this.smResumable = true;
          this.smId = randomBytes(16).toString('base64url');
          this.server.resumable.set(this.smId, this);
          attrs.id = this.smId;
          attrs.resume = 'true';
          attrs.max = String(this.server.config.c2s.resumeTimeout);
        }
        this.write(x('enabled', attrs).toString());
        return;
      }
      case 'r':
        if (this.smEnabled) this.write(`<a xmlns="${NS.sm}" h="${this.inbound >>> 0}"/>`);
        return;
      case 'a': {
        const h = Number(el.attrs.h);
        if (!this.smEnabled || !Number.isInteger(h)) return;
        this.ackRequested = false;
        this.acknowledge(h);
        return;
      }
      case 'resume':
        this.resume(el).catch((err) => this.internalError(err));
        return;
      default:
        this.write(`<failed xmlns="${NS.sm}"><feature-not-implemented xmlns="${NS.stanzas}"/></failed>`);
    }
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

  private hibernate(): void {
    this.server.log.debug({ jid: this.jid.full }, 'session hibernating for resumption');
    this.hibernateTimer = setTimeout(() => this.end('resumption timeout'), this.server.config.c2s.resumeTimeout * 1000);
    this.hibernateTimer.unref?.();
  }

  private async resume(el: Element): Promise<void> {
    const previd = el.attrs.previd ?? '';
    const h = Number(el.attrs.h);
    const old = this.server.resumable.get(previd);
    if (this.bound || !old || old.closed || old.jid.bare !== `${this.user}@${this.host}` || !Number.isInteger(h)) {
      this.write(`<failed xmlns="${NS.sm}"><item-not-found xmlns="${NS.stanzas}"/></failed>`);
      return;
    }
    old.takeOver(this.transport!, this.parser, this.slot, h);
    // This stream object is done: the old session owns the connection now.
    clearTimeout(this.negotiationTimer);
    this.transport = undefined;
    this.closed = true;
  }

  /** Moves a live connection into this (hibernating or stale) session and replays what was not acknowledged. */
  private takeOver(transport: Transport, parser: StreamParser, slot: ConnectionSlot, h: number): void {
    if (this.hibernateTimer) clearTimeout(this.hibernateTimer);
    this.hibernateTimer = undefined;
    const stale = this.transport;
    // The old connection is detached: its late data, and its closing, no longer concern this session.
    this.slot.handler = { receive: () => undefined, transportClosed: () => undefined, invalidData: () => undefined };
    this.slot = slot;
    if (stale) {
      this.transport = undefined;
      stale.end();
    }
    this.transport = transport;
    // The resuming stream's parser keeps parsing the connection, but its events now come here.
    this.parser = this.newParser(transport);
    void parser;
    if (!transport.framed) {
      this.suppressHeader = true;
      this.parser.write(`<stream:stream xmlns="${NS.client}" xmlns:stream="${NS.stream}">`);
    }
    slot.handler = this;
    this.headerSent = true;
    this.acknowledge(h);
    this.write(`<resumed xmlns="${NS.sm}" previd="${this.smId}" h="${this.inbound >>> 0}"/>`);
    for (const q of this.unacked) this.writeQueued(q);
    this.ackRequested = false;
    if (this.unacked.length) {
      this.ackRequested = true;
      this.write(`<r xmlns="${NS.sm}"/>`);
    }
    this.wakeDrainWaiters();
  }

  // ---- end of the session --------------------------------------------------------------

  /** Ends the session in the background; failures are logged, never thrown at the event loop. */
  private end(reason: string): void {
    this.terminate(reason).catch((err) => this.server.log.error({ err, jid: this.jid?.full }, 'error while ending a session'));
  }

  private internalError(err: unknown): void {
    this.server.log.error({ err, stream: this.id }, 'error while handling a client element');
    this.streamFail('internal-server-error');
  }

  private async terminate(reason: string): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.negotiationTimer);
    if (this.hibernateTimer) clearTimeout(this.hibernateTimer);
    if (this.smId) this.server.resumable.delete(this.smId);
    this.wakeDrainWaiters();
    if (!this.bound) return;
    const removed = this.server.sessions.remove(this);
    const pending = this.unacked;
    this.unacked = [];
    this.unackedSize = 0;
    if (removed) await this.server.hooks.emit('session-closed', { session: this, reason });
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
