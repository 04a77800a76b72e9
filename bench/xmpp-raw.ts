/**
 * A minimal raw-socket XMPP client for load generation. No XML parser: it writes pre-serialized
 * strings and recognises the server's replies with indexOf on the text received so far, so that
 * the generator stays much cheaper per login/message than the server it measures.
 *
 * Negotiation: stream header -> features -> SASL (SCRAM-SHA-1 or PLAIN) -> stream restart ->
 * features -> resource binding -> optional initial presence. TLS is never used (the benchmark
 * runs over loopback, where the server allows SASL without STARTTLS).
 */
import net from 'node:net';
import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';

export type Mechanism = 'SCRAM-SHA-1' | 'PLAIN';

const NS_SASL = 'urn:ietf:params:xml:ns:xmpp-sasl';
const NS_BIND = 'urn:ietf:params:xml:ns:xmpp-bind';

export function streamHeader(domain: string): string {
  return `<?xml version='1.0'?><stream:stream to='${domain}' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>`;
}

interface ScramKeys {
  clientKey: Buffer;
  storedKey: Buffer;
  serverKey: Buffer;
}

/**
 * SaltedPassword-derived keys by (password, salt, iterations). Real clients cache these too
 * (XEP-0438 / RFC 5802 §5.1 recommend it); running PBKDF2 for every login would make the
 * generator, not the server, the bottleneck, since the server never runs PBKDF2 for SCRAM.
 */
export class ScramCache {
  private readonly map = new Map<string, ScramKeys>();
  hits = 0;
  misses = 0;

  get(password: string, saltB64: string, iterations: number): ScramKeys {
    const key = `${iterations}\0${saltB64}\0${password}`;
    let k = this.map.get(key);
    if (k) {
      this.hits++;
      return k;
    }
    this.misses++;
    const salted = pbkdf2Sync(Buffer.from(password, 'utf8'), Buffer.from(saltB64, 'base64'), iterations, 20, 'sha1');
    const clientKey = createHmac('sha1', salted).update('Client Key').digest();
    k = {
      clientKey,
      storedKey: createHash('sha1').update(clientKey).digest(),
      serverKey: createHmac('sha1', salted).update('Server Key').digest(),
    };
    this.map.set(key, k);
    return k;
  }

  get size(): number {
    return this.map.size;
  }
}

export interface LoginOptions {
  host: string;
  port: number;
  domain: string;
  user: string;
  password: string;
  resource: string;
  mechanism: Mechanism;
  /** Send initial presence once bound. */
  presence: boolean;
  /** The initial presence to send instead of `<presence/>` (caps, for instance). */
  presenceStanza?: string;
  scram: ScramCache;
  timeoutMs: number;
}

export class LoginError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
  }
}

const enum St {
  Connecting,
  Features1,
  Challenge,
  Success,
  Features2,
  Bind,
  Bound,
  Closed,
}

/** Payload between the end of the opening tag of `<name ...>` and `</name>`, or undefined if incomplete. */
function elementText(buf: string, name: string): string | undefined {
  const start = buf.indexOf('<' + name);
  if (start < 0) return undefined;
  const gt = buf.indexOf('>', start);
  if (gt < 0) return undefined;
  if (buf.charCodeAt(gt - 1) === 47 /* / */) return '';
  const end = buf.indexOf('</' + name + '>', gt);
  if (end < 0) return undefined;
  return buf.slice(gt + 1, end);
}

function snippet(s: string): string {
  return s.length > 300 ? s.slice(0, 300) + '…' : s;
}

/**
 * One client connection. `login()` resolves once the resource is bound (and presence sent);
 * afterwards the data handler (`onData`) receives every chunk the server sends.
 */
export class RawXmpp {
  readonly socket: net.Socket;
  jid = '';
  private st = St.Connecting;
  private buf = '';
  private cnonce = '';
  private clientFirstBare = '';
  private expectedServerSig = '';
  private timer: NodeJS.Timeout | undefined;
  private resolveLogin!: () => void;
  private rejectLogin!: (e: LoginError) => void;
  /** Set after login; called with every chunk of server data. */
  onData: ((chunk: string) => void) | undefined;
  /** Called once when the connection ends after login (not for closes we initiated). */
  onLost: ((why: string) => void) | undefined;
  private closing = false;
  readonly done: Promise<void>;

  constructor(private readonly o: LoginOptions) {
    this.done = new Promise<void>((res, rej) => {
      this.resolveLogin = res;
      this.rejectLogin = rej;
    });
    this.timer = setTimeout(() => this.fail('timeout', `no progress within ${o.timeoutMs} ms (state ${this.st})`), o.timeoutMs);
    this.socket = net.connect({ host: o.host, port: o.port, noDelay: true });
    this.socket.setEncoding('utf8');
    this.socket.on('connect', () => {
      this.st = St.Features1;
      this.socket.write(streamHeader(o.domain));
    });
    this.socket.on('data', (d: string) => this.data(d));
    this.socket.on('error', (err: NodeJS.ErrnoException) => this.fail(err.code ?? 'socket-error', err.message));
    this.socket.on('close', () => {
      if (this.st === St.Bound) {
        this.st = St.Closed;
        if (!this.closing) this.onLost?.('connection closed by the server');
      } else if (this.st !== St.Closed) {
        this.fail('closed', `connection closed during negotiation (state ${this.st})${this.buf ? `: ${snippet(this.buf)}` : ''}`);
      }
    });
  }

  /** Connects, authenticates and binds; resolves when the session is bound. */
  static login(o: LoginOptions): Promise<RawXmpp> {
    const c = new RawXmpp(o);
    return c.done.then(() => c);
  }

  private fail(code: string, message: string): void {
    if (this.st === St.Bound) {
      this.st = St.Closed;
      if (!this.closing) this.onLost?.(`${code}: ${message}`);
      this.socket.destroy();
      return;
    }
    if (this.st === St.Closed) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.st = St.Closed;
    this.socket.destroy();
    this.rejectLogin(new LoginError(message, code));
  }

  private data(d: string): void {
    if (this.st === St.Bound) {
      this.onData?.(d);
      return;
    }
    this.buf += d;
    if (this.buf.indexOf('<stream:error') >= 0 || this.buf.indexOf('<failure') >= 0) {
      return this.fail('xmpp-error', snippet(this.buf));
    }
    this.advance();
  }

  private advance(): void {
    const o = this.o;
    switch (this.st) {
      case St.Features1: {
        const end = this.buf.indexOf('</stream:features>');
        if (end < 0) return;
        this.buf = '';
        if (o.mechanism === 'PLAIN') {
          const payload = Buffer.from(`\0${o.user}\0${o.password}`, 'utf8').toString('base64');
          this.socket.write(`<auth xmlns='${NS_SASL}' mechanism='PLAIN'>${payload}</auth>`);
          this.st = St.Success;
        } else {
          this.cnonce = randomBytes(18).toString('base64');
          this.clientFirstBare = `n=${o.user},r=${this.cnonce}`;
          const payload = Buffer.from('n,,' + this.clientFirstBare, 'utf8').toString('base64');
          this.socket.write(`<auth xmlns='${NS_SASL}' mechanism='SCRAM-SHA-1'>${payload}</auth>`);
          this.st = St.Challenge;
        }
        return;
      }
      case St.Challenge: {
        const text = elementText(this.buf, 'challenge');
        if (text === undefined) return;
        this.buf = '';
        const serverFirst = Buffer.from(text, 'base64').toString('utf8');
        let r = '';
        let s = '';
        let i = 0;
        for (const part of serverFirst.split(',')) {
          if (part.startsWith('r=')) r = part.slice(2);
          else if (part.startsWith('s=')) s = part.slice(2);
          else if (part.startsWith('i=')) i = Number(part.slice(2));
        }
        if (!r.startsWith(this.cnonce) || !s || !(i > 0)) return this.fail('scram', `bad server-first-message: ${serverFirst}`);
        const keys = o.scram.get(o.password, s, i);
        const clientFinalNoProof = `c=biws,r=${r}`;
        const authMessage = `${this.clientFirstBare},${serverFirst},${clientFinalNoProof}`;
        const sig = createHmac('sha1', keys.storedKey).update(authMessage).digest();
        const proof = Buffer.allocUnsafe(20);
        for (let k = 0; k < 20; k++) proof[k] = keys.clientKey[k]! ^ sig[k]!;
        this.expectedServerSig = 'v=' + createHmac('sha1', keys.serverKey).update(authMessage).digest('base64');
        const final = `${clientFinalNoProof},p=${proof.toString('base64')}`;
        this.socket.write(`<response xmlns='${NS_SASL}'>${Buffer.from(final, 'utf8').toString('base64')}</response>`);
        this.st = St.Success;
        return;
      }
      case St.Success: {
        const text = elementText(this.buf, 'success');
        if (text === undefined) return;
        this.buf = '';
        if (o.mechanism !== 'PLAIN') {
          const additional = Buffer.from(text, 'base64').toString('utf8');
          if (additional !== this.expectedServerSig) return this.fail('scram', `server signature mismatch: ${additional}`);
        }
        this.st = St.Features2;
        this.socket.write(streamHeader(o.domain));
        return;
      }
      case St.Features2: {
        const end = this.buf.indexOf('</stream:features>');
        if (end < 0) return;
        this.buf = '';
        this.st = St.Bind;
        this.socket.write(`<iq type='set' id='b'><bind xmlns='${NS_BIND}'><resource>${o.resource}</resource></bind></iq>`);
        return;
      }
      case St.Bind: {
        const end = this.buf.indexOf('</iq>');
        if (end < 0) return;
        const iq = this.buf.slice(0, end);
        if (iq.indexOf('type="result"') < 0 && iq.indexOf("type='result'") < 0) return this.fail('bind', snippet(iq));
        const jid = elementText(iq + '</iq>', 'jid');
        this.jid = jid ?? '';
        const rest = this.buf.slice(end + 5);
        this.buf = '';
        this.st = St.Bound;
        if (this.timer) clearTimeout(this.timer);
        this.timer = undefined;
        if (o.presence) this.socket.write(o.presenceStanza ?? '<presence/>');
        this.resolveLogin();
        if (rest) this.onData?.(rest);
        return;
      }
      default:
        return;
    }
  }

  write(s: string): void {
    this.socket.write(s);
  }

  /** Closes the stream politely and the socket; destroys it if the server does not close within 5 s. */
  close(): void {
    if (this.closing) return;
    this.closing = true;
    if (this.socket.destroyed) return;
    if (this.st === St.Bound) this.socket.write('</stream:stream>');
    this.socket.end();
    const s = this.socket;
    setTimeout(() => s.destroy(), 5000).unref();
  }

  destroy(): void {
    this.closing = true;
    this.socket.destroy();
  }

  get closed(): boolean {
    return this.st === St.Closed;
  }
}
