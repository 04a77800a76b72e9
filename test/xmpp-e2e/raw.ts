/**
 * Raw XMPP connections for end-to-end tests: bytes written by hand, replies matched as text.
 * No XMPP client library is involved, so what the server accepts and answers is seen as is.
 */
import net from 'node:net';
import tls from 'node:tls';
import { WebSocket } from 'ws';

export const NS_CLIENT = 'jabber:client';
export const NS_STREAM = 'http://etherx.jabber.org/streams';
export const NS_SASL = 'urn:ietf:params:xml:ns:xmpp-sasl';
export const NS_TLS = 'urn:ietf:params:xml:ns:xmpp-tls';
export const NS_BIND = 'urn:ietf:params:xml:ns:xmpp-bind';
export const NS_SM = 'urn:xmpp:sm:3';
export const NS_FRAMING = 'urn:ietf:params:xml:ns:xmpp-framing';

export function streamHeader(to = 'localhost', extra = ''): string {
  return `<?xml version='1.0'?><stream:stream to='${to}' version='1.0' xmlns='${NS_CLIENT}' xmlns:stream='${NS_STREAM}'${extra}>`;
}

export function plainAuth(user: string, password: string): string {
  return `<auth xmlns='${NS_SASL}' mechanism='PLAIN'>${Buffer.from(`\0${user}\0${password}`).toString('base64')}</auth>`;
}

interface Sink {
  write(data: string): void;
  end(): void;
  destroy(): void;
}

/** One raw connection: everything received is appended to `buf`; `expect` consumes it in order. */
export class RawConn {
  buf = '';
  /** Position up to which `expect` has consumed `buf`. */
  pos = 0;
  closed = false;
  private notify: (() => void)[] = [];
  private closedPromise: Promise<void>;
  private resolveClosed!: () => void;
  private sink!: Sink;

  constructor() {
    this.closedPromise = new Promise((r) => (this.resolveClosed = r));
  }

  /** Plain TCP to the c2s port; `localAddress` (e.g. 127.0.0.2) makes the server see another loopback address. */
  static tcp(port: number, localAddress?: string): Promise<RawConn> {
    return RawConn.fromSocket(net.connect({ port, host: '127.0.0.1', ...(localAddress ? { localAddress } : {}) }), 'connect');
  }

  /** Direct TLS (XEP-0368) to the c2sTls port. */
  static tls(port: number): Promise<RawConn> {
    return RawConn.fromSocket(tls.connect({ port, host: '127.0.0.1', rejectUnauthorized: false }), 'secureConnect');
  }

  private static fromSocket(socket: net.Socket, ready: string): Promise<RawConn> {
    const c = new RawConn();
    c.attachSocket(socket);
    return new Promise((resolve, reject) => {
      socket.once(ready, () => resolve(c));
      socket.once('error', reject);
    });
  }

  socket?: net.Socket;

  private attachSocket(socket: net.Socket): void {
    this.socket = socket;
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => this.received(d));
    socket.on('error', () => undefined);
    socket.on('close', () => this.onClose());
    this.sink = { write: (d) => socket.write(d), end: () => socket.end(), destroy: () => socket.destroy() };
  }

  /** After `<proceed/>`: runs the TLS handshake on the same TCP connection (STARTTLS). */
  async startTls(): Promise<tls.TLSSocket> {
    const raw = this.socket!;
    raw.removeAllListeners('data');
    raw.removeAllListeners('close');
    const secure = tls.connect({ socket: raw, rejectUnauthorized: false, servername: 'localhost' });
    await new Promise<void>((resolve, reject) => {
      secure.once('secureConnect', () => resolve());
      secure.once('error', reject);
    });
    this.attachSocket(secure);
    return secure;
  }

  /** RFC 7395 WebSocket (`ws://` or `wss://`), subprotocol xmpp; each frame is appended to `buf`. */
  static ws(url: string, protocol: string | undefined = 'xmpp'): Promise<RawConn> {
    const c = new RawConn();
    const ws = new WebSocket(url, protocol ? [protocol] : [], { rejectUnauthorized: false });
    ws.on('message', (d) => c.received(d.toString()));
    ws.on('error', () => undefined);
    ws.on('close', () => c.onClose());
    c.sink = { write: (d) => ws.send(d), end: () => ws.close(1000), destroy: () => ws.terminate() };
    c.wsProtocol = () => ws.protocol;
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(c));
      ws.once('error', reject);
      ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    });
  }

  wsProtocol: () => string = () => '';

  private received(d: string): void {
    this.buf += d;
    for (const n of this.notify.splice(0)) n();
  }

  private onClose(): void {
    this.closed = true;
    this.resolveClosed();
    for (const n of this.notify.splice(0)) n();
  }

  write(data: string): void {
    this.sink.write(data);
  }

  /** Closes the transport without an XMPP stream close (as a dropped connection would). */
  destroy(): void {
    this.sink.destroy();
  }

  end(): void {
    this.sink.end();
  }

  /** Unconsumed text received so far. */
  rest(): string {
    return this.buf.slice(this.pos);
  }

  /** Waits until the unconsumed text matches; consumes up to the end of the match. */
  async expect(pattern: RegExp | string, timeoutMs = 3000, what?: string): Promise<RegExpExecArray> {
    const re = typeof pattern === 'string' ? new RegExp(escapeRe(pattern)) : pattern;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = re.exec(this.buf.slice(this.pos));
      if (m) {
        this.pos += m.index + m[0].length;
        return m;
      }
      const left = deadline - Date.now();
      if (left <= 0 || this.closed) {
        throw new Error(`expected ${what ?? re} ${this.closed ? '(connection closed)' : '(timed out)'}; unconsumed: ${this.rest().slice(0, 2000)}`);
      }
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.notify.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** True when nothing matching arrives within the time given. */
  async absent(pattern: RegExp | string, ms = 300): Promise<boolean> {
    try {
      await this.expect(pattern, ms);
      return false;
    } catch {
      return true;
    }
  }

  /** Resolves when the peer closed the connection; rejects after the timeout. */
  waitClosed(timeoutMs = 3000): Promise<void> {
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`connection still open; received: ${this.buf.slice(-1000)}`)), timeoutMs);
      void this.closedPromise.then(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  /** Opens a stream (or, framed, an `<open/>`) and returns the stream features. */
  async open(to = 'localhost', framed = false): Promise<string> {
    this.write(framed ? `<open xmlns='${NS_FRAMING}' to='${to}' version='1.0'/>` : streamHeader(to));
    await this.expect(framed ? /<open [^>]*\/>/ : /<stream:stream [^>]*>/, 3000, 'stream header');
    const f = await this.expect(/<stream:features[^>]*?(?:\/>|>[\s\S]*?<\/stream:features>)/, 3000, 'stream features');
    return f[0];
  }

  /** PLAIN (allowed on loopback without TLS), stream restart, bind; returns the full JID. */
  async login(user: string, password: string, resource?: string, framed = false): Promise<string> {
    const features = await this.authenticate(user, password, framed);
    if (!features.includes(NS_BIND)) throw new Error(`no bind feature: ${features}`);
    return this.bind(resource);
  }

  /** PLAIN (allowed on loopback without TLS) and the stream restart; returns the features offered then. */
  async authenticate(user: string, password: string, framed = false): Promise<string> {
    await this.open('localhost', framed);
    this.write(plainAuth(user, password));
    await this.expect(/<success [^>]*(?:\/>|>[^<]*<\/success>)/, 5000, 'SASL success');
    return this.open('localhost', framed);
  }

  async bind(resource?: string): Promise<string> {
    const res = resource === undefined ? '' : `<resource>${resource}</resource>`;
    this.write(`<iq type='set' id='bind1'><bind xmlns='${NS_BIND}'>${res}</bind></iq>`);
    const m = await this.expect(/<iq [^>]*id="bind1"[^>]*>[\s\S]*?<jid>([^<]+)<\/jid>[\s\S]*?<\/iq>/, 3000, 'bind result');
    return m[1]!;
  }
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** A stream error with this condition (RFC 6120 §4.9). */
export function streamErrorRe(condition: string): RegExp {
  return new RegExp(`<stream:error[^>]*><${condition} xmlns="urn:ietf:params:xml:ns:xmpp-streams"/>[\\s\\S]*?</stream:error>`);
}

/**
 * The stream error, then the closing stream tag, then the server closes the connection.
 * Returns the stream error element's text.
 */
export async function expectStreamError(c: RawConn, condition: string, framed = false): Promise<string> {
  const m = await c.expect(/<stream:error[^>]*>[\s\S]*?<\/stream:error>/, 3000, `stream error ${condition}`);
  if (!m[0].includes(`<${condition} xmlns="urn:ietf:params:xml:ns:xmpp-streams"/>`)) {
    throw new Error(`expected stream error ${condition}, got ${m[0]}`);
  }
  await c.expect(framed ? '<close xmlns="urn:ietf:params:xml:ns:xmpp-framing"/>' : '</stream:stream>', 1000, 'stream close after the error');
  await c.waitClosed();
  return m[0];
}

/** Rejects when the promise does not settle in time (client libraries can wait forever on a broken server). */
export function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let t: NodeJS.Timeout;
  return Promise.race([
    p.finally(() => clearTimeout(t)),
    new Promise<T>((_, reject) => {
      t = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
      t.unref();
    }),
  ]);
}
