import { randomBytes } from 'node:crypto';
import type { AccountService } from '../modules/accounts/index.js';
import type { AuthLimiter } from './auth-limiter.js';
import { Element, x } from '../xmpp/xml/element.js';
import { StreamParser, type StreamErrorCondition } from '../xmpp/xml/parser.js';
import { NS } from '../xmpp/ns.js';
import { JID, JIDError, nodeprep, resourceprep } from '../xmpp/jid.js';
import { errorReply, iqResult, streamError } from '../xmpp/stanza.js';
import { createMechanism, SaslError, SUPPORTED_MECHANISMS, type SaslMechanism, type SaslStep } from './sasl.js';
import type { ConnectionKind } from '../router/session.js';
import { handlePreAuthRegistration } from '../modules/register/index.js';
import { isLoopback } from '../transports/address.js';
import { C2SSession, oldestSession, type SessionHost, type SessionStream } from './session.js';

/** What a stream needs of the node it runs on, beyond what its session needs. */
export interface StreamHost extends SessionHost {
  readonly hosts: readonly string[];
  prepareHost(host: string): string | undefined;
  readonly accounts: AccountService;
  readonly authLimiter: AuthLimiter;
}

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

/** Where a transport hands what it reads: the stream created for the connection. */
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

function tooManyFailures(): SaslError {
  return new SaslError('temporary-auth-failure', 'too many failed logins from your address; try again later');
}

/**
 * One client-to-server stream (RFC 6120) over one connection: the parser, negotiation (STARTTLS,
 * SASL, resource binding) and the XEP-0198 protocol elements. Binding creates a session
 * (`C2SSession`) that the stream then carries; resuming (XEP-0198) attaches this stream to an
 * existing session instead.
 */
export class C2SStream implements SessionStream {
  /** Stream id: a new one with every stream header until the session is bound, then fixed. */
  id = '';
  readonly startedAt = Date.now();

  private transport: Transport | undefined;
  private parser: StreamParser;
  private host = '';
  private headerSent = false;
  private user: string | undefined;
  private sasl: SaslMechanism | undefined;
  private saslBusy = false;
  private authFailures = 0;
  /** The session this stream carries, once bound or resumed. */
  private session: C2SSession | undefined;
  private closed = false;
  /** The session moved to another stream (resumption): input from this connection is ignored. */
  private detached = false;
  /** Work on elements is serialized so that a client's stanzas are handled in order. */
  private chain: Promise<void> = Promise.resolve();
  /** Elements parsed and waiting in `chain`. */
  private queued = 0;
  private readPaused = false;
  /** Elements handled since the stream last yielded to the event loop. */
  private handledInBurst = 0;
  private negotiationTimer: NodeJS.Timeout | undefined;
  readonly ip: string;
  readonly port: number;

  constructor(private readonly server: StreamHost, transport: Transport, slot: ConnectionSlot) {
    this.transport = transport;
    this.ip = transport.ip;
    this.port = transport.port;
    this.parser = new StreamParser(
      {
        onStreamStart: (name, attrs) => this.onStreamStart(name, attrs),
        onStanza: (el) => this.onElement(el),
        onStreamEnd: () => this.onStreamEnd(),
        onError: (cond, text) => this.onParseError(cond, text),
      },
      { maxStanzaSize: server.config.limits.maxStanzaSize, mode: transport.framed ? 'framed' : 'stream' },
    );
    slot.handler = this;
    // A connection that has not bound a resource in time is dropped (slow or idle attackers).
    this.negotiationTimer = setTimeout(() => {
      if (!this.session && !this.closed) this.close('connection-timeout', 'negotiation took too long');
    }, server.config.c2s.negotiationTimeout * 1000);
    this.negotiationTimer.unref?.();
  }

  // ---- transport side ------------------------------------------------------------------

  receive(data: string): void {
    if (this.closed || this.detached) return;
    this.parser.write(data);
  }

  invalidData(reason: string): void {
    if (this.detached) return;
    this.fail('not-well-formed', reason);
  }

  transportClosed(): void {
    if (!this.transport) return;
    this.transport = undefined;
    this.connectionLost();
  }

  get connected(): boolean {
    return this.transport !== undefined;
  }

  get buffered(): number {
    return this.transport?.buffered ?? 0;
  }

  onDrain(cb: () => void): void {
    this.transport?.onDrain(cb);
  }

  /** The transport is gone without a stream close: the session hibernates (XEP-0198 resumption) or ends. */
  private connectionLost(): void {
    if (this.closed) return;
    this.session?.disconnected(this);
    // What arrived before the connection dropped is handled first.
    this.chain = this.chain.then(() => {
      if (this.session) this.session.streamGone(this);
      else this.shutdown('connection lost');
    });
  }

  /**
   * Writes to the client, unless that would buffer more than `limits.maxOutputBuffer` for this
   * connection: a client that does not read what it is sent is disconnected instead.
   */
  write(data: string): void {
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
    this.server.log.info({ jid: this.session?.jid.full, ip: this.ip, buffered: t.buffered }, 'output buffer limit reached: disconnecting a client that does not read');
    // With resumption, what was not acknowledged waits in the hibernating session, within its own bounds.
    this.shutdown('output buffer limit reached', {
      error: ['policy-violation', 'output buffer limit reached: the client does not read what it is sent'],
      hibernate: true,
    });
  }

  private get framed(): boolean {
    return this.transport?.framed ?? false;
  }

  writeStanza(stanza: Element): void {
    let s = stanza.toString();
    if (this.framed && stanza.attrs.xmlns === undefined) s = `<${stanza.name} xmlns="${NS.client}"${s.slice(stanza.name.length + 1)}`;
    this.write(s);
  }

  writeSerialized(xml: string, hasNs: boolean): void {
    if (this.framed && !hasNs) {
      const name = xml.slice(1, xml.search(/[\s/>]/));
      this.write(`<${name} xmlns="${NS.client}"${xml.slice(name.length + 1)}`);
    } else this.write(xml);
  }

  // ---- stream header and errors --------------------------------------------------------

  private sendHeader(): void {
    this.headerSent = true;
    this.id = this.session ? this.id : randomBytes(8).toString('hex');
    const from = this.host || this.server.hosts[0]!;
    if (this.framed) {
      this.write(`<open xmlns="${NS.framing}" id="${this.id}" from="${from}" version="1.0" xml:lang="en"/>`);
    } else {
      this.write(
        `<?xml version='1.0'?><stream:stream xmlns="${NS.client}" xmlns:stream="${NS.stream}" id="${this.id}" from="${from}" version="1.0" xml:lang="en">`,
      );
    }
  }

  /** Closes the stream: with a stream error when a condition is given (RFC 6120 §4.9), else cleanly (§4.4). */
  close(condition?: string, text?: string): void {
    if (condition) this.shutdown(`stream error: ${condition}`, { error: [condition, text] });
    else this.shutdown('closed by server');
  }

  /** A stream error for what the client sent: once bound, the session's (whichever stream carries it now). */
  private fail(condition: string, text?: string): void {
    if (this.session) this.session.close(condition, text);
    else this.close(condition, text);
  }

  /**
   * The one way a stream ends, whoever ends it: the stream error if any, then the closing tag, both
   * written past the output limit (they are small); the transport ended; then the session ends with
   * the stream, unless another stream carries it now, or (`hibernate`) a resumable session waits
   * for its client to resume (XEP-0198).
   */
  private shutdown(reason: string, how: { error?: [condition: string, text?: string]; hibernate?: boolean } = {}): void {
    if (this.closed) return;
    const t = this.transport;
    if (t) {
      if (how.error) {
        if (!this.headerSent) this.sendHeader();
        const err = streamError(how.error[0], how.error[1]);
        if (t.framed) err.attrs['xmlns:stream'] = NS.stream;
        t.write(err.toString());
      }
      t.write(t.framed ? `<close xmlns="${NS.framing}"/>` : '</stream:stream>');
      this.transport = undefined;
      t.end();
    }
    if (how.hibernate && this.session?.resumable) {
      this.session.wakeDrainWaiters();
      this.connectionLost();
      return;
    }
    this.closed = true;
    clearTimeout(this.negotiationTimer);
    this.session?.wakeDrainWaiters();
    if (this.session?.carriedBy(this)) this.session.end(reason);
  }

  detach(): Promise<void> {
    this.detached = true;
    const t = this.transport;
    if (t) {
      this.transport = undefined;
      t.end();
    }
    return this.chain;
  }

  continueAfter(work: Promise<void>): void {
    this.chain = Promise.all([this.chain, work]).then(() => undefined, () => undefined);
  }

  private onParseError(cond: StreamErrorCondition, text: string): void {
    this.fail(cond, text);
  }

  private onStreamStart(name: string, attrs: Record<string, string>): void {
    if (this.framed) {
      if (name !== 'open' || attrs.xmlns !== NS.framing) return this.close('invalid-namespace');
    } else {
      if (name !== 'stream:stream' || attrs['xmlns:stream'] !== NS.stream) {
        return this.close('invalid-namespace', 'the stream element must be stream:stream in ' + NS.stream);
      }
      if (attrs.xmlns !== NS.client) return this.close('invalid-namespace', `unsupported stream namespace ${attrs.xmlns ?? '(none)'}`);
    }
    const host = attrs.to !== undefined ? this.server.prepareHost(attrs.to) : undefined;
    if (host === undefined) return this.close('host-unknown', attrs.to ? `${attrs.to} is not served here` : 'the stream has no to address');
    if (this.user !== undefined && host !== this.host) return this.close('host-unknown');
    this.host = host;
    const version = attrs.version ?? '0.9';
    if (!/^1\.\d+$/.test(version)) {
      this.sendHeader();
      return this.close('unsupported-version', 'this server speaks XMPP 1.0');
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
        for (const m of this.server.config.c2s.saslMechanisms) if (m !== 'PLAIN' || this.plainAllowed()) mechs.c('mechanism').t(m);
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
    this.chain = this.chain.then(() => this.shutdown('closed by client'));
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
    const session = this.session;
    // Negotiation (SASL, bind, resumption) needs the connection: what was queued behind a slow step
    // of a connection that has closed meanwhile is dropped. A bound session's stanzas are still handled.
    if (session ? session.isEnded : this.closed || !this.transport) return;
    const ns = el.attrs.xmlns;
    // Over WebSocket an element can arrive before <open/>: nothing is accepted before the stream is opened.
    if (!this.host) return this.close('not-authorized', 'open the stream first');
    if (this.user === undefined) return this.handlePreAuth(el, ns);
    if (ns === NS.sm) return this.handleSm(el);
    if (!session) {
      if (el.name === 'iq' && el.getChild('bind', NS.bind) && el.attrs.type === 'set') return this.bind(el);
      return this.close('not-authorized', 'bind a resource first');
    }
    if (!STANZA_KINDS.has(el.name) || (ns !== undefined && ns !== NS.client)) {
      return this.fail('unsupported-stanza-type', `<${el.name}/> is not a stanza this server handles`);
    }
    await session.received(el);
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
    this.close('not-authorized', 'authenticate first');
  }

  private startTls(): void {
    const t = this.transport!;
    if (t.secure || !t.startTls) {
      this.write(`<failure xmlns="${NS.tls}"/>`);
      this.shutdown('starttls refused');
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
        this.shutdown('tls failure');
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
    const mech = SUPPORTED_MECHANISMS.includes(name) && (this.server.config.c2s.saslMechanisms as readonly string[]).includes(name) ? createMechanism(name, this.server.accounts.saslBackend(this.host)) : undefined;
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
      this.close('policy-violation', 'too many failed authentication attempts');
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
    const t = this.transport!;
    const session = new C2SSession(this.server, this, { id: this.id, jid, connection: t.kind, ip: this.ip, port: this.port, startedAt: this.startedAt });
    this.session = session;
    clearTimeout(this.negotiationTimer);
    this.negotiationTimer = undefined;
    const reply = iqResult(iq, x('bind', { xmlns: NS.bind }, x('jid', null, jid.full)));
    delete reply.attrs.from;
    delete reply.attrs.to;
    this.writeStanza(reply);
    await this.server.hooks.emit('session-opened', { session: session.record });
  }

  /**
   * Applies `c2s.maxSessionsPerAccount` (ejabberd's max_user_sessions) before binding `jid`: with
   * the `replace-oldest` policy the oldest session goes (a hibernating one first), with `refuse`
   * the bind fails. Binding a resource that is bound already replaces it and needs no room.
   * Synchronous up to the directory insert, so concurrent binds cannot exceed the limit.
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
      sessions.close(victim, 'conflict', 'Replaced by new connection: too many sessions for this account');
      const after = sessions.resources(jid.bare);
      if (after.length === current.length) return false; // the victim would not go: refuse rather than exceed
      current = after;
    }
    return true;
  }

  // ---- stream management (XEP-0198) ----------------------------------------------------

  private handleSm(el: Element): void {
    const session = this.session;
    switch (el.name) {
      case 'enable': {
        const attrs = session?.enableStreamManagement(el.attrs.resume === 'true' || el.attrs.resume === '1');
        if (!attrs) {
          this.write(`<failed xmlns="${NS.sm}"><unexpected-request xmlns="${NS.stanzas}"/></failed>`);
          return;
        }
        this.write(x('enabled', attrs).toString());
        return;
      }
      case 'r':
        if (session?.streamManagement) this.write(`<a xmlns="${NS.sm}" h="${session.handled}"/>`);
        return;
      case 'a': {
        const h = Number(el.attrs.h);
        if (!session?.streamManagement || !Number.isInteger(h)) return;
        session.acknowledged(h);
        return;
      }
      case 'resume':
        this.resume(el);
        return;
      default:
        this.write(`<failed xmlns="${NS.sm}"><feature-not-implemented xmlns="${NS.stanzas}"/></failed>`);
    }
  }

  /** Attaches this stream to the hibernating (or stale) session the client resumes. */
  private resume(el: Element): void {
    const previd = el.attrs.previd ?? '';
    const h = Number(el.attrs.h);
    const session = this.server.resumable.get(previd);
    if (this.session || !session || session.isEnded || session.jid.bare !== `${this.user}@${this.host}` || !Number.isInteger(h)) {
      this.write(`<failed xmlns="${NS.sm}"><item-not-found xmlns="${NS.stanzas}"/></failed>`);
      return;
    }
    clearTimeout(this.negotiationTimer);
    this.negotiationTimer = undefined;
    this.session = session;
    session.attach(this, h);
  }

  private internalError(err: unknown): void {
    this.server.log.error({ err, stream: this.id }, 'error while handling a client element');
    this.fail('internal-server-error');
  }
}
